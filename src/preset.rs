//! Dashboards vigil writes itself for the sources it was given, so that
//! `vigil --prometheus URL --service checkout` or `vigil --scrape URL`
//! shows a full page with no dashboard file: the golden signals of a
//! service, from queries built for it or from the series a scrape works
//! out, and the targets of a Prometheus when no service is named.

use crate::config::{SourceKind, SourceSpec};
use crate::dashboard::Dashboard;
use std::path::Path;

/// The dashboard for a set of sources when no file is given: the built-in
/// pages when a gateway (or the demo) feeds vigil, then a page for each
/// Prometheus source (a service's golden signals, or its targets), and an
/// alerts page when no other page has one.
pub fn dashboard(gateway: bool, sources: &[SourceSpec]) -> Dashboard {
    let mut text = String::new();
    for s in sources {
        let name = s.name.clone().unwrap_or_default();
        let window = humantime::format_duration(s.rate_window()).to_string().replace(' ', "");
        match (s.kind, &s.service) {
            (SourceKind::Prometheus, Some(service)) => text.push_str(&golden_page(&name, service, &window)),
            (SourceKind::Prometheus, None) => text.push_str(&targets_page(&name, &window)),
            (SourceKind::Scrape, _) => {
                let job = s.job.clone().unwrap_or_else(|| crate::source::scrape_poll::default_job(&s.url));
                text.push_str(&scrape_page(&name, &job));
            }
            (SourceKind::Alertmanager | SourceKind::Gateway, _) => {}
        }
    }
    if gateway {
        // The built-in Alerts page is among the built-in pages.
        text.insert_str(0, "extends = \"default\"\n");
    } else {
        text.push_str(ALERTS_PAGE);
    }
    Dashboard::parse(&text, Path::new("(written for the sources given)"))
        .expect("a dashboard vigil writes for its sources is valid")
}

/// Every alert, with the SLOs, when nothing else shows them.
const ALERTS_PAGE: &str = r#"
[[page]]
title = "Alerts"
[[page.row]]
[[page.row.panel]]
type = "slo"
title = "SLOs"
[[page.row]]
[[page.row.panel]]
type = "alerts"
title = "Alerts"
"#;

