use super::*;
use crate::core::model::{HistogramValue, Kind, MetricMeta, Observation, Sample, SeriesKey};

const T0: i64 = 1_751_241_600_000;

fn spec(text: &str) -> SloSpec {
    toml::from_str(text).unwrap()
}

const AVAILABILITY: &str = r#"
    name = "checkout availability"
    objective = 99.9
    window = "30d"
    total = { metric = "requests", labels = { service = "checkout" } }
    bad = { metric = "errors", labels = { service = "checkout" } }
"#;

fn store_with(metas: &[(&str, Kind)]) -> Store {
    let mut s = Store::default();
    let metas: Vec<MetricMeta> = metas
        .iter()
        .map(|(n, k)| MetricMeta { name: n.to_string(), kind: *k, unit: String::new(), help: String::new() })
        .collect();
    s.learn(&metas);
    s
}

fn put(s: &mut Store, metric: &str, t: i64, sample: Sample) {
    let key = SeriesKey::new(metric).with("service", "checkout");
    s.insert(
        &Observation { key, ts: t, sample },
        Some(crate::core::store::Live::at(t, 1000, 0, crate::core::model::SourceId::GATEWAY)),
    );
}

/// 100 requests a second from T0; `bad(sec)` of them fail in that second.
fn traffic(s: &mut Store, from_sec: i64, to_sec: i64, bad: impl Fn(i64) -> f64) {
    let (mut req, mut err) = (0.0, 0.0);
    for sec in 0..to_sec {
        req += 100.0;
        err += bad(sec);
        if sec >= from_sec {
            put(s, "requests", T0 + sec * 1000, Sample::Number(req));
            put(s, "errors", T0 + sec * 1000, Sample::Number(err));
        }
    }
}

#[test]
fn an_sli_must_be_whole_and_the_objective_a_percentage() {
    spec(AVAILABILITY).check().unwrap();
    let bad = |extra: &str| {
        let text = format!("name = 'x'\n{extra}");
        toml::from_str::<SloSpec>(&text).map_err(|e| e.to_string()).and_then(|s| s.check()).unwrap_err()
    };
    assert!(bad("objective = 0.999\n").contains("SLI"));
    assert!(bad("objective = 100\ntotal = { metric = 'r' }\nbad = { metric = 'e' }").contains("percentage"));
    assert!(bad("objective = 99\ngood = { metric = 'r' }").contains("total"));
    assert!(bad("objective = 99\ntotal = { metric = 'r' }").contains("one of good or bad"));
    assert!(bad("objective = 99\nlatency = { metric = 'h' }").contains("under"));
    assert!(
        bad("objective = 99\nlatency = { metric = 'h' }\nunder = '300ms'\ntotal = { metric = 'r' }")
            .contains("not both")
    );
    assert!(bad("objective = 99\nwindow = '10m'\nlatency = { metric = 'h' }\nunder = '1s'").contains("1h"));
}

#[test]
fn the_budget_of_three_nines_over_thirty_days_is_43_minutes_12_seconds() {
    let s = spec(AVAILABILITY);
    assert_eq!(s.budget_ms(), (43 * 60 + 12) * 1000);
    assert!((s.allowed() - 0.001).abs() < 1e-12);
}

