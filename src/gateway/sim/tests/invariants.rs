//! Invariants every scenario keeps: determinism, the catalogue, counters,
//! histograms and stock.

use super::*;

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
