//! Stream sessions: what a WebSocket client subscribed to, the seq it has
//! reached and the frames it may still ask for again. A session outlives its
//! connection, so a client that lost its socket can `resume` where it was.

use super::frame_text::PointsText;
use super::own_metrics::OwnMetrics;
use super::replay::{Replay, ReplayBuffer, ReplayLimits};
use crate::wire::{MetricsFrame, Point, ResetFrame, ServerFrame, WireTime};
use axum::extract::ws::Utf8Bytes;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Most sessions held; beyond it the longest-detached ones are dropped first.
const MAX_SESSIONS: usize = 4096;

/// What a connection's writer sends next.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Frame(Utf8Bytes),
    /// A replay: many frames in one queue slot, so a long replay cannot by
    /// itself look like a slow client.
    Batch(Vec<Utf8Bytes>),
}

/// Why and how a connection is being closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CloseCmd {
    /// Close code to send, or `None` when the peer has already gone or closed.
    pub code: Option<u16>,
    pub reason: &'static str,
}

impl CloseCmd {
    pub const SLOW: CloseCmd = CloseCmd { code: Some(1013), reason: "slow client" };
    pub const SHUTDOWN: CloseCmd = CloseCmd { code: Some(1001), reason: "server shutting down" };
    pub const TAKEN_OVER: CloseCmd = CloseCmd { code: Some(1000), reason: "session resumed on another connection" };
    pub const TOO_BIG: CloseCmd = CloseCmd { code: Some(1009), reason: "message over 1 MiB" };
    pub const PEER_GONE: CloseCmd = CloseCmd { code: None, reason: "" };
}

/// The session table's handle on one connection: its bounded queue and a
/// close signal that bypasses the queue (which may be the thing that is full).
#[derive(Clone)]
pub(crate) struct ConnHandle {
    pub id: u64,
    tx: mpsc::Sender<Outgoing>,
    close: Arc<watch::Sender<Option<CloseCmd>>>,
}

impl ConnHandle {
    pub fn new(id: u64, capacity: usize) -> (Self, mpsc::Receiver<Outgoing>, watch::Receiver<Option<CloseCmd>>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let (close, close_rx) = watch::channel(None);
        (ConnHandle { id, tx, close: Arc::new(close) }, rx, close_rx)
    }

    /// Queues without waiting; `false` when the queue is full or the writer gone.
    pub fn offer(&self, out: Outgoing) -> bool {
        self.tx.try_send(out).is_ok()
    }

    /// Asks the connection to close; the first request wins.
    pub fn close(&self, cmd: CloseCmd) {
        self.close.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(cmd);
            true
        });
    }

    /// A receiver of the close signal, for a second task of the connection.
    pub fn close_signal(&self) -> watch::Receiver<Option<CloseCmd>> {
        self.close.subscribe()
    }
}

/// Metric names a session receives.
#[derive(Debug, Default, Clone)]
pub(crate) struct Subscriptions {
    all: bool,
    names: BTreeSet<String>,
}

impl Subscriptions {
    pub fn is_empty(&self) -> bool {
        !self.all && self.names.is_empty()
    }

    pub fn wants(&self, metric: &str) -> bool {
        self.all || self.names.contains(metric)
    }

    /// Adds names (already checked against the catalogue); `*` means all.
    pub fn add<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        for name in names {
            if name == "*" {
                self.all = true;
            } else {
                self.names.insert(name.to_string());
            }
        }
    }

    /// Removes names; removing one metric from `*` leaves every other one.
    pub fn remove<'a>(&mut self, names: impl IntoIterator<Item = &'a str>, catalogue: &[String]) {
        for name in names {
            if name == "*" {
                self.all = false;
                self.names.clear();
                continue;
            }
            if self.all {
                self.all = false;
                self.names = catalogue.iter().cloned().collect();
            }
            self.names.remove(name);
        }
    }
}

/// One session.
pub(crate) struct Session {
    seq: u64,
    pub subs: Subscriptions,
    /// Whether the session has already been told the alerts active at its first subscribe.
    greeted: bool,
    buffer: ReplayBuffer<Utf8Bytes>,
    conn: Option<ConnHandle>,
    detached_at: Option<Instant>,
}

impl Session {
    /// The last seq this session used.
    #[cfg(test)]
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Numbers, serialises (once), buffers and offers one frame.
    pub fn push(&mut self, mut frame: ServerFrame, metrics: &OwnMetrics, now: Instant) {
        let seq = self.seq + 1;
        frame.set_seq(seq);
        let text = match serde_json::to_string(&frame) {
            Ok(text) => text,
            Err(e) => {
                tracing::error!(error = %e, "could not serialise a frame");
                return;
            }
        };
        self.send(seq, text, metrics, now);
    }

