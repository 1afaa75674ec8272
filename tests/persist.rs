//! The last state saved to the cache dir and shown at the next start:
//! restored values are stale until live data arrives, and a bad file is
//! ignored rather than fatal.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use vigil::core::model::{
    Alert, AlertState, ConnState, Event, Observation, Sample, SeriesKey, Severity, SourceId, Transport, Update,
};
use vigil::sources::SourceStats;
use vigil::tui::pipeline::{Pipeline, RestoreError, StateFile};
use vigil::tui::scene::{Scene, SourceInfo};

const T0: i64 = 1_751_279_400_000;

/// A fresh directory of its own for each test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vigil-persist-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn pipeline() -> Pipeline {
    let mut p = Pipeline::new(SourceInfo::default(), vec![Arc::new(SourceStats::default())]);
    p.apply(Update::Catalogue { metrics: Vec::new(), interval_ms: 1000, source: SourceId::GATEWAY }, T0);
    p.apply(
        Update::Conn(ConnState::Connected {
            since_ms: T0,
            server: "gw".into(),
            url: "ws://gw".into(),
            transport: Transport::Ws,
        }),
        T0,
    );
    p
}

fn samples(metric: &str, from: i64, n: i64, live: bool) -> Update {
    let observations = (0..n)
        .map(|i| Observation {
            key: SeriesKey::new(metric),
            ts: from + i * 1000,
            sample: Sample::Number(100.0 + i as f64),
        })
        .collect();
    Update::Samples { observations, live, seq: None, source: SourceId::GATEWAY }
}

fn alert(id: &str, updated_ms: i64) -> Alert {
    Alert {
        id: id.into(),
        origin: vigil::core::model::Origin::Gateway { source: SourceId::GATEWAY },
        state: AlertState::Firing,
        severity: Severity::Critical,
        metric: "m".into(),
        labels: Default::default(),
        value: Some(1.0),
        threshold: Some(0.5),
        summary: "too high".into(),
        starts_at: Some(updated_ms),
        ends_at: None,
        updated_ms,
        open_start: false,
    }
}

fn kpi_stale(scene: &Scene, title: &str, now: i64) -> Option<bool> {
    let (reading, _) = scene.number(title)?;
    Some(scene.is_stale(reading?, now))
}

