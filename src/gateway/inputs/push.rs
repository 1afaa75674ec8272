//! Reading a pushed body for `POST /api/v1/metrics`: a `metrics` frame
//! (its `points`, with an optional `timestamp`) or a flat snapshot object.
//!
//! A client's decoder skips a bad point and keeps the rest, because a
//! screen should show what it can. A push is the other way round: the
//! producer is there to be told, and half a batch applied is a batch that
//! cannot simply be sent again. So the whole body is judged before anything
//! of it is used, and the first fault is named by its path
//! (`points[3].histogram.buckets[1]`).

use crate::wire::{Histogram, Labels, MetricKind, Point, PointValue, WireNum, parse_special, parse_time};
use serde_json::{Map, Value};

/// Longest metric or label name taken.
const MAX_NAME: usize = 256;
/// Longest label value or status text taken, in characters: what a
/// client shows before it cuts text short.
const MAX_TEXT: usize = crate::wire::MAX_TEXT;

/// A body that passed: its points, the time they are for (`None`: now),
/// and the kind each metric was read as.
#[derive(Debug, Clone, PartialEq)]
pub struct Pushed {
    pub timestamp: Option<i64>,
    pub points: Vec<Point>,
    pub kinds: Vec<(String, MetricKind)>,
}

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IngestError {
    /// Not what the protocol allows: 400, with where.
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    /// More points than one request may carry: 413.
    #[error("{count} points in one request, over the limit of {limit}")]
    TooMany { count: usize, limit: usize },
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> IngestError {
    IngestError::Invalid { path: path.into(), message: message.into() }
}

/// Where a value lies in the body. It is spelt out only for an error: a
/// body that passes (thousands of points) allocates no path at all.
#[derive(Clone, Copy)]
enum At<'a> {
    /// A snapshot's metric name, quoted, as sent.
    Name(&'a str),
    /// A snapshot's metric value, by the metric's name.
    Key(&'a str),
    /// `points[i]`.
    Point(usize),
    /// A fixed field of what `.0` is.
    Field(&'a At<'a>, &'static str),
    /// A label of the point `.0`'s labels, by its name as sent.
    Label(&'a At<'a>, &'a str),
    /// `buckets[i]` of the histogram `.0`.
    Bucket(&'a At<'a>, usize),
}

impl At<'_> {
    fn path(&self) -> String {
        match self {
            At::Name(key) => format!("{:?}", clip(key)),
            At::Key(key) => clip(key),
            At::Point(i) => format!("points[{i}]"),
            At::Field(of, name) => format!("{}.{name}", of.path()),
            At::Label(of, name) => format!("{}.{}", of.path(), clip(name)),
            At::Bucket(of, i) => format!("{}.buckets[{i}]", of.path()),
        }
    }

    fn invalid(&self, message: impl Into<String>) -> IngestError {
        invalid(self.path(), message)
    }
}

/// Judges a whole body. `known` gives the kind a metric already has in the
/// gateway, so a push cannot turn a counter into text.
pub fn parse(
    body: &[u8],
    max_points: usize,
    known: impl Fn(&str) -> Option<MetricKind>,
) -> Result<Pushed, IngestError> {
    let (timestamp, points) = match fast::frame(body, max_points) {
        Some(taken) => taken,
        None => careful(body, max_points)?,
    };
    let mut kinds: Vec<(String, MetricKind)> = Vec::new();
    for (i, p) in points.iter().enumerate() {
        let kind = kind_of(p);
        let had = kinds.iter().find(|(m, _)| *m == p.metric).map(|(_, k)| *k).or_else(|| known(&p.metric));
        match had {
            Some(had) if !compatible(had, kind) => {
                let path = if p.histogram.is_some() { "histogram" } else { "value" };
                return Err(invalid(
                    format!("points[{i}].{path}"),
                    format!("{} is a {}, not a {}", p.metric, kind_name(had), kind_name(kind)),
                ));
            }
            Some(_) => {}
            None => kinds.push((p.metric.clone(), kind)),
        }
    }
    Ok(Pushed { timestamp, points, kinds })
}

/// The whole body through a `serde_json::Value`, judged field by field so
/// the first fault is named by its path. Every body the fast path declines
/// comes here, so the two never disagree on what is refused.
fn careful(body: &[u8], max_points: usize) -> Result<(Option<i64>, Vec<Point>), IngestError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| invalid("$", format!("not JSON: {e}")))?;
    let Value::Object(mut obj) = value else {
        return Err(invalid("$", "expected an object: a metrics frame or a flat snapshot"));
    };
    let timestamp = match obj.get("timestamp") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            parse_time(s).ok_or_else(|| invalid("timestamp", "not an RFC 3339 time such as 2025-06-30T10:30:00Z"))?,
        ),
        Some(_) => return Err(invalid("timestamp", "expected an RFC 3339 string")),
    };
    let points = match obj.get("type") {
        Some(Value::String(t)) if t == "metrics" => frame_points(&mut obj, max_points)?,
        Some(Value::String(t)) => {
            return Err(invalid("type", format!("only \"metrics\" frames are taken, not {:?}", clip(t))));
        }
        Some(_) => return Err(invalid("type", "expected a string")),
        None => snapshot_points(obj, max_points)?,
    };
    Ok((timestamp, points))
}

