//! The selected alert's detail: what it is, where it comes from, how it
//! stands with people, its value over the window against its threshold,
//! and its history. It takes the place of the panels beside the alert list
//! on a wide screen, and the lower part of the row on a narrow one.
//!
//! ```text
//! ┌ error rate (payments) ───────────┐      ┌ error rate (payments) ──────────────────────────┐
//! │✖ FIRING crit · rule error rate   │      │✖ FIRING crit · rule …    │error rate: …         │
//! │summary                           │      │summary                   │  6.1% ▁▂▅███         │
//! │value 6.1%  > 1.0%                │  or  │value 6.1%  > 1.0%        │  1.0% ┄┄┄┄┄┄         │
//! │started 10:33:30 · for 2m30s      │      │started … · for 2m30s     │  0    ▁▁▁▁▁▁         │
//! │error rate: … (what is measured)  │      │history 10:33:30 firing   │       10:21     now  │
//! │  6.1% ▁▂▅███   (value, threshold) │      └──────────────────────────┴──────────────────────┘
//! │ 10:21         now                │
//! │history                           │
//! └──────────────────────────────────┘
//! ```

use super::lists::until_text;
use super::{Ctx, frame_of};
use crate::core::format::{age, clock, fit};
use crate::core::model::{Alert, AlertState, Origin, Severity};
use crate::core::units;
use crate::tui::scene::{AlertDetail, Unit};
use crate::tui::scene::{Hush, Op};
use crate::tui::view::signal::{Level, columns};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// A row this wide or wider shows the detail beside the list.
const BESIDE_FROM: u16 = 120;
/// The value labels left of the plot.
const GUTTER: u16 = 8;

/// The alert whose detail is open, when it is still listed.
pub fn open<'a>(ctx: &Ctx<'a>) -> Option<&'a Alert> {
    let id = ctx.ui.selected.as_ref().filter(|_| ctx.ui.detail)?;
    ctx.scene.alerts.iter().find(|a| a.id == *id)
}

/// Where the list and the detail go in a row of `area`: side by side on a
/// wide row (the list keeps the share it was given), one above the other
/// on a narrow one (the list as tall as its alerts, up to a third).
pub fn split(area: Rect, list_width: u16, alerts: usize) -> (Rect, Rect) {
    if area.width >= BESIDE_FROM {
        let list_width = list_width.min(area.width * 3 / 5).max(area.width / 3);
        let [list, pane] = Layout::horizontal([Constraint::Length(list_width), Constraint::Min(0)]).areas(area);
        return (list, pane);
    }
    let list_height = (alerts as u16 + 2).clamp(3, (area.height / 3).max(3));
    let [list, pane] = Layout::vertical([Constraint::Length(list_height), Constraint::Min(0)]).areas(area);
    (list, pane)
}

pub fn pane(frame: &mut Frame, area: Rect, alert: &Alert, ctx: &Ctx) {
    let level = level_of(alert);
    let title = format!(" {} ", alert_title(alert));
    let inner = frame_of(frame, area, &title, Some(level), ctx);
    if inner.width < 10 || inner.height < 2 {
        return;
    }
    // The scene's detail lags the selection by a frame at most; until it
    // catches up the facts come from the list and the plot waits.
    let detail = ctx.scene.detail.as_deref().filter(|d| d.alert.id == alert.id);
    let facts = facts(alert, detail, ctx);
    let history = history(alert, detail, ctx);
    if inner.width >= 70 && inner.height < 16 {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).spacing(1).areas(inner);
        let mut lines = facts;
        if lines.len() + history.len() < left.height as usize {
            lines.push(Line::default());
        }
        lines.extend(history);
        text(frame, left, lines);
        series(frame, right, detail, alert, ctx);
        return;
    }
    let facts_rows = (facts.len() as u16).min(inner.height);
    let history_rows = (history.len() as u16).min(inner.height.saturating_sub(facts_rows + 4) / 2);
    let [top, middle, bottom] =
        Layout::vertical([Constraint::Length(facts_rows), Constraint::Min(0), Constraint::Length(history_rows)])
            .areas(inner);
    text(frame, top, facts);
    series(frame, middle, detail, alert, ctx);
    text(frame, bottom, history);
}

