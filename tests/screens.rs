//! Whole-screen snapshots of the dashboard on ratatui's TestBackend, fed by
//! the deterministic simulator through the real pipeline, so every number on
//! screen is derived the way it is live.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::sync::Arc;
use std::time::Duration;
use vigil::core::model::{Alert, AlertState, ConnState, Event, Origin, Severity, SourceId, Transport, Update};
use vigil::dashboards::Dashboard;
use vigil::gateway::sim::{Scenario, Simulator};
use vigil::sources::{SourceStats, convert};
use vigil::tui::pipeline::{Pipeline, ViewRequest};
use vigil::tui::scene::{Scene, SourceInfo};
use vigil::tui::theme::Theme;
use vigil::tui::view::{self, Page, UiView};
use vigil::wire::parse_time;

/// Six minutes into an error-burst period: payments is failing.
const NOW: &str = "2025-06-30T10:36:00Z";

fn scene_at(scenario: Scenario, connected: bool) -> (Scene, i64) {
    let (p, now) = pipeline_at(scenario, connected, vec![Arc::new(SourceStats::default())]);
    (p.scene(now), now)
}

/// The pipeline behind [`scene_at`], fed by the given gateways' stats; the
/// time returned is when to look at it.
fn pipeline_at(scenario: Scenario, connected: bool, stats: Vec<Arc<SourceStats>>) -> (Pipeline, i64) {
    let now = parse_time(NOW).unwrap();
    let sim = Simulator::new(7, scenario);
    let mut p = Pipeline::new(
        SourceInfo { url: "ws://127.0.0.1:7878/api/v1/metrics/stream".into(), demo: Some(scenario.name().into()) },
        stats,
    );
    let metrics = sim.catalogue().iter().map(convert::metric_meta).collect();
    p.apply(Update::Catalogue { metrics, interval_ms: 1000, source: SourceId::GATEWAY }, now - 400_000);
    p.apply(
        Update::Conn(ConnState::Connected {
            since_ms: now - 400_000,
            server: "vigil/test".into(),
            url: String::new(),
            transport: Transport::Ws,
        }),
        now - 400_000,
    );
    // A day of history a minute apart (as a backfill would bring it), then
    // the last minutes live, a second apart.
    for t in (now - 86_400_000..now - 400_000).step_by(60_000) {
        let observations = convert::observations(t, &sim.sample(t));
        p.apply(Update::Samples { observations, live: false, seq: None, source: SourceId::GATEWAY }, t);
    }
    for t in (now - 400_000..=now).step_by(1000) {
        let observations = convert::observations(t, &sim.sample(t));
        p.apply(Update::Samples { observations, live: true, seq: None, source: SourceId::GATEWAY }, t);
    }
    // The demo's SLOs, worked out over that day.
    p.set_slos(Arc::new(vigil::core::slo::demo()));
    p.evaluate_slos(now);
    p.apply(Update::Alert(alert("a-1", AlertState::Firing, Severity::Critical, now - 150_000)), now);
    p.apply(Update::Alert(alert("a-2", AlertState::Pending, Severity::Warning, now - 20_000)), now);
    p.apply(
        Update::Event(Event {
            ts: now - 240_000,
            kind: "deploy".into(),
            text: "payments v2.8.1 switched to green".into(),
            labels: [("service".to_string(), "payments".to_string())].into(),
        }),
        now,
    );
    if !connected {
        p.apply(
            Update::Conn(ConnState::Reconnecting {
                retry_at_ms: now + 44_000,
                attempt: 3,
                error: "connection refused".into(),
                class: vigil::core::model::ErrorClass::Network,
            }),
            now,
        );
        // The last data arrived 40 s before the snapshot.
        return (p, now + 40_000);
    }
    (p, now)
}

fn alert(id: &str, state: AlertState, severity: Severity, starts: i64) -> Alert {
    Alert {
        id: id.into(),
        origin: Origin::Gateway { source: SourceId::GATEWAY },
        state,
        severity,
        metric: "http_error_ratio".into(),
        labels: [("service".to_string(), "payments".to_string())].into(),
        value: Some(0.061),
        threshold: Some(0.01),
        summary: "payments error rate above 1% for 2m".into(),
        starts_at: Some(starts),
        ends_at: None,
        updated_ms: starts,
        open_start: false,
    }
}

