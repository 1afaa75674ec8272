//! `[[source]]` tables: Prometheus-compatible APIs, `/metrics` endpoints
//! and Alertmanagers, each read on its own interval beside (or instead of)
//! the gateway. The flags `--prometheus`, `--scrape` and `--alertmanager`
//! add sources of the same shape.

use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::core::model::SourceKind;

/// One `[[source]]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    pub kind: SourceKind,
    /// What panels (`source = "..."`) and the sources page call it; by
    /// default the kind, numbered from the second of a kind on.
    #[serde(default)]
    pub name: Option<String>,
    /// The server's base URL (`http://prometheus:9090`), or for `scrape`
    /// the whole URL of the metrics page (`http://app:8000/metrics`).
    pub url: String,
    /// Time between reads (queries, scrapes, polls).
    #[serde(default, deserialize_with = "opt_duration")]
    pub interval: Option<Duration>,
    /// A request still unanswered after this long is given up on, and
    /// counts as a failure.
    #[serde(default, deserialize_with = "opt_duration")]
    pub timeout: Option<Duration>,
    /// Bearer token from a file, or from an environment variable.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    #[serde(default)]
    pub token_env: Option<String>,
    /// Basic auth: a user name, with the password from a file or an
    /// environment variable.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub password_env: Option<String>,
    /// Prometheus: the golden signals of this service get a page built
    /// from queries vigil writes itself. `checkout` matches `job="checkout"`;
    /// `service=checkout` names the label.
    #[serde(default)]
    pub service: Option<String>,
    /// Prometheus: the range `rate()` looks back over in the queries vigil
    /// writes itself; at least four of the server's scrape intervals.
    #[serde(default, deserialize_with = "opt_duration")]
    pub rate_window: Option<Duration>,
    /// Scrape: the `job` label given to every series read (default: the
    /// URL's host and port).
    #[serde(default)]
    pub job: Option<String>,
}

fn opt_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    super::duration(d).map(Some)
}

impl SourceSpec {
    /// A source from a flag: the kind's defaults and nothing else.
    pub fn from_flag(kind: SourceKind, url: &str) -> SourceSpec {
        SourceSpec {
            kind,
            name: None,
            url: url.to_string(),
            interval: None,
            timeout: None,
            token_file: None,
            token_env: None,
            username: None,
            password_file: None,
            password_env: None,
            service: None,
            rate_window: None,
            job: None,
        }
    }

    pub fn interval(&self) -> Duration {
        self.interval.unwrap_or(self.kind.default_interval())
    }

    /// A request's time limit: the table's, or the interval within 10 s to
    /// 30 s. A poll never overlaps itself (the next waits for the answer),
    /// so a short limit buys nothing: tied to a 1 s interval it would give
    /// up on a server that always takes 2 s, and nothing would ever show.
    pub fn timeout(&self) -> Duration {
        self.timeout.unwrap_or(self.interval().clamp(Duration::from_secs(10), Duration::from_secs(30)))
    }

    /// The `rate()` range of written queries: the table's, else one minute.
    pub fn rate_window(&self) -> Duration {
        self.rate_window.unwrap_or(Duration::from_secs(60))
    }

    /// What is wrong with the table, if anything, as (key, message).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(("url", format!("{:?} must start with http:// or https://", self.url)));
        }
        match reqwest::Url::parse(&self.url) {
            Err(_) => return Err(("url", format!("{:?} is not a URL", self.url))),
            // Shown on the sources page and in logs: no secret may ride in it.
            Ok(u) if !u.username().is_empty() || u.password().is_some() => {
                return Err(("url", "holds credentials; use `username` with `password_file`, or `token_file`".into()));
            }
            Ok(_) => {}
        }
        if self.name.as_ref().is_some_and(|n| n.trim().is_empty() || n.chars().any(char::is_control)) {
            return Err(("name", "must be printable and not empty".into()));
        }
        let interval = self.interval();
        if interval < Duration::from_secs(1) || interval > Duration::from_secs(3600) {
            return Err(("interval", "must be from 1s to 1h".into()));
        }
        if let Some(t) = self.timeout
            && (t < Duration::from_millis(100) || t > Duration::from_secs(300))
        {
            return Err(("timeout", "must be from 100ms to 5m".into()));
        }
        if self.token_file.is_some() && self.token_env.is_some() {
            return Err(("token_env", "give `token_file` or `token_env`, not both".into()));
        }
        let has_token = self.token_file.is_some() || self.token_env.is_some();
        let has_password = self.password_file.is_some() || self.password_env.is_some();
        if self.password_file.is_some() && self.password_env.is_some() {
            return Err(("password_env", "give `password_file` or `password_env`, not both".into()));
        }
        if has_password && self.username.is_none() {
            return Err(("username", "is needed with a password".into()));
        }
        if has_token && self.username.is_some() {
            return Err(("username", "basic auth and a bearer token cannot both be sent".into()));
        }
        if self.service.is_some() && self.kind != SourceKind::Prometheus {
            return Err(("service", "only a prometheus source writes golden-signal queries".into()));
        }
        if self.rate_window.is_some() && self.kind != SourceKind::Prometheus {
            return Err(("rate_window", "only applies to a prometheus source".into()));
        }
        if let Some(w) = self.rate_window
            && (w < Duration::from_secs(1) || w > Duration::from_secs(3600))
        {
            return Err(("rate_window", "must be from 1s to 1h".into()));
        }
        if self.job.is_some() && self.kind != SourceKind::Scrape {
            return Err(("job", "only a scrape source labels what it reads".into()));
        }
        Ok(())
    }
}

