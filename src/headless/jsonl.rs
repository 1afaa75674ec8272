//! `tail`'s JSON lines: one object per item, each with a `type`. Numbers
//! that JSON cannot spell travel as the protocol's strings ("NaN", "+Inf",
//! "-Inf") and times as RFC 3339, so a line reads like a protocol frame.

use super::Item;
use crate::core::model::{ConnState, Labels, Sample, Severity, Transport};
use crate::tui::scene::SourceRow;
use crate::wire::{WireNum, format_time};
use serde::{Serialize, Serializer};
use std::io::{self, Write};

/// Writes one item as one line.
pub fn write<W: Write + ?Sized>(out: &mut W, item: &Item, now_ms: i64) -> io::Result<()> {
    match *item {
        Item::Point { obs, seq, backfilled } => {
            // A PromQL result says which query and source it came from
            // instead of a metric name.
            let promql = crate::dashboards::spec::parse_promql_key(&obs.key.metric);
            to_line(
                out,
                &PointLine {
                    kind: "point",
                    seq,
                    timestamp: format_time(obs.ts),
                    metric: promql.is_none().then_some(obs.key.metric.as_str()),
                    source: promql.map(|p| p.0),
                    query: promql.map(|p| p.1),
                    labels: &obs.key.labels,
                    value: Value(&obs.sample),
                    backfilled,
                },
            )
        }
        Item::Alert { alert: a, replayed } => to_line(
            out,
            &AlertLine {
                kind: "alert",
                id: &a.id,
                state: a.state.name(),
                severity: a.severity.name(),
                metric: &a.metric,
                labels: &a.labels,
                value: a.value.map(WireNum),
                threshold: a.threshold.map(WireNum),
                summary: &a.summary,
                starts_at: a.starts_at.map(format_time),
                ends_at: a.ends_at.map(format_time),
                replayed,
            },
        ),
        Item::Event(e) => to_line(
            out,
            &EventLine {
                kind: "event",
                timestamp: format_time(e.ts),
                event: &e.kind,
                text: &e.text,
                labels: &e.labels,
            },
        ),
        Item::Status(b) => to_line(
            out,
            &StatusLine {
                kind: "status",
                timestamp: format_time(now_ms),
                status: b.map(|b| b.status.as_str()),
                message: b.map(|b| b.message.as_str()),
                data_freshness: b.and_then(|b| b.freshness.as_deref()),
                cleared: b.is_none(),
            },
        ),
        Item::Conn { state, url } => to_line(out, &conn_line(state, url, now_ms)),
        Item::Malformed(reason) => {
            to_line(out, &MalformedLine { kind: "malformed", timestamp: format_time(now_ms), reason })
        }
        Item::Source(row) => to_line(out, &source_line(row, now_ms)),
        Item::Query { key, error } => {
            let (source, query) = crate::dashboards::spec::parse_promql_key(key).unwrap_or(("", key));
            let line = QueryLine { kind: "query", timestamp: format_time(now_ms), source, query, error };
            to_line(out, &line)
        }
        Item::SloAlert { at, alert, change } => to_line(
            out,
            &SloAlertLine {
                kind: "slo_alert",
                at: format_time(at),
                slo: alert.labels.get("slo").map_or("", String::as_str),
                alert: &crate::core::incident::timeline::alert_name(alert),
                change: change.name().replace(' ', "_"),
                state: alert.state.name(),
                severity: alert.severity.name(),
                value: alert.value.map(WireNum),
                threshold: alert.threshold.map(WireNum),
                summary: &alert.summary,
            },
        ),
        Item::RuleAlert { at, rule, group, change, state, value, replayed, start } => to_line(
            out,
            &RuleAlertLine {
                kind: "rule_alert",
                at: format_time(at),
                rule: &rule.name,
                group: group.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
                change: change.map(|c| c.name().replace(' ', "_")),
                state,
                severity: Severity::from(rule.severity).name(),
                value: value.map(WireNum),
                threshold: WireNum(rule.threshold),
                summary: rule.summary_for(group, value),
                since: start.map(|s| format_time(s.at_ms)),
                since_at_least: start.is_some_and(|s| s.at_least),
                replayed,
            },
        ),
    }
}

