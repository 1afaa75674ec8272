//! What every route and the ticker share: options, the simulator, the
//! session table, the SSE hub and the gateway's own counters.
//!
//! Every lock here is a `std::sync::Mutex` held only for synchronous work;
//! nothing awaits while holding one.

use super::ServeOptions;
use super::alerts::SubscriptionBook;
use super::auth::Token;
use super::book::Book;
use super::event_log::EventLog;
use super::held::Held;
use super::own_metrics::OwnMetrics;
use super::push::PushLimits;
use super::ratelimit::{RateLimit, RateLimiter};
use super::replay::ReplayLimits;
use super::session::SessionTable;
use super::snapshot::Kept;
use super::sse::SseHub;
use super::webhook::WebhookSender;
use crate::gateway::sim::Simulator;
use crate::wire::{AlertFrame, MetricInfo, MetricKind, MetricsFrame, ServerFrame, StatusFrame, WireTime, now_ms};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// State shared by the routes, the connections and the ticker.
pub(crate) struct Shared {
    /// What `hello` names the server: the version, then what the data
    /// comes from. Clients that kept data from an earlier run tell by it
    /// whether this is still the producer of that data.
    pub server: String,
    pub interval: Duration,
    pub clock_offset_ms: i64,
    pub send_queue: usize,
    pub sim: Simulator,
    /// Whether the simulator plays (alone or beside real inputs).
    pub simulating: bool,
    /// Whether a metric not seen yet may still come, so a subscription to
    /// it is kept rather than refused: real inputs and producers bring new
    /// names at any time.
    pub open_catalogue: bool,
    /// The core real inputs and pushes are kept in.
    held: Held,
    /// With `--prometheus`: history from before what `held` keeps.
    pub upstream: std::sync::OnceLock<super::upstream_history::UpstreamHistory>,
    /// What the held store's files in the state dir are named by: the
    /// inputs, as `server` names them without the version, so a gateway
    /// fed otherwise never restores this one's data, and an upgrade keeps it.
    pub state_key: String,
    /// The held store's state file and push log, once opened at start;
    /// unset when the gateway keeps nothing on disk.
    kept: OnceLock<Kept>,
    pub push_limits: PushLimits,
    /// Points a second each client may push.
    pub push_budget: RateLimiter,
    pub catalogue: Vec<MetricInfo>,
    kinds: HashMap<String, MetricKind>,
    pub token: Option<Token>,
    pub sessions: Mutex<SessionTable>,
    pub sse: SseHub,
    /// Server-rule alerts now pending or firing, for sessions that subscribe later.
    pub active_alerts: Mutex<Vec<AlertFrame>>,
    /// The last status change when it is not "ok": a banner newcomers must see too.
    pub current_status: Mutex<Option<StatusFrame>>,
    pub subscriptions: Mutex<SubscriptionBook>,
    /// The acks and silences every screen shares, when the gateway keeps
    /// them (see `book.rs`). Locked before any other lock it is held with:
    /// while it is held, no other alert frame goes out.
    book: Mutex<Book>,
    /// Whether the gateway offers the book (the `acks` capability).
    pub book_offered: bool,
    /// Events of the last day, for clients that connect after them.
    pub events: Mutex<EventLog>,
    /// The simulated time of the newest tick (of the start, before the
    /// first tick): what a new subscriber is sent at once.
    pub last_tick_ms: AtomicI64,
    pub webhooks: WebhookSender,
    pub metrics: OwnMetrics,
    pub limiter: RateLimiter,
    pub shutdown: CancellationToken,
    pub live: LiveConnections,
    next_conn_id: AtomicU64,
}

