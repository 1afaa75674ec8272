//! The store: every series in fixed-size rings at three resolutions, so
//! memory has a ceiling however long vigil runs.
//!
//! | tier | resolution | span |
//! |------|------------|------|
//! | 0    | raw points | the last 1260 points (21 min at 1 s) |
//! | 1    | 15 s       | 4 h |
//! | 2    | 5 min      | 24 h |

pub mod derive;
mod tier;

pub use tier::{Fold, Placed, Slot, Tier};

use crate::core::model::{Kind, MetricMeta, Observation, Sample, SeriesKey, SourceId};
use std::collections::HashMap;
use std::sync::Arc;

/// Hasher of the series index. SipHash (the std default) was the largest
/// single cost of ingest; foldhash is several times faster on short keys and
/// still seeded per process, and the series cap bounds what a hostile label
/// set could do to the table.
type FastState = foldhash::fast::RandomState;

/// Resolutions: (slot width in ms, slots kept); 0 means raw points. The raw
/// ring holds more than the default 15-minute window and what its rates
/// and quantiles look back over, so in that window the point where the ring
/// turns stays out of sight: no cell changes tier while it is on screen.
pub const TIERS: [(i64, usize); 3] = [(0, 1260), (15_000, 960), (300_000, 288)];
/// Series beyond this many are refused (and counted), so a server that
/// invents labels cannot exhaust memory.
pub const DEFAULT_MAX_SERIES: usize = 20_000;

/// The most memory one series of numbers holds, in bytes, however long it
/// runs: every slot of every tier (allocated when the series is created) and
/// the series itself, not counting its key. Text and histogram samples add
/// their heap data on top, capped per sample by `wire::MAX_TEXT` and
/// `wire::MAX_BUCKETS`.
pub fn series_ceiling_bytes() -> usize {
    let slots: usize = TIERS.iter().map(|&(_, cap)| cap).sum();
    slots * std::mem::size_of::<Slot>() + TIERS.len() * std::mem::size_of::<Tier>() + std::mem::size_of::<Series>()
}

/// One series at every resolution.
#[derive(Debug, Clone)]
pub struct Series {
    pub kind: Kind,
    tiers: Vec<Tier>,
    /// Wall-clock time (ms) this series last received a live point.
    pub last_live_ms: Option<i64>,
    /// Until when (wall clock, ms) its newest live point counts as fresh.
    pub fresh_until_ms: Option<i64>,
    /// The source of its newest live point.
    pub source: SourceId,
    /// Points taken in so far. With `rewritten`, this tells a reader that
    /// kept something worked out from the series what may have changed
    /// since: only what lies after the newest point it saw, unless a point
    /// landed at or before that.
    pub version: u64,
    /// `version` as it was after the last point that was not newer than
    /// every point before it (late data, a backfilled gap).
    pub rewritten: u64,
}

impl Series {
    fn new(kind: Kind) -> Self {
        Series {
            kind,
            tiers: TIERS.iter().map(|&(step, cap)| Tier::new(step, cap)).collect(),
            last_live_ms: None,
            fresh_until_ms: None,
            source: SourceId::GATEWAY,
            version: 0,
            rewritten: 0,
        }
    }

    fn fold(&self) -> Fold {
        if self.kind == Kind::Gauge { Fold::Mean } else { Fold::Last }
    }

    /// The newest point, from the full-resolution tier.
    pub fn latest(&self) -> Option<(i64, &Sample)> {
        self.tiers.iter().find_map(|t| t.slots().back().map(|s| (s.newest, &s.sample)))
    }

    /// The time of the oldest point any tier still holds.
    pub fn oldest(&self) -> Option<i64> {
        self.tiers.iter().filter_map(|t| t.slots().front().map(|f| f.newest)).min()
    }

    /// Points from `from_ms` on, at the finest resolution that reaches back that far.
    pub fn since(&self, from_ms: i64) -> Vec<(i64, &Sample)> {
        let tier = self
            .tiers
            .iter()
            .find(|t| t.first_ts().is_some_and(|first| first <= from_ms))
            .or_else(|| self.tiers.iter().rev().find(|t| !t.slots().is_empty()))
            .unwrap_or(&self.tiers[0]);
        let slots = tier.slots();
        let start = slots.partition_point(|s| s.ts < from_ms);
        slots.range(start..).map(|s| (s.newest, &s.sample)).collect()
    }

