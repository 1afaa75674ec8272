//! Timestamps: RFC 3339 strings on the wire, milliseconds since the Unix
//! epoch everywhere else.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct WireTime(pub i64);

/// Parses an RFC 3339 UTC time; a `+00:00` offset is accepted as `Z`.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let owned;
    let s = if let Some(stem) = s.strip_suffix("+00:00") {
        owned = format!("{stem}Z");
        owned.as_str()
    } else {
        s
    };
    let t = humantime::parse_rfc3339_weak(s).ok()?;
    Some(system_to_ms(t))
}

/// Parses an RFC 3339 time with any numeric offset (`+02:00`, `-05:30`) as
/// well as `Z`, for servers that write local times (Go's encoder keeps the
/// zone it was given). The protocol itself sticks to [`parse_time`].
pub fn parse_time_any_offset(s: &str) -> Option<i64> {
    let s = s.trim();
    let tail = s.len().checked_sub(6).and_then(|at| s.get(at..))?;
    let b = tail.as_bytes();
    let is_offset = matches!(b[0], b'+' | b'-')
        && b[3] == b':'
        && [b[1], b[2], b[4], b[5]].iter().all(u8::is_ascii_digit)
        // `…T10:30:00-05:00` has a time before the sign; a bare date does not.
        && s[..s.len() - 6].contains('T');
    if !is_offset {
        return parse_time(s);
    }
    let hours = i64::from((b[1] - b'0') * 10 + (b[2] - b'0'));
    let minutes = i64::from((b[4] - b'0') * 10 + (b[5] - b'0'));
    if hours > 23 || minutes > 59 {
        return None;
    }
    let offset_ms = (hours * 60 + minutes) * 60_000;
    let local = parse_time(&format!("{}Z", &s[..s.len() - 6]))?;
    // Local time = UTC + offset, so UTC = local - offset.
    Some(if b[0] == b'+' { local - offset_ms } else { local + offset_ms })
}

/// Formats milliseconds since the epoch as RFC 3339, with millis only when needed.
pub fn format_time(ms: i64) -> String {
    let t = ms_to_system(ms);
    if ms.rem_euclid(1000) == 0 {
        humantime::format_rfc3339_seconds(t).to_string()
    } else {
        humantime::format_rfc3339_millis(t).to_string()
    }
}

pub fn system_to_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

pub fn ms_to_system(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

/// Wall-clock now in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    system_to_ms(SystemTime::now())
}

/// Parses a protocol duration (`500ms`, `90s`, `5m`, `24h`, `7d`) into milliseconds.
pub fn parse_duration_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match unit {
        "ms" => 1.0,
        "s" => 1_000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        "w" => 7.0 * 86_400_000.0,
        _ => return None,
    };
    let ms = n * mult;
    (ms.is_finite() && (1.0..1e15).contains(&ms)).then_some(ms as i64)
}

/// Formats milliseconds as the shortest protocol duration that is exact.
pub fn format_duration_ms(ms: i64) -> String {
    for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)] {
        if ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

impl Serialize for WireTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_time(self.0))
    }
}

impl<'de> Deserialize<'de> for WireTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_time(&s).map(WireTime).ok_or_else(|| {
            serde::de::Error::custom(format!("not an RFC 3339 time: {:?}", s.chars().take(40).collect::<String>()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        let ms = parse_time("2025-06-30T10:30:00Z").unwrap();
        assert_eq!(ms, 1_751_279_400_000);
        assert_eq!(format_time(ms), "2025-06-30T10:30:00Z");
        assert_eq!(format_time(ms + 250), "2025-06-30T10:30:00.250Z");
        assert_eq!(parse_time("2025-06-30T10:30:00.250Z"), Some(ms + 250));
        assert_eq!(parse_time("2025-06-30T10:30:00+00:00"), Some(ms));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn times_with_offsets() {
        let ms = parse_time("2025-06-30T10:30:00Z").unwrap();
        assert_eq!(parse_time_any_offset("2025-06-30T10:30:00Z"), Some(ms));
        assert_eq!(parse_time_any_offset("2025-06-30T12:30:00+02:00"), Some(ms));
        assert_eq!(parse_time_any_offset("2025-06-30T05:00:00.5-05:30"), Some(ms + 500));
        assert_eq!(parse_time_any_offset("2025-06-30T10:30:00.123456789+00:00"), Some(ms + 123));
        assert_eq!(parse_time_any_offset("2025-06-30T10:30:00+24:00"), None);
        assert_eq!(parse_time_any_offset("2025-06-30"), None);
        assert_eq!(parse_time_any_offset("+02:00"), None);
        assert_eq!(parse_time_any_offset("0001-01-01T00:00:00Z"), None);
        assert_eq!(parse_time_any_offset("é"), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("90s"), Some(90_000));
        assert_eq!(parse_duration_ms("5m"), Some(300_000));
        assert_eq!(parse_duration_ms("24h"), Some(86_400_000));
        assert_eq!(parse_duration_ms("7d"), Some(604_800_000));
        assert_eq!(parse_duration_ms("250ms"), Some(250));
        assert_eq!(parse_duration_ms("5"), None);
        assert_eq!(parse_duration_ms("m"), None);
        assert_eq!(parse_duration_ms("-5m"), None);
        assert_eq!(format_duration_ms(3_600_000), "1h");
        assert_eq!(format_duration_ms(90_000), "90s");
    }
}