impl Shared {
    pub fn new(opts: &ServeOptions) -> anyhow::Result<Self> {
        let sim = Simulator::new(opts.seed, opts.scenario);
        let catalogue = sim.catalogue();
        let kinds = catalogue.iter().map(|m| (m.name.clone(), m.kind)).collect();
        let interval = opts.interval.max(Duration::from_millis(1));
        // A session gets a metrics frame per tick plus the odd alert or event.
        let session_limits = ReplayLimits::for_stream(opts.replay_window, interval, 2);
        // The simulator's output is a function of these and the time alone,
        // so two gateways that agree on them produce the same series.
        let offset = match opts.clock_offset_ms {
            0 => String::new(),
            ms => format!(", offset {ms} ms"),
        };
        let simulating = opts.inputs.simulating();
        let version = env!("CARGO_PKG_VERSION");
        let state_key = state_key(opts, simulating);
        let server = if opts.inputs.real() {
            let sim = if simulating {
                format!(", sim {} seed {}{offset}", opts.scenario.name(), opts.seed)
            } else {
                String::new()
            };
            format!("vigil/{version} (inputs {:08x}{sim})", inputs_digest(&opts.inputs))
        } else {
            format!("vigil/{version} (sim {} seed {}{offset})", opts.scenario.name(), opts.seed)
        };
        // The rules run over real data; over the simulator's they are its own.
        let own = opts.inputs.real() || !simulating;
        let rules = if own { opts.rules.clone() } else { Vec::new() };
        let slos = if own { opts.slos.clone() } else { Vec::new() };
        let held = Held::new(rules, slos, interval.as_millis() as i64);
        let push_limits = opts.push;
        let push_budget = RateLimiter::new(RateLimit {
            burst: (push_limits.points_per_second * 2.0).max(push_limits.max_points as f64),
            per_second: push_limits.points_per_second,
        });
        Ok(Shared {
            server,
            interval,
            clock_offset_ms: opts.clock_offset_ms,
            send_queue: opts.send_queue.max(4),
            sim,
            simulating,
            open_catalogue: opts.inputs.real() || !simulating,
            held,
            upstream: std::sync::OnceLock::new(),
            state_key,
            kept: OnceLock::new(),
            push_limits,
            push_budget,
            catalogue,
            kinds,
            token: token_of(opts),
            sessions: Mutex::new(SessionTable::new(session_limits, opts.session_ttl)),
            sse: SseHub::new(session_limits, opts.send_queue.max(16)),
            active_alerts: Mutex::new(Vec::new()),
            current_status: Mutex::new(None),
            subscriptions: Mutex::new(SubscriptionBook::default()),
            book: Mutex::new(if opts.shared_book {
                Book::open(opts.state_dir.as_deref().map(super::book_file::path_in))
            } else {
                Book::default()
            }),
            book_offered: opts.shared_book,
            events: Mutex::new(EventLog::default()),
            last_tick_ms: AtomicI64::new(0),
            webhooks: WebhookSender::new(),
            metrics: OwnMetrics::default(),
            limiter: RateLimiter::new(RateLimit::default()),
            shutdown: CancellationToken::new(),
            live: LiveConnections::default(),
            next_conn_id: AtomicU64::new(1),
        })
    }

    /// The tick interval in milliseconds (at least 1).
    pub fn interval_ms(&self) -> i64 {
        (self.interval.as_millis() as i64).max(1)
    }

    /// Simulated now: wall time plus the configured offset, aligned down to the interval.
    pub fn sim_now(&self) -> i64 {
        let t = now_ms().saturating_add(self.clock_offset_ms);
        t.div_euclid(self.interval_ms()) * self.interval_ms()
    }

    /// The kind of a metric the gateway serves; `None` when unknown.
    pub fn kind_of(&self, metric: &str) -> Option<MetricKind> {
        let sim = if self.simulating { self.kinds.get(metric).copied() } else { None };
        sim.or_else(|| self.held.kind_of(metric))
    }

    /// Whether the simulator answers for a metric (its history is computed).
    pub fn simulated(&self, metric: &str) -> bool {
        self.simulating && self.kinds.contains_key(metric)
    }

    /// What `hello` says the gateway does beyond the protocol.
    pub fn capabilities(&self) -> Vec<String> {
        let mut caps = Vec::new();
        if self.held.has_rules() {
            caps.push(crate::wire::CAP_RULES.to_string());
        }
        if self.held.has_slos() {
            caps.push(crate::wire::CAP_SLOS.to_string());
        }
        caps.extend([crate::wire::CAP_EVENTS.to_string(), crate::wire::CAP_INGEST.to_string()]);
        if self.book_offered {
            caps.push(crate::wire::CAP_ACKS.to_string());
        }
        caps
    }

    /// The core of real inputs and pushes.
    pub fn held(&self) -> &Held {
        &self.held
    }

    /// The held store's files, when the gateway keeps them.
    pub fn kept(&self) -> Option<&Kept> {
        self.kept.get()
    }

    /// Sets where the held store is kept; once, at start.
    pub fn keep(&self, kept: Kept) {
        if self.kept.set(kept).is_err() {
            tracing::warn!("the held store's files were opened twice; the second is ignored");
        }
    }

    /// What `hello` lists: the simulator's metrics when it plays, then
    /// every one the inputs and producers brought.
    pub fn catalogue(&self) -> Vec<MetricInfo> {
        let mut out = if self.simulating { self.catalogue.clone() } else { Vec::new() };
        out.extend(self.held.catalogue().into_iter().filter(|m| !self.simulated(&m.name)));
        out
    }

