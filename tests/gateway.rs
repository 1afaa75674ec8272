//! The gateway over real sockets, one row of PROTOCOL.md at a time. Each
//! test starts its own gateway on an ephemeral port with fast ticks; every
//! wait is bounded, and nothing asserts on how fast our code is.

mod common;

use common::{
    Client, Read, SseReader, WAIT, cpu_crossing, http, metric_names, options, start, wait_for_metric_line,
    webhook_receiver,
};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use vigil::gateway::serve::ServeOptions;
use vigil::gateway::sim::{Scenario, Simulator};
use vigil::wire::{Decoded, HistoricalResponse, PointValue, ServerFrame, decode_snapshot, now_ms, parse_time};

/// Checks that every frame carrying a seq continues from `last` by exactly one.
fn assert_contiguous(last: u64, frames: &[ServerFrame]) -> u64 {
    let mut last = last;
    for f in frames {
        if let Some(seq) = f.seq() {
            assert_eq!(seq, last + 1, "seq jumped in {f:?}");
            last = seq;
        }
    }
    last
}

fn seq_of(f: &ServerFrame) -> u64 {
    f.seq().expect("frame without seq")
}

/// Waits until the gateway has ticked `n` times after `after_ms`, as a
/// subscriber of its own sees it; gives those ticks' timestamps. What
/// other sessions got meanwhile is then known to have been sent, however
/// slowly the machine ran.
async fn ticks_after(gw: &vigil::gateway::serve::Gateway, after_ms: i64, n: usize) -> Vec<i64> {
    let (mut watcher, _) = Client::hello(gw).await;
    watcher.subscribe("orders_per_minute").await;
    let mut ticks = Vec::new();
    while ticks.len() < n {
        if let ServerFrame::Metrics(m) = watcher.next().await
            && m.timestamp.0 > after_ms
        {
            ticks.push(m.timestamp.0);
        }
    }
    ticks
}

// ---------------------------------------------------------------- WebSocket

#[tokio::test]
async fn hello_then_silence_until_subscribe() {
    let gw = start(options()).await;
    let (mut client, hello) = Client::hello(&gw).await;
    assert_eq!(hello.protocol, 1);
    assert!(hello.server.starts_with("vigil/"), "{}", hello.server);
    assert!(!hello.session.is_empty());
    assert_eq!((hello.seq, hello.interval_ms), (0, 100));
    assert!(hello.metrics.iter().any(|m| m.name == "cpu_usage_percent"));

    // Several ticks pass, as another subscriber sees, and nothing arrives.
    ticks_after(&gw, 0, 3).await;
    assert!(matches!(client.read_within(Duration::from_millis(200)).await, Read::TimedOut));

    client.subscribe("orders_per_minute").await;
    let (first, before) = client.until(|f| matches!(f, ServerFrame::Metrics(_))).await;
    let last = assert_contiguous(hello.seq, &before);
    assert_eq!(seq_of(&first), last + 1);
    assert_eq!(metric_names(&first), BTreeSet::from(["orders_per_minute".to_string()]));
    gw.shutdown().await;
}

