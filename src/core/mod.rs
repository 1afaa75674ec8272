//! The core: what vigil knows, and nothing else. It folds every update a
//! source sends into the store, the alert book, the events and the
//! incident timeline; it evaluates the alert rules and SLOs; it keeps what
//! people said about alerts (acks and silences) as data. Its API is
//! `apply(update, now)`, `evaluate(now)` and read access; it does no I/O,
//! knows no terminal and no tokio, so the TUI's pipeline, `vigil tail` and
//! `vigil check` each run one, and the gateway can.
//!
//! The services around it live with the programs that need them: saving
//! and restoring, the exec hook, history and PromQL demand and the scene
//! for the screen in `pipeline`, the JSON lines in `headless`. An alert
//! change the hook should hear of is left in the core's outbox
//! ([`Core::take_told`]) for whoever runs the hook.
//!
//! Its parts: the plain domain types (`model`, `units`), the store of
//! series (`store`), the query engine over it (`query`) and the names by
//! which services expose their golden signals (`golden`), alert rules, their
//! lifecycle and what people said about alerts (`alert`), SLOs (`slo`), the
//! incident timeline and reports (`incident`), and words both the screen
//! and the reports write (`format`, `filter`).
//!
//! The file formats of what it keeps (acks and silences, the timeline,
//! incident reports) sit beside the types they hold; the services decide
//! when to read and write them.
//!
//! May import: `wire`'s number, time and text helpers. Never a source, the
//! dashboards, the TUI, the headless commands or the gateway (tests may
//! play the demo simulator into a store).

pub mod alert;
pub mod filter;
pub mod format;
pub mod golden;
pub mod incident;
mod incidents;
pub mod model;
mod producer;
pub mod query;
pub mod slo;
pub mod store;
pub mod units;

pub use incidents::Incidents;

use crate::core::alert::AlertBook;
use crate::core::alert::intent::{Hush, Intent, Wish};
use crate::core::alert::rules::{REPLAY_STEP_MS, RuleSet, RuleSpec};
use crate::core::alert::upstream::Upstream;
use crate::core::model::{
    Alert, AlertState, ConnState, Event, Labels, Muted, OriginKind, SourceId, StatusBanner, Update,
};
use crate::core::slo::{SloBook, SloSpec, ledger::Ledger};
use crate::core::store::{Live, Placed, Store};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

/// Events remembered.
pub const MAX_EVENTS: usize = 200;
/// How long rules wait for the start-up history before they run without it.
const HISTORY_WAIT_MS: i64 = 15_000;

/// What a core is told at its start about the sources that feed it.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// Whether a gateway (or the demo) feeds it: its link is then the
    /// header's link, and its data the history rules are replayed over.
    pub gateway: bool,
    /// The gateway's URL as the timeline names it (the preferred endpoint).
    pub url: String,
    /// How long each source's answers may take (a polled source's request
    /// timeout): what it sent stays fresh this much longer.
    pub patience_ms: BTreeMap<SourceId, i64>,
    /// Whether start-up history will be fetched, so the rules wait for it
    /// (up to [`HISTORY_WAIT_MS`]) before their first evaluation.
    pub history: bool,
    /// Play the rules over the whole start-up backfill, not only their
    /// reach: `tail` prints every change the history it fetched holds.
    pub replay_backfill: bool,
    /// How often the rules and SLOs are evaluated, on whole steps of it;
    /// `None` for the replay's step, as the dashboard does. `tail` says a
    /// second, so its lines come as soon as a change happens.
    pub every_ms: Option<i64>,
}

/// How far the data has come: what `vigil check` waits for before it
/// gives a verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Progress {
    /// A catalogue arrived (or live data from a stream that sends none).
    pub catalogue: bool,
    /// Where the first backfill began, and whether every metric came.
    pub backfill: Option<(i64, bool)>,
    /// Live data arrived.
    pub live: bool,
    /// The newest point's own timestamp.
    pub newest_ms: Option<i64>,
}

/// One alert change, for the exec hook and `tail`: the book's versions
/// around it (`after` is `None` for an alert that left the book).
#[derive(Debug, Clone, PartialEq)]
pub struct Told {
    /// What happened, in the hook's words: a rule's or SLO's change, or the
    /// state a gateway's alert moved to.
    pub change: &'static str,
    /// The rule's or SLO's change itself; `None` for others' alerts.
    pub step: Option<crate::core::alert::engine::Change>,
    pub before: Option<Alert>,
    pub after: Option<Alert>,
    /// The value the change was decided on.
    pub value: Option<f64>,
    pub at_ms: i64,
    /// Found by playing the rules over history, not seen live.
    pub replayed: bool,
    /// Who had acknowledged the alert, and whether a silence covered it,
    /// when it changed (an ack ends with its alert, before anyone drains
    /// the outbox).
    pub acked_by: Option<String>,
    pub silenced: bool,
}

