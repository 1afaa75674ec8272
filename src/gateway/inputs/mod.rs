//! What `vigil serve` can be fed besides its simulator: services' own
//! `/metrics` pages (`--scrape`), a Prometheus-compatible API
//! (`--prometheus` with `--match`, in `prometheus`) and bodies producers
//! push (`POST /api/v1/metrics`, in `push`).
//!
//! Every input ends as the same updates the dashboard's sources send, so
//! the gateway's core keeps them as a dashboard's would; here is also the
//! way back, from what the core keeps to the points a `metrics` frame
//! carries to the screens.

pub mod prometheus;
pub mod push;

use crate::core::model::{Kind, MetricMeta, Observation, Sample, SourceId, SourceKind, Update};
use crate::gateway::serve::ServeOptions;
use crate::sources::SourceStats;
use crate::sources::poller::{self, Pace};
use crate::wire::{self, MetricInfo, MetricKind, Point, PointValue, WireNum};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Starts a reader for every input the options name, each sending its
/// updates to `tx`; none when the gateway only simulates.
pub async fn spawn(
    opts: &ServeOptions,
    cancel: CancellationToken,
    tx: mpsc::Sender<Update>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let inputs = &opts.inputs;
    inputs.check().map_err(anyhow::Error::msg)?;
    if !inputs.real() {
        return Ok(Vec::new());
    }
    let tls = tokio::task::spawn_blocking(|| crate::sources::tls::client_config(None)).await??;
    let http = crate::sources::tls::http_client(&tls)?;
    let interval = opts.interval.max(std::time::Duration::from_millis(100));
    let interval_ms = interval.as_millis() as i64;
    // A read may take most of an interval, never less than a few seconds.
    let timeout = interval.max(std::time::Duration::from_secs(5));
    let pace = Pace { every: interval, timeout };
    let mut tasks = Vec::new();
    let mut next_id = 1u16;
    for spec in &inputs.scrape {
        let id = SourceId(next_id);
        next_id += 1;
        let (job, url) = named(spec);
        let mut extra = crate::sources::scrape::poll::target_labels(url, &job);
        extra.insert("service".into(), job.clone());
        let stats = Arc::new(SourceStats::for_source(id, SourceKind::Scrape, &job, url, interval_ms));
        let page = Page { url: url.to_string(), http: http.clone(), timeout, extra, id, interval_ms, sent: Vec::new() };
        tasks.push(tokio::spawn(poller::run(page, pace, stats, tx.clone(), cancel.clone())));
    }
    if let Some(base) = &inputs.prometheus {
        let id = SourceId(next_id);
        let client = crate::sources::prometheus::api::Client::new(http.clone(), base, None, timeout);
        let stats = Arc::new(SourceStats::for_source(id, SourceKind::Prometheus, "prometheus", base, interval_ms));
        let upstream = prometheus::Upstream::new(id, client, inputs.matches.clone(), interval_ms);
        tasks.push(tokio::spawn(poller::run(upstream, pace, stats, tx.clone(), cancel.clone())));
    }
    Ok(tasks)
}

/// A `--scrape` value: `NAME=URL` names the service (its `job` and
/// `service` labels); a bare URL is named by its host and port.
pub fn named(spec: &str) -> (String, &str) {
    match spec.split_once('=') {
        Some((name, url)) if !name.is_empty() && !name.contains("://") && !name.contains('/') => {
            (name.to_string(), url)
        }
        _ => (crate::sources::scrape::poll::default_job(spec), spec),
    }
}

/// Gives a series without a `service` label its `job` as one, which is
/// what the dashboard's pages and the shipped rules group by.
pub fn with_service(update: &mut Update) {
    if let Update::Samples { observations, .. } = update {
        for o in observations {
            if !o.key.labels.contains_key("service")
                && let Some(job) = o.key.labels.get("job").cloned()
            {
                o.key.labels.insert("service".into(), job);
            }
        }
    }
}

/// What one read of an input gives: a catalogue when its metric names
/// changed since `sent` (which it updates), then its samples, each series
/// with a `service` label.
fn read_out(
    sent: &mut Vec<String>,
    metas: Vec<MetricMeta>,
    observations: Vec<Observation>,
    interval_ms: i64,
    source: SourceId,
) -> Vec<Update> {
    let mut out = Vec::new();
    let mut names: Vec<String> = metas.iter().map(|m| m.name.clone()).collect();
    names.sort();
    if names != *sent {
        out.push(Update::Catalogue { metrics: metas, interval_ms, source });
        *sent = names;
    }
    let mut samples = Update::Samples { observations, live: true, seq: None, source };
    with_service(&mut samples);
    out.push(samples);
    out
}

