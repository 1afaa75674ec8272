//! vigil against a gateway it did not write: a small one of the test's own
//! that follows PROTOCOL.md and counts requests the way the protocol's
//! example does, `http_requests_total` by `service` and `status`, with no
//! `http_errors_total` at all. Payments answers 5% of its requests with a
//! 500; the others answer none (api's 404s are the callers' doing).
//!
//! The Overview's errors column must say 5% for payments at once, and its
//! row must lead with a warning or worse while the shipped error-rate rule
//! is still waiting out its `for`; `vigil check` must find that rule firing
//! for payments and an SLO of the errors signal burning, and nothing else.

mod common;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use vigil::core::model::AlertState;
use vigil::sources::SourceStats;
use vigil::sources::gateway::link::{Link, LinkOptions};
use vigil::tui::pipeline::{self, Pipeline};
use vigil::tui::scene::{PanelBody, Scene, SourceInfo};
use vigil::tui::theme::Theme;
use vigil::tui::view::{self, Page, UiView};

const INTERVAL_MS: i64 = 500;
/// Every wait here is bounded by this: only a broken client takes so long.
const WAIT: Duration = Duration::from_secs(60);

/// Requests per second by service and status. Payments' 500s begin at the
/// shop's `errors_from`; every other series at its `origin`.
const TRAFFIC: [(&str, &str, f64); 5] = [
    ("api", "200", 120.0),
    ("api", "404", 4.0),
    ("payments", "200", 95.0),
    ("payments", "500", 5.0),
    ("search", "200", 80.0),
];

/// The shop the gateway counts for: counters are exact functions of time,
/// so live frames and history agree to the request.
struct Shop {
    origin_ms: i64,
    errors_from_ms: i64,
    sessions: AtomicU64,
}

impl Shop {
    /// Every series that exists at `t`, with its counter's value then.
    fn counters(&self, t: i64) -> Vec<(&'static str, &'static str, f64)> {
        TRAFFIC
            .iter()
            .filter_map(|&(service, status, per_sec)| {
                let from = if status == "500" { self.errors_from_ms } else { self.origin_ms };
                (t >= from).then(|| (service, status, per_sec * (t - from) as f64 / 1000.0))
            })
            .collect()
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn rfc3339(ms: i64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms as u64)).to_string()
}

/// The gateway on a port of its own; it stops with the runtime.
async fn start_gateway(shop: Shop) -> std::net::SocketAddr {
    let app = Router::new()
        .route("/api/v1/metrics/stream", get(stream))
        .route("/api/v1/metrics/historical", get(historical))
        .route("/healthz", get(|| async { axum::Json(json!({"status": "ok"})) }))
        .with_state(Arc::new(shop));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn stream(ws: WebSocketUpgrade, State(shop): State<Arc<Shop>>) -> Response {
    ws.on_upgrade(move |socket| session(socket, shop))
}

/// One session: `hello`, then nothing until a subscription, then a
/// `metrics` frame every interval. A session cannot be resumed: `resume`
/// is answered with `reset`, as the protocol says.
async fn session(mut socket: WebSocket, shop: Arc<Shop>) {
    let id = shop.sessions.fetch_add(1, Ordering::Relaxed);
    let hello = json!({
        "type": "hello", "protocol": 1, "server": "statuscount/0.1", "session": format!("s{id}"),
        "seq": 0, "interval_ms": INTERVAL_MS,
        "metrics": [{"name": "http_requests_total", "kind": "counter", "unit": "requests",
                     "help": "HTTP requests served, by status"}],
    });
    if socket.send(Message::Text(hello.to_string().into())).await.is_err() {
        return;
    }
    let (mut seq, mut subscribed) = (0u64, false);
    let mut tick = tokio::time::interval(Duration::from_millis(INTERVAL_MS as u64));
    loop {
        let frame = tokio::select! {
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(text))) => {
                    let action: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                    match action["action"].as_str() {
                        Some("subscribe") => subscribed = true,
                        Some("resume") => {
                            seq += 1;
                            let reset = json!({"type": "reset", "seq": seq, "reason": "sessions are not kept"});
                            if socket.send(Message::Text(reset.to_string().into())).await.is_err() {
                                return;
                            }
                        }
                        _ => {}
                    }
                    continue;
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => continue,
            },
            _ = tick.tick(), if subscribed => {
                let t = now_ms();
                seq += 1;
                let points: Vec<Value> = shop
                    .counters(t)
                    .into_iter()
                    .map(|(service, status, v)| json!({
                        "metric": "http_requests_total",
                        "labels": {"service": service, "status": status},
                        "value": v,
                    }))
                    .collect();
                json!({"type": "metrics", "seq": seq, "timestamp": rfc3339(t), "points": points})
            }
        };
        if socket.send(Message::Text(frame.to_string().into())).await.is_err() {
            return;
        }
    }
}

