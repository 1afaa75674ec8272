//! The incident timeline and its report, from a pipeline that lived through
//! an incident: checkout deploys, its error rate climbs past the shipped
//! `error rate` rule's 1% until it fires, a gateway alert comes and goes,
//! the link drops and comes back, and the errors stop. Times asserted come
//! from the timeline itself or from the data's own arithmetic.

use std::sync::Arc;
use std::time::Duration;
use vigil::config::Config;
use vigil::core::format::age;
use vigil::core::incident::timeline::{LinkState, Step, What};
use vigil::core::model::{
    Alert, AlertState, ConnState, ErrorClass, Event, Kind, MetricMeta, Observation, Origin, Sample, SeriesKey,
    Severity, SourceId, Transport, Update,
};
use vigil::sources::SourceStats;
use vigil::tui::pipeline::Pipeline;
use vigil::tui::scene::SourceInfo;
use vigil::wire::format_time;

/// 2025-06-30T10:30:00Z, on a five-minute boundary as the SLO ledger's buckets are.
const T0: i64 = 1_751_279_400_000;
const MIN: i64 = 60_000;
const URL: &str = "ws://gw.test/api/v1/metrics/stream";
const RULE: &str = "rule:error rate:service=checkout";
/// Checkout serves 100 requests a second; from 10 to 18 minutes 5 of them
/// fail, otherwise one in a thousand.
const ERRORS_FROM: i64 = 10 * 60;
const ERRORS_TO: i64 = 18 * 60;

/// A pipeline with the shipped rules and checkout's availability SLO;
/// `burn_alerts` turns its burn alerts on.
fn pipeline_with(burn_alerts: bool) -> Pipeline {
    let mut p = Pipeline::new(SourceInfo { url: URL.into(), demo: None }, vec![Arc::new(SourceStats::for_url(URL))]);
    let counter =
        |name: &str| MetricMeta { name: name.into(), kind: Kind::Counter, unit: String::new(), help: String::new() };
    let metrics = vec![counter("http_requests_total"), counter("http_errors_total")];
    p.apply(Update::Catalogue { metrics, interval_ms: 1000, source: SourceId::GATEWAY }, T0);
    p.set_rules(Arc::new(Config::default().rules()));
    let mut availability: Vec<_> =
        vigil::core::slo::demo().into_iter().filter(|s| s.name == "checkout availability").collect();
    availability[0].alerts = burn_alerts;
    p.set_slos(Arc::new(availability));
    p
}

/// Without burn alerts: the rule and the gateway make the incident. (Over
/// the 45 minutes held, 1% of requests failed, twice the 0.5% allowed, so
/// the three-day budget burn alert would fire and keep it going.)
fn pipeline() -> Pipeline {
    pipeline_with(false)
}

/// The counters at second `sec`, as a live or backfilled frame.
fn counters(sec: i64, live: bool) -> Update {
    let errors_per_sec = |s: i64| if (ERRORS_FROM..ERRORS_TO).contains(&s) { 5.0 } else { 0.1 };
    counters_with(sec, live, (0..sec).map(errors_per_sec).sum())
}

/// The counters at second `sec`, `errors` failed so far.
fn counters_with(sec: i64, live: bool, errors: f64) -> Update {
    let ts = T0 + sec * 1000;
    let obs = |metric: &str, v: f64| Observation {
        key: SeriesKey::new(metric).with("service", "checkout"),
        ts,
        sample: Sample::Number(v),
    };
    let observations = vec![obs("http_requests_total", 100.0 * sec as f64), obs("http_errors_total", errors)];
    Update::Samples { observations, live, seq: None, source: SourceId::GATEWAY }
}

fn gateway_alert(state: AlertState, at: i64) -> Update {
    Update::Alert(Alert {
        id: "gw-checkout-5xx".into(),
        origin: Origin::Gateway { source: SourceId::GATEWAY },
        state,
        severity: Severity::Warning,
        metric: "http_errors_total".into(),
        labels: [("service".to_string(), "checkout".to_string())].into(),
        value: Some(0.04),
        threshold: Some(0.02),
        summary: "checkout 5xx above 2%".into(),
        starts_at: Some(at),
        ends_at: (state == AlertState::Resolved).then_some(at),
        updated_ms: at,
        open_start: false,
    })
}

