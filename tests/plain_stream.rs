//! Gateways we did not write, as the real binary meets them on loopback: a
//! hub of the product brief's design that never says hello (it waits for a
//! subscription, or pushes data at once, and sends flat snapshots), with or
//! without a history route; and our own gateway behind a proxy that lets
//! only SSE through, judged by `vigil check`. What is asserted is what the
//! hubs received and what vigil printed; every wait is on a condition.

mod common;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read as _};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::broadcast;
use vigil::wire::{format_time, now_ms, parse_duration_ms, parse_time};

/// Only a broken link takes this long; a loaded two-core machine may take
/// a good part of it.
const WAIT: Duration = Duration::from_secs(60);
/// What the sources page says of a server that never greets.
const PLAIN_NOTE: &str = "no hello: plain stream, no resume";

/// The brief's snapshot, as its hub sends it every 200 ms.
fn snapshot(active_users: u64, at_ms: i64) -> String {
    json!({
        "active_users": active_users,
        "orders_per_minute": 45,
        "system_health": "healthy",
        "timestamp": format_time(at_ms),
    })
    .to_string()
}

/// How a test hub behaves.
#[derive(Clone, Copy, Default)]
struct HubOptions {
    /// Serve `/api/v1/metrics/historical` (the brief's REST); otherwise 404.
    history: bool,
    /// Send one snapshot (with 1249 active users) the moment a client
    /// connects, before any subscription.
    eager: bool,
    /// Close the first connection after this many broadcast frames.
    close_first_after: Option<usize>,
}

/// What the hub saw of its clients.
#[derive(Default)]
struct HubLog {
    /// Every text message clients sent.
    said: Mutex<Vec<String>>,
    connections: AtomicUsize,
    /// The metric of every history request.
    history: Mutex<Vec<String>>,
}

#[derive(Clone)]
struct HubState {
    frames: broadcast::Sender<String>,
    log: Arc<HubLog>,
    opts: HubOptions,
}

/// A WebSocket hub that never says hello, on a runtime of its own (the
/// tests themselves block on child processes).
struct Hub {
    url: String,
    log: Arc<HubLog>,
    _runtime: tokio::runtime::Runtime,
}

impl Hub {
    fn start(opts: HubOptions) -> Hub {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let log = Arc::new(HubLog::default());
        let (frames, _) = broadcast::channel(64);
        let state = HubState { frames: frames.clone(), log: log.clone(), opts };
        let addr = runtime.block_on(async move {
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_millis(200));
                loop {
                    every.tick().await;
                    let _ = frames.send(snapshot(1250, now_ms()));
                }
            });
            let mut app = Router::new().route("/ws", get(upgrade));
            if opts.history {
                app = app.route("/api/v1/metrics/historical", get(history));
            }
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app.with_state(state)).await });
            addr
        });
        Hub { url: format!("ws://{addr}/ws"), log, _runtime: runtime }
    }

    fn said(&self) -> Vec<String> {
        self.log.said.lock().unwrap().clone()
    }

    fn connections(&self) -> usize {
        self.log.connections.load(Ordering::SeqCst)
    }

    fn history_asks(&self, metric: &str) -> usize {
        self.log.history.lock().unwrap().iter().filter(|m| *m == metric).count()
    }
}

async fn upgrade(State(state): State<HubState>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(state, socket))
}

/// One client: no hello, ever. Frames flow once it subscribes.
async fn session(state: HubState, mut socket: WebSocket) {
    let nth = state.log.connections.fetch_add(1, Ordering::SeqCst) + 1;
    if state.opts.eager && socket.send(Message::Text(snapshot(1249, now_ms()).into())).await.is_err() {
        return;
    }
    loop {
        match socket.recv().await {
            Some(Ok(Message::Text(t))) => {
                state.log.said.lock().unwrap().push(t.to_string());
                let said: Value = serde_json::from_str(t.as_str()).unwrap_or_default();
                if said["action"] == "subscribe" {
                    break;
                }
            }
            Some(Ok(_)) => {}
            _ => return,
        }
    }
    let mut frames = state.frames.subscribe();
    let mut sent = 0;
    loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Ok(text) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                    sent += 1;
                    if nth == 1 && state.opts.close_first_after.is_some_and(|n| sent >= n) {
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(t))) => state.log.said.lock().unwrap().push(t.to_string()),
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
}

