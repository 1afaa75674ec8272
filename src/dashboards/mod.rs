//! Dashboards: what each page shows, as data. The built-in default is itself
//! a dashboard file (`dashboards/default.toml`), so anything vigil shows out
//! of the box a user can copy, change or extend. Pages are typed specs
//! (`spec`) whoever makes them: the file, the pages written for sources
//! (`preset`, from the core's golden-signal catalogue) and a Grafana
//! import (`import`); `write` prints any of them as TOML.
//!
//! Owns: what to show. May import: `core` (the query engine evaluates a
//! page's queries; pages only name them), `config`'s errors and source
//! settings, a scrape's default job name, and the theme's colour type for
//! a line's colour. Nothing else of the sources or the TUI, and never the
//! headless commands.

pub mod import;
pub mod preset;
pub mod spec;
pub mod write;

pub use spec::{Agg, Dashboard, PageSpec, PanelKind, PanelSpec, QuerySpec, Thresholds};

use crate::config::ConfigError;
use std::path::Path;

/// The default dashboard, as shipped.
pub const DEFAULT_TEXT: &str = include_str!("../../dashboards/default.toml");

impl Dashboard {
    /// The built-in dashboard. It is checked by the test suite, so a failure
    /// here is a bug in vigil, not in anyone's input.
    pub fn built_in() -> Dashboard {
        Dashboard::parse(DEFAULT_TEXT, Path::new("dashboards/default.toml")).expect("the built-in dashboard is valid")
    }