#[test]
fn event_counts_and_burn_rates_follow_the_errors() {
    let mut store = store_with(&[("requests", Kind::Counter), ("errors", Kind::Counter)]);
    // Two hours clean, then 1% of requests fail for the last ten minutes:
    // ten times the rate three nines allow.
    traffic(&mut store, 0, 7800, |sec| if sec >= 7200 { 1.0 } else { 0.0 });
    let now = T0 + 7799 * 1000;
    let reader = Reader::new(&store);
    let s = spec(AVAILABILITY);
    let (good, total) = s.counts(&reader, now, 5 * MINUTE).unwrap();
    assert!((total - 30_000.0).abs() < 200.0, "{total}");
    assert!(((total - good) / total - 0.01).abs() < 1e-3, "{good} of {total}");
    let mut book = SloBook::new(vec![s]);
    book.evaluate(&store, now);
    let st = &book.status()[0];
    let burn = |w: i64| st.burns.iter().find(|b| b.0 == w).unwrap().1.unwrap();
    // Over 5m: all of it at 1%; over 1h: ten minutes of sixty.
    assert!((burn(5 * MINUTE) - 10.0).abs() < 0.5, "{:?}", st.burns);
    assert!((burn(HOUR) - 10.0 / 6.0).abs() < 0.2, "{:?}", st.burns);
    // Attainment over what the ledger holds: buckets that have settled (30 s
    // past their end), so up to 7500 s, with 300 s of 1% among them.
    let want = 1.0 - 300.0 * 0.01 / 7500.0;
    let got = st.attainment.unwrap();
    assert!((got - want).abs() < 2e-5, "{got} vs {want}");
    assert_eq!(st.covered_ms, 7_500_000);
    // Budget left: one minus the bad share over the allowed share.
    let left = st.budget_left.unwrap();
    assert!((left - (1.0 - (1.0 - got) / 0.001)).abs() < 1e-9);
    assert_eq!(st.budget_left_ms, Some((left * 2_592_000.0).round() as i64));
}

#[test]
fn the_fast_burn_pages_only_while_both_windows_burn() {
    let mut store = store_with(&[("requests", Kind::Counter), ("errors", Kind::Counter)]);
    // Two hours at 2% errors (20x), then clean.
    let burning = |sec: i64| if (3600..10_800).contains(&sec) { 2.0 } else { 0.0 };
    let mut book = SloBook::new(vec![spec(AVAILABILITY)]);
    let (mut req, mut err) = (0.0, 0.0);
    let mut changes = Vec::new();
    for sec in 0..12_600i64 {
        req += 100.0;
        err += burning(sec);
        let t = T0 + sec * 1000;
        put(&mut store, "requests", t, Sample::Number(req));
        put(&mut store, "errors", t, Sample::Number(err));
        if sec % 30 == 0 {
            for (id, _, change) in book.evaluate(&store, t) {
                changes.extend(change.map(|c| (sec, id, c)));
            }
        }
    }
    let fast: Vec<_> = changes.iter().filter(|c| c.1.ends_with("fast burn")).map(|c| (c.0, c.2)).collect();
    // The 1h window passes 14.4x once 72% of it is at 20x: 43.2 minutes
    // into the burn (the 5m window is past it from the first minute).
    // It clears when the 5m window drops under 14.4x: 84 s after the end.
    assert_eq!(fast.len(), 2, "{changes:?}");
    assert_eq!(fast[0].1, Change::Firing);
    assert!((3600 + 2580..=3600 + 2640).contains(&fast[0].0), "{fast:?}");
    assert_eq!(fast[1].1, Change::Resolved);
    assert!((10_800 + 60..=10_800 + 120).contains(&fast[1].0), "{fast:?}");
    // The slow burn (6x over 6h and 30m) says nothing: three and a half
    // hours of history are no verdict on six.
    assert!(changes.iter().all(|c| !c.1.ends_with("slow burn")), "{changes:?}");
    assert!(changes.iter().all(|c| c.1.starts_with("slo:checkout availability:")));
}

#[test]
fn a_latency_sli_counts_requests_under_the_threshold_between_bucket_bounds() {
    let mut store = store_with(&[("latency", Kind::Histogram)]);
    // Each second: 50 requests under 0.1 s, 40 more under 0.5 s, 10 slower.
    for sec in 0..600i64 {
        let n = (sec + 1) as f64;
        let h = HistogramValue {
            buckets: vec![(0.1, 50.0 * n), (0.5, 90.0 * n), (f64::INFINITY, 100.0 * n)],
            sum: 0.0,
            count: 100.0 * n,
        };
        put(&mut store, "latency", T0 + sec * 1000, Sample::Histogram(std::sync::Arc::new(h)));
    }
    let s = spec(
        r#"
        name = "fast checkout"
        objective = 99
        latency = { metric = "latency" }
        under = "300ms"
    "#,
    );
    s.check().unwrap();
    let reader = Reader::new(&store);
    let (good, total) = s.counts(&reader, T0 + 599_000, 5 * MINUTE).unwrap();
    // 0.3 s is half way from 0.1 to 0.5: 50 + 40/2 = 70 of every 100.
    assert!((total - 30_000.0).abs() < 1e-6, "{total}");
    assert!((good / total - 0.7).abs() < 1e-9, "{good}");
}

