//! `vigil serve --prometheus URL --match SELECTOR`: the series a
//! Prometheus-compatible API holds, read once per interval for every screen.
//!
//! An instant query of a selector answers flat samples (`x_bucket{le=…}`,
//! `x_sum`, `x_count`), much as a `/metrics` page lists them. So the answer
//! is put back into metric families, with the types the server's metadata
//! gives, and from there goes the way a scraped page goes: one histogram
//! series per label set, summaries' quantiles as gauges, counters under the
//! name they were exposed with. A screen behind the gateway then sees the
//! same series whether the gateway scraped a service or read it from
//! Prometheus.

use crate::core::model::{Labels, SourceId, Update};
use crate::sources::poller::Polled;
use crate::sources::prometheus::api::{Client, Series};
use crate::sources::scrape::{Family, FamilyKind, RawSample, to_observations};
use crate::wire::now_ms;
use std::collections::{BTreeMap, HashMap};

/// How often the server's metadata is read again: types rarely change,
/// and a new metric is typed by its shape until then.
const METADATA_EVERY_MS: i64 = 10 * 60_000;

/// One Prometheus-compatible API and the selectors read from it.
pub struct Upstream {
    pub id: SourceId,
    pub client: Client,
    pub selectors: Vec<String>,
    pub interval_ms: i64,
    types: HashMap<String, String>,
    types_at: Option<i64>,
    /// The metric names the catalogue was last sent with.
    sent: Vec<String>,
}

impl Upstream {
    pub fn new(id: SourceId, client: Client, selectors: Vec<String>, interval_ms: i64) -> Upstream {
        Upstream { id, client, selectors, interval_ms, types: HashMap::new(), types_at: None, sent: Vec::new() }
    }
}

impl Polled for Upstream {
    /// Every selector at one instant, on a whole interval so that two
    /// gateways (or one restarted) read the same instants.
    async fn read(&mut self) -> Result<Vec<Update>, String> {
        let now = now_ms();
        if self.types_at.is_none_or(|t| now - t >= METADATA_EVERY_MS) {
            // A server that keeps no metadata (or refuses it) still answers
            // queries; shapes then decide the kinds.
            match self.client.metadata().await {
                Ok(types) => self.types = types,
                Err(e) => tracing::debug!(error = %e, "no metadata; metric kinds go by shape"),
            }
            self.types_at = Some(now);
        }
        let at = now.div_euclid(self.interval_ms.max(1)) * self.interval_ms.max(1);
        let mut series = Vec::new();
        for selector in &self.selectors {
            let answer = self.client.instant(selector, at).await.map_err(|e| format!("{selector}: {e}"))?;
            if answer.dropped > 0 {
                tracing::warn!(
                    selector,
                    dropped = answer.dropped,
                    "a selector matched more series than one read takes"
                );
            }
            series.extend(answer.series);
        }
        let fams = families(&series, &self.types, at);
        let (metas, observations) = to_observations(&fams, at, &Labels::new());
        Ok(super::read_out(&mut self.sent, metas, observations, self.interval_ms, self.id))
    }
}

/// Suffixes a sample may add to its family's name, longest first so that
/// `_bucket` is tried before nothing.
pub(crate) const SUFFIXES: [&str; 5] = ["_bucket", "_count", "_total", "_sum", "_created"];

/// The families an instant answer holds, each sample at `at_ms`. `types`
/// is the server's metadata (family name to type word); a name it does not
/// know is typed by its shape: `_bucket` with `le` is a histogram, a
/// `quantile` label a summary, `_total` a counter, anything else a gauge.
pub fn families(series: &[Series], types: &HashMap<String, String>, at_ms: i64) -> Vec<Family> {
    // Shape first: which bases have buckets or quantiles in this answer.
    let mut bucketed: HashMap<&str, ()> = HashMap::new();
    let mut quantiled: HashMap<&str, ()> = HashMap::new();
    for s in series {
        let Some(name) = s.name.as_deref() else { continue };
        if let Some(base) = name.strip_suffix("_bucket").filter(|_| s.labels.contains_key("le")) {
            bucketed.insert(base, ());
        }
        if s.labels.contains_key("quantile") {
            quantiled.insert(name, ());
        }
    }
    let mut out: BTreeMap<String, Family> = BTreeMap::new();
    for s in series {
        let (Some(name), Some(&(_, value))) = (s.name.as_deref(), s.points.last()) else { continue };
        let (family, kind) = family_of(name, types, &bucketed, &quantiled);
        let f = out.entry(family.clone()).or_insert_with(|| Family {
            name: family,
            kind,
            help: String::new(),
            unit: String::new(),
            samples: Vec::new(),
        });
        f.samples.push(RawSample { name: name.to_string(), labels: s.labels.clone(), value, ts_ms: Some(at_ms) });
    }
    out.into_values().collect()
}

