//! A scrape source: reads a service's own `/metrics` page every interval,
//! in the Prometheus text format or OpenMetrics, and hands on every series
//! it holds (labelled with `job` and `instance`, as Prometheus would) and
//! the golden signals worked out from them, each named for what it is
//! (`traffic_requests_per_second`, `error_ratio`, `latency_p99_seconds`,
//! `saturation_cpu_cores`, ...). A bad line is counted and skipped; the
//! rest of the page still counts.

use crate::core::model::{Labels, MetricMeta, Observation, Sample, SeriesKey, SourceId, Update};
use crate::core::store::{Live, Store};
use crate::sources::SourceStats;
use crate::sources::auth::Auth;
use crate::sources::poller::{self, Pace, Polled};
use crate::sources::scrape::{self, Golden};
use crate::wire::now_ms;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Largest page read, in bytes.
pub const MAX_PAGE: usize = 64 << 20;
/// What a scrape asks for: OpenMetrics first, as Prometheus does.
const ACCEPT: &str = "application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

pub struct Options {
    pub id: SourceId,
    pub name: String,
    pub url: String,
    /// The `job` label of every series (the `instance` is the URL's host and port).
    pub job: String,
    pub http: reqwest::Client,
    pub auth: Option<Auth>,
    pub interval: Duration,
    pub timeout: Duration,
    pub stats: Arc<SourceStats>,
}

/// The labels every series of a scrape gets: `job`, and `instance` from the URL.
pub fn target_labels(url: &str, job: &str) -> Labels {
    let instance = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
        .unwrap_or_else(|| url.to_string());
    Labels::from([("job".to_string(), job.to_string()), ("instance".to_string(), instance)])
}

/// The default `job` of a scrape: the URL's host and port.
pub fn default_job(url: &str) -> String {
    target_labels(url, "")["instance"].clone()
}

/// Runs until cancelled or until nobody listens.
pub async fn run(opts: Options, tx: mpsc::Sender<Update>, cancel: CancellationToken) {
    let pace = Pace { every: opts.interval, timeout: opts.timeout };
    let stats = opts.stats.clone();
    let extra = target_labels(&opts.url, &opts.job);
    let scrape = Scrape { opts, extra, state: Derived::default() };
    poller::run(scrape, pace, stats, tx, cancel).await;
}

/// A scrape target, and what its earlier pages left to work from.
struct Scrape {
    opts: Options,
    /// `job` and `instance`, put on every series.
    extra: Labels,
    state: Derived,
}

impl Polled for Scrape {
    async fn read(&mut self) -> Result<Vec<Update>, String> {
        let opts = &self.opts;
        let (text, openmetrics) = fetch(opts).await?;
        let now = now_ms();
        let parsed = scrape::parse_as(&text, openmetrics);
        let bad = parsed.error_count;
        SourceStats::bump(&opts.stats.frames, 1);
        SourceStats::bump(&opts.stats.bytes, text.len() as u64);
        SourceStats::bump(&opts.stats.malformed, bad as u64);
        let mut updates = Vec::new();
        if let Some(e) = parsed.errors.first() {
            updates.push(Update::Malformed(format!("{}: line {}: {} ({bad} bad lines)", opts.name, e.line, e.reason)));
        }
        let (metas, observations) = scrape::to_observations(&parsed.families, now, &self.extra);
        SourceStats::bump(&opts.stats.points, observations.len() as u64);
        let interval_ms = opts.interval.as_millis() as i64;
        updates.extend(self.state.scraped(&metas, &observations, now, interval_ms, opts.id));
        Ok(updates)
    }
}

/// Reads the page: its text and whether it is OpenMetrics.
async fn fetch(opts: &Options) -> Result<(String, bool), String> {
    fetch_page(&opts.http, &opts.url, opts.auth.as_ref(), opts.timeout).await
}

