//! Decoding of server frames at the boundary: size-capped, tolerant of
//! unknown types and fields, point by point so one bad point does not cost a
//! whole frame, and sanitised so the rest of the program can trust its text.

mod metrics;

use super::text::{MAX_LABELS, sanitize, sanitize_labels};
use super::{Point, PointValue, ServerFrame, WireNum, parse_special, parse_time};
use serde_json::{Map, Value};

/// Frames larger than this are refused unread.
pub const MAX_FRAME_BYTES: usize = 1 << 20;
/// Most buckets a histogram point may carry before it is refused, so that
/// every sample the store keeps has a bounded size.
pub const MAX_BUCKETS: usize = 256;
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
    // Nearly every frame is `metrics`: a typed one-pass reader takes those,
    // and hands anything it is unsure of to the general path below.
    if let Some((frame, skipped)) = metrics::decode(text) {
        return Ok(Decoded::Frame { frame: ServerFrame::Metrics(frame), skipped });
    }
    decode_general(text)
}

/// Any frame, through a `serde_json::Value`: slower, but it sees the whole
/// object, so it settles every case the fast path declines.
fn decode_general(text: &str) -> Result<Decoded, DecodeError> {
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
            match metrics::read_point(&raw.to_string()) {
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

/// Metric names follow Prometheus: `[a-zA-Z_:][a-zA-Z0-9_:]*`, capped in length.
pub(crate) fn valid_name(name: &str) -> bool {
    // Every allowed character is ASCII, so bytes will do: any byte of a
    // multi-byte character fails the test as its character would. A table
    // makes it one load per byte; this runs for every point of every frame.
    const fn table() -> [bool; 256] {
        let mut t = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            t[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b':';
            b += 1;
        }
        t
    }
    static NAME_BYTE: [bool; 256] = table();
    let bytes = name.as_bytes();
    bytes.len() <= MAX_NAME
        && bytes.first().is_some_and(|c| !c.is_ascii_digit())
        && bytes.iter().all(|&c| NAME_BYTE[c as usize])
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
            let m = &mut a.marks;
            m.acked_by = m.acked_by.as_deref().map(sanitize);
            m.silenced_by = m.silenced_by.as_deref().map(sanitize);
            m.silence_ids = m.silence_ids.iter().take(MAX_LABELS).map(String::as_str).map(sanitize).collect();
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
    fn fast_and_general_paths_agree() {
        let sim = crate::gateway::sim::Simulator::new(7, crate::gateway::sim::Scenario::ErrorBurst);
        let frame = ServerFrame::Metrics(super::super::MetricsFrame {
            seq: Some(4),
            timestamp: super::super::WireTime(1_751_279_760_000),
            points: sim.sample(1_751_279_760_000),
        });
        let text = serde_json::to_string(&frame).unwrap();
        assert!(metrics::decode(&text).is_some(), "the demo frame takes the fast path");
        assert_eq!(decode_frame(&text).unwrap(), decode_general(&text).unwrap());
        let odd = r#"{"points":[{"metric":"a\u0062","labels":{"k":"v\n"},"value":" 2.5 "},{"metric":"s","value":"ok\u001b"},
            {"metric":"h","histogram":{"buckets":[[1,2],["+Inf",3]]}},{"metric":"x","value":true},null],
            "seq":null,"extra":[1,{"a":2}],"timestamp":"2025-06-30T10:30:01Z","type":"metrics"}"#;
        assert!(metrics::decode(odd).is_some());
        assert_eq!(decode_frame(odd).unwrap(), decode_general(odd).unwrap());
    }

    #[test]
    fn unusual_metrics_frames_fall_back_and_still_decode() {
        // An escaped type name, and a repeated `type` whose last value counts.
        for f in [
            r#"{"type":"metric\u0073","timestamp":"2025-06-30T10:30:01Z","points":[{"metric":"a","value":1}]}"#,
            r#"{"type":"hello","type":"metrics","timestamp":"2025-06-30T10:30:01Z","points":[{"metric":"a","value":1}]}"#,
        ] {
            assert!(metrics::decode(f).is_none());
            let Decoded::Frame { frame: ServerFrame::Metrics(m), .. } = decode_frame(f).unwrap() else { panic!("{f}") };
            assert_eq!(m.points.len(), 1);
        }
        let f = r#"{"type":"metrics","timestamp":"2025-06-30T10:30:01Z","points":{"metric":"a"}}"#;
        assert!(matches!(decode_frame(f), Err(DecodeError::Shape { .. })));
        let f = r#"{"type":"metrics","timestamp":"2025-06-30T10:30:01Z","points":null}"#;
        assert!(matches!(decode_frame(f), Ok(Decoded::Frame { skipped: 0, .. })));
    }

    #[test]
    fn oversized_histograms_are_skipped() {
        let buckets: Vec<String> = (0..=MAX_BUCKETS).map(|i| format!("[{i},{i}]")).collect();
        let f = format!(
            r#"{{"type":"metrics","timestamp":"2025-06-30T10:30:01Z","points":[{{"metric":"h","histogram":{{"buckets":[{}]}}}}]}}"#,
            buckets.join(",")
        );
        assert!(matches!(decode_frame(&f), Ok(Decoded::Frame { skipped: 1, .. })));
    }

    #[test]
    fn network_text_is_sanitised() {
        let f = r#"{"type":"event","timestamp":"2025-06-30T10:30:01Z","kind":"deploy","text":"v2\u001b[31m red","labels":{"service":"a\u0007"}}"#;
        let Decoded::Frame { frame: ServerFrame::Event(e), .. } = decode_frame(f).unwrap() else { panic!() };
        assert!(!e.text.contains('\x1b'));
        assert!(!e.labels["service"].contains('\x07'));
    }
}
