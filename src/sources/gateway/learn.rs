//! What a stream that announces nothing teaches by its data. SSE and a
//! WebSocket server that never says `hello` name no metrics and no
//! interval; the client works both out from what arrives: each new
//! metric's kind from its value and name, the interval from the spacing of
//! the first frames. Pure, so the guesses are unit-tested.

use crate::core::model::{Kind, MetricMeta};
use crate::wire;

/// The most metrics remembered; past it, new names still flow as data but
/// are not backfilled, so a server inventing names cannot grow the list.
pub const MAX_LEARNED: usize = 512;

/// Frames whose spacing decides the interval.
const PACE_FRAMES: usize = 5;
/// The learned interval stays within these bounds (ms): a server bursting
/// faster does not make the time grid absurdly fine, and one silent for an
/// hour between two frames is not a pace.
const PACE_BOUNDS: (i64, i64) = (100, 3_600_000);

/// The kind a point suggests: buckets make a histogram, text a status, a
/// number named like a Prometheus counter (`…_total`, as the protocol's
/// examples are) a counter, and any other number a gauge.
pub fn kind_of(p: &wire::Point) -> Kind {
    match (&p.histogram, &p.value) {
        (Some(_), _) => Kind::Histogram,
        (None, Some(wire::PointValue::Text(_))) => Kind::Status,
        _ if p.metric.ends_with("_total") => Kind::Counter,
        _ => Kind::Gauge,
    }
}

/// Adds the metrics of `points` that `catalogue` lacks, with the kind their
/// first point suggests; returns whether any was added.
pub fn add_metrics(catalogue: &mut Vec<MetricMeta>, points: &[wire::Point]) -> bool {
    let mut added = false;
    for p in points {
        if catalogue.len() >= MAX_LEARNED {
            break;
        }
        if !catalogue.iter().any(|m| m.name == p.metric) {
            catalogue.push(MetricMeta {
                name: p.metric.clone(),
                kind: kind_of(p),
                unit: String::new(),
                help: String::new(),
            });
            added = true;
        }
    }
    added
}

/// The interval of a stream, learned from the timestamps of its first
/// data frames.
#[derive(Debug, Clone, Default)]
pub struct Pace {
    stamps: Vec<i64>,
    learned: Option<i64>,
}

impl Pace {
    /// Notes a data frame's timestamp; gives the interval once, when the
    /// first frames have shown it: the median of their spacings, so one
    /// late or doubled frame does not decide it.
    pub fn note(&mut self, ts: i64) -> Option<i64> {
        if self.learned.is_some() || self.stamps.last().is_some_and(|&last| ts <= last) {
            return None;
        }
        self.stamps.push(ts);
        if self.stamps.len() < PACE_FRAMES {
            return None;
        }
        let mut gaps: Vec<i64> = self.stamps.windows(2).map(|w| w[1] - w[0]).collect();
        gaps.sort_unstable();
        let interval = gaps[gaps.len() / 2].clamp(PACE_BOUNDS.0, PACE_BOUNDS.1);
        self.stamps = Vec::new();
        self.learned = Some(interval);
        self.learned
    }

    pub fn learned(&self) -> Option<i64> {
        self.learned
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Histogram, Point, PointValue, WireNum};

    fn point(metric: &str, value: Option<PointValue>, histogram: Option<Histogram>) -> Point {
        Point { metric: metric.into(), labels: Default::default(), value, histogram }
    }

    #[test]
    fn kinds_follow_values_and_counter_names() {
        let n = |v| Some(PointValue::Number(WireNum(v)));
        let h =
            Histogram { buckets: vec![(WireNum(f64::INFINITY), WireNum(3.0))], sum: WireNum(1.0), count: WireNum(3.0) };
        assert_eq!(kind_of(&point("active_users", n(1250.0), None)), Kind::Gauge);
        assert_eq!(kind_of(&point("http_requests_total", n(10.0), None)), Kind::Counter);
        assert_eq!(kind_of(&point("system_health", Some(PointValue::Text("healthy".into())), None)), Kind::Status);
        assert_eq!(kind_of(&point("latency_seconds", None, Some(h))), Kind::Histogram);
        // A status named like a counter is still a status.
        assert_eq!(kind_of(&point("odd_total", Some(PointValue::Text("x".into())), None)), Kind::Status);
    }

    #[test]
    fn metrics_are_added_once_and_up_to_the_cap() {
        let mut catalogue = Vec::new();
        let points = [point("a", None, None), point("b_total", None, None), point("a", None, None)];
        assert!(add_metrics(&mut catalogue, &points));
        let names: Vec<&str> = catalogue.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["a", "b_total"]);
        assert_eq!(catalogue[1].kind, Kind::Counter);
        assert!(!add_metrics(&mut catalogue, &points[..1]));
        let many: Vec<Point> = (0..MAX_LEARNED + 10).map(|i| point(&format!("m{i}"), None, None)).collect();
        add_metrics(&mut catalogue, &many);
        assert_eq!(catalogue.len(), MAX_LEARNED);
    }

    #[test]
    fn the_pace_is_the_median_spacing_of_the_first_frames() {
        let mut pace = Pace::default();
        // A late frame and a repeated timestamp do not sway it.
        let stamps = [0, 200, 200, 400, 1_100, 1_300];
        let said: Vec<Option<i64>> = stamps.iter().map(|&t| pace.note(t)).collect();
        assert_eq!(said, [None, None, None, None, None, Some(200)]);
        assert_eq!(pace.learned(), Some(200));
        // Said once only.
        assert_eq!(pace.note(1_500), None);

        let mut fast = Pace::default();
        let said: Vec<Option<i64>> = (0..5).map(|i| fast.note(i * 10)).collect();
        assert_eq!(said.last(), Some(&Some(100)), "bursts are read as the shortest sensible pace");
    }
}
