//! A core's store on disk, shared by the programs that keep one across
//! restarts: the dashboard (its cache of the last state, see
//! `tui/pipeline/persist.rs`) and the gateway (its held store, see
//! `gateway/serve/snapshot.rs`). Each decides where and when; here is what
//! a file holds and how a core is written to it and read back from it.
//!
//! JSON rather than a binary format: serde_json is already here, the file
//! stays readable when something looks wrong, and timestamps are stored as
//! differences, which keeps a full day of the demo to a few MB. Writes go
//! through [`crate::atomic_file`], so a crash mid-write leaves the previous
//! file whole. A file that is corrupt, from another version or of another
//! source is refused with the reason; it never stops vigil.
//!
//! May import: `core`, `wire`, the sources' conversions from wire types
//! (what comes back from a file is treated like what comes from a server).

pub(crate) mod format;

use crate::core::Core;
use crate::core::model::{OriginKind, SeriesKey};
use crate::sources::convert;
use crate::wire::{self, EventFrame, MetricInfo, WireTime};
pub use format::GatewayPart;
pub(crate) use format::valid_name;
use format::{Saved, SavedAlert, SavedSeries, VERSION, alert_frame, clean_alert, metric_kind, saved_tier, tier_slots};
use serde_json::value::RawValue;
use std::path::Path;

/// Largest dashboard state file written or read. Series past it are left
/// out, those updated longest ago first.
pub const MAX_STATE_BYTES: usize = 16 << 20;

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

/// A state file read and checked, not yet put back into a core.
pub struct Restored(Saved<SavedSeries>);

impl Restored {
    /// What a gateway kept beside the store, if a gateway wrote the file.
    pub fn gateway(&self) -> Option<&GatewayPart> {
        self.0.gateway.as_ref()
    }

    /// Who produced the data, as the file says.
    pub fn producer(&self) -> Option<&str> {
        self.0.producer.as_deref()
    }

    /// When it was saved (wall clock, ms).
    pub fn saved_ms(&self) -> i64 {
        self.0.saved_ms
    }
}

/// Reads the state in `path`, refusing one over `max_bytes`, of another
/// format, of another `source` than the one named, or (with `max_age_ms`)
/// saved longer ago than that.
pub fn read(
    path: &Path,
    source: &str,
    now_ms: i64,
    max_bytes: u64,
    max_age_ms: Option<i64>,
) -> Result<Restored, RestoreError> {
    let size = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(RestoreError::Missing),
        Err(e) => return Err(e.into()),
    };
    if size > max_bytes {
        return Err(RestoreError::TooLarge(size));
    }
    let text = std::fs::read_to_string(path)?;
    let saved: Saved<SavedSeries> =
        serde_json::from_str(&text).map_err(|e| RestoreError::Corrupt(wire::sanitize(&e.to_string())))?;
    if saved.vigil_state != VERSION {
        return Err(RestoreError::Foreign(format!("of format {}, not {VERSION}", saved.vigil_state)));
    }
    if saved.source != source {
        return Err(RestoreError::Foreign("of another source".into()));
    }
    if max_age_ms.is_some_and(|age| now_ms - saved.saved_ms > age) {
        return Err(RestoreError::Foreign("too old to show".into()));
    }
    Ok(Restored(saved))
}

