//! What a number measures, and how to print it so it never overflows its cell.
//!
//! `format` gives the natural form a person would write; `format_fit` gives
//! the same value in at most N columns, losing precision before it loses
//! meaning, and falls back to `###` (as a spreadsheet does) rather than print
//! something misleading or spill into the next column.

use std::fmt;
use std::str::FromStr;

use ratatui::text::Span;

/// What a value measures. Durations are always stored in seconds, whatever
/// they are shown in, so that arithmetic on them never needs a unit check.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Unit {
    #[default]
    Count,
    Seconds,
    Bytes,
    BytesPerSecond,
    /// An amount of money; the symbol is printed before the number.
    Money(String),
    /// 0-100.
    Percent,
    /// 0-1, shown as a percentage.
    Ratio,
    PerSecond,
    PerMinute,
}

/// Every spelling `Unit::from_str` accepts, for error messages and docs.
pub const UNIT_NAMES: &str = "count, seconds (s), bytes, bytes/s, usd ($), eur (€), gbp (£), money, percent (%), ratio, per_second (/s, rps), \
     per_minute (/min)";

/// A unit name that is not one of `UNIT_NAMES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownUnit(pub String);

impl fmt::Display for UnknownUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown unit {:?}; expected one of: {UNIT_NAMES}", self.0)
    }
}

impl std::error::Error for UnknownUnit {}

impl FromStr for Unit {
    type Err = UnknownUnit;

    fn from_str(s: &str) -> Result<Unit, UnknownUnit> {
        let unit = match s.trim().to_lowercase().as_str() {
            "" | "count" | "none" => Unit::Count,
            // Only whole seconds are accepted as a name: a config saying "ms"
            // would imply stored values in milliseconds, which nothing converts.
            "seconds" | "s" => Unit::Seconds,
            "bytes" => Unit::Bytes,
            "bytes/s" => Unit::BytesPerSecond,
            "usd" | "$" | "money" => Unit::Money("$".into()),
            "eur" | "€" => Unit::Money("€".into()),
            "gbp" | "£" => Unit::Money("£".into()),
            "percent" | "%" => Unit::Percent,
            "ratio" => Unit::Ratio,
            "per_second" | "/s" | "rps" => Unit::PerSecond,
            "per_minute" | "/min" => Unit::PerMinute,
            _ => return Err(UnknownUnit(s.to_string())),
        };
        Ok(unit)
    }
}

impl<'de> serde::Deserialize<'de> for Unit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One step of a unit's ladder of magnitudes, e.g. 1e3 and "k".
#[derive(Clone, Copy)]
struct Scale {
    factor: f64,
    suffix: &'static str,
}

const fn sc(factor: f64, suffix: &'static str) -> Scale {
    Scale { factor, suffix }
}

const SI: [Scale; 7] =
    [sc(1.0, ""), sc(1e3, "k"), sc(1e6, "M"), sc(1e9, "G"), sc(1e12, "T"), sc(1e15, "P"), sc(1e18, "E")];
// Money says B for billions, as finance does; the symbol in front keeps it
// from being read as bytes.
const MONEY: [Scale; 5] = [sc(1.0, ""), sc(1e3, "k"), sc(1e6, "M"), sc(1e9, "B"), sc(1e12, "T")];
const KI: f64 = 1024.0;
const IEC: [Scale; 7] = [
    sc(1.0, "B"),
    sc(KI, "KiB"),
    sc(KI * KI, "MiB"),
    sc(KI * KI * KI, "GiB"),
    sc(KI * KI * KI * KI, "TiB"),
    sc(KI * KI * KI * KI * KI, "PiB"),
    sc(KI * KI * KI * KI * KI * KI, "EiB"),
];
// The `ls -h` spelling, used only when the full one does not fit.
const IEC_SHORT: [Scale; 7] = [
    sc(1.0, "B"),
    sc(KI, "K"),
    sc(KI * KI, "M"),
    sc(KI * KI * KI, "G"),
    sc(KI * KI * KI * KI, "T"),
    sc(KI * KI * KI * KI * KI, "P"),
    sc(KI * KI * KI * KI * KI * KI, "E"),
];
const TIME: [Scale; 8] = [
    sc(1e-9, "ns"),
    sc(1e-6, "µs"),
    sc(1e-3, "ms"),
    sc(1.0, "s"),
    sc(60.0, "m"),
    sc(3600.0, "h"),
    sc(86_400.0, "d"),
    sc(YEAR, "y"),
];
const YEAR: f64 = 365.25 * 86_400.0;
const PERCENT: [Scale; 3] = [sc(1.0, "%"), sc(1e3, "k%"), sc(1e6, "M%")];

