//! Property tests of the frame decoder: whatever bytes or JSON a server
//! sends, decoding never panics, and no control character survives it.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use vigil::wire::{Decoded, ServerFrame, decode_frame};

/// Every piece of text a decoded frame can hand to the screen.
fn texts(d: &Decoded) -> Vec<String> {
    match d {
        Decoded::Snapshot { points, .. } => points
            .iter()
            .flat_map(|p| {
                let mut v = vec![p.metric.clone()];
                if let Some(vigil::wire::PointValue::Text(t)) = &p.value {
                    v.push(t.clone());
                }
                v
            })
            .collect(),
        Decoded::Ignored { type_name } => vec![type_name.clone()],
        Decoded::Frame { frame, .. } => match frame {
            ServerFrame::Hello(h) => {
                let mut v = vec![h.server.clone(), h.session.clone()];
                v.extend(h.metrics.iter().flat_map(|m| [m.name.clone(), m.unit.clone(), m.help.clone()]));
                v
            }
            ServerFrame::Metrics(m) => m
                .points
                .iter()
                .flat_map(|p| {
                    let mut v = vec![p.metric.clone()];
                    v.extend(p.labels.iter().flat_map(|(k, l)| [k.clone(), l.clone()]));
                    if let Some(vigil::wire::PointValue::Text(t)) = &p.value {
                        v.push(t.clone());
                    }
                    v
                })
                .collect(),
            ServerFrame::Alert(a) => {
                let mut v =
                    vec![a.id.clone(), a.state.clone(), a.severity.clone(), a.metric.clone(), a.summary.clone()];
                v.extend(a.labels.iter().flat_map(|(k, l)| [k.clone(), l.clone()]));
                v
            }
            ServerFrame::Event(e) => {
                let mut v = vec![e.kind.clone(), e.text.clone()];
                v.extend(e.labels.iter().flat_map(|(k, l)| [k.clone(), l.clone()]));
                v
            }
            ServerFrame::Status(s) => {
                vec![s.status.clone(), s.message.clone(), s.data_freshness.clone().unwrap_or_default()]
            }
            ServerFrame::Reset(r) => vec![r.reason.clone()],
            ServerFrame::Error(e) => vec![e.message.clone()],
        },
    }
}

fn assert_clean(d: &Decoded) {
    for t in texts(d) {
        assert!(!t.chars().any(|c| c.is_control()), "control character survived: {t:?}");
    }
}

/// Text that leans towards the nasty: escapes, C1 controls, long runs.
fn nasty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z_]{0,12}",
        Just("\u{1b}[2J\u{1b}]0;title\u{7}".to_string()),
        Just("\u{9b}31m\u{202e}".to_string()),
        "[\\x00-\\x1f\\x7f-\\u{9f}a]{0,40}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        any::<i64>().prop_map(|i| json!(i)),
        nasty_text().prop_map(Value::String),
        prop_oneof![Just("NaN"), Just("+Inf"), Just("-Inf"), Just("1e308")].prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(nasty_text(), inner, 0..8).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Objects shaped like frames, with a protocol `type`, so the typed paths run.
fn frame_like() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        Just("hello"),
        Just("metrics"),
        Just("alert"),
        Just("event"),
        Just("status"),
        Just("reset"),
        Just("error"),
        Just("mystery")
    ];
    let point = (nasty_text(), prop::collection::btree_map(nasty_text(), nasty_text(), 0..4), json_value())
        .prop_map(|(metric, labels, value)| json!({"metric": metric, "labels": labels, "value": value}));
    (kind, prop::collection::vec(point, 0..6), prop::collection::btree_map(nasty_text(), json_value(), 0..6)).prop_map(
        |(kind, points, extra)| {
            let mut obj: Map<String, Value> = extra.into_iter().collect();
            obj.insert("type".into(), json!(kind));
            obj.insert("seq".into(), json!(1));
            obj.insert("timestamp".into(), json!("2025-06-30T10:30:00Z"));
            obj.insert("points".into(), Value::Array(points));
            for key in ["id", "state", "text", "kind", "status", "message", "reason", "server", "session", "summary"] {
                obj.entry(key.to_string()).or_insert_with(|| json!("x\u{1b}[31m"));
            }
            Value::Object(obj)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(d) = decode_frame(&text) {
            assert_clean(&d);
        }
    }

    #[test]
    fn arbitrary_json_never_panics_and_is_sanitised(v in json_value()) {
        if let Ok(d) = decode_frame(&v.to_string()) {
            assert_clean(&d);
        }
    }

    #[test]
    fn frame_shaped_json_is_sanitised(v in frame_like()) {
        if let Ok(d) = decode_frame(&v.to_string()) {
            assert_clean(&d);
        }
    }

    #[test]
    fn valid_points_round_trip(values in prop::collection::vec(any::<f64>(), 1..20)) {
        let points: Vec<Value> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let value = if v.is_nan() { json!("NaN") } else if v.is_infinite() { json!(if *v > 0.0 { "+Inf" } else { "-Inf" }) } else { json!(v) };
                json!({"metric": format!("m_{i}"), "labels": {"service": "api"}, "value": value})
            })
            .collect();
        let frame = json!({"type": "metrics", "seq": 9, "timestamp": "2025-06-30T10:30:00Z", "points": points});
        let Ok(Decoded::Frame { frame: ServerFrame::Metrics(m), skipped }) = decode_frame(&frame.to_string()) else {
            panic!("a valid frame did not decode");
        };
        prop_assert_eq!(skipped, 0);
        prop_assert_eq!(m.points.len(), values.len());
        for (p, v) in m.points.iter().zip(&values) {
            let Some(vigil::wire::PointValue::Number(n)) = &p.value else { panic!("not a number") };
            prop_assert!(n.0 == *v || (n.0.is_nan() && v.is_nan()));
        }
    }
}
