//! The Prometheus source against a real Prometheus on loopback, scraping a
//! real exporter (the Python shop service): what the dashboard shows is
//! what Prometheus answers, each query costs one request per refresh
//! however many panels ask, a wrong query is shown on its panel, history
//! comes from range queries, and a dead server turns the screen stale.

mod common;

use common::real::{Exporter, Prometheus, loopback_http};
use serde_json::Value;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use vigil::cli::SourceArgs;
use vigil::core::model::{ConnState, Update};
use vigil::dashboards::Dashboard;
use vigil::dashboards::spec::promql_key;
use vigil::feed::{self, Feed};
use vigil::tui::pipeline::{self, Pipeline, ViewRequest, Wanted};
use vigil::tui::scene::{PanelBody, Scene};

const WAIT: Duration = Duration::from_secs(30);
const TRAFFIC: &str = r#"sum(rate(http_requests_total{job="shop"}[10s]))"#;
const ERRORS: &str = r#"sum(rate(http_requests_total{job="shop",status=~"5.."}[10s])) / sum(rate(http_requests_total{job="shop"}[10s]))"#;

/// An exporter at 200 requests a second and a Prometheus scraping it every
/// second, with the request rate already showing.
async fn servers() -> (Exporter, Prometheus) {
    let exporter = Exporter::start(&["--rate", "200", "--error-ratio", "0.05", "--seed", "3"]).await;
    let prom = Prometheus::start(&[("shop", &exporter.addr(), "/metrics")], Duration::from_secs(1)).await;
    prom.wait_for_target_up("shop", WAIT).await;
    prom.wait_for_value(TRAFFIC, WAIT, |v| v > 150.0).await;
    (exporter, prom)
}

/// A config with one Prometheus source refreshed every second.
fn config(dir: &std::path::Path, url: &str) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(&path, format!("[[source]]\nkind = \"prometheus\"\nurl = \"{url}\"\ninterval = \"1s\"\n")).unwrap();
    path
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vigil-{tag}-{}-{}", std::process::id(), vigil::wire::now_ms()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// How many requests Prometheus has served on `handler`, read from its own
/// `/metrics` so that reading it is not one of them.
async fn served(prom: &Prometheus, handler: &str) -> f64 {
    served_with(prom, handler, "").await
}

/// How many requests Prometheus has answered on `handler` with HTTP `code`
/// (`""`: any).
async fn served_with(prom: &Prometheus, handler: &str, code: &str) -> f64 {
    let text = loopback_http().get(format!("{}/metrics", prom.url())).send().await.unwrap().text().await.unwrap();
    let needle = format!("handler=\"{handler}\"");
    let code = format!("code=\"{code}\"");
    text.lines()
        .filter(|l| l.starts_with("prometheus_http_requests_total") && l.contains(&needle))
        .filter(|l| code == "code=\"\"" || l.contains(&code))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .sum()
}

const PAGE: &str = r#"
[[page]]
title = "Shop"
[[page.row]]
[[page.row.panel]]
type = "bignum"
title = "Traffic"
query = 'sum(rate(http_requests_total{job="shop"}[10s]))'
[[page.row.panel]]
type = "sparkline"
title = "Traffic again"
query = 'sum(rate(http_requests_total{job="shop"}[10s]))'
[[page.row.panel]]
type = "chart"
title = "Traffic chart"
query = 'sum(rate(http_requests_total{job="shop"}[10s]))'
[[page.row.panel]]
type = "bignum"
title = "Errors"
query = 'sum(rate(http_requests_total{job="shop",status=~"5.."}[10s])) / sum(rate(http_requests_total{job="shop"}[10s]))'
unit = "ratio"
[[page.row.panel]]
type = "bignum"
title = "Broken"
query = 'sum(rate(http_requests_total[10s]'
"#;

