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

/// Judges a whole body. `known` gives the kind a metric already has in the
/// gateway, so a push cannot turn a counter into text.
pub fn parse(
    body: &[u8],
    max_points: usize,
    known: impl Fn(&str) -> Option<MetricKind>,
) -> Result<Pushed, IngestError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| invalid("$", format!("not JSON: {e}")))?;
    let Value::Object(obj) = value else {
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
        Some(Value::String(t)) if t == "metrics" => frame_points(&obj, max_points)?,
        Some(Value::String(t)) => {
            return Err(invalid("type", format!("only \"metrics\" frames are taken, not {:?}", clip(t))));
        }
        Some(_) => return Err(invalid("type", "expected a string")),
        None => snapshot_points(&obj, max_points)?,
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

fn frame_points(obj: &Map<String, Value>, max_points: usize) -> Result<Vec<Point>, IngestError> {
    let raw = match obj.get("points") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(invalid("points", "expected an array")),
        None => return Err(invalid("points", "missing: a metrics frame carries its points")),
    };
    if raw.len() > max_points {
        return Err(IngestError::TooMany { count: raw.len(), limit: max_points });
    }
    raw.iter().enumerate().map(|(i, p)| point(p, &format!("points[{i}]"))).collect()
}

fn snapshot_points(obj: &Map<String, Value>, max_points: usize) -> Result<Vec<Point>, IngestError> {
    let count = obj.keys().filter(|k| *k != "timestamp").count();
    if count > max_points {
        return Err(IngestError::TooMany { count, limit: max_points });
    }
    let mut points = Vec::with_capacity(count);
    for (key, value) in obj {
        if key == "timestamp" {
            continue;
        }
        check_name(key, &format!("{key:?}"))?;
        let value = scalar(value, &clip(key))?;
        points.push(Point { metric: key.clone(), labels: Labels::new(), value: Some(value), histogram: None });
    }
    Ok(points)
}

fn point(raw: &Value, path: &str) -> Result<Point, IngestError> {
    let Value::Object(p) = raw else {
        return Err(invalid(path, "expected an object"));
    };
    let metric = match p.get("metric") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(invalid(format!("{path}.metric"), "expected a string")),
        None => return Err(invalid(format!("{path}.metric"), "missing")),
    };
    check_name(&metric, &format!("{path}.metric"))?;
    let labels = match p.get("labels") {
        None | Some(Value::Null) => Labels::new(),
        Some(Value::Object(l)) => labels(l, &format!("{path}.labels"))?,
        Some(_) => return Err(invalid(format!("{path}.labels"), "expected an object of strings")),
    };
    let value = match p.get("value") {
        None | Some(Value::Null) => None,
        Some(v) => Some(scalar(v, &format!("{path}.value"))?),
    };
    let histogram = match p.get("histogram") {
        None | Some(Value::Null) => None,
        Some(h) => Some(histogram(h, &format!("{path}.histogram"))?),
    };
    match (&value, &histogram) {
        (None, None) => Err(invalid(path, "needs a `value` or a `histogram`")),
        (Some(_), Some(_)) => Err(invalid(path, "has both `value` and `histogram`; send one")),
        _ => Ok(Point { metric, labels, value, histogram }),
    }
}

fn labels(l: &Map<String, Value>, path: &str) -> Result<Labels, IngestError> {
    if l.len() > crate::wire::MAX_LABELS {
        return Err(invalid(path, format!("{} labels, over the limit of {}", l.len(), crate::wire::MAX_LABELS)));
    }
    let mut out = Labels::new();
    for (k, v) in l {
        let here = format!("{path}.{}", clip(k));
        if k.is_empty() || k.len() > MAX_NAME || !label_name(k) {
            return Err(invalid(here, "a label name is [a-zA-Z_][a-zA-Z0-9_]*"));
        }
        let Value::String(v) = v else {
            return Err(invalid(here, "expected a string"));
        };
        check_text(v, &here)?;
        out.insert(k.clone(), v.clone());
    }
    Ok(out)
}