/// What an evaluation changed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Evaluated {
    /// Something shown changed: an alert, an SLO's status.
    pub shown: bool,
    /// Acks or silences ended, and want saving.
    pub intent: bool,
}

#[derive(Debug)]
pub struct Core {
    pub store: Store,
    pub(crate) alerts: AlertBook,
    pub(crate) events: VecDeque<Event>,
    pub(crate) banner: Option<StatusBanner>,
    pub(crate) conn: ConnState,
    /// The finest data interval of any source: the grid's finest step.
    pub(crate) interval_ms: i64,
    /// Each source's data interval, from its catalogue.
    intervals: BTreeMap<SourceId, i64>,
    /// Alerts other systems keep quiet, by the source that says so.
    pub(crate) muted: BTreeMap<SourceId, Vec<Muted>>,
    /// PromQL queries whose last run failed, by the store name of their
    /// results, with why: shown on the panels that asked.
    pub(crate) query_errors: HashMap<String, String>,
    pub(crate) last_malformed: Option<String>,
    pub(crate) last_live_ms: Option<i64>,
    /// Until when each source's newest live data counts as fresh; ended
    /// early when its link goes down.
    fresh_until: BTreeMap<SourceId, i64>,
    /// The oldest point that arrived (live or backfilled) over the link.
    pub(crate) earliest_ms: Option<i64>,
    /// When data first arrived.
    pub(crate) first_data_ms: Option<i64>,
    /// Bumped by every change a page is derived from (points, events,
    /// query errors).
    pub(crate) data_version: u64,
    /// The alert rules, evaluated on whole steps, and the list they came
    /// from (the same list again keeps their state).
    pub(crate) rules: RuleSet,
    rules_from: Arc<Vec<RuleSpec>>,
    /// SLOs, their ledgers and burn alerts; and ledgers read back from disk
    /// that no SLO has claimed yet (the config may come after the restore).
    pub(crate) slos: SloBook,
    slos_from: Arc<Vec<SloSpec>>,
    spare_ledgers: Vec<Ledger>,
    evaluated_at: Option<i64>,
    /// The gateway evaluates the rules: the core keeps the list it was
    /// given but runs none of it.
    rules_upstream: bool,
    /// The gateway raises the SLOs' burn alerts (see [`Update::SlosUpstream`]).
    slos_upstream: bool,
    /// Whether the rules were played over the start-up backfill yet, and
    /// how many changes that replay went through.
    rules_replayed: bool,
    replayed_changes: usize,
    /// Acknowledgements and silences.
    pub(crate) intent: Intent,
    /// What the gateway's book says of its alerts, when it keeps one.
    pub(crate) upstream: Upstream,
    /// The incident timeline.
    pub(crate) incidents: Incidents,
    /// Wall clock of a restore, until live data arrives: alerts not heard
    /// of since then are forgotten at that point (they may have ended).
    pub(crate) restored_at: Option<i64>,
    /// Who produced the data held, and what was read back from disk before
    /// the gateway confirmed it is the same (see `producer.rs`).
    producer: Option<String>,
    unconfirmed: producer::Unconfirmed,
    setup: Setup,
    progress: Progress,
    /// Alert changes for the hook; `None` while nobody listens.
    told: Option<VecDeque<Told>>,
}

impl Told {
    /// A change seen now (not replayed); who acked and whether it is
    /// silenced are filled in when the core notes it.
    fn new(
        change: &'static str,
        step: Option<crate::core::alert::engine::Change>,
        before: Option<Alert>,
        after: Option<Alert>,
        value: Option<f64>,
        at_ms: i64,
    ) -> Told {
        Told { change, step, before, after, value, at_ms, replayed: false, acked_by: None, silenced: false }
    }
}

impl Default for Core {
    fn default() -> Core {
        Core::new(Setup::default())
    }
}

