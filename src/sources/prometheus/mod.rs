//! A Prometheus source: runs the PromQL queries the screen wants against a
//! Prometheus-compatible API and hands the results on as series, named by
//! [`promql_key`] so panels read them from the store like any metric.
//!
//! Each refresh runs every query once as an instant query, however many
//! panels ask for it; a query still running when the next refresh comes
//! is not sent again. History comes from range queries at about one point
//! per terminal column: when a query is first wanted, when the view looks
//! further back than anything held, and after a gap in the refreshes. The
//! screen never waits for any of it: results arrive as updates like a
//! gateway's frames, and failures arrive as errors for the panels that asked.

pub mod api;

use crate::core::model::{Observation, Sample, SeriesKey, SourceId, Update};
use crate::core::query::spec::promql_key;
use crate::sources::SourceStats;
use crate::wire::now_ms;
use api::{Answer, QueryError};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Most queries one source has running at once; the rest wait for the next refresh.
pub const MAX_RUNNING: usize = 8;
/// Run when nothing else is wanted, so the sources page still knows
/// whether the server answers.
const HEARTBEAT: &str = "vector(1)";

/// One PromQL query someone wants, by the source it names (`""` for the
/// first Prometheus source).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Want {
    pub source: String,
    pub text: String,
}

impl Want {
    /// The store's name for its results.
    pub fn key(&self) -> String {
        promql_key(&self.source, &self.text)
    }
}

/// Every query wanted now, and the span the screen shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Wants {
    pub queries: Vec<Want>,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Point spacing of range queries.
    pub step_ms: i64,
}

/// How one source runs.
pub struct Options {
    pub id: SourceId,
    pub name: String,
    /// Whether queries that name no source are this one's.
    pub first: bool,
    pub client: api::Client,
    pub interval: Duration,
    pub stats: Arc<SourceStats>,
}

impl Options {
    fn serves(&self, w: &Want) -> bool {
        w.source == self.name || (w.source.is_empty() && self.first)
    }
}

/// What is known of one query.
#[derive(Debug)]
struct Query {
    text: String,
    /// A request for it is out.
    running: bool,
    /// The oldest instant its history was asked from.
    held_from: Option<i64>,
    /// When it last answered (the instant its answer was for).
    last_ok_ms: Option<i64>,
    /// History still to ask for: (from, to).
    range_due: Option<(i64, i64)>,
    /// History whose request failed, asked for again at the next refresh
    /// (not at once: a query the server refuses would be sent in a loop).
    range_retry: Option<(i64, i64)>,
    /// The error shown for it, if any.
    error: Option<String>,
    /// Whether the screen still wants it; one no longer wanted stays only
    /// until its request out comes back.
    wanted: bool,
    /// The server refused its history (too long a range, a limit): asked
    /// for again only when the view changes, not on every refresh.
    history_refused: bool,
    /// When a request for it last went out, so that refreshes that cannot
    /// send every query send the longest-waiting first.
    last_sent_ms: i64,
    /// How long its last answer took.
    last_took_ms: i64,
    /// A refresh of it failed since its last answer: the hole left is
    /// filled from history however narrow it is.
    missed: bool,
}

impl Query {
    fn new(text: &str) -> Query {
        Query {
            text: text.to_string(),
            running: false,
            held_from: None,
            last_ok_ms: None,
            range_due: None,
            range_retry: None,
            error: None,
            wanted: true,
            history_refused: false,
            last_sent_ms: i64::MIN,
            last_took_ms: 0,
            missed: false,
        }
    }
}

/// Most points a range query asks for per series: under the 11,000 that
/// Prometheus accepts, whatever span the view or a gap covers.
const MAX_POINTS: i64 = 10_000;

/// A request out.
#[derive(Debug, Clone, Copy)]
enum Job {
    Instant { at_ms: i64 },
    Range { from_ms: i64, to_ms: i64, step_ms: i64 },
}

type Done = (String, Job, Result<Answer, QueryError>, Duration);

