//! The frame around the panels: header, banner and status bar.

use super::UiView;
use super::format::{age, clock, fit};
use super::signal::Level;
use crate::model::ConnState;
use crate::scene::Scene;
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn header(frame: &mut Frame, area: Rect, scene: &Scene, ui: &UiView, theme: &Theme, now_ms: i64) {
    let mut spans = vec![Span::styled(" vigil ", theme.header())];
    if let Some(scenario) = &scene.source.demo {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" DEMO · {scenario} "), theme.demo()));
    }
    spans.push(Span::raw(" "));
    match ui.paused_at {
        Some(at) => spans.push(Span::styled(format!("⏸ PAUSED at {}", clock(at)), theme.warn())),
        None if scene.link.conn.is_connected() => spans.push(Span::styled("● LIVE", theme.ok())),
        None => spans.push(Span::styled("✖ NOT LIVE", theme.crit())),
    }
    if let Some(h) = &scene.health {
        let level = if scene.is_stale(h, now_ms) {
            Level::Stale
        } else {
            match h.value.as_str() {
                "healthy" => Level::Ok,
                "degraded" => Level::Warn,
                _ => Level::Crit,
            }
        };
        spans.push(Span::raw("   system "));
        spans.push(Span::styled(format!("{} {}", level.glyph(), h.value), level.style(theme)));
    }
    let firing = scene.alerts.iter().filter(|a| a.state == crate::model::AlertState::Firing).count();
    if firing > 0 {
        spans.push(Span::raw("   "));
        spans.push(Span::styled(format!("✖ {firing} firing"), theme.crit()));
    }
    let line = Line::from(spans);
    let time = format!("{} UTC ", clock(now_ms));
    // The clock gives way when the left side needs the room.
    let clock_fits = line.width() + time.chars().count() < area.width as usize;
    frame.render_widget(Paragraph::new(line), area);
    if clock_fits {
        frame.render_widget(Paragraph::new(time).style(theme.dim()).alignment(Alignment::Right), area);
    }
}

/// The one-line banner, when there is something the whole screen must say.
pub fn banner_text(scene: &Scene, now_ms: i64) -> Option<(String, Level)> {
    if !scene.link.conn.is_connected() {
        let last = match scene.data_age_ms(now_ms) {
            Some(a) => format!("last data {} ago", age(a)),
            None => "no data yet".into(),
        };
        let retry = match &scene.link.conn {
            ConnState::Reconnecting { retry_at_ms, error, class, .. } => {
                format!(" · retry in {} (r: now) · {}: {error}", age((retry_at_ms - now_ms).max(0)), class.name())
            }
            ConnState::Connecting { .. } => " · connecting…".into(),
            ConnState::Disconnected { error } => format!(" · {error}"),
            ConnState::Connected { .. } => String::new(),
        };
        return Some((format!("✖ DISCONNECTED · {last}{retry}"), Level::Crit));
    }
    scene.banner.as_ref().map(|b| {
        let fresh = b.freshness.as_deref().map(|f| format!(" ({f})")).unwrap_or_default();
        (format!("▲ {}: {}{fresh}", b.status.to_uppercase(), b.message), Level::Warn)
    })
}

pub fn banner(frame: &mut Frame, area: Rect, scene: &Scene, theme: &Theme, now_ms: i64) {
    if area.height == 0 {
        return;
    }
    if let Some((text, level)) = banner_text(scene, now_ms) {
        let style = level.style(theme).add_modifier(ratatui::style::Modifier::REVERSED);
        frame.render_widget(Paragraph::new(fit(&format!(" {text}"), area.width as usize)).style(style), area);
    }
}

pub fn status_bar(frame: &mut Frame, area: Rect, scene: &Scene, ui: &UiView, theme: &Theme, now_ms: i64) {
    let link = &scene.link;
    let (state, level) = match &link.conn {
        ConnState::Connected { transport, .. } => (format!("● CONNECTED {}", transport.name()), Level::Ok),
        ConnState::Connecting { .. } => ("◌ CONNECTING".to_string(), Level::Warn),
        ConnState::Reconnecting { retry_at_ms, .. } => {
            (format!("↻ RECONNECTING in {}", age((retry_at_ms - now_ms).max(0))), Level::Warn)
        }
        ConnState::Disconnected { .. } => ("✖ DISCONNECTED".to_string(), Level::Crit),
    };
    let data_age = match scene.data_age_ms(now_ms) {
        Some(a) => format!("data {} old", age(a)),
        None => "no data yet".into(),
    };
    let mut spans = vec![
        Span::styled(format!(" {state} "), level.style(theme)),
        Span::styled(format!(" {} ", fit(gateway_in_use(scene), 40)), theme.dim()),
        Span::styled(format!(" {data_age} "), theme.text()),
        Span::styled(format!(" {:.1} fr/s ", link.frames_per_sec), theme.dim()),
    ];
    let malformed_style = if link.malformed > 0 { theme.warn() } else { theme.dim() };
    spans.push(Span::styled(format!(" {} malformed ", link.malformed), malformed_style));
    if let (true, Some(why)) = (area.width >= 140, &link.last_malformed) {
        spans.push(Span::styled(format!("({}) ", fit(why, 40)), theme.dim()));
    }
    let line = Line::from(spans);
    let used = line.width();
    frame.render_widget(Paragraph::new(line), area);
    let keys = if ui.paused_at.is_some() { "p resume  ? help  q quit " } else { "p pause  ? help  q quit " };
    if used + keys.chars().count() < area.width as usize {
        frame.render_widget(Paragraph::new(keys).style(theme.dim()).alignment(Alignment::Right), area);
    }
}

/// The gateway the link is on now; the preferred one until it connects.
fn gateway_in_use(scene: &Scene) -> &str {
    match &scene.link.conn {
        ConnState::Connected { url, .. } if !url.is_empty() => url,
        _ => &scene.source.url,
    }
}
