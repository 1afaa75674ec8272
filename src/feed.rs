//! Starting the data path, shared by the dashboard and `tail`: resolve where
//! data comes from (flags over config over defaults), start the embedded demo
//! gateway when there is nowhere else, and spawn the sources.

use crate::cli::SourceArgs;
use crate::config::{self, Config, SourceKind, SourceSpec};
use crate::core::model::{SourceId, Update};
use crate::gateway::serve::{Gateway, ServeOptions};
use crate::sources::SourceStats;
use crate::sources::auth::Auth;
use crate::sources::gateway::link::{Control, Link, LinkOptions};
use crate::sources::history;
use crate::sources::prometheus::{self, Wants};
use crate::tui::scene::SourceInfo;
use anyhow::Context;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// History fetched when a source starts.
pub const START_BACKFILL: Duration = Duration::from_secs(15 * 60);
/// Updates buffered between the sources and whoever consumes them.
const CHANNEL: usize = 1024;
/// Requests to the link (reconnect now) waiting at once; one is enough.
const CONTROL: usize = 4;

/// Where requests to the link go, and where the link reads them: made
/// before the feed starts when something (the screen) must hold the
/// sending end from the first moment.
pub fn control_channel() -> (mpsc::Sender<Control>, mpsc::Receiver<Control>) {
    mpsc::channel(CONTROL)
}

/// Where data will come from, resolved but not yet started.
#[derive(Debug, Clone)]
pub struct Plan {
    pub config: Config,
    /// Gateways, preferred first; empty means the embedded demo.
    pub gateways: Vec<String>,
    pub token: Option<String>,
    /// The config file read, if any (watched for changes).
    pub config_path: Option<std::path::PathBuf>,
    /// How much history each source fetches when it starts.
    pub backfill: Duration,
    /// Prometheus APIs, metrics pages and Alertmanagers, each named.
    pub sources: Vec<SourceSpec>,
}

impl Plan {
    /// Whether vigil runs on its embedded demo: no gateway and no other source.
    pub fn demo(&self) -> bool {
        self.gateways.is_empty() && self.sources.is_empty()
    }

    /// What names this set of sources for the state file: the gateways
    /// (alone, as before there were other sources), then each source.
    pub fn identity(&self) -> Vec<String> {
        let others = self.sources.iter().map(|s| format!("{} {}", s.kind.name(), s.url));
        self.gateways.iter().cloned().chain(others).collect()
    }
}

/// Loads the config and lays the source flags over it.
pub fn plan(args: &SourceArgs) -> anyhow::Result<Plan> {
    let (mut config, config_path) = Config::load(args.config.as_deref())?;
    for url in &args.urls {
        anyhow::ensure!(config::is_stream_url(url), "--url {url:?} must start with ws:// or wss://");
    }
    if !args.urls.is_empty() {
        // Flags replace the file's gateways rather than adding to them.
        config.url = None;
        config.urls = args.urls.clone();
    }
    if args.token_file.is_some() {
        config.token_file = args.token_file.clone();
    }
    if args.ca_file.is_some() {
        config.ca_file = args.ca_file.clone();
    }
    if let Some(s) = &args.scenario {
        config.demo.scenario = s.parse().map_err(|e: String| anyhow::anyhow!("--scenario: {e}"))?;
    }
    if let Some(seed) = args.seed {
        config.demo.seed = seed;
    }
    let sources = sources(&config, args)?;
    let token = match &config.token_file {
        Some(p) => Some(read_token(p)?),
        None => std::env::var("VIGIL_TOKEN").ok().map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
    };
    Ok(Plan { gateways: config.gateways(), token, config, config_path, backfill: START_BACKFILL, sources })
}

/// The config's `[[source]]` tables and the flags' sources after them, all named.
fn sources(config: &Config, args: &SourceArgs) -> anyhow::Result<Vec<SourceSpec>> {
    let mut out = config.source.clone();
    let flags = [
        ("--prometheus", SourceKind::Prometheus, &args.prometheus),
        ("--scrape", SourceKind::Scrape, &args.scrape),
        ("--alertmanager", SourceKind::Alertmanager, &args.alertmanager),
    ];
    for (flag, kind, urls) in flags {
        for url in urls {
            let spec = SourceSpec::from_flag(kind, url);
            spec.check().map_err(|(_, msg)| anyhow::anyhow!("{flag} {msg}"))?;
            out.push(spec);
        }
    }
    if let Some(service) = &args.service {
        let mut prometheus = out.iter_mut().filter(|s| s.kind == SourceKind::Prometheus).peekable();
        anyhow::ensure!(prometheus.peek().is_some(), "--service needs a Prometheus source (--prometheus URL)");
        for s in prometheus.filter(|s| s.service.is_none()) {
            s.service = Some(service.clone());
        }
    }
    crate::config::sources::name_all(&mut out);
    Ok(out)
}

