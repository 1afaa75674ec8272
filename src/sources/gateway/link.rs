//! The link: one data feed over one or more gateways. It picks the gateway
//! and the transport, reconnects with a policy per error class, fails over
//! after repeated failures, returns to the preferred gateway once it is
//! healthy, and describes all of it as `ConnState` updates.
//!
//! Transports fall back in order: WebSocket, then SSE when the upgrade is
//! refused (a proxy in the way), then REST polling.

use super::{poll, sse, websocket};
use crate::core::model::{ConnState, ErrorClass, Transport, Update};
use crate::sources::SourceStats;
use crate::sources::gateway::backoff::Backoff;
use crate::sources::gateway::stream::{Cursor, Stream};
use crate::wire;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

/// Consecutive failures on one gateway before trying the next.
const FAILOVER_AFTER: u32 = 3;

/// The link's clock: defaults for people, shorter ones for tests.
#[derive(Debug, Clone)]
pub struct Timing {
    /// Delays after network errors.
    pub backoff: Backoff,
    /// A connection that streamed data this long counts as healthy and resets the backoff.
    pub healthy_after: Duration,
    /// How often a failed-over link asks the preferred gateway whether it is back.
    pub probe_every: Duration,
    /// The shortest wait after errors a quick retry cannot fix (auth, refusals, TLS).
    pub slow_retry: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            backoff: Backoff::default(),
            healthy_after: Duration::from_secs(5),
            probe_every: Duration::from_secs(30),
            slow_retry: Duration::from_secs(30),
        }
    }
}

/// Why the link itself ended a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// The preferred gateway answers its health check again.
    BackToPreferred,
    /// The user pressed `r`.
    UserAsked,
    /// A fallback transport has run long enough: see whether the WebSocket works again.
    TryWebSocket,
}

/// How long a fallback transport runs before the WebSocket is tried again
/// (a proxy that refused the upgrade during a deploy may allow it now).
const RETRY_WEBSOCKET_AFTER: Duration = Duration::from_secs(300);

/// What the user can ask of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Drop the current attempt or wait, and dial now.
    ReconnectNow,
}

#[derive(Debug, Clone)]
pub struct LinkOptions {
    /// Gateways' stream URLs, preferred first.
    pub urls: Vec<String>,
    pub token: Option<String>,
    /// History fetched at start.
    pub backfill: Duration,
    pub tls: Arc<rustls::ClientConfig>,
    /// Wait a random part of the first backoff step before the very first
    /// dial, so many screens restarted together do not arrive at once.
    pub first_jitter: bool,
    pub timing: Timing,
}

/// One gateway and what we know of it.
pub struct Endpoint {
    pub url: String,
    /// REST base (`http(s)://host[:port][/prefix]`).
    pub base: String,
    pub stats: Arc<SourceStats>,
    /// The WebSocket session to resume.
    pub cursor: Option<Cursor>,
    /// The SSE stream position to resume.
    pub sse_last_id: Option<u64>,
    pub transport: Transport,
    failures: u32,
}

/// How a connection ended, and what it achieved first.
#[derive(Debug, Clone)]
pub struct Ended {
    pub error: String,
    pub class: ErrorClass,
    /// It streamed data long enough to reset the backoff.
    pub healthy: bool,
    /// The transport itself is unavailable here: try the next one.
    pub fall_back: bool,
    /// Ended on purpose rather than by a failure.
    purpose: Option<Purpose>,
    started: Option<Instant>,
    got_data: bool,
}

impl Ended {
    /// Failed before it was connected.
    pub fn failed(error: String, class: ErrorClass) -> Ended {
        Ended { error, class, healthy: false, fall_back: false, purpose: None, started: None, got_data: false }
    }

    /// The WebSocket upgrade was answered with plain HTTP `code`.
    pub fn upgrade_refused(code: u16) -> Ended {
        Ended::transport_refused("WebSocket upgrade", code)
    }

