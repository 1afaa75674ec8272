//! Sources: where data comes from. Each source runs as its own task and
//! sends [`Update`](crate::model::Update)s down a bounded channel; it never
//! waits on the screen.

pub mod backfill;
pub mod backoff;
pub mod convert;
pub mod ws;

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters a source keeps about itself; read by the pipeline for the status bar.
#[derive(Debug, Default)]
pub struct SourceStats {
    pub frames: AtomicU64,
    pub bytes: AtomicU64,
    pub malformed: AtomicU64,
    pub reconnects: AtomicU64,
    pub seq_gaps: AtomicU64,
    pub resets: AtomicU64,
    pub backfills: AtomicU64,
    pub backfill_errors: AtomicU64,
}

impl SourceStats {
    pub fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }
    pub fn read(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// An error with its causes, on one line.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = c.source();
    }
    crate::wire::sanitize(&out)
}
