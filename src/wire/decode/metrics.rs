//! The fast path for `metrics` frames, which are nearly all of the traffic.
//!
//! A first pass reads the frame straight into typed, borrowing structs,
//! with no `serde_json::Value` tree. That pass is all or nothing, so when it
//! fails a careful pass cuts `points` into raw JSON slices and reads each on
//! its own, so that a bad point costs only itself; both passes judge points
//! with the same code, so they agree on every point. Whenever the fast path
//! is unsure (another `type`, a malformed envelope) it answers `None` and
//! the general path in `decode.rs` decides, errors included, so the two
//! paths can never disagree on what a frame means.

use super::super::text::{MAX_LABELS, sanitize_labels_owned, sanitize_owned};
use super::super::{Histogram, Labels, MetricsFrame, Point, PointValue, WireNum, WireTime, parse_special};
use super::{MAX_BUCKETS, MAX_NAME, valid_name};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// Reads a `metrics` frame; `None` when the frame is anything else or is
/// not well formed, for the general path to judge. The count is of points
/// that were skipped as unusable.
pub(super) fn decode(text: &str) -> Option<(MetricsFrame, usize)> {
    // Points are rarely shorter than this on the wire; guessing the count
    // up front spares the vector its regrowth copies.
    let expect = (text.len() / 96).min(4096);
    let envelope = read_envelope(text, Pass::Typed, expect)
        .or_else(|not_metrics| if not_metrics { Err(true) } else { read_envelope(text, Pass::Careful, expect) });
    let envelope = envelope.ok()?;
    let seq = match envelope.seq {
        Some(raw) => serde_json::from_str::<Option<u64>>(raw.get()).ok()?,
        None => None,
    };
    let timestamp: WireTime = serde_json::from_str(envelope.timestamp?.get()).ok()?;
    let (points, skipped) = match envelope.points {
        None | Some(Points::Null) => (Vec::new(), 0),
        Some(Points::NotArray) => return None,
        Some(Points::Read { points, skipped }) => (points, skipped),
    };
    Some((MetricsFrame { seq, timestamp, points }, skipped))
}

/// Reads one point from its raw JSON: `None` when it is unusable (not an
/// object of the right shape, a bad name, too many or too long labels, too
/// many buckets, or neither value nor histogram). Text comes out sanitised.
/// A field given twice makes the point unusable, as serde's derive decides.
pub(super) fn read_point(raw: &str) -> Option<Point> {
    check(serde_json::from_str(raw).ok()?)
}

/// Judges a point that parsed: see [`read_point`].
fn check(p: WirePoint) -> Option<Point> {
    if !valid_name(&p.metric) || p.labels.len() > MAX_LABELS {
        return None;
    }
    if p.labels.iter().any(|(k, v)| k.len() > MAX_NAME || v.len() > 4 * MAX_NAME) {
        return None;
    }
    if p.value.is_none() && p.histogram.is_none() {
        return None;
    }
    if p.histogram.as_ref().is_some_and(|h| h.buckets.len() > MAX_BUCKETS) {
        return None;
    }
    let value = p.value.map(|v| match v {
        NumberOrText::Number(f) => PointValue::Number(WireNum(f)),
        NumberOrText::Text(t) => PointValue::Text(sanitize_owned(t)),
    });
    Some(Point {
        metric: p.metric.into_owned(),
        labels: sanitize_labels_owned(p.labels),
        value,
        histogram: p.histogram,
    })
}

/// A point as it is on the wire. The name borrows from the frame when it
/// has no escapes; it is checked before anything is copied.
#[derive(Deserialize)]
struct WirePoint<'a> {
    #[serde(borrow)]
    metric: Cow<'a, str>,
    #[serde(default)]
    labels: Labels,
    #[serde(default)]
    value: Option<NumberOrText>,
    #[serde(default)]
    histogram: Option<Histogram>,
}

/// A point's value read in one step: numbers, the protocol's `"NaN"` and
/// `"±Inf"`, and numbers spelt as strings are numbers; other text is a
/// status. (The same outcome as the untagged `PointValue` followed by the
/// string check, without serde's buffering of untagged enums.)
enum NumberOrText {
    Number(f64),
    Text(String),
}

impl<'de> Deserialize<'de> for NumberOrText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumberOrTextVisitor)
    }
}

struct NumberOrTextVisitor;

