//! One WebSocket connection: dial, read `hello`, resume or subscribe, then
//! read frames until the link ends, pinging every 15 s and giving up after
//! 30 s of silence.
//!
//! A server that does not greet within [`HELLO_WAIT`] (it sends data at
//! once, or nothing until a client subscribes) is read as a plain stream:
//! subscribed to all metrics, decoded like any other, never resumed (its
//! seqs, if any, number no session we could ask for again), and backfilled
//! over REST from the last data on each new connection.

use crate::core::model::{ConnState, ErrorClass, Transport, Update};
use crate::sources::gateway::link::{Ended, Endpoint};
use crate::sources::gateway::stream::{Cursor, Next, Stream};
use crate::sources::{SourceStats, error_chain};
use crate::wire::{self, ClientAction, Decoded, MetricNames, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, sleep_until, timeout, timeout_at};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::header::{AUTHORIZATION, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};

/// The client pings this often (protocol: every 15 s).
pub const PING_EVERY: Duration = Duration::from_secs(15);
/// Silence this long means the link is dead (protocol: 30 s).
pub const DEAD_AFTER: Duration = Duration::from_secs(30);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a server has to say hello before the link is read as a plain
/// stream. Ours greets at once; a server of another design may wait for a
/// subscription first, and that must not cost the user long.
pub const HELLO_WAIT: Duration = Duration::from_millis(1500);
/// What the sources page and `tail --sources` say of a plain stream.
pub const PLAIN_STREAM: &str = "no hello: plain stream, no resume";

/// How the server began.
enum Opening {
    Hello(wire::Hello),
    /// No hello: a plain stream, with the frame it began with, if any.
    Plain(Option<String>),
}