#[tokio::test]
async fn subscribe_forms_unsubscribe_and_contiguous_seq() {
    let gw = start(options()).await;
    let (mut client, hello) = Client::hello(&gw).await;
    let all: BTreeSet<String> = hello.metrics.iter().map(|m| m.name.clone()).collect();

    client.send(r#"{"action":"subscribe","metrics":["cpu_usage_percent","system_health"]}"#).await;
    let (two, before) = client.until(|f| matches!(f, ServerFrame::Metrics(_))).await;
    let mut last = assert_contiguous(0, &before);
    last = assert_contiguous(last, std::slice::from_ref(&two));
    let want: BTreeSet<String> = ["cpu_usage_percent", "system_health"].map(String::from).into();
    assert_eq!(metric_names(&two), want);

    client.subscribe("*").await;
    let (every, before) = client.until(|f| metric_names(f) == all).await;
    last = assert_contiguous(last, &before);
    last = assert_contiguous(last, std::slice::from_ref(&every));

    // Removing one metric from `*` keeps all the others.
    client.send(r#"{"action":"unsubscribe","metric":"active_users"}"#).await;
    let mut without = all.clone();
    without.remove("active_users");
    let (rest, before) = client.until(|f| metric_names(f) == without).await;
    last = assert_contiguous(last, &before);
    last = assert_contiguous(last, std::slice::from_ref(&rest));

    // After unsubscribing everything the stream goes quiet. Actions are
    // handled in order, so once the answer to a bad one after it is in,
    // whatever the subscription sent is in too.
    client.send(r#"{"action":"unsubscribe","metric":"*"}"#).await;
    client.send(r#"{"action":"subscribe"}"#).await;
    let (_, tail) = client.until(|f| matches!(f, ServerFrame::Error(_))).await;
    assert_contiguous(last, &tail);
    ticks_after(&gw, 0, 3).await;
    assert!(matches!(client.read_within(Duration::from_millis(200)).await, Read::TimedOut));
    gw.shutdown().await;
}

/// A new subscriber is sent the newest tick's points at once, the values
/// the simulator gives for that instant, rather than waiting up to an
/// interval for the next tick: with an hour between ticks, the first data
/// still comes straight after the subscription.
#[tokio::test]
async fn a_new_subscriber_gets_the_newest_points_at_once() {
    let opts = ServeOptions { interval: Duration::from_secs(3600), ..options() };
    let sim = Simulator::new(opts.seed, opts.scenario);
    let started = now_ms();
    let gw = start(opts).await;
    let (mut client, hello) = Client::hello(&gw).await;
    client.subscribe("orders_per_minute").await;
    let (first, before) = client.until(|f| matches!(f, ServerFrame::Metrics(_))).await;
    let last = assert_contiguous(hello.seq, &before);
    assert_eq!(seq_of(&first), last + 1);
    let ServerFrame::Metrics(m) = first else { unreachable!("until returned another frame") };
    // The hour the gateway started in, or a later one if the run crossed an hour.
    let t = m.timestamp.0;
    assert_eq!(t % 3_600_000, 0, "{t}");
    assert!((started - 3_600_000..=now_ms()).contains(&t), "{t} is not the newest tick");
    let expected: Vec<_> = sim.sample(t).into_iter().filter(|p| p.metric == "orders_per_minute").collect();
    assert!(!expected.is_empty());
    assert_eq!(m.points, expected);
    gw.shutdown().await;
}

#[tokio::test]
async fn error_frames_leave_the_connection_open() {
    let gw = start(options()).await;
    let (mut client, _) = Client::hello(&gw).await;
    let expect_error = |f: ServerFrame, needle: &str| match f {
        ServerFrame::Error(e) => assert!(e.message.contains(needle), "{:?} lacks {needle:?}", e.message),
        other => panic!("expected an error frame, got {other:?}"),
    };
    client.send("{nope").await;
    expect_error(client.next().await, "invalid JSON");
    client.send(r#"{"action":"subscrbe","metric":"orders_per_minute"}"#).await;
    expect_error(client.next().await, "unknown action \"subscrbe\"");
    client.subscribe("no_such_metric").await;
    expect_error(client.next().await, "unknown metric \"no_such_metric\"");
    client.send(r#"{"action":"resume","session":7}"#).await;
    expect_error(client.next().await, "bad resume");

    client.subscribe("active_users").await;
    let (frame, _) = client.until(|f| matches!(f, ServerFrame::Metrics(_))).await;
    assert_eq!(metric_names(&frame), BTreeSet::from(["active_users".to_string()]));
    gw.shutdown().await;
}

#[tokio::test]
async fn messages_over_1_mib_are_refused() {
    let gw = start(options()).await;
    let (mut client, _) = Client::hello(&gw).await;
    let huge = format!(r#"{{"action":"subscribe","metric":"{}"}}"#, "x".repeat(1 << 20));
    // The server may close before the whole message is written; either way is a refusal.
    let _ = futures_util::SinkExt::send(&mut client.ws, tokio_tungstenite::tungstenite::Message::text(huge)).await;
    loop {
        match tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut client.ws)).await.expect("still open") {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(close)))) => {
                assert_eq!(u16::from(close.code), 1009);
                break;
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break,
        }
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn resume_replays_exactly_the_missed_frames() {
    let gw = start(options()).await;
    let (mut first, hello) = Client::hello(&gw).await;
    first.subscribe("orders_per_minute").await;
    let mut seen = Vec::new();
    while seen.len() < 3 {
        seen.push(first.next().await);
    }
    let last = assert_contiguous(0, &seen);
    let last_ts = seen.iter().rev().find_map(|f| match f {
        ServerFrame::Metrics(m) => Some(m.timestamp),
        _ => None,
    });
    drop(first); // the connection drops; the session keeps producing
    // Another subscriber sees three ticks go by: the session had them too.
    let missed = ticks_after(&gw, last_ts.map_or(0, |t| t.0), 3).await;

    let (mut second, other) = Client::hello(&gw).await;
    second.send(&format!(r#"{{"action":"resume","session":"{}","since_seq":{last}}}"#, hello.session)).await;
    let newest = *missed.last().unwrap();
    let (newest_frame, mut after) =
        second.until(|f| matches!(f, ServerFrame::Metrics(m) if m.timestamp.0 >= newest)).await;
    after.push(newest_frame);
    assert_eq!(seq_of(&after[0]), last + 1, "replay starts right after since_seq");
    assert_contiguous(last, &after);
    let mut stamps = Vec::new();
    for f in &after {
        if let ServerFrame::Metrics(m) = f {
            assert_eq!(metric_names(f), BTreeSet::from(["orders_per_minute".to_string()]), "subscriptions kept");
            stamps.push(m.timestamp);
        }
    }
    assert!(stamps.first() > last_ts.as_ref(), "no frame is replayed twice");
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "frames in order: {stamps:?}");
    let replayed: BTreeSet<i64> = stamps.iter().map(|t| t.0).collect();
    assert!(missed.iter().all(|t| replayed.contains(t)), "missed ticks {missed:?}, replayed {replayed:?}");

    // The second connection's own session was dropped in the exchange.
    let (mut third, _) = Client::hello(&gw).await;
    third.send(&format!(r#"{{"action":"resume","session":"{}","since_seq":0}}"#, other.session)).await;
    let (reset, _) = third.until(|f| matches!(f, ServerFrame::Reset(_))).await;
    assert!(matches!(reset, ServerFrame::Reset(r) if r.reason.contains("unknown session")));
    gw.shutdown().await;
}

#[tokio::test]
async fn resume_that_cannot_be_honoured_resets() {
    let opts = ServeOptions { replay_window: Duration::from_millis(300), ..options() };
    let gw = start(opts).await;

    let (mut client, hello) = Client::hello(&gw).await;
    client.send(r#"{"action":"resume","session":"no-such-session","since_seq":3}"#).await;
    match client.next().await {
        ServerFrame::Reset(r) => {
            assert_eq!(r.seq, Some(hello.seq + 1), "reset carries the connection's own next seq");
            assert!(!r.reason.is_empty());
        }
        other => panic!("expected reset, got {other:?}"),
    }

    // A seq older than the (short) replay window.
    let (mut old, old_hello) = Client::hello(&gw).await;
    old.subscribe("orders_per_minute").await;
    let (frame, _) = old.until(|f| matches!(f, ServerFrame::Metrics(_))).await;
    // When it came, not its timestamp: the first frame a subscriber gets
    // holds the newest tick's points, stamped with that tick's time.
    let received = now_ms();
    let since = seq_of(&frame);
    drop(old);
    // The frames after it are trimmed by the first tick more than the
    // window (300 ms) after them: wait, as another subscriber sees it, for
    // a tick a second past that, which leaves room for ticks that ran late.
    ticks_after(&gw, received + 300 + 1000, 1).await;
    let (mut late, _) = Client::hello(&gw).await;
    late.send(&format!(r#"{{"action":"resume","session":"{}","since_seq":{since}}}"#, old_hello.session)).await;
    match late.next().await {
        ServerFrame::Reset(r) => assert!(r.reason.contains("exhausted"), "{}", r.reason),
        other => panic!("expected reset, got {other:?}"),
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn slow_client_is_closed_with_1013_and_can_resume() {
    let opts = ServeOptions { interval: Duration::from_millis(50), send_queue: 8, ..options() };
    let gw = start(opts).await;
    // A client with a tiny receive buffer that stops reading after subscribing.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(gw.local_addr()).await.unwrap();
    let request = gw.stream_url().into_client_request().unwrap();
    let (ws, _) = tokio_tungstenite::client_async(request, stream).await.unwrap();
    let mut slow = Client { ws };
    let hello = slow.expect_hello().await;
    slow.subscribe("*").await;

    wait_for_metric_line(&gw, "vigil_gateway_slow_client_closes_total 1").await;

    // Now read what did get through, up to the close.
    let mut last = 0;
    let close = loop {
        match slow.read_within(WAIT).await {
            Read::Frame(f) => last = assert_contiguous(last, std::slice::from_ref(&f)),
            Read::Closed(close) => break close,
            Read::TimedOut => panic!("no close frame"),
        }
    };
    let close = close.expect("a close frame with a code");
    assert_eq!(u16::from(close.code), 1013);
    assert_eq!(close.reason.as_str(), "slow client");

    let (mut back, _) = Client::hello(&gw).await;
    back.send(&format!(r#"{{"action":"resume","session":"{}","since_seq":{last}}}"#, hello.session)).await;
    let resumed = back.next().await;
    assert_eq!(seq_of(&resumed), last + 1);
    gw.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_streams_with_1001() {
    let gw = start(options()).await;
    let (mut client, _) = Client::hello(&gw).await;
    client.subscribe("orders_per_minute").await;
    client.next().await;
    let stopping = tokio::spawn(gw.shutdown());
    let close = loop {
        match client.read_within(WAIT).await {
            Read::Frame(_) => continue,
            Read::Closed(close) => break close.expect("a close frame"),
            Read::TimedOut => panic!("no close on shutdown"),
        }
    };
    assert_eq!(u16::from(close.code), 1001);
    tokio::time::timeout(WAIT, stopping).await.expect("shutdown hung").unwrap();
}

// ---------------------------------------------------------------- REST

#[tokio::test]
async fn realtime_is_a_flat_snapshot() {
    let gw = start(options()).await;
    let body = http().get(format!("{}/api/v1/metrics/realtime", gw.http_url())).send().await.unwrap();
    assert_eq!(body.status(), 200);
    let text = body.text().await.unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    assert!(json["active_users"].is_number());
    assert!(json["system_health"].is_string());
    assert!(json.get("cpu_usage_percent").is_none(), "labelled series stay out");
    assert!(json["timestamp"].as_str().and_then(parse_time).is_some());
    let Decoded::Snapshot { points, timestamp } = decode_snapshot(&text).unwrap() else { panic!() };
    assert!(timestamp.is_some() && points.len() >= 5);
    gw.shutdown().await;
}

async fn history(base: &str, query: &str) -> (u16, Value) {
    let r = http().get(format!("{base}/api/v1/metrics/historical?{query}")).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn historical_queries_are_aligned_matched_and_deterministic() {
    let gw = start(options()).await;
    let base = gw.http_url();
    let end = "2025-06-30T10:30:30Z";
    let end_ms = parse_time(end).unwrap();
    let q = format!("metric=cpu_usage_percent&period=10m&granularity=1m&end={end}&service=checkout");
    let (status, body) = history(&base, &q).await;
    assert_eq!(status, 200, "{body}");
    let parsed: HistoricalResponse = serde_json::from_value(body.clone()).unwrap();
    assert_eq!((parsed.period.as_str(), parsed.granularity.as_str()), ("10m", "1m"));
    assert_eq!(parsed.series.len(), 1);
    assert_eq!(parsed.series[0].labels.get("service").map(String::as_str), Some("checkout"));
    let data = parsed.data.expect("top-level data for a single series");
    assert_eq!(data.len(), 10);
    for p in &data {
        assert_eq!(p.timestamp.0 % 60_000, 0);
        assert!(p.timestamp.0 > end_ms - 600_000 && p.timestamp.0 <= end_ms);
        assert!(matches!(p.value, Some(PointValue::Number(_))));
    }

    // Same question, same answer; and another gateway with the same seed agrees.
    assert_eq!(history(&base, &q).await.1, body);
    let twin = start(options()).await;
    assert_eq!(history(&twin.http_url(), &q).await.1, body);
    twin.shutdown().await;

    // Without a matcher: every service, no top-level data.
    let (_, all) = history(&base, &format!("metric=cpu_usage_percent&period=5m&granularity=1m&end={end}")).await;
    assert_eq!(all["series"].as_array().unwrap().len(), 5);
    assert!(all.get("data").is_none());
    // Histograms carry `histogram`, statuses a string; defaults are 1h / 1m.
    let (_, h) = history(&base, "metric=http_request_duration_seconds&service=search").await;
    assert_eq!((h["period"].as_str(), h["granularity"].as_str()), (Some("1h"), Some("1m")));
    assert_eq!(h["data"].as_array().unwrap().len(), 60);
    assert!(h["data"][0]["histogram"]["buckets"].is_array());
    let (_, s) = history(&base, &format!("metric=system_health&period=2m&end={end}")).await;
    assert!(s["data"][0]["value"].is_string());
    let (_, none) = history(&base, "metric=cpu_usage_percent&service=nowhere").await;
    assert_eq!(none["series"].as_array().unwrap().len(), 0);
    // The answer spells period and granularity as the question did, even
    // where a shorter spelling exists; one left out is spelled as before.
    let (status, day) = history(&base, "metric=revenue_per_minute&period=24h").await;
    assert_eq!(status, 200, "{day}");
    assert_eq!((day["period"].as_str(), day["granularity"].as_str()), (Some("24h"), Some("24m")));
    assert_eq!(day["data"].as_array().unwrap().len(), 60);
    let (_, hour) = history(&base, "metric=revenue_per_minute&period=60m&granularity=300s").await;
    assert_eq!((hour["period"].as_str(), hour["granularity"].as_str()), (Some("60m"), Some("300s")));
    assert_eq!(hour["data"].as_array().unwrap().len(), 12);

    for bad in [
        "period=1h",
        "metric=active_users&period=soon",
        "metric=active_users&granularity=x",
        "metric=active_users&end=yesterday",
        "metric=active_users&period=7d&granularity=1s",
    ] {
        let (status, body) = history(&base, bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"].is_string());
    }
    let (status, body) = history(&base, "metric=no_such_metric").await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("no_such_metric"));
    gw.shutdown().await;
}

#[tokio::test]
async fn healthz_and_own_metrics() {
    let gw = start(options()).await;
    let r = http().get(format!("{}/healthz", gw.http_url())).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"status":"ok"}));

    let (_client, _) = Client::hello(&gw).await;
    let text = wait_for_metric_line(&gw, "vigil_gateway_connected_clients{transport=\"websocket\"} 1").await;
    for family in [
        "vigil_gateway_connected_clients gauge",
        "vigil_gateway_sessions gauge",
        "vigil_gateway_frames_sent_total counter",
        "vigil_gateway_frames_dropped_total counter",
        "vigil_gateway_slow_client_closes_total counter",
        "vigil_gateway_http_requests_total counter",
        "vigil_gateway_http_request_duration_seconds histogram",
        "vigil_gateway_alert_subscriptions gauge",
        "vigil_gateway_webhook_deliveries_total counter",
    ] {
        assert!(text.contains(&format!("# TYPE {family}\n")), "missing {family}");
    }
    assert!(text.contains("vigil_gateway_sessions 1\n"));
    assert!(text.contains("vigil_gateway_http_requests_total{route=\"/healthz\",code=\"200\"} 1\n"), "{text}");
    assert!(text.contains("vigil_gateway_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 1\n"));
    gw.shutdown().await;
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let gw = start(options()).await;
    let client = http();
    let url = format!("{}/healthz", gw.http_url());
    let mut limited = None;
    for _ in 0..2000 {
        let r = client.get(&url).send().await.unwrap();
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("never rate limited");
    assert!(r.headers().get("retry-after").is_some());
    assert!(r.json::<Value>().await.unwrap()["error"].is_string());
    gw.shutdown().await;
}

// ---------------------------------------------------------------- alert subscriptions

async fn subscribe_alert(base: &str, body: &Value) -> (u16, Value) {
    let r = http().post(format!("{base}/api/v1/alerts/subscribe")).json(body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn alert_subscription_via_webhook_then_delete() {
    let gw = start(options()).await;
    let base = gw.http_url();
    let (url, mut hooks) = webhook_receiver().await;
    // Any shop has more than zero active users: this crosses at once.
    let body = json!({"metric":"active_users","threshold":0,"notification_method":"webhook","url":url});
    let (status, created) = subscribe_alert(&base, &body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("an id").to_string();
    assert_eq!(created["metric"], "active_users");
    assert_eq!(created["notification_method"], "webhook");

    let alert = tokio::time::timeout(WAIT, hooks.recv()).await.expect("no webhook call").unwrap();
    assert_eq!(alert["type"], "alert");
    assert_eq!(alert["state"], "firing");
    assert_eq!(alert["metric"], "active_users");
    assert_eq!(alert["threshold"], 0.0);
    assert!(alert["starts_at"].is_string());
    wait_for_metric_line(&gw, "vigil_gateway_webhook_deliveries_total{result=\"ok\"} 1").await;

    let del = |id: String| {
        let base = base.clone();
        async move { http().delete(format!("{base}/api/v1/alerts/subscribe/{id}")).send().await.unwrap().status() }
    };
    assert_eq!(del(id.clone()).await, 204);
    assert_eq!(del(id).await, 404);
    gw.shutdown().await;
}

#[tokio::test]
async fn alert_subscription_via_websocket_with_label_matcher() {
    let gw = start(options()).await;
    let (mut client, _) = Client::hello(&gw).await;
    client.subscribe("orders_per_minute").await;
    client.until(|f| matches!(f, ServerFrame::Metrics(_))).await;

    // inventory_level is worse when low, so a huge threshold is crossed at once.
    let body =
        json!({"metric":"inventory_level","threshold":1e12,"product_id":12345,"notification_method":"websocket"});
    let (status, created) = subscribe_alert(&gw.http_url(), &body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["product_id"], "12345");

    let (alert, _) = client.until(|f| matches!(f, ServerFrame::Alert(a) if a.metric == "inventory_level")).await;
    let ServerFrame::Alert(alert) = alert else { unreachable!() };
    assert_eq!(alert.state, "firing");
    assert_eq!(alert.labels.get("product_id").map(String::as_str), Some("12345"));
    assert_eq!(alert.labels.len(), 1);
    // Only the matched product fires.
    let mut later = Vec::new();
    while later.len() < 5 {
        later.push(client.next().await);
    }
    assert!(!later.iter().any(|f| matches!(f, ServerFrame::Alert(a) if a.metric == "inventory_level")));
    gw.shutdown().await;
}

#[tokio::test]
async fn alert_subscription_rejections() {
    let gw = start(options()).await;
    let base = gw.http_url();
    let post_raw = |body: String| {
        let base = base.clone();
        async move {
            let r = http()
                .post(format!("{base}/api/v1/alerts/subscribe"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let big = format!(
        r#"{{"metric":"active_users","threshold":1,"notification_method":"websocket","pad":"{}"}}"#,
        "x".repeat(70_000)
    );
    let (status, body) = post_raw(big).await;
    assert_eq!(status, 413);
    assert!(body["error"].is_string());
    let (status, _) = post_raw("{not json".into()).await;
    assert_eq!(status, 400);
    let cases = [
        (json!({"threshold":1,"notification_method":"websocket"}), 400, "metric"),
        (json!({"metric":"active_users","notification_method":"websocket"}), 400, "threshold"),
        (json!({"metric":"active_users","threshold":"lots","notification_method":"websocket"}), 400, "threshold"),
        (json!({"metric":"active_users","threshold":1}), 400, "notification_method"),
        (json!({"metric":"active_users","threshold":1,"notification_method":"webhook"}), 400, "url"),
        (
            json!({"metric":"active_users","threshold":1,"notification_method":"webhook","url":"file:///etc"}),
            400,
            "url",
        ),
        (json!({"metric":"no_such_metric","threshold":1,"notification_method":"websocket"}), 404, "no_such_metric"),
    ];
    for (body, want, needle) in cases {
        let (status, answer) = subscribe_alert(&base, &body).await;
        assert_eq!(status, want, "{body} -> {answer}");
        assert!(answer["error"].as_str().unwrap().contains(needle), "{answer} lacks {needle}");
    }
    gw.shutdown().await;
}

// ---------------------------------------------------------------- SSE

#[tokio::test]
async fn sse_stream_with_filter_and_last_event_id() {
    let gw = start(options()).await;
    let url = format!("{}/api/v1/metrics/events?metric=orders_per_minute", gw.http_url());
    let mut sse = SseReader::open(&url, None).await;
    let mut numbered = Vec::new();
    while numbered.len() < 3 {
        let m = sse.next().await;
        if m.id.is_some() {
            numbered.push(m);
        }
    }
    let ids: Vec<u64> = numbered.iter().map(|m| m.id.as_ref().unwrap().parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
    for m in numbered.iter().filter(|m| m.event == "metrics") {
        assert_eq!(m.data["seq"].as_u64(), m.id.as_ref().map(|i| i.parse().unwrap()));
        let names: BTreeSet<&str> =
            m.data["points"].as_array().unwrap().iter().map(|p| p["metric"].as_str().unwrap()).collect();
        assert_eq!(names, BTreeSet::from(["orders_per_minute"]));
    }
    drop(sse);

    // Resuming replays from just after the given id.
    let mut again = SseReader::open(&url, Some(&ids[0].to_string())).await;
    let first = again.next().await;
    assert_eq!(first.id.as_deref(), Some((ids[0] + 1).to_string().as_str()));

    // An id from the future (another gateway's) gets a reset.
    let mut lost = SseReader::open(&url, Some("999999999")).await;
    let reset = lost.next().await;
    assert_eq!(reset.event, "reset");
    assert!(reset.data["reason"].is_string());

    let r = http().get(format!("{}/api/v1/metrics/events?metric=bogus", gw.http_url())).send().await.unwrap();
    assert_eq!(r.status(), 404);
    gw.shutdown().await;
}

// ---------------------------------------------------------------- auth

#[tokio::test]
async fn token_is_required_everywhere_when_set() {
    let token = "t0ken-for-tests";
    let gw = start(ServeOptions { token: Some(token.into()), ..options() }).await;
    let base = gw.http_url();
    for path in [
        "/healthz",
        "/metrics",
        "/api/v1/metrics/realtime",
        "/api/v1/metrics/historical?metric=active_users",
        "/api/v1/metrics/events",
    ] {
        let r = http().get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
        let text = r.text().await.unwrap();
        assert!(!text.contains(token));
        assert!(serde_json::from_str::<Value>(&text).unwrap()["error"].is_string());
        let wrong = http().get(format!("{base}{path}")).bearer_auth("t0ken-for-test").send().await.unwrap();
        assert_eq!(wrong.status(), 401, "{path}");
    }
    let post = http().post(format!("{base}/api/v1/alerts/subscribe")).body("{}").send().await.unwrap();
    assert_eq!(post.status(), 401);
    let ok = http().get(format!("{base}/api/v1/metrics/realtime")).bearer_auth(token).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    let sse = http().get(format!("{base}/api/v1/metrics/events")).bearer_auth(token).send().await.unwrap();
    assert_eq!(sse.status(), 200);

    // The WebSocket upgrade too.
    match tokio_tungstenite::connect_async(gw.stream_url()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("upgraded without a token"),
    }
    let mut client = Client::connect(&gw, Some(token)).await;
    client.expect_hello().await;
    gw.shutdown().await;
}

// ---------------------------------------------------------------- server alerts

#[tokio::test]
async fn server_alert_goes_pending_then_firing() {
    let seed = 1;
    let sim = Simulator::new(seed, Scenario::CpuSaturation);
    let crossing = cpu_crossing(&sim, now_ms());
    // Start 57 s into the breach: the warmed-up rules already hold it as
    // pending, and it fires a few seconds later.
    let offset = crossing + 57_000 - now_ms();
    let opts = ServeOptions { scenario: Scenario::CpuSaturation, seed, clock_offset_ms: offset, ..options() };
    let gw = start(opts).await;
    let (mut client, _) = Client::hello(&gw).await;
    client.subscribe("cpu_usage_percent").await;
    let is_cpu = |f: &ServerFrame, state: &str| {
        matches!(f, ServerFrame::Alert(a) if a.metric == "cpu_usage_percent"
            && a.labels.get("service").map(String::as_str) == Some("checkout") && a.state == state)
    };
    let (pending, _) = client.until(|f| is_cpu(f, "pending")).await;
    let (firing, _) = client.until(|f| is_cpu(f, "firing")).await;
    let (ServerFrame::Alert(pending), ServerFrame::Alert(firing)) = (pending, firing) else { unreachable!() };
    assert_eq!(pending.id, firing.id, "one alert, one id");
    assert_eq!(firing.severity, "warning");
    assert_eq!(firing.threshold.map(|t| t.0), Some(80.0));
    assert!(firing.value.is_some_and(|v| v.0 > 80.0));
    assert_eq!(firing.starts_at.map(|t| t.0), Some(crossing));
    assert!(!firing.summary.is_empty());
    gw.shutdown().await;
}

#[tokio::test]
async fn newcomers_see_the_current_status_and_unhealthy_system_alert() {
    let sim = Simulator::new(1, Scenario::Degraded);
    let now = now_ms();
    // Find a moment two minutes into an outage window.
    let mut t = now;
    let window = loop {
        if let Some(w) = sim.incident_at(t) {
            break w;
        }
        t += 10_000;
    };
    let offset = window.start_ms + 120_000 - now;
    let opts = ServeOptions { scenario: Scenario::Degraded, clock_offset_ms: offset, ..options() };
    let gw = start(opts).await;
    let (mut client, _) = Client::hello(&gw).await;
    client.subscribe("system_health").await;
    // The banner that went up two minutes ago is news to a newcomer, first of all.
    let (status, _) = client.until(|f| matches!(f, ServerFrame::Status(_))).await;
    let ServerFrame::Status(status) = status else { unreachable!() };
    assert_eq!(status.status, "degraded");
    assert!(status.data_freshness.is_some());
    let (alert, _) = client.until(|f| matches!(f, ServerFrame::Alert(a) if a.metric == "system_health")).await;
    let ServerFrame::Alert(alert) = alert else { unreachable!() };
    assert_eq!((alert.state.as_str(), alert.severity.as_str()), ("firing", "critical"));
    gw.shutdown().await;
}

// ---------------------------------------------------------------- event history

/// `GET /api/v1/events` with `query` and the token; the status and the
/// events' (timestamp, text).
async fn event_history(base: &str, query: &str, token: &str) -> (u16, Vec<(i64, String)>) {
    let r = http().get(format!("{base}/api/v1/events{query}")).bearer_auth(token).send().await.unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    let events = body["events"].as_array().map_or_else(Vec::new, |events| {
        events
            .iter()
            .map(|e| (parse_time(e["timestamp"].as_str().unwrap()).unwrap(), e["text"].as_str().unwrap().to_string()))
            .collect()
    });
    (status, events)
}

#[tokio::test]
async fn event_history_answers_the_last_day_behind_the_token() {
    let token = "t0ken-for-events";
    let sim = Simulator::new(3, Scenario::BadDeploy);
    let opts = ServeOptions { token: Some(token.into()), scenario: Scenario::BadDeploy, seed: 3, ..options() };
    let gw = start(opts).await;
    let base = gw.http_url();
    let r = http().get(format!("{base}/api/v1/events")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.json::<Value>().await.unwrap()["error"].is_string());

    // The gateway has just started, yet it knows the day before, as the
    // simulator tells it: every deploy and rollback of the scenario.
    let (status, all) = event_history(&base, "", token).await;
    let asked_at = now_ms();
    assert_eq!(status, 200);
    let day = sim.events_between(asked_at - 86_400_000, asked_at);
    let held: BTreeSet<(i64, String)> = all.iter().cloned().collect();
    // The newest may have come after the answer; the oldest left the day meanwhile.
    let expected: BTreeSet<(i64, String)> = day
        .iter()
        .filter(|e| e.timestamp.0 > asked_at - 86_400_000 + 60_000 && e.timestamp.0 < asked_at - 60_000)
        .map(|e| (e.timestamp.0, e.text.clone()))
        .collect();
    assert!(expected.len() > 250, "a day of bad deploys: {}", expected.len());
    assert!(expected.is_subset(&held), "missing: {:?}", expected.difference(&held).collect::<Vec<_>>());
    assert!(all.windows(2).all(|w| w[0].0 <= w[1].0), "oldest first");

    // `since` and `until` bound it, inclusive, and `kind` and labels narrow it.
    let (since, until) = (day[day.len() - 4].timestamp.0, day[day.len() - 2].timestamp.0);
    let q = format!("?since={}&until={}", vigil::wire::format_time(since), vigil::wire::format_time(until));
    let (_, some) = event_history(&base, &q, token).await;
    let want: Vec<(i64, String)> =
        day[day.len() - 4..day.len() - 1].iter().map(|e| (e.timestamp.0, e.text.clone())).collect();
    assert_eq!(some, want);
    let (_, none) = event_history(&base, "?kind=config", token).await;
    assert!(none.is_empty());
    let (_, payments) = event_history(&base, "?service=payments", token).await;
    assert!(!payments.is_empty() && payments.iter().all(|(_, text)| text.starts_with("payments ")), "{payments:?}");
    let (bad, _) = event_history(&base, "?since=yesterday", token).await;
    assert_eq!(bad, 400);
    gw.shutdown().await;
}
