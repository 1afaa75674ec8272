//! The Alertmanager source against a real Alertmanager: what `fetch` reads,
//! what `to_alerts` and `suppressions` make of it, and how it fails.

mod common;

use common::real::{Alertmanager, ClosedPort, Exporter, Prometheus, PrometheusOptions, loopback_http};
use serde_json::json;
use std::time::{Duration, Instant};
use vigil::core::model::{AlertState, ErrorClass, Severity};
use vigil::sources::alertmanager::{self, FetchError, Snapshot, fetch, suppressions, to_alerts};
use vigil::sources::auth::Auth;
use vigil::wire::{format_time, now_ms};

/// `correct horse`, hashed with bcrypt at the lowest cost (so each request
/// stays fast), as Alertmanager's web config wants it.
const PASSWORD_HASH: &str = "$2b$04$UpthbcW0LmB9FkR7oFjhWeLOfRPIvhyW0WOvByqUeQ2iumBwxglou";

/// Fetches until `done` accepts the snapshot; Alertmanager applies a new
/// silence or an alert's end a moment after it answered the POST.
async fn fetch_until(am: &Alertmanager, what: &str, done: impl Fn(&Snapshot) -> bool) -> Snapshot {
    let http = loopback_http();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let snapshot = fetch(&http, &am.url(), None).await.expect("fetch");
        if done(&snapshot) {
            return snapshot;
        }
        assert!(Instant::now() < deadline, "{what}: not seen within 15 s; last snapshot: {snapshot:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn one_line(e: &FetchError) -> String {
    let text = e.to_string();
    assert!(!text.contains('\n') && !text.is_empty(), "{text:?}");
    text
}

#[tokio::test]
async fn reads_alerts_and_silences_and_says_who_silenced_what() {
    let am = Alertmanager::start().await;
    let now = now_ms();
    let checkout = json!({
        "labels": {"alertname": "CheckoutErrors", "severity": "critical", "service": "checkout"},
        "annotations": {
            "summary": "5xx \"rate\" above 5%\u{1b}[2J\u{7}",
            "description": "ignored: the summary comes first",
        },
        "startsAt": format_time(now - 60_000),
    });
    let cart = json!({
        "labels": {"alertname": "SlowCart", "severity": "warning", "service": "cart"},
        "annotations": {"description": "p99 'slow'\tfor\nthe cart\u{9b}"},
        "startsAt": format_time(now - 30_000),
    });
    am.post_alerts(&json!([checkout.clone(), cart])).await;
    let silence_end = now + 3_600_000;
    let silence_id = am
        .post_silence(&json!({
            "matchers": [{"name": "service", "value": "cart", "isRegex": false, "isEqual": true}],
            "startsAt": format_time(now - 1_000),
            "endsAt": format_time(silence_end),
            "createdBy": "ana \"ops\"",
            "comment": "cart deploy\u{1b}]0;pwned\u{7}",
        }))
        .await;

    let snapshot = fetch_until(&am, "two alerts, the cart one silenced", |s| {
        s.alerts.len() == 2 && s.alerts.iter().any(|a| a.is_silenced())
    })
    .await;
    assert_eq!(snapshot.malformed, 0);
    assert_eq!(snapshot.silences.len(), 1);
    let silence = &snapshot.silences[0];
    assert_eq!(silence.id, silence_id);
    assert_eq!(silence.state, alertmanager::SilenceState::Active);
    assert_eq!(silence.matchers.len(), 1);
    assert_eq!((silence.matchers[0].name.as_str(), silence.matchers[0].value.as_str()), ("service", "cart"));
    assert!(!silence.matchers[0].is_regex && silence.matchers[0].is_equal);

    let alerts = to_alerts(&snapshot, "prod", now_ms());
    let by_name = |name: &str| alerts.iter().find(|a| a.metric == name).unwrap_or_else(|| panic!("{name}"));
    let errors = by_name("CheckoutErrors");
    let slow = by_name("SlowCart");
    for a in [errors, slow] {
        assert_eq!(a.state, AlertState::Firing, "{a:?}");
        assert_eq!(a.origin, vigil::core::model::Origin::Alertmanager { source: "prod".into() });
        assert!(!a.labels.contains_key("source"));
        assert!(!a.summary.chars().any(char::is_control), "{:?}", a.summary);
        let starts = a.starts_at.expect("starts_at");
        assert!((now - 61_000..=now).contains(&starts), "{a:?}");
    }
    assert_eq!(errors.severity, Severity::Critical);
    assert_eq!(errors.summary, "5xx \"rate\" above 5%\\u{1b}[2J\\u{7}");
    assert_eq!(errors.labels.get("service").map(String::as_str), Some("checkout"));
    assert_eq!(slow.severity, Severity::Warning);
    assert_eq!(slow.summary, "p99 'slow' for the cart\\u{9b}");

    // Only the cart alert is muted, by the silence, with its author,
    // comment and end.
    let muted = suppressions(&snapshot, "prod");
    assert_eq!(muted.len(), 1, "{muted:?}");
    assert_eq!(muted[0].alert_id, slow.id);
    assert!(muted[0].inhibited_by.is_empty());
    let by = &muted[0].silenced_by[0];
    assert_eq!(by.silence_id, silence_id);
    assert_eq!(by.created_by, "ana \"ops\"");
    assert_eq!(by.comment, "cart deploy\\u{1b}]0;pwned\\u{7}");
    assert_eq!(by.ends_at_ms, Some(silence_end));

    // An end in the past resolves the checkout alert: Alertmanager stops
    // listing it, or lists it as ended.
    let mut ended = checkout;
    ended["endsAt"] = json!(format_time(now - 1_000));
    am.post_alerts(&json!([ended])).await;
    let snapshot = fetch_until(&am, "the checkout alert resolved", |s| {
        to_alerts(s, "prod", now_ms()).iter().all(|a| a.metric != "CheckoutErrors" || a.state == AlertState::Resolved)
    })
    .await;
    let left = to_alerts(&snapshot, "prod", now_ms());
    assert!(left.iter().any(|a| a.metric == "SlowCart" && a.state == AlertState::Firing), "{left:?}");
}

#[tokio::test]
async fn a_dead_port_is_a_network_error() {
    let closed = ClosedPort::new();
    let port = closed.port();
    let err = fetch(&loopback_http(), &closed.url(), None).await.unwrap_err();
    let text = one_line(&err);
    assert_eq!(err.class(), ErrorClass::Network, "{text}");
    assert!(text.starts_with(&format!("cannot reach Alertmanager at http://127.0.0.1:{port}/api/v2/")), "{text}");
}

#[tokio::test]
async fn bad_auth_settings_fail_in_one_line_before_any_request() {
    // Nothing listens here: the settings must be refused before a request.
    let closed = ClosedPort::new();
    let url = closed.url();
    let http = loopback_http();
    for auth in [
        Auth::Bearer("s3cret\ntoken".into()),
        Auth::Bearer(String::new()),
        Auth::Basic { user: "ops:team".into(), password: "s3cret".into() },
    ] {
        let err = fetch(&http, &url, Some(&auth)).await.unwrap_err();
        let text = one_line(&err);
        assert!(matches!(err, FetchError::Auth(_)), "{text}");
        assert_eq!(err.class(), ErrorClass::Auth);
        assert!(!text.contains("s3cret"), "{text}");
    }
    let err = fetch(&http, "http://ops:s3cret@127.0.0.1:9093", None).await.unwrap_err();
    assert!(!one_line(&err).contains("s3cret"), "{err}");
}

#[tokio::test]
async fn basic_auth_against_an_alertmanager_that_requires_it() {
    let am = Alertmanager::start_with_basic_auth("vigil", "correct horse", PASSWORD_HASH).await;
    let http = loopback_http();

    let err = fetch(&http, &am.url(), None).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Auth, "{err}");
    assert!(one_line(&err).ends_with("wants credentials"), "{err}");

    let wrong = Auth::Basic { user: "vigil".into(), password: "battery staple".into() };
    let err = fetch(&http, &am.url(), Some(&wrong)).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Auth, "{err}");
    assert!(one_line(&err).ends_with("refused the credentials"), "{err}");
    assert!(!err.to_string().contains("battery"));

    let right = Auth::Basic { user: "vigil".into(), password: "correct horse".into() };
    let snapshot = fetch(&http, &am.url(), Some(&right)).await.expect("fetch with the right password");
    assert_eq!(snapshot, Snapshot::default());
}