/// Runs one connection to `ep` until it ends.
pub async fn run(stream: &mut Stream, ep: &mut Endpoint, tls: &Arc<rustls::ClientConfig>) -> Ended {
    let stats = ep.stats.clone();
    let mut request = match ep.url.as_str().into_client_request() {
        Ok(r) => r,
        Err(e) => return Ended::failed(format!("bad URL: {e}"), ErrorClass::Refused),
    };
    if let Some(token) = stream.token() {
        match HeaderValue::from_str(&format!("Bearer {token}")) {
            Ok(v) => {
                request.headers_mut().insert(AUTHORIZATION, v);
            }
            Err(_) => return Ended::failed("the token has characters a header cannot carry".into(), ErrorClass::Auth),
        }
    }
    // The transport limit is generous; frames over 1 MiB are refused (and
    // counted) by the decoder instead, so one big frame does not cost the link.
    let config = WebSocketConfig::default().max_message_size(Some(8 << 20)).max_frame_size(Some(8 << 20));
    let connector = tokio_tungstenite::Connector::Rustls(tls.clone());
    let connect = tokio_tungstenite::connect_async_tls_with_config(request, Some(config), true, Some(connector));
    let ws = match timeout(CONNECT_TIMEOUT, connect).await {
        Err(_) => return Ended::failed("connect timed out".into(), ErrorClass::Network),
        Ok(Err(tungstenite::Error::Http(resp))) => return Ended::upgrade_refused_at(&ep.url, resp.status().as_u16()),
        Ok(Err(e)) => {
            let (class, why) = crate::sources::classify(&e);
            return Ended::failed(why, class);
        }
        Ok(Ok((ws, _))) => ws,
    };
    let (mut sink, mut frames) = ws.split();
    // A plain stream's first frame, if it came before the subscription, is
    // read below like every later one.
    let (mut hello, mut early) = match opening(&mut frames, stream, &stats).await {
        Ok(Opening::Hello(h)) => (Some(h), None),
        Ok(Opening::Plain(first)) => {
            tracing::info!(url = %ep.url, "no hello; reading a plain stream");
            (None, first)
        }
        Err(ended) => return ended,
    };

    // The session of an earlier connection, kept in case a slow server's
    // hello comes after all: the plain stream itself never resumes.
    let mut resumable = None;
    let first = match &hello {
        Some(hello) => {
            stream
                .set_catalogue(
                    hello.metrics.iter().map(crate::sources::convert::metric_meta).collect(),
                    hello.interval_ms,
                )
                .await;
            match &ep.cursor {
                Some(c) => ClientAction::Resume { session: c.session.clone(), since_seq: c.last_seq },
                None => {
                    ep.cursor = Some(Cursor { session: hello.session.clone(), last_seq: hello.seq });
                    stream.backfill(&ep.base, &stats, stream.resume_from(), wire::now_ms());
                    ClientAction::Subscribe(MetricNames::one("*"))
                }
            }
        }
        None => {
            // Nothing to resume: what was missed since the last data comes
            // over REST (owed until the first frame names the metrics).
            resumable = ep.cursor.take();
            stream.backfill(&ep.base, &stats, stream.resume_from(), wire::now_ms());
            ClientAction::Subscribe(MetricNames::one("*"))
        }
    };
    if let Err(e) = send_action(&mut sink, &first).await {
        return Ended::failed(e, ErrorClass::Network);
    }
    let plain = hello.is_none();
    stats.update_link(|l| {
        l.transport = Some(Transport::Ws);
        l.connected = true;
        l.note = plain.then(|| PLAIN_STREAM.to_string());
    });
    let connected = ConnState::Connected {
        since_ms: wire::now_ms(),
        server: hello.as_ref().map_or_else(String::new, |h| h.server.clone()),
        url: ep.url.clone(),
        transport: Transport::Ws,
    };
    stream.emit(Update::Conn(connected)).await;
    if hello.as_ref().is_some_and(|h| h.capabilities.iter().any(|c| c == wire::CAP_RULES)) {
        stream.emit(Update::RulesUpstream).await;
    }
    if hello.as_ref().is_some_and(|h| h.capabilities.iter().any(|c| c == wire::CAP_SLOS)) {
        stream.emit(Update::SlosUpstream).await;
    }
    if let Some(hello) = &hello {
        stream.emit(Update::BookUpstream(hello.capabilities.iter().any(|c| c == wire::CAP_ACKS))).await;
    }

    let mut ended = Ended::alive();
    let mut last_rx = Instant::now();
    let mut ping_sent: Option<Instant> = None;
    // The first ping goes at once, so the round trip is known from the start.
    let mut ping = tokio::time::interval(PING_EVERY);
    loop {
        let msg = if let Some(text) = early.take() {
            Some(Ok(Message::Text(text.into())))
        } else {
            tokio::select! {
                m = frames.next() => m,
                _ = ping.tick() => {
                    ping_sent = Some(Instant::now());
                    if let Err(e) = sink.send(Message::Ping(Vec::new().into())).await {
                        return ended.with(error_chain(&e), ErrorClass::Network);
                    }
                    continue;
                }
                _ = sleep_until(last_rx + DEAD_AFTER) => {
                    return ended.with("no data for 30 s; link presumed dead".into(), ErrorClass::Network);
                }
            }
        };
        last_rx = Instant::now();
        let text = match msg {
            None => return ended.with("connection closed".into(), ErrorClass::Network),
            // A text frame that is not UTF-8 is a bad frame, not a dead link:
            // count it and read on (if the socket is really broken, the next
            // read says so).
            Some(Err(tungstenite::Error::Utf8(why))) => {
                stream.malformed(&stats, format!("text frame is not UTF-8: {why}")).await;
                continue;
            }
            Some(Err(e)) => return ended.with(error_chain(&e), ErrorClass::Network),
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(frame))) => return ended.with(closed(frame), ErrorClass::ServerClosed),
            Some(Ok(Message::Pong(_))) => {
                if let Some(sent) = ping_sent.take() {
                    let rtt = sent.elapsed().as_secs_f64() * 1000.0;
                    stats.update_link(|l| l.rtt_ms = Some(rtt));
                }
                continue;
            }
            Some(Ok(Message::Binary(b))) => {
                stream.malformed(&stats, format!("binary frame of {} bytes", b.len())).await;
                continue;
            }
            Some(Ok(_)) => continue,
        };
        // A plain stream has no session: its seqs are read but not kept.
        let mut last_seq = ep.cursor.as_ref().map(|c| c.last_seq);
        let newest = stream.last_data_ts;
        let next = stream.on_text(&text, &mut last_seq, &ep.base, &stats).await;
        if let Some(cursor) = ep.cursor.as_mut() {
            cursor.last_seq = last_seq.unwrap_or(cursor.last_seq);
        }
        ended.saw_data(stream.last_data_ts != newest);
        match next {
            Next::Continue => {}
            Next::Resubscribe => {
                // The old session is gone: carry on with this connection's
                // own, from the seq the reset gave or else from where hello
                // left it (a plain stream just subscribes again).
                if let (Some(cursor), Some(hello)) = (ep.cursor.as_mut(), &hello) {
                    cursor.session = hello.session.clone();
                    cursor.last_seq = last_seq.unwrap_or(hello.seq);
                }
                if let Err(e) = send_action(&mut sink, &ClientAction::Subscribe(MetricNames::one("*"))).await {
                    return ended.with(e, ErrorClass::Network);
                }
            }
            Next::Hello(late) if hello.is_none() => {
                // A slow server taken for a plain stream greeted after all:
                // its catalogue holds from here on, and the session we had
                // is resumed as it would have been (the protocol asks only
                // that a resume follow the hello); else the new one is kept.
                let metrics = late.metrics.iter().map(crate::sources::convert::metric_meta).collect();
                stream.set_catalogue(metrics, late.interval_ms).await;
                ep.cursor = match resumable.take() {
                    Some(c) => {
                        let resume = ClientAction::Resume { session: c.session.clone(), since_seq: c.last_seq };
                        if let Err(e) = send_action(&mut sink, &resume).await {
                            return ended.with(e, ErrorClass::Network);
                        }
                        Some(c)
                    }
                    None => Some(Cursor { session: late.session.clone(), last_seq: late.seq }),
                };
                stats.update_link(|l| l.note = None);
                hello = Some(*late);
            }
            Next::Hello(_) => {}
        }
    }
}

