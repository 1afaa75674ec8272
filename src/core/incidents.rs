//! The core's side of incidents: every alert change, event and link change
//! as it happens, in the timeline a post-mortem is written from. Saving it
//! and writing reports are the pipeline's (`pipeline/incidents.rs`).

use crate::core::incident::Timeline;
use crate::core::incident::timeline::{AlertChange, Entry, LinkState, Step, What};
use crate::core::model::{Alert, ConnState, Event};

#[derive(Debug, Default)]
pub struct Incidents {
    timeline: Timeline,
    /// Changed since the last save.
    dirty: bool,
    /// The link state last recorded, and its gateway: a link that keeps
    /// retrying is one entry, not one per attempt.
    link: Option<(LinkState, String)>,
}

impl Incidents {
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    pub(crate) fn restore(&mut self, timeline: Timeline) {
        self.timeline = timeline;
    }

    /// Whether the timeline changed since the last call.
    pub(crate) fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Whether the timeline changed since it was last saved, without
    /// clearing the mark.
    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// `alert` changed by `step` at `at_ms`, judged on `value`; `replayed`
    /// when the change was found by playing the rules over history.
    pub(crate) fn alert(
        &mut self,
        alert: &Alert,
        step: Step,
        value: Option<f64>,
        at_ms: i64,
        now_ms: i64,
        replayed: bool,
    ) {
        let entry = Entry { at_ms, what: What::Alert(AlertChange::new(alert, step, value)) };
        let added =
            if replayed { self.timeline.record_replayed(entry, now_ms) } else { self.timeline.record(entry, now_ms) };
        self.dirty |= added;
    }

    pub(crate) fn event(&mut self, e: &Event, now_ms: i64) {
        let what = What::Event { kind: e.kind.clone(), text: e.text.clone(), labels: e.labels.clone() };
        self.dirty |= self.timeline.record(Entry { at_ms: e.ts, what }, now_ms);
    }

    /// A link state from a source. Reconnecting and given-up states do not
    /// name their gateway: they are the one last connected, else `preferred`.
    pub(crate) fn link(&mut self, c: &ConnState, preferred: &str, now_ms: i64) {
        let last_url = self.link.as_ref().map_or(preferred, |(_, u)| u.as_str()).to_string();
        let (state, url, detail) = match c {
            // Dialling is part of reconnecting, or of starting.
            ConnState::Connecting { .. } => return,
            ConnState::Connected { url, transport, .. } => {
                (LinkState::Connected, url.clone(), format!("over {}", transport.name()))
            }
            ConnState::Reconnecting { error, class, .. } => {
                (LinkState::Reconnecting, last_url, format!("{} error: {error}", class.name()))
            }
            ConnState::Disconnected { error } => (LinkState::Disconnected, last_url, error.clone()),
        };
        if self.link.as_ref().is_some_and(|(s, u)| *s == state && *u == url) {
            return;
        }
        self.link = Some((state, url.clone()));
        let entry = Entry { at_ms: now_ms, what: What::Link { state, url, detail } };
        self.dirty |= self.timeline.record(entry, now_ms);
    }
}
