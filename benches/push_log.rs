//! `cargo bench --bench push_log`: what the push log costs a producer.
//! A gateway runs in this process (two async workers, as `vigil serve`
//! has) and clients on loopback post 1000-point bodies to
//! `POST /api/v1/metrics` as fast as they are answered, first with no
//! state dir (nothing written) and then with one (every body flushed to
//! disk before its 2xx). Figures, not assertions: points a second, and the
//! median and 99th percentile time to the answer.
//!
//! Each client posts from its own loopback address (127.0.0.N), since the
//! gateway limits requests per client address, and stays within that
//! limit's burst, so what is measured is the push path, not the limiter.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};
use vigil::gateway::serve::{Gateway, Inputs, ServeOptions};

/// Points in one body.
const POINTS: usize = 1000;
/// Bodies each client posts: under the per-address burst of 200 requests.
const BODIES: usize = 150;
const CLIENTS: usize = 8;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = std::env::temp_dir().join(format!("vigil-bench-push-log-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    println!("{CLIENTS} clients, {BODIES} bodies of {POINTS} points each\n");
    flush_cost(&dir);
    runtime.block_on(run("without a push log", None));
    runtime.block_on(run("with the push log", Some(dir.clone())));
    let _ = std::fs::remove_dir_all(&dir);
}

/// One append and flush of a body's worth of bytes, alone: the floor of
/// an acknowledged push on this disk.
fn flush_cost(dir: &std::path::Path) {
    use std::io::Write;
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("flush-probe");
    let mut file = std::fs::File::create(&path).unwrap();
    let record = vec![b'x'; POINTS * 60];
    let mut took = Vec::new();
    for _ in 0..200 {
        let start = Instant::now();
        file.write_all(&record).unwrap();
        file.sync_data().unwrap();
        took.push(start.elapsed());
    }
    took.sort();
    println!(
        "{:<36} p50 {:>7.2} ms   p99 {:>7.2} ms",
        "append + fdatasync of 60 KB",
        ms(took[took.len() / 2]),
        ms(took[took.len() * 99 / 100])
    );
    let _ = std::fs::remove_file(&path);
}

async fn run(label: &str, state_dir: Option<std::path::PathBuf>) {
    let opts = ServeOptions {
        bind: "127.0.0.1:0".parse().unwrap(),
        inputs: Inputs { simulate: Some(false), ..Inputs::default() },
        state_dir,
        ..ServeOptions::default()
    };
    let gateway = Gateway::start(opts).await.unwrap();
    let url = format!("{}{}", gateway.http_url(), vigil::wire::PUSH_PATH);
    let base = vigil::wire::now_ms() - 600_000;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let from = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + c as u8));
            let http = reqwest::Client::builder().local_address(from).build().unwrap();
            // Every body its own instant, so no point is a duplicate.
            let bodies: Vec<Vec<u8>> = (0..BODIES).map(|j| body(base + (c * BODIES + j) as i64)).collect();
            let url = url.clone();
            async move {
                let mut took = Vec::with_capacity(BODIES);
                for body in bodies {
                    let start = Instant::now();
                    let resp = http.post(&url).header("content-type", "application/json").body(body).send().await;
                    let status = resp.map(|r| r.status());
                    assert!(matches!(status, Ok(s) if s.is_success()), "push answered {status:?}");
                    took.push(start.elapsed());
                }
                took
            }
        })
        .collect();
    let start = Instant::now();
    let mut took: Vec<Duration> = futures_util::future::join_all(clients).await.into_iter().flatten().collect();
    let wall = start.elapsed();
    took.sort();
    let points = (CLIENTS * BODIES * POINTS) as f64;
    println!(
        "{label:<36} {:>9.0} points/s   ack p50 {:>7.2} ms   p99 {:>7.2} ms",
        points / wall.as_secs_f64(),
        ms(took[took.len() / 2]),
        ms(took[took.len() * 99 / 100])
    );
    let own = reqwest::get(format!("{}/metrics", gateway.http_url())).await.unwrap().text().await.unwrap();
    let figure = |name: &str| own.lines().find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok());
    if let (Some(records), Some(flushes)) =
        (figure("vigil_gateway_push_log_records_total"), figure("vigil_gateway_push_log_flushes_total"))
    {
        println!("{:<36} {records} records in {flushes} flushes", "  group commit");
    }
    gateway.shutdown().await;
}

/// A `metrics` frame of [`POINTS`] gauges at `ts`.
fn body(ts: i64) -> Vec<u8> {
    let points: Vec<serde_json::Value> = (0..POINTS)
        .map(|n| serde_json::json!({"metric": "bench_pushed", "labels": {"n": n.to_string()}, "value": n as f64 + 0.5}))
        .collect();
    let frame = serde_json::json!({"type": "metrics", "timestamp": vigil::wire::format_time(ts), "points": points});
    serde_json::to_vec(&frame).unwrap()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
