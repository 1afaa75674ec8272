//! The `:` command line: what a typed line means, and the one-line editor
//! that both the `:` and `/` prompts use. Pure, so both are tested without a
//! terminal.
//!
//! Commands, with their short forms:
//!
//! | command                  | short   | meaning                                       |
//! |--------------------------|---------|-----------------------------------------------|
//! | `page NAME` or `page N`  | `p`     | show a page, by name or by 1-based number     |
//! | `theme NAME`             |         | switch the colour theme                       |
//! | `window DURATION`        | `w`     | chart window, 1m to 7d (`window 1h`)          |
//! | `at DURATION`            | `goto`  | look back in time (`at -15m`, `at 15m`)       |
//! | `live`                   |         | follow the newest data again                  |
//! | `pause`                  |         | freeze the picture                            |
//! | `service NAME`           | `svc`   | focus one service                             |
//! | `filter TEXT`            | `f`     | filter series and alerts (as with `/`)        |
//! | `nofilter`               |         | drop the filter                               |
//! | `kiosk on` / `kiosk off` |         | wall-display mode                             |
//! | `reload`                 |         | re-read the config and dashboard files        |
//! | `ack`                    |         | acknowledge the selected alert (or undo it)   |
//! | `silence DURATION`       |         | silence the selected alert's labels, 1m to 30d|
//! | `unsilence`              |         | end the silences covering the selected alert  |
//! | `export [PATH]`          |         | write the incident report (as `E` does)       |
//! | `help`                   | `h`,`?` | the help overlay                              |
//! | `quit`                   | `q`     | leave                                         |

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::collections::VecDeque;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A page name or its 1-based number, as typed; the caller knows the pages.
    Page(String),
    Theme(String),
    /// Chart window in milliseconds, already within 1m..=7d.
    Window(i64),
    /// Look this many milliseconds back from now (always positive).
    Jump(i64),
    Reload,
    Quit,
    Live,
    Pause,
    Service(String),
    Filter(String),
    ClearFilter,
    Kiosk(bool),
    Help,
    Ack,
    /// Silence the selected alert for this many milliseconds, 1m..=30d.
    Silence(i64),
    Unsilence,
    /// Write the incident report, to this path when one is given.
    Export(Option<String>),
}

/// Every command with its usage, for the help overlay and for error hints.
pub const COMMANDS: &[(&str, &str)] = &[
    ("page", "page NAME|N"),
    ("theme", "theme NAME"),
    ("window", "window 1m..7d"),
    ("at", "at -15m"),
    ("live", "live"),
    ("pause", "pause"),
    ("service", "service NAME"),
    ("filter", "filter TEXT"),
    ("nofilter", "nofilter"),
    ("kiosk", "kiosk on|off"),
    ("reload", "reload"),
    ("ack", "ack"),
    ("silence", "silence 15m|1h|4h|1d"),
    ("unsilence", "unsilence"),
    ("export", "export [PATH]"),
    ("help", "help"),
    ("quit", "quit"),
];

const ALIASES: &[(&str, &str)] = &[
    ("p", "page"),
    ("w", "window"),
    ("goto", "at"),
    ("svc", "service"),
    ("f", "filter"),
    ("h", "help"),
    ("?", "help"),
    ("q", "quit"),
];

