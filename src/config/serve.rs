//! `[serve]`: what `vigil serve` is fed and how it listens, for a gateway
//! run from a config file rather than flags. Flags given on the command
//! line win over these.

use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Address to listen on, e.g. "0.0.0.0:7878".
    pub bind: Option<String>,
    /// Services' `/metrics` pages, read every `interval`.
    pub scrape: Vec<String>,
    /// A Prometheus-compatible API the `match` selectors are read from.
    pub prometheus: Option<String>,
    /// Series selectors read from `prometheus` every `interval`.
    #[serde(rename = "match")]
    pub matches: Vec<String>,
    /// Play the demo simulator as well as (or, with no other input, in
    /// place of) real inputs.
    pub simulate: Option<bool>,
    pub scenario: Option<String>,
    pub seed: Option<u64>,
    /// Time between frames and between reads of the inputs.
    #[serde(deserialize_with = "opt_duration")]
    pub interval: Option<Duration>,
    /// Where the gateway keeps its store, acks and silences across restarts;
    /// default the user's state dir (see [`ServeConfig::state_dir`]).
    pub state_dir: Option<PathBuf>,
    /// How often the gateway saves its store there. Pushed points are on
    /// disk before they are answered whatever this is; it bounds how much
    /// of the push log a start replays and how much of what the inputs read
    /// a crash loses.
    #[serde(deserialize_with = "super::duration")]
    pub save_every: Duration,
    /// Most points one `POST /api/v1/metrics` may carry.
    pub max_push_points: usize,
    /// Largest body one `POST /api/v1/metrics` may send, in bytes.
    pub max_push_bytes: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            bind: None,
            scrape: Vec::new(),
            prometheus: None,
            matches: Vec::new(),
            simulate: None,
            scenario: None,
            seed: None,
            interval: None,
            state_dir: None,
            save_every: Duration::from_secs(60),
            max_push_points: 50_000,
            max_push_bytes: 8 << 20,
        }
    }
}

impl ServeConfig {
    /// Where the gateway keeps what must outlive it: `state_dir`, else the
    /// platform's state dir (`~/.local/state/vigil`, or `VIGIL_STATE_DIR`),
    /// where the dashboard keeps its acknowledgements too. Not the cache
    /// dir: a pushed point answered with 2xx is no cache, and cache dirs
    /// are cleaned without asking.
    pub fn state_dir(&self) -> Option<PathBuf> {
        self.state_dir.clone().or_else(super::state_dir)
    }
}

fn opt_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    super::duration(d).map(Some)
}
