//! `GET /api/v1/metrics/events`: the Server-Sent Events fallback. One
//! gateway-wide stream with its own seq and replay buffer; `Last-Event-ID`
//! resumes it and `?metric=` narrows the points of its metrics frames.

use super::own_metrics::OwnMetrics;
use super::replay::{Replay, ReplayBuffer, ReplayLimits};
use super::rest::{ApiError, Pairs, clip, pairs};
use super::state::{LiveConnections, LiveGuard, Shared};
use crate::wire::{ResetFrame, ServerFrame};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// How often an idle stream gets a comment, so proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// One numbered frame of the gateway-wide stream, serialised once.
pub(crate) struct SseEntry {
    seq: u64,
    frame: ServerFrame,
    json: String,
}

struct HubState {
    seq: u64,
    buffer: ReplayBuffer<Arc<SseEntry>>,
}

/// The gateway-wide stream: numbering, replay buffer and live fan-out.
pub(crate) struct SseHub {
    state: Mutex<HubState>,
    tx: broadcast::Sender<Arc<SseEntry>>,
}

impl SseHub {
    /// `lag` is how many frames a client may fall behind before it is dropped.
    pub fn new(limits: ReplayLimits, lag: usize) -> Self {
        let (tx, _) = broadcast::channel(lag.max(1));
        SseHub { state: Mutex::new(HubState { seq: 0, buffer: ReplayBuffer::new(limits) }), tx }
    }

    /// [`SseHub::publish`] for metrics frames whose points are already
    /// written (see `frame_text`): each frame, and its points as JSON.
    pub fn publish_written(&self, time: &str, frames: Vec<(ServerFrame, String)>, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for (mut frame, body) in frames {
            let seq = state.seq + 1;
            frame.set_seq(seq);
            let json = super::frame_text::frame(seq, time, &body);
            state.seq = seq;
            let bytes = json.len();
            let entry = Arc::new(SseEntry { seq, frame, json });
            state.buffer.push(seq, Arc::clone(&entry), bytes, now);
            let _ = self.tx.send(entry);
        }
    }

    /// Numbers, buffers and broadcasts frames, in order.
    pub fn publish(&self, frames: Vec<ServerFrame>, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for mut frame in frames {
            let seq = state.seq + 1;
            frame.set_seq(seq);
            let Ok(json) = serde_json::to_string(&frame) else { continue };
            state.seq = seq;
            let bytes = json.len();
            let entry = Arc::new(SseEntry { seq, frame, json });
            state.buffer.push(seq, Arc::clone(&entry), bytes, now);
            // No receivers is normal: the buffer still serves Last-Event-ID.
            let _ = self.tx.send(entry);
        }
    }

    /// Everything after `last_id` plus a live receiver, taken together so
    /// nothing falls between them; a `reset` instead of the replay when the
    /// id cannot be honoured.
    fn join(&self, last_id: Option<&str>) -> (Joined, broadcast::Receiver<Arc<SseEntry>>) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let rx = self.tx.subscribe();
        // The reset carries the stream's current seq: the next frame is seq + 1.
        let reset = |reason: &str| Joined::Reset(ResetFrame { seq: Some(state.seq), reason: reason.into() });
        let joined = match last_id.map(|id| id.trim().parse::<u64>()) {
            None => Joined::Fresh,
            Some(Err(_)) => reset("unreadable Last-Event-ID"),
            Some(Ok(id)) => match state.buffer.after(id, state.seq) {
                Replay::Frames(entries) => Joined::Replay(entries),
                Replay::Ahead => reset("Last-Event-ID is ahead of this stream"),
                Replay::Exhausted => reset("replay buffer exhausted"),
            },
        };
        (joined, rx)
    }
}

/// How a client joins the stream.
enum Joined {
    /// No `Last-Event-ID`: from now on.
    Fresh,
    /// Frames it missed, then live.
    Replay(Vec<Arc<SseEntry>>),
    /// Its `Last-Event-ID` cannot be honoured.
    Reset(ResetFrame),
}

