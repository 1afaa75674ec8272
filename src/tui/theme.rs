//! Themes are plain data (TOML in `themes/`), parsed into their own colour
//! type and converted to terminal styles once, at the edge.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::{Marker, border};
use serde::Deserialize;

const BUILT_IN: [(&str, &str); 4] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
];

/// A colour as written in a theme file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThemeColor(pub Color);

impl<'de> Deserialize<'de> for ThemeColor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_color(&s).map(ThemeColor).ok_or_else(|| serde::de::Error::custom(format!("unknown colour {s:?}")))
    }
}

fn parse_color(s: &str) -> Option<Color> {
    let s = s.trim().to_ascii_lowercase();
    if s == "reset" || s == "default" {
        return Some(Color::Reset);
    }
    if let Ok(i) = s.parse::<u8>() {
        return Some(Color::Indexed(i));
    }
    s.parse::<Color>().ok()
}

/// Every colour the view uses, by role.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Theme {
    pub name: String,
    /// Every role but the faded ones drawn bold.
    pub bold: bool,
    /// Fill for the whole screen; `reset` keeps the terminal's own.
    pub background: ThemeColor,
    pub text: ThemeColor,
    pub dim: ThemeColor,
    pub accent: ThemeColor,
    pub border: ThemeColor,
    pub title: ThemeColor,
    pub ok: ThemeColor,
    pub warn: ThemeColor,
    pub crit: ThemeColor,
    pub stale: ThemeColor,
    pub header_fg: ThemeColor,
    pub header_bg: ThemeColor,
    pub demo_bg: ThemeColor,
    pub alarm_fg: ThemeColor,
    pub alarm_bg: ThemeColor,
    /// Colours for chart series, in order.
    pub chart: Vec<ThemeColor>,
    /// Symbols, chosen by what the terminal can show rather than by the file.
    #[serde(skip)]
    pub glyphs: Glyphs,
    /// What the terminal can show, for colours that come from elsewhere
    /// (a dashboard's own panel colours).
    #[serde(skip, default = "true_color")]
    pub depth: ColorDepth,
}

fn true_color() -> ColorDepth {
    ColorDepth::TrueColor
}

impl Theme {
    /// A built-in theme by name.
    pub fn built_in(name: &str) -> Option<Theme> {
        let (_, text) = BUILT_IN.iter().find(|(n, _)| *n == name)?;
        toml::from_str(text).ok()
    }