/// Reads a bearer token from a file; the token never appears in messages.
/// The file holds the token alone, or one line of a gateway's token file
/// (`alice TOKEN`; see `config::token_file`).
pub fn read_token(path: &Path) -> anyhow::Result<String> {
    crate::config::token_file::read_one(path)
}

/// A running data path.
pub struct Feed {
    pub updates: mpsc::Receiver<Update>,
    /// One per gateway endpoint, in preference order, then one per source.
    pub stats: Vec<Arc<SourceStats>>,
    pub info: SourceInfo,
    /// Asks the link to reconnect now, and the like.
    pub control: mpsc::Sender<Control>,
    /// Asks for a span of history the store lacks.
    pub history: mpsc::Sender<history::Request>,
    /// Changes for the gateway's book of acks and silences, when it keeps one.
    pub book: mpsc::Sender<crate::sources::gateway::book::Call>,
    /// Tells the Prometheus sources which queries are wanted.
    pub promql: watch::Sender<Arc<Wants>>,
    gateway: Option<Gateway>,
    tasks: Vec<JoinHandle<()>>,
    cancel: CancellationToken,
}

impl Feed {
    /// Starts the demo gateway if needed and every source.
    pub async fn start(plan: &Plan) -> anyhow::Result<Feed> {
        Feed::start_with(plan, control_channel()).await
    }

