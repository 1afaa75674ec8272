//! The one place where store and alerts meet. A single task owns both,
//! folds every update that arrived since the last pass into them, and
//! publishes an immutable [`Scene`] on a `watch` channel, so a burst of a
//! thousand updates becomes one redraw.

mod detail;
mod incidents;
pub mod page;
mod people;
mod persist;
pub mod sources;

pub use page::ViewRequest;
pub use persist::{MAX_STATE_BYTES, RestoreError, StateFile};

use crate::alert::AlertBook;
use crate::dashboard::Dashboard;
use crate::dashboard::query::Span;
use crate::model::{AlertState, ConnState, Event, SourceId, StatusBanner, Update};
use crate::scene::{LinkInfo, Scene, SourceInfo, SourceRow, TimeInfo};
use crate::source::SourceStats;
use crate::source::history::Request as HistoryRequest;
use crate::store::{Live, Store};
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
    /// The finest data interval of any source: the grid's finest step.
    interval_ms: i64,
    /// Each source's data interval, from its catalogue.
    intervals: std::collections::BTreeMap<SourceId, i64>,
    /// Alerts other systems keep quiet, by the source that says so.
    muted: std::collections::BTreeMap<SourceId, Vec<crate::model::Muted>>,
    /// PromQL queries whose last run failed, by the store name of their
    /// results, with why: shown on the panels that asked.
    query_errors: std::collections::HashMap<String, String>,
    source: SourceInfo,
    /// One per gateway endpoint, preferred first, then one per other source.
    stats: Vec<Arc<SourceStats>>,
    /// Whether each of them was connected at the last tick.
    links_up: Vec<bool>,
    last_malformed: Option<String>,
    last_live_ms: Option<i64>,
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
    promql: Option<watch::Sender<Arc<crate::source::prometheus::Wants>>>,
    /// The oldest point that arrived (live or backfilled), and the oldest
    /// instant already asked for: history is only asked for once.
    earliest_ms: Option<i64>,
    asked_from: Option<i64>,
    /// When data first arrived: the link's own start-up backfill gets a
    /// head start before the view asks for more.
    first_data_ms: Option<i64>,
    /// Bumped by every change the page is derived from (points, events).
    data_version: u64,
    /// The last page worked out, and what it was worked out from: a tick
    /// that only changes link figures reuses it instead of deriving it again.
    page_cache: std::cell::RefCell<Option<(PageKey, Arc<crate::scene::PageScene>)>>,
    /// Grids from the last derivation, which the next one brings up to date
    /// instead of working them out again.
    grid_cache: std::cell::RefCell<crate::dashboard::query::GridCache>,
    /// The dashboard's own alert rules, evaluated every tick, and the list
    /// they came from (a reload that leaves it alone keeps their state).
    rules: crate::alert::rules::RuleSet,
    rules_from: Arc<Vec<crate::alert::rules::RuleSpec>>,
    /// SLOs, their ledgers and burn alerts; and ledgers read back from disk
    /// that no SLO has claimed yet (the config may come after the restore).
    slos: crate::slo::SloBook,
    slos_from: Arc<Vec<crate::slo::SloSpec>>,
    spare_ledgers: Vec<crate::slo::ledger::Ledger>,
    /// When rules and SLOs were last evaluated.
    evaluated_at: Option<i64>,
    /// Whether the rules were played over the start-up backfill yet.
    rules_replayed: bool,
    /// Where the last scene's grid ended: a tick that crosses a step
    /// boundary publishes, so charts keep moving when data stops.
    published_grid_to: std::cell::Cell<i64>,
    /// Acknowledgements, silences and the exec hook (see `people.rs`).
    people: people::People,
    /// The alert whose detail is open (see `detail.rs`).
    detail: Option<String>,
    /// The incident timeline and reports (see `incidents.rs`).
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

/// How long rules wait for the start-up history before they run without it.
const HISTORY_WAIT_MS: i64 = 15_000;