/// `GET /api/v1/metrics/events`.
pub(crate) async fn handler(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    query: Pairs,
) -> Result<Response, ApiError> {
    let filter = parse_filter(&shared, &pairs(query)?)?;
    let last_id = headers.get("last-event-id").map(|v| v.to_str().unwrap_or(""));
    let (joined, rx) = shared.sse.join(last_id);
    let mut pending = VecDeque::new();
    let fresh = match joined {
        Joined::Fresh => true,
        Joined::Replay(entries) => {
            pending.extend(entries.iter().map(|e| event_for(e.seq, &e.frame, &e.json, filter.as_ref())));
            false
        }
        Joined::Reset(reset) => {
            let id = reset.seq;
            pending.push_back(unnumbered_event(&ServerFrame::Reset(reset), id));
            true
        }
    };
    if fresh {
        // The current status and active alerts are news to a client starting
        // afresh; they go without an id so the stream's numbering stays contiguous.
        for frame in shared.greeting() {
            pending.push_back(unnumbered_event(&frame, None));
        }
    }
    let state = Client {
        pending,
        rx,
        filter,
        shutdown: shared.shutdown.clone(),
        _live: LiveConnections::enter(&shared, |m| &m.sse_clients),
        shared: Arc::clone(&shared),
    };
    Ok(Sse::new(events(state)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)).into_response())
}

/// `?metric=a,b` (repeatable; `*` means all): the metrics whose points are kept.
fn parse_filter(shared: &Shared, pairs: &[(String, String)]) -> Result<Option<HashSet<String>>, ApiError> {
    let mut names = HashSet::new();
    for (_, value) in pairs.iter().filter(|(k, _)| k == "metric" || k == "metrics") {
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name == "*" {
                return Ok(None);
            }
            let may_come = shared.open_catalogue && crate::wire::valid_name(name);
            if shared.kind_of(name).is_none() && !may_come {
                return Err(ApiError(StatusCode::NOT_FOUND, format!("unknown metric {:?}", clip(name))));
            }
            names.insert(name.to_string());
        }
    }
    Ok((!names.is_empty()).then_some(names))
}

struct Client {
    pending: VecDeque<Event>,
    rx: broadcast::Receiver<Arc<SseEntry>>,
    filter: Option<HashSet<String>>,
    shutdown: CancellationToken,
    shared: Arc<Shared>,
    _live: LiveGuard,
}

enum Step {
    Entry(Arc<SseEntry>),
    End,
}

fn events(client: Client) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold(client, |mut c| async move {
        if let Some(event) = c.pending.pop_front() {
            OwnMetrics::inc(&c.shared.metrics.frames_sent);
            return Some((Ok(event), c));
        }
        let step = tokio::select! {
            _ = c.shutdown.cancelled() => Step::End,
            got = c.rx.recv() => match got {
                Ok(entry) => Step::Entry(entry),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    // The client can reconnect with Last-Event-ID and lose nothing.
                    OwnMetrics::inc(&c.shared.metrics.slow_client_closes);
                    c.shared.metrics.frames_dropped.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                    tracing::info!(missed = n, "closing a slow SSE client");
                    Step::End
                }
                Err(broadcast::error::RecvError::Closed) => Step::End,
            },
        };
        match step {
            Step::End => None,
            Step::Entry(e) => {
                let event = event_for(e.seq, &e.frame, &e.json, c.filter.as_ref());
                OwnMetrics::inc(&c.shared.metrics.frames_sent);
                Some((Ok(event), c))
            }
        }
    })
}

/// The SSE message for a numbered frame, its metrics points filtered when asked.
fn event_for(seq: u64, frame: &ServerFrame, json: &str, filter: Option<&HashSet<String>>) -> Event {
    let event = Event::default().id(seq.to_string()).event(frame.type_name());
    match (frame, filter) {
        (ServerFrame::Metrics(m), Some(keep)) => {
            let mut narrowed = m.clone();
            narrowed.points.retain(|p| keep.contains(&p.metric));
            let text = serde_json::to_string(&ServerFrame::Metrics(narrowed)).unwrap_or_default();
            event.data(text)
        }
        _ => event.data(json),
    }
}

/// An SSE message for a frame outside the numbering (or a reset naming its seq).
fn unnumbered_event(frame: &ServerFrame, id: Option<u64>) -> Event {
    let mut event = Event::default().event(frame.type_name());
    if let Some(id) = id {
        event = event.id(id.to_string());
    }
    event.data(serde_json::to_string(frame).unwrap_or_default())
}
