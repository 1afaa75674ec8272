//! The metrics gateway behind `vigil serve`: the simulator's data or real
//! inputs (scraped pages, a Prometheus API, pushed points) over the stream
//! protocol (WebSocket and SSE), REST history and alert subscriptions, with
//! optional bearer-token auth.
//!
//! The simulator's frames come from one ticker task; real inputs' from the
//! hub, which keeps them in the gateway's core and evaluates the rules
//! there once for every screen. Connections only read actions and write
//! what is queued for them. Sessions outlive connections so a client can
//! `resume` after a drop.

mod alerts;
mod auth;
mod book;
mod book_body;
mod book_file;
mod book_rest;
mod event_log;
mod frame_text;
mod held;
mod hub;
mod own_metrics;
mod push;
mod ratelimit;
mod replay;
mod rest;
mod rules;
mod session;
mod signals;
mod snapshot;
mod sse;
mod state;
mod ticker;
mod upstream_history;
mod wal;
mod webhook;
mod ws;

use crate::gateway::inputs;
use crate::gateway::sim::Scenario;
use crate::wire::{
    ACKS_PATH, ALERT_SUBSCRIBE_PATH, ALERTS_PATH, EVENT_HISTORY_PATH, EVENTS_PATH, HISTORICAL_PATH, PUSH_PATH,
    REALTIME_PATH, SILENCES_PATH, STREAM_PATH,
};
use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use axum::serve::ListenerExt;
pub use push::PushLimits;
use state::Shared;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Send buffer asked for on accepted sockets: small enough that a stalled
/// reader fills it (and its queue) after a few hundred KiB, not megabytes.
const SEND_BUFFER_BYTES: usize = 256 * 1024;
/// Updates from the inputs waiting for the hub.
const INPUT_QUEUE: usize = 1024;
/// How long shutdown waits for connections to say goodbye.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Everything `vigil serve` can be told.
#[derive(Clone)]
pub struct ServeOptions {
    /// Address to listen on; port 0 picks a free one.
    pub bind: SocketAddr,
    /// Bearer token every request must carry; `None` (with no
    /// `named_tokens`) means no auth.
    pub token: Option<String>,
    /// More tokens, each with the name of the person it belongs to (the
    /// `NAME TOKEN` lines of a token file): what is acknowledged or
    /// silenced with one is signed with that name.
    pub named_tokens: Vec<(Option<String>, String)>,
    /// Keep one book of acks and silences for every screen (the `acks`
    /// capability). The demo gateway inside a dashboard does not: its one
    /// screen keeps its own file, as with any gateway without the book.
    pub shared_book: bool,
    /// Incident script the simulator plays.
    pub scenario: Scenario,
    /// Seed of the simulator's noise.
    pub seed: u64,
    /// Time between ticks (frames).
    pub interval: Duration,
    /// How long frames stay replayable (the protocol needs at least 5 minutes).
    pub replay_window: Duration,
    /// How long a session without a connection is kept.
    pub session_ttl: Duration,
    /// Frames queued per connection before it is closed as a slow client (1013).
    pub send_queue: usize,
    /// Added to wall time to get simulated time; lets tests start inside an incident.
    pub clock_offset_ms: i64,
    /// What else the gateway is fed, besides or instead of the simulator.
    pub inputs: Inputs,
    /// What one producer may push.
    pub push: PushLimits,
    /// The rules evaluated over real inputs and pushed points (the
    /// simulator has its own).
    pub rules: Vec<crate::core::alert::rules::RuleSpec>,
    /// The SLOs whose budgets and burn alerts are worked out over real
    /// inputs and pushed points, once for every screen.
    pub slos: Vec<crate::core::slo::SloSpec>,
    /// Where what must outlive a restart is kept: the held store, the push
    /// log, and the book of acks and silences; `None` keeps nothing on disk
    /// (the dashboard's embedded demo, tests).
    pub state_dir: Option<std::path::PathBuf>,
    /// How often the held store is saved there.
    pub save_every: Duration,
}

/// Real data for the gateway to serve.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inputs {
    /// `/metrics` pages read every interval.
    pub scrape: Vec<String>,
    /// A Prometheus-compatible API, and the selectors read from it.
    pub prometheus: Option<String>,
    pub matches: Vec<String>,
    /// Play the simulator: by default only when no other input is given.
    pub simulate: Option<bool>,
}

impl Inputs {
    /// Whether any real input is given.
    pub fn real(&self) -> bool {
        !self.scrape.is_empty() || self.prometheus.is_some()
    }

    /// Whether the simulator plays.
    pub fn simulating(&self) -> bool {
        self.simulate.unwrap_or(!self.real())
    }

