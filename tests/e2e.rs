//! The dashboard's data layer against real servers on loopback: our own
//! gateway (stopped and restarted under it, or cut off by a proxy), and a
//! hostile server that sends garbage. Every wait is for something seen in
//! the data, and what is asserted is what was received and kept, compared
//! with what an independent subscriber saw the gateway send, not how
//! quickly a loaded machine got it there.

mod common;

use common::ServeChild;
use futures_util::{SinkExt, StreamExt};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_util::sync::CancellationToken;
use vigil::core::model::{Sample, SeriesKey, Update};
use vigil::gateway::serve::{Gateway, ServeOptions};
use vigil::gateway::sim::Scenario;
use vigil::sources::SourceStats;
use vigil::sources::gateway::link::{Link, LinkOptions};
use vigil::tui::pipeline::{self, Pipeline};
use vigil::tui::scene::{Scene, SourceInfo};
use vigil::wire::ServerFrame;

const INTERVAL_MS: i64 = 200;
/// Every wait here is bounded by this: generous, as a loaded two-core
/// machine may be slow, and only a broken client takes this long.
const WAIT: Duration = Duration::from_secs(60);
/// A connection that streamed this long counts as healthy (the link's
/// default `healthy_after`, 5 s), with a second to spare.
const HEALTHY_MS: i64 = 6_000;

/// What the client's link handed to its pipeline, recorded on the way.
#[derive(Debug, Default)]
struct Received {
    /// Timestamp of each live metrics frame, in arrival order.
    live: Vec<i64>,
    /// Each REST backfill finished: (from, to], complete.
    backfills: Vec<(i64, i64, bool)>,
}

/// Polls `cond` until it holds; fails with `what` after [`WAIT`].
async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "gave up after {WAIT:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The dashboard's data path without a screen: source -> pipeline, with a
/// tap between them that records what arrived.
struct Client {
    cancel: CancellationToken,
    stats: Arc<SourceStats>,
    scenes: watch::Receiver<Arc<Scene>>,
    received: Arc<Mutex<Received>>,
    source: JoinHandle<()>,
    pipeline: JoinHandle<Pipeline>,
}

impl Client {
    fn start(url: &str) -> Client {
        let cancel = CancellationToken::new();
        let stats = Arc::new(SourceStats::default());
        let (tx, mut from_link) = mpsc::channel(1024);
        let (to_pipeline, rx) = mpsc::channel(1024);
        let received: Arc<Mutex<Received>> = Arc::default();
        let record = received.clone();
        tokio::spawn(async move {
            while let Some(update) = from_link.recv().await {
                match &update {
                    Update::Samples { observations, live: true, .. } => {
                        if let Some(o) = observations.first() {
                            record.lock().unwrap().live.push(o.ts);
                        }
                    }
                    Update::Backfilled { from_ms, to_ms, complete } => {
                        record.lock().unwrap().backfills.push((*from_ms, *to_ms, *complete));
                    }
                    _ => {}
                }
                if to_pipeline.send(update).await.is_err() {
                    return;
                }
            }
        });
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let tls = vigil::sources::tls::client_config(None).unwrap();
        let opts = LinkOptions {
            urls: vec![url.to_string()],
            token: None,
            backfill: Duration::from_secs(60),
            tls,
            first_jitter: false,
            timing: Default::default(),
        };
        let (_control, control_rx) = mpsc::channel(1);
        let link = Link::new(opts, tx, vec![stats.clone()], control_rx).unwrap();
        let source = tokio::spawn(link.run(cancel.clone()));
        let (scene_tx, scenes) = watch::channel(Arc::new(Scene::default()));
        let p = Pipeline::new(SourceInfo { url: url.into(), demo: None }, vec![stats.clone()]);
        let pipeline = tokio::spawn(pipeline::run(p, rx, None, scene_tx, cancel.clone()));
        Client { cancel, stats, scenes, received, source, pipeline }
    }

    fn frames(&self) -> u64 {
        SourceStats::read(&self.stats.frames)
    }

    fn stat(&self, counter: impl Fn(&SourceStats) -> &std::sync::atomic::AtomicU64) -> u64 {
        SourceStats::read(counter(&self.stats))
    }

    /// Timestamps of the live metrics frames received so far.
    fn live(&self) -> Vec<i64> {
        self.received.lock().unwrap().live.clone()
    }