    /// [`Session::push`] for a frame `write` writes given its seq.
    pub fn push_written(&mut self, write: impl FnOnce(u64) -> String, metrics: &OwnMetrics, now: Instant) {
        let seq = self.seq + 1;
        self.send(seq, write(seq), metrics, now);
    }

    /// Buffers and offers the frame numbered `seq`.
    fn send(&mut self, seq: u64, text: String, metrics: &OwnMetrics, now: Instant) {
        let text = Utf8Bytes::from(text);
        self.seq = seq;
        self.buffer.push(seq, text.clone(), text.len(), now);
        let Some(conn) = &self.conn else { return };
        if conn.offer(Outgoing::Frame(text)) {
            return;
        }
        // Full queue (or a writer that already left): the frame stays in the
        // replay buffer, the connection goes, the session waits for a resume.
        OwnMetrics::inc(&metrics.frames_dropped);
        if !conn.tx.is_closed() {
            OwnMetrics::inc(&metrics.slow_client_closes);
            tracing::info!(conn = conn.id, "closing a slow client (1013); its session stays for resume");
        }
        conn.close(CloseCmd::SLOW);
        self.conn = None;
        self.detached_at = Some(now);
    }
}

/// Outcome of a `resume`.
pub(crate) enum Resumed {
    /// The connection now belongs to this session.
    Attached(String),
    /// The connection keeps its own session and was sent a `reset`.
    Reset,
}

/// Every session, by id.
pub(crate) struct SessionTable {
    sessions: HashMap<String, Session>,
    limits: ReplayLimits,
    ttl: Duration,
}

