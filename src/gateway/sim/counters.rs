//! Cumulative counters and histograms, anchored at UTC midnight.
//!
//! Each cumulative series is the integral of a rate (requests per second,
//! or requests per second under a bucket bound, ...). The rate is evaluated
//! at knots 10 s apart and taken as linear between them, so the integral has
//! a closed form inside each knot span. Prefix sums at every minute of a
//! UTC day are computed once per (seed, scenario, service, day) and cached;
//! a query then costs at most seven rate evaluations, whatever the hour.
//! Reported values are `floor` of the integral: integral, monotonic in time
//! (the integrand is never negative), and ordered across buckets (the
//! integrands are ordered at every knot and the arithmetic is monotone).

use super::Scenario;
use super::schedule::Incident;
use super::services::{self, Traffic};
use std::sync::{Arc, Mutex, PoisonError};

const DAY_MS: i64 = 86_400_000;
const MINUTE_MS: i64 = 60_000;
const KNOT_MS: i64 = 10_000;
/// [`KNOT_MS`] in seconds, spelt once so the table and the query integrate
/// a full span with bit-identical arithmetic.
const KNOT_S: f64 = 10.0;
const KNOTS_PER_MINUTE: i64 = MINUTE_MS / KNOT_MS;
const MINUTES_PER_DAY: usize = (DAY_MS / MINUTE_MS) as usize;

/// Column layout of one service's cumulative values.
pub(crate) const STATUS_COL: usize = 0;
pub(crate) const BUCKET_COL: usize = STATUS_COL + services::STATUSES.len();
pub(crate) const SUM_COL: usize = BUCKET_COL + super::HISTOGRAM_BOUNDS.len();
pub(crate) const TX_COL: usize = SUM_COL + 1;
pub(crate) const TX_BUCKET_COL: usize = TX_COL + services::TX_KINDS.len();
pub(crate) const TX_SUM_COL: usize = TX_BUCKET_COL + super::HISTOGRAM_BOUNDS.len();
/// Columns of a service without transactions, and of one with them.
const PLAIN_COLS: usize = TX_COL;
pub(crate) const COLS: usize = TX_SUM_COL + 1;

/// Cumulative values of every column of one service at one instant.
pub(crate) type Cumulative = [f64; COLS];

fn width(svc: usize) -> usize {
    if services::has_transactions(svc) { COLS } else { PLAIN_COLS }
}

/// The integrand row at a knot: every column's rate per second.
fn rates(seed: u64, scenario: Scenario, svc: usize, t_ms: i64) -> Cumulative {
    let inc = Incident::at(scenario, t_ms);
    let Traffic { rate, status_shares, latency, tx_rates, tx_latency } = services::traffic(seed, svc, &inc, t_ms);
    let mut row = [0.0; COLS];
    for (slot, share) in row[STATUS_COL..].iter_mut().zip(status_shares) {
        *slot = rate * share;
    }
    for (slot, share) in row[BUCKET_COL..].iter_mut().zip(latency.bucket_shares()) {
        *slot = rate * share;
    }
    row[SUM_COL] = rate * latency.mean();
    if services::has_transactions(svc) {
        let tx_total: f64 = tx_rates.iter().sum();
        row[TX_COL..TX_BUCKET_COL].copy_from_slice(&tx_rates);
        for (slot, share) in row[TX_BUCKET_COL..].iter_mut().zip(tx_latency.bucket_shares()) {
            *slot = tx_total * share;
        }
        row[TX_SUM_COL] = tx_total * tx_latency.mean();
    }
    row
}

/// Adds the integral over `x` seconds of a rate that runs linearly from
/// `g0` toward `g1` across a full knot span. Written as `x` times a convex
/// blend so that ordered integrands give ordered results in floating point.
fn advance(acc: &mut [f64], g0: &[f64], g1: &[f64], x: f64) {
    let w = x / (2.0 * KNOT_S);
    for ((a, &r0), &r1) in acc.iter_mut().zip(g0).zip(g1) {
        *a += x * ((1.0 - w) * r0 + w * r1);
    }
}

/// Prefix sums of one service for one UTC day: row `m` holds the
/// cumulative values at the start of minute `m`.
struct DayTable {
    cols: usize,
    rows: Vec<f64>,
}