#[derive(Serialize)]
struct RuleAlertLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    at: String,
    rule: &'a str,
    /// The rule's `by` label and its value; empty for a rule without one.
    group: std::collections::BTreeMap<&'a str, &'a str>,
    change: Option<String>,
    state: &'static str,
    severity: &'static str,
    value: Option<WireNum>,
    threshold: WireNum,
    summary: String,
    /// When the alert began, as `check` says it: the history fetched may
    /// not reach back to its start (`since_at_least`).
    since: Option<String>,
    since_at_least: bool,
    #[serde(skip_serializing_if = "is_false")]
    replayed: bool,
}

#[derive(Serialize)]
struct SloAlertLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    at: String,
    slo: &'a str,
    /// The burn alert's name: fast burn, slow burn, budget burn.
    alert: &'a str,
    change: String,
    state: &'static str,
    severity: &'static str,
    /// The burn rate over the alert's long window.
    value: Option<WireNum>,
    threshold: Option<WireNum>,
    summary: &'a str,
}

fn to_line<W: Write + ?Sized, T: Serialize>(out: &mut W, line: &T) -> io::Result<()> {
    // serde_json hands back the writer's own io::Error, so a closed pipe
    // still reads as BrokenPipe to the caller.
    serde_json::to_writer(&mut *out, line)?;
    out.write_all(b"\n")
}

/// The name of a transport in JSON.
pub fn transport_name(t: Transport) -> &'static str {
    match t {
        Transport::Ws => "ws",
        Transport::Sse => "sse",
        Transport::Poll => "poll",
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Serialize)]
struct PointLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    seq: Option<u64>,
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    metric: Option<&'a str>,
    /// For a PromQL result: the source that ran it and the query.
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<&'a str>,
    labels: &'a Labels,
    value: Value<'a>,
    #[serde(skip_serializing_if = "is_false")]
    backfilled: bool,
}

/// A sample as JSON: number, string, or `{"buckets":[[le,count],...],"sum","count"}`.
struct Value<'a>(&'a Sample);

#[derive(Serialize)]
struct HistogramJson {
    buckets: Vec<(WireNum, WireNum)>,
    sum: WireNum,
    count: WireNum,
}

impl Serialize for Value<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Sample::Number(n) => WireNum(*n).serialize(s),
            Sample::Text(t) => s.serialize_str(t),
            Sample::Histogram(h) => HistogramJson {
                buckets: h.buckets.iter().map(|&(le, c)| (WireNum(le), WireNum(c))).collect(),
                sum: WireNum(h.sum),
                count: WireNum(h.count),
            }
            .serialize(s),
        }
    }
}

#[derive(Serialize)]
struct AlertLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    state: &'static str,
    severity: &'static str,
    metric: &'a str,
    labels: &'a Labels,
    value: Option<WireNum>,
    threshold: Option<WireNum>,
    summary: &'a str,
    starts_at: Option<String>,
    ends_at: Option<String>,
    /// How the alert already stood when tail started, not a change seen live.
    #[serde(skip_serializing_if = "is_false")]
    replayed: bool,
}

#[derive(Serialize)]
struct EventLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: String,
    /// The event's own kind (`deploy`), under the protocol's name for it.
    #[serde(rename = "kind")]
    event: &'a str,
    text: &'a str,
    labels: &'a Labels,
}

#[derive(Serialize)]
struct StatusLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: String,
    status: Option<&'a str>,
    message: Option<&'a str>,
    data_freshness: Option<&'a str>,
    /// The gateway said all is well again: no banner.
    cleared: bool,
}

#[derive(Serialize)]
struct ConnLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: String,
    state: &'static str,
    url: &'a str,
    error: Option<&'a str>,
    class: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempt: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transport: Option<&'static str>,
}

fn conn_line<'a>(state: &'a ConnState, url: &'a str, now_ms: i64) -> ConnLine<'a> {
    let base = ConnLine {
        kind: "conn",
        timestamp: format_time(now_ms),
        state: "",
        url,
        error: None,
        class: None,
        attempt: None,
        retry_at: None,
        server: None,
        transport: None,
    };
    match state {
        ConnState::Connecting { attempt } => ConnLine { state: "connecting", attempt: Some(*attempt), ..base },
        ConnState::Connected { server, url, transport, .. } => ConnLine {
            state: "connected",
            url,
            server: Some(server),
            transport: Some(transport_name(*transport)),
            ..base
        },
        ConnState::Reconnecting { retry_at_ms, attempt, error, class } => ConnLine {
            state: "reconnecting",
            error: Some(error),
            class: Some(class.name()),
            attempt: Some(*attempt),
            retry_at: Some(format_time(*retry_at_ms)),
            ..base
        },
        ConnState::Disconnected { error } => ConnLine { state: "disconnected", error: Some(error), ..base },
    }
}

