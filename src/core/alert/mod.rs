//! Alerts the dashboard knows about: the book of alerts a gateway pushes,
//! and (`rules`, `engine`) the dashboard's own rules evaluated over its
//! store; what people said about them (`intent`, `silence`, kept in
//! `intent_file`); and how they make themselves noticed (`alarm` for the
//! bell and flash, `change` for the exec hook's input).

pub mod alarm;
pub mod change;
pub mod defaults;
pub mod engine;
pub mod intent;
pub mod intent_file;
pub mod matcher;
pub mod rules;
pub mod silence;
pub mod upstream;

use crate::core::model::{Alert, AlertState, Severity};
use std::collections::{BTreeMap, HashMap};

/// Resolved alerts stay listed this long, so a flap is still visible.
pub(crate) const KEEP_RESOLVED_MS: i64 = 15 * 60_000;
/// Most alerts held; the oldest resolved go first.
const MAX_ALERTS: usize = 500;

/// Alerts firing now, unfiltered.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Firing {
    pub count: usize,
    /// Ids of the critical ones.
    pub critical: Vec<String>,
    /// The loudest severity firing on each label of an alert, by name and
    /// value (`service`, `payments`): what a table row of that value says
    /// besides its own cells.
    pub loudest_on: BTreeMap<(String, String), Severity>,
    /// Every firing alert's id and severity, by id: what the screen weighs
    /// against acks and silences to count what still needs someone.
    pub ids: Vec<(String, Severity)>,
}

/// Alerts by id: a later frame for the same id replaces the earlier one.
#[derive(Debug, Default)]
pub struct AlertBook {
    by_id: HashMap<String, Alert>,
}

