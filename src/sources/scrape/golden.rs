//! The four golden signals of a scraped service, found by the names and
//! labels its metrics follow by convention: traffic (requests per second),
//! errors (the share of requests that failed), latency (a request-duration
//! histogram) and saturation (requests in flight, CPU, memory, file
//! descriptors).
//!
//! What is found becomes queries over the store, so a page and the
//! headless output read them through the same machinery as any dashboard:
//! [`page`] lays them out, [`derive`] evaluates them once.

pub use crate::core::golden::STATUS_LABELS;
use crate::core::golden::{self as catalogue};
use crate::core::model::{Kind, Labels, MetricMeta, Observation};
use crate::core::query::matcher::Matcher;
use crate::core::query::{self, Evaluated, Reader, Span};
use crate::core::store::Store;
use crate::core::units::Unit;
use crate::dashboards::spec::{Agg, LineSpec, PageSpec, PanelKind, PanelSpec, QuerySpec, RowSpec, Thresholds};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How far back [`derive`] looks for the newest value.
pub const DERIVE_WINDOW_MS: i64 = 120_000;
/// The label [`derive`] reports each value of separately: the scrape
/// target, when several are scraped into one store.
pub const TARGET_LABEL: &str = "instance";

/// One saturation signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Saturation {
    /// What it measures, in the words of a metric name (`cpu_cores`).
    pub what: String,
    pub query: QuerySpec,
    /// The limit it is measured against, when the page exposes one.
    pub divide_by: Option<QuerySpec>,
    pub unit: Unit,
}

/// The golden signals found on a page; `None` (or empty) where nothing
/// fitted.
#[derive(Debug, Clone, PartialEq)]
pub struct Golden {
    /// The request counter, rated.
    pub traffic: Option<QuerySpec>,
    /// Failed requests, and all requests (the traffic query).
    pub errors: Option<(QuerySpec, QuerySpec)>,
    /// A request-duration histogram, or a summary when there is none.
    pub latency: Option<QuerySpec>,
    /// When the latency is a summary: the p50 and p99 it exposes, each
    /// with its `quantile` label value as written (`0.5`, `0.99`). Empty
    /// for a histogram.
    pub latency_summary: Vec<(f64, String)>,
    /// Seconds per unit of the latency histogram's bounds: 1 for
    /// `_seconds`, 0.001 for `_milliseconds` and `_ms`.
    pub latency_scale: f64,
    pub saturation: Vec<Saturation>,
}

impl Default for Golden {
    fn default() -> Self {
        Golden {
            traffic: None,
            errors: None,
            latency: None,
            latency_summary: Vec::new(),
            latency_scale: 1.0,
            saturation: Vec::new(),
        }
    }
}

impl Golden {
    /// Whether any signal was found.
    pub fn is_empty(&self) -> bool {
        self.traffic.is_none() && self.latency.is_none() && self.saturation.is_empty()
    }
}

/// What the page shows of one metric: its kind, and each label's values.
struct Seen<'a> {
    kind: Kind,
    unit: &'a str,
    labels: BTreeMap<&'a str, BTreeSet<&'a str>>,
    series: usize,
}

/// Most values of one label looked at: enough to tell codes from words.
const VALUES_LOOKED_AT: usize = 64;

