//! The incidents: each crosses its thresholds while it plays, and only then.

use super::*;

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
