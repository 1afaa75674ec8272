//! Gateways we did not write, as the real binary meets them on loopback:
//! our own gateway behind a proxy that lets only SSE through, judged by
//! `vigil check`. What is asserted is what the proxy let through and what
//! vigil printed.

mod common;

use serde_json::{Value, json};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// ------------------------------------------------------- SSE only

/// Counts of what the proxy let through and refused.
#[derive(Default)]
struct ProxyLog {
    upgrades_refused: AtomicUsize,
    sse_requests: AtomicUsize,
}

/// A proxy in front of `upstream` that answers WebSocket upgrades with 404,
/// as some corporate proxies do, and forwards everything else.
async fn sse_only_proxy(upstream: std::net::SocketAddr, log: Arc<ProxyLog>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut head = vec![0u8; 8192];
                let n = match inbound.read(&mut head).await {
                    Ok(n) if n > 0 => n,
                    _ => return,
                };
                let text = String::from_utf8_lossy(&head[..n]).to_ascii_lowercase();
                if text.contains("upgrade: websocket") {
                    log.upgrades_refused.fetch_add(1, Ordering::SeqCst);
                    let refusal = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                    let _ = inbound.write_all(refusal).await;
                    return;
                }
                if text.contains("/api/v1/metrics/events") {
                    log.sse_requests.fetch_add(1, Ordering::SeqCst);
                }
                let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await else { return };
                if outbound.write_all(&head[..n]).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    addr
}

#[test]
fn check_reaches_a_verdict_over_sse_alone() {
    let serve = common::ServeChild::start(&["--scenario", "calm"]);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let log = Arc::new(ProxyLog::default());
    let proxy = runtime.block_on(sse_only_proxy(serve.addr(), log.clone()));
    let url = format!("ws://{proxy}{}", vigil::wire::STREAM_PATH);
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["check", "--url", &url, "--format", "json", "--timeout", "60s"])
        .env_remove("VIGIL_TOKEN")
        .output()
        .expect("vigil check runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert!(log.upgrades_refused.load(Ordering::SeqCst) >= 1, "the WebSocket was never tried");
    assert!(log.sse_requests.load(Ordering::SeqCst) >= 1, "SSE was never used");
    // A calm shop over SSE is as fine as over a WebSocket.
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["status"], "ok", "{report}");
    assert_eq!(report["reasons"], json!([]), "{report}");
    assert_eq!(report["sources"][0]["state"], "live", "{report}");
    assert!(report["rules"].as_u64().is_some_and(|n| n > 0), "{report}");
    assert!(report["newest_data"].is_string(), "{report}");
}
