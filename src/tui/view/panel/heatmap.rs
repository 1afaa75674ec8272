//! A latency heatmap: time across, histogram buckets up, each cell shaded by
//! how many observations fell in it. Shading uses the theme's bar glyphs so
//! it reads without colour.

use super::{Ctx, frame_of};
use crate::core::units;
use crate::tui::scene::Heat;
use crate::tui::scene::PanelScene;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

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
    let rows = inner.height as usize;
    let label_w = 7usize;
    let cols = (inner.width as usize).saturating_sub(label_w + 1);
    // Bucket bands: merge adjacent buckets so they fit the height, leaving
    // out the +Inf bucket's label (it has no bound to print).
    let buckets = h.bounds.len();
    let bands = buckets.min(rows).max(1);
    let band_of = |b: usize| b * bands / buckets.max(1);
    // Time columns: the newest `cols` cells, grouped when there are more.
    let n = h.columns.len();
    let per = n.div_ceil(cols.max(1)).max(1);
    let groups: Vec<Vec<f64>> = h
        .columns
        .chunks(per)
        .map(|chunk| {
            let mut acc = vec![0.0; bands];
            for (_, counts) in chunk {
                for (b, c) in counts.iter().enumerate() {
                    acc[band_of(b).min(bands - 1)] += c;
                }
            }
            acc
        })
        .collect();
    let peak = groups.iter().flatten().fold(0.0_f64, |a, &b| a.max(b));
    let shades = &t.glyphs.bars;
    let mut lines = Vec::with_capacity(bands);
    // Highest band at the top.
    for band in (0..bands).rev() {
        let upper = (0..buckets).rev().find(|&b| band_of(b) == band).map(|b| h.bounds[b]).unwrap_or(f64::NAN);
        let label = if upper.is_finite() { units::format_axis(upper, &p.unit) } else { "more".to_string() };
        let mut spans = vec![Span::styled(format!("{label:>label_w$} "), t.dim())];
        let cells: String = groups
            .iter()
            .map(|g| {
                let v = g[band];
                if v <= 0.0 || peak <= 0.0 {
                    ' '
                } else {
                    // A square-root scale: the tail stays visible beside the bulk.
                    let x = (v / peak).sqrt();
                    shades[((x * 7.0).round() as usize).min(7)]
                }
            })
            .collect();
        let style = if stale { t.stale() } else { heat_style(ctx, upper, p) };
        spans.push(Span::styled(cells, style));
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), inner);
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
