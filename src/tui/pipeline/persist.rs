//! The last state on disk, so the next start shows something at once.
//!
//! Every minute and on exit the pipeline writes its series (every tier),
//! alerts, events and catalogue to one JSON file in the cache dir, named
//! after the gateways it watches. At start the file is read back before any
//! live data: restored series arrive as history, so their `last_live_ms`
//! stays `None` and the screen marks them stale until live points come.
//!
//! The file is named after what produced its data as far as that is known
//! before anything connects: the set of sources, and for the embedded demo
//! its scenario and seed. Inside, it also keeps what the gateway's `hello`
//! called itself; a gateway that turns out to be another producer (see
//! `core/producer.rs`) has the restored data dropped before its own comes.
//!
//! The file's format and how a core is written to it and read back are in
//! [`crate::persist`], which the gateway shares; here is when and where the
//! dashboard saves, and the files beside the state (SLO ledgers, timeline).
//! A file that is corrupt, from another version or for other gateways is
//! ignored; it never stops vigil.

use super::Pipeline;
use crate::core::slo::ledger::Ledger;
use crate::persist::format::SavedLedgers;
use crate::persist::{self, Snapshot, Written};
pub use crate::persist::{MAX_STATE_BYTES, RestoreError};
use crate::wire;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
/// How often the pipeline task saves. Writing a day-full store takes tens
/// of milliseconds; every minute that would be a wall screen's biggest
/// steady cost. What a crash loses in between, the gateway's backfill
/// mostly brings back at the next start.
const SAVE_EVERY_MS: i64 = 5 * 60_000;
/// A file older than the longest tier holds nothing worth showing.
const MAX_AGE_MS: i64 = 24 * 3_600_000;

/// The state file of one set of gateways.
#[derive(Debug, Clone, PartialEq)]
pub struct StateFile {
    pub path: PathBuf,
    /// Names the gateways inside the file too, so a file renamed or copied
    /// from elsewhere is not taken for this source's.
    source: String,
}

impl StateFile {
    /// `<dir>/state-<hash of the gateway URLs>.json`, or `state-demo.json`
    /// for none.
    pub fn new(dir: &Path, gateways: &[String]) -> StateFile {
        StateFile::named(dir, source_name(gateways))
    }

    /// The state file of what `plan` reads from: its sources (see
    /// [`crate::feed::Plan::identity`]), or for the embedded demo its
    /// scenario and seed (`state-demo-tour-1.json`), which decide every
    /// value the demo produces.
    pub fn for_plan(dir: &Path, plan: &crate::feed::Plan) -> StateFile {
        if !plan.demo() {
            return StateFile::new(dir, &plan.identity());
        }
        let demo = &plan.config.demo;
        StateFile::named(dir, format!("demo-{}-{}", demo.scenario.name(), demo.seed))
    }

    fn named(dir: &Path, source: String) -> StateFile {
        StateFile { path: dir.join(format!("state-{source}.json")), source }
    }

    /// The SLO ledgers' file beside it. Apart from the state because it
    /// keeps weeks where the state keeps a day, and is worth reading however
    /// old the state is.
    pub fn ledgers_path(&self) -> PathBuf {
        self.path.with_file_name(format!("slo-{}.json", self.source))
    }

    /// The incident timeline's file for the same gateways, in `state_dir`:
    /// the people's record of what happened, kept with acknowledgements
    /// rather than in the cache.
    pub fn timeline_path(&self, state_dir: &Path) -> PathBuf {
        state_dir.join(format!("timeline-{}.json", self.source))
    }
}

/// Largest ledgers file read back: a 30-day ledger is a few hundred KB.
const MAX_LEDGER_BYTES: u64 = 16 << 20;

/// The SLO ledgers saved in `path` and who produced what they counted;
/// none when it is missing or unreadable (the store's day of history fills
/// them again).
fn load_ledgers(path: &Path) -> (Option<String>, Vec<Ledger>) {
    let fits = std::fs::metadata(path).is_ok_and(|m| m.len() <= MAX_LEDGER_BYTES);
    let read = fits.then(|| std::fs::read_to_string(path).ok()).flatten();
    match read.map(|t| serde_json::from_str(&t)) {
        Some(Ok(SavedLedgers::Tagged { producer, ledgers })) => (producer.map(|p| wire::sanitize(&p)), ledgers),
        Some(Ok(SavedLedgers::Bare(ledgers))) => (None, ledgers),
        Some(Err(e)) => {
            tracing::warn!(error = %e, path = %path.display(), "saved SLO ledgers ignored");
            (None, Vec::new())
        }
        None => (None, Vec::new()),
    }
}

