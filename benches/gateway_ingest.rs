//! `cargo bench --bench gateway_ingest`: how many points a second
//! `vigil serve` takes through `POST /api/v1/metrics` on one core, and how
//! late the frames carrying them reach subscribed screens meanwhile.
//!
//! The gateway is the release binary, run as a child and pinned to one core
//! (`taskset`, when the machine has it and more than one core); this
//! process, which pushes and listens, keeps to the other cores so the two
//! do not share a core's time. Each producer pushes bodies of its own
//! series (a real ETL job owns its KPIs), timestamped with the moment they
//! are sent; each screen reads every frame and takes its delay as arrival
//! minus that timestamp.
//!
//! Two runs: producers paced to the rate the gateway must carry
//! (200,000 points/s), then producers as fast as the gateway answers.
//! Figures, not assertions.

#[path = "../tests/common/mod.rs"]
mod common;

use common::ServeChild;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use vigil::wire::{PUSH_PATH, format_time, now_ms, parse_time};

/// Producers pushing at once.
const PRODUCERS: usize = 4;
/// Points (one per series) in each body.
const POINTS_PER_BODY: usize = 2_000;
/// Screens subscribed to everything pushed.
const SCREENS: usize = 2;
/// How long each run pushes, unless `VIGIL_BENCH_SECONDS` says otherwise.
const RUN_SECONDS: u64 = 15;
/// What the gateway must carry.
const TARGET_POINTS_PER_SEC: f64 = 200_000.0;
const METRIC: &str = "bench_kpi";

/// A frame's kind and time; its points are skipped, not decoded.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: Option<&'a str>,
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pinned = cores > 1 && pin(std::process::id(), &format!("1-{}", cores - 1));
    // The gateway is started after this process is pinned, so it is pinned
    // on its own below; the async workers this process starts inherit its set.
    let gateway = ServeChild::start(&["--simulate=false", "--interval", "1s"]);
    let gateway_pinned = pinned && pin(gateway.pid(), "0");
    println!(
        "gateway: {} ({}), producers {PRODUCERS} x {POINTS_PER_BODY} points a body, {SCREENS} screens",
        gateway.http_url(),
        if gateway_pinned { "pinned to core 0; this process on the others" } else { "not pinned" }
    );
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let paced = run(&gateway, Some(TARGET_POINTS_PER_SEC)).await;
        paced.print(&format!("paced to {TARGET_POINTS_PER_SEC:.0} points/s"));
        let flat_out = run(&gateway, None).await;
        flat_out.print("as fast as it answers");
    });
    gateway.stop();
}