/// The store keeps a day; older history has nowhere to go.
const HISTORY_REACH_MS: i64 = 24 * 3_600_000;

impl Pipeline {
    pub fn new(source: SourceInfo, stats: Vec<Arc<SourceStats>>) -> Self {
        Pipeline {
            store: Store::default(),
            alerts: AlertBook::default(),
            events: VecDeque::new(),
            banner: None,
            conn: ConnState::Connecting { attempt: 0 },
            interval_ms: 1000,
            intervals: Default::default(),
            query_errors: Default::default(),
            muted: Default::default(),
            source,
            stats,
            links_up: Vec::new(),
            last_malformed: None,
            last_live_ms: None,
            frames_per_sec: 0.0,
            frames_seen: 0,
            source_table: sources::SourceTable::default(),
            source_rows: Vec::new(),
            cache: persist::Cache::default(),
            dashboard: Arc::new(Dashboard::built_in()),
            view: ViewRequest::default(),
            history: None,
            promql: None,
            earliest_ms: None,
            asked_from: None,
            first_data_ms: None,
            data_version: 0,
            page_cache: Default::default(),
            grid_cache: Default::default(),
            rules: Default::default(),
            rules_from: Default::default(),
            slos: Default::default(),
            slos_from: Default::default(),
            spare_ledgers: Vec::new(),
            evaluated_at: None,
            rules_replayed: false,
            published_grid_to: Default::default(),
            people: Default::default(),
            detail: None,
            incidents: Default::default(),
        }
    }

    /// The page's time grid for an instant. Live, it ends at the next step
    /// boundary, so the grid moves in whole steps and a chart with nothing
    /// new stays still; looking back, at the boundary before the instant, so
    /// nothing after it shows.
    fn span(&self, asked_ms: i64, now_ms: i64) -> Span {
        let mut span = Span::new(asked_ms, self.view.window_ms, self.interval_ms, now_ms);
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
        self.history = Some(tx);
    }

    /// Lets the pipeline tell Prometheus sources which queries the page runs.
    pub fn query_with(&mut self, tx: watch::Sender<Arc<crate::source::prometheus::Wants>>) {
        self.promql = Some(tx);
    }

