//! Service level objectives: what share of events must be good over a long
//! window, how much of the error budget is left, and how fast it burns.
//!
//! Short windows (up to six hours) are read from the store as it stands.
//! The objective's own window (days or weeks) is longer than the store
//! holds, so each SLO keeps a ledger of good and total events in
//! five-minute buckets ([`ledger`]), saved with the dashboard's state.
//!
//! Burn-rate alerts follow the multi-window, multi-burn-rate pattern: each
//! needs a long window (the budget really is burning) and a short one (it
//! still is) past the same rate, and they go through the same lifecycle as
//! every other alert ([`crate::core::alert::engine`]).

pub mod ledger;

use crate::core::alert::engine::{self, Change, Phase, Timing};
use crate::core::format::duration;
pub use crate::core::format::span_name;
use crate::core::model::{Alert, AlertState, Severity};
use crate::core::query::spec::QuerySpec;
use crate::core::query::{Reader, Span};
use crate::core::store::Store;
use ledger::Ledger;
use serde::Deserialize;
use std::collections::HashMap;
use std::time::Duration;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// The windows burn rates are shown over.
pub const SHOWN_BURNS: [i64; 3] = [5 * MINUTE, HOUR, 6 * HOUR];

/// One `[[slo]]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloSpec {
    pub name: String,
    /// The share of good events promised, in percent (99.9).
    pub objective: f64,
    /// The window the promise covers.
    #[serde(default = "thirty_days", deserialize_with = "duration")]
    pub window: Duration,
    /// Every event (a counter).
    #[serde(default)]
    pub total: Option<QuerySpec>,
    /// The good ones among them (a counter); or give `bad` instead.
    #[serde(default)]
    pub good: Option<QuerySpec>,
    #[serde(default)]
    pub bad: Option<QuerySpec>,
    /// A latency histogram: its requests are the events, and those answered
    /// within `under` are the good ones.
    #[serde(default)]
    pub latency: Option<QuerySpec>,
    #[serde(default, deserialize_with = "some_duration")]
    pub under: Option<Duration>,
    /// Raise the burn-rate alerts (page and ticket).
    #[serde(default = "yes")]
    pub alerts: bool,
}

fn thirty_days() -> Duration {
    Duration::from_secs(30 * 86_400)
}

fn yes() -> bool {
    true
}

fn some_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration(d).map(Some)
}