#[test]
fn a_histogram_of_another_producer_after_a_restore_never_burns_negative() {
    let mut store = store_with(&[("latency", Kind::Histogram)]);
    let put_hist = |store: &mut Store, sec: i64, b: [f64; 3]| {
        let h =
            HistogramValue { buckets: vec![(0.1, b[0]), (0.5, b[1]), (f64::INFINITY, b[2])], sum: 0.0, count: b[2] };
        put(store, "latency", T0 + sec * 1000, Sample::Histogram(std::sync::Arc::new(h)));
    };
    // Read back from disk: five minutes of a producer whose answers were
    // slow (1 of 100 under 0.1 s, 1 more under 0.5 s).
    for sec in 0..300i64 {
        let n = (sec + 1) as f64;
        put_hist(&mut store, sec, [n, 2.0 * n, 100.0 * n]);
    }
    // Then another producer, fast (99 of 100 under 0.1 s), whose count
    // happens to be higher: every cumulative count rose across the
    // boundary, but its slow answers on their own fell.
    for sec in 300..600i64 {
        let k = (sec - 299) as f64;
        put_hist(&mut store, sec, [20_000.0 + 99.0 * k, 20_000.0 + 99.0 * k, 30_000.0 + 100.0 * k]);
    }
    let s = spec(
        r#"
        name = "fast checkout"
        objective = 99
        latency = { metric = "latency" }
        under = "300ms"
    "#,
    );
    let reader = Reader::new(&store);
    let now = T0 + 599_000;
    let (good, total) = s.counts(&reader, now, 5 * MINUTE).unwrap();
    // Differenced bucket by bucket, more answers came under 0.3 s than in
    // all; good events are a share of all of them, and the burn is none.
    assert!(good <= total, "{good} good of {total}");
    let ledger = Ledger::for_spec(&s);
    assert_eq!(burn_rate(&s, &ledger, &reader, 5 * MINUTE, now), Some(0.0));

    // A fast producer read back, then a slow one whose fast bucket is
    // below it though its count is higher: a reset, as Prometheus takes
    // one, so the newer histogram counts from zero (300 answers under
    // 0.1 s, 300 more under 0.5 s, of 70,000).
    let mut store = store_with(&[("latency", Kind::Histogram)]);
    for sec in 0..300i64 {
        let n = (sec + 1) as f64;
        put_hist(&mut store, sec, [90.0 * n, 95.0 * n, 100.0 * n]);
    }
    for sec in 300..600i64 {
        let k = (sec - 299) as f64;
        put_hist(&mut store, sec, [k, 2.0 * k, 40_000.0 + 100.0 * k]);
    }
    let reader = Reader::new(&store);
    assert_eq!(s.counts(&reader, now, 5 * MINUTE), Some((450.0, 70_000.0)));
    let burn = burn_rate(&s, &ledger, &reader, 5 * MINUTE, now).unwrap();
    assert!((burn - (1.0 - 450.0 / 70_000.0) / 0.01).abs() < 1e-9, "{burn}");
    // A ledger read from disk whose good outnumber its total does not
    // make the budget grow back either.
    let mut odd = Ledger::for_spec(&s);
    for i in 0..80 {
        odd.buckets.insert(now - i * ledger::BUCKET_MS, (120.0, 100.0));
    }
    assert_eq!(burn_rate(&s, &odd, &reader, 6 * HOUR + ledger::BUCKET_MS, now), Some(0.0));
}

