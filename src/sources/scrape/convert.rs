//! Parsed families to what the store keeps: metric descriptions and
//! observations, named as a PromQL user would write them.
//!
//! - Counters keep the name they were exposed under (`http_requests_total`).
//! - A histogram becomes one series per label set (less `le`), named after
//!   its family, holding all its buckets, its sum and its count; its count
//!   and sum are also kept as counters (`x_count`, `x_sum`), so a request
//!   rate can be read from a latency histogram alone.
//! - A summary's quantiles become gauges (`x{quantile="0.99"}`), its sum and
//!   count counters.
//! - Gauges, untyped samples, info and state sets become gauges, and so do
//!   gauge histograms (their buckets go up and down, so differencing them
//!   as the store does a histogram would be wrong).
//! - `_created` samples, and the `x_created` gauges the text format writes
//!   beside a counter, histogram or summary, are dropped: they hold a start
//!   time, not a measurement.
//!
//! Labels with an empty value are dropped, as Prometheus reads them as
//! absent. Label values are then made safe to draw, as every other source's
//! are before they reach the store, and so are metric names: a quoted one
//! may hold anything.

use super::parse::{Family, FamilyKind, RawSample};
use crate::core::model::{HistogramValue, Kind, Labels, MetricMeta, Observation, Sample, SeriesKey};
use crate::wire::{self, MAX_BUCKETS};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Prefix given to an exposed label that an added label (`job`,
/// `instance`) displaces, as Prometheus does without `honor_labels`.
pub const EXPORTED_PREFIX: &str = "exported_";

/// Everything on a scraped page as the store takes it. `extra` labels are
/// added to every series; an exposed label of the same name is kept as
/// `exported_<name>`. Samples without a timestamp of their own are placed
/// at `scraped_at_ms`.
///
/// A histogram with more than [`MAX_BUCKETS`] buckets is left out, as a
/// gateway's would be.
pub fn to_observations(families: &[Family], scraped_at_ms: i64, extra: &Labels) -> (Vec<MetricMeta>, Vec<Observation>) {
    let mut out = Out { metas: Vec::new(), named: HashSet::new(), obs: Vec::new(), extra, now: scraped_at_ms };
    let kinds: HashMap<&str, FamilyKind> = families.iter().map(|f| (f.name.as_str(), f.kind)).collect();
    for f in families {
        match f.kind {
            FamilyKind::Gauge | FamilyKind::Unknown if is_start_time(f, &kinds) => {}
            FamilyKind::Counter => {
                for s in f.samples.iter().filter(|s| suffix(f, s) != "_created") {
                    out.number(f, &s.name, Kind::Counter, s);
                }
            }
            FamilyKind::Histogram => histograms(f, &mut out),
            FamilyKind::Summary => {
                for s in &f.samples {
                    match suffix(f, s) {
                        "" => out.number(f, &s.name, Kind::Gauge, s),
                        "_sum" | "_count" => out.number(f, &s.name, Kind::Counter, s),
                        _ => {}
                    }
                }
            }
            FamilyKind::Gauge
            | FamilyKind::Unknown
            | FamilyKind::Info
            | FamilyKind::StateSet
            | FamilyKind::GaugeHistogram => {
                for s in &f.samples {
                    out.number(f, &s.name, Kind::Gauge, s);
                }
            }
        }
    }
    (out.metas, out.obs)
}

/// The labels a series is stored under: empty values dropped, `extra`
/// added (displacing exposed labels of the same name to `exported_<name>`),
/// and every value made safe to draw.
pub fn series_labels(exposed: &Labels, extra: &Labels) -> Labels {
    let mut labels: Labels =
        exposed.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.clone(), v.clone())).collect();
    for (k, v) in extra {
        if let Some(displaced) = labels.remove(k) {
            let mut name = format!("{EXPORTED_PREFIX}{k}");
            // An exposed `exported_job` as well: prefix again until free.
            while labels.contains_key(&name) {
                name.insert_str(0, EXPORTED_PREFIX);
            }
            labels.insert(name, displaced);
        }
        if !v.is_empty() {
            labels.insert(k.clone(), v.clone());
        }
    }
    wire::sanitize_labels_owned(labels)
}

/// A `x_created` gauge beside a counter, histogram or summary `x`, or a
/// counter `x_total`: how the text format writes a family's start time.
fn is_start_time(f: &Family, kinds: &HashMap<&str, FamilyKind>) -> bool {
    let Some(base) = f.name.strip_suffix("_created") else { return false };
    let total = format!("{base}_total");
    matches!(
        kinds.get(base),
        Some(FamilyKind::Counter | FamilyKind::Histogram | FamilyKind::Summary | FamilyKind::GaugeHistogram)
    ) || kinds.get(total.as_str()) == Some(&FamilyKind::Counter)
}

