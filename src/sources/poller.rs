//! The loop the polled sources share: read on a steady interval, never two
//! reads of one source at once, give up on a read after the source's
//! timeout, keep the link's state on its [`SourceStats`], and hand on what
//! each read found. A source says only how to read ([`Polled`]).
//! Prometheus runs its own loop: what it reads depends on what the page
//! shows, not on a clock alone.

use crate::core::model::Update;
use crate::sources::SourceStats;
use crate::wire::now_ms;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A source read on an interval.
pub trait Polled: Send {
    /// One read: the updates it gives, or why it failed, in one line.
    fn read(&mut self) -> impl Future<Output = Result<Vec<Update>, String>> + Send;
}

/// How often, and how long one read may take.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub every: Duration,
    pub timeout: Duration,
}

/// Reads `source` every `pace.every` until cancelled or until nobody
/// listens. A slow read delays the next tick rather than overlapping it.
pub async fn run(
    mut source: impl Polled,
    pace: Pace,
    stats: Arc<SourceStats>,
    tx: mpsc::Sender<Update>,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(pace.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let started = Instant::now();
        let read = tokio::select! {
            _ = cancel.cancelled() => return,
            r = tokio::time::timeout(pace.timeout, source.read()) => r,
        };
        let updates = match read {
            Ok(Ok(updates)) => updates,
            Ok(Err(error)) => {
                failed(&stats, error);
                continue;
            }
            Err(_) => {
                failed(&stats, format!("no answer within {}", humantime::format_duration(pace.timeout)));
                continue;
            }
        };
        stats.answered(now_ms(), started.elapsed());
        for u in updates {
            if tx.send(u).await.is_err() {
                return;
            }
        }
    }
}

fn failed(stats: &SourceStats, error: String) {
    tracing::warn!(source = %stats.name, kind = stats.kind.name(), url = %stats.url, %error, "read failed");
    stats.lost(error);
}