/// How a unit is laid out around its number: `-$12.5k/s` is sign, prefix,
/// mantissa, scale suffix, tail.
struct Shape {
    prefix: String,
    ladders: Vec<&'static [Scale]>,
    tail: &'static str,
    /// Multiplies the stored value into the number shown (ratio -> percent).
    mul: f64,
}

fn shape(unit: &Unit) -> Shape {
    let (prefix, ladders, tail, mul): (&str, Vec<&'static [Scale]>, _, _) = match unit {
        Unit::Count => ("", vec![&SI[..]], "", 1.0),
        Unit::PerSecond => ("", vec![&SI[..]], "/s", 1.0),
        Unit::PerMinute => ("", vec![&SI[..]], "/min", 1.0),
        Unit::Money(sym) => (sym, vec![&MONEY[..]], "", 1.0),
        Unit::Bytes => ("", vec![&IEC[..], &IEC_SHORT[..]], "", 1.0),
        Unit::BytesPerSecond => ("", vec![&IEC[..], &IEC_SHORT[..]], "/s", 1.0),
        Unit::Seconds => ("", vec![&TIME[..]], "", 1.0),
        Unit::Percent => ("", vec![&PERCENT[..]], "", 1.0),
        Unit::Ratio => ("", vec![&PERCENT[..]], "", 100.0),
    };
    Shape { prefix: prefix.to_string(), ladders, tail, mul }
}

/// The natural form of `v`: `250µs`, `1m35s`, `12.3MiB`, `$1,234`, `42.1%`.
pub fn format(v: f64, unit: &Unit) -> String {
    if let Some(s) = crate::wire::special_name(v) {
        return s.to_string();
    }
    let sign = if v < 0.0 { "-" } else { "" };
    let a = v.abs();
    let body = match unit {
        Unit::Count => count(a),
        Unit::PerSecond => format!("{}/s", count(a)),
        Unit::PerMinute => format!("{}/min", count(a)),
        Unit::Money(sym) => format!("{sym}{}", money(a)),
        Unit::Bytes => bytes(a),
        Unit::BytesPerSecond => format!("{}/s", bytes(a)),
        Unit::Seconds => seconds(a),
        Unit::Percent => percent(a),
        Unit::Ratio => percent(a * 100.0),
    };
    format!("{sign}{body}")
}

/// `v` in at most `width` columns: the natural form if it fits, else the
/// closest value that does (fewer decimals, a larger suffix, no thousands
/// separator, scientific notation), else `width` times `#`.
pub fn format_fit(v: f64, unit: &Unit, width: usize) -> String {
    let natural = format(v, unit);
    if columns(&natural) <= width {
        return natural;
    }
    if let Some(s) = crate::wire::special_name(v) {
        // "Inf" still says which way when the sign is the only thing lost.
        return if s == "+Inf" && width >= 3 { "Inf".into() } else { hashes(width) };
    }
    if v == 0.0 && width >= 1 {
        // Zero is zero in every unit; dropping the suffix loses nothing.
        return "0".into();
    }
    let mut best: Option<(f64, String)> = None;
    for (err, s) in candidates(v, unit) {
        if columns(&s) <= width && best.as_ref().is_none_or(|(e, _)| err < *e) {
            best = Some((err, s));
        }
    }
    best.map_or_else(|| hashes(width), |(_, s)| s)
}

/// A short label for a chart axis: at most 7 columns, without trailing zeros
/// (axis ticks are round numbers, and `1.50s` next to `2.00s` is just noise).
pub fn format_axis(v: f64, unit: &Unit) -> String {
    const AXIS: usize = 7;
    let s = trim_zeros(&format_fit(v, unit, AXIS));
    debug_assert!(columns(&s) <= AXIS);
    s
}

/// Display columns, so a wide currency symbol is counted as two.
fn columns(s: &str) -> usize {
    Span::raw(s).width()
}

fn hashes(width: usize) -> String {
    "#".repeat(width)
}

