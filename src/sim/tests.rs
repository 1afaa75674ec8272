//! Whole-simulator tests: determinism, counter and histogram invariants, and
//! that every scenario crosses the gateway's alert thresholds while its
//! incident plays (and calm never does). Signals are computed the way the
//! gateway computes them: ratios of counter deltas and quantiles of bucket
//! deltas over 60 s.

use super::*;
use crate::wire::{Histogram, PointValue};

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

#[test]
fn same_seed_same_output_other_seed_other_noise() {
    for scenario in [Scenario::Calm, Scenario::Tour] {
        let (a, b, c) = (Simulator::new(7, scenario), Simulator::new(7, scenario), Simulator::new(8, scenario));
        for t in [EVENING + 1_234, NIGHT + 250_567, DAY0 + 13 * HOUR + 77_777] {
            assert_eq!(a.sample(t), b.sample(t));
            let cpu = |s: &Simulator| value(s, "cpu_usage_percent", &[("service", "api")], t);
            assert_ne!(cpu(&a), cpu(&c));
            assert_ne!(a.sample_metric("http_requests_total", t), c.sample_metric("http_requests_total", t));
        }
        assert_eq!(a.events_between(DAY0, DAY0 + DAY), b.events_between(DAY0, DAY0 + DAY));
        assert_ne!(a.events_between(DAY0, DAY0 + DAY), c.events_between(DAY0, DAY0 + DAY));
    }
}

#[test]
fn sample_metric_is_sample_filtered_by_metric() {
    let sim = Simulator::new(3, Scenario::Tour);
    for t in [EVENING + 200_500, EVENING + 1_320_000] {
        let all = sim.sample(t);
        for info in sim.catalogue() {
            let filtered: Vec<_> = all.iter().filter(|p| p.metric == info.name).cloned().collect();
            assert!(!filtered.is_empty(), "{}", info.name);
            assert_eq!(sim.sample_metric(&info.name, t), filtered, "{}", info.name);
            assert_eq!(sim.kind_of(&info.name), Some(info.kind));
        }
        assert_eq!(all.iter().filter(|p| p.metric == "http_requests_total").count(), 25);
        assert_eq!(all.iter().filter(|p| p.metric == "transactions_total").count(), 8);
        assert_eq!(all.iter().filter(|p| p.metric == "inventory_level").count(), 6);
    }
    assert!(sim.sample_metric("nope", EVENING).is_empty());
    assert_eq!(sim.kind_of("nope"), None);
    assert!(lower_is_worse("inventory_level") && !lower_is_worse("cpu_usage_percent"));
}

/// Every cumulative number of a sample, in a stable order.
fn cumulative_numbers(sim: &Simulator, t: i64) -> Vec<f64> {
    let mut out = Vec::new();
    for metric in ["http_requests_total", "http_errors_total", "transactions_total"] {
        out.extend(sim.sample_metric(metric, t).iter().map(number));
    }
    for metric in ["http_request_duration_seconds", "transaction_duration_seconds"] {
        for p in sim.sample_metric(metric, t) {
            let h = p.histogram.expect("histogram");
            out.extend(h.buckets.iter().map(|b| b.1.0));
            out.extend([h.sum.0, h.count.0]);
        }
    }
    out
}

fn assert_monotonic(times: impl Iterator<Item = i64>, sim: &Simulator) {
    let mut prev: Option<(i64, Vec<f64>)> = None;
    for t in times {
        let now = cumulative_numbers(sim, t);
        if let Some((t0, before)) = &prev {
            for (i, (a, b)) in before.iter().zip(&now).enumerate() {
                assert!(b >= a, "series {i} fell from {a} at {t0} to {b} at {t}");
            }
        }
        prev = Some((t, now));
    }
}