fn save_ledgers(path: &Path, producer: Option<&str>, ledgers: &[Ledger]) -> std::io::Result<()> {
    if ledgers.is_empty() {
        return Ok(());
    }
    let file = SavedLedgers::Tagged { producer: producer.map(str::to_string), ledgers: ledgers.to_vec() };
    let bytes = serde_json::to_vec(&file).map_err(std::io::Error::other)?;
    crate::atomic_file::write(path, &bytes)
}

/// Where and when the pipeline saves; one per pipeline.
#[derive(Debug, Default)]
pub(super) struct Cache {
    file: Option<StateFile>,
    last_save_ms: Option<i64>,
    /// Set while a save runs on a blocking thread, so saves never pile up.
    saving: Arc<AtomicBool>,
}

impl Pipeline {
    /// Saves to `file` every few minutes from [`super::run`], besides on
    /// demand and on exit.
    pub fn save_periodically(&mut self, file: StateFile) {
        self.cache.file = Some(file);
    }

    /// Loads a saved state before live data arrives; returns how many series
    /// came back. Values shown from it are stale until live points arrive.
    pub fn restore(&mut self, file: &StateFile, now_ms: i64) -> Result<usize, RestoreError> {
        let (producer, ledgers) = load_ledgers(&file.ledgers_path());
        self.core.restore_ledgers_from(producer, ledgers);
        let saved = persist::read(&file.path, &file.source, now_ms, MAX_STATE_BYTES as u64, Some(MAX_AGE_MS))?;
        Ok(persist::put_back(&mut self.core, saved, now_ms))
    }

    /// Writes the state now; returns the bytes written. Waits (briefly) for
    /// an autosave in flight, so an older snapshot cannot land last.
    pub fn save(&self, file: &StateFile, now_ms: i64) -> std::io::Result<usize> {
        for _ in 0..100 {
            if !self.cache.saving.load(Ordering::Acquire) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let ledgers = save_ledgers(&file.ledgers_path(), self.core.producer(), self.core.slos.ledgers());
        let timeline = self.save_timeline(now_ms);
        let state = self.save_within(file, now_ms, MAX_STATE_BYTES);
        ledgers.and(timeline).and(state)
    }

    /// [`Pipeline::save`] with a size limit of its own choosing.
    pub fn save_within(&self, file: &StateFile, now_ms: i64, max_bytes: usize) -> std::io::Result<usize> {
        self.snapshot(&file.source, now_ms).write(&file.path, max_bytes).map(|w: Written| w.bytes)
    }

    /// Called once a second by the pipeline task: saves when
    /// [`SAVE_EVERY_MS`] has passed, serialising and writing on a blocking
    /// thread so the task keeps folding updates meanwhile.
    pub(super) fn autosave(&mut self, now_ms: i64) {
        let Some(file) = self.cache.file.clone() else { return };
        let last = *self.cache.last_save_ms.get_or_insert(now_ms);
        if now_ms - last < SAVE_EVERY_MS || self.cache.saving.swap(true, Ordering::AcqRel) {
            return;
        }
        self.cache.last_save_ms = Some(now_ms);
        let snapshot = self.snapshot(&file.source, now_ms);
        let ledgers = self.core.slos.ledgers().to_vec();
        let producer = self.core.producer().map(str::to_string);
        let saving = self.cache.saving.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = snapshot.write(&file.path, MAX_STATE_BYTES) {
                tracing::warn!(error = %e, path = %file.path.display(), "cannot save the state");
            }
            if let Err(e) = save_ledgers(&file.ledgers_path(), producer.as_deref(), &ledgers) {
                tracing::warn!(error = %e, "cannot save the SLO ledgers");
            }
            saving.store(false, Ordering::Release);
        });
    }

    fn snapshot(&self, source: &str, now_ms: i64) -> Snapshot {
        persist::snapshot(&self.core, source, now_ms)
    }
}

/// A stable name for a gateway list (FNV-1a: std's hasher may change
/// between releases, and the name must not).
fn source_name(gateways: &[String]) -> String {
    if gateways.is_empty() {
        return "demo".into();
    }
    persist::source_name(gateways)
}
