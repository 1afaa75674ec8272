//! `vigil serve --prometheus URL --match SELECTOR` between Debian's
//! Prometheus, scraping the Python shop exporter, and the screens: the
//! Services page against Prometheus's own arithmetic, history from before
//! the gateway started read once from `query_range` for every screen, and
//! `vigil check` on the gateway's own rule evaluation.

mod common;

use common::real::{Exporter, Prometheus, TempDir};
use common::screen::{Ask, Screen};
use common::{ServeChild, WAIT};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use vigil::dashboards::Dashboard;
use vigil::tui::pipeline::ViewRequest;
use vigil::tui::scene::{PanelBody, Scene};
use vigil::wire::{HISTORICAL_PATH, now_ms};

/// Prometheus scrapes every second, so a few seconds of waiting gives it
/// a history to answer from.
const SCRAPE: Duration = Duration::from_secs(1);
/// How long a whole scenario may take on a loaded two-core machine.
const LONG_WAIT: Duration = Duration::from_secs(120);

/// The exporter (100 requests a second, `error_ratio` of them failing)
/// and a Prometheus scraping it as job `shop`, with its target up.
async fn shop(error_ratio: &str) -> (Exporter, Prometheus) {
    let exporter = Exporter::start(&["--rate", "100", "--error-ratio", error_ratio, "--seed", "7"]).await;
    let prom = Prometheus::start(&[("shop", &exporter.addr(), "/metrics")], SCRAPE).await;
    prom.wait_for_target_up("shop", WAIT).await;
    (exporter, prom)
}

/// `vigil serve --prometheus URL --match '{job="shop"}'`, reading every second.
async fn gateway(prom: &Prometheus, extra: &[&str]) -> ServeChild {
    let base = prom.url();
    let mut args: Vec<String> =
        ["--prometheus", base.as_str(), "--match", r#"{job="shop"}"#, "--interval", "1s"].map(String::from).to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    tokio::task::spawn_blocking(move || ServeChild::start(&args.iter().map(String::as_str).collect::<Vec<_>>()))
        .await
        .unwrap()
}

/// `GET /api/v1/metrics/historical` with `query`.
async fn historical(gw: &str, query: &[(&str, String)]) -> Value {
    let resp = common::http().get(format!("{gw}{HISTORICAL_PATH}")).query(query).send().await.unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "historical {query:?}: {status} {body}");
    body
}

/// Waits until the gateway publishes `http_requests_total` from its own
/// reads, and returns that short history.
async fn wait_published(gw: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let resp = common::http()
            .get(format!("{gw}{HISTORICAL_PATH}"))
            .query(&[("metric", "http_requests_total"), ("period", "5s"), ("granularity", "1s")])
            .send()
            .await
            .unwrap();
        if resp.status().is_success() {
            let body: Value = resp.json().await.unwrap();
            if body["series"].as_array().is_some_and(|s| !s.is_empty()) {
                return body;
            }
        }
        assert!(Instant::now() < deadline, "the gateway never published http_requests_total");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Each series of a historical answer: its labels, and its timestamps.
fn stamps(body: &Value) -> Vec<(String, Vec<i64>)> {
    body["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let ts = s["data"].as_array().unwrap().iter();
            let ts = ts.map(|p| vigil::wire::parse_time(p["timestamp"].as_str().unwrap()).unwrap()).collect();
            (s["labels"].to_string(), ts)
        })
        .collect()
}

/// One counter of the gateway's own `/metrics`, by its full series name.
async fn own_counter(gw: &str, series: &str) -> f64 {
    let text = common::http().get(format!("{gw}/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in the gateway's metrics:\n{text}"))
}