#[test]
fn counters_are_monotonic_and_integral_within_a_day() {
    // Error burst, so the rates change shape inside the stretch walked.
    let sim = Simulator::new(11, Scenario::ErrorBurst);
    // Fine steps across knot and minute boundaries at the incident's start...
    assert_monotonic((0..1_500).map(|i| EVENING + 100_000 + i * 83), &sim);
    // ...and coarse ones across the whole day, through every cached table row.
    assert_monotonic((0..300).map(|i| DAY0 + 1 + i * 287_999), &sim);
    for t in [EVENING + 12_345, NIGHT + 999] {
        let integral = |v: f64| v >= 0.0 && v.fract() == 0.0;
        for metric in ["http_requests_total", "http_errors_total", "transactions_total"] {
            assert!(sim.sample_metric(metric, t).iter().map(number).all(integral), "{metric}");
        }
        for metric in ["http_request_duration_seconds", "transaction_duration_seconds"] {
            for p in sim.sample_metric(metric, t) {
                let h = p.histogram.expect("histogram");
                assert!(h.buckets.iter().all(|b| integral(b.1.0)) && integral(h.count.0), "{metric}");
            }
        }
    }
}

#[test]
fn counters_reset_at_utc_midnight() {
    let sim = Simulator::new(5, Scenario::Calm);
    let before = cumulative_numbers(&sim, DAY0 + DAY - 1);
    let at = cumulative_numbers(&sim, DAY0 + DAY);
    let after = cumulative_numbers(&sim, DAY0 + DAY + 1_000);
    assert!(at.iter().all(|&v| v == 0.0));
    assert!(after.iter().zip(&before).all(|(a, b)| a <= b));
    assert!(after.iter().sum::<f64>() < 0.001 * before.iter().sum::<f64>());
    let requests = value(&sim, "http_requests_total", &[("service", "api"), ("status", "200")], DAY0 + DAY - 1);
    // About 0.6 of peak on average over a day at 400 req/s.
    assert!((0.4 * 400.0 * 86_400.0..0.8 * 400.0 * 86_400.0).contains(&requests), "{requests}");
}

#[test]
fn histograms_keep_their_invariants() {
    for scenario in [Scenario::Calm, Scenario::LongTail, Scenario::BadDeploy] {
        let sim = Simulator::new(2, scenario);
        for t in [EVENING + 300_000, NIGHT + 33_333, DAY0 + 60_000] {
            for metric in ["http_request_duration_seconds", "transaction_duration_seconds"] {
                for p in sim.sample_metric(metric, t) {
                    let h = p.histogram.as_ref().expect("histogram");
                    let bounds: Vec<f64> = h.buckets.iter().map(|b| b.0.0).collect();
                    assert_eq!(bounds, HISTOGRAM_BOUNDS);
                    assert!(h.buckets.windows(2).all(|w| w[0].1.0 <= w[1].1.0), "{p:?}");
                    assert_eq!(h.buckets[HISTOGRAM_BOUNDS.len() - 1].1, h.count);
                    let mean = h.sum.0 / h.count.0;
                    assert!((0.01..0.6).contains(&mean), "{metric} {:?}: mean {mean}", p.labels);
                }
            }
        }
    }
}

#[test]
fn calm_stays_clear_of_every_threshold_all_day() {
    let sim = Simulator::new(1, Scenario::Calm);
    for i in 0..48 {
        assert_quiet(&sim, DAY0 + i * 30 * 60_000 + 61_000);
    }
    for i in 0..20 {
        assert_quiet(&sim, EVENING + i * 30_000 + 60_000);
    }
    for t in (0..24).map(|h| DAY0 + h * HOUR + 1_500) {
        for service in SERVICES {
            let svc = [("service", service)];
            let cpu = value(&sim, "cpu_usage_percent", &svc, t);
            let memory = value(&sim, "memory_usage_percent", &svc, t);
            let db = value(&sim, "db_connections_active", &svc, t) / value(&sim, "db_connections_max", &svc, t);
            assert!((15.0..70.0).contains(&cpu) && (38.0..72.0).contains(&memory) && db < 0.6, "{service}");
        }
        let orders = value(&sim, "orders_per_minute", &[], t);
        let users = value(&sim, "active_users", &[], t);
        let revenue = value(&sim, "revenue_per_minute", &[], t);
        assert!((25.0..135.0).contains(&orders) && (700.0..3300.0).contains(&users), "{orders} {users}");
        assert!((40.0..70.0).contains(&(revenue / orders)));
    }
}

