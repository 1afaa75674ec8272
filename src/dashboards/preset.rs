//! Dashboards vigil writes itself for the sources it was given, so that
//! `vigil --prometheus URL --service checkout` or `vigil --scrape URL`
//! shows a full page with no dashboard file: the golden signals of a
//! service, from queries built for it or from the series a scrape works
//! out, and the targets of a Prometheus when no service is named. The
//! names and labels the queries try are those of the golden-signal
//! catalogue ([`crate::core::golden`]).

use crate::config::{SourceKind, SourceSpec};
use crate::core::golden::{self as catalogue, REQUEST_COUNTERS};
use crate::core::query::matcher::Matcher;
use crate::core::units::Unit;
use crate::dashboards::spec::RowSpec;
use crate::dashboards::spec::{Agg, ColumnSpec, LineSpec, Show, Sort};
use crate::dashboards::{Dashboard, PageSpec, PanelKind, PanelSpec, QuerySpec, Thresholds};

/// The dashboard for a set of sources when no file is given: the built-in
/// pages when a gateway (or the demo) feeds vigil, then a page for each
/// Prometheus source (a service's golden signals, or its targets), and an
/// alerts page when no other page has one.
pub fn dashboard(gateway: bool, sources: &[SourceSpec]) -> Dashboard {
    let mut pages = Vec::new();
    for s in sources {
        let name = s.name.clone().unwrap_or_default();
        let window = humantime::format_duration(s.rate_window()).to_string().replace(' ', "");
        match (s.kind, &s.service) {
            (SourceKind::Prometheus, Some(service)) => pages.push(golden_page(&name, service, &window)),
            (SourceKind::Prometheus, None) => pages.push(targets_page(&name, &window)),
            (SourceKind::Scrape, _) => {
                let job = s.job.clone().unwrap_or_else(|| crate::sources::scrape::poll::default_job(&s.url));
                pages.push(scrape_page(&name, &job));
            }
            (SourceKind::Alertmanager | SourceKind::Gateway, _) => {}
        }
    }
    let written = Dashboard { extends: None, pages };
    if gateway {
        // The built-in Alerts page is among the built-in pages.
        Dashboard::built_in().extended_by(written)
    } else {
        let mut d = written;
        d.pages.push(alerts_page());
        d
    }
}

/// Every alert, with the SLOs, when nothing else shows them.
fn alerts_page() -> PageSpec {
    let row = |p: PanelSpec| RowSpec { height: None, panels: vec![p] };
    PageSpec {
        rows: vec![row(PanelSpec::new(PanelKind::Slo, "SLOs")), row(PanelSpec::new(PanelKind::Alerts, "Alerts"))],
        ..PageSpec::new("Alerts")
    }
}

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