/// The family a sample name belongs to, and its kind.
fn family_of(
    name: &str,
    types: &HashMap<String, String>,
    bucketed: &HashMap<&str, ()>,
    quantiled: &HashMap<&str, ()>,
) -> (String, FamilyKind) {
    let declared = |n: &str| types.get(n).and_then(|t| FamilyKind::from_type(t));
    if let Some(kind) = declared(name) {
        // A counter declared under its `_total` name is its own family.
        if kind.takes_suffix("") {
            return (name.to_string(), kind);
        }
    }
    for suffix in SUFFIXES {
        let Some(base) = name.strip_suffix(suffix) else { continue };
        if let Some(kind) = declared(base).filter(|k| k.takes_suffix(suffix)) {
            return (base.to_string(), kind);
        }
        let shaped = match suffix {
            "_bucket" | "_count" | "_sum" if bucketed.contains_key(base) => Some(FamilyKind::Histogram),
            "_count" | "_sum" if quantiled.contains_key(base) => Some(FamilyKind::Summary),
            _ => None,
        };
        if let Some(kind) = shaped {
            return (base.to_string(), kind);
        }
    }
    if let Some(kind) = declared(name) {
        return (name.to_string(), kind);
    }
    let kind = if quantiled.contains_key(name) {
        FamilyKind::Summary
    } else if name.ends_with("_total") {
        FamilyKind::Counter
    } else {
        FamilyKind::Gauge
    };
    (name.to_string(), kind)
}

/// A selector as given to `--match`, checked enough to fail at start rather
/// than on every interval: braces balance and a bare name is a valid one.
pub fn check_selector(selector: &str) -> Result<(), String> {
    let s = selector.trim();
    if s.is_empty() {
        return Err("an empty selector matches nothing; try '{job=\"checkout\"}'".into());
    }
    let opens = s.matches('{').count();
    if opens != s.matches('}').count() || opens > 1 {
        return Err(format!("{s:?} is not one series selector such as '{{job=~\"checkout|payments\"}}'"));
    }
    let name = s.split('{').next().unwrap_or("").trim();
    if !name.is_empty() && !crate::wire::valid_name(name) {
        return Err(format!("{name:?} is not a metric name"));
    }
    if name.is_empty() && !s.starts_with('{') {
        return Err(format!("{s:?} is not a series selector"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, labels: &[(&str, &str)], v: f64) -> Series {
        Series {
            name: Some(name.to_string()),
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            points: vec![(1_000, v)],
        }
    }

    #[test]
    fn flat_samples_become_the_families_a_page_would_give() {
        let answer = vec![
            series("http_requests_total", &[("job", "shop"), ("code", "500")], 7.0),
            series("lat_seconds_bucket", &[("job", "shop"), ("le", "0.1")], 3.0),
            series("lat_seconds_bucket", &[("job", "shop"), ("le", "+Inf")], 5.0),
            series("lat_seconds_sum", &[("job", "shop")], 1.25),
            series("lat_seconds_count", &[("job", "shop")], 5.0),
            series("rpc_seconds", &[("job", "shop"), ("quantile", "0.99")], 0.3),
            series("rpc_seconds_count", &[("job", "shop")], 9.0),
            series("queue_depth", &[("job", "shop")], 4.0),
        ];
        // No metadata at all: the shapes decide.
        let fams = families(&answer, &HashMap::new(), 2_000);
        let kinds: Vec<(&str, FamilyKind)> = fams.iter().map(|f| (f.name.as_str(), f.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("http_requests_total", FamilyKind::Counter),
                ("lat_seconds", FamilyKind::Histogram),
                ("queue_depth", FamilyKind::Gauge),
                ("rpc_seconds", FamilyKind::Summary),
            ]
        );
        let (metas, obs) = to_observations(&fams, 2_000, &Labels::new());
        let hist = obs.iter().find(|o| o.key.metric == "lat_seconds").expect("one histogram series");
        match &hist.sample {
            crate::core::model::Sample::Histogram(h) => {
                assert_eq!(h.buckets, [(0.1, 3.0), (f64::INFINITY, 5.0)]);
                assert_eq!((h.sum, h.count), (1.25, 5.0));
            }
            other => panic!("not a histogram: {other:?}"),
        }
        assert!(!hist.key.labels.contains_key("le"));
        assert!(metas.iter().any(|m| m.name == "http_requests_total" && m.kind == crate::core::model::Kind::Counter));
        assert!(obs.iter().all(|o| o.ts == 2_000));
    }

    #[test]
    fn metadata_wins_over_shape() {
        // Declared a gauge, though it ends in _total.
        let answer = vec![series("odd_total", &[], 3.0), series("requests", &[], 9.0)];
        let types =
            HashMap::from([("odd_total".to_string(), "gauge".to_string()), ("requests".into(), "counter".into())]);
        let fams = families(&answer, &types, 0);
        assert_eq!(fams.iter().map(|f| f.kind).collect::<Vec<_>>(), [FamilyKind::Gauge, FamilyKind::Counter]);
    }

    #[test]
    fn selectors_are_checked_at_start() {
        assert!(check_selector(r#"{job=~"checkout|payments"}"#).is_ok());
        assert!(check_selector(r#"http_requests_total{code="500"}"#).is_ok());
        assert!(check_selector("up").is_ok());
        assert!(check_selector("").is_err());
        assert!(check_selector("{job=\"a\"").is_err());
        assert!(check_selector("rate(x[5m])").is_err());
    }
}
