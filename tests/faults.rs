//! The link under faults, against real gateways on loopback: a proxy that
//! cuts, truncates, stalls and delays; failover between two gateways and
//! back; SSE and REST polling when the WebSocket route is blocked; tokens.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use vigil::core::model::{ConnState, ErrorClass, Transport, Update};
use vigil::gateway::serve::{Gateway, ServeOptions};
use vigil::gateway::sim::Scenario;
use vigil::sources::SourceStats;
use vigil::sources::gateway::backoff::Backoff;
use vigil::sources::gateway::link::{Link, LinkOptions, Timing};
use vigil::wire::STREAM_PATH;

/// What the client reported, as it arrived.
#[derive(Default)]
struct Seen {
    seqs: Vec<u64>,
    states: Vec<ConnState>,
    samples: u64,
    /// Alerts, events and statuses: frames that take a seq but carry no samples.
    others: u64,
}

impl Seen {
    /// Asserts the live seqs only rise, and that every seq they skip is
    /// accounted for by a frame of another kind.
    fn assert_complete(&self, what: &str) {
        assert!(!self.seqs.is_empty(), "{what}: no frames");
        for w in self.seqs.windows(2) {
            assert!(w[1] > w[0], "{what}: seq {} after {}: duplicated or out of order", w[1], w[0]);
        }
        let span = self.seqs[self.seqs.len() - 1] - self.seqs[0] + 1;
        let holes = span - self.seqs.len() as u64;
        assert!(holes <= self.others, "{what}: {holes} seqs missing, only {} other frames seen", self.others);
    }
}

struct Client {
    cancel: CancellationToken,
    seen: Arc<Mutex<Seen>>,
    stats: Vec<Arc<SourceStats>>,
    tasks: Vec<JoinHandle<()>>,
}

fn fast_timing() -> Timing {
    Timing {
        backoff: Backoff::new(Duration::from_millis(20), 1.5, Duration::from_millis(300), 0.2),
        healthy_after: Duration::from_millis(200),
        probe_every: Duration::from_millis(500),
        slow_retry: Duration::from_secs(2),
    }
}

impl Client {
    fn start(urls: Vec<String>, token: Option<&str>, timing: Timing) -> Client {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let tls = vigil::sources::tls::client_config(None).unwrap();
        let cancel = CancellationToken::new();
        let stats: Vec<_> = urls.iter().map(|u| Arc::new(SourceStats::for_url(u))).collect();
        let (tx, mut rx) = mpsc::channel(1024);
        let (_control, control_rx) = mpsc::channel(1);
        let opts = LinkOptions {
            urls,
            token: token.map(str::to_string),
            backfill: Duration::from_secs(30),
            tls,
            first_jitter: false,
            timing,
        };
        let link = Link::new(opts, tx, stats.clone(), control_rx).unwrap();
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let record = seen.clone();
        let collector = tokio::spawn(async move {
            while let Some(u) = rx.recv().await {
                let mut s = record.lock().unwrap();
                match u {
                    Update::Samples { seq, live, .. } => {
                        s.samples += 1;
                        if let (true, Some(seq)) = (live, seq) {
                            s.seqs.push(seq);
                        }
                    }
                    Update::Conn(c) => s.states.push(c),
                    Update::Alert(_) | Update::Event(_) | Update::Status(_) => s.others += 1,
                    _ => {}
                }
            }
        });
        let link = tokio::spawn(link.run(cancel.clone()));
        Client { cancel, seen, stats, tasks: vec![link, collector] }
    }

    fn seq_count(&self) -> usize {
        self.seen.lock().unwrap().seqs.len()
    }

    /// The last connected state, if the newest state is a connection.
    fn connected(&self) -> Option<(String, Transport)> {
        match self.seen.lock().unwrap().states.last() {
            Some(ConnState::Connected { url, transport, .. }) => Some((url.clone(), *transport)),
            _ => None,
        }
    }

