//! Queries over the store: select series by metric and labels, turn each into
//! numbers (values, rates of counters, merged histograms), lay them on one
//! time grid and aggregate. Everything a panel shows comes through here.
//!
//! The grid ends exactly at the shown instant, so the newest point always
//! lands in the last cell, and its step grows with the window so a 24 h view
//! costs no more than a 15 min one.

pub mod grid_cache;
pub mod matcher;
mod signal;
pub mod spec;

use crate::core::model::{HistogramValue, Kind, Sample, SeriesKey};
use crate::core::store::{Series, Store, TIERS, derive};
use grid_cache::{Plan, Shelf, splice};
use matcher::Matcher;
use spec::{Agg, QuerySpec};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most cells in a grid: about what a wide chart can show (two braille dots
/// per column). More would cost derivation time, and make lines shift
/// more often, for nothing visible.
pub const MAX_CELLS: i64 = 160;
/// Shortest window a rate or a latency quantile is taken over.
const MIN_RATE_WINDOW_MS: i64 = 30_000;

/// The time span a page shows, and its grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The instant shown (now when live).
    pub to_ms: i64,
    pub window_ms: i64,
    pub step_ms: i64,
}

impl Span {
    /// A grid over `window_ms` ending at `to_ms`, no finer than the data's own
    /// interval or than the store keeps that far back.
    pub fn new(to_ms: i64, window_ms: i64, interval_ms: i64, now_ms: i64) -> Span {
        let from = to_ms - window_ms;
        let age = (now_ms - from).max(0);
        // The store's resolution at the oldest instant shown.
        let tier_step = if age <= TIERS[0].1 as i64 * interval_ms.max(1) {
            0
        } else if age <= TIERS[1].0 * TIERS[1].1 as i64 {
            TIERS[1].0
        } else {
            TIERS[2].0
        };
        let step = (window_ms / MAX_CELLS).max(interval_ms.max(1)).max(tier_step);
        Span { to_ms, window_ms, step_ms: step }
    }

    pub fn from_ms(&self) -> i64 {
        self.to_ms - self.window_ms
    }

    pub fn cells(&self) -> usize {
        (self.window_ms / self.step_ms.max(1)).max(1) as usize + 1
    }

    /// Time of cell `i` (the last cell is `to_ms`).
    pub fn time(&self, i: usize) -> i64 {
        self.to_ms - (self.cells() - 1 - i) as i64 * self.step_ms
    }

    /// The cell a timestamp falls in: cell `i` holds `(time(i) - step, time(i)]`.
    fn cell_of(&self, ts: i64) -> Option<usize> {
        if ts > self.to_ms {
            return None;
        }
        let back = (self.to_ms - ts) / self.step_ms.max(1);
        let cells = self.cells() as i64;
        (back < cells).then(|| (cells - 1 - back) as usize)
    }

    /// The first cell holding `ts` or anything after it: 0 when `ts` is
    /// before the grid, `cells()` when it is after.
    pub fn cell_at_or_after(&self, ts: i64) -> usize {
        if ts > self.to_ms {
            return self.cells();
        }
        self.cell_of(ts).unwrap_or(0)
    }

    /// A grid over cells `lo..hi` of this one, reaching one cell further
    /// back when that is a single cell (a grid has at least two).
    pub fn range(&self, lo: usize, hi: usize) -> Span {
        Span {
            to_ms: self.time(hi - 1),
            window_ms: ((hi - lo).max(2) - 1) as i64 * self.step_ms,
            step_ms: self.step_ms,
        }
    }

    /// The same grid, reaching `ms` further back.
    pub fn extended(&self, ms: i64) -> Span {
        let extra = (ms + self.step_ms - 1) / self.step_ms.max(1) * self.step_ms;
        Span { window_ms: self.window_ms + extra, ..*self }
    }

    /// How far a rate or quantile looks back at each instant.
    pub fn rate_window_ms(&self) -> i64 {
        (2 * self.step_ms).max(MIN_RATE_WINDOW_MS)
    }
}

/// One aggregated series on the grid.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluated {
    /// `(cell time, value)` for every cell with data, oldest first.
    pub points: Vec<(i64, f64)>,
    /// Newest live arrival among the series that matched.
    pub fresh_until: Option<i64>,
    /// Series that matched.
    pub matched: usize,
    /// The labels every matched series shares (what a filter can test).
    pub labels: Vec<(String, String)>,
}

impl Evaluated {
    /// The value at the shown instant: the last cell, if it has data.
    pub fn last(&self) -> Option<f64> {
        self.points.last().map(|p| p.1)
    }

    pub fn values(&self) -> Vec<f64> {
        self.points.iter().map(|p| p.1).collect()
    }
}

/// Reads queries from a store for one page. Several panels of a page often
/// need the same work (a table's p50 and p99 and a chart of p99 all merge
/// the same histograms; req/s and the error ratio rate the same counter),
/// and the next derivation of the page needs nearly all of it again, so
/// per-series grids, merged histograms and quantiles go on a [`GridCache`]
/// that outlives the reader.
pub struct Reader<'a> {
    pub store: &'a Store,
    cache: RefCell<GridCache>,
}

/// Grids kept between derivations of a page (see `grid_cache`).
#[derive(Debug, Default)]
pub struct GridCache {
    generation: u64,
    grids: Shelf<GridKey, Vec<Option<f64>>>,
    hists: Shelf<HistKey, Deltas>,
    quantiles: Shelf<QuantileKey, Vec<Option<f64>>>,
}

