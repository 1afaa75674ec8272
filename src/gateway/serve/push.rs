//! `POST /api/v1/metrics`: points pushed by a producer (an ETL job, a cron
//! script, a service), taken into the gateway's core and sent to every
//! screen at once. Behind the same token as every other route.
//!
//! Nothing of a refused body is used: it is judged whole first. A body
//! taken is in the push log on disk before the producer hears 2xx. A body over
//! the size limit or with too many points gets 413, a producer pushing more
//! points a second than its share gets 429 with `Retry-After`; each says
//! which limit and what it is.

use super::hub;
use super::rest::{ApiError, error_response};
use super::state::Shared;
use crate::gateway::inputs::push::{self, IngestError};
use crate::wire::now_ms;
use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// Limits on what one producer may push.
#[derive(Debug, Clone, Copy)]
pub struct PushLimits {
    /// Largest body, in bytes.
    pub max_bytes: usize,
    /// Most points in one body.
    pub max_points: usize,
    /// Points a second one client may push, on average; twice that at once.
    pub points_per_second: f64,
}

impl Default for PushLimits {
    fn default() -> Self {
        PushLimits { max_bytes: 8 << 20, max_points: 50_000, points_per_second: 1_000_000.0 }
    }
}

/// `POST /api/v1/metrics`.
pub(crate) async fn handler(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Body,
) -> Response {
    let limits = shared.push_limits;
    let bytes = match axum::body::to_bytes(body, limits.max_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("body over the limit of {} bytes; send fewer points per request", limits.max_bytes),
            );
        }
    };
    // Judging a large body is CPU work: off the async workers.
    let work = Arc::clone(&shared);
    let body = bytes.clone();
    let parsed =
        tokio::task::spawn_blocking(move || push::parse(&body, work.push_limits.max_points, |m| work.kind_of(m))).await;
    let pushed = match parsed {
        Ok(Ok(p)) => p,
        Ok(Err(e @ IngestError::TooMany { .. })) => {
            return error_response(StatusCode::PAYLOAD_TOO_LARGE, &e.to_string());
        }
        Ok(Err(e)) => return error_response(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(_) => {
            return ApiError(StatusCode::INTERNAL_SERVER_ERROR, "the body could not be read".into()).into_response();
        }
    };
    let count = pushed.points.len();
    if let Err(wait) = shared.push_budget.take(peer.ip(), count as f64, Instant::now()) {
        let mut response = error_response(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("over {} points a second from one client; retry later", limits.points_per_second),
        );
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return response;
    }
    let at = pushed.timestamp.unwrap_or_else(now_ms);
    // Folding up to a body's worth of points into the core and fanning
    // them out takes the store's and the sessions' locks: not on an async worker.
    // The body is on disk before its points are applied or answered for:
    // a 2xx promises they survive a crash (see `wal.rs`).
    let work = Arc::clone(&shared);
    let taken = tokio::task::spawn_blocking(move || {
        let _logged = work.kept().map(|k| k.log.log(at, &bytes)).transpose()?;
        work.held().learn(&pushed.kinds);
        hub::take_pushed(&work, pushed.points, at);
        Ok::<(), std::io::Error>(())
    })
    .await;
    match taken {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot write to the push log; a push was refused");
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "the points could not be written to the push log, so none were taken; retry later",
            );
        }
        Err(_) => {
            return ApiError(StatusCode::INTERNAL_SERVER_ERROR, "the points could not be taken".into()).into_response();
        }
    }
    shared.metrics.pushed_points.fetch_add(count as u64, std::sync::atomic::Ordering::Relaxed);
    (StatusCode::OK, Json(serde_json::json!({"accepted": count}))).into_response()
}