/// A Prometheus rule over the shop exporter's errors.
const SHOP_RULES: &str = r#"
groups:
  - name: shop
    rules:
      - alert: ShopErrorRatio
        expr: |
          sum(rate(http_requests_total{job="shop",status=~"5.."}[5s]))
            / sum(rate(http_requests_total{job="shop"}[5s])) > 0.02
        labels:
          severity: critical
        annotations:
          summary: "shop error ratio {{ $value | humanizePercentage }}"
"#;

#[tokio::test]
async fn a_prometheus_rule_reaches_the_dashboard_through_alertmanager() {
    let am = Alertmanager::start().await;
    let exporter = Exporter::start(&["--rate", "100", "--error-ratio", "0.1"]).await;
    let addr = exporter.addr();
    let am_addr = format!("127.0.0.1:{}", am.port());
    let prom = Prometheus::start_with(PrometheusOptions {
        targets: &[("shop", &addr, "/metrics")],
        scrape_interval: Duration::from_secs(1),
        rules: Some(SHOP_RULES),
        alertmanager: Some(&am_addr),
    })
    .await;

    let http = loopback_http();
    let deadline = Instant::now() + Duration::from_secs(40);
    let alert = loop {
        let snapshot = fetch(&http, &am.url(), None).await.expect("fetch");
        if let Some(raw) = snapshot.alerts.iter().find(|a| a.labels["alertname"] == "ShopErrorRatio") {
            // The link back to the rule's graph names our Prometheus.
            assert!(raw.generator_url.starts_with(prom.external_url()), "{}", raw.generator_url);
            let fingerprint = raw.fingerprint.clone();
            let alerts = to_alerts(&snapshot, "am", now_ms());
            break alerts.into_iter().find(|a| a.id.ends_with(&fingerprint)).expect("converted");
        }
        assert!(Instant::now() < deadline, "the rule's alert never reached Alertmanager: {}", prom.log());
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(alert.state, AlertState::Firing);
    assert_eq!(alert.severity, Severity::Critical);
    assert!(alert.summary.starts_with("shop error ratio "), "{}", alert.summary);
    assert_eq!(alert.labels.get("severity").map(String::as_str), Some("critical"));
}

/// The dashboard's own data path (config, feed, pipeline) with an
/// Alertmanager source: its alerts join the list marked by id as its own,
/// a silence there shows as silenced here with who and why, and an alert
/// that leaves Alertmanager resolves.
#[tokio::test]
async fn alertmanager_alerts_join_the_alert_list_with_their_silences() {
    use std::sync::Arc;
    use tokio::sync::watch;
    use vigil::tui::pipeline::{self, Pipeline, ViewRequest, Wanted};
    use vigil::tui::scene::Scene;

    let am = Alertmanager::start().await;
    let dir = std::env::temp_dir().join(format!("vigil-am-pipeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!("[[source]]\nkind = \"alertmanager\"\nname = \"ops-am\"\nurl = \"{}\"\ninterval = \"1s\"\n", am.url()),
    )
    .unwrap();
    let plan = vigil::feed::plan(&vigil::cli::SourceArgs { config: Some(config), ..Default::default() }).unwrap();
    assert!(!plan.demo(), "an Alertmanager alone is a source: no demo");
    let mut feed = vigil::feed::Feed::start(&plan).await.unwrap();
    let dashboard = Arc::new(vigil::dashboards::preset::dashboard(false, &plan.sources));
    let mut p = Pipeline::new(feed.info.clone(), feed.stats.clone());
    p.set_dashboard(dashboard.clone());
    let (_wanted, wanted_rx) = watch::channel(Wanted {
        dashboard,
        view: ViewRequest::default(),
        rules: Default::default(),
        slos: Default::default(),
        detail: None,
    });
    let (scene_tx, mut scenes) = watch::channel(Arc::new(Scene::default()));
    let cancel = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(pipeline::run(p, feed.take_updates(), Some(wanted_rx), scene_tx, cancel.clone()));
    let mut until = async |what: &str, ok: &dyn Fn(&Scene) -> bool| -> Arc<Scene> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let scene = scenes.borrow_and_update().clone();
            if ok(&scene) {
                return scene;
            }
            assert!(Instant::now() < deadline, "{what}: not seen; alerts {:?}", scene.alerts);
            let _ = tokio::time::timeout(Duration::from_millis(500), scenes.changed()).await;
        }
    };

    let now = now_ms();
    let paging = json!({
        "labels": {"alertname": "CheckoutErrors", "severity": "critical", "service": "checkout"},
        "annotations": {"summary": "5xx above 5%"},
        "startsAt": format_time(now - 60_000),
    });
    let quiet = json!({
        "labels": {"alertname": "SlowCart", "severity": "warning", "service": "cart"},
        "startsAt": format_time(now - 30_000),
    });
    am.post_alerts(&json!([paging.clone(), quiet])).await;
    am.post_silence(&json!({
        "matchers": [{"name": "service", "value": "cart", "isRegex": false, "isEqual": true}],
        "startsAt": format_time(now - 1_000),
        "endsAt": format_time(now + 3_600_000),
        "createdBy": "ana",
        "comment": "cart deploy",
    }))
    .await;

    // The header's link follows the source at the pipeline's next tick.
    let scene = until("both alerts, the cart one silenced", &|s: &Scene| {
        s.alerts.len() == 2 && s.hush.values().any(|h| h.silenced.is_some()) && s.link.conn.is_connected()
    })
    .await;
    for a in &scene.alerts {
        assert_eq!(a.origin, vigil::core::model::Origin::Alertmanager { source: "ops-am".into() }, "{a:?}");
        assert_eq!(a.state, AlertState::Firing);
    }
    assert_eq!(scene.firing.count, 2);
    let cart = scene.alerts.iter().find(|a| a.metric == "SlowCart").unwrap();
    let (until_ms, by) = scene.hush[&cart.id].silenced.clone().unwrap();
    assert_eq!(by, "ana in ops-am: cart deploy");
    assert!((until_ms - (now + 3_600_000)).abs() < 1_000, "{until_ms}");
    let checkout = scene.alerts.iter().find(|a| a.metric == "CheckoutErrors").unwrap();
    assert!(!scene.hush.contains_key(&checkout.id), "the paging alert is not silenced");
    assert!(scene.link.conn.is_connected(), "{:?}", scene.link.conn);

    // Ended in Alertmanager: resolved on the dashboard.
    let mut ended = paging;
    ended["endsAt"] = json!(format_time(now_ms() - 1_000));
    am.post_alerts(&json!([ended])).await;
    until("the paging alert resolved", &|s: &Scene| {
        s.alerts.iter().any(|a| a.metric == "CheckoutErrors" && a.state == AlertState::Resolved)
    })
    .await;

    cancel.cancel();
    let _ = task.await;
    feed.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// `vigil check --alertmanager URL`: 1 while an alert fires there and is
