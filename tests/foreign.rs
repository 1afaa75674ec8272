//! Gateways we did not write, played by a small server of the test's own on
//! a loopback port. It follows PROTOCOL.md (hello, nothing until subscribe,
//! seq rising by one, history over REST, pings answered) and does what our
//! own gateway never does: goes quiet while keeping its connection open, or
//! pushes alerts of its own.

mod common;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::routing::get;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use vigil::sources::SourceStats;
use vigil::sources::gateway::link::{Link, LinkOptions};
use vigil::tui::pipeline::{self, Pipeline};
use vigil::tui::scene::{Scene, SourceInfo};
use vigil::tui::theme::Theme;
use vigil::tui::view::{self, UiView};
use vigil::wire::{HISTORICAL_PATH, STREAM_PATH, format_time, now_ms};

/// Every wait is bounded by this: only a broken client takes this long.
const WAIT: Duration = Duration::from_secs(60);

/// What the test gateway says and does.
struct Script {
    interval_ms: u64,
    /// `alert` frames sent, in order, right after the subscription; each
    /// gets the next seq.
    alerts: Vec<Value>,
    /// While set, no metrics frames go out; the connection stays open and
    /// pings are still answered.
    quiet: AtomicBool,
    /// When set, the next metrics frame's seq jumps by one: a frame lost.
    skip_seq: AtomicBool,
    /// How many times history was asked for, and the paths asked for that
    /// this gateway does not serve.
    history_asks: AtomicUsize,
    unserved: std::sync::Mutex<Vec<String>>,
}

impl Script {
    fn new(interval_ms: u64, alerts: Vec<Value>) -> Arc<Script> {
        Arc::new(Script {
            interval_ms,
            alerts,
            quiet: AtomicBool::new(false),
            skip_seq: AtomicBool::new(false),
            history_asks: AtomicUsize::new(0),
            unserved: Default::default(),
        })
    }

    fn unserved(&self) -> Vec<String> {
        self.unserved.lock().unwrap().clone()
    }
}

/// A gateway of another make on a loopback port; stops with the test's runtime.
struct Foreign {
    addr: std::net::SocketAddr,
    script: Arc<Script>,
}

impl Foreign {
    async fn start(script: Arc<Script>) -> Foreign {
        let app = axum::Router::new()
            .route(STREAM_PATH, get(upgrade))
            .route(HISTORICAL_PATH, get(history))
            .route("/healthz", get(|| async { axum::Json(json!({"status": "ok"})) }))
            .fallback(unserved)
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Foreign { addr, script }
    }

    fn stream_url(&self) -> String {
        format!("ws://{}{STREAM_PATH}", self.addr)
    }
}

async fn upgrade(ws: WebSocketUpgrade, State(script): State<Arc<Script>>) -> axum::response::Response {
    ws.on_upgrade(move |socket| session(socket, script))
}

/// Any path this gateway does not serve: noted, and answered 404 as a
/// plain web server answers it.
async fn unserved(State(script): State<Arc<Script>>, uri: axum::http::Uri) -> axum::http::StatusCode {
    script.unserved.lock().unwrap().push(uri.path().to_string());
    axum::http::StatusCode::NOT_FOUND
}

/// No history kept: every metric has an empty past.
async fn history(State(script): State<Arc<Script>>, Query(q): Query<HashMap<String, String>>) -> axum::Json<Value> {
    script.history_asks.fetch_add(1, Ordering::SeqCst);
    let metric = q.get("metric").cloned().unwrap_or_default();
    axum::Json(json!({"metric": metric, "period": q.get("period"), "granularity": q.get("granularity"), "series": []}))
}

async fn send(ws: &mut WebSocket, frame: &Value) -> bool {
    ws.send(Message::Text(frame.to_string().into())).await.is_ok()
}

