//! The business KPIs: one card each, a big number when there is room, and a
//! sparkline of the last minutes.

use super::format::{fit, value};
use super::signal::{Level, sparkline};
use crate::scene::{Kpi, Reading, Scene};
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use tui_big_text::{BigText, PixelSize};

/// Columns one big-text glyph takes at quadrant size.
const BIG_GLYPH_COLS: u16 = 4;

pub fn row(frame: &mut Frame, area: Rect, scene: &Scene, theme: &Theme, now_ms: i64, large: bool) {
    let n = scene.kpis.len() as u32 + 1;
    let cells = Layout::horizontal((0..n).map(|_| Constraint::Ratio(1, n))).split(area);
    for (kpi, cell) in scene.kpis.iter().zip(cells.iter()) {
        card(frame, *cell, kpi, scene, theme, now_ms, large);
    }
    if let Some(cell) = cells.last() {
        health_card(frame, *cell, scene, theme, now_ms, large);
    }
}

fn level_of(kpi: &Kpi, r: &Reading<f64>, scene: &Scene, now_ms: i64) -> Level {
    if scene.is_stale(r, now_ms) {
        Level::Stale
    } else {
        match kpi.warn_at {
            Some(w) if r.value >= w => Level::Warn,
            _ => Level::Ok,
        }
    }
}

fn card(frame: &mut Frame, area: Rect, kpi: &Kpi, scene: &Scene, theme: &Theme, now_ms: i64, large: bool) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(Span::styled(format!(" {} ", fit(kpi.title, area.width.saturating_sub(4) as usize)), theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let (text, level) = match &kpi.now {
        Some(r) => (value(r.value, kpi.unit), level_of(kpi, r, scene, now_ms)),
        None => ("—".to_string(), Level::Stale),
    };
    let spark_rows = u16::from(inner.height >= 2);
    let [number, spark] = Layout::vertical([Constraint::Min(1), Constraint::Length(spark_rows)]).areas(inner);
    let big_fits = large && number.height >= 4 && (text.chars().count() as u16) * BIG_GLYPH_COLS <= number.width;
    // Stale values are marked in words as well as dimmed.
    let marker = if level == Level::Stale { " stale" } else { "" };
    if big_fits && level != Level::Stale {
        let big = BigText::builder()
            .pixel_size(PixelSize::Quadrant)
            .style(level.style(theme))
            .lines(vec![Line::from(text)])
            .build();
        frame.render_widget(big, number);
    } else {
        let line = Line::from(vec![
            Span::styled(format!("{} ", level.glyph()), level.style(theme)),
            Span::styled(text, level.style(theme).add_modifier(ratatui::style::Modifier::BOLD)),
            Span::styled(marker, theme.stale()),
        ]);
        frame.render_widget(Paragraph::new(line), number);
    }
    if spark_rows > 0 {
        let style = if level == Level::Stale { theme.stale() } else { theme.accent() };
        frame.render_widget(Paragraph::new(sparkline(&kpi.trend, spark.width as usize)).style(style), spark);
    }
}

fn health_card(frame: &mut Frame, area: Rect, scene: &Scene, theme: &Theme, now_ms: i64, large: bool) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(Span::styled(" System health ", theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (text, level) = match &scene.health {
        None => ("—".to_string(), Level::Stale),
        Some(h) if scene.is_stale(h, now_ms) => (format!("{} (stale)", h.value), Level::Stale),
        Some(h) => {
            let level = match h.value.as_str() {
                "healthy" => Level::Ok,
                "degraded" => Level::Warn,
                _ => Level::Crit,
            };
            (h.value.to_uppercase(), level)
        }
    };
    let firing = scene.alerts.iter().filter(|a| a.state == crate::model::AlertState::Firing).count();
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{} ", level.glyph()), level.style(theme)),
        Span::styled(text, level.style(theme)),
    ])];
    if inner.height >= 2 {
        let alerts = if firing == 0 { "no alerts firing".to_string() } else { format!("{firing} firing") };
        let style = if firing == 0 { theme.dim() } else { theme.crit() };
        lines.push(Line::from(Span::styled(alerts, style)));
    }
    if large
        && inner.height >= 4
        && let Some(b) = &scene.banner
    {
        lines.push(Line::from(Span::styled(fit(&b.message, inner.width as usize), theme.warn())));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