#[test]
fn ledgers_keep_what_the_store_forgot_and_refuse_another_sli() {
    let mut store = store_with(&[("requests", Kind::Counter), ("errors", Kind::Counter)]);
    traffic(&mut store, 0, 1800, |sec| if sec % 10 == 0 { 1.0 } else { 0.0 });
    let s = spec(AVAILABILITY);
    let mut book = SloBook::new(vec![s.clone()]);
    book.evaluate(&store, T0 + 1799 * 1000);
    let saved = book.ledgers().to_vec();
    assert!(saved[0].buckets.len() >= 5, "{:?}", saved[0].buckets.len());
    let text = serde_json::to_string(&saved).unwrap();
    let back: Vec<Ledger> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, saved);

    // A day later, from an empty store: the saved buckets still count.
    let later = T0 + 1799 * 1000 + 86_400_000;
    let mut fresh = SloBook::new(vec![s.clone()]);
    fresh.restore(back.clone());
    fresh.evaluate(&Store::default(), later);
    let st = &fresh.status()[0];
    let a = st.attainment.unwrap();
    assert!((a - 0.999).abs() < 2e-4, "{a}");
    // Counting something else now: the saved ledger is not used.
    let mut other = s;
    other.bad = Some(QuerySpec { metric: "timeouts".into(), ..Default::default() });
    let mut changed = SloBook::new(vec![other]);
    changed.restore(back);
    changed.evaluate(&Store::default(), later);
    assert_eq!(changed.status()[0].attainment, None);
}

#[test]
fn the_demo_slos_parse_and_check() {
    let slos = demo();
    assert_eq!(slos.len(), 2);
    for s in &slos {
        s.check().unwrap();
    }
}

#[test]
fn windows_are_named_as_people_write_them() {
    assert_eq!(span_name(5 * MINUTE), "5m");
    assert_eq!(span_name(6 * HOUR), "6h");
    assert_eq!(span_name(72 * HOUR), "3d");
    assert_eq!(span_name(90 * MINUTE), "90m");
}

#[test]
fn a_steady_tenfold_burn_raises_the_slow_burn_but_not_the_page() {
    let mut store = store_with(&[("requests", Kind::Counter), ("errors", Kind::Counter)]);
    let mut book = SloBook::new(vec![spec(AVAILABILITY)]);
    let (mut req, mut err) = (0.0, 0.0);
    let mut changes = Vec::new();
    // An hour clean, then 1% failing (ten times what three nines allow) for
    // six hours; data every 10 s.
    for step in 0..(7 * 360i64) {
        let sec = step * 10;
        req += 1000.0;
        if sec >= 3600 {
            err += 10.0;
        }
        let t = T0 + sec * 1000;
        put(&mut store, "requests", t, Sample::Number(req));
        put(&mut store, "errors", t, Sample::Number(err));
        if sec % 60 == 0 {
            changes.extend(book.evaluate(&store, t).into_iter().filter_map(|(id, _, c)| Some((sec, id, c?))));
        }
    }
    let slow: Vec<_> = changes.iter().filter(|c| c.1.ends_with("slow burn")).collect();
    // Once most of the 6h window is held (4.5 h, less the unsettled
    // buckets), it burns at 10 x 3.5/4.5 and more: past 6x at once.
    assert_eq!(slow.len(), 1, "{changes:?}");
    assert_eq!(slow[0].2, Change::Firing);
    assert!((4 * 3600..=5 * 3600).contains(&slow[0].0), "{slow:?}");
    // Ten times is short of the fast burn's 14.4x, and three days are not held.
    assert_eq!(slow.len(), changes.len(), "{changes:?}");
}

