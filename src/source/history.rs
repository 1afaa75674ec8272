//! History on demand: when the screen asks for a span the store does not
//! hold (a wide window just after start, or scrolling back), fetch it over
//! REST from the gateways, preferred first, and feed it in as history.

use super::backfill::{self, Span};
use super::{SourceStats, link};
use crate::model::{MetricMeta, Update};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A span of history the pipeline wants, and the metrics to ask for.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub from_ms: i64,
    pub to_ms: i64,
    pub step_ms: i64,
    pub metrics: Vec<MetricMeta>,
}

/// Serves requests one at a time until cancelled; a request that no gateway
/// answers is logged and dropped (the screen shows the gap as a gap).
pub async fn serve(
    mut requests: mpsc::Receiver<Request>,
    urls: Vec<String>,
    stats: Vec<Arc<SourceStats>>,
    token: Option<String>,
    http: reqwest::Client,
    tx: mpsc::Sender<Update>,
    cancel: CancellationToken,
) {
    loop {
        let req = tokio::select! {
            r = requests.recv() => match r {
                Some(r) => r,
                None => return,
            },
            _ = cancel.cancelled() => return,
        };
        let span = Span { from_ms: req.from_ms, to_ms: req.to_ms, step_ms: req.step_ms };
        for (url, stats) in urls.iter().zip(&stats) {
            let Ok(base) = link::http_base(url) else { continue };
            SourceStats::bump(&stats.backfills, 1);
            let fetch = backfill::fetch(&http, &base, token.as_deref(), &req.metrics, span);
            let (observations, errors) = tokio::select! {
                r = fetch => r,
                _ = cancel.cancelled() => return,
            };
            SourceStats::bump(&stats.backfill_errors, errors.len() as u64);
            for e in errors.iter().take(3) {
                tracing::warn!(error = %e, url = %url, "history fetch failed");
            }
            if !observations.is_empty() {
                tracing::info!(points = observations.len(), from = req.from_ms, to = req.to_ms, "history fetched");
                SourceStats::bump(&stats.points, observations.len() as u64);
                let _ = tx.send(Update::Samples { observations, live: false, seq: None }).await;
            }
            // One gateway that answered is enough; try the next only on failure.
            if errors.len() < req.metrics.len() {
                break;
            }
        }
    }
}