impl SessionTable {
    pub fn new(limits: ReplayLimits, ttl: Duration) -> Self {
        SessionTable { sessions: HashMap::new(), limits, ttl }
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Session> {
        self.sessions.get_mut(id)
    }

    /// Opens a session for a new connection and queues its `hello` first of all.
    pub fn open(&mut self, id: String, conn: ConnHandle, hello: Utf8Bytes) {
        if self.sessions.len() >= MAX_SESSIONS {
            self.evict_one();
        }
        let _ = conn.offer(Outgoing::Frame(hello));
        let session = Session {
            seq: 0,
            subs: Subscriptions::default(),
            greeted: false,
            buffer: ReplayBuffer::new(self.limits),
            conn: Some(conn),
            detached_at: None,
        };
        self.sessions.insert(id, session);
    }

    /// Subscribes; on a session's first subscription, also sends the
    /// greeting (current degraded status, alerts already active) and the
    /// newest tick's points it subscribed to, when given.
    pub fn subscribe(
        &mut self,
        id: &str,
        names: &[&str],
        greeting: &[ServerFrame],
        latest: Option<&MetricsFrame>,
        m: &OwnMetrics,
        now: Instant,
    ) {
        let Some(s) = self.sessions.get_mut(id) else { return };
        s.subs.add(names.iter().copied());
        if s.greeted || s.subs.is_empty() {
            return;
        }
        s.greeted = true;
        for frame in greeting {
            s.push(frame.clone(), m, now);
        }
        let Some(latest) = latest else { return };
        let mine: Vec<Point> = latest.points.iter().filter(|p| s.subs.wants(&p.metric)).cloned().collect();
        if !mine.is_empty() {
            s.push(ServerFrame::Metrics(MetricsFrame { seq: None, timestamp: latest.timestamp, points: mine }), m, now);
        }
    }

    /// Re-attaches `conn` to session `target` and replays what it missed, or
    /// sends a `reset` on the connection's own session `own`.
    pub fn resume(
        &mut self,
        own: &str,
        conn: &ConnHandle,
        target: &str,
        since: u64,
        m: &OwnMetrics,
        now: Instant,
    ) -> Resumed {
        let replay = match self.sessions.get(target) {
            None => Err("unknown session"),
            Some(s) => match s.buffer.after(since, s.seq) {
                Replay::Frames(frames) => Ok(frames),
                Replay::Ahead => Err("since_seq is ahead of the session"),
                Replay::Exhausted => Err("replay buffer exhausted"),
            },
        };
        let frames = match replay {
            Ok(frames) => frames,
            Err(reason) => {
                if let Some(s) = self.sessions.get_mut(own) {
                    s.push(ServerFrame::Reset(ResetFrame { seq: None, reason: reason.into() }), m, now);
                }
                return Resumed::Reset;
            }
        };
        if own != target {
            self.sessions.remove(own);
        }
        let Some(s) = self.sessions.get_mut(target) else { return Resumed::Reset };
        if let Some(old) = s.conn.take().filter(|old| old.id != conn.id) {
            old.close(CloseCmd::TAKEN_OVER);
        }
        if !frames.is_empty() && !conn.offer(Outgoing::Batch(frames)) {
            OwnMetrics::inc(&m.slow_client_closes);
            conn.close(CloseCmd::SLOW);
            s.detached_at = Some(now);
            return Resumed::Attached(target.to_string());
        }
        s.conn = Some(conn.clone());
        s.detached_at = None;
        Resumed::Attached(target.to_string())
    }

    /// Detaches a connection that has gone, if it is still the session's one.
    pub fn detach(&mut self, id: &str, conn_id: u64, now: Instant) {
        let Some(s) = self.sessions.get_mut(id) else { return };
        if s.conn.as_ref().is_some_and(|c| c.id == conn_id) {
            s.conn = None;
            s.detached_at = Some(now);
        }
    }

    /// Gives every subscribed session its frames for one tick.
    pub fn fan_out(&mut self, timestamp: i64, points: &[Point], others: &[ServerFrame], m: &OwnMetrics, now: Instant) {
        for s in self.sessions.values_mut().filter(|s| !s.subs.is_empty()) {
            let mine = points.iter().filter(|p| s.subs.wants(&p.metric)).cloned().collect();
            let frame = MetricsFrame { seq: None, timestamp: WireTime(timestamp), points: mine };
            s.push(ServerFrame::Metrics(frame), m, now);
            for other in others {
                s.push(other.clone(), m, now);
            }
        }
    }

    /// [`fan_out`](Self::fan_out) for a gateway fed by real inputs, whose
    /// frames come whenever an input has points rather than once a tick: a
    /// session that wants none of the points is sent no empty frame, and
    /// with no points at all only `others` go out.
    ///
    /// The points come written once for every session (a push may hold
    /// thousands), and a session's share of them may go as several frames
    /// of the same time, each under the protocol's size limit.
    pub fn fan_out_sparse(&mut self, points: &PointsText, others: &[ServerFrame], m: &OwnMetrics, now: Instant) {
        for s in self.sessions.values_mut().filter(|s| !s.subs.is_empty()) {
            for body in points.bodies(|metric| s.subs.wants(metric)) {
                s.push_written(|seq| points.frame(seq, &body), m, now);
            }
            for other in others {
                s.push(other.clone(), m, now);
            }
        }
    }

    /// Drops sessions detached for longer than the TTL, and trims idle buffers.
    pub fn expire(&mut self, now: Instant) {
        let ttl = self.ttl;
        self.sessions.retain(|_, s| s.detached_at.is_none_or(|at| now.saturating_duration_since(at) <= ttl));
        for s in self.sessions.values_mut() {
            s.buffer.trim(now);
        }
    }

    fn evict_one(&mut self) {
        let oldest =
            self.sessions.iter().filter_map(|(id, s)| s.detached_at.map(|at| (at, id.clone()))).min().map(|(_, id)| id);
        if let Some(id) = oldest {
            self.sessions.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsubscribing_one_metric_from_everything_keeps_the_rest() {
        let catalogue = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let mut subs = Subscriptions::default();
        subs.add(["*"]);
        assert!(subs.wants("b"));
        subs.remove(["b"], &catalogue);
        assert!(subs.wants("a") && !subs.wants("b") && subs.wants("c"));
        subs.remove(["*"], &catalogue);
        assert!(subs.is_empty());
    }

    #[test]
    fn full_queue_closes_with_1013_and_keeps_the_frames() {
        let limits = ReplayLimits { window: Duration::from_secs(60), max_frames: 100, max_bytes: 1 << 20 };
        let mut table = SessionTable::new(limits, Duration::from_secs(60));
        let (conn, _rx, close_rx) = ConnHandle::new(1, 1);
        table.open("s".into(), conn, "hello".into());
        let m = OwnMetrics::default();
        let now = Instant::now();
        table.subscribe("s", &["*"], &[], None, &m, now);
        table.fan_out(0, &[], &[], &m, now);
        assert_eq!(*close_rx.borrow(), Some(CloseCmd::SLOW));
        assert_eq!(table.get_mut("s").map(|s| s.seq()), Some(1));
        let (conn2, mut rx2, _c2) = ConnHandle::new(2, 4);
        table.open("t".into(), conn2.clone(), "hello".into());
        assert!(matches!(table.resume("t", &conn2, "s", 0, &m, now), Resumed::Attached(id) if id == "s"));
        assert!(matches!(rx2.try_recv(), Ok(Outgoing::Frame(_))));
        assert!(matches!(rx2.try_recv(), Ok(Outgoing::Batch(b)) if b.len() == 1));
        assert_eq!(table.len(), 1);
    }
}