    /// The upgrade to `url` was answered with HTTP `code`. A 404 at a path
    /// other than the protocol's stream path is a wrong URL (a path left
    /// out, or mistyped): said at once, with the path to use, rather than
    /// tried over every transport. Anything else is [`Ended::upgrade_refused`].
    pub fn upgrade_refused_at(url: &str, code: u16) -> Ended {
        // Scheme and host end where the path begins.
        let host_from = url.find("://").map_or(0, |i| i + 3);
        let path_from = url[host_from..].find(['/', '?', '#']).map_or(url.len(), |i| host_from + i);
        let path = url[path_from..].split(['?', '#']).next().filter(|p| !p.is_empty()).unwrap_or("/");
        if code != 404 || path.ends_with(wire::STREAM_PATH) {
            return Ended::upgrade_refused(code);
        }
        let hint = format!("{}{}", &url[..path_from], wire::STREAM_PATH);
        Ended::failed(
            format!(
                "WebSocket upgrade: HTTP 404, no stream at {path}; gateways serve it at {} (try {hint})",
                wire::STREAM_PATH
            ),
            ErrorClass::Config,
        )
    }

    /// `what` was answered with HTTP `code`: credentials, a missing route
    /// (fall back to the next transport), or a server error.
    pub fn transport_refused(what: &str, code: u16) -> Ended {
        match code {
            401 | 403 => {
                Ended::failed(format!("{what}: HTTP {code}, the gateway refused our credentials"), ErrorClass::Auth)
            }
            429 | 500..=599 => Ended::failed(format!("{what}: HTTP {code}"), ErrorClass::Network),
            _ => {
                Ended { fall_back: true, ..Ended::failed(format!("{what} refused: HTTP {code}"), ErrorClass::Refused) }
            }
        }
    }

    /// The record of a connection that is up.
    pub fn alive() -> Ended {
        Ended { started: Some(Instant::now()), ..Ended::failed(String::new(), ErrorClass::Network) }
    }

    pub fn saw_data(&mut self, yes: bool) {
        self.got_data |= yes;
    }

    /// The connection that was up has ended; `healthy` is judged by the link.
    pub fn with(self, error: String, class: ErrorClass) -> Ended {
        Ended { error, class, ..self }
    }

    fn was_healthy(&self, healthy_after: Duration) -> bool {
        self.got_data && self.started.is_some_and(|s| s.elapsed() >= healthy_after)
    }
}

pub struct Link {
    opts: LinkOptions,
    endpoints: Vec<Endpoint>,
    active: usize,
    stream: Stream,
    backoff: Backoff,
    control: mpsc::Receiver<Control>,
}

impl Link {
    /// `stats` holds one entry per URL, in the same order.
    pub fn new(
        opts: LinkOptions,
        tx: mpsc::Sender<Update>,
        stats: Vec<Arc<SourceStats>>,
        control: mpsc::Receiver<Control>,
    ) -> anyhow::Result<Link> {
        anyhow::ensure!(!opts.urls.is_empty(), "no gateway to connect to");
        anyhow::ensure!(stats.len() == opts.urls.len(), "one SourceStats per gateway is needed");
        let mut endpoints = Vec::new();
        for (url, stats) in opts.urls.iter().zip(stats) {
            let base = http_base(url)?;
            endpoints.push(Endpoint {
                url: url.clone(),
                base,
                stats,
                cursor: None,
                sse_last_id: None,
                transport: Transport::Ws,
                failures: 0,
            });
        }
        let http = crate::sources::tls::http_client(&opts.tls)?;
        let stream = Stream::new(tx, http, opts.token.clone(), opts.backfill);
        let backoff = opts.timing.backoff.clone();
        Ok(Link { opts, endpoints, active: 0, stream, backoff, control })
    }

