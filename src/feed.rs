//! Starting the data path, shared by the dashboard and `tail`: resolve where
//! data comes from (flags over config over defaults), start the embedded demo
//! gateway when there is nowhere else, and spawn the sources.

use crate::cli::SourceArgs;
use crate::config::{self, Config};
use crate::model::Update;
use crate::scene::SourceInfo;
use crate::serve::{Gateway, ServeOptions};
use crate::source::SourceStats;
use crate::source::history;
use crate::source::link::{Control, Link, LinkOptions};
use anyhow::Context;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// History fetched when a source starts.
pub const START_BACKFILL: Duration = Duration::from_secs(15 * 60);
/// Updates buffered between the sources and whoever consumes them.
const CHANNEL: usize = 1024;

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
    let token = match &config.token_file {
        Some(p) => Some(read_token(p)?),
        None => std::env::var("VIGIL_TOKEN").ok().map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
    };
    Ok(Plan { gateways: config.gateways(), token, config, config_path, backfill: START_BACKFILL })
}

/// Reads a bearer token from a file; the token never appears in messages.
pub fn read_token(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read token file {}", path.display()))?;
    let token = text.trim().to_string();
    anyhow::ensure!(!token.is_empty(), "token file {} is empty", path.display());
    anyhow::ensure!(
        token.chars().all(|c| c.is_ascii_graphic()),
        "token file {} holds characters a header cannot carry",
        path.display()
    );
    Ok(token)
}

/// A running data path.
pub struct Feed {
    pub updates: mpsc::Receiver<Update>,
    /// One per gateway, in preference order.
    pub stats: Vec<Arc<SourceStats>>,
    pub info: SourceInfo,
    /// Asks the link to reconnect now, and the like.
    pub control: mpsc::Sender<Control>,
    /// Asks for a span of history the store lacks.
    pub history: mpsc::Sender<history::Request>,
    gateway: Option<Gateway>,
    tasks: Vec<JoinHandle<()>>,
    cancel: CancellationToken,
}

impl Feed {
    /// Starts the demo gateway if needed and every source.
    pub async fn start(plan: &Plan) -> anyhow::Result<Feed> {
        let cancel = CancellationToken::new();
        let tls = crate::source::tls::client_config(plan.config.ca_file.as_deref())?;
        // With no gateway, the demo runs in-process but is reached over
        // loopback through the same client a remote gateway gets.
        let (gateway, urls, demo) = if plan.gateways.is_empty() {
            let opts = ServeOptions {
                bind: "127.0.0.1:0".parse()?,
                scenario: plan.config.demo.scenario,
                seed: plan.config.demo.seed,
                ..ServeOptions::default()
            };
            let gw = Gateway::start(opts).await.context("cannot start the demo gateway")?;
            let url = gw.stream_url();
            (Some(gw), vec![url], Some(plan.config.demo.scenario.name().to_string()))
        } else {
            (None, plan.gateways.clone(), None)
        };
        let (tx, updates) = mpsc::channel(CHANNEL);
        let stats: Vec<Arc<SourceStats>> = urls.iter().map(|u| Arc::new(SourceStats::for_url(u))).collect();
        let (control, control_rx) = mpsc::channel(4);
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
        let http = crate::source::tls::http_client(&opts.tls)?;
        let (history, history_rx) = mpsc::channel(4);
        let fetcher = history::serve(
            history_rx,
            urls.clone(),
            stats.clone(),
            plan.token.clone(),
            http,
            tx.clone(),
            cancel.clone(),
        );
        let link = Link::new(opts, tx, stats.clone(), control_rx)?;
        let tasks = vec![tokio::spawn(link.run(cancel.clone())), tokio::spawn(fetcher)];
        let info = SourceInfo { url: urls[0].clone(), demo };
        Ok(Feed { updates, stats, info, control, history, gateway, tasks, cancel })
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
