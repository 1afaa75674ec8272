//! Feeds arbitrary bytes to the frame decoder: it must never panic, and no
//! control character may survive in any text it hands on to the screen.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil::wire::{Decoded, PointValue, ServerFrame, decode_frame};

fuzz_target!(|data: &[u8]| {
    // Frames arrive as text; invalid UTF-8 is the transport's to reject.
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(decoded) = decode_frame(text) {
        for t in texts(&decoded) {
            assert!(!t.chars().any(char::is_control), "control character survived: {t:?}");
        }
    }
});

/// Every piece of text a decoded frame can put on screen.
fn texts(d: &Decoded) -> Vec<&str> {
    let mut out = Vec::new();
    match d {
        Decoded::Ignored { type_name } => out.push(type_name.as_str()),
        Decoded::Snapshot { points, .. } => {
            for p in points {
                out.push(&p.metric);
                if let Some(PointValue::Text(t)) = &p.value {
                    out.push(t);
                }
            }
        }
        Decoded::Frame { frame, .. } => match frame {
            ServerFrame::Hello(h) => {
                out.extend([h.server.as_str(), h.session.as_str()]);
                for m in &h.metrics {
                    out.extend([m.name.as_str(), m.unit.as_str(), m.help.as_str()]);
                }
            }
            ServerFrame::Metrics(m) => {
                for p in &m.points {
                    out.push(&p.metric);
                    out.extend(p.labels.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]));
                    if let Some(PointValue::Text(t)) = &p.value {
                        out.push(t);
                    }
                }
            }
            ServerFrame::Alert(a) => {
                out.extend([
                    a.id.as_str(),
                    a.state.as_str(),
                    a.severity.as_str(),
                    a.metric.as_str(),
                    a.summary.as_str(),
                ]);
                out.extend(a.labels.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]));
            }
            ServerFrame::Event(e) => {
                out.extend([e.kind.as_str(), e.text.as_str()]);
                out.extend(e.labels.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]));
            }
            ServerFrame::Status(s) => {
                out.extend([s.status.as_str(), s.message.as_str()]);
                out.extend(s.data_freshness.as_deref());
            }
            ServerFrame::Reset(r) => out.push(&r.reason),
            ServerFrame::Error(e) => out.push(&e.message),
        },
    }
    out
}