#[test]
fn buckets_worked_out_in_one_pass_match_those_read_one_by_one() {
    let mut store = store_with(&[("requests", Kind::Counter), ("errors", Kind::Counter), ("latency", Kind::Histogram)]);
    for sec in 0..3600i64 {
        let n = (sec + 1) as f64;
        // Errors come and go; latency shifts every ten minutes.
        let slow = if (sec / 600) % 2 == 0 { 5.0 } else { 20.0 };
        let h = HistogramValue {
            buckets: vec![(0.1, (100.0 - slow) * n), (f64::INFINITY, 100.0 * n)],
            sum: 0.0,
            count: 100.0 * n,
        };
        put(&mut store, "latency", T0 + sec * 1000, Sample::Histogram(std::sync::Arc::new(h)));
    }
    traffic(&mut store, 0, 3600, |sec| if (sec / 450) % 2 == 1 { 3.0 } else { 0.0 });
    let reader = Reader::new(&store);
    let latency = spec("name='l'\nobjective=99\nlatency={ metric='latency' }\nunder='50ms'");
    for s in [spec(AVAILABILITY), latency] {
        let last = T0 + 3300 * 1000;
        let all = s.bucket_counts(&reader, last, 10, ledger::BUCKET_MS);
        assert_eq!(all.len(), 10, "{}", s.name);
        for (end, (good, total)) in all {
            let (g, t) = s.counts(&reader, end, ledger::BUCKET_MS).unwrap();
            assert!(
                (good - g).abs() < 1e-6 && (total - t).abs() < 1e-6,
                "{} at {end}: {good}/{total} vs {g}/{t}",
                s.name
            );
        }
    }
}

#[test]
fn a_bad_counter_not_yet_created_means_no_errors_yet() {
    let mut store = store_with(&[("requests", Kind::Counter), ("errors", Kind::Counter)]);
    for sec in 0..600i64 {
        put(&mut store, "requests", T0 + sec * 1000, Sample::Number(sec as f64 * 10.0));
    }
    let reader = Reader::new(&store);
    let (good, total) = spec(AVAILABILITY).counts(&reader, T0 + 599_000, 5 * MINUTE).unwrap();
    assert!(total > 0.0 && good == total, "{good} of {total}");
}

#[test]
fn a_restored_ledger_keeps_its_counts_but_takes_the_configured_window() {
    let mut seven = spec(AVAILABILITY);
    seven.window = Duration::from_secs(7 * 86_400);
    let mut saved = Ledger::for_spec(&seven);
    saved.buckets.insert(T0, (99.0, 100.0));
    let mut book = SloBook::new(vec![spec(AVAILABILITY)]);
    book.restore(vec![saved]);
    assert_eq!(book.ledgers()[0].window_ms, 30 * 86_400_000);
    assert_eq!(book.ledgers()[0].buckets.get(&T0), Some(&(99.0, 100.0)));
}

#[test]
fn the_demo_availability_counts_5xx_when_no_errors_counter_is_sent() {
    // A gateway that counts requests by status only: 100 a second, 2 of
    // them 503s from the 600th second on; the 503 series appears then.
    let mut store = store_with(&[("http_requests_total", Kind::Counter)]);
    for sec in 0..900i64 {
        let t = T0 + sec * 1000;
        let mut put_status = |status: &str, v: f64| {
            let key = SeriesKey::new("http_requests_total").with("service", "checkout").with("status", status);
            let live = crate::core::store::Live::at(t, 1000, 0, crate::core::model::SourceId::GATEWAY);
            store.insert(&Observation { key, ts: t, sample: Sample::Number(v) }, Some(live));
        };
        let failed = (sec - 600).max(0) as f64 * 2.0;
        put_status("200", sec as f64 * 100.0 - failed);
        if sec >= 600 {
            put_status("503", failed);
        }
    }
    let availability = demo().into_iter().find(|s| s.name == "checkout availability").unwrap();
    let reader = Reader::new(&store);
    // Before the first 503: every request good, not an unknown.
    let (good, total) = availability.counts(&reader, T0 + 540_000, 300_000).unwrap();
    assert!((total - 30_000.0).abs() < 1.0 && (good - total).abs() < 1e-6, "{good} of {total}");
    // The last five minutes: 2% bad.
    let (good, total) = availability.counts(&reader, T0 + 899_000, 300_000).unwrap();
    assert!(((total - good) / total - 0.02).abs() < 1e-3, "{good} of {total}");
}