fn text(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>) {
    let w = area.width as usize;
    let lines: Vec<Line> = lines
        .into_iter()
        .map(|l| {
            // Each span is cut to what is left of the line, so nothing wraps.
            let mut room = w;
            let spans: Vec<Span> = l
                .spans
                .into_iter()
                .map(|s| {
                    let t = fit(&s.content, room);
                    room = room.saturating_sub(t.chars().count());
                    Span::styled(t, s.style)
                })
                .collect();
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

fn level_of(a: &Alert) -> Level {
    match (a.state, a.severity) {
        (AlertState::Resolved, _) => Level::Ok,
        (AlertState::NoData, _) => Level::Stale,
        (_, Severity::Critical) => Level::Crit,
        _ => Level::Warn,
    }
}

/// `error rate (payments)`: the alert's name and its service, if it has one.
fn alert_title(a: &Alert) -> String {
    let name = a.name();
    match a.labels.get("service") {
        Some(s) if !name.contains(s.as_str()) => format!("{name} ({s})"),
        _ => name.to_string(),
    }
}

fn facts(a: &Alert, detail: Option<&AlertDetail>, ctx: &Ctx) -> Vec<Line<'static>> {
    let (t, now) = (ctx.theme, ctx.now_ms);
    let level = level_of(a);
    let state = match a.state {
        AlertState::NoData => "NO DATA".to_string(),
        s => s.name().to_uppercase(),
    };
    // Said once the detail is worked out, with the rest of what it knows.
    let origin = match detail.map(|d| &d.alert.origin) {
        Some(Origin::Rule { rule, .. }) => format!(" · rule {rule}"),
        Some(Origin::Slo { slo, .. }) => format!(" · SLO {slo}"),
        Some(Origin::Gateway { .. }) => " · from the gateway".to_string(),
        Some(Origin::Alertmanager { source }) => format!(" · from Alertmanager {source}"),
        None => String::new(),
    };
    let sev = match a.severity {
        Severity::Critical => "crit",
        Severity::Warning => "warn",
        Severity::Info => "info",
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{} {state} {sev}", level.glyph(t)), level.style(t)),
        Span::styled(origin, t.dim()),
    ])];
    lines.push(Line::styled(a.summary.clone(), t.text()));
    let unit = detail.map_or(Unit::Count, |d| d.unit.clone());
    let op = detail.map_or(">", |d| d.op.symbol());
    let value = a.value.map_or_else(|| "no data".to_string(), |v| units::format(v, &unit));
    let mut vs = vec![Span::styled("value ", t.dim()), Span::styled(value, t.text())];
    if let Some(th) = a.threshold {
        vs.push(Span::styled(format!("  threshold {op} {}", units::format(th, &unit)), t.dim()));
    }
    lines.push(Line::from(vs));
    // A paused picture keeps to the times of day, which stand still.
    let live = ctx.scene.time.live;
    let when = match (a.start(), a.ends_at) {
        // The history held does not reach its start: it began then or before.
        (Some(s), Some(e)) if s.at_least => {
            format!("started {} or before · ended {} after at least {}", clock(s.at_ms), clock(e), age(e - s.at_ms))
        }
        (Some(s), None) if s.at_least && live => {
            format!("since at least {} · for at least {}", clock(s.at_ms), age(now - s.at_ms))
        }
        (Some(s), None) if s.at_least => format!("since at least {}", clock(s.at_ms)),
        (Some(s), Some(e)) => format!("started {} · ended {} after {}", clock(s.at_ms), clock(e), age(e - s.at_ms)),
        (None, Some(e)) if live => format!("ended {} ({} ago)", clock(e), age(now - e)),
        (None, Some(e)) => format!("ended {}", clock(e)),
        (Some(s), None) if live => format!("started {} · for {}", clock(s.at_ms), age(now - s.at_ms)),
        (Some(s), None) => format!("started {}", clock(s.at_ms)),
        (None, None) => "start not known".to_string(),
    };
    lines.push(Line::styled(when, t.text()));
    let labels: Vec<String> = a.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let labels = if labels.is_empty() { "none".to_string() } else { labels.join(" ") };
    lines.push(Line::from(vec![Span::styled("labels ", t.dim()), Span::styled(labels, t.text())]));
    match ctx.scene.hush.get(&a.id) {
        Some(Hush { silenced: Some((until, by)), .. }) => {
            lines.push(Line::styled(format!("SILENCED until {} by {by}", until_text(*until, now)), t.dim()));
        }
        Some(Hush { acked_by: Some(by), .. }) => lines.push(Line::styled(format!("ACK by {by}"), t.accent())),
        _ => {}
    }
    lines.push(Line::styled(format!("id {}", a.id), t.dim()));
    lines
}

fn history(a: &Alert, detail: Option<&AlertDetail>, ctx: &Ctx) -> Vec<Line<'static>> {
    let t = ctx.theme;
    let steps = detail.map(|d| d.history.as_slice()).unwrap_or_default();
    if steps.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![Line::styled("history", t.dim())];
    for s in steps {
        let style = match s.state.as_str() {
            "firing" => level_of(a).style(t),
            "resolved" => t.ok(),
            _ => t.text(),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", clock(s.at_ms)), t.dim()),
            Span::styled(s.state.clone(), style),
        ]));
    }
    lines
}