#[test]
fn each_scenario_crosses_its_thresholds_only_during_its_incident() {
    let kinds =
        [Scenario::LongTail, Scenario::ErrorBurst, Scenario::CpuSaturation, Scenario::BadDeploy, Scenario::Degraded];
    for kind in kinds {
        let sim = Simulator::new(42, kind);
        for period in [EVENING, NIGHT, DAY0 + 11 * HOUR + 30 * 60_000] {
            // Minutes 0-2 normal (the minute before 110 s is clean)...
            assert_quiet(&sim, period + 110_000);
            // ...2-7 the incident. Fully on from 60 s after its start to 30 s
            // before its end, so every 60 s window ending in 240..=390 s sees it.
            for offset in [240_000, 300_000, 390_000] {
                assert_incident(&sim, kind, period + offset);
            }
            // ...7-10 recovered.
            assert_quiet(&sim, period + 540_000);
            assert_quiet(&sim, period + 599_000);
        }
    }
}

#[test]
fn long_tail_keeps_the_mean_roughly_flat() {
    let sim = Simulator::new(9, Scenario::LongTail);
    for period in [EVENING, NIGHT] {
        let calm = mean_latency(&sim, "search", period + 110_000);
        for offset in [240_000, 380_000] {
            let during = mean_latency(&sim, "search", period + offset);
            assert!((0.75..1.35).contains(&(during / calm)), "mean {calm} -> {during}");
        }
    }
}

#[test]
fn bad_deploy_announces_the_deploy_and_the_rollback() {
    let sim = Simulator::new(4, Scenario::BadDeploy);
    let scripted = |from: i64, to: i64| -> Vec<EventFrame> {
        let events = sim.events_between(from, to);
        assert!(events.iter().all(|e| e.seq.is_none() && e.kind == "deploy"));
        events.into_iter().filter(|e| e.labels["service"] == "checkout").collect()
    };
    let events = scripted(EVENING, EVENING + PERIOD_MS);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!((events[0].timestamp.0 - EVENING, events[0].text.as_str()), (120_000, "checkout v1.4.3 deployed"));
    assert_eq!(events[0].labels["version"], "v1.4.3");
    assert_eq!((events[1].timestamp.0 - EVENING, events[1].text.as_str()), (390_000, "checkout rolled back to v1.4.2"));
    // (from, to]: an event exactly at `from` is excluded, one at `to` included.
    assert_eq!(scripted(EVENING + 120_000, EVENING + 390_000).len(), 1);
    assert_eq!(scripted(EVENING + 119_999, EVENING + 120_000).len(), 1);
    // A whole day: two per period plus the routine deploys, sorted.
    let day = sim.events_between(DAY0, DAY0 + DAY);
    assert_eq!(day.len(), 144 * 2 + 12);
    assert!(day.windows(2).all(|w| w[0].timestamp < w[1].timestamp));
    assert!(
        Simulator::new(4, Scenario::Calm)
            .events_between(DAY0, DAY0 + DAY)
            .iter()
            .all(|e| e.labels["service"] != "checkout")
    );
}