    /// Points from `from_ms` on, each span at the finest resolution that
    /// still holds it: raw points where the raw ring reaches, coarser slots
    /// before that. Oldest first.
    pub fn stitched(&self, from_ms: i64) -> Vec<(i64, &Sample)> {
        self.stitched_until(from_ms, i64::MAX)
    }

    /// [`Series::stitched`] up to `to_ms`, inclusive. A reader evaluating a
    /// past instant (a rule replayed over a day) stops there instead of
    /// reading on to now at every step.
    pub fn stitched_until(&self, from_ms: i64, to_ms: i64) -> Vec<(i64, &Sample)> {
        let mut parts: Vec<Vec<(i64, &Sample)>> = Vec::new();
        let mut before = i64::MAX;
        for tier in &self.tiers {
            let slots = tier.slots();
            // By newest: a coarse slot that began before `from_ms` but took
            // points after it counts as after.
            let start = slots.partition_point(|s| s.newest < from_ms);
            let part: Vec<(i64, &Sample)> = slots
                .range(start..)
                .take_while(|s| s.newest < before && s.newest <= to_ms)
                .map(|s| (s.newest, &s.sample))
                .collect();
            if let Some(first) = tier.first_ts() {
                before = before.min(first);
            }
            parts.push(part);
            if before <= from_ms {
                break;
            }
        }
        // Usually the raw ring reaches back far enough on its own.
        if parts.len() == 1 {
            return parts.swap_remove(0);
        }
        parts.into_iter().rev().flatten().collect()
    }

    /// The raw points still in the full-resolution ring.
    pub fn raw(&self) -> impl Iterator<Item = (i64, &Sample)> {
        self.tiers[0].slots().iter().map(|s| (s.ts, &s.sample))
    }

    pub fn tier(&self, i: usize) -> Option<&Tier> {
        self.tiers.get(i)
    }

    fn insert(&mut self, ts: i64, sample: &Sample) -> Placed {
        let fold = self.fold();
        let newest = self.latest().map(|(t, _)| t);
        let first = self.tiers[0].insert(ts, sample, fold);
        if first == Placed::Duplicate {
            return first;
        }
        // Even a point too old for the raw ring may fold into a coarser tier.
        self.version += 1;
        if newest.is_some_and(|n| ts <= n) {
            self.rewritten = self.version;
        }
        for tier in &mut self.tiers[1..] {
            tier.insert(ts, sample, fold);
        }
        first
    }
}

/// How a point arrived live: when, from which source, and until when it
/// counts as fresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Live {
    pub at_ms: i64,
    pub fresh_until_ms: i64,
    pub source: SourceId,
}

/// The one freshness rule, for data and for the links it comes over: what
/// a source that sends every `interval_ms`, and whose answers may take
/// `patience_ms`, sent stays fresh for three intervals (never less than
/// 750 ms) plus that patience, so one late frame or slow answer does not
/// flash a panel, or its source's row, stale.
pub fn fresh_for(interval_ms: i64, patience_ms: i64) -> i64 {
    3 * interval_ms.max(250) + patience_ms.max(0)
}

impl Live {
    /// Arrived at `at_ms` from a source that sends every `interval_ms` and
    /// may take `patience_ms` to answer: fresh for [`fresh_for`] them.
    pub fn at(at_ms: i64, interval_ms: i64, patience_ms: i64, source: SourceId) -> Live {
        Live { at_ms, fresh_until_ms: at_ms + fresh_for(interval_ms, patience_ms), source }
    }
}

/// Counts of what the store did with what it was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub points: u64,
    pub duplicates: u64,
    pub too_old: u64,
    pub refused_series: u64,
}

