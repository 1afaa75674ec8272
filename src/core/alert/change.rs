//! One change of an alert's state, as the `exec` hook reads it on stdin: a
//! single JSON object, times in RFC 3339 and numbers JSON cannot spell as
//! the protocol's strings, like a line of `vigil tail`.

use crate::core::model::{Alert, Labels};
use crate::wire::{WireNum, format_time};
use serde::Serialize;

/// The state word for an alert that is not (or no longer) in the list.
pub const INACTIVE: &str = "inactive";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateChange {
    pub id: String,
    /// The name silences match as `alertname`: the rule's, the SLO's and
    /// burn alert's, the gateway alert id's first part, or an Alertmanager
    /// alert's `alertname` (see [`Alert::name`]).
    pub name: String,
    /// `rule` or `slo` for the dashboard's own rules and SLOs, `gateway`
    /// for pushed alerts, `alertmanager` for an Alertmanager's.
    pub source: &'static str,
    /// What happened: `pending`, `firing`, `resolved`, `dropped`, `no data`,
    /// `data back`, or for a gateway's alert the state it moved to.
    pub change: String,
    pub state: &'static str,
    pub previous_state: Option<&'static str>,
    pub severity: &'static str,
    pub metric: String,
    pub labels: Labels,
    pub value: Option<WireNum>,
    pub threshold: Option<WireNum>,
    pub summary: String,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    /// When vigil saw the change.
    pub at: String,
    /// Who acknowledged the alert, if anyone has.
    pub acked_by: Option<String>,
}

impl StateChange {
    /// `alert` as it is after the change (or as it was, for one that left
    /// the list: `state` says so), with the state it had before.
    pub fn new(
        alert: &Alert,
        change: &str,
        state: &'static str,
        previous_state: Option<&'static str>,
        now_ms: i64,
    ) -> Self {
        StateChange {
            id: alert.id.clone(),
            name: alert.name().into_owned(),
            source: alert.origin.kind().name(),
            change: change.to_string(),
            state,
            previous_state,
            severity: alert.severity.name(),
            metric: alert.metric.clone(),
            labels: alert.labels.clone(),
            value: alert.value.map(WireNum),
            threshold: alert.threshold.map(WireNum),
            summary: alert.summary.clone(),
            starts_at: alert.starts_at.map(format_time),
            ends_at: alert.ends_at.map(format_time),
            at: format_time(now_ms),
            acked_by: None,
        }
    }

    /// The object on one line.
    pub fn to_json(&self) -> Vec<u8> {
        // Every field is a plain string, number or map: this cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{AlertState, Origin, Severity};

    #[test]
    fn a_change_is_one_json_object_with_text_escaped() {
        let alert = Alert {
            id: "rule:errors:service=pay\"ments".into(),
            origin: Origin::Rule { rule: "errors".into(), group: Some(("service".into(), "pay\"ments".into())) },
            state: AlertState::Firing,
            severity: Severity::Critical,
            metric: "http_requests_total".into(),
            labels: [("service".to_string(), "pay\"ments".to_string())].into(),
            value: Some(f64::NAN),
            threshold: Some(0.01),
            summary: "line one\nline two".into(),
            starts_at: Some(1_751_279_400_000),
            ends_at: None,
            updated_ms: 0,
            open_start: false,
        };
        let mut c = StateChange::new(&alert, "firing", "firing", Some("pending"), 1_751_279_401_500);
        c.acked_by = Some("alice".into());
        let bytes = c.to_json();
        assert!(!bytes.contains(&b'\n'), "one line");
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["name"], "errors");
        assert_eq!(v["source"], "rule");
        assert_eq!(v["state"], "firing");
        assert_eq!(v["previous_state"], "pending");
        assert_eq!(v["labels"]["service"], "pay\"ments");
        assert_eq!(v["value"], "NaN");
        assert_eq!(v["threshold"], 0.01);
        assert_eq!(v["summary"], "line one\nline two");
        assert_eq!(v["starts_at"], "2025-06-30T10:30:00Z");
        assert_eq!(v["ends_at"], serde_json::Value::Null);
        assert_eq!(v["at"], "2025-06-30T10:30:01.500Z");
        assert_eq!(v["acked_by"], "alice");
    }

    #[test]
    fn an_alertmanager_alert_is_named_by_its_alertname_and_source() {
        let alert = Alert {
            id: "am:prod:00000000000000a1".into(),
            origin: Origin::Alertmanager { source: "prod".into() },
            state: AlertState::Firing,
            severity: Severity::Critical,
            metric: "HighErrorRate".into(),
            labels: [("alertname".to_string(), "HighErrorRate".to_string())].into(),
            value: None,
            threshold: None,
            summary: String::new(),
            starts_at: Some(1_751_279_400_000),
            ends_at: None,
            updated_ms: 0,
            open_start: false,
        };
        let v: serde_json::Value =
            serde_json::from_slice(&StateChange::new(&alert, "firing", "firing", None, 0).to_json()).unwrap();
        assert_eq!((&v["name"], &v["source"]), (&"HighErrorRate".into(), &"alertmanager".into()));
    }
}