/// The request counter's rate, from whichever of the usual names the
/// service exposes.
fn requests(sel: &str, window: &str) -> String {
    REQUEST_COUNTERS
        .iter()
        .map(|c| format!("sum(rate({}{{{sel}}}[{window}]))", c.name))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Server errors as a share of requests, in the catalogue's forms of
/// errors ([`catalogue::error_forms`]): the errors counter beside a request
/// counter where it has one, else the requests whose outcome label says
/// the server failed (5xx by `status` or `code`, a gRPC server error by
/// `grpc_code`), where no such series at all counts as none. Each form
/// makes its own ratio, and the first that exists is the answer, so errors
/// and requests always come from the same counter.
fn error_ratio(sel: &str, window: &str) -> String {
    let mut ratios = Vec::new();
    for c in &REQUEST_COUNTERS {
        let m = c.name;
        let all = format!("sum(rate({m}{{{sel}}}[{window}]))");
        let mut failed = Vec::new();
        for form in catalogue::error_forms(c) {
            match form.outcome {
                None => ratios.push(format!("(sum(rate({}{{{sel}}}[{window}])) / {all})", form.metric)),
                Some((l, re)) => failed.push(format!("rate({m}{{{sel},{l}=~\"{re}\"}}[{window}])")),
            }
        }
        if !failed.is_empty() {
            // A series whose labels say it failed twice over counts once.
            ratios.push(format!("((sum({}) or vector(0)) / {all})", failed.join(" or ")));
        }
    }
    ratios.join(" or ")
}

/// A latency quantile from a request-duration histogram's buckets, or
/// from a summary's own quantile series.
fn latency(q: f64, sel: &str, window: &str) -> String {
    let timers = catalogue::DURATION_HISTOGRAMS;
    let from_buckets =
        timers.iter().map(|m| format!("histogram_quantile({q}, sum by (le) (rate({m}_bucket{{{sel}}}[{window}])))"));
    // A summary's quantiles, when a service has no histogram: they cannot
    // be merged across series (instances, routes), so the highest stands
    // for them all.
    let label = catalogue::SUMMARY_QUANTILE_LABEL;
    let from_summary = timers.iter().map(|m| format!("max({m}{{{sel},{label}=\"{q}\"}})"));
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
/// saturation, each read by the query `read` gives.
fn golden(title: &str, key: &str, read: &dyn Fn(Signal) -> QuerySpec) -> PageSpec {
    use PanelKind::{Bignum, Chart, Gauge};
    let panel = |kind, title: &str, signal, unit, warn, crit| PanelSpec {
        query: Some(read(signal)),
        unit,
        thresholds: Thresholds { warn, crit, below: false },
        ..PanelSpec::new(kind, title)
    };
    let line = |title: &str, signal| {
        let q = read(signal);
        let metric = q.promql.is_none().then_some(q.metric);
        LineSpec {
            title: title.into(),
            metric,
            query: q.promql,
            source: q.source,
            signal: q.signal,
            labels: q.labels,
            agg: q.agg,
            q: q.q,
            color: None,
        }
    };
    let (ok_errors, bad_errors) = (Some(0.01), Some(0.05));
    let latency = PanelSpec {
        unit: Unit::Seconds,
        lines: vec![line("p50", Signal::P50), line("p99", Signal::P99)],
        ..PanelSpec::new(Chart, "Latency")
    };
    let row = |height, panels| RowSpec { height, panels };
    PageSpec {
        key: Some(key.to_string()),
        rows: vec![
            row(
                None,
                vec![
                    panel(Bignum, "Traffic", Signal::Traffic, Unit::PerSecond, None, None),
                    panel(Bignum, "Errors", Signal::Errors, Unit::Ratio, ok_errors, bad_errors),
                    panel(Bignum, "p99 latency", Signal::P99, Unit::Seconds, Some(0.5), Some(1.0)),
                    panel(Bignum, "CPU", Signal::Cpu, Unit::Count, None, None),
                ],
            ),
            row(
                None,
                vec![
                    panel(Chart, "Requests / s", Signal::Traffic, Unit::PerSecond, None, None),
                    latency,
                    panel(Chart, "Error ratio", Signal::Errors, Unit::Ratio, ok_errors, bad_errors),
                ],
            ),
            row(
                Some(10),
                vec![
                    panel(Chart, "In flight", Signal::InFlight, Unit::Count, None, None),
                    panel(Chart, "Memory", Signal::Memory, Unit::Bytes, None, None),
                    panel(Gauge, "Open files", Signal::OpenFiles, Unit::Ratio, Some(0.8), Some(0.9)),
                ],
            ),
        ],
        ..PageSpec::new(title)
    }
}

/// A PromQL query run by the Prometheus source `source`.
fn promql(source: &str, text: String) -> QuerySpec {
    QuerySpec { promql: Some(text), source: Some(source.to_string()), ..QuerySpec::default() }
}

/// The golden signals of one service from a Prometheus: queries written
/// for its label.
pub fn golden_page(source: &str, service: &str, window: &str) -> PageSpec {
    let sel = service_selector(service);
    let title = service.split_once('=').map_or(service, |(_, v)| v).trim();
    let read = |signal: Signal| {
        let query = match signal {
            Signal::Traffic => requests(&sel, window),
            Signal::Errors => error_ratio(&sel, window),
            Signal::P50 => latency(0.5, &sel, window),
            Signal::P99 => latency(0.99, &sel, window),
            Signal::Cpu => format!("sum(rate({}{{{sel}}}[{window}]))", catalogue::CPU_SECONDS),
            Signal::Memory => format!("sum({}{{{sel}}})", catalogue::RESIDENT_MEMORY),
            Signal::InFlight => catalogue::IN_FLIGHT_GAUGES
                .iter()
                .map(|m| format!("sum({m}{{{sel}}})"))
                .collect::<Vec<_>>()
                .join(" or "),
            Signal::OpenFiles => format!("max({}{{{sel}}} / {}{{{sel}}})", catalogue::OPEN_FDS, catalogue::MAX_FDS),
        };
        promql(source, query)
    };
    golden(title, &format!("{source}:{title}").to_lowercase(), &read)
}

/// The golden signals of a service read directly: the series its scrape
/// source works out and names for what they are.
pub fn scrape_page(source: &str, job: &str) -> PageSpec {
    let read = |signal: Signal| {
        let (metric, agg) = match signal {
            Signal::Traffic => ("traffic_requests_per_second", Agg::Sum),
            Signal::Errors => ("error_ratio", Agg::Max),
            Signal::P50 => ("latency_p50_seconds", Agg::Max),
            Signal::P99 => ("latency_p99_seconds", Agg::Max),
            Signal::Cpu => ("saturation_cpu_cores", Agg::Sum),
            Signal::Memory => ("saturation_resident_memory_bytes", Agg::Sum),
            Signal::InFlight => ("saturation_in_flight_requests", Agg::Sum),
            Signal::OpenFiles => ("saturation_open_fds_ratio", Agg::Max),
        };
        let mut q = QuerySpec { agg: Some(agg), ..QuerySpec::of(metric) };
        q.labels.insert("job".to_string(), Matcher::Equal(job.to_string()));
        q
    };
    golden(&format!("{job} ({source})"), &format!("{source}:{job}").to_lowercase(), &read)
}

/// What a Prometheus scrapes, when no service was named: each job's
/// targets up and down, and how long scrapes take.
pub fn targets_page(source: &str, window: &str) -> PageSpec {
    let column = |title: &str, query: &str, unit, show| ColumnSpec {
        title: title.into(),
        query: Some(query.into()),
        source: Some(source.into()),
        unit,
        show,
        ..ColumnSpec::default()
    };
    let jobs = PanelSpec {
        by: Some("job".into()),
        sort: Sort::Name,
        columns: vec![
            column("up", "sum by (job) (up)", Unit::Count, Show::Value),
            column("targets", "count by (job) (up)", Unit::Count, Show::Value),
            column("scrape time", "max by (job) (scrape_duration_seconds)", Unit::Seconds, Show::Spark),
        ],
        ..PanelSpec::new(PanelKind::Table, "Jobs")
    };
    let samples = PanelSpec {
        query: Some(promql(source, format!("sum by (job) (rate(scrape_samples_scraped[{window}]))"))),
        by: Some("job".into()),
        unit: Unit::PerSecond,
        ..PanelSpec::new(PanelKind::Chart, "Samples scraped / s")
    };
    let row = |p| RowSpec { height: None, panels: vec![p] };
    PageSpec {
        key: Some(format!("{source}:targets")),
        rows: vec![row(jobs), row(samples)],
        ..PageSpec::new(&format!("Targets ({source})"))
    }
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
        assert!(p99.contains(r#" or max(http_server_requests_seconds{job="checkout",quantile="0.99"})"#), "{p99}");
        let errors = panel("Errors").query.as_ref().unwrap().promql.clone().unwrap();
        assert!(errors.contains(r#"status=~"5..""#) && errors.contains(r#"code=~"5..""#), "{errors}");
        assert!(errors.contains("or vector(0)"), "no 5xx series means no errors: {errors}");
        // An errors counter beside the request counter is read first, as the catalogue says.
        assert!(
            errors.starts_with(r#"(sum(rate(http_errors_total{job="checkout"}[1m])) / sum(rate(http_requests_total{job="checkout"}[1m]))) or "#),
            "{errors}"
        );
        // Every counter of the catalogue is tried, with its own outcome labels.
        assert!(errors.contains(r#"grpc_server_handled_total{job="checkout",grpc_code=~"Unknown|"#), "{errors}");
    }

    #[test]
    fn every_dashboard_written_for_sources_reads_back_from_its_file() {
        let mut scrape = SourceSpec::from_flag(SourceKind::Scrape, "http://127.0.0.1:8000/metrics");
        scrape.name = Some("scrape".into());
        let sources = [prometheus(None), prometheus(Some(r#"service=we"ird"#)), scrape];
        for gateway in [false, true] {
            let d = dashboard(gateway, &sources);
            let text = crate::dashboards::write::to_toml(&d, &Default::default());
            let back = Dashboard::parse(&text, std::path::Path::new("written.toml"));
            assert_eq!(back.as_ref().ok(), Some(&d), "{back:?}\n{text}");
        }
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
