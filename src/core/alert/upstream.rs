//! What a gateway that keeps one book of acknowledgements and silences for
//! every screen (the `acks` capability) says of its alerts. Its word is
//! final for its own alerts: the screen shows it as it comes, and sends its
//! wishes to the gateway instead of keeping them in the local file. Alerts
//! of vigil's own rules, SLOs or an Alertmanager keep the local book.

use super::intent::Hush;
use crate::core::model::{Alert, Origin};
use std::collections::BTreeMap;

/// The marks one alert frame carried.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Marks {
    pub acked_by: Option<String>,
    pub acked_at_ms: Option<i64>,
    /// Until when, and whose, the silence covering it that ends last is.
    pub silenced: Option<(i64, String)>,
    /// Every silence covering it, by the gateway's ids: what ending its
    /// silences from the screen expires.
    pub silence_ids: Vec<String>,
}

impl Marks {
    pub fn is_empty(&self) -> bool {
        *self == Marks::default()
    }

    /// How the alert stands; a silence past its end no longer counts,
    /// even before the gateway says so.
    pub fn hush(&self, now_ms: i64) -> Option<Hush> {
        let hush = Hush {
            acked_by: self.acked_by.clone(),
            silenced: self.silenced.clone().filter(|(until, _)| *until > now_ms),
        };
        (hush != Hush::default()).then_some(hush)
    }
}

/// Whether the gateway keeps the book, and the marks of its alerts by id.
#[derive(Debug, Clone, Default)]
pub struct Upstream {
    offered: bool,
    marks: BTreeMap<String, Marks>,
}

impl Upstream {
    /// Whether the gateway offers the book (its latest `hello` said so).
    pub fn offered(&self) -> bool {
        self.offered
    }

    pub fn offer(&mut self, offered: bool) {
        self.offered = offered;
    }

    /// Whether the gateway's book, not the local one, speaks for `alert`.
    pub fn holds(&self, alert: &Alert) -> bool {
        self.offered && matches!(alert.origin, Origin::Gateway { .. })
    }

    /// Takes what an alert's latest frame carried; returns whether it changed.
    pub fn note(&mut self, id: String, marks: Marks) -> bool {
        if marks.is_empty() {
            return self.marks.remove(&id).is_some();
        }
        self.marks.insert(id, marks.clone()) != Some(marks)
    }

    pub fn marks(&self, id: &str) -> Option<&Marks> {
        self.marks.get(id)
    }

    pub fn is_empty(&self) -> bool {
        self.marks.is_empty()
    }

    /// Forgets the marks of alerts no longer held.
    pub fn retain(&mut self, mut held: impl FnMut(&str) -> bool) {
        self.marks.retain(|id, _| held(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_replace_each_other_and_an_empty_frame_clears_them() {
        let mut u = Upstream::default();
        let ack = Marks { acked_by: Some("alice".into()), acked_at_ms: Some(5), ..Marks::default() };
        assert!(u.note("a".into(), ack.clone()));
        assert!(!u.note("a".into(), ack.clone()), "the same marks again change nothing");
        assert_eq!(u.marks("a").and_then(|m| m.hush(10)).and_then(|h| h.acked_by), Some("alice".into()));
        assert!(u.note("a".into(), Marks::default()));
        assert!(u.marks("a").is_none());
        let silenced =
            Marks { silenced: Some((100, "bob".into())), silence_ids: vec!["s1".into()], ..Marks::default() };
        assert_eq!(silenced.hush(99).unwrap().silenced, Some((100, "bob".into())));
        assert_eq!(silenced.hush(100), None, "over at its end, whatever the gateway said last");
    }
}