/// A number, one of the protocol's spellings of a non-finite one, or a
/// status text.
fn scalar(v: &Value, path: &str) -> Result<PointValue, IngestError> {
    match v {
        Value::Number(n) => {
            n.as_f64().map(|f| PointValue::Number(WireNum(f))).ok_or_else(|| invalid(path, "number out of range"))
        }
        Value::String(s) => match parse_special(s) {
            Some(f) => Ok(PointValue::Number(WireNum(f))),
            None => {
                check_text(s, path)?;
                Ok(PointValue::Text(s.clone()))
            }
        },
        _ => Err(invalid(path, "expected a number, \"NaN\", \"+Inf\", \"-Inf\" or a status text")),
    }
}

fn number(v: &Value, path: &str) -> Result<f64, IngestError> {
    match scalar(v, path)? {
        PointValue::Number(WireNum(f)) => Ok(f),
        PointValue::Text(_) => Err(invalid(path, "expected a number")),
    }
}

/// Cumulative buckets with rising bounds and counts that never fall, as
/// every reader of a histogram assumes.
fn histogram(h: &Value, path: &str) -> Result<Histogram, IngestError> {
    let Value::Object(h) = h else {
        return Err(invalid(path, "expected an object with buckets, sum and count"));
    };
    let Some(Value::Array(raw)) = h.get("buckets") else {
        return Err(invalid(format!("{path}.buckets"), "expected an array of [bound, count] pairs"));
    };
    if raw.is_empty() || raw.len() > crate::wire::MAX_BUCKETS {
        return Err(invalid(
            format!("{path}.buckets"),
            format!("between 1 and {} buckets, not {}", crate::wire::MAX_BUCKETS, raw.len()),
        ));
    }
    let mut buckets = Vec::with_capacity(raw.len());
    let mut last: Option<(f64, f64)> = None;
    for (i, b) in raw.iter().enumerate() {
        let here = format!("{path}.buckets[{i}]");
        let pair = match b {
            Value::Array(pair) if pair.len() == 2 => pair,
            _ => return Err(invalid(here, "expected a [bound, count] pair")),
        };
        let le = number(&pair[0], &here)?;
        let count = number(&pair[1], &here)?;
        if le.is_nan() || !count.is_finite() || count < 0.0 {
            return Err(invalid(here, "a bound is a number and a count is finite and not negative"));
        }
        if let Some((le0, c0)) = last {
            if le <= le0 {
                return Err(invalid(here, "bounds must rise"));
            }
            if count < c0 {
                return Err(invalid(here, "counts are cumulative and must not fall"));
            }
        }
        last = Some((le, count));
        buckets.push((WireNum(le), WireNum(count)));
    }
    let sum = match h.get("sum") {
        None => 0.0,
        Some(v) => number(v, &format!("{path}.sum"))?,
    };
    let count = match h.get("count") {
        // The +Inf bucket holds every observation when there is one.
        None => last.filter(|(le, _)| *le == f64::INFINITY).map(|(_, c)| c).unwrap_or(0.0),
        Some(v) => number(v, &format!("{path}.count"))?,
    };
    Ok(Histogram { buckets, sum: WireNum(sum), count: WireNum(count) })
}

fn check_name(name: &str, path: &str) -> Result<(), IngestError> {
    if name.is_empty() || name.len() > MAX_NAME || !crate::wire::valid_name(name) {
        return Err(invalid(path, "a metric name is [a-zA-Z_:][a-zA-Z0-9_:]*"));
    }
    Ok(())
}

/// Text goes to screens: control characters are refused here rather than
/// stripped later, so the producer learns of them.
fn check_text(s: &str, path: &str) -> Result<(), IngestError> {
    let chars = s.chars().count();
    if chars > MAX_TEXT {
        return Err(invalid(path, format!("text of {chars} characters, over the limit of {MAX_TEXT}")));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid(path, "control characters are not allowed"));
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
    fn too_many_points_is_its_own_refusal() {
        let points: Vec<String> =
            (0..101).map(|i| format!(r#"{{"metric":"m","labels":{{"i":"{i}"}},"value":1}}"#)).collect();
        let body = format!(r#"{{"type":"metrics","points":[{}]}}"#, points.join(","));
        assert_eq!(parse_str(&body), Err(IngestError::TooMany { count: 101, limit: 100 }));
    }
}
