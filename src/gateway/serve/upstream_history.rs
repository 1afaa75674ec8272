//! History past what the gateway holds, for `vigil serve --prometheus`:
//! the part of a `historical` request (or a screen's backfill, which is
//! one) that reaches before the gateway's own store is read from the
//! upstream with `query_range`, and put into the same series the live
//! reads publish (counters as counters, histograms from their buckets).
//!
//! Screens ask for the same spans: the last hour, the last fifteen
//! minutes. The upstream part is cut on the step grid, so equal spans from
//! different screens are one cache key, and a key being fetched is fetched
//! once however many ask meanwhile. Old steps never change and stay until
//! the cache needs the room; a span that reaches the last minutes is kept
//! one step, as its newest step may still move.

use super::rest::HistoryQuery;
use crate::core::model::{Labels, Observation, SourceId, Update};
use crate::gateway::inputs::{self, prometheus};
use crate::sources::prometheus::api::{Client, Series};
use crate::wire::{HistoricalPoint, HistoricalResponse, HistoricalSeries, WireTime};
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Most spans kept.
const MAX_ENTRIES: usize = 256;
/// Most bytes kept, roughly counted.
const MAX_BYTES: usize = 64 << 20;
/// A span ending later than this before now may still change upstream (a
/// late scrape, an instant read with the lookback reaching a newer sample).
const SETTLING_MS: i64 = 5 * 60_000;
/// How long a span that ends in the last minutes is kept: long enough
/// that screens arriving together share it, short enough that a late
/// scrape shows soon.
const RECENT_TTL_MS: i64 = 30_000;
/// A span starts on a multiple of this many steps, so that screens whose
/// windows begin a few steps apart (they connected a few seconds apart)
/// ask the same span; the steps before their window are left out of their
/// answers.
const BLOCK_STEPS: i64 = 60;
/// How long the upstream's metric types are trusted.
const TYPES_FOR_MS: i64 = 10 * 60_000;
/// How long one upstream read may take: a span of a day is a big answer.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The upstream's part of one historical request, on the step grid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Span {
    pub metric: String,
    /// First and last step, inclusive, both multiples of `step_ms`.
    pub from_ms: i64,
    pub to_ms: i64,
    pub step_ms: i64,
}

/// What the upstream holds of a metric over a span, published as the live
/// reads publish it: each series by its labels, points oldest first.
type Published = Arc<Vec<(Labels, Vec<HistoricalPoint>)>>;
type Flight = Shared<BoxFuture<'static, Result<Published, String>>>;
/// Family name to type word, as the upstream's metadata gives them.
type Types = Arc<HashMap<String, String>>;

struct Kept {
    series: Published,
    bytes: usize,
    /// When it must be read again; `None` for settled spans.
    stale_at: Option<i64>,
    used: u64,
}

#[derive(Default)]
struct Cache {
    spans: HashMap<Span, Kept>,
    bytes: usize,
    clock: u64,
}

impl Cache {
    fn get(&mut self, span: &Span, now_ms: i64) -> Option<Published> {
        self.clock += 1;
        let clock = self.clock;
        let kept = self.spans.get_mut(span)?;
        if kept.stale_at.is_some_and(|t| now_ms >= t) {
            let gone = self.spans.remove(span)?;
            self.bytes -= gone.bytes;
            return None;
        }
        kept.used = clock;
        Some(Arc::clone(&kept.series))
    }

    /// Keeps `series`, making room by dropping the least recently used.
    fn put(&mut self, span: Span, series: Published, stale_at: Option<i64>) {
        let bytes = weight(&series);
        if bytes > MAX_BYTES {
            return;
        }
        if let Some(old) = self.spans.remove(&span) {
            self.bytes -= old.bytes;
        }
        while !self.spans.is_empty() && (self.spans.len() >= MAX_ENTRIES || self.bytes + bytes > MAX_BYTES) {
            let Some(oldest) = self.spans.iter().min_by_key(|(_, k)| k.used).map(|(s, _)| s.clone()) else { break };
            if let Some(gone) = self.spans.remove(&oldest) {
                self.bytes -= gone.bytes;
            }
        }
        self.clock += 1;
        self.bytes += bytes;
        self.spans.insert(span, Kept { series, bytes, stale_at, used: self.clock });
    }
}

