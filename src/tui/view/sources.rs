//! The sources page: every gateway's link in words, times and rates, so the
//! user can tell whether the numbers on the overview are current.
//!
//! Below 160 columns each gateway takes a few lines (its URL, then its
//! figures, then a note on how its link works and its last error); wider,
//! one line each with the note and the error last.

use super::signal::Level;
use crate::core::format::{age, clock, fit};
use crate::core::model::SourceKind;
use crate::core::units::{self, Unit};
use crate::tui::scene::{LinkInfo, Scene, SourceHealth, SourceRow};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Width of the state column (glyph and word).
const STATE_W: usize = 9;
/// From this inner width on, one line per gateway.
const ONE_LINE_FROM: usize = 158;
/// From this inner width on, the figures add points/s and the clock time.
const ROOMY_FROM: usize = 98;
/// The widest URL the one-line layout gives room to.
const URL_MAX: usize = 48;

/// The verdict's look: the same glyphs as everywhere else.
pub fn level(h: SourceHealth) -> Level {
    match h {
        SourceHealth::Live => Level::Ok,
        SourceHealth::Stale | SourceHealth::Idle => Level::Stale,
        SourceHealth::Down => Level::Crit,
    }
}

/// Draws the sources table into `area`.
pub fn page(frame: &mut Frame, area: Rect, scene: &Scene, theme: &Theme, now_ms: i64) {
    let n = scene.sources.len();
    let what = if scene.sources.iter().all(|r| r.kind == SourceKind::Gateway) { "gateway" } else { "source" };
    let title = format!(" Sources: {n} {what}{} · s or Esc: back ", if n == 1 { "" } else { "s" });
    let block = super::block(theme, &title, None);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let width = inner.width as usize;
    let mut lines = Vec::new();
    if scene.sources.is_empty() {
        lines.push(Line::styled(" no sources yet", theme.dim()));
    } else if width >= ONE_LINE_FROM {
        lines.push(Line::styled(one_line_header(width), theme.dim()));
        lines.extend(scene.sources.iter().map(|r| one_line(r, theme, now_ms, width)));
    } else {
        let roomy = width >= ROOMY_FROM;
        lines.push(Line::styled(format!("{}{}", pad("", STATE_W), figures_header(roomy)), theme.dim()));
        for r in &scene.sources {
            stacked(&mut lines, r, theme, now_ms, width, roomy);
        }
    }
    // The legend and the link's history go at the bottom when there is room.
    let footer = footer(&scene.link, width);
    let free = (inner.height as usize).saturating_sub(lines.len() + 1);
    if free >= footer.len() {
        lines.extend(std::iter::repeat_n(Line::default(), free - footer.len() + 1));
        lines.extend(footer.into_iter().map(|t| Line::styled(t, theme.dim())));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// A source's URL, after its name and kind unless it is a gateway.
fn named_url(r: &SourceRow) -> String {
    let kind = r.kind.name();
    if r.kind == SourceKind::Gateway {
        r.url.clone()
    } else if r.name == kind {
        format!("{kind} {}", r.url)
    } else {
        format!("{} ({kind}) {}", r.name, r.url)
    }
}

/// The figures of one gateway, in the order of [`figures_header`].
fn figures(r: &SourceRow, now_ms: i64, roomy: bool) -> String {
    let last_ok = match r.last_success_ms {
        None => "never".to_string(),
        Some(t) if roomy => format!("{} · {} ago", clock(t), age(now_ms - t)),
        Some(t) => format!("{} ago", age(now_ms - t)),
    };
    let mut cells = vec![
        pad(r.transport.map_or("—", |t| t.name()), 5),
        pad(&last_ok, if roomy { 21 } else { 11 }),
        pad(&r.rtt_ms.map_or("—".into(), |ms| units::format(ms / 1000.0, &Unit::Seconds)), 8),
        pad(&units::format(r.reconnects as f64, &Unit::Count), 7),
        pad(&units::format(r.bytes_per_sec, &Unit::BytesPerSecond), 11),
        pad(&format!("{:.1}", r.frames_per_sec), 9),
    ];
    if roomy {
        cells.push(pad(&format!("{:.0}", r.points_per_sec), 9));
    }
    cells.push(units::format(r.malformed as f64, &Unit::Count));
    cells.concat()
}

fn figures_header(roomy: bool) -> String {
    let mut h = vec![
        pad("via", 5),
        pad("last ok", if roomy { 21 } else { 11 }),
        pad("rtt", 8),
        pad("reconn", 7),
        pad("bytes/s", 11),
        pad("frames/s", 9),
    ];
    if roomy {
        h.push(pad("points/s", 9));
    }
    h.push("malformed".into());
    h.concat()
}

/// A gateway over two to four lines: URL, figures, note, last error.
fn stacked(lines: &mut Vec<Line<'static>>, r: &SourceRow, theme: &Theme, now_ms: i64, width: usize, roomy: bool) {
    let l = level(r.health);
    let rest = width.saturating_sub(STATE_W);
    lines.push(Line::from(vec![
        Span::styled(pad(&format!("{} {}", l.glyph(theme), r.health.name()), STATE_W), l.style(theme)),
        Span::styled(fit(&named_url(r), rest), theme.text()),
    ]));
    lines.push(Line::from(vec![
        Span::raw(pad("", STATE_W)),
        Span::styled(fit(&figures(r, now_ms, roomy), rest), figure_style(r.health, theme)),
    ]));
    if let Some(note) = &r.note {
        lines.push(Line::from(vec![Span::raw(pad("", STATE_W)), Span::styled(fit(note, rest), theme.dim())]));
    }
    if let Some(e) = &r.last_error {
        lines.push(Line::from(vec![
            Span::raw(pad("", STATE_W)),
            Span::styled(fit(&format!("last error: {e}"), rest), error_style(r.health, theme)),
        ]));
    }
}

/// How wide the URL column is in the one-line layout.
fn url_width(width: usize) -> usize {
    // What is left after state, figures and a fair share for the error.
    width.saturating_sub(STATE_W + figures_header(true).chars().count() + 40).clamp(20, URL_MAX)
}

fn one_line_header(width: usize) -> String {
    let url_w = url_width(width);
    format!("{}{}{}  note · last error", pad("", STATE_W), pad("url", url_w + 1), figures_header(true))
}

fn one_line(r: &SourceRow, theme: &Theme, now_ms: i64, width: usize) -> Line<'static> {
    let l = level(r.health);
    let url_w = url_width(width);
    let figs = figures(r, now_ms, true);
    let figs_w = figures_header(true).chars().count();
    let mut left = width.saturating_sub(STATE_W + url_w + 1 + figs_w + 2);
    let note = match (&r.note, &r.last_error) {
        (Some(n), Some(_)) => fit(&format!("{n} · "), left),
        (Some(n), None) => fit(n, left),
        (None, _) => String::new(),
    };
    left = left.saturating_sub(note.chars().count());
    let error = r.last_error.as_deref().map(|e| fit(e, left)).unwrap_or_default();
    Line::from(vec![
        Span::styled(pad(&format!("{} {}", l.glyph(theme), r.health.name()), STATE_W), l.style(theme)),
        Span::styled(pad(&fit(&named_url(r), url_w), url_w + 1), theme.text()),
        Span::styled(pad(&figs, figs_w + 2), figure_style(r.health, theme)),
        Span::styled(note, theme.dim()),
        Span::styled(error, error_style(r.health, theme)),
    ])
}

/// Figures of a link that is not live are history, and look it.
fn figure_style(h: SourceHealth, theme: &Theme) -> Style {
    if h == SourceHealth::Live { theme.text() } else { theme.stale() }
}

/// An error is loud while it is why the link is down, quiet once recovered.
fn error_style(h: SourceHealth, theme: &Theme) -> Style {
    if h == SourceHealth::Down { theme.crit() } else { theme.dim() }
}

/// What the glyphs mean, and what the link has been through.
fn footer(link: &LinkInfo, width: usize) -> Vec<String> {
    let legend = "● live  ◌ stale: silent 3 intervals + timeout  ✖ down: errors  ◌ idle: unused";
    let mut history = format!(
        "since start: {} reconnects · {} seq gaps · {} backfills · {} malformed",
        link.reconnects, link.seq_gaps, link.backfills, link.malformed
    );
    if let Some(why) = &link.last_malformed {
        history.push_str(&format!(" (last: {why})"));
    }
    [legend.to_string(), history].iter().map(|t| fit(&format!(" {t}"), width)).collect()
}

/// `s` cut or padded to exactly `w` characters.
fn pad(s: &str, w: usize) -> String {
    let s = fit(s, w);
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(w - n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_cuts_and_fills() {
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(pad("abcdef", 4), "abc…");
        assert_eq!(pad("", 0), "");
    }

    #[test]
    fn every_health_has_a_glyph_of_its_own_kind() {
        let t = crate::tui::theme::Theme::built_in("dark").unwrap();
        assert_eq!(level(SourceHealth::Live).glyph(&t), "●");
        assert_eq!(level(SourceHealth::Stale).glyph(&t), "◌");
        assert_eq!(level(SourceHealth::Down).glyph(&t), "✖");
    }

    #[test]
    fn figures_line_up_under_their_header() {
        let r = SourceRow { rtt_ms: Some(3.0), last_success_ms: Some(1_000), ..SourceRow::default() };
        for roomy in [false, true] {
            let head = figures_header(roomy);
            let figs = figures(&r, 2_000, roomy);
            assert_eq!(head.find("malformed").unwrap(), figs.chars().count() - 1, "{head}\n{figs}");
        }
    }
}
