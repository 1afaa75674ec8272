//! A latency heatmap: time across, histogram buckets up, each cell shaded by
//! how many observations fell in it. Shading uses the theme's bar glyphs so
//! it reads without colour.

use super::{Ctx, frame_of};
use crate::core::format::clock;
use crate::core::units;
use crate::tui::scene::Heat;
use crate::tui::scene::PanelScene;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// The heatmap fills the panel: each time column is as wide as its share
/// of the window, each bucket band as tall as its share of the rows, with
/// the bucket bounds up the left and the time axis under it, as the line
/// charts have them:
///
/// ```text
///    more│
///     1s │ ▁   ▁▁
///  250ms │████▄▃▃▃▃▃
///   10ms │▂▂▁▁▁▁▁▁▁▁
///        └──────────
/// 10:21:05  10:28:35  now
/// ```
pub fn heatmap(frame: &mut Frame, area: Rect, p: &PanelScene, h: &Heat, ctx: &Ctx) {
    let t = ctx.theme;
    // A heatmap whose data stopped says so, and is drawn faded.
    let fresh = crate::tui::scene::Reading { value: (), fresh_until: h.fresh_until };
    let stale = !h.columns.is_empty() && ctx.scene.is_stale(&fresh, ctx.now_ms);
    let title = if stale { format!(" {} (stale) ", p.title) } else { format!(" {} ", p.title) };
    let inner = frame_of(frame, area, &title, None, ctx);
    if inner.height < 2 || inner.width < 12 {
        return;
    }
    if h.columns.is_empty() {
        frame.render_widget(Paragraph::new(" waiting for data…").style(t.dim()), inner);
        return;
    }
    // The axis takes two rows when there are enough to leave the cells three.
    let axis_rows = if inner.height >= 5 { 2 } else { 0 };
    let rows = (inner.height - axis_rows) as usize;
    let label_w = 7usize;
    let cols = (inner.width as usize).saturating_sub(label_w + 1).max(1);
    // Bucket bands: merge adjacent buckets so they fit the height; with
    // rows to spare, each band takes several.
    let buckets = h.bounds.len();
    let bands = buckets.min(rows).max(1);
    let band_of = |b: usize| (b * bands / buckets.max(1)).min(bands - 1);
    // Row 0 is the top; the highest band is drawn there.
    let band_at_row = |r: usize| (rows - 1 - r) * bands / rows;
    let time = ctx.scene.time;
    let cells = spread(h, time.grid_to_ms, time.window_ms, cols, bands, band_of);
    let peak = cells.iter().flatten().flatten().fold(0.0_f64, |a, &b| a.max(b));
    let shades = &t.glyphs.bars;
    let mut lines = Vec::with_capacity(inner.height as usize);
    for r in 0..rows {
        let band = band_at_row(r);
        let upper = (0..buckets).rev().find(|&b| band_of(b) == band).map(|b| h.bounds[b]).unwrap_or(f64::NAN);
        // A band's bound is written on its top row only.
        let label = if r > 0 && band_at_row(r - 1) == band {
            String::new()
        } else if upper.is_finite() {
            units::format_axis(upper, &p.unit)
        } else {
            // The +Inf bucket has no bound to print.
            "more".to_string()
        };
        let row: String = cells
            .iter()
            .map(|cell| match cell {
                Some(acc) if acc[band] > 0.0 && peak > 0.0 => {
                    // A square-root scale: the tail stays visible beside the bulk.
                    let x = (acc[band] / peak).sqrt();
                    shades[((x * 7.0).round() as usize).min(7)]
                }
                _ => ' ',
            })
            .collect();
        let style = if stale { t.stale() } else { heat_style(ctx, upper, p) };
        lines.push(Line::from(vec![Span::styled(format!("{label:>label_w$}│"), t.dim()), Span::styled(row, style)]));
    }
    if axis_rows > 0 {
        lines.push(Line::styled(format!("{:label_w$}└{}", "", "─".repeat(cols)), t.dim()));
        lines.push(Line::styled(time_labels(time, inner.width as usize, label_w + 1 + cols / 2), t.dim()));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Each of `cols` screen columns across the window ending at `to_ms`: the
/// mean counts per band of the data columns that fall in it, or of the one
/// whose cell it lies in when the data is coarser than the screen; `None`
/// where there is no data (before it began, or a gap).
fn spread(
    h: &Heat,
    to_ms: i64,
    window_ms: i64,
    cols: usize,
    bands: usize,
    band_of: impl Fn(usize) -> usize,
) -> Vec<Option<Vec<f64>>> {
    let window = window_ms.max(1) as f64;
    let left = to_ms as f64 - window;
    // The data's finest step: the closest two columns, or the grid's finest.
    let step = h.columns.windows(2).map(|w| w[1].0 - w[0].0).filter(|d| *d > 0).min();
    let step = step.unwrap_or(window_ms / crate::tui::scene::MAX_CELLS).max(1) as f64;
    // A data column stands for the time back to the one before it (older
    // history is held coarser than the newest minutes), unless that is so
    // far back that it is a gap in the data, which stays blank.
    let longest = (4.0 * step).max(4.0 * window / cols.max(1) as f64);
    let covers_from = |i: usize| -> f64 {
        let ts = h.columns[i].0 as f64;
        match i.checked_sub(1).map(|j| h.columns[j].0 as f64) {
            Some(prev) if ts - prev <= longest => prev,
            _ => ts - step,
        }
    };
    let per_band = |counts: &[f64], acc: &mut Vec<f64>| {
        for (b, c) in counts.iter().enumerate() {
            acc[band_of(b)] += c;
        }
    };
    (0..cols)
        .map(|x| {
            let (a, b) = (left + window * x as f64 / cols as f64, left + window * (x + 1) as f64 / cols as f64);
            let inside: Vec<&(i64, Vec<f64>)> =
                h.columns.iter().filter(|(ts, _)| (*ts as f64) > a && (*ts as f64) <= b).collect();
            let mut acc = vec![0.0; bands];
            if inside.is_empty() {
                // The data column whose span this screen column lies in.
                let mid = (a + b) / 2.0;
                let i = h.columns.iter().position(|(ts, _)| *ts as f64 >= mid)?;
                if covers_from(i) >= mid {
                    return None;
                }
                per_band(&h.columns[i].1, &mut acc);
            } else {
                // The mean, not the sum: screen columns that catch two data
                // columns would otherwise stripe the picture.
                for (_, counts) in &inside {
                    per_band(counts, &mut acc);
                }
                acc.iter_mut().for_each(|v| *v /= inside.len() as f64);
            }
            Some(acc)
        })
        .collect()
}

/// The time axis's labels, as the line charts write them: the window's
/// start on the left, its middle centred on `mid_col`, "now" (or the
/// instant shown) on the right.
fn time_labels(time: crate::tui::scene::TimeInfo, width: usize, mid_col: usize) -> String {
    let to = time.grid_to_ms;
    let first = clock(to - time.window_ms);
    let middle = clock(to - time.window_ms / 2);
    let last = if time.live { "now".to_string() } else { clock(to) };
    let mut row: Vec<char> = vec![' '; width];
    let mut put = |at: usize, text: &str| {
        for (i, c) in text.chars().enumerate() {
            if let Some(cell) = row.get_mut(at + i) {
                *cell = c;
            }
        }
    };
    let (lw, mw, rw) = (first.chars().count(), middle.chars().count(), last.chars().count());
    // Only the labels that fit without touching each other.
    let mid_at = mid_col.saturating_sub(mw / 2);
    if lw + 1 + rw <= width {
        put(0, &first);
        put(width - rw, &last);
        if mid_at > lw && mid_at + mw < width - rw {
            put(mid_at, &middle);
        }
    } else if rw <= width {
        put(width - rw, &last);
    }
    row.into_iter().collect()
}

/// Bands above the panel's thresholds are drawn in the warning colours, so
/// a tail creeping up reads as trouble before the p99 crosses.
fn heat_style(ctx: &Ctx, upper: f64, p: &PanelScene) -> Style {
    let t = ctx.theme;
    let past = |x: Option<f64>| x.is_some_and(|x| !upper.is_finite() || upper > x);
    if past(p.thresholds.crit) {
        t.crit()
    } else if past(p.thresholds.warn) {
        t.warn()
    } else {
        t.accent()
    }
}
