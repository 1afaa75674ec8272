//! Whole-simulator tests (`invariants`, `scenarios`) and the helpers they
//! share. Alert signals are computed the way the gateway computes them:
//! ratios of counter deltas and quantiles of bucket deltas over 60 s.

use super::*;
use crate::wire::{Histogram, PointValue};

mod invariants;
mod scenarios;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2025-06-30T00:00:00Z: a UTC midnight, so also a multiple of every period.
const DAY0: i64 = 1_751_241_600_000;
/// A busy evening and a quiet night, both at the start of a period.
const EVENING: i64 = DAY0 + 18 * HOUR;
const NIGHT: i64 = DAY0 + 4 * HOUR;
const WINDOW: i64 = 60_000;

/// Gateway thresholds the incidents must cross.
const ERROR_RATIO: f64 = 0.01;
const P99_S: f64 = 0.5;
const CPU: f64 = 80.0;
const QUEUE: f64 = 1000.0;

fn number(p: &Point) -> f64 {
    match &p.value {
        Some(PointValue::Number(n)) => n.0,
        other => panic!("{} has no number: {other:?}", p.metric),
    }
}

fn has_labels(p: &Point, pairs: &[(&str, &str)]) -> bool {
    pairs.iter().all(|(k, v)| p.labels.get(*k).map(String::as_str) == Some(*v))
}

fn value(sim: &Simulator, metric: &str, pairs: &[(&str, &str)], t: i64) -> f64 {
    let points = sim.sample_metric(metric, t);
    let found: Vec<_> = points.iter().filter(|p| has_labels(p, pairs)).collect();
    assert_eq!(found.len(), 1, "{metric} {pairs:?}");
    number(found[0])
}

fn hist(sim: &Simulator, metric: &str, service: &str, t: i64) -> Histogram {
    let points = sim.sample_metric(metric, t);
    let p = points.into_iter().find(|p| has_labels(p, &[("service", service)])).expect("series");
    p.histogram.expect("histogram")
}

/// 5xx share of requests over the minute before `t`.
fn error_ratio(sim: &Simulator, service: &str, t: i64) -> f64 {
    let total = |t| {
        let points = sim.sample_metric("http_requests_total", t);
        let mine = points.iter().filter(|p| has_labels(p, &[("service", service)]));
        mine.fold((0.0, 0.0), |(all, bad), p| {
            let v = number(p);
            (all + v, if p.labels["status"].starts_with('5') { bad + v } else { bad })
        })
    };
    let (all0, bad0) = total(t - WINDOW);
    let (all1, bad1) = total(t);
    (bad1 - bad0) / (all1 - all0)
}

/// Bucket deltas over the minute before `t`: `(bound, cumulative count)`.
fn bucket_deltas(sim: &Simulator, metric: &str, service: &str, t: i64) -> (Vec<(f64, f64)>, f64) {
    let (a, b) = (hist(sim, metric, service, t - WINDOW), hist(sim, metric, service, t));
    let buckets = a.buckets.iter().zip(&b.buckets).map(|(x, y)| (y.0.0, y.1.0 - x.1.0)).collect();
    (buckets, b.sum.0 - a.sum.0)
}

/// Quantile by linear interpolation inside the bucket, as Prometheus does.
fn quantile(buckets: &[(f64, f64)], q: f64) -> f64 {
    let total = buckets.last().expect("buckets").1;
    let rank = q * total;
    let (mut lower, mut below) = (0.0, 0.0);
    for &(bound, count) in buckets {
        if count >= rank {
            if bound.is_infinite() {
                return lower;
            }
            return lower + (bound - lower) * (rank - below) / (count - below).max(1e-9);
        }
        (lower, below) = (bound, count);
    }
    lower
}

fn p99(sim: &Simulator, service: &str, t: i64) -> f64 {
    quantile(&bucket_deltas(sim, "http_request_duration_seconds", service, t).0, 0.99)
}

fn mean_latency(sim: &Simulator, service: &str, t: i64) -> f64 {
    let (buckets, sum) = bucket_deltas(sim, "http_request_duration_seconds", service, t);
    sum / buckets.last().expect("buckets").1
}

/// The four alerting signals of one service at `t`.
#[derive(Debug)]
struct Signals {
    error_ratio: f64,
    p99: f64,
    cpu: f64,
    queue: f64,
}

fn signals(sim: &Simulator, service: &str, t: i64) -> Signals {
    let svc = [("service", service)];
    Signals {
        error_ratio: error_ratio(sim, service, t),
        p99: p99(sim, service, t),
        cpu: value(sim, "cpu_usage_percent", &svc, t),
        queue: value(sim, "transaction_queue_depth", &svc, t),
    }
}

/// Asserts that no service is near any threshold at `t`.
fn assert_quiet(sim: &Simulator, t: i64) {
    for service in SERVICES {
        let s = signals(sim, service, t);
        let quiet =
            s.error_ratio < 0.6 * ERROR_RATIO && s.p99 < 0.8 * P99_S && s.cpu < 0.9 * CPU && s.queue < 0.2 * QUEUE;
        assert!(quiet, "{} {service} at +{}s: {s:?}", sim.scenario.name(), (t - DAY0) / 1000);
    }
}

/// Asserts that the incident `kind` is visibly on at `t`, and only where it should be.
fn assert_incident(sim: &Simulator, kind: Scenario, t: i64) {
    let at = format!("{} at +{}s", kind.name(), (t - DAY0) / 1000);
    match kind {
        Scenario::LongTail => {
            let p99 = p99(sim, "search", t);
            assert!((1.5..=3.0).contains(&p99), "{at}: search p99 {p99}");
            assert!(error_ratio(sim, "search", t) < ERROR_RATIO, "{at}");
        }
        Scenario::ErrorBurst => {
            let ratio = error_ratio(sim, "payments", t);
            assert!((0.05..=0.085).contains(&ratio), "{at}: payments 5xx {ratio}");
            assert!(p99(sim, "payments", t) < P99_S, "{at}");
            assert!(error_ratio(sim, "checkout", t) < ERROR_RATIO, "{at}");
        }
        Scenario::CpuSaturation => {
            let s = signals(sim, "checkout", t);
            assert!(s.cpu > 90.0 && s.queue > QUEUE && s.error_ratio < ERROR_RATIO, "{at}: {s:?}");
            let max = value(sim, "db_connections_max", &[("service", "checkout")], t);
            let active = value(sim, "db_connections_active", &[("service", "checkout")], t);
            assert!(active >= 0.9 * max && active <= max, "{at}: db {active}/{max}");
        }
        Scenario::BadDeploy => {
            let s = signals(sim, "checkout", t);
            assert!((0.02..0.045).contains(&s.error_ratio) && s.p99 > 0.6 && s.cpu < CPU, "{at}: {s:?}");
        }
        Scenario::Degraded => {
            let health = sim.sample_metric("system_health", t);
            assert!(matches!(&health[0].value, Some(PointValue::Text(h)) if h != "healthy"), "{at}: {health:?}");
        }
        Scenario::Calm | Scenario::Tour => assert_quiet(sim, t),
    }
}
