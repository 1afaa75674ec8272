//! The gateway, `vigil serve`: the HTTP, WebSocket and SSE routes of the
//! protocol, sessions with resume and replay, auth and rate limits
//! (`serve`), fed by the deterministic demo simulator (`sim`) or by real
//! data (`inputs`).
//!
//! May import: `wire` (the protocol), `core` (the gateway keeps what it
//! serves in a core, as a dashboard does), the sources' readers of
//! `/metrics` pages and Prometheus answers, `persist` (its held store on
//! disk, in the dashboard's format), and its own parts. Never the
//! TUI: a dashboard reaches the gateway only over the network, even in demo
//! mode.

pub mod inputs;
pub mod serve;
pub mod sim;
