//! Wire frames into domain updates. Text was sanitised by the decoder.

use crate::core::model::{
    Alert, AlertState, Event, HistogramValue, Kind, MetricMeta, Observation, Origin, Sample, SeriesKey, Severity,
    SourceId, StatusBanner,
};
use crate::wire::{self, MetricKind, PointValue};
use std::sync::Arc;

pub fn kind(k: MetricKind) -> Kind {
    match k {
        MetricKind::Gauge | MetricKind::Unknown => Kind::Gauge,
        MetricKind::Counter => Kind::Counter,
        MetricKind::Histogram => Kind::Histogram,
        MetricKind::Status => Kind::Status,
    }
}

pub fn metric_meta(m: &wire::MetricInfo) -> MetricMeta {
    MetricMeta { name: m.name.clone(), kind: kind(m.kind), unit: m.unit.clone(), help: m.help.clone() }
}

pub fn histogram(h: &wire::Histogram) -> HistogramValue {
    HistogramValue { buckets: h.buckets.iter().map(|(le, c)| (le.0, c.0)).collect(), sum: h.sum.0, count: h.count.0 }
}

/// A value as the store keeps it; `None` when the point carries nothing usable.
pub fn sample(value: Option<&PointValue>, hist: Option<&wire::Histogram>) -> Option<Sample> {
    if let Some(h) = hist {
        return Some(Sample::Histogram(Arc::new(histogram(h))));
    }
    match value? {
        PointValue::Number(n) => Some(Sample::Number(n.0)),
        PointValue::Text(t) => Some(Sample::Text(Arc::from(t.as_str()))),
    }
}

pub fn observations(ts: i64, points: &[wire::Point]) -> Vec<Observation> {
    points
        .iter()
        .filter_map(|p| {
            let sample = sample(p.value.as_ref(), p.histogram.as_ref())?;
            Some(Observation { key: SeriesKey { metric: p.metric.clone(), labels: p.labels.clone() }, ts, sample })
        })
        .collect()
}

/// [`observations`] for points the caller owns: names and labels move into
/// the series keys instead of being copied, which is most of the cost of
/// turning a decoded frame into store input.
pub fn into_observations(ts: i64, points: Vec<wire::Point>) -> Vec<Observation> {
    points
        .into_iter()
        .filter_map(|p| {
            let sample = owned_sample(p.value, p.histogram)?;
            Some(Observation { key: SeriesKey { metric: p.metric, labels: p.labels }, ts, sample })
        })
        .collect()
}

/// [`sample`] for owned parts: the bucket list is converted where it lies.
fn owned_sample(value: Option<PointValue>, hist: Option<wire::Histogram>) -> Option<Sample> {
    if let Some(h) = hist {
        // `(WireNum, WireNum)` and `(f64, f64)` have one layout, so this
        // collect reuses the allocation instead of making a new one.
        let buckets = h.buckets.into_iter().map(|(le, c)| (le.0, c.0)).collect();
        return Some(Sample::Histogram(Arc::new(HistogramValue { buckets, sum: h.sum.0, count: h.count.0 })));
    }
    match value? {
        PointValue::Number(n) => Some(Sample::Number(n.0)),
        PointValue::Text(t) => Some(Sample::Text(Arc::from(t))),
    }
}

pub fn alert(a: &wire::AlertFrame, now_ms: i64) -> Alert {
    let state = match a.state.to_ascii_lowercase().as_str() {
        "firing" => AlertState::Firing,
        "pending" => AlertState::Pending,
        "nodata" => AlertState::NoData,
        _ => AlertState::Resolved,
    };
    Alert {
        id: a.id.clone(),
        // A gateway's alerts reach the dashboard only over its link, which
        // is always source 0.
        origin: Origin::Gateway { source: SourceId::GATEWAY },
        state,
        severity: Severity::parse(&a.severity),
        metric: a.metric.clone(),
        labels: a.labels.clone(),
        value: a.value.map(|v| v.0),
        threshold: a.threshold.map(|v| v.0),
        summary: a.summary.clone(),
        starts_at: a.starts_at.map(|t| t.0),
        ends_at: a.ends_at.map(|t| t.0),
        updated_ms: now_ms,
        open_start: false,
    }
}

/// What a gateway's book says of the alert, as its frame carries it.
pub fn marks(a: &wire::AlertFrame) -> crate::core::alert::upstream::Marks {
    let m = &a.marks;
    crate::core::alert::upstream::Marks {
        acked_by: m.acked_by.clone(),
        acked_at_ms: m.acked_at.map(|t| t.0),
        silenced: m.silenced_until.map(|t| (t.0, m.silenced_by.clone().unwrap_or_default())),
        silence_ids: m.silence_ids.clone(),
    }
}

pub fn event(e: &wire::EventFrame) -> Event {
    Event { ts: e.timestamp.0, kind: e.kind.clone(), text: e.text.clone(), labels: e.labels.clone() }
}

/// A status frame as a banner; statuses that say all is well clear it.
pub fn status(s: &wire::StatusFrame, now_ms: i64) -> Option<StatusBanner> {
    let clear = matches!(s.status.to_ascii_lowercase().as_str(), "ok" | "healthy" | "live" | "normal" | "");
    (!clear).then(|| StatusBanner {
        status: s.status.clone(),
        message: s.message.clone(),
        freshness: s.data_freshness.clone(),
        since_ms: now_ms,
    })
}
