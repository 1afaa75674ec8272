//! The one place where store and alerts meet. A single task owns both,
//! folds every update that arrived since the last pass into them, and
//! publishes an immutable [`Scene`] on a `watch` channel, so a burst of a
//! thousand updates becomes one redraw.

mod build;
mod persist;
pub mod sources;

pub use persist::{MAX_STATE_BYTES, RestoreError, StateFile};

use crate::alert::AlertBook;
use crate::model::{ConnState, Event, StatusBanner, Update};
use crate::scene::{LinkInfo, Scene, SourceInfo, SourceRow};
use crate::source::SourceStats;
use crate::store::Store;
use crate::wire::now_ms;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Events remembered for the screen.
const MAX_EVENTS: usize = 200;
/// Updates folded per pass at most, so a flood cannot starve publishing.
const BATCH: usize = 1024;

pub struct Pipeline {
    pub store: Store,
    alerts: AlertBook,
    events: VecDeque<Event>,
    banner: Option<StatusBanner>,
    conn: ConnState,
    interval_ms: i64,
    source: SourceInfo,
    /// One per gateway, preferred first.
    stats: Vec<Arc<SourceStats>>,
    last_malformed: Option<String>,
    last_live_ms: Option<i64>,
    frames_per_sec: f64,
    frames_seen: u64,
    /// Per-gateway rates for the sources page, measured in `tick`.
    source_table: sources::SourceTable,
    source_rows: Vec<SourceRow>,
    /// The state file, saved every minute (see `persist.rs`).
    cache: persist::Cache,
}

impl Pipeline {
    pub fn new(source: SourceInfo, stats: Vec<Arc<SourceStats>>) -> Self {
        Pipeline {
            store: Store::default(),
            alerts: AlertBook::default(),
            events: VecDeque::new(),
            banner: None,
            conn: ConnState::Connecting { attempt: 0 },
            interval_ms: 1000,
            source,
            stats,
            last_malformed: None,
            last_live_ms: None,
            frames_per_sec: 0.0,
            frames_seen: 0,
            source_table: sources::SourceTable::default(),
            source_rows: Vec::new(),
            cache: persist::Cache::default(),
        }
    }

    /// Folds one update in; `now_ms` is the wall clock.
    pub fn apply(&mut self, update: Update, now_ms: i64) {
        match update {
            Update::Catalogue { metrics, interval_ms } => {
                self.store.learn(&metrics);
                self.interval_ms = interval_ms.max(1);
            }
            Update::Samples { observations, live, .. } => {
                let live_at = live.then_some(now_ms);
                for obs in &observations {
                    self.store.insert(obs, live_at);
                }
                if live && !observations.is_empty() {
                    self.last_live_ms = Some(now_ms);
                    self.forget_restored_alerts();
                }
            }
            Update::Alert(a) => self.alerts.apply(a),
            Update::Event(e) => {
                self.events.push_front(e);
                self.events.truncate(MAX_EVENTS);
            }
            Update::Status(b) => self.banner = b,
            Update::Conn(c) => self.conn = c,
            Update::Malformed(why) => self.last_malformed = Some(why),
        }
    }

    /// Once a second: measure the frame rate and each gateway's rates, and
    /// age out old alerts.
    /// Returns whether anything shown changed.
    pub fn tick(&mut self, now_ms: i64, elapsed: Duration) -> bool {
        let frames = self.total(|s| &s.frames);
        let rate = (frames - self.frames_seen) as f64 / elapsed.as_secs_f64().max(0.001);
        self.frames_seen = frames;
        let before = self.frames_per_sec;
        // Smooth over a few seconds so the figure does not jitter.
        self.frames_per_sec = if before == 0.0 { rate } else { before * 0.6 + rate * 0.4 };
        self.alerts.prune(now_ms);
        let rows = self.source_table.rows(&self.stats, elapsed, now_ms, self.interval_ms);
        let rows_changed = rows != self.source_rows;
        self.source_rows = rows;
        (self.frames_per_sec * 10.0).round() != (before * 10.0).round() || rows_changed
    }

    /// A counter summed over every gateway.
    fn total(&self, counter: impl Fn(&SourceStats) -> &std::sync::atomic::AtomicU64) -> u64 {
        self.stats.iter().map(|s| SourceStats::read(counter(s))).sum()
    }

    /// Derives the picture for the view.
    pub fn scene(&self, now_ms: i64) -> Scene {
        let link = LinkInfo {
            conn: self.conn.clone(),
            interval_ms: self.interval_ms,
            last_live_ms: self.last_live_ms,
            frames_per_sec: self.frames_per_sec,
            malformed: self.total(|s| &s.malformed),
            last_malformed: self.last_malformed.clone(),
            reconnects: self.total(|s| &s.reconnects),
            seq_gaps: self.total(|s| &s.seq_gaps),
            backfills: self.total(|s| &s.backfills),
        };
        Scene {
            source: self.source.clone(),
            link,
            kpis: build::kpis(&self.store, now_ms, self.interval_ms),
            health: build::health(&self.store),
            services: build::services(&self.store, now_ms, self.interval_ms),
            alerts: self.alerts.sorted(),
            events: self.events.iter().take(50).cloned().collect(),
            banner: self.banner.clone(),
            sources: self.source_rows.clone(),
        }
    }
}

/// Runs the pipeline until cancelled or until every source is gone.
pub async fn run(
    mut pipeline: Pipeline,
    mut rx: mpsc::Receiver<Update>,
    scene_tx: watch::Sender<Arc<Scene>>,
    cancel: CancellationToken,
) -> Pipeline {
    let mut buf = Vec::with_capacity(BATCH);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_tick = tokio::time::Instant::now();
    loop {
        let changed = tokio::select! {
            n = rx.recv_many(&mut buf, BATCH) => {
                if n == 0 {
                    break;
                }
                let now = now_ms();
                for u in buf.drain(..) {
                    pipeline.apply(u, now);
                }
                true
            }
            _ = tick.tick() => {
                let elapsed = last_tick.elapsed();
                last_tick = tokio::time::Instant::now();
                pipeline.autosave(now_ms());
                pipeline.tick(now_ms(), elapsed)
            }
            _ = cancel.cancelled() => break,
        };
        if changed {
            scene_tx.send_replace(Arc::new(pipeline.scene(now_ms())));
        }
    }
    pipeline
}
