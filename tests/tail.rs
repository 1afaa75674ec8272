//! `vigil tail` as a script runs it: the real binary against our gateway on
//! a loopback port, its JSON lines parsed and checked for what the data
//! layer promises (each point once, live seq in order, backfill marked,
//! alerts and events passed on), its exit codes, and its manners with a
//! reader that goes away.

use serde_json::Value;
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use vigil::gateway::serve::{Gateway, ServeOptions};
use vigil::gateway::sim::{Scenario, Simulator};
use vigil::wire::now_ms;

const SEED: u64 = 5;

/// One tail at a time: each runs a gateway and a debug binary, and two
/// cores shared by several would make a start-up backfill miss its window.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn options(scenario: Scenario) -> ServeOptions {
    ServeOptions {
        bind: "127.0.0.1:0".parse().unwrap(),
        scenario,
        seed: SEED,
        interval: Duration::from_millis(200),
        ..ServeOptions::default()
    }
}

/// Starts a gateway; the caller holds [`ONE_AT_A_TIME`].
async fn gateway(opts: ServeOptions) -> Gateway {
    tokio::time::timeout(Duration::from_secs(30), Gateway::start(opts)).await.unwrap().unwrap()
}

fn command(args: &[String]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
    c.arg("tail").args(args).env_remove("VIGIL_TOKEN");
    c
}

/// Runs `vigil tail ARGS` to the end, off the async workers so the gateway keeps serving.
async fn tail(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || command(&args).output().expect("vigil tail runs")).await.unwrap()
}

/// Every stdout line as JSON; fails on any line that is not.
fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn of_type<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["type"] == kind).collect()
}

fn assert_clean_exit(out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(stderr.is_empty(), "stderr: {stderr}");
}

