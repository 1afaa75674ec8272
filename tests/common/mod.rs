//! Helpers for the gateway's integration tests: a gateway on an ephemeral
//! port, a small WebSocket client that decodes frames, and bounded waits;
//! and, in [`real`], real Prometheus, Alertmanager and exporter processes.

#![allow(dead_code)]

pub mod real;
pub mod screen;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use vigil::gateway::serve::{Gateway, ServeOptions};
use vigil::gateway::sim::Simulator;
use vigil::wire::{Hello, PointValue, ServerFrame};

/// Every wait in these tests is bounded by this unless said otherwise:
/// generous, since only a broken gateway takes this long, while a loaded
/// two-core machine may well take a few seconds.
pub const WAIT: Duration = Duration::from_secs(30);

/// Options for a test gateway: ephemeral port, fast ticks.
pub fn options() -> ServeOptions {
    ServeOptions {
        bind: "127.0.0.1:0".parse().unwrap(),
        interval: Duration::from_millis(100),
        ..ServeOptions::default()
    }
}

pub async fn start(opts: ServeOptions) -> Gateway {
    tokio::time::timeout(Duration::from_secs(30), Gateway::start(opts))
        .await
        .expect("gateway start timed out")
        .expect("gateway failed to start")
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(WAIT).build().unwrap()
}

/// `GET url`, read as JSON.
pub async fn get_json(url: &str) -> Value {
    http().get(url).send().await.unwrap().json().await.unwrap()
}

/// The shipped "error rate" rule (`src/core/alert/defaults.toml`) with its
/// waits shortened to `for = "5s"` and the window `over`: two minutes of
/// `for` after five of `over` would make a test many minutes long for
/// nothing it checks. The same signal, divisor, grouping and threshold decide.
pub fn quick_error_rule(over: &str) -> String {
    format!(
        r#"
[[alert]]
name = "error rate"
signal = "errors"
divide_by = {{ metric = "http_requests_total" }}
by = "service"
op = ">"
threshold = 0.01
for = "5s"
over = "{over}"
severity = "critical"
unit = "ratio"
summary = "{{service}} answers {{value}} of requests with a server error, above {{threshold}}"
"#
    )
}

/// A WebSocket client that speaks in decoded frames.
pub struct Client<S = MaybeTlsStream<TcpStream>> {
    pub ws: WebSocketStream<S>,
}

/// What reading the next message gave.
#[derive(Debug)]
pub enum Read {
    Frame(ServerFrame),
    Closed(Option<CloseFrame>),
    TimedOut,
}

impl Client {
    /// Connects, optionally with a bearer token.
    pub async fn connect(gw: &Gateway, token: Option<&str>) -> Client {
        Client::connect_url(&gw.stream_url(), token).await
    }

    /// Connects to the stream at `url` (a gateway in another process).
    pub async fn connect_url(url: &str, token: Option<&str>) -> Client {
        let mut request = url.into_client_request().unwrap();
        if let Some(token) = token {
            request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
            .await
            .expect("connect timed out")
            .expect("connect failed");
        Client { ws }
    }

    /// Connects and reads the `hello`.
    pub async fn hello(gw: &Gateway) -> (Client, Hello) {
        let mut client = Client::connect(gw, None).await;
        let hello = client.expect_hello().await;
        (client, hello)
    }
}

impl<S> Client<S>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    pub async fn send(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("send failed");
    }