fn screen(scene: &Scene, now: i64, ui: &UiView, theme: &Theme, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| view::render(f, scene, ui, theme, now)).unwrap();
    let buf = term.backend().buffer();
    (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>().trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn dark() -> Theme {
    Theme::built_in("dark").unwrap()
}

/// The pages of the built-in dashboard, by number.
const PAGES: [(&str, usize); 4] = [("overview", 0), ("services", 1), ("business", 2), ("alerts", 3)];

/// One page of the default dashboard as the pipeline works it out; the
/// services page shows payments, the service in trouble.
fn page_scene(page: usize) -> (Scene, i64) {
    let (mut p, now) = pipeline_at(Scenario::ErrorBurst, true, vec![Arc::new(SourceStats::default())]);
    let window_ms = Dashboard::built_in().pages[page].window.unwrap_or(15 * 60_000);
    p.set_view(ViewRequest { page, window_ms, choice: Some("payments".into()), ..ViewRequest::default() });
    (p.scene(now), now)
}

fn page_screen(page: usize, theme: &Theme, w: u16, h: u16) -> String {
    let (scene, now) = page_scene(page);
    let ui = UiView { page: Page::Dashboard(page), ..UiView::default() };
    screen(&scene, now, &ui, theme, w, h)
}

#[test]
fn every_page_at_every_size() {
    for (name, page) in PAGES {
        for (w, h) in [(80, 24), (120, 40), (200, 60)] {
            let text = page_screen(page, &dark(), w, h);
            assert!(text.contains("LIVE"), "{name} {w}x{h}:\n{text}");
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), text);
        }
    }
}

#[test]
fn pages_show_what_their_panels_promise() {
    let overview = page_screen(0, &dark(), 120, 40);
    assert!(overview.contains("payments") && overview.contains("Services: golden signals"), "{overview}");
    let services = page_screen(1, &dark(), 120, 40);
    for want in ["service: ", "[payments]", "payments latency", "p99", "latency heatmap", "error ratio", "DB pool"] {
        assert!(services.contains(want), "{want:?} missing:\n{services}");
    }
    // The deploy shows as a marker with its text under the latency chart,
    // and selecting it (m) says which of the page's markers it is.
    assert!(services.contains("payments v2.8.1 switched to green"), "{services}");
    let (scene, now) = page_scene(1);
    let ui = UiView { page: Page::Dashboard(1), marker: Some(0), ..UiView::default() };
    let selected = screen(&scene, now, &ui, &dark(), 120, 40);
    assert!(selected.contains("switched to green (1 of 1)"), "{selected}");
    let business = page_screen(2, &dark(), 120, 40);
    assert!(business.contains("window 24h") && business.contains("Lowest stock"), "{business}");
    let alerts = page_screen(3, &dark(), 120, 40);
    assert!(alerts.contains("FIRING") && alerts.contains("PENDING"), "{alerts}");
}

#[test]
fn the_filter_narrows_rows_lines_and_alerts() {
    let (mut p, now) = pipeline_at(Scenario::ErrorBurst, true, vec![Arc::new(SourceStats::default())]);
    p.set_view(ViewRequest { filter: vigil::core::filter::Filter::parse("service=search"), ..ViewRequest::default() });
    let scene = p.scene(now);
    let text = screen(&scene, now, &UiView::default(), &dark(), 120, 40);
    assert!(text.contains("● search"), "{text}");
    for gone in ["● api", "checkout", "payments   "] {
        assert!(!text.contains(gone), "{gone:?} should be filtered out:\n{text}");
    }
    assert!(text.contains("no alerts match the filter"), "{text}");
    // The header still counts what fires, whatever the filter hides.
    assert!(text.contains("1 firing") && text.contains("filter /service=search"), "{text}");
}

#[test]
fn disconnected_says_so_and_marks_numbers_stale() {
    let (scene, now) = scene_at(Scenario::Calm, false);
    let text = screen(&scene, now, &UiView::default(), &dark(), 80, 24);
    assert!(text.contains("DISCONNECTED · last data 40s ago · retry in"), "{text}");
    assert!(text.contains("stale"), "{text}");
    assert!(!text.contains("● LIVE"), "{text}");
    insta::assert_snapshot!("disconnected_80x24", text);
}

