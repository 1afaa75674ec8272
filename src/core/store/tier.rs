//! One resolution of a series: a fixed-capacity, time-ordered ring of slots.

use crate::core::model::Sample;
use std::collections::VecDeque;

/// How samples that land in the same slot are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    /// Running mean: right for gauges.
    Mean,
    /// Newest wins: right for cumulative counters, histograms and statuses.
    Last,
}

#[derive(Debug, Clone)]
pub struct Slot {
    /// Start of the slot (raw timestamp in the full-resolution tier).
    pub ts: i64,
    /// Timestamp of the newest sample folded in.
    pub newest: i64,
    pub n: u32,
    pub sample: Sample,
}

/// A ring of at most `cap` slots of `step_ms` each (`step_ms == 0`: raw points).
#[derive(Debug, Clone)]
pub struct Tier {
    pub step_ms: i64,
    pub cap: usize,
    slots: VecDeque<Slot>,
}

/// What an insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    Added,
    Folded,
    /// Same timestamp already held: the point was a duplicate.
    Duplicate,
    /// Older than everything a full ring keeps.
    TooOld,
}

impl Tier {
    pub fn new(step_ms: i64, cap: usize) -> Self {
        // Exactly `cap`: the ring never holds more, and a ring that had to
        // grow would double its memory.
        Tier { step_ms, cap, slots: VecDeque::with_capacity(cap) }
    }

    pub fn slots(&self) -> &VecDeque<Slot> {
        &self.slots
    }

    pub fn first_ts(&self) -> Option<i64> {
        self.slots.front().map(|s| s.ts)
    }

    /// Places a sample, keeping the ring sorted by time and within `cap`.
    pub fn insert(&mut self, ts: i64, sample: &Sample, fold: Fold) -> Placed {
        let slot_ts = if self.step_ms > 0 { ts - ts.rem_euclid(self.step_ms) } else { ts };
        // Live data arrives in order, so the common cases are a new slot at
        // the back or another sample for the newest slot; only late data
        // pays for a search.
        let pos = match self.slots.back() {
            None => 0,
            Some(last) if last.ts < slot_ts => self.slots.len(),
            Some(last) if last.ts == slot_ts => self.slots.len() - 1,
            _ => self.slots.partition_point(|s| s.ts < slot_ts),
        };
        if let Some(slot) = self.slots.get_mut(pos).filter(|s| s.ts == slot_ts) {
            if self.step_ms == 0 || slot.newest == ts {
                return Placed::Duplicate;
            }
            fold_into(slot, ts, sample, fold);
            return Placed::Folded;
        }
        let pos = if self.slots.len() >= self.cap {
            if pos == 0 {
                return Placed::TooOld;
            }
            self.slots.pop_front();
            pos - 1
        } else {
            pos
        };
        let slot = Slot { ts: slot_ts, newest: ts, n: 1, sample: sample.clone() };
        // The ring was allocated at full size, so a push at the back never allocates.
        if pos == self.slots.len() {
            self.slots.push_back(slot);
        } else {
            self.slots.insert(pos, slot);
        }
        Placed::Added
    }

    /// Replaces the contents with saved slots given as `(newest timestamp,
    /// samples folded, sample)`, oldest first. Slots out of order are
    /// dropped, and only the newest `cap` are kept.
    pub fn restore(&mut self, saved: Vec<(i64, u32, Sample)>) {
        self.slots.clear();
        for (newest, n, sample) in saved {
            let ts = if self.step_ms > 0 { newest - newest.rem_euclid(self.step_ms) } else { newest };
            if self.slots.back().is_some_and(|last| last.ts >= ts) {
                continue;
            }
            if self.slots.len() >= self.cap {
                self.slots.pop_front();
            }
            self.slots.push_back(Slot { ts, newest, n: n.max(1), sample });
        }
    }
}

fn fold_into(slot: &mut Slot, ts: i64, sample: &Sample, fold: Fold) {
    slot.n = slot.n.saturating_add(1);
    match (fold, &mut slot.sample, sample) {
        (Fold::Mean, Sample::Number(mean), Sample::Number(x)) if mean.is_finite() && x.is_finite() => {
            *mean += (x - *mean) / slot.n as f64;
        }
        _ => {
            if ts >= slot.newest {
                slot.sample = sample.clone();
            }
        }
    }
    slot.newest = slot.newest.max(ts);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: f64) -> Sample {
        Sample::Number(v)
    }

    #[test]
    fn raw_tier_dedupes_and_keeps_order() {
        let mut t = Tier::new(0, 4);
        assert_eq!(t.insert(10, &n(1.0), Fold::Mean), Placed::Added);
        assert_eq!(t.insert(30, &n(3.0), Fold::Mean), Placed::Added);
        assert_eq!(t.insert(20, &n(2.0), Fold::Mean), Placed::Added);
        assert_eq!(t.insert(20, &n(9.0), Fold::Mean), Placed::Duplicate);
        let ts: Vec<i64> = t.slots().iter().map(|s| s.ts).collect();
        assert_eq!(ts, [10, 20, 30]);
    }

    #[test]
    fn full_ring_drops_oldest_and_refuses_older() {
        let mut t = Tier::new(0, 3);
        for ts in [1, 2, 3, 4] {
            t.insert(ts, &n(ts as f64), Fold::Last);
        }
        assert_eq!(t.slots().len(), 3);
        assert_eq!(t.first_ts(), Some(2));
        assert_eq!(t.insert(1, &n(0.0), Fold::Last), Placed::TooOld);
        // A gap fill inside the ring still lands in order.
        let mut t = Tier::new(0, 3);
        for ts in [1, 3, 4] {
            t.insert(ts, &n(0.0), Fold::Last);
        }
        assert_eq!(t.insert(2, &n(0.0), Fold::Last), Placed::Added);
        let ts: Vec<i64> = t.slots().iter().map(|s| s.ts).collect();
        assert_eq!(ts, [2, 3, 4]);
    }

    #[test]
    fn restore_keeps_order_and_cap() {
        let mut t = Tier::new(10, 3);
        t.restore(vec![(5, 1, n(0.0)), (13, 2, n(1.0)), (12, 1, n(9.0)), (27, 1, n(2.0)), (31, 4, n(3.0))]);
        let got: Vec<(i64, i64, u32)> = t.slots().iter().map(|s| (s.ts, s.newest, s.n)).collect();
        assert_eq!(got, [(10, 13, 2), (20, 27, 1), (30, 31, 4)]);
        // Later inserts fold into the restored newest slot.
        assert_eq!(t.insert(35, &n(3.0), Fold::Mean), Placed::Folded);
        assert_eq!(t.slots()[2].n, 5);
    }

    #[test]
    fn coarse_tier_folds_mean_and_last() {
        let mut t = Tier::new(10, 8);
        t.insert(11, &n(2.0), Fold::Mean);
        t.insert(15, &n(4.0), Fold::Mean);
        t.insert(15, &n(100.0), Fold::Mean); // duplicate timestamp does not skew the mean
        assert_eq!(t.slots()[0].sample, n(3.0));
        let mut t = Tier::new(10, 8);
        t.insert(19, &n(7.0), Fold::Last);
        t.insert(12, &n(5.0), Fold::Last);
        assert_eq!(t.slots()[0].sample, n(7.0));
    }
}
