//! A metrics frame written once for every reader. A push of thousands of
//! points goes to every session and to the SSE stream, each with its own
//! seq; serialising the whole frame per reader (and copying its points to
//! filter them) cost more than taking the push. Each point is written as
//! JSON once here; a reader's frame is its seq and time around the points it
//! wants, joined, and the list of every point is joined only once.

use crate::wire::{Point, format_time};
use std::borrow::Cow;
use std::cell::OnceCell;
use std::ops::Range;

/// Most bytes of points in one frame. The protocol lets either side refuse
/// a frame over 1 MiB, so a large push goes out as several frames of the
/// same time, well under it.
pub(crate) const FRAME_POINTS_BYTES: usize = 512 << 10;

/// The points of one frame, each already JSON.
pub(crate) struct PointsText<'a> {
    points: &'a [Point],
    texts: Vec<String>,
    /// The time, quoted, the same for every reader.
    time: String,
    /// Every point, joined into frame-sized runs (with the points each
    /// holds), once some reader wanted them all.
    all: OnceCell<Vec<(Range<usize>, String)>>,
    budget: usize,
}

impl<'a> PointsText<'a> {
    pub fn new(timestamp: i64, points: &'a [Point]) -> Self {
        Self::with_budget(timestamp, points, FRAME_POINTS_BYTES)
    }

    fn with_budget(timestamp: i64, points: &'a [Point], budget: usize) -> Self {
        // A point is names, labels and numbers: writing one cannot fail, and
        // one that did would be left out rather than break the frame.
        let texts = points.iter().map(|p| serde_json::to_string(p).unwrap_or_default()).collect();
        let time = serde_json::to_string(&format_time(timestamp)).unwrap_or_default();
        PointsText { points, texts, time, all: OnceCell::new(), budget }
    }

    /// The points `wants` keeps, as the `points` of one frame or several
    /// (see [`FRAME_POINTS_BYTES`]); none when it keeps none. Give each to
    /// [`PointsText::frame`] with its own seq.
    pub fn bodies(&self, wants: impl Fn(&str) -> bool) -> Vec<Cow<'_, str>> {
        let picked: Vec<usize> = (0..self.points.len()).filter(|&i| wants(&self.points[i].metric)).collect();
        if picked.len() == self.points.len() {
            return self.all().iter().map(|(_, body)| Cow::Borrowed(body.as_str())).collect();
        }
        self.join(picked.into_iter()).into_iter().map(|(_, body)| Cow::Owned(body)).collect()
    }

    fn all(&self) -> &[(Range<usize>, String)] {
        self.all.get_or_init(|| self.join(0..self.texts.len()))
    }

    /// Every point in frame-sized runs: which points each holds, and its
    /// body; for a reader that keeps the frames themselves.
    pub fn into_runs(self) -> Vec<(Range<usize>, String)> {
        self.all();
        self.all.into_inner().unwrap_or_default()
    }

    /// Runs of the picked points (which come in order), each with the range
    /// of points from its first to its last.
    fn join(&self, picked: impl Iterator<Item = usize>) -> Vec<(Range<usize>, String)> {
        let mut out = Vec::new();
        let mut body = String::new();
        let mut first = 0;
        let mut last = 0;
        for i in picked {
            let text = &self.texts[i];
            if !body.is_empty() && body.len() + text.len() + 1 > self.budget {
                out.push((first..last + 1, std::mem::take(&mut body)));
            }
            if body.is_empty() {
                first = i;
            } else {
                body.push(',');
            }
            body.push_str(text);
            last = i;
        }
        if !body.is_empty() {
            out.push((first..last + 1, body));
        }
        out
    }

    /// One frame, numbered `seq`, of a body from [`PointsText::bodies`].
    pub fn frame(&self, seq: u64, body: &str) -> String {
        frame(seq, &self.time, body)
    }

    /// The time as frames carry it, quoted.
    pub fn time(&self) -> &str {
        &self.time
    }
}

