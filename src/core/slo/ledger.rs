//! An SLO's memory of good and total events, in five-minute buckets, over
//! its whole window: days or weeks, longer than the store holds.
//!
//! Buckets the store still covers are worked out again from it on each
//! fill, so history that lands late (a backfill after a restart, a gap
//! filled in) is counted; older buckets are kept as they were, and saved
//! with the dashboard's state so a restart does not forget them.

use super::SloSpec;
use crate::core::query::Reader;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Length of a bucket.
pub const BUCKET_MS: i64 = 5 * 60_000;
/// How far back a fill reworks buckets: what the store holds at five
/// minutes or finer.
const REWORK_MS: i64 = 24 * 3_600_000;
/// A bucket is worked out once its data has had this long to arrive.
const SETTLE_MS: i64 = 30_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    pub name: String,
    /// The SLI it counts, written out: a ledger saved for another SLI is
    /// not used.
    pub sli: String,
    /// Window kept, in ms.
    pub window_ms: i64,
    /// `(good, total)` by the end of each bucket.
    pub buckets: BTreeMap<i64, (f64, f64)>,
}

impl Ledger {
    pub fn for_spec(spec: &SloSpec) -> Ledger {
        Ledger {
            name: spec.name.clone(),
            sli: sli_of(spec),
            window_ms: spec.window.as_millis() as i64,
            buckets: BTreeMap::new(),
        }
    }

    /// Works out every settled bucket the store covers, and forgets those
    /// past the window.
    pub fn fill(&mut self, spec: &SloSpec, reader: &Reader, now: i64) {
        let last = (now - SETTLE_MS).div_euclid(BUCKET_MS) * BUCKET_MS;
        // Where the store no longer (or not yet) holds a bucket, what was
        // counted before stays.
        let n = (REWORK_MS / BUCKET_MS) as usize;
        for (end, counts) in spec.bucket_counts(reader, last, n, BUCKET_MS) {
            self.buckets.insert(end, counts);
        }
        let oldest = now - self.window_ms - BUCKET_MS;
        self.buckets = self.buckets.split_off(&oldest);
    }

    /// `(good, total)` over the buckets ending in `(from, to]`; `None` with
    /// none.
    pub fn counts(&self, from: i64, to: i64) -> Option<(f64, f64)> {
        let mut seen = false;
        let sum = self.buckets.range(from + BUCKET_MS..=to).fold((0.0, 0.0), |acc, (_, c)| {
            seen = true;
            (acc.0 + c.0, acc.1 + c.1)
        });
        seen.then_some(sum)
    }

    /// How much of `(from, to]` the buckets cover.
    pub fn covered_ms(&self, from: i64, to: i64) -> i64 {
        self.buckets.range(from + BUCKET_MS..=to).count() as i64 * BUCKET_MS
    }
}

/// The SLI in words, to tell whether a saved ledger counted the same thing.
fn sli_of(spec: &SloSpec) -> String {
    let q = |q: &Option<crate::core::query::spec::QuerySpec>| match q {
        Some(q) => {
            let labels: Vec<String> = q.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{}{{{}}}", q.metric, labels.join(","))
        }
        None => "-".into(),
    };
    format!(
        "total={} good={} bad={} latency={} under={:?}",
        q(&spec.total),
        q(&spec.good),
        q(&spec.bad),
        q(&spec.latency),
        spec.under
    )
}