    /// A fresh id for a WebSocket connection.
    pub fn next_conn_id(&self) -> u64 {
        self.next_conn_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn lock_sessions(&self) -> MutexGuard<'_, SessionTable> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn lock_active_alerts(&self) -> MutexGuard<'_, Vec<AlertFrame>> {
        self.active_alerts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a status change; statuses that say all is well clear it.
    pub fn note_status(&self, status: &StatusFrame) {
        let clear = matches!(status.status.as_str(), "ok" | "healthy" | "live");
        *self.current_status.lock().unwrap_or_else(|e| e.into_inner()) =
            (!clear).then(|| StatusFrame { seq: None, ..status.clone() });
    }

    /// What a client starting afresh is told before live frames: the
    /// current degraded status, if any, then the alerts now active.
    pub fn greeting(&self) -> Vec<ServerFrame> {
        let status = self.current_status.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let alerts = super::book::active_alerts(self);
        let alerts = self.lock_book().marked(alerts, crate::wire::now_ms());
        status
            .into_iter()
            .map(ServerFrame::Status)
            .chain(alerts.into_iter().map(|a| ServerFrame::Alert(AlertFrame { seq: None, ..a })))
            .collect()
    }

    /// The newest tick's points, as it sent them (the simulator gives the
    /// same values for the same instant), for a session that subscribes
    /// now: its first data then does not wait up to an interval for the
    /// next tick.
    pub fn latest_metrics(&self) -> MetricsFrame {
        let t = self.last_tick_ms.load(Ordering::Relaxed);
        let mut points = if self.simulating { self.sim.sample(t) } else { Vec::new() };
        let now = now_ms();
        points.extend(self.held.latest(now - super::hub::current_for(self.interval)));
        MetricsFrame { seq: None, timestamp: WireTime(if self.simulating { t } else { now }), points }
    }

    pub fn lock_events(&self) -> MutexGuard<'_, EventLog> {
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn lock_book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn lock_subscriptions(&self) -> MutexGuard<'_, SubscriptionBook> {
        self.subscriptions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Counts long-lived connections (WebSocket and SSE) so shutdown can wait
/// until every one has said goodbye.
#[derive(Default)]
pub(crate) struct LiveConnections {
    count: AtomicU64,
    drained: Notify,
}

impl LiveConnections {
    /// Registers a connection until the returned guard is dropped; `gauge` is
    /// the per-transport gauge kept alongside.
    pub fn enter(shared: &Arc<Shared>, gauge: fn(&OwnMetrics) -> &AtomicU64) -> LiveGuard {
        shared.live.count.fetch_add(1, Ordering::SeqCst);
        OwnMetrics::inc(gauge(&shared.metrics));
        LiveGuard { shared: Arc::clone(shared), gauge }
    }

    /// Waits until no connection is left.
    pub async fn drained(&self) {
        loop {
            let notified = self.drained.notified();
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Held by a connection for as long as it lives.
pub(crate) struct LiveGuard {
    shared: Arc<Shared>,
    gauge: fn(&OwnMetrics) -> &AtomicU64,
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        OwnMetrics::dec((self.gauge)(&self.shared.metrics));
        if self.shared.live.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.shared.live.drained.notify_waiters();
        }
    }
}

/// Every token a client may present: the options' own, and the named ones.
fn token_of(opts: &ServeOptions) -> Option<Token> {
    let mut all: Vec<(Option<String>, String)> = opts.token.iter().map(|t| (None, t.clone())).collect();
    all.extend(opts.named_tokens.iter().cloned());
    (!all.is_empty()).then(|| Token::many(all))
}

/// The name of the held store's files: the inputs' digest, and the
/// simulator's scenario and seed when it plays (the held store then has
/// only what producers pushed, but another scenario is another producer).
fn state_key(opts: &ServeOptions, simulating: bool) -> String {
    let inputs = format!("inputs-{:08x}", inputs_digest(&opts.inputs));
    let sim = format!("sim-{}-{}", opts.scenario.name(), opts.seed);
    match (opts.inputs.real(), simulating) {
        (true, true) => format!("{inputs}-{sim}"),
        (false, true) => sim,
        (_, false) => inputs,
    }
}

/// A short, stable digest of what the inputs read, for `hello`'s server
/// name: another set of inputs is another producer (FNV-1a).
fn inputs_digest(inputs: &super::Inputs) -> u32 {
    let mut parts: Vec<&str> = inputs.scrape.iter().map(String::as_str).collect();
    parts.sort();
    parts.extend(inputs.prometheus.as_deref());
    let mut matches: Vec<&str> = inputs.matches.iter().map(String::as_str).collect();
    matches.sort();
    parts.extend(matches);
    let mut h: u32 = 0x811c_9dc5;
    for b in parts.join("\n").bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}
