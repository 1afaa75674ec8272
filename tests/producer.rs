//! A restart on other data raises nothing false. vigil runs on one
//! producer (the demo's tour, or a gateway playing it), saves its state and
//! quits; the next start reads from another (the error burst) with the same
//! cache dir. What it then shows is compared with a pipeline that starts
//! with nothing saved and takes every update the first one takes, at the
//! same instants: no alert fires that the new producer alone would not
//! fire, the traffic is the new producer's, and no burn rate is negative.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use vigil::config::Config;
use vigil::core::model::{AlertState, Update};
use vigil::feed::{Feed, Plan, START_BACKFILL};
use vigil::gateway::serve::{Gateway, ServeOptions};
use vigil::gateway::sim::Scenario;
use vigil::tui::pipeline::{Pipeline, StateFile};
use vigil::tui::scene::{PanelBody, Scene};
use vigil::wire::now_ms;

/// Every wait is bounded by this; only a broken client takes so long.
const WAIT: Duration = Duration::from_secs(180);

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vigil-producer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The embedded demo playing `scenario` (`gateway` of `None`), or the
/// gateway at `gateway`; the default alert rules and the demo's SLOs.
fn plan(scenario: Scenario, gateway: Option<String>) -> Plan {
    let mut config = Config::default();
    config.demo.scenario = scenario;
    config.demo.seed = 1;
    Plan {
        config,
        gateways: gateway.into_iter().collect(),
        token: None,
        config_path: None,
        backfill: START_BACKFILL,
        sources: Vec::new(),
    }
}

/// A pipeline set up as the dashboard sets up its own, having restored the
/// saved state first when `file` is given.
fn pipeline(feed: &Feed, plan: &Plan, file: Option<&StateFile>) -> Pipeline {
    let mut p = Pipeline::new(feed.info.clone(), feed.stats.clone());
    if let Some(file) = file {
        let _ = p.restore(file, now_ms());
    }
    p.set_rules(Arc::new(plan.config.rules()));
    p.set_slos(Arc::new(plan.config.slos(true)));
    p.fetch_history_with(feed.history.clone());
    p
}

/// Hands every update to every pipeline at the same instant, and ticks
/// them together once a second, until all have played their rules over
/// the start-up history and `live` live batches arrived after that.
async fn drive(updates: &mut mpsc::Receiver<Update>, pipelines: &mut [&mut Pipeline], live: usize) {
    let deadline = Instant::now() + WAIT;
    let mut last_tick = Instant::now();
    let mut seen = 0;
    loop {
        let replayed = pipelines.iter().all(|p| p.core().rules_replayed());
        if replayed && seen >= live {
            return;
        }
        assert!(Instant::now() < deadline, "no history and live data within {WAIT:?} (live batches {seen})");
        match tokio::time::timeout(Duration::from_millis(500), updates.recv()).await {
            Ok(Some(update)) => {
                let now = now_ms();
                if replayed && matches!(update, Update::Samples { live: true, .. }) {
                    seen += 1;
                }
                for p in pipelines.iter_mut() {
                    p.apply(update.clone(), now);
                }
            }
            Ok(None) => panic!("the feed ended"),
            Err(_) => {}
        }
        if last_tick.elapsed() >= Duration::from_secs(1) {
            let elapsed = last_tick.elapsed();
            last_tick = Instant::now();
            let now = now_ms();
            for p in pipelines.iter_mut() {
                p.tick(now, elapsed);
            }
        }
    }
}

/// Runs `first` until it has shown live data, and saves its state as the
/// dashboard does on exit.
async fn run_and_save(first: &Plan, file: &StateFile) {
    let mut feed = Feed::start(first).await.unwrap();
    let mut updates = feed.take_updates();
    let mut p = pipeline(&feed, first, None);
    drive(&mut updates, &mut [&mut p], 3).await;
    feed.stop().await;
    p.save(file, now_ms()).unwrap();
    assert!(file.path.exists() && file.ledgers_path().exists());
}