/// The data path and pipeline of the dashboard, without a terminal.
struct Running {
    scenes: watch::Receiver<Arc<Scene>>,
    /// What the screen wants; it never changes in these tests.
    wanted: watch::Sender<Wanted>,
    cancel: CancellationToken,
    feed: Option<Feed>,
    /// Each live answer the feed handed to the pipeline, as (store name
    /// of its query, the instant it was for), in arrival order.
    answers: Arc<Mutex<Vec<(String, i64)>>>,
}

impl Running {
    async fn start(config: &std::path::Path, page: &str) -> Running {
        let args = SourceArgs { config: Some(config.to_path_buf()), ..SourceArgs::default() };
        let plan = feed::plan(&args).unwrap();
        let mut feed = Feed::start(&plan).await.unwrap();
        let dashboard = Arc::new(Dashboard::parse(page, std::path::Path::new("test.toml")).unwrap());
        let mut p = Pipeline::new(feed.info.clone(), feed.stats.clone());
        p.query_with(feed.promql.clone());
        p.set_dashboard(dashboard.clone());
        let view = ViewRequest { window_ms: 120_000, columns: 120, ..ViewRequest::default() };
        p.set_view(view.clone());
        let (wanted, wanted_rx) = watch::channel(Wanted {
            dashboard,
            view,
            rules: Default::default(),
            slos: Default::default(),
            detail: None,
        });
        let cancel = CancellationToken::new();
        let (scene_tx, scenes) = watch::channel(Arc::new(Scene::default()));
        // A tap between the feed and the pipeline records what arrived.
        let mut updates = feed.take_updates();
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let answers: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
        let record = answers.clone();
        tokio::spawn(async move {
            while let Some(update) = updates.recv().await {
                if let Update::Samples { observations, live: true, .. } = &update
                    && let Some(o) = observations.first()
                {
                    record.lock().unwrap().push((o.key.metric.clone(), o.ts));
                }
                if tx.send(update).await.is_err() {
                    return;
                }
            }
        });
        tokio::spawn(pipeline::run(p, rx, Some(wanted_rx), scene_tx, cancel.clone()));
        Running { scenes, wanted, cancel, feed: Some(feed), answers }
    }

    /// The instants of the live answers to `query` received so far.
    fn answered(&self, query: &str) -> Vec<i64> {
        let key = promql_key("", query);
        self.answers.lock().unwrap().iter().filter(|(k, _)| *k == key).map(|(_, t)| *t).collect()
    }

    /// Waits for a scene that `ok` accepts; fails with the last one.
    async fn until(&mut self, what: &str, ok: impl Fn(&Scene) -> bool) -> Arc<Scene> {
        let deadline = Instant::now() + WAIT;
        loop {
            let scene = self.scenes.borrow_and_update().clone();
            if ok(&scene) {
                return scene;
            }
            assert!(Instant::now() < deadline, "{what} never came; last scene: {:?}", scene.page);
            let _ = tokio::time::timeout(Duration::from_millis(500), self.scenes.changed()).await;
        }
    }

    async fn stop(mut self) {
        self.cancel.cancel();
        if let Some(f) = self.feed.take() {
            f.stop().await;
        }
    }
}

fn number(scene: &Scene, title: &str) -> Option<f64> {
    scene.number(title).and_then(|(now, _)| now.map(|r| r.value))
}