#[test]
fn a_gateway_gone_quiet_says_stale_in_the_header() {
    // Still connected, but nothing has come for 12 s: every panel has
    // turned stale, and the header, which a wall is read by, says so too.
    let (p, now) = pipeline_at(Scenario::Calm, true, vec![Arc::new(SourceStats::default())]);
    let later = now + 12_000;
    let scene = p.scene(later);
    let text = screen(&scene, later, &UiView::default(), &dark(), 80, 24);
    let header = text.lines().next().unwrap();
    assert!(header.contains("◌ STALE 12s") && !header.contains("LIVE"), "{text}");
    assert!(text.contains("CONNECTED"), "the link itself is up: {text}");
    insta::assert_snapshot!("quiet_80x24", text);

    // In the warning style, and in words without colour or Unicode.
    let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
    term.draw(|f| view::render(f, &scene, &UiView::default(), &dark(), later)).unwrap();
    let x = header.chars().position(|c| c == '◌').unwrap() as u16;
    assert_eq!(term.backend().buffer()[(x + 2, 0)].fg, dark().warn().fg.unwrap());
    let ascii = screen(&scene, later, &UiView::default(), &dark().with_ascii(true), 80, 24);
    assert!(ascii.lines().next().unwrap().contains("? STALE 12s"), "{ascii}");
    for name in ["mono", "high-contrast"] {
        let theme = Theme::built_in(name).unwrap();
        let text = screen(&scene, later, &UiView::default(), &theme, 80, 24);
        assert!(text.lines().next().unwrap().contains("STALE 12s"), "{name}: {text}");
    }
    // A moment before its freshness ran out it was still live.
    let scene = p.scene(now + 2_000);
    let text = screen(&scene, now + 2_000, &UiView::default(), &dark(), 80, 24);
    assert!(text.lines().next().unwrap().contains("● LIVE"), "{text}");
}

#[test]
fn a_heatmap_whose_data_stopped_says_stale() {
    let (mut p, now) = pipeline_at(Scenario::Calm, false, vec![Arc::new(SourceStats::default())]);
    p.set_view(ViewRequest { page: 1, ..ViewRequest::default() });
    let scene = p.scene(now);
    let ui = UiView { page: Page::Dashboard(1), ..UiView::default() };
    let text = screen(&scene, now, &ui, &dark(), 120, 40);
    assert!(text.contains("latency heatmap (stale)"), "{text}");
}

/// The heatmap's rows on screen: its panel's inner columns, from the row
/// under its title to the one above its bottom border.
fn heatmap_rows(text: &str) -> Vec<String> {
    let lines: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
    let (top, start) = lines
        .iter()
        .enumerate()
        .find_map(|(y, l)| {
            let s: String = l.iter().collect();
            let at = s.find("┌ payments latency heatmap")?;
            Some((y, s[..at].chars().count()))
        })
        .expect("a heatmap on the page");
    let end = start + 1 + lines[top][start + 1..].iter().position(|c| *c == '┐').unwrap();
    lines[top + 1..]
        .iter()
        .take_while(|l| l.get(start) == Some(&'│'))
        .map(|l| l[start + 1..end].iter().collect())
        .collect()
}

#[test]
fn the_heatmap_fills_its_panel_over_a_time_axis() {
    for (w, h) in [(120, 40), (200, 60)] {
        let text = page_screen(1, &dark(), w, h);
        let rows = heatmap_rows(&text);
        let n = rows.len();
        assert!(n >= 8, "{text}");
        // Under the cells, the axis and its labels, as the line charts have them.
        assert!(rows[n - 2].trim_start().starts_with('└') && rows[n - 2].trim_end().ends_with('─'), "{text}");
        let labels = &rows[n - 1];
        assert!(labels.trim_end().ends_with("now"), "{labels:?}");
        let times = labels.split_whitespace().filter(|w| w.len() == 8 && w.matches(':').count() == 2).count();
        assert_eq!(times, 2, "the window's start and middle: {labels:?}");
        // The cells reach the right edge (the data covers the window) and
        // every row of cells is used: the busiest band is shaded there.
        let cells = &rows[..n - 2];
        assert!(cells.iter().any(|r| !r.ends_with(' ')), "nothing at the right edge:\n{}", cells.join("\n"));
        assert!(cells.iter().all(|r| r.chars().nth(7) == Some('│')), "{}", cells.join("\n"));
        let shaded_rows = cells.iter().filter(|r| r.chars().skip(8).any(|c| c != ' ')).count();
        assert!(shaded_rows >= 2, "{}", cells.join("\n"));
    }
}