impl DayTable {
    fn build(key: &Key) -> DayTable {
        let cols = width(key.svc);
        let mut rows = vec![0.0; MINUTES_PER_DAY * cols];
        let day_start = key.day * DAY_MS;
        let mut acc = vec![0.0; cols];
        let mut g0 = rates(key.seed, key.scenario, key.svc, day_start);
        for minute in 1..MINUTES_PER_DAY {
            let minute_start = day_start + (minute as i64 - 1) * MINUTE_MS;
            for k in 1..=KNOTS_PER_MINUTE {
                let g1 = rates(key.seed, key.scenario, key.svc, minute_start + k * KNOT_MS);
                advance(&mut acc, &g0[..cols], &g1[..cols], KNOT_S);
                g0 = g1;
            }
            rows[minute * cols..(minute + 1) * cols].copy_from_slice(&acc);
        }
        DayTable { cols, rows }
    }

    fn row(&self, minute: usize) -> &[f64] {
        &self.rows[minute * self.cols..(minute + 1) * self.cols]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    seed: u64,
    scenario: Scenario,
    svc: usize,
    day: i64,
}

/// Enough tables for every service over a week and a bit; about 20 MiB.
const CACHE_CAPACITY: usize = 64;

/// Least-recently-used tables, shared by every simulator in the process so
/// that a `Simulator` stays a plain value (and a changed `scenario` field
/// simply selects other tables).
struct Cache {
    entries: Vec<(Key, Arc<DayTable>, u64)>,
    clock: u64,
}

static CACHE: Mutex<Cache> = Mutex::new(Cache { entries: Vec::new(), clock: 0 });

fn table(key: Key) -> Arc<DayTable> {
    {
        // A panic elsewhere while holding the lock leaves the cache intact
        // (entries are inserted whole), so a poisoned lock is still usable.
        let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        cache.clock += 1;
        let now = cache.clock;
        if let Some(entry) = cache.entries.iter_mut().find(|e| e.0 == key) {
            entry.2 = now;
            return Arc::clone(&entry.1);
        }
    }
    // Built outside the lock so a cold day does not stall other callers;
    // two threads may race to build the same day, and one result is dropped.
    let built = Arc::new(DayTable::build(&key));
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    cache.clock += 1;
    let now = cache.clock;
    if let Some(entry) = cache.entries.iter_mut().find(|e| e.0 == key) {
        entry.2 = now;
        return Arc::clone(&entry.1);
    }
    if cache.entries.len() >= CACHE_CAPACITY {
        let oldest = cache.entries.iter().enumerate().min_by_key(|(_, e)| e.2).map(|(i, _)| i);
        if let Some(oldest) = oldest {
            cache.entries.swap_remove(oldest);
        }
    }
    cache.entries.push((key, Arc::clone(&built), now));
    built
}

/// Every cumulative column of service `svc` at `t_ms`, since the last UTC
/// midnight. Columns a service does not have are zero.
pub(crate) fn cumulative(seed: u64, scenario: Scenario, svc: usize, t_ms: i64) -> Cumulative {
    let day = t_ms.div_euclid(DAY_MS);
    let since_midnight = t_ms - day * DAY_MS;
    let minute = (since_midnight / MINUTE_MS) as usize;
    let table = table(Key { seed, scenario, svc, day });
    let cols = table.cols;
    let mut acc = [0.0; COLS];
    acc[..cols].copy_from_slice(table.row(minute));

    let minute_start = t_ms - since_midnight % MINUTE_MS;
    if minute_start == t_ms {
        return acc;
    }
    let mut g0 = rates(seed, scenario, svc, minute_start);
    for k in 0..KNOTS_PER_MINUTE {
        let knot = minute_start + k * KNOT_MS;
        let g1 = rates(seed, scenario, svc, knot + KNOT_MS);
        if t_ms >= knot + KNOT_MS {
            advance(&mut acc[..cols], &g0[..cols], &g1[..cols], KNOT_S);
            g0 = g1;
        } else {
            advance(&mut acc[..cols], &g0[..cols], &g1[..cols], (t_ms - knot) as f64 / 1000.0);
            break;
        }
    }
    acc
}
