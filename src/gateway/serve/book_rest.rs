//! The routes of the book of acks and silences. Each change is made with
//! the book locked, written to its file, and sent to every screen before
//! the answer goes back: a 2xx means every screen has been sent it and a
//! restart keeps it. A change that cannot be written is undone and
//! answered 500.
//!
//! - `POST /api/v1/alerts/{id}/ack` (body `{"by": …}`, or none with a
//!   named token): 201 with the ack, 200 when it was acknowledged already.
//! - `DELETE /api/v1/alerts/{id}/ack`: 204.
//! - `GET /api/v1/acks`: `{"acks": [{alert_id, acked_by, acked_at}]}`.
//! - `POST /api/v1/silences`: 201 with the silence, its `id` and `status`.
//! - `GET /api/v1/silences`: `{"silences": […]}`, active, pending and
//!   expired within the last day.
//! - `DELETE /api/v1/silences/{id}`: expires it; 200 with the silence.

use super::auth::Caller;
use super::book::{self, Ack, Book, KEEP_EXPIRED_MS};
use super::book_body;
use super::rest::{clip, error_response};
use super::state::Shared;
use crate::wire::now_ms;
use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;

/// Largest body of a silence or an ack.
pub(crate) const MAX_BODY: usize = 64 * 1024;
/// Silences not yet expired, at most.
const MAX_LIVE_SILENCES: usize = 1_000;
/// Silences kept at all (expired ones are dropped oldest first past it).
const MAX_SILENCES: usize = 5_000;

type Signed = Option<Extension<Caller>>;

fn user(caller: &Signed) -> Option<String> {
    caller.as_ref().and_then(|Extension(c)| c.user.clone())
}

fn body_of(body: Result<Bytes, BytesRejection>) -> Result<Bytes, (StatusCode, &'static str)> {
    body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => (StatusCode::PAYLOAD_TOO_LARGE, "body: over 64 KiB"),
        _ => (StatusCode::BAD_REQUEST, "body: could not be read"),
    })
}

/// Runs `change` on the book, off the async workers: it takes locks and
/// writes a file.
async fn with_book(
    shared: Arc<Shared>,
    change: impl FnOnce(&Shared, &mut Book) -> Response + Send + 'static,
) -> Response {
    let done = tokio::task::spawn_blocking(move || {
        let mut book = shared.lock_book();
        change(&shared, &mut book)
    })
    .await;
    done.unwrap_or_else(|_| error_response(StatusCode::INTERNAL_SERVER_ERROR, "the book could not be changed"))
}

/// Writes the changed book and sends the change to every screen; when the
/// file cannot be written, `undo` puts the book back and the answer is 500.
fn commit(shared: &Shared, book: &mut Book, undo: impl FnOnce(&mut Book), answer: Response) -> Response {
    if let Err(e) = book.save() {
        undo(book);
        tracing::warn!(error = %e, "cannot save acknowledgements and silences; change undone");
        return error_response(StatusCode::INTERNAL_SERVER_ERROR, &format!("cannot save the book: {e}"));
    }
    book::send_changes(shared, book, now_ms());
    answer
}

/// `POST /api/v1/alerts/{id}/ack`.
pub(crate) async fn ack(
    State(shared): State<Arc<Shared>>,
    caller: Signed,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body_of(body) {
        Ok(b) => b,
        Err((status, why)) => return error_response(status, why),
    };
    let by = match book_body::acker(&body, user(&caller).as_deref()) {
        Ok(by) => by,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, &e),
    };
    with_book(shared, move |shared, book| {
        if let Some(held) = book.ack_record(&id) {
            return (StatusCode::OK, Json(held)).into_response();
        }
        if !book::active_alerts(shared).iter().any(|a| a.id == id) {
            return unknown_alert(&id);
        }
        let now = now_ms();
        book.acks.insert(id.clone(), Ack { by: by.clone(), at_ms: now, seen_ms: now, seen_here: true });
        tracing::info!(alert = %id, by = %by, "acknowledged");
        let answer = (StatusCode::CREATED, Json(book.ack_record(&id))).into_response();
        let undo_id = id.clone();
        commit(shared, book, move |b| drop(b.acks.remove(&undo_id)), answer)
    })
    .await
}