#[test]
fn degraded_changes_status_and_health() {
    let sim = Simulator::new(4, Scenario::Degraded);
    let changes = sim.status_changes_between(EVENING, EVENING + PERIOD_MS);
    let offsets: Vec<i64> = changes.iter().map(|(t, _)| t - EVENING).collect();
    assert_eq!(offsets, [120_000, 220_000, 420_000]);
    let (first, last) = (&changes[0].1, &changes[2].1);
    assert_eq!((first.status.as_str(), first.message.as_str()), ("degraded", "Real-time data temporarily unavailable"));
    assert_eq!(first.data_freshness.as_deref(), Some("cached_2_minutes_ago"));
    assert_eq!((last.status.as_str(), last.data_freshness.as_deref()), ("ok", Some("live")));
    assert!(changes.iter().all(|(_, f)| f.seq.is_none()));
    assert_eq!(sim.status_between(EVENING, EVENING + PERIOD_MS).len(), 3);
    assert_eq!(sim.status_between(DAY0, DAY0 + DAY).len(), 144 * 3);
    assert!(Simulator::new(4, Scenario::Calm).status_between(DAY0, DAY0 + DAY).is_empty());

    let health = |t: i64| match sim.sample_metric("system_health", t).remove(0).value {
        Some(PointValue::Text(h)) => h,
        other => panic!("{other:?}"),
    };
    let expected = [(60, "healthy"), (150, "degraded"), (250, "down"), (350, "degraded"), (450, "healthy")];
    for (s, want) in expected {
        assert_eq!(health(EVENING + s * 1000), want, "at +{s}s");
    }
}

#[test]
fn tour_visits_every_scenario_in_its_slot() {
    let sim = Simulator::new(6, Scenario::Tour);
    for (i, kind) in TOUR.iter().enumerate() {
        let slot = EVENING + i as i64 * TOUR_SLOT_MS;
        let w = sim.incident_at(slot + 100_000);
        if *kind == Scenario::Calm {
            assert_eq!(w, None);
        } else {
            assert_eq!(w, Some(IncidentWindow { scenario: *kind, start_ms: slot + 60_000, end_ms: slot + 240_000 }));
        }
        assert_quiet(&sim, slot + 55_000);
        // Fully on from 60 s after the incident starts to 30 s before it ends,
        // so every 60 s window ending in 180..=210 s of the slot sees it.
        for offset in [180_000, 195_000, 210_000] {
            assert_incident(&sim, *kind, slot + offset);
        }
        assert_quiet(&sim, slot + 299_000);
    }
    let changes = sim.status_changes_between(EVENING, EVENING + TOUR_PERIOD_MS);
    let offsets: Vec<i64> = changes.iter().map(|(t, _)| t - EVENING).collect();
    assert_eq!(offsets, [1_560_000, 1_620_000, 1_740_000]);
    let rollout: Vec<i64> = sim
        .events_between(EVENING, EVENING + TOUR_PERIOD_MS)
        .iter()
        .filter(|e| e.labels["service"] == "checkout")
        .map(|e| e.timestamp.0 - EVENING)
        .collect();
    assert_eq!(rollout, [1_260_000, 1_410_000]);
}

#[test]
fn inventory_alerts_agree_with_levels() {
    let sim = Simulator::new(12, Scenario::Calm);
    let mut ever_low = [false; 6];
    let mut ever_high = [false; 6];
    for i in 0..(2 * 24 * 12) {
        let t = DAY0 + i * 5 * 60_000 + 17;
        let levels: Vec<f64> = sim.sample_metric("inventory_level", t).iter().map(number).collect();
        assert_eq!(levels.len(), PRODUCT_IDS.len());
        assert!(levels.iter().all(|l| *l >= 0.0 && l.fract() == 0.0));
        let low = levels.iter().filter(|l| **l < LOW_STOCK).count();
        assert_eq!(value(&sim, "inventory_alerts", &[], t), low as f64);
        for (j, l) in levels.iter().enumerate() {
            ever_low[j] |= *l < LOW_STOCK;
            ever_high[j] |= *l >= LOW_STOCK;
        }
    }
    assert!(ever_low.iter().filter(|b| **b).count() >= 3, "{ever_low:?}");
    assert!(ever_high.iter().all(|b| *b));
}

