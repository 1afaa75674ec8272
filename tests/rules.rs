//! The dashboard's own alert rules, from config text to the alerts page:
//! a latency rule over a gauge goes pending, fires, loses its data and
//! resolves, as a pipeline fed point by point shows it.

use std::sync::Arc;
use std::time::Duration;
use vigil::config::Config;
use vigil::core::model::{AlertState, Kind, MetricMeta, Observation, Sample, SeriesKey, SourceId, Update};
use vigil::sources::SourceStats;
use vigil::tui::pipeline::Pipeline;
use vigil::tui::scene::SourceInfo;

const T0: i64 = 1_751_279_400_000;

const CONFIG: &str = r#"
[[alert]]
name = "queue backlog"
metric = "queue_depth"
by = "service"
op = ">"
threshold = 1000
for = "30s"
over = "10s"
severity = "critical"
summary = "{service} queue at {value} (limit {threshold})"
"#;

fn depth(service: &str, t: i64, v: f64) -> Update {
    let key = SeriesKey::new("queue_depth").with("service", service);
    let observations = vec![Observation { key, ts: t, sample: Sample::Number(v) }];
    Update::Samples { observations, live: true, seq: None, source: SourceId::GATEWAY }
}

#[test]
fn a_rule_from_config_goes_pending_fires_loses_data_and_resolves() {
    let config: Config = toml::from_str(CONFIG).unwrap();
    let mut p = Pipeline::new(SourceInfo::default(), vec![Arc::new(SourceStats::default())]);
    let gauge = MetricMeta { name: "queue_depth".into(), kind: Kind::Gauge, unit: String::new(), help: String::new() };
    p.apply(Update::Catalogue { metrics: vec![gauge], interval_ms: 1000, source: SourceId::GATEWAY }, T0);
    p.set_rules(Arc::new(config.alert));
    let mut seen: Vec<(i64, AlertState)> = Vec::new();
    let mut state_at = |p: &Pipeline, sec: i64| {
        let scene = p.scene(T0 + sec * 1000);
        let a = scene.alerts.iter().find(|a| a.id == "rule:queue backlog:service=jobs").cloned();
        if let Some(a) = a {
            if seen.last().map(|s| s.1) != Some(a.state) {
                seen.push((sec, a.state));
            }
            Some(a)
        } else {
            None
        }
    };
    let mut last = None;
    for sec in 0..200i64 {
        let t = T0 + sec * 1000;
        // Backed up from 20 s to 100 s, silent from 100 s to 150 s (still
        // backed up when it returns), drained from 170 s.
        let v = match sec {
            20..170 => 1500.0,
            _ => 10.0,
        };
        if !(100..150).contains(&sec) {
            p.apply(depth("jobs", t, v), t);
        }
        p.tick(t, Duration::from_secs(1));
        last = state_at(&p, sec).or(last);
    }
    assert_eq!(
        seen,
        [
            (20, AlertState::Pending),
            (50, AlertState::Firing),
            // Rules are evaluated on whole 10 s steps. The value is the
            // last point in the newest half of the 10 s window, (now - 5 s,
            // now]: at 100 s the last point (99 s) is still in it, at 110 s
            // it has left.
            (110, AlertState::NoData),
            // Back, still backed up: firing again, not pending anew.
            (150, AlertState::Firing),
            (170, AlertState::Resolved),
        ]
    );
    let a = last.unwrap();
    // Resolved, it says so in words of its own: the firing template with
    // the value that ended it would read as a breach.
    assert_eq!(a.summary, "queue backlog jobs resolved: 10, no longer > 1,000");
    assert_eq!(a.starts_at, Some(T0 + 50_000), "a resolved alert keeps when it started firing");

    // The same rules read again (a reload for another edit) change nothing.
    p.set_rules(Arc::new(toml::from_str::<Config>(CONFIG).unwrap().alert));
    assert!(p.scene(T0 + 200_000).alerts.iter().any(|a| a.id.starts_with("rule:")));
    // Other rules take the old rules' alerts with them.
    p.set_rules(Arc::new(Vec::new()));
    assert!(p.scene(T0 + 200_000).alerts.iter().all(|a| !a.id.starts_with("rule:")));
}

#[test]
fn the_example_rule_in_config_example_toml_parses() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml")).unwrap();
    let start = text.find("# [[alert]]").expect("an example rule");
    let rule: String = text[start..]
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| l.trim_start_matches('#').trim_start())
        .map(|l| format!("{l}\n"))
        .collect();
    let config: Config = toml::from_str(&rule).unwrap();
    assert_eq!(config.alert.len(), 1);
    assert_eq!(config.alert[0].name, "checkout errors");
}

#[test]
fn after_the_start_up_backfill_a_long_breach_is_firing_at_once() {
    let config: Config = toml::from_str(CONFIG).unwrap();
    let mut p = Pipeline::new(SourceInfo::default(), vec![Arc::new(SourceStats::default())]);
    let gauge = MetricMeta { name: "queue_depth".into(), kind: Kind::Gauge, unit: String::new(), help: String::new() };
    p.apply(Update::Catalogue { metrics: vec![gauge], interval_ms: 1000, source: SourceId::GATEWAY }, T0);
    p.set_rules(Arc::new(config.alert));
    let now = T0 + 300_000;
    let state = |p: &Pipeline| {
        let scene = p.scene(now);
        scene.alerts.iter().find(|a| a.id == "rule:queue backlog:service=jobs").map(|a| (a.state, a.starts_at))
    };
    // Live data first: with a second of it the queue looks newly backed up.
    p.apply(depth("jobs", now, 1500.0), now);
    p.tick(now, Duration::from_secs(1));
    assert_eq!(state(&p), Some((AlertState::Pending, Some(now))));
    // Then the backfill: backed up all along, for five minutes.
    let history: Vec<Observation> = (0..300)
        .map(|sec| Observation {
            key: SeriesKey::new("queue_depth").with("service", "jobs"),
            ts: T0 + sec * 1000,
            sample: Sample::Number(1500.0),
        })
        .collect();
    p.apply(Update::Samples { observations: history, live: false, seq: None, source: SourceId::GATEWAY }, now);
    p.apply(Update::Backfilled { from_ms: T0 - 1000, to_ms: now, complete: true }, now);
    // Firing at once, and since when the data shows it began: a whole
    // window (10 s) held, then `for` (30 s), 40 s after the history's
    // first point, though that is far beyond the rule's reach of 40 s
    // back from now (the replay goes back until it finds the start).
    assert_eq!(state(&p), Some((AlertState::Firing, Some(T0 + 40_000))));
}
