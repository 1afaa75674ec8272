//! Webhook delivery of subscription alerts: each POST runs in its own task,
//! so the ticker never waits on someone else's server.

use super::own_metrics::OwnMetrics;
use super::state::Shared;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Per-attempt timeout.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Pauses between attempts; one attempt more than there are pauses.
const BACKOFF: [Duration; 2] = [Duration::from_millis(500), Duration::from_secs(2)];
/// Deliveries in flight at once; beyond it new ones are dropped and counted.
const IN_FLIGHT: usize = 64;

/// The HTTP client and the cap on concurrent deliveries.
pub(crate) struct WebhookSender {
    /// Made for the first delivery, not at start: making it reads the
    /// platform's certificate store, which a gateway that never delivers a
    /// webhook (the embedded demo's) should not wait for before it listens.
    client: OnceLock<Result<reqwest::Client, String>>,
    slots: Arc<Semaphore>,
}

impl WebhookSender {
    pub fn new() -> Self {
        WebhookSender { client: OnceLock::new(), slots: Arc::new(Semaphore::new(IN_FLIGHT)) }
    }

    fn client(&self) -> Result<&reqwest::Client, &str> {
        let made = self.client.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(TIMEOUT)
                // A webhook that redirects elsewhere is more likely a mistake than a wish.
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| e.to_string())
        });
        made.as_ref().map_err(String::as_str)
    }
}

/// Starts delivering `body` (an alert frame's JSON) to `url`, in the background.
pub(crate) fn spawn_delivery(shared: &Arc<Shared>, url: String, body: String) {
    let Ok(permit) = Arc::clone(&shared.webhooks.slots).try_acquire_owned() else {
        OwnMetrics::inc(&shared.metrics.webhook_dropped);
        tracing::warn!("webhook delivery dropped: too many in flight");
        return;
    };
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let _permit = permit;
        let outcome = match shared.webhooks.client() {
            Ok(client) => tokio::select! {
                _ = shared.shutdown.cancelled() => false,
                ok = attempt_all(client, &url, body) => ok,
            },
            Err(e) => {
                tracing::warn!(error = %e, "no webhook client: the alert is not delivered");
                false
            }
        };
        let counter = if outcome { &shared.metrics.webhook_ok } else { &shared.metrics.webhook_failed };
        OwnMetrics::inc(counter);
    });
}

async fn attempt_all(client: &reqwest::Client, url: &str, body: String) -> bool {
    for attempt in 0..=BACKOFF.len() {
        if attempt > 0 {
            tokio::time::sleep(BACKOFF[attempt - 1]).await;
        }
        let sent =
            client.post(url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body.clone()).send().await;
        match sent {
            Ok(r) if r.status().is_success() => return true,
            // A client error other than throttling will not improve with retrying.
            Ok(r) if r.status().is_client_error() && !matches!(r.status().as_u16(), 408 | 429) => {
                tracing::warn!(status = r.status().as_u16(), "webhook refused an alert");
                return false;
            }
            Ok(r) => tracing::debug!(status = r.status().as_u16(), attempt, "webhook attempt failed"),
            Err(e) => tracing::debug!(error = %e.without_url(), attempt, "webhook attempt failed"),
        }
    }
    tracing::warn!("webhook delivery failed after retries");
    false
}
