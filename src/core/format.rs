//! Ages, clock times, spans and text cut to fit: words the screen, the
//! reports and the headless commands all write. Numbers in their units are
//! `crate::core::units`.

/// An age such as `4s`, `2m05s`, `3h10m`, `2d4h`.
pub fn age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if ms < 10_000 {
        format!("{:.1}s", ms.max(0) as f64 / 1000.0)
    } else if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}d{}h", s / 86_400, (s % 86_400) / 3600)
    }
}

/// An age as [`age`] writes it, but in whole seconds under ten seconds too
/// (`4s`, not `4.2s`): a label that ticks with the clock then changes at
/// most once a second, whenever it is drawn.
pub fn whole_age(ms: i64) -> String {
    if ms < 10_000 { format!("{}s", ms.max(0) / 1000) } else { age(ms) }
}

/// Wall-clock time of day, UTC, `HH:MM:SS`.
pub fn clock(ms: i64) -> String {
    let s = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
}

/// Fits text to `width` characters, ending with `…` when cut.
pub fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// A wall-clock instant in RFC 3339, UTC, as the protocol writes it.
pub use crate::wire::format_time as instant;

/// A span as a short word: `5m`, `1h`, `30d` (whole units), else seconds.
pub fn span_name(ms: i64) -> String {
    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    match ms {
        ms if ms >= DAY && ms % DAY == 0 => format!("{}d", ms / DAY),
        ms if ms >= HOUR && ms % HOUR == 0 => format!("{}h", ms / HOUR),
        ms if ms >= MINUTE && ms % MINUTE == 0 => format!("{}m", ms / MINUTE),
        ms => format!("{}s", ms / 1000),
    }
}

/// A duration written as text ("100ms", "5m"), for serde.
pub fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<std::time::Duration, D::Error> {
    let s = <String as serde::Deserialize>::deserialize(d)?;
    humantime::parse_duration(&s)
        .map_err(|e| serde::de::Error::custom(format!("{s:?} is not a duration ({e}); try \"100ms\" or \"5m\"")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_clocks() {
        assert_eq!(age(4_200), "4.2s");
        assert_eq!((whole_age(4_999), whole_age(-20), whole_age(125_000)), ("4s".into(), "0s".into(), "2m05s".into()));
        assert_eq!(age(125_000), "2m05s");
        assert_eq!(age(3 * 3_600_000 + 600_000), "3h10m");
        assert_eq!(clock(1_751_279_405_000), "10:30:05");
    }

    #[test]
    fn fit_cuts_with_an_ellipsis() {
        assert_eq!(fit("checkout-service", 8), "checkou…");
    }
}
