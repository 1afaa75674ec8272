//! Derived series: rates from counters and quantiles from histograms, with
//! counter resets handled. Pure functions over `(timestamp, value)` slices.

use crate::core::model::HistogramValue;

/// Per-second rate of a counter over a sliding `window_ms`, one value per
/// input point from the second on, measured from where [`windows`] says the
/// window starts; a point with no earlier one in reach gets none.
///
/// A drop in value is a reset: the counter restarted from zero, so the
/// increase across it is the new value itself.
pub fn rates(points: &[(i64, f64)], window_ms: i64) -> Vec<(i64, f64)> {
    if points.len() < 2 {
        return Vec::new();
    }
    // prefix[i] = total increase from points[0] to points[i].
    let mut prefix = Vec::with_capacity(points.len());
    let mut total = 0.0;
    prefix.push(0.0);
    for w in points.windows(2) {
        let (prev, cur) = (w[0].1, w[1].1);
        total += if cur >= prev { cur - prev } else { cur.max(0.0) };
        prefix.push(total);
    }
    let times: Vec<i64> = points.iter().map(|p| p.0).collect();
    windows(&times, window_ms)
        .filter_map(|(i, j)| {
            let dt = (times[i] - times[j]) as f64 / 1000.0;
            (dt > 0.0).then(|| (times[i], (prefix[i] - prefix[j]) / dt))
        })
        .collect()
}

/// How many windows back a rate or quantile reaches for its starting point
/// when data is sparser than the window (coarse history, a backfill a
/// minute apart). A longer gap is not bridged: what piled up over it would
/// show as a surge.
pub const REACH_WINDOWS: i64 = 4;

/// For each point from the second on, `(i, j)`: `j` is the oldest point
/// still inside the window that ends at `i`, or the one just before it if
/// that is no more than [`REACH_WINDOWS`] windows older. Points with no
/// other point in reach get nothing. Found with one forward pass since
/// timestamps only rise. The answer for a point never depends on points
/// further back than that reach, which lets a reader work out only the
/// newest cells of a grid and get what a whole derivation gets.
fn windows(times: &[i64], window_ms: i64) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut j = 0;
    (1..times.len()).filter_map(move |i| {
        while j + 1 < i && times[j + 1] <= times[i] - window_ms {
            j += 1;
        }
        let start = if times[j] < times[i] - REACH_WINDOWS * window_ms { j + 1 } else { j };
        (start < i).then_some((i, start))
    })
}

/// Adds several series point-wise by timestamp (missing points count as absent,
/// not as zero, so a late series does not make a dip).
pub fn sum_by_time(series: &[Vec<(i64, f64)>]) -> Vec<(i64, f64)> {
    let mut acc: std::collections::BTreeMap<i64, (f64, usize)> = Default::default();
    for s in series {
        for &(ts, v) in s {
            let e = acc.entry(ts).or_insert((0.0, 0));
            e.0 += v;
            e.1 += 1;
        }
    }
    let most = acc.values().map(|e| e.1).max().unwrap_or(0);
    acc.into_iter().filter(|(_, (_, n))| *n == most).map(|(ts, (v, _))| (ts, v)).collect()
}

/// Divides two series point-wise where both have a point; `None` when the
/// denominator is zero.
pub fn ratio_by_time(num: &[(i64, f64)], den: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let den: std::collections::HashMap<i64, f64> = den.iter().copied().collect();
    num.iter().filter_map(|&(ts, n)| den.get(&ts).filter(|d| **d > 0.0).map(|d| (ts, n / d))).collect()
}

/// Whether `newer` restarted since `older`: its count or any cumulative
/// bucket went down. Each bucket is a counter of its own that only grows
/// within one life of the histogram, so a drop in one is a reset even when
/// the count rose meanwhile (a restart followed by a busy spell, or another
/// producer's data after a restore), as Prometheus takes a drop in any
/// `_bucket` series.
pub fn histogram_restarted(newer: &HistogramValue, older: &HistogramValue) -> bool {
    newer.count < older.count || newer.buckets.iter().zip(&older.buckets).any(|(n, o)| n.1 < o.1)
}

/// The `q` quantile (0..=1) of the observations between two cumulative
/// histograms, interpolating linearly inside the bucket as Prometheus does.
/// `older` of `None`, or a reset (see [`histogram_restarted`]), means
/// "since the start".
pub fn quantile_between(newer: &HistogramValue, older: Option<&HistogramValue>, q: f64) -> Option<f64> {
    let older = older.filter(|o| !histogram_restarted(newer, o) && o.buckets.len() == newer.buckets.len());
    let deltas: Vec<(f64, f64)> = newer
        .buckets
        .iter()
        .enumerate()
        .map(|(i, &(le, c))| (le, (c - older.map_or(0.0, |o| o.buckets[i].1)).max(0.0)))
        .collect();
    bucket_quantile(&deltas, q)
}

/// Quantile from cumulative `(upper bound, count)` buckets.
pub fn bucket_quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let rank = q * total;
    let idx = buckets.iter().position(|&(_, c)| c >= rank)?;
    let (upper, count) = buckets[idx];
    if upper.is_infinite() {
        // Beyond the last finite bound: the best answer is that bound.
        return buckets[..idx].last().map(|b| b.0);
    }
    let (lower, below) = if idx == 0 { (0.0, 0.0) } else { buckets[idx - 1] };
    let in_bucket = count - below;
    if in_bucket <= 0.0 {
        return Some(upper);
    }
    Some(lower + (upper - lower) * (rank - below) / in_bucket)
}

