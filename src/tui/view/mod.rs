//! Pure render functions: `(&Scene, &UiView, &Theme, now) -> Frame`. No I/O,
//! no awaits, no clocks read here; everything time-dependent comes in `now_ms`.

mod chrome;
mod panel;
pub mod signal;
pub mod sources;

pub use chrome::{TAB_ROW, tabs};

use crate::tui::scene::Scene;
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use signal::Level;

/// Smallest terminal the dashboard draws into.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 20;

/// The screen-local state the view needs (owned by the app).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UiView {
    pub help: bool,
    /// Lines the help is scrolled down, on a screen too short for all of it.
    pub help_scroll: u16,
    pub page: Page,
    /// Rows scrolled down in tables and lists.
    pub scroll: u16,
    /// The `:` or `/` line being typed.
    pub prompt: Option<Prompt>,
    /// A one-line answer to the last command (or a reload), and its tone.
    pub message: Option<(String, Level)>,
    /// Wall-display mode: no key hints, flashing on new criticals.
    pub kiosk: bool,
    /// The header is flashing for a new critical alert.
    pub flash: bool,
    /// Burn-in drift: the whole layout is shifted by this many cells.
    pub drift: (u16, u16),
    /// The event marker selected on the charts, counting back from the
    /// newest; its text is shown under each chart that has it.
    pub marker: Option<usize>,
    /// The id of the alert selected on an alerts page.
    pub selected: Option<String>,
    /// The selected alert's detail pane is open.
    pub detail: bool,
}

/// The line being typed at the bottom of the screen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prompt {
    /// `:` for commands, `/` for the filter.
    pub sigil: char,
    pub text: String,
    /// Cursor position, in characters.
    pub cursor: usize,
    /// What the line still needs, shown dim after it.
    pub hint: Option<String>,
}

/// Which page fills the body of the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// A page of the dashboard, by index.
    Dashboard(usize),
    /// Every gateway's link: state, last success, latency, rates, errors.
    Sources,
}

impl Default for Page {
    fn default() -> Self {
        Page::Dashboard(0)
    }
}

/// Draws the whole dashboard.
///
/// ```text
/// ┌ header: vigil · DEMO · LIVE, STALE or the time shown · window clock ┐
/// │ tabs: 1 Overview  2 Services  3 Business  4 Alerts  s Sources      │
/// │ banner (only when disconnected or the gateway is degraded)         │
/// │ the page: rows of panels, as the dashboard file lays them out      │
/// └ status bar: link · source · data age · frames/s · keys, or a prompt ┘
/// ```
pub fn render(frame: &mut Frame, scene: &Scene, ui: &UiView, theme: &Theme, now_ms: i64) {
    let full = frame.area();
    if full.width < MIN_WIDTH || full.height < MIN_HEIGHT {
        too_small(frame, full, theme);
        return;
    }
    // Burn-in drift: one spare column and row, used on one side or the other.
    let area = if ui.kiosk {
        Rect {
            x: full.x + ui.drift.0.min(1),
            y: full.y + ui.drift.1.min(1),
            width: full.width - 1,
            height: full.height - 1,
        }
    } else {
        full
    };
    // Themes with a background of their own paint it everywhere first.
    frame.render_widget(Block::default().style(theme.base()), full);
    let banner_rows = u16::from(chrome::banner_text(scene, now_ms).is_some());
    let [header, tab_row, banner, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(banner_rows),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    chrome::header(frame, header, scene, ui, theme, now_ms);
    chrome::tab_bar(frame, tab_row, scene, ui, theme);
    chrome::banner(frame, banner, scene, theme, now_ms);
    let ctx = panel::Ctx { scene, ui, theme, now_ms, large: full.width >= 120 && full.height >= 40 };
    match ui.page {
        Page::Dashboard(_) => panel::page(frame, body, &ctx),
        Page::Sources => sources::page(frame, body, scene, theme, now_ms),
    }
    chrome::status_bar(frame, status, scene, ui, theme, now_ms);
    if ui.help {
        help(frame, area, theme, ui.help_scroll);
    }
    if theme.glyphs.ascii {
        asciify(frame.buffer_mut());
    }
}

/// The last word on ASCII mode: widgets that draw their own lines and dots
/// (chart axes, legends, braille plots) are mapped to ASCII cell by cell, so
/// no byte above 0x7f reaches a terminal that cannot show it.
fn asciify(buf: &mut ratatui::buffer::Buffer) {
    for cell in buf.content.iter_mut() {
        let sym = cell.symbol();
        if sym.is_ascii() {
            continue;
        }
        let c = sym.chars().next().unwrap_or(' ');
        let ascii = match c {
            '│' | '┃' | '║' | '┆' | '▏' | '▕' => "|",
            '─' | '━' | '═' | '┄' | '—' | '–' => "-",
            '┌' | '┐' | '└' | '┘' | '├' | '┤' | '┬' | '┴' | '┼' | '╭' | '╮' | '╰' | '╯' => {
                "+"
            }
            '…' => "~",
            '·' | '•' => ".",
            '\u{2800}' => " ",
            '\u{2801}'..='\u{28ff}' => "*",
            '▁' | '▂' | '▃' => "_",
            '▄' | '▅' | '▆' | '▇' | '█' | '▀' | '▌' | '▐' | '▖' | '▗' | '▘' | '▙' | '▚' | '▛' | '▜' | '▝' | '▞'
            | '▟' => "#",
            '░' | '▒' | '▓' => ":",
            '●' => "o",
            '▲' => "!",
            '✖' => "X",
            '◌' => "?",
            '↑' => "^",
            '↓' => "v",
            'µ' => "u",
            '€' => "E",
            '£' => "L",
            _ => "?",
        };
        cell.set_symbol(ascii);
    }
}

/// A bordered block in the theme's border set, with a title.
pub(crate) fn block<'a>(theme: &Theme, title: &'a str, border: Option<Style>) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_set(theme.glyphs.border)
        .border_style(border.unwrap_or_else(|| theme.border()))
        .title(Span::styled(title, theme.title()))
}

