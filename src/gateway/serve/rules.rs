//! The gateway's own alert rules, evaluated on simulated time. Each rule
//! gives a verdict (which series breach now, with what value) and its own
//! wording; the engine owns the pending / firing / resolved lifecycle.

use super::signals::{error_ratios, gauge, p99_latencies};
use crate::gateway::sim::Simulator;
use crate::wire::{AlertFrame, Labels, PointValue, WireNum, WireTime};
use std::collections::HashMap;

/// One series in breach of a rule at one instant.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Breach {
    pub labels: Labels,
    pub value: Option<f64>,
}

/// A server-side alert rule.
pub(crate) trait Rule: Send + Sync {
    /// Short stable name; the first part of every alert id the rule makes.
    fn name(&self) -> &'static str;
    /// The `metric` its alerts carry.
    fn metric(&self) -> &'static str;
    fn severity(&self) -> &'static str;
    /// How long a breach must last before the alert fires.
    fn hold_ms(&self) -> i64;
    fn threshold(&self) -> Option<f64>;
    /// The verdict: every series in breach at `t`.
    fn breaches(&self, sim: &Simulator, t: i64) -> Vec<Breach>;
    /// The wording of one alert.
    fn summary(&self, breach: &Breach) -> String;
}

/// `value > threshold` held for a while, over values some reader computes.
struct Above {
    name: &'static str,
    metric: &'static str,
    severity: &'static str,
    hold_ms: i64,
    threshold: f64,
    read: fn(&Simulator, i64) -> Vec<(Labels, f64)>,
    wording: &'static str,
}

impl Rule for Above {
    fn name(&self) -> &'static str {
        self.name
    }
    fn metric(&self) -> &'static str {
        self.metric
    }
    fn severity(&self) -> &'static str {
        self.severity
    }
    fn hold_ms(&self) -> i64 {
        self.hold_ms
    }
    fn threshold(&self) -> Option<f64> {
        Some(self.threshold)
    }
    fn breaches(&self, sim: &Simulator, t: i64) -> Vec<Breach> {
        (self.read)(sim, t)
            .into_iter()
            .filter(|(_, v)| *v > self.threshold)
            .map(|(labels, v)| Breach { labels, value: Some(v) })
            .collect()
    }
    fn summary(&self, breach: &Breach) -> String {
        match breach.labels.get("service") {
            Some(service) => format!("{service}: {}", self.wording),
            None => self.wording.to_string(),
        }
    }
}

/// `system_health` other than `healthy`, critical at once.
struct Unhealthy;

impl Rule for Unhealthy {
    fn name(&self) -> &'static str {
        "system_health"
    }
    fn metric(&self) -> &'static str {
        "system_health"
    }
    fn severity(&self) -> &'static str {
        "critical"
    }
    fn hold_ms(&self) -> i64 {
        0
    }
    fn threshold(&self) -> Option<f64> {
        None
    }
    fn breaches(&self, sim: &Simulator, t: i64) -> Vec<Breach> {
        sim.sample_metric("system_health", t)
            .into_iter()
            .filter(|p| matches!(&p.value, Some(PointValue::Text(s)) if s != "healthy"))
            .map(|p| Breach { labels: p.labels, value: None })
            .collect()
    }
    fn summary(&self, _: &Breach) -> String {
        "system health is not healthy".to_string()
    }
}

/// The rule set the gateway runs.
pub(crate) fn default_rules() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(Above {
            name: "http_error_ratio",
            metric: "http_error_ratio",
            severity: "critical",
            hold_ms: 120_000,
            threshold: 0.01,
            read: error_ratios,
            wording: "5xx ratio above 1% for 2m",
        }),
        Box::new(Above {
            name: "http_p99",
            metric: "http_request_duration_seconds",
            severity: "warning",
            hold_ms: 60_000,
            threshold: 0.5,
            read: p99_latencies,
            wording: "p99 latency above 0.5s for 1m",
        }),
        Box::new(Above {
            name: "cpu",
            metric: "cpu_usage_percent",
            severity: "warning",
            hold_ms: 60_000,
            threshold: 80.0,
            read: |sim, t| gauge(sim, "cpu_usage_percent", t),
            wording: "CPU above 80% for 1m",
        }),
        Box::new(Above {
            name: "queue",
            metric: "transaction_queue_depth",
            severity: "warning",
            hold_ms: 60_000,
            threshold: 1000.0,
            read: |sim, t| gauge(sim, "transaction_queue_depth", t),
            wording: "transaction queue deeper than 1000 for 1m",
        }),
        Box::new(Unhealthy),
    ]
}

/// A series the engine is tracking.
struct Active {
    since: i64,
    firing: bool,
    breach: Breach,
}

/// Runs the rules and keeps each alert's lifecycle.
pub(crate) struct RuleEngine {
    rules: Vec<Box<dyn Rule>>,
    active: HashMap<(usize, Labels), Active>,
}

impl RuleEngine {
    pub fn new(rules: Vec<Box<dyn Rule>>) -> Self {
        RuleEngine { rules, active: HashMap::new() }
    }

