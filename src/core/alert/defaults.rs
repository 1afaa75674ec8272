//! The alert rules vigil ships with: the monitoring brief's thresholds on
//! the protocol's metric names, kept as TOML so they read like the
//! `[[alert]]` tables a user would write to change one.

use super::rules::RuleSpec;
use serde::Deserialize;

const TEXT: &str = include_str!("defaults.toml");

#[derive(Deserialize)]
struct Shipped {
    alert: Vec<RuleSpec>,
}

/// The shipped rules, in the order of the file.
pub fn rules() -> Vec<RuleSpec> {
    // The text is part of the binary and a test parses it, so a failure here
    // is a build defect; an empty set keeps the dashboard running regardless.
    toml::from_str::<Shipped>(TEXT).map(|s| s.alert).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_rules_parse_check_and_have_distinct_names() {
        let parsed: Shipped = toml::from_str(TEXT).unwrap();
        assert_eq!(parsed.alert.len(), 9);
        for (i, r) in parsed.alert.iter().enumerate() {
            r.check().unwrap_or_else(|e| panic!("{}: {e}", r.name));
            assert!(parsed.alert[..i].iter().all(|o| o.name != r.name), "{}", r.name);
        }
        assert_eq!(rules(), parsed.alert);
    }
}

/// The shipped rules against the simulator: quiet on a calm day, and each
/// incident raises the alerts an engineer would expect of it.
#[cfg(test)]
mod against_the_simulator {
    use super::*;
    use crate::core::alert::engine::Change;
    use crate::core::alert::rules::RuleSet;
    use crate::core::store::Store;
    use crate::gateway::sim::{Scenario, Simulator};
    use crate::sources::convert;
    use std::collections::BTreeSet;

    const HOUR: i64 = 3_600_000;
    /// 2025-06-30T18:00:00Z: a busy evening, at the start of a scenario period.
    const EVENING: i64 = 1_751_241_600_000 + 18 * HOUR;
    /// Data and evaluation every 10 s keep the test quick; the rules' windows
    /// are minutes long.
    const STEP: i64 = 10_000;

    /// Feeds `sim` from an hour before `from` (the baseline rule's reach)
    /// and evaluates the shipped rules from `from` to `to`; returns the
    /// groups that fired, as "rule/service", and every change with its time.
    fn run(sim: &Simulator, from: i64, to: i64) -> (BTreeSet<String>, Vec<(i64, String, Change)>) {
        let mut store = Store::default();
        let metas: Vec<_> = sim.catalogue().iter().map(convert::metric_meta).collect();
        store.learn(&metas);
        let mut rules = RuleSet::new(rules());
        let (mut fired, mut changes) = (BTreeSet::new(), Vec::new());
        let mut t = from - HOUR - 10 * 60_000;
        while t <= to {
            for obs in convert::into_observations(t, sim.sample(t)) {
                store.insert(
                    &obs,
                    Some(crate::core::store::Live::at(t, 1000, 0, crate::core::model::SourceId::GATEWAY)),
                );
            }
            if t >= from {
                for o in rules.evaluate(&store, t) {
                    let who = format!("{}/{}", o.rule, o.group.map(|g| g.1).unwrap_or_default());
                    if let Some(c) = o.change {
                        if c == Change::Firing {
                            fired.insert(who.clone());
                        }
                        changes.push((t, who, c));
                    }
                }
            }
            t += STEP;
        }
        (fired, changes)
    }

    #[test]
    fn a_calm_evening_fires_nothing() {
        let (fired, changes) = run(&Simulator::new(3, Scenario::Calm), EVENING, EVENING + 3 * HOUR);
        assert!(fired.is_empty(), "{changes:?}");
    }

    #[test]
    fn each_incident_fires_its_own_alerts() {
        // Incidents play from 2 to 7 minutes into each 10-minute period; the
        // changes counted are those from the start of this period's incident
        // until the next one starts.
        let (start, end) = (EVENING + 2 * 60_000, EVENING + 12 * 60_000);
        let cases: [(Scenario, &str, &[&str]); 4] = [
            (Scenario::ErrorBurst, "payments", &["error rate/payments"]),
            (Scenario::CpuSaturation, "checkout", &["queue backlog/checkout"]),
            (Scenario::BadDeploy, "checkout", &["error rate/checkout", "p99 latency/checkout"]),
            // Its slow searches last too short a time for a five-minute `for`.
            (Scenario::LongTail, "search", &[]),
        ];
        for (scenario, culprit, expected) in cases {
            let (_, all) = run(&Simulator::new(3, scenario), EVENING, end);
            let changes: Vec<_> = all.iter().filter(|c| c.0 >= start).collect();
            let fired: BTreeSet<&str> =
                changes.iter().filter(|c| c.2 == Change::Firing).map(|c| c.1.as_str()).collect();
            for want in expected {
                assert!(fired.contains(want), "{scenario:?}: {want} did not fire: {changes:?}");
            }
            // Nothing is raised about a service the incident leaves alone.
            assert!(changes.iter().all(|c| c.1.ends_with(culprit)), "{scenario:?}: {changes:?}");
            // Each alert fired `for` after it went pending, to the step.
            for (t, who, change) in changes.iter().copied() {
                if *change == Change::Firing {
                    let hold = rules().into_iter().find(|r| who.starts_with(&format!("{}/", r.name))).unwrap().hold;
                    let pending = all.iter().rev().find(|c| c.0 < *t && &c.1 == who && c.2 == Change::Pending);
                    assert_eq!(pending.map(|p| t - p.0), Some(hold.as_millis() as i64), "{who} at {t}");
                }
            }
        }
        // The slow searches do make the latency rule pending.
        let (_, changes) = run(&Simulator::new(3, Scenario::LongTail), EVENING, end);
        assert!(changes.iter().any(|c| c.1 == "p99 latency/search" && c.2 == Change::Pending), "{changes:?}");
    }
}