const MIN_WINDOW: Duration = Duration::from_secs(60);
const MAX_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// Parses one command line; a leading `:` is allowed. Errors are one line
/// that say what was expected.
pub fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim();
    let line = line.strip_prefix(':').unwrap_or(line).trim_start();
    if line.is_empty() {
        return Err(format!("empty command (try: {})", names()));
    }
    let (word, rest) = match line.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (line, ""),
    };
    let lower = word.to_lowercase();
    let name = ALIASES.iter().find(|(a, _)| *a == lower).map_or(lower.as_str(), |(_, n)| n);
    let none = |cmd: Command| if rest.is_empty() { Ok(cmd) } else { Err(format!("{name} takes no argument")) };
    match name {
        "page" => one_word(name, rest, "a page name or number").map(Command::Page),
        "theme" => one_word(name, rest, "a theme name").map(Command::Theme),
        "service" => one_word(name, rest, "a service name").map(Command::Service),
        "window" => window(rest).map(Command::Window),
        "at" => jump(rest).map(Command::Jump),
        // A bare `filter` is the same as clearing it, as an empty `/` is.
        "filter" if rest.is_empty() => Ok(Command::ClearFilter),
        "filter" => Ok(Command::Filter(rest.to_string())),
        "nofilter" => none(Command::ClearFilter),
        "kiosk" => match rest.to_lowercase().as_str() {
            "on" | "true" | "yes" | "1" => Ok(Command::Kiosk(true)),
            "off" | "false" | "no" | "0" => Ok(Command::Kiosk(false)),
            _ => Err(format!("kiosk needs on or off, not {rest:?}")),
        },
        "ack" => none(Command::Ack),
        "silence" => silence(rest).map(Command::Silence),
        "unsilence" => none(Command::Unsilence),
        "export" => Ok(Command::Export((!rest.is_empty()).then(|| rest.to_string()))),
        "live" => none(Command::Live),
        "pause" => none(Command::Pause),
        "reload" => none(Command::Reload),
        "help" => none(Command::Help),
        "quit" => none(Command::Quit),
        _ => Err(match suggest(&lower) {
            Some(s) => format!("unknown command {word:?}: did you mean {s:?}?"),
            None => format!("unknown command {word:?} (try: {})", names()),
        }),
    }
}

fn names() -> String {
    COMMANDS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

fn one_word(name: &str, rest: &str, what: &str) -> Result<String, String> {
    match rest.split_whitespace().count() {
        0 => Err(format!("{name} needs {what}")),
        1 => Ok(rest.to_string()),
        _ => Err(format!("{name} takes one word, {what}, not {rest:?}")),
    }
}

fn duration_ms(name: &str, text: &str, example: &str) -> Result<i64, String> {
    if text.is_empty() {
        return Err(format!("{name} needs a duration, e.g. \"{example}\""));
    }
    let d = humantime::parse_duration(text)
        .map_err(|_| format!("{text:?} is not a duration; try e.g. \"{name} {}\"", example.trim_start_matches('-')))?;
    if !(MIN_WINDOW..=MAX_WINDOW).contains(&d) {
        return Err(format!("{name} must be from 1m to 7d, not {text:?}"));
    }
    Ok(d.as_millis() as i64)
}

fn window(rest: &str) -> Result<i64, String> {
    duration_ms("window", rest, "1h")
}

/// The lengths offered when silencing; any other can be typed.
pub const SILENCE_CHOICES: [&str; 4] = ["15m", "1h", "4h", "1d"];

/// What the line being typed still needs, shown after it in dim text.
pub fn hint(line: &str) -> Option<String> {
    let rest = line.trim_start().strip_prefix("silence")?;
    (rest.is_empty() || rest.starts_with(' '))
        .then(|| format!("for how long? {}, or up to 30d · Enter silences · Esc cancels", SILENCE_CHOICES.join(" ")))
}

fn silence(rest: &str) -> Result<i64, String> {
    if rest.is_empty() {
        return Err(format!("silence needs a duration: {}, or up to 30d", SILENCE_CHOICES.join(", ")));
    }
    let d =
        humantime::parse_duration(rest).map_err(|_| format!("{rest:?} is not a duration; try e.g. \"silence 1h\""))?;
    let ms = d.as_millis().min(i64::MAX as u128) as i64;
    if !(60_000..=crate::core::alert::intent::MAX_SILENCE_MS).contains(&ms) {
        return Err(format!("silence must be from 1m to 30d, not {rest:?}"));
    }
    Ok(ms)
}

/// `at -15m` and `at 15m` both mean a quarter of an hour ago: the future
/// holds no data, so the sign only says which way the user thinks.
fn jump(rest: &str) -> Result<i64, String> {
    let back = rest.strip_prefix('-').unwrap_or(rest).trim_start();
    let back = back.strip_suffix("ago").unwrap_or(back).trim_end();
    duration_ms("at", back, "-15m")
}

/// The closest command or alias within two edits, if the typo is not most of
/// the word (a one-letter typo of nothing suggests nothing).
fn suggest(word: &str) -> Option<&'static str> {
    let limit = 2.min(word.chars().count().saturating_sub(1));
    COMMANDS
        .iter()
        .map(|(n, _)| *n)
        .chain(ALIASES.iter().map(|(a, _)| *a).filter(|a| a.len() > 1))
        .map(|n| (edit_distance(word, n), n))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Optimal-string-alignment distance: a swap of two neighbours counts as one
/// edit, since that is the commonest typo (`pgae`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * w + j] + 1).min(d[i * w + j - 1] + 1).min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = best;
        }
    }
    d[a.len() * w + b.len()]
}