impl AlertBook {
    pub fn apply(&mut self, alert: Alert) {
        self.by_id.insert(alert.id.clone(), alert);
        if self.by_id.len() > MAX_ALERTS {
            let oldest = self
                .by_id
                .values()
                .min_by_key(|a| (a.state != AlertState::Resolved, a.updated_ms))
                .map(|a| a.id.clone());
            if let Some(id) = oldest {
                self.by_id.remove(&id);
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<&Alert> {
        self.by_id.get(id)
    }

    pub fn remove(&mut self, id: &str) -> Option<Alert> {
        self.by_id.remove(id)
    }

    pub fn retain(&mut self, keep: impl Fn(&Alert) -> bool) {
        self.by_id.retain(|_, a| keep(a));
    }

    /// Forgets every alert of one kind of origin (the rules' when the rules
    /// start over, say).
    pub fn forget(&mut self, kind: crate::core::model::OriginKind) {
        self.by_id.retain(|_, a| a.origin.kind() != kind);
    }

    /// Forgets resolved alerts older than the keep window.
    pub fn prune(&mut self, now_ms: i64) {
        self.by_id.retain(|_, a| {
            a.state != AlertState::Resolved || now_ms - a.ends_at.unwrap_or(a.updated_ms) < KEEP_RESOLVED_MS
        });
    }

    /// Firing first, then pending, then resolved; loudest first; oldest first.
    pub fn sorted(&self) -> Vec<Alert> {
        let mut v: Vec<Alert> = self.by_id.values().cloned().collect();
        v.sort_by(list_order);
        v
    }

    /// What is firing: how many, and which are critical.
    pub fn firing(&self) -> Firing {
        let firing = self.by_id.values().filter(|a| a.state == AlertState::Firing);
        let mut critical: Vec<String> = firing
            .clone()
            .filter(|a| a.severity == crate::core::model::Severity::Critical)
            .map(|a| a.id.clone())
            .collect();
        critical.sort();
        let mut loudest_on: BTreeMap<(String, String), Severity> = BTreeMap::new();
        for a in firing.clone() {
            for (k, v) in &a.labels {
                let loudest = loudest_on.entry((k.clone(), v.clone())).or_insert(a.severity);
                // Severities order from the loudest.
                *loudest = (*loudest).min(a.severity);
            }
        }
        let mut ids: Vec<(String, Severity)> = firing.clone().map(|a| (a.id.clone(), a.severity)).collect();
        ids.sort();
        Firing { count: firing.count(), critical, loudest_on, ids }
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// The order alerts are listed in: firing first, then pending, then the
/// rest; loudest first; oldest first; then by id, so the order is stable.
pub fn list_order(a: &Alert, b: &Alert) -> std::cmp::Ordering {
    let key = |x: &Alert| (x.state, x.severity, x.starts_at.unwrap_or(i64::MAX));
    key(a).cmp(&key(b)).then_with(|| a.id.cmp(&b.id))
}

/// The alert a rule's outcome shows as, given what the book held for it
/// (whose start a resolved alert keeps); `None` for a group that went
/// inactive.
pub fn rule_alert(rule: &rules::RuleSpec, o: &rules::Outcome, before: Option<&Alert>, now_ms: i64) -> Option<Alert> {
    use engine::Phase;
    let (state, starts_at, ends_at) = match o.phase {
        Phase::Inactive => return None,
        Phase::Pending { since } => (AlertState::Pending, Some(since), None),
        Phase::Firing { since, .. } => (AlertState::Firing, Some(since), None),
        Phase::NoData { since, firing_since } => (AlertState::NoData, Some(firing_since.unwrap_or(since)), None),
        Phase::Resolved { at } => (AlertState::Resolved, before.and_then(|a| a.starts_at), Some(at)),
    };
    // A resolved alert's start is the one it had while on.
    let open_start = match o.phase {
        Phase::Resolved { .. } => before.map_or(o.open, |a| a.open_start),
        _ => o.open,
    };
    let group = o.group.as_ref();
    Some(Alert {
        id: rule_alert_id(o),
        origin: crate::core::model::Origin::Rule { rule: o.rule.clone(), group: o.group.clone() },
        state,
        severity: rule.severity.into(),
        metric: rule.measured().to_string(),
        labels: group.map(|(k, v)| [(k.clone(), v.clone())].into()).unwrap_or_default(),
        value: o.value,
        threshold: Some(rule.threshold),
        summary: match state {
            AlertState::Resolved => rule.resolved_summary(group, o.value),
            _ => rule.summary_for(group, o.value),
        },
        starts_at,
        ends_at,
        updated_ms: now_ms,
        open_start,
    })
}

/// The id of a rule's alert for one group: apart from any a gateway sends.
pub fn rule_alert_id(o: &rules::Outcome) -> String {
    rule_group_id(&o.rule, o.group.as_ref())
}

/// The id of the alert of rule `rule` for one group (the `by` label and its
/// value), or for the whole rule.
fn rule_group_id(rule: &str, group: Option<&(String, String)>) -> String {
    match group {
        Some((k, v)) => format!("{RULE_PREFIX}{rule}:{k}={v}"),
        None => format!("{RULE_PREFIX}{rule}"),
    }
}

/// Rule alerts' ids start with this, apart from any a gateway sends. The
/// id is only a key (saved acks and timelines use it); what made the alert
/// is its [`crate::core::model::Origin`].
const RULE_PREFIX: &str = "rule:";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::Severity;

    fn alert(id: &str, state: AlertState, severity: Severity, starts: i64) -> Alert {
        Alert {
            id: id.into(),
            origin: crate::core::model::Origin::Gateway { source: crate::core::model::SourceId::GATEWAY },
            state,
            severity,
            metric: "m".into(),
            labels: Default::default(),
            value: None,
            threshold: None,
            summary: String::new(),
            starts_at: Some(starts),
            ends_at: None,
            updated_ms: starts,
            open_start: false,
        }
    }

    #[test]
    fn dedupes_by_id_and_sorts_firing_first() {
        let mut book = AlertBook::default();
        book.apply(alert("a", AlertState::Pending, Severity::Critical, 1));
        book.apply(alert("b", AlertState::Firing, Severity::Warning, 2));
        book.apply(alert("c", AlertState::Firing, Severity::Critical, 3));
        book.apply(alert("a", AlertState::Firing, Severity::Critical, 1));
        let ids: Vec<_> = book.sorted().into_iter().map(|a| a.id).collect();
        assert_eq!(ids, ["a", "c", "b"]);
        assert_eq!(book.firing().count, 3);
    }

    #[test]
    fn the_loudest_firing_alert_on_each_label_value_is_known() {
        let mut book = AlertBook::default();
        let on = |id: &str, state, severity, service: &str| {
            let mut a = alert(id, state, severity, 1);
            a.labels = [("service".to_string(), service.to_string())].into();
            a
        };
        book.apply(on("w", AlertState::Firing, Severity::Warning, "payments"));
        book.apply(on("c", AlertState::Firing, Severity::Critical, "payments"));
        book.apply(on("i", AlertState::Firing, Severity::Info, "api"));
        // Only firing alerts speak for a value: a pending one is still waiting.
        book.apply(on("p", AlertState::Pending, Severity::Critical, "search"));
        let loudest = book.firing().loudest_on;
        let key = |s: &str| ("service".to_string(), s.to_string());
        assert_eq!(loudest.get(&key("payments")), Some(&Severity::Critical));
        assert_eq!(loudest.get(&key("api")), Some(&Severity::Info));
        assert_eq!(loudest.get(&key("search")), None);
    }

    #[test]
    fn the_list_is_firing_then_pending_then_no_data_then_resolved_loudest_and_oldest_first() {
        let mut book = AlertBook::default();
        // Filed in an order that matches none of the keys.
        book.apply(alert("resolved crit", AlertState::Resolved, Severity::Critical, 1));
        book.apply(alert("firing warn old", AlertState::Firing, Severity::Warning, 10));
        book.apply(alert("no data crit", AlertState::NoData, Severity::Critical, 5));
        book.apply(alert("firing crit new", AlertState::Firing, Severity::Critical, 300));
        book.apply(alert("pending crit", AlertState::Pending, Severity::Critical, 2));
        book.apply(alert("firing info", AlertState::Firing, Severity::Info, 1));
        book.apply(alert("firing crit old", AlertState::Firing, Severity::Critical, 200));
        book.apply(alert("pending warn", AlertState::Pending, Severity::Warning, 1));
        let mut unknown_start = alert("firing crit, start unknown", AlertState::Firing, Severity::Critical, 0);
        unknown_start.starts_at = None;
        book.apply(unknown_start);
        let ids: Vec<_> = book.sorted().into_iter().map(|a| a.id).collect();
        assert_eq!(
            ids,
            [
                "firing crit old",
                "firing crit new",
                "firing crit, start unknown",
                "firing warn old",
                "firing info",
                "pending crit",
                "pending warn",
                "no data crit",
                "resolved crit",
            ]
        );
    }

    #[test]
    fn resolved_alerts_age_out() {
        let mut book = AlertBook::default();
        let mut a = alert("a", AlertState::Resolved, Severity::Info, 0);
        a.ends_at = Some(0);
        book.apply(a);
        book.prune(KEEP_RESOLVED_MS - 1);
        assert_eq!(book.sorted().len(), 1);
        book.prune(KEEP_RESOLVED_MS);
        assert!(book.sorted().is_empty());
    }
}