/// A metrics frame numbered `seq` at `time` (quoted) with `body` as its
/// points, as `ServerFrame::Metrics` serialises it.
pub(crate) fn frame(seq: u64, time: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + time.len() + 64);
    out.push_str(r#"{"type":"metrics","seq":"#);
    out.push_str(&seq.to_string());
    out.push_str(r#","timestamp":"#);
    out.push_str(time);
    out.push_str(r#","points":["#);
    out.push_str(body);
    out.push_str("]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Histogram, MetricsFrame, PointValue, ServerFrame, WireNum, WireTime};
    use serde_json::Value;

    fn point(metric: &str, value: PointValue) -> Point {
        Point {
            metric: metric.into(),
            labels: [("service".to_string(), "a \"quoted\" one".to_string())].into(),
            value: Some(value),
            histogram: None,
        }
    }

    fn sample() -> Vec<Point> {
        vec![
            point("orders", PointValue::Number(WireNum(41.5))),
            point("health", PointValue::Text("degraded\u{1}".into())),
            point("odd", PointValue::Number(WireNum(f64::NAN))),
            Point {
                metric: "lat".into(),
                labels: Default::default(),
                value: None,
                histogram: Some(Histogram {
                    buckets: vec![(WireNum(0.5), WireNum(2.0)), (WireNum(f64::INFINITY), WireNum(3.0))],
                    sum: WireNum(1.0),
                    count: WireNum(3.0),
                }),
            },
        ]
    }

    const T: i64 = 1_751_279_401_250;

    /// What serde writes for the frame, as a JSON value: NaN is written as
    /// a string, so the frames themselves would never compare equal.
    fn serde_frame(seq: u64, points: Vec<Point>) -> Value {
        let frame = ServerFrame::Metrics(MetricsFrame { seq: Some(seq), timestamp: WireTime(T), points });
        serde_json::to_value(&frame).unwrap()
    }

    fn json(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn a_written_frame_reads_back_as_the_frame_serde_writes() {
        let points = sample();
        let text = PointsText::new(T, &points);
        let all = text.bodies(|_| true);
        assert_eq!(all.len(), 1);
        assert_eq!(json(&text.frame(7, &all[0])), serde_frame(7, points.clone()));
        let some = text.bodies(|m| m == "lat" || m == "orders");
        let kept = vec![points[0].clone(), points[3].clone()];
        let frame = text.frame(9, &some[0]);
        assert_eq!(json(&frame), serde_frame(9, kept));
        assert!(text.bodies(|_| false).is_empty());
        // And a client decodes it, the text sanitised on the way in.
        let decoded = crate::wire::decode_frame(&text.frame(3, &all[0])).unwrap();
        assert!(
            matches!(decoded, crate::wire::Decoded::Frame { frame: ServerFrame::Metrics(m), skipped: 0 } if m.points.len() == 4)
        );
    }

    #[test]
    fn a_large_push_goes_out_in_frames_under_the_budget() {
        let points: Vec<Point> =
            (0..100).map(|i| point(&format!("m{i}"), PointValue::Number(WireNum(i as f64)))).collect();
        let one = serde_json::to_string(&points[0]).unwrap().len();
        let text = PointsText::with_budget(T, &points, one * 10 + 20);
        let bodies = text.bodies(|_| true);
        assert!(bodies.len() >= 9, "{} bodies", bodies.len());
        let runs = PointsText::with_budget(T, &points, one * 10 + 20).into_runs();
        assert_eq!(runs.iter().map(|(_, b)| b.as_str()).collect::<Vec<_>>(), bodies);
        assert!(runs.windows(2).all(|w| w[0].0.end == w[1].0.start) && runs.last().unwrap().0.end == 100);
        let mut back = Vec::new();
        for (i, body) in bodies.iter().enumerate() {
            assert!(body.len() <= one * 10 + 20);
            let Value::Object(frame) = json(&text.frame(i as u64 + 1, body)) else { panic!() };
            back.extend(frame["points"].as_array().unwrap().iter().map(|p| p["metric"].as_str().unwrap().to_string()));
        }
        let sent: Vec<String> = points.iter().map(|p| p.metric.clone()).collect();
        assert_eq!(back, sent, "every point once, in order");
    }
}
