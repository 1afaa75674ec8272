//! Who produced the data: what a gateway's `hello` calls itself, kept with
//! the saved state. Data read back from disk is shown at once, but it is
//! only joined to live data once the gateway turns out to be the producer
//! that made it. Series of another producer (another simulated scenario,
//! another server behind the same URL) are not a continuation: a counter
//! read from one and then the other would show a burst of traffic or of
//! errors that never happened.

use super::Core;
use crate::core::model::{OriginKind, SeriesKey};
use crate::core::slo::ledger::Ledger;

/// Data read back from disk whose producer the gateway has not yet
/// confirmed.
#[derive(Debug, Default)]
pub(crate) struct Unconfirmed {
    /// The saved state's producer, the series it held and how many events.
    state: Option<(String, Vec<SeriesKey>, usize)>,
    /// The producer the saved SLO ledgers counted.
    ledgers: Option<String>,
}

impl Core {
    /// The producer of the data held: the last gateway that said who it is,
    /// else the one the restored state came from. `None` when unknown.
    pub fn producer(&self) -> Option<&str> {
        self.producer.as_deref()
    }

    /// Notes that `keys` and `events` events came back from a saved state
    /// made by `producer`; they are dropped if the gateway is another.
    /// A state of unknown producer (no gateway said, or an older file) is
    /// taken as it is.
    pub fn restored_from(&mut self, producer: Option<String>, keys: Vec<SeriesKey>, events: usize) {
        let Some(producer) = producer.filter(|p| !p.is_empty()) else { return };
        if self.producer.is_none() {
            self.producer = Some(producer.clone());
        }
        self.unconfirmed.state = Some((producer, keys, events));
    }

    /// Hands saved ledgers to the SLOs, as [`Core::restore_ledgers`], noting
    /// who produced what they counted.
    pub fn restore_ledgers_from(&mut self, producer: Option<String>, ledgers: Vec<Ledger>) {
        let any = !ledgers.is_empty();
        self.restore_ledgers(ledgers);
        self.unconfirmed.ledgers = producer.filter(|p| any && !p.is_empty());
    }

    /// A gateway said who it is (`hello`). Data restored from another
    /// producer leaves the store, the alert list and the SLO ledgers now,
    /// before anything of the new producer arrives to be joined to it.
    /// Returns whether anything was dropped.
    pub(super) fn hello_from(&mut self, server: &str) -> bool {
        // A transport without `hello` (SSE, polling) does not say.
        if server.is_empty() {
            return false;
        }
        self.producer = Some(server.to_string());
        let mut dropped = false;
        if let Some((producer, keys, events)) = self.unconfirmed.state.take()
            && producer != server
        {
            tracing::info!(saved = %producer, live = %server, "saved state is of another producer; dropped");
            for key in &keys {
                self.store.wipe(key);
            }
            let keep = self.events.len().saturating_sub(events);
            self.events.truncate(keep);
            if let Some(at) = self.restored_at.take() {
                self.alerts.retain(|a| a.origin.kind() != OriginKind::Gateway || a.updated_ms >= at);
            }
            dropped = true;
        }
        if let Some(producer) = self.unconfirmed.ledgers.take()
            && producer != server
        {
            tracing::info!(saved = %producer, live = %server, "saved SLO ledgers are of another producer; dropped");
            self.spare_ledgers.clear();
            self.slos.forget_counts();
            dropped = true;
        }
        if dropped {
            self.data_version += 1;
        }
        dropped
    }
}
