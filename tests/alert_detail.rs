//! The detail of a selected alert, as the pipeline works it out from the
//! simulator's data: a rule alert's series is what its rule measured at
//! each instant, an SLO burn alert's is its burn rate, and a gateway's
//! alert shows its metric when the store has it.

use std::sync::Arc;
use vigil::core::alert::rules::RuleSet;
use vigil::core::model::{Alert, AlertState, ConnState, Origin, Severity, SourceId, Transport, Update};
use vigil::core::query::Reader;
use vigil::gateway::sim::{Scenario, Simulator};
use vigil::sources::{SourceStats, convert};
use vigil::tui::pipeline::{Pipeline, ViewRequest};
use vigil::tui::scene::SourceInfo;
use vigil::wire::parse_time;

/// Six minutes into an error-burst period: payments is failing.
const NOW: &str = "2025-06-30T10:36:00Z";
const ERROR_RATE: &str = "rule:error rate:service=payments";

/// Two hours of the error-burst scenario (a minute apart, then the last
/// minutes a second apart), with the shipped rules played over it.
fn pipeline() -> (Pipeline, i64) {
    let now = parse_time(NOW).unwrap();
    let sim = Simulator::new(7, Scenario::ErrorBurst);
    let mut p = Pipeline::new(SourceInfo::default(), vec![Arc::new(SourceStats::default())]);
    let metrics = sim.catalogue().iter().map(convert::metric_meta).collect();
    p.apply(Update::Catalogue { metrics, interval_ms: 1000, source: SourceId::GATEWAY }, now - 400_000);
    p.apply(
        Update::Conn(ConnState::Connected {
            since_ms: now - 400_000,
            server: "vigil/test".into(),
            url: String::new(),
            transport: Transport::Ws,
        }),
        now - 400_000,
    );
    for t in (now - 2 * 3_600_000..now - 400_000).step_by(60_000) {
        let observations = convert::observations(t, &sim.sample(t));
        p.apply(Update::Samples { observations, live: false, seq: None, source: SourceId::GATEWAY }, t);
    }
    for t in (now - 400_000..=now).step_by(1000) {
        let observations = convert::observations(t, &sim.sample(t));
        p.apply(Update::Samples { observations, live: true, seq: None, source: SourceId::GATEWAY }, t);
    }
    p.set_rules(Arc::new(vigil::core::alert::defaults::rules()));
    p.replay_rules(now);
    // A replay files the changes only; the tick after it files every
    // group's value at the instant, as each second does while running.
    p.evaluate_rules(now);
    p.set_view(ViewRequest { page: 3, ..ViewRequest::default() });
    (p, now)
}

#[test]
fn a_rule_alerts_series_is_what_its_rule_measured_at_each_instant() {
    let (mut p, now) = pipeline();
    p.set_detail(Some(ERROR_RATE.into()));
    let scene = p.scene(now);
    let d = scene.detail.as_deref().expect("the detail of the selected alert");
    assert_eq!(d.alert.state, AlertState::Firing, "{:?}", d.alert);
    assert_eq!(
        d.alert.origin,
        Origin::Rule { rule: "error rate".into(), group: Some(("service".into(), "payments".into())) }
    );
    assert!(d.measure.starts_with("error rate: errors / http_requests_total"), "{}", d.measure);
    assert!(d.measure.contains("service=payments"), "{}", d.measure);
    // The newest point is the value the alert holds, at the same instant.
    assert_eq!(d.series.last(), Some(&(now, d.alert.value.unwrap())));
    // Every point is what the rule measures at that instant; and the rule
    // engine, stepped over the same instants, reports the same value for
    // every one where the group is past its threshold (it reports groups
    // only while they are pending, firing or just changed).
    let rules = vigil::core::alert::defaults::rules();
    let rule = rules.iter().find(|r| r.name == "error rate").unwrap();
    let mut engine = RuleSet::new(vec![rule.clone()]);
    let th = d.alert.threshold.unwrap();
    let mut reported = 0;
    for &(t, v) in &d.series {
        let measured = rule.values_at(&Reader::new(&p.core().store), t).remove("payments").flatten();
        assert_eq!(measured, Some(v), "at {t}");
        let outcome =
            engine.evaluate(&p.core().store, t).into_iter().find(|o| o.group.as_ref().unwrap().1 == "payments");
        match outcome {
            Some(o) => {
                assert_eq!(o.value, Some(v), "at {t}");
                reported += 1;
            }
            None => assert!(v <= th, "at {t}: {v} is past the threshold and the engine said nothing"),
        }
    }
    assert!(reported > 10, "{reported}");
    assert!(d.series.len() > 100, "{} points over 15 minutes", d.series.len());
    // The burst started inside the window: the series crosses the threshold.
    assert!(d.series.iter().any(|p| p.1 < th) && d.series.iter().any(|p| p.1 > th));
    // Its history, from the incident timeline, ends with it firing since
    // the alert's start.
    assert_eq!(d.history.last().map(|h| (h.at_ms, h.state.as_str())), Some((d.alert.starts_at.unwrap(), "firing")));
}