impl SloSpec {
    /// What serde cannot see: a missing or doubled SLI, an objective out of
    /// range.
    pub fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("name is empty".into());
        }
        if !(self.objective > 0.0 && self.objective < 100.0) {
            return Err(format!("objective {} must be a percentage between 0 and 100, like 99.9", self.objective));
        }
        if self.window < Duration::from_secs(3600) || self.window > Duration::from_secs(400 * 86_400) {
            return Err("window must be from 1h to 400d".into());
        }
        let events = self.total.is_some() || self.good.is_some() || self.bad.is_some();
        match (events, &self.latency) {
            (true, Some(_)) => Err("give either total with good or bad, or latency with under; not both".into()),
            (false, None) => Err("needs an SLI: total with good or bad, or latency with under".into()),
            (true, None) if self.total.is_none() => {
                Err("good and bad are counted against total, which is missing".into())
            }
            (true, None) if self.good.is_some() == self.bad.is_some() => Err("give one of good or bad".into()),
            (false, Some(_)) if self.under.is_none() => {
                Err("latency needs under, the time a good request takes".into())
            }
            _ => Ok(()),
        }
    }

    /// The share of events allowed to be bad (0.001 for 99.9%).
    pub fn allowed(&self) -> f64 {
        1.0 - self.objective / 100.0
    }

    /// The error budget as time: the window times the share allowed bad.
    pub fn budget_ms(&self) -> i64 {
        (self.window.as_millis() as f64 * self.allowed()).round() as i64
    }

    /// `(good, total)` events in `(to_ms - window_ms, to_ms]`, read from the
    /// store; `None` where it holds too little to say.
    pub fn counts(&self, reader: &Reader, to_ms: i64, window_ms: i64) -> Option<(f64, f64)> {
        if let (Some(latency), Some(under)) = (&self.latency, self.under) {
            let (all, good) = reader.counts_under(latency, under.as_secs_f64(), to_ms, window_ms)?;
            return Some((good.clamp(0.0, all.max(0.0)), all));
        }
        // Counters as rates over the window (resets handled there), times
        // its length: the increase, as Prometheus's `increase` gives it.
        let span = Span { to_ms, window_ms, step_ms: (window_ms / 2).max(1) };
        let increase = |q: &QuerySpec| {
            let e = reader.eval(q, &[], &span);
            e.points.last().filter(|p| p.0 == to_ms).map(|p| p.1 * window_ms as f64 / 1000.0)
        };
        let total = increase(self.total.as_ref()?)?;
        let good = match (&self.good, &self.bad) {
            (Some(g), _) => increase(g)?,
            // Many exporters create an error counter at the first error:
            // until then there were none.
            (None, Some(b)) => total - increase(b).unwrap_or(0.0),
            (None, None) => return None,
        };
        Some((good.clamp(0.0, total), total))
    }

    /// `(end, (good, total))` for `n` buckets of `bucket_ms` ending at
    /// `last_end` and before it, oldest first, worked out in one pass over
    /// the store (a grid whose steps are the buckets) rather than one read
    /// per bucket.
    pub fn bucket_counts(&self, reader: &Reader, last_end: i64, n: usize, bucket_ms: i64) -> Vec<(i64, (f64, f64))> {
        let window_ms = n as i64 * bucket_ms;
        if let (Some(latency), Some(under)) = (&self.latency, self.under) {
            let span = Span { to_ms: last_end, window_ms, step_ms: bucket_ms };
            return reader
                .counts_under_cells(latency, under.as_secs_f64(), &span)
                .into_iter()
                .filter_map(|(t, c)| c.map(|(all, good)| (t, (good.clamp(0.0, all.max(0.0)), all))))
                .collect();
        }
        // Half-bucket steps: a rate's window is two steps, one bucket, so
        // the rate at a bucket's end covers that bucket.
        let span = Span { to_ms: last_end, window_ms, step_ms: (bucket_ms / 2).max(1) };
        let increases = |q: &QuerySpec| -> HashMap<i64, f64> {
            let e = reader.eval(q, &[], &span);
            e.points.into_iter().map(|(t, rate)| (t, rate * bucket_ms as f64 / 1000.0)).collect()
        };
        let Some(total) = self.total.as_ref().map(increases) else { return Vec::new() };
        let good = self.good.as_ref().map(increases);
        let bad = self.bad.as_ref().map(increases);
        (0..n as i64)
            .rev()
            .map(|k| last_end - k * bucket_ms)
            .filter_map(|end| {
                let total = *total.get(&end)?;
                let good = match (&good, &bad) {
                    (Some(g), _) => *g.get(&end)?,
                    (None, Some(b)) => total - b.get(&end).copied().unwrap_or(0.0),
                    (None, None) => return None,
                };
                Some((end, (good.clamp(0.0, total), total)))
            })
            .collect()
    }
}

/// One multi-window burn-rate alert.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnAlert {
    pub name: &'static str,
    pub long_ms: i64,
    pub short_ms: i64,
    /// Both windows must burn faster than this many times the sustainable rate.
    pub rate: f64,
    pub severity: Severity,
}

/// Budget gone in about two days, or five; or not lasting the window.
pub const BURN_ALERTS: [BurnAlert; 3] = [
    BurnAlert { name: "fast burn", long_ms: HOUR, short_ms: 5 * MINUTE, rate: 14.4, severity: Severity::Critical },
    BurnAlert { name: "slow burn", long_ms: 6 * HOUR, short_ms: 30 * MINUTE, rate: 6.0, severity: Severity::Critical },
    BurnAlert { name: "budget burn", long_ms: 72 * HOUR, short_ms: 6 * HOUR, rate: 1.0, severity: Severity::Warning },
];

/// Where one SLO stands, for the screen and `vigil check`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SloStatus {
    pub name: String,
    pub objective: f64,
    pub window_ms: i64,
    /// Good over total across the part of the window the ledger holds.
    pub attainment: Option<f64>,
    /// How much of the window the ledger holds.
    pub covered_ms: i64,
    /// Share of the budget left (negative once it is overspent).
    pub budget_left: Option<f64>,
    /// The same as time.
    pub budget_left_ms: Option<i64>,
    /// Burn rates over [`SHOWN_BURNS`].
    pub burns: Vec<(i64, Option<f64>)>,
    /// Names of the burn alerts firing.
    pub firing: Vec<String>,
}

/// Every SLO, its ledger and its alerts' phases.
#[derive(Debug, Default)]
pub struct SloBook {
    specs: Vec<SloSpec>,
    ledgers: Vec<Ledger>,
    phases: HashMap<(usize, usize), Phase>,
    status: Vec<SloStatus>,
    /// When the ledgers were last brought up to date from the store.
    filled_at: Option<i64>,
    /// History arrived since: refill soon, but not on every batch of it.
    history_pending: bool,
}