    /// As [`Feed::start`], with the link's control channel made beforehand
    /// (see [`control_channel`]).
    pub async fn start_with(
        plan: &Plan,
        (control, control_rx): (mpsc::Sender<Control>, mpsc::Receiver<Control>),
    ) -> anyhow::Result<Feed> {
        let cancel = CancellationToken::new();
        // Reading the platform's certificates takes a while; the demo
        // gateway's warm-up runs meanwhile on the other core.
        let ca_file = plan.config.ca_file.clone();
        let tls = tokio::task::spawn_blocking(move || crate::sources::tls::client_config(ca_file.as_deref()));
        // With nowhere else to read from, the demo runs in-process but is
        // reached over loopback through the same client a remote gateway gets.
        let demo_gateway = async {
            if !plan.demo() {
                return Ok(None);
            }
            let opts = ServeOptions {
                bind: "127.0.0.1:0".parse()?,
                scenario: plan.config.demo.scenario,
                seed: plan.config.demo.seed,
                // The demo's one screen keeps its acks and silences in its own file.
                shared_book: false,
                ..ServeOptions::default()
            };
            Gateway::start(opts).await.context("cannot start the demo gateway").map(Some)
        };
        let (tls, gateway) = tokio::join!(tls, demo_gateway);
        let gateway = gateway?;
        let clients = tls.map_err(|e| anyhow::anyhow!("cannot read the certificates: {e}")).and_then(|tls| {
            let tls = tls?;
            let http = crate::sources::tls::http_client(&tls)?;
            Ok((tls, http))
        });
        let (tls, http) = match clients {
            Ok(clients) => clients,
            Err(e) => {
                if let Some(gw) = gateway {
                    gw.shutdown().await;
                }
                return Err(e);
            }
        };
        let (gateway, urls, demo) = match gateway {
            Some(gw) => {
                let url = gw.stream_url();
                (Some(gw), vec![url], Some(plan.config.demo.scenario.name().to_string()))
            }
            None => (None, plan.gateways.clone(), None),
        };
        let (tx, updates) = mpsc::channel(CHANNEL);
        let mut stats: Vec<Arc<SourceStats>> = urls.iter().map(|u| Arc::new(SourceStats::for_url(u))).collect();
        let (history, history_rx) = mpsc::channel(4);
        let (book, book_rx) = mpsc::channel(16);
        let mut tasks = Vec::new();
        if !urls.is_empty() {
            // The demo gateway is our own and alone: no reason to stagger the first dial.
            let first_jitter = gateway.is_none();
            let opts = LinkOptions {
                urls: urls.clone(),
                token: plan.token.clone(),
                backfill: plan.backfill,
                tls,
                first_jitter,
                timing: Default::default(),
            };
            let fetcher = history::serve(
                history_rx,
                urls.clone(),
                stats.clone(),
                plan.token.clone(),
                http.clone(),
                tx.clone(),
                cancel.clone(),
            );
            let link = Link::new(opts, tx.clone(), stats.clone(), control_rx)?;
            tasks.push(tokio::spawn(link.run(cancel.clone())));
            tasks.push(tokio::spawn(fetcher));
            let book_opts = crate::sources::gateway::book::Options {
                urls: urls.clone(),
                stats: stats.clone(),
                token: plan.token.clone(),
                http: http.clone(),
            };
            let calls = crate::sources::gateway::book::serve(book_rx, book_opts, tx.clone(), cancel.clone());
            tasks.push(tokio::spawn(calls));
        }
        let (promql, promql_rx) = watch::channel(Arc::new(Wants::default()));
        let mut first_prometheus = true;
        for (i, spec) in plan.sources.iter().enumerate() {
            let id = SourceId(i as u16 + 1);
            let name = spec.name.clone().unwrap_or_else(|| spec.kind.name().to_string());
            let interval_ms = spec.interval().as_millis() as i64;
            let mut s = SourceStats::for_source(id, spec.kind, &name, &spec.url, interval_ms);
            s.patience_ms = spec.timeout().as_millis() as i64;
            let s = Arc::new(s);
            stats.push(s.clone());
            let auth = Auth::of(spec).with_context(|| format!("source {name:?}"))?;
            match spec.kind {
                SourceKind::Prometheus => {
                    let client = prometheus::api::Client::new(http.clone(), &spec.url, auth, spec.timeout());
                    let opts = prometheus::Options {
                        id,
                        name,
                        first: std::mem::take(&mut first_prometheus),
                        client,
                        interval: spec.interval(),
                        stats: s,
                    };
                    let run = prometheus::run(opts, promql_rx.clone(), tx.clone(), cancel.clone());
                    tasks.push(tokio::spawn(run));
                }
                SourceKind::Alertmanager => {
                    let opts = crate::sources::alertmanager::poll::Options {
                        id,
                        name,
                        url: spec.url.clone(),
                        http: http.clone(),
                        auth,
                        interval: spec.interval(),
                        timeout: spec.timeout(),
                        stats: s,
                    };
                    tasks.push(tokio::spawn(crate::sources::alertmanager::poll::run(opts, tx.clone(), cancel.clone())));
                }
                SourceKind::Gateway => anyhow::bail!("source {name:?}: a gateway is given by --url or [connection]"),
                SourceKind::Scrape => {
                    use crate::sources::scrape::poll as scrape_poll;
                    let opts = scrape_poll::Options {
                        id,
                        name,
                        url: spec.url.clone(),
                        job: spec.job.clone().unwrap_or_else(|| scrape_poll::default_job(&spec.url)),
                        http: http.clone(),
                        auth,
                        interval: spec.interval(),
                        timeout: spec.timeout(),
                        stats: s,
                    };
                    tasks.push(tokio::spawn(scrape_poll::run(opts, tx.clone(), cancel.clone())));
                }
            }
        }
        let url = urls.first().or(plan.sources.first().map(|s| &s.url)).cloned().unwrap_or_default();
        let info = SourceInfo { url, demo };
        Ok(Feed { updates, stats, info, control, history, book, promql, gateway, tasks, cancel })
    }

    /// Takes the update channel, leaving an empty one behind.
    pub fn take_updates(&mut self) -> mpsc::Receiver<Update> {
        std::mem::replace(&mut self.updates, mpsc::channel(1).1)
    }

    /// Stops the sources and the demo gateway, waiting a little for both.
    pub async fn stop(self) {
        self.cancel.cancel();
        let Feed { gateway, tasks, .. } = self;
        let _ = tokio::time::timeout(Duration::from_secs(2), async move {
            for t in tasks {
                let _ = t.await;
            }
            if let Some(gw) = gateway {
                gw.shutdown().await;
            }
        })
        .await;
    }
}
