//! The pipeline's side of what people say about alerts: it owns the alert
//! book, so acknowledgements and silences are granted here (the screen
//! sends them as wishes), saved to their file, ended when their time or
//! their alert is over, and consulted before the exec hook runs.

use super::Pipeline;
use crate::alert::change::{INACTIVE, StateChange};
use crate::alert::intent::{Hush, Intent, Wish};
use crate::alert::intent_file::{self, IntentFileError};
use crate::hook::Hook;
use crate::model::Alert;
use std::collections::BTreeMap;
use std::path::PathBuf;
use tokio::sync::mpsc;

#[derive(Debug, Default)]
pub(super) struct People {
    intent: Intent,
    /// Where acks and silences are kept; `None` keeps them in memory only.
    file: Option<PathBuf>,
    /// Who the wishes come from: the local user.
    user: String,
    hook: Option<Hook>,
    /// Taken by [`super::run`], which listens on it.
    pub(super) wishes: Option<mpsc::Receiver<Wish>>,
}

impl Pipeline {
    /// Keeps acknowledgements and silences in `file`, signed `user`, and
    /// reads what it holds. A file that cannot be read is reported and
    /// starts an empty record, which the next change writes over it.
    pub fn keep_intent_in(&mut self, file: PathBuf, user: String) -> Result<(), IntentFileError> {
        self.people.user = user;
        let loaded = intent_file::load(&file);
        self.people.file = Some(file);
        self.people.intent = loaded?;
        Ok(())
    }

    /// Where the screen's wishes about alerts arrive.
    pub fn hear_wishes(&mut self, wishes: mpsc::Receiver<Wish>) {
        self.people.wishes = Some(wishes);
    }

    /// Runs `hook` for every alert state change that is not silenced.
    pub fn run_hook(&mut self, hook: Hook) {
        self.people.hook = Some(hook);
    }

    /// Acknowledgements and silences in force.
    pub fn intent(&self) -> &Intent {
        &self.people.intent
    }

    /// Carries out one wish; true when it changed anything.
    pub fn grant(&mut self, wish: Wish, now_ms: i64) -> bool {
        let user = if self.people.user.is_empty() { "unknown" } else { self.people.user.as_str() };
        let changed = self.people.intent.grant(&wish, &self.alerts, user, now_ms);
        if changed {
            tracing::info!(?wish, by = user, "alert intent");
            self.save_intent();
        }
        changed
    }

    /// Ends silences past their time and acks of alerts that are over.
    pub(super) fn prune_intent(&mut self, now_ms: i64) -> bool {
        let changed = self.people.intent.prune(&self.alerts, now_ms);
        if changed {
            self.save_intent();
        }
        changed
    }

    fn save_intent(&self) {
        let Some(file) = &self.people.file else { return };
        if let Err(e) = intent_file::save(file, &self.people.intent) {
            tracing::warn!(error = %e, path = %file.display(), "cannot save acknowledgements and silences");
        }
    }

    /// An alert changed state (`before` and `after` are the book's versions
    /// around the change; `after` is `None` for one that left it). Runs the
    /// hook unless a silence covers the alert.
    pub(super) fn tell(&self, change: &str, before: Option<&Alert>, after: Option<&Alert>, now_ms: i64) {
        let Some(hook) = &self.people.hook else { return };
        let Some(alert) = after.or(before) else { return };
        if self.people.intent.silenced(alert, now_ms).is_some() {
            tracing::debug!(id = %alert.id, change, "silenced: no exec hook");
            return;
        }
        let state = after.map_or(INACTIVE, |a| a.state.name());
        // A rule's alert with no earlier version was inactive; of a
        // gateway's, nothing is known before its first frame.
        let own = alert.origin.kind().is_own();
        let previous = before.map(|a| a.state.name()).or(own.then_some(INACTIVE));
        let mut record = StateChange::new(alert, change, state, previous, now_ms);
        record.acked_by = self.people.intent.acked_by(&alert.id).map(str::to_string);
        hook.submit(record.to_json());
    }

    /// How each of `alerts` stands with people, for the scene.
    pub(super) fn hush_of(&self, now_ms: i64) -> BTreeMap<String, Hush> {
        let intent = &self.people.intent;
        let mut hush: BTreeMap<String, Hush> = if intent.acks.is_empty() && intent.silences.is_empty() {
            BTreeMap::new()
        } else {
            self.alerts.sorted().iter().filter_map(|a| Some((a.id.clone(), intent.hush(a, now_ms)?))).collect()
        };
        // What another system silences shows as silenced here too, unless
        // a silence of vigil's own covers it already.
        for m in self.muted.values().flatten() {
            if self.alerts.get(&m.alert_id).is_some() {
                let h = hush.entry(m.alert_id.clone()).or_default();
                if h.silenced.is_none() {
                    h.silenced = Some((m.until_ms.unwrap_or(i64::MAX), m.by.clone()));
                }
            }
        }
        hush
    }
}