    async fn wait_for(&self, what: &str, within: Duration, cond: impl Fn(&Client) -> bool) {
        let deadline = tokio::time::Instant::now() + within;
        while !cond(self) {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(self) -> Seen {
        self.cancel.cancel();
        let mut tasks = self.tasks.into_iter();
        if let Some(link) = tasks.next() {
            let _ = link.await;
        }
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
        }
        Arc::try_unwrap(self.seen).map(|m| m.into_inner().unwrap()).unwrap_or_default()
    }
}

async fn gateway(bind: &str, token: Option<&str>) -> Gateway {
    let opts = ServeOptions {
        bind: bind.parse().unwrap(),
        token: token.map(str::to_string),
        scenario: Scenario::Calm,
        seed: 5,
        interval: Duration::from_millis(50),
        ..ServeOptions::default()
    };
    Gateway::start(opts).await.unwrap()
}

fn stream_url(addr: &str) -> String {
    format!("ws://{addr}{STREAM_PATH}")
}

/// Faults the proxy applies to the server-to-client direction.
#[derive(Default)]
struct Faults {
    /// Forward half of the next chunk, then drop the connection.
    truncate: AtomicBool,
    /// Hold the next chunk this long.
    stall_ms: AtomicU64,
    /// Hold every chunk this long.
    delay_ms: AtomicU64,
}

struct FaultProxy {
    addr: String,
    faults: Arc<Faults>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl FaultProxy {
    async fn start(upstream: String) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let faults: Arc<Faults> = Arc::default();
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (f, held) = (faults.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let (upstream, f) = (upstream.clone(), f.clone());
                let link = tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(&upstream).await else { return };
                    let (mut cr, mut cw) = inbound.into_split();
                    let (mut sr, mut sw) = outbound.into_split();
                    // Faults aim at the stream, not at REST backfills that share the proxy.
                    let is_stream = Arc::new(AtomicBool::new(false));
                    let mark = is_stream.clone();
                    let up = async move {
                        let mut first = vec![0u8; 8192];
                        let Ok(n) = cr.read(&mut first).await else { return };
                        let head = String::from_utf8_lossy(&first[..n]).to_ascii_lowercase();
                        mark.store(head.contains("upgrade: websocket"), Ordering::SeqCst);
                        if sw.write_all(&first[..n]).await.is_ok() {
                            let _ = tokio::io::copy(&mut cr, &mut sw).await;
                        }
                    };
                    let down = async move {
                        let mut buf = vec![0u8; 4096];
                        loop {
                            let n = match sr.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            let faulty = is_stream.load(Ordering::SeqCst);
                            let stall = if faulty {
                                f.stall_ms.swap(0, Ordering::SeqCst) + f.delay_ms.load(Ordering::SeqCst)
                            } else {
                                0
                            };
                            if stall > 0 {
                                tokio::time::sleep(Duration::from_millis(stall)).await;
                            }
                            if faulty && f.truncate.swap(false, Ordering::SeqCst) {
                                let _ = cw.write_all(&buf[..n.div_ceil(2)]).await;
                                return;
                            }
                            if cw.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                    tokio::select! { _ = up => {}, _ = down => {} }
                });
                held.lock().unwrap().push(link);
            }
        });
        FaultProxy { addr, faults, links }
    }

    fn cut(&self) {
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_faults_lose_no_seq_and_duplicate_none() {
    let gw = gateway("127.0.0.1:0", None).await;
    let proxy = FaultProxy::start(gw.local_addr().to_string()).await;
    let client = Client::start(vec![stream_url(&proxy.addr)], None, fast_timing());
    client.wait_for("first frames", Duration::from_secs(20), |c| c.seq_count() >= 5).await;

    let mut breaks = 0;
    let mut round = 0u64;
    while breaks < 50 {
        round += 1;
        let before = client.seq_count();
        match round % 5 {
            0 => proxy.faults.stall_ms.store(300, Ordering::SeqCst),
            1 => proxy.faults.delay_ms.store(20, Ordering::SeqCst),
            2 => {
                proxy.faults.truncate.store(true, Ordering::SeqCst);
                breaks += 1;
            }
            _ => {
                proxy.cut();
                breaks += 1;
            }
        }
        // Progress after every fault: the client is back and streaming.
        client.wait_for("frames after a fault", Duration::from_secs(20), |c| c.seq_count() >= before + 3).await;
        proxy.faults.delay_ms.store(0, Ordering::SeqCst);
    }
    let resets = SourceStats::read(&client.stats[0].resets);
    let reconnects = SourceStats::read(&client.stats[0].reconnects);
    let gaps = SourceStats::read(&client.stats[0].seq_gaps);
    let seen = client.stop().await;
    gw.shutdown().await;

    assert!(reconnects >= 50, "only {reconnects} reconnects for 50 breaks");
    assert_eq!(resets, 0, "a resume fell back to a reset");
    assert_eq!(gaps, 0, "the client saw frames go missing");
    seen.assert_complete("after 50 faults");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_over_to_the_second_gateway_and_returns_to_the_first() {
    let a = gateway("127.0.0.1:0", None).await;
    let a_addr = a.local_addr().to_string();
    let b = gateway("127.0.0.1:0", None).await;
    let (a_url, b_url) = (stream_url(&a_addr), stream_url(&b.local_addr().to_string()));
    let client = Client::start(vec![a_url.clone(), b_url.clone()], None, fast_timing());
    client
        .wait_for("the preferred gateway", Duration::from_secs(20), |c| c.connected().is_some_and(|(u, _)| u == a_url))
        .await;

    a.shutdown().await;
    client
        .wait_for("failover to the second gateway", Duration::from_secs(20), |c| {
            c.connected().is_some_and(|(u, _)| u == b_url)
        })
        .await;
    let n = client.seq_count();
    client.wait_for("data from the second gateway", Duration::from_secs(10), |c| c.seq_count() > n + 3).await;

    let a = gateway(&a_addr, None).await;
    client
        .wait_for("the return to the preferred gateway", Duration::from_secs(20), |c| {
            c.connected().is_some_and(|(u, _)| u == a_url)
        })
        .await;
    let n = client.seq_count();
    client.wait_for("data after the return", Duration::from_secs(10), |c| c.seq_count() > n + 3).await;
    client.stop().await;
    a.shutdown().await;
    b.shutdown().await;
}

/// A proxy that answers 404 to WebSocket upgrades (and, if asked, to the
/// SSE route), as some corporate proxies do, and forwards everything else.
async fn blocking_proxy(upstream: String, block_sse: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let mut head = vec![0u8; 8192];
                let n = match inbound.read(&mut head).await {
                    Ok(n) if n > 0 => n,
                    _ => return,
                };
                let text = String::from_utf8_lossy(&head[..n]).to_ascii_lowercase();
                let blocked =
                    text.contains("upgrade: websocket") || (block_sse && text.contains("/api/v1/metrics/events"));
                if blocked {
                    let _ = inbound
                        .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .await;
                    return;
                }
                let Ok(mut outbound) = TcpStream::connect(&upstream).await else { return };
                if outbound.write_all(&head[..n]).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn falls_back_to_sse_when_the_websocket_route_is_blocked() {
    let gw = gateway("127.0.0.1:0", None).await;
    let proxy = blocking_proxy(gw.local_addr().to_string(), false).await;
    let client = Client::start(vec![stream_url(&proxy)], None, fast_timing());
    client
        .wait_for("an SSE connection", Duration::from_secs(20), |c| {
            c.connected().is_some_and(|(_, t)| t == Transport::Sse)
        })
        .await;
    client.wait_for("frames over SSE", Duration::from_secs(10), |c| c.seq_count() >= 10).await;
    let gaps = SourceStats::read(&client.stats[0].seq_gaps);
    let seen = client.stop().await;
    gw.shutdown().await;
    assert_eq!(gaps, 0);
    seen.assert_complete("over SSE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_rest_when_websocket_and_sse_are_both_blocked() {
    let gw = gateway("127.0.0.1:0", None).await;
    let proxy = blocking_proxy(gw.local_addr().to_string(), true).await;
    let client = Client::start(vec![stream_url(&proxy)], None, fast_timing());
    client
        .wait_for("polling", Duration::from_secs(20), |c| c.connected().is_some_and(|(_, t)| t == Transport::Poll))
        .await;
    let n = client.seen.lock().unwrap().samples;
    client.wait_for("polled data", Duration::from_secs(10), |c| c.seen.lock().unwrap().samples >= n + 2).await;
    client.stop().await;
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_an_auth_error_and_is_not_retried_in_a_tight_loop() {
    let gw = gateway("127.0.0.1:0", Some("s3cret-token")).await;
    let url = stream_url(&gw.local_addr().to_string());
    // Default timing: auth errors wait at least 30 s.
    let client = Client::start(vec![url.clone()], Some("wrong-token"), Timing::default());
    client
        .wait_for("an auth error", Duration::from_secs(10), |c| {
            c.seen.lock().unwrap().states.iter().any(|s| matches!(s, ConnState::Reconnecting { .. }))
        })
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = client.stop().await;
    let retries: Vec<_> = seen.states.iter().filter(|s| matches!(s, ConnState::Reconnecting { .. })).collect();
    assert_eq!(retries.len(), 1, "retried in a loop: {retries:?}");
    let ConnState::Reconnecting { class, error, retry_at_ms, .. } = retries[0] else { unreachable!() };
    assert_eq!(*class, ErrorClass::Auth);
    assert!(!error.contains("wrong-token") && !error.contains("s3cret"), "a token leaked into {error}");
    assert!(retry_at_ms - vigil::wire::now_ms() > 25_000, "auth retry is not slowed down");

    let client = Client::start(vec![url], Some("s3cret-token"), fast_timing());
    client.wait_for("data with the right token", Duration::from_secs(20), |c| c.seq_count() >= 3).await;
    client.stop().await;
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_tls_handshake_is_a_clear_tls_error() {
    // A plain-text server where wss:// expects TLS.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
        }
    });
    let client = Client::start(vec![format!("wss://{addr}{STREAM_PATH}")], None, Timing::default());
    client
        .wait_for("a TLS error", Duration::from_secs(10), |c| {
            c.seen.lock().unwrap().states.iter().any(|s| matches!(s, ConnState::Reconnecting { .. }))
        })
        .await;
    let seen = client.stop().await;
    let Some(ConnState::Reconnecting { class, error, .. }) =
        seen.states.iter().find(|s| matches!(s, ConnState::Reconnecting { .. }))
    else {
        unreachable!()
    };
    assert_eq!(*class, ErrorClass::Tls, "{error}");
    assert!(error.starts_with("TLS: ") && !error.contains('\n'), "{error}");
}