/// All series, by key.
#[derive(Debug)]
pub struct Store {
    /// Key to position in `series`: an index rather than the series itself,
    /// so the common case (a known series) costs one hash lookup and no key
    /// clone, and the borrow of the map ends before the series is touched.
    index: HashMap<Arc<SeriesKey>, usize, FastState>,
    /// Series in order of first sight, with their keys (shared with
    /// `index`); never removed, so positions stay valid.
    series: Vec<(Arc<SeriesKey>, Series)>,
    /// Positions of each metric's series, in key order, so that sums over a
    /// metric add up in the same order on every run.
    by_metric: HashMap<String, Vec<usize>, FastState>,
    /// For each series, the one inserted right after it last time, and the
    /// one inserted last. Frames list their series in the same order each
    /// time, so this guess is nearly always right and costs one comparison
    /// where a lookup costs hashing the whole key.
    follower: Vec<usize>,
    last: usize,
    kinds: HashMap<String, Kind>,
    units: HashMap<String, String>,
    max_series: usize,
    pub stats: StoreStats,
    /// Newest data timestamp seen on any series.
    pub newest_ts: Option<i64>,
}

impl Default for Store {
    fn default() -> Self {
        Store::new(DEFAULT_MAX_SERIES)
    }
}

impl Store {
    pub fn new(max_series: usize) -> Self {
        Store {
            index: HashMap::default(),
            series: Vec::new(),
            by_metric: HashMap::default(),
            follower: Vec::new(),
            last: usize::MAX,
            kinds: HashMap::new(),
            units: HashMap::new(),
            max_series,
            stats: StoreStats::default(),
            newest_ts: None,
        }
    }

    /// Records what kind each metric is, so new series fold correctly.
    pub fn learn(&mut self, metrics: &[MetricMeta]) {
        for m in metrics {
            self.kinds.insert(m.name.clone(), m.kind);
            if !m.unit.is_empty() {
                self.units.insert(m.name.clone(), m.unit.clone());
            }
        }
    }

    pub fn unit_of(&self, metric: &str) -> Option<&str> {
        self.units.get(metric).map(String::as_str)
    }

    /// Adds one observation; `live` says when and from where it arrived
    /// live, and for how long it counts as fresh.
    pub fn insert(&mut self, obs: &Observation, live: Option<Live>) -> Placed {
        let guess =
            self.follower.get(self.last).copied().filter(|&g| self.series.get(g).is_some_and(|s| *s.0 == obs.key));
        let i = match guess.or_else(|| self.index.get(&obs.key).copied()) {
            Some(i) => i,
            None => {
                if self.series.len() >= self.max_series {
                    self.stats.refused_series += 1;
                    return Placed::TooOld;
                }
                let kind = self.kinds.get(&obs.key.metric).copied().unwrap_or(match obs.sample {
                    Sample::Number(_) => Kind::Gauge,
                    Sample::Text(_) => Kind::Status,
                    Sample::Histogram(_) => Kind::Histogram,
                });
                self.add_series(obs.key.clone(), Series::new(kind))
            }
        };
        if let Some(f) = self.follower.get_mut(self.last) {
            *f = i;
        }
        self.last = i;
        let series = &mut self.series[i].1;
        let placed = series.insert(obs.ts, &obs.sample);
        match placed {
            Placed::Duplicate => self.stats.duplicates += 1,
            Placed::TooOld => self.stats.too_old += 1,
            Placed::Added | Placed::Folded => {
                self.stats.points += 1;
                self.newest_ts = Some(self.newest_ts.map_or(obs.ts, |n| n.max(obs.ts)));
                if let Some(l) = live {
                    series.last_live_ms = Some(l.at_ms);
                    series.fresh_until_ms = Some(l.fresh_until_ms);
                    series.source = l.source;
                }
            }
        }
        placed
    }

    /// Ends the freshness of every series whose newest live point came from
    /// `source`, at `now_ms` at the latest: its link is down, so nothing it
    /// showed can be trusted as current. Returns how many series changed.
    pub fn expire(&mut self, source: SourceId, now_ms: i64) -> usize {
        let mut changed = 0;
        for (_, s) in &mut self.series {
            if s.source == source
                && let Some(until) = s.fresh_until_ms.filter(|&u| u > now_ms)
            {
                s.fresh_until_ms = Some(until.min(now_ms));
                changed += 1;
            }
        }
        changed
    }

