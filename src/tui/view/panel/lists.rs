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
    // Durations are told from the instant shown: looking back an hour, an
    // alert that had been firing ten minutes says so.
    let shown_ms = if scene.time.live { now_ms } else { scene.time.to_ms };
    let firing = scene.alerts.iter().filter(|a| a.state == AlertState::Firing).count();
    let title = format!(" {title} ({firing} firing, {} total) ", scene.alerts.len());
    // The border is coloured by what still needs someone.
    let attention = scene.attention(now_ms);
    let border = match (attention.need_action > 0, attention.critical) {
        (true, true) => Some(Level::Crit),
        (true, false) => Some(Level::Warn),
        (false, _) => None,
    };
    let inner = frame_of(frame, area, &title, border, ctx);
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
            let since = match (a.state, a.ends_at, a.start()) {
                (AlertState::Resolved, Some(end), _) => format!("ended {} ago", age(shown_ms - end)),
                // The history held does not reach its start.
                (_, _, Some(s)) if s.at_least => format!("for at least {}", age(shown_ms - s.at_ms)),
                (_, _, Some(s)) => format!("for {}", age(shown_ms - s.at_ms)),
                _ => String::new(),
            };
            let value = match (a.value, a.threshold) {
                // Narrow lists keep the summary; the numbers are in it or in the detail.
                _ if width < 90 => String::new(),
                (Some(v), Some(t)) => format!("{} > {}", short(v), short(t)),
                (Some(v), None) => short(v),
                _ => String::new(),
            };
            // Narrow, the glyph and colour carry the severity and the name
            // gets its room.
            let head = if width < 60 {
                format!("{} {} ", level.glyph(theme), state.trim_end())
            } else {
                format!("{} {state} {sev:<4} ", level.glyph(theme))
            };
            // Narrow, the duration alone says "for".
            let tail = if width < 40 {
                format!(" {}", since.trim_start_matches("for "))
            } else if value.is_empty() {
                format!("  {since}")
            } else {
                format!("  {value}  {since}")
            };
            let (tag, tag_style, silenced) = match scene.hush.get(&a.id) {
                // An inhibition has no end of its own.
                Some(Hush { silenced: Some((i64::MAX, by)), .. }) => (format!("MUTED {by} "), theme.dim(), true),
                Some(Hush { silenced: Some((until, by)), .. }) => {
                    (format!("SILENCED until {} by {by} ", until_text(*until, now_ms)), theme.dim(), true)
                }
                Some(Hush { acked_by: Some(by), .. }) => (format!("ACK {by} "), theme.accent(), false),
                _ => (String::new(), theme.text(), false),
            };
            // The name comes first and is cut last: which alert it is
            // matters more than anything said after it. Then who holds it
            // (an ack or a silence), which service, and what it says.
            let room = width.saturating_sub(head.chars().count() + tail.chars().count());
            let (name, labels) = (display_name(a), label_values(a));
            // Up to a third of the room is kept for the labels; each part
            // is followed by a space.
            let keep = (labels.chars().count() + 1).min(room / 3);
            let name = fit(&name, room.saturating_sub(keep + 1).max(room.min(8).saturating_sub(1))) + " ";
            let room = room.saturating_sub(name.chars().count());
            let tag = match fit(tag.trim_end(), room) {
                t if !t.is_empty() && t.chars().count() < room => t + " ",
                t => t,
            };
            let room = room.saturating_sub(tag.chars().count());
            // A label cut to a letter or two says nothing; it is left out.
            let labels = if room >= 5 && !labels.is_empty() { fit(&labels, room - 1) + " " } else { String::new() };
            let room = room.saturating_sub(labels.chars().count());
            // A silenced alert reads as quiet: its words dimmed, not coloured.
            let (head_style, text_style) =
                if silenced { (theme.dim(), theme.dim()) } else { (level.style(theme), theme.text()) };
            let mut line = Line::from(vec![
                Span::styled(head, head_style),
                Span::styled(name, if silenced { text_style } else { text_style.add_modifier(Modifier::BOLD) }),
                Span::styled(tag, tag_style),
                Span::styled(labels, text_style),
                Span::styled(
                    format!("{:<room$}", if room < 4 { String::new() } else { fit(&summary(a), room) }),
                    text_style,
                ),
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

/// The alert's name as a person reads it: the rule's, the SLO's with its
/// burn alert, an Alertmanager's `alertname`, or for a gateway's alert the
/// name its id begins with, else the metric it is about.
fn display_name(a: &crate::core::model::Alert) -> String {
    match &a.origin {
        Origin::Slo { slo, burn } => format!("{slo} {burn}"),
        Origin::Gateway { .. } if !a.id.contains(':') => a.metric.clone(),
        _ => a.name().into_owned(),
    }
}

/// The values of an alert's labels, `service` first: the group a rule
/// alerts on, or a gateway's labels (the name is already shown).
fn label_values(a: &crate::core::model::Alert) -> String {
    let service = a.labels.get("service").into_iter();
    let others = a.labels.iter().filter(|(k, _)| !matches!(k.as_str(), "service" | "alertname" | "severity" | "slo"));
    service.map(String::as_str).chain(others.map(|(_, v)| v.as_str())).collect::<Vec<_>>().join(",")
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