/// Not a test of speed (no assertion): prints the cost of `sample` when run
/// with `cargo test --release --lib sim::tests::sample_cost -- --ignored --nocapture`.
#[test]
#[ignore]
fn sample_cost() {
    let sim = Simulator::new(1, Scenario::Tour);
    let _ = sim.sample(EVENING);
    let start = std::time::Instant::now();
    let n = 3_000;
    for i in 0..n {
        std::hint::black_box(sim.sample(EVENING + i * 1000 + 137));
    }
    println!("sample(): {:?} each over {n} seconds", start.elapsed() / n as u32);
    let start = std::time::Instant::now();
    for i in 0..1000 {
        std::hint::black_box(sim.sample_metric("http_request_duration_seconds", DAY0 - 7 * DAY + i * 604_800));
    }
    println!("a 7-day historical query of 1000 points, cold: {:?}", start.elapsed());
    let start = std::time::Instant::now();
    let cold = Simulator::new(99, Scenario::Calm);
    std::hint::black_box(cold.sample(EVENING));
    println!("first sample() of a new day: {:?}", start.elapsed());
}

#[test]
#[ignore]
fn zz_margins() {
    let mut worst_calm = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    let mut lt = (f64::MAX, 0.0f64, f64::MAX, 0.0f64);
    let mut eb = (f64::MAX, 0.0f64);
    let mut bd = (f64::MAX, 0.0f64, f64::MAX, 0.0f64);
    let mut cpu = (f64::MAX, f64::MAX, 0.0f64);
    for seed in 0..40u64 {
        for period in [EVENING, NIGHT, DAY0 + 11 * HOUR, DAY0 + 21 * HOUR + 1_800_000] {
            let calm = Simulator::new(seed, Scenario::Calm);
            for off in [110_000, 300_000, 540_000] {
                for service in SERVICES {
                    let s = signals(&calm, service, period + off);
                    worst_calm.0 = worst_calm.0.max(s.error_ratio);
                    worst_calm.1 = worst_calm.1.max(s.p99);
                    worst_calm.2 = worst_calm.2.max(s.cpu);
                    worst_calm.3 = worst_calm.3.max(s.queue);
                }
            }
            let sim = Simulator::new(seed, Scenario::LongTail);
            let m0 = mean_latency(&sim, "search", period + 110_000);
            for off in [240_000, 390_000] {
                let p = p99(&sim, "search", period + off);
                let r = mean_latency(&sim, "search", period + off) / m0;
                lt = (lt.0.min(p), lt.1.max(p), lt.2.min(r), lt.3.max(r));
            }
            let sim = Simulator::new(seed, Scenario::ErrorBurst);
            for off in [240_000, 390_000] {
                let e = error_ratio(&sim, "payments", period + off);
                eb = (eb.0.min(e), eb.1.max(e));
            }
            let sim = Simulator::new(seed, Scenario::BadDeploy);
            for off in [240_000, 390_000] {
                let s = signals(&sim, "checkout", period + off);
                bd = (bd.0.min(s.error_ratio), bd.1.max(s.error_ratio), bd.2.min(s.p99), bd.3.max(s.cpu));
            }
            let sim = Simulator::new(seed, Scenario::CpuSaturation);
            for off in [240_000, 390_000] {
                let s = signals(&sim, "checkout", period + off);
                cpu = (cpu.0.min(s.cpu), cpu.1.min(s.queue), cpu.2.max(s.p99));
            }
        }
    }
    println!("calm worst err/p99/cpu/queue {worst_calm:?}");
    println!("longtail p99 min/max, mean ratio min/max {lt:?}");
    println!("errorburst ratio {eb:?}");
    println!("baddeploy err min/max p99 min cpu max {bd:?}");
    println!("cpu min cpu, min queue, max p99 {cpu:?}");
}
