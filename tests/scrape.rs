//! The scrape source against a real service: the Python shop exporter
//! (prometheus_client and nothing else) read directly by `vigil tail
//! --scrape`, with a real Prometheus scraping the same exporter. The p99
//! and error ratio vigil works out must agree with what Prometheus itself
//! computes from the same exporter over the same window.

mod common;

use common::real::{Exporter, Prometheus, loopback_http};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

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
