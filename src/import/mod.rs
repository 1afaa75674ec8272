//! Dashboards from other tools turned into vigil dashboard files.
//!
//! An importer reads the other tool's model and fills the small model here
//! (`Page`, `Row`, `Panel`), which is written out as TOML in the
//! layout of `dashboards/default.toml`. The text is written by hand rather
//! than by a serializer so that it reads like a file a person wrote (one
//! `[[page.row.panel]]` table per panel, chart lines inline), and every
//! string goes through [`toml_string`], which is tested to round-trip.

pub mod grafana;

pub use grafana::translate;

use std::fmt::Write as _;
use std::time::Duration;

/// What the caller decides for an import.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Prometheus source every query (and the page's choices) names;
    /// none: vigil's first Prometheus source.
    pub source: Option<String>,
    /// How often Prometheus scrapes; Grafana's `$__rate_interval` and
    /// `$__interval` are derived from it.
    pub scrape_interval: Duration,
}

impl Default for Options {
    fn default() -> Self {
        // Prometheus's own default scrape interval, and Grafana's.
        Options { source: None, scrape_interval: Duration::from_secs(15) }
    }
}

/// The result of an import: the dashboard file and what was left behind.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// A vigil dashboard file; always one that `Dashboard::parse` accepts.
    pub toml: String,
    /// How many of the source's panels became vigil panels.
    pub translated: usize,
    pub skipped: Vec<Skipped>,
    /// Approximations made on the way, one sentence each.
    pub notes: Vec<String>,
}

/// A panel that could not be carried over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub title: String,
    /// The source's panel type, e.g. `piechart`.
    pub kind: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("{line}:{column}: not valid JSON: {message}")]
    Json { line: usize, column: usize, message: String },
    #[error("not a Grafana dashboard: {0}")]
    NotADashboard(String),
}