fn too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
    let msg = format!(
        "vigil needs a terminal of at least {MIN_WIDTH}x{MIN_HEIGHT}; this one is {}x{}. Enlarge it, or press q to quit.",
        area.width, area.height
    );
    frame.render_widget(Paragraph::new(msg).style(theme.warn()).wrap(Wrap { trim: true }), area);
}

/// Every key the help lists, with what it does.
pub const HELP: [(&str, &str); 22] = [
    ("q, Ctrl-C", "quit"),
    ("?", "show or hide this help"),
    ("Tab, 1-9", "next page, or page by number (Shift-Tab: back)"),
    ("S", "sources page: every gateway's link (also s, except on Alerts)"),
    ("[  ]", "previous / next service (pages with a choice)"),
    ("p", "pause: freeze the picture, data keeps arriving"),
    ("Left/Right", "scroll back / forward through history"),
    ("+  -", "wider / narrower window (5m 15m 1h 6h 24h)"),
    ("End", "back to live"),
    ("Up/Down", "scroll tables and lists; on Alerts, select an alert"),
    ("Enter", "on Alerts: show or hide the selected alert's detail"),
    ("a", "acknowledge the selected alert (again: take it back)"),
    ("s", "silence the selected alert's labels: 15m 1h 4h 1d ..."),
    (":unsilence", "end the silences of the selected alert"),
    ("m  M", "select an older / newer deploy marker: its text shows"),
    ("E", "export the incident on screen as Markdown (:export PATH)"),
    (":", "command: page, theme, window, service, reload, ..."),
    ("/", "filter lines, rows, alerts by name or label"),
    ("r", "reconnect now (skip the wait)"),
    ("Esc", "close help; drop selection, marker, filter; live"),
    ("unlock", "typed on a locked wall display (--kiosk): keys work again"),
    ("", "States: ok, warning, critical, stale"),
];

/// Widest the help box grows: wider, the eye loses the line.
const HELP_WIDTH: u16 = 80;
/// Key column's width, with its margins.
const KEY_COLUMN: usize = 13;

/// The help's lines at `inner` columns: each key with its meaning wrapped
/// under itself, so nothing is cut at any width.
pub fn help_lines(theme: &Theme, inner: usize) -> Vec<Line<'static>> {
    let room = inner.saturating_sub(KEY_COLUMN).max(10);
    let mut lines = Vec::new();
    for (key, what) in &HELP[..HELP.len() - 1] {
        for (i, part) in wrap_words(what, room).into_iter().enumerate() {
            let key = if i == 0 { *key } else { "" };
            lines.push(Line::from(format!(" {key:<11} {part}")));
        }
    }
    let g = &theme.glyphs;
    lines.push(Line::from(vec![
        Span::raw(" States:     "),
        Span::styled(format!("{} ok  ", g.ok), theme.ok()),
        Span::styled(format!("{} warning  ", g.warn), theme.warn()),
        Span::styled(format!("{} critical  ", g.crit), theme.crit()),
        Span::styled(format!("{} stale", g.stale), theme.stale()),
    ]));
    lines
}

/// How many lines the help takes at `inner` columns.
pub fn help_len(inner: usize) -> usize {
    let room = inner.saturating_sub(KEY_COLUMN).max(10);
    HELP[..HELP.len() - 1].iter().map(|(_, what)| wrap_words(what, room).len()).sum::<usize>() + 1
}

/// How wide the help's text is on a screen `width` columns wide.
pub fn help_inner_width(width: u16) -> usize {
    HELP_WIDTH.min(width.saturating_sub(4)).saturating_sub(2) as usize
}

/// `text` broken at spaces into lines of at most `width` characters (a
/// word longer than that is cut).
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push(line);
    out.into_iter().map(|l| crate::core::format::fit(&l, width)).collect()
}

/// The help box, scrolled down `scroll` lines when it is taller than the
/// screen; its bottom edge says where it stands and how to see the rest.
fn help(frame: &mut Frame, area: Rect, theme: &Theme, scroll: u16) {
    let w = HELP_WIDTH.min(area.width.saturating_sub(4));
    let lines = help_lines(theme, help_inner_width(area.width));
    let total = lines.len() as u16;
    let h = (total + 2).min(area.height.saturating_sub(2));
    let shown = h.saturating_sub(2);
    let top = scroll.min(total.saturating_sub(shown));
    let popup = Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h };
    let mut block = block(theme, " keys ", Some(theme.accent()));
    if shown < total {
        let (up, down) = (top > 0, top + shown < total);
        let hint = match (up, down) {
            (false, _) => "Down: more",
            (true, true) => "Up/Down: more",
            (true, false) => "Up: back",
        };
        let at = format!(" {}-{} of {total} · {hint} ", top + 1, top + shown);
        block = block.title_bottom(Line::from(Span::styled(at, theme.accent())).right_aligned());
    }
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).style(theme.text()).block(block).scroll((top, 0)), popup);
}
