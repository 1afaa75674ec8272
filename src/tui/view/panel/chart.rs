//! Line charts over the page's window, with thresholds as level lines and
//! events (deploys) as vertical markers; the newest marker's text is written
//! under the chart.
//!
//! The legend is a line of its own under the plot, never drawn over the
//! data, and kept at every size (names cut to fit). Without colour (the
//! mono theme, `NO_COLOR`, ASCII) colour cannot tell lines apart, so each
//! line is plotted with a digit of its own, which the legend names.

use super::{Ctx, frame_of};
use crate::core::format::{clock, fit};
use crate::core::units;
use crate::tui::scene::{ChartLine, Marker, PanelScene};
use crate::tui::view::signal::Level;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};

/// What lines are plotted with when colour cannot tell them apart.
const DIGITS: [char; 9] = ['1', '2', '3', '4', '5', '6', '7', '8', '9'];

/// The characters each line is plotted with, by its place, when the theme
/// has no colour; `None` when colour tells lines apart.
fn series_marks(t: &crate::tui::theme::Theme) -> Option<&'static [char]> {
    t.is_mono().then_some(&DIGITS[..])
}

/// The legend as one line: each line's key in its style and its name,
/// names cut evenly so that every line keeps a place; past a few letters
/// each, the rest are counted instead.
fn legend_line<'a>(names: &[&str], styles: &[Style], key: impl Fn(usize) -> String, width: usize) -> Line<'a> {
    const LEAST: usize = 4;
    let n = names.len();
    // Key, space, name, two spaces between entries.
    let fits = |shown: usize, room_each: usize| shown * (room_each + 4) <= width;
    let mut shown = n;
    while shown > 1 && !fits(shown, LEAST) {
        shown -= 1;
    }
    let more = if shown < n { format!(" +{}", n - shown) } else { String::new() };
    let room_each = (width.saturating_sub(more.len()) / shown.max(1)).saturating_sub(4).max(1);
    let mut spans = Vec::new();
    for i in 0..shown {
        spans.push(Span::styled(key(i), styles[i]));
        spans.push(Span::raw(format!(" {}  ", fit(names[i], room_each))));
    }
    spans.push(Span::raw(more));
    Line::from(spans)
}

