//! vigil: a live SRE dashboard for the terminal, and the metrics gateway it
//! talks to.
//!
//! Data flows one way: `sources` -> `core` (store, alerts, rules, SLOs) ->
//! a program's services -> its output. One [`core::Core`] holds what is
//! known and does no I/O; each program runs one:
//!
//! - `tui`: the dashboard (its pipeline publishes scenes the view draws);
//! - `headless`: `vigil tail` and `vigil check`;
//! - `gateway`: `vigil serve`, fed by the demo simulator; it shares only
//!   the `wire` types with the dashboard and is reached over the network,
//!   even in demo mode.
//!
//! `dashboards` says what to show, `config` reads files and flags, `feed`
//! starts the sources a config asks for, and `persist` writes a core's
//! store to disk and reads it back, for the dashboard and the gateway.

pub mod atomic_file;
pub mod cli;
pub mod config;
pub mod core;
pub mod dashboards;
pub mod feed;
pub mod gateway;
pub mod headless;
pub mod hook;
pub mod persist;
pub mod sources;
pub mod tui;
pub mod wire;