/// What a key did to the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    Continue,
    /// Enter: the line as typed, possibly empty (an empty `/` clears the filter).
    Submit(String),
    Cancel,
}

const HISTORY: usize = 50;

/// A one-line editor with history, for the `:` and `/` prompts. Each prompt
/// keeps its own editor so their histories stay apart.
#[derive(Debug, Clone, Default)]
pub struct LineEditor {
    text: String,
    /// In chars, 0..=len.
    cursor: usize,
    history: VecDeque<String>,
    /// Which history entry is shown while browsing, and the line that was
    /// being typed before browsing began, to come back to.
    browsing: Option<(usize, String)>,
}

impl LineEditor {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Cursor position in chars.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Starts the line with `text`, cursor at its end; e.g. `/` opens on the
    /// filter in force so it can be refined.
    pub fn set_text(&mut self, text: &str) {
        self.text = text.to_string();
        self.cursor = self.len();
        self.browsing = None;
    }

    pub fn clear(&mut self) {
        self.set_text("");
    }

    /// Past submissions, oldest first.
    pub fn history(&self) -> impl Iterator<Item = &str> {
        self.history.iter().map(String::as_str)
    }

    /// Keys are as in a shell: Ctrl-A/E home and end, Ctrl-U kills to the
    /// start, Ctrl-K to the end, Ctrl-W the word before the cursor; Up and
    /// Down walk the history. Esc and Ctrl-C cancel, as does Backspace on an
    /// empty line (as in vim), so a stray `:` is undone with the key that
    /// undoes typing.
    pub fn handle(&mut self, key: KeyEvent) -> Edit {
        if key.kind == KeyEventKind::Release {
            return Edit::Continue;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Enter => return self.submit(),
            KeyCode::Esc => return self.cancel(),
            KeyCode::Char('c') if ctrl && !alt => return self.cancel(),
            KeyCode::Backspace if self.text.is_empty() => return self.cancel(),
            KeyCode::Char(c) if ctrl && !alt => match c {
                'a' => self.cursor = 0,
                'e' => self.cursor = self.len(),
                'u' => self.remove(0, self.cursor),
                'k' => self.remove(self.cursor, self.len()),
                'w' => self.remove(self.word_start(), self.cursor),
                'h' => self.remove(self.cursor.saturating_sub(1), self.cursor),
                _ => {}
            },
            // Alt alone is a meta chord, not text; Ctrl+Alt together is how
            // some terminals report AltGr, which does type characters.
            KeyCode::Char(_) if alt && !ctrl => {}
            KeyCode::Char(c) => {
                let at = self.byte(self.cursor);
                self.text.insert(at, c);
                self.cursor += 1;
                self.browsing = None;
            }
            KeyCode::Backspace => self.remove(self.cursor.saturating_sub(1), self.cursor),
            KeyCode::Delete => self.remove(self.cursor, (self.cursor + 1).min(self.len())),
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.len()),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.len(),
            KeyCode::Up => self.older(),
            KeyCode::Down => self.newer(),
            _ => {}
        }
        Edit::Continue
    }

    fn submit(&mut self) -> Edit {
        let line = std::mem::take(&mut self.text);
        if !line.trim().is_empty() && self.history.back() != Some(&line) {
            if self.history.len() == HISTORY {
                self.history.pop_front();
            }
            self.history.push_back(line.clone());
        }
        self.clear();
        Edit::Submit(line)
    }

    fn cancel(&mut self) -> Edit {
        self.clear();
        Edit::Cancel
    }

    fn older(&mut self) {
        let at = match &self.browsing {
            Some((0, _)) => return,
            Some((i, _)) => i - 1,
            None if self.history.is_empty() => return,
            None => {
                self.browsing = Some((0, std::mem::take(&mut self.text)));
                self.history.len() - 1
            }
        };
        self.show(at);
    }

    fn newer(&mut self) {
        let Some((i, _)) = &self.browsing else { return };
        if i + 1 < self.history.len() {
            self.show(i + 1);
        } else if let Some((_, draft)) = self.browsing.take() {
            self.text = draft;
            self.cursor = self.len();
        }
    }

    fn show(&mut self, at: usize) {
        if let Some((i, _)) = &mut self.browsing {
            *i = at;
        }
        self.text = self.history[at].clone();
        self.cursor = self.len();
    }

    fn len(&self) -> usize {
        self.text.chars().count()
    }

    fn byte(&self, chars: usize) -> usize {
        self.text.char_indices().nth(chars).map_or(self.text.len(), |(b, _)| b)
    }

    /// Removes chars `from..to`, leaving the cursor at `from`.
    fn remove(&mut self, from: usize, to: usize) {
        if from < to {
            let (a, b) = (self.byte(from), self.byte(to));
            self.text.replace_range(a..b, "");
            self.browsing = None;
        }
        self.cursor = from.min(self.cursor);
    }

    /// Where Ctrl-W stops: back over spaces, then over the word before them.
    fn word_start(&self) -> usize {
        let chars: Vec<char> = self.text.chars().take(self.cursor).collect();
        let mut i = chars.len();
        while i > 0 && chars[i - 1].is_whitespace() {
            i -= 1;
        }
        while i > 0 && !chars[i - 1].is_whitespace() {
            i -= 1;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_their_short_forms_parse() {
        assert_eq!(parse("page services"), Ok(Command::Page("services".into())));
        assert_eq!(parse(":p 2"), Ok(Command::Page("2".into())));
        assert_eq!(parse("  theme   light "), Ok(Command::Theme("light".into())));
        assert_eq!(parse("window 1h"), Ok(Command::Window(3_600_000)));
        assert_eq!(parse("w 90s"), Ok(Command::Window(90_000)));
        assert_eq!(parse("reload"), Ok(Command::Reload));
        assert_eq!(parse("q"), Ok(Command::Quit));
        assert_eq!(parse("QUIT"), Ok(Command::Quit));
        assert_eq!(parse("live"), Ok(Command::Live));
        assert_eq!(parse("pause"), Ok(Command::Pause));
        assert_eq!(parse("service checkout"), Ok(Command::Service("checkout".into())));
        assert_eq!(parse("svc checkout"), Ok(Command::Service("checkout".into())));
        assert_eq!(parse("filter env=prod  5xx"), Ok(Command::Filter("env=prod  5xx".into())));
        assert_eq!(parse("filter"), Ok(Command::ClearFilter));
        assert_eq!(parse("nofilter"), Ok(Command::ClearFilter));
        assert_eq!(parse("kiosk on"), Ok(Command::Kiosk(true)));
        assert_eq!(parse("kiosk OFF"), Ok(Command::Kiosk(false)));
        assert_eq!(parse("help"), Ok(Command::Help));
        assert_eq!(parse("?"), Ok(Command::Help));
    }

    #[test]
    fn looking_back_takes_either_sign() {
        assert_eq!(parse("at -15m"), Ok(Command::Jump(900_000)));
        assert_eq!(parse("at 15m"), Ok(Command::Jump(900_000)));
        assert_eq!(parse("goto 2h ago"), Ok(Command::Jump(7_200_000)));
        assert!(parse("at").unwrap_err().contains("needs a duration"));
    }

    #[test]
    fn windows_outside_a_minute_to_a_week_are_refused() {
        assert!(parse("window 7d").is_ok());
        assert_eq!(parse("window 30s"), Err("window must be from 1m to 7d, not \"30s\"".into()));
        assert!(parse("window 8d").is_err());
        let err = parse("window soon").unwrap_err();
        assert!(err.contains("\"soon\" is not a duration") && err.contains("window 1h"), "{err}");
        assert!(parse("window").unwrap_err().contains("needs a duration"));
    }

    #[test]
    fn silences_take_a_minute_to_thirty_days() {
        assert_eq!(parse("silence 1h"), Ok(Command::Silence(3_600_000)));
        assert_eq!(parse(":silence 1d"), Ok(Command::Silence(86_400_000)));
        assert_eq!(parse("silence 2h 30m"), Ok(Command::Silence(9_000_000)));
        assert_eq!(parse("silence 30s"), Err("silence must be from 1m to 30d, not \"30s\"".into()));
        assert!(parse("silence 31d").is_err());
        assert!(parse("silence").unwrap_err().contains("15m, 1h, 4h, 1d"));
        assert!(parse("silence later").unwrap_err().contains("not a duration"));
        assert_eq!(parse("unsilence"), Ok(Command::Unsilence));
        assert_eq!(parse("ack"), Ok(Command::Ack));
        assert_eq!(parse("ack it"), Err("ack takes no argument".into()));
        assert_eq!(parse("export"), Ok(Command::Export(None)));
        assert_eq!(parse(":export  pm/db outage.md "), Ok(Command::Export(Some("pm/db outage.md".into()))));
        // The hint shows while a silence is being typed, and only then.
        assert!(hint("silence ").unwrap().contains("15m 1h 4h 1d"));
        assert!(hint("silence 2").is_some());
        assert_eq!(hint("silenced"), None);
        assert_eq!(hint("page 2"), None);
    }

    #[test]
    fn arguments_are_checked() {
        assert_eq!(parse("page"), Err("page needs a page name or number".into()));
        assert!(parse("theme a b").unwrap_err().contains("one word"));
        assert_eq!(parse("reload now"), Err("reload takes no argument".into()));
        assert_eq!(parse("kiosk maybe"), Err("kiosk needs on or off, not \"maybe\"".into()));
    }

    #[test]
    fn typos_get_a_suggestion_and_nonsense_gets_the_list() {
        assert_eq!(parse("pgae 2"), Err("unknown command \"pgae\": did you mean \"page\"?".into()));
        assert!(parse("relaod").unwrap_err().contains("did you mean \"reload\""));
        assert!(parse("servce x").unwrap_err().contains("did you mean \"service\""));
        let err = parse("xyzzy").unwrap_err();
        assert!(err.starts_with("unknown command \"xyzzy\" (try: page, theme, window"), "{err}");
        // One letter is too little to guess from.
        assert!(parse("x").unwrap_err().contains("(try:"));
        assert!(parse("").unwrap_err().starts_with("empty command"));
        for input in ["pgae", "x", "", "window 1s", "kiosk"] {
            assert!(!parse(input).unwrap_err().contains('\n'));
        }
    }

    #[test]
    fn swaps_count_as_one_edit() {
        assert_eq!(edit_distance("pgae", "page"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("live", "live"), 0);
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn typed(e: &mut LineEditor, s: &str) {
        for c in s.chars() {
            assert_eq!(e.handle(key(KeyCode::Char(c))), Edit::Continue);
        }
    }

    #[test]
    fn typing_and_moving_edit_at_the_cursor() {
        let mut e = LineEditor::new();
        typed(&mut e, "héllo");
        assert_eq!((e.text(), e.cursor()), ("héllo", 5));
        e.handle(key(KeyCode::Left));
        e.handle(key(KeyCode::Left));
        e.handle(key(KeyCode::Backspace));
        assert_eq!((e.text(), e.cursor()), ("hélo", 2));
        e.handle(key(KeyCode::Delete));
        assert_eq!((e.text(), e.cursor()), ("héo", 2));
        typed(&mut e, "X");
        assert_eq!((e.text(), e.cursor()), ("héXo", 3));
        e.handle(key(KeyCode::Home));
        assert_eq!(e.cursor(), 0);
        e.handle(key(KeyCode::Left));
        assert_eq!(e.cursor(), 0);
        e.handle(key(KeyCode::End));
        e.handle(key(KeyCode::Right));
        e.handle(key(KeyCode::Delete));
        assert_eq!((e.text(), e.cursor()), ("héXo", 4));
        e.handle(ctrl('a'));
        assert_eq!(e.cursor(), 0);
        e.handle(ctrl('e'));
        assert_eq!(e.cursor(), 4);
        typed(&mut e, "Ü");
        assert_eq!(e.text(), "héXoÜ");
    }

    #[test]
    fn control_keys_kill_text() {
        let mut e = LineEditor::new();
        typed(&mut e, "filter env=prod  api");
        e.handle(ctrl('w'));
        assert_eq!(e.text(), "filter env=prod  ");
        e.handle(ctrl('w'));
        assert_eq!(e.text(), "filter ");
        e.handle(key(KeyCode::Left));
        e.handle(key(KeyCode::Left));
        e.handle(ctrl('k'));
        assert_eq!((e.text(), e.cursor()), ("filte", 5));
        e.handle(key(KeyCode::Left));
        e.handle(ctrl('u'));
        assert_eq!((e.text(), e.cursor()), ("e", 0));
    }

    #[test]
    fn enter_submits_and_escape_cancels() {
        let mut e = LineEditor::new();
        typed(&mut e, "live");
        assert_eq!(e.handle(key(KeyCode::Enter)), Edit::Submit("live".into()));
        assert_eq!((e.text(), e.cursor()), ("", 0));
        typed(&mut e, "pa");
        assert_eq!(e.handle(key(KeyCode::Esc)), Edit::Cancel);
        assert_eq!(e.text(), "");
        typed(&mut e, "x");
        assert_eq!(e.handle(ctrl('c')), Edit::Cancel);
        assert_eq!(e.handle(key(KeyCode::Enter)), Edit::Submit(String::new()));
        typed(&mut e, "a");
        assert_eq!(e.handle(key(KeyCode::Backspace)), Edit::Continue);
        assert_eq!(e.handle(key(KeyCode::Backspace)), Edit::Cancel);
    }

    #[test]
    fn releases_and_meta_chords_do_nothing() {
        let mut e = LineEditor::new();
        let mut release = key(KeyCode::Char('a'));
        release.kind = KeyEventKind::Release;
        assert_eq!(e.handle(release), Edit::Continue);
        let mut enter = key(KeyCode::Enter);
        enter.kind = KeyEventKind::Release;
        assert_eq!(e.handle(enter), Edit::Continue);
        e.handle(KeyEvent::new(KeyCode::Char('b'), KeyModifiers::ALT));
        assert_eq!(e.text(), "");
        e.handle(KeyEvent::new(KeyCode::Char('@'), KeyModifiers::CONTROL | KeyModifiers::ALT));
        e.handle(KeyEvent::new(KeyCode::Char('A'), KeyModifiers::SHIFT));
        assert_eq!(e.text(), "@A");
    }

    #[test]
    fn history_walks_back_and_returns_to_the_draft() {
        let mut e = LineEditor::new();
        for line in ["page 1", "live", "live", "", "pause"] {
            typed(&mut e, line);
            e.handle(key(KeyCode::Enter));
        }
        // No repeats in a row, no blank lines.
        assert_eq!(e.history().collect::<Vec<_>>(), ["page 1", "live", "pause"]);
        typed(&mut e, "dra");
        e.handle(key(KeyCode::Down));
        assert_eq!(e.text(), "dra");
        e.handle(key(KeyCode::Up));
        assert_eq!((e.text(), e.cursor()), ("pause", 5));
        e.handle(key(KeyCode::Up));
        e.handle(key(KeyCode::Up));
        e.handle(key(KeyCode::Up));
        assert_eq!(e.text(), "page 1");
        e.handle(key(KeyCode::Down));
        assert_eq!(e.text(), "live");
        e.handle(key(KeyCode::Down));
        e.handle(key(KeyCode::Down));
        assert_eq!(e.text(), "dra");
        // Editing a recalled line leaves the history as it was.
        e.handle(key(KeyCode::Up));
        typed(&mut e, "!");
        assert_eq!(e.handle(key(KeyCode::Enter)), Edit::Submit("pause!".into()));
        assert_eq!(e.history().collect::<Vec<_>>(), ["page 1", "live", "pause", "pause!"]);
    }

    #[test]
    fn history_keeps_the_last_fifty() {
        let mut e = LineEditor::new();
        for i in 0..60 {
            typed(&mut e, &format!("page {i}"));
            e.handle(key(KeyCode::Enter));
        }
        let h: Vec<_> = e.history().collect();
        assert_eq!(h.len(), 50);
        assert_eq!((h[0], h[49]), ("page 10", "page 59"));
    }
}