/// The kind a pushed point is read as: a histogram is one, text is a
/// status, and a number is a counter when its name ends in `_total` (the
/// Prometheus naming rule producers already follow), a gauge otherwise.
fn kind_of(p: &Point) -> MetricKind {
    match (&p.value, &p.histogram) {
        (_, Some(_)) => MetricKind::Histogram,
        (Some(PointValue::Text(_)), _) => MetricKind::Status,
        _ if p.metric.ends_with("_total") => MetricKind::Counter,
        _ => MetricKind::Gauge,
    }
}

/// Numbers go with numbers: a name the gateway knows as a gauge may be
/// pushed with `_total`-free numbers however it was first learnt.
fn compatible(had: MetricKind, now: MetricKind) -> bool {
    let numeric = |k| matches!(k, MetricKind::Gauge | MetricKind::Counter | MetricKind::Unknown);
    had == now || (numeric(had) && numeric(now))
}

fn kind_name(k: MetricKind) -> &'static str {
    match k {
        MetricKind::Gauge | MetricKind::Unknown => "gauge",
        MetricKind::Counter => "counter",
        MetricKind::Histogram => "histogram",
        MetricKind::Status => "status",
    }
}

/// The points of a frame, their names and texts moved out of the parsed
/// body rather than copied.
fn frame_points(obj: &mut Map<String, Value>, max_points: usize) -> Result<Vec<Point>, IngestError> {
    let raw = match obj.remove("points") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(invalid("points", "expected an array")),
        None => return Err(invalid("points", "missing: a metrics frame carries its points")),
    };
    if raw.len() > max_points {
        return Err(IngestError::TooMany { count: raw.len(), limit: max_points });
    }
    raw.into_iter().enumerate().map(|(i, p)| point(p, At::Point(i))).collect()
}

fn snapshot_points(obj: Map<String, Value>, max_points: usize) -> Result<Vec<Point>, IngestError> {
    let count = obj.keys().filter(|k| *k != "timestamp").count();
    if count > max_points {
        return Err(IngestError::TooMany { count, limit: max_points });
    }
    let mut points = Vec::with_capacity(count);
    for (key, value) in obj {
        if key == "timestamp" {
            continue;
        }
        check_name(&key, At::Name(&key))?;
        let value = scalar(value, At::Key(&key))?;
        points.push(Point { metric: key, labels: Labels::new(), value: Some(value), histogram: None });
    }
    Ok(points)
}

