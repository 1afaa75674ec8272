//! p99 latency of every service over the last minutes, as one chart.

use super::format::seconds;
use crate::scene::Scene;
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::Span;
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, LegendPosition};

const PALETTE: [Color; 6] =
    [Color::Cyan, Color::Magenta, Color::Yellow, Color::LightGreen, Color::LightBlue, Color::LightRed];

pub fn chart(frame: &mut Frame, area: Rect, scene: &Scene, theme: &Theme, _now_ms: i64) {
    let series: Vec<(String, Vec<(f64, f64)>)> = scene
        .services
        .iter()
        .map(|s| {
            let n = s.p99_trend.len();
            // x counts back from now, so every line ends at the right edge.
            let pts = s.p99_trend.iter().enumerate().map(|(i, v)| ((i as f64) - (n as f64), *v)).collect();
            (s.name.clone(), pts)
        })
        .collect();
    let longest = series.iter().map(|(_, p)| p.len()).max().unwrap_or(0).max(2) as f64;
    let top = series.iter().flat_map(|(_, p)| p.iter().map(|q| q.1)).filter(|v| v.is_finite()).fold(0.0_f64, f64::max);
    let top = if top <= 0.0 { 1.0 } else { top * 1.1 };
    let datasets: Vec<Dataset> = series
        .iter()
        .enumerate()
        .map(|(i, (name, pts))| {
            let color = if theme.is_mono() { Color::Reset } else { PALETTE[i % PALETTE.len()] };
            Dataset::default()
                .name(name.clone())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(color))
                .data(pts)
        })
        .collect();
    let labels = [Span::raw("0"), Span::raw(seconds(top / 2.0)), Span::raw(seconds(top))];
    let chart = Chart::new(datasets)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.border())
                .title(Span::styled(" p99 latency, last 5 min ", theme.title())),
        )
        .x_axis(Axis::default().bounds([-longest, 0.0]).style(theme.dim()))
        .y_axis(Axis::default().bounds([0.0, top]).labels(labels).style(theme.dim()))
        .legend_position(Some(LegendPosition::TopLeft));
    frame.render_widget(chart, area);
}