/// One service's `/metrics` page, read as the dashboard's scrape source
/// reads it, but handing on only the series the page exposes: the golden
/// signals are worked out by each screen from these, by the same
/// catalogue, so the gateway adds no names of its own.
struct Page {
    url: String,
    http: reqwest::Client,
    timeout: std::time::Duration,
    /// `job` and `instance`, put on every series.
    extra: crate::core::model::Labels,
    id: SourceId,
    interval_ms: i64,
    /// The metric names the catalogue was last sent with.
    sent: Vec<String>,
}

impl poller::Polled for Page {
    async fn read(&mut self) -> Result<Vec<Update>, String> {
        let (text, openmetrics) =
            crate::sources::scrape::poll::fetch_page(&self.http, &self.url, None, self.timeout).await?;
        let now = wire::now_ms();
        let parsed = crate::sources::scrape::parse_as(&text, openmetrics);
        if let Some(e) = parsed.errors.first() {
            tracing::warn!(url = %self.url, line = e.line, reason = %e.reason, bad = parsed.error_count, "bad lines on a scraped page");
        }
        let (metas, observations) = crate::sources::scrape::to_observations(&parsed.families, now, &self.extra);
        Ok(read_out(&mut self.sent, metas, observations, self.interval_ms, self.id))
    }
}

/// An observation as a point of a `metrics` frame.
pub fn point(o: &Observation) -> Point {
    let (value, histogram) = wire_value(&o.sample);
    Point { metric: o.key.metric.clone(), labels: o.key.labels.clone(), value, histogram }
}

/// A sample as a point carries it: a value or a histogram.
fn wire_value(sample: &Sample) -> (Option<PointValue>, Option<wire::Histogram>) {
    match sample {
        Sample::Number(v) => (Some(PointValue::Number(WireNum(*v))), None),
        Sample::Text(t) => (Some(PointValue::Text(t.to_string())), None),
        Sample::Histogram(h) => (
            None,
            Some(wire::Histogram {
                buckets: h.buckets.iter().map(|(le, c)| (WireNum(*le), WireNum(*c))).collect(),
                sum: WireNum(h.sum),
                count: WireNum(h.count),
            }),
        ),
    }
}

/// [`point`] for an observation the caller is done with: its name and
/// labels move into the point.
pub fn into_point(o: Observation) -> Point {
    let (value, histogram) = wire_value(&o.sample);
    Point { metric: o.key.metric, labels: o.key.labels, value, histogram }
}

/// Observations grouped by their time, oldest first, as the points of one
/// frame each: a frame has one timestamp.
pub fn into_frames(observations: Vec<Observation>) -> Vec<(i64, Vec<Point>)> {
    let mut by_time: std::collections::BTreeMap<i64, Vec<Point>> = std::collections::BTreeMap::new();
    for o in observations {
        by_time.entry(o.ts).or_default().push(into_point(o));
    }
    by_time.into_iter().collect()
}

/// A catalogue entry as `hello` lists it.
pub fn metric_info(m: &MetricMeta) -> MetricInfo {
    let kind = match m.kind {
        Kind::Gauge => MetricKind::Gauge,
        Kind::Counter => MetricKind::Counter,
        Kind::Histogram => MetricKind::Histogram,
        Kind::Status => MetricKind::Status,
    };
    MetricInfo { name: m.name.clone(), kind, unit: m.unit.clone(), help: m.help.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::SeriesKey;
    use crate::sources::convert;
    use std::sync::Arc;

    #[test]
    fn points_go_back_to_what_they_came_from() {
        let h = crate::core::model::HistogramValue {
            buckets: vec![(0.5, 2.0), (f64::INFINITY, 3.0)],
            sum: 1.0,
            count: 3.0,
        };
        let obs = vec![
            Observation { key: SeriesKey::new("a").with("s", "x"), ts: 2_000, sample: Sample::Number(f64::NAN) },
            Observation { key: SeriesKey::new("b"), ts: 1_000, sample: Sample::Text(Arc::from("up")) },
            Observation { key: SeriesKey::new("c"), ts: 2_000, sample: Sample::Histogram(Arc::new(h)) },
        ];
        let frames = into_frames(obs.clone());
        assert_eq!(frames.iter().map(|(t, p)| (*t, p.len())).collect::<Vec<_>>(), [(1_000, 1), (2_000, 2)]);
        let back: Vec<Observation> = frames.iter().flat_map(|(t, p)| convert::observations(*t, p)).collect();
        assert_eq!(back[0], obs[1]);
        assert_eq!(back[2], obs[2]);
        assert!(matches!(back[1].sample, Sample::Number(v) if v.is_nan()));
        // And through JSON, as a screen reads them.
        let json = serde_json::to_string(&frames[1].1).unwrap();
        assert!(json.contains(r#""value":"NaN""#) && json.contains(r#"["+Inf",3.0]"#), "{json}");
    }
}
