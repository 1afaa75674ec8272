//! Numbers, durations and ages as short, fixed-width-friendly text.

use crate::scene::Unit;

/// A value in its unit, short enough for a table cell.
pub fn value(v: f64, unit: Unit) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    match unit {
        Unit::Count => count(v),
        Unit::Money => format!("${}", count(v)),
        Unit::Percent => format!("{v:.0}%"),
        Unit::Ratio => ratio(v),
        Unit::Seconds => seconds(v),
        Unit::PerSecond => per_second(v),
    }
}

/// 1,250 below ten thousand; 12.5k, 3.2M above.
pub fn count(v: f64) -> String {
    let a = v.abs();
    if a >= 1e4 {
        si(v)
    } else if a >= 100.0 || v.fract() == 0.0 {
        group(v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

fn si(v: f64) -> String {
    let a = v.abs();
    let (div, suffix) = if a >= 1e12 {
        (1e12, "T")
    } else if a >= 1e9 {
        (1e9, "G")
    } else if a >= 1e6 {
        (1e6, "M")
    } else {
        (1e3, "k")
    };
    let x = v / div;
    if x.abs() >= 100.0 { format!("{x:.0}{suffix}") } else { format!("{x:.1}{suffix}") }
}

fn group(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A 0-1 ratio as a percentage with the precision that small ratios need.
pub fn ratio(v: f64) -> String {
    let p = v * 100.0;
    if p == 0.0 {
        "0%".into()
    } else if p < 0.1 {
        format!("{p:.2}%")
    } else if p < 10.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

/// Seconds as µs, ms or s.
pub fn seconds(v: f64) -> String {
    let a = v.abs();
    if a < 1e-3 {
        format!("{:.0}µs", v * 1e6)
    } else if a < 1.0 {
        format!("{:.0}ms", v * 1e3)
    } else if a < 100.0 {
        format!("{v:.2}s")
    } else {
        format!("{v:.0}s")
    }
}

pub fn per_second(v: f64) -> String {
    if v.abs() >= 1e4 {
        format!("{}/s", si(v))
    } else if v.abs() >= 10.0 {
        format!("{v:.0}/s")
    } else {
        format!("{v:.1}/s")
    }
}

/// A byte count in B, KB, MB or GB (powers of 1000, as network rates are quoted).
pub fn bytes(v: f64) -> String {
    let a = v.abs();
    if a < 1e3 {
        format!("{v:.0} B")
    } else if a < 1e6 {
        format!("{:.1} KB", v / 1e3)
    } else if a < 1e9 {
        format!("{:.1} MB", v / 1e6)
    } else {
        format!("{:.1} GB", v / 1e9)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_group_then_use_suffixes() {
        assert_eq!(count(1250.0), "1,250");
        assert_eq!(count(45.0), "45");
        assert_eq!(count(12_500.0), "12.5k");
        assert_eq!(count(3_200_000.0), "3.2M");
        assert_eq!(count(-1250.0), "-1,250");
        assert_eq!(value(4890.4, Unit::Money), "$4,890");
    }

    #[test]
    fn durations_pick_their_unit() {
        assert_eq!(seconds(0.000_25), "250µs");
        assert_eq!(seconds(0.042), "42ms");
        assert_eq!(seconds(1.5), "1.50s");
        assert_eq!(ratio(0.034), "3.4%");
        assert_eq!(ratio(0.0002), "0.02%");
        assert_eq!(age(4_200), "4.2s");
        assert_eq!(age(125_000), "2m05s");
        assert_eq!(age(3 * 3_600_000 + 600_000), "3h10m");
        assert_eq!(clock(1_751_279_405_000), "10:30:05");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(8_523.0), "8.5 KB");
        assert_eq!(bytes(2_400_000.0), "2.4 MB");
    }

    #[test]
    fn non_finite_values_are_spelt_out() {
        assert_eq!(value(f64::NAN, Unit::Count), "NaN");
        assert_eq!(value(f64::INFINITY, Unit::Seconds), "+Inf");
        assert_eq!(fit("checkout-service", 8), "checkou…");
    }
}
