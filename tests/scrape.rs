//! The scrape source against a real service: the Python shop exporter
//! (prometheus_client and nothing else) read directly by `vigil tail
//! --scrape`, with a real Prometheus scraping the same exporter. The p99
//! and error ratio vigil works out must agree with what Prometheus itself
//! computes from the same exporter over the same window.
//!
//! And pages with names that need quotes, as Prometheus 3 exporters write
//! them, served over a loopback socket by the test itself: every sample is
//! read, none refused.

mod common;

use common::real::{Exporter, Prometheus, loopback_http};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

/// vigil works its golden signals out over the last 30 s (the shortest
/// window its rates and quantiles look back over, `dashboard::query`).
const WINDOW: &str = "30s";

/// Prometheus's answer to `promql` at `at_ms`.
async fn at(prom: &Prometheus, promql: &str, at_ms: i64) -> f64 {
    let body: Value = loopback_http()
        .get(format!("{}/api/v1/query", prom.url()))
        .query(&[("query", promql.to_string()), ("time", format!("{:.3}", at_ms as f64 / 1000.0))])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let v = &body["data"]["result"][0]["value"][1];
    v.as_str().unwrap_or_else(|| panic!("{promql} at {at_ms}: {body}")).parse().unwrap()
}

#[tokio::test]
async fn scraped_p99_and_error_ratio_agree_with_prometheus() {
    let exporter = Exporter::start(&["--rate", "300", "--error-ratio", "0.04", "--seed", "11"]).await;
    let prom = Prometheus::start(&[("shop", &exporter.addr(), "/metrics")], Duration::from_secs(1)).await;
    prom.wait_for_target_up("shop", WAIT).await;

    let dir = std::env::temp_dir().join(format!("vigil-scrape-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    let url = format!("{}/metrics", exporter.url());
    std::fs::write(
        &config,
        format!("[[source]]\nkind = \"scrape\"\nurl = \"{url}\"\ninterval = \"1s\"\njob = \"shop\"\n"),
    )
    .unwrap();
    let cfg = config.to_str().unwrap().to_string();
    let d = dir.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["tail", "--config", &cfg, "--duration", "40s"])
            .env("VIGIL_CACHE_DIR", &d)
            .env("VIGIL_STATE_DIR", &d)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();

    // The raw series come through, labelled as Prometheus labels them.
    let raw = lines.iter().find(|l| l["metric"] == "http_requests_total").expect("the raw counter");
    assert_eq!(
        (raw["labels"]["job"].as_str(), raw["labels"]["instance"].as_str()),
        (Some("shop"), Some(exporter.addr().as_str()))
    );
    let newest = |name: &str| {
        lines.iter().rev().find(|l| l["metric"] == name).unwrap_or_else(|| panic!("no {name} line")).clone()
    };
    for name in ["traffic_requests_per_second", "saturation_in_flight_requests", "saturation_cpu_cores"] {
        newest(name);
    }

    // The same instant, the same window, the same exporter: Prometheus's
    // own figures. Both interpolate inside the bucket the same way; what
    // differs is only when each took its samples, a second apart at most.
    let p99 = newest("latency_p99_seconds");
    let t = vigil::wire::parse_time(p99["timestamp"].as_str().unwrap()).unwrap();
    let ours = p99["value"].as_f64().unwrap();
    let theirs = at(
        &prom,
        &format!("histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{job=\"shop\"}}[{WINDOW}])))"),
        t,
    )
    .await;
    eprintln!("p99: vigil {ours:.4} s, Prometheus {theirs:.4} s");
    assert!((ours - theirs).abs() / theirs < 0.10, "p99: vigil {ours:.4} s, Prometheus {theirs:.4} s");

    let ratio = newest("error_ratio");
    let t = vigil::wire::parse_time(ratio["timestamp"].as_str().unwrap()).unwrap();
    let ours = ratio["value"].as_f64().unwrap();
    let theirs = at(
        &prom,
        &format!(
            "sum(rate(http_requests_total{{job=\"shop\",status=~\"5..\"}}[{WINDOW}])) / sum(rate(http_requests_total{{job=\"shop\"}}[{WINDOW}]))"
        ),
        t,
    )
    .await;
    eprintln!("error ratio: vigil {ours:.4}, Prometheus {theirs:.4}");
    assert!((ours - theirs).abs() < 0.005, "error ratio: vigil {ours:.4}, Prometheus {theirs:.4}");
    assert!((ours - 0.04).abs() < 0.01, "error ratio {ours:.4}, the exporter's is 0.04");

    let traffic = newest("traffic_requests_per_second");
    let t = vigil::wire::parse_time(traffic["timestamp"].as_str().unwrap()).unwrap();
    let ours = traffic["value"].as_f64().unwrap();
    let theirs = at(&prom, &format!("sum(rate(http_requests_total{{job=\"shop\"}}[{WINDOW}]))"), t).await;
    assert!((ours - theirs).abs() / theirs < 0.05, "traffic: vigil {ours:.1}/s, Prometheus {theirs:.1}/s");
    let _ = std::fs::remove_dir_all(dir);
}

/// The prometheus_client pages with names outside the classic set, in the
/// text format and in OpenMetrics (`scripts/exposition_fixture.py`).
const UTF8_TEXT: &str = include_str!("fixtures/exposition/python_client_utf8.txt");
const UTF8_OM: &str = include_str!("fixtures/exposition/python_client_utf8.om.txt");

/// Serves `page` at `/metrics` on a loopback port of its own, with the
/// content type its format is served under; returns the page's URL.
async fn serve_page(page: &'static str, content_type: &'static str) -> String {
    let app = axum::Router::new()
        .route("/metrics", axum::routing::get(move || async move { ([("content-type", content_type)], page) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// The series `vigil tail --scrape url` prints, by metric name and labels,
/// with their values; waits until every name of `want` has been printed.
/// A `malformed` line, a page line refused, fails the test.
fn tail_until(url: &str, want: &[&str]) -> BTreeMap<(String, String), Value> {
    let dir = common::real::TempDir::new("scrape-utf8");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["tail", "--scrape", url])
        .env("VIGIL_CACHE_DIR", dir.path())
        .env("VIGIL_STATE_DIR", dir.path())
        .env_remove("VIGIL_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("vigil tail starts");
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = BTreeMap::new();
    let outcome = loop {
        if want.iter().all(|w| seen.keys().any(|(m, _): &(String, String)| m == w)) {
            break Ok(());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match rx.recv_timeout(left) {
            Ok(line) => line,
            Err(e) => break Err(format!("{e} before every series was printed; seen {:?}", seen.keys())),
        };
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        match v["type"].as_str() {
            Some("malformed") => break Err(format!("a line of the page was refused: {line}")),
            Some("point") => {
                let key = (v["metric"].as_str().unwrap().to_string(), v["labels"].to_string());
                seen.insert(key, v["value"].clone());
            }
            _ => {}
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    if let Err(why) = outcome {
        panic!("{url}: {why}");
    }
    seen
}

#[tokio::test]
async fn pages_with_quoted_utf8_names_are_read_whole() {
    let pages = [
        (UTF8_TEXT, "text/plain; version=0.0.4; charset=utf-8"),
        (UTF8_OM, "application/openmetrics-text; version=1.0.0; charset=utf-8"),
    ];
    let want = [
        "http.server.requests_total",
        "http.server.request.duration_seconds",
        "http.server.request.duration_seconds_count",
        "queue depth (jobs)",
        "temperature_celsius",
    ];
    for (page, content_type) in pages {
        let url = serve_page(page, content_type).await;
        let u = url.clone();
        let seen = tokio::task::spawn_blocking(move || tail_until(&u, &want)).await.unwrap();
        let value = |metric: &str, label: &str, is: &str| {
            seen.iter()
                .find(|((m, labels), _)| {
                    let labels: Value = serde_json::from_str(labels).unwrap();
                    m == metric && labels[label] == is
                })
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("{url}: no {metric}{{{label}={is:?}}} in {:?}", seen.keys()))
        };
        assert_eq!(value("http.server.requests_total", "http.request.method", "POST"), 3.0, "{url}");
        assert_eq!(value("http.server.requests_total", "http.response.status_code", "200"), 171.0, "{url}");
        let h = value("http.server.request.duration_seconds", "http.route", "/cart");
        assert_eq!((h["count"].as_f64(), h["sum"].as_f64()), (Some(4.0), Some(2.51)), "{url}: {h}");
        assert_eq!(value("temperature_celsius", "région", "Île-de-France"), 21.5, "{url}");
        // The line break in a name never reaches the output as one.
        assert!(seen.keys().all(|(m, _)| !m.chars().any(char::is_control)), "{url}: {:?}", seen.keys());
        // Every series is labelled as any scraped series is.
        assert!(seen.keys().all(|(_, l)| l.contains("\"job\"") && l.contains("\"instance\"")), "{url}");
    }
}
