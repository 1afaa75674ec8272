//! The SLO table: per objective, how much was met over its window, the
//! error budget left (as a share and as time), and how fast it burns now.

use super::{Ctx, frame_of};
use crate::core::format::span_name;
use crate::core::format::{age, fit};
use crate::tui::scene::SloStatus;
use crate::tui::view::signal::Level;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn slos(frame: &mut Frame, area: Rect, title: &str, ctx: &Ctx) {
    let (scene, theme) = (ctx.scene, ctx.theme);
    let burning = scene.slos.iter().filter(|s| !s.firing.is_empty()).count();
    let inner = frame_of(frame, area, &format!(" {title} "), (burning > 0).then_some(Level::Crit), ctx);
    if scene.slos.is_empty() {
        let msg = " no SLOs: add [[slo]] tables to the config";
        frame.render_widget(Paragraph::new(msg).style(theme.dim()), inner);
        return;
    }
    let width = inner.width as usize;
    // Columns: name, objective, attained, budget, then burns while they fit.
    let burns = scene.slos.first().map_or(0, |s| s.burns.len());
    let fixed = 9 + 10 + 18;
    let name_w = width.saturating_sub(fixed + 7 * burns).clamp(8, 32);
    let room_for_burns = width.saturating_sub(name_w + fixed) / 7;
    let shown_burns = burns.min(room_for_burns);
    let mut head = format!(" {:<w$}{:>9}{:>10}  {:<16}", "SLO", "objective", "attained", "budget left", w = name_w - 1);
    if let Some(first) = scene.slos.first() {
        for (w, _) in first.burns.iter().take(shown_burns) {
            head.push_str(&format!("{:>7}", format!("{} ", span_name(*w))));
        }
    }
    let mut lines = vec![Line::styled(head, theme.dim())];
    lines.extend(scene.slos.iter().map(|s| row(s, name_w, shown_burns, ctx)));
    frame.render_widget(Paragraph::new(lines), inner);
}

fn row(s: &SloStatus, name_w: usize, burns: usize, ctx: &Ctx) -> Line<'static> {
    let theme = ctx.theme;
    let attained = s.attainment.map_or_else(|| "-".to_string(), |a| format!("{:.3}%", a * 100.0));
    let budget_level = match s.budget_left {
        None => Level::Stale,
        Some(b) if b <= 0.0 => Level::Crit,
        Some(b) if b < 0.25 => Level::Warn,
        Some(_) => Level::Ok,
    };
    let budget = match (s.budget_left, s.budget_left_ms) {
        (Some(b), Some(ms)) if ms >= 0 => format!("{:.0}% · {}", b * 100.0, age(ms)),
        (Some(b), Some(ms)) => format!("{:.0}% · -{}", b * 100.0, age(-ms)),
        _ => "no data yet".to_string(),
    };
    let level = if s.firing.is_empty() { budget_level } else { Level::Crit };
    let mut spans = vec![
        Span::styled(format!("{} ", level.glyph(theme)), level.style(theme)),
        Span::styled(format!("{:<w$}", fit(&s.name, name_w.saturating_sub(3)), w = name_w - 2), theme.text()),
        Span::styled(format!("{:>9}", format!("{}%", trim(s.objective))), theme.dim()),
        Span::styled(format!("{attained:>10}"), theme.text()),
        Span::styled(format!("  {:<16}", fit(&budget, 16)), budget_level.style(theme)),
    ];
    for (_, burn) in s.burns.iter().take(burns) {
        let (text, level) = match burn {
            None => ("-".to_string(), Level::Stale),
            Some(b) if *b >= 14.4 => (format!("{b:.1}x"), Level::Crit),
            Some(b) if *b >= 1.0 => (format!("{b:.1}x"), Level::Warn),
            Some(b) => (format!("{b:.1}x"), Level::Ok),
        };
        spans.push(Span::styled(format!("{text:>7}"), level.style(theme)));
    }
    // Until the ledger holds the whole window, say how much it does hold.
    if s.covered_ms < s.window_ms && s.attainment.is_some() {
        spans.push(Span::styled(format!("  over {} of {}", age(s.covered_ms), span_name(s.window_ms)), theme.dim()));
    }
    if !s.firing.is_empty() {
        spans.push(Span::styled(format!("  {}", s.firing.join(", ")), Level::Crit.style(theme)));
    }
    Line::from(spans)
}

/// 99.9 as "99.9", 99 as "99".
fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