/// Finds the golden signals among a scrape's metrics (from
/// [`to_observations`](super::to_observations)).
pub fn detect(metas: &[MetricMeta], observations: &[Observation]) -> Golden {
    let mut seen: HashMap<&str, Seen> = metas
        .iter()
        .map(|m| {
            let s = Seen { kind: m.kind, unit: &m.unit, labels: BTreeMap::new(), series: 0 };
            (m.name.as_str(), s)
        })
        .collect();
    for o in observations {
        let Some(s) = seen.get_mut(o.key.metric.as_str()) else { continue };
        s.series += 1;
        for (k, v) in &o.key.labels {
            let values = s.labels.entry(k).or_default();
            if values.len() < VALUES_LOOKED_AT {
                values.insert(v);
            }
        }
    }
    // Sorted, so that ties are settled the same way every time.
    let mut names: Vec<&str> = seen.keys().copied().collect();
    names.sort_unstable();

    let counter = best(&names, |n| traffic_score(n, &seen));
    // Of several latency histograms, one of the request counter's program
    // (its namespace, `app_`), then the one named most like it. A summary
    // only when there is no histogram: its quantiles cannot be merged
    // across series, nor taken over the page's window.
    let latency_of = |kind: Kind| {
        best(&names, |n| {
            let kin = counter.map_or(0, |c| {
                let shared = common_prefix(n, c);
                if shared >= namespace(c) { 100_000 + shared as i64 * 1000 } else { 0 }
            });
            let s = &seen[n];
            let fits = s.kind == kind && (kind == Kind::Histogram || summary_quantiles(s).len() == 2);
            latency_score(n, s).filter(|_| fits).map(|s| s + kin)
        })
    };
    let latency = latency_of(Kind::Histogram).or_else(|| latency_of(Kind::Gauge));
    // Without a request counter, the latency histogram's count is one.
    let traffic: Option<String> = counter
        .map(str::to_string)
        .or_else(|| latency.map(|l| format!("{l}_count")).filter(|c| seen.contains_key(c.as_str())));
    let mut golden = Golden::default();
    if let Some(l) = latency {
        golden.latency = Some(spec(l, None));
        golden.latency_scale = seconds_per_unit(l, seen[l].unit);
        if seen[l].kind == Kind::Gauge {
            golden.latency_summary = summary_quantiles(&seen[l]);
        }
    }
    if let Some(t) = &traffic {
        let total = spec(t, Some(Agg::Rate));
        golden.errors = errors(t, &seen[t.as_str()])
            .or_else(|| {
                let e = best(&names, |n| errors_score(n, t, &seen[n]))?;
                Some(spec(e, Some(Agg::Rate)))
            })
            .map(|e| (e, total.clone()));
        golden.traffic = Some(total);
    }
    golden.saturation = saturation(&names, &seen, traffic.as_deref().or(latency));
    golden
}

