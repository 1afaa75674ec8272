//! Dashboards from other tools turned into vigil dashboard files.
//!
//! An importer reads the other tool's model into a typed model of its own,
//! builds vigil's dashboard spec from it, and prints that with the one
//! writer of dashboard files ([`crate::dashboards::write`]), with comments
//! saying where each panel came from.

pub mod grafana;

pub use grafana::translate;

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
