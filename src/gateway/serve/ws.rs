//! `GET /api/v1/metrics/stream`: one WebSocket connection, attached to a
//! session. The connection never produces frames itself; the ticker puts
//! them in its queue and this module only reads actions and writes.

use super::rest::{clip, error_response};
use super::session::{CloseCmd, ConnHandle, Outgoing, Resumed};
use super::state::{LiveConnections, Shared};
use crate::wire::{ClientAction, ErrorFrame, Hello, MAX_FRAME_BYTES, PROTOCOL_VERSION, ServerFrame};
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Error as WsError;

/// How long a closing connection may take to flush its close frame and hear back.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// The same during shutdown.
const SHUTDOWN_CLOSE_GRACE: Duration = Duration::from_secs(1);
/// How often the server pings a connection.
const PING_EVERY: Duration = Duration::from_secs(20);

/// The upgrade handler.
pub(crate) async fn handler(
    State(shared): State<Arc<Shared>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(e) => return error_response(e.status(), "this route expects a WebSocket upgrade"),
    };
    upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| run(shared, socket))
        .into_response()
}

/// Lives as long as the connection.
async fn run(shared: Arc<Shared>, socket: WebSocket) {
    let _live = LiveConnections::enter(&shared, |m| &m.ws_clients);
    let (conn, rx, close_rx) = ConnHandle::new(shared.next_conn_id(), shared.send_queue);
    let mut session = format!("{:032x}", rand::random::<u128>());
    let hello = ServerFrame::Hello(Hello {
        protocol: PROTOCOL_VERSION,
        server: shared.server.clone(),
        session: session.clone(),
        seq: 0,
        interval_ms: shared.interval_ms() as u64,
        metrics: shared.catalogue(),
        capabilities: shared.capabilities(),
    });
    let Ok(hello) = serde_json::to_string(&hello) else { return };
    {
        let mut table = shared.lock_sessions();
        table.open(session.clone(), conn.clone(), hello.into());
        shared.metrics.sessions.store(table.len() as u64, std::sync::atomic::Ordering::Relaxed);
    }
    tracing::debug!(conn = conn.id, "websocket connected");
    let (sink, stream) = socket.split();
    let writer = async {
        write_loop(sink, rx, close_rx, &shared).await;
        // A writer that failed takes the reader down with it.
        conn.close(CloseCmd::PEER_GONE);
    };
    let reader = read_loop(stream, &shared, &conn, &mut session);
    tokio::join!(writer, reader);
    shared.lock_sessions().detach(&session, conn.id, Instant::now());
    tracing::debug!(conn = conn.id, "websocket closed");
}

/// Writes queued frames until asked to close, then sends the close frame.
async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Outgoing>,
    mut close_rx: watch::Receiver<Option<CloseCmd>>,
    shared: &Shared,
) {
    // Our own pings make a vanished peer show up as a write error even on a
    // connection that has nothing subscribed (and so nothing else to write).
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    'frames: loop {
        let texts = tokio::select! {
            biased;
            _ = close_rx.changed() => break 'frames,
            out = rx.recv() => match out {
                Some(Outgoing::Frame(text)) => vec![text],
                Some(Outgoing::Batch(texts)) => texts,
                None => break 'frames,
            },
            _ = ping.tick() => {
                tokio::select! {
                    biased;
                    _ = close_rx.changed() => break 'frames,
                    sent = sink.send(Message::Ping(Default::default())) => if sent.is_err() { return },
                }
                continue;
            }
        };
        for text in texts {
            // A send stuck on a full socket is abandoned when a close is
            // requested; tungstenite keeps whole frames in its own buffer, so
            // the stream stays well formed for the close frame that follows.
            tokio::select! {
                biased;
                _ = close_rx.changed() => break 'frames,
                sent = sink.send(Message::Text(text)) => {
                    if sent.is_err() {
                        return;
                    }
                    super::own_metrics::OwnMetrics::inc(&shared.metrics.frames_sent);
                }
            }
        }
    }
    let cmd = *close_rx.borrow();
    if let Some(CloseCmd { code: Some(code), reason }) = cmd {
        let frame = CloseFrame { code, reason: Utf8Bytes::from(reason) };
        let shutdown_grace = async {
            shared.shutdown.cancelled().await;
            tokio::time::sleep(SHUTDOWN_CLOSE_GRACE).await;
        };
        tokio::select! {
            _ = sink.send(Message::Close(Some(frame))) => {}
            _ = tokio::time::sleep(grace(cmd)) => {}
            _ = shutdown_grace => {}
        }
    }
}

/// How long closing may take for this reason.
fn grace(cmd: Option<CloseCmd>) -> Duration {
    if cmd == Some(CloseCmd::SHUTDOWN) { SHUTDOWN_CLOSE_GRACE } else { CLOSE_GRACE }
}

