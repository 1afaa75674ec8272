//! A gateway's stream, as the dashboard follows it: one link over
//! WebSocket, SSE or REST polling (`link` picks and fails over), resumed
//! with its sequence numbers or backfilled over REST when a gap opens, and
//! redialled on an exponential backoff. It speaks `wire`, the protocol in
//! `PROTOCOL.md`, and nothing of the gateway's own code. A WebSocket server
//! that never says `hello` is followed as a plain stream: subscribed to,
//! read, never resumed, and backfilled over REST where it has history.

pub mod backfill;
pub mod backoff;
pub mod book;
pub mod events;
pub mod learn;
pub mod link;
pub mod poll;
pub mod sse;
pub mod stream;
pub mod websocket;
