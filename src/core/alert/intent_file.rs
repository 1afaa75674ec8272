//! Where acknowledgements and silences wait between runs: one small JSON
//! file in the platform state dir, readable and editable by hand, times in
//! RFC 3339. Written to a temporary file and renamed over the old one, so a
//! crash mid-write leaves the last whole file. A file that cannot be read
//! is reported and ignored; it never stops vigil.

use super::intent::{Ack, Intent};
use super::silence::Silence;
use crate::core::model::Labels;
use crate::wire::{format_time, parse_time, sanitize};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The version of the file's layout.
const VERSION: u32 = 1;
/// Largest file read: thousands of silences would still fit.
const MAX_BYTES: u64 = 1 << 20;

#[derive(Serialize, Deserialize)]
struct Saved {
    vigil_intent: u32,
    #[serde(default)]
    acks: Vec<SavedAck>,
    #[serde(default)]
    silences: Vec<SavedSilence>,
}

#[derive(Serialize, Deserialize)]
struct SavedAck {
    alert: String,
    by: String,
    at: String,
    seen: String,
}

#[derive(Serialize, Deserialize)]
struct SavedSilence {
    matchers: Labels,
    by: String,
    at: String,
    until: String,
}

/// Why a saved file was not used.
#[derive(Debug, thiserror::Error)]
pub enum IntentFileError {
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0} is corrupt: {1}")]
    Corrupt(PathBuf, String),
}

/// `acks-silences.json` in `dir`.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join("acks-silences.json")
}

/// Reads the file; a missing file is an empty intent. Entries with a time
/// that does not parse are left out rather than failing the whole file.
pub fn load(path: &Path) -> Result<Intent, IntentFileError> {
    let io = |e| IntentFileError::Io(path.to_path_buf(), e);
    let corrupt = |why: String| IntentFileError::Corrupt(path.to_path_buf(), sanitize(&why));
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Intent::default()),
        Err(e) => return Err(io(e)),
        Ok(m) if m.len() > MAX_BYTES => return Err(corrupt(format!("{} bytes, over the limit", m.len()))),
        Ok(_) => {}
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    let saved: Saved = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
    if saved.vigil_intent != VERSION {
        return Err(corrupt(format!("of layout {}, not {VERSION}", saved.vigil_intent)));
    }
    // The file may have been edited by hand: its text reaches the screen,
    // so it is cleaned as network text is.
    let clean = |labels: Labels| labels.iter().map(|(k, v)| (sanitize(k), sanitize(v))).collect::<Labels>();
    let mut intent = Intent::default();
    for a in saved.acks {
        let (Some(at_ms), Some(seen_ms)) = (parse_time(&a.at), parse_time(&a.seen)) else { continue };
        intent.acks.insert(a.alert, Ack { by: sanitize(&a.by), at_ms, seen_ms, seen_here: false });
    }
    for s in saved.silences {
        let (Some(at_ms), Some(until_ms)) = (parse_time(&s.at), parse_time(&s.until)) else { continue };
        let silence = Silence { matchers: clean(s.matchers), by: sanitize(&s.by), at_ms, until_ms };
        // A silence with no matchers would match nothing; keep the file tidy.
        if !silence.matchers.is_empty() {
            intent.silences.push(silence);
        }
    }
    Ok(intent)
}

/// Writes the file whole, through a temporary file renamed into place.
pub fn save(path: &Path, intent: &Intent) -> std::io::Result<()> {
    let saved = Saved {
        vigil_intent: VERSION,
        acks: intent
            .acks
            .iter()
            .map(|(id, a)| SavedAck {
                alert: id.clone(),
                by: a.by.clone(),
                at: format_time(a.at_ms),
                seen: format_time(a.seen_ms),
            })
            .collect(),
        silences: intent
            .silences
            .iter()
            .map(|s| SavedSilence {
                matchers: s.matchers.clone(),
                by: s.by.clone(),
                at: format_time(s.at_ms),
                until: format_time(s.until_ms),
            })
            .collect(),
    };
    let mut text = serde_json::to_vec_pretty(&saved).map_err(std::io::Error::other)?;
    text.push(b'\n');
    crate::atomic_file::write(path, &text)
}

