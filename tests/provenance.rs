//! Alerts carry their origin, and nothing tells it from the id: a gateway
//! may name an alert `rule:...` and it stays the gateway's. Files written
//! before origins existed still load: acks and silences (keyed by alert id
//! and alert name), the incident timeline, and the state file. The first
//! two are fixtures in the format as it was; the state file is made by
//! saving and then taking out what the new format added.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use vigil::core::alert::intent_file;
use vigil::core::incident::timeline_file;
use vigil::core::model::{
    Alert, AlertState, ConnState, Event, Kind, MetricMeta, Observation, Origin, OriginKind, Sample, SeriesKey,
    Severity, SourceId, Transport, Update,
};
use vigil::sources::SourceStats;
use vigil::tui::pipeline::{Pipeline, StateFile};
use vigil::tui::scene::SourceInfo;

/// 2025-06-30T10:30:00Z.
const T0: i64 = 1_751_279_400_000;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats").join(name)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vigil-formats-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn pipeline() -> Pipeline {
    let mut p = Pipeline::new(SourceInfo::default(), vec![Arc::new(SourceStats::default())]);
    let gauge = MetricMeta { name: "error_ratio".into(), kind: Kind::Gauge, unit: String::new(), help: String::new() };
    p.apply(Update::Catalogue { metrics: vec![gauge], interval_ms: 1000, source: SourceId::GATEWAY }, T0);
    let connected =
        ConnState::Connected { since_ms: T0, server: "gw".into(), url: "ws://gw".into(), transport: Transport::Ws };
    p.apply(Update::Conn(connected), T0);
    p
}

fn alert(id: &str, origin: Origin, metric: &str, labels: &[(&str, &str)]) -> Alert {
    Alert {
        id: id.into(),
        origin,
        state: AlertState::Firing,
        severity: Severity::Critical,
        metric: metric.into(),
        labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        value: None,
        threshold: None,
        summary: String::new(),
        starts_at: Some(T0),
        ends_at: None,
        updated_ms: T0,
        open_start: false,
    }
}

#[test]
fn acks_and_silences_of_the_earlier_format_hold_the_same_alerts() {
    let now = T0 + 10 * 60_000;
    let intent = intent_file::load(&fixture("acks-silences.json")).unwrap();
    assert_eq!(intent.acked_by("rule:error rate:service=payments"), Some("alice"));
    assert_eq!(intent.acked_by("am:prod:00000000000000a1"), Some("bob"));

    // A silence of an SLO's burn alert, by the name silences always gave it.
    let slo = Origin::Slo { slo: "checkout availability".into(), burn: "fast burn".into() };
    let burn = alert("slo:checkout availability:fast burn", slo, "", &[("slo", "checkout availability")]);
    assert_eq!(intent.silenced(&burn, now).map(|s| s.by.as_str()), Some("carol"));
    // A gateway's alert firing again under a new id is still covered; one
    // for another service is not.
    let gateway = Origin::Gateway { source: SourceId::GATEWAY };
    let again =
        alert("high_error_rate:search:1751280000", gateway.clone(), "http_error_ratio", &[("service", "search")]);
    assert_eq!(intent.silenced(&again, now).map(|s| s.by.as_str()), Some("dave"));
    let other = alert("high_error_rate:api:1751280000", gateway, "http_error_ratio", &[("service", "api")]);
    assert!(intent.silenced(&other, now).is_none());
}

