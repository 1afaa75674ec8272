//! Tables: one row per value of a label, one column per query, each cell
//! judged against its column's thresholds as it stands now; the row leads
//! with its worst verdict, or that of an alert firing on its label value if
//! louder, so a glance down the first column finds the trouble. A cell past
//! its threshold says so on the frame that shows it, while a rule on the
//! same value may still be waiting out its `for`.

use super::{Ctx, frame_of};
use crate::core::format::fit;
use crate::core::units;
use crate::tui::scene::{ColumnHead, PanelScene, Severity, Show, TableCell, TableRow};
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
    let by = columns_by(p);
    let verdicts: Vec<Vec<Level>> = rows
        .iter()
        .map(|r| r.cells.iter().zip(columns).map(|(c, h)| ctx.judge(c.now.as_ref(), &h.thresholds)).collect())
        .collect();
    let overall: Vec<Level> =
        rows.iter().zip(&verdicts).map(|(r, levels)| row_level(levels, alarm(&by, r, ctx))).collect();
    let worst = overall.iter().filter(|l| **l != Level::Stale).max().copied();
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

    let mut header = vec![Cell::from(Span::styled(fit(&title_case_label(&by), name_w as usize), t.dim()))];
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
        .zip(&overall)
        .skip(skip)
        .take(shown)
        .map(|((r, levels), &overall)| {
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

/// A row's verdict: the worst of its live cells and of the alert firing on
/// it; stale when it has neither.
fn row_level(cells: &[Level], alarm: Option<Level>) -> Level {
    cells.iter().copied().filter(|l| *l != Level::Stale).chain(alarm).max().unwrap_or(Level::Stale)
}

/// The level of the loudest alert firing on the row's value of the
/// table's label, if one is.
fn alarm(by: &str, r: &TableRow, ctx: &Ctx) -> Option<Level> {
    match ctx.scene.firing.loudest_on.get(&(by.to_string(), r.name.clone()))? {
        Severity::Critical => Some(Level::Crit),
        Severity::Warning => Some(Level::Warn),
        Severity::Info => None,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::scene::{PageScene, PanelBody, Reading, RowScene, Scene, Thresholds, Unit};
    use crate::tui::theme::Theme;
    use crate::tui::view::{self, Page, UiView};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use std::sync::Arc;

    const NOW: i64 = 1_751_277_600_000;

    /// A page of one errors table (warn 1%, crit 5%), each row at its
    /// error ratio, fresh; `firing` alerts on the rows' services.
    fn scene(rows: &[(&str, f64)], firing: &[(&str, Severity)]) -> Scene {
        let column = ColumnHead {
            title: "errors".into(),
            unit: Unit::Ratio,
            thresholds: Thresholds { warn: Some(0.01), crit: Some(0.05), below: false },
            show: Show::Value,
            max: 1.0,
        };
        let rows = rows
            .iter()
            .map(|(name, v)| TableRow {
                name: name.to_string(),
                cells: vec![TableCell {
                    now: Some(Reading { value: *v, fresh_until: Some(NOW + 10_000) }),
                    trend: vec![(NOW, *v)],
                }],
            })
            .collect();
        let table = PanelScene {
            title: "Services".into(),
            color: None,
            width: 1,
            unit: Unit::Count,
            thresholds: Thresholds::default(),
            body: PanelBody::Table { by: "service".into(), columns: vec![column], rows, limit: None },
            error: None,
        };
        let mut scene = Scene {
            pages: vec!["Overview".into()],
            page: Arc::new(PageScene {
                title: "Overview".into(),
                select: None,
                rows: vec![RowScene { height: None, panels: vec![table] }],
            }),
            ..Scene::default()
        };
        scene.time.to_ms = NOW;
        scene.time.grid_to_ms = NOW;
        for (service, severity) in firing {
            scene.firing.loudest_on.insert(("service".into(), service.to_string()), *severity);
        }
        scene
    }

    /// The screen's line that shows `name`'s row, trimmed of the border.
    fn row_of(scene: &Scene, theme: &Theme, name: &str) -> String {
        let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let ui = UiView { page: Page::Dashboard(0), ..UiView::default() };
        term.draw(|f| view::render(f, scene, &ui, theme, NOW)).unwrap();
        let buf = term.backend().buffer();
        (0..24)
            .map(|y| (0..80).map(|x| buf[(x, y)].symbol()).collect::<String>())
            .find(|l| l.contains(&format!(" {name} ")))
            .unwrap_or_else(|| panic!("no row for {name}"))
            .trim_matches(|c: char| c == '│' || c == '|' || c.is_whitespace())
            .to_string()
    }

    #[test]
    fn a_row_leads_with_its_worst_cell_at_once() {
        let s = scene(&[("api", 0.0), ("checkout", 0.02), ("payments", 0.06)], &[]);
        let dark = Theme::built_in("dark").unwrap();
        assert!(row_of(&s, &dark, "api").starts_with("● api"), "{}", row_of(&s, &dark, "api"));
        assert!(row_of(&s, &dark, "checkout").starts_with("▲ checkout"), "{}", row_of(&s, &dark, "checkout"));
        let payments = row_of(&s, &dark, "payments");
        assert!(payments.starts_with("✖ payments") && payments.ends_with("6.00%"), "{payments}");
        // Without colour, or without Unicode, the glyph's shape still says it.
        let mono = Theme::built_in("mono").unwrap();
        assert!(row_of(&s, &mono, "payments").starts_with("✖ payments"));
        let ascii = Theme::built_in("dark").unwrap().with_ascii(true);
        let rows: Vec<String> = ["api", "checkout", "payments"].iter().map(|n| row_of(&s, &ascii, n)).collect();
        assert!(rows[0].starts_with("o api") && rows[1].starts_with("! checkout"), "{rows:?}");
        assert!(rows[2].starts_with("X payments"), "{rows:?}");
    }

    #[test]
    fn an_alert_firing_on_a_row_makes_it_at_least_that_loud() {
        let s = scene(
            &[("api", 0.0), ("checkout", 0.0), ("payments", 0.02), ("search", 0.06)],
            &[("api", Severity::Critical), ("checkout", Severity::Info), ("payments", Severity::Critical)],
        );
        let dark = Theme::built_in("dark").unwrap();
        // Calm cells, but a critical alert fires on api.
        assert!(row_of(&s, &dark, "api").starts_with("✖ api"), "{}", row_of(&s, &dark, "api"));
        // An informational alert changes nothing.
        assert!(row_of(&s, &dark, "checkout").starts_with("● checkout"));
        // The louder of the cell and the alert.
        assert!(row_of(&s, &dark, "payments").starts_with("✖ payments"));
        assert!(row_of(&s, &dark, "search").starts_with("✖ search"));
        // The cell itself still shows its own verdict's value.
        assert!(row_of(&s, &dark, "api").ends_with("0%"), "{}", row_of(&s, &dark, "api"));
    }
}