/// What is measured, the plot, and its time axis.
fn series(frame: &mut Frame, area: Rect, detail: Option<&AlertDetail>, alert: &Alert, ctx: &Ctx) {
    let t = ctx.theme;
    if area.height == 0 {
        return;
    }
    let Some(d) = detail else {
        frame.render_widget(Paragraph::new("…").style(t.dim()), area);
        return;
    };
    let [what, plot_area, axis] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0), Constraint::Length(1)]).areas(area);
    frame.render_widget(Paragraph::new(fit(&d.measure, what.width as usize)).style(t.dim()), what);
    if let Some(why) = &d.no_series {
        frame.render_widget(Paragraph::new(fit(why, plot_area.width as usize)).style(t.dim()), plot_area);
        return;
    }
    if plot_area.height == 0 || plot_area.width <= GUTTER + 4 {
        return;
    }
    let width = (plot_area.width - GUTTER) as usize;
    let time = ctx.scene.time;
    let cols = columns(&d.series, time.grid_to_ms, time.window_ms, width);
    let thresholds: Vec<f64> = match (alert.threshold, d.op) {
        (Some(th), Op::Outside) => vec![th, -th],
        (Some(th), _) => vec![th],
        (None, _) => Vec::new(),
    };
    let breach = |v: f64| thresholds.first().is_some_and(|&th| d.op.holds(v, th));
    let lines = plot(&cols, &thresholds, plot_area.height as usize, &d.unit, &t.glyphs.bars, |v| {
        if breach(v) { level_of(alert).style(t) } else { t.series(0) }
    });
    let lines: Vec<Line> = lines
        .into_iter()
        .map(|(label, cells)| {
            let mut spans = vec![Span::styled(format!("{label:>w$} ", w = GUTTER as usize - 1), t.dim())];
            spans.extend(cells.into_iter().map(|(c, style)| match style {
                Some(s) => Span::styled(c.to_string(), s),
                None => Span::styled(c.to_string(), level_of(alert).style(t)),
            }));
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), plot_area);
    let from = clock(time.grid_to_ms - time.window_ms);
    let to = if time.live { "now".to_string() } else { clock(time.grid_to_ms) };
    let gap = width.saturating_sub(from.len() + to.len());
    let axis_text = format!("{:g$}{from}{:gap$}{to}", "", "", g = GUTTER as usize);
    frame.render_widget(Paragraph::new(fit(&axis_text, axis.width as usize)).style(t.dim()), axis);
}

/// One plot row: its value label and its cells, each with the style of
/// its column (`None` for a threshold mark).
type PlotRow = (String, Vec<(char, Option<Style>)>);

/// Columns of bars `height` rows tall, from a floor of zero (or the lowest
/// value, if below) to the highest value or threshold, so the threshold is
/// always in sight. Thresholds are marked across the columns that do not
/// reach them; the top, threshold and bottom rows are labelled.
fn plot(
    cols: &[Option<f64>],
    thresholds: &[f64],
    height: usize,
    unit: &Unit,
    bars: &[char; 8],
    style_of: impl Fn(f64) -> Style,
) -> Vec<PlotRow> {
    let values = cols.iter().flatten().copied().chain(thresholds.iter().copied());
    let (lo, hi) = values.fold((0.0_f64, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let hi = if hi <= lo { lo + 1.0 } else { hi + (hi - lo) * 0.05 };
    let levels = (height * 8) as f64;
    let row_of = |v: f64| (((v - lo) / (hi - lo) * height as f64).floor() as usize).min(height - 1);
    let marks: Vec<usize> = thresholds.iter().map(|&th| row_of(th)).collect();
    (0..height)
        .rev()
        .map(|r| {
            let label = match thresholds.iter().zip(&marks).find(|(_, m)| **m == r) {
                Some((th, _)) => units::format_axis(*th, unit),
                None if r == height - 1 => units::format_axis(hi, unit),
                None if r == 0 => units::format_axis(lo, unit),
                None => String::new(),
            };
            let cells = cols
                .iter()
                .map(|c| {
                    let filled = c.map_or(0, |v| (((v - lo) / (hi - lo) * levels).round() as usize).max(1));
                    let n = filled.saturating_sub(r * 8).min(8);
                    match (n, c) {
                        (0, _) if marks.contains(&r) => ('┄', None),
                        (0, _) => (' ', Some(Style::default())),
                        (n, Some(v)) => (bars[n - 1], Some(style_of(*v))),
                        (_, None) => (' ', Some(Style::default())),
                    }
                })
                .collect();
            (label, cells)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

    fn rows(cols: &[Option<f64>], thresholds: &[f64], height: usize) -> Vec<String> {
        plot(cols, thresholds, height, &Unit::Count, &BARS, |_| Style::default())
            .into_iter()
            .map(|(label, cells)| format!("{label:>4}|{}", cells.into_iter().map(|c| c.0).collect::<String>()))
            .collect()
    }

    #[test]
    fn bars_rise_from_zero_and_the_threshold_is_marked_where_they_fall_short() {
        // 0 to 10.5 over 3 rows (3.5 a row); the threshold 5 is in the middle row.
        let got = rows(&[Some(1.0), Some(10.0), None, Some(5.0)], &[5.0], 3);
        assert_eq!(got, ["10.5| ▇  ", "   5|┄█┄▃", "   0|▂█ █"]);
    }

    #[test]
    fn a_threshold_above_every_value_stays_in_sight() {
        let got = rows(&[Some(1.0), Some(2.0)], &[8.0], 2);
        assert_eq!(got[0], "   8|┄┄");
        assert!(got[1].ends_with("▂▄"), "{got:?}");
        // Nothing to draw is blank, never a panic.
        assert_eq!(rows(&[None, None], &[], 1), ["   1|  "]);
    }
}