/// What one evaluation changed: an alert to file (or drop, when `None`)
/// under an id, and the change of state if any (none for a firing alert's
/// new value).
pub type AlertChange = (String, Option<Alert>, Option<Change>);

/// How often the ledgers are refilled from the store; also after a backfill.
const FILL_EVERY_MS: i64 = ledger::BUCKET_MS;
/// Least time between refills for history arriving: a backfill comes in
/// many batches.
const REFILL_GAP_MS: i64 = 10_000;

impl SloBook {
    pub fn new(specs: Vec<SloSpec>) -> Self {
        let ledgers = specs.iter().map(Ledger::for_spec).collect();
        SloBook { specs, ledgers, ..Default::default() }
    }

    pub fn specs(&self) -> &[SloSpec] {
        &self.specs
    }

    pub fn status(&self) -> &[SloStatus] {
        &self.status
    }

    pub fn ledgers(&self) -> &[Ledger] {
        &self.ledgers
    }

    /// Whether one of these SLOs counts what `ledger` counted.
    pub fn claims(&self, ledger: &Ledger) -> bool {
        self.ledgers.iter().any(|l| l.name == ledger.name && l.sli == ledger.sli)
    }

    /// Takes saved ledgers whose SLI is the one configured now.
    pub fn restore(&mut self, saved: Vec<Ledger>) {
        for s in saved {
            // Only the counts: the window is the config's, which may have
            // changed since (the next fill trims to it).
            if let Some(l) = self.ledgers.iter_mut().find(|l| l.name == s.name && l.sli == s.sli) {
                l.buckets = s.buckets;
            }
        }
        self.filled_at = None;
    }

    /// Forgets every count kept, to be worked out again from the store at
    /// the next evaluation: what was counted was of another producer.
    pub fn forget_counts(&mut self) {
        for l in &mut self.ledgers {
            l.buckets.clear();
        }
        self.filled_at = None;
    }

    /// Asks for the ledgers to be refilled at the next evaluation: history
    /// just arrived.
    pub fn history_arrived(&mut self) {
        self.history_pending = true;
    }

    /// Brings the ledgers up to date when due, works out every status and
    /// steps the burn alerts. Returns the alerts that changed.
    pub fn evaluate(&mut self, store: &Store, now: i64) -> Vec<AlertChange> {
        let reader = Reader::new(store);
        let due = match self.filled_at {
            None => true,
            Some(t) => now / FILL_EVERY_MS != t / FILL_EVERY_MS || (self.history_pending && now - t >= REFILL_GAP_MS),
        };
        if due {
            self.history_pending = false;
            for (spec, ledger) in self.specs.iter().zip(&mut self.ledgers) {
                ledger.fill(spec, &reader, now);
            }
            self.filled_at = Some(now);
        }
        let mut changes = Vec::new();
        self.status.clear();
        for (i, (spec, ledger)) in self.specs.iter().zip(&self.ledgers).enumerate() {
            let burn = |window_ms: i64| burn_rate(spec, ledger, &reader, window_ms, now);
            let window_ms = spec.window.as_millis() as i64;
            let (good, total) = ledger.counts(now - window_ms, now).unwrap_or((0.0, 0.0));
            let attainment = (total > 0.0).then(|| good / total);
            let budget_left = attainment.map(|a| 1.0 - (1.0 - a) / spec.allowed());
            let mut status = SloStatus {
                name: spec.name.clone(),
                objective: spec.objective,
                window_ms,
                attainment,
                covered_ms: ledger.covered_ms(now - window_ms, now),
                budget_left,
                budget_left_ms: budget_left.map(|b| (b * spec.budget_ms() as f64).round() as i64),
                burns: SHOWN_BURNS.iter().map(|&w| (w, burn(w))).collect(),
                firing: Vec::new(),
            };
            for (j, alert) in BURN_ALERTS.iter().enumerate() {
                let verdict = if spec.alerts {
                    match (burn(alert.long_ms), burn(alert.short_ms)) {
                        (Some(long), Some(short)) => Some(long > alert.rate && short > alert.rate),
                        _ => None,
                    }
                } else {
                    Some(false)
                };
                let before = self.phases.get(&(i, j)).copied().unwrap_or(Phase::Inactive);
                let (phase, change) = engine::step(before, verdict, now, Timing::default());
                if matches!(phase, Phase::Inactive | Phase::Resolved { .. }) {
                    self.phases.remove(&(i, j));
                } else {
                    self.phases.insert((i, j), phase);
                }
                if matches!(phase, Phase::Firing { .. }) {
                    status.firing.push(alert.name.to_string());
                }
                // A firing alert's burn moves on: its value and summary are
                // brought up to date with every evaluation, not only changes.
                if change.is_some() || matches!(phase, Phase::Firing { .. }) {
                    let id = burn_alert_id(spec, alert);
                    let shown = burn_alert(spec, alert, phase, burn(alert.long_ms), now);
                    changes.push((id, shown, change));
                }
            }
            self.status.push(status);
        }
        changes
    }
}

