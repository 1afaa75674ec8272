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
//! JSON rather than a binary format: serde_json is already here, the file
//! stays readable when something looks wrong, and timestamps are stored as
//! differences, which keeps a full day of the demo to a few MB. Writes go to
//! a temporary file that is then renamed, so a crash mid-write leaves the
//! previous file whole. A file that is corrupt, from another version or for
//! other gateways is ignored; it never stops vigil.

mod format;

use super::Pipeline;
use crate::core::model::{OriginKind, SeriesKey};
use crate::core::slo::ledger::Ledger;
use crate::sources::convert;
use crate::wire::{self, EventFrame, MetricInfo, WireTime};
use format::{
    Saved, SavedAlert, SavedLedgers, SavedSeries, VERSION, alert_frame, clean_alert, metric_kind, saved_tier,
    tier_slots, valid_name,
};
use serde_json::value::RawValue;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Largest file written or read. Series past it are left out, those updated
/// longest ago first.
pub const MAX_STATE_BYTES: usize = 16 << 20;
/// How often the pipeline task saves. Writing a day-full store takes tens
/// of milliseconds; every minute that would be a wall screen's biggest
/// steady cost. What a crash loses in between, the gateway's backfill
/// mostly brings back at the next start.
const SAVE_EVERY_MS: i64 = 5 * 60_000;
/// A file older than the longest tier holds nothing worth showing.
const MAX_AGE_MS: i64 = 24 * 3_600_000;