#[derive(Serialize)]
struct MalformedLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: String,
    reason: &'a str,
}

/// A PromQL query that failed, or answers again: `error` is null then.
#[derive(Serialize)]
struct QueryLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: String,
    source: &'a str,
    query: &'a str,
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct SourceLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: String,
    url: &'a str,
    /// `gateway`, `prometheus`, `scrape` or `alertmanager`, and its name.
    source_kind: &'static str,
    name: &'a str,
    transport: Option<&'static str>,
    state: &'static str,
    connected: bool,
    last_success: Option<String>,
    last_success_age_ms: Option<i64>,
    rtt_ms: Option<f64>,
    reconnects: u64,
    bytes_per_sec: f64,
    frames_per_sec: f64,
    points_per_sec: f64,
    malformed: u64,
    last_error: Option<&'a str>,
    /// How the link works, when out of the ordinary (a plain stream).
    note: Option<&'a str>,
}

fn source_line(r: &SourceRow, now_ms: i64) -> SourceLine<'_> {
    SourceLine {
        kind: "source",
        timestamp: format_time(now_ms),
        url: &r.url,
        source_kind: r.kind.name(),
        name: &r.name,
        transport: r.transport.map(transport_name),
        state: r.health.name(),
        connected: r.connected,
        last_success: r.last_success_ms.map(format_time),
        last_success_age_ms: r.last_success_ms.map(|t| (now_ms - t).max(0)),
        rtt_ms: r.rtt_ms.map(hundredths),
        reconnects: r.reconnects,
        bytes_per_sec: hundredths(r.bytes_per_sec),
        frames_per_sec: hundredths(r.frames_per_sec),
        points_per_sec: hundredths(r.points_per_sec),
        malformed: r.malformed,
        last_error: r.last_error.as_deref(),
        note: r.note.as_deref(),
    }
}

