//! History on demand against our own gateway on loopback: a window wider
//! than what the store holds is filled over REST, once, and the page drawn
//! from it covers the whole window.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use vigil::core::model::SeriesKey;
use vigil::dashboards::Dashboard;
use vigil::gateway::serve::{Gateway, ServeOptions};
use vigil::gateway::sim::Scenario;
use vigil::sources::gateway::link::{Link, LinkOptions};
use vigil::sources::{SourceStats, history};
use vigil::tui::pipeline::{self, Pipeline, ViewRequest, Wanted};
use vigil::tui::scene::{PanelBody, Scene, SourceInfo};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wide_window_is_filled_from_the_gateway_once() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let gw = Gateway::start(ServeOptions {
        bind: "127.0.0.1:0".parse().unwrap(),
        scenario: Scenario::Calm,
        seed: 5,
        interval: Duration::from_millis(250),
        ..ServeOptions::default()
    })
    .await
    .unwrap();
    let url = gw.stream_url();
    let cancel = CancellationToken::new();
    let stats = Arc::new(SourceStats::for_url(&url));
    let (tx, rx) = mpsc::channel(1024);
    let tls = vigil::sources::tls::client_config(None).unwrap();
    let http = vigil::sources::tls::http_client(&tls).unwrap();
    // The link itself only fetches the last minute at start.
    let opts = LinkOptions {
        urls: vec![url.clone()],
        token: None,
        backfill: Duration::from_secs(60),
        tls,
        first_jitter: false,
        timing: Default::default(),
    };
    let (_control, control_rx) = mpsc::channel(1);
    let link = Link::new(opts, tx.clone(), vec![stats.clone()], control_rx).unwrap();
    let source = tokio::spawn(link.run(cancel.clone()));
    let (history_tx, history_rx) = mpsc::channel(4);
    let fetcher = tokio::spawn(history::serve(
        history_rx,
        vec![url.clone()],
        vec![stats.clone()],
        None,
        http,
        tx,
        cancel.clone(),
    ));

    let mut p = Pipeline::new(SourceInfo { url: url.clone(), demo: None }, vec![stats.clone()]);
    p.fetch_history_with(history_tx);
    let dashboard = Arc::new(Dashboard::built_in());
    let business = dashboard.find_page("business").unwrap();
    // The overview over the last hour: three quarters of it are not held.
    let view = ViewRequest { page: 0, window_ms: 3_600_000, ..ViewRequest::default() };
    let (wanted_tx, wanted_rx) = watch::channel(Wanted {
        dashboard: dashboard.clone(),
        view: view.clone(),
        rules: Default::default(),
        slos: Default::default(),
        detail: None,
    });
    let (scene_tx, mut scenes) = watch::channel(Arc::new(Scene::default()));
    let pipeline = tokio::spawn(pipeline::run(p, rx, Some(wanted_rx), scene_tx, cancel.clone()));

    // After the start-up grace, the pipeline asks for the missing 59 minutes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut covered = false;
    while !covered {
        assert!(tokio::time::Instant::now() < deadline, "the hour was never filled in");
        tokio::time::timeout(Duration::from_secs(5), scenes.changed()).await.ok();
        let scene = scenes.borrow_and_update().clone();
        if let Some(PanelBody::Number { trend, .. }) = scene.panel("Active users").map(|p| &p.body) {
            // A 1 h grid has 161 cells; the last minute alone fills a handful.
            covered = trend.len() > 120;
        }
        // Nudge the pipeline: the same view again is no change, a new one is.
        wanted_tx.send_modify(|w| w.view.choice = Some(format!("{}", scene.link.frames_per_sec)));
    }
    let fetches = SourceStats::read(&stats.backfills);
    // Switching to the business page (24 h) asks once more, for the rest of the day.
    wanted_tx.send_modify(|w| w.view = ViewRequest { page: business, window_ms: 86_400_000, ..ViewRequest::default() });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while SourceStats::read(&stats.backfills) < fetches + 1 {
        assert!(tokio::time::Instant::now() < deadline, "the rest of the day was never asked for");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(SourceStats::read(&stats.backfills), fetches + 1, "one request for the older part of the day");
    // Once the day is in, the pipeline weighs its history again at each
    // change of the view (and each second): five changes, each seen in a
    // scene worked out for it, and still no request.
    let day_ago = vigil::wire::now_ms() - 20 * 3_600_000;
    let reaches_back = |s: &Scene| {
        s.page.rows.iter().flat_map(|r| &r.panels).any(|p| match &p.body {
            PanelBody::Chart { lines, .. } => {
                p.title == "Active users" && lines.iter().any(|l| l.points.first().is_some_and(|pt| pt.0 < day_ago))
            }
            _ => false,
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !reaches_back(&scenes.borrow_and_update()) {
        assert!(tokio::time::Instant::now() < deadline, "the day's history never showed");
        tokio::time::timeout(Duration::from_secs(5), scenes.changed()).await.ok();
    }
    for nudge in 0..5 {
        let choice = Some(format!("nudge {nudge}"));
        wanted_tx.send_modify(|w| w.view.choice = choice.clone());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while scenes.borrow_and_update().view.choice != choice {
            assert!(tokio::time::Instant::now() < deadline, "the view {choice:?} never showed");
            tokio::time::timeout(Duration::from_secs(5), scenes.changed()).await.ok();
        }
    }
    assert_eq!(SourceStats::read(&stats.backfills), fetches + 1, "and not again");

    cancel.cancel();
    let _ = source.await;
    let _ = fetcher.await;
    let p = pipeline.await.unwrap();
    let users = p.core().store.get(&SeriesKey::new("active_users")).unwrap();
    let oldest = users.stitched(0).first().map(|(t, _)| *t).unwrap();
    assert!(vigil::wire::now_ms() - oldest > 20 * 3_600_000, "history reaches back most of a day");
    gw.shutdown().await;
}