    pub async fn subscribe(&mut self, metric: &str) {
        self.send(&format!(r#"{{"action":"subscribe","metric":"{metric}"}}"#)).await;
    }

    /// The next text frame, decoded; close and timeout are reported, not panics.
    pub async fn read_within(&mut self, wait: Duration) -> Read {
        loop {
            let msg = match tokio::time::timeout(wait, self.ws.next()).await {
                Err(_) => return Read::TimedOut,
                Ok(None) => return Read::Closed(None),
                Ok(Some(Err(e))) => panic!("websocket error: {e}"),
                Ok(Some(Ok(msg))) => msg,
            };
            match msg {
                Message::Text(text) => {
                    // Either side may refuse a larger frame (PROTOCOL.md).
                    let len = text.len();
                    assert!(len <= vigil::wire::MAX_FRAME_BYTES, "a frame of {len} bytes, over the protocol's 1 MiB");
                    let frame: ServerFrame =
                        serde_json::from_str(text.as_str()).unwrap_or_else(|e| panic!("bad frame {text}: {e}"));
                    return Read::Frame(frame);
                }
                Message::Close(frame) => return Read::Closed(frame),
                _ => continue,
            }
        }
    }

    /// The next frame; panics on timeout or close.
    pub async fn next(&mut self) -> ServerFrame {
        match self.read_within(WAIT).await {
            Read::Frame(f) => f,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    pub async fn expect_hello(&mut self) -> Hello {
        match self.next().await {
            ServerFrame::Hello(h) => h,
            other => panic!("expected hello, got {other:?}"),
        }
    }

    /// Reads until a frame matches, returning it and every frame read before it.
    pub async fn until(&mut self, mut want: impl FnMut(&ServerFrame) -> bool) -> (ServerFrame, Vec<ServerFrame>) {
        let mut before = Vec::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read_within(left).await {
                Read::Frame(f) if want(&f) => return (f, before),
                Read::Frame(f) => before.push(f),
                other => panic!("gave up waiting for a frame ({} read before): {other:?}", before.len()),
            }
        }
    }
}

/// Metric names of the points in a metrics frame.
pub fn metric_names(frame: &ServerFrame) -> std::collections::BTreeSet<String> {
    match frame {
        ServerFrame::Metrics(m) => m.points.iter().map(|p| p.metric.clone()).collect(),
        _ => Default::default(),
    }
}

/// Polls `/metrics` until `line` appears in it.
pub async fn wait_for_metric_line(gw: &Gateway, line: &str) -> String {
    let client = http();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let text = client.get(format!("{}/metrics", gw.http_url())).send().await.unwrap().text().await.unwrap();
        if text.lines().any(|l| l == line) {
            return text;
        }
        assert!(tokio::time::Instant::now() < deadline, "never saw {line:?} in:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A local webhook receiver: every JSON body POSTed to it arrives on the channel.
pub async fn webhook_receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

/// One parsed SSE message.
#[derive(Debug, Clone)]
pub struct SseMessage {
    pub id: Option<String>,
    pub event: String,
    pub data: Value,
}

/// Reads SSE messages off a streaming response.
pub struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    pub async fn open(url: &str, last_id: Option<&str>) -> SseReader {
        let mut req = http().get(url);
        if let Some(id) = last_id {
            req = req.header("last-event-id", id);
        }
        let response = req.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
        SseReader { response, buffer: String::new() }
    }

    pub async fn next(&mut self) -> SseMessage {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return SseMessage { id, event, data: serde_json::from_str(&data).unwrap() };
            }
            let chunk = tokio::time::timeout(WAIT, self.response.chunk()).await.expect("SSE stalled").unwrap();
            self.buffer.push_str(std::str::from_utf8(&chunk.expect("SSE ended")).unwrap());
        }
    }
}

/// Checkout's CPU at `t`, as the simulator computes it.
pub fn checkout_cpu(sim: &Simulator, t: i64) -> f64 {
    sim.sample_metric("cpu_usage_percent", t)
        .into_iter()
        .find(|p| p.labels.get("service").map(String::as_str) == Some("checkout"))
        .and_then(|p| match p.value {
            Some(PointValue::Number(n)) => Some(n.0),
            _ => None,
        })
        .unwrap()
}

/// The first time after `from` when checkout's CPU goes over 80 % and stays
/// there for at least 75 s, found from the simulator itself.
pub fn cpu_crossing(sim: &Simulator, from: i64) -> i64 {
    let cpu = |t: i64| checkout_cpu(sim, t);
    let mut t = from - from.rem_euclid(1000);
    let limit = from + 3 * 3_600_000;
    while t < limit {
        if cpu(t) > 80.0 && cpu(t - 1000) <= 80.0 && (0..=750).all(|k| cpu(t + k * 100) > 80.0) {
            return t;
        }
        t += 1000;
    }
    panic!("no sustained CPU crossing in three hours of simulated time");
}

/// `vigil serve` as its own process, as an operator runs it, on a port of
/// its own choosing: it binds `127.0.0.1:0` and the address it got is read
/// from the line it prints on start (`vigil gateway listening on http://…`).
/// Killed on drop; its output is printed if the test is failing.
pub struct ServeChild {
    child: std::process::Child,
    addr: std::net::SocketAddr,
    output: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The state dir it was given when the test gave none.
    _dir: Option<real::TempDir>,
}

/// What `vigil serve` prints first on stderr once it listens.
const LISTENING: &str = "vigil gateway listening on http://";

impl ServeChild {
    /// Runs `vigil serve --bind 127.0.0.1:0 ARGS` with a state dir of its
    /// own and waits (up to 30 s) until it says where it listens. Blocking:
    /// call it off the async workers (`spawn_blocking`) in async tests.
    pub fn start(args: &[&str]) -> ServeChild {
        let dir = real::TempDir::new("serve");
        let mut child = ServeChild::start_in(dir.path(), args);
        child._dir = Some(dir);
        child
    }

    /// [`ServeChild::start`] keeping its state in `dir`, as a gateway
    /// restarted on the same machine does.
    pub fn start_in(dir: &std::path::Path, args: &[&str]) -> ServeChild {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(args)
            .env("VIGIL_STATE_DIR", dir)
            .env_remove("VIGIL_TOKEN")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("vigil serve starts");
        let stderr = child.stderr.take().unwrap();
        let output: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let kept = output.clone();
        // Reads the address, then keeps draining so the gateway never
        // blocks on a full pipe; the last lines are kept for a failure.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix(LISTENING)
                    && let Some(addr) = rest.split_whitespace().next().and_then(|a| a.parse().ok())
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(addr);
                }
                let mut kept = kept.lock().unwrap();
                if kept.len() >= 200 {
                    kept.remove(0);
                }
                kept.push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr,
            Err(e) => {
                let _ = child.kill();
                let status = child.wait();
                let said = output.lock().unwrap().join("\n");
                panic!("vigil serve never said where it listens ({e}; {status:?}):\n{said}");
            }
        };
        ServeChild { child, addr, output, _dir: None }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The lines it has written on stderr so far (the last 200).
    pub fn said(&self) -> Vec<String> {
        self.output.lock().unwrap().clone()
    }

    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stream_url(&self) -> String {
        format!("ws://{}{}", self.addr, vigil::wire::STREAM_PATH)
    }

    /// SIGTERM, as a service manager stops it; waits for the exit, which
    /// must be a clean one.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = std::process::Command::new("kill").args(["-TERM", &pid]).status();
        let status = self.child.wait().expect("vigil serve exits");
        assert!(status.success(), "vigil serve exited with {status} on SIGTERM");
    }

    /// SIGKILL, as a crash or the OOM killer stops it: nothing runs after.
    pub fn kill(mut self) {
        let pid = self.child.id().to_string();
        let _ = std::process::Command::new("kill").args(["-KILL", &pid]).status();
        let _ = self.child.wait();
    }
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("---- vigil serve's last lines:\n{}", self.output.lock().unwrap().join("\n"));
        }
    }
}

/// `vigil tail ARGS` as its own process with a cache and state dir of its
/// own: its stdout lines come through [`TailChild::lines`]. Killed on drop.
pub struct TailChild {
    child: std::process::Child,
    pub lines: std::sync::mpsc::Receiver<String>,
    _dir: real::TempDir,
}

impl TailChild {
    pub fn start(args: &[&str]) -> TailChild {
        use std::io::BufRead;
        let dir = real::TempDir::new("tail");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
            .arg("tail")
            .args(args)
            .env("VIGIL_CACHE_DIR", dir.path())
            .env("VIGIL_STATE_DIR", dir.path())
            .env_remove("VIGIL_TOKEN")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("vigil tail starts");
        let (tx, lines) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        TailChild { child, lines, _dir: dir }
    }
}

impl Drop for TailChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