impl Visitor<'_> for NumberOrTextVisitor {
    type Value = NumberOrText;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number or a string")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<NumberOrText, E> {
        Ok(NumberOrText::Number(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<NumberOrText, E> {
        Ok(NumberOrText::Number(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<NumberOrText, E> {
        Ok(NumberOrText::Number(v as f64))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<NumberOrText, E> {
        Ok(match number_in(v) {
            Some(f) => NumberOrText::Number(f),
            None => NumberOrText::Text(v.to_string()),
        })
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<NumberOrText, E> {
        Ok(match number_in(&v) {
            Some(f) => NumberOrText::Number(f),
            None => NumberOrText::Text(v),
        })
    }
}

fn number_in(s: &str) -> Option<f64> {
    parse_special(s).or_else(|| s.trim().parse::<f64>().ok())
}

/// How `points` is read.
#[derive(Clone, Copy, PartialEq)]
enum Pass {
    /// Every point straight into typed structs; any point that does not
    /// parse fails the whole pass.
    Typed,
    /// Point by point from raw slices; never fails on well-formed JSON.
    Careful,
}

/// Reads the envelope; the error says whether the frame turned out not to
/// be a `metrics` frame at all (so a careful pass would be no use).
fn read_envelope(text: &str, pass: Pass, expect: usize) -> Result<Envelope<'_>, bool> {
    let mut not_metrics = false;
    let mut de = serde_json::Deserializer::from_str(text);
    let envelope = EnvelopeSeed { pass, expect, not_metrics: &mut not_metrics }.deserialize(&mut de);
    match envelope.and_then(|e| de.end().map(|()| e)) {
        Ok(e) => Ok(e),
        Err(_) => Err(not_metrics),
    }
}

/// The top-level fields the fast path needs. As in a `serde_json::Value`,
/// the last of repeated keys wins.
#[derive(Default)]
struct Envelope<'a> {
    seq: Option<&'a RawValue>,
    timestamp: Option<&'a RawValue>,
    points: Option<Points>,
}

/// What the `points` field held.
enum Points {
    Null,
    NotArray,
    Read { points: Vec<Point>, skipped: usize },
}

struct EnvelopeSeed<'s> {
    pass: Pass,
    /// Points expected, to size the vector.
    expect: usize,
    not_metrics: &'s mut bool,
}

impl<'de> DeserializeSeed<'de> for EnvelopeSeed<'_> {
    type Value = Envelope<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Envelope<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed<'_> {
    type Value = Envelope<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a metrics frame")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope<'de>, A::Error> {
        let mut envelope = Envelope::default();
        let mut is_metrics = false;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Type => {
                    // Any other type stops the pass at once: the general
                    // path reads it (and settles repeated `type` keys).
                    let kind: &RawValue = map.next_value()?;
                    if kind.get() != "\"metrics\"" {
                        *self.not_metrics = true;
                        return Err(de::Error::custom("not a metrics frame"));
                    }
                    is_metrics = true;
                }
                Key::Seq => envelope.seq = Some(map.next_value()?),
                Key::Timestamp => envelope.timestamp = Some(map.next_value()?),
                Key::Points => {
                    envelope.points = Some(match self.pass {
                        Pass::Typed => map.next_value_seed(TypedPointsSeed(self.expect))?,
                        Pass::Careful => map.next_value_seed(PointsSeed(self.expect))?,
                    })
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !is_metrics {
            *self.not_metrics = true;
            return Err(de::Error::custom("not a metrics frame"));
        }
        Ok(envelope)
    }
}

/// A top-level key, matched without copying it.
enum Key {
    Type,
    Seq,
    Timestamp,
    Points,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(match v {
            "type" => Key::Type,
            "seq" => Key::Seq,
            "timestamp" => Key::Timestamp,
            "points" => Key::Points,
            _ => Key::Other,
        })
    }
}

/// Reads `points` as an array of points that all parse, or fails; the
/// number is how many points to make room for.
struct TypedPointsSeed(usize);

impl<'de> DeserializeSeed<'de> for TypedPointsSeed {
    type Value = Points;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Points, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for TypedPointsSeed {
    type Value = Points;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of points")
    }
    fn visit_none<E: de::Error>(self) -> Result<Points, E> {
        Ok(Points::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Points, D::Error> {
        d.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Points, A::Error> {
        let mut points = Vec::with_capacity(self.0);
        let mut skipped = 0;
        while let Some(p) = seq.next_element::<WirePoint>()? {
            match check(p) {
                Some(p) => points.push(p),
                None => skipped += 1,
            }
        }
        Ok(Points::Read { points, skipped })
    }
}

/// Reads `points` whatever it holds, without failing: an error here would
/// abandon the whole frame, and one bad point must cost only itself.
struct PointsSeed(usize);

impl<'de> DeserializeSeed<'de> for PointsSeed {
    type Value = Points;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Points, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PointsSeed {
    type Value = Points;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of points")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Points, A::Error> {
        let mut points = Vec::with_capacity(self.0);
        let mut skipped = 0;
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            match read_point(raw.get()) {
                Some(p) => points.push(p),
                None => skipped += 1,
            }
        }
        Ok(Points::Read { points, skipped })
    }
    fn visit_unit<E: de::Error>(self) -> Result<Points, E> {
        Ok(Points::Null)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Points, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Points::NotArray)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Points, E> {
        Ok(Points::NotArray)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Points, E> {
        Ok(Points::NotArray)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Points, E> {
        Ok(Points::NotArray)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Points, E> {
        Ok(Points::NotArray)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Points, E> {
        Ok(Points::NotArray)
    }
}