    /// Runs until cancelled; never ends because a gateway is down.
    pub async fn run(mut self, cancel: CancellationToken) {
        if self.opts.first_jitter {
            let wait = self.backoff.base_delay(0).mul_f64(rand::random::<f64>());
            tokio::select! {
                _ = sleep(wait) => {}
                _ = cancel.cancelled() => return,
            }
        }
        loop {
            let attempt = self.backoff.failures();
            self.stream.emit(Update::Conn(ConnState::Connecting { attempt })).await;
            let probe = self.probe_target();
            let on_fallback = self.endpoints[self.active].transport != Transport::Ws;
            let purposely = |purpose: Purpose, why: &str| Ended {
                purpose: Some(purpose),
                ..Ended::failed(why.to_string(), ErrorClass::ServerClosed)
            };
            let ended = tokio::select! {
                e = connect(&mut self.stream, &mut self.endpoints[self.active], &self.opts.tls) => e,
                _ = cancel.cancelled() => return,
                Some(Control::ReconnectNow) = self.control.recv() => purposely(Purpose::UserAsked, "reconnect requested"),
                true = preferred_is_back(probe) => purposely(Purpose::BackToPreferred, "the preferred gateway is back"),
                _ = sleep(RETRY_WEBSOCKET_AFTER), if on_fallback => {
                    purposely(Purpose::TryWebSocket, "trying the WebSocket again")
                }
            };
            let delay = self.after(ended).await;
            tokio::select! {
                _ = sleep(delay) => {}
                Some(Control::ReconnectNow) = self.control.recv() => {}
                _ = cancel.cancelled() => return,
            }
        }
    }

    /// Books an ended connection: transport fallback, failover, and the
    /// wait before the next dial, which it announces.
    async fn after(&mut self, mut ended: Ended) -> Duration {
        ended.healthy = ended.was_healthy(self.opts.timing.healthy_after);
        let slow_retry = self.opts.timing.slow_retry;
        let several = self.endpoints.len() > 1;
        let ep = &mut self.endpoints[self.active];
        websocket::mark_down(&ep.stats, &ended.error);
        SourceStats::bump(&ep.stats.reconnects, 1);
        tracing::info!(url = %ep.url, error = %ended.error, class = ended.class.name(), "link ended");
        if ended.healthy {
            self.backoff.reset();
            ep.failures = 0;
        }
        if ended.fall_back {
            let next = match ep.transport {
                Transport::Ws => Some(Transport::Sse),
                Transport::Sse => Some(Transport::Poll),
                Transport::Poll => None,
            };
            if let Some(t) = next {
                tracing::info!(url = %ep.url, transport = t.name(), "falling back");
                ep.transport = t;
                return Duration::ZERO;
            }
        }
        match ended.purpose {
            Some(Purpose::BackToPreferred) => {
                self.active = 0;
                self.endpoints[0].failures = 0;
                self.endpoints[0].transport = Transport::Ws;
                return Duration::ZERO;
            }
            Some(Purpose::TryWebSocket) => {
                ep.transport = Transport::Ws;
                return Duration::ZERO;
            }
            Some(Purpose::UserAsked) => return Duration::ZERO,
            None => {}
        }
        // A clean close after data (restart, slow client) is worth a quick
        // retry; one before any data is a failure like any other, or a
        // gateway that accepts and closes at once would be dialled twice a
        // second forever and never failed over.
        let quick = ended.class == ErrorClass::ServerClosed && ended.got_data;
        if !ended.healthy && !quick {
            ep.failures += 1;
            if ep.failures >= FAILOVER_AFTER && several {
                ep.failures = 0;
                self.active = (self.active + 1) % self.endpoints.len();
                let next = &mut self.endpoints[self.active];
                next.transport = Transport::Ws;
                tracing::warn!(url = %next.url, "failing over");
            }
        }
        let delay = match ended.class {
            _ if quick => Duration::from_millis(250 + (rand::random::<u64>() % 750)),
            ErrorClass::ServerClosed => self.backoff.next_delay(),
            // Credentials or a wrong URL: a fast retry cannot fix them.
            ErrorClass::Auth | ErrorClass::Refused | ErrorClass::Tls | ErrorClass::Config => {
                self.backoff.next_delay().max(slow_retry)
            }
            ErrorClass::Network => self.backoff.next_delay(),
        };
        let retry_at_ms = wire::now_ms() + delay.as_millis() as i64;
        let state = ConnState::Reconnecting {
            retry_at_ms,
            attempt: self.backoff.failures(),
            error: ended.error,
            class: ended.class,
        };
        self.stream.emit(Update::Conn(state)).await;
        delay
    }