/// The name with the highest score, if any scores.
fn best<'a>(names: &[&'a str], score: impl Fn(&'a str) -> Option<i64>) -> Option<&'a str> {
    let mut top: Option<(i64, &str)> = None;
    for &n in names {
        if let Some(s) = score(n)
            && top.is_none_or(|(t, _)| s > t)
        {
            top = Some((s, n));
        }
    }
    top.map(|(_, n)| n)
}

/// The length of a name's first word and its underscore (`app_`).
fn namespace(name: &str) -> usize {
    name.find('_').map_or(name.len(), |i| i + 1)
}

/// How many leading bytes two names share.
fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

fn spec(metric: &str, agg: Option<Agg>) -> QuerySpec {
    QuerySpec { metric: metric.to_string(), agg, ..QuerySpec::default() }
}

/// How much a name says it counts requests a service serves: request or
/// RPC words and a server side add, a client side or the exporter's own
/// `/metrics` handler take away.
fn request_words(n: &str) -> i64 {
    let mut score = 0;
    for (word, weight) in [("http", 20), ("grpc", 20), ("rpc", 10), ("server", 15), ("handler", 5), ("api", 5)] {
        if n.contains(word) {
            score += weight;
        }
    }
    for word in ["client", "outgoing", "upstream", "backend", "scrape"] {
        if n.contains(word) {
            score -= 40;
        }
    }
    score
}

/// The request counter: `*_requests_total` and its kin. Each counter is
/// scored by its name, then by how many series it has (the real request
/// counter is split by route and status).
fn traffic_score(n: &str, seen: &HashMap<&str, Seen>) -> Option<i64> {
    let s = &seen[n];
    if s.kind != Kind::Counter || not_served(n) {
        return None;
    }
    let base = if catalogue::REQUEST_COUNTER_ENDINGS.iter().any(|e| n.ends_with(e)) || n == "requests_total" {
        100
    } else if catalogue::REQUEST_TIMER_COUNT_ENDINGS.iter().any(|e| n.ends_with(e)) {
        // Micrometer's timer of server requests.
        100
    } else if n.ends_with(catalogue::OLD_REQUEST_COUNTER_ENDING) {
        // Counters from before the `_total` convention.
        60
    } else {
        return None;
    };
    if n.contains("error") || n.contains("fail") {
        return None;
    }
    // A request counter split by outcome is what an error ratio needs.
    let outcome = if STATUS_LABELS.iter().any(|l| s.labels.contains_key(l)) { 30 } else { 0 };
    Some((base + outcome + request_words(n)) * 1000 + s.series.min(999) as i64)
}

/// Requests that are not a service's traffic: the exporter's own
/// `/metrics` handler (its scrapes), and a host's or runtime's own
/// counters (`node_disk_flush_requests_total` counts disk flushes).
fn not_served(n: &str) -> bool {
    catalogue::NOT_SERVED_PREFIXES.iter().any(|p| n.starts_with(p)) || n.contains("disk")
}

/// A request-duration histogram: a duration or latency in a time unit,
/// preferably of requests a server handles.
fn latency_score(n: &str, s: &Seen) -> Option<i64> {
    if s.kind != Kind::Histogram && !s.labels.contains_key(catalogue::SUMMARY_QUANTILE_LABEL) {
        return None;
    }
    let timed = ["_seconds", "_milliseconds", "_ms", "_microseconds", "_us"].iter().any(|u| n.ends_with(u))
        || matches!(s.unit, "seconds" | "milliseconds" | "ms");
    let about_requests =
        ["request", "http", "grpc", "rpc", "handler", "server", "api", "response"].iter().any(|w| n.contains(w));
    let base = if n.contains("latency") || n.contains("duration") && about_requests {
        60
    } else if about_requests && timed {
        40
    } else {
        return None;
    };
    if !timed {
        return None;
    }
    Some((base + request_words(n)) * 1000 + s.series.min(999) as i64)
}

/// A summary's p50 and p99, with their `quantile` label values as exposed;
/// fewer than two when it lacks either.
fn summary_quantiles(s: &Seen) -> Vec<(f64, String)> {
    let values = s.labels.get(catalogue::SUMMARY_QUANTILE_LABEL).into_iter().flatten();
    let mut found: Vec<(f64, String)> = catalogue::LATENCY_QUANTILES
        .into_iter()
        .filter_map(|q| values.clone().find(|v| v.parse::<f64>() == Ok(q)).map(|v| (q, v.to_string())))
        .collect();
    found.dedup_by(|a, b| a.0 == b.0);
    found
}

/// The query for one latency quantile: over a histogram's buckets, or a
/// summary's own series for it (the highest of a target's, since
/// quantiles cannot be added up). `None` for a quantile the summary lacks.
fn latency_at(golden: &Golden, l: &QuerySpec, q: f64) -> Option<QuerySpec> {
    if golden.latency_summary.is_empty() {
        return Some(QuerySpec { q: Some(q), agg: Some(Agg::Quantile), ..l.clone() });
    }
    let (_, value) = golden.latency_summary.iter().find(|(at, _)| *at == q)?;
    let mut spec = QuerySpec { agg: Some(Agg::Max), ..l.clone() };
    spec.labels.insert(catalogue::SUMMARY_QUANTILE_LABEL.to_string(), Matcher::Equal(value.clone()));
    Some(spec)
}

/// What one unit of a latency histogram's bounds is in seconds.
fn seconds_per_unit(n: &str, unit: &str) -> f64 {
    if n.ends_with("_milliseconds") || n.ends_with("_ms") || unit == "milliseconds" || unit == "ms" {
        1e-3
    } else if n.ends_with("_microseconds") || n.ends_with("_us") {
        1e-6
    } else {
        1.0
    }
}

/// Failed requests as the request counter's series whose outcome label
/// says so: a 5xx code, a gRPC server error, or a failure word.
fn errors(traffic: &str, s: &Seen) -> Option<QuerySpec> {
    let (label, values) = STATUS_LABELS.iter().find_map(|l| s.labels.get_key_value(l))?;
    let pattern = catalogue::server_errors(label, values.iter().copied());
    let mut q = spec(traffic, Some(Agg::Rate));
    q.labels.insert(label.to_string(), Matcher::parse(&format!("=~{pattern}")).ok()?);
    Some(q)
}

/// A counter of failures beside the request counter (`*_errors_total`),
/// the closer its name to the request counter's the better.
fn errors_score(n: &str, traffic: &str, s: &Seen) -> Option<i64> {
    if s.kind != Kind::Counter || not_served(n) {
        return None;
    }
    if !catalogue::ERROR_COUNTER_ENDINGS.iter().any(|e| n.ends_with(e)) {
        return None;
    }
    // At least the namespace (`app_`) in common: another program's
    // failures are not these requests' errors.
    let shared = common_prefix(n, traffic);
    (shared >= namespace(traffic)).then(|| shared as i64 * 10 + request_words(n))
}

/// In-flight requests, then the process's CPU, memory and file
/// descriptors, as far as the page has them.
fn saturation(names: &[&str], seen: &HashMap<&str, Seen>, near: Option<&str>) -> Vec<Saturation> {
    let mut out = Vec::new();
    let in_flight = best(names, |n| {
        let s = &seen[n];
        // The exporter's `/metrics` handler's own scrapes in flight do not count.
        if s.kind != Kind::Gauge || !catalogue::IN_FLIGHT_WORDS.iter().any(|w| n.contains(w)) || not_served(n) {
            return None;
        }
        let shared = near.map_or(0, |t| common_prefix(n, t)) as i64;
        Some(shared * 10 + request_words(n))
    });
    if let Some(n) = in_flight {
        out.push(Saturation {
            what: "in_flight_requests".into(),
            query: spec(n, Some(Agg::Sum)),
            divide_by: None,
            unit: Unit::Count,
        });
    }
    let has = |n: &str, kind: Kind| seen.get(n).is_some_and(|s| s.kind == kind);
    if has(catalogue::CPU_SECONDS, Kind::Counter) {
        // CPU seconds per second: the share of one core in use.
        out.push(Saturation {
            what: "cpu_cores".into(),
            query: spec(catalogue::CPU_SECONDS, Some(Agg::Rate)),
            divide_by: None,
            unit: Unit::Ratio,
        });
    }
    if has(catalogue::RESIDENT_MEMORY, Kind::Gauge) {
        out.push(Saturation {
            what: "resident_memory_bytes".into(),
            query: spec(catalogue::RESIDENT_MEMORY, Some(Agg::Sum)),
            divide_by: None,
            unit: Unit::Bytes,
        });
    }
    if has(catalogue::OPEN_FDS, Kind::Gauge) {
        let max = has(catalogue::MAX_FDS, Kind::Gauge).then(|| spec(catalogue::MAX_FDS, Some(Agg::Sum)));
        let (what, unit) = if max.is_some() { ("open_fds_ratio", Unit::Ratio) } else { ("open_fds", Unit::Count) };
        out.push(Saturation {
            what: what.into(),
            query: spec(catalogue::OPEN_FDS, Some(Agg::Sum)),
            divide_by: max,
            unit,
        });
    }
    out
}

/// How a latency is shown: in seconds when the histogram counts seconds;
/// otherwise in its own unit, said in the title, since the units a panel
/// knows are all in seconds.
fn latency_unit(scale: f64) -> (Unit, &'static str) {
    if scale == 1.0 {
        (Unit::Seconds, "")
    } else if scale == 1e-3 {
        (Unit::Count, " (ms)")
    } else {
        (Unit::Count, " (µs)")
    }
}

/// A dashboard page of the signals found: big numbers for requests per
/// second, the error share and p99 latency; charts of traffic, latency
/// (p50 and p99) and the error share; a gauge or a trend for each
/// saturation signal. With `select` (a label such as `instance`) the page
/// shows one value of it at a time.
pub fn page(golden: &Golden, title: &str, select: Option<&str>) -> PageSpec {
    let pin = |q: &QuerySpec| {
        let mut q = q.clone();
        if let Some(l) = select {
            q.labels.insert(l.to_string(), Matcher::Equal(format!("${l}")));
        }
        q
    };
    let (mut numbers, mut charts, mut gauges) = (Vec::new(), Vec::new(), Vec::new());
    if let Some(t) = &golden.traffic {
        let q = Some(pin(t));
        numbers.push(PanelSpec {
            query: q.clone(),
            unit: Unit::PerSecond,
            ..PanelSpec::new(PanelKind::Bignum, "req/s")
        });
        charts.push(PanelSpec { query: q, unit: Unit::PerSecond, ..PanelSpec::new(PanelKind::Chart, "Traffic") });
    }
    if let Some((e, total)) = &golden.errors {
        let errors = PanelSpec {
            query: Some(pin(e)),
            divide_by: Some(pin(total)),
            unit: Unit::Ratio,
            thresholds: Thresholds { warn: Some(0.01), crit: Some(0.05), below: false },
            ..PanelSpec::new(PanelKind::Bignum, "errors")
        };
        charts.push(PanelSpec { kind: PanelKind::Chart, title: "Error ratio".into(), ..errors.clone() });
        numbers.push(errors);
    }
    if let Some(l) = &golden.latency {
        let (unit, shown_in) = latency_unit(golden.latency_scale);
        // Half a second is slow for a request, a second is too slow.
        let thresholds =
            Thresholds { warn: Some(0.5 / golden.latency_scale), crit: Some(1.0 / golden.latency_scale), below: false };
        if let Some(p99) = latency_at(golden, &pin(l), 0.99) {
            numbers.push(PanelSpec {
                query: Some(p99),
                unit: unit.clone(),
                thresholds,
                ..PanelSpec::new(PanelKind::Bignum, &format!("p99{shown_in}"))
            });
        }
        // Each line narrows the panel's query to its quantile.
        let line = |title: &str, q: f64| {
            let at = latency_at(golden, &spec("", None), q)?;
            Some(LineSpec {
                title: title.to_string(),
                metric: None,
                query: None,
                source: None,
                signal: None,
                labels: at.labels,
                agg: at.agg,
                q: at.q,
                color: None,
            })
        };
        charts.push(PanelSpec {
            query: Some(pin(l)),
            unit,
            thresholds,
            lines: [line("p50", 0.5), line("p99", 0.99)].into_iter().flatten().collect(),
            ..PanelSpec::new(PanelKind::Chart, &format!("Latency{shown_in}"))
        });
    }
    for s in &golden.saturation {
        // A gauge needs a full scale: ratios have one, other units a trend.
        let kind = if matches!(s.unit, Unit::Ratio | Unit::Percent) { PanelKind::Gauge } else { PanelKind::Sparkline };
        let thresholds = if s.divide_by.is_some() {
            Thresholds { warn: Some(0.8), crit: Some(0.95), below: false }
        } else {
            Thresholds::default()
        };
        gauges.push(PanelSpec {
            query: Some(pin(&s.query)),
            divide_by: s.divide_by.as_ref().map(pin),
            unit: s.unit.clone(),
            thresholds,
            ..PanelSpec::new(kind, &s.what.replace('_', " "))
        });
    }
    let mut rows: Vec<RowSpec> = [numbers, charts, gauges]
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(|panels| RowSpec { height: None, panels })
        .collect();
    if rows.is_empty() {
        let text = "No request counter, latency histogram or process metrics were recognised on this page.";
        let note = PanelSpec { text: Some(text.into()), ..PanelSpec::new(PanelKind::Text, "Golden signals") };
        rows.push(RowSpec { height: None, panels: vec![note] });
    }
    PageSpec {
        title: title.to_string(),
        key: None,
        select: select.map(str::to_string),
        select_query: None,
        select_source: None,
        window: None,
        rows,
    }
}

/// One value worked out from the store, named for what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct DerivedPoint {
    /// `traffic_requests_per_second`, `error_ratio`, `latency_p50_seconds`,
    /// `latency_p99_seconds` or `saturation_<what>`.
    pub name: String,
    /// The scrape target (`instance`, and `job` when it has one), when the
    /// series carry one.
    pub labels: Labels,
    pub value: f64,
}

