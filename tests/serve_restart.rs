//! `vigil serve` stopped and started again on the same state dir, as an
//! operator's service manager (or a crash) does: what producers pushed and
//! were answered 2xx for, and what the inputs read, is still answered by
//! REST history and reaches a client's backfill. The gateway is the real
//! binary, killed by its pid; its pages and producers are real HTTP on
//! loopback.

mod common;

use common::real::TempDir;
use common::{Client, ServeChild, TailChild};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use vigil::wire::{format_time, now_ms, parse_time};

const METRIC: &str = "restart_test_value";
/// Series per pushed body.
const SERIES: usize = 20;

/// A body of `SERIES` points at second `k` after `base_ms`: series `n`
/// holds `k * 100 + n`, so every acknowledged point is known by value.
fn body(base_ms: i64, k: i64) -> Value {
    let points: Vec<Value> = (0..SERIES)
        .map(|n| json!({"metric": METRIC, "labels": {"n": n.to_string()}, "value": k * 100 + n as i64}))
        .collect();
    json!({"type": "metrics", "timestamp": format_time(base_ms + k * 1000), "points": points})
}

/// Posts each body, all at once; returns the seconds whose push was answered 2xx.
async fn push_all(url: &str, base_ms: i64, ks: impl IntoIterator<Item = i64>) -> Vec<i64> {
    let http = common::http();
    let pushes = ks.into_iter().map(|k| {
        let req = http.post(format!("{url}{}", vigil::wire::PUSH_PATH)).json(&body(base_ms, k));
        async move { (k, req.send().await.map(|r| r.status())) }
    });
    let mut acked = Vec::new();
    for (k, status) in futures_util::future::join_all(pushes).await {
        match status {
            Ok(s) if s.is_success() => acked.push(k),
            other => panic!("push of second {k} answered {other:?}"),
        }
    }
    acked
}

/// REST history of a metric over the five minutes up to `end_ms`, one
/// point per second: `(series n, timestamp) -> value`; `None` on 404.
async fn history(url: &str, metric: &str, end_ms: i64) -> Option<BTreeMap<(String, i64), f64>> {
    let resp = common::http()
        .get(format!("{url}{}", vigil::wire::HISTORICAL_PATH))
        .query(&[("metric", metric), ("period", "5m"), ("granularity", "1s"), ("end", &format_time(end_ms))])
        .send()
        .await
        .unwrap();
    if resp.status() == reqwest::StatusCode::NOT_FOUND {
        return None;
    }
    assert!(resp.status().is_success(), "history answered {}", resp.status());
    let v: Value = resp.json().await.unwrap();
    let mut out = BTreeMap::new();
    for s in v["series"].as_array().unwrap() {
        let n = s["labels"]["n"].as_str().unwrap_or("").to_string();
        for p in s["data"].as_array().unwrap() {
            let ts = parse_time(p["timestamp"].as_str().unwrap()).unwrap();
            out.insert((n.clone(), ts), p["value"].as_f64().unwrap());
        }
    }
    Some(out)
}

/// Every point of the bodies at seconds `acked`, as [`history`] gives them.
fn expected(base_ms: i64, acked: &[i64]) -> BTreeMap<(String, i64), f64> {
    let mut out = BTreeMap::new();
    for &k in acked {
        for n in 0..SERIES {
            out.insert((n.to_string(), base_ms + k * 1000), (k * 100 + n as i64) as f64);
        }
    }
    out
}

/// The points of `want` that `got` lacks or answers otherwise.
fn missing(want: &BTreeMap<(String, i64), f64>, got: &BTreeMap<(String, i64), f64>) -> Vec<(String, i64)> {
    want.iter().filter(|(key, v)| got.get(*key) != Some(*v)).map(|(key, _)| key.clone()).collect()
}

/// A whole second a little in the past, where pushed points land in the
/// five minutes history is asked for.
fn base_ms() -> i64 {
    (now_ms() - 120_000).div_euclid(1000) * 1000
}

async fn start_in(dir: &Path, args: &[&str]) -> ServeChild {
    let (dir, args): (PathBuf, Vec<String>) = (dir.to_path_buf(), args.iter().map(|a| a.to_string()).collect());
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ServeChild::start_in(&dir, &args)
    })
    .await
    .unwrap()
}