/// What a sample adds to its family's name (`_total`, `_bucket`, ...).
fn suffix<'a>(f: &Family, s: &'a RawSample) -> &'a str {
    s.name.get(f.name.len()..).unwrap_or("")
}

struct Out<'a> {
    metas: Vec<MetricMeta>,
    named: HashSet<String>,
    obs: Vec<Observation>,
    extra: &'a Labels,
    now: i64,
}

impl Out<'_> {
    /// Describes `name` once, with its family's help and unit; a count
    /// of observations (`_count`, `_bucket`, `_gcount`) has no unit, even
    /// when what was observed has one.
    fn meta(&mut self, f: &Family, name: &str, kind: Kind) {
        // Looked up before it is copied: most samples' names are known.
        if !self.named.contains(name) {
            self.named.insert(name.to_string());
            let observations =
                matches!(f.kind, FamilyKind::Histogram | FamilyKind::GaugeHistogram | FamilyKind::Summary)
                    && ["_count", "_bucket", "_gcount"].iter().any(|c| name.len() > f.name.len() && name.ends_with(c));
            self.metas.push(MetricMeta {
                name: wire::sanitize(name),
                kind,
                unit: if observations { String::new() } else { wire::sanitize(&f.unit) },
                help: wire::sanitize(&f.help),
            });
        }
    }

    fn number(&mut self, f: &Family, name: &str, kind: Kind, s: &RawSample) {
        self.meta(f, name, kind);
        let key = SeriesKey { metric: wire::sanitize(name), labels: series_labels(&s.labels, self.extra) };
        self.obs.push(Observation { key, ts: s.ts_ms.unwrap_or(self.now), sample: Sample::Number(s.value) });
    }
}

/// One histogram's samples for a label set, as they were found.
#[derive(Default)]
struct Parts {
    buckets: Vec<(f64, f64)>,
    sum: Option<f64>,
    count: Option<f64>,
    ts: Option<i64>,
}

fn histograms(f: &Family, out: &mut Out) {
    // Label sets in page order, so series come in the same order each
    // scrape (the store guesses the next series from the last).
    let mut order: Vec<Labels> = Vec::new();
    let mut parts: HashMap<Labels, Parts> = HashMap::new();
    for s in &f.samples {
        let which = suffix(f, s);
        if !matches!(which, "_bucket" | "_sum" | "_count") {
            continue;
        }
        let mut labels = s.labels.clone();
        let le = labels.remove("le");
        let p = parts.entry(labels).or_insert_with_key(|k| {
            order.push(k.clone());
            Parts::default()
        });
        p.ts = p.ts.or(s.ts_ms);
        match which {
            "_sum" => p.sum = Some(s.value),
            "_count" => p.count = Some(s.value),
            _ => {
                if let Some(le) = le.as_deref().and_then(super::parse::parse_value) {
                    p.buckets.push((le, s.value));
                }
            }
        }
    }
    let (count_name, sum_name) = (format!("{}_count", f.name), format!("{}_sum", f.name));
    let (stored_name, stored_count, stored_sum) =
        (wire::sanitize(&f.name), wire::sanitize(&count_name), wire::sanitize(&sum_name));
    for labels in order {
        let Some(p) = parts.remove(&labels) else { continue };
        let Some(h) = histogram_value(p.buckets, p.sum, p.count) else { continue };
        let ts = p.ts.unwrap_or(out.now);
        let stored = series_labels(&labels, out.extra);
        let (count, sum) = (h.count, h.sum);
        out.meta(f, &f.name, Kind::Histogram);
        let key = SeriesKey { metric: stored_name.clone(), labels: stored.clone() };
        out.obs.push(Observation { key, ts, sample: Sample::Histogram(Arc::new(h)) });
        out.meta(f, &count_name, Kind::Counter);
        let key = SeriesKey { metric: stored_count.clone(), labels: stored.clone() };
        out.obs.push(Observation { key, ts, sample: Sample::Number(count) });
        if !sum.is_nan() {
            out.meta(f, &sum_name, Kind::Counter);
            let key = SeriesKey { metric: stored_sum.clone(), labels: stored };
            out.obs.push(Observation { key, ts, sample: Sample::Number(sum) });
        }
    }
}