#[test]
fn an_ack_of_the_earlier_format_finds_the_alert_the_rules_make_today() {
    let dir = temp_dir("ack");
    std::fs::copy(fixture("acks-silences.json"), intent_file::path_in(&dir)).unwrap();
    let config: vigil::config::Config = toml::from_str(
        r#"
[[alert]]
name = "error rate"
metric = "error_ratio"
by = "service"
op = ">"
threshold = 0.01
for = "5s"
over = "5s"
severity = "critical"
"#,
    )
    .unwrap();
    let mut p = pipeline();
    p.keep_intent_in(intent_file::path_in(&dir), "erin".into()).unwrap();
    p.set_rules(Arc::new(config.alert));
    let mut now = T0;
    for sec in 0..30 {
        now = T0 + sec * 1000;
        let key = SeriesKey::new("error_ratio").with("service", "payments");
        let obs = Observation { key, ts: now, sample: Sample::Number(0.06) };
        p.apply(Update::Samples { observations: vec![obs], live: true, seq: None, source: SourceId::GATEWAY }, now);
        p.evaluate_rules(now);
    }
    p.tick(now, Duration::from_secs(1));
    let scene = p.scene(now);
    let firing = scene.alerts.iter().find(|a| a.state == AlertState::Firing).expect("the rule fires");
    assert_eq!(firing.id, "rule:error rate:service=payments", "ids on disk stay as they were");
    assert_eq!(firing.origin.kind(), OriginKind::Rule);
    let hush = scene.hush.get(&firing.id).expect("the saved ack applies");
    assert_eq!(hush.acked_by.as_deref(), Some("alice"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_timeline_of_the_earlier_format_loads_with_its_sources_as_written() {
    let timeline = timeline_file::load(&fixture("timeline.json"), T0 + 3_600_000).unwrap();
    let sources: Vec<(String, OriginKind)> = timeline
        .entries()
        .filter_map(|e| match &e.what {
            vigil::core::incident::timeline::What::Alert(a) => Some((a.id.clone(), a.source)),
            _ => None,
        })
        .collect();
    assert_eq!(
        sources,
        [
            ("rule:error rate:service=payments".to_string(), OriginKind::Rule),
            ("rule:error rate:service=payments".to_string(), OriginKind::Rule),
            ("slo:checkout availability:fast burn".to_string(), OriginKind::Slo),
            // Kept as the gateway's, whatever its id looks like.
            ("rule:disk:host=a".to_string(), OriginKind::Gateway),
        ]
    );
    assert_eq!(timeline.len(), 6, "the event and the link change too");
}

#[test]
fn a_state_file_of_the_earlier_format_restores_its_data_but_not_alerts_of_unknown_origin() {
    let dir = temp_dir("state");
    let file = StateFile::new(&dir, &["ws://gw:7878/api/v1/metrics/stream".to_string()]);
    let mut before = pipeline();
    let observations = (0..60)
        .map(|i| Observation { key: SeriesKey::new("error_ratio"), ts: T0 + i * 1000, sample: Sample::Number(0.002) })
        .collect();
    before.apply(Update::Samples { observations, live: true, seq: None, source: SourceId::GATEWAY }, T0 + 60_000);
    let gateway = Origin::Gateway { source: SourceId::GATEWAY };
    before.apply(Update::Alert(alert("a-91", gateway, "http_error_ratio", &[])), T0 + 30_000);
    let am = Origin::Alertmanager { source: "prod".into() };
    before.apply(Update::Alert(alert("am:prod:00000000000000a1", am, "HighErrorRate", &[])), T0 + 30_000);
    let deploy = Event { ts: T0 + 5_000, kind: "deploy".into(), text: "v2 out".into(), labels: Default::default() };
    before.apply(Update::Event(deploy), T0 + 5_000);
    before.save(&file, T0 + 60_000).unwrap();

    // As saved now: only the gateway's alert, marked as the gateway's.
    let mut saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&file.path).unwrap()).unwrap();
    let alerts = saved["alerts"].as_array_mut().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!((&alerts[0]["id"], &alerts[0]["origin"]), (&"a-91".into(), &"gateway".into()));
    let now = T0 + 90_000;
    let mut after = pipeline();
    assert_eq!(after.restore(&file, now).unwrap(), 1);
    assert_eq!(after.scene(now).alerts.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["a-91"]);

    // As the earlier format had it: no origins, and the rules' alerts too.
    let mut rule_alert = alerts[0].clone();
    rule_alert["id"] = "rule:error rate:service=payments".into();
    alerts.push(rule_alert);
    for a in alerts.iter_mut() {
        a.as_object_mut().unwrap().remove("origin");
    }
    std::fs::write(&file.path, serde_json::to_vec(&saved).unwrap()).unwrap();
    let mut after = pipeline();
    assert_eq!(after.restore(&file, now).unwrap(), 1, "the series comes back");
    let scene = after.scene(now);
    assert!(scene.alerts.is_empty(), "no alert of unknown origin: {:?}", scene.alerts);
    assert_eq!(scene.events.len(), 1, "the event comes back");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_gateway_alert_named_like_a_rule_stays_when_the_rules_start_over() {
    let mut p = pipeline();
    let gateway = Origin::Gateway { source: SourceId::GATEWAY };
    p.apply(Update::Alert(alert("rule:disk:host=a", gateway, "disk_used", &[("host", "a")])), T0);
    let config: vigil::config::Config =
        toml::from_str("[[alert]]\nname = \"x\"\nmetric = \"error_ratio\"\nop = \">\"\nthreshold = 1\n").unwrap();
    p.set_rules(Arc::new(config.alert));
    p.replay_rules(T0 + 1_000);
    let scene = p.scene(T0 + 1_000);
    let ids: Vec<_> = scene.alerts.iter().map(|a| (a.id.as_str(), a.origin.kind())).collect();
    assert_eq!(ids, [("rule:disk:host=a", OriginKind::Gateway)]);
}
