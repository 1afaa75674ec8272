//! `tail --format text`: one aligned line per item, for people. The first
//! two columns are always the time and what the line is, so `grep` and
//! `sort` work on it as they would on a log.

use super::Item;
use super::jsonl::transport_name;
use crate::core::format::age;
use crate::core::model::{ConnState, Labels, Sample};
use crate::core::units::{self, Unit};
use crate::tui::scene::{SourceHealth, SourceRow};
use crate::wire::{format_time, special_name};
use std::io::{self, Write};

/// Width of the time column: the longest RFC 3339 time we print.
const TIME_W: usize = 24;
/// Width of the column saying what the line is.
const TAG_W: usize = 9;
/// Series names are padded to this so values line up for most of them.
const SERIES_W: usize = 56;

/// Writes one item as one line.
pub fn write<W: Write + ?Sized>(out: &mut W, item: &Item, now_ms: i64) -> io::Result<()> {
    let now = format_time(now_ms);
    match *item {
        Item::Point { obs, seq, backfilled } => {
            let tag = match seq {
                _ if backfilled => "backfill".to_string(),
                Some(s) => format!("#{s}"),
                None => "live".to_string(),
            };
            let series = series(&obs.key.metric, &obs.key.labels);
            writeln!(
                out,
                "{:<TIME_W$}  {tag:<TAG_W$}  {series:<SERIES_W$}  {}",
                format_time(obs.ts),
                value(&obs.sample)
            )
        }
        Item::Alert { alert: a, .. } => {
            let (state, severity) = (a.state.name(), a.severity.name());
            let at = format_time(a.ends_at.or(a.starts_at).unwrap_or(now_ms));
            let figures = match (a.value, a.threshold) {
                (Some(v), Some(t)) => format!("  {} over {}", number(v), number(t)),
                (Some(v), None) => format!("  {}", number(v)),
                _ => String::new(),
            };
            let series = series(&a.metric, &a.labels);
            writeln!(
                out,
                "{at:<TIME_W$}  {:<TAG_W$}  {state:<8} {severity:<8} {series}{figures}  {}",
                "alert", a.summary
            )
        }
        Item::Event(e) => {
            let labels = if e.labels.is_empty() { String::new() } else { format!("  {}", series("", &e.labels)) };
            writeln!(out, "{:<TIME_W$}  {:<TAG_W$}  {}: {}{labels}", format_time(e.ts), "event", e.kind, e.text)
        }
        Item::Status(None) => writeln!(out, "{now:<TIME_W$}  {:<TAG_W$}  cleared", "status"),
        Item::Status(Some(b)) => {
            let fresh = b.freshness.as_deref().map(|f| format!(" ({f})")).unwrap_or_default();
            writeln!(out, "{now:<TIME_W$}  {:<TAG_W$}  {}: {}{fresh}", "status", b.status, b.message)
        }
        Item::Conn { state, url } => writeln!(out, "{now:<TIME_W$}  {:<TAG_W$}  {}", "conn", conn(state, url, now_ms)),
        Item::Malformed(reason) => writeln!(out, "{now:<TIME_W$}  {:<TAG_W$}  {reason}", "malformed"),
        Item::Query { key, error } => {
            let tag = if error.is_some() { "failing" } else { "answers" };
            writeln!(out, "{now:<TIME_W$}  {tag:<TAG_W$}  {key}  {}", error.unwrap_or(""))
        }
        Item::Source(r) => writeln!(out, "{now:<TIME_W$}  {:<TAG_W$}  {}", "source", source(r, now_ms)),
        Item::SloAlert { at, alert, change } => writeln!(
            out,
            "{:<TIME_W$}  {:<TAG_W$}  {:<9} {:<8} {}  {}",
            format_time(at),
            "slo",
            change.name(),
            alert.severity.name(),
            series(&crate::core::incident::timeline::alert_name(alert), &alert.labels),
            alert.summary
        ),
        Item::RuleAlert { at, rule, group, change, value, replayed, start, .. } => {
            let change = change.map_or("", |c| c.name());
            let severity = crate::core::model::Severity::from(rule.severity).name();
            let who = match group {
                Some((k, v)) => format!("{}{{{k}={v:?}}}", rule.name),
                None => rule.name.clone(),
            };
            let tag = if replayed { "replay" } else { "rule" };
            // Group values come from the network: sanitised when decoded,
            // and quoted here as a series' labels are.
            let since = match start {
                Some(s) if s.at_least => format!("  since at least {}", format_time(s.at_ms)),
                Some(s) => format!("  since {}", format_time(s.at_ms)),
                None => String::new(),
            };
            writeln!(
                out,
                "{:<TIME_W$}  {tag:<TAG_W$}  {change:<9} {severity:<8} {who}  {}{since}",
                format_time(at),
                rule.summary_for(group, value)
            )
        }
    }
}

