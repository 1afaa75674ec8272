//! The deterministic simulator behind the gateway: an online shop and its
//! five services, playing scripted incidents on a fixed timetable.
//!
//! Every output is a pure function of `(seed, scenario, t_ms)`: noise comes
//! from hashing the seed with a series id and a time knot, never from RNG
//! state or the wall clock. So the gateway can answer "what was the value at
//! t" for any t, live or historical, and two gateways with one seed agree.
//!
//! Layout: `schedule` (which incident plays when, events, status changes),
//! `shop` (traffic curve, KPIs, stock), `services` (per-service gauges and
//! instantaneous traffic), `latency` (distributions behind histograms),
//! `counters` (cumulative series from cached per-minute prefix sums),
//! `points` (wire points), `noise` (hash-based noise).

mod counters;
mod latency;
mod noise;
mod points;
mod schedule;
mod services;
mod shop;
#[cfg(test)]
mod tests;

pub use schedule::{IncidentWindow, PERIOD_MS, TOUR, TOUR_PERIOD_MS, TOUR_SLOT_MS};
pub use shop::LOW_STOCK;

use crate::wire::{EventFrame, MetricInfo, MetricKind, Point, StatusFrame};
use points::Moment;
use schedule::clamp_time;

/// Incident scripts the simulator can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Nothing goes wrong; a routine deploy now and then.
    Calm,
    /// `search` grows a slow tail: p99 to 1.5-3 s while the mean stays put.
    LongTail,
    /// `payments` answers 5-8 % of requests with 5xx.
    ErrorBurst,
    /// `checkout` runs out of CPU; its queue and DB pool fill up.
    CpuSaturation,
    /// A checkout deploy regresses errors and latency until it is rolled back.
    BadDeploy,
    /// Real-time data goes away: status frames and `system_health` change.
    Degraded,
    /// All of the above in turn, 5 minutes each, every 30 minutes.
    Tour,
}

impl Scenario {
    /// Every scenario, in the order `--help` lists them.
    pub const ALL: [Scenario; 7] = [
        Scenario::Calm,
        Scenario::LongTail,
        Scenario::ErrorBurst,
        Scenario::CpuSaturation,
        Scenario::BadDeploy,
        Scenario::Degraded,
        Scenario::Tour,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Calm => "calm",
            Scenario::LongTail => "long-tail",
            Scenario::ErrorBurst => "error-burst",
            Scenario::CpuSaturation => "cpu-saturation",
            Scenario::BadDeploy => "bad-deploy",
            Scenario::Degraded => "degraded",
            Scenario::Tour => "tour",
        }
    }
}

impl std::str::FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Scenario::ALL.into_iter().find(|sc| sc.name() == s).ok_or_else(|| {
            let names: Vec<_> = Scenario::ALL.iter().map(|s| s.name()).collect();
            format!("unknown scenario {s:?} (one of: {})", names.join(", "))
        })
    }
}

/// The five services the simulated shop runs.
pub const SERVICES: [&str; 5] = ["api", "checkout", "payments", "inventory", "search"];

/// Upper bounds (seconds) of both latency histograms; the last is `+Inf`.
pub const HISTOGRAM_BOUNDS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, f64::INFINITY];

/// The `product_id` labels of `inventory_level`.
pub const PRODUCT_IDS: [&str; 6] = ["12345", "23817", "34029", "40561", "51176", "68842"];

/// Whether falling values of `metric` are the bad direction (stock running
/// out), so a threshold on it fires below rather than above.
pub fn lower_is_worse(metric: &str) -> bool {
    metric == "inventory_level"
}

/// One entry of the catalogue, as constants.
struct Spec {
    name: &'static str,
    kind: MetricKind,
    unit: &'static str,
    help: &'static str,
}

const fn spec(name: &'static str, kind: MetricKind, unit: &'static str, help: &'static str) -> Spec {
    Spec { name, kind, unit, help }
}