/// Waits until Prometheus has answered `handler` `want` times in all
/// (it counts a request once its answer is written), and returns the count.
async fn wait_requests(prom: &Prometheus, handler: &str, want: f64) -> f64 {
    let deadline = Instant::now() + WAIT;
    loop {
        let n = prom.requests_on(handler).await;
        if n >= want || Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const RANGE: &str = "/api/v1/query_range";
const HITS: &str = r#"vigil_gateway_history_cache_total{result="hit"}"#;
const JOINED: &str = r#"vigil_gateway_history_cache_total{result="joined"}"#;
const UPSTREAM_FAILED: &str = r#"vigil_gateway_upstream_requests_total{handler="query_range",result="failed"}"#;

/// Prometheus's count of range requests once it has counted every one the
/// gateway made so far (the gateway is the only one asking here).
async fn settled(prom: &Prometheus, gw: &str) -> f64 {
    let deadline = Instant::now() + WAIT;
    loop {
        let made = own_counter(gw, UPSTREAM_OK).await + own_counter(gw, UPSTREAM_FAILED).await;
        let seen = prom.requests_on(RANGE).await;
        if seen == made {
            return seen;
        }
        assert!(Instant::now() < deadline, "Prometheus counted {seen} range requests, the gateway made {made}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
const UPSTREAM_OK: &str = r#"vigil_gateway_upstream_requests_total{handler="query_range",result="ok"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_before_the_gateway_started_comes_from_prometheus_once_for_every_screen() {
    let (_exporter, prom) = shop("0.05").await;
    // Twenty seconds of scrapes that only Prometheus holds.
    prom.wait_for_value(r#"count_over_time(up{job="shop"}[1m])"#, LONG_WAIT, |v| v >= 20.0).await;
    let started = now_ms();
    let gw = gateway(&prom, &[]).await;
    let url = gw.http_url();

    // Live first: what the gateway publishes from its own reads.
    let live = wait_published(&url).await;
    let live_labels: BTreeSet<String> = stamps(&live).into_iter().map(|(l, _)| l).collect();

    // A minute back, at a fixed end so that every ask below is the same
    // question: the part before the gateway started is Prometheus's.
    let end = vigil::wire::format_time(now_ms());
    let query = |metric: &str| {
        vec![
            ("metric", metric.to_string()),
            ("period", "60s".to_string()),
            ("granularity", "5s".to_string()),
            ("end", end.clone()),
        ]
    };
    let before = settled(&prom, &url).await;
    let base_hits = own_counter(&url, HITS).await + own_counter(&url, JOINED).await;
    let base_ok = own_counter(&url, UPSTREAM_OK).await;
    let first = historical(&url, &query("http_requests_total")).await;
    assert!(first.get("partial").is_none(), "{first}");
    let series = stamps(&first);
    let early: Vec<&(String, Vec<i64>)> = series.iter().filter(|(_, ts)| ts.iter().any(|t| *t < started)).collect();
    assert!(!early.is_empty(), "no point from before the gateway started ({started}): {series:?}");
    // The same series as live: names and labels (service from the job,
    // job, instance, the exporter's own) as the gateway publishes them.
    for (labels, _) in &early {
        assert!(live_labels.contains(labels), "{labels} is not among the live series {live_labels:?}");
    }
    // The values are Prometheus's: a counter read at a step is the
    // counter Prometheus holds at that instant.
    let one = &first["series"][0];
    let at = vigil::wire::parse_time(one["data"][0]["timestamp"].as_str().unwrap()).unwrap();
    let mut selector: Vec<String> = one["labels"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "service")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    selector.sort();
    let promql = format!("http_requests_total{{{}}}", selector.join(","));
    let theirs = prom.query_value_at(&promql, at).await.expect("Prometheus has the series at that step");
    assert_eq!(one["data"][0]["value"].as_f64(), Some(theirs), "{promql} at {at}");

    // One selector, one range request; the same span again costs nothing.
    assert_eq!(wait_requests(&prom, RANGE, before + 1.0).await - before, 1.0);
    let again = historical(&url, &query("http_requests_total")).await;
    assert_eq!(stamps(&again), series);
    // The histogram too, as buckets, counts and sums, and its own request.
    let hist = historical(&url, &query("http_request_duration_seconds")).await;
    let h = &hist["series"][0]["data"][0]["histogram"];
    assert!(h["buckets"].as_array().is_some_and(|b| b.len() > 3) && h["count"].as_f64().is_some(), "{hist}");
    assert_eq!(wait_requests(&prom, RANGE, before + 2.0).await - before, 2.0);
    assert_eq!(own_counter(&url, UPSTREAM_OK).await - base_ok, 2.0);

    // Ten screens asking one new span at once: one request between them.
    let end = vigil::wire::format_time(now_ms() - 2_000);
    let asks = (0..10).map(|_| {
        let (url, end) = (url.clone(), end.clone());
        tokio::spawn(async move {
            let q = [
                ("metric", "http_requests_total".to_string()),
                ("period", "90s".to_string()),
                ("granularity", "10s".to_string()),
                ("end", end),
            ];
            stamps(&historical(&url, &q).await)
        })
    });
    let answers: Vec<_> = futures_util::future::join_all(asks).await.into_iter().map(Result::unwrap).collect();
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "screens got different answers");
    assert!(answers[0].iter().any(|(_, ts)| ts.iter().any(|t| *t < started)), "{:?}", answers[0]);
    assert_eq!(wait_requests(&prom, RANGE, before + 3.0).await - before, 3.0);
    // Give a stray eleventh request time to land before the last look.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(prom.requests_on(RANGE).await - before, 3.0);
    assert_eq!(own_counter(&url, UPSTREAM_OK).await - base_ok, 3.0);
    let shared = own_counter(&url, HITS).await + own_counter(&url, JOINED).await - base_hits;
    // The first span's repeat was a hit; the ten were one read, the
    // others joining it or, had it finished first, finding it kept.
    assert_eq!(shared, 10.0);
    gw.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_says_what_is_missing_when_prometheus_is_gone() {
    let (exporter, prom) = shop("0.05").await;
    prom.wait_for_value(r#"count_over_time(up{job="shop"}[1m])"#, LONG_WAIT, |v| v >= 5.0).await;
    let gw = gateway(&prom, &[]).await;
    let url = gw.http_url();
    // Once it publishes, the gateway has read at least once: its store
    // holds something of its own.
    wait_published(&url).await;
    // Prometheus stops: what the gateway holds still comes, promptly, and
    // the answer says the rest is missing.
    drop(prom);
    drop(exporter);
    let asked = Instant::now();
    let q = [
        ("metric", "http_requests_total".to_string()),
        ("period", "2m".to_string()),
        ("granularity", "1s".to_string()),
    ];
    let body = historical(&url, &q).await;
    assert!(asked.elapsed() < Duration::from_secs(40), "took {:?}", asked.elapsed());
    let partial = body["partial"].as_str().unwrap_or_else(|| panic!("no partial flag: {body}"));
    assert!(partial.contains("upstream"), "{partial}");
    assert!(!partial.contains('\n'));
    assert!(!stamps(&body).is_empty(), "the store's part is missing: {body}");
    gw.stop();
}

/// A chart's lines on the scene's page, by panel title.
fn lines<'a>(scene: &'a Scene, title: &str) -> Vec<&'a vigil::tui::scene::ChartLine> {
    scene
        .page
        .rows
        .iter()
        .flat_map(|r| &r.panels)
        .filter(|p| p.title == title)
        .flat_map(|p| match &p.body {
            PanelBody::Chart { lines, .. } => lines.iter().collect::<Vec<_>>(),
            _ => Vec::new(),
        })
        .collect()
}

/// A line's value at `t`, if it has a point there.
fn at(line: &vigil::tui::scene::ChartLine, t: i64) -> Option<f64> {
    line.points.iter().find(|p| p.0 == t).map(|p| p.1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_services_page_shows_what_prometheus_computes() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let (_exporter, prom) = shop("0.05").await;
    let gw = gateway(&prom, &[]).await;
    let url = gw.stream_url();
    // A screen learns the metrics' kinds from `hello`, so it connects once
    // the gateway has read what it serves.
    wait_published(&gw.http_url()).await;

    // A screen's data path, as `vigil --url` runs it, on the Services page
    // of the built-in dashboard for the exporter's service.
    let dashboard = Dashboard::built_in();
    let page = dashboard.find_page("services").expect("a Services page");
    // Five minutes on screen: the page's rates and quantiles then look
    // back 30 s at each instant (its shortest window).
    let view = ViewRequest { page, window_ms: 5 * 60_000, choice: Some("shop".into()), ..ViewRequest::default() };
    let mut screen = Screen::start(&url, Ask { dashboard, view, ..Ask::default() });

    // The page's newest instant, against Prometheus evaluated at that
    // instant over the same 30 s. The two read the same scrapes at
    // different instants (the gateway once a second, Prometheus at its
    // rule's evaluation time), so each rate's window may hold one second
    // more or less of requests at 100/s: about 1/30 of it, and the
    // extrapolation Prometheus applies at the window's edges differs from
    // the page's cell-to-cell deltas by as much again. Hence 10 % on the
    // traffic, two points of ratio on the error share (5 % of ~3,000
    // requests, Poisson noise of ~0.4 points on each side), and 25 % on
    // the p99, which interpolates inside a bucket (0.1 to 0.25 s) where a
    // few requests more or less move the estimate most.
    let deadline = Instant::now() + LONG_WAIT;
    let mut last = String::new();
    loop {
        tokio::time::timeout(Duration::from_secs(5), screen.scenes.changed()).await.ok();
        let scene = screen.scenes.borrow_and_update().clone();
        let traffic = lines(&scene, "shop traffic by status");
        let errors = lines(&scene, "shop error ratio");
        let latency = lines(&scene, "shop latency");
        let p99 = latency.iter().find(|l| l.name == "p99");
        if let (Some(e), Some(p99)) = (errors.first(), p99)
            && !traffic.is_empty()
            && let Some(&(t, ratio)) = e.points.last()
            && let Some(q99) = at(p99, t)
        {
            let reqs: Option<f64> = traffic.iter().map(|l| at(l, t)).sum();
            let w = "[30s]";
            let p_traffic =
                prom.query_value_at(&format!(r#"sum(rate(http_requests_total{{job="shop"}}{w}))"#), t).await;
            let p_ratio = prom
                .query_value_at(
                    &format!(
                        r#"sum(rate(http_requests_total{{job="shop",status=~"5.."}}{w})) / sum(rate(http_requests_total{{job="shop"}}{w}))"#
                    ),
                    t,
                )
                .await;
            let p_p99 = prom
                .query_value_at(
                    &format!(
                        r#"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{job="shop"}}{w})))"#
                    ),
                    t,
                )
                .await;
            last = format!(
                "at {t}: traffic {reqs:?} vs {p_traffic:?}, errors {ratio} vs {p_ratio:?}, p99 {q99} vs {p_p99:?}"
            );
            if let (Some(reqs), Some(pt), Some(pr), Some(pq)) = (reqs, p_traffic, p_ratio, p_p99)
                && (reqs - pt).abs() <= 0.10 * pt
                && (ratio - pr).abs() <= 0.02
                && (q99 - pq).abs() <= 0.25 * pq
                && pt > 50.0
            {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the Services page never agreed with Prometheus; last: {last}");
    }
    screen.stop().await;
    gw.stop();
}

/// `vigil check --url STREAM`'s exit code and output.
fn check(stream: &str) -> (i32, String) {
    let dir = TempDir::new("check");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["check", "--url", stream, "--timeout", "20s"])
        .env("VIGIL_CACHE_DIR", dir.path())
        .env("VIGIL_STATE_DIR", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .env_remove("VIGIL_TOKEN")
        .output()
        .expect("vigil check runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_fails_while_the_exporter_errs_and_passes_when_it_does_not() {
    let dir = TempDir::new("rules");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, common::quick_error_rule("30s")).unwrap();
    let config = config.display().to_string();
    let ((_bad_exporter, bad_prom), (_good_exporter, good_prom)) = tokio::join!(shop("0.05"), shop("0"));
    let bad = gateway(&bad_prom, &["--config", &config]).await;
    let good = gateway(&good_prom, &["--config", &config]).await;
    let (bad_url, good_url) = (bad.stream_url(), good.stream_url());

    // The gateway evaluates the rule (hello says "rules"); check reads its
    // alerts. With 5 % of requests failing it fires once `for` has passed.
    let started = Instant::now();
    let (code, said) = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + LONG_WAIT;
        loop {
            let (code, said) = check(&bad_url);
            if code == 1 || Instant::now() > deadline {
                return (code, said);
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "check never failed on 5 % errors:\n{said}");
    assert!(said.contains("error rate") && said.contains("shop"), "{said}");

    // The same rule, over a shop without errors that has been read as
    // long as the erring one took to fire: all well.
    assert!(started.elapsed() > Duration::from_secs(5));
    let (code, said) = tokio::task::spawn_blocking(move || check(&good_url)).await.unwrap();
    assert_eq!(code, 0, "check failed on a shop without errors:\n{said}");
    bad.stop();
    good.stop();
}