impl GridCache {
    /// Grids, histogram merges and quantile grids held.
    pub fn len(&self) -> usize {
        self.grids.len() + self.hists.len() + self.quantiles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A series (by position in the store), whether it is read as a rate, and
/// the grid's window and step.
type GridKey = (usize, bool, i64, i64);
/// The series of one value of a grouping label, and the labels they share.
type Group<'s> = (Vec<(usize, &'s Series)>, Vec<(String, String)>);
/// The series of one group in the form of a signal that answers for it,
/// whether each counts, and the labels they share.
type SignalGroup<'s> = (Vec<(usize, &'s Series, bool)>, Vec<(String, String)>);
/// The set of series merged, and the grid's window and step.
type HistKey = (Vec<usize>, i64, i64);
/// The set of series merged, their bucket bounds and the quantile (as
/// bits), window and step.
type QuantileKey = (Vec<usize>, Vec<u64>, u64, i64, i64);

impl<'a> Reader<'a> {
    pub fn new(store: &'a Store) -> Self {
        Reader::with_cache(store, GridCache::default())
    }

    /// A reader that starts from what an earlier one kept. The cache must
    /// come from a reader of the same store: it knows series by position.
    pub fn with_cache(store: &'a Store, mut cache: GridCache) -> Self {
        cache.generation += 1;
        Reader { store, cache: RefCell::new(cache) }
    }

    /// What this reader worked out, less what it did not use, for the next.
    pub fn into_cache(self) -> GridCache {
        let mut c = self.cache.into_inner();
        let g = c.generation;
        c.grids.sweep(g);
        c.hists.sweep(g);
        c.quantiles.sweep(g);
        c
    }

    /// Evaluates a query over a span.
    pub fn eval(&self, q: &QuerySpec, vars: &[(String, String)], span: &Span) -> Evaluated {
        let q = &*q.resolved(vars);
        if q.signal.is_some() {
            return self.eval_signal(q, None, vars, span).pop().map(|(_, e)| e).unwrap_or_default();
        }
        let series: Vec<(usize, &Series)> = select_at(self.store, q, vars).map(|(i, _, s)| (i, s)).collect();
        self.eval_series(&series, q, span)
    }

    /// Evaluates a query once per value of `label`, sorted by value.
    pub fn eval_by(
        &self,
        q: &QuerySpec,
        label: &str,
        vars: &[(String, String)],
        span: &Span,
    ) -> Vec<(String, Evaluated)> {
        let q = &*q.resolved(vars);
        if q.signal.is_some() {
            return self.eval_signal(q, Some(label), vars, span);
        }
        let mut groups: BTreeMap<&str, Group> = BTreeMap::new();
        for (i, k, s) in select_at(self.store, q, vars) {
            let v = k.label(label);
            if v.is_empty() {
                continue;
            }
            let labels = k.labels.iter().map(|(a, b)| (a.clone(), b.clone()));
            match groups.get_mut(v) {
                None => {
                    groups.insert(v, (vec![(i, s)], labels.collect()));
                }
                Some((series, shared)) => {
                    series.push((i, s));
                    shared.retain(|(a, b)| k.labels.get(a) == Some(b));
                }
            }
        }
        groups
            .into_iter()
            .map(|(v, (series, shared))| {
                let mut e = self.eval_series(&series, q, span);
                e.labels = shared;
                (v.to_string(), e)
            })
            .collect()
    }

    /// A query that names a signal, once per value of `by` (or once, under
    /// the name "", without): each group read in the first form of the
    /// signal it has (see `signal`).
    fn eval_signal(
        &self,
        q: &QuerySpec,
        by: Option<&str>,
        vars: &[(String, String)],
        span: &Span,
    ) -> Vec<(String, Evaluated)> {
        let Some(sig) = q.signal else { return Vec::new() };
        let mut groups: BTreeMap<&str, SignalGroup> = BTreeMap::new();
        for form in signal::forms(sig) {
            let mut found: BTreeMap<&str, SignalGroup> = BTreeMap::new();
            for (i, k, s) in self.store.of_metric_at(form.metric).filter(|(_, k, _)| accepts(&q.labels, k, vars)) {
                let g = by.map_or("", |l| k.label(l));
                if (by.is_some() && g.is_empty()) || groups.contains_key(g) {
                    continue;
                }
                let Some(counts) = form.judge(k) else { continue };
                let (series, shared) =
                    found.entry(g).or_insert_with(|| (Vec::new(), k.labels.clone().into_iter().collect()));
                series.push((i, s, counts));
                shared.retain(|(a, b)| k.labels.get(a) == Some(b));
            }
            groups.extend(found);
        }
        groups
            .into_iter()
            .map(|(g, (series, shared))| {
                let all: Vec<(usize, &Series)> = series.iter().map(|&(i, s, _)| (i, s)).collect();
                let mut e = self.eval_series(&all, q, span);
                if series.iter().any(|s| !s.2) {
                    // Only some series count: their value where they have
                    // one, and none of them failing elsewhere.
                    let counted: Vec<(usize, &Series)> =
                        series.iter().filter(|s| s.2).map(|&(i, s, _)| (i, s)).collect();
                    let hit: BTreeMap<i64, f64> = self.eval_series(&counted, q, span).points.into_iter().collect();
                    e.points.iter_mut().for_each(|(t, v)| *v = hit.get(t).copied().unwrap_or(0.0));
                }
                e.labels = shared;
                (g.to_string(), e)
            })
            .collect()
    }

