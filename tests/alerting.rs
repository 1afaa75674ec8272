//! The alert rules end to end, as an operator meets them: `vigil serve
//! --scenario error-burst` as its own process on a loopback port, `vigil
//! tail --alerts` replaying half an hour of its history, and `vigil check`
//! judging the same gateway, each the real binary. Where the scenario
//! stands comes from the simulator's timetable, never from the clock's
//! guesswork.

mod common;

use common::ServeChild;
use common::real::ClosedPort;
use serde_json::Value;
use std::process::{Command, Output};
use vigil::gateway::sim::{Scenario, Simulator};
use vigil::wire::{now_ms, parse_time};

/// The shipped error-rate rule's `for`.
const FOR_MS: i64 = 120_000;
/// Around a change seen by one run, another run (which evaluated on its
/// own instants) may still see the state before it.
const SLACK_MS: i64 = 30_000;

/// A gateway process, killed when the test ends however it ends.
struct Gateway {
    _serve: ServeChild,
    url: String,
}

/// `vigil serve --scenario error-burst` on a port it picked and told.
fn serve_error_burst() -> Gateway {
    let serve = ServeChild::start(&["--scenario", "error-burst"]);
    let url = serve.stream_url();
    Gateway { _serve: serve, url }
}

fn vigil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil")).args(args).env_remove("VIGIL_TOKEN").output().expect("vigil runs")
}

fn time(v: &Value) -> i64 {
    parse_time(v.as_str().unwrap_or_else(|| panic!("not a time: {v}"))).unwrap()
}

/// The state a timeline of changes leaves an alert in at `t`.
fn state_at(changes: &[(i64, String)], t: i64) -> &str {
    match changes.iter().rev().find(|c| c.0 <= t).map(|c| c.1.as_str()) {
        Some("pending") => "pending",
        Some("firing") => "firing",
        _ => "inactive",
    }
}

