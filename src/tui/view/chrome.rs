//! The frame around the panels: header, banner and status bar.

use super::signal::Level;
use super::{Page, UiView};
use crate::core::format::{age, clock, fit, whole_age};
use crate::core::model::ConnState;
use crate::tui::scene::{Following, Scene};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// The screen row of the tab bar (just under the header).
pub const TAB_ROW: u16 = 1;

pub fn header(frame: &mut Frame, area: Rect, scene: &Scene, ui: &UiView, theme: &Theme, now_ms: i64) {
    let g = &theme.glyphs;
    let name_style = if ui.flash { theme.alarm() } else { theme.header() };
    let mut spans = vec![Span::styled(" vigil ", name_style)];
    if let Some(scenario) = &scene.source.demo {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" DEMO {} {scenario} ", g.bullet), theme.demo()));
    }
    spans.push(Span::raw(" "));
    let time = scene.time;
    if !time.live {
        let back = now_ms - time.to_ms;
        let when = if back < 1000 { "now".to_string() } else { format!("-{}", whole_age(back)) };
        spans.push(Span::styled(format!("{} AT {} UTC", g.warn, clock(time.to_ms)), theme.warn()));
        // How long ago that was ticks with the clock, so it is plain text
        // like the clock: a colour would be sent again with every tick.
        spans.push(Span::raw(format!(" ({when})")));
    } else {
        // In words as well as colour: a wall across the room, or a screen
        // without colour, must read it too.
        let (text, style) = match scene.following(now_ms) {
            Following::Live => (format!("{} LIVE", g.ok), theme.ok()),
            Following::Stale { age_ms: Some(a) } => (format!("{} STALE {}", g.stale, age(a)), theme.warn()),
            Following::Stale { age_ms: None } => (format!("{} NO DATA", g.stale), theme.warn()),
            Following::Cached { age_ms: Some(a) } => (format!("{} CACHED {}", g.stale, age(a)), theme.warn()),
            Following::Cached { age_ms: None } => (format!("{} CACHED", g.stale), theme.warn()),
            Following::Down => (format!("{} NOT LIVE", g.crit), theme.crit()),
        };
        spans.push(Span::styled(text, style));
    }
    spans.push(Span::styled(format!("  window {}", window_name(time.window_ms)), theme.dim()));
    let attention = scene.attention(now_ms);
    if attention.firing > 0 {
        // The count ignores the filter (what fires must not hide behind
        // it), and its colour is that of what still needs someone: alerts
        // acknowledged or silenced are held, and do not paint the wall red.
        let (glyph, style) = match (ui.flash, attention.need_action > 0, attention.critical) {
            (true, _, _) => (g.crit, theme.alarm()),
            (false, true, true) => (g.crit, theme.crit()),
            (false, true, false) => (g.warn, theme.warn()),
            (false, false, _) => (g.ok, theme.dim()),
        };
        let text = if attention.need_action == attention.firing {
            format!("{glyph} {} firing", attention.firing)
        } else {
            let held: Vec<String> = [(attention.acked, "ack"), (attention.silenced, "silenced")]
                .into_iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, what)| format!("{n} {what}"))
                .collect();
            format!(
                "{glyph} {} need action {} {} firing ({})",
                attention.need_action,
                g.bullet,
                attention.firing,
                held.join(", ")
            )
        };
        spans.push(Span::raw("   "));
        spans.push(Span::styled(text, style));
    }
    if !scene.filter.is_empty() {
        spans.push(Span::styled(format!("   filter /{}", fit(&scene.filter, 24)), theme.accent()));
    }
    let line = Line::from(spans);
    // On a wall the age of the data sits by the clock, readable at a glance.
    let age_text = match (ui.kiosk, scene.data_age_ms(now_ms)) {
        (true, Some(a)) => format!("data {} old  ", ticking_age(scene, a)),
        _ => String::new(),
    };
    let time = format!("{age_text}{} UTC ", clock(now_ms));
    // The clock gives way when the left side needs the room.
    let clock_fits = line.width() + time.chars().count() < area.width as usize;
    frame.render_widget(Paragraph::new(line), area);
    if clock_fits {
        // Plain text: it changes every second, and a colour would be resent
        // with every tick.
        frame.render_widget(Paragraph::new(time).alignment(Alignment::Right), area);
    }
}

