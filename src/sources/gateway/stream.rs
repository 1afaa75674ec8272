//! What the streaming transports (WebSocket and SSE) share: where the stream
//! left off, seq bookkeeping, gap backfill, and turning frames into updates.
//! State here outlives connections, so a reconnect resumes instead of
//! starting over.

use crate::core::model::{MetricMeta, SourceId, Update};
use crate::sources::gateway::backfill::{self, Span};
use crate::sources::gateway::events::EventRoutes;
use crate::sources::gateway::learn::{self, Pace};
use crate::sources::{SourceStats, convert};
use crate::wire::{self, Decoded, ServerFrame};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A WebSocket session to resume: its id and the last seq we hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub session: String,
    pub last_seq: u64,
}

/// What a frame asks of the transport.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Continue,
    /// The server reset the session: subscribe again (WebSocket only).
    Resubscribe,
    /// A `hello` arrived after the link began without one (a slow server
    /// taken for a plain stream): the WebSocket may adopt its session.
    Hello(Box<wire::Hello>),
}

/// State shared by every connection of a link, whichever gateway and
/// transport carries it.
pub struct Stream {
    tx: mpsc::Sender<Update>,
    http: reqwest::Client,
    token: Option<String>,
    /// History fetched when nothing is known yet.
    backfill_window: Duration,
    /// Timestamp of the newest metrics frame, to know where a gap starts.
    pub last_data_ts: Option<i64>,
    pub interval_ms: i64,
    /// What the gateway announced, or what we have seen when it announced
    /// nothing (SSE, a WebSocket server that never says hello).
    pub catalogue: Vec<MetricMeta>,
    /// The catalogue and interval came from a `hello`; otherwise the data teaches them.
    announced: bool,
    /// How often a stream that announced nothing sends, once learned.
    pace: Pace,
    /// Start of a backfill asked for before anything named the metrics: it
    /// runs when the first data frame has named them.
    owed_from: Option<i64>,
    /// A seq gap was seen on a frame without data: backfill at the next metrics frame.
    pending_gap: bool,
    /// Which gateways keep no event history, so none is asked twice.
    pub events: EventRoutes,
}