/// The brief's history answer: 1000 active users, 40 orders a minute and a
/// healthy system at every step of the period.
async fn history(State(state): State<HubState>, Query(q): Query<Vec<(String, String)>>) -> Response {
    let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let metric = get("metric").unwrap_or_default();
    state.log.history.lock().unwrap().push(metric.clone());
    let value = match metric.as_str() {
        "active_users" => json!(1000),
        "orders_per_minute" => json!(40),
        "system_health" => json!("healthy"),
        _ => {
            return (axum::http::StatusCode::NOT_FOUND, axum::Json(json!({"error": "unknown metric"}))).into_response();
        }
    };
    let period = get("period").unwrap_or_else(|| "1h".into());
    let granularity = get("granularity").unwrap_or_else(|| "1m".into());
    let (p, g) = (parse_duration_ms(&period).unwrap(), parse_duration_ms(&granularity).unwrap());
    let end = get("end").and_then(|e| parse_time(&e)).unwrap_or_else(now_ms);
    let first = (end - p).div_euclid(g) * g + g;
    let data: Vec<Value> = (0..)
        .map(|i| first + i * g)
        .take_while(|&t| t <= end)
        .take(10_000)
        .map(|t| json!({"timestamp": format_time(t), "value": value}))
        .collect();
    let series = json!([{"labels": {}, "data": data}]);
    axum::Json(json!({"metric": metric, "period": period, "granularity": granularity, "series": series, "data": data}))
        .into_response()
}

/// `vigil ARGS` with its stdout read line by line as it comes.
struct Vigil {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Vigil {
    fn start(args: &[&str]) -> Vigil {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(args)
            .env_remove("VIGIL_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("vigil runs");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        Vigil { child, lines, seen: Vec::new(), stderr: Some(stderr) }
    }

    /// Reads lines until `done` holds of the lines read so far (it may
    /// look at the hub too), or fails after [`WAIT`].
    fn until(&mut self, what: &str, mut done: impl FnMut(&[Value]) -> bool) {
        let deadline = Instant::now() + WAIT;
        loop {
            if done(&self.json()) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left.min(Duration::from_millis(500))) {
                Ok(line) => self.seen.push(line),
                Err(mpsc::RecvTimeoutError::Timeout) if !left.is_zero() => {}
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("gave up waiting for {what}; vigil printed:\n{}", self.seen.join("\n"));
                }
            }
        }
    }

    fn json(&self) -> Vec<Value> {
        self.seen.iter().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
    }

    /// SIGTERM, as a script stops it: it must exit cleanly, saying nothing on stderr.
    fn stop(mut self) -> Vec<Value> {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let status = self.child.wait().unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        let stderr = self.stderr.take().map(|t| t.join().unwrap()).unwrap_or_default();
        assert!(status.success(), "vigil exited with {status}: {stderr}");
        assert!(stderr.is_empty(), "stderr: {stderr}");
        self.json()
    }
}

impl Drop for Vigil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Live (or, with `backfilled`, fetched) points of `metric` holding `value`.
fn points(lines: &[Value], metric: &str, value: &Value, backfilled: bool) -> usize {
    lines
        .iter()
        .filter(|l| l["type"] == "point" && l["metric"] == metric)
        // Numbers come back as floats (1250.0): compare them as numbers.
        .filter(|l| l["value"] == *value || l["value"].as_f64().is_some_and(|v| Some(v) == value.as_f64()))
        .filter(|l| l["backfilled"].as_bool().unwrap_or(false) == backfilled)
        .count()
}

fn assert_only_subscribed(hub: &Hub) {
    let said = hub.said();
    assert!(!said.is_empty(), "the client never subscribed");
    for s in &said {
        let v: Value = serde_json::from_str(s).unwrap();
        assert_eq!(v, json!({"action": "subscribe", "metric": "*"}), "a plain stream is only ever subscribed to");
    }
}

