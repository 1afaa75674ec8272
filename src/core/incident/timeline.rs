//! The incident timeline: every alert state change, event and connection
//! change vigil saw, each at its own time, oldest first. It is what a
//! post-mortem is written from, so it outlives restarts (`timeline_file`)
//! and is bounded by count and age, never by what the alert list still
//! shows.

use crate::core::model::{Alert, AlertState, Labels, Severity};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Most entries kept; the oldest go first.
pub const MAX_ENTRIES: usize = 10_000;
/// Entries older than this are dropped: a week covers any post-mortem
/// written while memories are fresh.
pub const MAX_AGE_MS: i64 = 7 * 86_400_000;

/// One thing that happened, at `at_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub at_ms: i64,
    #[serde(flatten)]
    pub what: What,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum What {
    /// An alert changed state.
    Alert(AlertChange),
    /// Something the gateway reported, such as a deploy.
    Event { kind: String, text: String, labels: Labels },
    /// The link to a gateway came up, started retrying, or was given up.
    Link { state: LinkState, url: String, detail: String },
}

/// One alert's change of state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertChange {
    pub id: String,
    /// The rule's, SLO burn alert's or gateway alert's name.
    pub name: String,
    pub source: AlertSource,
    pub step: Step,
    #[serde(with = "severity_name")]
    pub severity: Severity,
    /// The group (a rule's `by` label, an SLO's name) or the gateway's labels.
    pub labels: Labels,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub summary: String,
    /// Found by playing the rules over history, not seen live.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replayed: bool,
}

/// Where an alert comes from, as the timeline keeps it: the kind of the
/// alert's origin. Files from before Alertmanager alerts were told apart
/// hold only `rule`, `slo` and `gateway`, which still read.
pub use crate::core::model::OriginKind as AlertSource;

/// What an alert did: the engine's own changes, which a gateway's alerts
/// are mapped onto by the state they moved to.
pub use crate::core::alert::engine::Change as Step;

impl From<AlertState> for Step {
    fn from(s: AlertState) -> Step {
        match s {
            AlertState::Pending => Step::Pending,
            AlertState::Firing => Step::Firing,
            AlertState::NoData => Step::NoData,
            AlertState::Resolved => Step::Resolved,
        }
    }
}

impl AlertChange {
    /// `alert` as the change left it (or, for one that left the list, as
    /// it last was), with the value the change was decided on.
    pub fn new(alert: &Alert, step: Step, value: Option<f64>) -> AlertChange {
        AlertChange {
            id: alert.id.clone(),
            name: alert_name(alert).into_owned(),
            source: alert.origin.kind(),
            step,
            severity: alert.severity,
            labels: alert.labels.clone(),
            value,
            threshold: alert.threshold,
            summary: alert.summary.clone(),
            replayed: false,
        }
    }
}

/// An alert's name: its rule's, its SLO burn alert's (`fast burn`; the
/// SLO is in its labels), an Alertmanager's `alertname`, or the first part
/// of a gateway's id.
pub fn alert_name(alert: &Alert) -> std::borrow::Cow<'_, str> {
    match &alert.origin {
        crate::core::model::Origin::Slo { burn, .. } => std::borrow::Cow::Borrowed(burn),
        _ => alert.name(),
    }
}

/// The state of a link, as the timeline tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    Connected,
    Reconnecting,
    Disconnected,
}

impl LinkState {
    pub fn name(self) -> &'static str {
        match self {
            LinkState::Connected => "connected",
            LinkState::Reconnecting => "reconnecting",
            LinkState::Disconnected => "disconnected",
        }
    }
}

mod severity_name {
    use crate::core::model::Severity;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(s: &Severity, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Severity, D::Error> {
        Ok(Severity::parse(&String::deserialize(d)?))
    }
}

/// Entries in time order, bounded.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Timeline {
    entries: VecDeque<Entry>,
    /// Until when an earlier run recorded live. Changes found by playing
    /// the rules over history up to then were recorded as they happened
    /// (and at the times live evaluation saw them, which a replay's coarser
    /// steps would not hit exactly), so they are not added twice.
    recorded_until: Option<i64>,
}

