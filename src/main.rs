//! vigil's entry point: hooks, flags, config, then the right mode.

use anyhow::Context;
use clap::{CommandFactory, Parser};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::{Receiver, Sender};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// mimalloc rather than the system allocator: a gateway taking pushes
/// makes and frees millions of small strings a second, and glibc's malloc
/// spent a third of its time on them (free-list upkeep, consolidation).
/// Built without transparent huge pages (`no_thp` in Cargo.toml): with them
/// the dashboard's resident memory nearly doubled; without, it is what it
/// was on glibc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use vigil::cli::{Cli, Command, CompletionsArgs, DashArgs, GrafanaArgs, ImportCommand, ManArgs, ServeArgs};
use vigil::config::{self, Config};
use vigil::dashboards::Dashboard;
use vigil::feed::{self, Feed};
use vigil::gateway::serve::ServeOptions;
use vigil::gateway::sim::Scenario;
use vigil::sources::gateway::link::Control;
use vigil::tui::app::kiosk::KioskOptions;
use vigil::tui::app::{self, AppOptions};
use vigil::tui::pipeline::{self, Pipeline, RestoreError, StateFile, ViewRequest, Wanted};
use vigil::tui::theme::Theme;

fn main() {
    // One crypto provider for every TLS user, chosen before any is built.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    let code = match cli.command {
        Some(Command::Serve(args)) => exit_code(serve(args)),
        Some(Command::Check(args)) => vigil::headless::check::check(args),
        Some(Command::Import(ImportCommand::Grafana(args))) => exit_code(import_grafana(args)),
        Some(Command::Completions(args)) => exit_code(completions(args)),
        Some(Command::Man(args)) => exit_code(man_pages(args)),
        Some(Command::Tail(args)) => match vigil::headless::tail(args) {
            Ok(code) => code,
            Err(e) => {
                complain(&e);
                if e.downcast_ref::<config::ConfigError>().is_some() { 3 } else { 2 }
            }
        },
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

/// `vigil import grafana`: the dashboard to stdout or --output, the report
/// to stderr. Fails when nothing could be translated, so that a script
/// never takes an empty dashboard for a converted one.
fn import_grafana(args: GrafanaArgs) -> anyhow::Result<()> {
    use std::io::Write;
    let file = args.file.display().to_string();
    let json = std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {file}"))?;
    let opts = vigil::dashboards::import::Options { source: args.source, scrape_interval: *args.scrape_interval };
    let t = vigil::dashboards::import::translate(&json, &opts).map_err(|e| match e {
        // The error starts with the line and column: `file:line:col: ...`.
        vigil::dashboards::import::ImportError::Json { .. } => anyhow::anyhow!("{file}:{e}"),
        other => anyhow::anyhow!("{file}: {other}"),
    })?;
    let mut err = std::io::stderr().lock();
    let total = t.translated + t.skipped.len();
    let _ = writeln!(err, "vigil: translated {} of {total} panels of {file}", t.translated);
    for s in &t.skipped {
        let _ = writeln!(err, "  skipped {:?} ({}): {}", s.title, s.kind, s.reason);
    }
    for n in &t.notes {
        let _ = writeln!(err, "  note: {n}");
    }
    drop(err);
    anyhow::ensure!(t.translated > 0, "nothing in {file} could be translated; no dashboard written");
    match &args.output {
        None => std::io::stdout().write_all(t.toml.as_bytes()).context("cannot write to stdout")?,
        Some(path) if args.force => vigil::atomic_file::write(path, t.toml.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?,
        Some(path) => {
            let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    anyhow::anyhow!("{} exists; add --force to replace it", path.display())
                } else {
                    anyhow::anyhow!("cannot create {}: {e}", path.display())
                }
            })?;
            f.write_all(t.toml.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(())
}

/// `vigil completions SHELL`: the script, written from the same definitions
/// the parser uses, so it never offers a flag that does not exist. Built in
/// memory first: the generator panics on a failed write, and a closed pipe
/// deserves one line, not a panic.
fn completions(args: CompletionsArgs) -> anyhow::Result<()> {
    use std::io::Write;
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "vigil", &mut script);
    std::io::stdout().write_all(&script).context("cannot write to stdout")
}

/// `vigil man`: the man pages in roff, from the parser's definitions. The
/// main page lists the subcommands as pages of their own (`vigil-serve(1)`),
/// which `--dir` writes beside it. `help` is left out: it has no page.
fn man_pages(args: ManArgs) -> anyhow::Result<()> {
    use std::io::Write;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Built once from the top, so each subcommand knows its full name.
    cmd.build();
    // Every page's footer names the release, subcommands' too.
    let source = format!("vigil {}", cmd.get_version().unwrap_or_default());
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            write_man_pages(&cmd, &source, &dir).with_context(|| format!("cannot write man pages to {}", dir.display()))
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd).source(source).render(&mut page)?;
            std::io::stdout().write_all(&page).context("cannot write to stdout")
        }
    }
}