/// Every metric the simulator produces, in the order `sample` emits them.
const CATALOGUE: [Spec; 16] = [
    spec("active_users", MetricKind::Gauge, "users", "Shoppers with a session active in the last five minutes"),
    spec("orders_per_minute", MetricKind::Gauge, "orders/min", "Orders placed, per minute"),
    spec("revenue_per_minute", MetricKind::Gauge, "USD", "Value of the orders placed, per minute"),
    spec("inventory_alerts", MetricKind::Gauge, "products", "Tracked products with fewer than 100 units in stock"),
    spec("inventory_level", MetricKind::Gauge, "units", "Units in stock, by product"),
    spec("system_health", MetricKind::Status, "", "Overall shop health: healthy, degraded or down"),
    spec("cpu_usage_percent", MetricKind::Gauge, "percent", "CPU busy across the service's instances"),
    spec("memory_usage_percent", MetricKind::Gauge, "percent", "Memory in use across the service's instances"),
    spec("db_connections_active", MetricKind::Gauge, "connections", "Database connections checked out of the pool"),
    spec("db_connections_max", MetricKind::Gauge, "connections", "Size of the service's database connection pool"),
    spec("transaction_queue_depth", MetricKind::Gauge, "items", "Work items waiting for a worker"),
    spec("http_requests_total", MetricKind::Counter, "requests", "HTTP requests served since midnight UTC, by status"),
    spec("http_errors_total", MetricKind::Counter, "requests", "HTTP requests answered with 5xx since midnight UTC"),
    spec("http_request_duration_seconds", MetricKind::Histogram, "seconds", "Time to answer an HTTP request"),
    spec(
        "transactions_total",
        MetricKind::Counter,
        "transactions",
        "Purchases and refunds since midnight UTC, by outcome",
    ),
    spec("transaction_duration_seconds", MetricKind::Histogram, "seconds", "Time to complete a purchase or refund"),
];

/// A deterministic source of every metric, event and status change.
///
/// Plain data: cheap to create, and changing `scenario` takes effect on the
/// next call (cached counter tables are keyed by seed and scenario).
#[derive(Debug, Clone)]
pub struct Simulator {
    /// Drives all noise; different seeds give different but equally shaped data.
    pub seed: u64,
    /// The incident script being played.
    pub scenario: Scenario,
}

impl Simulator {
    /// A simulator playing `scenario` with noise drawn from `seed`.
    pub fn new(seed: u64, scenario: Scenario) -> Self {
        Simulator { seed, scenario }
    }

    /// The metrics this simulator produces, for `hello.metrics`.
    pub fn catalogue(&self) -> Vec<MetricInfo> {
        CATALOGUE
            .iter()
            .map(|s| MetricInfo {
                name: s.name.to_string(),
                kind: s.kind,
                unit: s.unit.to_string(),
                help: s.help.to_string(),
            })
            .collect()
    }

    /// The kind of `metric`, or `None` when the simulator does not produce it.
    pub fn kind_of(&self, metric: &str) -> Option<MetricKind> {
        CATALOGUE.iter().find(|s| s.name == metric).map(|s| s.kind)
    }

    /// Every series at `t_ms` (ms since the epoch), in catalogue order.
    /// Counters and histograms count from the last UTC midnight.
    pub fn sample(&self, t_ms: i64) -> Vec<Point> {
        let moment = Moment::new(self.seed, self.scenario, clamp_time(t_ms));
        let mut out = Vec::with_capacity(160);
        for s in &CATALOGUE {
            moment.emit(s.name, &mut out);
        }
        out
    }

    /// The series of one metric at `t_ms`; empty for an unknown metric.
    /// Computes only that metric, so historical queries stay cheap.
    pub fn sample_metric(&self, metric: &str, t_ms: i64) -> Vec<Point> {
        let mut out = Vec::new();
        Moment::new(self.seed, self.scenario, clamp_time(t_ms)).emit(metric, &mut out);
        out
    }

    /// Deploy events with timestamp in `(from_ms, to_ms]`, oldest first,
    /// without `seq`. Spans longer than 31 days keep only their last 31 days.
    pub fn events_between(&self, from_ms: i64, to_ms: i64) -> Vec<EventFrame> {
        schedule::events_between(self.seed, self.scenario, from_ms, to_ms)
    }

    /// Status changes that happen in `(from_ms, to_ms]`, in order, without `seq`.
    pub fn status_between(&self, from_ms: i64, to_ms: i64) -> Vec<StatusFrame> {
        self.status_changes_between(from_ms, to_ms).into_iter().map(|(_, frame)| frame).collect()
    }

    /// Like [`Simulator::status_between`], with the time (ms since the epoch)
    /// of each change, since status frames carry no timestamp of their own.
    pub fn status_changes_between(&self, from_ms: i64, to_ms: i64) -> Vec<(i64, StatusFrame)> {
        schedule::status_between(self.scenario, from_ms, to_ms)
    }

    /// The incident playing at `t_ms`, if any: lets callers (and tests) find
    /// where the timetable puts things instead of hard-coding offsets.
    pub fn incident_at(&self, t_ms: i64) -> Option<IncidentWindow> {
        let w = schedule::window_at(self.scenario, clamp_time(t_ms));
        let playing = w.scenario != Scenario::Calm && t_ms >= w.start_ms && t_ms < w.end_ms;
        playing.then_some(w)
    }
}
