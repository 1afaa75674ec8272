//! Events that happened before the dashboard connected: our own gateway
//! playing `bad-deploy` is already past its deploy and rollback when the
//! client starts, yet the deploy is on the chart, in the events list, one
//! `m` away, and in the exported report, all fetched from the gateway's
//! event history.

mod common;

use common::screen::{Ask, Screen};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use vigil::core::incident::ExportRequest;
use vigil::gateway::serve::ServeOptions;
use vigil::gateway::sim::{Scenario, Simulator};
use vigil::tui::pipeline::ViewRequest;
use vigil::tui::scene::{PanelBody, Scene};
use vigil::tui::theme::Theme;
use vigil::tui::view::{self, UiView};
use vigil::wire::{EventFrame, format_time, now_ms};

/// Every wait is bounded by this: only a broken client takes this long.
const WAIT: Duration = Duration::from_secs(60);
/// The window on screen: wide enough to hold the deploy wherever the wall
/// clock puts the scenario's timetable.
const WINDOW_MS: i64 = 3_600_000;

/// The last deploy and rollback of `sim` that both lie at least `margin_ms`
/// before `now`, found from the simulator's own timetable.
fn last_deploy_and_rollback(sim: &Simulator, now: i64, margin_ms: i64) -> (EventFrame, EventFrame) {
    let events = sim.events_between(now - 3_600_000, now - margin_ms);
    let checkout: Vec<&EventFrame> = events.iter().filter(|e| e.labels["service"] == "checkout").collect();
    let rollback = checkout.iter().rev().find(|e| e.text.contains("rolled back")).expect("a rollback within the hour");
    let deploy = checkout
        .iter()
        .rev()
        .find(|e| e.timestamp < rollback.timestamp && e.text.contains("deployed"))
        .expect("the deploy before it");
    ((*deploy).clone(), (*rollback).clone())
}

/// The screen's text, drawn as the terminal draws it.
fn draw(scene: &Scene, ui: &UiView) -> String {
    let (w, h) = (200, 60);
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let theme = Theme::built_in("dark").unwrap();
    term.draw(|f| view::render(f, scene, ui, &theme, now_ms())).unwrap();
    let buf = term.backend().buffer();
    (0..h).map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>()).collect::<Vec<_>>().join("\n")
}

/// The chart markers of the overview's latency chart, as (time, text).
fn markers(scene: &Scene) -> Vec<(i64, String)> {
    scene
        .page
        .rows
        .iter()
        .flat_map(|r| &r.panels)
        .filter_map(|p| match &p.body {
            PanelBody::Chart { markers, .. } if p.title.contains("latency") => {
                Some(markers.iter().map(|m| (m.ts, m.text.clone())).collect::<Vec<_>>())
            }
            _ => None,
        })
        .next()
        .unwrap_or_default()
}

/// Whether the overview's latency chart has lines to draw.
fn charted(scene: &Scene) -> bool {
    scene.page.rows.iter().flat_map(|r| &r.panels).any(|p| match &p.body {
        PanelBody::Chart { lines, .. } => p.title.contains("latency") && lines.iter().any(|l| !l.points.is_empty()),
        _ => false,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_deploy_started_after_its_deploy_shows_the_deploy_on_the_chart_and_in_the_export() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let sim = Simulator::new(1, Scenario::BadDeploy);
    let now = now_ms();
    // The gateway's clock is set back so that it starts 90 s after a
    // rollback: the deploy and the rollback happened before it ran.
    let (deploy, rollback) = last_deploy_and_rollback(&sim, now, 90_000);
    let offset = rollback.timestamp.0 + 90_000 - now;
    let gw =
        common::start(ServeOptions { scenario: Scenario::BadDeploy, clock_offset_ms: offset, ..common::options() })
            .await;

    let view = ViewRequest { page: 0, window_ms: WINDOW_MS, ..ViewRequest::default() };
    // What a start-up fetches: covers the deploy however far back the
    // timetable put it.
    let ask = Ask { view, backfill: Duration::from_secs(30 * 60), ..Ask::default() };
    let mut tui = Screen::start(&gw.stream_url(), ask);

    // Both events in the list, and the latency chart drawn.
    let scene = tui
        .until(WAIT, |scene| {
            let listed = |e: &EventFrame| scene.events.iter().any(|s| s.ts == e.timestamp.0 && s.text == e.text);
            // The chart is drawn once its history has come too.
            if listed(&deploy) && listed(&rollback) && charted(scene) {
                Ok(Arc::clone(scene))
            } else {
                let held: Vec<_> = scene.events.iter().map(|e| (format_time(e.ts), &e.text)).collect();
                Err(format!("the deploy never showed; events held: {held:?}"))
            }
        })
        .await;
    // The window asked for before the pipeline started is the one shown
    // (the deploy can lie beyond the default 15 minutes).
    assert_eq!(scene.time.window_ms, WINDOW_MS);
    let marks = markers(&scene);
    let at = marks.iter().position(|m| *m == (deploy.timestamp.0, deploy.text.clone()));
    assert!(at.is_some(), "no marker for {deploy:?} in {marks:?}");
    assert!(marks.contains(&(rollback.timestamp.0, rollback.text.clone())), "{marks:?}");
    // Held once, however many fetches brought it.
    assert_eq!(scene.events.iter().filter(|e| e.text == deploy.text && e.ts == deploy.timestamp.0).count(), 1);

    // On screen: in the events list, and `m` pressed until the deploy is
    // selected writes its text under the chart.
    let screen = draw(&scene, &UiView::default());
    assert!(screen.contains(&deploy.text), "not in the events list:\n{screen}");
    let mut by_age = marks.clone();
    by_age.sort_by_key(|m| std::cmp::Reverse(m.0));
    let presses = by_age.iter().position(|m| m.0 == deploy.timestamp.0 && m.1 == deploy.text).unwrap();
    let selected = draw(&scene, &UiView { marker: Some(presses), ..UiView::default() });
    let note = format!("┆ {} {}", vigil::core::format::clock(deploy.timestamp.0), deploy.text);
    assert!(selected.contains(&note), "no {note:?} under the chart:\n{selected}");

    // The export, as `E` asks for it: the deploy is among the events.
    let p = tui.stop().await;
    let dir = std::env::temp_dir().join(format!("vigil-events-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.md");
    let _ = std::fs::remove_file(&path);
    let (reply, written) = oneshot::channel();
    let asked = now_ms();
    p.export(ExportRequest { at_ms: asked, window_ms: WINDOW_MS, path: Some(path.clone()), reply }, asked);
    let written = written.await.unwrap().expect("the report is written");
    let md = std::fs::read_to_string(&written).unwrap();
    let section = md
        .split("## Deploys and other events")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap_or_else(|| panic!("no events section in\n{md}"));
    let line = format!("- {} **deploy** {}", format_time(deploy.timestamp.0), deploy.text);
    assert!(section.contains(&line), "no {line:?} in the events section:\n{section}");
    let _ = std::fs::remove_dir_all(&dir);
    gw.shutdown().await;
}