    pub fn names() -> Vec<&'static str> {
        BUILT_IN.iter().map(|(n, _)| *n).collect()
    }

    /// The theme to use: `NO_COLOR` wins, then the named theme, then dark.
    pub fn pick(name: Option<&str>, no_color: bool) -> Result<Theme, String> {
        let wanted = if no_color { "mono" } else { name.unwrap_or("dark") };
        Theme::built_in(wanted)
            .ok_or_else(|| format!("unknown theme {wanted:?} (built in: {})", Theme::names().join(", ")))
    }

    pub fn is_mono(&self) -> bool {
        self.ok.0 == Color::Reset && self.crit.0 == Color::Reset
    }

    /// Adds weight for themes drawn bold throughout.
    fn weight(&self, s: Style) -> Style {
        if self.bold { s.add_modifier(Modifier::BOLD) } else { s }
    }

    pub fn text(&self) -> Style {
        self.weight(Style::new().fg(self.text.0))
    }
    pub fn dim(&self) -> Style {
        let s = Style::new().fg(self.dim.0);
        if self.is_mono() { s.add_modifier(Modifier::DIM) } else { s }
    }
    pub fn stale(&self) -> Style {
        Style::new().fg(self.stale.0).add_modifier(Modifier::DIM)
    }
    pub fn accent(&self) -> Style {
        self.weight(Style::new().fg(self.accent.0))
    }
    pub fn border(&self) -> Style {
        self.weight(Style::new().fg(self.border.0))
    }
    pub fn title(&self) -> Style {
        Style::new().fg(self.title.0).add_modifier(Modifier::BOLD)
    }
    pub fn ok(&self) -> Style {
        self.weight(Style::new().fg(self.ok.0))
    }
    pub fn warn(&self) -> Style {
        Style::new().fg(self.warn.0).add_modifier(Modifier::BOLD)
    }
    pub fn crit(&self) -> Style {
        Style::new().fg(self.crit.0).add_modifier(Modifier::BOLD)
    }
    pub fn header(&self) -> Style {
        let s = self.weight(Style::new().fg(self.header_fg.0).bg(self.header_bg.0));
        if self.is_mono() { s.add_modifier(Modifier::REVERSED) } else { s }
    }
    pub fn demo(&self) -> Style {
        let s = Style::new().fg(self.header_fg.0).bg(self.demo_bg.0).add_modifier(Modifier::BOLD);
        if self.is_mono() { s.add_modifier(Modifier::REVERSED) } else { s }
    }

    /// The loudest style: a critical line drawn as a solid band, for rows
    /// that must be seen from across the room. Text on it uses `alarm_fg`.
    pub fn alarm(&self) -> Style {
        let s = Style::new().fg(self.alarm_fg.0).bg(self.alarm_bg.0).add_modifier(Modifier::BOLD);
        if self.is_mono() { s.add_modifier(Modifier::REVERSED) } else { s }
    }

    /// The fill for the whole frame, to be set on the outermost block so
    /// that themes with a background of their own have no gaps.
    pub fn base(&self) -> Style {
        Style::new().fg(self.text.0).bg(self.background.0)
    }

    /// The colour of chart series `i`, cycling through the palette.
    pub fn series_color(&self, i: usize) -> Color {
        if self.chart.is_empty() { Color::Reset } else { self.chart[i % self.chart.len()].0 }
    }

    pub fn series(&self, i: usize) -> Style {
        Style::new().fg(self.series_color(i))
    }

    /// Every colour mapped down to what a terminal of `depth` can show.
    pub fn degrade(mut self, depth: ColorDepth) -> Theme {
        self.depth = depth;
        match depth {
            ColorDepth::TrueColor => self,
            ColorDepth::Ansi256 => self.map_colors(to_ansi256),
            ColorDepth::Ansi16 => self.map_colors(to_ansi16),
            // With every colour reset, `is_mono` holds and the styles fall
            // back to weight, dimming and reverse video, as the mono theme does.
            ColorDepth::Mono => self.map_colors(|_| Color::Reset),
        }
    }

    fn map_colors(mut self, f: impl Fn(Color) -> Color) -> Theme {
        for c in [
            &mut self.background,
            &mut self.text,
            &mut self.dim,
            &mut self.accent,
            &mut self.border,
            &mut self.title,
            &mut self.ok,
            &mut self.warn,
            &mut self.crit,
            &mut self.stale,
            &mut self.header_fg,
            &mut self.header_bg,
            &mut self.demo_bg,
            &mut self.alarm_fg,
            &mut self.alarm_bg,
        ]
        .into_iter()
        .chain(self.chart.iter_mut())
        {
            c.0 = f(c.0);
        }
        self
    }

    /// A colour named outside the theme (a dashboard's), fitted to the
    /// terminal; monochrome themes keep none.
    pub fn custom(&self, c: Color) -> Color {
        if self.is_mono() {
            return Color::Reset;
        }
        match self.depth {
            ColorDepth::TrueColor => c,
            ColorDepth::Ansi256 => to_ansi256(c),
            ColorDepth::Ansi16 => to_ansi16(c),
            ColorDepth::Mono => Color::Reset,
        }
    }

    /// The same theme drawn with ASCII symbols only, or with Unicode ones.
    pub fn with_ascii(mut self, ascii: bool) -> Theme {
        self.glyphs = if ascii { Glyphs::ASCII } else { Glyphs::UNICODE };
        self
    }

    /// The theme for this terminal, from the environment alone: `NO_COLOR`
    /// wins, then the named theme (dark by default), mapped down to the
    /// colours the terminal advertises, with ASCII symbols when asked for or
    /// when the terminal cannot be trusted with Unicode.
    ///
    /// `env` reads an environment variable; pass `|k| std::env::var(k).ok()`.
    /// Nothing here queries the terminal itself: over SSH each query is a
    /// round trip, and some terminals never answer.
    pub fn resolve(
        name: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
        ascii_flag: bool,
    ) -> Result<Theme, String> {
        let depth = ColorDepth::from_env(&env);
        let theme = Theme::pick(name, set(&env, "NO_COLOR").is_some())?;
        // The Linux console's fonts lack braille and most symbols, even
        // under a UTF-8 locale.
        let ascii = ascii_flag || !locale_is_utf8(&env) || set(&env, "TERM").is_some_and(|t| t == "linux");
        Ok(theme.degrade(depth).with_ascii(ascii))
    }
}

