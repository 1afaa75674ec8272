//! What people said about alerts: acknowledgements ("I am on it") and
//! silences ("keep quiet about this until then"). Both are the user's word,
//! not the data's, so they outlive a restart in a small file of their own
//! (see `intent_file`), and both keep who said it and when.
//!
//! An acknowledgement belongs to one alert id and ends when that alert
//! resolves or goes away; a silence matches labels and ends at its time.

use super::AlertBook;
use super::silence::Silence;
use crate::core::model::{Alert, AlertState};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An ack of an alert the book has not held for this long is dropped: the
/// alert ended while nobody was watching (a gateway does not resend the
/// alerts that resolved while vigil was closed).
const FORGET_UNSEEN_ACK_MS: i64 = 24 * 3_600_000;
/// How stale an ack's `seen_ms` may grow before pruning reports a change,
/// so the file is written again: a restart must not take an alert that
/// fired all week for one unseen for a day.
const SEEN_RESAVE_MS: i64 = 3_600_000;
/// Longest silence: long enough for a weekend, short enough that a
/// forgotten silence cannot hide a service for good.
pub const MAX_SILENCE_MS: i64 = 30 * 86_400_000;

/// Someone has seen this alert and is dealing with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub by: String,
    pub at_ms: i64,
    /// When the book last held the alert.
    pub seen_ms: i64,
    /// Whether the book has held the alert since this process started: an
    /// ack whose alert then leaves the book has ended with it.
    #[serde(skip)]
    pub seen_here: bool,
}

/// How one alert stands with people: what the alert list shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hush {
    /// Who acknowledged it.
    pub acked_by: Option<String>,
    /// The silence covering it that ends last: until when, and whose.
    pub silenced: Option<(i64, String)>,
}

/// A wish about an alert, sent by the screen to the task that owns the
/// alert book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wish {
    /// Acknowledge the alert, or take the acknowledgement back.
    ToggleAck(String),
    /// Silence the alert's name and labels for this many ms.
    Silence { id: String, for_ms: i64 },
    /// End every silence that covers the alert.
    Unsilence(String),
}

/// Every acknowledgement (by alert id) and silence.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Intent {
    pub acks: BTreeMap<String, Ack>,
    pub silences: Vec<Silence>,
}

impl Intent {
    /// Carries out a wish on the alert the book holds under its id, in the
    /// name of `by`; false when it changed nothing (the alert is gone, or
    /// resolved and so past acknowledging).
    pub fn grant(&mut self, wish: &Wish, book: &AlertBook, by: &str, now_ms: i64) -> bool {
        let id = match wish {
            Wish::ToggleAck(id) | Wish::Silence { id, .. } | Wish::Unsilence(id) => id,
        };
        let Some(alert) = book.get(id) else { return false };
        match wish {
            Wish::ToggleAck(_) => {
                if self.acks.remove(id).is_some() {
                    return true;
                }
                if alert.state == AlertState::Resolved {
                    return false;
                }
                let ack = Ack { by: by.to_string(), at_ms: now_ms, seen_ms: now_ms, seen_here: true };
                self.acks.insert(id.clone(), ack);
                true
            }
            Wish::Silence { for_ms, .. } => {
                let for_ms = (*for_ms).clamp(1, MAX_SILENCE_MS);
                // A new silence of the same labels replaces the old one, so
                // shortening a silence works as well as lengthening it.
                let silence = Silence::of(alert, by, now_ms, for_ms);
                self.silences.retain(|s| s.matchers != silence.matchers);
                self.silences.push(silence);
                true
            }
            Wish::Unsilence(_) => {
                let before = self.silences.len();
                self.silences.retain(|s| !s.covers(alert, now_ms));
                self.silences.len() != before
            }
        }
    }

    /// The silence covering `alert` that ends last, if any.
    pub fn silenced(&self, alert: &Alert, now_ms: i64) -> Option<&Silence> {
        self.silences.iter().filter(|s| s.covers(alert, now_ms)).max_by_key(|s| s.until_ms)
    }

    pub fn acked_by(&self, id: &str) -> Option<&str> {
        self.acks.get(id).map(|a| a.by.as_str())
    }

    /// How `alert` stands; `None` when it is neither acknowledged nor silenced.
    pub fn hush(&self, alert: &Alert, now_ms: i64) -> Option<Hush> {
        let hush = Hush {
            acked_by: self.acked_by(&alert.id).map(str::to_string),
            silenced: self.silenced(alert, now_ms).map(|s| (s.until_ms, s.by.clone())),
        };
        (hush != Hush::default()).then_some(hush)
    }

    /// Whether `alert` must keep quiet: it is silenced or acknowledged.
    pub fn quiet(&self, alert: &Alert, now_ms: i64) -> bool {
        self.acks.contains_key(&alert.id) || self.silenced(alert, now_ms).is_some()
    }

