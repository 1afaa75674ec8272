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

/// The tokens a client may present, each with the name of the person it
/// belongs to when the token file gives one. Its `Debug` never shows them,
/// so they cannot leak into logs by way of a derived `Debug` somewhere up
/// the chain.
#[derive(Clone)]
pub(crate) struct Token(Vec<(Option<String>, String)>);

/// Who made a request, as far as its token says: acks and silences made
/// with a named token are signed with that name, whatever the body says.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Caller {
    pub user: Option<String>,
}

impl Token {
    /// Several tokens, each with its user's name if any.
    pub fn many(tokens: Vec<(Option<String>, String)>) -> Self {
        Token(tokens)
    }

    /// Who the token an `Authorization` header carries belongs to; `None`
    /// when it carries none of the tokens. Every token is compared, so
    /// timing does not tell which one came close.
    pub fn caller(&self, header: Option<&HeaderValue>) -> Option<Caller> {
        let value = header.and_then(|h| h.to_str().ok())?;
        let (scheme, presented) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let presented = presented.trim().as_bytes();
        let mut found = None;
        for (user, token) in &self.0 {
            if constant_time_eq(presented, token.as_bytes()) && found.is_none() {
                found = Some(Caller { user: user.clone() });
            }
        }
        found
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

/// Middleware: 401 unless the request carries one of the gateway's tokens
/// (when it has any); the handlers learn whose it was as a [`Caller`].
pub(crate) async fn require_token(State(shared): State<Arc<Shared>>, mut req: Request, next: Next) -> Response {
    let Some(token) = &shared.token else {
        req.extensions_mut().insert(Caller::default());
        return next.run(req).await;
    };
    if let Some(caller) = token.caller(req.headers().get(header::AUTHORIZATION)) {
        req.extensions_mut().insert(caller);
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
        let t = Token::many(vec![(None, "s3cret".into())]);
        let h = |s: &str| HeaderValue::from_str(s).unwrap();
        assert!(t.caller(Some(&h("Bearer s3cret"))).is_some());
        assert!(t.caller(Some(&h("bearer s3cret"))).is_some());
        assert!(t.caller(Some(&h("Bearer s3cre"))).is_none());
        assert!(t.caller(Some(&h("Bearer s3crett"))).is_none());
        assert!(t.caller(Some(&h("Basic s3cret"))).is_none());
        assert!(t.caller(Some(&h("s3cret"))).is_none());
        assert!(t.caller(None).is_none());
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
    }

    #[test]
    fn a_named_token_says_whose_it_is() {
        let t = Token::many(vec![(Some("alice".into()), "AAA".into()), (None, "BBB".into())]);
        let h = |s: &str| HeaderValue::from_str(s).unwrap();
        assert_eq!(t.caller(Some(&h("Bearer AAA"))), Some(Caller { user: Some("alice".into()) }));
        assert_eq!(t.caller(Some(&h("Bearer BBB"))), Some(Caller { user: None }));
        assert_eq!(t.caller(Some(&h("Bearer CCC"))), None);
        assert!(!format!("{t:?}").contains("AAA"));
    }
}
