//! History on demand: when the screen asks for a span the store does not
//! hold (a wide window just after start, or scrolling back), fetch it over
//! REST from the gateways, preferred first, and feed it in as history,
//! with the span's events for the charts' markers.

use super::SourceStats;
use super::gateway::backfill::{self, Span};
use super::gateway::events::EventRoutes;
use super::gateway::link;
use crate::core::model::{MetricMeta, SourceId, Update};
use futures_util::StreamExt;
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
    let events = EventRoutes::default();
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
            tokio::select! {
                _ = events.backfill(&http, &base, token.as_deref(), (req.from_ms, req.to_ms), stats, &tx) => {}
                _ = cancel.cancelled() => return,
            }
            let mut batches = std::pin::pin!(backfill::fetch(&http, &base, token.as_deref(), &req.metrics, span));
            let mut errors = 0;
            loop {
                let batch = tokio::select! {
                    b = batches.next() => b,
                    _ = cancel.cancelled() => return,
                };
                match batch {
                    None => break,
                    Some(Err(e)) => {
                        errors += 1;
                        SourceStats::bump(&stats.backfill_errors, 1);
                        if errors <= 3 {
                            tracing::warn!(error = %e, url = %url, "history fetch failed");
                        }
                    }
                    Some(Ok(observations)) if observations.is_empty() => {}
                    Some(Ok(observations)) => {
                        SourceStats::bump(&stats.points, observations.len() as u64);
                        tracing::debug!(
                            points = observations.len(),
                            from = req.from_ms,
                            to = req.to_ms,
                            "history fetched"
                        );
                        if tx
                            .send(Update::Samples { observations, live: false, seq: None, source: SourceId::GATEWAY })
                            .await
                            .is_err()
                        {
                            // The pipeline has gone; nobody wants the rest.
                            return;
                        }
                    }
                }
            }
            // One gateway that answered is enough; try the next only on failure.
            if errors < req.metrics.len() {
                break;
            }
        }
    }
}
