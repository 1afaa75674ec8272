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

use crate::core::model::{Kind, MetricMeta, Observation, Sample};
use crate::wire::{self, MetricInfo, MetricKind, Point, PointValue, WireNum};

/// An observation as a point of a `metrics` frame.
pub fn point(o: &Observation) -> Point {
    let (value, histogram) = match &o.sample {
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
    };
    Point { metric: o.key.metric.clone(), labels: o.key.labels.clone(), value, histogram }
}

/// Observations grouped by their time, oldest first, as the points of one
/// frame each: a frame has one timestamp.
pub fn frames(observations: &[Observation]) -> Vec<(i64, Vec<Point>)> {
    let mut by_time: std::collections::BTreeMap<i64, Vec<Point>> = std::collections::BTreeMap::new();
    for o in observations {
        by_time.entry(o.ts).or_default().push(point(o));
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
        let frames = frames(&obs);
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
