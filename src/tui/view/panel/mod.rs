//! A dashboard page: rows of panels laid out top to bottom, each panel drawn
//! by the module named for its kind.

mod alert_detail;
mod chart;
mod heatmap;
mod lists;
mod number;
mod slo;
mod table;

use super::signal::Level;
use super::{UiView, block};
use crate::core::format::fit;
use crate::tui::scene::{PanelBody, PanelScene, Reading, RowScene, Scene, Thresholds};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Everything a panel needs besides its own data.
pub struct Ctx<'a> {
    pub scene: &'a Scene,
    pub ui: &'a UiView,
    pub theme: &'a Theme,
    pub now_ms: i64,
    /// A big screen: big numbers, wider tables.
    pub large: bool,
}

impl Ctx<'_> {
    /// Which of `len` rows a scrolled table or list shows: how many to skip
    /// (the user's scroll, kept on screen) and at most how many to take.
    pub fn rows(&self, len: usize, limit: Option<usize>, room: usize) -> (usize, usize) {
        let skip = (self.ui.scroll as usize).min(len.saturating_sub(1));
        (skip, limit.unwrap_or(usize::MAX).min(room))
    }

    /// The verdict on a reading: stale when the data is, else by thresholds.
    pub fn judge(&self, r: Option<&Reading<f64>>, t: &Thresholds) -> Level {
        match r {
            None => Level::Stale,
            Some(r) if self.scene.is_stale(r, self.now_ms) => Level::Stale,
            Some(r) => judge(r.value, t),
        }
    }
}

/// Level of a value against a panel's thresholds.
pub fn judge(v: f64, t: &Thresholds) -> Level {
    if v.is_nan() {
        return Level::Crit;
    }
    let past = |x: f64| if t.below { v <= x } else { v >= x };
    if t.crit.is_some_and(past) {
        Level::Crit
    } else if t.warn.is_some_and(past) {
        Level::Warn
    } else {
        Level::Ok
    }
}