    fn backfills(&self) -> Vec<(i64, i64, bool)> {
        self.received.lock().unwrap().backfills.clone()
    }

    /// Waits until `n` more frames have arrived.
    async fn wait_frames(&self, n: u64) {
        let target = self.frames() + n;
        wait_for(&format!("{n} more frames"), || self.frames() >= target).await;
    }

    /// Waits until live data has streamed long enough for the link to
    /// count the connection as healthy, judged by the frames' own
    /// timestamps; returns the newest.
    async fn wait_healthy(&self) -> i64 {
        let from = self.live().last().copied();
        wait_for("live data spanning a healthy connection", || {
            let live = self.live();
            let first = from.map_or(live.first().copied(), |f| live.iter().copied().find(|&t| t > f));
            first.zip(live.last().copied()).is_some_and(|(a, b)| b - a >= HEALTHY_MS)
        })
        .await;
        *self.live().last().unwrap()
    }

    async fn stop(self) -> (Pipeline, Received) {
        self.cancel.cancel();
        let _ = self.source.await;
        let p = self.pipeline.await.unwrap();
        let received = std::mem::take(&mut *self.received.lock().unwrap());
        (p, received)
    }
}

/// An independent subscriber on a gateway: the timestamps of every
/// metrics frame the gateway sent it, which is every tick while it was
/// connected, as one `Calm` tick carries every metric.
struct Observer {
    ticks: Arc<Mutex<Vec<i64>>>,
    task: JoinHandle<()>,
}

