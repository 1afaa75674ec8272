//! The dashboard's data layer against real servers on loopback: our own
//! gateway (stopped and restarted under it, or cut off by a proxy), and a
//! hostile server that sends garbage.

use futures_util::{SinkExt, StreamExt};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_util::sync::CancellationToken;
use vigil::model::{Sample, SeriesKey};
use vigil::pipeline::{self, Pipeline};
use vigil::scene::{Scene, SourceInfo};
use vigil::serve::{Gateway, ServeOptions};
use vigil::sim::Scenario;
use vigil::source::SourceStats;
use vigil::source::link::{Link, LinkOptions};

const INTERVAL_MS: u64 = 200;

/// The dashboard's data path without a screen: source -> pipeline.
struct Client {
    cancel: CancellationToken,
    stats: Arc<SourceStats>,
    scenes: watch::Receiver<Arc<Scene>>,
    source: JoinHandle<()>,
    pipeline: JoinHandle<Pipeline>,
}

impl Client {
    fn start(url: &str) -> Client {
        let cancel = CancellationToken::new();
        let stats = Arc::new(SourceStats::default());
        let (tx, rx) = mpsc::channel(1024);
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let tls = vigil::source::tls::client_config(None).unwrap();
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
        Client { cancel, stats, scenes, source, pipeline }
    }

    fn frames(&self) -> u64 {
        SourceStats::read(&self.stats.frames)
    }

