//! vigil's entry point: hooks, flags, config, then the right mode.

use anyhow::Context;
use clap::Parser;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use vigil::app::{self, AppOptions};
use vigil::cli::{Cli, Command, DashArgs, ServeArgs};
use vigil::config::{self, Config};
use vigil::pipeline::{self, Pipeline};
use vigil::scene::{Scene, SourceInfo};
use vigil::serve::{Gateway, ServeOptions};
use vigil::sim::Scenario;
use vigil::source::SourceStats;
use vigil::source::ws::{WsOptions, WsSource};
use vigil::theme::Theme;

fn main() {
    // One crypto provider for every TLS user, chosen before any is built.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    let code = match cli.command {
        Some(Command::Serve(args)) => exit_code(serve(args)),
        None => match dashboard(cli.dash) {
            Ok(()) => 0,
            Err(e) => {
                tracing::error!(error = %one_line(&e), "vigil failed");
                complain(&e);
                if e.downcast_ref::<config::ConfigError>().is_some() { 3 } else { 1 }
            }
        },
    };
    std::process::exit(code);
}

fn exit_code(r: anyhow::Result<()>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => {
            complain(&e);
            1
        }
    }
}

/// One line on stderr; quietly nothing when stderr is gone with the terminal.
fn complain(e: &anyhow::Error) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "vigil: {}", one_line(e));
}

fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(env_filter("info")).with_writer(std::io::stderr).init();
    let scenario: Scenario = args.scenario.parse().map_err(|e: String| anyhow::anyhow!("--scenario: {e}"))?;
    let token = args.token_file.as_deref().map(read_token).transpose()?;
    let opts = ServeOptions {
        bind: args.bind,
        token,
        scenario,
        seed: args.seed,
        interval: (*args.interval).max(Duration::from_millis(10)),
        ..ServeOptions::default()
    };
    runtime()?.block_on(vigil::serve::run_until_signal(opts))
}

/// Reads a bearer token from a file; the token never appears in messages.
fn read_token(path: &Path) -> anyhow::Result<String> {
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

fn env_filter(default: &str) -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_env("VIGIL_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(default))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
}

/// Logs go to a file: the terminal belongs to the dashboard.
fn init_file_log(config: &Config, flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let path = flag
        .or_else(|| config.log.file.clone())
        .or_else(|| config::cache_dir().map(|d| d.join("vigil.log")))
        .unwrap_or_else(|| std::env::temp_dir().join("vigil.log"));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create log dir {}", dir.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open log file {}", path.display()))?;
    tracing_subscriber::fmt()
        .with_env_filter(env_filter(&config.log.level))
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .init();
    Ok(path)
}

fn dashboard(args: DashArgs) -> anyhow::Result<()> {
    let (mut config, _from) = Config::load(args.config.as_deref())?;
    // Flags override the file.
    if let Some(url) = args.url {
        anyhow::ensure!(
            url.starts_with("ws://") || url.starts_with("wss://"),
            "--url {url:?} must start with ws:// or wss://"
        );
        config.url = Some(url);
    }
    if args.token_file.is_some() {
        config.token_file = args.token_file;
    }
    if let Some(fps) = args.fps {
        anyhow::ensure!((1..=240).contains(&fps), "--fps {fps} is out of range (1 to 240)");
        config.ui.fps = fps;
    }
    if let Some(d) = args.debounce {
        config.ui.debounce = *d;
    }
    if let Some(s) = args.scenario {
        config.demo.scenario = s.parse().map_err(|e: String| anyhow::anyhow!("--scenario: {e}"))?;
    }
    if let Some(seed) = args.seed {
        config.demo.seed = seed;
    }
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme =
        Theme::pick(args.theme.as_deref().or(config.ui.theme.as_deref()), no_color).map_err(anyhow::Error::msg)?;
    let token = match &config.token_file {
        Some(p) => Some(read_token(p)?),
        None => std::env::var("VIGIL_TOKEN").ok().map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
    };
    let log_path = init_file_log(&config, args.log_file)?;
    tracing::info!(log = %log_path.display(), "vigil starting");

    let rt = runtime()?;
    rt.block_on(async move {
        let cancel = CancellationToken::new();
        // With no URL, the demo gateway runs in-process but is reached over
        // loopback through the same client a remote gateway gets.
        let (gateway, url, demo) = match config.url.clone() {
            Some(url) => (None, url, None),
            None => {
                let opts = ServeOptions {
                    bind: "127.0.0.1:0".parse()?,
                    scenario: config.demo.scenario,
                    seed: config.demo.seed,
                    ..ServeOptions::default()
                };
                let gw = Gateway::start(opts).await.context("cannot start the demo gateway")?;
                let url = gw.stream_url();
                (Some(gw), url, Some(config.demo.scenario.name().to_string()))
            }
        };
        let stats = Arc::new(SourceStats::default());
        let (tx, rx) = mpsc::channel(1024);
        let source = WsSource::new(
            WsOptions { url: url.clone(), token: token.clone(), backfill: Duration::from_secs(15 * 60) },
            tx,
            stats.clone(),
        )?;
        let source_task = tokio::spawn(source.run(cancel.clone()));
        let pipeline = Pipeline::new(SourceInfo { url, demo }, stats);
        let (scene_tx, scene_rx) = watch::channel(Arc::new(Scene::default()));
        let pipeline_task = tokio::spawn(pipeline::run(pipeline, rx, scene_tx, cancel.clone()));

        let opts = AppOptions { debounce: config.ui.debounce, fps: config.ui.fps, theme };
        let result = app::run(scene_rx, opts, cancel.clone()).await;
        cancel.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let _ = source_task.await;
            let _ = pipeline_task.await;
            if let Some(gw) = gateway {
                gw.shutdown().await;
            }
        })
        .await;
        let exit = result?;
        tracing::info!(?exit, "vigil stopped");
        Ok(())
    })
}
