//! Command-line definitions (clap) and nothing else.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// A live SRE dashboard for the terminal.
///
/// With no flags and no config, vigil starts an embedded demo gateway on a
/// loopback port and shows its data through the real network path.
#[derive(Debug, Parser)]
#[command(name = "vigil", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub dash: DashArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the metrics gateway (WebSocket, SSE and REST) over the simulator.
    Serve(ServeArgs),
}

/// Flags of the dashboard; each overrides the config file.
#[derive(Debug, Args, Default)]
pub struct DashArgs {
    /// Gateway stream URL, e.g. ws://host:7878/api/v1/metrics/stream.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Config file (default: config.toml in the platform config dir).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// File holding the gateway's bearer token.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Colour theme (dark, mono).
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
    /// Most redraws per second.
    #[arg(long, value_name = "N")]
    pub fps: Option<u32>,
    /// Quiet time after new data before a redraw, e.g. 100ms.
    #[arg(long, value_name = "DURATION")]
    pub debounce: Option<humantime::Duration>,
    /// Demo scenario when no URL is given.
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// Demo seed when no URL is given.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Log file (default: vigil.log in the platform cache dir).
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7878", value_name = "ADDR")]
    pub bind: SocketAddr,
    /// File holding the bearer token clients must send.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// calm, long-tail, error-burst, cpu-saturation, bad-deploy, degraded or tour.
    #[arg(long, default_value = "tour", value_name = "NAME")]
    pub scenario: String,
    /// Seed of the simulator's noise.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub seed: u64,
    /// Time between frames.
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub interval: humantime::Duration,
}
