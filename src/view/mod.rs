//! Pure render functions: `(&Scene, &UiView, &Theme, now) -> Frame`. No I/O,
//! no awaits, no clocks read here; everything time-dependent comes in `now_ms`.

mod alerts;
mod chrome;
pub mod format;
mod kpi;
mod latency;
mod services;
pub mod signal;
pub mod sources;

use crate::scene::Scene;
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

/// Smallest terminal the dashboard draws into.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 20;

/// The screen-local state the view needs (owned by the app).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UiView {
    /// When set, the screen is frozen on data as of this wall-clock time.
    pub paused_at: Option<i64>,
    pub help: bool,
    pub page: Page,
}

/// Which page fills the body of the screen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Page {
    /// KPIs, services, alerts and events.
    #[default]
    Overview,
    /// Every gateway's link: state, last success, latency, rates, errors.
    Sources,
}

/// Draws the whole dashboard.
///
/// ```text
/// ┌ header: vigil · DEMO · LIVE · health ··················· clock ┐
/// │ banner (only when disconnected or the gateway is degraded)     │
/// │ ┌ KPI ┐┌ KPI ┐┌ KPI ┐┌ KPI ┐┌ health ┐                         │
/// │ ┌ services: traffic · errors · p50/p99 · cpu · mem ─────────┐ │
/// │ ┌ p99 latency chart (large screens) ┐┌ alerts · events ───────┐│
/// └ status bar: link state · source · data age · frames/s · keys ┘
/// ```
pub fn render(frame: &mut Frame, scene: &Scene, ui: &UiView, theme: &Theme, now_ms: i64) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area, theme);
        return;
    }
    // Every page shares the header, the banner and the status bar.
    let banner_rows = u16::from(chrome::banner_text(scene, now_ms).is_some());
    let [header, banner, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner_rows),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    chrome::header(frame, header, scene, ui, theme, now_ms);
    chrome::banner(frame, banner, scene, theme, now_ms);
    match ui.page {
        Page::Overview => overview(frame, body, scene, theme, now_ms),
        Page::Sources => sources::page(frame, body, scene, theme, now_ms),
    }
    chrome::status_bar(frame, status, scene, ui, theme, now_ms);
    if ui.help {
        help(frame, area, theme);
    }
}

/// The overview's body: KPIs, services, then the latency chart (on large
/// screens) beside alerts and events.
fn overview(frame: &mut Frame, area: Rect, scene: &Scene, theme: &Theme, now_ms: i64) {
    // Sizes follow the whole screen, so a banner coming and going does not
    // switch the layout.
    let screen = frame.area();
    let large = screen.width >= 120 && screen.height >= 40;
    let kpi_rows = if large { 8 } else { 4 };
    let service_rows = (scene.services.len().max(1) as u16 + 3).min(screen.height / 3);
    let [kpis, services, rest] =
        Layout::vertical([Constraint::Length(kpi_rows), Constraint::Length(service_rows), Constraint::Min(3)])
            .areas(area);
    kpi::row(frame, kpis, scene, theme, now_ms, large);
    services::table(frame, services, scene, theme, now_ms);
    if large {
        let [chart, lists] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(rest);
        latency::chart(frame, chart, scene, theme, now_ms);
        alerts::lists(frame, lists, scene, theme, now_ms);
    } else {
        alerts::lists(frame, rest, scene, theme, now_ms);
    }
}

fn too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
    let msg = format!(
        "vigil needs a terminal of at least {MIN_WIDTH}x{MIN_HEIGHT}; this one is {}x{}. Enlarge it, or press q to quit.",
        area.width, area.height
    );
    frame.render_widget(Paragraph::new(msg).style(theme.warn()).wrap(Wrap { trim: true }), area);
}

const HELP: [(&str, &str); 7] = [
    ("q, Ctrl-C", "quit"),
    ("?", "show or hide this help"),
    ("p", "pause / resume (data keeps arriving)"),
    ("s", "sources page: every gateway's link"),
    ("r", "reconnect now (skip the wait)"),
    ("Esc", "close help; back to the overview"),
    ("", "States: ● ok  ▲ warning  ✖ critical  ◌ stale"),
];

fn help(frame: &mut Frame, area: Rect, theme: &Theme) {
    let w = 56.min(area.width.saturating_sub(4));
    let h = (HELP.len() as u16 + 4).min(area.height.saturating_sub(2));
    let popup = Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h };
    let lines: Vec<Line> = HELP.iter().map(|(k, v)| Line::from(format!(" {k:<10} {v}"))).collect();
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .style(theme.text())
            .block(Block::default().borders(Borders::ALL).border_style(theme.accent()).title(" keys ")),
        popup,
    );
}
