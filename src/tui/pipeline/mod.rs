//! The TUI's task around a [`Core`]: it folds every update that arrived
//! since the last pass into the core, runs the services the screen needs
//! (the state file, the exec hook, history and PromQL demand, incident
//! reports), and publishes an immutable [`Scene`] on a `watch` channel, so
//! a burst of a thousand updates becomes one redraw.

mod detail;
mod incidents;
pub mod page;
mod people;
mod persist;
pub mod sources;

pub use page::ViewRequest;
pub use persist::{MAX_STATE_BYTES, RestoreError, StateFile};

use crate::core::Core;
use crate::core::model::{ConnState, Event, Update};
use crate::core::query::Span;
use crate::dashboards::Dashboard;
use crate::sources::SourceStats;
use crate::sources::history::Request as HistoryRequest;
use crate::tui::scene::{LinkInfo, Scene, SourceInfo, SourceRow, TimeInfo};
use crate::wire::now_ms;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Updates folded per pass at most, so a flood cannot starve publishing.
const BATCH: usize = 1024;

pub struct Pipeline {
    /// What is known: store, alerts, rules, SLOs, acks, the timeline.
    core: Core,
    source: SourceInfo,
    /// One per gateway endpoint, preferred first, then one per other source.
    stats: Vec<Arc<SourceStats>>,
    /// Whether each of them was connected at the last tick.
    links_up: Vec<bool>,
    frames_per_sec: f64,
    frames_seen: u64,
    /// Per-gateway rates for the sources page, measured in `tick`.
    source_table: sources::SourceTable,
    source_rows: Vec<SourceRow>,
    /// The state file, saved every few minutes (see `persist.rs`).
    cache: persist::Cache,
    dashboard: Arc<Dashboard>,
    view: ViewRequest,
    /// Where to ask for history the store lacks; `None` when nothing can fetch it.
    history: Option<mpsc::Sender<HistoryRequest>>,
    /// Where to say which PromQL queries the page runs; `None` without
    /// Prometheus sources.
    promql: Option<watch::Sender<Arc<crate::sources::prometheus::Wants>>>,
    /// The oldest instant already asked for: history is only asked for once.
    asked_from: Option<i64>,
    /// The last page worked out, and what it was worked out from: a tick
    /// that only changes link figures reuses it instead of deriving it again.
    page_cache: std::cell::RefCell<Option<(PageKey, Arc<crate::tui::scene::PageScene>)>>,
    /// Grids from the last derivation, which the next one brings up to date
    /// instead of working them out again.
    grid_cache: std::cell::RefCell<crate::core::query::GridCache>,
    /// Where the last scene's grid ended: a tick that crosses a step
    /// boundary publishes, so charts keep moving when data stops.
    published_grid_to: std::cell::Cell<i64>,
    /// Where acks and silences are saved, and the exec hook (see `people.rs`).
    people: people::People,
    /// The alert whose detail is open (see `detail.rs`).
    detail: Option<String>,
    /// Where the timeline is saved and reports go (see `incidents.rs`).
    incidents: incidents::Incidents,
}

/// Everything a page depends on besides the store's contents.
#[derive(Debug, Clone, PartialEq)]
struct PageKey {
    data_version: u64,
    to_ms: i64,
    step_ms: i64,
    view: ViewRequest,
    dashboard: usize,
}

/// The store keeps a day; older history has nowhere to go.
const HISTORY_REACH_MS: i64 = 24 * 3_600_000;

impl Pipeline {
    pub fn new(source: SourceInfo, stats: Vec<Arc<SourceStats>>) -> Self {
        let setup = crate::core::Setup {
            gateway: stats.iter().any(|s| s.is_gateway()),
            url: source.url.clone(),
            patience_ms: stats.iter().map(|s| (s.source, s.patience_ms)).collect(),
            history: false,
            ..Default::default()
        };
        Pipeline {
            core: Core::new(setup),
            source,
            stats,
            links_up: Vec::new(),
            frames_per_sec: 0.0,
            frames_seen: 0,
            source_table: sources::SourceTable::default(),
            source_rows: Vec::new(),
            cache: persist::Cache::default(),
            dashboard: Arc::new(Dashboard::built_in()),
            view: ViewRequest::default(),
            history: None,
            promql: None,
            asked_from: None,
            page_cache: Default::default(),
            grid_cache: Default::default(),
            published_grid_to: Default::default(),
            people: Default::default(),
            detail: None,
            incidents: Default::default(),
        }
    }

