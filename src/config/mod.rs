//! Configuration: built-in defaults, overlaid by a TOML file (`--config`, or
//! `config.toml` in the platform config dir), overlaid by flags. A bad file
//! fails with its path, line and key.

mod error;

pub use error::ConfigError;

use crate::sim::Scenario;
use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Gateway stream URL; absent (with `urls` empty) means the embedded demo.
    pub url: Option<String>,
    /// Several gateways, preferred first; vigil fails over between them.
    pub urls: Vec<String>,
    /// File holding the bearer token (never the token itself).
    pub token_file: Option<PathBuf>,
    /// PEM file of a private certificate authority to trust besides the platform's roots.
    pub ca_file: Option<PathBuf>,
    pub ui: UiConfig,
    pub demo: DemoConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// Quiet time after a data change before a redraw, e.g. "100ms".
    #[serde(deserialize_with = "duration")]
    pub debounce: Duration,
    /// Most redraws per second.
    pub fps: u32,
    /// Theme name; `NO_COLOR` overrides it.
    pub theme: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoConfig {
    #[serde(deserialize_with = "scenario")]
    pub scenario: Scenario,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Log file; default `vigil.log` in the platform cache dir.
    pub file: Option<PathBuf>,
    /// `error`, `warn`, `info`, `debug` or `trace` (or a tracing filter).
    pub level: String,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig { debounce: Duration::from_millis(100), fps: 30, theme: None }
    }
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig { scenario: Scenario::Tour, seed: 1 }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { file: None, level: "info".into() }
    }
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s)
        .map_err(|e| serde::de::Error::custom(format!("{s:?} is not a duration ({e}); try \"100ms\"")))
}

fn scenario<'de, D: Deserializer<'de>>(d: D) -> Result<Scenario, D::Error> {
    String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
}

/// The platform's config file: e.g. `~/.config/vigil/config.toml` on Linux.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "vigil").map(|d| d.config_dir().join("config.toml"))
}

/// The platform's cache dir, for logs and saved state; `VIGIL_CACHE_DIR`
/// overrides it (tests point it at a temporary dir).
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("VIGIL_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "vigil").map(|d| d.cache_dir().to_path_buf())
}

/// Whether a URL names a WebSocket stream.
pub fn is_stream_url(url: &str) -> bool {
    url.starts_with("ws://") || url.starts_with("wss://")
}

impl Config {
    /// Every gateway, preferred first: `url`, then `urls`, without repeats.
    pub fn gateways(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for u in self.url.iter().chain(self.urls.iter()) {
            if !out.contains(u) {
                out.push(u.clone());
            }
        }
        out
    }

    /// Loads `path`, or the platform file when it exists, or the defaults.
    /// Returns the config and the file it came from.
    pub fn load(path: Option<&Path>) -> Result<(Config, Option<PathBuf>), ConfigError> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => match default_path().filter(|p| p.exists()) {
                Some(p) => p,
                None => return Ok((Config::default(), None)),
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::io(&path, &e))?;
        let config = Config::parse(&text, &path)?;
        Ok((config, Some(path)))
    }

    /// Parses and validates config text; `path` is only for messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let de = toml::de::Deserializer::parse(text).map_err(|e| ConfigError::from_toml(path, text, "", &e))?;
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            ConfigError::from_toml(path, text, &key, e.inner())
        })?;
        config.validate(text, path)?;
        Ok(config)
    }

    fn validate(&self, text: &str, path: &Path) -> Result<(), ConfigError> {
        let bad = |key: &str, msg: String| Err(ConfigError::at_key(path, text, key, msg));
        if let Some(url) = &self.url
            && !is_stream_url(url)
        {
            return bad("url", format!("{url:?} must start with ws:// or wss://"));
        }
        if let Some(url) = self.urls.iter().find(|u| !is_stream_url(u)) {
            return bad("urls", format!("{url:?} must start with ws:// or wss://"));
        }
        if !(1..=240).contains(&self.ui.fps) {
            return bad("ui.fps", format!("{} is out of range (1 to 240)", self.ui.fps));
        }
        if self.ui.debounce > Duration::from_secs(5) {
            return bad("ui.debounce", "must be at most 5s, or the screen would lag its data".into());
        }
        if let Some(theme) = &self.ui.theme
            && crate::theme::Theme::built_in(theme).is_none()
        {
            return bad(
                "ui.theme",
                format!("unknown theme {theme:?} (built in: {})", crate::theme::Theme::names().join(", ")),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_is_valid_and_matches_the_defaults() {
        let text = include_str!("../../config.example.toml");
        let parsed = Config::parse(text, Path::new("config.example.toml")).unwrap();
        // The example documents the defaults, so parsing it changes nothing.
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let text = "# comment\n[ui]\nfps = \"fast\"\n";
        let err = Config::parse(text, Path::new("/etc/vigil.toml")).unwrap_err().to_string();
        assert!(err.starts_with("/etc/vigil.toml:3:"), "{err}");
        assert!(err.contains("ui.fps"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let text = "[ui]\nfps = 30\n\n[demo]\nsenario = \"calm\"\n";
        let err = Config::parse(text, Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.starts_with("c.toml:5:"), "{err}");
        assert!(err.contains("senario"), "{err}");
    }

    #[test]
    fn validation_errors_point_at_the_key() {
        let err = Config::parse("url = \"http://x\"\n", Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.starts_with("c.toml:1: key `url`"), "{err}");
        let err = Config::parse("[ui]\nfps = 0\n", Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.starts_with("c.toml:2: key `ui.fps`"), "{err}");
        let err = Config::parse("[demo]\nscenario = \"chaos\"\n", Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.contains("demo.scenario") && err.contains("long-tail"), "{err}");
    }

    #[test]
    fn broken_toml_is_reported_on_one_line() {
        let err = Config::parse("[ui\nfps = 1\n", Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.starts_with("c.toml:1:"), "{err}");
        assert!(!err.contains('\n'));
    }
}