/// Buckets in order of bound, each bound once, counts never falling (as
/// Prometheus mends them before taking a quantile), ending at +Inf. The
/// count is the `_count` sample, else the +Inf bucket; the sum is NaN when
/// the page gave none. `None` with too many buckets.
fn histogram_value(mut buckets: Vec<(f64, f64)>, sum: Option<f64>, count: Option<f64>) -> Option<HistogramValue> {
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    buckets.dedup_by(|b, a| a.0 == b.0);
    buckets.retain(|b| !b.0.is_nan());
    let mut most = 0.0f64;
    for b in &mut buckets {
        most = most.max(b.1);
        b.1 = most;
    }
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        let total = count.unwrap_or(most).max(most);
        buckets.push((f64::INFINITY, total));
    }
    if buckets.len() > MAX_BUCKETS {
        return None;
    }
    let count = count.unwrap_or(buckets[buckets.len() - 1].1);
    Some(HistogramValue { buckets, sum: sum.unwrap_or(f64::NAN), count })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::scrape::parse::parse;

    fn convert(text: &str, extra: &[(&str, &str)]) -> (Vec<MetricMeta>, Vec<Observation>) {
        let p = parse(text);
        assert_eq!(p.errors, [], "{text}");
        let extra: Labels = extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        to_observations(&p.families, 1_000, &extra)
    }

    fn kinds(metas: &[MetricMeta]) -> Vec<(&str, Kind)> {
        metas.iter().map(|m| (m.name.as_str(), m.kind)).collect()
    }

    fn number(o: &Observation) -> f64 {
        o.sample.as_number().expect("a number")
    }

    #[test]
    fn counters_keep_their_exposed_name_and_lose_created() {
        let om = "# TYPE req counter\n# HELP req Requests.\nreq_total{code=\"200\"} 5\nreq_created{code=\"200\"} 1.7e9\n# EOF\n";
        let (metas, obs) = convert(om, &[]);
        assert_eq!(kinds(&metas), [("req_total", Kind::Counter)]);
        assert_eq!(metas[0].help, "Requests.");
        assert_eq!(obs.len(), 1);
        assert_eq!((obs[0].key.metric.as_str(), obs[0].key.label("code"), number(&obs[0])), ("req_total", "200", 5.0));
        // The text format writes the start time as a gauge family of its own.
        let text = "# TYPE req_total counter\nreq_total 5\n# TYPE req_created gauge\nreq_created 1.7e9\n\
                    # TYPE lat histogram\nlat_count 0\n# TYPE lat_created gauge\nlat_created 1.7e9\n\
                    # TYPE other_created gauge\nother_created 3\n";
        let (metas, _) = convert(text, &[]);
        assert_eq!(
            kinds(&metas),
            [
                ("req_total", Kind::Counter),
                ("lat", Kind::Histogram),
                ("lat_count", Kind::Counter),
                ("other_created", Kind::Gauge)
            ]
        );
    }

    #[test]
    fn a_histogram_is_one_series_per_label_set() {
        let text = "# TYPE lat histogram\n# UNIT lat seconds\n\
                    lat_bucket{route=\"/a\",le=\"0.5\"} 9\nlat_bucket{route=\"/a\",le=\"0.05\"} 4\n\
                    lat_bucket{route=\"/a\",le=\"+Inf\"} 10\nlat_sum{route=\"/a\"} 2.5\nlat_count{route=\"/a\"} 10\n\
                    lat_created{route=\"/a\"} 1.7e9\n\
                    lat_bucket{route=\"/b\",le=\"0.05\"} 1\nlat_bucket{route=\"/b\",le=\"0.5\"} 1\n\
                    lat_bucket{route=\"/b\",le=\"+Inf\"} 1\nlat_sum{route=\"/b\"} 0.01\nlat_count{route=\"/b\"} 1\n# EOF\n";
        let (metas, obs) = convert(text, &[]);
        assert_eq!(kinds(&metas), [("lat", Kind::Histogram), ("lat_count", Kind::Counter), ("lat_sum", Kind::Counter)]);
        let units: Vec<&str> = metas.iter().map(|m| m.unit.as_str()).collect();
        assert_eq!(units, ["seconds", "", "seconds"], "a count of observations has no unit");
        let hists: Vec<&Observation> = obs.iter().filter(|o| o.key.metric == "lat").collect();
        assert_eq!(hists.len(), 2);
        assert_eq!(hists[0].key.labels.len(), 1, "no le: {:?}", hists[0].key);
        let Sample::Histogram(h) = &hists[0].sample else { panic!() };
        assert_eq!(h.buckets, [(0.05, 4.0), (0.5, 9.0), (f64::INFINITY, 10.0)], "ascending, +Inf last");
        assert_eq!((h.sum, h.count), (2.5, 10.0));
        let count = obs.iter().find(|o| o.key.metric == "lat_count" && o.key.label("route") == "/b").unwrap();
        assert_eq!(number(count), 1.0);
    }

    #[test]
    fn a_histogram_missing_parts_is_mended() {
        // No +Inf bucket and no sum; a bucket below the one before it.
        let text = "# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"2\"} 4\nh_count 7\n";
        let (_, obs) = convert(text, &[]);
        let Sample::Histogram(h) = &obs[0].sample else { panic!() };
        assert_eq!(h.buckets, [(1.0, 5.0), (2.0, 5.0), (f64::INFINITY, 7.0)]);
        assert!(h.sum.is_nan());
        assert_eq!(h.count, 7.0);
        assert!(obs.iter().all(|o| o.key.metric != "h_sum"), "no sum exposed, none invented");
    }

    #[test]
    fn too_many_buckets_leave_the_histogram_out() {
        let mut text = String::from("# TYPE h histogram\n");
        for i in 0..=MAX_BUCKETS {
            text.push_str(&format!("h_bucket{{le=\"{i}\"}} {i}\n"));
        }
        let (_, obs) = convert(&text, &[]);
        assert!(obs.iter().all(|o| o.key.metric != "h"));
    }

    #[test]
    fn summaries_give_quantile_gauges_and_counters() {
        let text =
            "# TYPE rpc summary\nrpc{quantile=\"0.5\"} 0.2\nrpc{quantile=\"0.99\"} 0.9\nrpc_sum 40\nrpc_count 90\n";
        let (metas, obs) = convert(text, &[]);
        assert_eq!(kinds(&metas), [("rpc", Kind::Gauge), ("rpc_sum", Kind::Counter), ("rpc_count", Kind::Counter)]);
        assert_eq!((obs[1].key.label("quantile"), number(&obs[1])), ("0.99", 0.9));
    }

    #[test]
    fn everything_else_is_a_gauge() {
        let text = "# TYPE i info\ni_info{v=\"1\"} 1\n# TYPE s stateset\ns{s=\"up\"} 1\nloose 3\n\
                    # TYPE g gaugehistogram\ng_bucket{le=\"+Inf\"} 3\ng_gcount 3\ng_gsum 2\n# EOF\n";
        let (metas, _) = convert(text, &[]);
        assert!(metas.iter().all(|m| m.kind == Kind::Gauge), "{metas:?}");
        let names: Vec<&str> = metas.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["i_info", "s", "loose", "g_bucket", "g_gcount", "g_gsum"]);
    }

    #[test]
    fn extra_labels_displace_exposed_ones() {
        let text = "m{job=\"theirs\",exported_instance=\"x\",instance=\"i\",empty=\"\"} 1\n";
        let (_, obs) = convert(text, &[("job", "vigil"), ("instance", "host:9100")]);
        let l = &obs[0].key.labels;
        let got: Vec<(&str, &str)> = l.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            got,
            [
                ("exported_exported_instance", "i"),
                ("exported_instance", "x"),
                ("exported_job", "theirs"),
                ("instance", "host:9100"),
                ("job", "vigil"),
            ]
        );
    }

    #[test]
    fn times_come_from_the_page_or_the_scrape() {
        let (_, obs) = convert("a 1 5000\nb 2\n", &[]);
        assert_eq!((obs[0].ts, obs[1].ts), (5000, 1000));
        let (_, obs) = convert("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1 7000\nh_count 1 7000\n", &[]);
        assert!(obs.iter().all(|o| o.ts == 7000));
    }

    #[test]
    fn quoted_names_keep_their_text_and_are_made_safe_for_the_store() {
        let text = "# TYPE \"http.server.duration\" histogram\n\
                    {\"http.server.duration_bucket\",\"http.route\"=\"/a\",le=\"0.5\"} 3\n\
                    {\"http.server.duration_bucket\",\"http.route\"=\"/a\",le=\"+Inf\"} 4\n\
                    {\"http.server.duration_count\",\"http.route\"=\"/a\"} 4\n\
                    {\"two\\nlines\u{1b}[2J\"} 1\n";
        let (metas, obs) = convert(text, &[]);
        assert_eq!(
            kinds(&metas),
            [
                ("http.server.duration", Kind::Histogram),
                ("http.server.duration_count", Kind::Counter),
                ("two lines\\u{1b}[2J", Kind::Gauge)
            ]
        );
        assert_eq!(obs[0].key.label("http.route"), "/a");
        assert!(obs.iter().all(|o| !o.key.metric.chars().any(char::is_control)), "{obs:?}");
    }

    #[test]
    fn label_values_are_made_safe_for_the_store() {
        let (_, obs) = convert("m{path=\"two\\nlines\",evil=\"\u{1b}[2J\"} 1\n", &[]);
        assert_eq!(obs[0].key.label("path"), "two lines");
        assert!(!obs[0].key.label("evil").chars().any(char::is_control));
    }
}