    /// Waits until `n` more frames have arrived.
    async fn wait_frames(&self, n: u64, within: Duration) {
        let target = self.frames() + n;
        let deadline = tokio::time::Instant::now() + within;
        while self.frames() < target {
            assert!(tokio::time::Instant::now() < deadline, "only {} of {target} frames in {within:?}", self.frames());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stop(self) -> Pipeline {
        self.cancel.cancel();
        let _ = self.source.await;
        self.pipeline.await.unwrap()
    }
}

async fn gateway(bind: &str) -> Gateway {
    let opts = ServeOptions {
        bind: bind.parse().unwrap(),
        scenario: Scenario::Calm,
        seed: 3,
        interval: Duration::from_millis(INTERVAL_MS),
        ..ServeOptions::default()
    };
    Gateway::start(opts).await.unwrap()
}

/// Timestamps of one series, oldest first.
fn timestamps(p: &Pipeline, key: &SeriesKey) -> Vec<i64> {
    p.core().store.get(key).map(|s| s.raw().map(|(t, _)| t).collect()).unwrap_or_default()
}

/// The widest gap between consecutive points from `from_ms` on.
fn widest_gap(ts: &[i64], from_ms: i64) -> i64 {
    let tail: Vec<i64> = ts.iter().copied().filter(|&t| t >= from_ms).collect();
    tail.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(i64::MAX)
}

/// `vigil serve` as its own process, as an operator would run it.
struct ServeProcess(std::process::Child);

impl ServeProcess {
    async fn start(addr: &str) -> ServeProcess {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["serve", "--bind", addr, "--scenario", "calm", "--seed", "3", "--interval"])
            .arg(format!("{INTERVAL_MS}ms"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("vigil serve starts");
        let url = format!("http://{addr}/healthz");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !reqwest::get(&url).await.is_ok_and(|r| r.status().is_success()) {
            assert!(tokio::time::Instant::now() < deadline, "vigil serve did not come up on {addr}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        ServeProcess(child)
    }

    /// SIGTERM, as a service manager stops it, then wait for the exit.
    fn stop(mut self) {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let status = self.0.wait().expect("vigil serve exits");
        assert!(status.success(), "vigil serve exited with {status} on SIGTERM");
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

fn free_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_fills_a_gateway_restart_with_no_missing_data() {
    let addr = free_port();
    let gw = ServeProcess::start(&addr).await;
    let client = Client::start(&format!("ws://{addr}{}", vigil::wire::STREAM_PATH));
    // Long enough for the link to count as healthy.
    client.wait_frames(30, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let live_from = vigil::wire::now_ms();

    gw.stop();
    let down_at = vigil::wire::now_ms();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let gw = ServeProcess::start(&addr).await;
    let up_at = vigil::wire::now_ms();

    // The old session died with the old gateway: the client must be told to
    // reset, backfill the outage over REST and subscribe again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while SourceStats::read(&client.stats.resets) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no reset after the restart");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client.wait_frames(10, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(client.scenes.borrow().link.conn.is_connected());
    let stats = client.stats.clone();
    let p = client.stop().await;
    gw.stop();

    assert!(SourceStats::read(&stats.reconnects) >= 1);
    assert_eq!(SourceStats::read(&stats.backfill_errors), 0);
    for key in [SeriesKey::new("active_users"), SeriesKey::new("cpu_usage_percent").with("service", "checkout")] {
        let ts = timestamps(&p, &key);
        assert!(ts.iter().any(|&t| t > down_at && t < up_at), "{key:?}: nothing backfilled in the outage");
        // Allow one tick skipped by a busy machine; the outage itself was 2 s.
        let gap = widest_gap(&ts, live_from);
        assert!(gap <= 2 * INTERVAL_MS as i64, "{key:?}: a gap of {gap} ms remains");
    }
    // Counters kept their identity across the restart (no double counting).
    // The simulator restarts its counters at UTC midnight; skip across one.
    let start_of_data = timestamps(&p, &SeriesKey::new("active_users"))[0];
    if start_of_data.div_euclid(86_400_000) != up_at.div_euclid(86_400_000) {
        return;
    }
    let key = SeriesKey::new("http_requests_total").with("service", "api").with("status", "200");
    let values: Vec<f64> = p.core().store.get(&key).unwrap().raw().filter_map(|(_, s)| s.as_number()).collect();
    assert!(values.windows(2).all(|w| w[1] >= w[0]), "a counter went backwards within the day");
}

/// A TCP proxy whose live connections can be cut, to drop links under a client.
struct Proxy {
    addr: String,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let held = links.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                held.lock().unwrap().push(link);
            }
        });
        Proxy { addr, links }
    }

    /// Drops every open connection at once, as a flaky network would.
    fn cut(&self) {
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_resumes_its_session_through_a_dropped_link() {
    let gw = gateway("127.0.0.1:0").await;
    let proxy = Proxy::start(gw.local_addr().to_string()).await;
    let url = format!("ws://{}{}", proxy.addr, vigil::wire::STREAM_PATH);
    let client = Client::start(&url);
    client.wait_frames(30, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let live_from = vigil::wire::now_ms();

    // The baseline is read before the cut: the client may notice it at once.
    let reconnects = SourceStats::read(&client.stats.reconnects);
    proxy.cut();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while SourceStats::read(&client.stats.reconnects) == reconnects {
        assert!(tokio::time::Instant::now() < deadline, "the client did not notice the cut");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client.wait_frames(15, Duration::from_secs(15)).await;
    let stats = client.stats.clone();
    let p = client.stop().await;
    gw.shutdown().await;

    // The session was resumed and replayed: no reset, no seq gap.
    assert_eq!(SourceStats::read(&stats.resets), 0, "resume fell back to a reset");
    assert_eq!(SourceStats::read(&stats.seq_gaps), 0, "frames were lost across the resume");
    let ts = timestamps(&p, &SeriesKey::new("orders_per_minute"));
    let gap = widest_gap(&ts, live_from);
    assert!(gap <= 2 * INTERVAL_MS as i64, "a gap of {gap} ms remains");
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
    let wait_malformed = |n: u64| {
        let stats = client.stats.clone();
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
            while SourceStats::read(&stats.malformed) < n {
                let seen = SourceStats::read(&stats.malformed);
                assert!(tokio::time::Instant::now() < deadline, "only {seen} malformed frames counted");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    // Malformed: bad JSON, not an object, one bad point, the 2 MiB frame, binary.
    wait_malformed(5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(SourceStats::read(&client.stats.reconnects), 0, "bad frames cost the connection");
    let scene = client.scenes.borrow().clone();

    // tokio-tungstenite ends its stream after a text frame that is not UTF-8:
    // it is still counted as malformed, and the link reconnects.
    last_frame.send(()).unwrap();
    wait_malformed(6).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let last = client.scenes.borrow().link.last_malformed.clone();
    assert!(last.as_deref().is_some_and(|m| m.contains("not UTF-8")), "{last:?}");
    let p = client.stop().await;

    let health = p.core().store.get(&SeriesKey::new("system_health")).unwrap().latest().unwrap().1.clone();
    let Sample::Text(text) = health else { panic!("status became {health:?}") };
    assert!(!text.chars().any(|c| c.is_control()), "{text:?}");
    let orders = p.core().store.get(&SeriesKey::new("orders_per_minute")).unwrap().latest().unwrap().1.as_number();
    assert_eq!(orders, Some(f64::INFINITY));
    assert!(scene.events.iter().all(|e| !e.text.chars().any(|c| c.is_control())));
    assert!(scene.link.last_malformed.is_some());
    assert!(p.core().store.get(&SeriesKey::new("x")).is_none(), "the oversized frame was used");
}