impl Observer {
    /// Connects to `stream_url` and subscribes to `metric`; returns once
    /// the first tick has been seen.
    async fn start(stream_url: &str, metric: &str) -> Observer {
        let (mut ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(stream_url))
            .await
            .expect("observer: connect timed out")
            .expect("observer: connect failed");
        let subscribe = format!(r#"{{"action":"subscribe","metric":"{metric}"}}"#);
        ws.send(Message::text(subscribe)).await.expect("observer: subscribe");
        let ticks: Arc<Mutex<Vec<i64>>> = Arc::default();
        let record = ticks.clone();
        let task = tokio::spawn(async move {
            while let Some(Ok(msg)) = ws.next().await {
                if let Message::Text(text) = msg
                    && let Ok(ServerFrame::Metrics(m)) = serde_json::from_str::<ServerFrame>(text.as_str())
                {
                    record.lock().unwrap().push(m.timestamp.0);
                }
            }
        });
        let observer = Observer { ticks, task };
        wait_for("the observer's first tick", || !observer.ticks().is_empty()).await;
        observer
    }

    fn ticks(&self) -> Vec<i64> {
        self.ticks.lock().unwrap().clone()
    }

    /// Waits until it has seen a tick at or after `t`.
    async fn wait_past(&self, t: i64) {
        wait_for(&format!("the observer to see the tick at {t}"), || self.ticks().last().is_some_and(|&l| l >= t))
            .await;
    }

    /// Waits for its gateway to end the stream; every tick it sent is in.
    async fn finished(self) -> Vec<i64> {
        tokio::time::timeout(WAIT, self.task).await.expect("the observer's stream never ended").unwrap();
        self.ticks.lock().unwrap().clone()
    }
}

async fn gateway(bind: &str) -> Gateway {
    let opts = ServeOptions {
        bind: bind.parse().unwrap(),
        scenario: Scenario::Calm,
        seed: 3,
        interval: Duration::from_millis(INTERVAL_MS as u64),
        ..ServeOptions::default()
    };
    Gateway::start(opts).await.unwrap()
}

/// Timestamps of one series, oldest first.
fn timestamps(p: &Pipeline, key: &SeriesKey) -> Vec<i64> {
    p.core().store.get(key).map(|s| s.raw().map(|(t, _)| t).collect()).unwrap_or_default()
}

/// Which of `wanted` (within `from..=to`) the series does not hold.
fn missing(held: &[i64], wanted: impl IntoIterator<Item = i64>, from: i64, to: i64) -> Vec<i64> {
    let held: BTreeSet<i64> = held.iter().copied().collect();
    wanted.into_iter().filter(|t| (from..=to).contains(t) && !held.contains(t)).collect()
}

/// `vigil serve` as its own process, as an operator runs it, on the port
/// it picked and said.
async fn serve() -> ServeChild {
    let interval = format!("{INTERVAL_MS}ms");
    tokio::task::spawn_blocking(move || {
        ServeChild::start(&["--scenario", "calm", "--seed", "3", "--interval", &interval])
    })
    .await
    .unwrap()
}

/// Stops it with SIGTERM and waits for a clean exit, off the async workers.
async fn stop(serve: ServeChild) {
    tokio::task::spawn_blocking(move || serve.stop()).await.unwrap();
}

/// A TCP proxy on a port of its own: its live connections can be cut, to
/// drop links under a client, and what it relays to can be changed, so a
/// client keeps one address while the gateway behind it is replaced. With
/// nowhere to relay to, a connection is closed as soon as it is accepted.
struct Proxy {
    addr: String,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    upstream: Arc<Mutex<Option<String>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let upstream = Arc::new(Mutex::new(Some(upstream)));
        let (held, target) = (links.clone(), upstream.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let Some(upstream) = target.lock().unwrap().clone() else { continue };
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                held.lock().unwrap().push(link);
            }
        });
        Proxy { addr, links, upstream }
    }

    fn stream_url(&self) -> String {
        format!("ws://{}{}", self.addr, vigil::wire::STREAM_PATH)
    }

    /// Relays new connections to `upstream`, or to nothing.
    fn relay_to(&self, upstream: Option<String>) {
        *self.upstream.lock().unwrap() = upstream;
    }

    /// Drops every open connection at once, as a flaky network would.
    fn cut(&self) {
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_fills_a_gateway_restart_with_no_missing_data() {
    let gw = serve().await;
    // The restarted gateway binds a port of its own: the proxy gives the
    // client one address for both, as a service address would.
    let proxy = Proxy::start(gw.addr().to_string()).await;
    let old_ticks = Observer::start(&gw.stream_url(), "active_users").await;
    let client = Client::start(&proxy.stream_url());
    let live_from = client.wait_healthy().await;

    // Nothing is relayed to the stopped gateway's port, which anyone may
    // take once it is free; the outage lasts until the client has found
    // the gateway gone (the close, then a dial that fails).
    let reconnects = client.stat(|s| &s.reconnects);
    proxy.relay_to(None);
    stop(gw).await;
    let old_ticks = old_ticks.finished().await;
    wait_for("a failed dial during the outage", || client.stat(|s| &s.reconnects) >= reconnects + 2).await;
    // An outage of a few ticks at least: one shorter than a tick leaves
    // nothing between the gateways to fill, and nothing to check.
    let outage_until = old_ticks.last().unwrap() + 3 * INTERVAL_MS;
    wait_for("an outage of a few ticks", || vigil::wire::now_ms() > outage_until).await;
    let gw = serve().await;
    let new_ticks = Observer::start(&gw.stream_url(), "active_users").await;
    proxy.relay_to(Some(gw.addr().to_string()));

    // The old session died with the old gateway: the client must be told to
    // reset, backfill the outage over REST and subscribe again.
    wait_for("a reset from the new gateway", || client.stat(|s| &s.resets) >= 1).await;
    let last_old = *old_ticks.last().unwrap();
    wait_for("the outage's backfill and live data from the new gateway", || {
        let fresh = client.live().iter().filter(|&&t| t > last_old).count();
        client.backfills().iter().any(|b| b.0 >= live_from) && fresh >= 10
    })
    .await;
    wait_for("the link shown up", || client.scenes.borrow().link.conn.is_connected()).await;
    let stats = client.stats.clone();
    let (p, received) = client.stop().await;
    stop(gw).await;
    let new_ticks = new_ticks.finished().await;

    assert!(SourceStats::read(&stats.reconnects) >= 1);
    assert_eq!(SourceStats::read(&stats.backfill_errors), 0);
    // The reset's backfill starts at the newest data held from the old
    // gateway, and is whole.
    let held_old = received.live.iter().copied().filter(|&t| t <= last_old).max().unwrap();
    let outage: Vec<_> = received.backfills.iter().filter(|b| b.0 >= live_from).collect();
    assert_eq!(outage.len(), 1, "one backfill for the outage: {:?}", received.backfills);
    let (from, to, complete) = *outage[0];
    assert!(complete && from == held_old, "backfill of ({from}, {to}] after data up to {held_old}");
    let first_new = received.live.iter().copied().find(|&t| t > last_old).unwrap();
    let last_new = *received.live.last().unwrap();
    let grid = |from: i64, to: i64| (from / INTERVAL_MS + 1..=to / INTERVAL_MS).map(|k| k * INTERVAL_MS);
    for key in [SeriesKey::new("active_users"), SeriesKey::new("cpu_usage_percent").with("service", "checkout")] {
        let ts = timestamps(&p, &key);
        // Every tick of the old gateway from the first live frame to the
        // last is held (any after that are the outage's)...
        let lost = missing(&ts, old_ticks.iter().copied(), received.live[0], held_old);
        assert!(lost.is_empty(), "{key:?}: ticks of the old gateway missing: {lost:?}");
        // ...the outage is filled at the stream's own spacing...
        let hole = missing(&ts, grid(from, to), from, to);
        assert!(hole.is_empty(), "{key:?}: not backfilled in ({from}, {to}]: {hole:?}");
        let first_up = new_ticks[0];
        assert!(
            ts.iter().any(|&t| t > last_old && t < first_up),
            "{key:?}: nothing between the gateways: last old tick {last_old}, first new {first_up}, \
             backfill ({from}, {to}], held {:?}",
            ts.iter().filter(|&&t| t > last_old - 1_000 && t < first_up + 1_000).collect::<Vec<_>>()
        );
        // ...and so is every tick of the new gateway since the client
        // subscribed again. (Ticks between the reset and that subscription
        // are neither streamed nor backfilled: the backfill ends where the
        // reset arrived. How many there are depends on the round trip, so
        // they are not counted here.)
        let lost = missing(&ts, new_ticks.iter().copied(), first_new, last_new);
        assert!(lost.is_empty(), "{key:?}: ticks of the new gateway missing: {lost:?}");
    }
    // Counters kept their identity across the restart (no double counting).
    // The simulator restarts its counters at UTC midnight; skip across one.
    let start_of_data = timestamps(&p, &SeriesKey::new("active_users"))[0];
    if start_of_data.div_euclid(86_400_000) != last_new.div_euclid(86_400_000) {
        return;
    }
    let key = SeriesKey::new("http_requests_total").with("service", "api").with("status", "200");
    let values: Vec<f64> = p.core().store.get(&key).unwrap().raw().filter_map(|(_, s)| s.as_number()).collect();
    assert!(values.windows(2).all(|w| w[1] >= w[0]), "a counter went backwards within the day");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_resumes_its_session_through_a_dropped_link() {
    let gw = gateway("127.0.0.1:0").await;
    let proxy = Proxy::start(gw.local_addr().to_string()).await;
    let observer = Observer::start(&gw.stream_url(), "orders_per_minute").await;
    let client = Client::start(&proxy.stream_url());
    let live_from = client.wait_healthy().await;

    // The baseline is read before the cut: the client may notice it at once.
    let reconnects = client.stat(|s| &s.reconnects);
    proxy.cut();
    wait_for("the client to notice the cut", || client.stat(|s| &s.reconnects) > reconnects).await;
    client.wait_frames(15).await;
    let stats = client.stats.clone();
    let (p, received) = client.stop().await;
    let last = *received.live.last().unwrap();
    observer.wait_past(last).await;
    let ticks = observer.ticks();
    gw.shutdown().await;

    // The session was resumed and replayed: no reset, no seq gap, and every
    // tick the gateway sent meanwhile is held.
    assert_eq!(SourceStats::read(&stats.resets), 0, "resume fell back to a reset");
    assert_eq!(SourceStats::read(&stats.seq_gaps), 0, "frames were lost across the resume");
    let ts = timestamps(&p, &SeriesKey::new("orders_per_minute"));
    let lost = missing(&ts, ticks.iter().copied(), received.live[0], last);
    assert!(lost.is_empty(), "ticks missing across the resume: {lost:?}");
    assert!(ticks.iter().filter(|&&t| t > live_from && t <= last).count() >= 15, "{ticks:?}");
}

/// A server that speaks the protocol badly on purpose.
/// Returns the URL and a trigger for the last frame, which is not UTF-8.
async fn hostile_server() -> (String, tokio::sync::oneshot::Sender<()>) {
    let (trigger, fire) = tokio::sync::oneshot::channel::<()>();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let Ok((tcp, _)) = listener.accept().await else { return };
        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else { return };
        let now = vigil::wire::format_time(vigil::wire::now_ms());
        let frames = [
            r#"{"type":"hello","protocol":1,"server":"evil\u001b]0;owned\u0007","session":"s","seq":0,"interval_ms":1000,"metrics":[]}"#.to_string(),
            "{not json".to_string(),
            r#"{"type":"gossip","x":1}"#.to_string(),
            "[1,2,3]".to_string(),
            format!(r#"{{"type":"metrics","seq":1,"timestamp":"{now}","points":[{{"metric":"system_health","value":"ok\u001b[2J\u001b[31mred"}},{{"metric":"bad name","value":1}},{{"metric":"orders_per_minute","value":"+Inf"}}]}}"#),
            format!(r#"{{"type":"metrics","seq":2,"timestamp":"{now}","points":[{{"metric":"x","value":1}}],"pad":"{}"}}"#, "x".repeat(2 << 20)),
            format!(r#"{{"type":"event","seq":3,"timestamp":"{now}","kind":"deploy","text":"v2 \u009b31m"}}"#),
        ];
        for f in frames {
            if ws.send(Message::Text(f.into())).await.is_err() {
                return;
            }
        }
        let _ = ws.send(Message::Binary(vec![0xff, 0xfe].into())).await;
        // Last, on cue: a text frame that is not UTF-8, sent raw since the library would refuse it.
        let _ = fire.await;
        let not_utf8 = Frame::message(vec![b'{', 0xc3, 0x28, b'}'], OpCode::Data(Data::Text), true);
        let _ = ws.send(Message::Frame(not_utf8)).await;
        // Keep the connection open, reading whatever the client says.
        while let Some(Ok(_)) = ws.next().await {}
    });
    (format!("ws://{addr}/api/v1/metrics/stream"), trigger)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_counted_and_skipped_and_escapes_never_get_through() {
    let (url, last_frame) = hostile_server().await;
    let client = Client::start(&url);
    // Malformed: bad JSON, not an object, one bad point, the 2 MiB frame, binary.
    wait_for("five malformed frames", || client.stat(|s| &s.malformed) >= 5).await;
    // The deploy event came after the bad frames: once the scene shows it,
    // it shows what they did.
    wait_for("the event in the scene", || !client.scenes.borrow().events.is_empty()).await;
    let scene = client.scenes.borrow().clone();
    assert_eq!(client.stat(|s| &s.reconnects), 0, "bad frames cost the connection");

    // tokio-tungstenite ends its stream after a text frame that is not UTF-8:
    // it is still counted as malformed, and the link reconnects. The server
    // accepts one connection only, so this frame arriving also proves that
    // the one connection outlived every bad frame before it.
    last_frame.send(()).unwrap();
    wait_for("the sixth malformed frame", || client.stat(|s| &s.malformed) >= 6).await;
    let not_utf8 = |s: &Scene| s.link.last_malformed.as_deref().is_some_and(|m| m.contains("not UTF-8"));
    wait_for("the last malformed frame in the scene", || not_utf8(&client.scenes.borrow())).await;
    let (p, _) = client.stop().await;

    let health = p.core().store.get(&SeriesKey::new("system_health")).unwrap().latest().unwrap().1.clone();
    let Sample::Text(text) = health else { panic!("status became {health:?}") };
    assert!(!text.chars().any(|c| c.is_control()), "{text:?}");
    let orders = p.core().store.get(&SeriesKey::new("orders_per_minute")).unwrap().latest().unwrap().1.as_number();
    assert_eq!(orders, Some(f64::INFINITY));
    assert!(!scene.events.is_empty() && scene.events.iter().all(|e| !e.text.chars().any(|c| c.is_control())));
    assert!(scene.link.last_malformed.is_some());
    assert!(p.core().store.get(&SeriesKey::new("x")).is_none(), "the oversized frame was used");
}

/// A gateway whose log goes to a pipe (a service manager, a file) writes
/// plain text: colour codes there are noise no one can read.
#[tokio::test]
async fn serve_logs_plain_text_into_a_pipe() {
    let gw = serve().await;
    let said = gw.said();
    assert!(said.iter().any(|l| l.contains("gateway listening")), "{said:?}");
    assert!(said.iter().all(|l| !l.contains('\u{1b}')), "colour codes in a piped log: {said:?}");
    stop(gw).await;
}
