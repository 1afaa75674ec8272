//! Acknowledge, silence and the exec hook, end to end: real keys through
//! the keymap and the screen's state machine, wishes granted by the
//! pipeline that owns the alerts, the record kept in a real file across a
//! restart, and the hook run as a real process.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use vigil::core::alert::intent::Wish;
use vigil::core::alert::intent_file;
use vigil::core::model::{
    Alert, AlertState, Kind, MetricMeta, Observation, Origin, Sample, SeriesKey, Severity, SourceId, Update,
};
use vigil::dashboards::Dashboard;
use vigil::hook::{Hook, HookOptions};
use vigil::sources::SourceStats;
use vigil::tui::app::keys;
use vigil::tui::app::state::{Effect, UiState};
use vigil::tui::pipeline::{Pipeline, ViewRequest};
use vigil::tui::scene::{Scene, SourceInfo};
use vigil::tui::view::Page;

const T0: i64 = 1_751_279_400_000;
/// The built-in dashboard's Alerts page.
const ALERTS_PAGE: usize = 3;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vigil-people-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn pipeline() -> Pipeline {
    let mut p = Pipeline::new(SourceInfo::default(), vec![Arc::new(SourceStats::default())]);
    p.set_view(ViewRequest { page: ALERTS_PAGE, ..ViewRequest::default() });
    p
}