/// Runs until cancelled or until nobody listens.
pub async fn run(
    opts: Options,
    mut wants: watch::Receiver<Arc<Wants>>,
    tx: mpsc::Sender<Update>,
    cancel: CancellationToken,
) {
    let interval_ms = opts.interval.as_millis() as i64;
    let catalogue = Update::Catalogue { metrics: Vec::new(), interval_ms, source: opts.id };
    if tx.send(catalogue).await.is_err() {
        return;
    }
    let mut state = State { opts, queries: BTreeMap::new(), jobs: JoinSet::new(), wants: Arc::default() };
    state.want(wants.borrow_and_update().clone());
    let mut tick = tokio::time::interval(state.opts.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut listening = true;
    loop {
        state.launch_ranges();
        tokio::select! {
            _ = cancel.cancelled() => break,
            changed = wants.changed(), if listening => match changed {
                Ok(()) => state.want(wants.borrow_and_update().clone()),
                // Whoever wanted queries is gone; keep the last ones.
                Err(_) => listening = false,
            },
            _ = tick.tick() => state.refresh(),
            Some(done) = state.jobs.join_next() => {
                let Ok(done) = done else { continue };
                for update in state.finished(done) {
                    if tx.send(update).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
    state.jobs.abort_all();
}

struct State {
    opts: Options,
    queries: BTreeMap<String, Query>,
    jobs: JoinSet<Done>,
    wants: Arc<Wants>,
}

impl State {
    fn running(&self) -> usize {
        self.queries.values().filter(|q| q.running).count()
    }

    /// Takes a new set of wanted queries: new ones get their history, old
    /// ones that the view now looks further back for get the rest of it.
    /// Queries no longer wanted go, once no request of theirs is out (so a
    /// query wanted again is never out twice).
    fn want(&mut self, wants: Arc<Wants>) {
        let mine: Vec<&Want> = wants.queries.iter().filter(|w| self.opts.serves(w)).collect();
        let keys: Vec<String> = mine.iter().map(|w| w.key()).collect();
        for q in self.queries.values_mut() {
            q.wanted = false;
        }
        for (w, key) in mine.iter().zip(keys) {
            let new = !self.queries.contains_key(&key);
            let q = self.queries.entry(key).or_insert_with(|| Query::new(&w.text));
            q.wanted = true;
            let slack = wants.step_ms.max(1);
            let reaches_back = q.held_from.is_none_or(|held| wants.from_ms < held - slack);
            if new || (reaches_back && wants.from_ms < self.wants.from_ms) {
                // A view further back is worth another try at refused history.
                q.history_refused = false;
            }
            match q.held_from {
                None if new => q.range_due = Some((wants.from_ms, wants.to_ms)),
                None if q.running && !q.history_refused => {
                    // The first history is still out: widen what comes next.
                    q.range_due = Some((wants.from_ms, wants.to_ms));
                }
                None => {}
                Some(held) if wants.from_ms < held - slack && !q.history_refused => {
                    let to = q.range_due.map_or(held, |(_, to)| to.max(held));
                    q.range_due = Some((wants.from_ms, to));
                }
                Some(_) => {}
            }
        }
        self.queries.retain(|k, q| q.wanted || q.running || k == HEARTBEAT_KEY);
        // With nothing to ask, a trivial query still tells whether the server answers.
        if self.queries.iter().all(|(k, q)| k == HEARTBEAT_KEY || !q.wanted) {
            self.queries
                .entry(HEARTBEAT_KEY.to_string())
                .or_insert_with(|| Query { held_from: Some(i64::MIN), ..Query::new(HEARTBEAT) });
        } else {
            self.queries.remove(HEARTBEAT_KEY);
        }
        self.wants = wants;
    }

    /// Sends the history requests that are due and not waiting on another
    /// request of the same query.
    fn launch_ranges(&mut self) {
        let due: Vec<(String, i64, i64)> = self
            .queries
            .iter()
            .filter(|(_, q)| !q.running && q.wanted)
            .filter_map(|(k, q)| q.range_due.map(|(f, t)| (k.clone(), f, t)))
            .collect();
        for (key, from_ms, to_ms) in due {
            if self.running() >= MAX_RUNNING {
                break;
            }
            // The view's spacing, or coarser when the span is long (a gap of
            // hours, a day looked back at): never past the server's limit.
            let step_ms = self.wants.step_ms.max(1000).max(((to_ms - from_ms) / MAX_POINTS + 999) / 1000 * 1000);
            self.launch(&key, Job::Range { from_ms, to_ms, step_ms });
        }
    }

    /// A refresh: every query not already out is asked for its value now.
    fn refresh(&mut self) {
        let now = now_ms();
        for q in self.queries.values_mut() {
            if let Some((f, t)) = q.range_retry.take() {
                q.range_due = Some(q.range_due.map_or((f, t), |(df, dt)| (df.min(f), dt.max(t))));
            }
        }
        // The longest-waiting first: with more queries than may be out at
        // once, each refresh reaches the ones the last one could not.
        let mut idle: Vec<(i64, String)> = self
            .queries
            .iter()
            .filter(|(_, q)| !q.running && q.wanted)
            .map(|(k, q)| (q.last_sent_ms, k.clone()))
            .collect();
        idle.sort();
        for (_, key) in idle {
            if self.running() >= MAX_RUNNING {
                break;
            }
            self.launch(&key, Job::Instant { at_ms: now });
        }
    }

    fn launch(&mut self, key: &str, job: Job) {
        let Some(q) = self.queries.get_mut(key) else { return };
        q.running = true;
        q.last_sent_ms = now_ms();
        if matches!(job, Job::Range { .. }) {
            q.range_due = None;
        }
        let (client, text, key) = (self.opts.client.clone(), q.text.clone(), key.to_string());
        self.jobs.spawn(async move {
            let started = Instant::now();
            let result = match job {
                Job::Instant { at_ms } => client.instant(&text, at_ms).await,
                Job::Range { from_ms, to_ms, step_ms } => client.range(&text, from_ms, to_ms, step_ms).await,
            };
            (key, job, result, started.elapsed())
        });
    }

    /// What a finished request means: points for the store, the query's
    /// error shown or cleared, the link's health.
    fn finished(&mut self, (key, job, result, took): Done) -> Vec<Update> {
        let now = now_ms();
        let stats = &self.opts.stats;
        let interval_ms = self.opts.interval.as_millis() as i64;
        let mut out = Vec::new();
        let Some(q) = self.queries.get_mut(&key) else { return out };
        q.running = false;
        let shown_error = match result {
            Ok(answer) => {
                SourceStats::bump(&stats.frames, 1);
                SourceStats::bump(&stats.bytes, answer.bytes as u64);
                stats.answered(now, took);
                if answer.dropped > 0 {
                    tracing::warn!(query = %q.text, dropped = answer.dropped, "query matched too many series");
                }
                match job {
                    Job::Instant { at_ms } => {
                        // Refreshes missed for a while leave a hole that
                        // history fills, so nothing is silently lost; a
                        // query whose history never came gets it now.
                        // Only what the view shows is filled: a gap older
                        // than the window is history nobody looks at. A
                        // refresh that failed always leaves a hole. Else a
                        // slow server's own pace (the interval plus the
                        // time answers take) is none, nor is a gap
                        // narrower than the chart's spacing.
                        let took_ms = took.as_millis() as i64;
                        let pace = interval_ms + took_ms.max(q.last_took_ms);
                        q.last_took_ms = took_ms;
                        let hole = std::mem::take(&mut q.missed)
                            || q.last_ok_ms
                                .is_some_and(|last| at_ms - last > (2 * pace + 1000).max(self.wants.step_ms));
                        match (q.last_ok_ms, q.held_from) {
                            (Some(last), Some(_)) if hole && key != HEARTBEAT_KEY => {
                                q.range_due = Some((last.max(self.wants.from_ms), at_ms));
                            }
                            (_, None) if q.range_retry.is_none() && !q.history_refused => {
                                q.range_due = Some((self.wants.from_ms, at_ms));
                            }
                            _ => {}
                        }
                        q.last_ok_ms = Some(q.last_ok_ms.map_or(at_ms, |t| t.max(at_ms)));
                    }
                    Job::Range { from_ms, to_ms, .. } => {
                        q.held_from = Some(q.held_from.map_or(from_ms, |h| h.min(from_ms)));
                        q.last_ok_ms = Some(q.last_ok_ms.map_or(to_ms, |t| t.max(to_ms)));
                    }
                }
                if key != HEARTBEAT_KEY {
                    let observations = observations(&key, &answer);
                    SourceStats::bump(&stats.points, observations.len() as u64);
                    if !observations.is_empty() {
                        let live = matches!(job, Job::Instant { .. });
                        out.push(Update::Samples { observations, live, seq: None, source: self.opts.id });
                    }
                }
                None
            }
            Err(e) => {
                if e.server_down() {
                    stats.lost(e.to_string());
                }
                if matches!(job, Job::Instant { .. }) {
                    q.missed = true;
                }
                // History the server could not send is asked for again at
                // the next refresh; a query it refuses is not (every try
                // would fail the same way) until an instant run works.
                if let Job::Range { from_ms, to_ms, .. } = job {
                    if e.server_down() {
                        q.range_retry =
                            Some(q.range_retry.map_or((from_ms, to_ms), |(f, t)| (f.min(from_ms), t.max(to_ms))));
                    } else {
                        q.history_refused = true;
                    }
                }
                // The server answers, but not as a Prometheus API should
                // for everything (a wrong URL, a proxy's error page): the
                // sources page says so, while the link stays up.
                if !e.server_down() {
                    stats.update_link(|l| l.last_error = Some(e.to_string()));
                }
                Some(e.to_string())
            }
        };
        if q.error != shown_error && key != HEARTBEAT_KEY {
            out.push(Update::Query { key: key.clone(), error: shown_error.clone() });
        }
        q.error = shown_error;
        if !q.wanted {
            self.queries.remove(&key);
        }
        out
    }
}

/// The heartbeat's own name: not one a wanted query can have.
const HEARTBEAT_KEY: &str = "(heartbeat)";

/// An answer's points as observations of the series its query names.
fn observations(key: &str, answer: &Answer) -> Vec<Observation> {
    let mut out = Vec::with_capacity(answer.series.iter().map(|s| s.points.len()).sum());
    for s in &answer.series {
        let series = SeriesKey { metric: key.to_string(), labels: s.labels.clone() };
        for &(ts, v) in &s.points {
            out.push(Observation { key: series.clone(), ts, sample: Sample::Number(v) });
        }
    }
    out
}