/// What else happens at second `sec`, besides the counters.
fn happenings(sec: i64) -> Vec<Update> {
    let t = T0 + sec * 1000;
    let connected = || {
        Update::Conn(ConnState::Connected {
            since_ms: t,
            server: "vigil".into(),
            url: URL.into(),
            transport: Transport::Ws,
        })
    };
    let reconnecting = |attempt| {
        Update::Conn(ConnState::Reconnecting {
            retry_at_ms: t + 1000,
            attempt,
            error: "connection reset".into(),
            class: ErrorClass::Network,
        })
    };
    match sec {
        0 => vec![connected()],
        480 => vec![Update::Event(Event {
            ts: t,
            kind: "deploy".into(),
            // As decoding leaves it: sanitised, so on one line, but with
            // Markdown's table and code marks in it.
            text: "checkout v1.4.3 | canary `50%` rolled".into(),
            labels: [("service".to_string(), "checkout".to_string())].into(),
        })],
        840 => vec![gateway_alert(AlertState::Firing, t)],
        1020 => vec![gateway_alert(AlertState::Resolved, t)],
        // Retrying twice is one change of the link, not two.
        1200 => vec![reconnecting(1), Update::Conn(ConnState::Connecting { attempt: 1 }), reconnecting(2)],
        1230 => vec![connected()],
        _ => vec![],
    }
}

/// Plays seconds `from..to`, live, with a tick after each.
fn play(p: &mut Pipeline, from: i64, to: i64) {
    for sec in from..to {
        let t = T0 + sec * 1000;
        p.apply(counters(sec, true), t);
        for u in happenings(sec) {
            p.apply(u, t);
        }
        p.tick(t, Duration::from_secs(1));
    }
}

/// The times of one alert's changes, in order.
fn steps(p: &Pipeline, id: &str) -> Vec<(i64, Step, bool)> {
    p.timeline().of_alert(id).map(|(at, a)| (at, a.step, a.replayed)).collect()
}