/// The newest value of each signal, per scrape target, as of `now_ms`:
/// rates and quantiles over the same sliding window a page uses, from
/// data no older than [`DERIVE_WINDOW_MS`].
pub fn derive(golden: &Golden, store: &Store, now_ms: i64) -> Vec<DerivedPoint> {
    let reader = Reader::new(store);
    let span = Span::new(now_ms, DERIVE_WINDOW_MS, 1000, now_ms);
    let mut out = Vec::new();
    let mut emit = |name: &str, labels: &Labels, value: f64| {
        if value.is_finite() {
            out.push(DerivedPoint { name: name.to_string(), labels: labels.clone(), value });
        }
    };
    if let Some(t) = &golden.traffic {
        for (labels, e) in per_target(&reader, t, &span) {
            if let Some(v) = e.last() {
                emit("traffic_requests_per_second", &labels, v);
            }
        }
    }
    if let Some((e, total)) = &golden.errors {
        let failed = per_target(&reader, e, &span);
        for (labels, all) in per_target(&reader, total, &span) {
            let Some(&(at, all)) = all.points.last() else { continue };
            if all <= 0.0 {
                continue;
            }
            // No failed series (yet) for this target means no failures.
            let bad = failed
                .iter()
                .find(|(l, _)| *l == labels)
                .and_then(|(_, e)| e.points.iter().rev().find(|p| p.0 == at))
                .map_or(0.0, |p| p.1);
            emit("error_ratio", &labels, bad / all);
        }
    }
    if let Some(l) = &golden.latency {
        for (name, q) in [("latency_p50_seconds", 0.5), ("latency_p99_seconds", 0.99)] {
            let Some(q) = latency_at(golden, l, q) else { continue };
            for (labels, e) in per_target(&reader, &q, &span) {
                if let Some(v) = e.last() {
                    emit(name, &labels, v * golden.latency_scale);
                }
            }
        }
    }
    for s in &golden.saturation {
        let name = format!("saturation_{}", s.what);
        let limits = s.divide_by.as_ref().map(|d| per_target(&reader, d, &span));
        for (labels, e) in per_target(&reader, &s.query, &span) {
            let e = match &limits {
                None => e,
                Some(limits) => match limits.iter().find(|(l, _)| *l == labels) {
                    Some((_, den)) => query::divide(&e, den),
                    None => continue,
                },
            };
            if let Some(v) = e.last() {
                emit(&name, &labels, v);
            }
        }
    }
    out
}

/// A query evaluated once per scrape target, or once over everything when
/// the series carry no target label.
fn per_target(reader: &Reader, q: &QuerySpec, span: &Span) -> Vec<(Labels, Evaluated)> {
    let groups = reader.eval_by(q, TARGET_LABEL, &[], span);
    if groups.is_empty() {
        let e = reader.eval(q, &[], span);
        return if e.matched > 0 { vec![(Labels::new(), e)] } else { Vec::new() };
    }
    groups
        .into_iter()
        .map(|(target, e)| {
            let mut labels = Labels::new();
            if let Some((_, job)) = e.labels.iter().find(|(k, _)| k == "job") {
                labels.insert("job".to_string(), job.clone());
            }
            labels.insert(TARGET_LABEL.to_string(), target);
            (labels, e)
        })
        .collect()
}