#[test]
fn error_burst_fires_the_error_rate_rule_in_tail_and_check() {
    let gw = serve_error_burst();
    let sim = Simulator::new(1, Scenario::ErrorBurst);

    // First the check, so the tail that follows holds its instant.
    let check = vigil(&["check", "--url", &gw.url, "--format", "json", "--timeout", "60s"]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let checked_at = time(&report["checked_at"]);

    let tail_started = now_ms();
    let tail = vigil(&["tail", "--url", &gw.url, "--alerts", "--since", "30m", "--duration", "15s"]);
    assert_eq!(tail.status.code(), Some(0), "{}", String::from_utf8_lossy(&tail.stderr));
    let lines: Vec<Value> = String::from_utf8_lossy(&tail.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let error_rate: Vec<&Value> =
        lines.iter().filter(|l| l["type"] == "rule_alert" && l["rule"] == "error rate").collect();
    assert!(error_rate.iter().any(|l| l["replayed"] == true), "no replayed history within 15 s: {lines:?}");

    // Only payments' error rate ever moves.
    for l in &error_rate {
        assert_eq!(l["group"]["service"], "payments", "{l}");
    }
    let mut changes: Vec<(i64, String)> =
        error_rate.iter().map(|l| (time(&l["at"]), l["change"].as_str().unwrap().to_string())).collect();
    // When each change was found: by the replay, on whole steps, or live,
    // at the first evaluation after it came due.
    let replayed: Vec<bool> = error_rate.iter().map(|l| l["replayed"] == true).collect();
    let mut replayed = replayed.as_slice();
    assert!(changes.windows(2).all(|w| w[0].0 <= w[1].0), "out of time order: {changes:?}");
    // The rule joins the replay once its five-minute window lies within
    // the history. If that falls on the tail of a round, whose errors are
    // still in the window, it goes pending there and drops before `for`.
    let joined = tail_started - 30 * 60_000 + 5 * 60_000;
    if changes.len() >= 2 && changes[0].1 == "pending" && changes[1].1 == "dropped" {
        assert!(changes[0].0 < joined + 60_000, "dropped mid-history: {changes:?}");
        assert!(changes[1].0 - changes[0].0 < FOR_MS, "{changes:?}");
        changes.drain(..2);
        replayed = &replayed[2..];
    }

    // Pending, firing, resolved, in turn; the history may begin and end
    // part of the way through a round.
    let order = ["pending", "firing", "resolved"];
    let first = order.iter().position(|c| *c == changes[0].1).expect("a known change");
    for (i, c) in changes.iter().enumerate() {
        assert_eq!(c.1, order[(first + i) % 3], "change {i} of {changes:?}");
    }
    // If the join falls in the middle of a breach, the first round starts
    // there, outside any incident.
    let mut whole_rounds = 0;
    for (i, (at, change)) in changes.iter().enumerate() {
        if change != "pending" {
            continue;
        }
        if let Some((fired, _)) = changes.get(i + 1) {
            if replayed[i + 1] {
                assert_eq!(fired - at, FOR_MS, "a replay fires exactly `for` after pending: {changes:?}");
            } else {
                // Live, it fires at the first evaluation once `for` is up.
                let late = fired - at - FOR_MS;
                assert!((0..SLACK_MS).contains(&late), "firing {late} ms after `for`: {changes:?}");
            }
        }
        if *at < joined + 60_000 && sim.incident_at(*at).is_none() {
            continue;
        }
        let incident = sim.incident_at(*at).unwrap_or_else(|| panic!("pending at {at} outside an incident"));
        assert!(incident.start_ms <= *at && *at < incident.end_ms, "pending at {at}, incident {incident:?}");
        let Some((resolved, _)) = changes.get(i + 2) else { continue };
        assert!(*resolved >= incident.end_ms, "resolved at {resolved}, before the incident's end {incident:?}");
        // ... and before the next incident begins.
        assert!(*resolved < incident.start_ms + vigil::gateway::sim::PERIOD_MS, "{changes:?}");
        whole_rounds += 1;
    }
    assert!(whole_rounds >= 1, "half an hour holds a whole round: {changes:?}");

    // The check saw what the tail's history says of its instant.
    let near_a_change = changes.iter().any(|c| (c.0 - checked_at).abs() <= SLACK_MS);
    let expected = state_at(&changes, checked_at);
    let found = report["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["rule"] == "error rate" && a["group"]["service"] == "payments")
        .map_or("inactive", |a| a["state"].as_str().unwrap());
    if near_a_change {
        let before = state_at(&changes, checked_at - SLACK_MS);
        let after = state_at(&changes, checked_at + SLACK_MS);
        assert!(found == before || found == after, "check says {found}, tail {before} then {after}: {report}");
    } else {
        assert_eq!(found, expected, "check at {checked_at}: {report}\ntail: {changes:?}");
    }
    // Its verdict follows from what it lists.
    let firing = report["alerts"].as_array().unwrap().iter().any(|a| a["state"] == "firing");
    let code = check.status.code();
    assert_eq!(code, Some(if firing { 1 } else { 0 }), "{report}");
    assert_eq!(report["exit"].as_i64(), code.map(i64::from));
    assert_eq!(report["status"], if firing { "firing" } else { "ok" });
    assert_eq!(report["sources"][0]["url"], gw.url.as_str());
    assert_eq!(report["sources"][0]["state"], "live");
}

#[test]
fn check_exits_2_when_nothing_answers() {
    let closed = ClosedPort::new();
    let url = format!("ws://127.0.0.1:{}/api/v1/metrics/stream", closed.port());
    let out = vigil(&["check", "--url", &url, "--format", "json", "--timeout", "2s"]);
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "unreachable");
    let why = report["reasons"][0].as_str().unwrap();
    assert!(why.contains("no live data") && why.contains("refused"), "{why}");
    // The text form says the same on one summary line.
    let out = vigil(&["check", "--url", &url, "--timeout", "1s"]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("vigil check: UNREACHABLE - no full picture within 1s"), "{text}");
}

#[test]
fn check_exits_3_on_a_bad_config_file_naming_file_line_and_key() {
    let dir = std::env::temp_dir().join(format!("vigil-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, "[ui]\nfps = \"fast\"\n").unwrap();
    let out = vigil(&["check", "--config", path.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains(&format!("{}:2: key `ui.fps`", path.display())), "{text}");
}

#[test]
fn check_reports_an_slo_burning_through_its_budget_during_error_bursts() {
    let gw = serve_error_burst();
    let dir = std::env::temp_dir().join(format!("vigil-check-slo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("slo.toml");
    // Only the SLO: no rules, so whatever fires is its burn alerts.
    let config = r#"
[alerting]
defaults = false

[[slo]]
name = "payments availability"
objective = 99.9
total = { metric = "http_requests_total", labels = { service = "payments" } }
bad = { metric = "http_errors_total", labels = { service = "payments" } }
"#;
    std::fs::write(&path, config).unwrap();
    let out =
        vigil(&["check", "--config", path.to_str().unwrap(), "--url", &gw.url, "--format", "json", "--timeout", "60s"]);
    let _ = std::fs::remove_dir_all(&dir);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    let slo = &report["slos"][0];
    assert_eq!(slo["name"], "payments availability", "{report}");
    let burn = |w: &str| {
        let found = slo["burns"].as_array().unwrap().iter().find(|b| b[0] == w).unwrap_or_else(|| panic!("{report}"));
        found[1].as_f64().unwrap_or_else(|| panic!("no {w} burn: {report}"))
    };
    // Payments fails about 6.5% of requests for some four and a half
    // minutes of every ten (against 0.1% allowed), and about 0.2% otherwise:
    // the hour's burn is some thirty times the sustainable rate.
    let hour = burn("1h");
    assert!((15.0..50.0).contains(&hour), "1h burn {hour}: {report}");
    // The fast burn pages exactly when the last five minutes burn past
    // 14.4x too; then the check says firing.
    let fast = slo["firing"].as_array().unwrap().iter().any(|f| f == "fast burn");
    assert_eq!(fast, burn("5m") > 14.4, "{report}");
    // The gateway's own alerts count as well; with no rules, any alert
    // listed is one of those.
    let gateway = report["alerts"].as_array().unwrap().iter().any(|a| a["state"] == "firing");
    assert!(report["alerts"].as_array().unwrap().iter().all(|a| a["source"] == "gateway"), "{report}");
    assert_eq!(out.status.code() == Some(1), fast || gateway, "{report}");
    if fast {
        assert_eq!(report["status"], "firing", "{report}");
    }
}

/// A URL without the stream path (or with a wrong one) is a mistake in the
/// set-up: `check` says so at once, with the path to use, and exits 3
/// rather than waiting out its timeout and calling the gateway stale.
#[test]
fn check_at_a_url_with_no_stream_there_is_a_config_error() {
    let serve = ServeChild::start(&["--scenario", "calm"]);
    let bare = format!("ws://{}", serve.addr());
    let out = vigil(&["check", "--url", &bare, "--timeout", "60s"]);
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(said.contains("HTTP 404"), "{said}");
    assert!(said.contains(&format!("(try ws://{}/api/v1/metrics/stream)", serve.addr())), "{said}");
    // The stream path itself is checked as usual.
    let out = vigil(&["check", "--url", &serve.stream_url(), "--timeout", "60s"]);
    assert_ne!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stdout));
}
