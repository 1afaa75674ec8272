//! The pipeline's side of what people say about alerts: the screen sends
//! acknowledgements and silences as wishes, the core grants them, and they
//! are saved to their file here; and the exec hook hears every alert change
//! the core notes that no silence covers.
//!
//! When the gateway keeps one book for every screen (its `hello` offers
//! `acks`), a wish about one of its alerts becomes a call to that book
//! instead: what comes of it arrives as the gateway sends the alert again,
//! here as on every other screen, and a call that fails is said on the
//! status bar.

use super::Pipeline;
use crate::core::Told;
use crate::core::alert::change::{INACTIVE, StateChange};
use crate::core::alert::intent::{Intent, MAX_SILENCE_MS, Wish};
use crate::core::alert::intent_file::{self, IntentFileError};
use crate::core::alert::silence::match_labels;
use crate::core::model::AlertState;
use crate::hook::Hook;
use crate::sources::gateway::book::Call;
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
    /// Where calls to the gateway's book go; `None` keeps every wish local.
    book: Option<mpsc::Sender<Call>>,
    /// The latest word for the status bar (a call the gateway's book
    /// refused), numbered so the screen says each once.
    pub(super) notice: Option<(u64, String)>,
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

    /// Sends wishes about a gateway's alerts to its book, when it keeps one.
    pub fn call_book_with(&mut self, tx: mpsc::Sender<Call>) {
        self.people.book = Some(tx);
    }

    /// Puts a line on the screen's status bar.
    pub(super) fn notice(&mut self, text: String) {
        let n = self.people.notice.as_ref().map_or(1, |(n, _)| n + 1);
        self.people.notice = Some((n, text));
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

    /// Carries out one wish; true when it changed anything shown. A wish
    /// about an alert the gateway's book speaks for goes there, and shows
    /// when the gateway sends the alert again.
    pub fn grant(&mut self, wish: Wish, now_ms: i64) -> bool {
        let user = if self.people.user.is_empty() { "unknown" } else { self.people.user.as_str() };
        let id = match &wish {
            Wish::ToggleAck(id) | Wish::Silence { id, .. } | Wish::Unsilence(id) => id,
        };
        let upstream = self.core.alerts().get(id).is_some_and(|a| self.core.upstream().holds(a));
        if upstream && self.people.book.is_some() {
            let user = user.to_string();
            return self.ask_gateway(wish, user, now_ms);
        }
        let changed = self.core.grant(&wish, user, now_ms);
        if changed {
            self.save_intent();
        }
        changed
    }

    /// Sends a wish to the gateway's book; true when that failed at once
    /// (and the status bar says so).
    fn ask_gateway(&mut self, wish: Wish, user: String, now_ms: i64) -> bool {
        let id = match &wish {
            Wish::ToggleAck(id) | Wish::Silence { id, .. } | Wish::Unsilence(id) => id.clone(),
        };
        let Some(alert) = self.core.alerts().get(&id).cloned() else { return false };
        let marks = self.core.upstream().marks(&id).cloned().unwrap_or_default();
        let call = match wish {
            Wish::ToggleAck(id) if marks.acked_by.is_some() => Call::Unack { id },
            Wish::ToggleAck(_) if alert.state == AlertState::Resolved => return false,
            Wish::ToggleAck(id) => Call::Ack { id, by: user },
            Wish::Silence { for_ms, .. } => Call::Silence {
                matchers: match_labels(&alert),
                ends_at_ms: now_ms.saturating_add(for_ms.clamp(1, MAX_SILENCE_MS)),
                created_by: user,
                comment: format!("silenced from vigil's alert list: {}", alert.summary),
            },
            Wish::Unsilence(_) if marks.silence_ids.is_empty() => return false,
            Wish::Unsilence(_) => Call::Expire { ids: marks.silence_ids },
        };
        tracing::info!(?call, "asking the gateway's book");
        let sent = self.people.book.as_ref().map(|tx| tx.try_send(call));
        if matches!(sent, Some(Ok(()))) {
            return false;
        }
        self.notice("not sent to the gateway: too many changes at once; try again".into());
        true
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
