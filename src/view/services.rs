//! The golden signals, one row per service: traffic, errors, latency and
//! saturation, each with its verdict.

use super::format::{per_second, ratio, seconds};
use super::signal::{self, Level, sparkline};
use crate::scene::{Reading, Scene, ServiceRow};
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table};

pub fn table(frame: &mut Frame, area: Rect, scene: &Scene, theme: &Theme, now_ms: i64) {
    let wide = area.width >= 120;
    let bar_w: u16 = if wide { 10 } else { 0 };
    // The trends take whatever room the fixed columns leave.
    let fixed: u16 = 12 + 7 + 6 + 6 + 7 + 2 * (5 + bar_w) + if wide { 15 } else { 0 } + 12;
    let spark_w = (area.width.saturating_sub(2 + fixed) / 2).clamp(6, 60);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(Span::styled(" Services: golden signals ", theme.title()));
    if scene.services.is_empty() {
        let waiting = ratatui::widgets::Paragraph::new(" waiting for data…").style(theme.dim()).block(block);
        frame.render_widget(waiting, area);
        return;
    }
    let header = Row::new(
        ["service", "req/s", "traffic", "errors", "p50", "p99", "p99 trend", "cpu", "mem", "db pool", "queue"]
            .into_iter()
            .map(|h| Cell::from(h).style(theme.dim())),
    );
    let rows = scene.services.iter().map(|s| row(s, scene, theme, now_ms, spark_w as usize, bar_w as usize));
    let widths = [
        Constraint::Length(12),
        Constraint::Length(7),
        Constraint::Length(spark_w),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Length(spark_w),
        Constraint::Length(5 + bar_w),
        Constraint::Length(5 + bar_w),
        Constraint::Length(if wide { 8 } else { 0 }),
        Constraint::Length(if wide { 7 } else { 0 }),
    ];
    let table = Table::new(rows, widths).header(header).column_spacing(1).block(block);
    frame.render_widget(table, area);
}

/// A cell's text and verdict, stale when the data is.
fn judged(
    r: Option<&Reading<f64>>,
    scene: &Scene,
    now_ms: i64,
    text: impl Fn(f64) -> String,
    (warn, crit): (f64, f64),
) -> (String, Level) {
    match r {
        None => ("—".into(), Level::Stale),
        Some(r) if scene.is_stale(r, now_ms) => (text(r.value), Level::Stale),
        Some(r) => (text(r.value), Level::of(r.value, warn, crit)),
    }
}

fn row<'a>(s: &'a ServiceRow, scene: &Scene, theme: &Theme, now_ms: i64, spark_w: usize, bar_w: usize) -> Row<'a> {
    let never = (f64::INFINITY, f64::INFINITY);
    let (rps, rps_l) = judged(s.rps.as_ref(), scene, now_ms, per_second, never);
    let (err, err_l) = judged(s.error_ratio.as_ref(), scene, now_ms, ratio, signal::ERROR_RATIO);
    let (p50, p50_l) = judged(s.p50.as_ref(), scene, now_ms, seconds, never);
    let (p99, p99_l) = judged(s.p99.as_ref(), scene, now_ms, seconds, signal::P99_SECONDS);
    let (cpu, cpu_l) = judged(s.cpu.as_ref(), scene, now_ms, |v| format!("{v:.0}%"), signal::CPU_PERCENT);
    let (mem, mem_l) = judged(s.memory.as_ref(), scene, now_ms, |v| format!("{v:.0}%"), signal::MEMORY_PERCENT);
    let (queue, queue_l) = judged(s.queue.as_ref(), scene, now_ms, |v| format!("{v:.0}"), signal::QUEUE_DEPTH);
    let pool = s.db_active.as_ref().zip(s.db_max).filter(|(_, max)| *max > 0.0);
    let (pool_text, pool_l) = match pool {
        None => ("—".into(), Level::Stale),
        Some((r, max)) => {
            let frac = Reading { value: r.value / max, fresh_at: r.fresh_at };
            judged(Some(&frac), scene, now_ms, |v| format!("{:.0}%", v * 100.0), signal::DB_POOL_RATIO)
        }
    };
    // The row's verdict is its worst live signal; stale only when all are.
    let live = [err_l, p99_l, cpu_l, mem_l, queue_l, pool_l].into_iter().filter(|l| *l != Level::Stale).max();
    let overall = live.unwrap_or(Level::Stale);
    let styled = |text: String, l: Level| Cell::from(text).style(l.style(theme));
    let trend_style = |l: Level| if l == Level::Stale { theme.stale() } else { theme.accent() };
    Row::new(vec![
        Cell::from(Line::from(vec![
            Span::styled(format!("{} ", overall.glyph()), overall.style(theme)),
            Span::styled(s.name.clone(), theme.text()),
        ])),
        Cell::from(rps).style(plain(rps_l, theme)),
        Cell::from(sparkline(&s.rps_trend, spark_w)).style(trend_style(rps_l)),
        styled(err, err_l),
        Cell::from(p50).style(plain(p50_l, theme)),
        styled(p99, p99_l),
        Cell::from(sparkline(&s.p99_trend, spark_w)).style(trend_style(p99_l)),
        gauge_cell(cpu, s.cpu.as_ref().map(|r| r.value / 100.0), cpu_l, bar_w, theme),
        gauge_cell(mem, s.memory.as_ref().map(|r| r.value / 100.0), mem_l, bar_w, theme),
        styled(pool_text, pool_l),
        styled(queue, queue_l),
    ])
}

/// Numbers with no verdict of their own: plain text, or dimmed when stale.
fn plain(l: Level, theme: &Theme) -> Style {
    if l == Level::Stale { theme.stale() } else { theme.text() }
}

/// A percentage with a bar in front when there is room.
fn gauge_cell(text: String, frac: Option<f64>, l: Level, bar_w: usize, theme: &Theme) -> Cell<'static> {
    if bar_w == 0 {
        return Cell::from(text).style(l.style(theme));
    }
    let filled = frac.map_or(0, |f| ((f.clamp(0.0, 1.0)) * bar_w as f64).round() as usize);
    let bar = format!("{}{}", "█".repeat(filled), "░".repeat(bar_w - filled));
    Cell::from(Line::from(vec![Span::styled(bar, l.style(theme)), Span::styled(format!("{text:>5}"), l.style(theme))]))
}