fn point(raw: Value, at: At) -> Result<Point, IngestError> {
    let Value::Object(mut p) = raw else {
        return Err(at.invalid("expected an object"));
    };
    let metric_at = At::Field(&at, "metric");
    let metric = match p.remove("metric") {
        Some(Value::String(s)) => s,
        Some(_) => return Err(metric_at.invalid("expected a string")),
        None => return Err(metric_at.invalid("missing")),
    };
    check_name(&metric, metric_at)?;
    let labels_at = At::Field(&at, "labels");
    let labels = match p.remove("labels") {
        None | Some(Value::Null) => Labels::new(),
        Some(Value::Object(l)) => labels(l, labels_at)?,
        Some(_) => return Err(labels_at.invalid("expected an object of strings")),
    };
    let value = match p.remove("value") {
        None | Some(Value::Null) => None,
        Some(v) => Some(scalar(v, At::Field(&at, "value"))?),
    };
    let histogram = match p.get("histogram") {
        None | Some(Value::Null) => None,
        Some(h) => Some(histogram(h, At::Field(&at, "histogram"))?),
    };
    match (&value, &histogram) {
        (None, None) => Err(at.invalid("needs a `value` or a `histogram`")),
        (Some(_), Some(_)) => Err(at.invalid("has both `value` and `histogram`; send one")),
        _ => Ok(Point { metric, labels, value, histogram }),
    }
}

fn labels(l: Map<String, Value>, at: At) -> Result<Labels, IngestError> {
    if l.len() > crate::wire::MAX_LABELS {
        return Err(at.invalid(format!("{} labels, over the limit of {}", l.len(), crate::wire::MAX_LABELS)));
    }
    let mut out = Labels::new();
    for (k, v) in l {
        let here = At::Label(&at, &k);
        if k.is_empty() || k.len() > MAX_NAME || !label_name(&k) {
            return Err(here.invalid("a label name is [a-zA-Z_][a-zA-Z0-9_]*"));
        }
        let Value::String(v) = v else {
            return Err(here.invalid("expected a string"));
        };
        check_text(&v, here)?;
        out.insert(k, v);
    }
    Ok(out)
}

/// A number, one of the protocol's spellings of a non-finite one, or a
/// status text.
fn scalar(v: Value, at: At) -> Result<PointValue, IngestError> {
    match v {
        Value::Number(n) => {
            n.as_f64().map(|f| PointValue::Number(WireNum(f))).ok_or_else(|| at.invalid("number out of range"))
        }
        Value::String(s) => match parse_special(&s) {
            Some(f) => Ok(PointValue::Number(WireNum(f))),
            None => {
                check_text(&s, at)?;
                Ok(PointValue::Text(s))
            }
        },
        _ => Err(at.invalid("expected a number, \"NaN\", \"+Inf\", \"-Inf\" or a status text")),
    }
}

fn number(v: &Value, at: At) -> Result<f64, IngestError> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| at.invalid("number out of range")),
        Value::String(s) => parse_special(s).ok_or_else(|| at.invalid("expected a number")),
        _ => Err(at.invalid("expected a number")),
    }
}

/// Cumulative buckets with rising bounds and counts that never fall, as
/// every reader of a histogram assumes.
fn histogram(h: &Value, at: At) -> Result<Histogram, IngestError> {
    let Value::Object(h) = h else {
        return Err(at.invalid("expected an object with buckets, sum and count"));
    };
    let buckets_at = At::Field(&at, "buckets");
    let Some(Value::Array(raw)) = h.get("buckets") else {
        return Err(buckets_at.invalid("expected an array of [bound, count] pairs"));
    };
    if raw.is_empty() || raw.len() > crate::wire::MAX_BUCKETS {
        return Err(buckets_at.invalid(format!(
            "between 1 and {} buckets, not {}",
            crate::wire::MAX_BUCKETS,
            raw.len()
        )));
    }
    let mut buckets = Vec::with_capacity(raw.len());
    let mut last: Option<(f64, f64)> = None;
    for (i, b) in raw.iter().enumerate() {
        let here = At::Bucket(&at, i);
        let pair = match b {
            Value::Array(pair) if pair.len() == 2 => pair,
            _ => return Err(here.invalid("expected a [bound, count] pair")),
        };
        let le = number(&pair[0], here)?;
        let count = number(&pair[1], here)?;
        if le.is_nan() || !count.is_finite() || count < 0.0 {
            return Err(here.invalid("a bound is a number and a count is finite and not negative"));
        }
        if let Some((le0, c0)) = last {
            if le <= le0 {
                return Err(here.invalid("bounds must rise"));
            }
            if count < c0 {
                return Err(here.invalid("counts are cumulative and must not fall"));
            }
        }
        last = Some((le, count));
        buckets.push((WireNum(le), WireNum(count)));
    }
    let sum = match h.get("sum") {
        None => 0.0,
        Some(v) => number(v, At::Field(&at, "sum"))?,
    };
    let count = match h.get("count") {
        // The +Inf bucket holds every observation when there is one.
        None => last.filter(|(le, _)| *le == f64::INFINITY).map(|(_, c)| c).unwrap_or(0.0),
        Some(v) => number(v, At::Field(&at, "count"))?,
    };
    Ok(Histogram { buckets, sum: WireNum(sum), count: WireNum(count) })
}

