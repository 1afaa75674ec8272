//! Alerts (firing first) and recent events.

use super::format::{age, clock, fit, value};
use super::signal::Level;
use crate::model::{AlertState, Severity};
use crate::scene::{Scene, Unit};
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

/// Alerts on the left, events on the right when wide enough; else stacked.
pub fn lists(frame: &mut Frame, area: Rect, scene: &Scene, theme: &Theme, now_ms: i64) {
    if area.width >= 100 {
        let [a, e] = Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(area);
        alerts(frame, a, scene, theme, now_ms);
        events(frame, e, scene, theme);
    } else {
        let event_rows = if area.height >= 10 { 4 } else { 0 };
        let [a, e] = Layout::vertical([Constraint::Min(3), Constraint::Length(event_rows)]).areas(area);
        alerts(frame, a, scene, theme, now_ms);
        if event_rows > 0 {
            events(frame, e, scene, theme);
        }
    }
}

fn alerts(frame: &mut Frame, area: Rect, scene: &Scene, theme: &Theme, now_ms: i64) {
    let firing = scene.alerts.iter().filter(|a| a.state == AlertState::Firing).count();
    let title = format!(" Alerts ({firing} firing, {} total) ", scene.alerts.len());
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if firing > 0 { theme.crit() } else { theme.border() })
        .title(Span::styled(title, theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if scene.alerts.is_empty() {
        frame.render_widget(Paragraph::new(" no alerts").style(theme.dim()), inner);
        return;
    }
    let width = inner.width as usize;
    let lines: Vec<Line> = scene
        .alerts
        .iter()
        .take(inner.height as usize)
        .map(|a| {
            let level = match (a.state, a.severity) {
                (AlertState::Resolved, _) => Level::Ok,
                (_, Severity::Critical) => Level::Crit,
                _ => Level::Warn,
            };
            let state = match a.state {
                AlertState::Firing => "FIRING ",
                AlertState::Pending => "PENDING",
                AlertState::Resolved => "RESOLVED",
            };
            let sev = match a.severity {
                Severity::Critical => "crit",
                Severity::Warning => "warn",
                Severity::Info => "info",
            };
            let since = match (a.state, a.ends_at, a.starts_at) {
                (AlertState::Resolved, Some(end), _) => format!("ended {} ago", age(now_ms - end)),
                (_, _, Some(start)) => format!("for {}", age(now_ms - start)),
                _ => String::new(),
            };
            let service = a.labels.get("service").map(String::as_str).unwrap_or("");
            let value = match (a.value, a.threshold) {
                // Narrow lists keep the summary; the numbers are in it or in the detail.
                _ if width < 90 => String::new(),
                (Some(v), Some(t)) => format!("{} > {}", short(v), short(t)),
                (Some(v), None) => short(v),
                _ => String::new(),
            };
            let head = format!("{} {state} {sev:<4} {service:<10} ", level.glyph());
            let tail = format!("  {value}  {since}");
            let room = width.saturating_sub(head.chars().count() + tail.chars().count());
            Line::from(vec![
                Span::styled(head, level.style(theme)),
                Span::styled(format!("{:<room$}", fit(&a.summary, room)), theme.text()),
                Span::styled(tail, theme.dim()),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn short(v: f64) -> String {
    if v.abs() < 1.0 && v != 0.0 { format!("{v:.3}") } else { value(v, Unit::Count) }
}

fn events(frame: &mut Frame, area: Rect, scene: &Scene, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(Span::styled(" Events ", theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if scene.events.is_empty() {
        frame.render_widget(Paragraph::new(" no events yet").style(theme.dim()), inner);
        return;
    }
    let lines: Vec<Line> = scene
        .events
        .iter()
        .take(inner.height as usize)
        .map(|e| {
            let text = format!("{} {}", e.kind, e.text);
            Line::from(vec![
                Span::styled(format!("{} ", clock(e.ts)), theme.dim()),
                Span::styled(fit(&text, (inner.width as usize).saturating_sub(9)), theme.text()),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