/// Gives every source a name: its own, or its kind's, numbered from the
/// second of a kind on (`prometheus`, `prometheus-2`). Names already taken
/// are skipped.
pub fn name_all(specs: &mut [SourceSpec]) {
    let mut taken: Vec<String> = specs.iter().filter_map(|s| s.name.clone()).collect();
    for s in specs.iter_mut().filter(|s| s.name.is_none()) {
        let base = s.kind.name();
        let name = (1..)
            .map(|i| if i == 1 { base.to_string() } else { format!("{base}-{i}") })
            .find(|n| !taken.iter().any(|t| same_name(t, n)))
            .unwrap_or_default();
        taken.push(name.clone());
        s.name = Some(name);
    }
}

/// Whether two source names are the same one: case does not tell sources
/// apart, as page keys are lower-cased.
pub fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_named_by_kind_unless_they_have_a_name() {
        let mut specs = vec![
            SourceSpec::from_flag(SourceKind::Prometheus, "http://a:9090"),
            SourceSpec {
                name: Some("prometheus-2".into()),
                ..SourceSpec::from_flag(SourceKind::Prometheus, "http://b")
            },
            SourceSpec::from_flag(SourceKind::Prometheus, "http://c:9090"),
            SourceSpec::from_flag(SourceKind::Scrape, "http://d/metrics"),
        ];
        name_all(&mut specs);
        let names: Vec<_> = specs.iter().map(|s| s.name.clone().unwrap()).collect();
        assert_eq!(names, ["prometheus", "prometheus-2", "prometheus-3", "scrape"]);
    }

    #[test]
    fn a_name_given_in_other_case_is_taken_too() {
        let mut specs = vec![
            SourceSpec { name: Some("Prometheus".into()), ..SourceSpec::from_flag(SourceKind::Prometheus, "http://a") },
            SourceSpec::from_flag(SourceKind::Prometheus, "http://b:9090"),
        ];
        name_all(&mut specs);
        assert_eq!(specs[1].name.as_deref(), Some("prometheus-2"));
    }

    #[test]
    fn timeouts_follow_the_interval_within_bounds() {
        let mut s = SourceSpec::from_flag(SourceKind::Prometheus, "http://a:9090");
        assert_eq!((s.interval(), s.timeout()), (Duration::from_secs(10), Duration::from_secs(10)));
        s.interval = Some(Duration::from_secs(120));
        assert_eq!(s.timeout(), Duration::from_secs(30));
        s.interval = Some(Duration::from_secs(1));
        assert_eq!(s.timeout(), Duration::from_secs(10), "a fast refresh still waits for a slow server");
        s.timeout = Some(Duration::from_secs(3));
        assert_eq!(s.timeout(), Duration::from_secs(3));
    }

    #[test]
    fn bad_tables_say_which_key() {
        let bad = |f: &dyn Fn(&mut SourceSpec)| {
            let mut s = SourceSpec::from_flag(SourceKind::Prometheus, "http://a:9090");
            f(&mut s);
            s.check().unwrap_err().0
        };
        assert_eq!(bad(&|s| s.url = "ftp://x".into()), "url");
        assert_eq!(bad(&|s| s.url = "http://ops:hunter2@p:9090".into()), "url");
        assert_eq!(bad(&|s| s.interval = Some(Duration::from_millis(10))), "interval");
        assert_eq!(bad(&|s| s.password_env = Some("P".into())), "username");
        assert_eq!(
            bad(&|s| {
                s.username = Some("u".into());
                s.token_env = Some("T".into());
            }),
            "username"
        );
        assert_eq!(bad(&|s| s.job = Some("j".into())), "job");
        let mut service = SourceSpec::from_flag(SourceKind::Scrape, "http://a/metrics");
        assert!(service.check().is_ok());
        service.service = Some("checkout".into());
        assert_eq!(service.check().unwrap_err().0, "service");
    }
}
