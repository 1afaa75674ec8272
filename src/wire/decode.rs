//! Decoding of server frames at the boundary: size-capped, tolerant of
//! unknown types and fields, point by point so one bad point does not cost a
//! whole frame, and sanitised so the rest of the program can trust its text.

use super::text::{MAX_LABELS, sanitize, sanitize_labels};
use super::{Point, PointValue, ServerFrame, WireNum, parse_special, parse_time};
use serde_json::{Map, Value};

/// Frames larger than this are refused unread.
pub const MAX_FRAME_BYTES: usize = 1 << 20;
/// Longest metric name accepted.
const MAX_NAME: usize = 256;

/// What a text frame turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A typed frame; `skipped` counts points inside it that were unusable.
    Frame { frame: ServerFrame, skipped: usize },
    /// A flat snapshot (an object without `type`): gauges and statuses.
    Snapshot { timestamp: Option<i64>, points: Vec<Point> },
    /// A frame of a `type` this build does not know; ignored by the protocol.
    Ignored { type_name: String },
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    #[error("frame of {0} bytes is over the 1 MiB limit")]
    TooLarge(usize),
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("frame is not a JSON object")]
    NotObject,
    #[error("bad {kind} frame: {detail}")]
    Shape { kind: String, detail: String },
}

/// Decodes one text frame from a server.
pub fn decode_frame(text: &str) -> Result<Decoded, DecodeError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(DecodeError::TooLarge(text.len()));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| DecodeError::Json(short(&e.to_string())))?;
    let Value::Object(mut obj) = value else {
        return Err(DecodeError::NotObject);
    };
    let kind = match obj.get("type") {
        None => return Ok(decode_snapshot_object(&obj)),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(shape("unknown", "`type` is not a string")),
    };
    if !matches!(kind.as_str(), "hello" | "metrics" | "alert" | "event" | "status" | "reset" | "error") {
        return Ok(Decoded::Ignored { type_name: sanitize(&kind) });
    }
    // Points are decoded one by one below, so a single bad point is skipped
    // rather than costing the whole frame.
    let raw_points = if kind == "metrics" {
        match obj.insert("points".into(), Value::Array(Vec::new())) {
            Some(Value::Array(points)) => points,
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Err(shape(&kind, "`points` is not an array")),
        }
    } else {
        Vec::new()
    };
    let mut frame: ServerFrame =
        serde_json::from_value(Value::Object(obj)).map_err(|e| shape(&kind, &e.to_string()))?;
    let mut skipped = 0;
    if let ServerFrame::Metrics(m) = &mut frame {
        m.points.reserve(raw_points.len());
        for raw in raw_points {
            match decode_point(raw) {
                Some(p) => m.points.push(p),
                None => skipped += 1,
            }
        }
    }
    sanitize_frame(&mut frame);
    Ok(Decoded::Frame { frame, skipped })
}

/// Decodes a flat snapshot such as the body of `GET /metrics/realtime`.
pub fn decode_snapshot(text: &str) -> Result<Decoded, DecodeError> {
    match decode_frame(text)? {
        snap @ Decoded::Snapshot { .. } => Ok(snap),
        _ => Err(shape("snapshot", "expected an object without `type`")),
    }
}

fn decode_snapshot_object(obj: &Map<String, Value>) -> Decoded {
    let timestamp = obj.get("timestamp").and_then(Value::as_str).and_then(parse_time);
    let mut points = Vec::new();
    for (key, value) in obj {
        if key == "timestamp" || !valid_name(key) {
            continue;
        }
        let value = match value {
            Value::Number(n) => n.as_f64().map(|f| PointValue::Number(WireNum(f))),
            Value::String(s) => Some(match parse_special(s) {
                Some(f) => PointValue::Number(WireNum(f)),
                None => PointValue::Text(sanitize(s)),
            }),
            _ => None,
        };
        if let Some(value) = value {
            points.push(Point { metric: key.clone(), labels: Default::default(), value: Some(value), histogram: None });
        }
    }
    Decoded::Snapshot { timestamp, points }
}

fn decode_point(raw: Value) -> Option<Point> {
    let mut p: Point = serde_json::from_value(raw).ok()?;
    if !valid_name(&p.metric) || p.labels.len() > MAX_LABELS {
        return None;
    }
    if p.labels.iter().any(|(k, v)| k.len() > MAX_NAME || v.len() > 4 * MAX_NAME) {
        return None;
    }
    if p.value.is_none() && p.histogram.is_none() {
        return None;
    }
    if let Some(PointValue::Text(t)) = &mut p.value {
        // Numbers spelt as strings are numbers; anything else is a status.
        match parse_special(t).or_else(|| t.trim().parse::<f64>().ok()) {
            Some(f) => p.value = Some(PointValue::Number(WireNum(f))),
            None => *t = sanitize(t),
        }
    }
    p.labels = sanitize_labels(&p.labels);
    Some(p)
}

