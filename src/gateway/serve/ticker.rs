//! The one task that produces frames. Every interval it samples the
//! simulator once, runs the alert rules and subscriptions, and hands each
//! session and the SSE hub their frames. Connections only ever receive.

use super::alerts::Delivery;
use super::rules::{RuleEngine, default_rules};
use super::state::Shared;
use super::webhook::spawn_delivery;
use crate::gateway::sim;
use crate::wire::{MetricsFrame, ServerFrame, WireTime, now_ms};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How much simulated past the rules replay at start-up.
const WARM_UP_MS: i64 = 600_000;

/// A rule engine that has already seen the last ten minutes before `t0`.
pub(crate) fn warmed_engine(shared: &Shared, t0: i64) -> RuleEngine {
    let mut engine = RuleEngine::new(default_rules());
    // Whole seconds at least: a restarted gateway then lands on the same
    // start times (and so the same alert ids) as one that never stopped.
    let step = shared.interval_ms().max(1_000);
    engine.warm(&shared.sim, t0 - WARM_UP_MS, t0, step);
    engine
}

/// Runs until shutdown. `last_t` is the simulated time already covered.
pub(crate) async fn run(shared: Arc<Shared>, mut engine: RuleEngine, mut last_t: i64) {
    let interval = shared.interval_ms();
    loop {
        // Sleep to the next boundary of the simulated clock, so ticks land
        // on whole intervals however long the last one took.
        let now = now_ms().saturating_add(shared.clock_offset_ms);
        let wait = (now.div_euclid(interval) + 1) * interval - now;
        tokio::select! {
            _ = shared.shutdown.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_millis(wait.max(1) as u64)) => {}
        }
        let t = shared.sim_now();
        if t <= last_t {
            continue;
        }
        // The simulator and the fan-out are plain synchronous work; keep it
        // off the async workers that serve the sockets.
        let work = Arc::clone(&shared);
        match tokio::task::spawn_blocking(move || {
            tick(&work, &mut engine, last_t, t);
            engine
        })
        .await
        {
            Ok(back) => engine = back,
            Err(e) => {
                tracing::error!(error = %e, "a tick failed; alert rules start over");
                engine = RuleEngine::new(default_rules());
            }
        }
        last_t = t;
    }
    tracing::debug!("ticker stopped");
}

/// One tick at simulated time `t`; `last_t` is the previous tick's time.
fn tick(shared: &Arc<Shared>, engine: &mut RuleEngine, last_t: i64, t: i64) {
    let now = Instant::now();
    let points = shared.sim.sample(t);

    let mut alerts = engine.evaluate(&shared.sim, t);
    *shared.lock_active_alerts() = engine.current();
    let crossings = shared.lock_subscriptions().evaluate(t, &points, sim::lower_is_worse);
    // Held to the end of the tick: no change to the book goes out between
    // marking these alerts and sending them (see `book.rs`).
    let mut book = shared.lock_book();
    let wall = crate::wire::now_ms();
    for (mut frame, delivery) in crossings {
        match delivery {
            Delivery::Websocket => alerts.push(frame),
            Delivery::Webhook(_) if book.silenced(&frame, wall) => {
                tracing::debug!(id = %frame.id, "silenced: no webhook");
            }
            Delivery::Webhook(url) => match serde_json::to_string(&ServerFrame::Alert({
                book.mark(std::slice::from_mut(&mut frame), wall);
                frame
            })) {
                Ok(body) => spawn_delivery(shared, url, body),
                Err(e) => tracing::error!(error = %e, "could not serialise a webhook alert"),
            },
        }
    }

    let mut others: Vec<ServerFrame> = Vec::new();
    let events = shared.sim.events_between(last_t, t);
    if !events.is_empty() {
        shared.lock_events().extend(events.iter().cloned(), t);
    }
    others.extend(events.into_iter().map(ServerFrame::Event));
    for status in shared.sim.status_between(last_t, t) {
        shared.note_status(&status);
        others.push(ServerFrame::Status(status));
    }
    if book.mark(&mut alerts, wall) {
        book.save_or_log();
    }
    others.extend(alerts.into_iter().map(ServerFrame::Alert));

    {
        let mut sessions = shared.lock_sessions();
        sessions.fan_out(t, &points, &others, &shared.metrics, now);
        // Under the sessions' lock: a session subscribing from now on has
        // missed this tick, and is sent it as the newest.
        shared.last_tick_ms.store(t, Ordering::Relaxed);
        sessions.expire(now);
        shared.metrics.sessions.store(sessions.len() as u64, Ordering::Relaxed);
    }

    let metrics = ServerFrame::Metrics(MetricsFrame { seq: None, timestamp: WireTime(t), points });
    let mut frames = Vec::with_capacity(others.len() + 1);
    frames.push(metrics);
    frames.extend(others);
    shared.sse.publish(frames, now);
    drop(book);
}