/// A label matcher from `--service`: `checkout` is `job="checkout"`,
/// `service=checkout` names the label. The value is escaped for PromQL.
pub fn service_selector(service: &str) -> String {
    let (label, value) = match service.split_once('=') {
        Some((l, v)) if is_label_name(l.trim()) => (l.trim(), v.trim()),
        _ => ("job", service.trim()),
    };
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    format!("{label}=\"{escaped}\"")
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A TOML string holding `s`, quoted and escaped.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The usual names of a service's request counter: a plain counter, or the
/// count of a duration histogram (client libraries and frameworks differ).
const REQUEST_COUNTERS: [&str; 3] =
    ["http_requests_total", "http_server_requests_seconds_count", "http_request_duration_seconds_count"];

/// The request counter's rate, from whichever of the usual names the
/// service exposes.
fn requests(sel: &str, window: &str) -> String {
    REQUEST_COUNTERS.iter().map(|m| format!("sum(rate({m}{{{sel}}}[{window}]))")).collect::<Vec<_>>().join(" or ")
}

/// Server errors as a share of requests: 5xx by the `status` or `code`
/// label; no 5xx series at all counts as none. Each counter makes its own
/// ratio, and the first that exists is the answer, so errors and requests
/// always come from the same counter.
fn error_ratio(sel: &str, window: &str) -> String {
    REQUEST_COUNTERS
        .iter()
        .map(|m| {
            let errors = ["status", "code"].map(|l| format!("sum(rate({m}{{{sel},{l}=~\"5..\"}}[{window}]))"));
            format!("(({} or {} or vector(0)) / sum(rate({m}{{{sel}}}[{window}])))", errors[0], errors[1])
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

/// A latency quantile from the request-duration histogram's buckets, or
/// from a summary's own quantile series.
fn latency(q: f64, sel: &str, window: &str) -> String {
    let timers = ["http_request_duration_seconds", "http_server_requests_seconds"];
    let from_buckets =
        timers.iter().map(|m| format!("histogram_quantile({q}, sum by (le) (rate({m}_bucket{{{sel}}}[{window}])))"));
    // A summary's quantiles, when a service has no histogram: they cannot
    // be merged across series (instances, routes), so the highest stands
    // for them all.
    let from_summary = timers.iter().map(|m| format!("max({m}{{{sel},quantile=\"{q}\"}})"));
    from_buckets.chain(from_summary).collect::<Vec<_>>().join(" or ")
}

/// One golden signal a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Traffic,
    Errors,
    P50,
    P99,
    Cpu,
    Memory,
    InFlight,
    OpenFiles,
}

/// The golden signals of one service: traffic, errors, latency and
/// saturation, each read as `read` says (the TOML fields of a query).
fn golden(title: &str, key: &str, read: &dyn Fn(Signal) -> String) -> String {
    use Signal::*;
    let (title, key) = (quoted(title), quoted(key));
    let [traffic, errors, p50, p99, cpu, memory, in_flight, fds] =
        [Traffic, Errors, P50, P99, Cpu, Memory, InFlight, OpenFiles].map(read);
    format!(
        r#"
[[page]]
title = {title}
key = {key}

[[page.row]]
[[page.row.panel]]
type = "bignum"
title = "Traffic"
{traffic}
unit = "per_second"
[[page.row.panel]]
type = "bignum"
title = "Errors"
{errors}
unit = "ratio"
warn = 0.01
crit = 0.05
[[page.row.panel]]
type = "bignum"
title = "p99 latency"
{p99}
unit = "seconds"
warn = 0.5
crit = 1.0
[[page.row.panel]]
type = "bignum"
title = "CPU"
{cpu}
unit = "count"

[[page.row]]
[[page.row.panel]]
type = "chart"
title = "Requests / s"
{traffic}
unit = "per_second"
[[page.row.panel]]
type = "chart"
title = "Latency"
unit = "seconds"
lines = [
  {{ title = "p50", {p50_inline} }},
  {{ title = "p99", {p99_inline} }},
]
[[page.row.panel]]
type = "chart"
title = "Error ratio"
{errors}
unit = "ratio"
warn = 0.01
crit = 0.05

[[page.row]]
height = 10
[[page.row.panel]]
type = "chart"
title = "In flight"
{in_flight}
unit = "count"
[[page.row.panel]]
type = "chart"
title = "Memory"
{memory}
unit = "bytes"
[[page.row.panel]]
type = "gauge"
title = "Open files"
{fds}
unit = "ratio"
warn = 0.8
crit = 0.9
"#,
        p50_inline = p50.replace('\n', ", "),
        p99_inline = p99.replace('\n', ", "),
    )
}

/// The golden signals of one service from a Prometheus: queries written
/// for its label.
pub fn golden_page(source: &str, service: &str, window: &str) -> String {
    let sel = service_selector(service);
    let title = service.split_once('=').map_or(service, |(_, v)| v).trim();
    let read = |signal: Signal| {
        let query = match signal {
            Signal::Traffic => requests(&sel, window),
            Signal::Errors => error_ratio(&sel, window),
            Signal::P50 => latency(0.5, &sel, window),
            Signal::P99 => latency(0.99, &sel, window),
            Signal::Cpu => format!("sum(rate(process_cpu_seconds_total{{{sel}}}[{window}]))"),
            Signal::Memory => format!("sum(process_resident_memory_bytes{{{sel}}})"),
            Signal::InFlight => [
                "http_requests_in_progress",
                "http_requests_in_flight",
                "http_server_requests_active_seconds_active_count",
            ]
            .iter()
            .map(|m| format!("sum({m}{{{sel}}})"))
            .collect::<Vec<_>>()
            .join(" or "),
            Signal::OpenFiles => format!("max(process_open_fds{{{sel}}} / process_max_fds{{{sel}}})"),
        };
        format!("source = {}\nquery = {}", quoted(source), quoted(&query))
    };
    golden(title, &format!("{source}:{title}").to_lowercase(), &read)
}

/// The golden signals of a service read directly: the series its scrape
/// source works out and names for what they are.
pub fn scrape_page(source: &str, job: &str) -> String {
    let read = |signal: Signal| {
        let (metric, agg) = match signal {
            Signal::Traffic => ("traffic_requests_per_second", "sum"),
            Signal::Errors => ("error_ratio", "max"),
            Signal::P50 => ("latency_p50_seconds", "max"),
            Signal::P99 => ("latency_p99_seconds", "max"),
            Signal::Cpu => ("saturation_cpu_cores", "sum"),
            Signal::Memory => ("saturation_resident_memory_bytes", "sum"),
            Signal::InFlight => ("saturation_in_flight_requests", "sum"),
            Signal::OpenFiles => ("saturation_open_fds_ratio", "max"),
        };
        format!("metric = {}\nlabels = {{ job = {} }}\nagg = \"{agg}\"", quoted(metric), quoted(job))
    };
    golden(&format!("{job} ({source})"), &format!("{source}:{job}").to_lowercase(), &read)
}

/// What a Prometheus scrapes, when no service was named: each job's
/// targets up and down, and how long scrapes take.
pub fn targets_page(source: &str, window: &str) -> String {
    let src = quoted(source);
    let title = quoted(&format!("Targets ({source})"));
    let key = quoted(&format!("{source}:targets"));
    let samples = quoted(&format!("sum by (job) (rate(scrape_samples_scraped[{window}]))"));
    format!(
        r#"
[[page]]
title = {title}
key = {key}
[[page.row]]
[[page.row.panel]]
type = "table"
title = "Jobs"
by = "job"
sort = "name"
columns = [
  {{ title = "up", source = {src}, query = "sum by (job) (up)", unit = "count" }},
  {{ title = "targets", source = {src}, query = "count by (job) (up)", unit = "count" }},
  {{ title = "scrape time", source = {src}, query = "max by (job) (scrape_duration_seconds)", unit = "seconds", show = "spark" }},
]
[[page.row]]
[[page.row.panel]]
type = "chart"
title = "Samples scraped / s"
source = {src}
query = {samples}
by = "job"
unit = "per_second"
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prometheus(service: Option<&str>) -> SourceSpec {
        let mut s = SourceSpec::from_flag(SourceKind::Prometheus, "http://127.0.0.1:9090");
        s.name = Some("prometheus".into());
        s.service = service.map(str::to_string);
        s
    }

    #[test]
    fn a_service_gets_its_golden_signals_from_written_queries() {
        let d = dashboard(false, &[prometheus(Some("checkout"))]);
        let titles: Vec<&str> = d.pages.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["checkout", "Alerts"]);
        let page = &d.pages[0];
        let panel = |t: &str| page.rows.iter().flat_map(|r| &r.panels).find(|p| p.title == t).unwrap();
        let traffic = panel("Traffic").query.as_ref().unwrap();
        assert_eq!(traffic.source.as_deref(), Some("prometheus"));
        assert!(
            traffic.promql.as_deref().unwrap().starts_with(r#"sum(rate(http_requests_total{job="checkout"}[1m])) or "#),
            "{traffic:?}"
        );
        let p99 = panel("p99 latency").query.as_ref().unwrap().promql.clone().unwrap();
        assert!(p99.starts_with(r#"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="checkout"}[1m])))"#), "{p99}");
        assert!(p99.ends_with(r#" or max(http_server_requests_seconds{job="checkout",quantile="0.99"})"#), "{p99}");
        let errors = panel("Errors").query.as_ref().unwrap().promql.clone().unwrap();
        assert!(errors.contains(r#"status=~"5..""#) && errors.contains(r#"code=~"5..""#), "{errors}");
        assert!(errors.contains("or vector(0)"), "no 5xx series means no errors: {errors}");
    }

    #[test]
    fn a_scraped_service_gets_the_same_page_from_its_worked_out_series() {
        let mut s = SourceSpec::from_flag(SourceKind::Scrape, "http://127.0.0.1:8000/metrics");
        s.name = Some("scrape".into());
        let d = dashboard(false, &[s]);
        let page = &d.pages[0];
        assert_eq!(page.title, "127.0.0.1:8000 (scrape)");
        let panel = |t: &str| page.rows.iter().flat_map(|r| &r.panels).find(|p| p.title == t).unwrap();
        let q = panel("Traffic").query.clone().unwrap();
        assert_eq!(q.metric, "traffic_requests_per_second");
        assert_eq!(q.promql, None);
        assert_eq!(panel("Latency").lines[1].metric.as_deref(), Some("latency_p99_seconds"));
    }

    #[test]
    fn the_label_can_be_named_and_values_are_escaped() {
        assert_eq!(service_selector("checkout"), r#"job="checkout""#);
        assert_eq!(service_selector("service=checkout"), r#"service="checkout""#);
        assert_eq!(service_selector(r#"we"ird\"#), r#"job="we\"ird\\""#);
        // Not a label name before the `=`: the whole is a job's name.
        assert_eq!(service_selector("a b=c"), r#"job="a b=c""#);
        let d = dashboard(false, &[prometheus(Some(r#"job=odd"name"#))]);
        assert_eq!(d.pages[0].title, r#"odd"name"#);
    }

    #[test]
    fn without_a_service_a_prometheus_shows_its_targets_and_a_gateway_keeps_its_pages() {
        let d = dashboard(false, &[prometheus(None)]);
        let titles: Vec<&str> = d.pages.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["Targets (prometheus)", "Alerts"]);
        let d = dashboard(true, &[prometheus(Some("api"))]);
        let titles: Vec<&str> = d.pages.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["Overview", "Services", "Business", "Alerts", "api"]);
        assert_eq!(dashboard(true, &[]), Dashboard::built_in());
    }
}