    /// What the pipeline knows.
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// The page's time grid for an instant. Live, it ends at the next step
    /// boundary, so the grid moves in whole steps and a chart with nothing
    /// new stays still; looking back, at the boundary before the instant, so
    /// nothing after it shows.
    fn span(&self, asked_ms: i64, now_ms: i64) -> Span {
        let mut span = Span::new(asked_ms, self.view.window_ms, self.core.interval_ms, now_ms);
        let floor = asked_ms.div_euclid(span.step_ms) * span.step_ms;
        span.to_ms = if self.view.at_ms.is_none() { floor + span.step_ms } else { floor };
        span
    }

    /// Drops the page worked out last, and the grids kept from it, so the
    /// next scene derives it from scratch (benchmarks measure that work).
    pub fn forget_page(&self) {
        self.page_cache.borrow_mut().take();
        self.grid_cache.take();
    }

    /// Drops only the page worked out last: the next scene derives it again,
    /// bringing the kept grids up to date as a new data frame would.
    pub fn forget_page_keep_grids(&self) {
        self.page_cache.borrow_mut().take();
    }

    /// Grids kept for the next derivation.
    pub fn kept_grids(&self) -> usize {
        self.grid_cache.borrow().len()
    }

    /// Lets the pipeline ask for history the view needs and the store lacks.
    pub fn fetch_history_with(&mut self, tx: mpsc::Sender<HistoryRequest>) {
        self.core.expect_history();
        self.history = Some(tx);
    }

    /// Lets the pipeline tell Prometheus sources which queries the page runs.
    pub fn query_with(&mut self, tx: watch::Sender<Arc<crate::sources::prometheus::Wants>>) {
        self.promql = Some(tx);
    }

    /// Tells the Prometheus sources what the page shown runs now, and over
    /// which span: when the queries change, when the span reaches further
    /// back, and once a minute as it moves on (refreshes cover the newest end).
    pub fn want_queries(&mut self, now_ms: i64) {
        use crate::sources::prometheus::Wants;
        let Some(tx) = &self.promql else { return };
        let Some(page) = self.dashboard.pages.get(self.view.page.min(self.dashboard.pages.len().saturating_sub(1)))
        else {
            return;
        };
        let queries = page::promql_wanted(page, &self.view, &self.core.store);
        // What no query asks for any more has no panel to show its error
        // on; a source no query can reach is an error of its own.
        let keys: std::collections::HashSet<String> = queries.iter().map(|w| w.key()).collect();
        let mut missing = Vec::new();
        let prometheus: Vec<&str> = self
            .stats
            .iter()
            .filter(|s| s.kind == crate::core::model::SourceKind::Prometheus)
            .map(|s| s.name.as_str())
            .collect();
        for w in &queries {
            let known =
                if w.source.is_empty() { !prometheus.is_empty() } else { prometheus.contains(&w.source.as_str()) };
            if !known {
                let why = match w.source.as_str() {
                    "" => "no Prometheus source to run this query (--prometheus URL)".to_string(),
                    name => format!("no Prometheus source is named {name:?}"),
                };
                missing.push((w.key(), why));
            }
        }
        self.core.query_errors_for(&keys, missing);
        let to_ms = self.view.at_ms.unwrap_or(now_ms).min(now_ms);
        let from_ms = to_ms - self.view.window_ms;
        // About one point per column, on whole seconds.
        let columns = i64::from(self.view.columns.max(10));
        let step_ms = ((self.view.window_ms / columns).max(1000) + 999) / 1000 * 1000;
        tx.send_if_modified(|w| {
            // Moving forward, the refreshes keep up; only a view that
            // reaches further back needs saying at once.
            let moved = from_ms < w.from_ms - step_ms || from_ms - w.from_ms >= 60_000;
            let same = w.queries == queries && w.step_ms == step_ms && !moved;
            if !same {
                *w = Arc::new(Wants { queries, from_ms, to_ms, step_ms });
            }
            !same
        });
    }