/// The fast path for what nearly every producer sends: a `metrics` frame of
/// numbers and texts, read straight into typed structs with no `Value`
/// tree and no copy of what it holds. Anything else it declines (`None`):
/// another shape, a histogram (whose buckets need the careful checks), or
/// any point the careful path would refuse. It judges points with the same
/// checks, so it takes exactly the bodies the careful path takes.
mod fast {
    use super::{At, MAX_NAME, check_name, check_text, label_name};
    use crate::wire::{Labels, Point, PointValue, WireNum, parse_special, parse_time};
    use serde::Deserialize;
    use serde::de::{self, Deserializer, IgnoredAny, Visitor};
    use std::borrow::Cow;
    use std::fmt;

    #[derive(Deserialize)]
    struct Frame<'a> {
        #[serde(rename = "type", borrow)]
        kind: Cow<'a, str>,
        #[serde(default, borrow)]
        timestamp: Option<Cow<'a, str>>,
        points: Vec<RawPoint>,
    }

    #[derive(Deserialize)]
    struct RawPoint {
        metric: String,
        #[serde(default)]
        labels: Option<Labels>,
        #[serde(default)]
        value: Option<Scalar>,
        #[serde(default)]
        histogram: Option<IgnoredAny>,
    }

    /// A pushed value: a number, the protocol's `"NaN"` and `"±Inf"`, or a
    /// status text. (Unlike a screen's decoder, a push takes no numbers
    /// spelt as strings: the producer is told, not guessed for.)
    struct Scalar(PointValue);

    impl<'de> Deserialize<'de> for Scalar {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(ScalarVisitor)
        }
    }

    struct ScalarVisitor;

    impl Visitor<'_> for ScalarVisitor {
        type Value = Scalar;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number or a string")
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
            Ok(Scalar(PointValue::Number(WireNum(v))))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
            Ok(Scalar(PointValue::Number(WireNum(v as f64))))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
            Ok(Scalar(PointValue::Number(WireNum(v as f64))))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
            self.visit_string(v.to_string())
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
            Ok(Scalar(match parse_special(&v) {
                Some(f) => PointValue::Number(WireNum(f)),
                None => PointValue::Text(v),
            }))
        }
    }

    /// The frame's time and points, when the whole body passes.
    pub(super) fn frame(body: &[u8], max_points: usize) -> Option<(Option<i64>, Vec<Point>)> {
        let frame: Frame = serde_json::from_slice(body).ok()?;
        if frame.kind != "metrics" || frame.points.len() > max_points {
            return None;
        }
        let timestamp = match &frame.timestamp {
            None => None,
            Some(t) => Some(parse_time(t)?),
        };
        let points = frame.points.into_iter().map(point).collect::<Option<Vec<Point>>>()?;
        Some((timestamp, points))
    }

    fn point(p: RawPoint) -> Option<Point> {
        // Only the verdict matters here: a fault sends the body to the
        // careful path, which names it.
        let here = At::Point(0);
        if p.histogram.is_some() || check_name(&p.metric, here).is_err() {
            return None;
        }
        let labels = p.labels.unwrap_or_default();
        if labels.len() > crate::wire::MAX_LABELS {
            return None;
        }
        for (k, v) in &labels {
            if k.is_empty() || k.len() > MAX_NAME || !label_name(k) || check_text(v, here).is_err() {
                return None;
            }
        }
        let value = p.value?.0;
        if let PointValue::Text(t) = &value {
            check_text(t, here).ok()?;
        }
        Some(Point { metric: p.metric, labels, value: Some(value), histogram: None })
    }
}