/// `GET /api/v1/metrics/historical`: the counters at every `granularity`
/// back from `end` over `period`; other parameters narrow by label.
async fn historical(Query(params): Query<HashMap<String, String>>, State(shop): State<Arc<Shop>>) -> Response {
    let bad = |why: String| (axum::http::StatusCode::BAD_REQUEST, axum::Json(json!({"error": why}))).into_response();
    let metric = params.get("metric").cloned().unwrap_or_default();
    if metric != "http_requests_total" {
        let body = axum::Json(json!({"error": format!("unknown metric {metric:?}")}));
        return (axum::http::StatusCode::NOT_FOUND, body).into_response();
    }
    let duration = |key: &str, default: &str| {
        let text = params.get(key).map_or(default, String::as_str);
        humantime::parse_duration(text).map(|d| d.as_millis() as i64).map_err(|e| format!("{key}: {e}"))
    };
    let (period, step) = match (duration("period", "1h"), duration("granularity", "1m")) {
        (Ok(p), Ok(g)) if g > 0 => (p, g),
        (Err(e), _) | (_, Err(e)) => return bad(e),
        _ => return bad("granularity must be positive".into()),
    };
    let end = match params.get("end") {
        None => now_ms(),
        Some(text) => match humantime::parse_rfc3339_weak(text) {
            Ok(t) => t.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64,
            Err(e) => return bad(format!("end: {e}")),
        },
    };
    let wanted = |service: &str, status: &str| {
        params.iter().all(|(k, v)| match k.as_str() {
            "service" => v == service,
            "status" => v == status,
            _ => true,
        })
    };
    let mut series: HashMap<(&str, &str), Vec<Value>> = HashMap::new();
    let mut t = end - (period / step - 1).max(0) * step;
    while t <= end {
        for (service, status, v) in shop.counters(t) {
            if wanted(service, status) {
                series.entry((service, status)).or_default().push(json!({"timestamp": rfc3339(t), "value": v}));
            }
        }
        t += step;
    }
    let series: Vec<Value> = series
        .into_iter()
        .map(|((service, status), data)| json!({"labels": {"service": service, "status": status}, "data": data}))
        .collect();
    let body = json!({
        "metric": metric,
        "period": params.get("period"),
        "granularity": params.get("granularity"),
        "series": series,
    });
    axum::Json(body).into_response()
}

/// The dashboard's own data path to the gateway: link, then pipeline,
/// with the shipped rules; scenes come out of the watch channel.
struct Dashboard {
    cancel: CancellationToken,
    scenes: watch::Receiver<Arc<Scene>>,
}

impl Dashboard {
    fn start(url: &str) -> Dashboard {
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
        let mut p = Pipeline::new(SourceInfo { url: url.into(), demo: None }, vec![stats]);
        p.set_rules(Arc::new(vigil::core::alert::defaults::rules()));
        tokio::spawn(pipeline::run(p, rx, None, scene_tx, cancel.clone()));
        Dashboard { cancel, scenes }
    }

    /// Waits for the first scene that `ready` accepts; fails with `what`.
    async fn until(&mut self, what: &str, ready: impl Fn(&Scene) -> bool) -> Arc<Scene> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let scene = self.scenes.borrow_and_update().clone();
            if ready(&scene) {
                return scene;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.scenes.changed()).await {
                Ok(Ok(())) => {}
                _ => {
                    panic!("gave up after {WAIT:?} waiting for {what}; last errors column: {:?}", errors_column(&scene))
                }
            }
        }
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The Overview's errors column: each service's value now, if it has one.
fn errors_column(scene: &Scene) -> Vec<(String, Option<f64>)> {
    let Some(PanelBody::Table { columns, rows, .. }) = scene.panel("Services: golden signals").map(|p| &p.body) else {
        return Vec::new();
    };
    let Some(at) = columns.iter().position(|c| c.title == "errors") else { return Vec::new() };
    rows.iter().map(|r| (r.name.clone(), r.cells[at].now.as_ref().map(|n| n.value))).collect()
}

/// The error-rate rule's alert on payments, as the scene lists it.
fn payments_error_rate(scene: &Scene) -> Option<AlertState> {
    scene.alerts.iter().find(|a| a.id == "rule:error rate:service=payments").map(|a| a.state)
}

/// The screen's line of `name`'s row in the Overview's table.
fn row_on_screen(scene: &Scene, name: &str) -> String {
    let (w, h) = (120, 40);
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
    let ui = UiView { page: Page::Dashboard(0), ..UiView::default() };
    let theme = Theme::built_in("dark").unwrap();
    term.draw(|f| view::render(f, scene, &ui, &theme, now_ms())).unwrap();
    let buf = term.backend().buffer();
    let lines: Vec<String> = (0..h).map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>()).collect();
    let row = lines.iter().find(|l| l.contains(&format!(" {name} "))).unwrap_or_else(|| {
        panic!("no row for {name} on screen:\n{}", lines.join("\n"));
    });
    row.trim_start_matches(['│', ' ']).to_string()
}