    /// Asks for the part of the shown span older than anything held, once.
    pub fn want_history(&mut self, now_ms: i64) {
        let (Some(tx), Some(earliest)) = (&self.history, self.core.earliest_ms) else { return };
        if self.core.first_data_ms.is_none_or(|t| now_ms - t < 5_000) {
            return;
        }
        let to = self.view.at_ms.unwrap_or(now_ms).min(now_ms);
        let from = (to - self.view.window_ms).max(now_ms - HISTORY_REACH_MS);
        let have = self.asked_from.map_or(earliest, |a| a.min(earliest));
        // A couple of intervals of slack: the first point rarely sits on the edge.
        if from >= have - 2 * self.core.interval_ms {
            return;
        }
        let metrics = self.core.store.known_metrics();
        if metrics.is_empty() {
            return;
        }
        let req = HistoryRequest { from_ms: from, to_ms: have, step_ms: self.core.interval_ms, metrics };
        // A full queue means requests are already in flight; ask again later.
        if tx.try_send(req).is_ok() {
            self.asked_from = Some(from);
        }
    }

    /// Shows another dashboard from the next scene on; history is kept.
    pub fn set_dashboard(&mut self, dashboard: Arc<Dashboard>) {
        self.dashboard = dashboard;
    }

    /// The alert rules to evaluate (see [`Core::set_rules`]).
    pub fn set_rules(&mut self, rules: Arc<Vec<crate::core::alert::rules::RuleSpec>>) {
        self.core.set_rules(rules);
    }

    /// The SLOs to track (see [`Core::set_slos`]).
    pub fn set_slos(&mut self, slos: Arc<Vec<crate::core::slo::SloSpec>>) {
        self.core.set_slos(slos);
    }

    /// Works out the SLOs now; returns whether anything shown changed.
    pub fn evaluate_slos(&mut self, now_ms: i64) -> bool {
        let changed = self.core.evaluate_slos(now_ms);
        self.tell_hook();
        changed
    }

    /// Evaluates the alert rules now; true when an alert changed state.
    pub fn evaluate_rules(&mut self, now_ms: i64) -> bool {
        let changed = self.core.evaluate_rules(now_ms);
        self.tell_hook();
        changed
    }

    /// Plays the rules over what the store holds (see [`Core::replay_rules`]).
    pub fn replay_rules(&mut self, now_ms: i64) -> usize {
        self.core.replay_rules(now_ms)
    }

    /// Takes up the screen's latest wishes: dashboard, view, rules, SLOs,
    /// detail; then asks for what they need.
    pub fn want(&mut self, wanted: &mut watch::Receiver<Wanted>) {
        let w = wanted.borrow_and_update().clone();
        self.set_dashboard(w.dashboard);
        self.set_view(w.view);
        self.set_rules(w.rules);
        self.set_slos(w.slos);
        self.set_detail(w.detail);
        self.want_history(now_ms());
        self.want_queries(now_ms());
    }

    /// What the user is looking at: page, window, instant, filter.
    pub fn set_view(&mut self, view: ViewRequest) {
        self.view = view;
    }

    /// Folds one update in; `now_ms` is the wall clock.
    pub fn apply(&mut self, update: Update, now_ms: i64) {
        if let Update::BookError(why) = update {
            self.notice(why);
            return;
        }
        self.core.apply(update, now_ms);
        self.tell_hook();
    }

    /// Once a second: measure the frame rate and each gateway's rates, and
    /// age out old alerts.
    /// Returns whether anything shown changed.
    pub fn tick(&mut self, now_ms: i64, elapsed: Duration) -> bool {
        let links_changed = self.watch_links(now_ms);
        let frames = self.total(|s| &s.frames);
        let rate = (frames - self.frames_seen) as f64 / elapsed.as_secs_f64().max(0.001);
        self.frames_seen = frames;
        let before = self.frames_per_sec;
        // Smooth over a few seconds so the figure does not jitter.
        self.frames_per_sec = if before == 0.0 { rate } else { before * 0.6 + rate * 0.4 };
        let evaluated = self.core.evaluate(now_ms);
        self.tell_hook();
        if evaluated.intent {
            self.save_intent();
        }
        let asked_ms = self.view.at_ms.unwrap_or(now_ms).min(now_ms);
        // While data flows, its next batch moves the grid anyway; publishing
        // the move alone would cost a second derivation and frame.
        let flowing = self.core.last_live_ms.is_some_and(|t| now_ms - t < 2 * self.core.interval_ms.max(1000));
        let grid_moved = !flowing && self.span(asked_ms, now_ms).to_ms != self.published_grid_to.get();
        let rows = self.source_table.rows(&self.stats, elapsed, now_ms, self.core.interval_ms);
        // Rates move every second while data flows, and every data batch
        // republishes them anyway; a tick alone only needs to publish when a
        // link changed state, so a busy link does not cost a second redraw.
        let state =
            |r: &SourceRow| (r.health, r.connected, r.transport, r.reconnects, r.malformed, r.last_error.clone());
        let rows_changed = rows.len() != self.source_rows.len()
            || rows.iter().zip(&self.source_rows).any(|(a, b)| state(a) != state(b));
        self.source_rows = rows;
        (self.frames_per_sec * 10.0).round() != (before * 10.0).round()
            || links_changed
            || rows_changed
            || grid_moved
            || evaluated.shown
    }