fn alert(id: &str, state: AlertState, severity: Severity, service: &str) -> Alert {
    Alert {
        id: id.into(),
        origin: Origin::Gateway { source: SourceId::GATEWAY },
        state,
        severity,
        metric: "http_error_ratio".into(),
        labels: [("service".to_string(), service.to_string())].into(),
        value: Some(0.061),
        threshold: Some(0.01),
        summary: format!("{service} error rate above 1%"),
        starts_at: Some(T0 - 60_000),
        ends_at: None,
        updated_ms: T0,
        open_start: false,
    }
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn named(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// One key as the app serves it: to the line being typed, or the keymap.
fn press(ui: &mut UiState, k: KeyEvent, scene: &Scene) -> Effect {
    if ui.typing() { ui.edit(k, scene, T0) } else { ui.act(keys::action(k), scene, T0) }
}

/// Grants what the keys asked for, as the pipeline task would.
fn grant(p: &mut Pipeline, effect: Effect, now: i64) {
    match effect {
        Effect::Wish(w) => assert!(p.grant(w, now)),
        other => panic!("expected a wish, got {other:?}"),
    }
}

#[test]
fn keys_acknowledge_and_silence_and_the_record_outlives_a_restart() {
    let dir = temp_dir("keys");
    let file = intent_file::path_in(&dir);
    let mut p = pipeline();
    p.keep_intent_in(file.clone(), "alice".into()).unwrap();
    p.apply(Update::Alert(alert("high_errors:payments:1", AlertState::Firing, Severity::Critical, "payments")), T0);
    p.apply(Update::Alert(alert("high_errors:search:1", AlertState::Firing, Severity::Warning, "search")), T0);
    let mut scene = p.scene(T0);

    let mut ui = UiState::new(Arc::new(Dashboard::built_in()), 15 * 60_000);
    ui.go_to(Page::Dashboard(ALERTS_PAGE));
    assert!(ui.on_alerts_page());
    // Nothing selected yet: `a` says what to do instead of acting.
    assert_eq!(press(&mut ui, key('a'), &scene), Effect::Redraw);
    assert!(ui.view(T0, false, (0, 0)).message.unwrap().0.contains("select an alert first"));
    // j selects the top alert (the critical one), and `a` acknowledges it.
    press(&mut ui, key('j'), &scene);
    assert_eq!(ui.view(T0, false, (0, 0)).selected.as_deref(), Some("high_errors:payments:1"));
    grant(&mut p, press(&mut ui, key('a'), &scene), T0);
    scene = p.scene(T0);
    assert_eq!(scene.hush["high_errors:payments:1"].acked_by.as_deref(), Some("alice"));

    // Down to the second, `s` opens the silence prompt, `4h` Enter silences.
    press(&mut ui, named(KeyCode::Down), &scene);
    assert_eq!(press(&mut ui, key('s'), &scene), Effect::Redraw);
    let prompt = ui.view(T0, false, (0, 0)).prompt.unwrap();
    assert_eq!(prompt.text, "silence ");
    assert!(prompt.hint.unwrap().contains("15m 1h 4h 1d"));
    for c in "4h".chars() {
        press(&mut ui, key(c), &scene);
    }
    let effect = press(&mut ui, named(KeyCode::Enter), &scene);
    assert_eq!(effect, Effect::Wish(Wish::Silence { id: "high_errors:search:1".into(), for_ms: 4 * 3_600_000 }));
    grant(&mut p, effect, T0);
    scene = p.scene(T0);
    assert_eq!(scene.hush["high_errors:search:1"].silenced, Some((T0 + 4 * 3_600_000, "alice".to_string())));

    // The silence covers the same rule and service when it fires anew.
    p.apply(Update::Alert(alert("high_errors:search:2", AlertState::Firing, Severity::Warning, "search")), T0 + 1000);
    assert!(p.scene(T0 + 1000).hush["high_errors:search:2"].silenced.is_some());

    // Off the Alerts page, `s` still shows the sources, as `S` does anywhere.
    ui.go_to(Page::Dashboard(0));
    press(&mut ui, key('s'), &scene);
    assert_eq!(ui.page, Page::Sources);
    press(&mut ui, key('S'), &scene);
    assert_eq!(ui.page, Page::Dashboard(0));

    // A restart reads both back from the file, with who and until when.
    let mut again = pipeline();
    again.keep_intent_in(file.clone(), "bob".into()).unwrap();
    assert_eq!(again.intent().acked_by("high_errors:payments:1"), Some("alice"));
    assert_eq!(again.intent().silences.len(), 1);
    assert_eq!(again.intent().silences[0].until_ms, T0 + 4 * 3_600_000);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_wall_display_does_not_acknowledge_and_an_ack_ends_when_its_alert_resolves() {
    let mut p = pipeline();
    let firing = alert("high_errors:payments:1", AlertState::Firing, Severity::Critical, "payments");
    p.apply(Update::Alert(firing.clone()), T0);
    let scene = p.scene(T0);
    let mut ui = UiState::new(Arc::new(Dashboard::built_in()), 15 * 60_000);
    ui.go_to(Page::Dashboard(ALERTS_PAGE));
    ui.kiosk = true;
    press(&mut ui, key('j'), &scene);
    assert_eq!(press(&mut ui, key('a'), &scene), Effect::Redraw);
    assert!(ui.view(T0, false, (0, 0)).message.unwrap().0.contains("wall display"));

    ui.kiosk = false;
    grant(&mut p, press(&mut ui, key('a'), &scene), T0);
    assert!(p.scene(T0).hush.contains_key(&firing.id));
    p.apply(
        Update::Alert(Alert { state: AlertState::Resolved, ends_at: Some(T0 + 5_000), ..firing.clone() }),
        T0 + 5_000,
    );
    p.tick(T0 + 6_000, Duration::from_secs(1));
    assert!(p.scene(T0 + 6_000).hush.is_empty(), "the ack ended with its alert");
}

/// The hook writes each change it is given as one line of a file.
fn line_per_run(file: &std::path::Path) -> Hook {
    let argv = ["sh", "-c", "cat >> \"$1\"; echo >> \"$1\"", "sh", file.to_str().unwrap()];
    Hook::new(HookOptions {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        timeout: Duration::from_secs(20),
        // One at a time, so lines land in the order of the changes.
        max_running: 1,
        max_waiting: 16,
    })
    .unwrap()
}

/// Waits (up to a generous bound) until the file holds `n` lines.
async fn lines(file: &std::path::Path, n: usize) -> Vec<serde_json::Value> {
    for _ in 0..400 {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if text.lines().count() >= n {
            return text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the hook did not write {n} lines: {:?}", std::fs::read_to_string(file));
}

#[tokio::test]
async fn the_hook_hears_gateway_changes_but_not_silenced_ones() {
    let dir = temp_dir("hook-gateway");
    let out = dir.join("changes.jsonl");
    let mut p = pipeline();
    p.keep_intent_in(intent_file::path_in(&dir), "alice".into()).unwrap();
    p.run_hook(line_per_run(&out));
    let pay = alert("high_errors:payments:1", AlertState::Pending, Severity::Critical, "payments");
    p.apply(Update::Alert(pay.clone()), T0);
    p.apply(Update::Alert(Alert { state: AlertState::Firing, ..pay.clone() }), T0 + 1000);
    // The same state again is no change.
    p.apply(Update::Alert(Alert { state: AlertState::Firing, ..pay.clone() }), T0 + 2000);
    p.grant(Wish::ToggleAck(pay.id.clone()), T0 + 2000);
    // Search is silenced before it fires: no run for it.
    let search = alert("high_errors:search:1", AlertState::Pending, Severity::Warning, "search");
    p.apply(Update::Alert(search.clone()), T0 + 2000);
    let got = lines(&out, 3).await;
    p.grant(Wish::Silence { id: search.id.clone(), for_ms: 3_600_000 }, T0 + 2500);
    p.apply(Update::Alert(Alert { state: AlertState::Firing, ..search.clone() }), T0 + 3000);
    p.apply(Update::Alert(Alert { state: AlertState::Resolved, ends_at: Some(T0 + 4000), ..pay.clone() }), T0 + 4000);
    let got = [got, lines(&out, 4).await[3..].to_vec()].concat();
    let brief: Vec<(&str, &str, &serde_json::Value)> =
        got.iter().map(|v| (v["id"].as_str().unwrap(), v["state"].as_str().unwrap(), &v["previous_state"])).collect();
    assert_eq!(
        brief,
        [
            ("high_errors:payments:1", "pending", &serde_json::Value::Null),
            ("high_errors:payments:1", "firing", &serde_json::json!("pending")),
            ("high_errors:search:1", "pending", &serde_json::Value::Null),
            ("high_errors:payments:1", "resolved", &serde_json::json!("firing")),
        ]
    );
    assert_eq!(got[1]["acked_by"], serde_json::Value::Null);
    assert_eq!(got[3]["acked_by"], "alice", "acknowledged before it resolved");
    assert_eq!(got[3]["name"], "high_errors");
    assert_eq!(got[3]["source"], "gateway");
    assert_eq!(got[3]["labels"]["service"], "payments");
    assert_eq!(got[3]["ends_at"], "2025-06-30T10:30:04Z");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_hook_hears_a_rule_go_pending_and_fire() {
    let dir = temp_dir("hook-rule");
    let out = dir.join("changes.jsonl");
    let config: vigil::config::Config = toml::from_str(
        r#"
[[alert]]
name = "queue backlog"
metric = "queue_depth"
by = "service"
op = ">"
threshold = 1000
for = "10s"
over = "10s"
severity = "critical"
"#,
    )
    .unwrap();
    let mut p = pipeline();
    let gauge = MetricMeta { name: "queue_depth".into(), kind: Kind::Gauge, unit: String::new(), help: String::new() };
    p.apply(Update::Catalogue { metrics: vec![gauge], interval_ms: 1000, source: SourceId::GATEWAY }, T0);
    p.set_rules(Arc::new(config.alert));
    p.run_hook(line_per_run(&out));
    for sec in 0..30 {
        let t = T0 + sec * 1000;
        let key = SeriesKey::new("queue_depth").with("service", "jobs");
        let obs = Observation { key, ts: t, sample: Sample::Number(1500.0) };
        p.apply(Update::Samples { observations: vec![obs], live: true, seq: None, source: SourceId::GATEWAY }, t);
        p.evaluate_rules(t);
    }
    let got = lines(&out, 2).await;
    assert_eq!(got[0]["id"], "rule:queue backlog:service=jobs");
    assert_eq!((&got[0]["change"], &got[0]["previous_state"]), (&"pending".into(), &"inactive".into()));
    assert_eq!((&got[1]["change"], &got[1]["state"]), (&"firing".into(), &"firing".into()));
    assert_eq!(got[1]["name"], "queue backlog");
    assert_eq!(got[1]["source"], "rule");
    assert_eq!(got[1]["threshold"], 1000.0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_hook_names_an_alertmanager_alert_by_its_alertname_and_source() {
    let dir = temp_dir("hook-am");
    let out = dir.join("changes.jsonl");
    let mut p = pipeline();
    p.run_hook(line_per_run(&out));
    let mut am = alert("am:prod:00000000000000a1", AlertState::Firing, Severity::Critical, "checkout");
    am.origin = Origin::Alertmanager { source: "prod".into() };
    am.metric = "HighErrorRate".into();
    am.labels.insert("alertname".into(), "HighErrorRate".into());
    p.apply(Update::Alert(am), T0);
    let got = lines(&out, 1).await;
    assert_eq!(got[0]["name"], "HighErrorRate");
    assert_eq!(got[0]["source"], "alertmanager");
    assert_eq!(got[0]["previous_state"], serde_json::Value::Null, "nothing is known of it before");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_hook_says_who_acknowledged_a_rule_alert_when_it_resolves() {
    let dir = temp_dir("hook-rule-ack");
    let out = dir.join("changes.jsonl");
    let config: vigil::config::Config = toml::from_str(
        "[[alert]]\nname = \"queue backlog\"\nmetric = \"queue_depth\"\nop = \">\"\nthreshold = 1000\nfor = \"10s\"\nover = \"10s\"\nseverity = \"critical\"\n",
    )
    .unwrap();
    let mut p = pipeline();
    p.keep_intent_in(intent_file::path_in(&dir), "alice".into()).unwrap();
    let gauge = MetricMeta { name: "queue_depth".into(), kind: Kind::Gauge, unit: String::new(), help: String::new() };
    p.apply(Update::Catalogue { metrics: vec![gauge], interval_ms: 1000, source: SourceId::GATEWAY }, T0);
    p.set_rules(Arc::new(config.alert));
    p.run_hook(line_per_run(&out));
    // The rules run on the pipeline's own ticks, as on a screen: a backlog
    // for a minute, acknowledged once firing, then gone.
    let mut acked = false;
    for sec in 0..120 {
        let t = T0 + sec * 1000;
        let depth = if sec < 60 { 1500.0 } else { 10.0 };
        let obs = Observation { key: SeriesKey::new("queue_depth"), ts: t, sample: Sample::Number(depth) };
        p.apply(Update::Samples { observations: vec![obs], live: true, seq: None, source: SourceId::GATEWAY }, t);
        p.tick(t, Duration::from_secs(1));
        let firing = p.scene(t).alerts.iter().find(|a| a.state == AlertState::Firing).map(|a| a.id.clone());
        if let (Some(id), false) = (firing, acked) {
            acked = p.grant(Wish::ToggleAck(id), t);
        }
    }
    assert!(acked, "the rule fired and was acknowledged");
    let got = lines(&out, 3).await;
    let resolved = got.iter().find(|l| l["state"] == "resolved").expect("a resolved line");
    assert_eq!(resolved["acked_by"], "alice", "{resolved}");
    assert_eq!(resolved["source"], "rule");
    std::fs::remove_dir_all(&dir).unwrap();
}