/// Live seq never goes back, and every seq it skips was taken by a frame
/// printed as another line (alert, event, status, malformed).
fn assert_live_seq_in_order(lines: &[Value]) {
    let mut last: Option<u64> = None;
    let mut others = 0;
    for l in lines {
        match l["type"].as_str().unwrap() {
            "point" => {
                let Some(seq) = l["seq"].as_u64() else { continue };
                if let Some(prev) = last {
                    assert!(seq >= prev, "seq went back from {prev} to {seq}");
                    assert!(
                        seq - prev <= others + 1 || seq == prev,
                        "seq jumped from {prev} to {seq} over {others} frames"
                    );
                }
                if last != Some(seq) {
                    others = 0;
                }
                last = Some(seq);
            }
            "alert" | "event" | "status" | "malformed" => others += 1,
            _ => {}
        }
    }
    assert!(last.is_some(), "no live point");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_prints_every_point_once_with_alerts_and_events() {
    let _serial = ONE_AT_A_TIME.lock().await;
    // Land three seconds before a bad deploy's rollback: the checkout error
    // alert is firing, and the rollback event arrives while tail runs.
    let sim = Simulator::new(SEED, Scenario::BadDeploy);
    let now = now_ms();
    let rollback = sim
        .events_between(now, now + 30 * 60_000)
        .into_iter()
        .find(|e| e.text.contains("rolled back"))
        .expect("a rollback within half an hour");
    let at = rollback.timestamp.0;
    assert!(sim.incident_at(at - 3_000).is_some(), "the rollback ends an incident");
    let gw = gateway(ServeOptions { clock_offset_ms: at - 3_000 - now_ms(), ..options(Scenario::BadDeploy) }).await;

    let out = tail(&["--url", &gw.stream_url(), "--duration", "4s"]).await;
    assert_clean_exit(&out);
    let lines = json_lines(&out);
    let points = of_type(&lines, "point");

    let mut seen = HashSet::new();
    for p in &points {
        let key = (p["metric"].to_string(), p["labels"].to_string(), p["timestamp"].to_string());
        assert!(seen.insert(key), "printed twice: {p}");
        assert!(p["value"].is_number() || p["value"].is_string() || p["value"]["buckets"].is_array(), "{p}");
    }
    assert_live_seq_in_order(&lines);
    let backfilled = points.iter().filter(|p| p["backfilled"] == true).count();
    assert!(backfilled > 0, "no start-up backfill among {} points", points.len());
    assert!(points.iter().all(|p| p["backfilled"] == true || p["seq"].is_u64()), "a live point without seq");

    let alerts = of_type(&lines, "alert");
    assert!(alerts.iter().any(|a| a["state"] == "firing" && a["metric"] == "http_error_ratio"), "{alerts:?}");
    let events = of_type(&lines, "event");
    assert!(events.iter().any(|e| e["text"].as_str().unwrap().contains("rolled back")), "{events:?}");
    let conns = of_type(&lines, "conn");
    assert!(conns.iter().any(|c| c["state"] == "connected" && c["url"] == gw.stream_url().as_str()), "{conns:?}");
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metric_flags_filter_points() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let gw = gateway(options(Scenario::Calm)).await;
    let out = tail(&[
        "--url",
        &gw.stream_url(),
        "--metric",
        "orders_per_minute",
        "--metric",
        "system_health",
        "--duration",
        "2s",
    ])
    .await;
    assert_clean_exit(&out);
    let lines = json_lines(&out);
    let metrics: HashSet<&str> = of_type(&lines, "point").iter().map(|p| p["metric"].as_str().unwrap()).collect();
    assert_eq!(metrics, HashSet::from(["orders_per_minute", "system_health"]));
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_exits_2_with_one_line() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let gw = gateway(ServeOptions { token: Some("s3cret-token".into()), ..options(Scenario::Calm) }).await;
    // The duration is only a backstop: a refusal must end it well before.
    let out = tail(&["--url", &gw.stream_url(), "--duration", "60s"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("vigil tail: ") && stderr.contains("auth"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
    // The refusal is on stdout too, as data.
    let conns = json_lines(&out);
    assert!(conns.iter().any(|c| c["type"] == "conn" && c["class"] == "auth"), "{conns:?}");
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_lines_describe_the_link() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let gw = gateway(options(Scenario::Calm)).await;
    let out = tail(&["--url", &gw.stream_url(), "--sources", "--duration", "3500ms"]).await;
    assert_clean_exit(&out);
    let lines = json_lines(&out);
    assert!(lines.len() >= 2, "{lines:?}");
    assert!(lines.iter().all(|l| l["type"] == "source" && l["url"] == gw.stream_url().as_str()), "{lines:?}");
    let last = lines.last().unwrap();
    assert_eq!((last["state"].as_str(), last["connected"].as_bool()), (Some("live"), Some(true)), "{last}");
    assert_eq!(last["transport"], "ws");
    assert!(last["last_success"].is_string() && last["last_success_age_ms"].as_i64().unwrap() < 3_000, "{last}");
    assert!(last["frames_per_sec"].as_f64().unwrap() > 0.0 && last["bytes_per_sec"].as_f64().unwrap() > 0.0, "{last}");
    assert_eq!((last["malformed"].as_u64(), last["reconnects"].as_u64()), (Some(0), Some(0)), "{last}");
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_format_is_one_aligned_line_per_item() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let gw = gateway(options(Scenario::Calm)).await;
    let out = tail(&["--url", &gw.stream_url(), "--format", "text", "--duration", "2s"]).await;
    assert_clean_exit(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    // Every line opens with its time, never with JSON.
    assert!(text.lines().all(|l| l.starts_with("20")), "{text}");
    let live: Vec<&str> = text.lines().filter(|l| l.contains(" #")).collect();
    assert!(!live.is_empty(), "no live line");
    // Values share a column across lines of series that fit the padding.
    let col = |l: &str| l.rfind("  ").unwrap();
    let short: Vec<usize> = live.iter().filter(|l| l.contains("orders_per_minute")).map(|l| col(l)).collect();
    assert!(short.windows(2).all(|w| w[0] == w[1]), "{live:?}");
    gw.shutdown().await;
}

/// Reads one stdout line, then drops the reader and with it the pipe.
fn first_line(child: &mut Child) -> String {
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    assert!(!line.is_empty(), "tail printed nothing");
    line
}

/// Waits for the child to exit on its own; kills it and fails after `within`.
fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("vigil tail did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_goes_away_ends_tail_quietly() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let gw = gateway(options(Scenario::Calm)).await;
    let args = vec!["--url".to_string(), gw.stream_url()];
    let (status, stderr) = tokio::task::spawn_blocking(move || {
        // No --duration: only the closed pipe can end it.
        let mut child = command(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        first_line(&mut child);
        let status = wait_exit(&mut child, Duration::from_secs(20));
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        (status, stderr)
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("panicked") && stderr.is_empty(), "{stderr}");
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_tail_cleanly() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let gw = gateway(options(Scenario::Calm)).await;
    let args = vec!["--url".to_string(), gw.stream_url()];
    let status = tokio::task::spawn_blocking(move || {
        let mut child = command(&args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        // Keep reading so tail never blocks on a full pipe before it sees the signal.
        let drain = std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let status = wait_exit(&mut child, Duration::from_secs(20));
        let _ = drain.join();
        status
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(0));
    gw.shutdown().await;
}