/// not silenced, 0 once it is, 2 when the Alertmanager cannot be reached.
#[tokio::test]
async fn check_exits_by_what_alertmanager_says() {
    let am = Alertmanager::start().await;
    let dir = std::env::temp_dir().join(format!("vigil-am-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let check = |url: String, dir: std::path::PathBuf| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
                .args(["check", "--alertmanager", &url, "--timeout", "10s", "--format", "json"])
                .env("VIGIL_CACHE_DIR", &dir)
                .env("VIGIL_STATE_DIR", &dir)
                .output()
                .unwrap()
        })
    };
    let now = now_ms();
    am.post_alerts(&json!([{
        "labels": {"alertname": "DiskFull", "severity": "critical", "service": "db"},
        "startsAt": format_time(now - 60_000),
    }]))
    .await;
    fetch_until(&am, "the alert", |s| !s.alerts.is_empty()).await;
    let out = check(am.url(), dir.clone()).await.unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(report["reasons"].to_string().contains("Alertmanager: 1 firing (DiskFull)"), "{report}");

    am.post_silence(&json!({
        "matchers": [{"name": "service", "value": "db", "isRegex": false, "isEqual": true}],
        "startsAt": format_time(now - 1_000),
        "endsAt": format_time(now + 3_600_000),
        "createdBy": "ana",
        "comment": "moving the volume",
    }))
    .await;
    fetch_until(&am, "the silence applied", |s| s.alerts.iter().all(|a| a.is_silenced())).await;
    let out = check(am.url(), dir.clone()).await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));

    let dead = ClosedPort::new();
    let out = check(dead.url(), dir.clone()).await.unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("is down"), "{}", String::from_utf8_lossy(&out.stdout));
    let _ = std::fs::remove_dir_all(dir);
}
