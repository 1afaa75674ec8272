//! Where the gateway's book of acks and silences waits across restarts:
//! `gateway-acks-silences.json` in its state dir, written whole through a
//! temporary file renamed into place, so a crash mid-write leaves the last
//! whole file. Times are RFC 3339, silences as the API shows them.

use super::book::{Ack, Silence, SilenceRecord};
use crate::core::alert::matcher::Matcher;
use crate::wire::{WireTime, sanitize};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The version of the file's layout.
const VERSION: u32 = 1;
/// Largest file read: many thousands of silences would still fit.
const MAX_BYTES: u64 = 8 << 20;

#[derive(Serialize, Deserialize)]
struct Saved {
    vigil_gateway_book: u32,
    #[serde(default)]
    acks: Vec<SavedAck>,
    #[serde(default)]
    silences: Vec<SilenceRecord>,
}

#[derive(Serialize, Deserialize)]
struct SavedAck {
    alert_id: String,
    by: String,
    at: WireTime,
    seen: WireTime,
}

/// The file in `dir`.
pub(crate) fn path_in(dir: &Path) -> PathBuf {
    dir.join("gateway-acks-silences.json")
}

/// Reads the file; a missing one is an empty book. A silence whose
/// matchers no longer compile is left out, with a warning.
pub(crate) fn load(path: &Path) -> Result<(BTreeMap<String, Ack>, Vec<Silence>), String> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        Ok(m) if m.len() > MAX_BYTES => return Err(format!("{} is {} bytes, over the limit", path.display(), m.len())),
        Ok(_) => {}
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let saved: Saved = serde_json::from_str(&text)
        .map_err(|e| format!("{} is corrupt: {}", path.display(), sanitize(&e.to_string())))?;
    if saved.vigil_gateway_book != VERSION {
        return Err(format!("{} is of layout {}, not {VERSION}", path.display(), saved.vigil_gateway_book));
    }
    let acks = saved
        .acks
        .into_iter()
        .map(|a| (a.alert_id, Ack { by: a.by, at_ms: a.at.0, seen_ms: a.seen.0, seen_here: false }))
        .collect();
    let mut silences = Vec::new();
    for s in saved.silences {
        let matchers: Result<Vec<Matcher>, _> =
            s.matchers.iter().map(|m| Matcher::new(&m.name, &m.value, m.regex, m.is_equal)).collect();
        match matchers {
            Ok(matchers) if !matchers.is_empty() => silences.push(Silence {
                id: s.id,
                matchers,
                starts_at_ms: s.starts_at.0,
                ends_at_ms: s.ends_at.0,
                created_by: s.created_by,
                comment: s.comment,
                updated_ms: s.updated_at.0,
            }),
            Ok(_) => tracing::warn!(id = %sanitize(&s.id), "a saved silence has no matchers; dropped"),
            Err(e) => tracing::warn!(id = %sanitize(&s.id), error = %e, "a saved silence does not compile; dropped"),
        }
    }
    Ok((acks, silences))
}

/// Writes the book whole.
pub(crate) fn save(path: &Path, acks: &BTreeMap<String, Ack>, silences: &[Silence]) -> std::io::Result<()> {
    let saved = Saved {
        vigil_gateway_book: VERSION,
        acks: acks
            .iter()
            .map(|(id, a)| SavedAck {
                alert_id: id.clone(),
                by: a.by.clone(),
                at: WireTime(a.at_ms),
                seen: WireTime(a.seen_ms),
            })
            .collect(),
        silences: silences.iter().map(|s| SilenceRecord { status: None, ..s.record(0) }).collect(),
    };
    let mut text = serde_json::to_vec_pretty(&saved).map_err(std::io::Error::other)?;
    text.push(b'\n');
    crate::atomic_file::write(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_book_survives_a_round_trip_and_a_bad_file_is_an_error() {
        let dir = std::env::temp_dir().join(format!("vigil-book-file-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = path_in(&dir);
        assert!(load(&path).unwrap().0.is_empty(), "no file is an empty book");
        let mut acks = BTreeMap::new();
        acks.insert("cpu:api:1".to_string(), Ack { by: "alice".into(), at_ms: 1_000, seen_ms: 2_000, seen_here: true });
        let silence = Silence {
            id: "0123abcd".into(),
            matchers: vec![Matcher::new("service", "check.*", true, false).unwrap()],
            starts_at_ms: 1_751_279_400_000,
            ends_at_ms: 1_751_283_000_500,
            created_by: "bob".into(),
            comment: "deploying".into(),
            updated_ms: 1_751_279_400_000,
        };
        save(&path, &acks, std::slice::from_ref(&silence)).unwrap();
        let (back_acks, back_silences) = load(&path).unwrap();
        assert_eq!(back_acks["cpu:api:1"].by, "alice");
        assert!(!back_acks["cpu:api:1"].seen_here, "seen here is this process's knowledge");
        assert_eq!(back_silences, [silence]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"ends_at\": \"2025-06-30T11:30:00.500Z\""), "{text}");
        assert!(!text.contains("status"), "a status is worked out, not kept");
        std::fs::write(&path, "{nope").unwrap();
        assert!(load(&path).unwrap_err().contains("corrupt"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
