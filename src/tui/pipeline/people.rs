//! The pipeline's side of what people say about alerts: the screen sends
//! acknowledgements and silences as wishes, the core grants them, and they
//! are saved to their file here; and the exec hook hears every alert change
//! the core notes that no silence covers.

use super::Pipeline;
use crate::core::Told;
use crate::core::alert::change::{INACTIVE, StateChange};
use crate::core::alert::intent::{Intent, Wish};
use crate::core::alert::intent_file::{self, IntentFileError};
use crate::hook::Hook;
use std::path::PathBuf;
use tokio::sync::mpsc;

/// Where acks and silences are saved, who makes them, and the hook.
#[derive(Debug, Default)]
pub(super) struct People {
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
        self.core.restore_intent(loaded?);
        Ok(())
    }

    /// Where the screen's wishes about alerts arrive.
    pub fn hear_wishes(&mut self, wishes: mpsc::Receiver<Wish>) {
        self.people.wishes = Some(wishes);
    }

    /// Runs `hook` for every alert state change that is not silenced.
    pub fn run_hook(&mut self, hook: Hook) {
        self.core.tell_changes();
        self.people.hook = Some(hook);
    }

    /// Acknowledgements and silences in force.
    pub fn intent(&self) -> &Intent {
        self.core.intent()
    }

    /// Carries out one wish; true when it changed anything.
    pub fn grant(&mut self, wish: Wish, now_ms: i64) -> bool {
        let user = if self.people.user.is_empty() { "unknown" } else { self.people.user.as_str() };
        let changed = self.core.grant(&wish, user, now_ms);
        if changed {
            self.save_intent();
        }
        changed
    }

    pub(super) fn save_intent(&self) {
        let Some(file) = &self.people.file else { return };
        if let Err(e) = intent_file::save(file, self.core.intent()) {
            tracing::warn!(error = %e, path = %file.display(), "cannot save acknowledgements and silences");
        }
    }

    /// Runs the hook for the alert changes the core noted, unless a
    /// silence covers the alert.
    pub(super) fn tell_hook(&mut self) {
        let told = self.core.take_told();
        let Some(hook) = &self.people.hook else { return };
        // What a replay over history found was never live: the hook
        // heard of it then, or nobody was watching.
        for t in told.into_iter().filter(|t| !t.replayed) {
            let Told { change, before, after, at_ms, acked_by, silenced, .. } = t;
            let Some(alert) = after.as_ref().or(before.as_ref()) else { continue };
            if silenced {
                tracing::debug!(id = %alert.id, change, "silenced: no exec hook");
                continue;
            }
            let state = after.as_ref().map_or(INACTIVE, |a| a.state.name());
            // A rule's alert with no earlier version was inactive; of a
            // gateway's, nothing is known before its first frame.
            let own = alert.origin.kind().is_own();
            let previous = before.as_ref().map(|a| a.state.name()).or(own.then_some(INACTIVE));
            let mut record = StateChange::new(alert, change, state, previous, at_ms);
            record.acked_by = acked_by;
            hook.submit(record.to_json());
        }
    }
}