    fn grid(&self, at: usize, s: &Series, agg: Agg, span: &Span) -> Arc<Vec<Option<f64>>> {
        let mut c = self.cache.borrow_mut();
        let g = c.generation;
        let key = (at, agg == Agg::Rate, span.window_ms, span.step_ms);
        c.grids.get(key, span, &[s], g, |plan, old| refresh(plan, old, span, |sub| on_grid(s, agg, sub)))
    }

    fn deltas(&self, at: &[usize], series: &[&Series], span: &Span) -> Arc<Deltas> {
        let mut c = self.cache.borrow_mut();
        let g = c.generation;
        let key = (at.to_vec(), span.window_ms, span.step_ms);
        c.hists.get(key, span, series, g, |plan, old| match (plan, old) {
            (Plan::Tail { shift, from, redo }, Some(old)) => {
                let n = span.cells();
                let mut bounds = old.bounds.clone();
                let mut work = |lo: usize, hi: usize| {
                    let d = histogram_deltas(series, &span.range(lo, hi));
                    let fits = bounds.is_empty() || d.bounds.is_empty() || d.bounds == bounds;
                    if bounds.is_empty() {
                        bounds = d.bounds;
                    }
                    let mut cells = d.cells;
                    cells.drain(..cells.len() - (hi - lo));
                    fits.then_some(cells)
                };
                let Some(tail) = work(from, n) else { return histogram_deltas(series, span) };
                let mut cells = splice(&old.cells, shift, from, tail);
                for (lo, hi) in redo {
                    let Some(part) = work(lo, hi) else { return histogram_deltas(series, span) };
                    cells.splice(lo..hi, part);
                }
                Deltas { bounds, cells }
            }
            _ => histogram_deltas(series, span),
        })
    }

    fn eval_series(&self, series: &[(usize, &Series)], q: &QuerySpec, span: &Span) -> Evaluated {
        let fresh_until = series.iter().filter_map(|s| s.1.fresh_until_ms).max();
        let matched = series.len();
        let kind = series.first().map(|s| s.1.kind);
        let agg = effective_agg(q, kind);
        let cells = span.cells();
        let points = match agg {
            Agg::Quantile => {
                // The merged histograms reach as far back as the first cell's
                // quantile may look (see `quantile_at`), so a cell gets the
                // same value at the left edge as anywhere else.
                let ext = span.extended(derive::REACH_WINDOWS * span.rate_window_ms());
                let at: Vec<usize> = series.iter().map(|p| p.0).collect();
                let ss: Vec<&Series> = series.iter().map(|p| p.1).collect();
                let deltas = self.deltas(&at, &ss, &ext);
                let back = (span.rate_window_ms() / span.step_ms.max(1)).max(1) as usize;
                let q = q.q.unwrap_or(0.99);
                let mut c = self.cache.borrow_mut();
                let g = c.generation;
                // Other bucket bounds mean other histograms merged.
                let bounds = deltas.bounds.iter().map(|b| b.to_bits()).collect();
                let key = (at, bounds, q.to_bits(), span.window_ms, span.step_ms);
                let grid = c.quantiles.get(key, span, &ss, g, |plan, old| {
                    refresh(plan, old, span, |sub| {
                        // `sub` ends `back_steps` cells before `ext` does.
                        let back_steps = ((ext.to_ms - sub.to_ms) / ext.step_ms.max(1)) as usize;
                        let end = ext.cells() - back_steps;
                        (end - sub.cells()..end).map(|i| quantile_at(&deltas, i, back, q)).collect()
                    })
                });
                grid.iter().enumerate().filter_map(|(i, v)| v.map(|v| (span.time(i), v))).collect()
            }
            _ => {
                let per_series: Vec<Arc<Vec<Option<f64>>>> =
                    series.iter().map(|&(at, s)| self.grid(at, s, agg, span)).collect();
                (0..cells)
                    .filter_map(|i| {
                        let vals = per_series.iter().filter_map(|g| g[i]);
                        combine(agg, vals).map(|v| (span.time(i), v))
                    })
                    .collect()
            }
        };
        Evaluated { points, fresh_until, matched, labels: Vec::new() }
    }

    /// Observations of the histograms `q` selects in `(to_ms - window_ms,
    /// to_ms]`: how many in all, and how many at or under `le` (linear
    /// within the bucket `le` falls in, as Prometheus estimates). `None`
    /// without two histograms to difference.
    pub fn counts_under(&self, q: &QuerySpec, le: f64, to_ms: i64, window_ms: i64) -> Option<(f64, f64)> {
        let (at, series): (Vec<usize>, Vec<&Series>) = select_at(self.store, q, &[]).map(|(i, _, s)| (i, s)).unzip();
        // Two cells a window long: the second holds the window asked for.
        let span = Span { to_ms, window_ms, step_ms: window_ms.max(1) };
        let buckets = self.deltas(&at, &series, &span).window(1, 1)?;
        Some(under(&buckets, le))
    }