    fn add_series(&mut self, key: SeriesKey, series: Series) -> usize {
        let i = self.series.len();
        let key = Arc::new(key);
        let all = &self.series;
        let same_metric = self.by_metric.entry(key.metric.clone()).or_default();
        let at = same_metric.partition_point(|&j| *all[j].0 < *key);
        same_metric.insert(at, i);
        self.index.insert(key.clone(), i);
        self.series.push((key, series));
        self.follower.push(usize::MAX);
        i
    }

    pub fn get(&self, key: &SeriesKey) -> Option<&Series> {
        self.index.get(key).map(|&i| &self.series[i].1)
    }

    /// Every series of a metric with its position (stable for the store's
    /// life), in key order.
    pub fn of_metric_at<'a>(
        &'a self,
        metric: &'a str,
    ) -> impl Iterator<Item = (usize, &'a SeriesKey, &'a Series)> + 'a {
        self.by_metric.get(metric).into_iter().flatten().map(|&i| (i, &*self.series[i].0, &self.series[i].1))
    }

    /// Every series of a metric, in key order.
    pub fn of_metric<'a>(&'a self, metric: &'a str) -> impl Iterator<Item = (&'a SeriesKey, &'a Series)> + 'a {
        self.of_metric_at(metric).map(|(_, k, s)| (k, s))
    }

    /// Every series, in the order they were first seen.
    pub fn iter(&self) -> impl Iterator<Item = (&SeriesKey, &Series)> {
        self.series.iter().map(|(k, s)| (&**k, s))
    }

    /// What the store knows of each metric from catalogues: kind and unit.
    pub fn known_metrics(&self) -> Vec<MetricMeta> {
        let mut out: Vec<MetricMeta> = self
            .kinds
            .iter()
            .map(|(name, &kind)| MetricMeta {
                name: name.clone(),
                kind,
                unit: self.units.get(name).cloned().unwrap_or_default(),
                help: String::new(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Puts back a series saved earlier, tier by tier (finest first), each as
    /// `(newest timestamp, samples folded, sample)` oldest first. It arrives
    /// as history: `last_live_ms` stays `None` until a live point comes.
    /// Refused (false) when the series exists already or the cap is reached.
    pub fn restore(&mut self, key: SeriesKey, kind: Kind, tiers: Vec<Vec<(i64, u32, Sample)>>) -> bool {
        if self.index.contains_key(&key) || self.series.len() >= self.max_series {
            return false;
        }
        let mut series = Series::new(kind);
        for (tier, slots) in series.tiers.iter_mut().zip(tiers) {
            tier.restore(slots);
        }
        series.version = 1;
        if let Some((ts, _)) = series.latest() {
            self.newest_ts = Some(self.newest_ts.map_or(ts, |n| n.max(ts)));
        }
        self.add_series(key, series);
        true
    }

    /// Empties a series, keeping its place (positions stay valid) and
    /// telling readers it was rewritten, so nothing derived from what it
    /// held is kept. Returns whether it existed.
    pub fn wipe(&mut self, key: &SeriesKey) -> bool {
        let Some(&i) = self.index.get(key) else { return false };
        let series = &mut self.series[i].1;
        let version = series.version + 1;
        *series = Series::new(series.kind);
        series.version = version;
        series.rewritten = version;
        true
    }

    /// How far back the history held reaches, restored history included:
    /// the oldest point of any series, at whatever resolution. A coarse
    /// slot counts from its newest point, the one it surely holds (its own
    /// start is a boundary, not a point).
    pub fn oldest_ms(&self) -> Option<i64> {
        let oldest = |s: &Series| s.tiers.iter().filter_map(|t| t.slots().front().map(|f| f.newest)).min();
        self.series.iter().filter_map(|(_, s)| oldest(s)).min()
    }

    pub fn len(&self) -> usize {
        self.series.len()
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(ts: i64, v: f64) -> Observation {
        Observation { key: SeriesKey::new("cpu").with("service", "api"), ts, sample: Sample::Number(v) }
    }

    #[test]
    fn memory_has_a_ceiling() {
        let mut store = Store::default();
        // Two days of one point a second.
        for s in 0..172_800 {
            store.insert(&obs(s * 1000, s as f64), None);
        }
        let series = store.get(&obs(0, 0.0).key).unwrap();
        for (i, &(_, cap)) in TIERS.iter().enumerate() {
            assert!(series.tier(i).unwrap().slots().len() <= cap);
        }
        assert_eq!(series.tier(0).unwrap().slots().len(), TIERS[0].1);
        assert_eq!(series.latest().unwrap().0, 172_799_000);
    }

    #[test]
    fn duplicates_are_counted_once() {
        let mut store = Store::default();
        store.insert(&obs(1000, 1.0), None);
        store.insert(&obs(2000, 2.0), None);
        assert_eq!(store.insert(&obs(1000, 1.0), None), Placed::Duplicate);
        assert_eq!(store.stats.points, 2);
        assert_eq!(store.stats.duplicates, 1);
    }

    #[test]
    fn since_picks_a_tier_that_reaches_back() {
        let mut store = Store::default();
        for s in 0..3600 {
            store.insert(&obs(s * 1000, 1.0), None);
        }
        let series = store.get(&obs(0, 0.0).key).unwrap();
        assert_eq!(series.since(3_000_000).len(), 600);
        // An hour back is beyond the raw ring: 15-second slots answer.
        assert_eq!(series.since(0).len(), 240);
    }

    #[test]
    fn too_many_series_are_refused() {
        let mut store = Store::new(2);
        for i in 0..5 {
            let o =
                Observation { key: SeriesKey::new("m").with("i", &i.to_string()), ts: 0, sample: Sample::Number(0.0) };
            store.insert(&o, None);
        }
        assert_eq!(store.len(), 2);
        assert_eq!(store.stats.refused_series, 3);
    }

    #[test]
    fn series_of_a_metric_come_in_key_order() {
        let mut store = Store::default();
        for svc in ["payments", "api", "search", "checkout"] {
            let o = Observation { key: SeriesKey::new("m").with("service", svc), ts: 0, sample: Sample::Number(0.0) };
            store.insert(&o, None);
        }
        store.insert(&Observation { key: SeriesKey::new("other"), ts: 0, sample: Sample::Number(0.0) }, None);
        let order: Vec<&str> = store.of_metric("m").map(|(k, _)| k.label("service")).collect();
        assert_eq!(order, ["api", "checkout", "payments", "search"]);
        assert_eq!(store.of_metric("none").count(), 0);
    }

    #[test]
    fn restored_series_are_history_until_a_live_point() {
        let mut store = Store::default();
        let key = SeriesKey::new("cpu");
        let raw = (0..5).map(|s| (s * 1000, 1, Sample::Number(s as f64))).collect();
        assert!(store.restore(key.clone(), Kind::Gauge, vec![raw, vec![(4000, 5, Sample::Number(2.0))]]));
        assert!(!store.restore(key.clone(), Kind::Gauge, Vec::new()), "a series is restored once");
        let series = store.get(&key).unwrap();
        assert_eq!((series.latest().unwrap().0, series.last_live_ms), (4000, None));
        assert_eq!(store.newest_ts, Some(4000));
        store.insert(
            &Observation { key: key.clone(), ts: 5000, sample: Sample::Number(5.0) },
            Some(Live::at(9, 1000, 0, SourceId(1))),
        );
        let series = store.get(&key).unwrap();
        assert_eq!((series.raw().count(), series.last_live_ms), (6, Some(9)));
        assert_eq!((series.fresh_until_ms, series.source), (Some(3009), SourceId(1)));
        assert_eq!(series.tier(1).unwrap().slots()[0].n, 6);
        assert_eq!(store.expire(SourceId(0), 100), 0, "another source's link says nothing of it");
        assert_eq!(store.expire(SourceId(1), 100), 1);
        assert_eq!(store.get(&key).unwrap().fresh_until_ms, Some(100));
    }
}