/// An environment variable that is set to something.
fn set(env: impl Fn(&str) -> Option<String>, key: &str) -> Option<String> {
    env(key).filter(|v| !v.is_empty())
}

/// How many colours the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorDepth {
    Mono,
    Ansi16,
    Ansi256,
    TrueColor,
}

impl ColorDepth {
    /// The depth the environment advertises. `env` reads a variable; the
    /// terminal itself is never asked (see `Theme::resolve`).
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> ColorDepth {
        if set(&env, "NO_COLOR").is_some() {
            return ColorDepth::Mono;
        }
        let term = set(&env, "TERM").unwrap_or_default().to_ascii_lowercase();
        // A dumb terminal prints escape codes as text, whatever COLORTERM says.
        if term == "dumb" {
            return ColorDepth::Mono;
        }
        let colorterm = set(&env, "COLORTERM").unwrap_or_default().to_ascii_lowercase();
        if colorterm == "truecolor" || colorterm == "24bit" || term.ends_with("-direct") {
            ColorDepth::TrueColor
        } else if term.contains("256color") {
            ColorDepth::Ansi256
        } else {
            ColorDepth::Ansi16
        }
    }
}

/// True when the locale says the terminal takes UTF-8: the first of
/// `LC_ALL`, `LC_CTYPE` and `LANG` that is set decides, as in libc. When none
/// is set we assume UTF-8: many containers and minimal images leave all three
/// unset while the terminal on the other end of the connection is UTF-8, and
/// ASCII there would be a needless downgrade. `env` reads a variable.
pub fn locale_is_utf8(env: impl Fn(&str) -> Option<String>) -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"].iter().find_map(|k| set(&env, k)).is_none_or(|v| {
        let v = v.to_ascii_lowercase();
        v.contains("utf-8") || v.contains("utf8")
    })
}

/// The symbols the view draws with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Glyphs {
    pub ok: &'static str,
    pub warn: &'static str,
    pub crit: &'static str,
    pub stale: &'static str,
    /// Sparkline levels, lowest first.
    pub bars: [char; 8],
    pub gauge_full: char,
    pub gauge_empty: char,
    /// How chart lines are plotted.
    pub marker: Marker,
    pub border: border::Set<'static>,
    /// True for the ASCII set, for code that builds symbols of its own.
    pub ascii: bool,
    pub up: &'static str,
    pub down: &'static str,
    /// Separates items on one line.
    pub bullet: &'static str,
    /// Marks an event on a time axis.
    pub event_mark: char,
}

/// A border of `+`, `-` and `|`.
pub const ASCII_BORDER: border::Set<'static> = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

impl Glyphs {
    pub const UNICODE: Glyphs = Glyphs {
        ok: "●",
        warn: "▲",
        crit: "✖",
        stale: "◌",
        bars: ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'],
        gauge_full: '█',
        gauge_empty: '░',
        marker: Marker::Braille,
        // Plain lines, as ratatui draws by default, so screens keep their look.
        border: border::PLAIN,
        ascii: false,
        up: "↑",
        down: "↓",
        bullet: "·",
        event_mark: '┆',
    };

    /// For terminals and fonts without the Unicode symbols. Every ratatui
    /// marker but `Custom` plots with non-ASCII characters (`Dot` is `•`),
    /// so charts use a custom `*`.
    pub const ASCII: Glyphs = Glyphs {
        ok: "o",
        warn: "!",
        crit: "X",
        stale: "?",
        bars: ['_', '.', ':', '-', '=', '+', '*', '#'],
        gauge_full: '#',
        gauge_empty: '-',
        marker: Marker::Custom('*'),
        border: ASCII_BORDER,
        ascii: true,
        up: "^",
        down: "v",
        bullet: "-",
        event_mark: '|',
    };

    /// The sparkline level for `frac` of the range (clamped to 0-1).
    pub fn bar(&self, frac: f64) -> char {
        let f = if frac.is_nan() { 0.0 } else { frac.clamp(0.0, 1.0) };
        self.bars[((f * 7.0).round() as usize).min(7)]
    }
}

impl Default for Glyphs {
    fn default() -> Glyphs {
        Glyphs::UNICODE
    }
}

