//! The gateway, `vigil serve`: the HTTP, WebSocket and SSE routes of the
//! protocol, sessions with resume and replay, auth and rate limits
//! (`serve`), fed by the deterministic demo simulator (`sim`).
//!
//! May import: `wire` (the protocol) and its own parts. Never the TUI or
//! the sources: a dashboard reaches the gateway only over the network,
//! even in demo mode.

pub mod serve;
pub mod sim;