#[tokio::test]
async fn the_dashboard_shows_what_prometheus_answers_at_one_request_per_query() {
    let (_exporter, prom) = servers().await;
    let dir = temp_dir("prom-panels");
    let mut run = Running::start(&config(&dir, &prom.url()), PAGE).await;

    // The value shown is Prometheus's own answer to the same query.
    let scene = run.until("traffic", |s| number(s, "Traffic").is_some_and(|v| v > 150.0)).await;
    let shown = number(&scene, "Traffic").unwrap();
    let asked = prom.query_value(TRAFFIC).await.unwrap();
    assert!((shown - asked).abs() / asked < 0.1, "shown {shown}, Prometheus says {asked}");
    let errors = run.until("errors", |s| number(s, "Errors").is_some()).await;
    let ratio = number(&errors, "Errors").unwrap();
    assert!((0.03..0.07).contains(&ratio), "error ratio {ratio}, configured 0.05");

    // The broken query's error is on its panel, in Prometheus's words.
    let broken = run.until("the error", |s| s.panel("Broken").is_some_and(|p| p.error.is_some())).await;
    let error = broken.panel("Broken").unwrap().error.clone().unwrap();
    assert!(error.starts_with("bad_data:") && error.contains("parse error"), "{error}");
    assert!(broken.panel("Traffic").unwrap().error.is_none());

    // History came from a range query: the chart reaches back before the
    // source started, about a point per column of its window.
    let chart = run
        .until("history", |s| match s.panel("Traffic chart").map(|p| &p.body) {
            Some(PanelBody::Chart { lines, .. }) => lines.first().is_some_and(|l| l.points.len() > 5),
            _ => false,
        })
        .await;
    let Some(PanelBody::Chart { lines, .. }) = chart.panel("Traffic chart").map(|p| &p.body) else { unreachable!() };
    let first = lines[0].points.first().unwrap().0;
    assert!(vigil::wire::now_ms() - first > 4_000, "the chart starts {} ms ago", vigil::wire::now_ms() - first);

    // Three panels share a query: each refresh asks each distinct query
    // once, not once per panel. Counted over ten refreshes whose answers
    // the dashboard received: Prometheus ran each of its queries exactly
    // once at each of their instants, and at no other instant between.
    let ranges_before = served_with(&prom, "/api/v1/query_range", "400").await;
    let (traffic_from, errors_from) = (run.answered(TRAFFIC).len(), run.answered(ERRORS).len());
    let ten = |run: &Running| run.answered(TRAFFIC).len() >= traffic_from + 10;
    let deadline = Instant::now() + WAIT;
    while !ten(&run) {
        assert!(Instant::now() < deadline, "ten refreshes never came: {:?}", run.answered(TRAFFIC));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ran = prom.queries();
    for (query, from) in [(TRAFFIC, traffic_from), (ERRORS, errors_from)] {
        let answered = run.answered(query)[from..].to_vec();
        let (first, last) = (answered[0], *answered.last().unwrap());
        let mut asked: Vec<i64> = ran
            .iter()
            .filter(|q| q.query == query)
            .filter_map(|q| q.instant_ms())
            .filter(|t| (first..=last).contains(t))
            .collect();
        asked.sort_unstable();
        let mut want = answered.clone();
        want.sort_unstable();
        assert_eq!(asked, want, "{query}: instants Prometheus ran vs instants answered");
    }
    // The refused query's history is not asked for again and again: it is
    // the only one Prometheus refuses (HTTP 400) over those refreshes.
    let ranges = served_with(&prom, "/api/v1/query_range", "400").await - ranges_before;
    assert!(ranges <= 1.0, "{ranges} refused range queries over ten refreshes");
    run.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_dead_prometheus_is_shown_disconnected_and_its_panels_stale() {
    let (_exporter, prom) = servers().await;
    let dir = temp_dir("prom-dead");
    let mut run = Running::start(&config(&dir, &prom.url()), PAGE).await;
    let live = run
        .until("live data", |s| {
            let now = vigil::wire::now_ms();
            s.link.conn.is_connected() && s.number("Traffic").and_then(|n| n.0).is_some_and(|r| !s.is_stale(r, now))
        })
        .await;
    let now = vigil::wire::now_ms();
    let reading = live.number("Traffic").unwrap().0.unwrap().clone();
    assert!(!live.is_stale(&reading, now), "fresh data is not stale");

    drop(prom);
    // Each query's failure arrives on its own; the link goes down with the first.
    let down = run
        .until("the link down and the panel's error", |s| {
            matches!(s.link.conn, ConnState::Disconnected { .. })
                && s.panel("Traffic").is_some_and(|p| p.error.is_some())
        })
        .await;
    let ConnState::Disconnected { error } = &down.link.conn else { unreachable!() };
    assert!(error.contains("unreachable"), "{error}");
    let reading = down.number("Traffic").unwrap().0.unwrap().clone();
    let now = vigil::wire::now_ms();
    assert!(down.is_stale(&reading, now), "a dead source's data is stale at once: {reading:?} at {now}");
    assert!(down.panel("Traffic").unwrap().error.as_deref().is_some_and(|e| e.starts_with("unreachable")));
    assert!(down.data_age_ms(vigil::wire::now_ms()).is_some(), "the age of the last data is known");
    run.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Runs `vigil ARGS` to the end, off the async workers.
async fn vigil(args: Vec<String>, dir: &std::path::Path) -> std::process::Output {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(&args)
            .env("VIGIL_CACHE_DIR", &dir)
            .env("VIGIL_STATE_DIR", &dir)
            .output()
            .expect("vigil runs")
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn tail_prints_a_querys_history_then_its_refreshes_and_errors_once() {
    let (_exporter, prom) = servers().await;
    let dir = temp_dir("prom-tail");
    let config = config(&dir, &prom.url());
    let args = ["tail", "--config", config.to_str().unwrap(), "--query", TRAFFIC, "--query", "up(", "--since", "1m"];
    let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    args.extend(["--duration".into(), "5s".into()]);
    let out = vigil(args, &dir).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let points: Vec<&Value> = lines.iter().filter(|l| l["type"] == "point" && l["query"] == TRAFFIC).collect();
    let at = |p: &&&Value| vigil::wire::parse_time(p["timestamp"].as_str().unwrap()).unwrap();
    let history: Vec<i64> = points.iter().filter(|p| p["backfilled"] == true).map(|p| at(&p)).collect();
    let live: Vec<i64> = points.iter().filter(|p| p["backfilled"] != true).map(|p| at(&p)).collect();
    assert!(history.len() >= 5, "{} points of history", history.len());
    // Then the refreshes: each for an instant of its own, after the
    // history. However slow the machine, never more than one a second
    // (six in five seconds, and one to spare).
    assert!((1..=7).contains(&live.len()), "{} refreshes in 5 s at 1 s", live.len());
    assert!(live.windows(2).all(|w| w[0] < w[1]), "refresh instants {live:?}");
    assert!(history.iter().max() <= live.first(), "history {history:?} after refreshes {live:?}");
    for p in &points {
        assert_eq!(p["source"], "prometheus");
        let v = p["value"].as_f64().unwrap();
        assert!(v > 0.0, "{p}");
    }
    // A wrong query is said once, not on every refresh.
    let errors: Vec<&Value> = lines.iter().filter(|l| l["type"] == "query").collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["query"], "up(");
    assert!(errors[0]["error"].as_str().unwrap().starts_with("bad_data:"));

    // With --service and no --query, the golden signals' queries run.
    let args = ["tail", "--prometheus", &prom.url(), "--service", "shop", "--since", "1m", "--duration", "3s"];
    let out = vigil(args.iter().map(|s| s.to_string()).collect(), &dir).await;
    let text = String::from_utf8(out.stdout).unwrap();
    let last = |prefix: &str| {
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|l| l["query"].as_str().is_some_and(|q| q.starts_with(prefix)))
            .filter_map(|l| l["value"].as_f64())
            .next_back()
    };
    // The exporter's latency is log-normal, median 50 ms, p99 about 160 ms.
    let p99 = last("histogram_quantile(0.99");
    assert!(p99.is_some_and(|v| (0.08..0.3).contains(&v)), "p99 {p99:?}");
    // 5% of its requests fail, spread evenly. It has no errors counter, so
    // the query's first form has no answer and the share of 5xx is the one.
    let errors = last("(sum(rate(http_errors_total{job=\"shop\"}");
    assert!(errors.is_some_and(|v| (0.04..0.06).contains(&v)), "error ratio {errors:?}\n{text}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A TCP proxy in front of a real server that holds every answer back by
/// `delay`: a slow Prometheus, as a loaded one or a long link makes it.
/// Answers also wait, however long, while the gate is shut (`false`);
/// the counter is how many answers it has let through.
async fn slow_proxy(
    target: String,
    delay: Duration,
    gate: watch::Receiver<bool>,
) -> (String, Arc<std::sync::atomic::AtomicU64>, tokio::task::JoinHandle<()>) {
    let released: Arc<std::sync::atomic::AtomicU64> = Arc::default();
    let (url, _up, task) = proxy_with(target, delay, gate, released.clone()).await;
    (url, released, task)
}

/// A TCP proxy in front of a real server, holding every answer back by
/// `delay`, that can be cut: while the flag is false, open connections are
/// dropped and new ones closed at once, as when the server goes away.
async fn proxy(target: String, delay: Duration) -> (String, watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (_open, gate) = watch::channel(true);
    proxy_with(target, delay, gate, Arc::default()).await
}

async fn proxy_with(
    target: String,
    delay: Duration,
    gate: watch::Receiver<bool>,
    released: Arc<std::sync::atomic::AtomicU64>,
) -> (String, watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (up, up_rx) = watch::channel(true);
    let task = tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let mut cut = up_rx.clone();
            if !*cut.borrow_and_update() {
                continue;
            }
            let target = target.clone();
            let (mut gate, released) = (gate.clone(), released.clone());
            tokio::spawn(async move {
                let Ok(mut server) = tokio::net::TcpStream::connect(&target).await else { return };
                let (mut cr, mut cw) = client.split();
                let (mut sr, mut sw) = server.split();
                let up = async {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                    let _ = sw.shutdown().await;
                };
                let down = async {
                    let mut buf = vec![0u8; 64 * 1024];
                    let mut last_write: Option<Instant> = None;
                    loop {
                        let n = match sr.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        // Each answer's first bytes wait: the server "thinks".
                        // A connection is kept alive across requests, so an
                        // answer is told by the quiet before it.
                        if last_write.is_none_or(|t| t.elapsed() > Duration::from_millis(100)) {
                            tokio::time::sleep(delay).await;
                            // A gate whose switch is gone stays as it was left.
                            let _ = gate.wait_for(|open| *open).await;
                            released.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        last_write = Some(Instant::now());
                        if cw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                };
                // A proxy nobody can cut (its switch dropped) runs on.
                let cut = async {
                    if cut.wait_for(|up| !*up).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                };
                tokio::select! {
                    _ = async { tokio::join!(up, down) } => {}
                    _ = cut => {}
                }
            });
        }
    });
    (url, up, task)
}

#[tokio::test]
async fn a_query_still_running_at_the_next_refresh_is_not_sent_again() {
    let (_exporter, prom) = servers().await;
    // Answers take 3 s; refreshes come every second. The first answers are
    // held until the view has changed three times.
    let (gate, shut) = watch::channel(false);
    let (url, released, proxy) = slow_proxy(format!("127.0.0.1:{}", prom.port()), Duration::from_secs(3), shut).await;
    let dir = temp_dir("prom-slow");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!("[[source]]\nkind = \"prometheus\"\nurl = \"{url}\"\ninterval = \"1s\"\ntimeout = \"10s\"\n"),
    )
    .unwrap();
    let page = "[[page]]\ntitle = \"Slow\"\n[[page.row]]\n[[page.row.panel]]\ntype = \"bignum\"\ntitle = \"Traffic\"\nquery = 'sum(rate(http_requests_total{job=\"shop\"}[10s]))'\n";
    let before = served(&prom, "/api/v1/query").await + served(&prom, "/api/v1/query_range").await;
    let counting = Instant::now();
    let mut run = Running::start(&config, page).await;
    let started = Instant::now();
    // While the answers are out, what the screen asks for is worked out at
    // once: a new window shows in a scene although no answer can come
    // until the gate opens.
    let deadline = Instant::now() + WAIT;
    while served(&prom, "/api/v1/query").await + served(&prom, "/api/v1/query_range").await == before {
        assert!(Instant::now() < deadline, "no request reached Prometheus");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for window in [300_000, 600_000, 900_000] {
        run.wanted.send_modify(|w| w.view.window_ms = window);
        run.until("the new window", |s| s.time.window_ms == window).await;
    }
    assert_eq!(released.load(std::sync::atomic::Ordering::SeqCst), 0, "an answer went through the shut gate");
    gate.send_replace(true);
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(started.elapsed())).await;
    let value = run.until("the slow answer", |s| number(s, "Traffic").is_some()).await;
    assert!(number(&value, "Traffic").unwrap() > 150.0);
    let sent = served(&prom, "/api/v1/query").await + served(&prom, "/api/v1/query_range").await - before;
    // A refresh every second, but one request out at a time, each taking
    // three seconds: a range, then instants and the wider windows' ranges
    // back to back; plus the heartbeat sent before the page's query came,
    // and one sent just as the count is read. Were a query sent again
    // while out, it would be at least one a second.
    let secs = counting.elapsed().as_secs_f64();
    let most = (secs / 3.0).ceil() + 3.0;
    assert!(sent <= most, "{sent} requests reached the server in {secs:.1} s for one query (at most {most})");
    assert!(sent >= 2.0, "{sent} requests in {secs:.1} s");
    // Left alone, answers come every four seconds or so: that is the slow
    // server's pace, not a hole in the data, so no history is asked for.
    let ranges = served(&prom, "/api/v1/query_range").await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    let more = served(&prom, "/api/v1/query_range").await - ranges;
    // One may be the last window's history, sent late behind the others.
    assert!(more <= 1.0, "{more} range queries in 12 s with the view unchanged");
    run.stop().await;
    proxy.abort();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn refreshes_missed_while_prometheus_was_away_are_filled_from_its_history() {
    let (_exporter, prom) = servers().await;
    let (url, up, proxy) = proxy(format!("127.0.0.1:{}", prom.port()), Duration::ZERO).await;
    let dir = temp_dir("prom-gap");
    let config = dir.join("config.toml");
    std::fs::write(&config, format!("[[source]]\nkind = \"prometheus\"\nurl = \"{url}\"\ninterval = \"1s\"\n"))
        .unwrap();
    let page = "[[page]]\ntitle = \"Gap\"\n[[page.row]]\n[[page.row.panel]]\ntype = \"chart\"\ntitle = \"Up\"\nquery = 'up{job=\"shop\"}'\n";
    let started = vigil::wire::now_ms();
    let mut run = Running::start(&config, page).await;
    // Once its history is in (Prometheus has scraped for a while), the
    // chart reaches back before vigil started; only then is the hole the
    // live refreshes' alone.
    let held = |s: &Scene| s.link.conn.is_connected() && chart_points(s, "Up").iter().any(|(t, _)| *t < started);
    run.until("the chart's history", held).await;
    // The window is 120 s over 120 columns: a point a second when nothing is missed.
    up.send_replace(false);
    let cut_at = vigil::wire::now_ms();
    run.until("the link down", |s| matches!(s.link.conn, ConnState::Disconnected { .. })).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let back_at = vigil::wire::now_ms();
    let in_hole =
        |s: &Scene| chart_points(s, "Up").iter().filter(|(t, _)| *t > cut_at + 2_000 && *t < back_at - 2_000).count();
    assert_eq!(in_hole(&run.scenes.borrow()), 0, "points in the hole before Prometheus was back");
    up.send_replace(true);
    // Prometheus kept scraping while vigil could not reach it; once back,
    // the hole is asked for as history. Only history can fill it: every
    // live answer is for an instant after it.
    run.until("points in the hole", |s| in_hole(s) >= 4).await;
    run.until("the link up again", |s| s.link.conn.is_connected()).await;
    run.stop().await;
    up.send_replace(false);
    proxy.abort();
    let _ = std::fs::remove_dir_all(dir);
}

/// A chart's points, all lines together, by title.
fn chart_points(scene: &Scene, title: &str) -> Vec<(i64, f64)> {
    match scene.panel(title).map(|p| &p.body) {
        Some(PanelBody::Chart { lines, .. }) => lines.iter().flat_map(|l| l.points.iter().copied()).collect(),
        _ => Vec::new(),
    }
}
