//! `vigil serve` on real data: a service's `/metrics` page scraped once per
//! interval for every screen, and points pushed by a producer.

mod common;

use common::real::Exporter;
use common::{Client, ServeChild, TailChild, WAIT};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use vigil::gateway::serve::{Inputs, PushLimits, ServeOptions};
use vigil::wire::{PUSH_PATH, PointValue, ServerFrame, WireNum};

/// A pass-through in front of the exporter's `/metrics` that counts the
/// requests reaching it: what the gateway costs the service.
async fn counting_proxy(target: String) -> (String, Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&count);
    let http = reqwest::Client::new();
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let (http, target, counted) = (http.clone(), target.clone(), Arc::clone(&counted));
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                let resp = http.get(format!("{target}/metrics")).send().await.unwrap();
                let ct = resp
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("text/plain")
                    .to_string();
                ([("content-type", ct)], resp.text().await.unwrap())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, count)
}

/// `vigil tail` of one metric from a gateway: its live points by
/// (timestamp, labels), once it has printed `want` distinct timestamps.
fn tail_points(stream_url: &str, metric: &str, want: usize) -> BTreeMap<(String, String), Value> {
    let tail = TailChild::start(&["--url", stream_url, "--metric", metric, "--since", "1s"]);
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut seen = BTreeMap::new();
    let mut stamps = std::collections::BTreeSet::new();
    while stamps.len() < want {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = tail.lines.recv_timeout(left) else {
            panic!("tail printed {} timestamps of {metric}, not {want}", stamps.len());
        };
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if v["type"] == "point" && v["metric"] == metric && v["backfilled"] != true {
            let ts = v["timestamp"].as_str().unwrap().to_string();
            stamps.insert(ts.clone());
            seen.insert((ts, v["labels"].to_string()), v["value"].clone());
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scraped_page_reaches_every_screen_from_one_read_per_interval() {
    let exporter = Exporter::start(&["--rate", "100", "--error-ratio", "0.05", "--seed", "5"]).await;
    let (page, reads) = counting_proxy(exporter.url()).await;
    let started = Instant::now();
    let gw =
        tokio::task::spawn_blocking(move || ServeChild::start(&["--scrape", &page, "--interval", "1s"])).await.unwrap();
    let url = gw.stream_url();
    let (a, b) = (url.clone(), url.clone());
    let (ta, tb) = tokio::join!(
        tokio::task::spawn_blocking(move || tail_points(&a, "http_requests_total", 6)),
        tokio::task::spawn_blocking(move || tail_points(&b, "http_requests_total", 6)),
    );
    let (ta, tb) = (ta.unwrap(), tb.unwrap());
    let elapsed = started.elapsed().as_secs_f64();
    let reads = reads.load(Ordering::SeqCst) as f64;

    // The same scrape, seen by both: where their spans overlap, the same
    // series with the same values at the same instants.
    let common: Vec<_> = ta.keys().filter(|k| tb.contains_key(*k)).collect();
    assert!(common.len() >= 3, "the two tails share too little: {ta:?} / {tb:?}");
    for k in &common {
        assert_eq!(ta[*k], tb[*k], "{k:?}");
    }
    // Series keep the names and labels the service exposes, plus job and instance.
    assert!(
        common.iter().any(|(_, labels)| labels.contains("\"status\":\"500\"") && labels.contains("\"instance\"")),
        "{common:?}"
    );
    // One read an interval, whatever the number of screens (with a read's
    // worth of slack for the start and the end).
    assert!(reads <= elapsed + 2.0, "{reads} reads in {elapsed:.1}s for two screens");
    assert!(reads >= 3.0, "{reads} reads in {elapsed:.1}s");
    gw.stop();
}

fn push_options() -> ServeOptions {
    ServeOptions {
        inputs: Inputs { simulate: Some(false), ..Inputs::default() },
        push: PushLimits { max_points: 100, max_bytes: 64 << 10, ..PushLimits::default() },
        ..common::options()
    }
}

async fn post(url: &str, body: &str) -> (u16, Value) {
    let resp = common::http()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn numbers(frame: &ServerFrame, metric: &str) -> Vec<f64> {
    match frame {
        ServerFrame::Metrics(m) => m
            .points
            .iter()
            .filter(|p| p.metric == metric)
            .filter_map(|p| match p.value {
                Some(PointValue::Number(WireNum(v))) => Some(v),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[tokio::test]
async fn pushed_points_arrive_once_in_order_and_a_bad_body_changes_nothing() {
    let gw = common::start(push_options()).await;
    let push = format!("{}{PUSH_PATH}", gw.http_url());
    let mut client = Client::connect(&gw, None).await;
    client.expect_hello().await;
    // Subscribed before the metric exists: a producer may come later.
    client.subscribe("orders_per_minute").await;

    let t0 = vigil::wire::now_ms() - 10_000;
    for (i, v) in [41.0, 42.5, 40.0].iter().enumerate() {
        let at = vigil::wire::format_time(t0 + i as i64 * 1_000);
        let body = json!({"type":"metrics","timestamp":at,"points":[{"metric":"orders_per_minute","value":v}]});
        let (status, answer) = post(&push, &body.to_string()).await;
        assert_eq!((status, answer["accepted"].as_u64()), (200, Some(1)), "{answer}");
    }
    let mut got = Vec::new();
    while got.len() < 3 {
        let frame = tokio::time::timeout(WAIT, client.next()).await.expect("pushed points arrive");
        got.extend(numbers(&frame, "orders_per_minute"));
    }
    assert_eq!(got, [41.0, 42.5, 40.0], "once each, in order");

    // A body whose second point is bad: 400 naming it, and its first point
    // is not used either.
    let bad = json!({"type":"metrics","points":[
        {"metric":"orders_per_minute","value":99},
        {"metric":"orders_per_minute","labels":{"region":7},"value":1}]});
    let (status, answer) = post(&push, &bad.to_string()).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"].as_str().unwrap().starts_with("points[1].labels.region:"), "{answer}");
    let realtime = common::get_json(&format!("{}/api/v1/metrics/realtime", gw.http_url())).await;
    assert_eq!(realtime["orders_per_minute"], json!(40.0), "{realtime}");
    // The next good push is the next thing the screen sees.
    let (status, _) = post(&push, r#"{"orders_per_minute": 43}"#).await;
    assert_eq!(status, 200);
    let next = loop {
        let frame = tokio::time::timeout(WAIT, client.next()).await.expect("the flat snapshot arrives");
        let n = numbers(&frame, "orders_per_minute");
        if !n.is_empty() {
            break n;
        }
    };
    assert_eq!(next, [43.0]);

    // Limits: too many points, too large a body; each says which.
    let many: Vec<Value> = (0..101).map(|i| json!({"metric":"m","labels":{"i":i.to_string()},"value":1})).collect();
    let (status, answer) = post(&push, &json!({"type":"metrics","points":many}).to_string()).await;
    assert_eq!(status, 413, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("101 points"), "{answer}");
    let (status, answer) = post(&push, &format!(r#"{{"note":"{}"}}"#, "x".repeat(70_000))).await;
    assert_eq!(status, 413, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("bytes"), "{answer}");

    // History over REST holds what was pushed.
    let query = "metric=orders_per_minute&period=1m&granularity=1s";
    let hist = common::get_json(&format!("{}/api/v1/metrics/historical?{query}", gw.http_url())).await;
    let values: Vec<f64> = hist["data"].as_array().unwrap().iter().filter_map(|p| p["value"].as_f64()).collect();
    assert!(values.starts_with(&[41.0, 42.5, 40.0]), "{hist}");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_push_larger_than_a_frame_reaches_screens_as_several_frames_under_the_limit() {
    let gw = common::start(ServeOptions { push: PushLimits::default(), ..push_options() }).await;
    let mut client = Client::connect(&gw, None).await;
    client.expect_hello().await;
    client.subscribe("queue_depth").await;
    // 20,000 points of about 90 bytes each: nearly 2 MiB as one frame,
    // past the 1 MiB either side of the protocol may refuse.
    let points: Vec<Value> = (0..20_000)
        .map(|i| json!({"metric":"queue_depth","labels":{"queue":format!("orders-{i:05}"),"region":"eu-west"},"value":i}))
        .collect();
    let body = json!({"type":"metrics","points":points}).to_string();
    let push = format!("{}{PUSH_PATH}", gw.http_url());
    let (status, answer) = post(&push, &body).await;
    assert_eq!((status, answer["accepted"].as_u64()), (200, Some(20_000)), "{answer}");
    // The test client refuses a frame over 1 MiB, as the protocol allows.
    let (mut got, mut frames) = (Vec::new(), 0);
    while got.len() < 20_000 {
        let frame = tokio::time::timeout(WAIT, client.next()).await.expect("the pushed points arrive");
        let values = numbers(&frame, "queue_depth");
        frames += usize::from(!values.is_empty());
        got.extend(values);
    }
    assert!(frames >= 2, "{frames} frames");
    let sent: Vec<f64> = (0..20_000).map(f64::from).collect();
    assert_eq!(got, sent, "every point once, in order");
    gw.shutdown().await;
}

#[tokio::test]
async fn pushes_need_the_token_like_every_route() {
    let opts = ServeOptions { token: Some("s3cret".into()), ..push_options() };
    let gw = common::start(opts).await;
    let push = format!("{}{PUSH_PATH}", gw.http_url());
    let (status, _) = post(&push, r#"{"active_users": 5}"#).await;
    assert_eq!(status, 401);
    let resp = common::http().post(&push).bearer_auth("s3cret").body(r#"{"active_users": 5}"#).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    gw.shutdown().await;
}

/// The lines `vigil tail --alerts` prints until `done` says enough, or 90 s.
fn tail_alerts(stream_url: &str, mut done: impl FnMut(&[Value]) -> bool) -> Vec<Value> {
    let tail = TailChild::start(&["--url", stream_url, "--alerts"]);
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut lines = Vec::new();
    while !done(&lines) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tail.lines.recv_timeout(left.min(Duration::from_millis(500))) {
            Ok(line) => lines.push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if !left.is_zero() => {}
            Err(e) => panic!("{e}; lines so far: {lines:?}"),
        }
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_runs_the_rules_once_for_every_screen() {
    let exporter = Exporter::start(&["--rate", "100", "--error-ratio", "0.05", "--seed", "9"]).await;
    let page = format!("shop={}/metrics", exporter.url());
    let gw =
        tokio::task::spawn_blocking(move || ServeChild::start(&["--scrape", &page, "--interval", "1s"])).await.unwrap();
    let url = gw.stream_url();
    // Until the gateway's error-rate alert for the service has come, and a
    // few seconds more in which a screen's own rules would have spoken.
    let mut seen_at: Option<Instant> = None;
    let lines = tokio::task::spawn_blocking(move || {
        tail_alerts(&url, |lines| {
            let gateway_alert = lines
                .iter()
                .any(|l| l["type"] == "alert" && l["id"].as_str().is_some_and(|id| id.starts_with("error rate:shop:")));
            if gateway_alert && seen_at.is_none() {
                seen_at = Some(Instant::now());
            }
            seen_at.is_some_and(|t| t.elapsed() > Duration::from_secs(3))
        })
    })
    .await
    .unwrap();
    let shop: Vec<&Value> = lines.iter().filter(|l| l["labels"]["service"] == "shop").collect();
    assert!(shop.iter().all(|l| l["type"] == "alert"), "the screen ran rules of its own: {shop:?}");
    assert!(lines.iter().all(|l| l["type"] != "rule_alert"), "{lines:?}");
    let first = shop[0];
    assert_eq!(first["labels"], json!({"service": "shop"}));
    assert!(first["summary"].as_str().unwrap().contains("shop answers"), "{first}");
    gw.stop();
}

/// An SLO on the pushed service's requests: 99.5 % answered without a
/// server error.
const SHOP_SLO: &str = r#"
[[slo]]
name = "shop availability"
objective = 99.5
window = "30d"
total = { metric = "http_requests_total", labels = { service = "shop" } }
bad = { signal = "errors", labels = { service = "shop" } }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_raises_slo_burn_alerts_once_for_every_screen() {
    let path = std::path::Path::new("slo.toml");
    let slos = vigil::config::Config::parse(SHOP_SLO, path).unwrap().slos(false);
    let opts = ServeOptions { slos: slos.clone(), push: PushLimits::default(), ..push_options() };
    let gw = common::start(opts).await;
    let push = format!("{}{PUSH_PATH}", gw.http_url());
    // Seventy minutes of the shop's counters, one push a minute, a tenth of
    // requests failing: twenty times the budget's pace, over both windows
    // of the fast burn (an hour, and five minutes).
    let now = vigil::wire::now_ms();
    let (mut ok, mut failed) = (0.0, 0.0);
    for minute in (0..=70).rev() {
        ok += 5_400.0;
        failed += 600.0;
        let at = vigil::wire::format_time(now - minute * 60_000);
        let body = json!({"type":"metrics","timestamp":at,"points":[
            {"metric":"http_requests_total","labels":{"service":"shop","status":"200"},"value":ok},
            {"metric":"http_requests_total","labels":{"service":"shop","status":"500"},"value":failed},
        ]});
        let (status, answer) = post(&push, &body.to_string()).await;
        assert_eq!(status, 200, "{answer}");
    }

    // A screen that tracks the same SLO and fetched the same hour: it works
    // out the burn itself (its SLO panel says so) but lists only the
    // gateway's alert.
    let ask = common::screen::Ask { backfill: Duration::from_secs(75 * 60), slos, ..Default::default() };
    let mut screen = common::screen::Screen::start(&gw.stream_url(), ask);
    let burns = |a: &&vigil::core::model::Alert| a.summary.contains("fast burn");
    let (alerts, status) = screen
        .until(Duration::from_secs(90), |scene| {
            let own = scene.slos.iter().find(|s| s.name == "shop availability");
            let listed: Vec<_> = scene.alerts.iter().filter(burns).cloned().collect();
            match own {
                Some(s) if s.firing.iter().any(|f| f == "fast burn") && !listed.is_empty() => Ok((listed, s.clone())),
                _ => Err(format!("SLO panel {own:?}, burn alerts listed {listed:?}")),
            }
        })
        .await;
    assert_eq!(alerts.len(), 1, "one fast burn alert, the gateway's: {alerts:?}");
    assert_eq!(alerts[0].origin.kind(), vigil::core::model::OriginKind::Gateway, "{alerts:?}");
    assert_eq!(alerts[0].labels.get("slo").map(String::as_str), Some("shop availability"));
    // A tenth failing against a half-percent budget is a burn of 20.
    let long = alerts[0].value.expect("the burn rate");
    assert!((long - 20.0).abs() < 1.0, "burn {long} over the hour; the screen's own: {status:?}");
    screen.stop().await;
    gw.shutdown().await;
}
