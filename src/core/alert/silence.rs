//! Silences, as Alertmanager has them: a set of label matchers and an end
//! time. A silence made from one alert matches on that alert's name and
//! labels, so it covers every alert of the same rule and group, including
//! ones that fire again later under a new id, until it ends.

use crate::core::model::{Alert, Labels};
use serde::{Deserialize, Serialize};

/// Label matchers with an end time, and who set them when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    /// Each must be equal in the alert's [`match_labels`].
    pub matchers: Labels,
    /// The local user who set it.
    pub by: String,
    /// When it was set, ms since the epoch.
    pub at_ms: i64,
    /// When it ends, ms since the epoch.
    pub until_ms: i64,
}

impl Silence {
    /// A silence of `alert`'s name and labels for `for_ms` from `now_ms`.
    pub fn of(alert: &Alert, by: &str, now_ms: i64, for_ms: i64) -> Silence {
        Silence {
            matchers: match_labels(alert),
            by: by.to_string(),
            at_ms: now_ms,
            until_ms: now_ms.saturating_add(for_ms),
        }
    }

    /// Whether the silence holds `alert` quiet at `now_ms`.
    pub fn covers(&self, alert: &Alert, now_ms: i64) -> bool {
        self.active(now_ms) && self.matches(&match_labels(alert))
    }

    /// Whether every matcher is met by `labels`. A silence without matchers
    /// matches nothing: it would hush every alert there is.
    pub fn matches(&self, labels: &Labels) -> bool {
        !self.matchers.is_empty() && self.matchers.iter().all(|(k, v)| labels.get(k) == Some(v))
    }

    pub fn active(&self, now_ms: i64) -> bool {
        now_ms < self.until_ms
    }
}

/// The labels a silence is matched against: the alert's own, plus
/// `alertname` and `metric` unless the alert carries those itself. Without
/// the name, a silence of one rule's alert for a service would hush every
/// other rule's alert for that service too.
pub fn match_labels(alert: &Alert) -> Labels {
    labels_named(&alert.name(), &alert.metric, &alert.labels)
}

/// [`match_labels`] from an alert's parts: the gateway matches its own
/// alert frames with it (a frame's name is its id's first part), so a
/// silence a screen makes from an alert there covers the same alerts.
pub fn labels_named(name: &str, metric: &str, labels: &Labels) -> Labels {
    let mut labels = labels.clone();
    labels.entry("alertname".into()).or_insert_with(|| name.to_string());
    if !metric.is_empty() {
        labels.entry("metric".into()).or_insert_with(|| metric.to_string());
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{AlertState, Origin, Severity, SourceId};

    fn alert(id: &str, metric: &str, labels: &[(&str, &str)]) -> Alert {
        Alert {
            id: id.into(),
            origin: Origin::Gateway { source: SourceId::GATEWAY },
            state: AlertState::Firing,
            severity: Severity::Critical,
            metric: metric.into(),
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            value: None,
            threshold: None,
            summary: String::new(),
            starts_at: Some(0),
            ends_at: None,
            updated_ms: 0,
            open_start: false,
        }
    }

    #[test]
    fn names_come_from_the_origin_not_the_id() {
        let mut a = alert("rule:checkout: errors:service=checkout", "http", &[("service", "checkout")]);
        a.origin = Origin::Rule { rule: "checkout: errors".into(), group: Some(("service".into(), "checkout".into())) };
        assert_eq!(a.name(), "checkout: errors");
        assert_eq!(
            alert("high_error_rate:payments:1751279400", "err", &[("service", "payments")]).name(),
            "high_error_rate"
        );
        assert_eq!(alert("plain", "m", &[]).name(), "plain");
        // A gateway may name an alert anything, `rule:` included: it is
        // still the gateway's, named by its id's first part.
        assert_eq!(alert("rule:x", "m", &[]).name(), "rule");
        let mut slo = alert("slo:checkout availability:fast burn", "", &[("slo", "checkout availability")]);
        slo.origin = Origin::Slo { slo: "checkout availability".into(), burn: "fast burn".into() };
        assert_eq!(slo.name(), "checkout availability:fast burn");
    }

    #[test]
    fn a_silence_covers_later_firings_of_the_same_rule_and_group_only() {
        let first = alert("high_error_rate:payments:100", "errors", &[("service", "payments")]);
        let s = Silence::of(&first, "alice", 1_000, 3_600_000);
        assert_eq!(s.until_ms, 3_601_000);
        assert_eq!(
            s.matchers,
            [("alertname", "high_error_rate"), ("metric", "errors"), ("service", "payments")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Labels>()
        );
        // The same rule and service firing again, under a new id.
        let again = alert("high_error_rate:payments:900", "errors", &[("service", "payments")]);
        assert!(s.covers(&again, 2_000));
        // Another service, another rule on the same service: not covered.
        assert!(!s.covers(&alert("high_error_rate:api:900", "errors", &[("service", "api")]), 2_000));
        assert!(!s.covers(&alert("slow:payments:900", "errors", &[("service", "payments")]), 2_000));
        // Ended.
        assert!(!s.covers(&again, 3_601_000));
    }

    #[test]
    fn an_alerts_own_alertname_label_wins_and_empty_silences_match_nothing() {
        let a = alert("x:1", "m", &[("alertname", "Disk")]);
        assert_eq!(match_labels(&a).get("alertname").map(String::as_str), Some("Disk"));
        let empty = Silence { matchers: Labels::new(), by: "bob".into(), at_ms: 0, until_ms: i64::MAX };
        assert!(!empty.covers(&a, 1));
    }
}