    /// Reads a dashboard file.
    pub fn load(path: &Path) -> Result<Dashboard, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::io(path, &e))?;
        Dashboard::parse(&text, path)
    }

    /// Parses dashboard text; `path` is only for messages.
    pub fn parse(text: &str, path: &Path) -> Result<Dashboard, ConfigError> {
        let de = toml::de::Deserializer::parse(text).map_err(|e| ConfigError::from_toml(path, text, "", &e))?;
        let dash: Dashboard = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            ConfigError::from_toml(path, text, &key, e.inner())
        })?;
        let dash = match dash.extends.as_deref() {
            None => dash,
            Some("default") => Dashboard::built_in().extended_by(dash),
            Some(other) => {
                let msg = format!("{other:?} cannot be extended; the only base is \"default\"");
                return Err(ConfigError::at_key(path, text, "extends", msg));
            }
        };
        dash.validate(text, path)?;
        Ok(dash)
    }

    /// This dashboard with `other`'s pages: each replaces the page with its
    /// key, or comes after the others.
    pub(crate) fn extended_by(mut self, other: Dashboard) -> Dashboard {
        for page in other.pages {
            match self.pages.iter().position(|p| p.key() == page.key()) {
                Some(i) => self.pages[i] = page,
                None => self.pages.push(page),
            }
        }
        self
    }

    fn validate(&self, text: &str, path: &Path) -> Result<(), ConfigError> {
        if self.pages.is_empty() {
            return Err(ConfigError::at_key(path, text, "page", "a dashboard needs at least one [[page]]".into()));
        }
        let mut keys: Vec<String> = Vec::new();
        for (i, p) in self.pages.iter().enumerate() {
            let key = p.key();
            if keys.contains(&key) {
                let msg = format!("two pages are called {key:?}; give one a different `key`");
                return Err(ConfigError::at_key(path, text, &format!("page[{i}].title"), msg));
            }
            keys.push(key);
        }
        Ok(())
    }

    /// The page whose key or title is `name` (any case), or whose number
    /// (from 1) it is.
    pub fn find_page(&self, name: &str) -> Option<usize> {
        let lower = name.to_lowercase();
        if let Ok(n) = lower.parse::<usize>() {
            return (1..=self.pages.len()).contains(&n).then(|| n - 1);
        }
        self.pages.iter().position(|p| p.key() == lower || p.title.to_lowercase() == lower).or_else(|| {
            // A unique prefix is enough: `:page serv`.
            let mut hits = self.pages.iter().enumerate().filter(|(_, p)| p.key().starts_with(&lower));
            match (hits.next(), hits.next()) {
                (Some((i, _)), None) => Some(i),
                _ => None,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_dashboard_parses() {
        let d = Dashboard::built_in();
        let titles: Vec<&str> = d.pages.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["Overview", "Services", "Business", "Alerts"]);
        assert_eq!(d.find_page("services"), Some(1));
        assert_eq!(d.find_page("2"), Some(1));
        assert_eq!(d.find_page("busi"), Some(2));
        assert_eq!(d.find_page("9"), None);
    }

    fn err(text: &str) -> String {
        Dashboard::parse(text, Path::new("d.toml")).unwrap_err().to_string()
    }

    #[test]
    fn a_dashboard_can_extend_the_default() {
        let text = "extends = \"default\"\n[[page]]\ntitle = \"Payments\"\n[[page]]\ntitle = \"Alerts\"\n[[page.row]]\n[[page.row.panel]]\ntype = \"alerts\"\n";
        let d = Dashboard::parse(text, Path::new("d.toml")).unwrap();
        let titles: Vec<&str> = d.pages.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["Overview", "Services", "Business", "Alerts", "Payments"]);
        assert_eq!(d.pages[3].rows[0].panels.len(), 1, "the user's Alerts page replaced the built-in one");
        let e = err("extends = \"grafana\"\n[[page]]\ntitle = \"A\"\n");
        assert!(e.starts_with("d.toml:1: key `extends`"), "{e}");
    }

    #[test]
    fn errors_name_the_line_and_the_key() {
        let text = "[[page]]\ntitle = \"A\"\n[[page.row]]\n[[page.row.panel]]\ntype = \"bignum\"\nmetric = \"x\"\nagg = \"median\"\n";
        let e = err(text);
        assert!(e.starts_with("d.toml:7: key `page[0].row[0].panel[0]"), "{e}");
        assert!(e.contains("median"), "{e}");
        assert!(!e.contains('\n'), "{e}");

        let text = "[[page]]\ntitle = \"A\"\n[[page.row]]\n[[page.row.panel]]\ntype = \"chart\"\nmetric = \"x\"\nlabels = { status = \"=~5(\" }\n";
        let e = err(text);
        assert!(e.starts_with("d.toml:7:"), "{e}");
        assert!(e.contains("not a regular expression"), "{e}");

        let text = "[[page]]\ntitle = \"A\"\n[[page.row]]\n[[page.row.panel]]\ntype = \"pie\"\n";
        let e = err(text);
        assert!(e.starts_with("d.toml:5:") && e.contains("pie"), "{e}");

        let text = "[[page]]\ntitle = \"A\"\n[[page.row]]\n[[page.row.panel]]\ntype = \"gauge\"\nmetric = \"cpu\"\n";
        let e = err(text);
        assert!(e.contains("needs `max`"), "{e}");
        assert!(e.starts_with("d.toml:4:") || e.starts_with("d.toml:5:"), "{e}");

        let e = err("[[page]]\ntitle = \"A\"\n[[page]]\ntitle = \"a\"\n");
        assert!(e.starts_with("d.toml:4: key `page[1].title`"), "{e}");
    }

    #[test]
    fn panels_lines_and_columns_may_run_promql() {
        let text = r#"
[[page]]
title = "Checkout"
select = "job"
select_query = "group by (job) (up)"
[[page.row]]
[[page.row.panel]]
type = "bignum"
title = "req/s"
query = 'sum(rate(http_requests_total{job="$job"}[1m]))'
source = "eu"
divide_by = { query = "1" }
[[page.row.panel]]
type = "chart"
title = "latency"
lines = [{ title = "p99", query = "p99_expr" }, { title = "local", metric = "m" }]
[[page.row.panel]]
type = "table"
title = "t"
by = "job"
columns = [{ title = "up", query = "up" }]
"#;
        let d = Dashboard::parse(text, Path::new("d.toml")).unwrap();
        let page = &d.pages[0];
        assert_eq!(page.select_query.as_deref(), Some("group by (job) (up)"));
        let panels = &page.rows[0].panels;
        let q = panels[0].query.as_ref().unwrap();
        assert_eq!(q.promql.as_deref(), Some(r#"sum(rate(http_requests_total{job="$job"}[1m]))"#));
        let vars = [("job".to_string(), "checkout".to_string())];
        assert_eq!(
            q.resolved(&vars).metric,
            spec::promql_key("eu", r#"sum(rate(http_requests_total{job="checkout"}[1m]))"#)
        );
        assert_eq!(q.promql_with(&vars).unwrap().0, "eu");
        assert_eq!(panels[0].divide_by.as_ref().unwrap().resolved(&[]).metric, spec::promql_key("", "1"));
        assert_eq!(panels[1].lines[0].query.as_deref(), Some("p99_expr"));
        assert_eq!(panels[2].columns[0].query().promql.as_deref(), Some("up"));
        assert_eq!(spec::parse_promql_key(&spec::promql_key("eu", "sum(up)")), Some(("eu", "sum(up)")));
        assert_eq!(spec::parse_promql_key("http_requests_total"), None);
        // A metric query resolves to itself.
        let m = spec::QuerySpec::of("m");
        assert_eq!(m.resolved(&vars).metric, "m");
    }

    #[test]
    fn a_query_is_a_metric_or_promql_not_both() {
        let panel = |body: &str| format!("[[page]]\ntitle = \"A\"\n[[page.row]]\n[[page.row.panel]]\n{body}\n");
        let e = err(&panel("type = \"bignum\"\nmetric = \"m\"\nquery = \"up\""));
        assert!(e.contains("not both") && e.starts_with("d.toml:4:"), "{e}");
        let e = err(&panel("type = \"bignum\"\nmetric = \"m\"\nsource = \"p\""));
        assert!(e.contains("a `metric` has none"), "{e}");
        let e = err(&panel("type = \"bignum\"\nquery = \" \""));
        assert!(e.contains("`query` is empty"), "{e}");
        let e = err(&panel("type = \"bignum\""));
        assert!(e.contains("needs `metric` (or a PromQL `query`)"), "{e}");
        let e = err(&panel("type = \"chart\"\nlines = [{ title = \"a\" }]"));
        assert!(e.contains("on every line"), "{e}");
        let e = err(&panel("type = \"table\"\nby = \"x\"\ncolumns = [{ title = \"c\" }]"));
        assert!(e.contains("column \"c\" needs"), "{e}");
        let e = err(&panel("type = \"bignum\"\nmetric = \"m\"\ndivide_by = { metric = \"a\", query = \"b\" }"));
        assert!(e.contains("not both"), "{e}");
    }

    #[test]
    fn a_query_may_name_a_golden_signal_instead() {
        let text = r#"
[[page]]
title = "A"
[[page.row]]
[[page.row.panel]]
type = "bignum"
signal = "errors"
labels = { service = "api" }
divide_by = { metric = "http_requests_total", labels = { service = "api" } }
[[page.row.panel]]
type = "chart"
lines = [{ title = "failed", signal = "errors" }]
[[page.row.panel]]
type = "table"
by = "service"
columns = [{ title = "errors", signal = "errors", divide_by = { metric = "http_requests_total" } }]
"#;
        let d = Dashboard::parse(text, Path::new("d.toml")).unwrap();
        let panels = &d.pages[0].rows[0].panels;
        let q = panels[0].query.as_ref().unwrap();
        assert_eq!((q.signal, q.metric.as_str()), (Some(spec::Signal::Errors), ""));
        assert_eq!(panels[1].lines[0].signal, Some(spec::Signal::Errors));
        assert_eq!(panels[2].columns[0].query().signal, Some(spec::Signal::Errors));
        // Written out, it reads back the same.
        let written = write::to_toml(&d, &Default::default());
        assert!(written.contains("signal = \"errors\""), "{written}");
        assert_eq!(Dashboard::parse(&written, Path::new("w.toml")).unwrap(), d);

        let panel = |body: &str| format!("[[page]]\ntitle = \"A\"\n[[page.row]]\n[[page.row.panel]]\n{body}\n");
        let e = err(&panel("type = \"bignum\"\nmetric = \"m\"\nsignal = \"errors\""));
        assert!(e.contains("give `metric` or `signal`") && e.starts_with("d.toml:4:"), "{e}");
        let e = err(&panel("type = \"bignum\"\nsignal = \"latency\""));
        assert!(e.contains("latency") && e.contains("errors"), "{e}");
        let e = err(&panel("type = \"bignum\"\nsignal = \"errors\"\nsource = \"p\""));
        assert!(e.contains("`source` names the Prometheus source"), "{e}");
    }
}