/// Starts `second` with the state `file` of the first producer to restore,
/// beside a twin that starts with nothing, and compares them.
async fn restart_and_compare(second: &Plan, file: &StateFile) {
    let mut feed = Feed::start(second).await.unwrap();
    let mut updates = feed.take_updates();
    let mut restored = pipeline(&feed, second, Some(file));
    let mut fresh = pipeline(&feed, second, None);
    drive(&mut updates, &mut [&mut restored, &mut fresh], 5).await;
    feed.stop().await;
    let now = now_ms();
    for p in [&mut restored, &mut fresh] {
        p.evaluate_rules(now);
        p.evaluate_slos(now);
    }
    let (restored, fresh) = (restored.scene(now), fresh.scene(now));

    let firing = |s: &Scene| -> BTreeSet<String> {
        s.alerts.iter().filter(|a| a.state == AlertState::Firing).map(|a| format!("{} {}", a.id, a.summary)).collect()
    };
    let (after_restore, alone) = (firing(&restored), firing(&fresh));
    let false_alerts: Vec<_> = after_restore.difference(&alone).collect();
    assert!(
        false_alerts.is_empty(),
        "firing only after the restore: {false_alerts:?}; the new producer fires {alone:?}"
    );

    // Traffic, errors and latency per service: the new producer's alone.
    let rows = |s: &Scene| match s.panel("Services: golden signals").map(|p| &p.body) {
        Some(PanelBody::Table { rows, .. }) => rows.clone(),
        other => panic!("no golden signals table: {other:?}"),
    };
    let (rows_restored, rows_fresh) = (rows(&restored), rows(&fresh));
    assert!(!rows_fresh.is_empty());
    for row in &rows_fresh {
        let twin = rows_restored.iter().find(|r| r.name == row.name).expect("the same services");
        let reqs = |r: &vigil::tui::scene::TableRow| r.cells.first().and_then(|c| c.now.as_ref()).map(|n| n.value);
        assert_eq!(reqs(twin), reqs(row), "req/s of {}", row.name);
        assert_eq!(twin, row, "{}", row.name);
    }

    for (a, b) in restored.slos.iter().zip(&fresh.slos) {
        for (window, burn) in &a.burns {
            assert!(burn.is_none_or(|b| b >= 0.0), "{} burns {burn:?} over {window} ms", a.name);
        }
        assert_eq!(a.burns, b.burns, "burn rates of {}", a.name);
    }
    assert_eq!(restored.slos.len(), fresh.slos.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_of_the_demo_with_another_scenario_raises_nothing_false() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = temp_dir("demo");
    let (tour, burst) = (plan(Scenario::Tour, None), plan(Scenario::ErrorBurst, None));
    run_and_save(&tour, &StateFile::for_plan(&dir, &tour)).await;
    restart_and_compare(&burst, &StateFile::for_plan(&dir, &burst)).await;
    // The tour's state stays for the tour's next start.
    assert!(StateFile::for_plan(&dir, &tour).path.exists());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_restarted_on_another_scenario_raises_nothing_false() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = temp_dir("gateway");
    let serve = |scenario, bind: std::net::SocketAddr| {
        Gateway::start(ServeOptions { bind, scenario, seed: 1, ..ServeOptions::default() })
    };
    // One gateway URL, two producers behind it in turn: the file is the
    // same, and only the gateway's hello tells them apart.
    let gw = serve(Scenario::Tour, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = gw.local_addr();
    let tour = plan(Scenario::Tour, Some(gw.stream_url()));
    let file = StateFile::for_plan(&dir, &tour);
    run_and_save(&tour, &file).await;
    gw.shutdown().await;

    let gw = serve(Scenario::ErrorBurst, addr).await.unwrap();
    let burst = plan(Scenario::ErrorBurst, Some(gw.stream_url()));
    assert_eq!(StateFile::for_plan(&dir, &burst), file);
    restart_and_compare(&burst, &file).await;
    gw.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
