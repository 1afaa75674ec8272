//! Notices when the config or dashboard file is saved, by polling: a few
//! small files once a second cost nothing, and polling sees every way an
//! editor saves (in place, or a new file renamed over the old) on every
//! platform and filesystem, network mounts included.
//!
//! A file counts as changed when its content does. A touch, or a save with
//! nothing edited, reloads nothing. A deleted file is not reported: there is
//! nothing to reload from, and the running config is better than none; it
//! is reported when it comes back different from what was last loaded.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

/// What a file looked like when last read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    /// Kept for messages and for the curious; not used to decide a change,
    /// since a touch moves it and a restore from backup can move it back.
    pub modified: Option<SystemTime>,
    pub len: u64,
    /// FNV-1a of the content.
    pub hash: u64,
}

impl Fingerprint {
    /// `None` when the file is missing or cannot be read.
    pub fn of(path: &Path) -> Option<Fingerprint> {
        let modified = std::fs::metadata(path).ok()?.modified().ok();
        let content = std::fs::read(path).ok()?;
        Some(Fingerprint { modified, len: content.len() as u64, hash: fnv1a(&content) })
    }

    pub fn same_content(&self, other: &Fingerprint) -> bool {
        self.len == other.len && self.hash == other.hash
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Whether `now` should be reported against what was last loaded.
fn changed(known: Option<&Fingerprint>, now: Option<&Fingerprint>) -> bool {
    match (known, now) {
        (Some(k), Some(n)) => !k.same_content(n),
        (None, Some(_)) => true,
        (_, None) => false,
    }
}

async fn fingerprints(paths: &Arc<[PathBuf]>) -> Vec<Option<Fingerprint>> {
    let p = paths.clone();
    tokio::task::spawn_blocking(move || p.iter().map(|p| Fingerprint::of(p)).collect())
        .await
        // The blocking pool is shutting down; reading nothing reports nothing.
        .unwrap_or_else(|_| vec![None; paths.len()])
}

/// Polls `paths` every `every` (1 s is the intended value) and sends the
/// ones whose content changed, several at once when they changed together.
/// Ends when cancelled or when the receiver is dropped.
///
/// A change is confirmed by a second read a moment later, so a file caught
/// half-written by an editor that saves in place is reported once, whole,
/// rather than as a broken file and then a good one.
pub async fn watch(paths: Vec<PathBuf>, every: Duration, tx: mpsc::Sender<Vec<PathBuf>>, cancel: CancellationToken) {
    let paths: Arc<[PathBuf]> = paths.into();
    let settle = (every / 5).min(Duration::from_millis(200));
    let mut known = fingerprints(&paths).await;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let seen = fingerprints(&paths).await;
        let moved: Vec<usize> = (0..paths.len()).filter(|&i| changed(known[i].as_ref(), seen[i].as_ref())).collect();
        if moved.is_empty() {
            continue;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(settle) => {}
        }
        let again = fingerprints(&paths).await;
        let mut out = Vec::new();
        for i in moved {
            // Still moving: leave it for the next poll, which sees it again.
            if let (Some(a), Some(s)) = (again[i], seen[i])
                && a.same_content(&s)
            {
                known[i] = Some(a);
                out.push(paths[i].clone());
            }
        }
        if out.is_empty() {
            continue;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            sent = tx.send(out) => if sent.is_err() { return },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory per test, removed when the test ends.
    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let dir = std::env::temp_dir().join(format!("vigil-reload-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Dir(dir)
        }

        fn path(&self, file: &str) -> PathBuf {
            self.0.join(file)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const EVERY: Duration = Duration::from_millis(50);

    async fn next(rx: &mut mpsc::Receiver<Vec<PathBuf>>) -> Vec<PathBuf> {
        tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("no change reported").expect("closed")
    }

    /// Long enough for several polls, each with its settle time.
    async fn quiet(rx: &mut mpsc::Receiver<Vec<PathBuf>>) {
        let got = tokio::time::timeout(EVERY * 8, rx.recv()).await;
        assert!(got.is_err(), "unexpected report {got:?}");
    }

    #[test]
    fn fingerprints_follow_content_not_timestamps() {
        let dir = Dir::new("fp");
        let a = dir.path("a.toml");
        assert_eq!(Fingerprint::of(&a), None);
        std::fs::write(&a, "fps = 30\n").unwrap();
        let first = Fingerprint::of(&a).unwrap();
        assert_eq!(first.len, 9);
        std::fs::write(&a, "fps = 30\n").unwrap();
        assert!(Fingerprint::of(&a).unwrap().same_content(&first));
        // Same length, different bytes.
        std::fs::write(&a, "fps = 60\n").unwrap();
        assert!(!Fingerprint::of(&a).unwrap().same_content(&first));
        assert_eq!(Fingerprint::of(&dir.0), None);
    }

    #[tokio::test]
    async fn edits_are_reported_and_non_edits_are_not() {
        let dir = Dir::new("watch");
        let (a, b, c) = (dir.path("config.toml"), dir.path("dash.toml"), dir.path("later.toml"));
        std::fs::write(&a, "one").unwrap();
        std::fs::write(&b, "dash").unwrap();
        let (tx, mut rx) = mpsc::channel(4);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(watch(vec![a.clone(), b.clone(), c.clone()], EVERY, tx, cancel.clone()));
        tokio::time::sleep(EVERY * 2).await;
        quiet(&mut rx).await;

        std::fs::write(&a, "two").unwrap();
        assert_eq!(next(&mut rx).await, vec![a.clone()]);

        // A save with nothing changed.
        std::fs::write(&a, "two").unwrap();
        quiet(&mut rx).await;

        // An editor's save: a new file renamed over the old.
        let tmp = dir.path(".config.toml.swp");
        std::fs::write(&tmp, "three").unwrap();
        std::fs::rename(&tmp, &a).unwrap();
        assert_eq!(next(&mut rx).await, vec![a.clone()]);

        std::fs::remove_file(&a).unwrap();
        quiet(&mut rx).await;
        // Back as it was: nothing to reload.
        std::fs::write(&a, "three").unwrap();
        quiet(&mut rx).await;
        std::fs::remove_file(&a).unwrap();
        quiet(&mut rx).await;
        std::fs::write(&a, "four").unwrap();
        assert_eq!(next(&mut rx).await, vec![a.clone()]);

        // A file missing at the start counts once it appears.
        std::fs::write(&c, "new").unwrap();
        assert_eq!(next(&mut rx).await, vec![c.clone()]);

        std::fs::write(&a, "five").unwrap();
        std::fs::write(&b, "dash 2").unwrap();
        let mut both = next(&mut rx).await;
        if both.len() < 2 {
            both.extend(next(&mut rx).await);
        }
        both.sort();
        let mut want = vec![a.clone(), b.clone()];
        want.sort();
        assert_eq!(both, want);

        cancel.cancel();
        tokio::time::timeout(Duration::from_secs(5), task).await.expect("watch ignored the cancel").unwrap();
    }

    #[tokio::test]
    async fn the_watch_ends_when_nobody_listens() {
        let dir = Dir::new("drop");
        let a = dir.path("a");
        std::fs::write(&a, "x").unwrap();
        let (tx, rx) = mpsc::channel(1);
        let task = tokio::spawn(watch(vec![a.clone()], EVERY, tx, CancellationToken::new()));
        drop(rx);
        tokio::time::sleep(EVERY * 2).await;
        std::fs::write(&a, "y").unwrap();
        tokio::time::timeout(Duration::from_secs(5), task).await.expect("watch outlived its receiver").unwrap();
    }
}