/// Reads client actions until the peer goes or a close has run its course.
async fn read_loop(mut stream: SplitStream<WebSocket>, shared: &Shared, conn: &ConnHandle, session: &mut String) {
    let mut close_rx = conn.close_signal();
    let mut deadline: Option<tokio::time::Instant> = None;
    let mut shutting_down = false;
    loop {
        let cmd = *close_rx.borrow_and_update();
        let closing = cmd.is_some();
        if closing && deadline.is_none() {
            // Keep reading a little so the peer's close reply is consumed
            // rather than answered with a reset that could eat our last
            // frames. A shutdown waits less: the whole process is waiting.
            deadline = Some(tokio::time::Instant::now() + grace(cmd));
        }
        let until = deadline.unwrap_or_else(|| tokio::time::Instant::now() + CLOSE_GRACE);
        tokio::select! {
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) if !closing => handle_text(shared, conn, session, text.as_str()),
                Some(Ok(Message::Binary(_))) if !closing => send_error(conn, "binary frames are not supported; send JSON text"),
                Some(Ok(Message::Close(_))) => conn.close(CloseCmd::PEER_GONE),
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    let e = e.into_inner();
                    if matches!(e.downcast_ref::<WsError>(), Some(WsError::Capacity(_))) {
                        conn.close(CloseCmd::TOO_BIG);
                    }
                    tracing::debug!(conn = conn.id, error = %e, "websocket read failed");
                    break;
                }
                None => break,
            },
            _ = close_rx.changed(), if !closing => {}
            _ = shared.shutdown.cancelled(), if !shutting_down => {
                shutting_down = true;
                conn.close(CloseCmd::SHUTDOWN);
                let soon = tokio::time::Instant::now() + SHUTDOWN_CLOSE_GRACE;
                deadline = Some(deadline.map_or(soon, |d| d.min(soon)));
            }
            _ = tokio::time::sleep_until(until), if deadline.is_some() => break,
        }
    }
    // Whatever ended the reading, the writer must stop too.
    conn.close(CloseCmd::PEER_GONE);
}

fn handle_text(shared: &Shared, conn: &ConnHandle, session: &mut String, text: &str) {
    let action = match parse_action(text) {
        Ok(action) => action,
        Err(message) => return send_error(conn, &message),
    };
    let now = Instant::now();
    match action {
        ClientAction::Subscribe(names) => {
            let names: Vec<&str> = names.names().collect();
            if names.is_empty() {
                return send_error(conn, "subscribe needs \"metric\" or \"metrics\"");
            }
            let (known, unknown) = split_known(shared, &names);
            let greeting = shared.greeting();
            let latest = shared.latest_metrics();
            shared.lock_sessions().subscribe(session, &known, &greeting, Some(&latest), &shared.metrics, now);
            report_unknown(conn, &unknown);
        }
        ClientAction::Unsubscribe(names) => {
            let names: Vec<&str> = names.names().collect();
            if names.is_empty() {
                return send_error(conn, "unsubscribe needs \"metric\" or \"metrics\"");
            }
            let (known, unknown) = split_known(shared, &names);
            let catalogue: Vec<String> = shared.catalogue().into_iter().map(|m| m.name).collect();
            if let Some(s) = shared.lock_sessions().get_mut(session) {
                s.subs.remove(known.iter().copied(), &catalogue);
            }
            report_unknown(conn, &unknown);
        }
        ClientAction::Resume { session: target, since_seq } => {
            let mut table = shared.lock_sessions();
            match table.resume(session, conn, &target, since_seq, &shared.metrics, now) {
                Resumed::Attached(id) => {
                    tracing::debug!(conn = conn.id, since_seq, "session resumed");
                    *session = id;
                }
                Resumed::Reset => tracing::debug!(conn = conn.id, since_seq, "resume refused; reset sent"),
            }
            shared.metrics.sessions.store(table.len() as u64, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// Splits requested names into those in the catalogue (or `*`) and the rest.
fn split_known<'a>(shared: &Shared, names: &[&'a str]) -> (Vec<&'a str>, Vec<&'a str>) {
    names.iter().partition(|n| {
        **n == "*" || shared.kind_of(n).is_some() || (shared.open_catalogue && crate::wire::valid_name(n))
    })
}

fn report_unknown(conn: &ConnHandle, unknown: &[&str]) {
    if unknown.is_empty() {
        return;
    }
    let listed: Vec<String> = unknown.iter().take(5).map(|n| format!("{:?}", clip(n))).collect();
    let more = if unknown.len() > 5 { format!(" and {} more", unknown.len() - 5) } else { String::new() };
    let noun = if unknown.len() == 1 { "metric" } else { "metrics" };
    send_error(conn, &format!("unknown {noun} {}{more}", listed.join(", ")));
}

/// Errors are not numbered and belong to the connection, not the session.
fn send_error(conn: &ConnHandle, message: &str) {
    let frame = ServerFrame::Error(ErrorFrame { message: message.to_string() });
    if let Ok(text) = serde_json::to_string(&frame) {
        let _ = conn.offer(Outgoing::Frame(text.into()));
    }
}

/// Parses one client message, with an error message a person can act on.
fn parse_action(text: &str) -> Result<ClientAction, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {}", clip(&e.to_string())))?;
    let action = match value.get("action") {
        Some(Value::String(a)) => a.clone(),
        Some(_) => return Err("\"action\" must be a string".into()),
        None if value.is_object() => return Err("missing \"action\"".into()),
        None => return Err("expected a JSON object with an \"action\"".into()),
    };
    if !matches!(action.as_str(), "subscribe" | "unsubscribe" | "resume") {
        return Err(format!("unknown action {:?}", clip(&action)));
    }
    serde_json::from_value(value).map_err(|e| format!("bad {action}: {}", clip(&e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_errors_name_the_problem() {
        assert!(parse_action("{nope").unwrap_err().starts_with("invalid JSON"));
        assert_eq!(parse_action(r#"{"action":"subscrbe"}"#).unwrap_err(), "unknown action \"subscrbe\"");
        assert_eq!(parse_action("[1]").unwrap_err(), "expected a JSON object with an \"action\"");
        assert_eq!(parse_action("{}").unwrap_err(), "missing \"action\"");
        assert!(parse_action(r#"{"action":"resume","session":"x"}"#).unwrap_err().starts_with("bad resume"));
        assert!(matches!(parse_action(r#"{"action":"subscribe","metric":"*"}"#), Ok(ClientAction::Subscribe(_))));
    }
}