#[test]
fn no_detail_unless_asked_and_none_for_an_alert_gone() {
    let (mut p, now) = pipeline();
    assert!(p.scene(now).detail.is_none());
    p.set_detail(Some("rule:no such rule".into()));
    assert!(p.scene(now).detail.is_none());
    p.set_detail(None);
    assert!(p.scene(now).detail.is_none());
}

fn gateway_alert(id: &str, metric: &str, now: i64) -> Alert {
    Alert {
        id: id.into(),
        origin: Origin::Gateway { source: SourceId::GATEWAY },
        state: AlertState::Firing,
        severity: Severity::Warning,
        metric: metric.into(),
        labels: [("service".to_string(), "payments".to_string())].into(),
        value: Some(1.0),
        threshold: Some(0.5),
        summary: "from the gateway".into(),
        starts_at: Some(now - 60_000),
        ends_at: None,
        updated_ms: now,
        open_start: false,
    }
}

#[test]
fn a_gateway_alert_shows_its_metric_or_says_there_is_none() {
    let (mut p, now) = pipeline();
    p.apply(Update::Alert(gateway_alert("gw-1", "cpu_usage_percent", now)), now);
    p.apply(Update::Alert(gateway_alert("gw-2", "no_such_metric", now)), now);
    p.set_detail(Some("gw-1".into()));
    let scene = p.scene(now);
    let d = scene.detail.as_deref().unwrap();
    assert_eq!(d.alert.origin, Origin::Gateway { source: SourceId::GATEWAY });
    assert!(!d.series.is_empty() && d.no_series.is_none(), "{d:?}");
    assert!(d.series.iter().all(|&(t, _)| t <= now && t > now - 15 * 60_000));
    p.set_detail(Some("gw-2".into()));
    let scene = p.scene(now);
    let d = scene.detail.as_deref().unwrap();
    assert!(d.series.is_empty());
    assert_eq!(d.no_series.as_deref(), Some("no series for this alert"));
}

#[test]
fn an_slo_burn_alert_shows_the_burn_rate_its_status_has() {
    let (mut p, now) = pipeline();
    let text = r#"
        name = "payments availability"
        objective = 99.5
        total = { metric = "http_requests_total", labels = { service = "payments" } }
        bad = { metric = "http_errors_total", labels = { service = "payments" } }
    "#;
    p.set_slos(Arc::new(vec![toml::from_str(text).unwrap()]));
    p.evaluate_slos(now);
    let id = "slo:payments availability:fast burn";
    let mut alert = gateway_alert(id, "", now);
    alert.origin = Origin::Slo { slo: "payments availability".into(), burn: "fast burn".into() };
    alert.labels = [("slo".to_string(), "payments availability".to_string())].into();
    p.apply(Update::Alert(alert), now);
    p.set_detail(Some(id.into()));
    let scene = p.scene(now);
    let d = scene.detail.as_deref().unwrap();
    assert!(matches!(&d.alert.origin, Origin::Slo { slo, .. } if slo == "payments availability"));
    // The fast burn reads the last hour; the status shows the same burn.
    let hour = scene.slos[0].burns.iter().find(|b| b.0 == 3_600_000).unwrap().1.unwrap();
    assert_eq!(d.series.last(), Some(&(now, hour)));
}