impl Stream {
    pub fn new(
        tx: mpsc::Sender<Update>,
        http: reqwest::Client,
        token: Option<String>,
        backfill_window: Duration,
    ) -> Self {
        Stream {
            tx,
            http,
            token,
            backfill_window,
            last_data_ts: None,
            interval_ms: 1000,
            catalogue: Vec::new(),
            announced: false,
            pace: Pace::default(),
            owed_from: None,
            pending_gap: false,
            events: EventRoutes::default(),
        }
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Where updates go, for work that hands on several at once.
    pub fn sender(&self) -> &mpsc::Sender<Update> {
        &self.tx
    }

    pub async fn emit(&self, u: Update) {
        // Only fails when the pipeline is gone, i.e. we are shutting down.
        let _ = self.tx.send(u).await;
    }

    /// Records the gateway's catalogue (from `hello`).
    pub async fn set_catalogue(&mut self, metrics: Vec<MetricMeta>, interval_ms: u64) {
        if interval_ms > 0 {
            self.interval_ms = interval_ms as i64;
        }
        self.catalogue = metrics;
        self.announced = true;
        self.emit(Update::Catalogue {
            metrics: self.catalogue.clone(),
            interval_ms: self.interval_ms,
            source: SourceId::GATEWAY,
        })
        .await;
    }

    pub async fn malformed(&self, stats: &SourceStats, why: String) {
        SourceStats::bump(&stats.malformed, 1);
        tracing::debug!(%why, "malformed frame");
        self.emit(Update::Malformed(why)).await;
    }

    /// Start of the history we still need: the newest data we hold, or the
    /// start-up window when we hold nothing.
    pub fn resume_from(&self) -> i64 {
        self.last_data_ts.unwrap_or_else(|| wire::now_ms() - self.backfill_window.as_millis() as i64)
    }

    /// Fetches (from, to] over REST in the background; the reader goes on.
    /// Before anything has named the metrics, the fetch is owed: it runs
    /// when the first data frame has named them.
    pub fn backfill(&mut self, base: &str, stats: &Arc<SourceStats>, from_ms: i64, to_ms: i64) {
        if to_ms <= from_ms {
            return;
        }
        if self.catalogue.is_empty() {
            self.owed_from = Some(self.owed_from.map_or(from_ms, |f| f.min(from_ms)));
            return;
        }
        let span = Span { from_ms, to_ms, step_ms: self.interval_ms.max(1) };
        let (http, base, token) = (self.http.clone(), base.to_string(), self.token.clone());
        let (metrics, tx, stats) = (self.catalogue.clone(), self.tx.clone(), stats.clone());
        let events = self.events.clone();
        SourceStats::bump(&stats.backfills, 1);
        tokio::spawn(async move {
            // The events first: one small request, and the deploy behind
            // what the charts will show is worth having before them.
            events.backfill(&http, &base, token.as_deref(), (from_ms, to_ms), &stats, &tx).await;
            let mut batches = std::pin::pin!(backfill::fetch(&http, &base, token.as_deref(), &metrics, span));
            let mut complete = true;
            // One log line per backfill, not one per metric: a server with
            // no history route fails every metric alike.
            let (mut failed, mut first_error) = (0usize, None);
            while let Some(batch) = batches.next().await {
                match batch {
                    Err(e) => {
                        SourceStats::bump(&stats.backfill_errors, 1);
                        complete = false;
                        failed += 1;
                        first_error.get_or_insert(e);
                    }
                    Ok(observations) if observations.is_empty() => {}
                    Ok(observations) => {
                        SourceStats::bump(&stats.points, observations.len() as u64);
                        if tx
                            .send(Update::Samples { observations, live: false, seq: None, source: SourceId::GATEWAY })
                            .await
                            .is_err()
                        {
                            // The pipeline has gone; nobody wants the rest.
                            return;
                        }
                    }
                }
            }
            if let Some(e) = first_error {
                tracing::warn!(failed, of = metrics.len(), first = %e, "backfill incomplete");
            }
            // After the last batch on the same channel, so whoever reads it
            // has folded in everything fetched (rules replay from here).
            let _ = tx.send(Update::Backfilled { from_ms, to_ms, complete }).await;
        });
    }

    /// Handles one text frame; returns what the transport must do next.
    /// `last_seq` is the seq of the stream this connection reads.
    pub async fn on_text(
        &mut self,
        text: &str,
        last_seq: &mut Option<u64>,
        base: &str,
        stats: &Arc<SourceStats>,
    ) -> Next {
        SourceStats::bump(&stats.frames, 1);
        SourceStats::bump(&stats.bytes, text.len() as u64);
        let now = wire::now_ms();
        match wire::decode_frame(text) {
            Err(e) => {
                self.malformed(stats, e.to_string()).await;
                Next::Continue
            }
            Ok(Decoded::Ignored { .. }) => Next::Continue,
            Ok(Decoded::Snapshot { timestamp, points }) => {
                self.succeeded(stats, now);
                let ts = timestamp.unwrap_or(now);
                self.learn(ts, &points, base, stats).await;
                self.last_data_ts = Some(self.last_data_ts.map_or(ts, |t| t.max(ts)));
                let observations = convert::into_observations(ts, points);
                SourceStats::bump(&stats.points, observations.len() as u64);
                self.emit(Update::Samples { observations, live: true, seq: None, source: SourceId::GATEWAY }).await;
                Next::Continue
            }
            Ok(Decoded::Frame { frame, skipped }) => {
                if skipped > 0 {
                    self.malformed(stats, format!("{skipped} unusable point(s) skipped")).await;
                }
                self.succeeded(stats, now);
                self.on_frame(frame, last_seq, base, stats).await
            }
        }
    }

    fn succeeded(&self, stats: &SourceStats, now: i64) {
        stats.update_link(|l| l.last_success_ms = Some(now));
    }

    async fn on_frame(
        &mut self,
        frame: ServerFrame,
        last_seq: &mut Option<u64>,
        base: &str,
        stats: &Arc<SourceStats>,
    ) -> Next {
        let now = wire::now_ms();
        if let ServerFrame::Reset(r) = &frame {
            // What the old session held is gone: fetch what we missed over REST.
            SourceStats::bump(&stats.resets, 1);
            self.pending_gap = false;
            tracing::info!(reason = %r.reason, "server reset the stream; backfilling");
            *last_seq = r.seq;
            self.backfill(base, stats, self.resume_from(), now);
            return Next::Resubscribe;
        }
        if let Some(seq) = frame.seq() {
            if let Some(last) = *last_seq {
                if seq <= last {
                    // Already held (a replay overlapping what we had).
                    return Next::Continue;
                }
                if seq > last + 1 {
                    SourceStats::bump(&stats.seq_gaps, 1);
                    self.pending_gap = true;
                }
            }
            *last_seq = Some(seq);
        }
        // A gap is filled from the newest data held up to the first metrics
        // frame after it, whichever kind of frame revealed it.
        if let (true, ServerFrame::Metrics(m), Some(from)) = (self.pending_gap, &frame, self.last_data_ts) {
            tracing::info!(from, to = m.timestamp.0, "seq gap; backfilling the missing span");
            self.backfill(base, stats, from, m.timestamp.0);
            self.pending_gap = false;
        }
        match frame {
            ServerFrame::Metrics(m) => {
                let ts = m.timestamp.0;
                self.learn(ts, &m.points, base, stats).await;
                self.last_data_ts = Some(self.last_data_ts.map_or(ts, |t| t.max(ts)));
                let seq = m.seq;
                // Names and labels move into the keys rather than being copied.
                let observations = convert::into_observations(ts, m.points);
                SourceStats::bump(&stats.points, observations.len() as u64);
                self.emit(Update::Samples { observations, live: true, seq, source: SourceId::GATEWAY }).await;
            }
            ServerFrame::Alert(a) => {
                self.emit(Update::Marked { id: a.id.clone(), marks: convert::marks(&a) }).await;
                self.emit(Update::Alert(convert::alert(&a, now))).await
            }
            ServerFrame::Event(e) => self.emit(Update::Event(convert::event(&e))).await,
            ServerFrame::Status(s) => self.emit(Update::Status(convert::status(&s, now))).await,
            ServerFrame::Error(e) => self.malformed(stats, format!("server says: {}", e.message)).await,
            ServerFrame::Hello(h) => return Next::Hello(Box::new(h)),
            ServerFrame::Reset(_) => {}
        }
        Next::Continue
    }

    /// Takes in what a data frame at `ts` names before its points reach
    /// the store. Metrics not seen before join the catalogue, so a later
    /// gap can be backfilled, and the core is told of them with the kind
    /// their values suggest: a `hello` lists only what the gateway knew
    /// when the connection opened (a gateway on real inputs may not have
    /// read them yet), and a counter taken for a gauge would be charted as
    /// its raw total. When no `hello` announced the catalogue, the core
    /// also learns the interval once the frames' spacing shows it. A
    /// backfill owed because nothing had named the metrics runs now, up to
    /// this frame.
    async fn learn(&mut self, ts: i64, points: &[wire::Point], base: &str, stats: &Arc<SourceStats>) {
        let added = learn::add_metrics(&mut self.catalogue, points);
        let paced = if self.announced { None } else { self.pace.note(ts) };
        if let Some(interval) = paced {
            self.interval_ms = interval;
        }
        if added || paced.is_some() {
            let metrics = self.catalogue.clone();
            self.emit(Update::Catalogue { metrics, interval_ms: self.interval_ms, source: SourceId::GATEWAY }).await;
        }
        if let Some(from) = self.owed_from.take() {
            self.backfill(base, stats, from, ts);
        }
    }
}
