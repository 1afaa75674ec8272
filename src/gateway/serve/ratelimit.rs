//! A per-client-IP token bucket in front of the HTTP routes. Generous on
//! purpose: it stops a runaway reconnect loop, not a busy dashboard.

use super::rest::error_response;
use super::state::Shared;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Most clients tracked before idle (full) buckets are forgotten.
const MAX_TRACKED: usize = 10_000;

/// Bucket size and refill rate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateLimit {
    pub burst: f64,
    pub per_second: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit { burst: 200.0, per_second: 50.0 }
    }
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets keyed by client IP.
pub(crate) struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        RateLimiter { limit, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token for `ip`; when none is left, how many whole seconds to wait.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        self.take(ip, 1.0, now)
    }

    /// Takes `n` tokens for `ip` (a push's points); when fewer are left,
    /// how many whole seconds until there are enough.
    pub fn take(&self, ip: IpAddr, n: f64, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&ip) {
            self.forget_idle(&mut buckets, now);
        }
        let limit = self.limit;
        let bucket = buckets.entry(ip).or_insert(Bucket { tokens: limit.burst, updated: now });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * limit.per_second).min(limit.burst);
        bucket.updated = now;
        if bucket.tokens >= n {
            bucket.tokens -= n;
            Ok(())
        } else {
            let wait = (n - bucket.tokens) / limit.per_second.max(f64::MIN_POSITIVE);
            Err(wait.ceil().max(1.0) as u64)
        }
    }

    /// A bucket that has refilled completely carries no state worth keeping.
    fn forget_idle(&self, buckets: &mut HashMap<IpAddr, Bucket>, now: Instant) {
        let limit = self.limit;
        buckets.retain(|_, b| {
            b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * limit.per_second < limit.burst
        });
    }
}

/// Middleware: 429 with `Retry-After` once a client IP has used up its bucket.
pub(crate) async fn limit(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    match shared.limiter.check(peer.ip(), Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            tracing::debug!(client = %peer.ip(), "rate limited");
            let mut response = error_response(StatusCode::TOO_MANY_REQUESTS, "rate limited; retry later");
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill() {
        let limiter = RateLimiter::new(RateLimit { burst: 3.0, per_second: 1.0 });
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(ip, t0).is_ok());
        }
        assert_eq!(limiter.check(ip, t0), Err(1));
        assert!(limiter.check(ip, t0 + Duration::from_millis(1100)).is_ok());
        let other: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(limiter.check(other, t0).is_ok());
    }
}