/// Why a saved state was not used.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("no saved state")]
    Missing,
    #[error("cannot read {0}")]
    Io(#[from] std::io::Error),
    #[error("saved state is {0} bytes, over the limit")]
    TooLarge(u64),
    #[error("saved state is corrupt: {0}")]
    Corrupt(String),
    #[error("saved state is {0}")]
    Foreign(String),
}

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
        let size = match std::fs::metadata(&file.path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(RestoreError::Missing),
            Err(e) => return Err(e.into()),
        };
        if size > MAX_STATE_BYTES as u64 {
            return Err(RestoreError::TooLarge(size));
        }
        let text = std::fs::read_to_string(&file.path)?;
        let saved: Saved<SavedSeries> =
            serde_json::from_str(&text).map_err(|e| RestoreError::Corrupt(wire::sanitize(&e.to_string())))?;
        if saved.vigil_state != VERSION {
            return Err(RestoreError::Foreign(format!("of format {}, not {VERSION}", saved.vigil_state)));
        }
        if saved.source != file.source {
            return Err(RestoreError::Foreign("for other gateways".into()));
        }
        if now_ms - saved.saved_ms > MAX_AGE_MS {
            return Err(RestoreError::Foreign("more than a day old".into()));
        }
        Ok(self.put_back(saved, now_ms))
    }

    fn put_back(&mut self, saved: Saved<SavedSeries>, now_ms: i64) -> usize {
        // What came from a file is treated like what comes from a server:
        // names are checked and text is sanitised before anything shows it.
        let metrics: Vec<_> = saved.metrics.iter().filter(|m| valid_name(&m.name)).map(convert::metric_meta).collect();
        self.core.store.learn(&metrics);
        self.core.interval_ms = saved.interval_ms.max(1);
        for a in saved.alerts {
            // Only a gateway's alerts come back. Files from before origins
            // were saved kept the rules' alerts too, with nothing but the
            // id to tell them apart, so their alerts are left out: the
            // gateway's come again with its next frames.
            if a.origin != Some(OriginKind::Gateway) {
                continue;
            }
            let mut alert = convert::alert(&clean_alert(a.alert), a.updated_ms);
            alert.updated_ms = a.updated_ms.min(now_ms);
            self.core.alerts.apply(alert);
        }
        let events = saved.events.len().min(crate::core::MAX_EVENTS);
        for e in saved.events.iter().take(crate::core::MAX_EVENTS) {
            let mut event = convert::event(e);
            event.kind = wire::sanitize(&event.kind);
            event.text = wire::sanitize(&event.text);
            event.labels = wire::sanitize_labels(&event.labels);
            self.core.add_event(event, now_ms);
        }
        let mut restored = Vec::new();
        for s in saved.series {
            if !valid_name(&s.metric) || s.labels.len() > wire::MAX_LABELS {
                continue;
            }
            let key = SeriesKey { metric: s.metric, labels: wire::sanitize_labels(&s.labels) };
            let tiers = s.tiers.into_iter().map(tier_slots).collect();
            if self.core.store.restore(key.clone(), convert::kind(s.kind), tiers) {
                restored.push(key);
            }
        }
        self.core.restored_at = Some(now_ms);
        let count = restored.len();
        self.core.restored_from(saved.producer.map(|p| wire::sanitize(&p)), restored, events);
        count
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
        self.snapshot(&file.source, now_ms).write(&file.path, max_bytes)
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
        let alerts = self
            .core
            .alerts
            .sorted()
            .into_iter()
            // Only a gateway's alerts are kept: the rules and SLOs work
            // theirs out again from the history, and an Alertmanager is
            // asked again within one interval.
            .filter(|a| a.origin.kind() == OriginKind::Gateway)
            .map(|a| SavedAlert { updated_ms: a.updated_ms, origin: Some(OriginKind::Gateway), alert: alert_frame(a) })
            .collect();
        let events = self
            .core
            .events
            .iter()
            .map(|e| EventFrame {
                seq: None,
                timestamp: WireTime(e.ts),
                kind: e.kind.clone(),
                text: e.text.clone(),
                labels: e.labels.clone(),
            })
            .collect();
        let metrics = self
            .core
            .store
            .known_metrics()
            .into_iter()
            .map(|m| MetricInfo { name: m.name, kind: metric_kind(m.kind), unit: m.unit, help: m.help })
            .collect();
        let mut series: Vec<(i64, SavedSeries)> = self
            .core
            .store
            .iter()
            .map(|(key, s)| {
                let tiers = (0..crate::core::store::TIERS.len()).filter_map(|i| s.tier(i)).map(saved_tier).collect();
                let newest = s.latest().map_or(i64::MIN, |(ts, _)| ts);
                let saved = SavedSeries {
                    metric: key.metric.clone(),
                    labels: key.labels.clone(),
                    kind: metric_kind(s.kind),
                    tiers,
                };
                (newest, saved)
            })
            .collect();
        // Freshest first, so a size limit drops the series that went quiet.
        series.sort_by_key(|(newest, _)| std::cmp::Reverse(*newest));
        Snapshot {
            head: Saved {
                vigil_state: VERSION,
                source: source.to_string(),
                producer: self.core.producer().map(str::to_string),
                saved_ms: now_ms,
                interval_ms: self.core.interval_ms,
                metrics,
                alerts,
                events,
                series: Vec::new(),
            },
            series: series.into_iter().map(|(_, s)| s).collect(),
        }
    }
}

/// A copy of the state, taken in the pipeline task and written elsewhere.
struct Snapshot {
    head: Saved<Box<RawValue>>,
    series: Vec<SavedSeries>,
}

impl Snapshot {
    fn write(mut self, path: &Path, max_bytes: usize) -> std::io::Result<usize> {
        let to_io = |e: serde_json::Error| std::io::Error::other(e);
        let mut used = serde_json::to_vec(&self.head).map_err(to_io)?.len();
        for s in &self.series {
            let raw = serde_json::value::to_raw_value(s).map_err(to_io)?;
            // One more byte for the comma between series.
            if used + raw.get().len() + 1 > max_bytes {
                break;
            }
            used += raw.get().len() + 1;
            self.head.series.push(raw);
        }
        if self.head.series.len() < self.series.len() {
            tracing::info!(kept = self.head.series.len(), of = self.series.len(), "state over its size limit");
        }
        let bytes = serde_json::to_vec(&self.head).map_err(to_io)?;
        if bytes.len() > max_bytes {
            return Err(std::io::Error::other("state is over its size limit even without series"));
        }
        crate::atomic_file::write(path, &bytes)?;
        Ok(bytes.len())
    }
}

/// A stable name for a gateway list (FNV-1a: std's hasher may change
/// between releases, and the name must not).
fn source_name(gateways: &[String]) -> String {
    if gateways.is_empty() {
        return "demo".into();
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in gateways.join("\n").bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}
