//! The push log: every accepted `POST /api/v1/metrics` body is appended
//! here and flushed to disk before its points are applied and the producer
//! gets its 2xx, so a crash right after the answer loses none of them.
//!
//! Pushes that arrive together share one flush (group commit): each
//! appends its record, then the first to reach the flush syncs everything
//! appended so far while the others wait and find themselves covered.
//!
//! The log is cut into generations, one file each (`gateway-KEY.GEN.wal`).
//! A snapshot of the held store turns the log to a new generation while no
//! push is between its append and its apply ([`PushLog::turn`]); once the
//! snapshot is on disk, the generations before the new one are deleted. At
//! start the generations the snapshot does not cover are replayed.

mod record;

pub(crate) use record::Entry;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The log of one gateway's pushes, in its state dir.
pub(crate) struct PushLog {
    dir: PathBuf,
    /// `gateway-KEY.`: what every generation's file name starts with.
    prefix: String,
    /// Shared by pushes from their append to their apply; taken alone to
    /// turn the log and snapshot the store, so no record can be in an old
    /// generation without its points being in the snapshot.
    gate: RwLock<()>,
    current: Mutex<Current>,
    /// Records appended ever, as `Current::appended` counts them, that are
    /// known to be on disk. Its lock is held across a flush, which is what
    /// lets one flush cover the pushes waiting behind it.
    synced: Mutex<u64>,
    pub stats: LogStats,
}

struct Current {
    file: Arc<File>,
    generation: u64,
    /// Records appended since the log was opened, in every generation.
    appended: u64,
    bytes: u64,
}

/// What the log did, for the gateway's own metrics and the bench.
#[derive(Debug, Default)]
pub(crate) struct LogStats {
    pub records: AtomicU64,
    pub flushes: AtomicU64,
}

/// A push's hold on the log: until it is dropped, its record cannot leave
/// for an old generation ahead of its points reaching the store.
pub(crate) struct Logged<'a> {
    _gate: RwLockReadGuard<'a, ()>,
}

/// The log turned to a new generation, with pushes held off until dropped.
pub(crate) struct Turned<'a> {
    pub generation: u64,
    _gate: RwLockWriteGuard<'a, ()>,
}

/// What replaying the log at start found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Replayed {
    pub records: u64,
    pub damaged: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl PushLog {
    /// Opens the log of `key` in `dir`: hands every record of generation
    /// `from` on to `replay`, oldest first, deletes older generations (a
    /// snapshot holds them) and starts a new one. Damage is skipped with a
    /// warning, one line per stretch.
    pub fn open(
        dir: &Path,
        key: &str,
        from: u64,
        mut replay: impl FnMut(Entry) -> bool,
    ) -> std::io::Result<(PushLog, Replayed)> {
        std::fs::create_dir_all(dir)?;
        let prefix = format!("gateway-{key}.");
        let mut replayed = Replayed::default();
        let mut last = from.saturating_sub(1);
        for (generation, path) in generations(dir, &prefix)? {
            // Older ones are in the snapshot; an empty one (a start with no
            // push after it) holds nothing.
            if generation < from || std::fs::metadata(&path)?.len() == 0 {
                std::fs::remove_file(&path)?;
                continue;
            }
            last = last.max(generation);
            let mut reader = record::Reader::new(std::io::BufReader::new(File::open(&path)?))?;
            while let Some(item) = reader.next_item()? {
                match item {
                    Ok(entry) => match replay(entry) {
                        true => replayed.records += 1,
                        false => replayed.damaged += 1,
                    },
                    Err(d) => {
                        replayed.damaged += 1;
                        let what = if d.tail { "a torn tail" } else { "a damaged record" };
                        tracing::warn!(
                            file = %path.display(), offset = d.offset, bytes = d.bytes,
                            "push log: skipped {what}; the records around it were kept"
                        );
                    }
                }
            }
        }
        let generation = last + 1;
        let file = create(dir, &prefix, generation)?;
        let log = PushLog {
            dir: dir.to_path_buf(),
            prefix,
            gate: RwLock::new(()),
            current: Mutex::new(Current { file: Arc::new(file), generation, appended: 0, bytes: 0 }),
            synced: Mutex::new(0),
            stats: LogStats::default(),
        };
        Ok((log, replayed))
    }

    /// Appends one accepted body and returns once it is on disk.
    pub fn log(&self, at_ms: i64, body: &[u8]) -> std::io::Result<Logged<'_>> {
        let gate = self.gate.read().unwrap_or_else(|e| e.into_inner());
        let bytes = record::encode(at_ms, body);
        let seq = {
            let mut current = lock(&self.current);
            (&*current.file).write_all(&bytes)?;
            current.appended += 1;
            current.bytes += bytes.len() as u64;
            current.appended
        };
        self.stats.records.fetch_add(1, Ordering::Relaxed);
        self.flush_through(seq)?;
        Ok(Logged { _gate: gate })
    }

    /// Makes record `seq` durable, and with it every record appended by the
    /// time the flush starts.
    fn flush_through(&self, seq: u64) -> std::io::Result<()> {
        let mut synced = lock(&self.synced);
        if *synced >= seq {
            return Ok(());
        }
        let (file, upto) = {
            let current = lock(&self.current);
            (Arc::clone(&current.file), current.appended)
        };
        file.sync_data()?;
        self.stats.flushes.fetch_add(1, Ordering::Relaxed);
        *synced = upto;
        Ok(())
    }

    /// Starts a new generation once every push in flight has reached the
    /// store; new pushes wait until the returned hold is dropped, which the
    /// caller does once it has taken its snapshot of the store.
    pub fn turn(&self) -> std::io::Result<Turned<'_>> {
        let gate = self.gate.write().unwrap_or_else(|e| e.into_inner());
        let mut current = lock(&self.current);
        let generation = current.generation + 1;
        let file = create(&self.dir, &self.prefix, generation)?;
        current.file = Arc::new(file);
        current.generation = generation;
        current.bytes = 0;
        Ok(Turned { generation, _gate: gate })
    }

    /// Deletes the generations before `generation`: a snapshot on disk
    /// holds their points.
    pub fn forget_before(&self, generation: u64) -> std::io::Result<()> {
        for (g, path) in generations(&self.dir, &self.prefix)? {
            if g < generation {
                std::fs::remove_file(path)?;
            }
        }
        Ok(())
    }

    /// Bytes in the current generation.
    pub fn bytes(&self) -> u64 {
        lock(&self.current).bytes
    }
}

