//! Configuration: built-in defaults, overlaid by a TOML file (`--config`, or
//! `config.toml` in the platform config dir), overlaid by flags. A bad file
//! fails with its path, line and key.

mod error;
pub mod serve;
pub mod sources;
pub mod token_file;

pub use error::ConfigError;
pub use serve::ServeConfig;
pub use sources::{SourceKind, SourceSpec, same_name};

use crate::gateway::sim::Scenario;
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
    /// Prometheus APIs, `/metrics` pages and Alertmanagers, `[[source]]` tables.
    pub source: Vec<SourceSpec>,
    pub ui: UiConfig,
    pub kiosk: KioskConfig,
    pub notify: NotifyConfig,
    pub incident: IncidentConfig,
    pub demo: DemoConfig,
    pub log: LogConfig,
    /// The dashboard's own alert rules, `[[alert]]` tables.
    pub alert: Vec<crate::core::alert::rules::RuleSpec>,
    pub alerting: AlertingConfig,
    /// Service level objectives, `[[slo]]` tables.
    pub slo: Vec<crate::core::slo::SloSpec>,
    /// What `vigil serve` is fed and how it listens.
    pub serve: ServeConfig,
}

/// Which of the shipped alert rules apply.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertingConfig {
    /// Evaluate the shipped rules (p99 latency, error rate, ...).
    pub defaults: bool,
    /// Shipped rules to leave out, by name.
    pub disabled: Vec<String>,
}

impl Default for AlertingConfig {
    fn default() -> Self {
        AlertingConfig { defaults: true, disabled: Vec::new() }
    }
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
    /// A dashboard TOML file; relative paths are from the config file's dir.
    pub dashboard: Option<PathBuf>,
    /// Draw with ASCII only, for terminals and fonts without box drawing or braille.
    pub ascii: bool,
    /// Time span the charts show at start, e.g. "15m".
    #[serde(deserialize_with = "duration")]
    pub window: Duration,
}

/// Wall-display mode: pages rotate, criticals jump forward, the keyboard is locked.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KioskConfig {
    pub enabled: bool,
    /// Time each page stays up.
    #[serde(deserialize_with = "duration")]
    pub rotate_every: Duration,
    /// Flash the screen on a critical alert.
    pub flash: bool,
    /// Ring the terminal bell on a critical alert.
    pub bell: bool,
    /// Least time between two alarms (jump, flash, bell).
    #[serde(deserialize_with = "duration")]
    pub alert_min_gap: Duration,
    /// Time between one-cell shifts of the layout against burn-in; "0s" turns them off.
    #[serde(deserialize_with = "duration")]
    pub drift_every: Duration,
}

/// Bell and flash on a new critical alert off a wall display (`[kiosk]`
/// has its own), and the command run on every alert state change.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    pub bell: bool,
    pub flash: bool,
    /// Least time between two alarms.
    #[serde(deserialize_with = "duration")]
    pub min_gap: Duration,
    /// Least time between two alarms for one alert.
    #[serde(deserialize_with = "duration")]
    pub per_alert_gap: Duration,
    /// Program and arguments run for each alert state change, the change as
    /// JSON on stdin; empty for none.
    pub exec: Vec<String>,
    /// A run still going after this long is killed.
    #[serde(deserialize_with = "duration")]
    pub exec_timeout: Duration,
    /// Most runs at once; as many more wait, and beyond that runs are dropped.
    pub exec_max_running: usize,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            bell: true,
            flash: true,
            min_gap: Duration::from_secs(60),
            per_alert_gap: Duration::from_secs(5 * 60),
            exec: Vec::new(),
            exec_timeout: Duration::from_secs(10),
            exec_max_running: 4,
        }
    }
}

/// Where `E` and `:export` write incident reports.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentConfig {
    /// Directory for reports; the current directory when unset.
    pub dir: Option<PathBuf>,
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
        UiConfig {
            debounce: Duration::from_millis(100),
            fps: 30,
            theme: None,
            dashboard: None,
            ascii: false,
            window: Duration::from_secs(15 * 60),
        }
    }
}

