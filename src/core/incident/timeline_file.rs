//! Where the timeline waits between runs: one JSON file in the platform
//! state dir per set of gateways, written whole through a rename
//! ([`crate::atomic_file`]). It also says until when the run that wrote it
//! was recording, so the next run's replay over history adds only what
//! nobody saw. A file that cannot be read is reported and ignored.

use super::timeline::{Entry, Timeline, What};
use crate::wire::{sanitize, sanitize_labels};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The version of the file's layout.
const VERSION: u32 = 1;
/// Largest file read: ten thousand entries fit several times over.
const MAX_BYTES: u64 = 32 << 20;

#[derive(Serialize, Deserialize)]
struct Saved {
    vigil_timeline: u32,
    /// Until when the run that wrote the file was recording.
    recorded_until_ms: i64,
    entries: Vec<Entry>,
}

/// Why a saved timeline was not used.
#[derive(Debug, thiserror::Error)]
pub enum TimelineFileError {
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0} is corrupt: {1}")]
    Corrupt(PathBuf, String),
}

/// Reads the file; a missing file is an empty timeline.
pub fn load(path: &Path, now_ms: i64) -> Result<Timeline, TimelineFileError> {
    let io = |e| TimelineFileError::Io(path.to_path_buf(), e);
    let corrupt = |why: String| TimelineFileError::Corrupt(path.to_path_buf(), sanitize(&why));
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Timeline::default()),
        Err(e) => return Err(io(e)),
        Ok(m) if m.len() > MAX_BYTES => return Err(corrupt(format!("{} bytes, over the limit", m.len()))),
        Ok(_) => {}
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    let saved: Saved = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
    if saved.vigil_timeline != VERSION {
        return Err(corrupt(format!("of layout {}, not {VERSION}", saved.vigil_timeline)));
    }
    // The file may have been edited by hand; its text reaches the screen
    // and reports, so it is cleaned as network text is.
    let entries = saved.entries.into_iter().map(clean).collect();
    Ok(Timeline::restored(entries, saved.recorded_until_ms.min(now_ms), now_ms))
}

/// The timeline as the file's bytes, recorded until `now_ms`: made on the
/// pipeline's task, written elsewhere with [`write`].
pub fn encode(timeline: &Timeline, now_ms: i64) -> std::io::Result<Vec<u8>> {
    let saved =
        Saved { vigil_timeline: VERSION, recorded_until_ms: now_ms, entries: timeline.entries().cloned().collect() };
    serde_json::to_vec(&saved).map_err(std::io::Error::other)
}

/// Writes bytes from [`encode`] through a temporary file renamed into place.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::atomic_file::write(path, bytes)
}

fn clean(mut e: Entry) -> Entry {
    match &mut e.what {
        What::Alert(a) => {
            for text in [&mut a.id, &mut a.name, &mut a.summary] {
                *text = sanitize(text);
            }
            a.labels = sanitize_labels(&a.labels);
        }
        What::Event { kind, text, labels } => {
            *kind = sanitize(kind);
            *text = sanitize(text);
            *labels = sanitize_labels(labels);
        }
        What::Link { url, detail, .. } => {
            *url = sanitize(url);
            *detail = sanitize(detail);
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::incident::timeline::{AlertChange, AlertSource, LinkState, Step};
    use crate::core::model::{Labels, Severity};

    const T: i64 = 1_751_279_400_000;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("vigil-timeline-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn entries() -> Vec<Entry> {
        let change = AlertChange {
            id: "rule:error rate:service=checkout".into(),
            name: "error rate".into(),
            source: AlertSource::Rule,
            step: Step::Firing,
            severity: Severity::Critical,
            labels: [("service".to_string(), "checkout".to_string())].into(),
            value: Some(0.052),
            threshold: Some(0.01),
            summary: "checkout answers 5.20% of requests with a server error".into(),
            replayed: true,
        };
        vec![
            Entry {
                at_ms: T,
                what: What::Event { kind: "deploy".into(), text: "checkout v1.4.3".into(), labels: Labels::new() },
            },
            Entry { at_ms: T + 60_000, what: What::Alert(change) },
            Entry {
                at_ms: T + 90_000,
                what: What::Link { state: LinkState::Reconnecting, url: "ws://gw/s".into(), detail: "reset".into() },
            },
        ]
    }

    #[test]
    fn a_timeline_survives_a_round_trip_and_leaves_no_temporary_file() {
        let d = dir("round-trip");
        let path = d.join("nested").join("timeline-demo.json");
        assert!(load(&path, T).unwrap().is_empty(), "no file yet is an empty timeline");
        let mut t = Timeline::default();
        for e in entries() {
            t.record(e, T + 100_000);
        }
        write(&path, &encode(&t, T + 100_000).unwrap()).unwrap();
        let back = load(&path, T + 200_000).unwrap();
        assert_eq!(back.entries().cloned().collect::<Vec<_>>(), entries());
        // The run that wrote it was recording until it saved.
        let mut again = back.clone();
        let mut resolved = entries()[1].clone();
        if let What::Alert(a) = &mut resolved.what {
            a.step = Step::Resolved;
        }
        assert!(!again.record_replayed(Entry { at_ms: T + 100_000, ..resolved.clone() }, T + 200_000));
        assert!(again.record_replayed(Entry { at_ms: T + 100_001, ..resolved }, T + 200_000));
        let names: Vec<_> =
            std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, [std::ffi::OsString::from("timeline-demo.json")]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_bad_file_is_an_error_and_text_from_it_is_cleaned() {
        let d = dir("bad");
        std::fs::create_dir_all(&d).unwrap();
        let path = d.join("timeline.json");
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(load(&path, T), Err(TimelineFileError::Corrupt(..))));
        std::fs::write(&path, r#"{"vigil_timeline": 7, "recorded_until_ms": 0, "entries": []}"#).unwrap();
        assert!(load(&path, T).unwrap_err().to_string().contains("layout 7"));
        let text = format!(
            r#"{{"vigil_timeline": 1, "recorded_until_ms": {T}, "entries": [
                {{"at_ms": {T}, "type": "event", "kind": "deploy", "text": "v2\u001b[2J", "labels": {{}}}}]}}"#
        );
        std::fs::write(&path, text).unwrap();
        let t = load(&path, T).unwrap();
        let What::Event { text, .. } = &t.entries().next().unwrap().what else { panic!("an event") };
        assert!(!text.contains('\u{1b}'), "{text:?}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