/// Every other way to write `v`, each with how far the printed number is
/// from the real one. `format_fit` takes the closest that fits.
fn candidates(v: f64, unit: &Unit) -> Vec<(f64, String)> {
    let Shape { prefix, ladders, tail, mul } = shape(unit);
    let sign = if v < 0.0 { "-" } else { "" };
    let a = v.abs() * mul;
    let mut out = Vec::new();
    let mut push = |mantissa: String, factor: f64, suffix: &str| {
        let Ok(m) = mantissa.parse::<f64>() else { return };
        if m == 0.0 {
            // A non-zero value printed as 0 is a lie, not a rounding.
            return;
        }
        let err = (m * factor - a).abs() / mul;
        out.push((err, format!("{sign}{prefix}{mantissa}{suffix}{tail}")));
    };
    for ladder in ladders {
        for (i, s) in ladder.iter().enumerate() {
            let m = a / s.factor;
            // A larger scale is allowed only when the value nearly reaches it:
            // 999 may print as 1k, but 700 must not.
            if i > 0 && m < 0.95 {
                break;
            }
            // Four digits before a suffix ("3073G") read badly when the next
            // step up exists; plain numbers ("1234") are fine.
            if s.factor != 1.0 && m >= 999.5 && i + 1 < ladder.len() {
                continue;
            }
            for dec in 0..=3 {
                push(format!("{m:.dec$}"), s.factor, s.suffix);
            }
        }
        let base = ladder.iter().find(|s| s.factor == 1.0).map_or("", |s| s.suffix);
        for dec in 0..=2 {
            push(format!("{a:.dec$e}"), 1.0, base);
        }
    }
    out
}

/// Removes trailing zeros from the first decimal fraction: `1.50s` -> `1.5s`.
fn trim_zeros(s: &str) -> String {
    let Some(dot) = s.find('.') else { return s.to_string() };
    let digits = s[dot + 1..].chars().take_while(char::is_ascii_digit).count();
    let frac = &s[dot + 1..dot + 1 + digits];
    let kept = frac.trim_end_matches('0');
    let rest = &s[dot + 1 + digits..];
    if kept.is_empty() { format!("{}{rest}", &s[..dot]) } else { format!("{}.{kept}{rest}", &s[..dot]) }
}

/// `x` (non-negative) with `digits` significant digits, never gaining a
/// digit from rounding (9.996 is `10.0`, not `10.00`).
fn sig(x: f64, digits: i32) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let mag = x.log10().floor() as i32;
    let dec = (digits - 1 - mag).max(0) as usize;
    let s = format!("{x:.dec$}");
    if dec > 0 && s.parse::<f64>().is_ok_and(|r| r >= 10f64.powi(mag + 1)) { format!("{x:.*}", dec - 1) } else { s }
}

/// Like `sig`, without trailing zeros: `0.5`, not `0.50`.
fn sig_trim(x: f64, digits: i32) -> String {
    trim_zeros(&sig(x, digits))
}