    /// [`Reader::counts_under`] for every step of `span` in one pass: for
    /// each cell after the first, its time and the observations in the step
    /// ending there.
    pub fn counts_under_cells(&self, q: &QuerySpec, le: f64, span: &Span) -> Vec<(i64, Option<(f64, f64)>)> {
        let (at, series): (Vec<usize>, Vec<&Series>) = select_at(self.store, q, &[]).map(|(i, _, s)| (i, s)).unzip();
        let deltas = self.deltas(&at, &series, span);
        (1..span.cells()).map(|i| (span.time(i), deltas.window(i, i).map(|b| under(&b, le)))).collect()
    }

    /// A latency heatmap of the histograms a query selects.
    pub fn heat(&self, q: &QuerySpec, vars: &[(String, String)], span: &Span) -> Heat {
        let q = &*q.resolved(vars);
        let (at, series): (Vec<usize>, Vec<&Series>) = select_at(self.store, q, vars).map(|(i, _, s)| (i, s)).unzip();
        let fresh_until = series.iter().filter_map(|s| s.fresh_until_ms).max();
        let deltas = self.deltas(&at, &series, span);
        heat_of(&deltas, span, fresh_until)
    }
}

/// The series of `q.metric` that its matchers accept (resolve a PromQL
/// query first: see [`QuerySpec::resolved`]).
pub fn select<'a>(
    store: &'a Store,
    q: &'a QuerySpec,
    vars: &'a [(String, String)],
) -> impl Iterator<Item = (&'a SeriesKey, &'a Series)> + 'a {
    select_at(store, q, vars).map(|(_, k, s)| (k, s))
}

/// [`select`], with each series' position in the store.
fn select_at<'a>(
    store: &'a Store,
    q: &'a QuerySpec,
    vars: &'a [(String, String)],
) -> impl Iterator<Item = (usize, &'a SeriesKey, &'a Series)> + 'a {
    store.of_metric_at(&q.metric).filter(move |(_, k, _)| accepts(&q.labels, k, vars))
}

/// Brings a kept grid up to date with `work`, which works out the cells of
/// the span it is given.
fn refresh<T: Clone>(plan: Plan, old: Option<&Vec<T>>, span: &Span, mut work: impl FnMut(&Span) -> Vec<T>) -> Vec<T> {
    match (plan, old) {
        (Plan::Tail { shift, from, redo }, Some(old)) => {
            let tail = part(span, from, span.cells(), &mut work);
            let mut cells = splice(old, shift, from, tail);
            for (lo, hi) in redo {
                let p = part(span, lo, hi, &mut work);
                cells.splice(lo..hi, p);
            }
            cells
        }
        _ => work(span),
    }
}

/// Cells `lo..hi` of `span`, worked out by `work` over a grid that ends with
/// cell `hi - 1`.
fn part<T>(span: &Span, lo: usize, hi: usize, work: &mut impl FnMut(&Span) -> Vec<T>) -> Vec<T> {
    let mut cells = work(&span.range(lo, hi));
    cells.drain(..cells.len() - (hi - lo));
    cells
}

/// The `q` quantile at cell `i` of merged histograms: of what was observed
/// over the `back` cells up to it or, with data sparser than that (coarse
/// history), over four times as many.
fn quantile_at(deltas: &Deltas, i: usize, back: usize, q: f64) -> Option<f64> {
    deltas.cells[i].as_ref()?;
    let seen = deltas
        .window(i + 1 - back.min(i + 1), i)
        .filter(|b| b.last().is_some_and(|l| l.1 > 0.0))
        .or_else(|| deltas.window(i + 1 - (4 * back).min(i + 1), i))?;
    derive::bucket_quantile(&seen, q).filter(|v| v.is_finite())
}

fn accepts(labels: &BTreeMap<String, Matcher>, key: &SeriesKey, vars: &[(String, String)]) -> bool {
    labels.iter().all(|(name, m)| m.matches(key.label(name), vars))
}

/// The aggregation a query gets when it names none.
pub fn effective_agg(q: &QuerySpec, kind: Option<Kind>) -> Agg {
    q.agg.unwrap_or(match kind {
        Some(Kind::Counter) => Agg::Rate,
        Some(Kind::Histogram) => Agg::Quantile,
        _ => Agg::Sum,
    })
}

