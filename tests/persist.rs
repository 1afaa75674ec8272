//! The last state saved to the cache dir and shown at the next start:
//! restored values are stale until live data arrives, and a bad file is
//! ignored rather than fatal.

use std::path::PathBuf;
use std::sync::Arc;
use vigil::core::model::{
    Alert, AlertState, ConnState, Event, Observation, Sample, SeriesKey, Severity, SourceId, Transport, Update,
};
use vigil::sources::SourceStats;
use vigil::tui::pipeline::{Pipeline, RestoreError, StateFile};
use vigil::tui::scene::{Scene, SourceInfo};

const T0: i64 = 1_751_279_400_000;

/// A fresh directory of its own for each test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vigil-persist-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn pipeline() -> Pipeline {
    let mut p = Pipeline::new(SourceInfo::default(), vec![Arc::new(SourceStats::default())]);
    p.apply(Update::Catalogue { metrics: Vec::new(), interval_ms: 1000, source: SourceId::GATEWAY }, T0);
    p.apply(
        Update::Conn(ConnState::Connected {
            since_ms: T0,
            server: "gw".into(),
            url: "ws://gw".into(),
            transport: Transport::Ws,
        }),
        T0,
    );
    p
}

fn samples(metric: &str, from: i64, n: i64, live: bool) -> Update {
    let observations = (0..n)
        .map(|i| Observation {
            key: SeriesKey::new(metric),
            ts: from + i * 1000,
            sample: Sample::Number(100.0 + i as f64),
        })
        .collect();
    Update::Samples { observations, live, seq: None, source: SourceId::GATEWAY }
}

fn alert(id: &str, updated_ms: i64) -> Alert {
    Alert {
        id: id.into(),
        origin: vigil::core::model::Origin::Gateway { source: SourceId::GATEWAY },
        state: AlertState::Firing,
        severity: Severity::Critical,
        metric: "m".into(),
        labels: Default::default(),
        value: Some(1.0),
        threshold: Some(0.5),
        summary: "too high".into(),
        starts_at: Some(updated_ms),
        ends_at: None,
        updated_ms,
        open_start: false,
    }
}

fn kpi_stale(scene: &Scene, title: &str, now: i64) -> Option<bool> {
    let (reading, _) = scene.number(title)?;
    Some(scene.is_stale(reading?, now))
}

#[test]
fn a_restored_state_shows_stale_until_live_data_arrives() {
    let dir = temp_dir("round-trip");
    let gateways = vec!["ws://gw:7878/api/v1/metrics/stream".to_string()];
    let file = StateFile::new(&dir, &gateways);

    let mut before = pipeline();
    before.apply(samples("active_users", T0, 120, true), T0 + 120_000);
    before.apply(samples("orders_per_minute", T0, 120, true), T0 + 120_000);
    before.apply(Update::Alert(alert("a-1", T0 + 100_000)), T0 + 100_000);
    let event = Event { ts: T0 + 5_000, kind: "deploy".into(), text: "v2 out".into(), labels: Default::default() };
    before.apply(Update::Event(event), T0 + 5_000);
    let bytes = before.save(&file, T0 + 120_000).unwrap();
    assert!(bytes > 0 && file.path.exists());
    assert!(!dir.read_dir().unwrap().any(|e| e.unwrap().path().extension().is_some_and(|x| x == "tmp")));

    let mut after = pipeline();
    let now = T0 + 150_000;
    assert_eq!(after.restore(&file, now).unwrap(), 2);
    let scene = after.scene(now);
    let (users, trend) = scene.number("Active users").unwrap();
    assert_eq!(users.unwrap().value, 219.0, "the last value is back");
    assert!(!trend.is_empty(), "and its history");
    assert_eq!(kpi_stale(&scene, "Active users", now), Some(true), "restored values are stale");
    assert_eq!(scene.link.last_live_ms, None);
    assert_eq!(scene.alerts.len(), 1);
    assert_eq!(scene.events.len(), 1);
    let series = after.core().store.get(&SeriesKey::new("active_users")).unwrap();
    assert!(series.tier(1).unwrap().slots().len() >= 8, "coarse tiers come back too");

    // One live point makes that series fresh; the other stays stale, and
    // the restored alert, not heard of since, is forgotten.
    after.apply(samples("active_users", T0 + 150_000, 1, true), now);
    let scene = after.scene(now + 100);
    assert_eq!(kpi_stale(&scene, "Active users", now + 100), Some(false));
    assert_eq!(kpi_stale(&scene, "Orders / min", now + 100), Some(true));
    assert!(scene.alerts.is_empty());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn corrupt_foreign_and_missing_files_are_ignored() {
    let dir = temp_dir("corrupt");
    let file = StateFile::new(&dir, &[]);
    assert!(matches!(pipeline().restore(&file, T0), Err(RestoreError::Missing)));

    std::fs::write(&file.path, b"{\"vigil_state\":1,\"series\":[tru").unwrap();
    let mut p = pipeline();
    assert!(matches!(p.restore(&file, T0), Err(RestoreError::Corrupt(_))));
    assert!(p.core().store.is_empty());

    // A good file for other gateways, copied under this name.
    let other = StateFile::new(&dir, &["ws://elsewhere/api/v1/metrics/stream".to_string()]);
    let mut source = pipeline();
    source.apply(samples("active_users", T0, 5, true), T0 + 5_000);
    source.save(&other, T0 + 5_000).unwrap();
    std::fs::copy(&other.path, &file.path).unwrap();
    assert!(matches!(pipeline().restore(&file, T0 + 6_000), Err(RestoreError::Foreign(_))));

    // Another format version.
    let text = std::fs::read_to_string(&other.path).unwrap().replacen("\"vigil_state\":1", "\"vigil_state\":99", 1);
    std::fs::write(&other.path, text).unwrap();
    assert!(matches!(pipeline().restore(&other, T0 + 6_000), Err(RestoreError::Foreign(_))));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_file_stays_within_its_size_limit() {
    let dir = temp_dir("size");
    let file = StateFile::new(&dir, &[]);
    let mut p = pipeline();
    for i in 0..200 {
        p.apply(samples(&format!("metric_{i:03}"), T0 + i * 1000, 600, false), T0);
    }
    let limit = 64 * 1024;
    let written = p.save_within(&file, T0 + 900_000, limit).unwrap();
    assert!(written <= limit, "{written} bytes");
    assert_eq!(std::fs::metadata(&file.path).unwrap().len() as usize, written);
    let restored = pipeline().restore(&file, T0 + 900_000).unwrap();
    assert!(restored > 0 && restored < 200, "{restored} series");
    // The series kept are the freshest ones.
    let mut back = pipeline();
    back.restore(&file, T0 + 900_000).unwrap();
    assert!(back.core().store.get(&SeriesKey::new("metric_199")).is_some());
    assert!(back.core().store.get(&SeriesKey::new("metric_000")).is_none());
    let _ = std::fs::remove_dir_all(dir);
}