impl Default for KioskConfig {
    fn default() -> Self {
        KioskConfig {
            enabled: false,
            rotate_every: Duration::from_secs(20),
            flash: true,
            bell: true,
            alert_min_gap: Duration::from_secs(60),
            drift_every: Duration::from_secs(10 * 60),
        }
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

pub(crate) use crate::core::format::duration;

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

/// The platform's state dir, for acknowledgements and silences
/// (`~/.local/state/vigil` on Linux; other platforms have no state dir and
/// use the local data dir); `VIGIL_STATE_DIR` overrides it.
pub fn state_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("VIGIL_STATE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let dirs = directories::ProjectDirs::from("", "", "vigil")?;
    Some(dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir()).to_path_buf())
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

    /// The dashboard file, with a relative `ui.dashboard` taken from the
    /// directory of `config_file` (the file this config came from), so a
    /// config and its dashboard can move together.
    pub fn dashboard_path(&self, config_file: Option<&Path>) -> Option<PathBuf> {
        let file = self.ui.dashboard.as_ref()?;
        match config_file.and_then(Path::parent) {
            Some(dir) if file.is_relative() => Some(dir.join(file)),
            _ => Some(file.clone()),
        }
    }

    /// The alert rules in force: the shipped ones not turned off, each
    /// replaced by a config rule of the same name, then the config's others.
    pub fn rules(&self) -> Vec<crate::core::alert::rules::RuleSpec> {
        let mut out: Vec<crate::core::alert::rules::RuleSpec> = Vec::new();
        if self.alerting.defaults {
            for rule in crate::core::alert::defaults::rules() {
                if !self.alerting.disabled.contains(&rule.name) {
                    out.push(self.alert.iter().find(|r| r.name == rule.name).cloned().unwrap_or(rule));
                }
            }
        }
        for rule in &self.alert {
            if !out.iter().any(|r| r.name == rule.name) {
                out.push(rule.clone());
            }
        }
        out
    }

    /// The SLOs to track: the config's; or, on the embedded demo when the
    /// config has none, two on the demo shop's checkout, so the SLO panel
    /// has something to show from the first run.
    pub fn slos(&self, demo: bool) -> Vec<crate::core::slo::SloSpec> {
        if self.slo.is_empty() && demo { crate::core::slo::demo() } else { self.slo.clone() }
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
            && crate::tui::theme::Theme::built_in(theme).is_none()
        {
            return bad(
                "ui.theme",
                format!("unknown theme {theme:?} (built in: {})", crate::tui::theme::Theme::names().join(", ")),
            );
        }
        let (min, max) = (Duration::from_secs(60), Duration::from_secs(24 * 3600));
        if !(min..=max).contains(&self.ui.window) {
            return bad("ui.window", "must be from 1m to 24h".into());
        }
        if self.ui.dashboard.as_ref().is_some_and(|d| d.as_os_str().is_empty()) {
            return bad("ui.dashboard", "is empty; leave it out for the built-in dashboard".into());
        }
        let k = &self.kiosk;
        if k.rotate_every < Duration::from_secs(2) {
            return bad("kiosk.rotate_every", "must be at least 2s, or nobody could read a page".into());
        }
        if k.rotate_every > Duration::from_secs(3600) {
            return bad("kiosk.rotate_every", "must be at most 1h".into());
        }
        if k.alert_min_gap < Duration::from_secs(1) || k.alert_min_gap > Duration::from_secs(3600) {
            return bad(
                "kiosk.alert_min_gap",
                "must be from 1s to 1h, so an alert storm rings at most once a second".into(),
            );
        }
        if !k.drift_every.is_zero() && k.drift_every < Duration::from_secs(60) {
            return bad(
                "kiosk.drift_every",
                "must be at least 1m (or \"0s\" for no drift); faster drift is a distraction".into(),
            );
        }
        let shipped: Vec<String> = crate::core::alert::defaults::rules().into_iter().map(|r| r.name).collect();
        if let Some(name) = self.alerting.disabled.iter().find(|n| !shipped.contains(n)) {
            return bad(
                "alerting.disabled",
                format!("{name:?} is not a shipped rule (they are: {})", shipped.join(", ")),
            );
        }
        for (i, src) in self.source.iter().enumerate() {
            if let Err((key, msg)) = src.check() {
                return bad(&format!("source[{i}].{key}"), msg);
            }
            // Names that differ only in case would share their pages' keys.
            if let Some(name) = &src.name
                && self.source[..i].iter().filter_map(|s| s.name.as_ref()).any(|n| same_name(n, name))
            {
                return bad(&format!("source[{i}].name"), format!("{name:?} names two sources (case aside)"));
            }
        }
        for (i, slo) in self.slo.iter().enumerate() {
            if self.slo[..i].iter().any(|s| s.name == slo.name) {
                return bad(&format!("slo[{i}].name"), format!("{:?} names two SLOs", slo.name));
            }
            if let Err(msg) = slo.check() {
                return bad(&format!("slo[{i}]"), msg);
            }
        }
        for (i, rule) in self.alert.iter().enumerate() {
            if self.alert[..i].iter().any(|r| r.name == rule.name) {
                return bad(&format!("alert[{i}].name"), format!("{:?} names two rules", rule.name));
            }
            if let Err(msg) = rule.check() {
                return bad(&format!("alert[{i}]"), msg);
            }
        }
        self.notify.validate(text, path)
    }
}

impl NotifyConfig {
    fn validate(&self, text: &str, path: &Path) -> Result<(), ConfigError> {
        let bad = |key: &str, msg: &str| Err(ConfigError::at_key(path, text, key, msg.to_string()));
        if self.min_gap < Duration::from_secs(1) || self.min_gap > Duration::from_secs(3600) {
            return bad("notify.min_gap", "must be from 1s to 1h, so an alert storm rings at most once a second");
        }
        if self.per_alert_gap > Duration::from_secs(24 * 3600) {
            return bad("notify.per_alert_gap", "must be at most 24h");
        }
        if self.exec.first().is_some_and(|p| p.trim().is_empty()) {
            return bad("notify.exec", "names no program; leave it out (or []) for no hook");
        }
        if self.exec_timeout < Duration::from_millis(100) || self.exec_timeout > Duration::from_secs(600) {
            return bad("notify.exec_timeout", "must be from 100ms to 10m");
        }
        if !(1..=64).contains(&self.exec_max_running) {
            return bad("notify.exec_max_running", "must be from 1 to 64");
        }
        Ok(())
    }

