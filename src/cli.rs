//! Command-line definitions (clap) and nothing else.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// A live SRE dashboard for the terminal.
///
/// With no flags and no config, vigil starts an embedded demo gateway on a
/// loopback port and shows its data through the real network path.
#[derive(Debug, Parser)]
// The version names the commit too (see build.rs), so a report from the
// field says exactly which code ran.
#[command(name = "vigil", version = env!("VIGIL_VERSION"), about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub dash: DashArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the metrics gateway (WebSocket, SSE and REST): over services'
    /// /metrics pages, a Prometheus API and pushed points, or the simulator
    /// when given no input.
    Serve(ServeArgs),
    /// Run the data layer without a screen and print what it receives.
    Tail(TailArgs),
    /// Connect, wait for one full picture, evaluate the alert rules and exit:
    /// 0 all well, 1 an alert firing, 2 data stale or no gateway, 3 config error.
    Check(CheckArgs),
    /// Turn another tool's dashboard into a vigil dashboard file.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Print a completion script for a shell to stdout.
    Completions(CompletionsArgs),
    /// Print vigil's man page (roff) to stdout, or write it with a page per
    /// subcommand into a directory.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write vigil.1 and a page for each subcommand it lists (vigil-serve.1,
    /// vigil-tail.1, ...) into this directory, made if missing.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell the script is for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// What `import` reads.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// A Grafana dashboard's JSON (exported, or as the API returns it):
    /// its Prometheus panels become a vigil dashboard; the report of what
    /// was left out goes to stderr.
    Grafana(GrafanaArgs),
}

#[derive(Debug, Args)]
pub struct GrafanaArgs {
    /// The dashboard's JSON file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Write the dashboard here instead of to stdout.
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Replace the --output file if it exists.
    #[arg(long, requires = "output")]
    pub force: bool,
    /// The vigil Prometheus source the queries run on (default: the first).
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// How often Prometheus scrapes; $__rate_interval becomes four times this.
    #[arg(long, value_name = "DURATION", default_value = "15s")]
    pub scrape_interval: humantime::Duration,
}

/// Where data comes from; shared by the dashboard and `tail`.
#[derive(Debug, Args, Default, Clone)]
pub struct SourceArgs {
    /// Gateway stream URL, e.g. ws://host:7878/api/v1/metrics/stream.
    /// Repeat for failover, preferred first.
    #[arg(long = "url", value_name = "URL")]
    pub urls: Vec<String>,
    /// Config file (default: config.toml in the platform config dir).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// File holding the gateway's bearer token (else VIGIL_TOKEN).
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// PEM file of a private CA to trust for wss:// and https://.
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
    /// A Prometheus-compatible API to query (Prometheus, Thanos, Mimir,
    /// VictoriaMetrics), e.g. http://127.0.0.1:9090. Repeatable.
    #[arg(long = "prometheus", value_name = "URL")]
    pub prometheus: Vec<String>,
    /// A service's metrics page to read directly, e.g.
    /// http://127.0.0.1:8000/metrics. Repeatable.
    #[arg(long = "scrape", value_name = "URL")]
    pub scrape: Vec<String>,
    /// An Alertmanager whose alerts and silences join the alerts page, e.g.
    /// http://127.0.0.1:9093. Repeatable.
    #[arg(long = "alertmanager", value_name = "URL")]
    pub alertmanager: Vec<String>,
    /// With --prometheus: show this service's golden signals from queries
    /// vigil writes itself. NAME matches job="NAME"; LABEL=NAME picks the label.
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// Demo scenario when no URL is given.
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// Demo seed when no URL is given.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

/// Flags of the dashboard; each overrides the config file.
#[derive(Debug, Args, Default)]
pub struct DashArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Colour theme: dark, light, high-contrast or mono (NO_COLOR forces mono).
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
    /// Dashboard file (TOML pages of panels); default: the built-in one.
    #[arg(long, value_name = "PATH")]
    pub dashboard: Option<PathBuf>,
    /// Draw with ASCII only: no braille, blocks or box lines (automatic in a non-UTF-8 locale).
    #[arg(long)]
    pub ascii: bool,
    /// Wall display: pages rotate, keys are locked, new critical alerts flash and ring.
    #[arg(long)]
    pub kiosk: bool,
    /// The window shown at start, e.g. 15m or 1h.
    #[arg(long, value_name = "DURATION")]
    pub window: Option<humantime::Duration>,
    /// Most redraws per second.
    #[arg(long, value_name = "N")]
    pub fps: Option<u32>,
    /// Quiet time after new data before a redraw, e.g. 100ms.
    #[arg(long, value_name = "DURATION")]
    pub debounce: Option<humantime::Duration>,
    /// Log file (default: vigil.log in the platform cache dir).
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
}

/// How `tail` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TailFormat {
    /// One JSON object per line.
    #[default]
    Jsonl,
    /// One aligned, human-readable line per item.
    Text,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Only these metrics (repeatable); default every metric.
    #[arg(long = "metric", value_name = "NAME")]
    pub metrics: Vec<String>,
    /// Stop after this long, e.g. 30s; default run until interrupted.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<humantime::Duration>,
    #[arg(long, value_enum, default_value_t = TailFormat::Jsonl)]
    pub format: TailFormat,
    /// Print the sources table (state, transport, rates, errors) every second instead of data.
    #[arg(long)]
    pub sources: bool,
    /// Print only alerts: the state changes of the alert rules in force
    /// (history's first, replayed over the backfill) and the gateway's alerts.
    #[arg(long, conflicts_with = "sources")]
    pub alerts: bool,
    /// How much history to fetch at start, and to replay the alert rules over.
    #[arg(long, value_name = "DURATION", default_value = "15m")]
    pub since: humantime::Duration,
    /// With --prometheus: print this PromQL query's samples (repeatable).
    #[arg(long = "query", value_name = "PROMQL")]
    pub queries: Vec<String>,
}

/// How `check` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CheckFormat {
    /// One line per alert pending, firing or without data, then a summary line.
    #[default]
    Text,
    /// One JSON object: status, exit code, reasons, alerts, sources.
    Json,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// Give up (exit 2) when no full picture came within this long.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub timeout: humantime::Duration,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Config file whose [serve], [[alert]], [[slo]] and [alerting] apply
    /// (default: config.toml in the platform config dir, when it exists).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:7878].
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<SocketAddr>,
    /// File holding the bearer token clients must send, or several, one
    /// a line, each after its owner's name (alice TOKEN): that name signs
    /// the acks and silences made with it.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// A service's /metrics page to read every interval, as NAME=URL to
    /// name the service (its job and service labels) or a bare URL
    /// (named by its host and port); repeatable.
    #[arg(long, value_name = "[NAME=]URL")]
    pub scrape: Vec<String>,
    /// A Prometheus-compatible API to read the --match selectors from.
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// A series selector read from --prometheus every interval, e.g.
    /// '{job=~"checkout|payments"}' (repeatable).
    #[arg(long = "match", value_name = "SELECTOR")]
    pub matches: Vec<String>,
    /// Play the simulator: the default with no other input;
    /// --simulate=false serves only what producers push.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub simulate: Option<bool>,
    /// calm, long-tail, error-burst, cpu-saturation, bad-deploy, degraded or tour [default: tour].
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// Seed of the simulator's noise [default: 1].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Time between frames and between reads of the inputs [default: 1s].
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<humantime::Duration>,
}
