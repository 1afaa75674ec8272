//! The signals the gateway's rules watch, computed from the simulator at
//! one instant: gauges as they are, and rates and quantiles from the
//! increase of counters and histogram buckets over the last minute.

use crate::gateway::sim::Simulator;
use crate::wire::{Histogram, Labels, PointValue, WireNum};
use std::collections::{BTreeMap, HashMap};

/// How far back counter and histogram deltas reach.
const WINDOW_MS: i64 = 60_000;

pub(crate) fn gauge(sim: &Simulator, metric: &str, t: i64) -> Vec<(Labels, f64)> {
    numbers(sim, metric, t).into_iter().collect()
}

fn numbers(sim: &Simulator, metric: &str, t: i64) -> BTreeMap<Labels, f64> {
    sim.sample_metric(metric, t)
        .into_iter()
        .filter_map(|p| match p.value {
            Some(PointValue::Number(WireNum(v))) if v.is_finite() => Some((p.labels, v)),
            _ => None,
        })
        .collect()
}

/// Increase of a counter over a window; a drop means it was reset (at UTC
/// midnight in the simulator), so the new value is the increase.
fn increase(before: f64, now: f64) -> f64 {
    if now >= before { now - before } else { now }
}

/// Per service: 5xx responses over all responses in the last minute.
pub(crate) fn error_ratios(sim: &Simulator, t: i64) -> Vec<(Labels, f64)> {
    let before = numbers(sim, "http_requests_total", t - WINDOW_MS);
    let mut per_service: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for (labels, now) in numbers(sim, "http_requests_total", t) {
        let Some(service) = labels.get("service") else { continue };
        let delta = increase(before.get(&labels).copied().unwrap_or(0.0), now);
        let entry = per_service.entry(service.clone()).or_default();
        entry.1 += delta;
        if labels.get("status").is_some_and(|s| s.starts_with('5')) {
            entry.0 += delta;
        }
    }
    per_service
        .into_iter()
        .filter(|(_, (_, total))| *total > 0.0)
        .map(|(service, (errors, total))| (Labels::from([("service".to_string(), service)]), errors / total))
        .collect()
}

/// Per series: p99 of the requests in the last minute, from bucket deltas.
pub(crate) fn p99_latencies(sim: &Simulator, t: i64) -> Vec<(Labels, f64)> {
    let histograms = |at: i64| -> HashMap<Labels, Histogram> {
        sim.sample_metric("http_request_duration_seconds", at)
            .into_iter()
            .filter_map(|p| p.histogram.map(|h| (p.labels, h)))
            .collect()
    };
    let before = histograms(t - WINDOW_MS);
    let mut out = Vec::new();
    for (labels, now) in histograms(t) {
        let old = before.get(&labels);
        let deltas: Vec<(f64, f64)> = now
            .buckets
            .iter()
            .enumerate()
            .map(|(i, (bound, count))| {
                let prev = old.and_then(|h| h.buckets.get(i)).map_or(0.0, |b| b.1.0);
                (bound.0, increase(prev, count.0))
            })
            .collect();
        if let Some(q) = quantile(0.99, &deltas) {
            out.push((labels, q));
        }
    }
    out
}

/// The `q` quantile of cumulative `(bound, count)` buckets, interpolating
/// linearly inside a bucket as Prometheus does; `None` without observations.
pub(crate) fn quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut lower: (f64, f64) = (0.0, 0.0);
    for &(bound, count) in buckets {
        if count >= rank {
            if bound.is_infinite() {
                // Nothing is known above the last finite bound.
                return Some(lower.0);
            }
            let span = count - lower.1;
            let within = if span > 0.0 { (rank - lower.1) / span } else { 1.0 };
            return Some(lower.0 + (bound - lower.0) * within);
        }
        lower = (bound, count);
    }
    Some(lower.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::sim::Scenario;

    #[test]
    fn quantile_interpolates_inside_the_bucket() {
        let b = [(0.1, 50.0), (0.5, 90.0), (1.0, 100.0), (f64::INFINITY, 100.0)];
        assert!((quantile(0.5, &b).unwrap() - 0.1).abs() < 1e-9);
        assert!((quantile(0.99, &b).unwrap() - 0.95).abs() < 1e-9);
        assert_eq!(quantile(0.99, &[(0.1, 0.0), (f64::INFINITY, 0.0)]), None);
        assert_eq!(quantile(0.99, &[(0.1, 1.0), (f64::INFINITY, 100.0)]), Some(0.1));
    }

    #[test]
    fn calm_shop_has_low_error_ratio_and_fast_p99() {
        let sim = Simulator::new(1, Scenario::Calm);
        let t = 1_751_279_400_000;
        let ratios = error_ratios(&sim, t);
        assert_eq!(ratios.len(), 5);
        assert!(ratios.iter().all(|(_, r)| (0.0..0.01).contains(r)), "{ratios:?}");
        let p99 = p99_latencies(&sim, t);
        assert_eq!(p99.len(), 5);
        assert!(p99.iter().all(|(_, q)| *q > 0.0 && *q < 0.5), "{p99:?}");
    }

    #[test]
    fn incidents_show_up_in_the_signals() {
        let base = 1_751_241_600_000; // a multiple of the single-scenario period
        let t = base + 250_000; // in the middle of the incident window
        let of = |signals: Vec<(Labels, f64)>, service: &str| {
            signals.into_iter().find(|(l, _)| l.get("service").map(String::as_str) == Some(service)).unwrap().1
        };
        let burst = Simulator::new(1, Scenario::ErrorBurst);
        assert!(of(error_ratios(&burst, t), "payments") > 0.01);
        let tail = Simulator::new(1, Scenario::LongTail);
        assert!(of(p99_latencies(&tail, t), "search") > 0.5);
    }
}