    /// The bell and flash settings off a wall display.
    pub fn alarm_options(&self) -> crate::core::alert::alarm::AlarmOptions {
        crate::core::alert::alarm::AlarmOptions {
            flash: self.flash,
            bell: self.bell,
            min_gap_ms: millis(self.min_gap),
            per_alert_gap_ms: millis(self.per_alert_gap),
            ..Default::default()
        }
    }

    /// The exec hook's settings; `None` when there is no command.
    pub fn hook_options(&self) -> Option<crate::hook::HookOptions> {
        (!self.exec.is_empty()).then(|| crate::hook::HookOptions {
            argv: self.exec.clone(),
            timeout: self.exec_timeout,
            max_running: self.exec_max_running,
            max_waiting: 64,
        })
    }
}

fn millis(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
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
    fn sources_are_read_and_a_bad_one_is_named_by_line_and_key() {
        let text = "[[source]]\nkind = \"prometheus\"\nurl = \"http://p:9090\"\ninterval = \"2s\"\n\n[[source]]\nkind = \"scrape\"\nurl = \"app:8000/metrics\"\n";
        let err = Config::parse(text, Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.starts_with("c.toml:8: key `source[1].url`"), "{err}");
        assert!(err.contains("must start with http://"), "{err}");
        let good = text.replace("app:8000", "http://app:8000");
        let c = Config::parse(&good, Path::new("c.toml")).unwrap();
        assert_eq!((c.source[0].kind, c.source[0].interval()), (SourceKind::Prometheus, Duration::from_secs(2)));
        assert_eq!(c.source[1].kind, SourceKind::Scrape);
        let twice = "[[source]]\nkind = \"scrape\"\nname = \"a\"\nurl = \"http://x/m\"\n[[source]]\nkind = \"scrape\"\nname = \"A\"\nurl = \"http://y/m\"\n";
        let err = Config::parse(twice, Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.starts_with("c.toml:7: key `source[1].name`") && err.contains("names two sources"), "{err}");
        let kind = Config::parse("[[source]]\nkind = \"graphite\"\nurl = \"http://g\"\n", Path::new("c.toml"));
        assert!(kind.unwrap_err().to_string().starts_with("c.toml:2:"));
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let text = "[ui]\nfps = 30\n\n[demo]\nsenario = \"calm\"\n";
        let err = Config::parse(text, Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.starts_with("c.toml:5:"), "{err}");
        assert!(err.contains("senario"), "{err}");
    }

    #[test]
    fn shipped_rules_apply_unless_turned_off_and_a_config_rule_replaces_its_namesake() {
        let names = |c: &Config| c.rules().into_iter().map(|r| r.name).collect::<Vec<_>>();
        let all = names(&Config::default());
        assert!(all.len() >= 9 && all.contains(&"error rate".to_string()), "{all:?}");
        let text = r#"
[alerting]
disabled = ["traffic off baseline"]

[[alert]]
name = "error rate"
metric = "errors"
op = ">"
threshold = 0.05

[[alert]]
name = "disk"
metric = "disk_used_percent"
op = ">"
threshold = 90
"#;
        let c = Config::parse(text, Path::new("c.toml")).unwrap();
        let rules = c.rules();
        assert_eq!(rules.len(), all.len());
        assert!(!names(&c).contains(&"traffic off baseline".to_string()));
        let error_rate = rules.iter().find(|r| r.name == "error rate").unwrap();
        assert_eq!((error_rate.metric.as_str(), error_rate.threshold), ("errors", 0.05));
        assert_eq!(names(&c).last().map(String::as_str), Some("disk"));
        let off = Config::parse(
            "[alerting]
defaults = false
",
            Path::new("c.toml"),
        )
        .unwrap();
        assert!(off.rules().is_empty());
    }

    #[test]
    fn slos_are_checked_and_the_demo_gets_its_own_only_without_any() {
        let text = "[[slo]]\nname = 'api'\nobjective = 99.9\ntotal = { metric = 'r' }\n";
        let err = Config::parse(text, Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.starts_with("c.toml:1: key `slo[0]`") && err.contains("good or bad"), "{err}");
        let text = "[[slo]]\nname = 'api'\nobjective = 99.9\nlatency = { metric = 'h' }\nunder = '300ms'\n";
        let c = Config::parse(text, Path::new("c.toml")).unwrap();
        assert_eq!(c.slos(true).len(), 1);
        assert_eq!(Config::default().slos(true), crate::core::slo::demo());
        assert!(Config::default().slos(false).is_empty());
    }

    #[test]
    fn bad_alerting_settings_name_their_key() {
        let err = Config::parse(
            "[alerting]
disabled = [\"nope\"]\n",
            Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("c.toml:2: key `alerting.disabled`") && err.contains("error rate"), "{err}");
        let twice = "[[alert]]\nname='a'\nmetric='m'\nop='>'\nthreshold=1\n[[alert]]\nname='a'\nmetric='n'\nop='>'\nthreshold=2\n";
        let err = Config::parse(twice, Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.starts_with("c.toml:7: key `alert[1].name`"), "{err}");
        let short = "[[alert]]\nname='a'\nmetric='m'\nop='>'\nthreshold=1\nover='5m'\ndelta='1m'\n";
        let err = Config::parse(short, Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.contains("alert[0]") && err.contains("delta"), "{err}");
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
    fn ui_additions_are_read_and_checked() {
        let text = "[ui]\ndashboard = \"wall.toml\"\nascii = true\nwindow = \"1h\"\n";
        let c = Config::parse(text, Path::new("c.toml")).unwrap();
        assert_eq!(c.ui.window, Duration::from_secs(3600));
        assert!(c.ui.ascii);
        let from = Path::new("/etc/vigil/config.toml");
        assert_eq!(c.dashboard_path(Some(from)), Some(PathBuf::from("/etc/vigil/wall.toml")));
        assert_eq!(c.dashboard_path(None), Some(PathBuf::from("wall.toml")));
        assert_eq!(Config::default().dashboard_path(Some(from)), None);

        let err = Config::parse("[ui]\nfps = 30\nwindow = \"30s\"\n", Path::new("c.toml")).unwrap_err().to_string();
        assert_eq!(err, "c.toml:3: key `ui.window`: must be from 1m to 24h");
        let err = Config::parse("[ui]\nwindow = \"2d\"\n", Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.starts_with("c.toml:2: key `ui.window`"), "{err}");
        let err = Config::parse("[ui]\nwindow = \"soon\"\n", Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.starts_with("c.toml:2:") && err.contains("ui.window") && err.contains("not a duration"), "{err}");
        let err = Config::parse("[ui]\ndashboard = \"\"\n", Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.starts_with("c.toml:2: key `ui.dashboard`"), "{err}");
    }

    #[test]
    fn kiosk_settings_are_read_and_checked() {
        let text = "[kiosk]\nenabled = true\nrotate_every = \"30s\"\nbell = false\ndrift_every = \"0s\"\n";
        let k = Config::parse(text, Path::new("c.toml")).unwrap().kiosk;
        assert!(k.enabled && k.flash && !k.bell);
        assert_eq!((k.rotate_every, k.drift_every), (Duration::from_secs(30), Duration::ZERO));
        assert_eq!(k.alert_min_gap, Duration::from_secs(60));

        let check = |text: &str, want: &str| {
            let err = Config::parse(text, Path::new("k.toml")).unwrap_err().to_string();
            assert!(err.starts_with(want), "{err}");
            assert!(!err.contains('\n'), "{err}");
        };
        check(
            "[kiosk]\nenabled = true\nrotate_every = \"1s\"\n",
            "k.toml:3: key `kiosk.rotate_every`: must be at least 2s",
        );
        check("[kiosk]\nrotate_every = \"2h\"\n", "k.toml:2: key `kiosk.rotate_every`: must be at most 1h");
        check("[ui]\nfps = 30\n[kiosk]\nalert_min_gap = \"0s\"\n", "k.toml:4: key `kiosk.alert_min_gap`");
        check("[kiosk]\ndrift_every = \"5s\"\n", "k.toml:2: key `kiosk.drift_every`: must be at least 1m");
        check("[kiosk]\nflash = \"yes\"\n", "k.toml:2:");
        check("[kiosk]\nrotate = \"20s\"\n", "k.toml:2:");
    }

    #[test]
    fn notify_settings_are_read_and_checked() {
        let text = "[notify]\nbell = false\nmin_gap = \"30s\"\nexec = [\"/usr/local/bin/page\", \"--team\", \"sre\"]\n";
        let n = Config::parse(text, Path::new("c.toml")).unwrap().notify;
        assert!(!n.bell && n.flash);
        assert_eq!(n.alarm_options().min_gap_ms, 30_000);
        let hook = n.hook_options().unwrap();
        assert_eq!(hook.argv, ["/usr/local/bin/page", "--team", "sre"]);
        assert_eq!(hook.timeout, Duration::from_secs(10));
        assert!(NotifyConfig::default().hook_options().is_none());

        let check = |text: &str, want: &str| {
            let err = Config::parse(text, Path::new("n.toml")).unwrap_err().to_string();
            assert!(err.starts_with(want), "{err}");
            assert!(!err.contains('\n'), "{err}");
        };
        check("[notify]\nmin_gap = \"0s\"\n", "n.toml:2: key `notify.min_gap`: must be from 1s to 1h");
        check("[notify]\nbell = true\nexec = [\"\"]\n", "n.toml:3: key `notify.exec`: names no program");
        check("[notify]\nexec = \"/bin/page\"\n", "n.toml:2:");
        check("[notify]\nexec_timeout = \"soon\"\n", "n.toml:2:");
        check("[notify]\nexec_max_running = 0\n", "n.toml:2: key `notify.exec_max_running`");
        check("[notify]\nring = true\n", "n.toml:2:");
    }

    #[test]
    fn broken_toml_is_reported_on_one_line() {
        let err = Config::parse("[ui\nfps = 1\n", Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.starts_with("c.toml:1:"), "{err}");
        assert!(!err.contains('\n'));
    }
}