/// Values of `label` across the series of `metrics`, sorted.
pub fn label_values(store: &Store, metrics: &[&str], label: &str) -> Vec<String> {
    let mut out: Vec<String> = metrics
        .iter()
        .flat_map(|m| store.of_metric(m).map(|(k, _)| k.label(label)))
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `num / den`, cell by cell; cells where `den` is zero are left out.
pub fn divide(num: &Evaluated, den: &Evaluated) -> Evaluated {
    Evaluated {
        points: derive::ratio_by_time(&num.points, &den.points),
        // As fresh as the staler of the two: a ratio of a dead numerator
        // to a live denominator is not current.
        fresh_until: num.fresh_until.zip(den.fresh_until).map(|(a, b)| a.min(b)),
        matched: num.matched,
        labels: num.labels.clone(),
    }
}

fn combine(agg: Agg, vals: impl Iterator<Item = f64>) -> Option<f64> {
    let mut n = 0usize;
    let mut acc: f64 = match agg {
        Agg::Max => f64::NEG_INFINITY,
        Agg::Min => f64::INFINITY,
        _ => 0.0,
    };
    for v in vals {
        n += 1;
        acc = match agg {
            Agg::Max => acc.max(v),
            Agg::Min => acc.min(v),
            Agg::Count => acc + 1.0,
            _ => acc + v,
        };
    }
    match (n, agg) {
        (0, _) => None,
        (_, Agg::Avg) => Some(acc / n as f64),
        _ => Some(acc),
    }
}

/// One series on the grid: the last value in each cell (or, for a rate, the
/// per-second rate at that point).
fn on_grid(s: &Series, agg: Agg, span: &Span) -> Vec<Option<f64>> {
    let mut grid = vec![None; span.cells()];
    let first = span.time(0) - span.step_ms;
    let read = |from: i64| -> Vec<(i64, f64)> {
        s.stitched_until(from, span.to_ms)
            .into_iter()
            .filter_map(|(t, v)| v.as_number().map(|n| (t, n)))
            .filter(|(_, v)| v.is_finite())
            .collect()
    };
    let pts = if agg == Agg::Rate {
        // A rate starts from the last point a window back, looked for as far
        // back as a rate reaches, so the first cell gets the rate it would
        // get if it were not first: a grid worked out whole and one worked
        // out cell by cell agree. Dense data has that point within a window
        // and a step, so the long read is only for sparse data.
        let w = span.rate_window_ms();
        let near = read(first - w - span.step_ms);
        let pts =
            if near.first().is_some_and(|p| p.0 <= first - w) { near } else { read(first - derive::REACH_WINDOWS * w) };
        derive::rates(&pts, w)
    } else {
        read(first)
    };
    for (t, v) in pts {
        if let Some(i) = span.cell_of(t) {
            grid[i] = Some(v);
        }
    }
    grid
}

/// New observations per cell, summed over series, as cumulative bucket
/// counts. Each series is differenced against its own previous cell with
/// data first (a drop in its count or any bucket is a restart: the new
/// histogram counts from zero), and only then added up; adding first would make a series that
/// skips a cell, appears or restarts look like a surge or a reset of all.
/// The first cell is differenced against the last histogram before the
/// grid; no cell against one further back than a rate reaches
/// ([`derive::REACH_WINDOWS`] rate windows). Series whose bounds differ from
/// the first one's are left out.
#[derive(Debug, Clone, Default)]
struct Deltas {
    bounds: Vec<f64>,
    cells: Vec<Option<Vec<f64>>>,
}

impl Deltas {
    /// The observations of cells `from..=to` added together.
    fn window(&self, from: usize, to: usize) -> Option<Vec<(f64, f64)>> {
        let mut acc: Option<Vec<f64>> = None;
        for c in self.cells[from..=to].iter().flatten() {
            match acc.as_mut() {
                None => acc = Some(c.clone()),
                Some(a) => a.iter_mut().zip(c).for_each(|(x, y)| *x += y),
            }
        }
        acc.map(|a| self.bounds.iter().copied().zip(a).collect())
    }
}

/// `(all, at or under le)` of cumulative `(bound, count)` buckets.
fn under(buckets: &[(f64, f64)], le: f64) -> (f64, f64) {
    let all = buckets.last().map_or(0.0, |b| b.1);
    let mut below = (0.0, 0.0);
    for &(bound, count) in buckets {
        if bound <= le {
            below = (bound, count);
            continue;
        }
        if !bound.is_finite() {
            break;
        }
        let share = (le - below.0) / (bound - below.0);
        return (all, below.1 + (count - below.1) * share.clamp(0.0, 1.0));
    }
    (all, below.1)
}

fn histogram_deltas(series: &[&Series], span: &Span) -> Deltas {
    let mut out = Deltas { bounds: Vec::new(), cells: vec![None; span.cells()] };
    let first = span.time(0) - span.step_ms;
    let reach = derive::REACH_WINDOWS * span.rate_window_ms();
    for s in series {
        // The newest histogram before the grid is the first cell's baseline,
        // so the first cell is measured like any other. A baseline further
        // back than a rate reaches is not used, in the first cell or any
        // other: what piled up over a long gap would show as a surge, and
        // the grid would differ depending on where it starts.
        let mut prev: Option<(i64, &HistogramValue)> = None;
        let mut last: Vec<Option<(i64, &HistogramValue)>> = vec![None; span.cells()];
        for (t, v) in s.stitched_until(first - reach, span.to_ms) {
            let Sample::Histogram(h) = v else { continue };
            match span.cell_of(t) {
                Some(i) => last[i] = Some((t, h.as_ref())),
                None if t <= first => prev = Some((t, h.as_ref())),
                None => {}
            }
        }
        for (i, h) in last.into_iter().enumerate() {
            let Some((t, h)) = h else { continue };
            if out.bounds.is_empty() {
                out.bounds = h.buckets.iter().map(|b| b.0).collect();
            }
            let fits = h.buckets.len() == out.bounds.len() && h.buckets.iter().zip(&out.bounds).all(|(b, x)| b.0 == *x);
            let base = prev.filter(|(pt, p)| *pt >= span.time(i) - span.step_ms - reach && same_bounds(p, h));
            if let (true, Some((_, p))) = (fits, base) {
                let restarted = derive::histogram_restarted(h, p);
                let delta =
                    h.buckets.iter().zip(&p.buckets).map(|(n, o)| if restarted { n.1 } else { (n.1 - o.1).max(0.0) });
                match out.cells[i].as_mut() {
                    None => out.cells[i] = Some(delta.collect()),
                    Some(acc) => acc.iter_mut().zip(delta).for_each(|(a, d)| *a += d),
                }
            }
            prev = Some((t, h));
        }
    }
    out
}

fn same_bounds(a: &HistogramValue, b: &HistogramValue) -> bool {
    a.buckets.len() == b.buckets.len() && a.buckets.iter().zip(&b.buckets).all(|(x, y)| x.0 == y.0)
}

/// A latency heatmap: for each cell, how many observations fell in each
/// bucket since the previous cell with data.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Heat {
    /// Upper bounds of the buckets, ascending (the last may be +Inf).
    pub bounds: Vec<f64>,
    /// `(cell time, observations per bucket)`, oldest first.
    pub columns: Vec<(i64, Vec<f64>)>,
    pub fresh_until: Option<i64>,
}