/// Reads a `/metrics` page as a scrape does (the gateway's scrapes too):
/// its text and whether it is OpenMetrics.
pub async fn fetch_page(
    http: &reqwest::Client,
    url: &str,
    auth: Option<&Auth>,
    timeout: Duration,
) -> Result<(String, bool), String> {
    let request = http.get(url).header(reqwest::header::ACCEPT, ACCEPT).timeout(timeout);
    let request = crate::sources::auth::apply(auth, request).map_err(|e| e.to_string())?;
    let mut response = request.send().await.map_err(|e| crate::sources::error_chain(&e.without_url()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    let openmetrics = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/openmetrics-text"));
    let read = crate::sources::read_capped(&mut response, MAX_PAGE)
        .await
        .map_err(|e| crate::sources::error_chain(&e.without_url()))?;
    let Some(body) = read else {
        return Err(format!("page larger than {} MiB", MAX_PAGE >> 20));
    };
    Ok((String::from_utf8_lossy(&body).into_owned(), openmetrics))
}

/// What a scrape source keeps between scrapes to work out golden signals:
/// the signals found, and the few series they read.
#[derive(Default)]
pub struct Derived {
    golden: Option<Golden>,
    /// The metric names the catalogue was last sent with.
    catalogue: Vec<String>,
    store: Store,
}

impl Derived {
    /// The updates one scrape makes: a catalogue when the page's metrics
    /// changed, its series, and the golden signals worked out so far.
    pub fn scraped(
        &mut self,
        metas: &[MetricMeta],
        observations: &[Observation],
        now: i64,
        interval_ms: i64,
        source: SourceId,
    ) -> Vec<Update> {
        let mut out = Vec::new();
        // In order, so a page that lists the same metrics differently is the same page.
        let mut names: Vec<String> = metas.iter().map(|m| m.name.clone()).collect();
        names.sort();
        if names != self.catalogue {
            out.push(Update::Catalogue { metrics: metas.to_vec(), interval_ms, source });
            // A page whose metrics changed (a restart, a new version) is looked at afresh.
            self.golden = Some(scrape::detect(metas, observations));
            self.store = Store::default();
            self.catalogue = names;
        }
        let golden = self.golden.as_ref().expect("set with the catalogue");
        let wanted = read_by(golden);
        self.store.learn(metas);
        let live = Some(Live::at(now, interval_ms, 0, source));
        for o in observations.iter().filter(|o| wanted.contains(&o.key.metric.as_str())) {
            self.store.insert(o, live);
        }
        out.push(Update::Samples { observations: observations.to_vec(), live: true, seq: None, source });
        let derived: Vec<Observation> = scrape::derive(golden, &self.store, now)
            .into_iter()
            .map(|d| Observation {
                key: SeriesKey { metric: d.name, labels: d.labels },
                ts: now,
                sample: Sample::Number(d.value),
            })
            .collect();
        if !derived.is_empty() {
            out.push(Update::Samples { observations: derived, live: true, seq: None, source });
        }
        out
    }
}

/// The metrics the golden signals read.
fn read_by(g: &Golden) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    out.extend(g.traffic.iter().map(|q| q.metric.as_str()));
    if let Some((e, t)) = &g.errors {
        out.extend([e.metric.as_str(), t.metric.as_str()]);
    }
    out.extend(g.latency.iter().map(|q| q.metric.as_str()));
    for s in &g.saturation {
        out.push(s.query.metric.as_str());
        out.extend(s.divide_by.iter().map(|q| q.metric.as_str()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_labelled_as_prometheus_labels_them() {
        let l = target_labels("http://app.internal:8000/metrics", "shop");
        assert_eq!((l["job"].as_str(), l["instance"].as_str()), ("shop", "app.internal:8000"));
        assert_eq!(default_job("https://app/metrics"), "app:443");
    }

    #[test]
    fn two_scrapes_give_the_golden_signals_named_for_what_they_are() {
        let page = |n: u64| {
            format!(
                "# TYPE http_requests_total counter\n\
                 http_requests_total{{status=\"200\"}} {}\n\
                 http_requests_total{{status=\"500\"}} {}\n\
                 # TYPE http_request_duration_seconds histogram\n\
                 http_request_duration_seconds_bucket{{le=\"0.1\"}} {}\n\
                 http_request_duration_seconds_bucket{{le=\"1\"}} {}\n\
                 http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n\
                 http_request_duration_seconds_sum 0\n\
                 http_request_duration_seconds_count {}\n",
                95 * n,
                5 * n,
                90 * n,
                100 * n,
                100 * n,
                100 * n
            )
        };
        let extra = target_labels("http://app:8000/metrics", "app");
        let mut d = Derived::default();
        let mut last = Vec::new();
        for (i, at) in [0i64, 5_000, 10_000].into_iter().enumerate() {
            let parsed = scrape::parse(&page(1 + i as u64));
            assert!(parsed.errors.is_empty());
            let (metas, obs) = scrape::to_observations(&parsed.families, at, &extra);
            last = d.scraped(&metas, &obs, at, 5_000, SourceId(3));
            if i == 0 {
                assert!(matches!(last[0], Update::Catalogue { .. }), "the first scrape announces its metrics");
            }
        }
        let Some(Update::Samples { observations, .. }) = last.last() else { panic!("{last:?}") };
        let value = |name: &str| observations.iter().find(|o| o.key.metric == name).and_then(|o| o.sample.as_number());
        // 100 requests every 5 s, 5 of them failed; 90% under 0.1 s.
        assert_eq!(value("traffic_requests_per_second"), Some(20.0));
        assert_eq!(value("error_ratio"), Some(0.05));
        let p99 = value("latency_p99_seconds").unwrap();
        assert!((0.1..=1.0).contains(&p99), "{p99}");
        assert_eq!(observations[0].key.labels["job"], "app");
    }
}