#[test]
fn monochrome_carries_state_in_glyphs() {
    let mono = Theme::pick(None, true).unwrap();
    let text = page_screen(0, &mono, 80, 24);
    // payments is over the error threshold: the glyph says so without colour.
    let payments = text.lines().find(|l| l.contains("payments") && l.contains('%')).unwrap();
    assert!(payments.contains('✖') || payments.contains('▲'), "{payments}");
    insta::assert_snapshot!("mono_overview_80x24", text);
    insta::assert_snapshot!("mono_services_120x40", page_screen(1, &mono, 120, 40));
}

#[test]
fn without_colour_each_line_has_its_own_mark_and_a_legend() {
    // NO_COLOR picks the mono theme: colour cannot tell p50 from p99.
    let mono = Theme::pick(None, true).unwrap();
    for (w, h) in [(80, 24), (120, 40)] {
        let text = page_screen(1, &mono, w, h);
        let legend = text.lines().find(|l| l.contains("1 p50")).unwrap_or_else(|| panic!("no legend:\n{text}"));
        assert!(legend.contains("2 p90") && legend.contains("3 p99"), "{legend}");
        // The latency chart's rows, down to its legend, plot each line with its own digit.
        let rows: String = text.lines().take_while(|l| !l.contains("1 p50")).collect();
        // Two rows of plot at 80x24 hold p50 and p99 apart; p90 shares a row.
        let marks: &[&str] = if h < 30 { &["111", "333"] } else { &["111", "222", "333"] };
        for mark in marks {
            assert!(rows.contains(mark), "{w}x{h}: no line drawn with {mark}:\n{text}");
        }
    }
}

#[test]
fn ascii_draws_with_ascii_only() {
    let ascii = dark().with_ascii(true);
    for (name, page) in PAGES {
        let text = page_screen(page, &ascii, 120, 40);
        let odd: String = text.chars().filter(|c| !c.is_ascii()).collect();
        assert!(odd.is_empty(), "{name}: non-ASCII {odd:?} in:\n{text}");
        if page < 2 {
            insta::assert_snapshot!(format!("ascii_{name}_120x40"), text);
        }
    }
}

#[test]
fn help_overlay_and_time_travel_show() {
    let (mut p, now) = pipeline_at(Scenario::Calm, true, vec![Arc::new(SourceStats::default())]);
    p.set_view(ViewRequest { at_ms: Some(now - 240_000), ..ViewRequest::default() });
    let scene = p.scene(now);
    let ui = UiView { help: true, ..UiView::default() };
    let text = screen(&scene, now, &ui, &dark(), 80, 24);
    assert!(text.contains("AT 10:32:"), "{text}");
    assert!(text.contains("back to live"), "{text}");
}

#[test]
fn help_shows_every_line_at_every_size() {
    let (scene, now) = scene_at(Scenario::Calm, true);
    for (w, h) in [(80, 24), (120, 40), (200, 60), (60, 20)] {
        // Scrolled line by line, as Down would, the help shows all of itself.
        let mut seen = String::new();
        for scroll in 0..40 {
            let ui = UiView { help: true, help_scroll: scroll, ..UiView::default() };
            let text = screen(&scene, now, &ui, &dark(), w, h);
            if scroll == 0 && h < 30 {
                assert!(text.contains("Down: more"), "{w}x{h} does not say there is more:\n{text}");
            }
            if scroll == 0 && (w, h) == (80, 24) {
                insta::assert_snapshot!("help_80x24", text.clone());
            }
            seen.push_str(&text);
            seen.push('\n');
        }
        let words: std::collections::HashSet<&str> = seen.split([' ', '│', '\n']).collect();
        for (key, what) in view::HELP.iter().filter(|(k, _)| !k.is_empty()) {
            for word in key.split(' ').chain(what.split(' ')).filter(|w| !w.is_empty()) {
                assert!(words.contains(word), "{w}x{h}: help lost {word:?} of {key}: {what}\n{seen}");
            }
        }
        assert!(seen.contains("States:"), "{w}x{h}");
    }
}

