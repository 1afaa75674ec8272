//! The held store across restarts: what real inputs brought and producers
//! pushed is saved to the state dir (`gateway-KEY.json`, in the dashboard's
//! state format, see [`crate::persist`]) every `save_every`, when the push
//! log grows large, and on a clean stop; and read back at start, with the
//! pushes logged since the last save replayed over it (see `wal.rs`). REST
//! history, a client's backfill and the rules then go on from where the
//! gateway stopped.
//!
//! The simulator's series are never in the held store: they are computed
//! again from the scenario and seed for any instant asked. So a simulating
//! gateway keeps only what producers pushed to it.

use super::held::Held;
use super::state::Shared;
use super::wal::{Entry, PushLog};
use crate::gateway::inputs::push;
use crate::persist::{self, RestoreError, Written};
use crate::wire::now_ms;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Largest state file written or read. A gateway's store is the history of
/// every screen it serves, so it may be far bigger than a dashboard's;
/// series past it are left out, those updated longest ago first.
const MAX_STATE_BYTES: usize = 1 << 30;
/// A push log grown past this is saved into a snapshot before the
/// interval is up, which keeps the replay at the next start short.
const LOG_SAVE_BYTES: u64 = 256 << 20;
/// How often the saving task looks at the clock and the log's size.
const CHECK_EVERY: Duration = Duration::from_millis(500);

/// The held store's state file and push log.
pub(crate) struct Kept {
    key: String,
    path: PathBuf,
    pub log: PushLog,
    /// The version of the held store on disk; `None` when it is not. Its
    /// lock is held through a save, so saves never overlap.
    saved: Mutex<Option<u64>>,
}

impl Kept {
    /// Reads the held store's state back into `held`, replays the pushes
    /// logged since it was saved, and opens the log for new ones. Blocking.
    pub fn open(dir: &Path, key: &str, held: &Held) -> std::io::Result<Kept> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("gateway-{key}.json"));
        let now = now_ms();
        let (from, series) = match persist::read(&path, key, now, MAX_STATE_BYTES as u64, None) {
            Ok(restored) => (restored.gateway().map_or(0, |g| g.log_generation), held.restore(restored, now)),
            Err(RestoreError::Missing) => (0, 0),
            Err(e) => {
                set_aside(&path, &e, now);
                (0, 0)
            }
        };
        let (log, replayed) = PushLog::open(dir, key, from, |entry| replay(held, entry))?;
        if series > 0 || replayed.records > 0 || replayed.damaged > 0 {
            let (pushes, damaged) = (replayed.records, replayed.damaged);
            let changes = held.replay_rules(now_ms());
            tracing::info!(dir = %dir.display(), series, pushes, damaged, changes, "held store restored, rules replayed");
        }
        let replayed_any = replayed.records > 0 || replayed.damaged > 0;
        let saved = (!replayed_any).then(|| held.version());
        let kept = Kept { key: key.to_string(), path, log, saved: Mutex::new(saved) };
        // What was replayed goes into a snapshot at once, so the log it
        // came from (and any damage in it, warned of once) can go.
        if replayed_any {
            kept.save(held)?;
        }
        Ok(kept)
    }

    /// Writes the held store when it changed since the last save; then the
    /// log generations the file covers are deleted. Blocking.
    pub fn save(&self, held: &Held) -> std::io::Result<Option<Written>> {
        let mut saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
        if *saved == Some(held.version()) {
            return Ok(None);
        }
        let (snapshot, version, generation) = {
            let turned = self.log.turn()?;
            let (snapshot, version) = held.snapshot(&self.key, now_ms(), turned.generation);
            // Pushes go on from here, into the new generation.
            (snapshot, version, turned.generation)
        };
        let written = snapshot.write(&self.path, MAX_STATE_BYTES)?;
        if written.series < written.of {
            tracing::warn!(
                kept = written.series,
                of = written.of,
                "held store over {MAX_STATE_BYTES} bytes: the series updated longest ago were not saved"
            );
        }
        self.log.forget_before(generation)?;
        *saved = Some(version);
        Ok(Some(written))
    }
}

/// Moves an unreadable state file out of the way, so the next save does not
/// overwrite what a person may want to look at.
fn set_aside(path: &Path, why: &RestoreError, now: i64) {
    let aside = path.with_extension(format!("json.unread-{now}"));
    match std::fs::rename(path, &aside) {
        Ok(()) => tracing::warn!(
            error = %why, kept_as = %aside.display(),
            "the gateway's saved store was not restored; replaying the whole push log"
        ),
        Err(e) => tracing::warn!(
            error = %why, rename_error = %e, path = %path.display(),
            "the gateway's saved store was not restored; replaying the whole push log"
        ),
    }
}

/// Takes one logged push back into the held store, as history.
fn replay(held: &Held, entry: Entry) -> bool {
    match push::parse(&entry.body, usize::MAX, |_| None) {
        Ok(pushed) => {
            held.learn(&pushed.kinds);
            held.take(Held::replayed(pushed.points, entry.at_ms), now_ms());
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "push log: a record's body does not read as a push; skipped");
            false
        }
    }
}

/// Saves the held store every `every`, or sooner when the push log grows
/// large, off the async workers; until shutdown.
pub(crate) async fn run(shared: Arc<Shared>, every: Duration) {
    let mut tick = tokio::time::interval(CHECK_EVERY.min(every));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = Instant::now();
    loop {
        tokio::select! {
            _ = shared.shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let Some(kept) = shared.kept() else { break };
        if last.elapsed() < every && kept.log.bytes() < LOG_SAVE_BYTES {
            continue;
        }
        last = Instant::now();
        save_now(&shared).await;
    }
}

/// Saves the held store now, off the async workers; a failure is logged.
pub(crate) async fn save_now(shared: &Arc<Shared>) {
    let work = Arc::clone(shared);
    let saved = tokio::task::spawn_blocking(move || work.kept().map(|k| k.save(work.held()))).await;
    match saved {
        Ok(Some(Ok(Some(w)))) => tracing::debug!(bytes = w.bytes, series = w.series, "held store saved"),
        Ok(Some(Ok(None)) | None) => {}
        Ok(Some(Err(e))) => tracing::warn!(error = %e, "cannot save the held store; the push log keeps the pushes"),
        Err(e) => tracing::warn!(error = %e, "saving the held store failed"),
    }
}
