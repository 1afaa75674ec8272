//! What a `vigil serve --prometheus` gateway costs Prometheus with 1 and
//! with 50 screens attached: Debian's Prometheus scrapes the Python shop
//! exporter, the gateway reads it, and N screens connect through the data
//! path `vigil --url` uses (a `Link`: hello, a 15-minute REST backfill of
//! every metric, then the stream). Over a fixed span for each N, the bench
//! prints the growth of Prometheus's own `prometheus_http_requests_total`
//! by handler, and the gateway's own counts of its upstream reads.
//!
//! `cargo bench --bench prometheus_load` (needs Debian's `prometheus` and
//! the exporter's Python packages; `VIGIL_TEST_PYTHON` names the
//! interpreter, as for the tests). `VIGIL_BENCH_SPAN` sets the span in
//! seconds (default 60).

#[allow(dead_code)]
#[path = "../tests/common/real.rs"]
mod real;

use real::{Exporter, Prometheus};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use vigil::gateway::serve::{Gateway, Inputs, ServeOptions};
use vigil::sources::SourceStats;
use vigil::sources::gateway::link::{Link, LinkOptions};

/// Every `prometheus_http_requests_total` by handler, codes summed.
async fn requests_by_handler(http: &reqwest::Client, prom: &Prometheus) -> BTreeMap<String, f64> {
    let text = http.get(format!("{}/metrics", prom.url())).send().await.unwrap().text().await.unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("prometheus_http_requests_total{")) {
        let Some(handler) = line.split("handler=\"").nth(1).and_then(|h| h.split('"').next()) else { continue };
        let Some(v) = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) else { continue };
        *out.entry(handler.to_string()).or_default() += v;
    }
    out
}

/// The gateway's own counters of its upstream reads and history cache.
async fn gateway_counts(http: &reqwest::Client, gw: &Gateway) -> BTreeMap<String, f64> {
    let text = http.get(format!("{}/metrics", gw.http_url())).send().await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with("vigil_gateway_upstream_") || l.starts_with("vigil_gateway_history_cache"))
        .filter_map(|l| {
            let (name, v) = l.rsplit_once(' ')?;
            Some((name.to_string(), v.parse().ok()?))
        })
        .collect()
}

fn delta(after: &BTreeMap<String, f64>, before: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, d)| *d > 0.0)
        .collect()
}

/// `n` screens attached for `span`: what Prometheus and the gateway counted meanwhile.
async fn run(
    n: usize,
    span: Duration,
    http: &reqwest::Client,
    prom: &Prometheus,
    gw: &Gateway,
) -> (BTreeMap<String, f64>, BTreeMap<String, f64>) {
    let before = requests_by_handler(http, prom).await;
    let own_before = gateway_counts(http, gw).await;
    let cancel = CancellationToken::new();
    let tls = vigil::sources::tls::client_config(None).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..n {
        let url = gw.stream_url();
        let stats = Arc::new(SourceStats::for_url(&url));
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let opts = LinkOptions {
            urls: vec![url],
            token: None,
            // What a screen fetches at start: its 15-minute window.
            backfill: Duration::from_secs(15 * 60),
            tls: Arc::clone(&tls),
            first_jitter: false,
            timing: Default::default(),
        };
        let (control, control_rx) = tokio::sync::mpsc::channel(1);
        let link = Link::new(opts, tx, vec![stats], control_rx).unwrap();
        tasks.push(tokio::spawn(link.run(cancel.clone())));
        // A screen takes what comes; the control channel stays open while it runs.
        tasks.push(tokio::spawn(async move {
            let _control = control;
            while rx.recv().await.is_some() {}
        }));
    }
    tokio::time::sleep(span).await;
    cancel.cancel();
    for t in tasks {
        let _ = t.await;
    }
    // Prometheus counts a request once its answer is written.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = requests_by_handler(http, prom).await;
    let own_after = gateway_counts(http, gw).await;
    (delta(&after, &before), delta(&own_after, &own_before))
}

fn main() {
    let span = std::env::var("VIGIL_BENCH_SPAN").ok().and_then(|s| s.parse().ok()).unwrap_or(60u64);
    let span = Duration::from_secs(span);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let exporter = Exporter::start(&["--rate", "100", "--error-ratio", "0.05"]).await;
        let prom = Prometheus::start(&[("shop", &exporter.addr(), "/metrics")], Duration::from_secs(1)).await;
        prom.wait_for_target_up("shop", Duration::from_secs(60)).await;
        // A history the gateway does not hold, so backfills reach past it.
        prom.wait_for_value(r#"count_over_time(up{job="shop"}[1m])"#, Duration::from_secs(120), |v| v >= 30.0).await;
        let opts = ServeOptions {
            bind: "127.0.0.1:0".parse().unwrap(),
            interval: Duration::from_secs(1),
            inputs: Inputs {
                prometheus: Some(prom.url()),
                matches: vec![r#"{job="shop"}"#.to_string()],
                ..Inputs::default()
            },
            ..ServeOptions::default()
        };
        let gw = Gateway::start(opts).await.unwrap();
        let http = real::loopback_http();
        // The catalogue comes with the first read.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while gateway_counts(&http, &gw).await.is_empty() || !has_metrics(&http, &gw).await {
            assert!(std::time::Instant::now() < deadline, "the gateway never read Prometheus");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        println!("Prometheus requests over {}s, by handler (prometheus_http_requests_total growth)", span.as_secs());
        let mut rows = Vec::new();
        for n in [1usize, 50] {
            let (prom_delta, own_delta) = run(n, span, &http, &prom, &gw).await;
            println!("\n{n} screen(s):");
            for (handler, d) in &prom_delta {
                println!("  {handler:<28} {d:>6}");
            }
            for (series, d) in &own_delta {
                println!("  gateway {series} +{d}");
            }
            rows.push((n, prom_delta));
        }
        let handlers: std::collections::BTreeSet<&String> = rows.iter().flat_map(|(_, d)| d.keys()).collect();
        println!("\n| handler | 1 screen | 50 screens |\n|---|---:|---:|");
        for h in handlers {
            let get = |i: usize| rows[i].1.get(h).copied().unwrap_or(0.0);
            println!("| `{h}` | {} | {} |", get(0), get(1));
        }
        gw.shutdown().await;
        drop(prom);
        drop(exporter);
    });
}

/// Whether the gateway publishes the exporter's request counter yet.
async fn has_metrics(http: &reqwest::Client, gw: &Gateway) -> bool {
    let url = format!("{}{}?metric=http_requests_total&period=5s", gw.http_url(), vigil::wire::HISTORICAL_PATH);
    matches!(http.get(url).send().await, Ok(r) if r.status().is_success())
}