#[test]
fn a_restored_state_shows_stale_until_live_data_arrives() {
    let dir = temp_dir("round-trip");
    let gateways = vec!["ws://gw:7878/api/v1/metrics/stream".to_string()];
    let file = StateFile::new(&dir, &gateways);

    let mut before = pipeline();
    before.apply(samples("active_users", T0, 120, true), T0 + 120_000);
    before.apply(samples("orders_per_minute", T0, 120, true), T0 + 120_000);
    before.apply(Update::Alert(alert("a-1", T0 + 100_000)), T0 + 100_000);
    let event = Event { ts: T0 + 5_000, kind: "deploy".into(), text: "v2 out".into(), labels: Default::default() };
    before.apply(Update::Event(event), T0 + 5_000);
    let bytes = before.save(&file, T0 + 120_000).unwrap();
    assert!(bytes > 0 && file.path.exists());
    assert!(!dir.read_dir().unwrap().any(|e| e.unwrap().path().extension().is_some_and(|x| x == "tmp")));

    let mut after = pipeline();
    let now = T0 + 150_000;
    assert_eq!(after.restore(&file, now).unwrap(), 2);
    let scene = after.scene(now);
    let (users, trend) = scene.number("Active users").unwrap();
    assert_eq!(users.unwrap().value, 219.0, "the last value is back");
    assert!(!trend.is_empty(), "and its history");
    assert_eq!(kpi_stale(&scene, "Active users", now), Some(true), "restored values are stale");
    assert_eq!(scene.link.last_live_ms, None);
    assert_eq!(scene.alerts.len(), 1);
    assert_eq!(scene.events.len(), 1);
    let series = after.core().store.get(&SeriesKey::new("active_users")).unwrap();
    assert!(series.tier(1).unwrap().slots().len() >= 8, "coarse tiers come back too");

    // One live point makes that series fresh; the other stays stale, and
    // the restored alert, not heard of since, is forgotten.
    after.apply(samples("active_users", T0 + 150_000, 1, true), now);
    let scene = after.scene(now + 100);
    assert_eq!(kpi_stale(&scene, "Active users", now + 100), Some(false));
    assert_eq!(kpi_stale(&scene, "Orders / min", now + 100), Some(true));
    assert!(scene.alerts.is_empty());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn corrupt_foreign_and_missing_files_are_ignored() {
    let dir = temp_dir("corrupt");
    let file = StateFile::new(&dir, &[]);
    assert!(matches!(pipeline().restore(&file, T0), Err(RestoreError::Missing)));

    std::fs::write(&file.path, b"{\"vigil_state\":1,\"series\":[tru").unwrap();
    let mut p = pipeline();
    assert!(matches!(p.restore(&file, T0), Err(RestoreError::Corrupt(_))));
    assert!(p.core().store.is_empty());

    // A good file for other gateways, copied under this name.
    let other = StateFile::new(&dir, &["ws://elsewhere/api/v1/metrics/stream".to_string()]);
    let mut source = pipeline();
    source.apply(samples("active_users", T0, 5, true), T0 + 5_000);
    source.save(&other, T0 + 5_000).unwrap();
    std::fs::copy(&other.path, &file.path).unwrap();
    assert!(matches!(pipeline().restore(&file, T0 + 6_000), Err(RestoreError::Foreign(_))));

    // Another format version.
    let text = std::fs::read_to_string(&other.path).unwrap().replacen("\"vigil_state\":1", "\"vigil_state\":99", 1);
    std::fs::write(&other.path, text).unwrap();
    assert!(matches!(pipeline().restore(&other, T0 + 6_000), Err(RestoreError::Foreign(_))));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_file_stays_within_its_size_limit() {
    let dir = temp_dir("size");
    let file = StateFile::new(&dir, &[]);
    let mut p = pipeline();
    for i in 0..200 {
        p.apply(samples(&format!("metric_{i:03}"), T0 + i * 1000, 600, false), T0);
    }
    let limit = 64 * 1024;
    let written = p.save_within(&file, T0 + 900_000, limit).unwrap();
    assert!(written <= limit, "{written} bytes");
    assert_eq!(std::fs::metadata(&file.path).unwrap().len() as usize, written);
    let restored = pipeline().restore(&file, T0 + 900_000).unwrap();
    assert!(restored > 0 && restored < 200, "{restored} series");
    // The series kept are the freshest ones.
    let mut back = pipeline();
    back.restore(&file, T0 + 900_000).unwrap();
    assert!(back.core().store.get(&SeriesKey::new("metric_199")).is_some());
    assert!(back.core().store.get(&SeriesKey::new("metric_000")).is_none());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn restored_events_are_shown_reported_and_not_doubled_when_they_come_again() {
    let dir = temp_dir("events");
    let gateways = vec!["ws://gw:7878/api/v1/metrics/stream".to_string()];
    let file = StateFile::new(&dir, &gateways);
    let deploy = Event {
        ts: T0 + 5_000,
        kind: "deploy".into(),
        text: "checkout v1.4.3 deployed".into(),
        labels: [("service".to_string(), "checkout".to_string())].into(),
    };
    let mut before = pipeline();
    before.apply(samples("active_users", T0, 120, true), T0 + 120_000);
    before.apply(Update::Event(deploy.clone()), T0 + 5_000);
    before.save(&file, T0 + 120_000).unwrap();

    // The next start: the state comes back, then a timeline file that
    // never held the deploy (one kept in another state dir, or lost).
    let mut after = pipeline();
    let now = T0 + 150_000;
    after.restore(&file, now).unwrap();
    let timeline = dir.join("timeline.json");
    after.keep_timeline_in(timeline, now).unwrap();
    // The gateway's history and the live stream bring it again.
    after.apply(Update::Event(deploy.clone()), now);
    after.apply(Update::Event(deploy.clone()), now + 1_000);
    let scene = after.scene(now + 1_000);
    assert_eq!(scene.events, vec![deploy.clone()], "shown once");
    let in_timeline = after
        .timeline()
        .entries()
        .filter(
            |e| matches!(&e.what, vigil::core::incident::timeline::What::Event { text, .. } if *text == deploy.text),
        )
        .count();
    assert_eq!(in_timeline, 1);
    let report = after.incident_report(now, 15 * 60_000, now + 1_000);
    let line = format!("- {} **deploy** {}", vigil::wire::format_time(deploy.ts), deploy.text);
    assert!(report.markdown.contains(&line), "{}", report.markdown);
    let _ = std::fs::remove_dir_all(dir);
}

fn connected_to(server: &str) -> Update {
    Update::Conn(ConnState::Connected {
        since_ms: T0,
        server: server.into(),
        url: "ws://gw".into(),
        transport: Transport::Ws,
    })
}

#[test]
fn restored_data_of_another_producer_goes_when_the_gateway_says_who_it_is() {
    let dir = temp_dir("producer");
    let file = StateFile::new(&dir, &["ws://gw:7878/api/v1/metrics/stream".to_string()]);
    let mut before = pipeline();
    before.apply(connected_to("vigil/1.0 (sim tour seed 1)"), T0);
    before.apply(samples("http_requests_total", T0, 60, true), T0 + 60_000);
    before.apply(Update::Alert(alert("a-1", T0 + 50_000)), T0 + 50_000);
    let event = Event { ts: T0 + 5_000, kind: "deploy".into(), text: "v2 out".into(), labels: Default::default() };
    before.apply(Update::Event(event), T0 + 5_000);
    before.save(&file, T0 + 60_000).unwrap();
    let now = T0 + 90_000;
    let key = SeriesKey::new("http_requests_total");

    // The same producer: what came back is history to carry on from.
    let mut same = Pipeline::new(SourceInfo::default(), vec![Arc::new(SourceStats::default())]);
    assert_eq!(same.restore(&file, now).unwrap(), 1);
    same.apply(connected_to("vigil/1.0 (sim tour seed 1)"), now);
    assert_eq!(same.core().store.get(&key).unwrap().latest().map(|(t, _)| t), Some(T0 + 59_000));
    assert_eq!(same.scene(now).alerts.len(), 1);
    assert_eq!(same.scene(now).events.len(), 1);

    // Shown at start, while nobody has said otherwise...
    let mut other = Pipeline::new(SourceInfo::default(), vec![Arc::new(SourceStats::default())]);
    assert_eq!(other.restore(&file, now).unwrap(), 1);
    assert!(other.core().store.get(&key).unwrap().latest().is_some());
    assert_eq!(other.scene(now).alerts.len(), 1);
    // ...and gone once the gateway turns out to be another producer, before
    // any of its data comes: nothing of the two is joined.
    other.apply(connected_to("vigil/1.0 (sim error-burst seed 1)"), now);
    assert_eq!(other.core().store.get(&key).unwrap().latest(), None);
    let scene = other.scene(now);
    assert!(scene.alerts.is_empty() && scene.events.is_empty(), "{:?} {:?}", scene.alerts, scene.events);
    other.apply(samples("http_requests_total", now, 1, true), now);
    assert_eq!(other.core().store.get(&key).unwrap().latest().map(|(t, _)| t), Some(now));
    // What it saves now names the new producer.
    other.save(&file, now).unwrap();
    let text = std::fs::read_to_string(&file.path).unwrap();
    assert!(text.contains("sim error-burst seed 1") && !text.contains("sim tour"), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_demo_keeps_one_state_per_scenario_and_seed() {
    use vigil::gateway::sim::Scenario;
    let dir = temp_dir("demo-names");
    let plan = |scenario: Scenario, seed: u64| {
        let mut config = vigil::config::Config::default();
        config.demo.scenario = scenario;
        config.demo.seed = seed;
        vigil::feed::Plan {
            config,
            gateways: Vec::new(),
            token: None,
            config_path: None,
            backfill: vigil::feed::START_BACKFILL,
            sources: Vec::new(),
        }
    };
    let tour = StateFile::for_plan(&dir, &plan(Scenario::Tour, 1));
    assert_eq!(tour.path, dir.join("state-demo-tour-1.json"));
    assert_eq!(tour.ledgers_path(), dir.join("slo-demo-tour-1.json"));
    assert_ne!(StateFile::for_plan(&dir, &plan(Scenario::ErrorBurst, 1)), tour);
    assert_ne!(StateFile::for_plan(&dir, &plan(Scenario::Tour, 2)), tour);

    // A file of one scenario, copied under another's name, is not used.
    let mut source = pipeline();
    source.apply(samples("active_users", T0, 5, true), T0 + 5_000);
    source.save(&tour, T0 + 5_000).unwrap();
    let burst = StateFile::for_plan(&dir, &plan(Scenario::ErrorBurst, 1));
    std::fs::copy(&tour.path, &burst.path).unwrap();
    assert!(matches!(pipeline().restore(&burst, T0 + 6_000), Err(RestoreError::Foreign(_))));
    let _ = std::fs::remove_dir_all(dir);
}

/// The dashboard's data path as `vigil --url` runs it, without a terminal:
/// the saved state restored first, then the rules, the start-up history and
/// live data, as `main` sets the pipeline going.
struct Dashboard {
    feed: vigil::feed::Feed,
    pipeline: tokio::task::JoinHandle<Pipeline>,
    scenes: tokio::sync::watch::Receiver<Arc<Scene>>,
    cancel: tokio_util::sync::CancellationToken,
}

impl Dashboard {
    async fn start(url: &str, file: &StateFile, backfill: std::time::Duration) -> Dashboard {
        let args = vigil::cli::SourceArgs { urls: vec![url.to_string()], ..Default::default() };
        let mut plan = vigil::feed::plan(&args).unwrap();
        plan.backfill = backfill;
        let mut feed = vigil::feed::Feed::start(&plan).await.unwrap();
        let mut p = Pipeline::new(feed.info.clone(), feed.stats.clone());
        match p.restore(file, vigil::wire::now_ms()) {
            Ok(_) | Err(RestoreError::Missing) => {}
            Err(e) => panic!("the saved state: {e}"),
        }
        p.set_rules(Arc::new(plan.config.rules()));
        p.fetch_history_with(feed.history.clone());
        let (scene_tx, scenes) = tokio::sync::watch::channel(Arc::new(Scene::default()));
        let cancel = tokio_util::sync::CancellationToken::new();
        let pipeline = tokio::spawn(vigil::tui::pipeline::run(p, feed.take_updates(), None, scene_tx, cancel.clone()));
        Dashboard { feed, pipeline, scenes, cancel }
    }

    /// Waits (up to `wait`) for the payments error-rate alert to stand as
    /// `ok` wants it.
    async fn payments(&mut self, wait: std::time::Duration, ok: impl Fn(&Alert) -> bool) -> Alert {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let scene = self.scenes.borrow_and_update().clone();
            if let Some(a) = scene.alerts.iter().find(|a| a.id == PAYMENTS).filter(|a| ok(a)) {
                return a.clone();
            }
            let now = tokio::time::Instant::now();
            assert!(now < deadline, "no payments alert as wanted; alerts {:?}", scene.alerts);
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), self.scenes.changed()).await;
        }
    }

    /// Stops it as quitting does, saving the state.
    async fn stop(self, file: &StateFile) {
        self.cancel.cancel();
        let pipeline = self.pipeline.await.unwrap();
        pipeline.save(file, vigil::wire::now_ms()).unwrap();
        self.feed.stop().await;
    }
}

const PAYMENTS: &str = "rule:error rate:service=payments";

/// How far apart two runs' starts of one alert may be: one evaluation step.
const STEP_MS: i64 = vigil::core::alert::rules::REPLAY_STEP_MS;

/// A restart during an incident (the saved state plus a live gateway) keeps
/// the alert's start: the second run, whose gateway backfill reaches back a
/// minute only, finds it in the saved history; `check` and `tail --alerts`
/// against the same gateway say the same start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_during_an_incident_keeps_the_alerts_start() {
    use std::time::Duration;
    use vigil::gateway::sim::{Scenario, Simulator};
    let serve =
        tokio::task::spawn_blocking(|| common::ServeChild::start(&["--scenario", "error-burst"])).await.unwrap();
    let url = serve.stream_url();
    let dir = temp_dir("restart-incident");
    let file = StateFile::new(&dir, std::slice::from_ref(&url));
    let sim = Simulator::new(1, Scenario::ErrorBurst);

    // First run: until payments' error rate fires while its incident still
    // burns, so it stays firing minutes after (a round is ten minutes).
    let mut first = Dashboard::start(&url, &file, Duration::from_secs(15 * 60)).await;
    let before = first
        .payments(Duration::from_secs(12 * 60), |a| {
            a.state == AlertState::Firing && sim.incident_at(vigil::wire::now_ms()).is_some()
        })
        .await;
    let start = before.start().expect("a start");
    assert!(!start.at_least, "fifteen minutes of history reach its start: {before:?}");
    first.stop(&file).await;

    // Second run, same cache, the gateway still running.
    let mut second = Dashboard::start(&url, &file, Duration::from_secs(60)).await;
    let after = second.payments(Duration::from_secs(60), |a| a.starts_at.is_some()).await;
    let again = after.start().unwrap();
    assert!((again.at_ms - start.at_ms).abs() <= STEP_MS && !again.at_least, "{before:?}\nthen {after:?}");
    second.stop(&file).await;

    // `check` and `tail --alerts` read the gateway's history and agree.
    let vigil = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
                .args(args)
                .env_remove("VIGIL_TOKEN")
                .output()
                .expect("vigil runs")
        })
    };
    let check = vigil(["check", "--url", &url, "--format", "json", "--timeout", "60s"].map(String::from).to_vec());
    let check = check.await.unwrap();
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let listed = report["alerts"].as_array().unwrap().iter().find(|a| a["rule"] == "error rate");
    let listed = listed.unwrap_or_else(|| panic!("check lists no error rate: {report}"));
    let since = vigil::wire::parse_time(listed["since"].as_str().unwrap()).unwrap();
    assert!((since - start.at_ms).abs() <= STEP_MS, "check: {listed}, the dashboard {start:?}");
    assert_eq!(listed["since_at_least"], false, "{listed}");

    let tail_started = vigil::wire::now_ms();
    let args = ["tail", "--url", &url, "--alerts", "--since", "30m", "--duration", "20s"];
    let tail = vigil(args.map(String::from).to_vec()).await.unwrap();
    assert_eq!(tail.status.code(), Some(0), "{}", String::from_utf8_lossy(&tail.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&tail.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let payments: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["type"] == "rule_alert" && l["rule"] == "error rate" && l["group"]["service"] == "payments")
        .collect();
    let last = payments.last().unwrap_or_else(|| panic!("tail told nothing of payments: {lines:?}"));
    let since = vigil::wire::parse_time(last["since"].as_str().unwrap()).unwrap();
    assert!((since - start.at_ms).abs() <= STEP_MS, "tail: {last}, the dashboard {start:?}");
    // What happened before tail started is told as history, never as live.
    // A gateway's alert is told so by its first line.
    let mut heard = std::collections::HashSet::new();
    let time = |v: &serde_json::Value| v.as_str().map(|t| vigil::wire::parse_time(t).unwrap());
    for l in &lines {
        let before_start = match l["type"].as_str() {
            Some("rule_alert") => time(&l["at"]).is_some_and(|t| t < tail_started),
            Some("alert") if heard.insert(l["id"].to_string()) && l["state"] != "resolved" => {
                time(&l["starts_at"]).is_some_and(|t| t < tail_started)
            }
            _ => false,
        };
        if before_start {
            assert_eq!(l["replayed"], true, "told as live: {l}");
        }
    }
    assert!(lines.iter().any(|l| l["replayed"] == true), "{lines:?}");
    serve.stop();
    let _ = std::fs::remove_dir_all(dir);
}