/// `metric{label="value",...}`, as Prometheus writes a series.
fn series(metric: &str, labels: &Labels) -> String {
    if labels.is_empty() {
        return metric.to_string();
    }
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{metric}{{{}}}", inner.join(","))
}

fn number(v: f64) -> String {
    special_name(v).map_or_else(|| v.to_string(), str::to_string)
}

fn value(s: &Sample) -> String {
    match s {
        Sample::Number(v) => number(*v),
        Sample::Text(t) => t.to_string(),
        Sample::Histogram(h) => {
            format!("count {} sum {} ({} buckets)", number(h.count), number(h.sum), h.buckets.len())
        }
    }
}

fn conn(state: &ConnState, url: &str, now_ms: i64) -> String {
    match state {
        ConnState::Connecting { attempt } => format!("connecting   {url} (attempt {})", attempt + 1),
        ConnState::Connected { server, url, transport, .. } => {
            format!("connected    {url} over {} to {server}", transport_name(*transport))
        }
        ConnState::Reconnecting { retry_at_ms, error, class, .. } => {
            format!("reconnecting {url} in {} ({} error: {error})", age(retry_at_ms - now_ms), class.name())
        }
        ConnState::Disconnected { error } => format!("disconnected {url} ({error})"),
    }
}

fn source(r: &SourceRow, now_ms: i64) -> String {
    let g = &crate::tui::theme::Glyphs::UNICODE;
    let glyph = match r.health {
        SourceHealth::Live => g.ok,
        SourceHealth::Stale | SourceHealth::Idle => g.stale,
        SourceHealth::Down => g.crit,
    };
    let last_ok = r.last_success_ms.map_or("never".to_string(), |t| format!("{} ago", age(now_ms - t)));
    let rtt = r.rtt_ms.map_or("—".to_string(), |ms| units::format(ms / 1000.0, &Unit::Seconds));
    let transport = r.transport.map_or("—", transport_name);
    let mut line = format!(
        "{glyph} {:<6} {:<44} {transport:<4} last ok {last_ok:<10} rtt {rtt:<6} reconnects {:<3} {:>12} {:>6.1} fr/s {:>7.0} pts/s  malformed {}",
        r.health.name(),
        r.url,
        r.reconnects,
        units::format(r.bytes_per_sec, &Unit::BytesPerSecond),
        r.frames_per_sec,
        r.points_per_sec,
        r.malformed,
    );
    if let Some(note) = &r.note {
        line.push_str(&format!("  {note}"));
    }
    if let Some(e) = &r.last_error {
        line.push_str(&format!("  last error: {e}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{ErrorClass, Observation, SeriesKey};

    const T: i64 = 1_751_279_400_000;

    fn text(item: &Item) -> String {
        let mut out = Vec::new();
        write(&mut out, item, T).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn points_line_up_in_columns() {
        let a = Observation { key: SeriesKey::new("orders_per_minute"), ts: T, sample: Sample::Number(45.0) };
        let b = Observation {
            key: SeriesKey::new("cpu_usage_percent").with("service", "checkout"),
            ts: T + 250,
            sample: Sample::Number(f64::NAN),
        };
        let la = text(&Item::Point { obs: &a, seq: Some(7), backfilled: false });
        let lb = text(&Item::Point { obs: &b, seq: None, backfilled: true });
        assert!(la.starts_with("2025-06-30T10:30:00Z ") && la.contains("#7") && la.trim_end().ends_with(" 45"), "{la}");
        assert!(lb.contains("backfill") && lb.contains(r#"cpu_usage_percent{service="checkout"}"#), "{lb}");
        assert_eq!(la.find("45"), lb.find("NaN"), "values share a column:\n{la}{lb}");
    }

    #[test]
    fn conn_lines_say_why() {
        let s = ConnState::Reconnecting {
            retry_at_ms: T + 30_000,
            attempt: 1,
            error: "HTTP 401".into(),
            class: ErrorClass::Auth,
        };
        let l = text(&Item::Conn { state: &s, url: "ws://gw/s" });
        assert!(l.contains("reconnecting ws://gw/s in 30s (auth error: HTTP 401)"), "{l}");
        assert_eq!(l.lines().count(), 1);
    }
}