/// The name acknowledgements and silences are signed with: `$USER`, else
/// `$LOGNAME`, else the name the password file gives our uid, else the uid.
pub fn local_user() -> String {
    let env = |k: &str| std::env::var(k).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    if let Some(name) = env("USER").or_else(|| env("LOGNAME")) {
        return sanitize(&name);
    }
    let Some(uid) = own_uid() else { return "unknown".into() };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    name_of_uid(&passwd, uid).map_or_else(|| format!("uid {uid}"), sanitize)
}

/// The uid this process runs as: the owner of its own `/proc` entry, which
/// needs no system call beyond a stat.
fn own_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// The user name of `uid` in password-file text (`name:x:uid:gid:...`).
fn name_of_uid(passwd: &str, uid: u32) -> Option<&str> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?.parse::<u32>().ok()?;
        (id == uid && !name.is_empty()).then_some(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::alert::AlertBook;
    use crate::core::alert::intent::Wish;
    use crate::core::model::{Alert, AlertState, Severity};

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("vigil-intent-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn firing(id: &str) -> Alert {
        Alert {
            id: id.into(),
            origin: crate::core::model::Origin::Gateway { source: crate::core::model::SourceId::GATEWAY },
            state: AlertState::Firing,
            severity: Severity::Critical,
            metric: "errors".into(),
            labels: [("service".to_string(), "payments".to_string())].into(),
            value: None,
            threshold: None,
            summary: String::new(),
            starts_at: Some(0),
            ends_at: None,
            updated_ms: 0,
            open_start: false,
        }
    }

    #[test]
    fn acks_and_silences_survive_a_round_trip() {
        let d = dir("round-trip");
        let path = path_in(&d.join("nested"));
        assert_eq!(load(&path).unwrap(), Intent::default(), "no file yet is an empty intent");
        let mut book = AlertBook::default();
        book.apply(firing("a:1"));
        book.apply(firing("rule:b"));
        let now = 1_751_279_400_000;
        let mut intent = Intent::default();
        intent.grant(&Wish::ToggleAck("a:1".into()), &book, "alice", now);
        intent.grant(&Wish::Silence { id: "rule:b".into(), for_ms: 3_600_000 }, &book, "bob", now + 500);
        save(&path, &intent).unwrap();
        let back = load(&path).unwrap();
        // Having seen the alert is this process's knowledge, not the file's.
        let mut want = intent.clone();
        want.acks.values_mut().for_each(|a| a.seen_here = false);
        assert_eq!(back, want);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"until\": \"2025-06-30T11:30:00.500Z\""), "{text}");
        // Nothing is left behind but the file itself.
        let names: Vec<_> =
            std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, [std::ffi::OsString::from("acks-silences.json")]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_bad_file_is_an_error_and_bad_entries_are_skipped() {
        let d = dir("bad");
        std::fs::create_dir_all(&d).unwrap();
        let path = path_in(&d);
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(load(&path), Err(IntentFileError::Corrupt(..))));
        std::fs::write(&path, r#"{"vigil_intent": 9}"#).unwrap();
        assert!(load(&path).unwrap_err().to_string().contains("layout 9"));
        let text = r#"{"vigil_intent": 1,
            "acks": [{"alert": "x", "by": "eve\u001b[2J", "at": "soon", "seen": "2025-06-30T10:00:00Z"},
                     {"alert": "y", "by": "eve\u001b[2J", "at": "2025-06-30T10:00:00Z", "seen": "2025-06-30T10:00:00Z"}],
            "silences": [{"matchers": {}, "by": "eve", "at": "2025-06-30T10:00:00Z", "until": "2025-06-30T11:00:00Z"}]}"#;
        std::fs::write(&path, text).unwrap();
        let intent = load(&path).unwrap();
        assert_eq!(intent.acks.keys().collect::<Vec<_>>(), ["y"]);
        assert!(!intent.acks["y"].by.contains('\u{1b}'), "text from the file is cleaned");
        assert!(intent.silences.is_empty());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn user_names_come_from_the_password_file() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\n# comment\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(name_of_uid(passwd, 1000), Some("alice"));
        assert_eq!(name_of_uid(passwd, 0), Some("root"));
        assert_eq!(name_of_uid(passwd, 7), None);
        assert!(!local_user().is_empty());
    }
}