/// A rough size: labels and points, histograms by their buckets.
fn weight(series: &[(Labels, Vec<HistoricalPoint>)]) -> usize {
    series
        .iter()
        .map(|(labels, points)| {
            let labels: usize = labels.iter().map(|(k, v)| k.len() + v.len() + 48).sum();
            let points: usize =
                points.iter().map(|p| 64 + p.histogram.as_ref().map_or(0, |h| h.buckets.len() * 16)).sum();
            labels + points
        })
        .sum()
}

/// What the gateway counts of its upstream reads, for `GET /metrics`.
#[derive(Default)]
struct Counts {
    range_ok: AtomicU64,
    range_failed: AtomicU64,
    metadata: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    joined: AtomicU64,
}

/// The upstream behind `--prometheus`, as history's second source.
pub(crate) struct UpstreamHistory {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    selectors: Vec<String>,
    interval_ms: i64,
    /// The upstream's metric types, and when they were read.
    types: Mutex<Option<(i64, Types)>>,
    cache: Mutex<Cache>,
    flights: Mutex<HashMap<Span, Flight>>,
    counts: Counts,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl UpstreamHistory {
    /// A reader of `base` for the `--match` selectors.
    pub async fn connect(base: &str, selectors: &[String], interval_ms: i64) -> anyhow::Result<UpstreamHistory> {
        let tls = tokio::task::spawn_blocking(|| crate::sources::tls::client_config(None)).await??;
        let http = crate::sources::tls::http_client(&tls)?;
        let client = Client::new(http, base, None, READ_TIMEOUT);
        let inner = Inner {
            client,
            selectors: selectors.to_vec(),
            interval_ms: interval_ms.max(1),
            types: Mutex::new(None),
            cache: Mutex::new(Cache::default()),
            flights: Mutex::new(HashMap::new()),
            counts: Counts::default(),
        };
        Ok(UpstreamHistory { inner: Arc::new(inner) })
    }

    /// The upstream's part of `q` when the store's oldest point of the
    /// metric is `held_oldest`: the steps before it, on a grid of the
    /// query's granularity or coarser (never finer than the gateway reads).
    pub fn span(&self, q: &HistoryQuery, held_oldest: Option<i64>) -> Option<Span> {
        span_of(q, held_oldest, self.inner.interval_ms)
    }

    /// The series the upstream holds over `span`, from the cache, from a
    /// read already under way, or from a new one.
    pub async fn read(&self, span: Span, now_ms: i64) -> Result<Published, String> {
        let inner = &self.inner;
        if let Some(hit) = lock(&inner.cache).get(&span, now_ms) {
            inner.counts.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(hit);
        }
        let flight = {
            let mut flights = lock(&inner.flights);
            if let Some(f) = flights.get(&span) {
                inner.counts.joined.fetch_add(1, Ordering::Relaxed);
                f.clone()
            } else {
                inner.counts.misses.fetch_add(1, Ordering::Relaxed);
                // A task of its own: the read finishes, and is kept, even
                // when every screen that asked has gone away.
                let task = tokio::spawn(Inner::fetch(Arc::clone(inner), span.clone(), now_ms));
                let f = async move { task.await.unwrap_or_else(|_| Err("the upstream read was cut short".into())) }
                    .boxed()
                    .shared();
                flights.insert(span.clone(), f.clone());
                f
            }
        };
        flight.await
    }

    /// The counters in the Prometheus text format, for `GET /metrics`.
    pub fn render_metrics(&self, out: &mut String) {
        let c = &self.inner.counts;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let name = "vigil_gateway_upstream_requests_total";
        let _ = writeln!(
            out,
            "# HELP {name} Requests made to the --prometheus upstream for history, by API handler and result."
        );
        let _ = writeln!(out, "# TYPE {name} counter");
        let _ = writeln!(out, "{name}{{handler=\"query_range\",result=\"ok\"}} {}", get(&c.range_ok));
        let _ = writeln!(out, "{name}{{handler=\"query_range\",result=\"failed\"}} {}", get(&c.range_failed));
        let _ = writeln!(out, "{name}{{handler=\"metadata\",result=\"any\"}} {}", get(&c.metadata));
        let name = "vigil_gateway_history_cache_total";
        let _ = writeln!(
            out,
            "# HELP {name} Upstream history spans asked for: kept (hit), read (miss), or joined to a read under way."
        );
        let _ = writeln!(out, "# TYPE {name} counter");
        for (result, a) in [("hit", &c.hits), ("miss", &c.misses), ("joined", &c.joined)] {
            let _ = writeln!(out, "{name}{{result=\"{result}\"}} {}", get(a));
        }
    }
}

impl Inner {
    /// Reads `span` for every selector, publishes it, keeps it, and lets
    /// the next asker start a read of its own.
    async fn fetch(inner: Arc<Inner>, span: Span, now_ms: i64) -> Result<Published, String> {
        let read = inner.read_span(&span).await;
        if let Ok(series) = &read {
            let stale_at = (span.to_ms > now_ms - SETTLING_MS).then(|| now_ms + span.step_ms.max(RECENT_TTL_MS));
            lock(&inner.cache).put(span.clone(), Arc::clone(series), stale_at);
        }
        lock(&inner.flights).remove(&span);
        read
    }

