//! Where an incident report goes: a path the user typed, or a file named
//! after the incident's start in the configured directory (the current
//! one by default). A report is never written over an existing file: the
//! team may already be filling it in.

use crate::wire::format_time;
use std::io::Write;
use std::path::{Path, PathBuf};
use tokio::sync::oneshot;

/// The screen asks the pipeline for a report of what it shows.
#[derive(Debug)]
pub struct ExportRequest {
    /// The instant on screen, and the window shown up to it.
    pub at_ms: i64,
    pub window_ms: i64,
    /// Where to write, as typed after `:export`; `None` picks a name.
    pub path: Option<PathBuf>,
    /// The file written, or why not, in one line.
    pub reply: oneshot::Sender<Result<PathBuf, String>>,
}

/// `vigil-incident-YYYYMMDD-HHMM.md` for an incident that started at `from_ms`.
pub fn default_name(from_ms: i64) -> String {
    let t = format_time(from_ms);
    let stamp: String = t.chars().take(16).filter(|c| c.is_ascii_digit() || *c == 'T').collect();
    format!("vigil-incident-{}.md", stamp.replace('T', "-"))
}

/// Writes `markdown` to `path`, or to a new file named for `from_ms` in
/// `dir` (`-2`, `-3`, ... when the name is taken). Returns the file written.
pub fn save(markdown: &str, path: Option<&Path>, dir: Option<&Path>, from_ms: i64) -> Result<PathBuf, String> {
    if let Some(p) = path {
        return create(p, markdown).map(|()| p.to_path_buf());
    }
    let dir = dir.unwrap_or(Path::new(""));
    let name = default_name(from_ms);
    let stem = name.trim_end_matches(".md");
    for n in 1..100 {
        let file = if n == 1 { dir.join(&name) } else { dir.join(format!("{stem}-{n}.md")) };
        match create(&file, markdown) {
            Err(e) if file.exists() => tracing::debug!(error = %e, "report name taken"),
            done => return done.map(|()| file),
        }
    }
    Err(format!("cannot export: {} and 98 names after it are taken", dir.join(name).display()))
}

/// Creates `path` anew with `text`; an existing file is left alone.
fn create(path: &Path, text: &str) -> Result<(), String> {
    let shown = path.display();
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            format!("cannot export: {shown} exists; give another path")
        } else {
            format!("cannot export to {shown}: {e}")
        }
    })?;
    let written = f.write_all(text.as_bytes()).and_then(|()| f.sync_all());
    written.map_err(|e| {
        let _ = std::fs::remove_file(path);
        format!("cannot export to {shown}: {e}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_named_for_their_start_and_never_written_over() {
        const T: i64 = 1_751_279_460_500; // 2025-06-30T10:31:00.500Z
        assert_eq!(default_name(T), "vigil-incident-20250630-1031.md");
        let d = std::env::temp_dir().join(format!("vigil-export-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let first = save("one", None, Some(&d), T).unwrap();
        let second = save("two", None, Some(&d), T).unwrap();
        assert_eq!(first, d.join("vigil-incident-20250630-1031.md"));
        assert_eq!(second, d.join("vigil-incident-20250630-1031-2.md"));
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "one");
        let typed = d.join("pm.md");
        assert_eq!(save("three", Some(&typed), None, T).unwrap(), typed);
        let e = save("four", Some(&typed), None, T).unwrap_err();
        assert!(e.contains("exists") && !e.contains('\n'), "{e}");
        assert_eq!(std::fs::read_to_string(&typed).unwrap(), "three");
        let e = save("x", Some(&d.join("no/such/dir/pm.md")), None, T).unwrap_err();
        assert!(e.starts_with("cannot export to "), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
