//! One book of acks and silences for every screen, end to end: our own
//! gateway on loopback, in the middle of a CPU incident so an alert is
//! firing; a dashboard (its real feed, pipeline and keys) acknowledges it,
//! and a second client sees `acked_by` arrive on the stream, pushed; the
//! ack and a silence outlive a restart of the gateway on the same state
//! dir; silences match as Alertmanager's do, list, expire and refuse bad
//! bodies; and a named token signs what is done with it.

mod common;

use common::real::TempDir;
use common::{Client, WAIT};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use vigil::config::Config;
use vigil::dashboards::Dashboard;
use vigil::feed::{Feed, Plan};
use vigil::gateway::serve::{Gateway, ServeOptions};
use vigil::gateway::sim::{Scenario, Simulator};
use vigil::tui::app::keys;
use vigil::tui::app::state::{Effect, UiState};
use vigil::tui::pipeline::{self, Pipeline, ViewRequest, Wanted};
use vigil::tui::scene::Scene;
use vigil::tui::view::Page;
use vigil::wire::{AlertFrame, CAP_ACKS, ServerFrame, format_time, now_ms};

/// The built-in dashboard's Alerts page.
const ALERTS_PAGE: usize = 3;
/// How long the incident must still burn when the gateway starts: the
/// test's ack ends when the alert resolves.
const STILL_BURNING_MS: i64 = 150_000;

/// A clock offset that starts the gateway 65 s into a stretch of checkout's
/// CPU above 80 % that burns on for at least [`STILL_BURNING_MS`]: its
/// `cpu` alert (held for a minute) is firing from the first frame on.
fn offset_into_a_long_breach(sim: &Simulator) -> i64 {
    let now = now_ms();
    let mut from = now;
    loop {
        let crossing = common::cpu_crossing(sim, from);
        let start = crossing + 65_000;
        let lasts = (crossing..start + STILL_BURNING_MS).step_by(1000).all(|t| common::checkout_cpu(sim, t) > 80.0);
        if lasts {
            return start - now;
        }
        from = crossing + 1000;
    }
}

fn options(offset: i64, state: &TempDir) -> ServeOptions {
    ServeOptions {
        scenario: Scenario::CpuSaturation,
        seed: 1,
        clock_offset_ms: offset,
        interval: Duration::from_millis(500),
        state_dir: Some(state.path().to_path_buf()),
        ..common::options()
    }
}

fn is_cpu_alert(f: &ServerFrame) -> Option<&AlertFrame> {
    match f {
        ServerFrame::Alert(a)
            if a.metric == "cpu_usage_percent"
                && a.labels.get("service").map(String::as_str) == Some("checkout")
                && a.state == "firing" =>
        {
            Some(a)
        }
        _ => None,
    }
}

/// A watching screen: connected, told the gateway keeps the book, and
/// shown the firing CPU alert.
async fn watcher(gw: &Gateway, token: Option<&str>) -> (Client, AlertFrame) {
    let mut client = Client::connect(gw, token).await;
    let hello = client.expect_hello().await;
    assert!(hello.capabilities.iter().any(|c| c == CAP_ACKS), "no acks capability: {:?}", hello.capabilities);
    client.subscribe("cpu_usage_percent").await;
    let (frame, _) = client.until(|f| is_cpu_alert(f).is_some()).await;
    let alert = is_cpu_alert(&frame).unwrap().clone();
    (client, alert)
}

/// The next frame of alert `id` that `want` accepts, read off the stream.
async fn until_alert(client: &mut Client, id: &str, want: impl Fn(&AlertFrame) -> bool) -> AlertFrame {
    let (frame, _) = client.until(|f| matches!(f, ServerFrame::Alert(a) if a.id == id && want(a))).await;
    let ServerFrame::Alert(a) = frame else { unreachable!() };
    a
}

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.expect("the gateway answers");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn ack_url(gw: &Gateway, id: &str) -> String {
    let mut url = reqwest::Url::parse(&gw.http_url()).unwrap();
    url.path_segments_mut().unwrap().extend(["api", "v1", "alerts", id, "ack"]);
    url.to_string()
}