#[test]
fn looking_back_lists_the_alerts_of_that_instant() {
    let (mut p, now) = pipeline_at(Scenario::Calm, true, vec![Arc::new(SourceStats::default())]);
    // 100 s ago a-1 had been firing for 50 s, and a-2 had not begun.
    p.set_view(ViewRequest { page: 3, at_ms: Some(now - 100_000), ..ViewRequest::default() });
    let scene = p.scene(now);
    let ui = UiView { page: Page::Dashboard(3), ..UiView::default() };
    let text = screen(&scene, now, &ui, &dark(), 120, 40);
    assert!(text.contains("for 50s"), "{text}");
    assert!(!text.contains("PENDING"), "{text}");
    assert!(!text.contains("for 2m30s"), "today's duration: {text}");
}

#[test]
fn tiny_terminals_get_a_message_not_garbage() {
    let (scene, now) = scene_at(Scenario::Calm, true);
    let text = screen(&scene, now, &UiView::default(), &dark(), 40, 10);
    assert!(text.contains("needs a terminal of at least"), "{text}");
    for (w, h) in [(0, 0), (1, 1), (60, 20), (59, 30)] {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| view::render(f, &scene, &UiView::default(), &dark(), now)).unwrap();
    }
}

/// Three gateways, one in each state that matters: the preferred one live
/// over WebSocket, a backup refusing our token, and one that went quiet.
fn sources_scene() -> (Scene, i64) {
    let now = parse_time(NOW).unwrap();
    let live = Arc::new(SourceStats::for_url("ws://127.0.0.1:7878/api/v1/metrics/stream"));
    for (counter, by) in [(&live.frames, 5), (&live.bytes, 42_500), (&live.points, 405), (&live.reconnects, 1)] {
        SourceStats::bump(counter, by);
    }
    live.update_link(|l| {
        l.transport = Some(Transport::Ws);
        l.connected = true;
        l.last_success_ms = Some(now - 200);
        l.rtt_ms = Some(1.8);
        l.last_error = Some("server closed the connection (1001 going away)".into());
    });
    let refused = Arc::new(SourceStats::for_url("wss://backup.example:7878/api/v1/metrics/stream"));
    SourceStats::bump(&refused.reconnects, 7);
    SourceStats::bump(&refused.malformed, 2);
    refused.update_link(|l| {
        l.transport = Some(Transport::Ws);
        l.last_success_ms = Some(now - 252_000);
        l.last_error = Some("WebSocket upgrade: HTTP 401, the gateway refused our credentials".into());
    });
    let quiet = Arc::new(SourceStats::for_url("https://ops.example/gw/api/v1/metrics/stream"));
    quiet.update_link(|l| {
        l.transport = Some(Transport::Sse);
        l.connected = true;
        l.last_success_ms = Some(now - 12_000);
        l.rtt_ms = Some(48.0);
    });
    let (mut p, now) = pipeline_at(Scenario::ErrorBurst, true, vec![live, refused, quiet]);
    // One tick, a second after the counters started, measures the rates.
    p.tick(now, Duration::from_secs(1));
    (p.scene(now), now)
}

fn sources_page(w: u16, h: u16) -> String {
    let (scene, now) = sources_scene();
    let ui = UiView { page: Page::Sources, ..UiView::default() };
    screen(&scene, now, &ui, &dark(), w, h)
}

#[test]
fn sources_80x24() {
    let text = sources_page(80, 24);
    for want in ["● live", "✖ down", "◌ stale", "HTTP 401", "41.5KiB/s", "4m12s ago", "idle: unused"] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    assert!(!text.contains("golden signals"), "the overview is not drawn under the page:\n{text}");
    insta::assert_snapshot!("sources_80x24", text);
}

#[test]
fn sources_120x40() {
    let text = sources_page(120, 40);
    assert!(text.contains("points/s") && text.contains("10:35:59 · 0.2s ago"), "{text}");
    insta::assert_snapshot!("sources_120x40", text);
}

#[test]
fn sources_use_one_line_each_when_wide() {
    let text = sources_page(200, 60);
    let row = text.lines().find(|l| l.contains("backup.example")).unwrap();
    assert!(row.contains("✖ down") && row.contains("HTTP 401"), "{row}");
    // Degenerate sizes draw without panicking.
    let (scene, now) = sources_scene();
    let ui = UiView { page: Page::Sources, help: true, ..UiView::default() };
    for (w, h) in [(0, 0), (1, 1), (60, 20), (61, 21)] {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| view::render(f, &scene, &ui, &dark(), now)).unwrap();
    }
}

