//! The alert rules in force, watched over what `tail` holds: played over
//! the start-up backfill first, so history's changes come out with their
//! own times, then evaluated once a second as the dashboard does. The SLOs'
//! burn alerts are evaluated alongside, from the same start.

use crate::core::alert::engine;
use crate::core::alert::rules::{Outcome, REPLAY_STEP_MS, RuleSet, RuleSpec};
use crate::core::model::Alert;
use crate::core::slo::{SloBook, SloSpec};
use crate::core::store::Store;

/// How long to wait for a start-up backfill before evaluating without one
/// (a transport that could not fetch history): rules then start from live
/// data alone, as a dashboard started without history would.
const BACKFILL_WAIT_MS: i64 = 15_000;

/// One change of one rule's group, at the instant it happened.
pub type Change = (i64, Outcome);

/// One change of an SLO's burn alert, and the alert as it left it.
pub type BurnChange = (Alert, engine::Change);

pub struct RuleWatch {
    rules: RuleSet,
    slos: SloBook,
    /// Whether evaluation has begun. Until the backfill is in, the store
    /// holds a few seconds of data, and rules over it would raise and drop
    /// alerts that history would have settled.
    started: bool,
    first_data_ms: Option<i64>,
}

impl RuleWatch {
    pub fn new(rules: Vec<RuleSpec>, slos: Vec<SloSpec>) -> Self {
        RuleWatch { rules: RuleSet::new(rules), slos: SloBook::new(slos), started: false, first_data_ms: None }
    }

    pub fn rules(&self) -> &[RuleSpec] {
        self.rules.rules()
    }

    /// Notes that data arrived, for the wait on the backfill.
    pub fn saw_data(&mut self, now_ms: i64) {
        self.first_data_ms.get_or_insert(now_ms);
    }

    /// The start-up backfill of `(from_ms, now]` is in: replays the rules
    /// over it and returns what changed, oldest first. Later backfills
    /// (gaps) change nothing here: live evaluation already stands on them.
    pub fn backfilled(&mut self, store: &Store, from_ms: i64, now_ms: i64) -> Vec<Change> {
        if self.started {
            return Vec::new();
        }
        self.started = true;
        self.rules.replay(store, from_ms, now_ms, REPLAY_STEP_MS)
    }

    /// Once a second: what the rules changed at `now_ms`.
    pub fn tick(&mut self, store: &Store, now_ms: i64) -> Vec<Change> {
        if !self.started {
            if self.first_data_ms.is_none_or(|t| now_ms - t < BACKFILL_WAIT_MS) {
                return Vec::new();
            }
            self.started = true;
        }
        self.rules.evaluate(store, now_ms).into_iter().filter(|o| o.change.is_some()).map(|o| (now_ms, o)).collect()
    }

    /// Once a second, once the rules have started: what the SLOs' burn
    /// alerts changed at `now_ms`. An alert that went away without
    /// resolving (a burn that never fired) has nothing to show.
    pub fn burns(&mut self, store: &Store, now_ms: i64) -> Vec<BurnChange> {
        if !self.started {
            return Vec::new();
        }
        let changes = self.slos.evaluate(store, now_ms);
        changes.into_iter().filter_map(|(_, alert, change)| Some((alert?, change?))).collect()
    }
}