#[test]
fn the_timeline_keeps_rule_and_gateway_alerts_events_and_link_changes() {
    let mut p = pipeline();
    play(&mut p, 0, 40 * 60);
    let rule = steps(&p, RULE);
    let kinds: Vec<Step> = rule.iter().map(|s| s.1).collect();
    assert_eq!(kinds, [Step::Pending, Step::Firing, Step::Resolved], "{rule:?}");
    let (pending, firing, resolved) = (rule[0].0, rule[1].0, rule[2].0);
    // Once a second the rule is evaluated: firing exactly its `for` (2m) after pending.
    assert_eq!(firing - pending, 2 * MIN);
    assert!(pending > T0 + ERRORS_FROM * 1000 && resolved > T0 + ERRORS_TO * 1000, "{rule:?}");
    let gw: Vec<_> = steps(&p, "gw-checkout-5xx").iter().map(|s| (s.0, s.1)).collect();
    assert_eq!(gw, [(T0 + 14 * MIN, Step::Firing), (T0 + 17 * MIN, Step::Resolved)]);

    let events: Vec<_> = p
        .timeline()
        .entries()
        .filter_map(|e| match &e.what {
            What::Event { kind, .. } => Some((e.at_ms, kind.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(events, [(T0 + 8 * MIN, "deploy")]);
    let links: Vec<_> = p
        .timeline()
        .entries()
        .filter_map(|e| match &e.what {
            What::Link { state, url, detail } => Some((e.at_ms, *state, url.as_str(), detail.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        links,
        [
            (T0, LinkState::Connected, URL, "over WS"),
            (T0 + 20 * MIN, LinkState::Reconnecting, URL, "network error: connection reset"),
            (T0 + 20 * MIN + 30_000, LinkState::Connected, URL, "over WS"),
        ]
    );
}

#[test]
fn the_report_tells_the_incident_from_its_first_symptom_to_its_resolution() {
    let mut p = pipeline();
    play(&mut p, 0, 45 * 60);
    let now = T0 + 45 * MIN;
    let rule = steps(&p, RULE);
    let (pending, firing, resolved) = (rule[0].0, rule[1].0, rule[2].0);
    let report = p.incident_report(now, 15 * MIN, now);
    assert!(report.incident);
    assert_eq!(report.from_ms, pending);
    let md = &report.markdown;
    let line = |start: &str| {
        md.lines().find(|l| l.starts_with(start)).unwrap_or_else(|| panic!("no line starting {start:?} in\n{md}"))
    };

    assert_eq!(line("# "), "# Incident report: error rate (service=checkout)");
    assert!(line("_Exported by vigil from ").contains(&format_time(now)));
    assert_eq!(
        line("| First symptom |"),
        format!("| First symptom | {} (error rate, service=checkout) |", format_time(pending))
    );
    assert_eq!(
        line("| Detection (first firing) |"),
        format!("| Detection (first firing) | {} (error rate, service=checkout) |", format_time(firing))
    );
    assert_eq!(line("| Time to detect |"), "| Time to detect | 2m00s |");
    // The rule resolves after the gateway's alert, so it ends the incident.
    assert_eq!(
        line("| Resolution (last resolved) |"),
        format!("| Resolution (last resolved) | {} |", format_time(resolved))
    );
    assert_eq!(line("| Duration |"), format!("| Duration | {} |", age(resolved - pending)));

    // Both alerts, with when each fired and resolved.
    let rule_row = line("| error rate |");
    assert!(rule_row.starts_with("| error rate | critical | service=checkout | rule |"), "{rule_row}");
    assert!(rule_row.contains(&format!("| {} | {} |", format_time(firing), format_time(resolved))), "{rule_row}");
    let gw_row = line("| gw-checkout-5xx |");
    let (fired, ended) = (format_time(T0 + 14 * MIN), format_time(T0 + 17 * MIN));
    assert!(
        gw_row
            .contains(&format!("| warning | service=checkout | gateway | {fired} | {fired} | {ended} | 0.04 | 0.02 |")),
        "{gw_row}"
    );

    // Budget: about 2,400 bad requests (8 minutes at 5 a second) against a
    // 30-day budget of 0.5% of 100 requests a second for 30 days
    // (1,296,000 requests): 0.185% of it.
    let slo = line("| checkout availability |");
    let cells: Vec<&str> = slo.split('|').map(str::trim).collect();
    assert_eq!(&cells[1..4], ["checkout availability", "99.5%", "30d"], "{slo}");
    let bad: f64 = cells[4].parse().unwrap();
    assert!((2_400.0..2_700.0).contains(&bad), "the burst's errors plus the calm ones around it: {slo}");
    let burned: f64 = cells[6].split('%').next().unwrap().parse().unwrap();
    assert!((0.17..0.22).contains(&burned), "{slo}");
    // The ledger holds the settled buckets, not the whole 30 days.
    assert!(cells[6].contains("of the 30d budget, ") && cells[6].ends_with(" of the window held"), "{slo}");

    // The deploy 30 minutes' look-back catches, its text escaped for Markdown.
    let deploy = line(&format!("- {} **deploy** ", format_time(T0 + 8 * MIN)));
    assert_eq!(
        deploy,
        format!(
            r"- {} **deploy** checkout v1.4.3 \| canary \`50%\` rolled (service=checkout) ({} before the first symptom)",
            format_time(T0 + 8 * MIN),
            age(pending - (T0 + 8 * MIN))
        )
    );
    assert_eq!(
        line(&format!("- {} reconnecting", format_time(T0 + 20 * MIN))),
        format!("- {} reconnecting {URL}: network error: connection reset", format_time(T0 + 20 * MIN))
    );

    // The whole timeline from the deploy to the resolution, one row each.
    let from = md.find("## Timeline").unwrap();
    let rows = md[from..].lines().skip(4).take_while(|l| l.starts_with("| ")).count();
    assert_eq!(rows, p.timeline().between(pending - 30 * MIN, resolved).count());
    assert_eq!(
        rows, 9,
        "connected, deploy, pending, firing, the gateway's firing and resolved, reconnecting, connected, resolved: {md}"
    );
    assert!(
        md[from..]
            .contains(&format!("| {} | rule firing critical | error rate (service=checkout)", format_time(firing)))
    );

    // The resolution reads as one, with the value that ended it.
    let resolved_row = md[from..]
        .lines()
        .find(|l| l.starts_with(&format!("| {} | rule resolved", format_time(resolved))))
        .unwrap_or_else(|| panic!("no resolved row: {md}"));
    assert!(resolved_row.contains("error rate checkout resolved: "), "{resolved_row}");
    assert!(resolved_row.contains(r"no longer \> 1.00%") && !resolved_row.contains("above"), "{resolved_row}");

    // Then the sections for people, empty, in order.
    let mut at = 0;
    for section in
        ["## Impact", "## Root cause", "## Trigger", "## Resolution", "## Action items", "## Lessons learned"]
    {
        at += md[at..].find(section).unwrap_or_else(|| panic!("{section} missing or out of order"));
    }
    assert!(md.contains("| action | owner | due |"));
}

#[test]
fn a_gateway_alert_that_began_before_we_connected_starts_when_it_began() {
    let mut p = pipeline();
    let connected = T0 + 10 * MIN;
    // First heard at the connection, firing since five minutes before it.
    p.apply(gateway_alert(AlertState::Firing, connected - 5 * MIN), connected);
    p.apply(gateway_alert(AlertState::Resolved, connected + 3 * MIN), connected + 4 * MIN);
    assert_eq!(
        steps(&p, "gw-checkout-5xx"),
        [(connected - 5 * MIN, Step::Firing, false), (connected + 3 * MIN, Step::Resolved, false)]
    );
    let now = connected + 5 * MIN;
    let md = p.incident_report(now, 15 * MIN, now).markdown;
    let began = format_time(connected - 5 * MIN);
    assert!(md.contains(&format!("| First symptom | {began} (gw-checkout-5xx, service=checkout) |")), "{md}");
    assert!(md.contains(&format!("| Detection (first firing) | {began} ")), "{md}");
}

#[test]
fn an_incident_still_burning_is_ongoing_and_looking_back_finds_none() {
    let mut p = pipeline();
    play(&mut p, 0, 16 * 60);
    let now = T0 + 16 * MIN;
    let md = p.incident_report(now, 15 * MIN, now).markdown;
    assert!(md.contains(&format!("| Resolution (last resolved) | ongoing at {} |", format_time(now))), "{md}");
    assert!(md.contains("| Duration | ") && md.contains(" so far |"), "{md}");
    // Before the first symptom there is nothing to report but the window shown.
    let early = p.incident_report(T0 + 9 * MIN, 5 * MIN, now);
    assert!(!early.incident);
    assert_eq!(early.from_ms, T0 + 4 * MIN);
    assert!(early.markdown.contains("No alert fired in the"), "{}", early.markdown);
}

#[test]
fn the_timeline_survives_a_restart_and_the_replay_adds_only_what_nobody_saw() {
    let dir = std::env::temp_dir().join(format!("vigil-incident-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("timeline-test.json");

    // The first run sees the rule go pending and fire, then stops.
    let mut first = pipeline();
    first.keep_timeline_in(path.clone(), T0).unwrap();
    play(&mut first, 0, 15 * 60);
    let seen = steps(&first, RULE);
    assert_eq!(seen.iter().map(|s| s.1).collect::<Vec<_>>(), [Step::Pending, Step::Firing]);
    first.save_timeline(T0 + 15 * MIN).unwrap();

    // The next starts at 30 minutes, with the gateway's history as backfill.
    let now = T0 + 30 * MIN;
    let mut next = pipeline();
    next.keep_timeline_in(path.clone(), now).unwrap();
    assert_eq!(
        next.timeline().entries().cloned().collect::<Vec<_>>(),
        first.timeline().entries().cloned().collect::<Vec<_>>()
    );
    for sec in (0..30 * 60).step_by(5) {
        next.apply(counters(sec, false), now);
    }
    next.apply(Update::Backfilled { from_ms: T0, to_ms: now, complete: true }, now);
    let after = steps(&next, RULE);
    assert_eq!(after.len(), 3, "{after:?}");
    assert_eq!(after[..2], seen[..], "the changes seen live stay as they were seen, once");
    let (at, step, replayed) = after[2];
    assert_eq!((step, replayed), (Step::Resolved, true));
    assert!(at > T0 + 15 * MIN && at <= now, "found in the history nobody watched");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn slo_burn_alerts_join_the_timeline() {
    // Burn windows are judged once three quarters of them are held: 45
    // minutes of calm, then half the requests fail for 20 minutes, which
    // burns the 1h budget at over 14.4 times its rate (a page).
    let mut p = pipeline_with(true);
    let mut errors = 0.0;
    for sec in 0..70 * 60 {
        let t = T0 + sec * 1000;
        p.apply(counters_with(sec, true, errors), t);
        errors += if (45 * 60..65 * 60).contains(&sec) { 50.0 } else { 0.1 };
        p.tick(t, Duration::from_secs(1));
    }
    let burns: Vec<_> = p
        .timeline()
        .entries()
        .filter_map(|e| match &e.what {
            What::Alert(a) if a.source == vigil::core::incident::timeline::AlertSource::Slo => Some(a.clone()),
            _ => None,
        })
        .collect();
    assert!(!burns.is_empty(), "the burst burns the budget faster than it lasts");
    for b in &burns {
        assert_eq!(b.labels.get("slo").map(String::as_str), Some("checkout availability"), "{b:?}");
        assert!(["fast burn", "slow burn", "budget burn"].contains(&b.name.as_str()), "{b:?}");
        assert!(b.id.starts_with("slo:checkout availability:"), "{b:?}");
    }
    assert_eq!(burns[0].step, Step::Firing, "burn alerts have no `for`: {burns:?}");
    assert!(burns.iter().any(|b| b.name == "fast burn"), "{burns:?}");
}