fn heat_of(deltas: &Deltas, span: &Span, fresh_until: Option<i64>) -> Heat {
    let columns = deltas
        .cells
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let c = c.as_ref()?;
            // Cumulative counts to counts per bucket.
            let per_bucket = c.iter().scan(0.0, |below, &n| {
                let v = (n - *below).max(0.0);
                *below = n;
                Some(v)
            });
            Some((span.time(i), per_bucket.collect()))
        })
        .collect();
    Heat { bounds: deltas.bounds.clone(), columns, fresh_until }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{Kind, MetricMeta, Observation};
    use std::sync::Arc;

    fn obs(metric: &str, labels: &[(&str, &str)], ts: i64, v: Sample) -> Observation {
        let mut key = SeriesKey::new(metric);
        for (k, val) in labels {
            key = key.with(k, val);
        }
        Observation { key, ts, sample: v }
    }

    fn store_with(kind: Kind, metric: &str) -> Store {
        let mut s = Store::default();
        s.learn(&[MetricMeta { name: metric.into(), kind, unit: String::new(), help: String::new() }]);
        s
    }

    fn q(metric: &str, agg: Option<Agg>) -> QuerySpec {
        QuerySpec { metric: metric.into(), agg, ..QuerySpec::default() }
    }

    #[test]
    fn gauges_sum_across_series_on_the_grid() {
        let mut st = store_with(Kind::Gauge, "cpu");
        for t in 0..60 {
            st.insert(&obs("cpu", &[("service", "a")], t * 1000, Sample::Number(10.0)), None);
            st.insert(&obs("cpu", &[("service", "b")], t * 1000, Sample::Number(t as f64)), None);
        }
        let span = Span::new(59_000, 30_000, 1000, 59_000);
        let sum = Reader::new(&st).eval(&q("cpu", None), &[], &span);
        assert_eq!(sum.matched, 2);
        assert_eq!(sum.last(), Some(69.0));
        assert_eq!(sum.points.len(), 31);
        let max = Reader::new(&st).eval(&q("cpu", Some(Agg::Max)), &[], &span);
        assert_eq!(max.last(), Some(59.0));
        let avg = Reader::new(&st).eval(&q("cpu", Some(Agg::Avg)), &[], &span);
        assert_eq!(avg.last(), Some(34.5));
        let by = Reader::new(&st).eval_by(&q("cpu", None), "service", &[], &span);
        assert_eq!(
            by.iter().map(|(v, e)| (v.as_str(), e.last())).collect::<Vec<_>>(),
            [("a", Some(10.0)), ("b", Some(59.0))]
        );
    }

    #[test]
    fn counters_become_rates_and_matchers_narrow() {
        let mut st = store_with(Kind::Counter, "req");
        for t in 0..120 {
            st.insert(&obs("req", &[("status", "200")], t * 1000, Sample::Number(t as f64 * 10.0)), None);
            st.insert(&obs("req", &[("status", "503")], t * 1000, Sample::Number(t as f64)), None);
        }
        let span = Span::new(119_000, 60_000, 1000, 119_000);
        let all = Reader::new(&st).eval(&q("req", None), &[], &span);
        assert!((all.last().unwrap() - 11.0).abs() < 1e-9, "{:?}", all.last());
        let mut errors = q("req", None);
        errors.labels.insert("status".into(), Matcher::parse("=~5..").unwrap());
        let bad = Reader::new(&st).eval(&errors, &[], &span);
        assert!((bad.last().unwrap() - 1.0).abs() < 1e-9);
        let ratio = divide(&bad, &all);
        assert!((ratio.last().unwrap() - 1.0 / 11.0).abs() < 1e-9);
    }

    #[test]
    fn a_signal_is_read_per_group_in_the_first_form_it_has() {
        use crate::core::golden::Signal;
        let mut st = store_with(Kind::Counter, "http_requests_total");
        st.learn(&[MetricMeta {
            name: "http_errors_total".into(),
            kind: Kind::Counter,
            unit: String::new(),
            help: String::new(),
        }]);
        // Per second: "a" counts 1 error in its errors counter (and, for
        // its own reasons, 5 requests as 500s); "b" answers 5 of 100 with a
        // 503, and its 503 counter restarts at 100 s; "c" answers only
        // 200s; "d" says `code` instead of `status`; "e" says neither.
        type Counter<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], f64);
        let series: [Counter; 10] = [
            ("a", "http_errors_total", &[], 1.0),
            ("a", "http_requests_total", &[("status", "200")], 95.0),
            ("a", "http_requests_total", &[("status", "500")], 5.0),
            ("b", "http_requests_total", &[("status", "200")], 95.0),
            ("b", "http_requests_total", &[("status", "503")], 5.0),
            ("c", "http_requests_total", &[("status", "200")], 100.0),
            ("c", "http_requests_total", &[("status", "404")], 2.0),
            ("d", "http_requests_total", &[("code", "200")], 97.0),
            ("d", "http_requests_total", &[("code", "500")], 3.0),
            ("e", "http_requests_total", &[], 100.0),
        ];
        for t in 0..180i64 {
            for (svc, metric, labels, per_sec) in series {
                let since = if svc == "b" && labels.contains(&("status", "503")) && t >= 100 { t - 100 } else { t };
                let mut all = vec![("service", svc)];
                all.extend_from_slice(labels);
                st.insert(&obs(metric, &all, t * 1000, Sample::Number(since as f64 * per_sec)), None);
            }
        }
        let span = Span::new(179_000, 120_000, 1000, 179_000);
        let errors = QuerySpec { signal: Some(Signal::Errors), ..QuerySpec::default() };
        let reader = Reader::new(&st);
        let by = reader.eval_by(&errors, "service", &[], &span);
        let last: Vec<(&str, f64)> = by.iter().map(|(v, e)| (v.as_str(), e.last().unwrap())).collect();
        let want = [("a", 1.0), ("b", 5.0), ("c", 0.0), ("d", 3.0)];
        assert_eq!(last.len(), want.len(), "{last:?}");
        for ((svc, got), (w_svc, w)) in last.iter().zip(want) {
            assert_eq!(*svc, w_svc);
            assert!((got - w).abs() < 1e-9, "{svc}: {got}, not {w}");
        }
        // The restart of b's 503s is no drop below zero (the second it
        // happened in is lost, as Prometheus loses it), and every cell of
        // c, which never failed, is a zero rather than a gap.
        let b = &by[1].1;
        assert!(b.points.iter().all(|&(_, v)| (4.8..=5.0 + 1e-9).contains(&v)), "{:?}", b.points);
        let c = &by[2].1;
        assert_eq!(c.points.len(), span.cells());
        assert!(c.points.iter().all(|&(_, v)| v == 0.0));
        assert_eq!(c.labels, [("service".to_string(), "c".to_string())]);
        // With every requests series, the ratio is b's 5%.
        let all = reader.eval_by(&q("http_requests_total", None), "service", &[], &span);
        let ratio = divide(&by[1].1, &all[1].1);
        assert!((ratio.last().unwrap() - 0.05).abs() < 1e-9, "{:?}", ratio.last());
        // Without `by`, one group: narrowed to c, its zero.
        let mut only_c = errors.clone();
        only_c.labels.insert("service".into(), Matcher::parse("c").unwrap());
        assert_eq!(reader.eval(&only_c, &[], &span).last(), Some(0.0));
        only_c.labels.insert("service".into(), Matcher::parse("e").unwrap());
        assert_eq!(reader.eval(&only_c, &[], &span), Evaluated::default(), "no form of errors at all");
    }

    #[test]
    fn histograms_merge_then_give_quantiles_and_heat() {
        let mut st = store_with(Kind::Histogram, "lat");
        for t in 0..120i64 {
            for svc in ["a", "b"] {
                // Every second, 10 fast (<= 0.1) and, for b, 10 slow (<= 1).
                let n = t as f64 * 10.0;
                let slow = if svc == "b" { n } else { 0.0 };
                let h = HistogramValue {
                    buckets: vec![(0.1, n), (1.0, n + slow), (f64::INFINITY, n + slow)],
                    sum: 0.0,
                    count: n + slow,
                };
                st.insert(&obs("lat", &[("service", svc)], t * 1000, Sample::Histogram(Arc::new(h))), None);
            }
        }
        let span = Span::new(119_000, 60_000, 1000, 119_000);
        // Merged: 20 fast, 10 slow per second: p50 is fast, p99 is slow.
        let mut p = q("lat", None);
        let p99 = Reader::new(&st).eval(&p, &[], &span).last().unwrap();
        assert!(p99 > 0.9 && p99 <= 1.0, "{p99}");
        p.q = Some(0.5);
        let p50 = Reader::new(&st).eval(&p, &[], &span).last().unwrap();
        assert!(p50 <= 0.1, "{p50}");
        let h = Reader::new(&st).heat(&q("lat", None), &[], &span);
        assert_eq!(h.bounds.len(), 3);
        let (_, last) = h.columns.last().unwrap();
        assert_eq!(last, &vec![20.0, 10.0, 0.0]);
    }

    #[test]
    fn a_series_that_skips_a_cell_or_restarts_is_no_surge() {
        let mut st = store_with(Kind::Histogram, "lat");
        for t in 0..120i64 {
            for svc in ["a", "b"] {
                // b misses second 100, and restarts from zero at second 110.
                if svc == "b" && t == 100 {
                    continue;
                }
                let base = if svc == "b" && t >= 110 { (t - 110) as f64 } else { t as f64 };
                // Every second 10 fast observations, and for b 1000 earlier ones.
                let n = base * 10.0 + if svc == "b" && t < 110 { 1000.0 } else { 0.0 };
                let h = HistogramValue { buckets: vec![(0.1, n), (f64::INFINITY, n)], sum: 0.0, count: n };
                st.insert(&obs("lat", &[("service", svc)], t * 1000, Sample::Histogram(Arc::new(h))), None);
            }
        }
        let span = Span::new(119_000, 60_000, 1000, 119_000);
        let h = Reader::new(&st).heat(&q("lat", None), &[], &span);
        let most = h.columns.iter().map(|(_, c)| c.iter().sum::<f64>()).fold(0.0, f64::max);
        assert!(most <= 40.0, "no column holds more than a few seconds' worth: {most}");
        let p99 = Reader::new(&st).eval(&q("lat", None), &[], &span);
        assert!(p99.points.iter().all(|&(_, v)| v <= 0.1), "everything observed was fast: {:?}", p99.points);
    }

    #[test]
    fn long_windows_use_coarser_steps() {
        let s = Span::new(100_000_000, 24 * 3_600_000, 1000, 100_000_000);
        assert!(s.step_ms >= 300_000, "{s:?}");
        assert!(s.cells() as i64 <= MAX_CELLS + 1);
        let live = Span::new(100_000_000, 15 * 60_000, 1000, 100_000_000);
        assert_eq!(live.step_ms, 5625);
        assert_eq!(live.time(live.cells() - 1), 100_000_000);
    }

    /// A store with a gauge, a counter and a histogram for two services,
    /// fed point by point, with what a live link meets: a series that
    /// pauses, one that appears late, a counter restart, and a backfilled
    /// gap.
    fn feed(st: &mut Store, t: i64) {
        let sec = t / 1000;
        for svc in ["a", "b", "c", "d"] {
            // "b" pauses for 40 s; "c" appears after 3 minutes.
            if (svc == "b" && (200..240).contains(&sec)) || (svc == "c" && sec < 180) {
                continue;
            }
            let wobble = ((sec * 7 + svc.len() as i64 * 3) % 11) as f64;
            st.insert(&obs("cpu", &[("service", svc)], t, Sample::Number(wobble)), None);
            // The counter of "a" restarts at 300 s.
            let base = if svc == "a" && sec >= 300 { sec - 300 } else { sec };
            st.insert(&obs("req", &[("service", svc)], t, Sample::Number((base * 5) as f64 + wobble)), None);
            // "d" sees a request only every 45 s.
            let n = if svc == "d" { (sec / 45 * 4) as f64 } else { (base * 4) as f64 + wobble };
            let h = HistogramValue {
                buckets: vec![(0.1, n), (1.0, n * 1.5), (f64::INFINITY, n * 1.5)],
                sum: 0.0,
                count: n * 1.5,
            };
            st.insert(&obs("lat", &[("service", svc)], t, Sample::Histogram(Arc::new(h))), None);
        }
    }

    #[test]
    fn kept_grids_give_what_a_fresh_derivation_gives() {
        let mut st = Store::default();
        for (name, kind) in [("cpu", Kind::Gauge), ("req", Kind::Counter), ("lat", Kind::Histogram)] {
            st.learn(&[MetricMeta { name: name.into(), kind, unit: String::new(), help: String::new() }]);
        }
        let queries = [q("cpu", None), q("cpu", Some(Agg::Max)), q("req", None), q("lat", None), {
            let mut p50 = q("lat", None);
            p50.q = Some(0.5);
            p50
        }];
        let mut cache = GridCache::default();
        let mut worked = 0;
        // Past 1260 s the raw ring turns, and older spans are read from the
        // 15 s tier.
        for sec in 0..1400i64 {
            // The gap of "a" from 330 s to 350 s arrives late, at 360 s.
            if sec == 360 {
                for late in 330..350 {
                    let mut side = Store::default();
                    side.learn(&st.known_metrics());
                    feed(&mut side, late * 1000);
                    for (k, s) in side.iter().filter(|(k, _)| k.label("service") == "a") {
                        let (ts, v) = s.latest().unwrap();
                        st.insert(&Observation { key: k.clone(), ts, sample: v.clone() }, None);
                    }
                }
            }
            if !(330..350).contains(&sec) {
                feed(&mut st, sec * 1000);
            } else {
                // Meanwhile only "b" and "c" arrive.
                let mut side = Store::default();
                side.learn(&st.known_metrics());
                feed(&mut side, sec * 1000);
                for (k, s) in side.iter().filter(|(k, _)| k.label("service") != "a") {
                    let (ts, v) = s.latest().unwrap();
                    st.insert(&Observation { key: k.clone(), ts, sample: v.clone() }, None);
                }
            }
            // Derive every 1 to 3 seconds, a live grid ending at the next
            // step: with a 2 min window each step is a second, with 10 and
            // 30 min several seconds land in the last cell.
            if sec % 3 == 2 || sec % 7 == 0 {
                let kept = Reader::with_cache(&st, std::mem::take(&mut cache));
                let fresh = Reader::new(&st);
                for window in [120_000, 600_000, 1_800_000] {
                    let mut span = Span::new(sec * 1000, window, 1000, sec * 1000);
                    span.to_ms = (sec * 1000).div_euclid(span.step_ms) * span.step_ms + span.step_ms;
                    for query in &queries {
                        let at = format!("{} over {window} ms at {sec} s", query.metric);
                        assert_eq!(kept.eval(query, &[], &span), fresh.eval(query, &[], &span), "{at}");
                        let (k, f) =
                            (kept.eval_by(query, "service", &[], &span), fresh.eval_by(query, "service", &[], &span));
                        assert_eq!(k, f, "{at}, by service");
                    }
                    let lat = q("lat", None);
                    assert_eq!(
                        kept.heat(&lat, &[], &span),
                        fresh.heat(&lat, &[], &span),
                        "heat over {window} ms at {sec} s"
                    );
                }
                cache = kept.into_cache();
                worked += 1;
            }
        }
        assert!(worked > 100 && !cache.is_empty());
    }
}