/// How fast `spec` spends its error budget over the `window_ms` up to
/// `now`: 1 spends it in exactly the SLO's window. `None` with too little
/// held to say.
pub fn burn_rate(spec: &SloSpec, ledger: &Ledger, reader: &Reader, window_ms: i64, now: i64) -> Option<f64> {
    // A long window is judged only once most of it is held: an
    // hour of history is no verdict on six, or on three days.
    // (The newest buckets have not settled yet; they count.)
    let held = ledger.covered_ms(now - window_ms, now) + 2 * ledger::BUCKET_MS;
    if window_ms >= 30 * MINUTE && (held as f64) < 0.75 * window_ms as f64 {
        return None;
    }
    // Past what the store holds at fine grain, the ledger answers.
    let (good, total) =
        if window_ms > 6 * HOUR { ledger.counts(now - window_ms, now)? } else { spec.counts(reader, now, window_ms)? };
    // Good events are a share of all of them: a ledger read from disk that
    // says otherwise does not make the budget grow back.
    (total > 0.0).then(|| (1.0 - good / total).clamp(0.0, 1.0) / spec.allowed())
}

/// A burn alert's id: a key for acks and timelines, apart from rules' and
/// gateways' ids. What made the alert is its [`crate::core::model::Origin`].
fn burn_alert_id(spec: &SloSpec, alert: &BurnAlert) -> String {
    format!("slo:{}:{}", spec.name, alert.name)
}

/// The alert shown for a burn alert in `phase`; `None` once it is over.
fn burn_alert(spec: &SloSpec, alert: &BurnAlert, phase: Phase, long: Option<f64>, now: i64) -> Option<Alert> {
    let (state, starts_at, ends_at) = match phase {
        Phase::Inactive => return None,
        Phase::Pending { since } => (AlertState::Pending, Some(since), None),
        Phase::Firing { since, .. } => (AlertState::Firing, Some(since), None),
        Phase::NoData { since, firing_since } => (AlertState::NoData, Some(firing_since.unwrap_or(since)), None),
        Phase::Resolved { at } => (AlertState::Resolved, None, Some(at)),
    };
    let over = span_name(alert.long_ms);
    let burning = long.map_or_else(|| "no data".to_string(), |b| format!("{b:.1}x"));
    Some(Alert {
        id: burn_alert_id(spec, alert),
        origin: crate::core::model::Origin::Slo { slo: spec.name.clone(), burn: alert.name.to_string() },
        state,
        severity: alert.severity,
        metric: String::new(),
        labels: [("slo".to_string(), spec.name.clone())].into(),
        value: long,
        threshold: Some(alert.rate),
        summary: format!(
            "{}: {} of error budget ({burning} over {over}, limit {}x)",
            spec.name, alert.name, alert.rate
        ),
        starts_at,
        ends_at,
        updated_ms: now,
        open_start: false,
    })
}

/// SLOs on the demo shop's checkout: 99.5% of requests answered without a
/// server error (its calm error rate is 0.1-0.2%, so incidents show as
/// burns), and 99% within 500 ms (a bucket bound of the demo's histograms).
const DEMO: &str = r#"
[[slo]]
name = "checkout availability"
objective = 99.5
window = "30d"
total = { metric = "http_requests_total", labels = { service = "checkout" } }
bad = { signal = "errors", labels = { service = "checkout" } }

[[slo]]
name = "checkout latency"
objective = 99.0
window = "30d"
latency = { metric = "http_request_duration_seconds", labels = { service = "checkout" } }
under = "500ms"
"#;

/// The demo's SLOs.
pub fn demo() -> Vec<SloSpec> {
    #[derive(Deserialize)]
    struct Demo {
        slo: Vec<SloSpec>,
    }
    toml::from_str::<Demo>(DEMO).map(|d| d.slo).unwrap_or_default()
}

#[cfg(test)]
mod tests;