    /// Evaluates every rule at `t`; returns the frames of alerts that changed state.
    pub fn evaluate(&mut self, sim: &Simulator, t: i64) -> Vec<AlertFrame> {
        let mut out = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let breaches = rule.breaches(sim, t);
            for breach in &breaches {
                let key = (i, breach.labels.clone());
                match self.active.get_mut(&key) {
                    None => {
                        let firing = rule.hold_ms() == 0;
                        let a = Active { since: t, firing, breach: breach.clone() };
                        out.push(frame(rule.as_ref(), &a, None));
                        self.active.insert(key, a);
                    }
                    Some(a) => {
                        a.breach = breach.clone();
                        if !a.firing && t - a.since >= rule.hold_ms() {
                            a.firing = true;
                            out.push(frame(rule.as_ref(), a, None));
                        }
                    }
                }
            }
            let cleared: Vec<(usize, Labels)> = self
                .active
                .keys()
                .filter(|(r, labels)| *r == i && !breaches.iter().any(|b| &b.labels == labels))
                .cloned()
                .collect();
            for key in cleared {
                if let Some(a) = self.active.remove(&key) {
                    out.push(frame(rule.as_ref(), &a, Some(t)));
                }
            }
        }
        out
    }

    /// Replays simulated time `[from, to)` in `step`s, discarding the frames,
    /// so a gateway started mid-incident already knows what is firing.
    pub fn warm(&mut self, sim: &Simulator, from: i64, to: i64, step: i64) {
        let step = step.max(1);
        let mut t = from.div_euclid(step) * step;
        while t < to {
            self.evaluate(sim, t);
            t += step;
        }
    }

    /// Frames of every alert now pending or firing, ordered by id.
    pub fn current(&self) -> Vec<AlertFrame> {
        let mut frames: Vec<AlertFrame> =
            self.active.iter().map(|((i, _), a)| frame(self.rules[*i].as_ref(), a, None)).collect();
        frames.sort_by(|a, b| a.id.cmp(&b.id));
        frames
    }
}

fn frame(rule: &dyn Rule, a: &Active, ended: Option<i64>) -> AlertFrame {
    let series = if a.breach.labels.is_empty() {
        "-".to_string()
    } else {
        a.breach.labels.values().cloned().collect::<Vec<_>>().join(",")
    };
    let state = match (ended, a.firing) {
        (Some(_), _) => "resolved",
        (None, true) => "firing",
        (None, false) => "pending",
    };
    AlertFrame {
        seq: None,
        id: format!("{}:{series}:{}", rule.name(), a.since.div_euclid(1000)),
        state: state.to_string(),
        severity: rule.severity().to_string(),
        metric: rule.metric().to_string(),
        labels: a.breach.labels.clone(),
        value: a.breach.value.map(WireNum),
        threshold: rule.threshold().map(WireNum),
        summary: rule.summary(&a.breach),
        starts_at: Some(WireTime(a.since)),
        ends_at: ended.map(WireTime),
        marks: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::sim::Scenario;

    /// A rule that breaches between 10 s and 100 s, for lifecycle tests.
    struct Window;
    impl Rule for Window {
        fn name(&self) -> &'static str {
            "w"
        }
        fn metric(&self) -> &'static str {
            "m"
        }
        fn severity(&self) -> &'static str {
            "warning"
        }
        fn hold_ms(&self) -> i64 {
            30_000
        }
        fn threshold(&self) -> Option<f64> {
            Some(1.0)
        }
        fn breaches(&self, _: &Simulator, t: i64) -> Vec<Breach> {
            if (10_000..100_000).contains(&t) {
                vec![Breach { labels: Labels::new(), value: Some(2.0) }]
            } else {
                vec![]
            }
        }
        fn summary(&self, _: &Breach) -> String {
            "m high".into()
        }
    }

    #[test]
    fn pending_then_firing_then_resolved_with_one_id() {
        let sim = Simulator::new(1, Scenario::Calm);
        let mut engine = RuleEngine::new(vec![Box::new(Window)]);
        let mut states = Vec::new();
        for t in (0..=120_000).step_by(10_000) {
            for f in engine.evaluate(&sim, t) {
                states.push((t, f.state.clone(), f.id.clone()));
            }
        }
        let names: Vec<(i64, &str)> = states.iter().map(|(t, s, _)| (*t, s.as_str())).collect();
        assert_eq!(names, vec![(10_000, "pending"), (40_000, "firing"), (100_000, "resolved")]);
        assert!(states.iter().all(|(_, _, id)| id == "w:-:10"));
    }

    #[test]
    fn warming_up_finds_what_is_already_firing() {
        let sim = Simulator::new(1, Scenario::Calm);
        let mut engine = RuleEngine::new(vec![Box::new(Window)]);
        engine.warm(&sim, 0, 60_000, 1_000);
        let current = engine.current();
        assert_eq!(current.len(), 1);
        assert_eq!((current[0].state.as_str(), current[0].starts_at), ("firing", Some(WireTime(10_000))));
    }
}
