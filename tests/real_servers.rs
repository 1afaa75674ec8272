//! Smoke tests of the real-server harness: the Python shop exporter scraped
//! by a real Prometheus, and what Prometheus computes from it. If these
//! fail, so will every test built on the harness; `scripts/test` installs what
//! they need.

mod common;

use common::real::{Exporter, Prometheus, loopback_http};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn prometheus_scrapes_the_exporter_and_sees_its_error_ratio() {
    let exporter = Exporter::start(&["--rate", "200", "--error-ratio", "0.05", "--seed", "7"]).await;
    let addr = exporter.addr();
    let prom = Prometheus::start(&[("shop", &addr, "/metrics")], Duration::from_secs(1)).await;

    prom.wait_for_target_up("shop", WAIT).await;
    let rate = prom.wait_for_value(r#"sum(rate(http_requests_total{job="shop"}[5s]))"#, WAIT, |v| v > 0.0).await;
    assert!(rate > 0.0, "request rate {rate}");
    // While the window still reaches back before the first scrape, rate()
    // extrapolates from a few samples and reads low; once it is full, the
    // generator's steady 200/s shows.
    prom.wait_for_value(r#"sum(rate(http_requests_total{job="shop"}[5s]))"#, WAIT, |v| (170.0..230.0).contains(&v))
        .await;

    // Errors are spread evenly, so a window of a few thousand requests
    // holds the configured share to well within a percent.
    let ratio = r#"sum(rate(http_requests_total{job="shop",status=~"5.."}[10s]))
                 / sum(rate(http_requests_total{job="shop"}[10s]))"#;
    let seen = prom.wait_for_value(ratio, WAIT, |v| (0.04..0.06).contains(&v)).await;
    assert!((seen - 0.05).abs() < 0.01, "error ratio {seen}");

    // The histogram is there and its p99 sits where the log-normal puts
    // it (about 0.16 s; the buckets around it are 0.1 and 0.25).
    let p99 = prom
        .wait_for_value(
            r#"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="shop"}[10s])))"#,
            WAIT,
            |v| v.is_finite(),
        )
        .await;
    assert!((0.1..0.3).contains(&p99), "p99 {p99}");

    // The in-progress gauge follows Little's law: rate × mean latency ≈ 11.
    let in_flight = prom.wait_for_value(r#"sum(http_requests_in_progress{job="shop"})"#, WAIT, |v| v.is_finite()).await;
    assert!((1.0..60.0).contains(&in_flight), "in progress {in_flight}");

    // And the default process collectors came along.
    let rss = prom.wait_for_value(r#"process_resident_memory_bytes{job="shop"}"#, WAIT, |v| v > 0.0).await;
    assert!(rss > 1e6, "resident memory {rss}");
}

#[tokio::test]
async fn the_exporter_speaks_text_and_openmetrics_and_counts_real_requests() {
    let exporter = Exporter::start(&["--rate", "0"]).await;
    let http = loopback_http();

    let resp = http.post(format!("{}/api/checkout?fail=1", exporter.url())).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 503);

    let text = http.get(format!("{}/metrics", exporter.url())).send().await.unwrap();
    let content_type = text.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let body = text.text().await.unwrap();
    assert!(body.contains(r#"http_requests_total{endpoint="/api/checkout",method="POST",status="503"} 1.0"#), "{body}");

    let om = http
        .get(format!("{}/metrics", exporter.url()))
        .header("accept", "application/openmetrics-text; version=1.0.0; charset=utf-8")
        .send()
        .await
        .unwrap();
    let content_type = om.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let body = om.text().await.unwrap();
    assert!(body.trim_end().ends_with("# EOF"), "{body}");
    assert!(body.contains("# TYPE http_requests counter"), "{body}");
}