    /// Follows the links of sources other than the gateway: what a source
    /// whose link went down showed turns stale at once, as a gateway's does.
    /// Without a gateway, the header's link is theirs: connected while any
    /// answers, down (with the age of the last data) when none does.
    /// Returns whether anything shown changed.
    fn watch_links(&mut self, now_ms: i64) -> bool {
        let mut changed = false;
        self.links_up.resize(self.stats.len(), false);
        let mut any_up = false;
        let mut error = None;
        for (s, was_up) in self.stats.iter().zip(self.links_up.iter_mut()) {
            if s.is_gateway() {
                continue;
            }
            let link = s.link();
            if *was_up && !link.connected {
                changed |= self.core.source_lost(s.source, now_ms);
            }
            *was_up = link.connected;
            any_up |= link.connected;
            error = error.or(link.last_error.map(|e| format!("{}: {e}", s.name)));
        }
        let gateway = self.stats.iter().any(|s| s.is_gateway());
        if gateway || self.stats.is_empty() {
            return changed;
        }
        let conn = match (&self.core.conn, any_up, error) {
            (ConnState::Connected { .. }, true, _) => return changed,
            (_, true, _) => ConnState::Connected {
                since_ms: now_ms,
                server: self.stats.iter().map(|s| s.kind.name()).collect::<Vec<_>>().join(", "),
                url: self.source.url.clone(),
                transport: crate::core::model::Transport::Poll,
            },
            (_, false, Some(error)) => ConnState::Disconnected { error },
            (_, false, None) => return changed,
        };
        if conn != self.core.conn {
            self.core.apply(Update::Conn(conn), now_ms);
            changed = true;
        }
        changed
    }

    /// A counter summed over every gateway.
    fn total(&self, counter: impl Fn(&SourceStats) -> &std::sync::atomic::AtomicU64) -> u64 {
        self.stats.iter().map(|s| SourceStats::read(counter(s))).sum()
    }