impl Timeline {
    /// A timeline read back from disk, recorded live until `recorded_until`.
    pub fn restored(mut entries: Vec<Entry>, recorded_until: i64, now_ms: i64) -> Timeline {
        // What was saved was checked when it was recorded; only its order
        // (the file may have been edited) and its bounds are enforced.
        entries.sort_by_key(|e| e.at_ms);
        entries.retain(|e| e.at_ms >= now_ms - MAX_AGE_MS);
        let skip = entries.len().saturating_sub(MAX_ENTRIES);
        Timeline { entries: entries.into_iter().skip(skip).collect(), recorded_until: Some(recorded_until) }
    }

    /// Adds what was seen live at its time; returns whether it was new
    /// (the same entry at the same instant is kept once, as when a gateway
    /// sends an event again after a reconnect).
    pub fn record(&mut self, entry: Entry, now_ms: i64) -> bool {
        self.insert(entry, now_ms)
    }

    /// Adds a change found by replaying the rules over history, unless an
    /// earlier run was recording live at that time.
    pub fn record_replayed(&mut self, mut entry: Entry, now_ms: i64) -> bool {
        if self.recorded_until.is_some_and(|t| entry.at_ms <= t) {
            return false;
        }
        if let What::Alert(a) = &mut entry.what {
            a.replayed = true;
        }
        self.insert(entry, now_ms)
    }

    fn insert(&mut self, entry: Entry, now_ms: i64) -> bool {
        if entry.at_ms < now_ms - MAX_AGE_MS {
            return false;
        }
        let at = self.entries.partition_point(|e| e.at_ms <= entry.at_ms);
        let same_instant = self.entries.range(..at).rev().take_while(|e| e.at_ms == entry.at_ms);
        if same_instant.clone().any(|e| same(e, &entry)) || self.adds_nothing(&entry, at) {
            return false;
        }
        self.entries.insert(at, entry);
        while self.entries.len() > MAX_ENTRIES || self.entries.front().is_some_and(|e| e.at_ms < now_ms - MAX_AGE_MS) {
            self.entries.pop_front();
        }
        true
    }

    /// Whether `entry`, an alert change, leaves its alert where the
    /// timeline already has it before `at`: an engine that starts afresh
    /// (a replay over history, a restart) sees an alert that was firing go
    /// pending and fire again, which is not news.
    fn adds_nothing(&self, entry: &Entry, at: usize) -> bool {
        let What::Alert(new) = &entry.what else { return false };
        let last = self.entries.range(..at).rev().find_map(|e| match &e.what {
            What::Alert(a) if a.id == new.id => Some(a.step),
            _ => None,
        });
        match (last, new.step) {
            (Some(Step::Pending | Step::Firing | Step::NoData | Step::DataBack), Step::Pending) => true,
            (Some(Step::Firing | Step::DataBack), Step::Firing) => true,
            (Some(last), step) => last == step,
            (None, _) => false,
        }
    }

    /// Every entry, oldest first.
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &Entry> + Clone {
        self.entries.iter()
    }

    /// Entries in `[from_ms, to_ms]`, oldest first.
    pub fn between(&self, from_ms: i64, to_ms: i64) -> impl Iterator<Item = &Entry> {
        let start = self.entries.partition_point(|e| e.at_ms < from_ms);
        self.entries.range(start..).take_while(move |e| e.at_ms <= to_ms)
    }