/// The page of `cmd` and of every subcommand below it, one file each.
fn write_man_pages(cmd: &clap::Command, source: &str, dir: &std::path::Path) -> std::io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_man_pages(sub, source, dir)?;
    }
    clap_mangen::Man::new(cmd.clone()).source(source).generate_to(dir)?;
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // Colour codes only for a person at a terminal: a log file, a pipe or
    // a service manager's journal gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt().with_env_filter(env_filter("info")).with_ansi(ansi).with_writer(std::io::stderr).init();
    let (config, _) = match args.config.as_deref() {
        Some(path) => Config::load(Some(path))?,
        None => match config::default_path().filter(|p| p.exists()) {
            Some(path) => Config::load(Some(&path))?,
            None => (Config::default(), None),
        },
    };
    let serve = &config.serve;
    let scenario: Scenario = match args.scenario.as_deref().or(serve.scenario.as_deref()) {
        Some(name) => name.parse().map_err(|e: String| anyhow::anyhow!("--scenario: {e}"))?,
        None => Scenario::Tour,
    };
    let bind = match (args.bind, serve.bind.as_deref()) {
        (Some(b), _) => b,
        (None, Some(b)) => {
            b.parse().map_err(|_| anyhow::anyhow!("[serve] bind: {b:?} is not an address such as 0.0.0.0:7878"))?
        }
        (None, None) => SocketAddr::from(([127, 0, 0, 1], 7878)),
    };
    // A gateway's token file may name whose each token is (see config::token_file).
    let tokens = args.token_file.as_deref().or(config.token_file.as_deref()).map(config::token_file::read_all);
    let named_tokens = tokens.transpose()?.unwrap_or_default().into_iter().map(|t| (t.user, t.token)).collect();
    let pick = |flag: Vec<String>, conf: &Vec<String>| if flag.is_empty() { conf.clone() } else { flag };
    let inputs = vigil::gateway::serve::Inputs {
        scrape: pick(args.scrape, &serve.scrape),
        prometheus: args.prometheus.or_else(|| serve.prometheus.clone()),
        matches: pick(args.matches, &serve.matches),
        simulate: args.simulate.or(serve.simulate),
    };
    inputs.check().map_err(anyhow::Error::msg)?;
    let interval = args.interval.map(Duration::from).or(serve.interval).unwrap_or(Duration::from_secs(1));
    if serve.state_dir().is_none() {
        tracing::warn!("no state dir (set [serve] state_dir): the gateway keeps nothing across restarts");
    }
    let opts = ServeOptions {
        bind,
        named_tokens,
        scenario,
        seed: args.seed.or(serve.seed).unwrap_or(1),
        interval: interval.max(Duration::from_millis(10)),
        inputs,
        rules: config.rules(),
        slos: config.slos(false),
        push: vigil::gateway::serve::PushLimits {
            max_bytes: serve.max_push_bytes,
            max_points: serve.max_push_points,
            ..Default::default()
        },
        state_dir: serve.state_dir(),
        save_every: serve.save_every.max(Duration::from_secs(1)),
        ..ServeOptions::default()
    };
    runtime()?.block_on(vigil::gateway::serve::run_until_signal(opts))
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
    let plan = feed::plan(&args.source)?;
    let mut ui = plan.config.ui.clone();
    if let Some(fps) = args.fps {
        anyhow::ensure!((1..=240).contains(&fps), "--fps {fps} is out of range (1 to 240)");
        ui.fps = fps;
    }
    if let Some(d) = args.debounce {
        ui.debounce = *d;
    }
    if let Some(w) = args.window {
        anyhow::ensure!(
            (60..=86_400).contains(&w.as_secs()),
            "--window {w} is out of range (1m to 24h, what the store keeps)"
        );
        ui.window = *w;
    }
    let ascii = args.ascii || ui.ascii;
    let theme_flag = args.theme.clone();
    let env = |k: &str| std::env::var(k).ok();
    let theme =
        Theme::resolve(theme_flag.as_deref().or(ui.theme.as_deref()), env, ascii).map_err(anyhow::Error::msg)?;
    let dashboard_flag = args.dashboard.clone();
    let dashboard_path = dashboard_flag.clone().or_else(|| plan.config.dashboard_path(plan.config_path.as_deref()));
    // Without a file: the built-in pages for a gateway, and pages written
    // for the other sources.
    let gateway = plan.demo() || !plan.gateways.is_empty();
    let sources = plan.sources.clone();
    let dashboard = Arc::new(match &dashboard_path {
        Some(p) => Dashboard::load(p)?,
        None => vigil::dashboards::preset::dashboard(gateway, &sources),
    });
    let kiosk = (args.kiosk || plan.config.kiosk.enabled).then(|| KioskOptions::from_config(&plan.config.kiosk));
    let log_path = init_file_log(&plan.config, args.log_file)?;
    tracing::info!(log = %log_path.display(), "vigil starting");

    // A reload reads the same files again, with the same flags on top.
    let config_path = plan.config_path.clone();
    let reload_config = config_path.clone();
    let demo = plan.demo();
    let reload: app::ReloadFn = Box::new(move || {
        let (config, _) = Config::load(reload_config.as_deref()).map_err(|e| e.to_string())?;
        let path = dashboard_flag.clone().or_else(|| config.dashboard_path(reload_config.as_deref()));
        let dashboard = match &path {
            Some(p) => Dashboard::load(p).map_err(|e| e.to_string())?,
            None => vigil::dashboards::preset::dashboard(gateway, &sources),
        };
        let env = |k: &str| std::env::var(k).ok();
        let name = theme_flag.clone().or(config.ui.theme.clone());
        let theme = Theme::resolve(name.as_deref(), env, ascii || config.ui.ascii)?;
        let files = reload_config.iter().chain(path.iter()).cloned().collect();
        Ok(app::Reloaded {
            dashboard: Arc::new(dashboard),
            theme: Some(theme),
            window_ms: config.ui.window.as_millis() as i64,
            rules: Arc::new(config.rules()),
            notify: config.notify.alarm_options(),
            slos: Arc::new(config.slos(demo)),
            files,
        })
    });
    let theme_for: app::ThemeFn = Box::new(move |name: &str| {
        let env = |k: &str| std::env::var(k).ok();
        Theme::resolve(Some(name), env, ascii)
    });
    let watched: Vec<PathBuf> = config_path.iter().chain(dashboard_path.iter()).cloned().collect();

    let runtime = runtime()?;
    let outcome = runtime.block_on(async move {
        let cancel = CancellationToken::new();
        let window_ms = ui.window.as_millis() as i64;
        let rules = Arc::new(plan.config.rules());
        let slos = Arc::new(plan.config.slos(demo));
        let first_view = ViewRequest {
            window_ms: dashboard.pages.first().and_then(|p| p.window).unwrap_or(window_ms),
            ..ViewRequest::default()
        };
        // The screen comes up at once with what is known before anything
        // starts (the pages, a link still connecting); the demo gateway, the
        // certificates, the saved state and the sources come after it.
        let (scene_tx, scene_rx) = watch::channel(Arc::new(starting_scene(&plan, &dashboard, &first_view)));
        let (wanted_tx, wanted_rx) =
            watch::channel(Wanted { dashboard: dashboard.clone(), view: first_view, rules, slos, detail: None });
        let control = vigil::feed::control_channel();
        let control_tx = control.0.clone();
        let (wishes_tx, wishes_rx) = tokio::sync::mpsc::channel(16);
        let (exports_tx, exports_rx) = tokio::sync::mpsc::channel(4);
        let notify = plan.config.notify.alarm_options();
        let (first_frame_tx, first_frame) = tokio::sync::oneshot::channel();
        let start = Start {
            plan,
            control,
            wishes: wishes_rx,
            exports: exports_rx,
            wanted: wanted_rx,
            scenes: scene_tx,
            first_frame,
        };
        let started = tokio::spawn(start_feed(start, cancel.clone()));
        let changed_files = (!watched.is_empty()).then(|| {
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            tokio::spawn(vigil::tui::reload::watch(watched, Duration::from_secs(1), tx, cancel.clone()));
            rx
        });

        let opts = AppOptions {
            debounce: ui.debounce,
            fps: ui.fps,
            theme,
            control: Some(control_tx),
            dashboard,
            window_ms,
            wanted: wanted_tx,
            reload: Some(reload),
            changed_files,
            theme_for: Some(theme_for),
            kiosk,
            notify,
            wishes: Some(wishes_tx),
            exports: Some(exports_tx),
            first_frame: Some(first_frame_tx),
        };
        let result = app::run(scene_rx, opts, cancel.clone()).await;
        cancel.cancel();
        // A start-up that failed ended the screen; its error is the one to
        // tell. One still stuck (a certificate store that does not answer)
        // is left behind: quitting must not hang on it.
        let running = match tokio::time::timeout(STARTUP_GRACE, started).await {
            Ok(Ok(Ok(running))) => running,
            Ok(Ok(Err(e))) => return Err(e),
            Ok(Err(e)) => anyhow::bail!("the start-up task failed: {e}"),
            Err(_) => {
                tracing::warn!("quitting before the start-up finished");
                None
            }
        };
        if let Some(Running { feed, pipeline: pipeline_task, state }) = running {
            feed.stop().await;
            if let (Ok(Ok(pipeline)), Some(file)) =
                (tokio::time::timeout(Duration::from_secs(1), pipeline_task).await, state)
            {
                let saved = tokio::task::spawn_blocking(move || pipeline.save(&file, vigil::wire::now_ms())).await;
                if let Ok(Err(e)) = saved {
                    tracing::warn!(error = %e, "cannot save the state");
                }
            }
        }
        let exit = result?;
        tracing::info!(?exit, "vigil stopped");
        Ok(())
    });
    // Work still blocked (see above) does not hold the exit up.
    runtime.shutdown_timeout(STARTUP_GRACE);
    outcome
}

