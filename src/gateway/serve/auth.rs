//! Bearer-token authentication for every route, the WebSocket upgrade and
//! the SSE stream included.

use super::rest::error_response;
use super::state::Shared;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use std::fmt;
use std::sync::Arc;

/// The token a client must present. Its `Debug` never shows it, so it cannot
/// leak into logs by way of a derived `Debug` somewhere up the chain.
#[derive(Clone)]
pub(crate) struct Token(String);

impl Token {
    pub fn new(token: String) -> Self {
        Token(token)
    }

    /// Whether an `Authorization` header value carries this token.
    pub fn admits(&self, header: Option<&HeaderValue>) -> bool {
        let Some(value) = header.and_then(|h| h.to_str().ok()) else {
            return false;
        };
        let Some((scheme, presented)) = value.trim().split_once(' ') else {
            return false;
        };
        scheme.eq_ignore_ascii_case("bearer") && constant_time_eq(presented.trim().as_bytes(), self.0.as_bytes())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Compares without an early exit, so response timing says nothing about how
/// much of a guess was right. Only the length may leak, which is acceptable.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u64;
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= u64::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

/// Middleware: 401 unless the request carries the gateway's token (when it has one).
pub(crate) async fn require_token(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let Some(token) = &shared.token else {
        return next.run(req).await;
    };
    if token.admits(req.headers().get(header::AUTHORIZATION)) {
        return next.run(req).await;
    }
    // Deliberately silent about what was presented: it might be a real token.
    tracing::debug!(path = %req.uri().path(), "request refused: missing or wrong bearer token");
    let mut response = error_response(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_only_the_exact_token() {
        let t = Token::new("s3cret".into());
        let h = |s: &str| HeaderValue::from_str(s).unwrap();
        assert!(t.admits(Some(&h("Bearer s3cret"))));
        assert!(t.admits(Some(&h("bearer s3cret"))));
        assert!(!t.admits(Some(&h("Bearer s3cre"))));
        assert!(!t.admits(Some(&h("Bearer s3crett"))));
        assert!(!t.admits(Some(&h("Basic s3cret"))));
        assert!(!t.admits(Some(&h("s3cret"))));
        assert!(!t.admits(None));
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
    }
}