#[test]
fn tail_prints_a_hub_that_never_says_hello() {
    let hub = Hub::start(HubOptions::default());
    let mut tail = Vigil::start(&["tail", "--url", &hub.url, "--since", "1m"]);
    tail.until("the hub's three metrics", |l| {
        points(l, "active_users", &json!(1250), false) >= 3
            && points(l, "orders_per_minute", &json!(45), false) >= 3
            && points(l, "system_health", &json!("healthy"), false) >= 3
    });
    let lines = tail.stop();
    let text: Vec<String> = lines.iter().map(Value::to_string).collect();
    assert!(!text.iter().any(|l| l.contains("hello")), "{text:?}");
    let conns: Vec<&Value> = lines.iter().filter(|l| l["type"] == "conn").collect();
    assert!(conns.iter().any(|c| c["state"] == "connected" && c["transport"] == "ws"), "{conns:?}");
    assert!(!conns.iter().any(|c| c["state"] == "reconnecting"), "one connection did it all: {conns:?}");
    // No history route: the backfill failed quietly, nothing malformed.
    assert!(!lines.iter().any(|l| l["type"] == "malformed"), "{text:?}");
    assert_eq!(hub.connections(), 1);
    assert_only_subscribed(&hub);

    // `--sources` says what kind of link this is.
    let mut sources = Vigil::start(&["tail", "--url", &hub.url, "--sources"]);
    sources.until("a live source row with its note", |l| {
        l.iter().any(|s| s["type"] == "source" && s["state"] == "live" && s["note"] == PLAIN_NOTE)
    });
    sources.stop();
}

#[test]
fn the_first_frame_of_a_hub_that_pushes_at_once_is_kept() {
    let hub = Hub::start(HubOptions { eager: true, ..HubOptions::default() });
    let mut tail = Vigil::start(&["tail", "--url", &hub.url, "--since", "1m"]);
    tail.until("the greeting snapshot and the broadcast after it", |l| {
        points(l, "active_users", &json!(1249), false) >= 1 && points(l, "active_users", &json!(1250), false) >= 2
    });
    tail.stop();
    assert_only_subscribed(&hub);
}

#[test]
fn a_plain_stream_is_backfilled_over_rest_and_never_resumed() {
    let hub = Hub::start(HubOptions { history: true, close_first_after: Some(10), ..HubOptions::default() });
    let mut tail = Vigil::start(&["tail", "--url", &hub.url, "--since", "1m"]);
    // The start-up history, then a second connection after the hub closed
    // the first, with the span between them fetched again.
    tail.until("history, a reconnect and live data after it", |l| {
        points(l, "active_users", &json!(1000), true) >= 30
            && points(l, "system_health", &json!("healthy"), true) >= 30
            && points(l, "active_users", &json!(1250), false) >= 15
            && hub.connections() >= 2
            && hub.history_asks("active_users") >= 2
    });
    let lines = tail.stop();
    assert!(lines.iter().any(|l| l["type"] == "conn" && l["state"] == "reconnecting"), "the hub's close was seen");
    assert_only_subscribed(&hub);
}

// ------------------------------------------------------- a slow hello

/// How long the slow server takes to greet: longer than vigil waits
/// before it reads a link as a plain stream.
const GREET_AFTER: Duration = Duration::from_secs(3);

/// A server of the protocol that greets late: its hello comes
/// [`GREET_AFTER`] into each connection, session `s1`, `s2`, …; then a
/// `metrics` frame every 200 ms once subscribed (or resumed, numbering on
/// from `since_seq`). It closes its first connection after five frames.
fn slow_greeter() -> Hub {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let log = Arc::new(HubLog::default());
    let kept = log.clone();
    let addr = runtime.block_on(async move {
        let app = Router::new().route(
            "/ws",
            get(move |ws: WebSocketUpgrade| {
                let log = kept.clone();
                async move { ws.on_upgrade(move |socket| greet_late(log, socket)) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    });
    Hub { url: format!("ws://{addr}/ws"), log, _runtime: runtime }
}

async fn greet_late(log: Arc<HubLog>, mut socket: WebSocket) {
    let nth = log.connections.fetch_add(1, Ordering::SeqCst) + 1;
    tokio::time::sleep(GREET_AFTER).await;
    let hello = json!({
        "type": "hello", "protocol": 1, "server": "slow/1", "session": format!("s{nth}"), "seq": 0,
        "interval_ms": 200, "metrics": [{"name": "active_users", "kind": "gauge"}],
    });
    if socket.send(Message::Text(hello.to_string().into())).await.is_err() {
        return;
    }
    let (mut seq, mut streaming, mut sent) = (0u64, false, 0);
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(t))) => {
                    log.said.lock().unwrap().push(t.to_string());
                    let said: Value = serde_json::from_str(t.as_str()).unwrap_or_default();
                    if said["action"] == "resume" {
                        seq = said["since_seq"].as_u64().unwrap_or(seq);
                    }
                    streaming = true;
                }
                Some(Ok(_)) => {}
                _ => return,
            },
            _ = tick.tick(), if streaming => {
                seq += 1;
                let frame = json!({
                    "type": "metrics", "seq": seq, "timestamp": format_time(now_ms()),
                    "points": [{"metric": "active_users", "value": 1250}],
                });
                if socket.send(Message::Text(frame.to_string().into())).await.is_err() {
                    return;
                }
                sent += 1;
                if nth == 1 && sent >= 5 {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            }
        }
    }
}