/// How long quitting waits for a start-up still under way.
const STARTUP_GRACE: Duration = Duration::from_secs(2);

/// The picture before anything has started: the dashboard's pages, empty,
/// and the link connecting.
fn starting_scene(plan: &feed::Plan, dashboard: &Arc<Dashboard>, view: &ViewRequest) -> vigil::tui::scene::Scene {
    let url = plan.gateways.first().or(plan.sources.first().map(|s| &s.url)).cloned().unwrap_or_default();
    let demo = plan.demo().then(|| plan.config.demo.scenario.name().to_string());
    let mut nothing_yet = Pipeline::new(vigil::tui::scene::SourceInfo { url, demo }, Vec::new());
    nothing_yet.set_dashboard(dashboard.clone());
    nothing_yet.set_view(view.clone());
    nothing_yet.scene(vigil::wire::now_ms())
}

/// What the start-up needs, handed to the task that does it.
struct Start {
    plan: feed::Plan,
    control: (Sender<Control>, Receiver<Control>),
    wishes: Receiver<vigil::core::alert::intent::Wish>,
    exports: Receiver<vigil::core::incident::ExportRequest>,
    /// What the screen wants shown, from the first moment: the pipeline
    /// starts with the latest.
    wanted: watch::Receiver<Wanted>,
    scenes: watch::Sender<Arc<vigil::tui::scene::Scene>>,
    /// Told when the screen has drawn its first frame.
    first_frame: tokio::sync::oneshot::Receiver<()>,
}

