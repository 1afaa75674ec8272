//! Grids kept from one derivation of a page to the next.
//!
//! A live page is derived again every time data arrives, about once a
//! second, yet between two derivations almost nothing it shows has changed:
//! the grid has moved by a step at most, and new points only land after the
//! newest point each series had. So what a grid was worked out from is kept
//! with it, and the next derivation shifts the old cells and works out only
//! the cells that new data can reach. A point that lands at or before a
//! series' newest (late data, a backfilled gap) makes its grids start over.

use super::Span;
use crate::core::store::{Series, TIERS, derive};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

/// What a series looked like when a grid was worked out from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    version: u64,
    newest: Option<i64>,
    /// Where each tier's ring starts: as the rings turn, a span once read
    /// from a finer tier is read from a coarser one.
    firsts: [Option<i64>; TIERS.len()],
}

impl Mark {
    pub fn of(s: &Series) -> Mark {
        let firsts = std::array::from_fn(|i| s.tier(i).and_then(|t| t.first_ts()));
        Mark { version: s.version, newest: s.latest().map(|(t, _)| t), firsts }
    }
}

/// Something worked out over a span's cells, and from what.
#[derive(Debug)]
pub struct Kept<V> {
    span: Span,
    marks: Vec<Mark>,
    used: u64,
    pub value: Arc<V>,
}

/// How to bring a kept value up to date for a new span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Nothing it shows can have changed.
    Same,
    /// Old cell `i + shift` is new cell `i` for every `i < from`, except the
    /// cells of `redo` (ranges `lo..hi`, before `from`); those and the cells
    /// from `from` on need working out.
    Tail { shift: usize, from: usize, redo: Vec<(usize, usize)> },
    /// Work out every cell.
    Full,
}

impl<V> Kept<V> {
    /// What must be worked out again for `span` over `series` (the same
    /// series, in the same order, as when this was kept).
    pub fn plan(&self, span: &Span, series: &[&Series]) -> Plan {
        let old = &self.span;
        if old.step_ms != span.step_ms
            || old.window_ms != span.window_ms
            || span.to_ms < old.to_ms
            || (span.to_ms - old.to_ms) % span.step_ms.max(1) != 0
            || self.marks.len() != series.len()
        {
            return Plan::Full;
        }
        let n = span.cells();
        let shift = ((span.to_ms - old.to_ms) / span.step_ms.max(1)) as usize;
        if shift >= n {
            return Plan::Full;
        }
        // How far after a changed point a rate or histogram baseline can
        // feel it.
        let reach = derive::REACH_WINDOWS * span.rate_window_ms();
        // Cells that came into view hold nothing worked out yet.
        let mut from = n - shift;
        let mut redo: Vec<(usize, usize)> = Vec::new();
        for (mark, s) in self.marks.iter().zip(series) {
            if s.rewritten > mark.version {
                return Plan::Full;
            }
            if s.version == mark.version {
                continue;
            }
            // Every point since is newer than the newest seen then, so only
            // the cell holding that newest one, and later cells, can differ.
            let Some(newest) = mark.newest else { return Plan::Full };
            from = from.min(span.cell_at_or_after(newest));
            // A ring that moved on hands the span it dropped to the next
            // coarser tier (or, from the last, to nothing): the cells there
            // are read differently now.
            let now = Mark::of(s);
            for (was, is) in mark.firsts.iter().zip(now.firsts) {
                match (*was, is) {
                    (a, b) if a == b => {}
                    // Too far before the grid for any cell to feel it.
                    (Some(a), Some(b)) if a.max(b).saturating_add(reach) <= span.time(0) - span.step_ms => {}
                    (Some(a), Some(b)) => {
                        let lo = span.cell_at_or_after(a.min(b));
                        let hi = (span.cell_at_or_after(a.max(b).saturating_add(reach)) + 1).min(n);
                        redo.push((lo, hi));
                    }
                    _ => return Plan::Full,
                }
            }
        }
        // Ranges in order, overlapping ones merged, none reaching `from`.
        redo.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (lo, hi) in redo {
            match merged.last_mut() {
                Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        if let Some(&(lo, _)) = merged.iter().find(|r| r.1 >= from) {
            from = from.min(lo);
        }
        merged.retain(|r| r.1 < from && r.0 < r.1);
        match from {
            0 => Plan::Full,
            f if f == n && shift == 0 && merged.is_empty() => Plan::Same,
            from => Plan::Tail { shift, from, redo: merged },
        }
    }
}

/// Marks of a set of series, in order.
pub fn marks(series: &[&Series]) -> Vec<Mark> {
    series.iter().map(|s| Mark::of(s)).collect()
}

/// Kept values by key. Each page derivation is one generation; what it did
/// not use is dropped at its end, so switching pages or windows does not
/// pile up grids nobody shows.
#[derive(Debug)]
pub struct Shelf<K, V> {
    kept: HashMap<K, Kept<V>>,
}

impl<K, V> Default for Shelf<K, V> {
    fn default() -> Self {
        Shelf { kept: HashMap::new() }
    }
}

impl<K: Hash + Eq, V> Shelf<K, V> {
    /// The value for `key` over `span`, brought up to date by `work`, which
    /// gets the plan and what was kept (if anything) and returns the new
    /// value.
    pub fn get(
        &mut self,
        key: K,
        span: &Span,
        series: &[&Series],
        generation: u64,
        work: impl FnOnce(Plan, Option<&V>) -> V,
    ) -> Arc<V> {
        let plan = self.kept.get(&key).map_or(Plan::Full, |k| k.plan(span, series));
        if plan == Plan::Same
            && let Some(k) = self.kept.get_mut(&key)
        {
            k.used = generation;
            return k.value.clone();
        }
        let old = self.kept.remove(&key);
        let value = Arc::new(work(plan, old.as_ref().map(|k| &*k.value)));
        self.kept.insert(key, Kept { span: *span, marks: marks(series), used: generation, value: value.clone() });
        value
    }

    /// Drops what generation `generation` did not use.
    pub fn sweep(&mut self, generation: u64) {
        self.kept.retain(|_, k| k.used == generation);
    }

    pub fn len(&self) -> usize {
        self.kept.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }
}

/// `old` moved by a plan's shift, its first `from` cells kept, then `tail`.
pub fn splice<T: Clone>(old: &[T], shift: usize, from: usize, tail: Vec<T>) -> Vec<T> {
    let mut out = Vec::with_capacity(from + tail.len());
    out.extend_from_slice(&old[shift..shift + from]);
    out.extend(tail);
    out
}
