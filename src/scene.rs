//! The picture the view draws: everything on screen, already derived,
//! published as an immutable `Arc<Scene>`. The view reads only this.

use crate::model::{Alert, ConnState, Event, StatusBanner, Transport};

/// A value and when it last arrived live (wall clock, ms); `fresh_at` of
/// `None` means it came only from history and was never seen live.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading<T> {
    pub value: T,
    pub fresh_at: Option<i64>,
}

/// How to print a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    /// US dollars.
    Money,
    /// 0-100.
    Percent,
    /// 0-1 shown as a percentage.
    Ratio,
    Seconds,
    PerSecond,
}

/// One business KPI.
#[derive(Debug, Clone, PartialEq)]
pub struct Kpi {
    pub title: &'static str,
    pub unit: Unit,
    pub now: Option<Reading<f64>>,
    /// Oldest first, about one value per data interval.
    pub trend: Vec<f64>,
    /// Value at or above which the KPI is a warning (e.g. inventory alerts).
    pub warn_at: Option<f64>,
}

/// The golden signals of one service.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceRow {
    pub name: String,
    pub rps: Option<Reading<f64>>,
    pub rps_trend: Vec<f64>,
    pub error_ratio: Option<Reading<f64>>,
    pub error_trend: Vec<f64>,
    pub p50: Option<Reading<f64>>,
    pub p99: Option<Reading<f64>>,
    pub p99_trend: Vec<f64>,
    pub cpu: Option<Reading<f64>>,
    pub memory: Option<Reading<f64>>,
    pub db_active: Option<Reading<f64>>,
    pub db_max: Option<f64>,
    pub queue: Option<Reading<f64>>,
}

/// What the data source is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceInfo {
    /// Where the stream comes from, as shown in the status bar.
    pub url: String,
    /// `Some(scenario)` when this is the embedded demo.
    pub demo: Option<String>,
}

/// Health of the link and of the data, for the status bar.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkInfo {
    pub conn: ConnState,
    pub interval_ms: i64,
    /// Wall clock of the newest live point.
    pub last_live_ms: Option<i64>,
    pub frames_per_sec: f64,
    pub malformed: u64,
    pub last_malformed: Option<String>,
    pub reconnects: u64,
    pub seq_gaps: u64,
    pub backfills: u64,
}

impl Default for LinkInfo {
    fn default() -> Self {
        LinkInfo {
            conn: ConnState::Connecting { attempt: 0 },
            interval_ms: 1000,
            last_live_ms: None,
            frames_per_sec: 0.0,
            malformed: 0,
            last_malformed: None,
            reconnects: 0,
            seq_gaps: 0,
            backfills: 0,
        }
    }
}

/// What one gateway's link is doing, as the sources page judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceHealth {
    /// Connected, and a frame or answer arrived recently.
    Live,
    /// Connected, but nothing has worked for a while: the data may be lying.
    Stale,
    /// Not connected, and the last attempt failed.
    Down,
    /// Not connected and nothing failed: not dialled yet, or a standby.
    #[default]
    Idle,
}

impl SourceHealth {
    /// The word the sources page and `tail --sources` print.
    pub fn name(self) -> &'static str {
        match self {
            SourceHealth::Live => "live",
            SourceHealth::Stale => "stale",
            SourceHealth::Down => "down",
            SourceHealth::Idle => "idle",
        }
    }
}

/// One gateway on the sources page: its link in words, times and rates.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceRow {
    pub url: String,
    /// The transport in use, or last used; `None` before the first connection.
    pub transport: Option<Transport>,
    pub health: SourceHealth,
    pub connected: bool,
    /// Wall clock of the last frame or answer that worked.
    pub last_success_ms: Option<i64>,
    pub rtt_ms: Option<f64>,
    pub reconnects: u64,
    pub bytes_per_sec: f64,
    pub frames_per_sec: f64,
    pub points_per_sec: f64,
    pub malformed: u64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scene {
    pub source: SourceInfo,
    pub link: LinkInfo,
    pub kpis: Vec<Kpi>,
    pub health: Option<Reading<String>>,
    pub services: Vec<ServiceRow>,
    /// Firing first, loudest first.
    pub alerts: Vec<Alert>,
    /// Newest first.
    pub events: Vec<Event>,
    pub banner: Option<StatusBanner>,
    /// Every gateway, preferred first.
    pub sources: Vec<SourceRow>,
}

impl Scene {
    /// A reading is stale when nothing arrived for three data intervals, or
    /// when it never arrived live at all.
    pub fn is_stale<T>(&self, r: &Reading<T>, now_ms: i64) -> bool {
        match r.fresh_at {
            None => true,
            Some(at) => !self.link.conn.is_connected() || now_ms - at > 3 * self.link.interval_ms.max(250),
        }
    }

    /// Age of the newest live data, in ms.
    pub fn data_age_ms(&self, now_ms: i64) -> Option<i64> {
        self.link.last_live_ms.map(|t| (now_ms - t).max(0))
    }
}