/// A dashboard as `vigil --url` runs one, without the terminal: its feed,
/// its pipeline signing wishes as `alice`, and the screen's key handling.
struct Screen {
    feed: Feed,
    wishes: mpsc::Sender<vigil::core::alert::intent::Wish>,
    scenes: watch::Receiver<Arc<Scene>>,
    ui: UiState,
    _wanted: watch::Sender<Wanted>,
    cancel: CancellationToken,
    pipeline: tokio::task::JoinHandle<Pipeline>,
    _files: TempDir,
}

impl Screen {
    async fn start(gw: &Gateway) -> Screen {
        let plan = Plan {
            config: Config::default(),
            gateways: vec![gw.stream_url()],
            token: None,
            config_path: None,
            backfill: Duration::from_secs(60),
            sources: Vec::new(),
        };
        let mut feed = Feed::start(&plan).await.expect("the feed starts");
        let mut p = Pipeline::new(feed.info.clone(), feed.stats.clone());
        let files = TempDir::new("acks-screen");
        p.keep_intent_in(files.path().join("acks-silences.json"), "alice".into()).unwrap();
        p.call_book_with(feed.book.clone());
        let (wishes, wishes_rx) = mpsc::channel(8);
        p.hear_wishes(wishes_rx);
        let view = ViewRequest { page: ALERTS_PAGE, ..ViewRequest::default() };
        let (wanted, wanted_rx) = watch::channel(Wanted {
            dashboard: Arc::new(Dashboard::built_in()),
            view,
            rules: Arc::new(Config::default().rules()),
            slos: Default::default(),
            detail: None,
        });
        let (scene_tx, scenes) = watch::channel(Arc::new(Scene::default()));
        let cancel = CancellationToken::new();
        let pipeline = tokio::spawn(pipeline::run(p, feed.take_updates(), Some(wanted_rx), scene_tx, cancel.clone()));
        let mut ui = UiState::new(Arc::new(Dashboard::built_in()), 15 * 60_000);
        ui.go_to(Page::Dashboard(ALERTS_PAGE));
        Screen { feed, wishes, scenes, ui, _wanted: wanted, cancel, pipeline, _files: files }
    }