impl Core {
    pub fn new(setup: Setup) -> Core {
        Core {
            store: Store::default(),
            alerts: AlertBook::default(),
            events: VecDeque::new(),
            banner: None,
            conn: ConnState::Connecting { attempt: 0 },
            interval_ms: 1000,
            intervals: BTreeMap::new(),
            muted: BTreeMap::new(),
            query_errors: HashMap::new(),
            last_malformed: None,
            last_live_ms: None,
            fresh_until: BTreeMap::new(),
            earliest_ms: None,
            first_data_ms: None,
            data_version: 0,
            rules: RuleSet::default(),
            rules_from: Arc::default(),
            slos: SloBook::default(),
            slos_from: Arc::default(),
            spare_ledgers: Vec::new(),
            evaluated_at: None,
            rules_replayed: false,
            rules_upstream: false,
            slos_upstream: false,
            replayed_changes: 0,
            intent: Intent::default(),
            upstream: Upstream::default(),
            incidents: Incidents::default(),
            restored_at: None,
            producer: None,
            unconfirmed: Default::default(),
            setup,
            progress: Progress::default(),
            told: None,
        }
    }

    /// Start-up history will be fetched: the rules wait for it.
    pub fn expect_history(&mut self) {
        self.setup.history = true;
    }

    /// Keeps alert changes for [`Core::take_told`] from now on. The caller
    /// drains them after every `apply` and `evaluate`: a replay over a day
    /// of history may note thousands at once, and none may be lost.
    pub fn tell_changes(&mut self) {
        self.told.get_or_insert_with(VecDeque::new);
    }

    /// The alert changes since the last call, oldest first.
    pub fn take_told(&mut self) -> Vec<Told> {
        self.told.as_mut().map(|t| t.drain(..).collect()).unwrap_or_default()
    }

    fn tell(&mut self, mut t: Told) {
        if self.told.is_none() {
            return;
        }
        if let Some(alert) = t.after.as_ref().or(t.before.as_ref()) {
            let hush = self.hush_of(alert, t.at_ms).unwrap_or_default();
            t.acked_by = hush.acked_by;
            t.silenced = hush.silenced.is_some();
        }
        if let Some(told) = &mut self.told {
            told.push_back(t);
        }
    }

    // ------------------------------------------------------------ reading