/// The 16 ANSI colours as xterm draws them by default. Terminals differ, so
/// this is only a guide for choosing the nearest one.
const ANSI16: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

const CUBE: [u8; 6] = [0, 95, 135, 175, 215, 255];

/// How different two colours look: squared distance weighted by the mean
/// red level ("redmean"), cheap and much closer to the eye than plain RGB.
fn distance(a: (u8, u8, u8), b: (u8, u8, u8)) -> i64 {
    let rm = (i64::from(a.0) + i64::from(b.0)) / 2;
    let (dr, dg, db) =
        (i64::from(a.0) - i64::from(b.0), i64::from(a.1) - i64::from(b.1), i64::from(a.2) - i64::from(b.2));
    (((512 + rm) * dr * dr) >> 8) + 4 * dg * dg + (((767 - rm) * db * db) >> 8)
}

/// The colour of xterm palette entry `i`.
fn index_rgb(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => ANSI16[usize::from(i)].1,
        16..=231 => {
            let n = usize::from(i - 16);
            (CUBE[n / 36], CUBE[(n / 6) % 6], CUBE[n % 6])
        }
        _ => {
            let g = 8 + 10 * (i - 232);
            (g, g, g)
        }
    }
}

/// The nearest entry of the 256-colour palette. Only entries 16-255 are
/// considered: their colours are fixed by convention, while 0-15 are
/// whatever the user's terminal palette says.
pub fn nearest_256(rgb: (u8, u8, u8)) -> u8 {
    let level = |c: u8| (0..6).min_by_key(|&k| (i32::from(CUBE[k]) - i32::from(c)).abs()).unwrap_or(0);
    let cube = 16 + 36 * level(rgb.0) + 6 * level(rgb.1) + level(rgb.2);
    let cube = u8::try_from(cube).unwrap_or(231);
    let grey = (232..=255).min_by_key(|&i| distance(index_rgb(i), rgb)).unwrap_or(232);
    if distance(index_rgb(grey), rgb) < distance(index_rgb(cube), rgb) { grey } else { cube }
}

/// The nearest of the 16 ANSI colours.
pub fn nearest_16(rgb: (u8, u8, u8)) -> Color {
    ANSI16.iter().min_by_key(|(_, c)| distance(*c, rgb)).map_or(Color::Reset, |(c, _)| *c)
}

fn to_ansi256(c: Color) -> Color {
    match c {
        Color::Rgb(r, g, b) => Color::Indexed(nearest_256((r, g, b))),
        other => other,
    }
}