    /// The first scene `want` accepts.
    async fn scene(&mut self, what: &str, want: impl Fn(&Scene) -> bool) -> Arc<Scene> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let scene = self.scenes.borrow_and_update().clone();
            if want(&scene) {
                return scene;
            }
            assert!(tokio::time::Instant::now() < deadline, "the screen never showed {what}");
            let _ = tokio::time::timeout(Duration::from_secs(1), self.scenes.changed()).await;
        }
    }

    /// Presses a key as the app serves it; a wish goes to the pipeline.
    async fn press(&mut self, code: KeyCode, scene: &Scene) -> Effect {
        let effect = self.ui.act(keys::action(KeyEvent::new(code, KeyModifiers::NONE)), scene, now_ms());
        if let Effect::Wish(w) = &effect {
            self.wishes.send(w.clone()).await.unwrap();
        }
        effect
    }

    async fn stop(self) {
        self.cancel.cancel();
        let _ = self.pipeline.await;
        self.feed.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_pressed_on_one_screen_is_pushed_to_another_and_outlives_a_restart() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let sim = Simulator::new(1, Scenario::CpuSaturation);
    let offset = offset_into_a_long_breach(&sim);
    let state = TempDir::new("acks-state");
    let gw = common::start(options(offset, &state)).await;
    let (mut wall, alert) = watcher(&gw, None).await;
    assert!(alert.marks.is_empty(), "nobody has said anything yet: {alert:?}");

    // The laptop: its alert list shows the alert; `j` selects it, `a` acks.
    let mut laptop = Screen::start(&gw).await;
    let scene = laptop.scene("the CPU alert", |s| s.alerts.iter().any(|a| a.id == alert.id)).await;
    for _ in 0..=scene.alerts.len() {
        if laptop.ui.view(now_ms(), false, (0, 0)).selected.as_deref() == Some(alert.id.as_str()) {
            break;
        }
        laptop.press(KeyCode::Char('j'), &scene).await;
    }
    assert_eq!(laptop.ui.view(now_ms(), false, (0, 0)).selected.as_deref(), Some(alert.id.as_str()));
    let pressed = Instant::now();
    assert!(matches!(laptop.press(KeyCode::Char('a'), &scene).await, Effect::Wish(_)));

    // The wall hears of it on its stream, which it only reads.
    let acked = until_alert(&mut wall, &alert.id, |a| a.marks.acked_by.is_some()).await;
    let took = pressed.elapsed();
    eprintln!("ack pressed to ack on the other screen: {took:?}");
    assert_eq!(acked.marks.acked_by.as_deref(), Some("alice"), "signed with the screen's user");
    assert!(acked.marks.acked_at.is_some());
    // The laptop shows it as pushed back, and wrote nothing of its own.
    laptop.scene("ACK alice", |s| s.hush.get(&alert.id).and_then(|h| h.acked_by.as_deref()) == Some("alice")).await;
    assert!(laptop.ui.view(now_ms(), false, (0, 0)).message.is_some_and(|m| m.0.contains("acknowledged")));

    // A silence made over REST for the same alert, as another tool would.
    let http = common::http();
    let body = json!({
        "matchers": [{"name": "service", "value": "check.*", "regex": true}, {"name": "alertname", "value": "cpu"}],
        "ends_at": format_time(now_ms() + 3_600_000),
        "created_by": "bob",
        "comment": "resizing the pool",
    });
    let (status, silence) = send(http.post(format!("{}/api/v1/silences", gw.http_url())).json(&body)).await;
    assert_eq!(status, 201, "{silence}");
    let silence_id = silence["id"].as_str().unwrap().to_string();
    let silenced = until_alert(&mut wall, &alert.id, |a| !a.marks.silence_ids.is_empty()).await;
    assert_eq!(silenced.marks.silence_ids, [silence_id.as_str()]);
    assert_eq!(silenced.marks.acked_by.as_deref(), Some("alice"), "the ack stands beside the silence");
    laptop.stop().await;
    drop(wall);

    // A restart on the same state dir: both are still there, and a screen
    // that connects now is shown them with the alert.
    gw.shutdown().await;
    let file = state.path().join("gateway-acks-silences.json");
    assert!(std::fs::read_to_string(&file).unwrap().contains(&silence_id), "the book is on disk");
    let gw = common::start(options(offset, &state)).await;
    let (_newcomer, again) = watcher(&gw, None).await;
    assert_eq!(again.id, alert.id, "the same alert, warmed up again");
    assert_eq!(again.marks.acked_by.as_deref(), Some("alice"));
    assert_eq!(again.marks.silence_ids, [silence_id.as_str()]);
    assert_eq!(again.marks.silenced_by.as_deref(), Some("bob"));
    let (_, listed) = send(http.get(format!("{}/api/v1/silences", gw.http_url()))).await;
    assert_eq!(listed["silences"][0]["id"], silence_id.as_str());
    assert_eq!(listed["silences"][0]["comment"], "resizing the pool");
    let (_, acks) = send(http.get(format!("{}/api/v1/acks", gw.http_url()))).await;
    assert_eq!(acks["acks"][0]["alert_id"], alert.id.as_str());
    assert_eq!(acks["acks"][0]["acked_by"], "alice");
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silences_match_as_alertmanager_list_expire_and_refuse_bad_bodies() {
    let sim = Simulator::new(1, Scenario::CpuSaturation);
    let offset = offset_into_a_long_breach(&sim);
    let state = TempDir::new("acks-silences");
    let gw = common::start(options(offset, &state)).await;
    let (mut wall, alert) = watcher(&gw, None).await;
    let http = common::http();
    let url = format!("{}/api/v1/silences", gw.http_url());
    let until = format_time(now_ms() + 600_000);
    let post = |body: Value| http.post(&url).json(&body);

    // Anchored: `check` is not `checkout`; a negative matcher that takes
    // checkout out leaves nothing of this alert either.
    for matchers in [
        json!([{"name": "service", "value": "check", "regex": true}]),
        json!([{"name": "alertname", "value": "cpu"}, {"name": "service", "value": "checkout", "is_equal": false}]),
    ] {
        let (status, s) = send(post(json!({"matchers": matchers, "ends_at": until, "created_by": "eve"}))).await;
        assert_eq!((status, s["status"].as_str()), (201, Some("active")), "{s}");
    }
    // A newcomer is shown the alert with no silence on it.
    let (_other, seen) = watcher(&gw, None).await;
    assert!(seen.marks.silence_ids.is_empty(), "{seen:?}");

    // One that matches: a negative matcher on another service, and a regex.
    let matchers = json!([
        {"name": "service", "value": "pay.*|check.*", "regex": true},
        {"name": "service", "value": "payments", "is_equal": false},
    ]);
    let (status, made) =
        send(post(json!({"matchers": matchers, "ends_at": until, "created_by": "eve", "comment": "load test"}))).await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap().to_string();
    let marked = until_alert(&mut wall, &alert.id, |a| !a.marks.silence_ids.is_empty()).await;
    assert_eq!(marked.marks.silence_ids, [id.as_str()]);
    assert_eq!(marked.marks.silenced_by.as_deref(), Some("eve"));

    let (_, listed) = send(http.get(&url)).await;
    let list = listed["silences"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    let mine = list.iter().find(|s| s["id"] == id.as_str()).unwrap();
    assert_eq!((mine["created_by"].as_str(), mine["comment"].as_str()), (Some("eve"), Some("load test")));
    assert_eq!(mine["matchers"][1]["is_equal"], false);

    // Bad bodies: 400, the path of the fault, and nothing changes.
    let bad = [
        (json!({"matchers": [], "ends_at": until, "created_by": "eve"}), "matchers: "),
        (
            json!({"matchers": [{"name": "service", "value": "(", "regex": true}], "ends_at": until, "created_by": "e"}),
            "matchers[0].value: not a valid regular expression",
        ),
        (
            json!({"matchers": [{"name": "service", "value": "x"}], "ends_at": format_time(now_ms() - 1000), "created_by": "e"}),
            "ends_at: in the past",
        ),
        (
            json!({"matchers": [{"name": "service", "value": "x"}], "ends_at": format_time(now_ms() + 40 * 86_400_000), "created_by": "e"}),
            "ends_at: the silence would last longer than",
        ),
        (
            json!({"matchers": [{"name": "service", "value": ".*", "regex": true}], "ends_at": until, "created_by": "e"}),
            "matchers: every one matches the empty string",
        ),
        (
            json!({"matchers": [{"name": "service", "value": "x"}], "endsAt": until, "created_by": "e"}),
            "endsAt: unknown field",
        ),
    ];
    for (body, path) in bad {
        let (status, answer) = send(post(body.clone())).await;
        let error = answer["error"].as_str().unwrap_or_default();
        assert_eq!(status, 400, "{body} got {answer}");
        assert!(error.starts_with(path) && !error.contains('\n'), "{body}: {error:?}");
    }
    let (_, after) = send(http.get(&url)).await;
    assert_eq!(after["silences"].as_array().unwrap().len(), 3, "nothing of a bad body is kept");

    // Expired: listed as such, and the alert goes out again unsilenced.
    let (status, gone) = send(http.delete(format!("{url}/{id}"))).await;
    assert_eq!((status, gone["status"].as_str()), (200, Some("expired")), "{gone}");
    let clear = until_alert(&mut wall, &alert.id, |a| a.marks.silence_ids.is_empty()).await;
    assert!(clear.marks.silenced_by.is_none());
    let (status, missing) = send(http.delete(format!("{url}/no-such-silence"))).await;
    assert_eq!(status, 404, "{missing}");
    let (_, listed) = send(http.get(&url)).await;
    let mine = listed["silences"].as_array().unwrap().iter().find(|s| s["id"] == id.as_str()).cloned().unwrap();
    assert_eq!(mine["status"], "expired");
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_token_signs_what_it_does_whatever_the_body_says() {
    let sim = Simulator::new(1, Scenario::CpuSaturation);
    let offset = offset_into_a_long_breach(&sim);
    let state = TempDir::new("acks-tokens");
    let opts = ServeOptions {
        named_tokens: vec![(Some("carol".into()), "carol-s3cret".into()), (None, "kiosk-s3cret".into())],
        ..options(offset, &state)
    };
    let gw = common::start(opts).await;
    let (mut wall, alert) = watcher(&gw, Some("kiosk-s3cret")).await;
    let http = common::http();
    let url = ack_url(&gw, &alert.id);

    let (status, _) = send(http.post(&url).json(&json!({"by": "mallory"}))).await;
    assert_eq!(status, 401, "no token, no ack");
    let (status, ack) = send(http.post(&url).bearer_auth("carol-s3cret").json(&json!({"by": "mallory"}))).await;
    assert_eq!((status, ack["acked_by"].as_str()), (201, Some("carol")), "{ack}");
    let pushed = until_alert(&mut wall, &alert.id, |a| a.marks.acked_by.is_some()).await;
    assert_eq!(pushed.marks.acked_by.as_deref(), Some("carol"));
    // Again: the same ack, unchanged.
    let (status, same) = send(http.post(&url).bearer_auth("kiosk-s3cret").json(&json!({"by": "dave"}))).await;
    assert_eq!((status, same["acked_by"].as_str()), (200, Some("carol")));
    // Taken back, twice (the second changes nothing), then given by a token without a name.
    for _ in 0..2 {
        let (status, _) = send(http.delete(&url).bearer_auth("kiosk-s3cret")).await;
        assert_eq!(status, 204);
    }
    until_alert(&mut wall, &alert.id, |a| a.marks.acked_by.is_none()).await;
    let (status, answer) = send(http.post(&url).bearer_auth("kiosk-s3cret")).await;
    assert_eq!(status, 400, "an unnamed token must say who: {answer}");
    assert!(answer["error"].as_str().unwrap().starts_with("by: missing"));
    let (status, ack) = send(http.post(&url).bearer_auth("kiosk-s3cret").json(&json!({"by": "dave"}))).await;
    assert_eq!((status, ack["acked_by"].as_str()), (201, Some("dave")));

    // A silence: the named token's user, not the body's created_by.
    let body = json!({"matchers": [{"name": "service", "value": "checkout"}],
        "ends_at": format_time(now_ms() + 60_000), "created_by": "mallory"});
    let (status, s) =
        send(http.post(format!("{}/api/v1/silences", gw.http_url())).bearer_auth("carol-s3cret").json(&body)).await;
    assert_eq!((status, s["created_by"].as_str()), (201, Some("carol")), "{s}");

    // An alert the gateway does not have.
    let (status, answer) = send(http.post(ack_url(&gw, "no:such:alert")).bearer_auth("carol-s3cret")).await;
    assert_eq!(status, 404);
    assert!(answer["error"].as_str().unwrap().contains("no alert \"no:such:alert\""), "{answer}");
    gw.shutdown().await;
}

/// The screen's side without a network: a gateway's alert is acknowledged
/// in the local file until the gateway offers its book; then wishes become
/// calls to it, what it pushes is what the list shows, and a failed call
/// is said once on the status bar.
#[test]
fn wishes_go_to_the_gateways_book_only_when_it_offers_one() {
    use vigil::core::alert::intent::Wish;
    use vigil::core::alert::upstream::Marks;
    use vigil::core::model::{Alert, AlertState, Origin, Severity, SourceId, Update};
    use vigil::sources::gateway::book::Call;
    const T0: i64 = 1_751_279_400_000;
    let alert = |id: &str| Alert {
        id: id.into(),
        origin: Origin::Gateway { source: SourceId::GATEWAY },
        state: AlertState::Firing,
        severity: Severity::Critical,
        metric: "http_error_ratio".into(),
        labels: [("service".to_string(), "payments".to_string())].into(),
        value: Some(0.05),
        threshold: Some(0.01),
        summary: "payments errors".into(),
        starts_at: Some(T0 - 60_000),
        ends_at: None,
        updated_ms: T0,
        open_start: false,
    };
    let files = TempDir::new("acks-wishes");
    let mut p = Pipeline::new(Default::default(), vec![Arc::new(vigil::sources::SourceStats::default())]);
    p.keep_intent_in(files.path().join("acks-silences.json"), "alice".into()).unwrap();
    let (tx, mut calls) = mpsc::channel(8);
    p.call_book_with(tx);
    p.apply(Update::Alert(alert("http_error_ratio:payments:1")), T0);

    // No book offered: the local file, as before.
    assert!(p.grant(Wish::ToggleAck("http_error_ratio:payments:1".into()), T0));
    assert_eq!(p.intent().acked_by("http_error_ratio:payments:1"), Some("alice"));
    assert!(calls.try_recv().is_err());

    // Offered: the gateway's alerts go to it, signed by the screen's user.
    p.apply(Update::BookUpstream(true), T0);
    p.apply(Update::Alert(alert("http_error_ratio:payments:2")), T0);
    assert!(!p.grant(Wish::ToggleAck("http_error_ratio:payments:2".into()), T0), "nothing shown changes yet");
    assert_eq!(calls.try_recv().unwrap(), Call::Ack { id: "http_error_ratio:payments:2".into(), by: "alice".into() });
    assert!(p.intent().acked_by("http_error_ratio:payments:2").is_none(), "not in the local file");
    // What the gateway pushes is what the list shows; pressing again takes it back.
    let marks = Marks { acked_by: Some("bob".into()), acked_at_ms: Some(T0), ..Marks::default() };
    p.apply(Update::Marked { id: "http_error_ratio:payments:2".into(), marks }, T0);
    let scene = p.scene(T0);
    assert_eq!(scene.hush["http_error_ratio:payments:2"].acked_by.as_deref(), Some("bob"));
    p.grant(Wish::ToggleAck("http_error_ratio:payments:2".into()), T0);
    assert_eq!(calls.try_recv().unwrap(), Call::Unack { id: "http_error_ratio:payments:2".into() });
    // A silence of the alert's name, metric and labels, for as long as asked.
    p.grant(Wish::Silence { id: "http_error_ratio:payments:2".into(), for_ms: 3_600_000 }, T0);
    let Call::Silence { matchers, ends_at_ms, created_by, .. } = calls.try_recv().unwrap() else { panic!() };
    let names: Vec<(&str, &str)> = matchers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(names, [("alertname", "http_error_ratio"), ("metric", "http_error_ratio"), ("service", "payments")]);
    assert_eq!((ends_at_ms, created_by.as_str()), (T0 + 3_600_000, "alice"));
    // Ending its silences expires those the gateway says cover it.
    let marks =
        Marks { silenced: Some((T0 + 60_000, "bob".into())), silence_ids: vec!["s-1".into()], ..Marks::default() };
    p.apply(Update::Marked { id: "http_error_ratio:payments:2".into(), marks }, T0);
    p.grant(Wish::Unsilence("http_error_ratio:payments:2".into()), T0);
    assert_eq!(calls.try_recv().unwrap(), Call::Expire { ids: vec!["s-1".into()] });

    // A refusal is said once on the status bar.
    p.apply(Update::BookError("acknowledgement not recorded by the gateway: gone (HTTP 404)".into()), T0);
    let scene = p.scene(T0);
    let mut ui = UiState::new(Arc::new(Dashboard::built_in()), 15 * 60_000);
    ui.hear(&scene, T0);
    let said = ui.view(T0, false, (0, 0)).message.unwrap().0;
    assert!(said.contains("HTTP 404"), "{said}");
    ui.say("something else", vigil::tui::view::signal::Level::Ok, T0);
    ui.hear(&scene, T0);
    assert_eq!(ui.view(T0, false, (0, 0)).message.unwrap().0, "something else", "said once");
}

/// A silenced alert is still sent to screens, marked, but calls no
/// webhook: of two subscriptions crossing alike, only the unsilenced one's
/// webhook is called.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silenced_alerts_call_no_webhook() {
    let state = TempDir::new("acks-webhook");
    let gw = common::start(ServeOptions {
        scenario: Scenario::Calm,
        state_dir: Some(state.path().to_path_buf()),
        ..common::options()
    })
    .await;
    let http = common::http();
    let silence = json!({"matchers": [{"name": "metric", "value": "cpu_usage_percent"}, {"name": "service", "value": "checkout"}],
        "ends_at": format_time(now_ms() + 600_000), "created_by": "ops"});
    let (status, made) = send(http.post(format!("{}/api/v1/silences", gw.http_url())).json(&silence)).await;
    assert_eq!(status, 201, "{made}");
    let (hook, mut calls) = common::webhook_receiver().await;
    // The silenced one first: its crossing comes no later than the other's.
    for service in ["checkout", "api"] {
        let sub = json!({"metric": "cpu_usage_percent", "threshold": 0, "service": service,
            "notification_method": "webhook", "url": hook});
        let (status, answer) = send(http.post(format!("{}/api/v1/alerts/subscribe", gw.http_url())).json(&sub)).await;
        assert_eq!(status, 201, "{answer}");
    }
    let first = tokio::time::timeout(WAIT, calls.recv()).await.expect("a webhook call").unwrap();
    assert_eq!(first["labels"]["service"], "api", "{first}");
    assert!(first.get("silenced_by").is_none(), "{first}");
    common::wait_for_metric_line(&gw, "vigil_gateway_webhook_deliveries_total{result=\"ok\"} 1").await;
    assert!(calls.try_recv().is_err(), "the silenced subscription called its webhook");
    gw.shutdown().await;
}