    /// Ends what has run its course: silences past their time, and acks of
    /// alerts that resolved, that left the book after being in it, or that
    /// the book has not held for a day. True when anything ended, or when
    /// the last sight of an acknowledged alert is due to be saved again.
    pub fn prune(&mut self, book: &AlertBook, now_ms: i64) -> bool {
        let before = (self.acks.len(), self.silences.len());
        let mut seen_moved = false;
        self.silences.retain(|s| s.active(now_ms));
        self.acks.retain(|id, ack| match book.get(id) {
            Some(a) if a.state == AlertState::Resolved => false,
            Some(_) => {
                seen_moved |= now_ms - ack.seen_ms >= SEEN_RESAVE_MS;
                ack.seen_ms = now_ms;
                ack.seen_here = true;
                true
            }
            None => !ack.seen_here && now_ms - ack.seen_ms < FORGET_UNSEEN_ACK_MS,
        });
        seen_moved || before != (self.acks.len(), self.silences.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::Severity;

    fn alert(id: &str, state: AlertState, service: &str) -> Alert {
        Alert {
            id: id.into(),
            origin: crate::core::model::Origin::Gateway { source: crate::core::model::SourceId::GATEWAY },
            state,
            severity: Severity::Critical,
            metric: "errors".into(),
            labels: [("service".to_string(), service.to_string())].into(),
            value: Some(0.05),
            threshold: Some(0.01),
            summary: "errors".into(),
            starts_at: Some(0),
            ends_at: None,
            updated_ms: 0,
            open_start: false,
        }
    }

    fn book(alerts: &[Alert]) -> AlertBook {
        let mut b = AlertBook::default();
        for a in alerts {
            b.apply(a.clone());
        }
        b
    }

    #[test]
    fn an_ack_toggles_and_ends_when_its_alert_resolves() {
        let mut i = Intent::default();
        let firing = alert("rule:errors:service=api", AlertState::Firing, "api");
        let mut b = book(std::slice::from_ref(&firing));
        assert!(i.grant(&Wish::ToggleAck(firing.id.clone()), &b, "alice", 10));
        assert_eq!(i.acked_by(&firing.id), Some("alice"));
        assert!(i.quiet(&firing, 10));
        // Toggled off, then on again.
        assert!(i.grant(&Wish::ToggleAck(firing.id.clone()), &b, "alice", 11));
        assert!(i.acked_by(&firing.id).is_none());
        i.grant(&Wish::ToggleAck(firing.id.clone()), &b, "bob", 12);
        assert!(!i.prune(&b, 13), "a firing alert keeps its ack");
        // Hours on, the ack is still there, and its last sighting is news
        // for the file once an hour.
        assert!(i.prune(&b, 13 + SEEN_RESAVE_MS));
        assert!(!i.prune(&b, 14 + SEEN_RESAVE_MS));
        assert_eq!(i.acked_by(&firing.id), Some("bob"));
        b.apply(Alert { state: AlertState::Resolved, ends_at: Some(20), ..firing.clone() });
        assert!(i.prune(&b, 21));
        assert!(i.acks.is_empty());
        // A resolved alert cannot be acknowledged; one not in the book neither.
        assert!(!i.grant(&Wish::ToggleAck(firing.id.clone()), &b, "bob", 22));
        assert!(!i.grant(&Wish::ToggleAck("nope".into()), &b, "bob", 22));
    }

    #[test]
    fn an_ack_outlives_a_restart_until_its_alert_is_back_and_gone() {
        let id = "rule:errors:service=api".to_string();
        let mut i = Intent::default();
        i.acks.insert(id.clone(), Ack { by: "alice".into(), at_ms: 0, seen_ms: 0, seen_here: false });
        // After a restart the rule has not fired again yet: the ack waits.
        assert!(!i.prune(&AlertBook::default(), 60_000));
        // It fires, is seen, and then leaves the book (a pending alert dropped).
        let b = book(&[alert(&id, AlertState::Pending, "api")]);
        i.prune(&b, 61_000);
        assert!(i.prune(&AlertBook::default(), 62_000));
        // An ack whose alert never came back is forgotten after a day.
        i.acks.insert(id.clone(), Ack { by: "alice".into(), at_ms: 0, seen_ms: 0, seen_here: false });
        assert!(!i.prune(&AlertBook::default(), FORGET_UNSEEN_ACK_MS - 1));
        assert!(i.prune(&AlertBook::default(), FORGET_UNSEEN_ACK_MS));
    }

    #[test]
    fn silences_cover_by_labels_replace_each_other_and_expire() {
        let mut i = Intent::default();
        let a = alert("high_errors:payments:100", AlertState::Firing, "payments");
        let b = book(&[a.clone(), alert("high_errors:api:100", AlertState::Firing, "api")]);
        assert!(i.grant(&Wish::Silence { id: a.id.clone(), for_ms: 3_600_000 }, &b, "alice", 0));
        assert_eq!(i.hush(&a, 10), Some(Hush { acked_by: None, silenced: Some((3_600_000, "alice".into())) }));
        let api = b.get("high_errors:api:100").unwrap();
        assert_eq!(i.hush(api, 10), None);
        // Silencing the same labels again replaces the first silence.
        i.grant(&Wish::Silence { id: a.id.clone(), for_ms: 900_000 }, &b, "bob", 60_000);
        assert_eq!(i.silences.len(), 1);
        assert_eq!(i.silenced(&a, 60_000).map(|s| (s.until_ms, s.by.as_str())), Some((960_000, "bob")));
        // A later firing under a new id is covered too.
        let again = alert("high_errors:payments:500", AlertState::Firing, "payments");
        assert!(i.quiet(&again, 500_000));
        assert!(!i.prune(&b, 959_999));
        assert!(i.prune(&b, 960_000));
        assert!(!i.quiet(&again, 960_000));
    }

    #[test]
    fn unsilence_ends_every_silence_covering_the_alert() {
        let mut i = Intent::default();
        let a = alert("high_errors:payments:100", AlertState::Firing, "payments");
        let b = book(std::slice::from_ref(&a));
        i.grant(&Wish::Silence { id: a.id.clone(), for_ms: 60_000 }, &b, "alice", 0);
        // A broader silence, by name only, made by hand in the file.
        let mut broad = i.silences[0].clone();
        broad.matchers.retain(|k, _| k == "alertname");
        i.silences.push(broad);
        assert!(i.grant(&Wish::Unsilence(a.id.clone()), &b, "alice", 1));
        assert!(i.silences.is_empty());
        assert!(!i.grant(&Wish::Unsilence(a.id.clone()), &b, "alice", 2));
    }
}