/// `DELETE /api/v1/alerts/{id}/ack`.
pub(crate) async fn unack(State(shared): State<Arc<Shared>>, caller: Signed, Path(id): Path<String>) -> Response {
    let by = user(&caller);
    with_book(shared, move |shared, book| {
        let Some(held) = book.acks.remove(&id) else {
            // Taking back what is not there is done already, for an alert that exists.
            return if book::active_alerts(shared).iter().any(|a| a.id == id) {
                StatusCode::NO_CONTENT.into_response()
            } else {
                unknown_alert(&id)
            };
        };
        tracing::info!(alert = %id, was_by = %held.by, by = ?by, "acknowledgement taken back");
        commit(shared, book, move |b| drop(b.acks.insert(id, held)), StatusCode::NO_CONTENT.into_response())
    })
    .await
}

fn unknown_alert(id: &str) -> Response {
    error_response(StatusCode::NOT_FOUND, &format!("no alert {:?} is pending or firing here", clip(id)))
}

/// `GET /api/v1/acks`.
pub(crate) async fn acks(State(shared): State<Arc<Shared>>) -> Response {
    let book = shared.lock_book();
    let list: Vec<_> = book.acks.keys().filter_map(|id| book.ack_record(id)).collect();
    Json(json!({ "acks": list })).into_response()
}

/// `POST /api/v1/silences`.
pub(crate) async fn create_silence(
    State(shared): State<Arc<Shared>>,
    caller: Signed,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body_of(body) {
        Ok(b) => b,
        Err((status, why)) => return error_response(status, why),
    };
    let now = now_ms();
    let mut silence = match book_body::silence(&body, user(&caller).as_deref(), now) {
        Ok(s) => s,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, &e),
    };
    with_book(shared, move |shared, book| {
        let live = book.silences.iter().filter(|s| s.ends_at_ms > now).count();
        if live >= MAX_LIVE_SILENCES {
            let msg = format!("silences: {MAX_LIVE_SILENCES} are active or pending already; expire some first");
            return error_response(StatusCode::BAD_REQUEST, &msg);
        }
        while book.silences.len() >= MAX_SILENCES {
            let Some(oldest) = book.silences.iter().enumerate().filter(|(_, s)| s.ends_at_ms <= now).min_by_key(|(_, s)| s.ends_at_ms).map(|(i, _)| i) else { break };
            book.silences.remove(oldest);
        }
        silence.id = loop {
            let id = fresh_id();
            if book.silences.iter().all(|s| s.id != id) {
                break id;
            }
        };
        tracing::info!(id = %silence.id, by = %silence.created_by, matchers = ?silence.matchers, until = silence.ends_at_ms, "silence made");
        let answer = (StatusCode::CREATED, Json(silence.record(now))).into_response();
        let id = silence.id.clone();
        book.silences.push(silence);
        commit(shared, book, move |b| b.silences.retain(|s| s.id != id), answer)
    })
    .await
}

/// `GET /api/v1/silences`: newest first.
pub(crate) async fn silences(State(shared): State<Arc<Shared>>) -> Response {
    let now = now_ms();
    let book = shared.lock_book();
    let list: Vec<_> =
        book.silences.iter().rev().filter(|s| now - s.ends_at_ms < KEEP_EXPIRED_MS).map(|s| s.record(now)).collect();
    Json(json!({ "silences": list })).into_response()
}

/// `DELETE /api/v1/silences/{id}`: ends it now (it stays listed as expired).
pub(crate) async fn expire_silence(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    with_book(shared, move |shared, book| {
        let now = now_ms();
        let Some(s) = book.silences.iter_mut().find(|s| s.id == id) else {
            return error_response(StatusCode::NOT_FOUND, &format!("no silence {:?}", clip(&id)));
        };
        if s.ends_at_ms <= now {
            return (StatusCode::OK, Json(s.record(now))).into_response();
        }
        let before = s.clone();
        s.ends_at_ms = now;
        s.starts_at_ms = s.starts_at_ms.min(now);
        s.updated_ms = now;
        tracing::info!(id = %id, "silence expired");
        let answer = (StatusCode::OK, Json(s.record(now))).into_response();
        let undo = move |b: &mut Book| {
            if let Some(s) = b.silences.iter_mut().find(|s| s.id == before.id) {
                *s = before;
            }
        };
        commit(shared, book, undo, answer)
    })
    .await
}

/// A random id in the shape of a UUID.
fn fresh_id() -> String {
    let h = format!("{:032x}", rand::random::<u128>());
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}