/// One connection: hello, then nothing until a subscription; then the
/// script's alerts, and a metrics frame every interval unless quiet. The
/// socket is read all along, so pings get their pongs.
async fn session(mut ws: WebSocket, script: Arc<Script>) {
    let hello = json!({
        "type": "hello", "protocol": 1, "server": "elsewhere/0.3", "session": "s-1", "seq": 0,
        "interval_ms": script.interval_ms,
        "metrics": [
            {"name": "active_users", "kind": "gauge", "help": "Users signed in"},
            {"name": "orders_per_minute", "kind": "gauge", "help": "Orders placed"}
        ]
    });
    if !send(&mut ws, &hello).await {
        return;
    }
    loop {
        match ws.recv().await {
            Some(Ok(Message::Text(t))) if t.as_str().contains("\"subscribe\"") => break,
            Some(Ok(_)) => continue,
            _ => return,
        }
    }
    let mut seq = 0u64;
    for alert in &script.alerts {
        seq += 1;
        let mut frame = alert.clone();
        frame["seq"] = json!(seq);
        if !send(&mut ws, &frame).await {
            return;
        }
    }
    let mut tick = tokio::time::interval(Duration::from_millis(script.interval_ms));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if script.quiet.load(Ordering::SeqCst) {
                    continue;
                }
                seq += 1;
                if script.skip_seq.swap(false, Ordering::SeqCst) {
                    seq += 1;
                }
                let frame = json!({
                    "type": "metrics", "seq": seq, "timestamp": format_time(now_ms()),
                    "points": [{"metric": "active_users", "value": 1250}, {"metric": "orders_per_minute", "value": 45}]
                });
                if !send(&mut ws, &frame).await {
                    return;
                }
            }
            msg = ws.recv() => match msg {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// The dashboard without a terminal: the link into the pipeline, whose
/// scenes are drawn as the screen draws them, at the wall clock.
struct Screen {
    cancel: CancellationToken,
    stats: Arc<SourceStats>,
    scenes: watch::Receiver<Arc<Scene>>,
}

impl Screen {
    fn start(url: &str) -> Screen {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let cancel = CancellationToken::new();
        let stats = Arc::new(SourceStats::default());
        let (tx, rx) = mpsc::channel(1024);
        let opts = LinkOptions {
            urls: vec![url.to_string()],
            token: None,
            backfill: Duration::from_secs(60),
            tls: vigil::sources::tls::client_config(None).unwrap(),
            first_jitter: false,
            timing: Default::default(),
        };
        let (_control, control_rx) = mpsc::channel(1);
        let link = Link::new(opts, tx, vec![stats.clone()], control_rx).unwrap();
        tokio::spawn(link.run(cancel.clone()));
        let (scene_tx, scenes) = watch::channel(Arc::new(Scene::default()));
        let p = Pipeline::new(SourceInfo { url: url.into(), demo: None }, vec![stats.clone()]);
        tokio::spawn(pipeline::run(p, rx, None, scene_tx, cancel.clone()));
        Screen { cancel, stats, scenes }
    }

    /// The screen's text now, row by row, and the scene it was drawn from.
    fn draw(&self) -> (Vec<String>, Arc<Scene>) {
        let scene = self.scenes.borrow().clone();
        let (w, h) = (120, 40);
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        let theme = Theme::built_in("dark").unwrap();
        term.draw(|f| view::render(f, &scene, &UiView::default(), &theme, now_ms())).unwrap();
        let buf = term.backend().buffer();
        let rows = (0..h).map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>()).collect();
        (rows, scene)
    }

    /// Draws until the header holds `want`; returns the screen then.
    async fn until_header(&self, want: &str) -> (Vec<String>, Arc<Scene>) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let (rows, scene) = self.draw();
            if rows[0].contains(want) {
                return (rows, scene);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {want:?} in the header after {WAIT:?}:\n{}",
                rows.join("\n")
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

#[tokio::test]
async fn the_header_says_stale_when_a_gateway_goes_quiet_on_an_open_connection() {
    let gw = Foreign::start(Script::new(200, Vec::new())).await;
    let screen = Screen::start(&gw.stream_url());
    let (rows, _) = screen.until_header("● LIVE").await;
    assert!(!rows[0].contains("STALE"), "{}", rows.join("\n"));

    // The gateway stops sending and keeps the connection. Every panel goes
    // stale three intervals on, and the header with them, long before the
    // link would give up on the silence (30 s).
    gw.script.quiet.store(true, Ordering::SeqCst);
    let went_quiet = std::time::Instant::now();
    let (rows, scene) = screen.until_header("◌ STALE").await;
    eprintln!("the header said STALE {:?} after the gateway went quiet", went_quiet.elapsed());
    let screen_text = rows.join("\n");
    assert!(scene.link.conn.is_connected(), "{:?}\n{screen_text}", scene.link.conn);
    assert!(!rows[0].contains("LIVE"), "{screen_text}");
    assert!(rows[rows.len() - 1].contains("CONNECTED"), "{screen_text}");
    // The age of the newest data follows the word.
    let age = rows[0].split("◌ STALE ").nth(1).and_then(|r| r.split_whitespace().next()).unwrap_or_default();
    assert!(age.ends_with('s') || age.ends_with('m'), "no age after STALE: {screen_text}");
    // Every number on show says it is stale too.
    let users = rows.iter().find(|r| r.contains("1,250")).unwrap_or_else(|| panic!("{screen_text}"));
    assert!(users.contains("stale"), "{screen_text}");
    // The link is open and its pings are answered: this is silence, not a
    // dead connection.
    assert!(screen.stats.link().connected && screen.stats.link().rtt_ms.is_some());

    // Data again, and the header follows it.
    gw.script.quiet.store(false, Ordering::SeqCst);
    screen.until_header("● LIVE").await;
}

#[tokio::test]
async fn a_gateway_without_event_history_is_asked_once_and_costs_no_error() {
    let gw = Foreign::start(Script::new(200, Vec::new())).await;
    let screen = Screen::start(&gw.stream_url());
    screen.until_header("● LIVE").await;
    let events_asks = || gw.script.unserved().iter().filter(|p| *p == vigil::wire::EVENT_HISTORY_PATH).count();
    let deadline = tokio::time::Instant::now() + WAIT;
    // The start-up backfill asks for events first, then for each metric's history.
    while events_asks() == 0 || gw.script.history_asks.load(Ordering::SeqCst) < 2 {
        assert!(tokio::time::Instant::now() < deadline, "no start-up backfill: {:?}", gw.script.unserved());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A lost frame: the gap is backfilled, metrics only, for this gateway
    // said once that it keeps no events.
    let before = gw.script.history_asks.load(Ordering::SeqCst);
    gw.script.skip_seq.store(true, Ordering::SeqCst);
    while SourceStats::read(&screen.stats.seq_gaps) == 0 || gw.script.history_asks.load(Ordering::SeqCst) < before + 2 {
        assert!(tokio::time::Instant::now() < deadline, "the gap was not backfilled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(events_asks(), 1, "asked again: {:?}", gw.script.unserved());
    assert_eq!(gw.script.unserved().len(), 1, "{:?}", gw.script.unserved());
    // Its absence is neither an error nor a malformed frame.
    assert_eq!(SourceStats::read(&screen.stats.malformed), 0);
    assert_eq!(SourceStats::read(&screen.stats.backfill_errors), 0);
    let (rows, scene) = screen.draw();
    assert!(scene.link.last_malformed.is_none(), "{}", rows.join("\n"));
    assert!(rows[rows.len() - 1].contains("0 malformed"), "{}", rows.join("\n"));
}

/// `vigil check --url` against the gateway, with `state_dir` as its state
/// (where silences set on the dashboard are kept).
async fn check(url: &str, state_dir: &std::path::Path, format: &str) -> Output {
    let (url, dir, format) = (url.to_string(), state_dir.to_path_buf(), format.to_string());
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["check", "--url", &url, "--format", &format, "--timeout", "30s"])
            .env_remove("VIGIL_TOKEN")
            .env("VIGIL_STATE_DIR", &dir)
            .env("VIGIL_CACHE_DIR", &dir)
            .output()
            .expect("vigil check runs")
    })
    .await
    .unwrap()
}

fn report(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// An alert frame of the gateway's own: the queue of checkout too deep.
fn queue_alert(state: &str) -> Value {
    let started = now_ms() - 120_000;
    let mut a = json!({
        "type": "alert", "id": "queue-deep:checkout", "state": state, "severity": "critical",
        "metric": "transaction_queue_depth", "labels": {"service": "checkout"}, "value": 1500, "threshold": 1000,
        "summary": "checkout's queue deeper than 1000 for 2m", "starts_at": format_time(started)
    });
    if state == "resolved" {
        a["ends_at"] = json!(format_time(now_ms() - 1_000));
    }
    a
}

#[tokio::test]
async fn check_counts_a_gateways_firing_alert_unless_it_is_over_or_silenced() {
    let dir = common::real::TempDir::new("foreign-check");

    // Nothing of the shipped rules fires on this gateway's data: without an
    // alert of its own, all is well.
    let quiet = Foreign::start(Script::new(200, Vec::new())).await;
    let out = check(&quiet.stream_url(), dir.path(), "json").await;
    let r = report(&out);
    assert_eq!(out.status.code(), Some(0), "{r}");
    assert_eq!((r["status"].as_str(), r["alerts"].as_array().map(Vec::len)), (Some("ok"), Some(0)), "{r}");

    // Firing: exit 1, listed with where it comes from, and said why.
    let firing = Foreign::start(Script::new(200, vec![queue_alert("firing")])).await;
    let out = check(&firing.stream_url(), dir.path(), "json").await;
    let r = report(&out);
    assert_eq!(out.status.code(), Some(1), "{r}");
    assert_eq!(r["status"], "firing", "{r}");
    let a = &r["alerts"][0];
    assert_eq!(
        (a["source"].as_str(), a["name"].as_str(), a["state"].as_str()),
        (Some("gateway"), Some("queue-deep"), Some("firing")),
        "{r}"
    );
    assert_eq!(
        (a["metric"].as_str(), a["labels"]["service"].as_str()),
        (Some("transaction_queue_depth"), Some("checkout")),
        "{r}"
    );
    assert!(r["reasons"].to_string().contains("gateway: 1 firing (queue-deep)"), "{r}");
    let out = check(&firing.stream_url(), dir.path(), "text").await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.starts_with("FIRING   critical gateway queue-deep (transaction_queue_depth){service=\"checkout\"}"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("gateway: 1 firing (queue-deep)"), "{text}");

    // Pending, or fired and then resolved: nothing fires.
    let pending = Foreign::start(Script::new(200, vec![queue_alert("pending")])).await;
    let out = check(&pending.stream_url(), dir.path(), "json").await;
    let r = report(&out);
    assert_eq!(out.status.code(), Some(0), "{r}");
    assert_eq!(r["alerts"][0]["state"], "pending", "{r}");
    let over = Foreign::start(Script::new(200, vec![queue_alert("firing"), queue_alert("resolved")])).await;
    let out = check(&over.stream_url(), dir.path(), "json").await;
    let r = report(&out);
    assert_eq!(out.status.code(), Some(0), "{r}");
    assert_eq!(r["alerts"].as_array().map(Vec::len), Some(0), "{r}");

    // Silenced on the dashboard (as `s` on the alert writes it): quiet here too.
    let until = format_time(now_ms() + 3_600_000);
    let silences = json!({
        "vigil_intent": 1,
        "silences": [{"matchers": {"alertname": "queue-deep", "metric": "transaction_queue_depth", "service": "checkout"},
                      "by": "ana", "at": format_time(now_ms()), "until": until}]
    });
    std::fs::write(vigil::core::alert::intent_file::path_in(dir.path()), silences.to_string()).unwrap();
    let out = check(&firing.stream_url(), dir.path(), "json").await;
    let r = report(&out);
    assert_eq!(out.status.code(), Some(0), "{r}");
    assert_eq!(r["alerts"].as_array().map(Vec::len), Some(0), "{r}");
}