/// What runs once the start-up is done, to stop and save at the end.
struct Running {
    feed: Feed,
    pipeline: tokio::task::JoinHandle<Pipeline>,
    state: Option<StateFile>,
}

/// Starts the sources (and the demo gateway), restores the saved state and
/// sets the pipeline going, while the screen is already up. A failure ends
/// the screen (through `cancel`) and is returned; `None` when the screen
/// was closed before the start-up was done.
async fn start_feed(start: Start, cancel: CancellationToken) -> anyhow::Result<Option<Running>> {
    let Start { plan, control, wishes, exports, mut wanted, scenes, first_frame } = start;
    // The first frame goes out first, with the processor to itself; a
    // screen that could not draw one has ended, and its error says why.
    if first_frame.await.is_err() {
        return Ok(None);
    }
    let mut feed = match Feed::start_with(&plan, control).await {
        Ok(feed) => feed,
        Err(e) => {
            cancel.cancel();
            return Err(e);
        }
    };
    if cancel.is_cancelled() {
        feed.stop().await;
        return Ok(None);
    }
    let mut pipeline = Pipeline::new(feed.info.clone(), feed.stats.clone());
    let state = config::cache_dir().map(|dir| StateFile::for_plan(&dir, &plan));
    if let Some(file) = &state {
        // The last state shows at once, marked stale, until live data comes.
        match pipeline.restore(file, vigil::wire::now_ms()) {
            Ok(series) => tracing::info!(series, path = %file.path.display(), "restored the last state"),
            Err(RestoreError::Missing) => {}
            Err(e) => tracing::warn!(error = %e, path = %file.path.display(), "saved state ignored"),
        }
        pipeline.save_periodically(file.clone());
    }
    pipeline.want(&mut wanted);
    pipeline.fetch_history_with(feed.history.clone());
    pipeline.call_book_with(feed.book.clone());
    pipeline.query_with(feed.promql.clone());
    people(&mut pipeline, &plan.config, wishes);
    incidents(&mut pipeline, &plan.config, state.as_ref(), exports);
    scenes.send_replace(Arc::new(pipeline.scene(vigil::wire::now_ms())));
    let pipeline = tokio::spawn(pipeline::run(pipeline, feed.take_updates(), Some(wanted), scenes, cancel));
    Ok(Some(Running { feed, pipeline, state }))
}