    /// Derives the picture for the view.
    pub fn scene(&self, now_ms: i64) -> Scene {
        let core = &self.core;
        let link = LinkInfo {
            conn: core.conn.clone(),
            interval_ms: core.interval_ms,
            last_live_ms: core.last_live_ms,
            fresh_until_ms: core.fresh_until_ms(),
            frames_per_sec: self.frames_per_sec,
            malformed: self.total(|s| &s.malformed),
            last_malformed: core.last_malformed.clone(),
            reconnects: self.total(|s| &s.reconnects),
            seq_gaps: self.total(|s| &s.seq_gaps),
            backfills: self.total(|s| &s.backfills),
        };
        let page_index = self.view.page.min(self.dashboard.pages.len().saturating_sub(1));
        let asked_ms = self.view.at_ms.unwrap_or(now_ms).min(now_ms);
        let span = self.span(asked_ms, now_ms);
        self.published_grid_to.set(span.to_ms);
        let key = PageKey {
            data_version: core.data_version,
            to_ms: span.to_ms,
            step_ms: span.step_ms,
            view: self.view.clone(),
            dashboard: Arc::as_ptr(&self.dashboard) as usize,
        };
        let cached = self.page_cache.borrow().as_ref().filter(|(k, _)| *k == key).map(|(_, p)| p.clone());
        let page = cached.unwrap_or_else(|| {
            let events: Vec<Event> = core.events.iter().cloned().collect();
            let reader = crate::core::query::Reader::with_cache(&core.store, self.grid_cache.take());
            let inputs = page::Inputs {
                store: &core.store,
                reader: &reader,
                events: &events,
                query_errors: &core.query_errors,
                interval_ms: core.interval_ms,
                now_ms,
            };
            let page = Arc::new(match self.dashboard.pages.get(page_index) {
                Some(spec) => page::build(spec, &self.view, &span, &inputs),
                None => Default::default(),
            });
            *self.grid_cache.borrow_mut() = reader.into_cache();
            *self.page_cache.borrow_mut() = Some((key, page.clone()));
            page
        });
        let filter = &self.view.filter;
        Scene {
            view: self.view.clone(),
            source: self.source.clone(),
            link,
            pages: self.dashboard.pages.iter().map(|p| p.title.clone()).collect(),
            page_index,
            page,
            time: TimeInfo {
                live: self.view.at_ms.is_none(),
                to_ms: asked_ms,
                grid_to_ms: span.to_ms,
                window_ms: self.view.window_ms,
            },
            firing: core.alerts.firing(),
            hush: core.hush(now_ms),
            filter: filter.to_string(),
            // Looking back, the list is the one that stood at the instant
            // shown, not today's with today's durations.
            alerts: match self.view.at_ms {
                None => core.alerts.sorted(),
                Some(_) => core.timeline().alerts_at(&core.alerts.sorted(), asked_ms),
            }
            .into_iter()
            .filter(|a| filter.matches(&format!("{} {}", a.metric, a.summary), label_pairs(&a.labels)))
            .collect(),
            events: core
                .events
                .iter()
                .filter(|e| e.ts <= asked_ms && filter.matches(&e.text, label_pairs(&e.labels)))
                .take(50)
                .cloned()
                .collect(),
            banner: core.banner.clone(),
            sources: self.source_rows.clone(),
            slos: core.slos.status().to_vec(),
            detail: self.alert_detail(&span, asked_ms),
            notice: self.people.notice.clone(),
        }
    }
}

use crate::core::label_pairs;

/// What the screen wants from the pipeline: which dashboard, and which part
/// of it. The app sends a new one on every page switch, scroll or filter.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub dashboard: Arc<Dashboard>,
    pub view: ViewRequest,
    /// The alert rules of the config now in force.
    pub rules: Arc<Vec<crate::core::alert::rules::RuleSpec>>,
    /// And its SLOs.
    pub slos: Arc<Vec<crate::core::slo::SloSpec>>,
    /// The alert whose detail is open, by id.
    pub detail: Option<String>,
}

/// Runs the pipeline until cancelled or until every source is gone. `wanted`
/// is `None` when nothing changes what is shown (tests, tools).
pub async fn run(
    mut pipeline: Pipeline,
    mut rx: mpsc::Receiver<Update>,
    mut wanted: Option<watch::Receiver<Wanted>>,
    scene_tx: watch::Sender<Arc<Scene>>,
    cancel: CancellationToken,
) -> Pipeline {
    let mut buf = Vec::with_capacity(BATCH);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_tick = tokio::time::Instant::now();
    // What is wanted already counts: a receiver starts with its value seen.
    if let Some(w) = wanted.as_mut() {
        pipeline.want(w);
    }
    let mut wishes = pipeline.people.wishes.take();
    let mut exports = pipeline.incidents.exports.take();
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
                pipeline.autosave_timeline(now_ms());
                pipeline.want_history(now_ms());
                pipeline.want_queries(now_ms());
                pipeline.tick(now_ms(), elapsed)
            }
            changed = async { wanted.as_mut()?.changed().await.ok() }, if wanted.is_some() => {
                match changed {
                    Some(()) => {
                        if let Some(w) = wanted.as_mut() {
                            pipeline.want(w);
                        }
                    }
                    // The screen is gone; keep serving whatever still listens.
                    None => wanted = None,
                }
                true
            }
            wish = async { wishes.as_mut()?.recv().await }, if wishes.is_some() => match wish {
                Some(w) => pipeline.grant(w, now_ms()),
                None => {
                    wishes = None;
                    false
                }
            },
            req = async { exports.as_mut()?.recv().await }, if exports.is_some() => {
                match req {
                    Some(req) => pipeline.export(req, now_ms()),
                    None => exports = None,
                }
                false
            }
            _ = cancel.cancelled() => break,
        };
        if changed {
            scene_tx.send_replace(Arc::new(pipeline.scene(now_ms())));
        }
    }
    pipeline
}