fn to_ansi16(c: Color) -> Color {
    match c {
        Color::Rgb(r, g, b) => nearest_16((r, g, b)),
        Color::Indexed(i) if i < 16 => ANSI16[usize::from(i)].0,
        Color::Indexed(i) => nearest_16(index_rgb(i)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_theme_parses() {
        for name in Theme::names() {
            let t = Theme::built_in(name).unwrap_or_else(|| panic!("theme {name} does not parse"));
            assert_eq!(t.name, name);
        }
        assert!(Theme::pick(None, true).unwrap().is_mono());
        assert!(Theme::pick(Some("neon"), false).is_err());
    }

    #[test]
    fn colours_parse_by_name_hex_and_index() {
        assert_eq!(parse_color("red"), Some(Color::Red));
        assert_eq!(parse_color("#ff8000"), Some(Color::Rgb(255, 128, 0)));
        assert_eq!(parse_color("208"), Some(Color::Indexed(208)));
        assert_eq!(parse_color("nope"), None);
    }

    /// An environment made of `pairs`, for the functions that read one.
    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone())
    }

    fn colors(t: &Theme) -> Vec<Color> {
        let mut all = vec![
            t.background.0,
            t.text.0,
            t.dim.0,
            t.accent.0,
            t.border.0,
            t.title.0,
            t.ok.0,
            t.warn.0,
            t.crit.0,
            t.stale.0,
            t.header_fg.0,
            t.header_bg.0,
            t.demo_bg.0,
            t.alarm_fg.0,
            t.alarm_bg.0,
        ];
        all.extend(t.chart.iter().map(|c| c.0));
        all
    }

    #[test]
    fn built_in_themes_are_distinct_and_complete() {
        let names = Theme::names();
        assert_eq!(names, ["dark", "light", "high-contrast", "mono"]);
        let themes: Vec<Theme> = names.iter().map(|n| Theme::built_in(n).unwrap()).collect();
        for (i, t) in themes.iter().enumerate() {
            assert!(!t.chart.is_empty(), "{} has no chart colours", t.name);
            assert_eq!(t.glyphs, Glyphs::UNICODE);
            for other in &themes[i + 1..] {
                assert_ne!(t.name, other.name);
                assert_ne!(colors(t), colors(other), "{} and {} look the same", t.name, other.name);
            }
        }
        assert!(Theme::built_in("mono").unwrap().is_mono());
        for name in ["dark", "light", "high-contrast"] {
            assert!(!Theme::built_in(name).unwrap().is_mono(), "{name}");
        }
        let hc = Theme::built_in("high-contrast").unwrap();
        assert!(hc.text().add_modifier.contains(Modifier::BOLD));
        assert_eq!(hc.base().bg, Some(Color::Black));
        assert_eq!(hc.alarm().bg, Some(Color::LightRed));
        assert!(!Theme::built_in("dark").unwrap().text().add_modifier.contains(Modifier::BOLD));
    }

    /// WCAG's contrast ratio of two sRGB colours (1 to 21).
    fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
        let lum = |(r, g, b): (u8, u8, u8)| {
            let lin = |c: u8| {
                let c = f64::from(c) / 255.0;
                if c <= 0.040_45 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
            };
            0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
        };
        let (x, y) = (lum(a), lum(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    #[test]
    fn a_theme_with_its_own_background_reads_on_any_terminal() {
        // The light theme must not lean on the terminal's background: dark
        // text on a dark terminal cannot be read.
        let light = Theme::built_in("light").unwrap();
        let Color::Rgb(r, g, b) = light.background.0 else { panic!("light paints no background of its own") };
        let bg = (r, g, b);
        let roles = [
            ("text", light.text, 7.0),
            ("dim", light.dim, 4.5),
            ("accent", light.accent, 4.5),
            ("title", light.title, 4.5),
            ("ok", light.ok, 3.0),
            ("warn", light.warn, 3.0),
            ("crit", light.crit, 3.0),
            ("stale", light.stale, 3.0),
        ];
        for (role, c, least) in roles {
            let Color::Rgb(r, g, b) = c.0 else { panic!("light's {role} is not an exact shade") };
            let ratio = contrast((r, g, b), bg);
            assert!(ratio >= least, "light's {role} has contrast {ratio:.1} on its background, under {least}");
        }
    }

    #[test]
    fn theme_files_reject_unknown_and_missing_roles() {
        let dark = include_str!("../../themes/dark.toml");
        assert!(toml::from_str::<Theme>(&format!("{dark}\nsparkle = \"red\"")).is_err());
        assert!(toml::from_str::<Theme>(&format!("{dark}\nglyphs = \"ascii\"")).is_err());
        let without_chart: String = dark.lines().filter(|l| !l.starts_with("chart")).collect::<Vec<_>>().join("\n");
        assert!(toml::from_str::<Theme>(&without_chart).is_err());
    }

    #[test]
    fn series_colours_cycle() {
        let dark = Theme::built_in("dark").unwrap();
        assert_eq!(dark.series_color(0), Color::Cyan);
        assert_eq!(dark.series_color(6), Color::Cyan);
        assert_eq!(dark.series(1).fg, Some(Color::Magenta));
        let none = Theme { chart: vec![], ..dark };
        assert_eq!(none.series_color(3), Color::Reset);
    }

    #[test]
    fn depth_comes_from_the_environment() {
        let table: &[(&[(&str, &str)], ColorDepth)] = &[
            (&[], ColorDepth::Ansi16),
            (&[("TERM", "xterm")], ColorDepth::Ansi16),
            (&[("TERM", "xterm-256color")], ColorDepth::Ansi256),
            (&[("TERM", "screen-256color"), ("COLORTERM", "truecolor")], ColorDepth::TrueColor),
            (&[("TERM", "xterm"), ("COLORTERM", "24bit")], ColorDepth::TrueColor),
            (&[("TERM", "xterm-direct")], ColorDepth::TrueColor),
            (&[("TERM", "xterm-256color"), ("COLORTERM", "yes")], ColorDepth::Ansi256),
            (&[("TERM", "dumb")], ColorDepth::Mono),
            (&[("TERM", "dumb"), ("COLORTERM", "truecolor")], ColorDepth::Mono),
            (&[("NO_COLOR", "1"), ("COLORTERM", "truecolor")], ColorDepth::Mono),
            (&[("NO_COLOR", ""), ("TERM", "xterm-256color")], ColorDepth::Ansi256),
        ];
        for (vars, want) in table {
            assert_eq!(ColorDepth::from_env(env(vars)), *want, "{vars:?}");
        }
    }

    #[test]
    fn rgb_maps_to_the_nearest_palette_entry() {
        let table: &[((u8, u8, u8), u8, Color)] = &[
            ((0xff, 0x00, 0x00), 196, Color::LightRed),
            ((0xcd, 0x00, 0x00), 160, Color::Red),
            ((0xff, 0x80, 0x00), 208, Color::Yellow),
            ((0x00, 0x00, 0x00), 16, Color::Black),
            ((0xff, 0xff, 0xff), 231, Color::White),
            ((0x80, 0x80, 0x80), 244, Color::DarkGray),
            ((0x26, 0x26, 0x26), 235, Color::Black),
            ((0x00, 0x87, 0x00), 28, Color::Green),
            ((0x00, 0x5f, 0xaf), 25, Color::LightBlue),
            ((0xe4, 0xe4, 0xe4), 254, Color::Gray),
        ];
        for (rgb, i256, c16) in table {
            assert_eq!(nearest_256(*rgb), *i256, "{rgb:?}");
            assert_eq!(nearest_16(*rgb), *c16, "{rgb:?}");
        }
        // Every palette entry 16-255 maps to itself.
        for i in 16..=255 {
            assert_eq!(nearest_256(index_rgb(i)), i);
        }
        assert_eq!(to_ansi16(Color::Indexed(196)), Color::LightRed);
        assert_eq!(to_ansi16(Color::Indexed(1)), Color::Red);
        assert_eq!(to_ansi16(Color::Indexed(9)), Color::LightRed);
        assert_eq!(to_ansi256(Color::Indexed(9)), Color::Indexed(9));
        assert_eq!(to_ansi16(Color::Reset), Color::Reset);
        assert_eq!(to_ansi16(Color::Cyan), Color::Cyan);
    }

    #[test]
    fn degrading_leaves_only_colours_the_terminal_has() {
        for name in Theme::names() {
            let t = Theme::built_in(name).unwrap();
            assert_eq!(t.clone().degrade(ColorDepth::TrueColor), t);
            let c256 = t.clone().degrade(ColorDepth::Ansi256);
            assert!(colors(&c256).iter().all(|c| !matches!(c, Color::Rgb(..))), "{name}: {c256:?}");
            let c16 = t.clone().degrade(ColorDepth::Ansi16);
            assert!(colors(&c16).iter().all(|c| !matches!(c, Color::Rgb(..) | Color::Indexed(_))), "{name}");
            let mono = t.clone().degrade(ColorDepth::Mono);
            assert!(colors(&mono).iter().all(|c| *c == Color::Reset), "{name}");
            assert!(mono.is_mono());
            assert!(mono.header().add_modifier.contains(Modifier::REVERSED));
            assert!(mono.alarm().add_modifier.contains(Modifier::REVERSED));
            assert_eq!(mono.name, t.name);
        }
        let light = Theme::built_in("light").unwrap();
        assert_eq!(light.clone().degrade(ColorDepth::Ansi256).crit.0, Color::Indexed(160));
        assert_eq!(light.degrade(ColorDepth::Ansi16).text.0, Color::Black);
    }

    #[test]
    fn ascii_glyphs_are_ascii() {
        let g = Glyphs::ASCII;
        let b = g.border;
        let strs = [
            g.ok,
            g.warn,
            g.crit,
            g.stale,
            g.up,
            g.down,
            g.bullet,
            b.top_left,
            b.top_right,
            b.bottom_left,
            b.bottom_right,
            b.vertical_left,
            b.vertical_right,
            b.horizontal_top,
            b.horizontal_bottom,
        ];
        assert!(strs.iter().all(|s| !s.is_empty() && s.is_ascii()), "{strs:?}");
        let chars = g.bars.iter().chain([&g.gauge_full, &g.gauge_empty, &g.event_mark]);
        assert!(chars.clone().all(char::is_ascii));
        assert!(chars.clone().all(|c| !c.is_ascii_control() && *c != ' '));
        assert!(matches!(g.marker, Marker::Custom(c) if c.is_ascii_graphic()));
        assert!(g.ascii && !Glyphs::UNICODE.ascii);
        assert_eq!(Glyphs::default(), Glyphs::UNICODE);
    }

    #[test]
    fn every_glyph_takes_one_column() {
        use ratatui::text::Span;
        for g in [Glyphs::UNICODE, Glyphs::ASCII] {
            let b = g.border;
            for s in
                [g.ok, g.warn, g.crit, g.stale, g.up, g.down, g.bullet, b.top_left, b.vertical_left, b.horizontal_top]
            {
                assert_eq!(Span::raw(s).width(), 1, "{s:?}");
            }
            for c in g.bars.iter().chain([&g.gauge_full, &g.gauge_empty, &g.event_mark]) {
                assert_eq!(Span::raw(c.to_string()).width(), 1, "{c:?}");
            }
        }
    }

    #[test]
    fn bars_cover_the_range() {
        let g = Glyphs::UNICODE;
        assert_eq!(g.bar(0.0), '▁');
        assert_eq!(g.bar(1.0), '█');
        assert_eq!(g.bar(0.5), '▅');
        assert_eq!(g.bar(-3.0), '▁');
        assert_eq!(g.bar(9.0), '█');
        assert_eq!(g.bar(f64::NAN), '▁');
        assert_eq!(Glyphs::ASCII.bar(1.0), '#');
    }

    #[test]
    fn locale_decides_utf8() {
        let table: &[(&[(&str, &str)], bool)] = &[
            (&[], true),
            (&[("LANG", "en_US.UTF-8")], true),
            (&[("LANG", "C.utf8")], true),
            (&[("LANG", "C")], false),
            (&[("LANG", "POSIX")], false),
            (&[("LC_ALL", "C"), ("LANG", "en_US.UTF-8")], false),
            (&[("LC_ALL", ""), ("LC_CTYPE", "de_DE.UTF-8"), ("LANG", "C")], true),
            (&[("LC_CTYPE", "en_US.ISO-8859-1"), ("LANG", "en_US.UTF-8")], false),
            (&[("LC_ALL", ""), ("LC_CTYPE", ""), ("LANG", "")], true),
        ];
        for (vars, want) in table {
            assert_eq!(locale_is_utf8(env(vars)), *want, "{vars:?}");
        }
    }

    #[test]
    fn resolve_combines_name_colour_depth_and_glyphs() {
        let utf = [("LANG", "en_US.UTF-8"), ("TERM", "xterm-256color")];
        let t = Theme::resolve(None, env(&utf), false).unwrap();
        assert_eq!(t.name, "dark");
        assert_eq!(t.glyphs, Glyphs::UNICODE);

        let t = Theme::resolve(Some("light"), env(&utf), false).unwrap();
        assert_eq!(t.crit.0, Color::Indexed(160));
        let t = Theme::resolve(Some("light"), env(&[("COLORTERM", "truecolor")]), false).unwrap();
        assert_eq!(t.crit.0, Color::Rgb(0xd7, 0, 0));
        let t = Theme::resolve(Some("light"), env(&[("TERM", "xterm")]), false).unwrap();
        assert_eq!(t.crit.0, Color::Red);

        let t = Theme::resolve(Some("high-contrast"), env(&[("NO_COLOR", "1"), ("LANG", "C.UTF-8")]), false).unwrap();
        assert_eq!(t.name, "mono");
        assert!(t.is_mono());

        let t = Theme::resolve(Some("dark"), env(&[("TERM", "dumb")]), false).unwrap();
        assert!(t.is_mono());

        assert_eq!(Theme::resolve(None, env(&utf), true).unwrap().glyphs, Glyphs::ASCII);
        assert_eq!(Theme::resolve(None, env(&[("LANG", "C")]), false).unwrap().glyphs, Glyphs::ASCII);
        assert_eq!(Theme::resolve(None, env(&[("TERM", "linux")]), false).unwrap().glyphs, Glyphs::ASCII);

        let err = Theme::resolve(Some("neon"), env(&utf), false).unwrap_err();
        assert!(err.contains("neon") && err.contains("high-contrast") && err.contains("light"), "{err}");
    }
}
