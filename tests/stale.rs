//! The dashboard never shows a number as live when it is not: series go
//! stale after three quiet intervals, everything goes stale when the link
//! drops, and history that never arrived live is stale from the start. The
//! header says LIVE only while something on show is fresh.

use std::sync::Arc;
use vigil::core::model::{ConnState, ErrorClass, Observation, Sample, SeriesKey, SourceId, Transport, Update};
use vigil::sources::SourceStats;
use vigil::tui::pipeline::Pipeline;
use vigil::tui::scene::{Following, Scene, SourceInfo};

const T0: i64 = 1_751_279_400_000;

fn point(metric: &str, ts: i64, v: f64) -> Observation {
    Observation { key: SeriesKey::new(metric), ts, sample: Sample::Number(v) }
}

fn connected() -> Update {
    Update::Conn(ConnState::Connected {
        since_ms: T0,
        server: "gw".into(),
        url: "ws://gw".into(),
        transport: Transport::Ws,
    })
}

fn pipeline() -> Pipeline {
    let mut p = Pipeline::new(SourceInfo::default(), vec![Arc::new(SourceStats::default())]);
    p.apply(Update::Catalogue { metrics: Vec::new(), interval_ms: 1000, source: SourceId::GATEWAY }, T0);
    p.apply(connected(), T0);
    p
}

/// What the header says at `now`.
fn following(p: &Pipeline, now: i64) -> Following {
    p.scene(now).following(now)
}

fn kpi_stale(scene: &Scene, title: &str, now: i64) -> bool {
    let (reading, _) = scene.number(title).unwrap();
    scene.is_stale(reading.unwrap(), now)
}

#[test]
fn a_quiet_series_goes_stale_after_three_intervals_while_others_stay_live() {
    let mut p = pipeline();
    for s in 0..10 {
        let t = T0 + s * 1000;
        let mut obs = vec![point("active_users", t, 100.0)];
        // Orders stop arriving after 4 s.
        if s < 4 {
            obs.push(point("orders_per_minute", t, 40.0));
        }
        p.apply(
            Update::Samples { observations: obs, live: true, seq: Some(s as u64 + 1), source: SourceId::GATEWAY },
            t,
        );
    }
    let now = T0 + 9_500;
    let scene = p.scene(now);
    assert!(!kpi_stale(&scene, "Active users", now));
    assert!(kpi_stale(&scene, "Orders / min", now), "orders stopped 6 s ago but look live");
}

#[test]
fn everything_is_stale_while_disconnected() {
    let mut p = pipeline();
    p.apply(
        Update::Samples {
            observations: vec![point("active_users", T0, 100.0)],
            live: true,
            seq: Some(1),
            source: SourceId::GATEWAY,
        },
        T0,
    );
    let scene = p.scene(T0 + 500);
    assert!(!kpi_stale(&scene, "Active users", T0 + 500));
    p.apply(
        Update::Conn(ConnState::Reconnecting {
            retry_at_ms: T0 + 5_000,
            attempt: 1,
            error: "connection reset".into(),
            class: ErrorClass::Network,
        }),
        T0 + 600,
    );
    let scene = p.scene(T0 + 700);
    assert!(kpi_stale(&scene, "Active users", T0 + 700), "a number from a dead link looks live");
    assert_eq!(scene.data_age_ms(T0 + 40_000), Some(40_000));
}

#[test]
fn backfilled_history_is_never_shown_as_live() {
    let mut p = pipeline();
    p.apply(
        Update::Samples {
            observations: vec![point("active_users", T0, 100.0)],
            live: false,
            seq: None,
            source: SourceId::GATEWAY,
        },
        T0,
    );
    let scene = p.scene(T0 + 100);
    assert!(kpi_stale(&scene, "Active users", T0 + 100));
    assert_eq!(scene.data_age_ms(T0 + 100), None, "no live data has arrived yet");
}

#[test]
fn a_slow_polled_source_stays_fresh_for_its_timeout_then_goes_stale() {
    // A Prometheus refreshed every second whose answers take up to its 10 s
    // timeout: three intervals alone would flash every panel stale between
    // two answers 4 s apart.
    let source = SourceId(1);
    let mut stats =
        SourceStats::for_source(source, vigil::core::model::SourceKind::Prometheus, "prom", "http://prom:9090", 1000);
    stats.patience_ms = 10_000;
    let mut p = Pipeline::new(SourceInfo::default(), vec![Arc::new(stats)]);
    p.apply(Update::Catalogue { metrics: Vec::new(), interval_ms: 1000, source }, T0);
    let obs = vec![point("active_users", T0, 100.0)];
    p.apply(Update::Samples { observations: obs, live: true, seq: None, source }, T0);
    let now = T0 + 4_000;
    assert!(!kpi_stale(&p.scene(now), "Active users", now), "stale while the next answer is still allowed to come");
    let now = T0 + 13_500;
    assert!(kpi_stale(&p.scene(now), "Active users", now), "no answer for longer than interval and timeout, yet live");
}

#[test]
fn the_header_turns_stale_with_the_last_panel_while_the_link_stays_open() {
    let mut p = pipeline();
    for s in 0..5 {
        let t = T0 + s * 1000;
        let obs = vec![point("active_users", t, 100.0), point("orders_per_minute", t, 40.0)];
        p.apply(
            Update::Samples { observations: obs, live: true, seq: Some(s as u64 + 1), source: SourceId::GATEWAY },
            t,
        );
    }
    // The last frame came at T0 + 4 s; three 1 s intervals later nothing
    // on show is fresh, though the link is still connected.
    let last = T0 + 4_000;
    assert_eq!(following(&p, last + 2_999), Following::Live);
    assert!(!kpi_stale(&p.scene(last + 2_999), "Active users", last + 2_999));
    let now = last + 3_000;
    assert!(kpi_stale(&p.scene(now), "Active users", now) && kpi_stale(&p.scene(now), "Orders / min", now));
    assert_eq!(following(&p, now), Following::Stale { age_ms: Some(3_000) });
    assert_eq!(following(&p, last + 12_000), Following::Stale { age_ms: Some(12_000) });

    // A page with no live reading on it (the alert list) goes by the
    // freshest data held, which ran out at the same time.
    p.set_view(vigil::tui::pipeline::ViewRequest { page: 3, ..Default::default() });
    assert_eq!(p.scene(last + 2_000).page.fresh_until, None);
    assert_eq!(following(&p, last + 2_000), Following::Live);
    assert_eq!(following(&p, last + 5_000), Following::Stale { age_ms: Some(5_000) });

    // One new frame and it is live again; a dropped link is down, not stale.
    let t = last + 20_000;
    let obs = vec![point("active_users", t, 101.0)];
    p.apply(Update::Samples { observations: obs, live: true, seq: Some(6), source: SourceId::GATEWAY }, t);
    assert_eq!(following(&p, t + 100), Following::Live);
    p.apply(
        Update::Conn(ConnState::Reconnecting {
            retry_at_ms: t + 5_000,
            attempt: 1,
            error: "connection reset".into(),
            class: ErrorClass::Network,
        }),
        t + 200,
    );
    assert_eq!(following(&p, t + 300), Following::Down);
}

#[test]
fn connected_with_nothing_live_yet_is_not_called_live() {
    let mut p = pipeline();
    p.apply(
        Update::Samples {
            observations: vec![point("active_users", T0, 100.0)],
            live: false,
            seq: None,
            source: SourceId::GATEWAY,
        },
        T0,
    );
    assert_eq!(p.scene(T0 + 100).following(T0 + 100), Following::Stale { age_ms: None });
}