    /// One alert's changes, oldest first: its history for a detail view.
    pub fn of_alert<'a>(&'a self, id: &'a str) -> impl Iterator<Item = (i64, &'a AlertChange)> {
        self.entries.iter().filter_map(move |e| match &e.what {
            What::Alert(a) if a.id == id => Some((e.at_ms, a)),
            _ => None,
        })
    }

    /// `alerts` (the book's, now) as they stood at `at_ms`, by the changes
    /// recorded up to then: the list a screen looking back in time shows.
    /// An alert with no recorded change before `at_ms` is shown by its own
    /// times (a gateway alert that started before vigil connected); one
    /// that began after `at_ms`, or was a pending alert that came to
    /// nothing by then, is left out. The order is the book's: state, then
    /// severity, then start.
    pub fn alerts_at(&self, alerts: &[Alert], at_ms: i64) -> Vec<Alert> {
        // Per alert: the step it stood at, and when its run of changes began
        // (a new run begins after one that ended).
        let mut runs: std::collections::HashMap<&str, (Step, i64, i64)> = std::collections::HashMap::new();
        for e in self.between(i64::MIN, at_ms) {
            if let What::Alert(c) = &e.what {
                let run = runs.entry(c.id.as_str()).or_insert((c.step, e.at_ms, e.at_ms));
                if run.0.ends() {
                    *run = (c.step, e.at_ms, e.at_ms);
                } else {
                    (run.0, run.2) = (c.step, e.at_ms);
                }
            }
        }
        let mut out: Vec<Alert> = alerts
            .iter()
            .filter_map(|a| {
                let mut a = a.clone();
                match runs.get(a.id.as_str()) {
                    Some((Step::Dropped, ..)) => return None,
                    Some(&(step, began, last)) => {
                        a.state = match step {
                            Step::Pending => AlertState::Pending,
                            Step::Firing | Step::DataBack => AlertState::Firing,
                            Step::NoData => AlertState::NoData,
                            Step::Resolved | Step::Dropped => AlertState::Resolved,
                        };
                        // Its own start is kept when the record begins later
                        // (history before the record, or before a restart).
                        a.starts_at = Some(a.starts_at.filter(|s| *s <= began).unwrap_or(began));
                        a.ends_at = step.ends().then_some(last);
                    }
                    None => {
                        let start = a.starts_at.filter(|s| *s <= at_ms)?;
                        a.starts_at = Some(start);
                        match a.ends_at.filter(|e| *e <= at_ms) {
                            Some(_) => a.state = AlertState::Resolved,
                            None => {
                                a.ends_at = None;
                                if a.state == AlertState::Resolved {
                                    a.state = AlertState::Firing;
                                }
                            }
                        }
                    }
                }
                Some(a)
            })
            .collect();
        out.sort_by(crate::core::alert::list_order);
        out
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Whether two entries tell of the same thing: a replayed change and the
/// same change seen before count as one.
fn same(a: &Entry, b: &Entry) -> bool {
    match (&a.what, &b.what) {
        (What::Alert(x), What::Alert(y)) => x.id == y.id && x.step == y.step,
        (x, y) => x == y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_751_279_400_000;

    fn event(at_ms: i64, text: &str) -> Entry {
        Entry { at_ms, what: What::Event { kind: "deploy".into(), text: text.into(), labels: Labels::new() } }
    }

    /// A gateway's critical alert as the book holds it at `updated_ms`.
    fn alert(id: &str, state: AlertState, starts_at: Option<i64>, updated_ms: i64) -> Alert {
        Alert {
            id: id.into(),
            origin: crate::core::model::Origin::Gateway { source: crate::core::model::SourceId::GATEWAY },
            state,
            severity: Severity::Critical,
            metric: "m".into(),
            labels: Labels::new(),
            value: None,
            threshold: None,
            summary: String::new(),
            starts_at,
            ends_at: None,
            updated_ms,
            open_start: false,
        }
    }

    fn change(at_ms: i64, id: &str, step: Step) -> Entry {
        let alert = alert(id, AlertState::Firing, None, at_ms);
        Entry { at_ms, what: What::Alert(AlertChange::new(&alert, step, Some(1.0))) }
    }

    #[test]
    fn alerts_are_shown_as_they_stood_at_an_instant() {
        let mut t = Timeline::default();
        for e in [
            change(T, "a", Step::Pending),
            change(T + 60_000, "a", Step::Firing),
            change(T + 300_000, "a", Step::Resolved),
            change(T + 100_000, "b", Step::Pending),
            change(T + 120_000, "b", Step::Dropped),
        ] {
            t.record(e, T + 400_000);
        }
        let alert = |id: &str, state, starts_at| alert(id, state, starts_at, T + 400_000);
        // "c" is a gateway's alert that began before anything was recorded.
        let now = [
            alert("a", AlertState::Resolved, Some(T)),
            alert("b", AlertState::Resolved, Some(T + 100_000)),
            alert("c", AlertState::Firing, Some(T - 600_000)),
            alert("d", AlertState::Firing, Some(T + 350_000)),
        ];
        let at = |ms: i64| -> Vec<(String, AlertState, Option<i64>, Option<i64>)> {
            t.alerts_at(&now, T + ms).into_iter().map(|a| (a.id, a.state, a.starts_at, a.ends_at)).collect()
        };
        assert_eq!(
            at(110_000),
            [
                ("c".into(), AlertState::Firing, Some(T - 600_000), None),
                ("a".into(), AlertState::Firing, Some(T), None),
                ("b".into(), AlertState::Pending, Some(T + 100_000), None),
            ]
        );
        // b came to nothing; a ended; d has not begun.
        assert_eq!(
            at(310_000),
            [
                ("c".into(), AlertState::Firing, Some(T - 600_000), None),
                ("a".into(), AlertState::Resolved, Some(T), Some(T + 300_000)),
            ]
        );
    }

    fn times(t: &Timeline) -> Vec<i64> {
        t.entries().map(|e| (e.at_ms - T) / 1000).collect()
    }

    #[test]
    fn entries_stay_in_time_order_and_repeats_are_kept_once() {
        let mut t = Timeline::default();
        assert!(t.record(event(T + 5_000, "b"), T + 5_000));
        assert!(t.record(event(T, "a"), T + 5_000), "an event with an older time goes before");
        assert!(t.record(event(T + 5_000, "c"), T + 5_000), "another event at the same instant");
        assert!(!t.record(event(T, "a"), T + 6_000), "the same event sent again");
        assert_eq!(times(&t), [0, 5, 5]);
        assert_eq!(t.between(T + 1, T + 5_000).count(), 2);
    }

    #[test]
    fn the_oldest_go_past_the_count_and_the_age() {
        let mut t = Timeline::default();
        for i in 0..(MAX_ENTRIES as i64 + 5) {
            t.record(event(T + i, "x"), T + i);
        }
        assert_eq!(t.len(), MAX_ENTRIES);
        assert_eq!(t.entries().next().unwrap().at_ms, T + 5);
        // A week after the newest of them, only the new entry is left.
        let later = T + MAX_ENTRIES as i64 + 5 + MAX_AGE_MS;
        t.record(event(later, "y"), later);
        assert_eq!((t.len(), t.entries().next().unwrap().at_ms), (1, later));
        assert!(!t.record(event(T, "z"), later), "nothing older than a week gets in");
    }

    #[test]
    fn replayed_changes_fill_only_what_no_run_recorded() {
        let mut t = Timeline::restored(vec![change(T, "rule:a", Step::Pending)], T + 60_000, T + 600_000);
        assert!(!t.record_replayed(change(T + 10_000, "rule:a", Step::Firing), T + 600_000), "recorded live then");
        assert!(t.record_replayed(change(T + 120_000, "rule:a", Step::Resolved), T + 600_000));
        assert!(!t.record_replayed(change(T + 120_000, "rule:a", Step::Resolved), T + 600_000), "not twice");
        let steps: Vec<_> = t.of_alert("rule:a").map(|(_, a)| (a.step, a.replayed)).collect();
        assert_eq!(steps, [(Step::Pending, false), (Step::Resolved, true)]);
        // An engine started afresh finds the alert that fired pending again,
        // and firing: nothing new until it resolves once more.
        let mut t = Timeline::default();
        assert!(t.record(change(T, "rule:a", Step::Firing), T));
        assert!(!t.record(change(T + 1_000, "rule:a", Step::Pending), T + 1_000));
        assert!(!t.record(change(T + 2_000, "rule:a", Step::Firing), T + 2_000));
        assert!(t.record(change(T + 3_000, "rule:a", Step::Resolved), T + 3_000));
        assert!(t.record(change(T + 4_000, "rule:a", Step::Pending), T + 4_000));
        assert_eq!(t.of_alert("rule:b").count(), 0);
    }
}