    /// Tells the Prometheus sources what the page shown runs now, and over
    /// which span: when the queries change, when the span reaches further
    /// back, and once a minute as it moves on (refreshes cover the newest end).
    pub fn want_queries(&mut self, now_ms: i64) {
        use crate::source::prometheus::Wants;
        let Some(tx) = &self.promql else { return };
        let Some(page) = self.dashboard.pages.get(self.view.page.min(self.dashboard.pages.len().saturating_sub(1)))
        else {
            return;
        };
        let queries = page::promql_wanted(page, &self.view, &self.store);
        // What no query asks for any more has no panel to show its error
        // on; a source no query can reach is an error of its own.
        let before = self.query_errors.len();
        let keys: std::collections::HashSet<String> = queries.iter().map(|w| w.key()).collect();
        self.query_errors.retain(|k, _| keys.contains(k));
        let mut changed = self.query_errors.len() != before;
        let prometheus: Vec<&str> = self
            .stats
            .iter()
            .filter(|s| s.kind == crate::model::SourceKind::Prometheus)
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
                changed |= self.query_errors.insert(w.key(), why.clone()).is_none_or(|old| old != why);
            }
        }
        if changed {
            self.data_version += 1;
        }
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
        let (Some(tx), Some(earliest)) = (&self.history, self.earliest_ms) else { return };
        if self.first_data_ms.is_none_or(|t| now_ms - t < 5_000) {
            return;
        }
        let to = self.view.at_ms.unwrap_or(now_ms).min(now_ms);
        let from = (to - self.view.window_ms).max(now_ms - HISTORY_REACH_MS);
        let have = self.asked_from.map_or(earliest, |a| a.min(earliest));
        // A couple of intervals of slack: the first point rarely sits on the edge.
        if from >= have - 2 * self.interval_ms {
            return;
        }
        let metrics = self.store.known_metrics();
        if metrics.is_empty() {
            return;
        }
        let req = HistoryRequest { from_ms: from, to_ms: have, step_ms: self.interval_ms, metrics };
        // A full queue means requests are already in flight; ask again later.
        if tx.try_send(req).is_ok() {
            self.asked_from = Some(from);
        }
    }

    /// Shows another dashboard from the next scene on; history is kept.
    pub fn set_dashboard(&mut self, dashboard: Arc<Dashboard>) {
        self.dashboard = dashboard;
    }

    /// The alert rules to evaluate. Other rules start over: where the old
    /// rules' groups stood is forgotten and their alerts leave the list. The
    /// same rules (a reload for some other edit) carry on as they were.
    pub fn set_rules(&mut self, rules: Arc<Vec<crate::alert::rules::RuleSpec>>) {
        if *self.rules_from == *rules {
            self.rules_from = rules;
            return;
        }
        self.rules = crate::alert::rules::RuleSet::new(rules.to_vec());
        self.rules_from = rules;
        self.alerts.forget(crate::model::OriginKind::Rule);
    }

    /// The SLOs to track. Ledgers of SLOs that stay (same name and SLI) are
    /// kept; the alerts of the others leave the list.
    pub fn set_slos(&mut self, slos: Arc<Vec<crate::slo::SloSpec>>) {
        if *self.slos_from == *slos {
            self.slos_from = slos;
            return;
        }
        let mut ledgers = std::mem::take(&mut self.spare_ledgers);
        ledgers.extend(self.slos.ledgers().iter().cloned());
        self.slos = crate::slo::SloBook::new(slos.to_vec());
        self.restore_ledgers(ledgers);
        self.slos_from = slos;
        self.alerts.forget(crate::model::OriginKind::Slo);
    }

    /// Hands saved ledgers to the SLOs that count the same thing; keeps the
    /// rest for SLOs set later.
    fn restore_ledgers(&mut self, ledgers: Vec<crate::slo::ledger::Ledger>) {
        let (mine, spare): (Vec<_>, Vec<_>) = ledgers.into_iter().partition(|l| self.slos.claims(l));
        self.slos.restore(mine);
        self.spare_ledgers = spare;
    }

    /// Works out the SLOs and files their burn alerts; returns whether
    /// anything shown changed.
    pub fn evaluate_slos(&mut self, now_ms: i64) -> bool {
        let before = self.slos.status().to_vec();
        let changes = self.slos.evaluate(&self.store, now_ms);
        let changed = !changes.is_empty() || before != self.slos.status();
        for (id, alert, change) in changes {
            let alert = alert.map(|mut a| {
                if a.starts_at.is_none() {
                    a.starts_at = self.alerts.get(&id).and_then(|b| b.starts_at);
                }
                a
            });
            if let Some(c) = change {
                tracing::info!(alert = %id, change = c.name(), "SLO burn alert");
                self.tell(c.name(), self.alerts.get(&id), alert.as_ref(), now_ms);
                if let Some(a) = alert.as_ref().or(self.alerts.get(&id)) {
                    self.incidents.alert(a, c, a.value, now_ms, now_ms, false);
                }
            }
            match alert {
                Some(a) => {
                    self.alerts.apply(a);
                }
                None => {
                    self.alerts.remove(&id);
                }
            }
        }
        changed
    }

    /// Evaluates the alert rules and files their alerts with the gateway's;
    /// true when an alert changed state.
    pub fn evaluate_rules(&mut self, now_ms: i64) -> bool {
        let outcomes = self.rules.evaluate(&self.store, now_ms);
        let mut changed = false;
        for o in &outcomes {
            let Some(rule) = self.rules.rules().get(o.index) else { continue };
            let id = crate::alert::rule_alert_id(o);
            let after = crate::alert::rule_alert(rule, o, self.alerts.get(&id), now_ms);
            if let Some(c) = o.change {
                tracing::info!(rule = %o.rule, group = ?o.group, change = c.name(), value = ?o.value, "alert rule");
                self.tell(c.name(), self.alerts.get(&id), after.as_ref(), now_ms);
                if let Some(a) = after.as_ref().or(self.alerts.get(&id)) {
                    self.incidents.alert(a, c, o.value, now_ms, now_ms, false);
                }
                changed = true;
            }
            match after {
                Some(a) => self.alerts.apply(a),
                None => {
                    self.alerts.remove(&id);
                }
            }
        }
        changed
    }

    /// Starts the rules over from what the store holds: plays them across
    /// the reach of their longest `for`, `keep_firing_for` and window (or
    /// all the store holds, if less), and files their alerts as the replay
    /// leaves them. An alert that breached for ten minutes before vigil
    /// started is then firing at once, not pending anew. Returns the
    /// changes the replay went through.
    pub fn replay_rules(&mut self, now_ms: i64) -> usize {
        let started = std::time::Instant::now();
        self.rules = crate::alert::rules::RuleSet::new(self.rules_from.to_vec());
        self.alerts.forget(crate::model::OriginKind::Rule);
        let from = (now_ms - self.rules.reach_ms()).max(self.earliest_ms.unwrap_or(now_ms));
        let changes = self.rules.replay(&self.store, from, now_ms, crate::alert::rules::REPLAY_STEP_MS);
        // Filed in time order, so a resolved alert keeps the start its
        // firing had, and the book ends as the replay's last instant left it.
        for (at, o) in &changes {
            let Some(rule) = self.rules.rules().get(o.index) else { continue };
            let id = crate::alert::rule_alert_id(o);
            let after = crate::alert::rule_alert(rule, o, self.alerts.get(&id), *at);
            if let (Some(c), Some(a)) = (o.change, after.as_ref().or(self.alerts.get(&id))) {
                self.incidents.alert(a, c, o.value, *at, now_ms, true);
            }
            match after {
                Some(a) => self.alerts.apply(a),
                None => {
                    self.alerts.remove(&id);
                }
            }
        }
        self.alerts.prune(now_ms);
        tracing::info!(
            from_ms = from,
            changes = changes.len(),
            took_ms = started.elapsed().as_secs_f64() * 1000.0,
            "alert rules replayed over the backfill"
        );
        changes.len()
    }

    /// What the user is looking at: page, window, instant, filter.
    pub fn set_view(&mut self, view: ViewRequest) {
        self.view = view;
    }

    /// Folds one update in; `now_ms` is the wall clock.
    pub fn apply(&mut self, update: Update, now_ms: i64) {
        match update {
            Update::Catalogue { metrics, interval_ms, source } => {
                self.store.learn(&metrics);
                self.intervals.insert(source, interval_ms.max(1));
                // The grid is as fine as the fastest source.
                self.interval_ms = self.intervals.values().copied().min().unwrap_or(1000);
            }
            Update::Samples { observations, live, source, .. } => {
                self.data_version += 1;
                let interval = self.intervals.get(&source).copied().unwrap_or(self.interval_ms);
                let patience = self.stats.iter().find(|s| s.source == source).map_or(0, |s| s.patience_ms);
                let live_at = live.then(|| Live::at(now_ms, interval, source).waiting(patience));
                for obs in &observations {
                    self.store.insert(obs, live_at);
                }
                if !observations.is_empty() {
                    self.first_data_ms.get_or_insert(now_ms);
                }
                // With a gateway, the header's link and the history asked of
                // it are the gateway's alone; without one, every source's.
                let the_link = source == SourceId::GATEWAY || !self.stats.iter().any(|s| s.is_gateway());
                if let Some(oldest) = observations.iter().map(|o| o.ts).min().filter(|_| the_link) {
                    self.earliest_ms = Some(self.earliest_ms.map_or(oldest, |e| e.min(oldest)));
                }
                if live && !observations.is_empty() {
                    if the_link {
                        self.last_live_ms = Some(now_ms);
                    }
                    self.forget_restored_alerts();
                }
                if !live && !observations.is_empty() {
                    self.slos.history_arrived();
                }
            }
            Update::Alert(a) => {
                let before = self.alerts.get(&a.id);
                // A first frame that is already resolved tells of nothing we saw.
                let news =
                    before.is_none_or(|b| b.state != a.state) && (before.is_some() || a.state != AlertState::Resolved);
                if news {
                    self.tell(a.state.name(), before, Some(&a), now_ms);
                    self.incidents.alert(&a, a.state.into(), a.value, now_ms, now_ms, false);
                }
                self.alerts.apply(a)
            }
            Update::Event(e) => {
                self.incidents.event(&e, now_ms);
                self.data_version += 1;
                self.events.push_front(e);
                self.events.truncate(MAX_EVENTS);
            }
            Update::Status(b) => self.banner = b,
            Update::Conn(c) => {
                self.incidents.link(&c, &self.source.url, now_ms);
                // What the gateway showed is no longer current: its panels
                // turn stale now, not a few intervals later.
                if !c.is_connected() && self.store.expire(SourceId::GATEWAY, now_ms) > 0 {
                    self.data_version += 1;
                }
                self.conn = c;
            }
            Update::Muted { source, muted } => {
                self.muted.insert(source, muted);
            }
            Update::Query { key, error } => {
                let changed = match error {
                    Some(e) => self.query_errors.insert(key, e.clone()).is_none_or(|old| old != e),
                    None => self.query_errors.remove(&key).is_some(),
                };
                if changed {
                    self.data_version += 1;
                }
            }
            Update::Malformed(why) => self.last_malformed = Some(why),
            // The first backfill is the start-up one: history is in, so the
            // rules can learn where they stand. Later ones only fill gaps.
            Update::Backfilled { .. } if !self.rules_replayed => {
                self.rules_replayed = true;
                self.replay_rules(now_ms);
            }
            Update::Backfilled { .. } => {}
        }
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
        // Rules and SLOs on whole steps of the replay's grid, as Prometheus
        // evaluates on an interval: their windows are minutes long, and
        // every second would cost several times what the screen does.
        let step = crate::alert::rules::REPLAY_STEP_MS;
        let due = self.evaluated_at.is_none_or(|t| t.div_euclid(step) != now_ms.div_euclid(step));
        // Not before the start-up history has landed and been replayed (a
        // few seconds of data would raise and drop alerts that the replay
        // then files differently), unless it is slow to come.
        let waited = self.first_data_ms.is_some_and(|t| now_ms - t >= HISTORY_WAIT_MS);
        let due = due && (self.history.is_none() || self.rules_replayed || waited);
        let rules_changed = due && {
            self.evaluated_at = Some(now_ms);
            self.evaluate_rules(now_ms) | self.evaluate_slos(now_ms)
        };
        let alerts_before = self.alerts.len();
        self.alerts.prune(now_ms);
        let pruned = self.alerts.len() != alerts_before;
        let intent_changed = self.prune_intent(now_ms);
        let asked_ms = self.view.at_ms.unwrap_or(now_ms).min(now_ms);
        // While data flows, its next batch moves the grid anyway; publishing
        // the move alone would cost a second derivation and frame.
        let flowing = self.last_live_ms.is_some_and(|t| now_ms - t < 2 * self.interval_ms.max(1000));
        let grid_moved = !flowing && self.span(asked_ms, now_ms).to_ms != self.published_grid_to.get();
        let rows = self.source_table.rows(&self.stats, elapsed, now_ms, self.interval_ms);
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
            || pruned
            || grid_moved
            || rules_changed
            || intent_changed
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
            if *was_up && !link.connected && self.store.expire(s.source, now_ms) > 0 {
                self.data_version += 1;
                changed = true;
            }
            *was_up = link.connected;
            any_up |= link.connected;
            error = error.or(link.last_error.map(|e| format!("{}: {e}", s.name)));
        }
        let gateway = self.stats.iter().any(|s| s.is_gateway());
        if gateway || self.stats.is_empty() {
            return changed;
        }
        let conn = match (&self.conn, any_up, error) {
            (ConnState::Connected { .. }, true, _) => return changed,
            (_, true, _) => ConnState::Connected {
                since_ms: now_ms,
                server: self.stats.iter().map(|s| s.kind.name()).collect::<Vec<_>>().join(", "),
                url: self.source.url.clone(),
                transport: crate::model::Transport::Poll,
            },
            (_, false, Some(error)) => ConnState::Disconnected { error },
            (_, false, None) => return changed,
        };
        if conn != self.conn {
            self.incidents.link(&conn, &self.source.url, now_ms);
            self.conn = conn;
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
        let page_index = self.view.page.min(self.dashboard.pages.len().saturating_sub(1));
        let asked_ms = self.view.at_ms.unwrap_or(now_ms).min(now_ms);
        let span = self.span(asked_ms, now_ms);
        self.published_grid_to.set(span.to_ms);
        let key = PageKey {
            data_version: self.data_version,
            to_ms: span.to_ms,
            step_ms: span.step_ms,
            view: self.view.clone(),
            dashboard: Arc::as_ptr(&self.dashboard) as usize,
        };
        let cached = self.page_cache.borrow().as_ref().filter(|(k, _)| *k == key).map(|(_, p)| p.clone());
        let page = cached.unwrap_or_else(|| {
            let events: Vec<Event> = self.events.iter().cloned().collect();
            let reader = crate::dashboard::query::Reader::with_cache(&self.store, self.grid_cache.take());
            let inputs = page::Inputs {
                store: &self.store,
                reader: &reader,
                events: &events,
                query_errors: &self.query_errors,
                interval_ms: self.interval_ms,
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
            firing: self.alerts.firing(),
            hush: self.hush_of(now_ms),
            filter: filter.to_string(),
            alerts: self
                .alerts
                .sorted()
                .into_iter()
                .filter(|a| filter.matches(&format!("{} {}", a.metric, a.summary), label_pairs(&a.labels)))
                .collect(),
            events: self
                .events
                .iter()
                .filter(|e| e.ts <= asked_ms && filter.matches(&e.text, label_pairs(&e.labels)))
                .take(50)
                .cloned()
                .collect(),
            banner: self.banner.clone(),
            sources: self.source_rows.clone(),
            slos: self.slos.status().to_vec(),
            detail: self.alert_detail(&span, asked_ms),
        }
    }
}

fn label_pairs(labels: &crate::model::Labels) -> impl Iterator<Item = (&str, &str)> {
    labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

/// What the screen wants from the pipeline: which dashboard, and which part
/// of it. The app sends a new one on every page switch, scroll or filter.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub dashboard: Arc<Dashboard>,
    pub view: ViewRequest,
    /// The alert rules of the config now in force.
    pub rules: Arc<Vec<crate::alert::rules::RuleSpec>>,
    /// And its SLOs.
    pub slos: Arc<Vec<crate::slo::SloSpec>>,
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
                        let w = wanted.as_mut().map(|w| w.borrow_and_update().clone());
                        if let Some(w) = w {
                            pipeline.set_dashboard(w.dashboard);
                            pipeline.set_view(w.view);
                            pipeline.set_rules(w.rules);
                            pipeline.set_slos(w.slos);
                            pipeline.set_detail(w.detail);
                            pipeline.want_history(now_ms());
                            pipeline.want_queries(now_ms());
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