    /// What is wrong with the inputs, in one line: selectors without a
    /// server to ask or the other way round, a selector that cannot be one,
    /// a URL that cannot be read.
    pub fn check(&self) -> Result<(), String> {
        match (&self.prometheus, self.matches.is_empty()) {
            (Some(_), true) => return Err("--prometheus needs at least one --match selector".into()),
            (None, false) => return Err("--match needs --prometheus, the API to read it from".into()),
            _ => {}
        }
        for m in &self.matches {
            inputs::prometheus::check_selector(m).map_err(|e| format!("--match {m}: {e}"))?;
        }
        let pages = self.scrape.iter().map(|s| inputs::named(s).1);
        for url in pages.chain(self.prometheus.iter().map(String::as_str)) {
            match reqwest::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                _ => return Err(format!("{url:?} is not an http:// or https:// URL")),
            }
        }
        Ok(())
    }
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            bind: SocketAddr::from(([127, 0, 0, 1], 7878)),
            token: None,
            named_tokens: Vec::new(),
            shared_book: true,
            scenario: Scenario::Tour,
            seed: 1,
            interval: Duration::from_secs(1),
            replay_window: Duration::from_secs(6 * 60),
            session_ttl: Duration::from_secs(10 * 60),
            send_queue: 256,
            clock_offset_ms: 0,
            inputs: Inputs::default(),
            push: PushLimits::default(),
            rules: crate::core::alert::defaults::rules(),
            slos: Vec::new(),
            state_dir: None,
            save_every: Duration::from_secs(60),
        }
    }
}

impl fmt::Debug for ServeOptions {
    /// Never prints the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeOptions")
            .field("bind", &self.bind)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("named_tokens", &self.named_tokens.iter().map(|(user, _)| user).collect::<Vec<_>>())
            .field("shared_book", &self.shared_book)
            .field("scenario", &self.scenario)
            .field("seed", &self.seed)
            .field("interval", &self.interval)
            .field("replay_window", &self.replay_window)
            .field("session_ttl", &self.session_ttl)
            .field("send_queue", &self.send_queue)
            .field("clock_offset_ms", &self.clock_offset_ms)
            .field("inputs", &self.inputs)
            .field("push", &self.push)
            .field("state_dir", &self.state_dir)
            .field("save_every", &self.save_every)
            .finish()
    }
}

/// A running gateway.
pub struct Gateway {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: Option<JoinHandle<()>>,
    /// The ticker or hub and the inputs' readers.
    tasks: Vec<JoinHandle<()>>,
}

impl Gateway {
    /// Binds, warms up the alert rules and starts serving in the background.
    pub async fn start(opts: ServeOptions) -> anyhow::Result<Gateway> {
        // Webhooks may use TLS; a second crypto provider elsewhere would
        // otherwise make building a TLS config panic. Already installed is fine.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let shared = Arc::new(Shared::new(&opts)?);
        let listener = tokio::net::TcpListener::bind(opts.bind)
            .await
            .with_context(|| format!("cannot listen on {}", opts.bind))?;
        let addr = listener.local_addr()?;

        // What was kept is back before any input or producer adds to it.
        let mut tasks = Vec::new();
        if let Some(dir) = opts.state_dir.clone() {
            let work = Arc::clone(&shared);
            let opened = tokio::task::spawn_blocking(move || {
                snapshot::Kept::open(&dir, &work.state_key, work.held())
                    .with_context(|| format!("cannot keep the gateway's store in {}", dir.display()))
            });
            shared.keep(opened.await??);
            tasks.push(tokio::spawn(snapshot::run(Arc::clone(&shared), opts.save_every)));
        }
        if let Some(base) = &opts.inputs.prometheus {
            let history =
                upstream_history::UpstreamHistory::connect(base, &opts.inputs.matches, shared.interval_ms()).await?;
            let _ = shared.upstream.set(history);
        }
        let (updates, hub_rx) = tokio::sync::mpsc::channel(INPUT_QUEUE);
        tasks.push(tokio::spawn(hub::run(Arc::clone(&shared), hub_rx)));
        if shared.book_offered {
            tasks.push(tokio::spawn(book::run(Arc::clone(&shared))));
        }
        tasks.extend(inputs::spawn(&opts, shared.shutdown.clone(), updates).await?);
        let t0 = shared.sim_now();
        shared.last_tick_ms.store(t0, std::sync::atomic::Ordering::Relaxed);
        if shared.simulating {
            tasks.push(Self::start_simulator(&shared, t0).await?);
        }

        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
            if let Err(e) = socket2::SockRef::from(&*tcp).set_send_buffer_size(SEND_BUFFER_BYTES) {
                tracing::debug!(error = %e, "could not set SO_SNDBUF");
            }
        });
        let app = router(Arc::clone(&shared)).into_make_service_with_connect_info::<SocketAddr>();
        let stop = shared.shutdown.clone();
        let server = tokio::spawn(async move {
            let served = axum::serve(listener, app).with_graceful_shutdown(async move { stop.cancelled().await }).await;
            if let Err(e) = served {
                tracing::error!(error = %e, "gateway server stopped");
            }
        });
        if shared.simulating {
            tracing::info!(%addr, scenario = opts.scenario.name(), seed = opts.seed, auth = opts.token.is_some(), "gateway listening");
        }
        if opts.inputs.real() {
            let i = &opts.inputs;
            tracing::info!(%addr, scrape = i.scrape.len(), prometheus = i.prometheus.as_deref().unwrap_or("-"), selectors = i.matches.len(), auth = opts.token.is_some(), "gateway listening, reading inputs");
        } else if !shared.simulating {
            tracing::info!(%addr, auth = opts.token.is_some(), "gateway listening for pushed points only");
        }
        Ok(Gateway { addr, shared, server: Some(server), tasks })
    }

    /// Warms the simulator's rules on the last minutes, fills the day's
    /// events and the current banner, and starts its ticker.
    async fn start_simulator(shared: &Arc<Shared>, t0: i64) -> anyhow::Result<JoinHandle<()>> {
        let warm = Arc::clone(shared);
        let engine = tokio::task::spawn_blocking(move || ticker::warmed_engine(&warm, t0)).await?;
        *shared.lock_active_alerts() = engine.current();
        // Incidents are shorter than an hour, so the last hour's status
        // changes say whether a banner is up right now.
        if let Some(last) = shared.sim.status_between(t0 - 3_600_000, t0).last() {
            shared.note_status(last);
        }
        // The day before the start, as a gateway running all along would
        // remember it: a client must not miss the deploy behind an incident
        // because the gateway restarted after it.
        let past = shared.sim.events_between(t0 - event_log::KEEP_MS, t0);
        shared.lock_events().extend(past, t0);
        Ok(tokio::spawn(ticker::run(Arc::clone(shared), engine, t0)))
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL for REST, e.g. `http://127.0.0.1:7878`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.connectable())
    }

    /// URL of the WebSocket stream.
    pub fn stream_url(&self) -> String {
        format!("ws://{}{STREAM_PATH}", self.connectable())
    }

    /// The bound address, with a wildcard IP replaced by loopback so the URLs work.
    fn connectable(&self) -> SocketAddr {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr {
                SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
            });
        }
        addr
    }

    /// Stops accepting, closes every stream (WebSocket with 1001) and ends all tasks.
    pub async fn shutdown(mut self) {
        self.shared.shutdown.cancel();
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, self.shared.live.drained()).await;
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await.is_err()
        {
            // A keep-alive connection that never finishes its request.
            server.abort();
        }
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        // Every push answered is in the log already; saving now leaves the
        // next start nothing to replay, and keeps what the inputs read.
        snapshot::save_now(&self.shared).await;
        tracing::info!("gateway stopped");
    }
}