/// One vigil page, as it will be written.
#[derive(Debug, Clone, Default)]
pub(crate) struct Page {
    pub title: String,
    pub key: Option<String>,
    pub select: Option<String>,
    pub select_query: Option<String>,
    pub select_source: Option<String>,
    pub window: Option<String>,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Row {
    pub height: Option<u16>,
    pub panels: Vec<Panel>,
}

/// A panel: only the fields an importer fills are here.
#[derive(Debug, Clone, Default)]
pub(crate) struct Panel {
    /// Written as a comment above the panel: where it came from.
    pub origin: Option<String>,
    pub kind: &'static str,
    pub title: String,
    pub width: u16,
    pub query: Option<String>,
    pub source: Option<String>,
    pub by: Option<String>,
    pub unit: Option<&'static str>,
    pub warn: Option<f64>,
    pub crit: Option<f64>,
    pub below: bool,
    pub max: Option<f64>,
    pub lines: Vec<Line>,
    pub columns: Vec<Column>,
    pub text: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Line {
    pub title: String,
    pub query: String,
    pub source: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Column {
    pub title: String,
    pub query: String,
    pub source: Option<String>,
    pub unit: Option<&'static str>,
    pub warn: Option<f64>,
    pub crit: Option<f64>,
    pub below: bool,
    pub show: Option<&'static str>,
    pub max: Option<f64>,
}

/// The dashboard file: `header` lines as comments, then the pages.
pub(crate) fn write_dashboard(header: &[String], pages: &[Page]) -> String {
    let mut out = String::new();
    for line in header {
        // A header line is ours, but may quote a title: keep it one line.
        let _ = writeln!(out, "# {}", crate::wire::sanitize(line));
    }
    for page in pages {
        out.push_str("\n[[page]]\n");
        field(&mut out, "title", Some(&page.title));
        field(&mut out, "key", page.key.as_deref());
        field(&mut out, "select", page.select.as_deref());
        field(&mut out, "select_query", page.select_query.as_deref());
        field(&mut out, "select_source", page.select_source.as_deref());
        field(&mut out, "window", page.window.as_deref());
        for row in &page.rows {
            out.push_str("\n[[page.row]]\n");
            if let Some(h) = row.height {
                let _ = writeln!(out, "height = {h}");
            }
            for panel in &row.panels {
                write_panel(&mut out, panel);
            }
        }
    }
    out
}

fn write_panel(out: &mut String, p: &Panel) {
    out.push('\n');
    if let Some(origin) = &p.origin {
        let _ = writeln!(out, "# {}", crate::wire::sanitize(origin));
    }
    out.push_str("[[page.row.panel]]\n");
    field(out, "type", Some(p.kind));
    field(out, "title", Some(&p.title));
    if p.width > 1 {
        let _ = writeln!(out, "width = {}", p.width);
    }
    field(out, "query", p.query.as_deref());
    field(out, "source", p.source.as_deref().filter(|_| p.query.is_some()));
    field(out, "by", p.by.as_deref());
    field(out, "unit", p.unit);
    number(out, "warn", p.warn);
    number(out, "crit", p.crit);
    if p.below {
        out.push_str("below = true\n");
    }
    number(out, "max", p.max);
    field(out, "text", p.text.as_deref());
    if !p.lines.is_empty() {
        out.push_str("lines = [\n");
        for l in &p.lines {
            let _ = write!(out, "  {{ title = {}, query = {}", toml_string(&l.title), toml_string(&l.query));
            if let Some(s) = &l.source {
                let _ = write!(out, ", source = {}", toml_string(s));
            }
            out.push_str(" },\n");
        }
        out.push_str("]\n");
    }
    for c in &p.columns {
        out.push_str("\n[[page.row.panel.columns]]\n");
        field(out, "title", Some(&c.title));
        field(out, "query", Some(&c.query));
        field(out, "source", c.source.as_deref());
        field(out, "unit", c.unit);
        number(out, "warn", c.warn);
        number(out, "crit", c.crit);
        if c.below {
            out.push_str("below = true\n");
        }
        field(out, "show", c.show);
        number(out, "max", c.max);
    }
}

fn field(out: &mut String, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        let _ = writeln!(out, "{key} = {}", toml_string(v));
    }
}

fn number(out: &mut String, key: &str, value: Option<f64>) {
    if let Some(v) = value.filter(|v| v.is_finite()) {
        let _ = writeln!(out, "{key} = {}", num(v));
    }
}

/// A finite number as TOML (and PromQL) write it: whole numbers without a
/// fraction, others in Rust's shortest form that reads back exactly.
pub(crate) fn num(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        // `as` drops the sign of -0.0, which is the point.
        format!("{}", v as i64)
    } else {
        format!("{v:?}")
    }
}

/// `s` as a TOML string that reads back as exactly `s`. PromQL is full of
/// double quotes and regex backslashes, so a single-quoted literal string
/// (no escapes at all) is preferred whenever it can hold the text.
pub fn toml_string(s: &str) -> String {
    let controls = |allowed: &[char]| s.chars().any(|c| c.is_control() && !allowed.contains(&c));
    if s.contains('\n') {
        // A multi-line literal cannot hold `'''`, nor end in a quote that
        // would merge with its closing delimiter.
        if !controls(&['\n', '\t']) && !s.contains("'''") && !s.ends_with('\'') {
            return format!("'''\n{s}'''");
        }
        return format!("\"\"\"\n{}\"\"\"", escape(s, true));
    }
    if !controls(&['\t']) && !s.contains('\'') && (s.contains('"') || s.contains('\\')) {
        return format!("'{s}'");
    }
    format!("\"{}\"", escape(s, false))
}

/// The body of a basic string; `multiline` keeps line feeds as they are.
fn escape(s: &str, multiline: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' if multiline => out.push('\n'),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read_back(repr: &str) -> String {
        let doc = format!("k = {repr}\n");
        let table: toml::Table = toml::from_str(&doc).unwrap_or_else(|e| panic!("{doc:?}: {e}"));
        table["k"].as_str().unwrap().to_string()
    }

    #[test]
    fn promql_is_written_as_a_literal_string() {
        let q = r#"sum(rate(http_requests_total{job="api",path=~"/v1/.+\\d"}[1m]))"#;
        assert_eq!(toml_string(q), format!("'{q}'"));
        assert_eq!(read_back(&toml_string(q)), q);
        assert_eq!(toml_string("plain"), "\"plain\"");
        assert_eq!(read_back(&toml_string("it's \"x\" \\")), "it's \"x\" \\");
        let multi = "sum(\n  rate(x{a=\"b\"}[1m])\n)";
        assert!(toml_string(multi).starts_with("'''"));
        assert_eq!(read_back(&toml_string(multi)), multi);
        assert_eq!(read_back(&toml_string("ends in '\nquote'")), "ends in '\nquote'");
    }

    #[test]
    fn numbers_read_back() {
        for v in [0.0, 80.0, -3.0, 0.05, 1e-7, 123456.789, 1e20] {
            let t: toml::Table = toml::from_str(&format!("k = {}", num(v))).unwrap();
            assert_eq!(t["k"].as_float().or(t["k"].as_integer().map(|i| i as f64)), Some(v));
        }
    }

    proptest! {
        #[test]
        fn every_string_round_trips(s in any::<String>()) {
            prop_assert_eq!(read_back(&toml_string(&s)), s);
        }

        #[test]
        fn strings_of_quotes_and_breaks_round_trip(s in "['\"\\\\\n\r\t a{}$]{0,12}") {
            prop_assert_eq!(read_back(&toml_string(&s)), s);
        }
    }
}