#[test]
fn a_hello_that_comes_late_is_adopted_and_its_session_resumed() {
    let server = slow_greeter();
    let mut tail = Vigil::start(&["tail", "--url", &server.url, "--since", "1m"]);
    let resumed = |said: &[String]| said.iter().any(|s| s.contains("resume"));
    tail.until("a second connection that resumes the first session", |l| {
        server.connections() >= 2 && resumed(&server.said()) && points(l, "active_users", &json!(1250), false) >= 8
    });
    let lines = tail.stop();
    let said: Vec<Value> = server.said().iter().map(|s| serde_json::from_str(s).unwrap()).collect();
    let subscribe = json!({"action": "subscribe", "metric": "*"});
    // Each connection subscribes when the hello is late; the second then
    // resumes the first's session from the last frame it held.
    assert_eq!(said[..2], [subscribe.clone(), subscribe], "{said:?}");
    assert_eq!(said[2], json!({"action": "resume", "session": "s1", "since_seq": 5}), "{said:?}");
    // The session's frames kept their order and missed none.
    let seqs: Vec<u64> = lines.iter().filter(|l| l["type"] == "point").filter_map(|l| l["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
}

// ------------------------------------------------------- SSE only

/// Counts of what the proxy let through and refused.
#[derive(Default)]
struct ProxyLog {
    upgrades_refused: AtomicUsize,
    sse_requests: AtomicUsize,
}

/// A proxy in front of `upstream` that answers WebSocket upgrades with 404,
/// as some corporate proxies do, and forwards everything else.
async fn sse_only_proxy(upstream: std::net::SocketAddr, log: Arc<ProxyLog>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut head = vec![0u8; 8192];
                let n = match inbound.read(&mut head).await {
                    Ok(n) if n > 0 => n,
                    _ => return,
                };
                let text = String::from_utf8_lossy(&head[..n]).to_ascii_lowercase();
                if text.contains("upgrade: websocket") {
                    log.upgrades_refused.fetch_add(1, Ordering::SeqCst);
                    let refusal = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                    let _ = inbound.write_all(refusal).await;
                    return;
                }
                if text.contains("/api/v1/metrics/events") {
                    log.sse_requests.fetch_add(1, Ordering::SeqCst);
                }
                let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await else { return };
                if outbound.write_all(&head[..n]).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    addr
}

#[test]
fn check_reaches_a_verdict_over_sse_alone() {
    let serve = common::ServeChild::start(&["--scenario", "calm"]);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let log = Arc::new(ProxyLog::default());
    let proxy = runtime.block_on(sse_only_proxy(serve.addr(), log.clone()));
    let url = format!("ws://{proxy}{}", vigil::wire::STREAM_PATH);
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["check", "--url", &url, "--format", "json", "--timeout", "60s"])
        .env_remove("VIGIL_TOKEN")
        .output()
        .expect("vigil check runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert!(log.upgrades_refused.load(Ordering::SeqCst) >= 1, "the WebSocket was never tried");
    assert!(log.sse_requests.load(Ordering::SeqCst) >= 1, "SSE was never used");
    // A calm shop over SSE is as fine as over a WebSocket.
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["status"], "ok", "{report}");
    assert_eq!(report["reasons"], json!([]), "{report}");
    assert_eq!(report["sources"][0]["state"], "live", "{report}");
    assert!(report["rules"].as_u64().is_some_and(|n| n > 0), "{report}");
    assert!(report["newest_data"].is_string(), "{report}");
}