    /// When failed over, the preferred gateway's health URL and what to send.
    fn probe_target(&self) -> Option<Probe> {
        (self.active != 0).then(|| {
            let url = format!("{}/healthz", self.endpoints[0].base);
            (self.stream.http().clone(), url, self.opts.token.clone(), self.opts.timing.probe_every)
        })
    }
}

/// Client, health URL, token and period of a probe of the preferred gateway.
type Probe = (reqwest::Client, String, Option<String>, Duration);

async fn connect(stream: &mut Stream, ep: &mut Endpoint, tls: &Arc<rustls::ClientConfig>) -> Ended {
    match ep.transport {
        Transport::Ws => websocket::run(stream, ep, tls).await,
        Transport::Sse => sse::run(stream, ep).await,
        Transport::Poll => poll::run(stream, ep).await,
    }
}

/// Resolves to `true` once the preferred gateway answers its health check;
/// never resolves when there is nothing to probe.
async fn preferred_is_back(target: Option<Probe>) -> bool {
    let Some((http, url, token, every)) = target else { return std::future::pending().await };
    loop {
        sleep(every).await;
        let mut req = http.get(&url).timeout(Duration::from_secs(5));
        if let Some(t) = &token {
            req = req.bearer_auth(t);
        }
        if req.send().await.is_ok_and(|r| r.status().is_success()) {
            return true;
        }
    }
}

/// The REST base that goes with a stream URL: same host, `http(s)`, and any
/// path prefix in front of the stream path.
pub fn http_base(stream_url: &str) -> anyhow::Result<String> {
    let (scheme, rest) = stream_url
        .split_once("://")
        .ok_or_else(|| anyhow::anyhow!("{stream_url:?} is not a URL (expected ws://HOST/api/v1/metrics/stream)"))?;
    let http = match scheme {
        "ws" | "http" => "http",
        "wss" | "https" => "https",
        other => anyhow::bail!("unsupported scheme {other:?} in {stream_url:?}: use ws:// or wss://"),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let prefix = rest.strip_suffix(wire::STREAM_PATH).unwrap_or_else(|| rest.split('/').next().unwrap_or(rest));
    Ok(format!("{http}://{}", prefix.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_base_follows_the_stream_url() {
        assert_eq!(http_base("ws://127.0.0.1:7878/api/v1/metrics/stream").unwrap(), "http://127.0.0.1:7878");
        assert_eq!(http_base("wss://ops.example/gw/api/v1/metrics/stream").unwrap(), "https://ops.example/gw");
        assert_eq!(http_base("ws://host:1/other").unwrap(), "http://host:1");
        assert!(http_base("ftp://x").is_err());
        assert!(http_base("nonsense").is_err());
    }

    #[test]
    fn refusals_are_classified() {
        assert_eq!(Ended::upgrade_refused(401).class, ErrorClass::Auth);
        assert!(!Ended::upgrade_refused(401).fall_back);
        assert!(Ended::upgrade_refused(404).fall_back);
        assert!(Ended::upgrade_refused(426).fall_back);
        assert_eq!(Ended::upgrade_refused(503).class, ErrorClass::Network);
        assert!(!Ended::upgrade_refused(503).fall_back);
        // A 404 where no stream path was given is a wrong URL, with the fix.
        let e = Ended::upgrade_refused_at("ws://127.0.0.1:7878", 404);
        assert_eq!((e.class, e.fall_back), (ErrorClass::Config, false));
        assert!(
            e.error.contains("no stream at /;") && e.error.ends_with("(try ws://127.0.0.1:7878/api/v1/metrics/stream)"),
            "{}",
            e.error
        );
        let e = Ended::upgrade_refused_at("wss://gw.example/prefix/ws?x=1", 404);
        assert_eq!(e.class, ErrorClass::Config);
        assert!(e.error.ends_with("(try wss://gw.example/api/v1/metrics/stream)"), "{}", e.error);
        // At the stream path, a 404 is a gateway without WebSocket: fall back.
        let e = Ended::upgrade_refused_at("ws://gw.example/api/v1/metrics/stream", 404);
        assert!(e.fall_back && e.class == ErrorClass::Refused);
        assert!(Ended::upgrade_refused_at("ws://gw.example/", 426).fall_back);
    }
}