pub fn page(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let page = &ctx.scene.page;
    let mut area = area;
    if let Some(sel) = &page.select {
        let [bar, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
        selection_bar(frame, bar, sel, ctx);
        area = rest;
    }
    if page.rows.is_empty() {
        frame.render_widget(Paragraph::new(" this page has no panels").style(ctx.theme.dim()), area);
        return;
    }
    let heights: Vec<Constraint> = page
        .rows
        .iter()
        .map(|r| match r.height.or_else(|| natural_height(r, area.height, ctx)) {
            Some(h) => Constraint::Length(h),
            None => Constraint::Fill(1),
        })
        .collect();
    let areas = Layout::vertical(heights).split(area);
    for (row, rect) in page.rows.iter().zip(areas.iter()) {
        draw_row(frame, *rect, row, ctx);
    }
}

/// Rows of big numbers, gauges and tables take what they need; rows with a
/// chart or a list share the rest.
fn natural_height(row: &RowScene, body: u16, ctx: &Ctx) -> Option<u16> {
    row.panels.iter().map(|p| panel_height(p, body, ctx)).try_fold(0u16, |acc, h| h.map(|h| acc.max(h)))
}

fn panel_height(p: &PanelScene, body: u16, ctx: &Ctx) -> Option<u16> {
    match &p.body {
        // A wall display gives its KPIs room for the largest digits.
        PanelBody::Number { big: true, .. } if ctx.ui.kiosk && body >= 40 => Some(12),
        PanelBody::Number { big: true, .. } if ctx.large => Some(8),
        PanelBody::Number { .. } | PanelBody::Text { .. } => Some(4),
        PanelBody::Gauge { .. } => Some(3),
        PanelBody::Slo => Some((ctx.scene.slos.len().max(1) as u16 + 3).min((body / 2).max(5))),
        PanelBody::Table { rows, limit, .. } => {
            let n = limit.map_or(rows.len(), |l| rows.len().min(l)).max(1) as u16;
            Some((n + 3).min((body / 2).max(5)))
        }
        _ => None,
    }
}

fn draw_row(frame: &mut Frame, area: Rect, row: &RowScene, ctx: &Ctx) {
    let total: u32 = row.panels.iter().map(|p| u32::from(p.width.max(1))).sum();
    let widths: Vec<Constraint> =
        row.panels.iter().map(|p| Constraint::Ratio(u32::from(p.width.max(1)), total.max(1))).collect();
    let areas = Layout::horizontal(widths).split(area);
    // An open alert detail shares the row with the alert list.
    let list = row.panels.iter().position(|p| matches!(p.body, PanelBody::Alerts { .. }));
    if let (Some(at), Some(alert)) = (list, alert_detail::open(ctx)) {
        let (list_area, pane) = alert_detail::split(area, areas[at].width, ctx.scene.alerts.len());
        draw_panel(frame, list_area, &row.panels[at], ctx);
        alert_detail::pane(frame, pane, alert, ctx);
        return;
    }
    for (p, rect) in row.panels.iter().zip(areas.iter()) {
        draw_panel(frame, *rect, p, ctx);
    }
}

fn draw_panel(frame: &mut Frame, area: Rect, p: &PanelScene, ctx: &Ctx) {
    if area.width < 4 || area.height < 2 {
        return;
    }
    match &p.body {
        PanelBody::Number { now, trend, big } => number::number(frame, area, p, now.as_ref(), trend, *big, ctx),
        PanelBody::Gauge { now, max } => number::gauge(frame, area, p, now.as_ref(), *max, ctx),
        PanelBody::Chart { lines, markers } => chart::chart(frame, area, p, lines, markers, ctx),
        PanelBody::Heatmap(h) => heatmap::heatmap(frame, area, p, h, ctx),
        PanelBody::Table { columns, rows, limit, .. } => table::table(frame, area, p, columns, rows, *limit, ctx),
        PanelBody::Alerts { limit } => lists::alerts(frame, area, &p.title, *limit, ctx),
        PanelBody::Slo => slo::slos(frame, area, &p.title, ctx),
        PanelBody::Events { limit } => lists::events(frame, area, &p.title, *limit, ctx),
        PanelBody::Text { text, status } => number::text(frame, area, p, text.as_ref(), *status, ctx),
    }
    if let Some(error) = &p.error {
        query_error(frame, area, error, ctx);
    }
}

/// A failed query, on the panel's last inside line: what it still shows
/// above is its last good data, already marked stale as it ages.
fn query_error(frame: &mut Frame, area: Rect, error: &str, ctx: &Ctx) {
    let line = Rect { x: area.x + 1, y: area.y + area.height - 2, width: area.width - 2, height: 1 };
    let text = fit(&format!("{} {error}", ctx.theme.glyphs.warn), line.width as usize);
    frame.render_widget(Paragraph::new(text).style(ctx.theme.crit()), line);
}

/// `service: api · checkout · [payments] · search`, with the keys that step.
fn selection_bar(frame: &mut Frame, area: Rect, sel: &crate::tui::scene::Selection, ctx: &Ctx) {
    let t = ctx.theme;
    let mut spans = vec![Span::styled(format!(" {}: ", sel.label), t.dim())];
    if sel.choices.is_empty() {
        spans.push(Span::styled("none yet", t.dim()));
    }
    for (i, c) in sel.choices.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(format!(" {} ", t.glyphs.bullet), t.dim()));
        }
        if *c == sel.value {
            spans.push(Span::styled(format!("[{c}]"), t.accent().add_modifier(ratatui::style::Modifier::BOLD)));
        } else {
            spans.push(Span::styled(c.clone(), t.text()));
        }
    }
    if !ctx.ui.kiosk {
        spans.push(Span::styled("   [ ] to change", t.dim()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// A panel's frame with its title cut to fit, returning the inside.
pub fn frame_of(frame: &mut Frame, area: Rect, title: &str, level: Option<Level>, ctx: &Ctx) -> Rect {
    let title = fit(title, area.width.saturating_sub(4) as usize);
    let b = block(ctx.theme, &title, level.filter(|l| matches!(l, Level::Crit)).map(|_| ctx.theme.crit()));
    let inner = b.inner(area);
    frame.render_widget(b, area);
    inner
}