pub fn chart(frame: &mut Frame, area: Rect, p: &PanelScene, lines: &[ChartLine], markers: &[Marker], ctx: &Ctx) {
    let t = ctx.theme;
    let time = ctx.scene.time;
    // A line whose data stopped is drawn faded, and judges nothing.
    let stale = |l: &ChartLine| {
        let recent = l
            .points
            .last()
            .is_some_and(|&(t, _)| time.grid_to_ms - t <= 3 * time.window_ms / crate::tui::scene::MAX_CELLS);
        !recent || ctx.scene.is_stale(&crate::tui::scene::Reading { value: (), fresh_until: l.fresh_until }, ctx.now_ms)
    };
    // Worst verdict across the lines' newest values, for the border.
    let level = lines
        .iter()
        .filter(|l| !stale(l))
        .filter_map(|l| l.points.last().map(|&(_, v)| super::judge(v, &p.thresholds)))
        .max()
        .unwrap_or(Level::Ok);
    let inner = frame_of(frame, area, &format!(" {} ", p.title), Some(level), ctx);
    if inner.height < 3 || inner.width < 10 {
        return;
    }
    let has_data = lines.iter().any(|l| !l.points.is_empty());
    if !has_data {
        let msg = if lines.is_empty() { " no series match" } else { " waiting for data…" };
        frame.render_widget(Paragraph::new(msg).style(t.dim()), inner);
        return;
    }
    let legend_rows = u16::from(lines.len() > 1 && inner.height >= 4);
    let note_rows = u16::from(!markers.is_empty() && inner.height >= 6);
    let [plot, legend, note] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(legend_rows), Constraint::Length(note_rows)])
            .areas(inner);
    let marks = series_marks(t);

    // x is seconds relative to the instant shown: the right edge is "now".
    let to = time.grid_to_ms;
    let x_of = |ts: i64| (ts - to) as f64 / 1000.0;
    let left = -(time.window_ms as f64) / 1000.0;
    let data: Vec<Vec<(f64, f64)>> = lines
        .iter()
        .map(|l| l.points.iter().map(|&(ts, v)| (x_of(ts), v)).filter(|p| p.1.is_finite()).collect())
        .collect();
    let top = data.iter().flatten().map(|p| p.1).fold(0.0_f64, f64::max);
    let bottom = data.iter().flatten().map(|p| p.1).fold(0.0_f64, f64::min);
    let top = if top <= bottom { bottom + 1.0 } else { top + (top - bottom) * 0.1 };

    let mut datasets: Vec<Dataset> = Vec::new();
    // Thresholds inside the range are drawn as flat lines in their colour.
    let levels: Vec<(f64, Style)> = [(p.thresholds.warn, t.warn()), (p.thresholds.crit, t.crit())]
        .into_iter()
        .filter_map(|(v, s)| v.filter(|v| *v > bottom && *v < top).map(|v| (v, s)))
        .collect();
    let level_pts: Vec<[(f64, f64); 2]> = levels.iter().map(|&(v, _)| [(left, v), (0.0, v)]).collect();
    for (pts, (_, style)) in level_pts.iter().zip(&levels) {
        datasets.push(Dataset::default().marker(t.glyphs.marker).graph_type(GraphType::Line).style(*style).data(pts));
    }
    // Newest first; the selected one (m / M) is drawn in the accent colour
    // and its text is written under the chart, else the newest one's.
    let mut by_age: Vec<&Marker> = markers.iter().collect();
    by_age.sort_by_key(|m| std::cmp::Reverse(m.ts));
    let chosen = ctx.ui.marker.map(|k| k % by_age.len().max(1));
    let marker_pts: Vec<[(f64, f64); 2]> = by_age.iter().map(|m| [(x_of(m.ts), bottom), (x_of(m.ts), top)]).collect();
    for (k, pts) in marker_pts.iter().enumerate() {
        let style = if chosen == Some(k) { t.accent() } else { t.dim() };
        datasets.push(Dataset::default().marker(t.glyphs.marker).graph_type(GraphType::Line).style(style).data(pts));
    }
    let styles: Vec<Style> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            if stale(line) {
                t.stale()
            } else {
                line.color.map_or_else(|| t.series(i), |c| Style::new().fg(t.custom(c)))
            }
        })
        .collect();
    for (i, (pts, style)) in data.iter().zip(&styles).enumerate() {
        let marker = marks.map_or(t.glyphs.marker, |m| ratatui::symbols::Marker::Custom(m[i % m.len()]));
        datasets.push(Dataset::default().marker(marker).graph_type(GraphType::Line).style(*style).data(pts));
    }
    let mid = (top + bottom) / 2.0;
    let y_labels: Vec<Span> = [bottom, mid, top].iter().map(|v| Span::raw(units::format_axis(*v, &p.unit))).collect();
    let x_labels = vec![
        Span::raw(clock(to - time.window_ms)),
        Span::raw(clock(to - time.window_ms / 2)),
        Span::raw(if time.live { "now".to_string() } else { clock(to) }),
    ];
    let chart = Chart::new(datasets)
        .x_axis(Axis::default().bounds([left, 0.0]).labels(x_labels).style(t.dim()))
        .y_axis(Axis::default().bounds([bottom, top]).labels(y_labels).style(t.dim()))
        .legend_position(None);
    frame.render_widget(chart, plot);
    if legend_rows > 0 {
        let names: Vec<&str> = lines.iter().map(|l| l.name.as_str()).collect();
        let key = |i: usize| marks.map_or_else(|| "─".to_string(), |m| m[i % m.len()].to_string());
        let key = |i: usize| if t.glyphs.ascii && marks.is_none() { "-".to_string() } else { key(i) };
        frame.render_widget(Paragraph::new(legend_line(&names, &styles, key, legend.width as usize)), legend);
    }
    if note_rows > 0
        && let Some(m) = by_age.get(chosen.unwrap_or(0))
    {
        let which = match chosen {
            Some(k) => format!(" ({} of {})", k + 1, by_age.len()),
            None => String::new(),
        };
        let text = format!("{} {} {}{which}", t.glyphs.event_mark, clock(m.ts), m.text);
        let style = if chosen.is_some() { t.accent() } else { t.dim() };
        frame.render_widget(Paragraph::new(fit(&text, note.width as usize)).style(style), note);
    }
}