/// Quantile series of a cumulative histogram series: for each snapshot, the
/// quantile of what was observed over the preceding `window_ms`.
pub fn quantiles(points: &[(i64, &HistogramValue)], window_ms: i64, q: f64) -> Vec<(i64, f64)> {
    let times: Vec<i64> = points.iter().map(|p| p.0).collect();
    windows(&times, window_ms)
        .filter_map(|(i, j)| quantile_between(points[i].1, Some(points[j].1), q).map(|v| (times[i], v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_of_a_steady_counter() {
        let pts: Vec<(i64, f64)> = (0..10).map(|s| (s * 1000, s as f64 * 5.0)).collect();
        let r = rates(&pts, 3000);
        assert_eq!(r.len(), 9);
        assert!(r.iter().all(|&(_, v)| (v - 5.0).abs() < 1e-9), "{r:?}");
    }

    #[test]
    fn rate_across_a_reset_counts_the_new_value() {
        // 100, 110, 120, then restart: 4, 14.
        let pts = [(0, 100.0), (1000, 110.0), (2000, 120.0), (3000, 4.0), (4000, 14.0)];
        let r = rates(&pts, 10_000);
        // Over 4 s: 10 + 10 + 4 + 10 = 34.
        assert!((r.last().unwrap().1 - 8.5).abs() < 1e-9, "{r:?}");
        assert!(r.iter().all(|&(_, v)| v >= 0.0));
    }

    #[test]
    fn quantile_matches_hand_computation() {
        // 1000 observations: 120 <= 5 ms, 900 <= 50 ms, 990 <= 500 ms.
        let b = [(0.005, 120.0), (0.05, 900.0), (0.5, 990.0), (f64::INFINITY, 1000.0)];
        // p50: rank 500 falls in (0.005, 0.05]: 0.005 + 0.045 * (500-120)/780.
        let p50 = bucket_quantile(&b, 0.5).unwrap();
        assert!((p50 - (0.005 + 0.045 * 380.0 / 780.0)).abs() < 1e-12);
        // p99: rank 990 is the top of the 0.5 bucket.
        assert!((bucket_quantile(&b, 0.99).unwrap() - 0.5).abs() < 1e-12);
        // p999 lands in +Inf: the last finite bound.
        assert_eq!(bucket_quantile(&b, 0.999), Some(0.5));
    }

    #[test]
    fn quantile_between_uses_the_delta() {
        let older = HistogramValue {
            buckets: vec![(0.1, 100.0), (1.0, 100.0), (f64::INFINITY, 100.0)],
            sum: 5.0,
            count: 100.0,
        };
        let newer = HistogramValue {
            buckets: vec![(0.1, 100.0), (1.0, 200.0), (f64::INFINITY, 200.0)],
            sum: 60.0,
            count: 200.0,
        };
        // Everything new sits in (0.1, 1]: the median is its middle.
        let p50 = quantile_between(&newer, Some(&older), 0.5).unwrap();
        assert!((p50 - 0.55).abs() < 1e-12);
        // A reset (count fell) falls back to the newer histogram alone.
        assert!(quantile_between(&older, Some(&newer), 0.5).is_some());
    }

    #[test]
    fn a_histogram_whose_bucket_fell_restarted_though_its_count_rose() {
        let hist = |b: [f64; 3]| HistogramValue {
            buckets: vec![(0.1, b[0]), (1.0, b[1]), (f64::INFINITY, b[2])],
            sum: 0.0,
            count: b[2],
        };
        // More fast answers before than after: not the same life of the
        // histogram, whatever the count says.
        let older = hist([900.0, 950.0, 1000.0]);
        let newer = hist([100.0, 1500.0, 1600.0]);
        assert!(histogram_restarted(&newer, &older));
        // One life: every bucket grows or stays.
        assert!(!histogram_restarted(&newer, &newer));
        assert!(!histogram_restarted(&hist([150.0, 1600.0, 1700.0]), &newer));
        // Rounding may leave a bucket's own share a little under what it
        // was; only cumulative counts tell a restart.
        assert!(!histogram_restarted(&hist([101.0, 1500.0, 1601.0]), &newer));
        // Since the start: the median of the newer one alone, in (0.1, 1].
        let p50 = quantile_between(&newer, Some(&older), 0.5).unwrap();
        assert_eq!(p50, quantile_between(&newer, None, 0.5).unwrap());
        assert!(p50 > 0.1 && p50 <= 1.0, "{p50}");
    }

    #[test]
    fn a_counter_read_back_above_the_live_one_is_a_reset() {
        // A restored counter (left at 5000) and the live one of a restart
        // (at 40, then 60): the rate counts the live value from zero and
        // is never negative.
        let pts = [(0, 4990.0), (1000, 5000.0), (2000, 40.0), (3000, 60.0)];
        let r = rates(&pts, 2000);
        assert!(r.iter().all(|&(_, v)| v >= 0.0), "{r:?}");
        // (40 + 20) over the last 2 s.
        assert_eq!(r.last(), Some(&(3000, 30.0)));
    }

    #[test]
    fn sums_and_ratios_align_on_time() {
        let a = vec![(1, 1.0), (2, 2.0)];
        let b = vec![(1, 3.0), (2, 4.0), (3, 5.0)];
        assert_eq!(sum_by_time(&[a.clone(), b.clone()]), vec![(1, 4.0), (2, 6.0)]);
        assert_eq!(ratio_by_time(&a, &[(1, 2.0), (2, 0.0)]), vec![(1, 0.5)]);
    }
}
