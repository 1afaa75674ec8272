//! The task that runs a gateway fed by real inputs: it takes every input's
//! updates into the gateway's core, sends their points on to the screens
//! as soon as they arrive (a scrape or a push is one frame, at its own
//! time), and once an interval evaluates the rules and SLOs and sends what
//! changed. The simulator's gateway has its ticker instead.

use super::frame_text::PointsText;
use super::state::Shared;
use crate::core::model::Update;
use crate::wire::{MetricsFrame, ServerFrame, WireTime, now_ms};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Runs until shutdown.
pub(crate) async fn run(shared: Arc<Shared>, mut updates: mpsc::Receiver<Update>) {
    let held = shared.held();
    let mut tick = tokio::time::interval(shared.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // With no input left (or none given) pushes still come, and the rules
    // still run over what they bring.
    let mut open = true;
    loop {
        tokio::select! {
            _ = shared.shutdown.cancelled() => break,
            update = updates.recv(), if open => match update {
                Some(update) => take(&shared, update),
                None => open = false,
            },
            _ = tick.tick() => {
                let mut alerts = held.evaluate(now_ms());
                if !alerts.is_empty() {
                    // No change to the book goes out between marking and sending.
                    let mut book = shared.lock_book();
                    if book.mark(&mut alerts, now_ms()) {
                        book.save_or_log();
                    }
                    let others = alerts.into_iter().map(ServerFrame::Alert).collect();
                    publish(&shared, now_ms(), Vec::new(), others);
                }
            }
        }
    }
    tracing::debug!("hub stopped");
}

/// Takes one update into the core and sends its points on at once.
pub(crate) fn take(shared: &Shared, update: Update) {
    let taken = shared.held().take(update, now_ms());
    for (t, points) in taken.frames {
        publish(shared, t, points, Vec::new());
    }
}

/// Takes points a producer pushed for `at` into the core and sends them on
/// at once, as one frame (or several, when large).
pub(crate) fn take_pushed(shared: &Shared, points: Vec<crate::wire::Point>, at: i64) {
    let points = shared.held().take_pushed(points, at, now_ms());
    publish(shared, at, points, Vec::new());
}

/// Hands every session and the SSE hub the points (when there are any)
/// and the other frames after them. The points are written as JSON once for
/// every reader.
fn publish(shared: &Shared, t: i64, points: Vec<crate::wire::Point>, others: Vec<ServerFrame>) {
    let now = Instant::now();
    let text = PointsText::new(t, &points);
    {
        let mut sessions = shared.lock_sessions();
        sessions.fan_out_sparse(&text, &others, &shared.metrics, now);
        if !points.is_empty() {
            shared.last_tick_ms.store(t, Ordering::Relaxed);
        }
        sessions.expire(now);
        shared.metrics.sessions.store(sessions.len() as u64, Ordering::Relaxed);
    }
    let time = text.time().to_string();
    let runs = text.into_runs();
    // The SSE stream keeps each frame beside its text (its clients may ask
    // for some metrics only): the points move into the frames they went in,
    // whose runs follow one another from the first point to the last.
    let mut rest = points.into_iter();
    let written: Vec<_> = runs
        .into_iter()
        .map(|(range, body)| {
            let part = rest.by_ref().take(range.len()).collect();
            (ServerFrame::Metrics(MetricsFrame { seq: None, timestamp: WireTime(t), points: part }), body)
        })
        .collect();
    if !written.is_empty() {
        shared.sse.publish_written(&time, written, now);
    }
    if !others.is_empty() {
        shared.sse.publish(others, now);
    }
}

/// How long a point stays current for a newcomer: a few intervals, so a
/// scrape that is a little late still counts.
pub(crate) fn current_for(interval: Duration) -> i64 {
    (interval.as_millis() as i64 * 3).max(5_000)
}
