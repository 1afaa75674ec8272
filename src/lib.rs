//! vigil: a live SRE dashboard for the terminal, and the metrics gateway it
//! talks to.
//!
//! Data flows one way: `source` -> `store` -> `alert` -> `view`, joined in
//! `pipeline`. The gateway (`serve`, fed by `sim`) shares only the `wire`
//! types with the dashboard and is reached over the network, even in demo
//! mode.

pub mod alert;
pub mod app;
pub mod atomic_file;
pub mod cli;
pub mod config;
pub mod core;
pub mod dashboard;
pub mod feed;
pub mod filter;
pub mod headless;
pub mod hook;
pub mod import;
pub mod incident;
pub mod model;
pub mod paint;
pub mod pipeline;
pub mod preset;
pub mod reload;
pub mod scene;
pub mod scrape;
pub mod serve;
pub mod sim;
pub mod slo;
pub mod source;
pub mod store;
pub mod terminal;
pub mod theme;
pub mod units;
pub mod view;
pub mod wire;