#[test]
fn a_plain_stream_says_so_on_the_sources_page() {
    use vigil::sources::gateway::websocket::PLAIN_STREAM;
    let plain = Arc::new(SourceStats::for_url("ws://hub.example:8080/ws"));
    let at = parse_time(NOW).unwrap();
    plain.update_link(|l| {
        l.transport = Some(Transport::Ws);
        l.connected = true;
        l.last_success_ms = Some(at - 200);
        l.note = Some(PLAIN_STREAM.into());
    });
    let broken = Arc::new(SourceStats::for_url("ws://other.example:8080/ws"));
    broken.update_link(|l| {
        l.note = Some(PLAIN_STREAM.into());
        l.last_error = Some("connection refused".into());
    });
    let (mut p, now) = pipeline_at(Scenario::Calm, true, vec![plain, broken]);
    p.tick(now, Duration::from_secs(1));
    let scene = p.scene(now);
    let ui = UiView { page: Page::Sources, ..UiView::default() };
    // Stacked: a line of its own under the figures, above the last error.
    let text = screen(&scene, now, &ui, &dark(), 80, 24);
    let lines: Vec<&str> = text.lines().collect();
    let note = lines.iter().position(|l| l.contains(PLAIN_STREAM)).unwrap_or_else(|| panic!("no note:\n{text}"));
    assert!(lines[note - 2].contains("● live   ws://hub.example:8080/ws"), "{text}");
    let error = lines.iter().position(|l| l.contains("last error: connection refused")).unwrap();
    assert_eq!(lines[error - 1].trim_matches('│').trim(), PLAIN_STREAM, "{text}");
    // One line each: the note before the error.
    let text = screen(&scene, now, &ui, &dark(), 200, 60);
    assert!(text.contains("note · last error"), "{text}");
    let live = text.lines().find(|l| l.contains("hub.example")).unwrap();
    assert!(live.contains(PLAIN_STREAM), "{live}");
    let down = text.lines().find(|l| l.contains("other.example")).unwrap();
    assert!(down.contains(&format!("{PLAIN_STREAM} · connection refused")), "{down}");
}

#[test]
fn cached_data_is_marked_so_header_included() {
    let (mut p, now) = pipeline_at(Scenario::Calm, true, vec![Arc::new(SourceStats::default())]);
    let banner = vigil::core::model::StatusBanner {
        status: "degraded".into(),
        message: "Real-time data temporarily unavailable".into(),
        freshness: Some("cached_3_minutes_ago".into()),
        since_ms: now - 10_000,
    };
    p.apply(Update::Status(Some(banner)), now - 10_000);
    let text = screen(&p.scene(now), now, &UiView::default(), &dark(), 120, 40);
    let header = text.lines().next().unwrap();
    assert!(header.contains("◌ CACHED 3m10s") && !header.contains("LIVE"), "{header}");
    assert!(text.contains("data cached, 3m10s old"), "{text}");
    // Every row is marked stale but payments, whose alert still fires.
    let api = text.lines().find(|l| l.contains("api ") && l.contains("/s")).unwrap();
    assert!(api.contains('◌'), "{api}");

    // The gateway is well again: live as before.
    p.apply(Update::Status(None), now);
    let text = screen(&p.scene(now), now, &UiView::default(), &dark(), 120, 40);
    assert!(text.lines().next().unwrap().contains("● LIVE"), "{text}");
}