/// `1,250` from an integer-valued float.
fn group(a: f64) -> String {
    let digits = format!("{:.0}", a.round());
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `a` on a ladder of suffixes, one decimal below 100 and none above
/// (`12.5k`, `125k`), moving up a step when rounding reaches 1000.
fn scaled(a: f64, ladder: &[Scale]) -> String {
    let mut i = ladder.iter().rposition(|s| a >= s.factor).unwrap_or(0);
    loop {
        let m = a / ladder[i].factor;
        let s = if m >= 99.95 { format!("{m:.0}") } else { format!("{m:.1}") };
        if s.parse::<f64>().is_ok_and(|r| r >= 1000.0) && i + 1 < ladder.len() {
            i += 1;
            continue;
        }
        if m >= 1e6 {
            // Past the top of the ladder; a mantissa this long helps no one.
            return format!("{:.1e}{}", a / ladder[0].factor, ladder[0].suffix);
        }
        return format!("{s}{}", ladder[i].suffix);
    }
}

fn count(a: f64) -> String {
    if a >= 1e4 {
        scaled(a, &SI)
    } else if a >= 100.0 || a.fract() == 0.0 {
        group(a)
    } else if a >= 1.0 {
        format!("{a:.1}")
    } else if a >= 1e-4 {
        sig_trim(a, 2)
    } else {
        format!("{a:.1e}")
    }
}

fn money(a: f64) -> String {
    if a >= 1e4 {
        scaled(a, &MONEY)
    } else if a >= 100.0 || a.fract() == 0.0 {
        group(a)
    } else if a >= 0.01 {
        // Cents are what money is counted in.
        format!("{a:.2}")
    } else {
        sig_trim(a, 2)
    }
}

fn bytes(a: f64) -> String {
    if format!("{a:.0}").parse::<f64>().is_ok_and(|r| r < 1000.0) { format!("{a:.0}B") } else { scaled(a, &IEC) }
}

fn seconds(a: f64) -> String {
    if a == 0.0 {
        return "0s".into();
    }
    if a < 1e-9 {
        return format!("{a:.1e}s");
    }
    if a < 59.95 {
        // Three significant digits in the largest unit below the value,
        // moving up when rounding reaches 1000 (999.96ms is 1.00s).
        let mut i = TIME[..4].iter().rposition(|s| a >= s.factor).unwrap_or(0);
        loop {
            let s = sig(a / TIME[i].factor, 3);
            if i < 3 && s.parse::<f64>().is_ok_and(|r| r >= 1000.0) {
                i += 1;
                continue;
            }
            return format!("{s}{}", TIME[i].suffix);
        }
    }
    // Longer spans read best as two fields, each rounded as a whole so that
    // 3599.7s is 1h00m rather than 59m60s.
    let secs = a.round();
    if secs < 3600.0 {
        return format!("{}m{:02}s", secs as u64 / 60, secs as u64 % 60);
    }
    let mins = (a / 60.0).round();
    if mins < 1440.0 {
        return format!("{}h{:02}m", mins as u64 / 60, mins as u64 % 60);
    }
    let hours = (a / 3600.0).round();
    if hours < 24.0 * 365.0 {
        return format!("{}d{:02}h", hours as u64 / 24, hours as u64 % 24);
    }
    let years = a / YEAR;
    if years < 1e6 { format!("{}y", sig(years, 3)) } else { format!("{years:.1e}y") }
}

/// A percentage (already times 100): three significant digits so a value
/// keeps its width as it ticks (`42.0%`, `42.1%`), at most three decimals.
fn percent(p: f64) -> String {
    if p == 0.0 {
        "0%".into()
    } else if p >= 99.95 {
        format!("{p:.0}%")
    } else if p >= 0.001 {
        let s = sig(p, 3);
        let s = match s.find('.') {
            Some(dot) if s.len() - dot - 1 > 3 => format!("{p:.3}"),
            _ => s,
        };
        format!("{s}%")
    } else {
        format!("{p:.1e}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Unit {
        Unit::Money("$".into())
    }

    #[test]
    fn names_parse_to_units() {
        let table: &[(&str, Unit)] = &[
            ("", Unit::Count),
            ("count", Unit::Count),
            ("None", Unit::Count),
            ("seconds", Unit::Seconds),
            ("s", Unit::Seconds),
            ("bytes", Unit::Bytes),
            ("bytes/s", Unit::BytesPerSecond),
            ("usd", usd()),
            ("$", usd()),
            ("money", usd()),
            ("EUR", Unit::Money("€".into())),
            ("€", Unit::Money("€".into())),
            ("gbp", Unit::Money("£".into())),
            ("£", Unit::Money("£".into())),
            ("percent", Unit::Percent),
            ("%", Unit::Percent),
            ("ratio", Unit::Ratio),
            ("per_second", Unit::PerSecond),
            ("/s", Unit::PerSecond),
            ("rps", Unit::PerSecond),
            ("per_minute", Unit::PerMinute),
            (" /min ", Unit::PerMinute),
        ];
        for (name, unit) in table {
            assert_eq!(name.parse::<Unit>().as_ref(), Ok(unit), "{name:?}");
        }
    }

    #[test]
    fn unknown_names_list_the_accepted_ones() {
        for bad in ["ms", "milliseconds", "kb", "yen"] {
            let err = bad.parse::<Unit>().unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
            assert!(err.contains("per_minute") && err.contains("seconds"), "{err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn units_deserialize_from_strings() {
        #[derive(serde::Deserialize)]
        struct Panel {
            unit: Unit,
        }
        let p: Panel = toml::from_str(r#"unit = "eur""#).unwrap();
        assert_eq!(p.unit, Unit::Money("€".into()));
        let err = toml::from_str::<Panel>(r#"unit = "ms""#).err().unwrap().to_string();
        assert!(err.contains("unknown unit"), "{err}");
        assert_eq!(Unit::default(), Unit::Count);
    }

    #[test]
    fn natural_forms() {
        let eur = Unit::Money("€".into());
        let table: &[(f64, Unit, &str)] = &[
            (0.000_250, Unit::Seconds, "250µs"),
            (0.0123, Unit::Seconds, "12.3ms"),
            (0.042, Unit::Seconds, "42.0ms"),
            (1.5, Unit::Seconds, "1.50s"),
            (12.34, Unit::Seconds, "12.3s"),
            (95.0, Unit::Seconds, "1m35s"),
            (0.9999, Unit::Seconds, "1.00s"),
            (0.000_999_9, Unit::Seconds, "1.00ms"),
            (59.99, Unit::Seconds, "1m00s"),
            (3599.7, Unit::Seconds, "1h00m"),
            (7500.0, Unit::Seconds, "2h05m"),
            (3.0 * 86_400.0 + 4.0 * 3600.0, Unit::Seconds, "3d04h"),
            (2.5e-7, Unit::Seconds, "250ns"),
            (0.0, Unit::Seconds, "0s"),
            (-0.0123, Unit::Seconds, "-12.3ms"),
            (512.0, Unit::Bytes, "512B"),
            (1536.0, Unit::Bytes, "1.5KiB"),
            (12.3 * 1024.0 * 1024.0, Unit::Bytes, "12.3MiB"),
            (1023.0 * 1024.0, Unit::Bytes, "1.0MiB"),
            (150.0 * 1024.0 * 1024.0 * 1024.0, Unit::Bytes, "150GiB"),
            (2048.0, Unit::BytesPerSecond, "2.0KiB/s"),
            (1234.0, usd(), "$1,234"),
            (12_500.0, usd(), "$12.5k"),
            (3_200_000.0, usd(), "$3.2M"),
            (4.5, usd(), "$4.50"),
            (2.0e9, usd(), "$2.0B"),
            (-1234.0, eur.clone(), "-€1,234"),
            (42.1, Unit::Percent, "42.1%"),
            (100.0, Unit::Percent, "100%"),
            (0.0123, Unit::Ratio, "1.23%"),
            (0.034, Unit::Ratio, "3.40%"),
            (0.5, Unit::Ratio, "50.0%"),
            (0.0, Unit::Ratio, "0%"),
            (45.0, Unit::Count, "45"),
            (45.5, Unit::Count, "45.5"),
            (1250.0, Unit::Count, "1,250"),
            (9999.0, Unit::Count, "9,999"),
            (12_500.0, Unit::Count, "12.5k"),
            (125_000.0, Unit::Count, "125k"),
            (999_990.0, Unit::Count, "1.0M"),
            (3_200_000.0, Unit::Count, "3.2M"),
            (1.1e9, Unit::Count, "1.1G"),
            (-1250.0, Unit::Count, "-1,250"),
            (0.5, Unit::Count, "0.5"),
            (0.0012, Unit::Count, "0.0012"),
            (1.2e-7, Unit::Count, "1.2e-7"),
            (3.0, Unit::PerSecond, "3/s"),
            (12_500.0, Unit::PerSecond, "12.5k/s"),
            (7.5, Unit::PerMinute, "7.5/min"),
            (f64::NAN, Unit::Seconds, "NaN"),
            (f64::INFINITY, Unit::Count, "+Inf"),
            (f64::NEG_INFINITY, usd(), "-Inf"),
        ];
        for (v, unit, want) in table {
            assert_eq!(format(*v, unit), *want, "{v} {unit:?}");
        }
    }

    #[test]
    fn fitting_drops_precision_then_switches_suffix() {
        let table: &[(f64, Unit, usize, &str)] = &[
            (1234.0, Unit::Count, 5, "1,234"),
            (1234.0, Unit::Count, 4, "1234"),
            (1234.0, Unit::Count, 3, "1k"),
            (1234.0, Unit::Count, 2, "1k"),
            (999.0, Unit::Count, 2, "1k"),
            (700.0, Unit::Count, 2, "##"),
            (45.67, Unit::Count, 3, "46"),
            (1234.0, usd(), 5, "$1234"),
            (1234.0, usd(), 4, "$1k"),
            (1.5, Unit::Seconds, 4, "1.5s"),
            (1.5, Unit::Seconds, 2, "2s"),
            (95.0, Unit::Seconds, 4, "95s"),
            (95.0, Unit::Seconds, 2, "2m"),
            (1536.0, Unit::Bytes, 5, "1536B"),
            (1536.0, Unit::Bytes, 4, "1.5K"),
            (3.3e12, Unit::Bytes, 5, "3TiB"),
            (0.0015, Unit::Seconds, 4, "2ms"),
            (0.0123, Unit::Ratio, 4, "1.2%"),
            (42.1, Unit::Percent, 3, "42%"),
            (42.1, Unit::Percent, 2, "##"),
            (12_500.0, Unit::PerSecond, 6, "12k/s"),
            (-1234.0, Unit::Count, 4, "-1k"),
            (f64::NAN, Unit::Count, 2, "##"),
            (f64::INFINITY, Unit::Count, 3, "Inf"),
            (f64::NEG_INFINITY, Unit::Count, 3, "###"),
            (0.0, Unit::Seconds, 1, "0"),
            (5.0, Unit::Count, 0, ""),
        ];
        for (v, unit, w, want) in table {
            assert_eq!(format_fit(*v, unit, *w), *want, "{v} {unit:?} in {w}");
        }
    }

    fn all_units() -> Vec<Unit> {
        vec![
            Unit::Count,
            Unit::Seconds,
            Unit::Bytes,
            Unit::BytesPerSecond,
            usd(),
            Unit::Money("€".into()),
            Unit::Money("CHF ".into()),
            Unit::Money("円".into()),
            Unit::Percent,
            Unit::Ratio,
            Unit::PerSecond,
            Unit::PerMinute,
        ]
    }

    fn sample_values() -> Vec<f64> {
        let mut vs = vec![0.0, -0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, f64::MIN_POSITIVE];
        let mut x = 1e-9;
        while x < 1e15 {
            for m in [1.0, 1.5, 2.5, 4.999, 9.96, 9.9996] {
                vs.push(x * m);
                vs.push(-x * m);
            }
            x *= 10.0;
        }
        vs
    }

    #[test]
    fn fitted_values_never_overflow() {
        for unit in all_units() {
            for v in sample_values() {
                for w in 0..=12 {
                    let s = format_fit(v, &unit, w);
                    assert!(columns(&s) <= w, "{v} {unit:?} in {w}: {s:?}");
                    assert!(s.chars().count() <= w, "{v} {unit:?} in {w}: {s:?}");
                    let ordinary = v.is_finite() && (v == 0.0 || (1e-9..1e16).contains(&v.abs()));
                    if w >= 9 && ordinary && !matches!(&unit, Unit::Money(s) if columns(s) > 1) {
                        // Nine columns hold every ordinary value in some form.
                        assert!(!s.starts_with('#'), "{v} {unit:?} in {w}: {s:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn fitted_values_stay_close_and_keep_their_sign() {
        for unit in [Unit::Count, Unit::Seconds, Unit::Bytes, usd(), Unit::Percent] {
            for v in sample_values().into_iter().filter(|v| v.is_finite() && *v != 0.0) {
                let natural = format(v, &unit);
                for w in 1..=12 {
                    let s = format_fit(v, &unit, w);
                    if s.starts_with('#') {
                        continue;
                    }
                    assert_eq!(s.starts_with('-'), v < 0.0, "{v} {unit:?} in {w}: {s:?}");
                    if columns(&natural) <= w {
                        assert_eq!(s, natural);
                    }
                }
            }
        }
    }

    #[test]
    fn axis_labels_are_short_and_plain() {
        let table: &[(f64, Unit, &str)] = &[
            (1.5, Unit::Seconds, "1.5s"),
            (2.0, Unit::Seconds, "2s"),
            (0.25, Unit::Seconds, "250ms"),
            (0.5, Unit::Ratio, "50%"),
            (12.0 * 1024.0 * 1024.0, Unit::Bytes, "12MiB"),
            (-12.3 * 1024.0 * 1024.0, Unit::Bytes, "-12.3M"),
            (1_500_000.0, usd(), "$1.5M"),
            (12_500.0, Unit::PerSecond, "12.5k/s"),
        ];
        for (v, unit, want) in table {
            assert_eq!(format_axis(*v, unit), *want, "{v} {unit:?}");
        }
        for unit in all_units() {
            for v in sample_values() {
                let s = format_axis(v, &unit);
                assert!(columns(&s) <= 7, "{v} {unit:?}: {s:?}");
            }
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(trim_zeros("1.50s"), "1.5s");
        assert_eq!(trim_zeros("2.00s"), "2s");
        assert_eq!(trim_zeros("1,250"), "1,250");
        assert_eq!(trim_zeros("1.0e-7"), "1e-7");
        assert_eq!(sig(9.996, 3), "10.0");
        assert_eq!(sig(0.0123, 3), "0.0123");
        assert_eq!(group(1_234_567.0), "1,234,567");
        assert_eq!(columns("円1"), 3);
        assert_eq!(columns("€1µs"), 4);
    }
}