/// The files in `dir` whose names end in `suffix`.
fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().ends_with(suffix))
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_push_survives_a_kill() {
    let dir = TempDir::new("restart-kill");
    // Saved every second, so the pushes are split between a state file
    // and the log written after it.
    let config = dir.path().join("vigil.toml");
    let state = dir.path().join("state");
    std::fs::write(&config, format!("[serve]\nstate_dir = {:?}\nsave_every = \"1s\"\n", state.display().to_string()))
        .unwrap();
    let args = ["--config", config.to_str().unwrap(), "--simulate=false", "--interval", "1s"];
    let gw = start_in(dir.path(), &args).await;
    let base = base_ms();
    let mut acked = push_all(&gw.http_url(), base, 0..10).await;
    // Until a save has taken the first pushes into the state file.
    let deadline = Instant::now() + common::WAIT;
    while files(&state, ".json").is_empty() {
        assert!(Instant::now() < deadline, "no state file in {}", state.display());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    acked.extend(push_all(&gw.http_url(), base, 10..30).await);
    // A flat snapshot too, which `realtime` answers.
    let flat = common::http()
        .post(format!("{}{}", gw.http_url(), vigil::wire::PUSH_PATH))
        .json(&json!({"restart_flat_gauge": 42.5, "timestamp": format_time(base + 30_000)}))
        .send()
        .await
        .unwrap();
    assert!(flat.status().is_success(), "{}", flat.status());
    gw.kill();

    let gw = start_in(dir.path(), &args).await;
    let want = expected(base, &acked);
    let got = history(&gw.http_url(), METRIC, base + 60_000).await.expect("the pushed metric is known again");
    let lost = missing(&want, &got);
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged points lost, e.g. {:?}",
        lost.len(),
        want.len(),
        &lost[..3.min(lost.len())]
    );
    let realtime = common::get_json(&format!("{}{}", gw.http_url(), vigil::wire::REALTIME_PATH)).await;
    assert_eq!(realtime["restart_flat_gauge"], json!(42.5), "{realtime}");

    // A screen that connects now backfills them from before the restart.
    let url = gw.stream_url();
    let seen = tokio::task::spawn_blocking(move || {
        let tail = TailChild::start(&["--url", &url, "--metric", METRIC, "--since", "5m"]);
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = BTreeMap::new();
        while !missing(&want, &seen).is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = tail.lines.recv_timeout(left) else { break };
            let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            if v["type"] == "point" && v["metric"] == METRIC {
                let ts = parse_time(v["timestamp"].as_str().unwrap()).unwrap();
                let n = v["labels"]["n"].as_str().unwrap_or("").to_string();
                seen.insert((n, ts), v["value"].as_f64().unwrap_or(f64::NAN));
            }
        }
        missing(&want, &seen).len()
    })
    .await
    .unwrap();
    assert_eq!(seen, 0, "points the tail's backfill did not bring");
    gw.stop();
}