/// Metric names follow Prometheus: `[a-zA-Z_:][a-zA-Z0-9_:]*`, capped in length.
pub(crate) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= MAX_NAME
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn sanitize_frame(frame: &mut ServerFrame) {
    match frame {
        ServerFrame::Hello(h) => {
            h.server = sanitize(&h.server);
            h.session = sanitize(&h.session);
            h.metrics.retain(|m| valid_name(&m.name));
            for m in &mut h.metrics {
                m.unit = sanitize(&m.unit);
                m.help = sanitize(&m.help);
            }
        }
        ServerFrame::Metrics(_) => {}
        ServerFrame::Alert(a) => {
            a.id = sanitize(&a.id);
            a.state = sanitize(&a.state);
            a.severity = sanitize(&a.severity);
            a.metric = sanitize(&a.metric);
            a.summary = sanitize(&a.summary);
            a.labels = sanitize_labels(&a.labels);
        }
        ServerFrame::Event(e) => {
            e.kind = sanitize(&e.kind);
            e.text = sanitize(&e.text);
            e.labels = sanitize_labels(&e.labels);
        }
        ServerFrame::Status(s) => {
            s.status = sanitize(&s.status);
            s.message = sanitize(&s.message);
            s.data_freshness = s.data_freshness.as_deref().map(sanitize);
        }
        ServerFrame::Reset(r) => r.reason = sanitize(&r.reason),
        ServerFrame::Error(e) => e.message = sanitize(&e.message),
    }
}

fn shape(kind: &str, detail: &str) -> DecodeError {
    DecodeError::Shape { kind: sanitize(kind), detail: short(detail) }
}

fn short(s: &str) -> String {
    let s = sanitize(s);
    if s.chars().count() > 120 { format!("{}…", s.chars().take(120).collect::<String>()) } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_protocol_examples() {
        let hello = r#"{"type":"hello","protocol":1,"server":"x/1","session":"7f3c","seq":1200,"interval_ms":1000,
            "metrics":[{"name":"http_request_duration_seconds","kind":"histogram","unit":"seconds","help":"HTTP request latency"}]}"#;
        let Decoded::Frame { frame: ServerFrame::Hello(h), .. } = decode_frame(hello).unwrap() else { panic!() };
        assert_eq!((h.seq, h.interval_ms, h.metrics.len()), (1200, 1000, 1));

        let metrics = r#"{"type":"metrics","seq":1201,"timestamp":"2025-06-30T10:30:01Z","points":[
            {"metric":"orders_per_minute","value":45},
            {"metric":"system_health","value":"healthy"},
            {"metric":"x","value":"NaN"},
            {"metric":"http_request_duration_seconds","labels":{"service":"checkout"},
             "histogram":{"buckets":[[0.005,120],[0.05,900],[0.5,990],["+Inf",1000]],"sum":41.2,"count":1000}}]}"#;
        let Decoded::Frame { frame: ServerFrame::Metrics(m), skipped } = decode_frame(metrics).unwrap() else {
            panic!()
        };
        assert_eq!(skipped, 0);
        assert_eq!(m.seq, Some(1201));
        assert_eq!(m.points.len(), 4);
        assert_eq!(m.points[1].value, Some(PointValue::Text("healthy".into())));
        assert!(matches!(m.points[2].value, Some(PointValue::Number(WireNum(v))) if v.is_nan()));
        assert_eq!(m.points[3].histogram.as_ref().unwrap().buckets[3].0.0, f64::INFINITY);
    }

    #[test]
    fn flat_snapshot_is_read_as_gauges_and_statuses() {
        let snap = r#"{"active_users":1250,"orders_per_minute":45,"system_health":"healthy","timestamp":"2025-06-30T10:30:00Z"}"#;
        let Decoded::Snapshot { timestamp, points } = decode_frame(snap).unwrap() else { panic!() };
        assert_eq!(timestamp, Some(1_751_279_400_000));
        assert_eq!(points.len(), 3);
    }

    #[test]
    fn unknown_types_and_fields_are_ignored() {
        assert!(matches!(decode_frame(r#"{"type":"gossip","x":1}"#).unwrap(), Decoded::Ignored { .. }));
        let f = r#"{"type":"reset","seq":3,"reason":"r","extra":{"deep":[1,2]}}"#;
        assert!(matches!(decode_frame(f).unwrap(), Decoded::Frame { frame: ServerFrame::Reset(_), .. }));
    }

    #[test]
    fn bad_points_are_skipped_not_fatal() {
        let f = r#"{"type":"metrics","seq":1,"timestamp":"2025-06-30T10:30:01Z","points":[
            {"metric":"ok","value":1},{"metric":"bad name","value":1},{"metric":"nov"},{"value":3},7]}"#;
        let Decoded::Frame { frame: ServerFrame::Metrics(m), skipped } = decode_frame(f).unwrap() else { panic!() };
        assert_eq!((m.points.len(), skipped), (1, 4));
    }

    #[test]
    fn malformed_frames_are_errors() {
        assert!(matches!(decode_frame("{nope"), Err(DecodeError::Json(_))));
        assert!(matches!(decode_frame("[1,2]"), Err(DecodeError::NotObject)));
        assert!(matches!(decode_frame(r#"{"type":"metrics","seq":1}"#), Err(DecodeError::Shape { .. })));
        let big = format!("\"{}\"", "x".repeat(MAX_FRAME_BYTES));
        assert!(matches!(decode_frame(&big), Err(DecodeError::TooLarge(_))));
    }

    #[test]
    fn network_text_is_sanitised() {
        let f = r#"{"type":"event","timestamp":"2025-06-30T10:30:01Z","kind":"deploy","text":"v2\u001b[31m red","labels":{"service":"a\u0007"}}"#;
        let Decoded::Frame { frame: ServerFrame::Event(e), .. } = decode_frame(f).unwrap() else { panic!() };
        assert!(!e.text.contains('\x1b'));
        assert!(!e.labels["service"].contains('\x07'));
    }
}
