//! Single-value panels: a big number with its trend, a gauge, a line of text.

use super::{Ctx, frame_of};
use crate::core::units;
use crate::tui::scene::{PanelScene, Reading};
use crate::tui::view::signal::{Level, sparkline};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use tui_big_text::{BigText, PixelSize};

/// Big-text sizes from largest to smallest, with the cells one glyph takes
/// (columns, rows): the largest that fits the panel is used, so a wall
/// screen gets numbers readable from across the room.
const BIG_SIZES: [(PixelSize, u16, u16); 3] =
    [(PixelSize::Full, 8, 8), (PixelSize::HalfWidth, 4, 8), (PixelSize::Quadrant, 4, 4)];

pub fn number(
    frame: &mut Frame,
    area: Rect,
    p: &PanelScene,
    now: Option<&Reading<f64>>,
    trend: &[(i64, f64)],
    big: bool,
    ctx: &Ctx,
) {
    let t = ctx.theme;
    let level = ctx.judge(now, &p.thresholds);
    let inner = frame_of(frame, area, &format!(" {} ", p.title), Some(level), ctx);
    if inner.height == 0 || inner.width < 2 {
        return;
    }
    // The dashboard's colour while all is well; trouble keeps the theme's.
    let style = match (level, p.color) {
        (Level::Ok, Some(c)) => ratatui::style::Style::new().fg(t.custom(c)),
        _ => level.style(t),
    };
    let spark_rows = u16::from(inner.height >= 2);
    let [number, spark] = Layout::vertical([Constraint::Min(1), Constraint::Length(spark_rows)]).areas(inner);
    let natural = now.map(|r| units::format(r.value, &p.unit));
    let big_size = |s: &str| {
        let n = s.chars().count() as u16;
        BIG_SIZES.iter().find(|(_, w, h)| n * w <= number.width && *h <= number.height).map(|b| b.0)
    };
    let size = natural.as_deref().filter(|_| big && !t.glyphs.ascii && level != Level::Stale).and_then(big_size);
    match (natural, size) {
        (Some(text), Some(size)) => {
            let big = BigText::builder().pixel_size(size).style(level.style(t)).lines(vec![Line::from(text)]).build();
            frame.render_widget(big, number);
        }
        _ => {
            // Stale values say so in words as well as by their dimness.
            let marker = if level == Level::Stale && now.is_some() { " stale" } else { "" };
            let room = (number.width as usize).saturating_sub(2 + marker.len());
            let text = now.map_or("—".to_string(), |r| units::format_fit(r.value, &p.unit, room));
            let line = Line::from(vec![
                Span::styled(format!("{} ", level.glyph(t)), level.style(t)),
                Span::styled(text, style.add_modifier(Modifier::BOLD)),
                Span::styled(marker, t.stale()),
            ]);
            frame.render_widget(Paragraph::new(line), number);
        }
    }
    if spark_rows > 0 {
        let style = if level == Level::Stale { t.stale() } else { t.accent() };
        let time = &ctx.scene.time;
        let line = sparkline(trend, time.grid_to_ms, time.window_ms, spark.width as usize, &t.glyphs.bars);
        frame.render_widget(Paragraph::new(line).style(style), spark);
    }
}

pub fn gauge(frame: &mut Frame, area: Rect, p: &PanelScene, now: Option<&Reading<f64>>, max: f64, ctx: &Ctx) {
    let t = ctx.theme;
    let level = ctx.judge(now, &p.thresholds);
    let inner = frame_of(frame, area, &format!(" {} ", p.title), Some(level), ctx);
    if inner.height == 0 || inner.width < 4 {
        return;
    }
    let text = now.map_or("—".to_string(), |r| units::format_fit(r.value, &p.unit, 8));
    let head = format!("{} {text:>8} ", level.glyph(t));
    let bar_w = (inner.width as usize).saturating_sub(head.chars().count());
    let frac = now.map_or(0.0, |r| if max > 0.0 { (r.value / max).clamp(0.0, 1.0) } else { 0.0 });
    let filled = (frac * bar_w as f64).round() as usize;
    let bar = format!(
        "{}{}",
        t.glyphs.gauge_full.to_string().repeat(filled),
        t.glyphs.gauge_empty.to_string().repeat(bar_w - filled)
    );
    let line = Line::from(vec![Span::styled(head, level.style(t)), Span::styled(bar, level.style(t))]);
    frame.render_widget(Paragraph::new(line), inner);
}

/// A line of text: a status word (healthy, degraded, down) judged by its
/// meaning, or fixed text as written.
pub fn text(frame: &mut Frame, area: Rect, p: &PanelScene, text: Option<&Reading<String>>, status: bool, ctx: &Ctx) {
    let t = ctx.theme;
    if !status {
        let inner = frame_of(frame, area, &format!(" {} ", p.title), None, ctx);
        let body = text.map_or(String::new(), |r| r.value.clone());
        let para = Paragraph::new(body).style(t.text()).wrap(ratatui::widgets::Wrap { trim: false });
        frame.render_widget(para, inner);
        return;
    }
    let level = match text {
        None => Level::Stale,
        Some(r) if ctx.scene.is_stale(r, ctx.now_ms) => Level::Stale,
        Some(r) => status_level(&r.value),
    };
    let inner = frame_of(frame, area, &format!(" {} ", p.title), Some(level), ctx);
    let width = inner.width as usize;
    let word = match text {
        None => "—".to_string(),
        Some(r) if level == Level::Stale => format!("{} (stale)", r.value),
        Some(r) => r.value.to_uppercase(),
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{} ", level.glyph(t)), level.style(t)),
        Span::styled(crate::core::format::fit(&word, width.saturating_sub(2)), level.style(t)),
    ])];
    if inner.height >= 2 {
        let firing = ctx.scene.alerts.iter().filter(|a| a.state == crate::core::model::AlertState::Firing).count();
        let (msg, style) = if firing == 0 {
            ("no alerts firing".to_string(), t.dim())
        } else {
            (format!("{firing} firing"), t.crit())
        };
        lines.push(Line::from(Span::styled(msg, style)));
    }
    if inner.height >= 3
        && let Some(b) = &ctx.scene.banner
    {
        lines.push(Line::from(Span::styled(crate::core::format::fit(&b.message, width), t.warn())));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Health words to levels; anything unknown is treated as bad news.
fn status_level(s: &str) -> Level {
    match s.to_ascii_lowercase().as_str() {
        "healthy" | "ok" | "up" | "green" => Level::Ok,
        "degraded" | "warning" | "warn" | "yellow" => Level::Warn,
        _ => Level::Crit,
    }
}
