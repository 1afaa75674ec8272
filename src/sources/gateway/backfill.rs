//! REST backfill: fetch a span of history for every metric, so a gap left by
//! a lost frame, a reset or a restart is filled instead of silently drawn flat.

use crate::core::model::{MetricMeta, Observation, SeriesKey};
use crate::sources::convert;
use crate::wire::{self, HistoricalResponse};
use futures_util::{Stream, StreamExt, stream};
use std::time::Duration;

/// Most points asked for per series in one request.
const MAX_POINTS: i64 = 900;

/// A span of history to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Exclusive start, ms since the epoch.
    pub from_ms: i64,
    /// Inclusive end.
    pub to_ms: i64,
    /// Preferred spacing; widened when the span would need too many points.
    pub step_ms: i64,
}

impl Span {
    /// Granularity actually asked for: at least `step_ms`, at most [`MAX_POINTS`] points.
    pub fn granularity(&self) -> i64 {
        let len = (self.to_ms - self.from_ms).max(1);
        let step = self.step_ms.max(1).max((len + MAX_POINTS - 1) / MAX_POINTS);
        // Whole seconds read better in logs and suit every gateway; keep
        // sub-second steps only when the stream itself is that fast.
        if step >= 1000 { (step + 999) / 1000 * 1000 } else { step }
    }
}

/// Fetches `span` of every metric in `metrics` from `base` (e.g.
/// `http://host:port`), a few metrics at a time. Each metric's points come
/// out as soon as they are read, so the caller can hand them on and memory
/// holds a few answers at once rather than the whole span of every metric.
pub fn fetch(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    metrics: &[MetricMeta],
    span: Span,
) -> impl Stream<Item = Result<Vec<Observation>, String>> + Send + 'static {
    // Owned inputs per request keep the futures 'static, for spawn.
    let requests: Vec<_> = metrics
        .iter()
        .map(|m| {
            let (client, base, token, name) =
                (client.clone(), base.to_string(), token.map(str::to_string), m.name.clone());
            async move { fetch_metric(&client, &base, token.as_deref(), &name, span).await }
        })
        .collect();
    stream::iter(requests).buffer_unordered(4)
}

async fn fetch_metric(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    metric: &str,
    span: Span,
) -> Result<Vec<Observation>, String> {
    let step = span.granularity();
    let period = (span.to_ms - span.from_ms).max(step);
    let url = format!("{base}{}", wire::HISTORICAL_PATH);
    let query = [
        ("metric", metric.to_string()),
        ("period", wire::format_duration_ms(period)),
        ("granularity", wire::format_duration_ms(step)),
        ("end", wire::format_time(span.to_ms)),
    ];
    let mut req = client.get(&url).query(&query).timeout(Duration::from_secs(15));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.map_err(|e| format!("backfill {metric}: {}", crate::sources::error_chain(&e)))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("backfill {metric}: HTTP {}", status.as_u16()));
    }
    let bytes = resp.bytes().await.map_err(|e| format!("backfill {metric}: {e}"))?;
    if bytes.len() > 64 << 20 {
        return Err(format!("backfill {metric}: answer of {} bytes is too large", bytes.len()));
    }
    let body: HistoricalResponse =
        serde_json::from_slice(&bytes).map_err(|e| format!("backfill {metric}: bad answer: {e}"))?;
    let mut out = Vec::new();
    for series in &body.series {
        let labels = wire::sanitize_labels(&series.labels);
        for p in &series.data {
            if p.timestamp.0 <= span.from_ms || p.timestamp.0 > span.to_ms {
                continue;
            }
            let value = match &p.value {
                Some(wire::PointValue::Text(t)) => Some(wire::PointValue::Text(wire::sanitize(t))),
                other => other.clone(),
            };
            if let Some(sample) = convert::sample(value.as_ref(), p.histogram.as_ref()) {
                let key = SeriesKey { metric: metric.to_string(), labels: labels.clone() };
                out.push(Observation { key, ts: p.timestamp.0, sample });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn granularity_widens_for_long_spans() {
        let s = Span { from_ms: 0, to_ms: 900_000, step_ms: 1000 };
        assert_eq!(s.granularity(), 1000);
        let s = Span { from_ms: 0, to_ms: 3_600_000, step_ms: 1000 };
        assert_eq!(s.granularity(), 4000);
        let s = Span { from_ms: 0, to_ms: 5_000, step_ms: 100 };
        assert_eq!(s.granularity(), 100);
    }
}