fn run_for() -> Duration {
    let secs = std::env::var("VIGIL_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(RUN_SECONDS);
    Duration::from_secs(secs)
}

/// Pins a process and all its threads to `cpus` (a `taskset` list).
fn pin(pid: u32, cpus: &str) -> bool {
    std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// CPU seconds a process has used (user + system), from `/proc`.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // Linux reports in clock ticks, 100 a second on every common build.
    Some(ticks / 100.0)
}

struct Outcome {
    accepted: u64,
    refused: u64,
    elapsed: Duration,
    /// Frame delays seen by the screens, ms.
    delays: Vec<i64>,
    /// Points the screens received, summed over screens.
    received: u64,
    gateway_cpu: Option<f64>,
    ack_ms: Vec<f64>,
}

impl Outcome {
    fn print(&self, label: &str) {
        let secs = self.elapsed.as_secs_f64();
        let mut delays = self.delays.clone();
        delays.sort_unstable();
        let q = |p: f64| delays.get(((delays.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(-1);
        let mut acks = self.ack_ms.clone();
        acks.sort_by(f64::total_cmp);
        let qa = |p: f64| acks.get(((acks.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN);
        println!("{label}:");
        println!(
            "  accepted {:>9.0} points/s ({} points in {secs:.1} s; {} refused)",
            self.accepted as f64 / secs,
            self.accepted,
            self.refused
        );
        println!("  push answered in p50 {:.1} ms, p99 {:.1} ms", qa(0.5), qa(0.99));
        println!(
            "  frame delay to screens: p50 {} ms, p99 {} ms, max {} ms over {} frames ({} points received)",
            q(0.5),
            q(0.99),
            delays.last().copied().unwrap_or(-1),
            delays.len(),
            self.received
        );
        if let Some(cpu) = self.gateway_cpu {
            println!("  gateway CPU: {:.2} cores", cpu / secs);
        }
    }
}

async fn run(gateway: &ServeChild, pace: Option<f64>) -> Outcome {
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let mut screens = Vec::new();
    for _ in 0..SCREENS {
        screens.push(tokio::spawn(screen(gateway.stream_url(), stop.clone(), received.clone())));
    }
    // Every screen subscribed before the first push.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = gateway.pid();
    let cpu_before = cpu_seconds(pid);
    let start = Instant::now();
    let url = format!("{}{PUSH_PATH}", gateway.http_url());
    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        // Each producer from an address of its own, as separate jobs are:
        // the gateway's request and point budgets are per client address.
        let from = std::net::IpAddr::from([127, 0, 0, 2 + p as u8]);
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).local_address(from).build().unwrap();
        let every = pace.map(|rate| Duration::from_secs_f64(POINTS_PER_BODY as f64 * PRODUCERS as f64 / rate));
        producers.push(tokio::spawn(producer(http, url.clone(), p, every, start + run_for())));
    }
    let (mut accepted, mut refused, mut ack_ms) = (0, 0, Vec::new());
    for p in producers {
        let (a, r, acks) = p.await.unwrap();
        accepted += a;
        refused += r;
        ack_ms.extend(acks);
    }
    let elapsed = start.elapsed();
    let gateway_cpu = cpu_before.zip(cpu_seconds(pid)).map(|(a, b)| b - a);
    // Let the last frames arrive.
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let mut delays = Vec::new();
    for s in screens {
        delays.extend(s.await.unwrap());
    }
    Outcome { accepted, refused, elapsed, delays, received: received.load(Ordering::Relaxed), gateway_cpu, ack_ms }
}

/// Pushes bodies of its own series until `until`, one every `every` when
/// paced; returns points accepted, points refused and each answer's time.
async fn producer(
    http: reqwest::Client,
    url: String,
    id: usize,
    every: Option<Duration>,
    until: Instant,
) -> (u64, u64, Vec<f64>) {
    let (mut accepted, mut refused, mut acks) = (0u64, 0u64, Vec::new());
    let mut last_ts = 0;
    let mut next = Instant::now();
    let mut round = 0u64;
    while Instant::now() < until {
        if let Some(every) = every {
            tokio::time::sleep_until(next.into()).await;
            next += every;
        }
        // Strictly later than the last body: each series' points go forward.
        let ts = now_ms().max(last_ts + 1);
        last_ts = ts;
        let body = body(id, ts, round);
        round += 1;
        let sent = Instant::now();
        match http.post(&url).header("content-type", "application/json").body(body).send().await {
            Ok(r) if r.status().is_success() => accepted += POINTS_PER_BODY as u64,
            Ok(r) => {
                refused += POINTS_PER_BODY as u64;
                if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            Err(_) => refused += POINTS_PER_BODY as u64,
        }
        acks.push(sent.elapsed().as_secs_f64() * 1e3);
    }
    (accepted, refused, acks)
}

/// A `metrics` frame's worth of points, one per series of this producer.
fn body(id: usize, ts: i64, round: u64) -> String {
    let mut out = String::with_capacity(POINTS_PER_BODY * 64);
    out.push_str(&format!(r#"{{"type":"metrics","timestamp":"{}","points":["#, format_time(ts)));
    for i in 0..POINTS_PER_BODY {
        if i > 0 {
            out.push(',');
        }
        let value = ((round as usize + i) % 1000) as f64 * 0.5;
        out.push_str(&format!(r#"{{"metric":"{METRIC}","labels":{{"shop":"p{id}","kpi":"k{i}"}},"value":{value}}}"#));
    }
    out.push_str("]}");
    out
}

/// A screen subscribed to the pushed metric: reads every frame until told
/// to stop and returns each metrics frame's delay.
async fn screen(url: String, stop: Arc<AtomicBool>, received: Arc<AtomicU64>) -> Vec<i64> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.expect("the screen connects");
    ws.send(Message::text(format!(r#"{{"action":"subscribe","metric":"{METRIC}"}}"#))).await.unwrap();
    let mut delays = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let msg = match tokio::time::timeout(Duration::from_millis(200), ws.next()).await {
            Err(_) => continue,
            Ok(Some(Ok(msg))) => msg,
            Ok(_) => break,
        };
        let Message::Text(text) = msg else { continue };
        let now = now_ms();
        let Ok(head) = serde_json::from_str::<Head>(text.as_str()) else { continue };
        if head.kind != "metrics" {
            continue;
        }
        if let Some(t) = head.timestamp.and_then(parse_time) {
            delays.push(now - t);
            received.fetch_add(text.matches(r#""metric""#).count() as u64, Ordering::Relaxed);
        }
    }
    delays
}
