//! Alerts (firing first) and recent events, scrolled together with the
//! page and narrowed by the `/` filter (already applied in the scene). An
//! alert someone acknowledged or silenced says so, and by whom; a selected
//! alert is drawn reversed and kept in view.

use super::{Ctx, frame_of};
use crate::core::format::{age, clock, fit};
use crate::core::model::{AlertState, Origin, Severity};
use crate::tui::scene::Hush;
use crate::tui::scene::Unit;
use crate::tui::view::signal::Level;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// An alert's line of text: an Alertmanager's alerts say which one, and
/// their name when they have no summary.
fn summary(a: &crate::core::model::Alert) -> String {
    match &a.origin {
        Origin::Alertmanager { source } if a.summary.is_empty() => format!("{source}: {}", a.metric),
        Origin::Alertmanager { source } => format!("{source}: {} · {}", a.metric, a.summary),
        _ => a.summary.clone(),
    }
}

pub fn alerts(frame: &mut Frame, area: Rect, title: &str, limit: Option<usize>, ctx: &Ctx) {
    let (scene, theme, now_ms) = (ctx.scene, ctx.theme, ctx.now_ms);
    let firing = scene.alerts.iter().filter(|a| a.state == AlertState::Firing).count();
    let title = format!(" {title} ({firing} firing, {} total) ", scene.alerts.len());
    let inner = frame_of(frame, area, &title, (firing > 0).then_some(Level::Crit), ctx);
    if scene.alerts.is_empty() {
        let msg = if scene.filter.is_empty() { " no alerts" } else { " no alerts match the filter" };
        frame.render_widget(Paragraph::new(msg).style(theme.dim()), inner);
        return;
    }
    let width = inner.width as usize;
    let (mut skip, rows) = ctx.rows(scene.alerts.len(), limit, inner.height as usize);
    let selected = ctx.ui.selected.as_ref().and_then(|id| scene.alerts.iter().position(|a| a.id == *id));
    if let Some(at) = selected {
        // The selection stays in view: scrolled to as little as needed.
        skip = skip.min(at).max((at + 1).saturating_sub(rows));
    }
    let lines: Vec<Line> = scene
        .alerts
        .iter()
        .enumerate()
        .skip(skip)
        .take(rows)
        .map(|(i, a)| {
            let level = match (a.state, a.severity) {
                (AlertState::Resolved, _) => Level::Ok,
                (AlertState::NoData, _) => Level::Stale,
                (_, Severity::Critical) => Level::Crit,
                _ => Level::Warn,
            };
            let state = match a.state {
                AlertState::Firing => "FIRING ",
                AlertState::Pending => "PENDING",
                AlertState::Resolved => "RESOLVED",
                AlertState::NoData => "NO DATA",
            };
            let sev = match a.severity {
                Severity::Critical => "crit",
                Severity::Warning => "warn",
                Severity::Info => "info",
            };
            // Live, how long; on a paused or scrolled-back picture, since
            // when, which does not tick: only the clock moves on it.
            let live = scene.time.live;
            let since = match (a.state, a.ends_at, a.starts_at) {
                (AlertState::Resolved, Some(end), _) if live => format!("ended {} ago", age(now_ms - end)),
                (AlertState::Resolved, Some(end), _) => format!("ended {}", clock(end)),
                (_, _, Some(start)) if live => format!("for {}", age(now_ms - start)),
                (_, _, Some(start)) => format!("since {}", clock(start)),
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
            let head = format!("{} {state} {sev:<4} {service:<10} ", level.glyph(theme));
            let tail = format!("  {value}  {since}");
            let (tag, tag_style, silenced) = match scene.hush.get(&a.id) {
                // An inhibition has no end of its own.
                Some(Hush { silenced: Some((i64::MAX, by)), .. }) => (format!("MUTED {by} "), theme.dim(), true),
                Some(Hush { silenced: Some((until, by)), .. }) => {
                    (format!("SILENCED until {} by {by} ", until_text(*until, now_ms)), theme.dim(), true)
                }
                Some(Hush { acked_by: Some(by), .. }) => (format!("ACK {by} "), theme.accent(), false),
                _ => (String::new(), theme.text(), false),
            };
            let tag = fit(&tag, width.saturating_sub(head.chars().count() + 8));
            let room = width.saturating_sub(head.chars().count() + tag.chars().count() + tail.chars().count());
            // A silenced alert reads as quiet: its words dimmed, not coloured.
            let (head_style, text_style) =
                if silenced { (theme.dim(), theme.dim()) } else { (level.style(theme), theme.text()) };
            let mut line = Line::from(vec![
                Span::styled(head, head_style),
                Span::styled(tag, tag_style),
                Span::styled(format!("{:<room$}", fit(&summary(a), room)), text_style),
                Span::styled(tail, theme.dim()),
            ]);
            if selected == Some(i) {
                line = line.patch_style(Modifier::REVERSED);
            }
            line
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// When a silence ends: the time of day within the next 20 hours, else
/// the date too, so "until 09:00" is never read as the wrong day's.
pub(super) fn until_text(until_ms: i64, now_ms: i64) -> String {
    let t = clock(until_ms);
    if until_ms - now_ms < 20 * 3_600_000 {
        return t[..5].to_string();
    }
    let date = crate::core::format::instant(until_ms);
    format!("{} {}", date.get(5..10).unwrap_or(""), &t[..5])
}

fn short(v: f64) -> String {
    if v.abs() < 1.0 && v != 0.0 { format!("{v:.3}") } else { crate::core::units::format(v, &Unit::Count) }
}

pub fn events(frame: &mut Frame, area: Rect, title: &str, limit: Option<usize>, ctx: &Ctx) {
    let (scene, theme) = (ctx.scene, ctx.theme);
    let inner = frame_of(frame, area, &format!(" {title} "), None, ctx);
    if scene.events.is_empty() {
        let msg = if scene.filter.is_empty() { " no events yet" } else { " no events match the filter" };
        frame.render_widget(Paragraph::new(msg).style(theme.dim()), inner);
        return;
    }
    let (skip, rows) = ctx.rows(scene.events.len(), limit, inner.height as usize);
    let lines: Vec<Line> = scene
        .events
        .iter()
        .skip(skip)
        .take(rows)
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