/// Waits up to [`HELLO_WAIT`] for the server's first text frame: a hello,
/// or anything else (or nothing) for a plain stream.
async fn opening<S>(frames: &mut S, stream: &Stream, stats: &SourceStats) -> Result<Opening, Ended>
where
    S: futures_util::Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    let deadline = Instant::now() + HELLO_WAIT;
    loop {
        let Ok(msg) = timeout_at(deadline, frames.next()).await else {
            return Ok(Opening::Plain(None));
        };
        match msg {
            None => return Err(Ended::failed("the server closed before sending anything".into(), ErrorClass::Network)),
            Some(Err(tungstenite::Error::Utf8(why))) => {
                stream.malformed(stats, format!("text frame is not UTF-8: {why}")).await;
            }
            Some(Err(e)) => return Err(Ended::failed(error_chain(&e), ErrorClass::Network)),
            Some(Ok(Message::Text(t))) => {
                return Ok(match wire::decode_frame(&t) {
                    Ok(Decoded::Frame { frame: ServerFrame::Hello(h), .. }) => Opening::Hello(h),
                    _ => Opening::Plain(Some(t.as_str().to_owned())),
                });
            }
            Some(Ok(Message::Close(frame))) => return Err(Ended::failed(closed(frame), ErrorClass::Network)),
            Some(Ok(Message::Binary(b))) => stream.malformed(stats, format!("binary frame of {} bytes", b.len())).await,
            Some(Ok(_)) => {}
        }
    }
}

/// Why the server closed, in one line.
fn closed(frame: Option<CloseFrame>) -> String {
    frame.map_or("server closed the connection".to_string(), |f| {
        format!("server closed the connection ({} {})", u16::from(f.code), wire::sanitize(&f.reason))
    })
}

async fn send_action<S>(sink: &mut S, action: &ClientAction) -> Result<(), String>
where
    S: SinkExt<Message> + Unpin,
    S::Error: std::error::Error + 'static,
{
    let text = serde_json::to_string(action).map_err(|e| e.to_string())?;
    sink.send(Message::Text(text.into())).await.map_err(|e| error_chain(&e))
}

/// Marks the endpoint down in its stats.
pub fn mark_down(stats: &SourceStats, error: &str) {
    stats.update_link(|l| {
        l.connected = false;
        l.last_error = Some(error.to_string());
    });
}
