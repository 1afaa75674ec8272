//! Themes are plain data (TOML in `themes/`), parsed into their own colour
//! type and converted to terminal styles once, at the edge.

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

const BUILT_IN: [(&str, &str); 2] =
    [("dark", include_str!("../themes/dark.toml")), ("mono", include_str!("../themes/mono.toml"))];

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

    pub fn text(&self) -> Style {
        Style::new().fg(self.text.0)
    }
    pub fn dim(&self) -> Style {
        let s = Style::new().fg(self.dim.0);
        if self.is_mono() { s.add_modifier(Modifier::DIM) } else { s }
    }
    pub fn stale(&self) -> Style {
        Style::new().fg(self.stale.0).add_modifier(Modifier::DIM)
    }
    pub fn accent(&self) -> Style {
        Style::new().fg(self.accent.0)
    }
    pub fn border(&self) -> Style {
        Style::new().fg(self.border.0)
    }
    pub fn title(&self) -> Style {
        Style::new().fg(self.title.0).add_modifier(Modifier::BOLD)
    }
    pub fn ok(&self) -> Style {
        Style::new().fg(self.ok.0)
    }
    pub fn warn(&self) -> Style {
        Style::new().fg(self.warn.0).add_modifier(Modifier::BOLD)
    }
    pub fn crit(&self) -> Style {
        Style::new().fg(self.crit.0).add_modifier(Modifier::BOLD)
    }
    pub fn header(&self) -> Style {
        let s = Style::new().fg(self.header_fg.0).bg(self.header_bg.0);
        if self.is_mono() { s.add_modifier(Modifier::REVERSED) } else { s }
    }
    pub fn demo(&self) -> Style {
        let s = Style::new().fg(self.header_fg.0).bg(self.demo_bg.0).add_modifier(Modifier::BOLD);
        if self.is_mono() { s.add_modifier(Modifier::REVERSED) } else { s }
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
}