/// Puts a read state back into `core`; returns how many series came back.
/// They arrive as history: their `last_live_ms` stays `None`, so a screen
/// marks them stale until live points come.
pub fn put_back(core: &mut Core, restored: Restored, now_ms: i64) -> usize {
    let saved = restored.0;
    // What came from a file is treated like what comes from a server:
    // names are checked and text is sanitised before anything shows it.
    let metrics: Vec<_> = saved.metrics.iter().filter(|m| valid_name(&m.name)).map(convert::metric_meta).collect();
    core.store.learn(&metrics);
    core.interval_ms = saved.interval_ms.max(1);
    for a in saved.alerts {
        // Only a gateway's alerts come back. Files from before origins
        // were saved kept the rules' alerts too, with nothing but the id
        // to tell them apart, so their alerts are left out: the gateway's
        // come again with its next frames.
        if a.origin != Some(OriginKind::Gateway) {
            continue;
        }
        let mut alert = convert::alert(&clean_alert(a.alert), a.updated_ms);
        alert.updated_ms = a.updated_ms.min(now_ms);
        core.alerts.apply(alert);
    }
    let events = saved.events.len().min(crate::core::MAX_EVENTS);
    for e in saved.events.iter().take(crate::core::MAX_EVENTS) {
        let mut event = convert::event(e);
        event.kind = wire::sanitize(&event.kind);
        event.text = wire::sanitize(&event.text);
        event.labels = wire::sanitize_labels(&event.labels);
        core.add_event(event, now_ms);
    }
    let mut restored = Vec::new();
    for s in saved.series {
        if !valid_name(&s.metric) || s.labels.len() > wire::MAX_LABELS {
            continue;
        }
        let key = SeriesKey { metric: s.metric, labels: wire::sanitize_labels(&s.labels) };
        let tiers = s.tiers.into_iter().map(tier_slots).collect();
        if core.store.restore(key.clone(), convert::kind(s.kind), tiers) {
            restored.push(key);
        }
    }
    core.restored_at = Some(now_ms);
    let count = restored.len();
    core.restored_from(saved.producer.map(|p| wire::sanitize(&p)), restored, events);
    count
}

/// A copy of what `core` holds, to be written elsewhere (on a blocking
/// thread): taking it is the only part that needs the core.
pub fn snapshot(core: &Core, source: &str, now_ms: i64) -> Snapshot {
    let alerts = core
        .alerts
        .sorted()
        .into_iter()
        // Only a gateway's alerts are kept: the rules and SLOs work theirs
        // out again from the history, and an Alertmanager is asked again
        // within one interval.
        .filter(|a| a.origin.kind() == OriginKind::Gateway)
        .map(|a| SavedAlert { updated_ms: a.updated_ms, origin: Some(OriginKind::Gateway), alert: alert_frame(a) })
        .collect();
    let events = core
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
    let metrics = core
        .store
        .known_metrics()
        .into_iter()
        .map(|m| MetricInfo { name: m.name, kind: metric_kind(m.kind), unit: m.unit, help: m.help })
        .collect();
    let mut series: Vec<(i64, SavedSeries)> = core
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
            producer: core.producer().map(str::to_string),
            saved_ms: now_ms,
            interval_ms: core.interval_ms,
            metrics,
            alerts,
            events,
            gateway: None,
            series: Vec::new(),
        },
        series: series.into_iter().map(|(_, s)| s).collect(),
    }
}

/// A copy of a core's state, taken where the core lives and written
/// elsewhere.
pub struct Snapshot {
    head: Saved<Box<RawValue>>,
    series: Vec<SavedSeries>,
}

/// What writing a snapshot did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub bytes: usize,
    /// Series written, and series the snapshot held: fewer were written
    /// when the size limit was reached.
    pub series: usize,
    pub of: usize,
}

impl Snapshot {
    /// Adds what a gateway keeps beside its store.
    pub fn with_gateway(mut self, part: GatewayPart) -> Snapshot {
        self.head.gateway = Some(part);
        self
    }

    /// Writes the file whole or not at all, within `max_bytes`.
    pub fn write(mut self, path: &Path, max_bytes: usize) -> std::io::Result<Written> {
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
        let (series, of) = (self.head.series.len(), self.series.len());
        if series < of {
            tracing::info!(kept = series, of, "state over its size limit");
        }
        let bytes = serde_json::to_vec(&self.head).map_err(to_io)?;
        if bytes.len() > max_bytes {
            return Err(std::io::Error::other("state is over its size limit even without series"));
        }
        crate::atomic_file::write(path, &bytes)?;
        Ok(Written { bytes: bytes.len(), series, of })
    }
}

/// A stable name for a list of sources (FNV-1a: std's hasher may change
/// between releases, and the name must not).
pub fn source_name(parts: &[String]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in parts.join("\n").bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}