/// The log's generations in `dir`, oldest first.
fn generations(dir: &Path, prefix: &str) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(g) = name.to_str().and_then(|n| n.strip_prefix(prefix)?.strip_suffix(".wal")?.parse().ok()) else {
            continue;
        };
        out.push((g, entry.path()));
    }
    out.sort();
    Ok(out)
}

/// A new, empty generation, its name made durable in the directory too:
/// a flushed record in a file the directory forgot is lost all the same.
fn create(dir: &Path, prefix: &str, generation: u64) -> std::io::Result<File> {
    let path = dir.join(format!("{prefix}{generation}.wal"));
    let file = std::fs::OpenOptions::new().create(true).truncate(true).write(true).open(&path)?;
    crate::atomic_file::sync_dir(dir)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("vigil-wal-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn open(d: &Path, from: u64) -> (PushLog, Vec<Entry>, Replayed) {
        let mut seen = Vec::new();
        let (log, replayed) = PushLog::open(d, "k", from, |e| {
            seen.push(e);
            true
        })
        .unwrap();
        (log, seen, replayed)
    }

    #[test]
    fn what_was_logged_comes_back_after_a_crash() {
        let d = dir("crash");
        let (log, seen, _) = open(&d, 0);
        assert!(seen.is_empty());
        drop(log.log(1, b"a").unwrap());
        drop(log.log(2, b"b").unwrap());
        drop(log);
        let (_log, seen, replayed) = open(&d, 0);
        assert_eq!(seen.iter().map(|e| e.at_ms).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(replayed, Replayed { records: 2, damaged: 0 });
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_turn_leaves_older_generations_to_the_snapshot() {
        let d = dir("turn");
        let (log, _, _) = open(&d, 0);
        drop(log.log(1, b"before").unwrap());
        let turned = log.turn().unwrap().generation;
        drop(log.log(2, b"after").unwrap());
        log.forget_before(turned).unwrap();
        drop(log);
        // A snapshot saying it covers what came before the turn.
        let (_log, seen, _) = open(&d, turned);
        assert_eq!(seen.iter().map(|e| e.body.as_slice()).collect::<Vec<_>>(), [b"after"]);
        // Without one, every generation left is replayed.
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn starts_without_pushes_leave_one_empty_generation() {
        let d = dir("empty");
        for _ in 0..3 {
            drop(open(&d, 0));
        }
        assert_eq!(generations(&d, "gateway-k.").unwrap().len(), 1);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn concurrent_pushes_share_flushes() {
        let d = dir("group");
        let (log, _, _) = open(&d, 0);
        std::thread::scope(|s| {
            for t in 0..8 {
                let log = &log;
                s.spawn(move || {
                    for i in 0..50 {
                        drop(log.log(t * 100 + i, &[0u8; 512]).unwrap());
                    }
                });
            }
        });
        let (records, flushes) = (log.stats.records.load(Ordering::Relaxed), log.stats.flushes.load(Ordering::Relaxed));
        assert_eq!(records, 400);
        assert!(flushes <= records, "{flushes} flushes for {records} records");
        drop(log);
        let (_log, seen, _) = open(&d, 0);
        assert_eq!(seen.len(), 400);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