fn check_name(name: &str, at: At) -> Result<(), IngestError> {
    if name.is_empty() || name.len() > MAX_NAME || !crate::wire::valid_name(name) {
        return Err(at.invalid("a metric name is [a-zA-Z_:][a-zA-Z0-9_:]*"));
    }
    Ok(())
}

/// Text goes to screens: control characters are refused here rather than
/// stripped later, so the producer learns of them.
fn check_text(s: &str, at: At) -> Result<(), IngestError> {
    let chars = s.chars().count();
    if chars > MAX_TEXT {
        return Err(at.invalid(format!("text of {chars} characters, over the limit of {MAX_TEXT}")));
    }
    if s.chars().any(char::is_control) {
        return Err(at.invalid("control characters are not allowed"));
    }
    Ok(())
}

fn label_name(k: &str) -> bool {
    let mut chars = k.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A name quoted in an error, cut short and made printable.
fn clip(s: &str) -> String {
    let clean = crate::wire::sanitize(s);
    match clean.char_indices().nth(64) {
        Some((at, _)) => format!("{}…", &clean[..at]),
        None => clean,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(body: &str) -> Result<Pushed, IngestError> {
        parse(body.as_bytes(), 100, |m| (m == "system_health").then_some(MetricKind::Status))
    }

    fn path_of(body: &str) -> String {
        match parse_str(body) {
            Err(IngestError::Invalid { path, .. }) => path,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_metrics_frame_and_a_snapshot_are_both_taken() {
        let frame = parse_str(
            r#"{"type":"metrics","timestamp":"2025-06-30T10:30:01Z","points":[
                {"metric":"orders_per_minute","value":45},
                {"metric":"http_requests_total","labels":{"service":"checkout","status":"500"},"value":10234},
                {"metric":"lat","labels":{"service":"a"},"histogram":{"buckets":[[0.1,3],["+Inf",5]],"sum":1.5}}]}"#,
        )
        .unwrap();
        assert_eq!(frame.timestamp, parse_time("2025-06-30T10:30:01Z"));
        assert_eq!(frame.points.len(), 3);
        assert_eq!(frame.points[2].histogram.as_ref().unwrap().count, WireNum(5.0));
        assert_eq!(
            frame.kinds,
            vec![
                ("orders_per_minute".into(), MetricKind::Gauge),
                ("http_requests_total".into(), MetricKind::Counter),
                ("lat".into(), MetricKind::Histogram)
            ]
        );

        let snap = parse_str(r#"{"active_users":1250,"system_health":"healthy","load":"NaN"}"#).unwrap();
        assert_eq!(snap.timestamp, None);
        assert_eq!(snap.points.len(), 3);
        assert!(snap.kinds.iter().all(|(m, _)| m != "system_health"), "a known metric is not learnt again");
    }

    #[test]
    fn the_first_fault_is_named_by_its_path() {
        assert_eq!(path_of("[1,2]"), "$");
        assert_eq!(path_of(r#"{"type":"alert"}"#), "type");
        assert_eq!(path_of(r#"{"type":"metrics","timestamp":"yesterday","points":[]}"#), "timestamp");
        assert_eq!(
            path_of(r#"{"type":"metrics","points":[{"metric":"a","value":1},{"metric":"9a","value":1}]}"#),
            "points[1].metric"
        );
        assert_eq!(path_of(r#"{"type":"metrics","points":[{"metric":"a"}]}"#), "points[0]");
        assert_eq!(
            path_of(r#"{"type":"metrics","points":[{"metric":"a","labels":{"s":1},"value":1}]}"#),
            "points[0].labels.s"
        );
        assert_eq!(
            path_of(r#"{"type":"metrics","points":[{"metric":"h","histogram":{"buckets":[[1,5],[0.5,6]]}}]}"#),
            "points[0].histogram.buckets[1]"
        );
        assert_eq!(
            path_of(r#"{"type":"metrics","points":[{"metric":"h","histogram":{"buckets":[[1,5],[2,4]]}}]}"#),
            "points[0].histogram.buckets[1]"
        );
        assert_eq!(path_of(r#"{"type":"metrics","points":[{"metric":"a","value":[1]}]}"#), "points[0].value");
        assert_eq!(path_of("{\"a\":\"bad\\u001b[2J\"}"), "a");
    }

    #[test]
    fn kinds_cannot_change_inside_a_body_or_against_the_gateway() {
        assert_eq!(
            path_of(r#"{"type":"metrics","points":[{"metric":"a","value":1},{"metric":"a","value":"up"}]}"#),
            "points[1].value"
        );
        assert_eq!(path_of(r#"{"type":"metrics","points":[{"metric":"system_health","value":3}]}"#), "points[0].value");
        // Gauge and counter are both numbers; the name decides only a new metric's kind.
        assert!(parse_str(r#"{"type":"metrics","points":[{"metric":"x_total","value":1},{"metric":"x_total","labels":{"a":"b"},"value":2}]}"#).is_ok());
    }

    #[test]
    fn the_fast_path_takes_what_the_careful_path_takes_and_nothing_else() {
        let bodies = [
            r#"{"type":"metrics","timestamp":"2025-06-30T10:30:01Z","points":[{"metric":"a","value":1},{"metric":"b_total","labels":{"s":"x"},"value":"NaN"},{"metric":"h","value":"degraded","labels":null}]}"#,
            r#"{"type":"metrics","points":[{"metric":"a","value":-2.5e3,"extra":[1]}]}"#,
            r#"{"type":"metrics","points":[]}"#,
            r#"{"type":"metrics","timestamp":null,"points":[{"metric":"a","value":18446744073709551615}]}"#,
            r#"{"type":"metrics","points":[{"metric":"a","value":1,"value":2}]}"#,
            r#"{"type":"metrics","points":[{"metric":"9a","value":1}]}"#,
            r#"{"type":"metrics","points":[{"metric":"a","labels":{"9":"x"},"value":1}]}"#,
            r#"{"type":"metrics","points":[{"metric":"a","labels":{"s":1},"value":1}]}"#,
            "{\"type\":\"metrics\",\"points\":[{\"metric\":\"a\",\"value\":\"bad\\u001b\"}]}",
            r#"{"type":"metrics","points":[{"metric":"a","value":null}]}"#,
            r#"{"type":"metrics","points":[{"metric":"a","value":true}]}"#,
            r#"{"type":"metrics","points":[{"metric":"h","histogram":{"buckets":[[1,5]]}}]}"#,
            r#"{"type":"metrics","timestamp":"yesterday","points":[{"metric":"a","value":1}]}"#,
            r#"{"type":"alert","points":[{"metric":"a","value":1}]}"#,
            r#"{"active_users":5}"#,
        ];
        for body in bodies {
            let careful = careful(body.as_bytes(), 100);
            match fast::frame(body.as_bytes(), 100) {
                // Compared as printed: NaN is never equal to itself.
                Some(taken) => {
                    assert_eq!(format!("{:?}", Ok::<_, IngestError>(taken)), format!("{careful:?}"), "{body}")
                }
                // Declined: the careful path refuses it, or it is a shape
                // the fast path leaves alone (a histogram, a snapshot, a
                // field given twice).
                None => assert!(
                    careful.is_err()
                        || body.contains("histogram")
                        || !body.contains("\"type\"")
                        || body.contains(r#""value":1,"value""#),
                    "declined a body the careful path takes: {body}"
                ),
            }
        }
    }

    #[test]
    fn too_many_points_is_its_own_refusal() {
        let points: Vec<String> =
            (0..101).map(|i| format!(r#"{{"metric":"m","labels":{{"i":"{i}"}},"value":1}}"#)).collect();
        let body = format!(r#"{{"type":"metrics","points":[{}]}}"#, points.join(","));
        assert_eq!(parse_str(&body), Err(IngestError::TooMany { count: 101, limit: 100 }));
    }
}