    pub fn alerts(&self) -> &AlertBook {
        &self.alerts
    }

    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.events.iter()
    }

    pub fn banner(&self) -> Option<&StatusBanner> {
        self.banner.as_ref()
    }

    pub fn conn(&self) -> &ConnState {
        &self.conn
    }

    pub fn interval_ms(&self) -> i64 {
        self.interval_ms
    }

    pub fn muted(&self) -> impl Iterator<Item = &Muted> {
        self.muted.values().flatten()
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    pub fn slos(&self) -> &SloBook {
        &self.slos
    }

    pub fn intent(&self) -> &Intent {
        &self.intent
    }

    /// What the gateway's book says of its alerts.
    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// How one alert stands with people: by the gateway's book when that
    /// speaks for it, else by vigil's own.
    pub fn hush_of(&self, alert: &Alert, now_ms: i64) -> Option<Hush> {
        if self.upstream.holds(alert) {
            self.upstream.marks(&alert.id).and_then(|m| m.hush(now_ms))
        } else {
            self.intent.hush(alert, now_ms)
        }
    }

    /// Whether a silence (the gateway's or vigil's own) keeps `alert` quiet.
    pub fn silenced(&self, alert: &Alert, now_ms: i64) -> bool {
        self.hush_of(alert, now_ms).is_some_and(|h| h.silenced.is_some())
    }

    pub fn timeline(&self) -> &crate::core::incident::Timeline {
        self.incidents.timeline()
    }

    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// Until when the freshest live data held counts as fresh, whichever
    /// source sent it; `None` before any arrived live.
    pub fn fresh_until_ms(&self) -> Option<i64> {
        self.fresh_until.values().max().copied()
    }

    /// How many changes the last replay of the rules went through.
    pub fn replayed_changes(&self) -> usize {
        self.replayed_changes
    }

    /// Whether the rules were played over the start-up history.
    pub fn rules_replayed(&self) -> bool {
        self.rules_replayed
    }

    /// How each alert stands with people: vigil's own acks and silences,
    /// and what another system keeps quiet.
    pub fn hush(&self, now_ms: i64) -> BTreeMap<String, Hush> {
        let intent = &self.intent;
        let mut hush: BTreeMap<String, Hush> =
            if intent.acks.is_empty() && intent.silences.is_empty() && self.upstream.is_empty() {
                BTreeMap::new()
            } else {
                self.alerts.sorted().iter().filter_map(|a| Some((a.id.clone(), self.hush_of(a, now_ms)?))).collect()
            };
        // Unless a silence of vigil's own covers it already.
        for m in self.muted.values().flatten() {
            if self.alerts.get(&m.alert_id).is_some() {
                let h = hush.entry(m.alert_id.clone()).or_default();
                if h.silenced.is_none() {
                    h.silenced = Some((m.until_ms.unwrap_or(i64::MAX), m.by.clone()));
                }
            }
        }
        hush
    }

    // ----------------------------------------------------------- updates

    /// Folds one update in; `now_ms` is the wall clock.
    pub fn apply(&mut self, update: Update, now_ms: i64) {
        self.apply_noting(update, now_ms, &mut |_| {});
    }

    /// [`Core::apply`] for samples the caller keeps: a gateway sends the
    /// same points on to its screens after they are folded in.
    pub fn apply_samples(
        &mut self,
        observations: &[crate::core::model::Observation],
        live: bool,
        source: SourceId,
        now_ms: i64,
    ) {
        self.samples(observations, live, source, now_ms, &mut |_| {});
    }

    /// [`Core::apply`], calling `added` with every point the store did not
    /// hold before (`tail` prints each point once this way).
    pub fn apply_noting(
        &mut self,
        update: Update,
        now_ms: i64,
        added: &mut dyn FnMut(&crate::core::model::Observation),
    ) {
        match update {
            Update::Catalogue { metrics, interval_ms, source } => {
                self.store.learn(&metrics);
                self.progress.catalogue = true;
                self.intervals.insert(source, interval_ms.max(1));
                // The grid is as fine as the fastest source.
                self.interval_ms = self.intervals.values().copied().min().unwrap_or(1000);
            }
            Update::Samples { observations, live, source, .. } => {
                self.samples(&observations, live, source, now_ms, added)
            }
            Update::Alert(a) => {
                let before = self.alerts.get(&a.id);
                // A first frame that is already resolved tells of nothing we saw.
                let news =
                    before.is_none_or(|b| b.state != a.state) && (before.is_some() || a.state != AlertState::Resolved);
                if news {
                    let before = before.cloned();
                    let (change, value) = (a.state.name(), a.value);
                    let after = Some(a.clone());
                    // The timeline keeps the change at the time the gateway
                    // gives for it: an alert that was firing before vigil
                    // connected started then, not at the connection.
                    let at = match a.state {
                        AlertState::Resolved => a.ends_at,
                        _ if before.is_none() => a.starts_at,
                        _ => None,
                    };
                    let at = at.map_or(now_ms, |t| t.min(now_ms));
                    self.tell(Told::new(change, None, before, after, value, now_ms));
                    self.incidents.alert(&a, a.state.into(), a.value, at, now_ms, false);
                }
                self.alerts.apply(a)
            }
            Update::Event(e) => {
                self.add_event(e, now_ms);
            }
            Update::Status(b) => self.banner = b,
            Update::Conn(c) => {
                self.incidents.link(&c, &self.setup.url, now_ms);
                // Only a gateway says who it is; without one, the header's
                // link names the kinds of sources instead.
                if let (true, ConnState::Connected { server, .. }) = (self.setup.gateway, &c) {
                    self.hello_from(server);
                }
                // What the gateway showed is no longer current: its panels
                // turn stale now, not a few intervals later.
                if !c.is_connected() && self.expire(SourceId::GATEWAY, now_ms) {
                    self.data_version += 1;
                }
                self.conn = c;
            }
            Update::Muted { source, muted } => {
                self.muted.insert(source, muted);
            }
            Update::BookUpstream(offered) => self.upstream.offer(offered),
            Update::Marked { id, marks } => {
                self.upstream.note(id, marks);
            }
            // For the screen's status bar: the pipeline shows it.
            Update::BookError(_) => {}
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
            Update::RulesUpstream => {
                if !self.rules_upstream {
                    self.rules_upstream = true;
                    self.rules = RuleSet::default();
                    self.alerts.forget(OriginKind::Rule);
                }
            }
            Update::SlosUpstream => {
                if !self.slos_upstream {
                    self.slos_upstream = true;
                    self.alerts.forget(OriginKind::Slo);
                }
            }
            Update::Backfilled { from_ms, complete, .. } => {
                self.progress.backfill.get_or_insert((from_ms, complete));
                // The first backfill is the start-up one: history is in, so
                // the rules can learn where they stand. Later ones only
                // fill gaps.
                if !self.rules_replayed {
                    self.rules_replayed = true;
                    let from = self.setup.replay_backfill.then_some(from_ms);
                    self.replay_rules_from(from, now_ms);
                }
            }
        }
    }

    fn samples(
        &mut self,
        observations: &[crate::core::model::Observation],
        live: bool,
        source: SourceId,
        now_ms: i64,
        added: &mut dyn FnMut(&crate::core::model::Observation),
    ) {
        self.data_version += 1;
        let interval = self.intervals.get(&source).copied().unwrap_or(self.interval_ms);
        let patience = self.setup.patience_ms.get(&source).copied().unwrap_or(0);
        let live_at = live.then(|| Live::at(now_ms, interval, patience, source));
        for obs in observations {
            if matches!(self.store.insert(obs, live_at), Placed::Added | Placed::Folded) {
                added(obs);
            }
        }
        let Some(newest) = observations.iter().map(|o| o.ts).max() else { return };
        if let Some(l) = live_at {
            self.fresh_until.insert(source, l.fresh_until_ms);
        }
        self.first_data_ms.get_or_insert(now_ms);
        self.progress.newest_ms = Some(self.progress.newest_ms.map_or(newest, |n| n.max(newest)));
        // A stream that announces no catalogue (SSE) is known by its data.
        self.progress.catalogue |= live;
        self.progress.live |= live;
        // With a gateway, the header's link and the history asked of it are
        // the gateway's alone; without one, every source's.
        let the_link = source == SourceId::GATEWAY || !self.setup.gateway;
        if let Some(oldest) = observations.iter().map(|o| o.ts).min().filter(|_| the_link) {
            self.earliest_ms = Some(self.earliest_ms.map_or(oldest, |e| e.min(oldest)));
        }
        if live {
            if the_link {
                self.last_live_ms = Some(now_ms);
            }
            self.forget_restored_alerts();
        }
        // Points from before the ledgers' newest settled bucket (history, or
        // a producer pushing what it missed) are counted again soon.
        let oldest = observations.iter().map(|o| o.ts).min().unwrap_or(newest);
        if !live || oldest < now_ms - crate::core::slo::ledger::BUCKET_MS {
            self.slos.history_arrived();
        }
    }

    /// What a source showed turns stale now: its link went down. Returns
    /// whether anything shown changed.
    pub fn source_lost(&mut self, source: SourceId, now_ms: i64) -> bool {
        let expired = self.expire(source, now_ms);
        if expired {
            self.data_version += 1;
        }
        expired
    }

    /// Ends the freshness of what `source` sent, at `now_ms` at the latest;
    /// returns whether any series changed.
    fn expire(&mut self, source: SourceId, now_ms: i64) -> bool {
        if let Some(until) = self.fresh_until.get_mut(&source) {
            *until = (*until).min(now_ms);
        }
        self.store.expire(source, now_ms) > 0
    }

    /// At the first live data after a restore, forgets restored alerts that
    /// the gateway has not mentioned since: they may have ended meanwhile.
    fn forget_restored_alerts(&mut self) {
        let Some(at) = self.restored_at.take() else { return };
        self.alerts.retain(|a| a.updated_ms >= at);
    }

    /// Errors of PromQL queries no panel asks for any more are dropped, and
    /// `missing` (queries no source can run, with why) are set; returns
    /// whether any changed.
    pub fn query_errors_for(
        &mut self,
        wanted: &std::collections::HashSet<String>,
        missing: Vec<(String, String)>,
    ) -> bool {
        let before = self.query_errors.len();
        self.query_errors.retain(|k, _| wanted.contains(k));
        let mut changed = self.query_errors.len() != before;
        for (key, why) in missing {
            changed |= self.query_errors.insert(key, why.clone()).is_none_or(|old| old != why);
        }
        if changed {
            self.data_version += 1;
        }
        changed
    }

    // ------------------------------------------------------ rules and SLOs

    /// The alert rules to evaluate. Other rules start over: where the old
    /// rules' groups stood is forgotten and their alerts leave the list. The
    /// same rules (a reload for some other edit) carry on as they were.
    pub fn set_rules(&mut self, rules: Arc<Vec<RuleSpec>>) {
        if *self.rules_from == *rules {
            self.rules_from = rules;
            return;
        }
        if !self.rules_upstream {
            self.rules = RuleSet::new(rules.to_vec());
        }
        self.rules_from = rules;
        self.alerts.forget(OriginKind::Rule);
    }

    /// The SLOs to track. Ledgers of SLOs that stay (same name and SLI) are
    /// kept; the alerts of the others leave the list.
    pub fn set_slos(&mut self, slos: Arc<Vec<SloSpec>>) {
        if *self.slos_from == *slos {
            self.slos_from = slos;
            return;
        }
        let mut ledgers = std::mem::take(&mut self.spare_ledgers);
        ledgers.extend(self.slos.ledgers().iter().cloned());
        self.slos = SloBook::new(slos.to_vec());
        self.restore_ledgers(ledgers);
        self.slos_from = slos;
        self.alerts.forget(OriginKind::Slo);
    }

    /// Hands saved ledgers to the SLOs that count the same thing; keeps the
    /// rest for SLOs set later.
    pub fn restore_ledgers(&mut self, ledgers: Vec<Ledger>) {
        let (mine, spare): (Vec<_>, Vec<_>) = ledgers.into_iter().partition(|l| self.slos.claims(l));
        self.slos.restore(mine);
        self.spare_ledgers = spare;
    }

    /// Once a second: evaluates the rules and SLOs when a step is due, ages
    /// out old alerts and ends acks and silences that are over.
    pub fn evaluate(&mut self, now_ms: i64) -> Evaluated {
        // Rules and SLOs on whole steps of the replay's grid, as Prometheus
        // evaluates on an interval: their windows are minutes long, and
        // every second would cost several times what the screen does.
        let step = self.setup.every_ms.unwrap_or(REPLAY_STEP_MS).max(1);
        let due = self.evaluated_at.is_none_or(|t| t.div_euclid(step) != now_ms.div_euclid(step));
        // Not before the start-up history has landed and been replayed (a
        // few seconds of data would raise and drop alerts that the replay
        // then files differently), unless it is slow to come.
        let waited = self.first_data_ms.is_some_and(|t| now_ms - t >= HISTORY_WAIT_MS);
        let due = due && (!self.setup.history || self.rules_replayed || waited);
        let rules_changed = due && {
            self.evaluated_at = Some(now_ms);
            self.evaluate_rules(now_ms) | self.evaluate_slos(now_ms)
        };
        let alerts_before = self.alerts.len();
        self.alerts.prune(now_ms);
        let pruned = self.alerts.len() != alerts_before;
        let intent = self.intent.prune(&self.alerts, now_ms);
        let alerts = &self.alerts;
        self.upstream.retain(|id| alerts.get(id).is_some());
        Evaluated { shown: rules_changed || pruned || intent, intent }
    }

    /// Works out the SLOs and files their burn alerts; returns whether
    /// anything shown changed.
    pub fn evaluate_slos(&mut self, now_ms: i64) -> bool {
        let before = self.slos.status().to_vec();
        let mut changes = self.slos.evaluate(&self.store, now_ms);
        // The gateway's burn alerts come as its alert frames.
        if self.slos_upstream {
            changes.clear();
        }
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
                let before = self.alerts.get(&id).cloned();
                if let Some(a) = alert.as_ref().or(before.as_ref()) {
                    self.incidents.alert(a, c, a.value, now_ms, now_ms, false);
                }
                let value = alert.as_ref().and_then(|a| a.value);
                let after = alert.clone();
                self.tell(Told::new(c.name(), Some(c), before, after, value, now_ms));
            }
            match alert {
                Some(a) => self.alerts.apply(a),
                None => {
                    self.alerts.remove(&id);
                }
            }
        }
        changed
    }

    /// Evaluates the alert rules and files their alerts with the others;
    /// true when an alert changed state.
    pub fn evaluate_rules(&mut self, now_ms: i64) -> bool {
        let outcomes = self.rules.evaluate(&self.store, now_ms);
        let mut changed = false;
        for o in &outcomes {
            let Some(rule) = self.rules.rules().get(o.index) else { continue };
            let id = crate::core::alert::rule_alert_id(o);
            let before = self.alerts.get(&id).cloned();
            let after = crate::core::alert::rule_alert(rule, o, before.as_ref(), now_ms);
            if let Some(c) = o.change {
                tracing::info!(rule = %o.rule, group = ?o.group, change = c.name(), value = ?o.value, "alert rule");
                if let Some(a) = after.as_ref().or(before.as_ref()) {
                    self.incidents.alert(a, c, o.value, now_ms, now_ms, false);
                }
                let told = Told::new(c.name(), Some(c), before, after.clone(), o.value, now_ms);
                self.tell(told);
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
        self.replay_rules_from(None, now_ms)
    }

    /// [`Core::replay_rules`] from `from_ms` when given, else from the
    /// rules' reach; further back when that does not reach the start of an
    /// alert still shown (see [`replay_to_starts`]).
    pub fn replay_rules_from(&mut self, from_ms: Option<i64>, now_ms: i64) -> usize {
        let started = std::time::Instant::now();
        self.alerts.forget(OriginKind::Rule);
        // The history held, however it came: restored from the state file,
        // fetched over REST, or seen live.
        let floor = self.store.oldest_ms().unwrap_or(now_ms).min(now_ms);
        let first_try = from_ms.unwrap_or((now_ms - self.rules.reach_ms()).max(floor));
        // A gateway that evaluates the rules leaves none to replay here.
        let specs: &[RuleSpec] = if self.rules_upstream { &[] } else { &self.rules_from };
        let (rules, changes, from) = replay_to_starts(specs, &self.store, first_try, floor, now_ms);
        self.rules = rules;
        // Filed in time order, so a resolved alert keeps the start its
        // firing had, and the book ends as the replay's last instant left it.
        for (at, o) in &changes {
            let Some(rule) = self.rules.rules().get(o.index) else { continue };
            let id = crate::core::alert::rule_alert_id(o);
            let after = crate::core::alert::rule_alert(rule, o, self.alerts.get(&id), *at);
            if let (Some(c), Some(a)) = (o.change, after.as_ref().or(self.alerts.get(&id))) {
                self.incidents.alert(a, c, o.value, *at, now_ms, true);
                let before = self.alerts.get(&id).cloned();
                let after = after.clone();
                self.tell(Told { replayed: true, ..Told::new(c.name(), Some(c), before, after, o.value, *at) });
            }
            match after {
                Some(a) => self.alerts.apply(a),
                None => {
                    self.alerts.remove(&id);
                }
            }
        }
        self.alerts.prune(now_ms);
        self.replayed_changes = changes.len();
        tracing::info!(
            from_ms = from,
            changes = changes.len(),
            took_ms = started.elapsed().as_secs_f64() * 1000.0,
            "alert rules replayed over the backfill"
        );
        changes.len()
    }

    // -------------------------------------------------------------- people

    /// Carries out one wish of `user`'s; true when it changed anything.
    pub fn grant(&mut self, wish: &Wish, user: &str, now_ms: i64) -> bool {
        let changed = self.intent.grant(wish, &self.alerts, user, now_ms);
        if changed {
            tracing::info!(?wish, by = user, "alert intent");
        }
        changed
    }

    /// Takes acks and silences read back from disk.
    pub fn restore_intent(&mut self, intent: Intent) {
        self.intent = intent;
    }

    /// Takes a timeline read back from disk. Events already held (read
    /// from the saved state) join it, so a report has them even when the
    /// timeline's file did not.
    pub fn restore_timeline(&mut self, timeline: crate::core::incident::Timeline, now_ms: i64) {
        self.incidents.restore(timeline);
        for e in &self.events {
            self.incidents.event(e, now_ms);
        }
    }

    /// Keeps an event, newest first, unless it is held already: the same
    /// deploy arrives live, again from the gateway's event history after a
    /// reconnect, and from the saved state. Events are told apart by time,
    /// kind, text and labels (the stream's seq numbers a session, not the
    /// event, and history has none). Returns whether it was new.
    pub fn add_event(&mut self, e: Event, now_ms: i64) -> bool {
        // Newest first: skip those newer, then look through those at the same instant.
        let at = self.events.partition_point(|held| held.ts > e.ts);
        if self.events.range(at..).take_while(|held| held.ts == e.ts).any(|held| *held == e) {
            return false;
        }
        if at >= MAX_EVENTS {
            // Older than everything a full list keeps.
            return false;
        }
        self.incidents.event(&e, now_ms);
        self.data_version += 1;
        self.events.insert(at, e);
        self.events.truncate(MAX_EVENTS);
        true
    }
}

/// Plays `specs` over `store` from `from_ms` to `now_ms`, then again over
/// twice the span, and so on down to `floor_ms` (the oldest history held),
/// while an alert the replay leaves shown was already breaching at its
/// first verdict: its start lies further back. The rules' reach is enough
/// to know where each group stands, not when its alert began; an alert on
/// for an hour would otherwise start anew at every restart. The search
/// stops where the alerts' starts are found, so its cost follows the
/// longest alert, not the history held. Returns the rules as the last
/// replay left them, its changes and where it began.
fn replay_to_starts(
    specs: &[RuleSpec],
    store: &Store,
    mut from_ms: i64,
    floor_ms: i64,
    now_ms: i64,
) -> (RuleSet, Vec<(i64, crate::core::alert::rules::Outcome)>, i64) {
    use crate::core::alert::engine::Change;
    loop {
        let mut rules = RuleSet::new(specs.to_vec());
        let changes = rules.replay(store, from_ms, now_ms, REPLAY_STEP_MS);
        // A resolved alert stays listed a while, with its start.
        let listed = |at: i64| now_ms - at < crate::core::alert::KEEP_RESOLVED_MS;
        let open = rules.any_open()
            || changes.iter().any(|(at, o)| o.open && o.change == Some(Change::Resolved) && listed(*at));
        if !open || from_ms <= floor_ms {
            return (rules, changes, from_ms);
        }
        from_ms = (now_ms - 2 * (now_ms - from_ms).max(REPLAY_STEP_MS)).max(floor_ms);
    }
}

/// A label set as (name, value) pairs, for filters.
pub fn label_pairs(labels: &Labels) -> impl Iterator<Item = (&str, &str)> {
    labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ts: i64, text: &str) -> Event {
        Event { ts, kind: "deploy".into(), text: text.into(), labels: Labels::new() }
    }

    #[test]
    fn events_are_kept_newest_first_and_once() {
        let mut core = Core::default();
        let now = 1_751_279_400_000;
        // Live first, then the history fetched on connecting, which holds it again.
        assert!(core.add_event(event(now - 1_000, "live"), now));
        assert!(core.add_event(event(now - 60_000, "older"), now));
        assert!(!core.add_event(event(now - 1_000, "live"), now), "the same event again");
        assert!(core.add_event(event(now - 1_000, "beside it"), now), "another at the same instant");
        assert!(core.add_event(event(now - 30_000, "between"), now));
        let texts: Vec<&str> = core.events().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, ["beside it", "live", "between", "older"]);
        // A full list keeps the newest.
        for i in 0..MAX_EVENTS as i64 {
            core.add_event(event(now + i, "more"), now + i);
        }
        assert_eq!(core.events().count(), MAX_EVENTS);
        assert!(!core.add_event(event(now - 120_000, "too old for the list"), now + 500));
        assert!(core.events().all(|e| e.ts >= now));
    }

    use crate::core::model::{Kind, MetricMeta, Observation, Sample, SeriesKey};

    const RULE: &str = r#"
        name = "error rate"
        metric = "errors"
        divide_by = { metric = "requests" }
        by = "service"
        op = ">"
        threshold = 0.01
        for = "2m"
        over = "1m"
    "#;

    /// A core whose store holds `api`'s counters from `from_s` to `to_s`
    /// seconds, failing 5% of requests from 300 s on.
    fn core_with_history(from_s: i64, to_s: i64) -> Core {
        let mut core = Core::default();
        core.store.learn(&[
            MetricMeta { name: "requests".into(), kind: Kind::Counter, unit: String::new(), help: String::new() },
            MetricMeta { name: "errors".into(), kind: Kind::Counter, unit: String::new(), help: String::new() },
        ]);
        for sec in from_s..=to_s {
            let errors = 5.0 * (sec - 300).max(0) as f64;
            for (metric, v) in [("requests", 100.0 * sec as f64), ("errors", errors)] {
                let key = SeriesKey::new(metric).with("service", "api");
                core.store.insert(&Observation { key, ts: sec * 1000, sample: Sample::Number(v) }, None);
            }
        }
        core.set_rules(Arc::new(vec![toml::from_str(RULE).unwrap()]));
        core
    }

    fn api(core: &Core) -> Alert {
        core.alerts().get("rule:error rate:service=api").cloned().expect("the api alert")
    }

    #[test]
    fn a_replay_reaches_back_to_where_a_long_alert_began() {
        // Firing for most of an hour: far more than the rule's reach of
        // three minutes, which alone would have it fire anew at the end.
        let mut core = core_with_history(0, 3_000);
        core.replay_rules(3_000_000);
        let a = api(&core);
        assert_eq!((a.state, a.starts_at, a.open_start), (AlertState::Firing, Some(440_000), false), "{a:?}");
        assert!(core.rules().any_open() == a.open_start);
    }

    #[test]
    fn a_start_before_the_history_held_is_only_a_bound() {
        // The history begins at 1000 s, mid-breach: it fired at the first
        // instant the data can show, `for` after its window was held (the
        // oldest point sits in a coarse slot, so within a step of that).
        let mut core = core_with_history(1_000, 3_000);
        core.replay_rules(3_000_000);
        let start = api(&core).start().expect("a start");
        assert!(start.at_least, "{start:?}");
        let first = 1_000_000 + 60_000 + 120_000;
        assert!((first..=first + REPLAY_STEP_MS).contains(&start.at_ms), "{start:?}");
    }
}