/// Rounded to 0.01: measured rates carry no more precision than that, and
/// `12.3` reads better in a log than `12.299999999999999`.
fn hundredths(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{
        Alert, AlertState, ErrorClass, Event, HistogramValue, Observation, SeriesKey, Severity, StatusBanner,
    };
    use crate::tui::scene::SourceHealth;
    use serde_json::{Value as Json, json};
    use std::sync::Arc;

    const T: i64 = 1_751_279_400_000; // 2025-06-30T10:30:00Z

    fn line(item: &Item) -> Json {
        let mut out = Vec::new();
        write(&mut out, item, T + 1_500).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with('\n') && text.matches('\n').count() == 1, "{text:?}");
        serde_json::from_str(&text).unwrap()
    }

    fn obs(sample: Sample) -> Observation {
        Observation { key: SeriesKey::new("cpu_usage_percent").with("service", "checkout"), ts: T, sample }
    }

    #[test]
    fn points_carry_seq_time_series_and_value() {
        let o = obs(Sample::Number(71.5));
        let j = line(&Item::Point { obs: &o, seq: Some(1201), backfilled: false });
        assert_eq!(
            j,
            json!({"type":"point","seq":1201,"timestamp":"2025-06-30T10:30:00Z","metric":"cpu_usage_percent",
                   "labels":{"service":"checkout"},"value":71.5})
        );
        let j = line(&Item::Point { obs: &o, seq: None, backfilled: true });
        assert_eq!((j["seq"].clone(), j["backfilled"].clone()), (Json::Null, json!(true)));
    }

    #[test]
    fn values_of_every_kind() {
        let value = |s: Sample| line(&Item::Point { obs: &obs(s), seq: None, backfilled: false })["value"].clone();
        assert_eq!(value(Sample::Number(f64::NAN)), json!("NaN"));
        assert_eq!(value(Sample::Number(f64::INFINITY)), json!("+Inf"));
        assert_eq!(value(Sample::Number(f64::NEG_INFINITY)), json!("-Inf"));
        assert_eq!(value(Sample::Text(Arc::from("degraded"))), json!("degraded"));
        let h = HistogramValue { buckets: vec![(0.05, 900.0), (f64::INFINITY, 1000.0)], sum: 41.2, count: 1000.0 };
        assert_eq!(
            value(Sample::Histogram(Arc::new(h))),
            json!({"buckets":[[0.05,900.0],["+Inf",1000.0]],"sum":41.2,"count":1000.0})
        );
    }

    #[test]
    fn alerts_events_and_status_lines() {
        let a = Alert {
            id: "a-91".into(),
            origin: crate::core::model::Origin::Gateway { source: crate::core::model::SourceId::GATEWAY },
            state: AlertState::Firing,
            severity: Severity::Critical,
            metric: "http_error_ratio".into(),
            labels: Labels::new(),
            value: Some(0.034),
            threshold: Some(0.01),
            summary: "5xx above 1%".into(),
            starts_at: Some(T - 60_000),
            ends_at: None,
            updated_ms: T,
            open_start: false,
        };
        let j = line(&Item::Alert { alert: &a, replayed: false });
        assert_eq!(
            (j["type"].as_str(), j["state"].as_str(), j["severity"].as_str()),
            (Some("alert"), Some("firing"), Some("critical"))
        );
        assert_eq!((j["value"].as_f64(), j["starts_at"].as_str()), (Some(0.034), Some("2025-06-30T10:29:00Z")));
        assert_eq!(j["ends_at"], Json::Null);

        let e = Event { ts: T, kind: "deploy".into(), text: "checkout v1.4.3 deployed".into(), labels: Labels::new() };
        let j = line(&Item::Event(&e));
        assert_eq!((j["type"].as_str(), j["kind"].as_str()), (Some("event"), Some("deploy")));

        let b = StatusBanner { status: "degraded".into(), message: "m".into(), freshness: None, since_ms: T };
        let j = line(&Item::Status(Some(&b)));
        assert_eq!((j["status"].as_str(), j["cleared"].as_bool()), (Some("degraded"), Some(false)));
        let j = line(&Item::Status(None));
        assert_eq!((j["status"].clone(), j["cleared"].as_bool()), (Json::Null, Some(true)));
        assert_eq!(j["timestamp"], json!("2025-06-30T10:30:01.500Z"));
    }

    #[test]
    fn conn_lines_name_state_error_and_class() {
        let s = ConnState::Reconnecting {
            retry_at_ms: T + 30_000,
            attempt: 2,
            error: "HTTP 401".into(),
            class: ErrorClass::Auth,
        };
        let j = line(&Item::Conn { state: &s, url: "ws://gw/api/v1/metrics/stream" });
        assert_eq!(j["state"], json!("reconnecting"));
        assert_eq!((j["error"].as_str(), j["class"].as_str()), (Some("HTTP 401"), Some("auth")));
        assert_eq!(j["url"], json!("ws://gw/api/v1/metrics/stream"));
        let s = ConnState::Connected {
            since_ms: T,
            server: "vigil/0.1".into(),
            url: "ws://b/s".into(),
            transport: Transport::Sse,
        };
        let j = line(&Item::Conn { state: &s, url: "ws://a/s" });
        assert_eq!(
            (j["state"].as_str(), j["url"].as_str(), j["transport"].as_str()),
            (Some("connected"), Some("ws://b/s"), Some("sse"))
        );
        assert_eq!((j["error"].clone(), j["class"].clone()), (Json::Null, Json::Null));
    }

    #[test]
    fn source_lines_give_times_ages_and_rounded_rates() {
        let r = SourceRow {
            url: "ws://gw/s".into(),
            kind: crate::core::model::SourceKind::Gateway,
            name: "gateway".into(),
            transport: Some(Transport::Ws),
            health: SourceHealth::Live,
            connected: true,
            last_success_ms: Some(T),
            rtt_ms: Some(1.23456),
            reconnects: 1,
            bytes_per_sec: 8_523.456,
            frames_per_sec: 5.0,
            points_per_sec: 405.0,
            malformed: 0,
            last_error: None,
            note: Some("no hello: plain stream, no resume".into()),
        };
        let j = line(&Item::Source(&r));
        assert_eq!(
            (j["type"].as_str(), j["state"].as_str(), j["transport"].as_str()),
            (Some("source"), Some("live"), Some("ws"))
        );
        assert_eq!((j["source_kind"].as_str(), j["name"].as_str()), (Some("gateway"), Some("gateway")));
        assert_eq!(
            (j["last_success"].as_str(), j["last_success_age_ms"].as_i64()),
            (Some("2025-06-30T10:30:00Z"), Some(1500))
        );
        assert_eq!((j["rtt_ms"].as_f64(), j["bytes_per_sec"].as_f64()), (Some(1.23), Some(8523.46)));
        assert_eq!(j["last_error"], Json::Null);
        assert_eq!(j["note"].as_str(), Some("no hello: plain stream, no resume"));
    }

    #[test]
    fn rule_alert_lines_name_the_rule_its_group_and_the_change() {
        use crate::core::alert::engine::Change;
        use crate::core::alert::rules::RuleSpec;
        let rules: Vec<RuleSpec> = crate::core::alert::defaults::rules();
        let rule = rules.iter().find(|r| r.name == "error rate").unwrap();
        let group = ("service".to_string(), "payments".to_string());
        let no_data = Item::RuleAlert {
            at: T,
            rule,
            group: Some(&group),
            change: Some(Change::NoData),
            state: "nodata",
            value: None,
            replayed: true,
            start: None,
        };
        let j = line(&no_data);
        assert_eq!(
            j,
            json!({"type":"rule_alert","at":"2025-06-30T10:30:00Z","rule":"error rate","group":{"service":"payments"},
                   "change":"no_data","state":"nodata","severity":"critical","value":null,"threshold":0.01,
                   "summary":"payments answers no data of requests with a server error, above 1.00%",
                   "since":null,"since_at_least":false,"replayed":true})
        );
        let live = Item::RuleAlert {
            at: T,
            rule,
            group: Some(&group),
            change: Some(Change::Firing),
            state: "firing",
            value: Some(0.05),
            replayed: false,
            start: Some(crate::core::model::Start { at_ms: T - 60_000, at_least: true }),
        };
        let j = line(&live);
        assert_eq!((j["state"].as_str(), j["value"].as_f64()), (Some("firing"), Some(0.05)));
        // Its start is where the history held begins: said as a bound.
        assert_eq!((j["since"].as_str(), j["since_at_least"].as_bool()), (Some("2025-06-30T10:29:00Z"), Some(true)));
        assert!(j.get("replayed").is_none(), "{j}");
        let mut text = Vec::new();
        super::super::text::write(&mut text, &live, T).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.starts_with("2025-06-30T10:30:00Z ")
                && text.contains(r#"firing    critical error rate{service="payments"}"#)
                && text.ends_with("  since at least 2025-06-30T10:29:00Z\n"),
            "{text}"
        );
    }

    #[test]
    fn slo_alert_lines_name_the_slo_and_the_burn() {
        let a = Alert {
            id: "slo:checkout availability:fast burn".into(),
            origin: crate::core::model::Origin::Slo { slo: "checkout availability".into(), burn: "fast burn".into() },
            state: AlertState::Firing,
            severity: Severity::Critical,
            metric: String::new(),
            labels: [("slo".to_string(), "checkout availability".to_string())].into(),
            value: Some(16.2),
            threshold: Some(14.4),
            summary: "checkout availability: fast burn of error budget (16.2x over 1h, limit 14.4x)".into(),
            starts_at: Some(T),
            ends_at: None,
            updated_ms: T,
            open_start: false,
        };
        let change = crate::core::alert::engine::Change::Firing;
        let j = line(&Item::SloAlert { at: T, alert: &a, change });
        assert_eq!(
            j,
            json!({"type":"slo_alert","at":"2025-06-30T10:30:00Z","slo":"checkout availability","alert":"fast burn",
                   "change":"firing","state":"firing","severity":"critical","value":16.2,"threshold":14.4,
                   "summary":"checkout availability: fast burn of error budget (16.2x over 1h, limit 14.4x)"})
        );
        let mut text = Vec::new();
        super::super::text::write(&mut text, &Item::SloAlert { at: T, alert: &a, change }, T).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains(r#"slo        firing    critical fast burn{slo="checkout availability"}"#), "{text}");
    }

    #[test]
    fn a_closed_pipe_surfaces_as_broken_pipe() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let o = obs(Sample::Number(1.0));
        let e = write(&mut Closed, &Item::Point { obs: &o, seq: None, backfilled: false }, T).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    }
}