/// A `/metrics` page on loopback whose gauge rises by one at every read.
async fn page() -> (String, tokio::task::JoinHandle<()>) {
    use std::sync::atomic::{AtomicU64, Ordering};
    let reads = std::sync::Arc::new(AtomicU64::new(0));
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let n = reads.fetch_add(1, Ordering::Relaxed) + 1;
            async move { format!("# TYPE restart_page_value gauge\nrestart_page_value {n}\n") }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_restart_keeps_what_was_scraped() {
    let dir = TempDir::new("restart-scrape");
    let (url, server) = page().await;
    let spec = format!("page={url}");
    let args = ["--scrape", spec.as_str(), "--interval", "1s"];
    let gw = start_in(dir.path(), &args).await;
    let deadline = Instant::now() + common::WAIT;
    let (end, before) = loop {
        let end = now_ms().div_euclid(1000) * 1000;
        let h = history(&gw.http_url(), "restart_page_value", end).await.unwrap_or_default();
        if h.len() >= 3 {
            break (end, h);
        }
        assert!(Instant::now() < deadline, "the gateway did not scrape the page: {h:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    gw.stop();
    // The page is gone: what is answered after the restart can only come
    // from what the gateway kept.
    server.abort();
    assert_eq!(files(dir.path(), ".json").len(), 1, "one state file for one set of inputs");

    let gw = start_in(dir.path(), &args).await;
    let after = history(&gw.http_url(), "restart_page_value", end).await.expect("the scraped metric is known again");
    assert_eq!(after, before, "history up to the stop, before and after the restart");
    gw.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_or_damaged_log_costs_only_its_damaged_records() {
    let dir = TempDir::new("restart-torn");
    let args = ["--simulate=false", "--interval", "1s"];
    let gw = start_in(dir.path(), &args).await;
    let base = base_ms();
    for k in 0..3 {
        push_all(&gw.http_url(), base, [k]).await;
    }
    gw.kill();

    // The log holds the three pushes, in order: spoil the second in its
    // body and leave half a fourth at the end, as a crash mid-append would.
    let logs: Vec<PathBuf> =
        files(dir.path(), ".wal").into_iter().filter(|p| p.metadata().unwrap().len() > 0).collect();
    assert_eq!(logs.len(), 1, "one log with the pushes: {logs:?}");
    let mut bytes = std::fs::read(&logs[0]).unwrap();
    let starts: Vec<usize> = bytes.windows(4).enumerate().filter(|(_, w)| w == b"vWr1").map(|(i, _)| i).collect();
    assert_eq!(starts.len(), 3, "three records");
    let second = (starts[1] + starts[2]) / 2;
    bytes[second] ^= 0x20;
    let torn = bytes[starts[2]..starts[2] + 40].to_vec();
    bytes.extend(torn);
    std::fs::write(&logs[0], bytes).unwrap();

    let gw = start_in(dir.path(), &args).await;
    let said = gw.said().join("\n");
    assert!(said.contains("skipped a damaged record"), "no warning of the damaged record:\n{said}");
    assert!(said.contains("skipped a torn tail"), "no warning of the torn tail:\n{said}");
    let got = history(&gw.http_url(), METRIC, base + 60_000).await.expect("the pushed metric is known again");
    assert!(missing(&expected(base, &[0, 2]), &got).is_empty(), "the whole records are back: {got:?}");
    assert!(got.keys().all(|(_, ts)| *ts != base + 1000), "nothing of the damaged record came back");
    gw.kill();

    // The replay went into a state file at once; the damage is gone with
    // the old log, and a start after another crash says nothing of it.
    let gw = start_in(dir.path(), &args).await;
    assert!(!gw.said().join("\n").contains("skipped"), "{:?}", gw.said());
    let got = history(&gw.http_url(), METRIC, base + 60_000).await.expect("still known");
    assert!(missing(&expected(base, &[0, 2]), &got).is_empty(), "{got:?}");
    gw.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_fed_otherwise_does_not_restore_anothers_data() {
    let dir = TempDir::new("restart-foreign");
    let pushed_only = ["--simulate=false", "--interval", "1s"];
    let gw = start_in(dir.path(), &pushed_only).await;
    let base = base_ms();
    let acked = push_all(&gw.http_url(), base, 0..3).await;
    gw.stop();

    // Another gateway on the same state dir, reading a page: it has data
    // of its own to save, and must not take the first one's.
    let (page, server) = page().await;
    let scraping = ["--simulate=false", "--interval", "1s", "--scrape", page.as_str()];
    let other = start_in(dir.path(), &scraping).await;
    assert_eq!(history(&other.http_url(), METRIC, base + 60_000).await, None, "another gateway's metric is unknown");
    let deadline = Instant::now() + common::WAIT;
    while history(&other.http_url(), "restart_page_value", now_ms()).await.is_none_or(|h| h.is_empty()) {
        assert!(Instant::now() < deadline, "the other gateway did not read its page");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    other.stop();
    server.abort();

    // And the first gateway's data is still its own.
    let gw = start_in(dir.path(), &pushed_only).await;
    let got = history(&gw.http_url(), METRIC, base + 60_000).await.expect("known again");
    assert!(missing(&expected(base, &acked), &got).is_empty(), "{got:?}");
    let names: BTreeSet<String> =
        files(dir.path(), ".json").iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names.len(), 2, "a state file per set of inputs: {names:?}");
    gw.stop();
}

/// The first alert frame of the error-rate rule in `state` that `client`
/// reads (it subscribes first), within a generous wait.
async fn error_alert(client: &mut Client, state: &str) -> vigil::wire::AlertFrame {
    client.subscribe("http_requests_total").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no {state} error-rate alert within a minute");
        if let common::Read::Frame(vigil::wire::ServerFrame::Alert(a)) = client.read_within(left).await
            && a.id.starts_with("error rate:")
            && a.state == state
        {
            return a;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_firing_before_a_restart_is_firing_after_it_from_the_same_start() {
    let dir = TempDir::new("restart-rules");
    let config = dir.path().join("rules.toml");
    std::fs::write(&config, common::quick_error_rule("10s")).unwrap();
    let config = config.to_str().unwrap().to_string();
    let args = ["--simulate=false", "--config", &config, "--interval", "1s"];
    let gw = start_in(dir.path(), &args).await;
    // A shop's counters pushed once a second until the stop: healthy
    // for longer than the rule's window (a replay judges only whole
    // windows), then failing a tenth of its requests.
    let push = format!("{}{}", gw.http_url(), vigil::wire::PUSH_PATH);
    let pusher = tokio::spawn(async move {
        let (mut ok, mut failed) = (0.0, 0.0);
        for second in 0.. {
            ok += 90.0;
            failed += if second < 15 { 0.0 } else { 10.0 };
            let body = json!({"type":"metrics","points":[
                {"metric":"http_requests_total","labels":{"service":"shop","status":"200"},"value":ok},
                {"metric":"http_requests_total","labels":{"service":"shop","status":"500"},"value":failed},
            ]});
            let _ = common::http().post(&push).json(&body).send().await;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let mut client = Client::connect_url(&gw.stream_url(), None).await;
    client.expect_hello().await;
    let before = error_alert(&mut client, "firing").await;
    let started = before.starts_at.expect("a firing alert has a start").0;
    // Long enough after the start that an alert begun anew after the
    // restart could not pass for the same one.
    while now_ms() - started < 20_000 {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    drop(client);
    gw.stop();

    let gw = start_in(dir.path(), &args).await;
    let mut client = Client::connect_url(&gw.stream_url(), None).await;
    client.expect_hello().await;
    // The alerts under way are sent at the first subscribe: firing at once,
    // from the start the held data shows (found on the replay's 10 s steps).
    let after = error_alert(&mut client, "firing").await;
    let restarted = after.starts_at.expect("a firing alert has a start").0;
    assert!(
        (restarted - started).abs() <= 10_000,
        "started {started} before the restart, {restarted} after: {after:?}"
    );
    assert_eq!(after.labels.get("service").map(String::as_str), Some("shop"));
    pusher.abort();
    gw.stop();
}
