//! Numbers as the protocol carries them: JSON numbers, or the strings
//! `"NaN"`, `"+Inf"` and `"-Inf"` for the values JSON cannot spell.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// An `f64` that survives a JSON round trip even when it is not finite.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WireNum(pub f64);

/// Reads the protocol's spelling of a non-finite number; `None` for any other text.
pub fn parse_special(s: &str) -> Option<f64> {
    match s {
        "NaN" | "nan" => Some(f64::NAN),
        "+Inf" | "Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// Writes a number the way the protocol wants it on the wire.
pub fn special_name(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v == f64::INFINITY {
        Some("+Inf")
    } else if v == f64::NEG_INFINITY {
        Some("-Inf")
    } else {
        None
    }
}

impl Serialize for WireNum {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match special_name(self.0) {
            Some(name) => s.serialize_str(name),
            None => s.serialize_f64(self.0),
        }
    }
}

struct NumVisitor;

impl Visitor<'_> for NumVisitor {
    type Value = WireNum;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number or one of \"NaN\", \"+Inf\", \"-Inf\"")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<WireNum, E> {
        Ok(WireNum(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<WireNum, E> {
        Ok(WireNum(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<WireNum, E> {
        Ok(WireNum(v as f64))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<WireNum, E> {
        parse_special(v)
            .or_else(|| v.trim().parse::<f64>().ok())
            .map(WireNum)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

impl<'de> Deserialize<'de> for WireNum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specials_round_trip() {
        for v in [f64::INFINITY, f64::NEG_INFINITY, 1.5, -3.0, 0.0] {
            let s = serde_json::to_string(&WireNum(v)).unwrap();
            let back: WireNum = serde_json::from_str(&s).unwrap();
            assert_eq!(back.0, v, "{s}");
        }
        let nan: WireNum = serde_json::from_str(&serde_json::to_string(&WireNum(f64::NAN)).unwrap()).unwrap();
        assert!(nan.0.is_nan());
        assert_eq!(serde_json::to_string(&WireNum(f64::INFINITY)).unwrap(), "\"+Inf\"");
    }

    #[test]
    fn rejects_other_text() {
        assert!(serde_json::from_str::<WireNum>("\"lots\"").is_err());
        assert_eq!(serde_json::from_str::<WireNum>("\"2.5\"").unwrap().0, 2.5);
    }
}