impl Drop for Gateway {
    /// A gateway dropped without `shutdown` still stops: its tasks see the
    /// cancellation and wind down on their own.
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
    }
}

/// Runs a gateway until SIGINT or SIGTERM.
pub async fn run_until_signal(opts: ServeOptions) -> anyhow::Result<()> {
    // Listened for before the gateway says where it listens: whoever reads
    // that line (a service manager, a test) may stop it at once, and a
    // SIGTERM that came before the handler would kill it without a clean
    // shutdown.
    let mut stop = StopSignals::listen()?;
    let gateway = Gateway::start(opts).await?;
    // The one line a person starting the gateway needs to see.
    eprintln!("vigil gateway listening on {} (stream {})", gateway.http_url(), gateway.stream_url());
    stop.wait().await;
    gateway.shutdown().await;
    Ok(())
}

/// SIGINT and SIGTERM, caught from the moment this is made.
struct StopSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn listen() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignals { term: signal(SignalKind::terminate())?, int: signal(SignalKind::interrupt())? })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    async fn wait(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Every route, behind (outermost first) request metrics, the rate limit and auth.
fn router(shared: Arc<Shared>) -> Router {
    let subscribe_path = format!("{ALERT_SUBSCRIBE_PATH}/{{id}}");
    let mut routes = Router::new();
    if shared.book_offered {
        let body = || DefaultBodyLimit::max(book_rest::MAX_BODY);
        routes = routes
            .route(&format!("{ALERTS_PATH}/{{id}}/ack"), post(book_rest::ack).layer(body()).delete(book_rest::unack))
            .route(ACKS_PATH, get(book_rest::acks))
            .route(SILENCES_PATH, post(book_rest::create_silence).layer(body()).get(book_rest::silences))
            .route(&format!("{SILENCES_PATH}/{{id}}"), delete(book_rest::expire_silence));
    }
    routes
        .route(STREAM_PATH, get(ws::handler))
        .route(EVENTS_PATH, get(sse::handler))
        .route(REALTIME_PATH, get(rest::realtime))
        .route(HISTORICAL_PATH, get(rest::historical))
        .route(EVENT_HISTORY_PATH, get(event_log::handler))
        .route(PUSH_PATH, post(push::handler).layer(DefaultBodyLimit::disable()))
        .route(ALERT_SUBSCRIBE_PATH, post(alerts::create).layer(DefaultBodyLimit::max(alerts::MAX_BODY)))
        .route(&subscribe_path, delete(alerts::delete))
        .route("/healthz", get(rest::healthz))
        .route("/metrics", get(own_metrics::handler))
        .fallback(rest::not_found)
        .method_not_allowed_fallback(rest::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&shared), auth::require_token))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&shared), ratelimit::limit))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&shared), own_metrics::track))
        .with_state(shared)
}