/// Acknowledgements and silences from their file, wishes from the screen,
/// and the exec hook, for the pipeline that owns the alerts.
fn people(
    pipeline: &mut Pipeline,
    config: &Config,
    wishes: tokio::sync::mpsc::Receiver<vigil::core::alert::intent::Wish>,
) {
    pipeline.hear_wishes(wishes);
    if let Some(dir) = config::state_dir() {
        let path = vigil::core::alert::intent_file::path_in(&dir);
        match pipeline.keep_intent_in(path.clone(), vigil::core::alert::intent_file::local_user()) {
            Ok(()) => tracing::info!(path = %path.display(), "acknowledgements and silences"),
            Err(e) => tracing::warn!(error = %e, "acknowledgements and silences start empty"),
        }
    }
    if let Some(hook) = config.notify.hook_options().and_then(vigil::hook::Hook::new) {
        pipeline.run_hook(hook);
    }
}

/// The incident timeline from its file in the state dir, requests for
/// reports from the screen, and where reports go.
fn incidents(
    pipeline: &mut Pipeline,
    config: &Config,
    state: Option<&StateFile>,
    exports: tokio::sync::mpsc::Receiver<vigil::core::incident::ExportRequest>,
) {
    pipeline.hear_exports(exports);
    if let Some(dir) = &config.incident.dir {
        pipeline.export_to(dir.clone());
    }
    let (Some(dir), Some(file)) = (config::state_dir(), state) else { return };
    let path = file.timeline_path(&dir);
    match pipeline.keep_timeline_in(path.clone(), vigil::wire::now_ms()) {
        Ok(()) => tracing::info!(path = %path.display(), entries = pipeline.timeline().len(), "incident timeline"),
        Err(e) => tracing::warn!(error = %e, "incident timeline starts empty"),
    }
}