    async fn read_span(&self, span: &Span) -> Result<Published, String> {
        let types = self.types().await;
        // A series two selectors both match is read twice but kept once.
        let mut all: BTreeMap<(Option<String>, Labels), Series> = BTreeMap::new();
        for query in queries(&span.metric, &self.selectors) {
            let answer = self.client.range(&query, span.from_ms, span.to_ms, span.step_ms).await;
            let answer = match answer {
                Ok(a) => {
                    self.counts.range_ok.fetch_add(1, Ordering::Relaxed);
                    a
                }
                Err(e) => {
                    self.counts.range_failed.fetch_add(1, Ordering::Relaxed);
                    return Err(format!("the upstream did not answer for the time before the gateway's store: {e}"));
                }
            };
            for s in answer.series {
                all.insert((s.name.clone(), s.labels.clone()), s);
            }
        }
        let metric = span.metric.clone();
        let series: Vec<Series> = all.into_values().collect();
        // Thousands of steps of every series: off the async workers.
        let published = tokio::task::spawn_blocking(move || published(&metric, &series, &types))
            .await
            .map_err(|_| "history could not be computed".to_string())?;
        Ok(Arc::new(published))
    }

    /// The upstream's metric types, read again every ten minutes; a
    /// server without metadata leaves the kinds to the series' shapes, as
    /// it does for the live reads.
    async fn types(&self) -> Types {
        let now = crate::wire::now_ms();
        if let Some((at, types)) = lock(&self.types).as_ref()
            && now - at < TYPES_FOR_MS
        {
            return Arc::clone(types);
        }
        self.counts.metadata.fetch_add(1, Ordering::Relaxed);
        let types = Arc::new(self.client.metadata().await.unwrap_or_default());
        *lock(&self.types) = Some((now, Arc::clone(&types)));
        types
    }
}

/// See [`UpstreamHistory::span`].
pub(crate) fn span_of(q: &HistoryQuery, held_oldest: Option<i64>, interval_ms: i64) -> Option<Span> {
    let g = q.granularity_ms.max(1);
    let mut stamps = q.timestamps();
    let first = stamps.next()?;
    let last = stamps.last().unwrap_or(first);
    // The store answers every step from the one its oldest point falls in.
    let before_held = held_oldest.map_or(last, |o| (o - 1).div_euclid(g) * g);
    // Prometheus steps are whole seconds at least, and the gateway reads
    // once an interval: a finer grid would only repeat points.
    let floor = interval_ms.max(1000);
    let step = if g >= floor { g } else { (floor + g - 1) / g * g };
    let block = step * BLOCK_STEPS;
    let from = first.div_euclid(block) * block;
    let to = last.min(before_held).div_euclid(step) * step;
    (from <= to).then(|| Span { metric: q.metric.clone(), from_ms: from, to_ms: to, step_ms: step })
}

/// The sample names a published metric may come from: itself, and the
/// names a family of it (or of its name less a suffix) exposes.
fn source_names(metric: &str) -> Vec<String> {
    let mut bases = vec![metric.to_string()];
    bases.extend(prometheus::SUFFIXES.iter().filter_map(|s| metric.strip_suffix(s)).map(str::to_string));
    let mut names: Vec<String> = bases
        .iter()
        .flat_map(|b| std::iter::once(b.clone()).chain(prometheus::SUFFIXES.iter().map(move |s| format!("{b}{s}"))))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// One range query per `--match` selector that can produce `metric`: the
/// selector narrowed to the metric's sample names (a selector naming
/// another metric gives none).
pub(crate) fn queries(metric: &str, selectors: &[String]) -> Vec<String> {
    let names = source_names(metric);
    let mut out = Vec::new();
    for selector in selectors {
        let s = selector.trim();
        let (name, inner) = match s.split_once('{') {
            Some((name, rest)) => (name.trim(), rest.trim_end().trim_end_matches('}').trim()),
            None => (s, ""),
        };
        if !name.is_empty() {
            if names.iter().any(|n| n == name) {
                out.push(s.to_string());
            }
            continue;
        }
        // Names are [a-zA-Z_:][a-zA-Z0-9_:]*: nothing in them is special to a regex.
        let wanted = format!("__name__=~\"{}\"", names.join("|"));
        out.push(if inner.is_empty() { format!("{{{wanted}}}") } else { format!("{{{wanted},{inner}}}") });
    }
    out.sort();
    out.dedup();
    out
}

/// A range answer as the live reads would have published it at each step:
/// the same families, kinds and `service` label, keeping only `metric`.
pub(crate) fn published(
    metric: &str,
    series: &[Series],
    types: &HashMap<String, String>,
) -> Vec<(Labels, Vec<HistoricalPoint>)> {
    let mut by_time: BTreeMap<i64, Vec<Series>> = BTreeMap::new();
    for s in series {
        for &(t, v) in &s.points {
            by_time.entry(t).or_default().push(Series {
                name: s.name.clone(),
                labels: s.labels.clone(),
                points: vec![(t, v)],
            });
        }
    }
    let mut out: BTreeMap<Labels, Vec<HistoricalPoint>> = BTreeMap::new();
    for (t, at) in by_time {
        let fams = prometheus::families(&at, types, t);
        let (_, observations) = crate::sources::scrape::to_observations(&fams, t, &Labels::new());
        let mut update = Update::Samples { observations, live: false, seq: None, source: SourceId::GATEWAY };
        inputs::with_service(&mut update);
        let Update::Samples { observations, .. } = update else { continue };
        for o in observations.into_iter().filter(|o| o.key.metric == metric) {
            let p = inputs::point(&o);
            let Observation { key, .. } = o;
            out.entry(key.labels).or_default().push(HistoricalPoint {
                timestamp: WireTime(t),
                value: p.value,
                histogram: p.histogram,
            });
        }
    }
    out.into_iter().collect()
}

/// The store's answer with the upstream's steps before it put in front,
/// series by series; the store wins where both have a step.
pub(crate) fn merge(
    mut held: HistoricalResponse,
    upstream: &[(Labels, Vec<HistoricalPoint>)],
    q: &HistoryQuery,
) -> HistoricalResponse {
    let mut series: BTreeMap<Labels, Vec<HistoricalPoint>> =
        held.series.drain(..).map(|s| (s.labels, s.data)).collect();
    // The span may start before the window asked for (see BLOCK_STEPS).
    let first = q.timestamps().next().unwrap_or(i64::MAX);
    for (labels, points) in upstream {
        if !q.matchers.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            continue;
        }
        let data = series.entry(labels.clone()).or_default();
        let first_held = data.first().map_or(i64::MAX, |p| p.timestamp.0);
        let mut joined: Vec<HistoricalPoint> =
            points.iter().filter(|p| p.timestamp.0 >= first && p.timestamp.0 < first_held).cloned().collect();
        joined.append(data);
        *data = joined;
    }
    held.series = series
        .into_iter()
        .filter(|(_, data)| !data.is_empty())
        .map(|(labels, data)| HistoricalSeries { labels, data })
        .collect();
    held.data = (held.series.len() == 1).then(|| held.series[0].data.clone());
    held
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)], now: i64) -> HistoryQuery {
        let pairs = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        HistoryQuery::parse(pairs, now).unwrap()
    }

    #[test]
    fn spans_are_cut_on_the_step_grid_before_the_store() {
        let now = 1_751_279_437_000; // 10:30:37
        let hour = q(&[("metric", "m"), ("period", "1h"), ("granularity", "1m")], now);
        // Nothing held: the whole span, its steps on the minute.
        let all = span_of(&hour, None, 1_000).unwrap();
        assert_eq!((all.from_ms % 3_600_000, all.to_ms % 60_000, all.step_ms), (0, 0, 60_000));
        assert_eq!(all.to_ms, 1_751_279_400_000);
        // From 09:00, which every window starting before 10:00 shares;
        // this one starts at 09:31.
        let window = hour.timestamps().next().unwrap();
        assert_eq!((all.from_ms, window), (1_751_277_600_000 - 3_600_000, 1_751_275_860_000));
        // Two screens a few seconds apart ask the same span.
        let later = q(&[("metric", "m"), ("period", "1h"), ("granularity", "1m")], now + 15_000);
        assert_eq!(span_of(&later, None, 1_000), Some(all.clone()));
        // Held since 10:12:30: the upstream gives the steps up to 10:12;
        // the store answers 10:13 on.
        let held = span_of(&hour, Some(1_751_278_350_000), 1_000).unwrap();
        assert_eq!((held.from_ms, held.to_ms), (all.from_ms, 1_751_278_320_000));
        // Held for the whole span: nothing to read.
        assert_eq!(span_of(&hour, Some(all.from_ms - 1), 1_000), None);
        // A grid finer than the gateway reads is read at its interval.
        let fine = q(&[("metric", "m"), ("period", "1m"), ("granularity", "1s")], now);
        let s = span_of(&fine, None, 2_000).unwrap();
        assert_eq!(s.step_ms, 2_000);
        assert_eq!((s.from_ms % 2_000, s.to_ms % 2_000), (0, 0));
    }

    #[test]
    fn queries_narrow_each_selector_to_the_metrics_samples() {
        let sel = vec![r#"{job=~"checkout|payments"}"#.to_string(), "up".to_string(), "{}".to_string()];
        let qs = queries("http_request_duration_seconds", &sel);
        assert_eq!(qs.len(), 2, "{qs:?}");
        assert!(
            qs.iter().any(|q| q.starts_with("{__name__=~\"") && q.ends_with(r#",job=~"checkout|payments"}"#)),
            "{qs:?}"
        );
        assert!(qs[0].contains("|http_request_duration_seconds_bucket|"), "{qs:?}");
        // A named selector only for its own metric.
        assert_eq!(queries("up", &sel[1..2]), ["up"]);
        assert!(queries("http_requests_total", &sel[1..2]).is_empty());
        // A counter's family name less its suffix is asked for too.
        assert!(source_names("http_requests_total").contains(&"http_requests".to_string()));
    }

    fn series(name: &str, labels: &[(&str, &str)], points: &[(i64, f64)]) -> Series {
        Series {
            name: Some(name.to_string()),
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            points: points.to_vec(),
        }
    }

    #[test]
    fn a_range_answer_is_published_as_the_live_reads_publish_it() {
        let answer = vec![
            series("lat_seconds_bucket", &[("job", "shop"), ("le", "0.1")], &[(1_000, 3.0), (2_000, 4.0)]),
            series("lat_seconds_bucket", &[("job", "shop"), ("le", "+Inf")], &[(1_000, 5.0), (2_000, 7.0)]),
            series("lat_seconds_sum", &[("job", "shop")], &[(1_000, 1.0), (2_000, 1.5)]),
            series("lat_seconds_count", &[("job", "shop")], &[(1_000, 5.0), (2_000, 7.0)]),
        ];
        let out = published("lat_seconds", &answer, &HashMap::new());
        assert_eq!(out.len(), 1);
        let (labels, points) = &out[0];
        // The job becomes the service, as live; `le` goes into the buckets.
        assert_eq!(labels.get("service").map(String::as_str), Some("shop"));
        assert!(!labels.contains_key("le"));
        assert_eq!(points.iter().map(|p| p.timestamp.0).collect::<Vec<_>>(), [1_000, 2_000]);
        let h = points[1].histogram.as_ref().expect("a histogram");
        assert_eq!(h.count.0, 7.0);
        assert_eq!(h.buckets.len(), 2);
        // Only the metric asked for.
        assert!(published("queue_depth", &answer, &HashMap::new()).is_empty());
    }

    #[test]
    fn the_store_wins_and_the_upstream_fills_what_lies_before() {
        let query = q(&[("metric", "m"), ("period", "5m"), ("granularity", "1m")], 600_000);
        let point = |t: i64, v: f64| HistoricalPoint {
            timestamp: WireTime(t),
            value: Some(crate::wire::PointValue::Number(crate::wire::WireNum(v))),
            histogram: None,
        };
        let labels: Labels = [("service".to_string(), "a".to_string())].into();
        let held = HistoricalResponse {
            metric: "m".into(),
            period: "5m".into(),
            granularity: "1m".into(),
            series: vec![HistoricalSeries {
                labels: labels.clone(),
                data: vec![point(480_000, 8.0), point(540_000, 9.0)],
            }],
            data: None,
            partial: None,
        };
        let upstream = vec![(labels, vec![point(360_000, 6.0), point(420_000, 7.0), point(480_000, 80.0)])];
        let merged = merge(held, &upstream, &query);
        let data = merged.data.expect("one series");
        let values: Vec<i64> = data.iter().map(|p| p.timestamp.0).collect();
        assert_eq!(values, [360_000, 420_000, 480_000, 540_000]);
        assert_eq!(data[2], point(480_000, 8.0));
    }

    #[test]
    fn the_cache_is_bounded_and_the_newest_steps_go_stale() {
        let mut cache = Cache::default();
        let span = |i: i64| Span { metric: "m".into(), from_ms: i, to_ms: i, step_ms: 1 };
        for i in 0..(MAX_ENTRIES as i64 + 10) {
            cache.put(span(i), Arc::new(Vec::new()), None);
        }
        assert_eq!(cache.spans.len(), MAX_ENTRIES);
        // The least recently used went first.
        assert!(cache.get(&span(0), 0).is_none());
        assert!(cache.get(&span(MAX_ENTRIES as i64 + 9), 0).is_some());
        cache.put(span(-1), Arc::new(Vec::new()), Some(100));
        assert!(cache.get(&span(-1), 99).is_some());
        assert!(cache.get(&span(-1), 100).is_none());
    }
}
