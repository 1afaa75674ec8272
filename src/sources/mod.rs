//! Sources: where data comes from. Each source runs as its own task and
//! sends [`Update`](crate::core::model::Update)s down a bounded channel; it
//! never waits on the screen. A gateway's stream (`gateway/`) sits beside
//! the polled kinds: a Prometheus-compatible API (`prometheus/`), a
//! service's own `/metrics` (`scrape/`) and an Alertmanager
//! (`alertmanager/`). What they share is here: link counters
//! ([`SourceStats`]), credentials, TLS, the capped body reader.
//!
//! Owns: talking to servers and turning their answers into updates.
//! May import: `core` (its model, the store, the query types and the
//! golden-signal catalogue), `wire`, `config`'s source settings, and
//! `dashboards`' page specs (a scrape works out the golden signals and
//! writes their page). Never the TUI, the headless commands or the gateway.

pub mod alertmanager;
pub mod auth;
pub mod convert;
pub mod gateway;
pub mod history;
pub mod poller;
pub mod prometheus;
pub mod scrape;
pub mod tls;

use crate::core::model::Transport;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters one endpoint (one gateway URL) keeps about itself; read by the
/// pipeline for the status bar and the sources page.
#[derive(Debug, Default)]
pub struct SourceStats {
    /// The endpoint's URL as configured (never with credentials).
    pub url: String,
    /// What it is, and what the config calls it.
    pub kind: crate::core::model::SourceKind,
    pub name: String,
    /// The source it belongs to (a gateway's failover endpoints share one).
    pub source: crate::core::model::SourceId,
    /// How often it answers when well, when it has its own pace (a gateway's
    /// comes from its catalogue); 0 when it has none.
    pub interval_ms: i64,
    /// How long one answer may take (a polled source's request timeout; 0
    /// for a stream). What it sent stays fresh this much longer, so a server
    /// that is slow but answering is not shown stale between answers.
    pub patience_ms: i64,
    pub frames: AtomicU64,
    pub bytes: AtomicU64,
    pub points: AtomicU64,
    pub malformed: AtomicU64,
    pub reconnects: AtomicU64,
    pub seq_gaps: AtomicU64,
    pub resets: AtomicU64,
    pub backfills: AtomicU64,
    pub backfill_errors: AtomicU64,
    link: Mutex<LinkStatus>,
}

/// The endpoint's link as words and times, for "is the dashboard lying to me?".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkStatus {
    /// The transport in use, or last used.
    pub transport: Option<Transport>,
    pub connected: bool,
    /// Wall clock of the last frame or answer that worked.
    pub last_success_ms: Option<i64>,
    /// Round trip of the last ping, or of the last REST request.
    pub rtt_ms: Option<f64>,
    pub last_error: Option<String>,
}

impl SourceStats {
    /// A gateway endpoint's.
    pub fn for_url(url: &str) -> Self {
        SourceStats {
            url: url.to_string(),
            kind: crate::core::model::SourceKind::Gateway,
            name: "gateway".into(),
            ..SourceStats::default()
        }
    }

    /// Another source's: `kind` and `name` as the config gives them.
    pub fn for_source(
        source: crate::core::model::SourceId,
        kind: crate::core::model::SourceKind,
        name: &str,
        url: &str,
        interval_ms: i64,
    ) -> Self {
        SourceStats { url: url.to_string(), kind, name: name.to_string(), source, interval_ms, ..Default::default() }
    }
    pub fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }
    pub fn read(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
    /// A copy of the link status.
    pub fn link(&self) -> LinkStatus {
        self.link.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    /// Whether this is a gateway endpoint (the stream, or the demo).
    pub fn is_gateway(&self) -> bool {
        self.kind == crate::core::model::SourceKind::Gateway
    }

    /// A polled source answered at `now_ms` after `took`: its link is up.
    pub fn answered(&self, now_ms: i64, took: std::time::Duration) {
        self.update_link(|l| {
            l.connected = true;
            l.last_success_ms = Some(now_ms);
            l.rtt_ms = Some(took.as_secs_f64() * 1000.0);
            l.last_error = None;
        });
    }

    /// A polled source did not answer: its link is down, and why.
    pub fn lost(&self, error: String) {
        self.update_link(|l| {
            l.connected = false;
            l.last_error = Some(error);
        });
    }

    /// Changes the link status in place.
    pub fn update_link(&self, f: impl FnOnce(&mut LinkStatus)) {
        f(&mut self.link.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// A response's body, read as it comes; `None` once it passes `cap` bytes
/// (or says it will), so a huge answer is refused before it is held.
pub async fn read_capped(resp: &mut reqwest::Response, cap: usize) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > cap {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// Whether an error, or anything that caused it, is a TLS failure
/// (rustls hides inside `io::Error`s, whose `source` skips the inner error).
pub fn is_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<rustls::Error>() {
            return true;
        }
        if let Some(inner) = err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref())
            && is_tls(inner)
        {
            return true;
        }
        cur = err.source();
    }
    false
}

/// A transport error's class and one-line description.
pub fn classify(e: &(dyn std::error::Error + 'static)) -> (crate::core::model::ErrorClass, String) {
    if is_tls(e) {
        (crate::core::model::ErrorClass::Tls, format!("TLS: {}", error_chain(e)))
    } else {
        (crate::core::model::ErrorClass::Network, error_chain(e))
    }
}

/// An error with its causes, on one line.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = c.source();
    }
    crate::wire::sanitize(&out)
}

#[cfg(test)]
mod tests {
    use super::read_capped;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A loopback server answering once with `body`, its length announced
    /// or not (then the body runs to the close).
    async fn serve(body: usize, announced: bool) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = conn.read(&mut request).await;
            let length = if announced { format!("Content-Length: {body}\r\n") } else { String::new() };
            let head = format!("HTTP/1.1 200 OK\r\n{length}Connection: close\r\n\r\n");
            let _ = conn.write_all(head.as_bytes()).await;
            let _ = conn.write_all(&vec![b'x'; body]).await;
        });
        url
    }

    #[tokio::test]
    async fn a_body_past_the_cap_is_refused_whether_announced_or_not() {
        let http = reqwest::Client::new();
        for announced in [true, false] {
            let mut fits = http.get(serve(1000, announced).await).send().await.unwrap();
            let body = read_capped(&mut fits, 1000).await.unwrap();
            assert_eq!(body.map(|b| b.len()), Some(1000), "announced: {announced}");
            let mut over = http.get(serve(1001, announced).await).send().await.unwrap();
            assert_eq!(read_capped(&mut over, 1000).await.unwrap(), None, "announced: {announced}");
        }
    }
}
