//! Events (deploys and the like) that happened before the link was up, or
//! while it was down: the stream sends them once, live, so a dashboard that
//! connects after a deploy would never hear of it. vigil's own gateway
//! keeps them at [`wire::EVENT_HISTORY_PATH`]; that route is not in the
//! protocol, so a gateway without it answers 404, which is remembered and
//! never asked again, never counted as an error or as a malformed frame.

use crate::core::model::{Event, Update};
use crate::sources::{SourceStats, convert};
use crate::wire::{self, EventHistory};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Largest answer read: the gateway gives at most a thousand events.
const MAX_BYTES: usize = 4 << 20;

/// What a fetch of events found.
#[derive(Debug, PartialEq)]
pub enum Fetched {
    Events(Vec<Event>),
    /// The gateway has no such route (404, 405, 501, or something other
    /// than the answer vigil's gateway gives).
    NoRoute,
}

/// Which gateways (by REST base) have no events route. Shared by the
/// connections of a link, and by the tasks that fetch for them.
#[derive(Debug, Clone, Default)]
pub struct EventRoutes {
    absent: Arc<Mutex<BTreeSet<String>>>,
}

impl EventRoutes {
    /// Whether `base` is worth asking.
    pub fn worth_asking(&self, base: &str) -> bool {
        !self.absent.lock().unwrap_or_else(|e| e.into_inner()).contains(base)
    }

    fn forget(&self, base: &str) {
        let newly = self.absent.lock().unwrap_or_else(|e| e.into_inner()).insert(base.to_string());
        if newly {
            tracing::info!(base, "the gateway keeps no event history; events are only seen live");
        }
    }

    /// Fetches the events in `(from_ms, to_ms]` from `base` and hands them
    /// to `tx`, oldest first; returns how many. A gateway without the route
    /// is remembered and not asked again; other failures are logged once
    /// per call, counted as a backfill error, and asked again next time.
    pub async fn backfill(
        &self,
        http: &reqwest::Client,
        base: &str,
        token: Option<&str>,
        span: (i64, i64),
        stats: &SourceStats,
        tx: &mpsc::Sender<Update>,
    ) -> usize {
        if span.1 <= span.0 || !self.worth_asking(base) {
            return 0;
        }
        match fetch(http, base, token, span.0, span.1).await {
            Ok(Fetched::NoRoute) => {
                self.forget(base);
                0
            }
            Ok(Fetched::Events(events)) => {
                let n = events.len();
                for e in events {
                    if tx.send(Update::Event(e)).await.is_err() {
                        break;
                    }
                }
                n
            }
            Err(e) => {
                SourceStats::bump(&stats.backfill_errors, 1);
                tracing::warn!(error = %e, "event history not fetched");
                0
            }
        }
    }
}

/// `GET {base}/api/v1/events?since=…&until=…`: the events in `(from_ms, to_ms]`,
/// sanitised as frames from the stream are.
pub async fn fetch(
    http: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    from_ms: i64,
    to_ms: i64,
) -> Result<Fetched, String> {
    let url = format!("{base}{}", wire::EVENT_HISTORY_PATH);
    let query = [("since", wire::format_time(from_ms)), ("until", wire::format_time(to_ms))];
    let mut req = http.get(&url).query(&query).timeout(Duration::from_secs(15));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.map_err(|e| format!("events: {}", crate::sources::error_chain(&e)))?;
    let status = resp.status().as_u16();
    match status {
        200 => {}
        404 | 405 | 410 | 501 => return Ok(Fetched::NoRoute),
        _ => return Err(format!("events: HTTP {status}")),
    }
    let bytes = resp.bytes().await.map_err(|e| format!("events: {e}"))?;
    if bytes.len() > MAX_BYTES {
        return Err(format!("events: answer of {} bytes is too large", bytes.len()));
    }
    // A server of another design may answer any path with a page of its
    // own: that is no event history either.
    let Ok(body) = serde_json::from_slice::<EventHistory>(&bytes) else { return Ok(Fetched::NoRoute) };
    let mut events: Vec<Event> = body
        .events
        .iter()
        .filter(|e| e.timestamp.0 > from_ms && e.timestamp.0 <= to_ms)
        .map(|e| {
            let mut event = convert::event(e);
            event.kind = wire::sanitize(&event.kind);
            event.text = wire::sanitize(&event.text);
            event.labels = wire::sanitize_labels(&event.labels);
            event
        })
        .collect();
    events.sort_by_key(|e| e.ts);
    Ok(Fetched::Events(events))
}