/// Whether a row leads with the warning or the critical glyph.
fn past_warning(row: &str, name: &str) -> bool {
    ["▲", "✖"].iter().any(|g| row.starts_with(&format!("{g} {name}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_shows_a_status_only_gateways_5xx_share_at_once() {
    let start = now_ms();
    // Payments starts failing as the dashboard connects: the rule has a
    // `for` of two minutes to wait out, the picture none.
    let addr =
        start_gateway(Shop { origin_ms: start - 3 * 3_600_000, errors_from_ms: start, sessions: 0.into() }).await;
    let mut dash = Dashboard::start(&format!("ws://{addr}/api/v1/metrics/stream"));

    let near = |v: Option<f64>, want: f64| v.is_some_and(|v| (v - want).abs() < 1e-6);
    let scene = dash
        .until("payments at 5% errors and the others at none", |s| {
            let col = errors_column(s);
            let of = |name: &str| col.iter().find(|(n, _)| n == name).and_then(|(_, v)| *v);
            near(of("payments"), 0.05) && near(of("api"), 0.0) && near(of("search"), 0.0)
        })
        .await;
    let payments = row_on_screen(&scene, "payments");
    // The error ratio is 5%, past the column's warning (1%) and on its
    // critical threshold (5%; a rate a hair under it is a warning): the
    // row leads with that verdict, whatever the rule is doing.
    assert!(past_warning(&payments, "payments") && payments.contains(" 5.00% "), "{payments}");
    for calm in ["api", "search"] {
        let row = row_on_screen(&scene, calm);
        assert!(row.starts_with(&format!("● {calm}")) && row.contains(" 0% "), "{row}");
    }
    // The rule cannot have fired yet: the errors began when the dashboard
    // connected, two minutes of `for` ago at the earliest.
    assert!(now_ms() - start < 120_000, "the picture took two minutes");
    assert_ne!(payments_error_rate(&scene), Some(AlertState::Firing));

    // The shipped rule reads the same errors, and waits: pending, while the
    // row already says critical.
    let scene = dash
        .until("the error-rate rule pending for payments", |s| payments_error_rate(s) == Some(AlertState::Pending))
        .await;
    let payments = row_on_screen(&scene, "payments");
    assert!(past_warning(&payments, "payments") && payments.contains(" 5.00% "), "{payments}");
    assert!(
        scene.alerts.iter().all(|a| a.labels.get("service").is_some_and(|s| s == "payments")),
        "{:?}",
        scene.alerts
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_fires_the_shipped_error_rate_rule_and_an_errors_slo_burns() {
    let start = now_ms();
    // Failing for three hours: history holds the whole of the rule's `for`.
    let origin = start - 3 * 3_600_000;
    let addr = start_gateway(Shop { origin_ms: origin, errors_from_ms: origin, sessions: 0.into() }).await;
    let dir = std::env::temp_dir().join(format!("vigil-status-gateway-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        r#"
[[slo]]
name = "payments availability"
objective = 99.9
total = { metric = "http_requests_total", labels = { service = "payments" } }
bad = { signal = "errors", labels = { service = "payments" } }
"#,
    )
    .unwrap();
    let url = format!("ws://{addr}/api/v1/metrics/stream");
    let args = ["check", "--config", config.to_str().unwrap(), "--url", &url, "--format", "json", "--timeout", "60s"];
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let cache = dir.join("cache");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(&args)
            .env_remove("VIGIL_TOKEN")
            .env("VIGIL_CACHE_DIR", cache)
            .output()
            .expect("vigil runs")
    })
    .await
    .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));

    // The error-rate rule fires for payments, at 5%, and no rule for anyone else.
    let alerts = report["alerts"].as_array().unwrap();
    let firing: Vec<&Value> = alerts.iter().filter(|a| a["state"] == "firing").collect();
    assert_eq!(firing.len(), 1, "{report}");
    assert_eq!((&firing[0]["rule"], &firing[0]["group"]["service"]), (&json!("error rate"), &json!("payments")));
    let value = firing[0]["value"].as_f64().unwrap();
    assert!((value - 0.05).abs() < 1e-6, "{value}: {report}");
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert_eq!(report["status"], "firing", "{report}");

    // The SLO counts the 500s as its bad events: 5% against 0.1% allowed
    // is fifty times the sustainable burn, and the fast burn pages.
    let slo = &report["slos"][0];
    assert_eq!(slo["name"], "payments availability", "{report}");
    let burn = |w: &str| {
        let b = slo["burns"].as_array().unwrap().iter().find(|b| b[0] == w).unwrap_or_else(|| panic!("{report}"));
        b[1].as_f64().unwrap_or_else(|| panic!("no {w} burn: {report}"))
    };
    assert!((burn("5m") - 50.0).abs() < 1.0, "{report}");
    assert!((burn("1h") - 50.0).abs() < 2.5, "{report}");
    assert!(slo["firing"].as_array().unwrap().iter().any(|f| f == "fast burn"), "{report}");
}
