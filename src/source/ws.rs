//! The WebSocket source: subscribe, resume by session and seq, backfill gaps
//! over REST, and reconnect with backoff, all hidden behind a stream of
//! [`Update`]s.

use super::backfill::{self, Span};
use super::backoff::Backoff;
use super::{SourceStats, convert, error_chain};
use crate::model::{ConnState, ErrorClass, MetricMeta, Transport, Update};
use crate::wire::{self, ClientAction, Decoded, MetricNames, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::header::{AUTHORIZATION, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::sync::CancellationToken;

/// The client pings this often (protocol: every 15 s).
const PING_EVERY: Duration = Duration::from_secs(15);
/// Silence this long means the link is dead (protocol: 30 s).
const DEAD_AFTER: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection that streamed data this long counts as healthy.
const HEALTHY_AFTER: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct WsOptions {
    /// `ws://` or `wss://` URL of the stream.
    pub url: String,
    pub token: Option<String>,
    /// How much history to fetch at start.
    pub backfill: Duration,
    /// Roots to trust for `wss://` and `https://`.
    pub tls: Arc<rustls::ClientConfig>,
}

/// Where the stream left off, so a new connection can pick up from there.
#[derive(Debug, Clone)]
struct Cursor {
    session: String,
    last_seq: u64,
}

pub struct WsSource {
    opts: WsOptions,
    http_base: String,
    http: reqwest::Client,
    tx: mpsc::Sender<Update>,
    stats: Arc<SourceStats>,
    backoff: Backoff,
    cursor: Option<Cursor>,
    /// Timestamp of the newest metrics frame, to know where a gap starts.
    last_data_ts: Option<i64>,
    interval_ms: i64,
    catalogue: Vec<MetricMeta>,
}

/// How a connection ended.
struct Ended {
    error: String,
    healthy: bool,
    class: ErrorClass,
}

impl WsSource {
    pub fn new(opts: WsOptions, tx: mpsc::Sender<Update>, stats: Arc<SourceStats>) -> anyhow::Result<Self> {
        let http_base = http_base(&opts.url)?;
        let http = super::tls::http_client(&opts.tls)?;
        Ok(WsSource {
            opts,
            http_base,
            http,
            tx,
            stats,
            backoff: Backoff::default(),
            cursor: None,
            last_data_ts: None,
            interval_ms: 1000,
            catalogue: Vec::new(),
        })
    }

    /// Runs until cancelled; never returns because a server is down.
    pub async fn run(mut self, cancel: CancellationToken) {
        loop {
            self.emit(Update::Conn(ConnState::Connecting { attempt: self.backoff.failures() })).await;
            let ended = tokio::select! {
                e = self.connect_once(&cancel) => e,
                _ = cancel.cancelled() => return,
            };
            if cancel.is_cancelled() {
                return;
            }
            if ended.healthy {
                self.backoff.reset();
            }
            let mut delay = self.backoff.next_delay();
            if matches!(ended.class, ErrorClass::Auth | ErrorClass::Refused | ErrorClass::Tls) {
                // Retrying fast will not fix credentials or a wrong URL.
                delay = delay.max(Duration::from_secs(30));
            }
            tracing::info!(error = %ended.error, delay_ms = delay.as_millis() as u64, "stream lost; reconnecting");
            SourceStats::bump(&self.stats.reconnects, 1);
            let retry_at_ms = wire::now_ms() + delay.as_millis() as i64;
            let attempt = self.backoff.failures();
            let class = ended.class;
            self.emit(Update::Conn(ConnState::Reconnecting { retry_at_ms, attempt, error: ended.error, class })).await;
            tokio::select! {
                _ = sleep(delay) => {}
                _ = cancel.cancelled() => return,
            }
        }
    }

    async fn emit(&self, u: Update) {
        // Only fails when the pipeline is gone, i.e. we are shutting down.
        let _ = self.tx.send(u).await;
    }

    async fn connect_once(&mut self, cancel: &CancellationToken) -> Ended {
        let fail = |error: String, class: ErrorClass| Ended { error, healthy: false, class };
        let mut request = match self.opts.url.as_str().into_client_request() {
            Ok(r) => r,
            Err(e) => return fail(format!("bad URL: {e}"), ErrorClass::Refused),
        };
        if let Some(token) = &self.opts.token {
            match HeaderValue::from_str(&format!("Bearer {token}")) {
                Ok(v) => {
                    request.headers_mut().insert(AUTHORIZATION, v);
                }
                Err(_) => return fail("the token has characters a header cannot carry".into(), ErrorClass::Auth),
            }
        }
        let config = WebSocketConfig::default().max_message_size(Some(8 << 20)).max_frame_size(Some(8 << 20));
        let connector = tokio_tungstenite::Connector::Rustls(self.opts.tls.clone());
        let connect = tokio_tungstenite::connect_async_tls_with_config(request, Some(config), true, Some(connector));
        let ws = match timeout(CONNECT_TIMEOUT, connect).await {
            Err(_) => return fail("connect timed out".into(), ErrorClass::Network),
            Ok(Err(tungstenite::Error::Http(resp))) => {
                let code = resp.status().as_u16();
                let why = match code {
                    401 | 403 => format!("HTTP {code}: the gateway refused our credentials"),
                    _ => format!("HTTP {code} on upgrade"),
                };
                let class = match code {
                    401 | 403 => ErrorClass::Auth,
                    400..500 => ErrorClass::Refused,
                    _ => ErrorClass::Network,
                };
                return fail(why, class);
            }
            Ok(Err(e @ tungstenite::Error::Tls(_))) => {
                return fail(format!("TLS: {}", error_chain(&e)), ErrorClass::Tls);
            }
            Ok(Err(e)) => return fail(error_chain(&e), ErrorClass::Network),
            Ok(Ok((ws, _))) => ws,
        };
        let (mut sink, mut stream) = ws.split();

        // The first frame must be hello.
        let hello = match timeout(CONNECT_TIMEOUT, stream.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => match wire::decode_frame(&t) {
                Ok(Decoded::Frame { frame: ServerFrame::Hello(h), .. }) => h,
                _ => return fail("the server did not start with hello".into(), ErrorClass::Refused),
            },
            Ok(Some(Err(e))) => return fail(error_chain(&e), ErrorClass::Network),
            Ok(_) => return fail("the server closed before hello".into(), ErrorClass::Network),
            Err(_) => return fail("no hello within 10 s".into(), ErrorClass::Network),
        };
        if hello.interval_ms > 0 {
            self.interval_ms = hello.interval_ms as i64;
        }
        self.catalogue = hello.metrics.iter().map(convert::metric_meta).collect();
        self.emit(Update::Catalogue { metrics: self.catalogue.clone(), interval_ms: self.interval_ms }).await;

        let first = match &self.cursor {
            Some(c) => ClientAction::Resume { session: c.session.clone(), since_seq: c.last_seq },
            None => {
                self.cursor = Some(Cursor { session: hello.session.clone(), last_seq: hello.seq });
                let from = self.last_data_ts.unwrap_or(wire::now_ms() - self.opts.backfill.as_millis() as i64);
                self.backfill(from, wire::now_ms());
                ClientAction::Subscribe(MetricNames::one("*"))
            }
        };
        if let Err(e) = send_action(&mut sink, &first).await {
            return fail(e, ErrorClass::Network);
        }
        let connected = ConnState::Connected {
            since_ms: wire::now_ms(),
            server: hello.server.clone(),
            url: self.opts.url.clone(),
            transport: Transport::Ws,
        };
        self.emit(Update::Conn(connected)).await;

        let connected_at = Instant::now();
        let mut got_data = false;
        let mut last_rx = Instant::now();
        let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
        let healthy = |got_data: bool| got_data && connected_at.elapsed() >= HEALTHY_AFTER;
        loop {
            let msg = tokio::select! {
                m = stream.next() => m,
                _ = ping.tick() => {
                    if let Err(e) = sink.send(Message::Ping(Vec::new().into())).await {
                        return Ended { error: error_chain(&e), healthy: healthy(got_data), class: ErrorClass::Network };
                    }
                    continue;
                }
                _ = sleep_until(last_rx + DEAD_AFTER) => {
                    return Ended { error: "no data for 30 s; link presumed dead".into(), healthy: healthy(got_data), class: ErrorClass::Network };
                }
                _ = cancel.cancelled() => {
                    let _ = sink.send(Message::Close(None)).await;
                    return Ended { error: "stopped".into(), healthy: true, class: ErrorClass::Network };
                }
            };
            last_rx = Instant::now();
            let text = match msg {
                None => {
                    return Ended {
                        error: "connection closed".into(),
                        healthy: healthy(got_data),
                        class: ErrorClass::Network,
                    };
                }
                Some(Err(e)) => {
                    return Ended { error: error_chain(&e), healthy: healthy(got_data), class: ErrorClass::Network };
                }
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(Message::Close(frame))) => {
                    let why = frame.map_or("server closed the connection".to_string(), |f| {
                        format!("server closed the connection ({} {})", u16::from(f.code), wire::sanitize(&f.reason))
                    });
                    return Ended { error: why, healthy: healthy(got_data), class: ErrorClass::ServerClosed };
                }
                Some(Ok(Message::Binary(b))) => {
                    self.malformed(format!("binary frame of {} bytes", b.len())).await;
                    continue;
                }
                Some(Ok(_)) => continue,
            };
            SourceStats::bump(&self.stats.frames, 1);
            SourceStats::bump(&self.stats.bytes, text.len() as u64);
            match wire::decode_frame(&text) {
                Err(e) => self.malformed(e.to_string()).await,
                Ok(Decoded::Ignored { .. }) => {}
                Ok(Decoded::Snapshot { timestamp, points }) => {
                    let ts = timestamp.unwrap_or_else(wire::now_ms);
                    let observations = convert::observations(ts, &points);
                    got_data = true;
                    self.emit(Update::Samples { observations, live: true, seq: None }).await;
                }
                Ok(Decoded::Frame { frame, skipped }) => {
                    if skipped > 0 {
                        self.malformed(format!("{skipped} unusable point(s) skipped")).await;
                    }
                    got_data |= matches!(frame, ServerFrame::Metrics(_));
                    if let Err(e) = self.on_frame(frame, &hello.session, &mut sink).await {
                        return Ended { error: e, healthy: healthy(got_data), class: ErrorClass::Network };
                    }
                }
            }
        }
    }

    /// Handles one typed frame: seq bookkeeping first, then the payload.
    async fn on_frame<S>(&mut self, frame: ServerFrame, own_session: &str, sink: &mut S) -> Result<(), String>
    where
        S: SinkExt<Message> + Unpin,
        S::Error: std::error::Error + 'static,
    {
        let now = wire::now_ms();
        if let ServerFrame::Reset(r) = &frame {
            // The old session is gone: carry on with this connection's own,
            // fetch what we missed, and subscribe afresh.
            SourceStats::bump(&self.stats.resets, 1);
            tracing::info!(reason = %r.reason, "server reset the session; backfilling");
            self.cursor = Some(Cursor { session: own_session.to_string(), last_seq: r.seq.unwrap_or(0) });
            let from = self.last_data_ts.unwrap_or(now - self.opts.backfill.as_millis() as i64);
            self.backfill(from, now);
            return send_action(sink, &ClientAction::Subscribe(MetricNames::one("*"))).await;
        }
        if let (Some(seq), Some(cursor)) = (frame.seq(), self.cursor.as_mut()) {
            if seq <= cursor.last_seq {
                // Already seen (a replay overlapping what we had).
                return Ok(());
            }
            let gap = seq > cursor.last_seq + 1;
            cursor.last_seq = seq;
            if gap {
                SourceStats::bump(&self.stats.seq_gaps, 1);
                if let (ServerFrame::Metrics(m), Some(from)) = (&frame, self.last_data_ts) {
                    tracing::info!(seq, "seq gap; backfilling the missing span");
                    self.backfill(from, m.timestamp.0);
                }
            }
        }
        match frame {
            ServerFrame::Metrics(m) => {
                let ts = m.timestamp.0;
                self.last_data_ts = Some(self.last_data_ts.map_or(ts, |t| t.max(ts)));
                let observations = convert::observations(ts, &m.points);
                self.emit(Update::Samples { observations, live: true, seq: m.seq }).await;
            }
            ServerFrame::Alert(a) => self.emit(Update::Alert(convert::alert(&a, now))).await,
            ServerFrame::Event(e) => self.emit(Update::Event(convert::event(&e))).await,
            ServerFrame::Status(s) => self.emit(Update::Status(convert::status(&s, now))).await,
            ServerFrame::Error(e) => self.malformed(format!("server says: {}", e.message)).await,
            ServerFrame::Hello(_) | ServerFrame::Reset(_) => {}
        }
        Ok(())
    }

    async fn malformed(&self, why: String) {
        SourceStats::bump(&self.stats.malformed, 1);
        tracing::debug!(%why, "malformed frame");
        self.emit(Update::Malformed(why)).await;
    }

    /// Fetches (from, to] over REST in the background; the reader goes on.
    fn backfill(&self, from_ms: i64, to_ms: i64) {
        if to_ms <= from_ms || self.catalogue.is_empty() {
            return;
        }
        let span = Span { from_ms, to_ms, step_ms: self.interval_ms.max(1) };
        let (http, base, token) = (self.http.clone(), self.http_base.clone(), self.opts.token.clone());
        let (metrics, tx, stats) = (self.catalogue.clone(), self.tx.clone(), self.stats.clone());
        SourceStats::bump(&stats.backfills, 1);
        tokio::spawn(async move {
            let (observations, errors) = backfill::fetch(&http, &base, token.as_deref(), &metrics, span).await;
            for e in &errors {
                tracing::warn!(error = %e, "backfill failed");
            }
            SourceStats::bump(&stats.backfill_errors, errors.len() as u64);
            if !observations.is_empty() {
                let _ = tx.send(Update::Samples { observations, live: false, seq: None }).await;
            }
        });
    }
}

async fn send_action<S>(sink: &mut S, action: &ClientAction) -> Result<(), String>
where
    S: SinkExt<Message> + Unpin,
    S::Error: std::error::Error + 'static,
{
    let text = serde_json::to_string(action).map_err(|e| e.to_string())?;
    sink.send(Message::Text(text.into())).await.map_err(|e| error_chain(&e))
}

/// The REST base that goes with a stream URL: same host, `http(s)`, and any
/// path prefix in front of the stream path.
pub fn http_base(stream_url: &str) -> anyhow::Result<String> {
    let (scheme, rest) = stream_url
        .split_once("://")
        .ok_or_else(|| anyhow::anyhow!("{stream_url:?} is not a URL (expected ws://HOST/api/v1/metrics/stream)"))?;
    let http = match scheme {
        "ws" | "http" => "http",
        "wss" | "https" => "https",
        other => anyhow::bail!("unsupported scheme {other:?} in {stream_url:?}: use ws:// or wss://"),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let prefix = rest.strip_suffix(wire::STREAM_PATH).unwrap_or_else(|| rest.split('/').next().unwrap_or(rest));
    Ok(format!("{http}://{}", prefix.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_base_follows_the_stream_url() {
        assert_eq!(http_base("ws://127.0.0.1:7878/api/v1/metrics/stream").unwrap(), "http://127.0.0.1:7878");
        assert_eq!(http_base("wss://ops.example/gw/api/v1/metrics/stream").unwrap(), "https://ops.example/gw");
        assert_eq!(http_base("ws://host:1/other").unwrap(), "http://host:1");
        assert!(http_base("ftp://x").is_err());
        assert!(http_base("nonsense").is_err());
    }
}