/// `15m`, `1h`, `24h`: a window as the header and `:window` write it.
pub fn window_name(ms: i64) -> String {
    let s = ms / 1000;
    if s % 3600 == 0 {
        format!("{}h", s / 3600)
    } else if s % 60 == 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// Where each tab sits on the tab row: `(page, first column, last column + 1)`.
/// Shared by the drawing and by mouse clicks, so they always agree.
pub fn tabs(scene: &Scene) -> Vec<(Page, String, u16, u16)> {
    let mut out = Vec::new();
    let mut x = 1u16;
    let mut push = |page: Page, label: String| {
        let w = label.chars().count() as u16;
        out.push((page, label, x, x + w));
        x += w + 1;
    };
    for (i, title) in scene.pages.iter().enumerate() {
        let key = if i < 9 { format!("{}", i + 1) } else { " ".into() };
        push(Page::Dashboard(i), format!(" {key} {} ", fit(title, 16)));
    }
    push(Page::Sources, " s Sources ".into());
    out
}

pub fn tab_bar(frame: &mut Frame, area: Rect, scene: &Scene, ui: &UiView, theme: &Theme) {
    let mut spans = vec![Span::raw(" ")];
    for (page, label, _, _) in tabs(scene) {
        let style = if page == ui.page { theme.header() } else { theme.dim() };
        spans.push(Span::styled(label, style));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The one-line banner, when there is something the whole screen must say.
pub fn banner_text(scene: &Scene, now_ms: i64) -> Option<(String, Level)> {
    if !scene.link.conn.is_connected() {
        let last = match scene.data_age_ms(now_ms) {
            Some(a) => format!("last data {} ago", ticking_age(scene, a)),
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
        return Some((format!("DISCONNECTED · {last}{retry}"), Level::Crit));
    }
    scene.banner.as_ref().map(|b| {
        let fresh = b.freshness.as_deref().map(|f| format!(" ({f})")).unwrap_or_default();
        (format!("{}: {}{fresh}", b.status.to_uppercase(), b.message), Level::Warn)
    })
}

pub fn banner(frame: &mut Frame, area: Rect, scene: &Scene, theme: &Theme, now_ms: i64) {
    if area.height == 0 {
        return;
    }
    if let Some((text, level)) = banner_text(scene, now_ms) {
        let style = level.style(theme).add_modifier(ratatui::style::Modifier::REVERSED);
        let text = format!(" {} {text}", level.glyph(theme));
        frame.render_widget(Paragraph::new(fit(&text, area.width as usize)).style(style), area);
    }
}

pub fn status_bar(frame: &mut Frame, area: Rect, scene: &Scene, ui: &UiView, theme: &Theme, now_ms: i64) {
    if let Some(p) = &ui.prompt {
        prompt(frame, area, p, theme);
        return;
    }
    if let Some((msg, level)) = &ui.message {
        let text = format!(" {} {msg}", level.glyph(theme));
        frame.render_widget(Paragraph::new(fit(&text, area.width as usize)).style(level.style(theme)), area);
        return;
    }
    let g = &theme.glyphs;
    let link = &scene.link;
    let (state, level) = match &link.conn {
        ConnState::Connected { transport, .. } => (format!("{} CONNECTED {}", g.ok, transport.name()), Level::Ok),
        ConnState::Connecting { .. } => (format!("{} CONNECTING", g.stale), Level::Warn),
        ConnState::Reconnecting { retry_at_ms, .. } => {
            (format!("{} RECONNECTING in {}", g.warn, age((retry_at_ms - now_ms).max(0))), Level::Warn)
        }
        ConnState::Disconnected { .. } => (format!("{} DISCONNECTED", g.crit), Level::Crit),
    };
    let data_age = match (scene.cached_age_ms(now_ms), scene.data_age_ms(now_ms)) {
        // The gateway's word on its data's age outranks when it arrived.
        (Some(Some(a)), _) => format!("data cached, {} old", whole_age(a)),
        (Some(None), _) => "data cached".into(),
        (None, Some(a)) => format!("data {} old", ticking_age(scene, a)),
        (None, None) => "no data yet".into(),
    };
    let mut spans = vec![
        Span::styled(format!(" {state} "), level.style(theme)),
        Span::styled(format!(" {} ", fit(gateway_in_use(scene), 40)), theme.dim()),
        // Plain, as the clock is: it ticks every second while no data comes.
        Span::raw(format!(" {data_age} ")),
    ];
    // The frame rate follows the stream, which a paused picture does not:
    // it would be the one figure on a frozen screen still moving.
    if scene.time.live {
        spans.push(Span::styled(format!(" {:.1} fr/s ", link.frames_per_sec), theme.dim()));
    }
    let malformed_style = if link.malformed > 0 { theme.warn() } else { theme.dim() };
    spans.push(Span::styled(format!(" {} malformed ", link.malformed), malformed_style));
    if let (true, Some(why)) = (area.width >= 140, &link.last_malformed) {
        spans.push(Span::styled(format!("({}) ", fit(why, 40)), theme.dim()));
    }
    let line = Line::from(spans);
    let used = line.width();
    frame.render_widget(Paragraph::new(line), area);
    if ui.kiosk {
        return;
    }
    let keys = if leads_with_alerts(scene) {
        "j/k select  a ack  s silence  ? help "
    } else if scene.time.live {
        "p pause  : command  ? help  q quit "
    } else {
        "End live  ? help  q quit "
    };
    if used + keys.chars().count() < area.width as usize {
        // Styled as a line, not as the paragraph: a paragraph's style covers
        // its whole area, and would paint over the colours on the left.
        frame.render_widget(Paragraph::new(Line::styled(keys, theme.dim())).alignment(Alignment::Right), area);
    }
}

/// Whether the page opens with an alerts list: there the keys select,
/// acknowledge and silence alerts.
/// As the app decides where alerts can be selected: the page's first panel,
/// past any SLO table, is an alert list.
fn leads_with_alerts(scene: &Scene) -> bool {
    let mut panels = scene.page.rows.iter().flat_map(|r| &r.panels);
    let first = panels.find(|p| !matches!(p.body, crate::tui::scene::PanelBody::Slo));
    first.is_some_and(|p| matches!(p.body, crate::tui::scene::PanelBody::Alerts { .. }))
}

/// The line being typed, with a visible cursor (reversed cell) so it works
/// without moving the terminal's own cursor.
fn prompt(frame: &mut Frame, area: Rect, p: &super::Prompt, theme: &Theme) {
    let chars: Vec<char> = p.text.chars().collect();
    let cursor = p.cursor.min(chars.len());
    // Keep the cursor in view on long lines.
    let room = (area.width as usize).saturating_sub(3);
    let start = cursor.saturating_sub(room);
    let before: String = chars[start..cursor].iter().collect();
    let at: String = chars.get(cursor).map_or(" ".to_string(), |c| c.to_string());
    let after: String = chars.iter().skip(cursor + 1).collect();
    let mut line = Line::from(vec![
        Span::styled(format!("{}", p.sigil), theme.accent()),
        Span::styled(before, theme.text()),
        Span::styled(at, theme.text().add_modifier(Modifier::REVERSED)),
        Span::styled(after, theme.text()),
    ]);
    if let Some(hint) = &p.hint {
        line.push_span(Span::styled(format!("  {hint}"), theme.dim()));
    }
    frame.render_widget(Paragraph::new(line), area);
}

/// The age of the newest data, or of the last, as the chrome writes it.
/// Live, to a tenth of a second while it is young; on a paused or
/// scrolled-back picture in whole seconds, so that the picture changes at
/// most once a second, with the clock, however often data arrives.
fn ticking_age(scene: &Scene, ms: i64) -> String {
    if scene.time.live { age(ms) } else { whole_age(ms) }
}

/// The gateway the link is on now; the preferred one until it connects.
fn gateway_in_use(scene: &Scene) -> &str {
    match &scene.link.conn {
        ConnState::Connected { url, .. } if !url.is_empty() => url,
        _ => &scene.source.url,
    }
}