#[test]
fn held_alerts_do_not_paint_the_wall_red() {
    let (mut p, now) = pipeline_at(Scenario::Calm, true, vec![Arc::new(SourceStats::default())]);
    let dir = std::env::temp_dir().join(format!("vigil-screens-held-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    p.keep_intent_in(vigil::core::alert::intent_file::path_in(&dir), "alice".into()).unwrap();
    let theme = dark();
    let draw = |p: &Pipeline| {
        let scene = p.scene(now);
        let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
        term.draw(|f| view::render(f, &scene, &UiView::default(), &theme, now)).unwrap();
        let buf = term.backend().buffer().clone();
        let header: String = (0..120).map(|x| buf[(x, 0)].symbol().to_string()).collect();
        let at = header.find("firing").unwrap_or_else(|| panic!("no count: {header}"));
        let x = header[..at].chars().count() as u16;
        (header, buf[(x, 0)].fg)
    };
    let (header, colour) = draw(&p);
    assert!(header.contains("✖ 1 firing"), "{header}");
    assert_eq!(Some(colour), theme.crit().fg);

    p.grant(vigil::core::alert::intent::Wish::ToggleAck("a-1".into()), now);
    let (header, colour) = draw(&p);
    assert!(header.contains("0 need action · 1 firing (1 ack)"), "{header}");
    assert_ne!(Some(colour), theme.crit().fg, "{header}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn acknowledged_and_silenced_alerts_say_by_whom() {
    let (mut p, now) = pipeline_at(Scenario::ErrorBurst, true, vec![Arc::new(SourceStats::default())]);
    let dir = std::env::temp_dir().join(format!("vigil-screens-hush-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    p.keep_intent_in(vigil::core::alert::intent_file::path_in(&dir), "alice".into()).unwrap();
    p.grant(vigil::core::alert::intent::Wish::ToggleAck("a-1".into()), now);
    p.grant(vigil::core::alert::intent::Wish::Silence { id: "a-2".into(), for_ms: 3_600_000 }, now);
    p.set_view(ViewRequest { page: 3, ..ViewRequest::default() });
    let scene = p.scene(now);
    let ui = UiView { page: Page::Dashboard(3), selected: Some("a-2".into()), ..UiView::default() };
    let text = screen(&scene, now, &ui, &dark(), 120, 40);
    let acked = text.lines().find(|l| l.contains("FIRING")).unwrap();
    assert!(acked.contains("ACK alice"), "{text}");
    let silenced = text.lines().find(|l| l.contains("PENDING")).unwrap();
    assert!(silenced.contains("SILENCED until 11:36 by alice"), "{text}");
    insta::assert_snapshot!("alerts_hushed_120x40", text);
    // The selected alert is drawn reversed, the other is not.
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    term.draw(|f| view::render(f, &scene, &ui, &dark(), now)).unwrap();
    let reversed =
        |row: usize| term.backend().buffer()[(5, row as u16)].modifier.contains(ratatui::style::Modifier::REVERSED);
    let row_of = |word: &str| text.lines().position(|l| l.contains(word)).unwrap();
    assert!(reversed(row_of("PENDING")) && !reversed(row_of("FIRING")));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The Alerts page with the error-rate rule's alert on payments selected
/// and its detail open, the shipped rules played over the history.
fn detail_screen(w: u16, h: u16) -> String {
    let (mut p, now) = pipeline_at(Scenario::ErrorBurst, true, vec![Arc::new(SourceStats::default())]);
    p.set_rules(Arc::new(vigil::core::alert::defaults::rules()));
    p.replay_rules(now);
    // A replay files the changes only; the tick after it files every
    // group's value at the instant, as each second does while running.
    p.evaluate_rules(now);
    p.set_view(ViewRequest { page: 3, ..ViewRequest::default() });
    let id = "rule:error rate:service=payments";
    p.set_detail(Some(id.into()));
    let scene = p.scene(now);
    let ui = UiView { page: Page::Dashboard(3), selected: Some(id.into()), detail: true, ..UiView::default() };
    screen(&scene, now, &ui, &dark(), w, h)
}

#[test]
fn a_selected_rule_alert_shows_its_value_against_its_threshold() {
    for (w, h) in [(120, 40), (80, 24)] {
        let text = detail_screen(w, h);
        for want in ["error rate (payments)", "FIRING crit · rule error rate", "threshold > 1.00%", "┄", "now"] {
            assert!(text.contains(want), "{want:?} missing at {w}x{h}:\n{text}");
        }
        // The detail takes the events' place.
        assert!(!text.contains("Events"), "{w}x{h}:\n{text}");
        insta::assert_snapshot!(format!("alert_detail_{w}x{h}"), text);
    }
}

/// The whole buffer a render leaves, styles and all.
fn rendered(scene: &Scene, now: i64, ui: &UiView, w: u16, h: u16) -> ratatui::buffer::Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| view::render(f, scene, ui, &dark(), now)).unwrap();
    term.backend().buffer().clone()
}

/// Paused, with data still arriving every second, the picture stands still:
/// from one second to the next the only cells that change are the clock's
/// and those saying how long ago the paused instant was, on every page and
/// with alerts of every age on screen.
#[test]
fn a_paused_picture_moves_only_its_clock_and_age() {
    let scenario = Scenario::ErrorBurst;
    let sim = Simulator::new(7, scenario);
    let (mut p, now) = pipeline_at(scenario, true, vec![Arc::new(SourceStats::default())]);
    let paused_at = now - 3_000;
    let (w, h) = (160, 48);
    for (name, page) in PAGES {
        let window_ms = Dashboard::built_in().pages[page].window.unwrap_or(15 * 60_000);
        p.set_view(ViewRequest { page, window_ms, at_ms: Some(paused_at), ..ViewRequest::default() });
        let ui = UiView { page: Page::Dashboard(page), ..UiView::default() };
        let mut frames = Vec::new();
        for second in 0..3 {
            // A second's data arrives live, then the screen is drawn a
            // little later, as the render loop does after its debounce.
            let t = now + second * 1000;
            let observations = convert::observations(t, &sim.sample(t));
            p.apply(Update::Samples { observations, live: true, seq: None, source: SourceId::GATEWAY }, t);
            frames.push(rendered(&p.scene(t + 400), t + 400, &ui, w, h));
        }
        for pair in frames.windows(2) {
            let (before, after) = (&pair[0], &pair[1]);
            let moved: Vec<(u16, u16)> = (0..h)
                .flat_map(|y| (0..w).map(move |x| (x, y)))
                .filter(|&(x, y)| before[(x, y)] != after[(x, y)])
                .collect();
            let row = |b: &ratatui::buffer::Buffer, y: u16| (0..w).map(|x| b[(x, y)].symbol()).collect::<String>();
            assert!(
                moved.iter().all(|&(_, y)| y == 0),
                "{name}: cells below the header changed: {:?}\n{}\n{}",
                moved.iter().filter(|&&(_, y)| y > 0).take(8).collect::<Vec<_>>(),
                row(before, moved.iter().find(|&&(_, y)| y > 0).unwrap().1),
                row(after, moved.iter().find(|&&(_, y)| y > 0).unwrap().1),
            );
            // In the header, only the digits of the clock and of the age move.
            let (head_before, head_after) = (row(before, 0), row(after, 0));
            for &(x, _) in &moved {
                let (a, b) = (before[(x, 0)].symbol(), after[(x, 0)].symbol());
                assert!(
                    a.chars().all(|c| c.is_ascii_digit()) && b.chars().all(|c| c.is_ascii_digit()),
                    "{name}: header cell {x} went from {a:?} to {b:?}:\n{head_before}\n{head_after}"
                );
            }
            assert!(!moved.is_empty(), "{name}: the clock stood still:\n{head_after}");
        }
        // What the frozen picture says: the instant, how long ago it was in
        // whole seconds, the alerts as they stood then, and the age of
        // the newest data, which keeps arriving.
        let text = screen(&p.scene(now + 2400), now + 2400, &ui, &dark(), w, h);
        assert!(text.contains("AT 10:35:57 UTC (-5s)"), "{name}:\n{text}");
        assert!(text.contains("data 0s old") && !text.contains("fr/s"), "{name}:\n{text}");
        if page == 3 {
            // Its duration is told at the instant shown (it began 10:33:30);
            // live, it would read "for 2m32s" here.
            assert!(text.contains("for 2m27s") && !text.contains("for 2m32s"), "{name}:\n{text}");
        }
    }
}

/// The key hints on the right of the status bar are dim; the link's state
/// on its left keeps its own colour, and the data's age, which ticks, is
/// plain like the clock.
#[test]
fn the_status_bar_keeps_its_colours_beside_the_key_hints() {
    let (scene, now) = scene_at(Scenario::Calm, true);
    let (w, h) = (160, 48);
    let buf = rendered(&scene, now, &UiView::default(), w, h);
    let cells: Vec<&ratatui::buffer::Cell> = (0..w).map(|x| &buf[(x, h - 1)]).collect();
    let text: String = cells.iter().map(|c| c.symbol()).collect();
    let at = |word: &str| {
        let symbols: Vec<&str> = cells.iter().map(|c| c.symbol()).collect();
        (0..symbols.len())
            .find(|&i| symbols[i..].concat().starts_with(word))
            .unwrap_or_else(|| panic!("{word:?} in {text}"))
    };
    let ok = vigil::tui::view::signal::Level::Ok.style(&dark());
    assert_eq!(cells[at("CONNECTED")].fg, ok.fg.unwrap(), "{text}");
    assert_eq!(cells[at("quit")].fg, dark().dim().fg.unwrap(), "{text}");
    assert_eq!(cells[at("data ")].fg, ratatui::style::Color::Reset, "{text}");
}
