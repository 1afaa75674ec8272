//! Tables: one row per value of a label, one column per query, each cell
//! judged against its column's thresholds; the row leads with its worst
//! verdict so a glance down the first column finds the trouble.

use super::{Ctx, frame_of};
use crate::core::format::fit;
use crate::core::units;
use crate::tui::scene::{ColumnHead, PanelScene, Show, TableCell, TableRow};
use crate::tui::view::signal::{Level, sparkline};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

/// Columns a value takes.
const VALUE_W: u16 = 7;

pub fn table(
    frame: &mut Frame,
    area: Rect,
    p: &PanelScene,
    columns: &[ColumnHead],
    rows: &[TableRow],
    limit: Option<usize>,
    ctx: &Ctx,
) {
    let t = ctx.theme;
    let verdicts: Vec<Vec<Level>> = rows
        .iter()
        .map(|r| r.cells.iter().zip(columns).map(|(c, h)| ctx.judge(c.now.as_ref(), &h.thresholds)).collect())
        .collect();
    let worst = verdicts.iter().flatten().filter(|l| **l != Level::Stale).max().copied();
    let inner = frame_of(frame, area, &format!(" {} ", p.title), worst, ctx);
    if rows.is_empty() {
        let msg = if ctx.scene.filter.is_empty() { " waiting for data…" } else { " nothing matches the filter" };
        frame.render_widget(Paragraph::new(msg).style(t.dim()), inner);
        return;
    }
    let name_w = rows.iter().map(|r| r.name.chars().count()).max().unwrap_or(4).clamp(4, 18) as u16 + 2;
    // Bars get a fixed width on wide tables; trends share what is left.
    let bar_w: u16 = if inner.width >= 110 { 10 } else { 0 };
    let sparks = columns.iter().filter(|c| c.show == Show::Spark).count() as u16;
    let fixed: u16 =
        name_w + columns.iter().map(|c| VALUE_W + 1 + if c.show == Show::Bar { bar_w } else { 0 }).sum::<u16>();
    let spark_w = inner.width.saturating_sub(fixed).checked_div(sparks).map_or(0, |w| w.saturating_sub(1).min(60));
    let spark_w = if spark_w < 6 { 0 } else { spark_w };

    let mut header = vec![Cell::from(Span::styled(fit(&title_case_label(&columns_by(p)), name_w as usize), t.dim()))];
    let mut widths = vec![Constraint::Length(name_w)];
    for c in columns {
        match c.show {
            Show::Spark if spark_w > 0 => {
                header.push(Cell::from(Span::styled(fit(&c.title, VALUE_W as usize), t.dim())));
                header.push(Cell::from(Span::styled("trend", t.dim())));
                widths.push(Constraint::Length(VALUE_W));
                widths.push(Constraint::Length(spark_w));
            }
            Show::Bar if bar_w > 0 => {
                header.push(Cell::from(Span::styled(fit(&c.title, (VALUE_W + bar_w) as usize), t.dim())));
                widths.push(Constraint::Length(VALUE_W + bar_w));
            }
            _ => {
                header.push(Cell::from(Span::styled(fit(&c.title, VALUE_W as usize), t.dim())));
                widths.push(Constraint::Length(VALUE_W));
            }
        }
    }
    // The header takes a row; Table clips what does not fit anyway.
    let (skip, shown) = ctx.rows(rows.len(), limit, usize::MAX);
    let body: Vec<Row> = rows
        .iter()
        .zip(&verdicts)
        .skip(skip)
        .take(shown)
        .map(|(r, levels)| {
            let live = levels.iter().copied().filter(|l| *l != Level::Stale).max();
            let overall = live.unwrap_or(Level::Stale);
            let mut cells = vec![Cell::from(Line::from(vec![
                Span::styled(format!("{} ", overall.glyph(t)), overall.style(t)),
                Span::styled(fit(&r.name, name_w as usize - 2), t.text()),
            ]))];
            for ((c, h), l) in r.cells.iter().zip(columns).zip(levels) {
                cells.extend(cell(c, h, *l, spark_w, bar_w, ctx));
            }
            Row::new(cells)
        })
        .collect();
    let table = Table::new(body, widths).header(Row::new(header)).column_spacing(1);
    frame.render_widget(table, inner);
}

fn columns_by(p: &PanelScene) -> String {
    match &p.body {
        crate::tui::scene::PanelBody::Table { by, .. } => by.clone(),
        _ => String::new(),
    }
}

fn title_case_label(s: &str) -> String {
    s.replace('_', " ")
}

fn cell(c: &TableCell, h: &ColumnHead, l: Level, spark_w: u16, bar_w: u16, ctx: &Ctx) -> Vec<Cell<'static>> {
    let t = ctx.theme;
    let text = c.now.as_ref().map_or("—".to_string(), |r| units::format_fit(r.value, &h.unit, VALUE_W as usize));
    // Columns without thresholds carry no verdict: plain, or dim when stale.
    let judged = h.thresholds.warn.is_some() || h.thresholds.crit.is_some();
    let style = match (l, judged) {
        (Level::Stale, _) => t.stale(),
        (_, true) => l.style(t),
        (_, false) => t.text(),
    };
    let value = Cell::from(Span::styled(format!("{text:>w$}", w = VALUE_W as usize), style));
    match h.show {
        Show::Spark if spark_w > 0 => {
            let trend_style = if l == Level::Stale { t.stale() } else { t.accent() };
            let time = &ctx.scene.time;
            let line = sparkline(&c.trend, time.grid_to_ms, time.window_ms, spark_w as usize, &t.glyphs.bars);
            vec![value, Cell::from(Span::styled(line, trend_style))]
        }
        Show::Bar if bar_w > 0 => {
            let frac =
                c.now.as_ref().map_or(0.0, |r| if h.max > 0.0 { (r.value / h.max).clamp(0.0, 1.0) } else { 0.0 });
            let filled = (frac * bar_w as f64).round() as usize;
            let bar = format!(
                "{}{}",
                t.glyphs.gauge_full.to_string().repeat(filled),
                t.glyphs.gauge_empty.to_string().repeat(bar_w as usize - filled)
            );
            vec![Cell::from(Line::from(vec![
                Span::styled(bar, style),
                Span::styled(format!("{text:>w$}", w = VALUE_W as usize), style),
            ]))]
        }
        _ => vec![value],
    }
}
