//! A panel's unit, scale, thresholds and maximum: Grafana's field config
//! (or the old panels' own fields) in vigil's terms.

use super::Translator;
use super::model::{OldThreshold, OldThresholds, Panel, Steps};
use super::text::clean_line;
use crate::core::units::Unit;
use crate::dashboards::Thresholds;
use std::collections::BTreeSet;

impl Translator<'_> {
    /// Unit, scale, thresholds and maximum of a panel, from the new
    /// `fieldConfig` or the old panels' own fields.
    pub(super) fn field_config(&mut self, p: &Panel, kind: &str, title: &str) -> Field {
        let defaults = &p.field_config.defaults;
        let unit_id = defaults
            .unit
            .as_deref()
            .or(p.options.y_axis.unit.as_deref())
            .or_else(|| p.yaxes.first().and_then(|a| a.format.as_deref()))
            .or(p.y_axis.format.as_deref())
            .or(p.format.as_deref())
            .unwrap_or("");
        let (unit, scale) = match unit_of(unit_id) {
            Some(u) => u,
            None => {
                self.notes.push(format!(
                    "\"{title}\": Grafana's unit `{}` has no vigil counterpart; its values print as plain numbers",
                    clean_line(unit_id)
                ));
                (None, Scale::One)
            }
        };
        if scale != Scale::One {
            self.notes.push(format!(
                "\"{title}\": Grafana's unit `{}` is shown as {}, so its query is {}",
                clean_line(unit_id),
                unit.unwrap_or("count"),
                scale.describe()
            ));
        }
        let max = defaults.max.or(p.gauge.max_value.filter(|_| kind == "singlestat"));
        let min = defaults.min.or(p.gauge.min_value);
        let mut th = match (&defaults.thresholds, &p.thresholds) {
            (Some(t), _) if thresholds_shown(p, kind) => self.steps(t, min, max, unit, title),
            (Some(_), _) => Thresholds::default(),
            (None, OldThresholds::Lines(list)) => old_graph_thresholds(list),
            (None, OldThresholds::Text(s)) => singlestat_thresholds(s, &p.colors),
            (None, OldThresholds::None) => Thresholds::default(),
        };
        let below = th.below;
        let ordered = |w: f64, c: f64| if below { c <= w } else { w <= c };
        if let (Some(w), Some(c)) = (th.warn, th.crit)
            && !ordered(w, c)
        {
            self.notes.push(format!("\"{title}\": its warning step lies past its critical one and was dropped"));
            th.warn = None;
        }
        if matches!(kind, "gauge" | "bargauge" | "singlestat") && min.is_some_and(|m| m != 0.0) {
            self.notes.push(format!("\"{title}\": vigil's gauges start at 0, not at Grafana's min"));
        }
        // Scaling a huge number can overflow; vigil could not write that back.
        let scaled = |v: Option<f64>| v.map(|v| scale.value(v)).filter(|v| v.is_finite());
        Field { unit, scale, warn: scaled(th.warn), crit: scaled(th.crit), below: th.below, max: scaled(max) }
    }

    /// `fieldConfig.defaults.thresholds`: green steps are fine, yellow and
    /// orange ones warnings, red ones critical. When the base (lowest) step
    /// is the bad colour, low values are the bad ones (`below`).
    fn steps(&mut self, t: &Steps, min: Option<f64>, max: Option<f64>, unit: Option<&str>, title: &str) -> Thresholds {
        let mut steps: Vec<(f64, Option<Severity>)> = Vec::new();
        let mut unknown = BTreeSet::new();
        for s in t.steps.iter() {
            let colour = s.color.as_deref().unwrap_or("");
            let sev = severity(colour);
            if sev.is_none() {
                unknown.insert(clean_line(colour));
            }
            steps.push((s.value.unwrap_or(f64::NEG_INFINITY), sev));
        }
        if !unknown.is_empty() {
            let list: Vec<String> = unknown.into_iter().collect();
            self.notes.push(format!(
                "\"{title}\": threshold colours {} are neither green, yellow, orange nor red, and were left out",
                list.join(", ")
            ));
        }
        let mut steps: Vec<(f64, Severity)> = steps.into_iter().filter_map(|(v, s)| Some((v, s?))).collect();
        if t.mode.as_deref() == Some("percentage") {
            // Percentages of the panel's range, which must then be known.
            let (lo, hi) = match (unit, max) {
                (_, Some(hi)) => (min.unwrap_or(0.0), hi),
                (Some("percent"), None) => (0.0, 100.0),
                (Some("ratio"), None) => (0.0, 1.0),
                _ => {
                    self.notes.push(format!(
                        "\"{title}\": its thresholds are percentages of a range it does not give, and were left out"
                    ));
                    return Thresholds::default();
                }
            };
            for s in &mut steps {
                s.0 = lo + s.0 / 100.0 * (hi - lo);
            }
        }
        steps.sort_by(|a, b| a.0.total_cmp(&b.0));
        let Some(&(_, base)) = steps.first() else { return Thresholds::default() };
        let mut th = Thresholds::default();
        if base != Severity::Ok && steps.iter().any(|s| s.1 == Severity::Ok) {
            // Bad below: a level ends where the next better step begins.
            th.below = true;
            th.crit = steps.windows(2).find(|w| w[0].1 == Severity::Crit && w[1].1 != Severity::Crit).map(|w| w[1].0);
            th.warn = steps.windows(2).find(|w| w[0].1 == Severity::Warn && w[1].1 == Severity::Ok).map(|w| w[1].0);
        } else {
            th.warn = steps.iter().find(|s| s.1 == Severity::Warn).map(|s| s.0);
            th.crit = steps.iter().find(|s| s.1 == Severity::Crit).map(|s| s.0);
        }
        // A base step that is already a warning has no finite start.
        th.warn = th.warn.filter(|v| v.is_finite());
        th.crit = th.crit.filter(|v| v.is_finite());
        th
    }

    /// A gauge's full scale: Grafana's max, else the percent or ratio
    /// unit's own, else 100 or the critical threshold if that is larger.
    pub(super) fn gauge_max(&mut self, f: &Field, title: &str) -> Option<f64> {
        if f.max.is_some() || matches!(f.unit, Some("percent" | "ratio")) {
            return f.max;
        }
        let max = f.crit.into_iter().chain(f.warn).fold(100.0_f64, f64::max);
        self.notes.push(format!("\"{title}\": no max in Grafana; its gauge runs to {}", num(max)));
        Some(max)
    }
}

/// What a panel's field config gives vigil.
pub(super) struct Field {
    /// A name [`Unit`] reads, or none for a plain number.
    pub unit: Option<&'static str>,
    pub scale: Scale,
    pub warn: Option<f64>,
    pub crit: Option<f64>,
    pub below: bool,
    pub max: Option<f64>,
}

impl Field {
    pub fn unit(&self) -> Unit {
        self.unit.and_then(|u| u.parse().ok()).unwrap_or_default()
    }

    pub fn thresholds(&self) -> Thresholds {
        Thresholds { warn: self.warn, crit: self.crit, below: self.below }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Severity {
    Ok,
    Warn,
    Crit,
}

/// Whether Grafana draws a panel's threshold steps at all. Every new panel
/// gets a green base and a red 80, which a time series shows only when its
/// threshold style is on, a stat unless its colour mode is none, and a
/// table only in cells coloured by value.
fn thresholds_shown(p: &Panel, kind: &str) -> bool {
    let custom = &p.field_config.defaults.custom;
    match kind {
        "timeseries" => custom.thresholds_style.mode.as_deref().is_some_and(|m| m != "off"),
        "stat" => p.options.color_mode.as_deref() != Some("none"),
        "table" => {
            let cell = custom.cell_options.kind.as_deref().or(custom.display_mode.as_deref());
            cell.is_some_and(|c| c.contains("color") || c.contains("gauge"))
        }
        _ => true,
    }
}

/// What a threshold colour means: Grafana's named colours by their hue
/// word, and hex or rgb() colours by their channels.
fn severity(colour: &str) -> Option<Severity> {
    let c = colour.trim().to_lowercase();
    if c.contains("red") {
        return Some(Severity::Crit);
    }
    if c.contains("orange") || c.contains("yellow") {
        return Some(Severity::Warn);
    }
    if c.contains("green") {
        return Some(Severity::Ok);
    }
    let (r, g, b) = rgb(&c)?;
    if r > 180 && g < 110 {
        Some(Severity::Crit)
    } else if r > 180 && b < 110 {
        Some(Severity::Warn)
    } else if g > r && g > b {
        Some(Severity::Ok)
    } else {
        None
    }
}

fn rgb(c: &str) -> Option<(u8, u8, u8)> {
    if let Some(hex) = c.strip_prefix('#') {
        let hex = hex.get(..6).filter(|h| h.is_ascii())?;
        let ch = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        return Some((ch(0)?, ch(2)?, ch(4)?));
    }
    let inner = c.strip_prefix("rgba(").or_else(|| c.strip_prefix("rgb("))?.trim_end_matches(')');
    let mut parts = inner.split(',').map(|p| p.trim().parse::<f64>().ok().map(|v| v.clamp(0.0, 255.0) as u8));
    Some((parts.next()??, parts.next()??, parts.next()??))
}

/// The old graph panel's `thresholds`: `{ value, op, colorMode }`.
fn old_graph_thresholds(list: &[OldThreshold]) -> Thresholds {
    let mut th = Thresholds::default();
    for t in list {
        let Some(v) = t.value else { continue };
        th.below |= t.op.as_deref() == Some("lt");
        match t.color_mode.as_deref() {
            Some("warning") => th.warn = th.warn.or(Some(v)),
            Some("critical") => th.crit = th.crit.or(Some(v)),
            _ => {}
        }
    }
    th
}

/// The old singlestat's `thresholds = "50,80"` with `colors` for below,
/// between and above them.
fn singlestat_thresholds(s: &str, colours: &[Option<String>]) -> Thresholds {
    let values: Vec<f64> = s.split(',').filter_map(|v| v.trim().parse().ok()).collect();
    let sev = |i: usize| colours.get(i).and_then(|c| c.as_deref()).and_then(severity);
    let below = sev(0) == Some(Severity::Crit);
    match (values.as_slice(), below) {
        ([w, c, ..], false) => Thresholds { warn: Some(*w), crit: Some(*c), below },
        ([c, w, ..], true) => Thresholds { warn: Some(*w), crit: Some(*c), below },
        ([v], false) if sev(1) == Some(Severity::Crit) => Thresholds { crit: Some(*v), ..Thresholds::default() },
        ([v], false) => Thresholds { warn: Some(*v), ..Thresholds::default() },
        ([v], true) => Thresholds { crit: Some(*v), below, ..Thresholds::default() },
        _ => Thresholds::default(),
    }
}

/// How a value in Grafana's unit becomes one in vigil's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Scale {
    One,
    Mul(f64),
    Div(f64),
}

impl Scale {
    pub fn apply(self, expr: &str) -> String {
        match self {
            Scale::One => expr.to_string(),
            Scale::Mul(k) => format!("({expr}) * {}", num(k)),
            Scale::Div(k) => format!("({expr}) / {}", num(k)),
        }
    }

    pub fn value(self, v: f64) -> f64 {
        match self {
            Scale::One => v,
            Scale::Mul(k) => v * k,
            Scale::Div(k) => v / k,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Scale::One => "unchanged".into(),
            Scale::Mul(k) => format!("multiplied by {}", num(k)),
            Scale::Div(k) => format!("divided by {}", num(k)),
        }
    }
}

/// Grafana's unit id as a vigil unit (`None`: a plain number) and the
/// scale that takes its values there; `None` for a unit vigil lacks.
fn unit_of(id: &str) -> Option<(Option<&'static str>, Scale)> {
    use Scale::*;
    const KI: f64 = 1024.0;
    let u = match id {
        "" | "none" | "short" | "locale" | "sishort" | "number" => (None, One),
        "ns" => (Some("seconds"), Div(1e9)),
        "µs" | "us" => (Some("seconds"), Div(1e6)),
        "ms" | "dtdurationms" | "clockms" => (Some("seconds"), Div(1000.0)),
        "s" | "dtdurations" | "clocks" => (Some("seconds"), One),
        "m" => (Some("seconds"), Mul(60.0)),
        "h" => (Some("seconds"), Mul(3600.0)),
        "d" => (Some("seconds"), Mul(86400.0)),
        "percent" => (Some("percent"), One),
        "percentunit" => (Some("ratio"), One),
        "bytes" | "decbytes" => (Some("bytes"), One),
        "bits" | "decbits" => (Some("bytes"), Div(8.0)),
        "kbytes" => (Some("bytes"), Mul(KI)),
        "deckbytes" => (Some("bytes"), Mul(1e3)),
        "mbytes" => (Some("bytes"), Mul(KI * KI)),
        "decmbytes" => (Some("bytes"), Mul(1e6)),
        "gbytes" => (Some("bytes"), Mul(KI * KI * KI)),
        "decgbytes" => (Some("bytes"), Mul(1e9)),
        "tbytes" => (Some("bytes"), Mul(KI * KI * KI * KI)),
        "dectbytes" => (Some("bytes"), Mul(1e12)),
        "Bps" | "binBps" | "decBps" => (Some("bytes/s"), One),
        "bps" | "binbps" => (Some("bytes/s"), Div(8.0)),
        "KBs" => (Some("bytes/s"), Mul(1e3)),
        "KiBs" => (Some("bytes/s"), Mul(KI)),
        "MBs" => (Some("bytes/s"), Mul(1e6)),
        "MiBs" => (Some("bytes/s"), Mul(KI * KI)),
        "GBs" => (Some("bytes/s"), Mul(1e9)),
        "GiBs" => (Some("bytes/s"), Mul(KI * KI * KI)),
        "Kbits" => (Some("bytes/s"), Mul(125.0)),
        "Mbits" => (Some("bytes/s"), Mul(125_000.0)),
        "Gbits" => (Some("bytes/s"), Mul(125_000_000.0)),
        "reqps" | "rps" | "ops" | "iops" | "wps" | "cps" | "mps" | "eps" => (Some("per_second"), One),
        "reqpm" | "rpm" | "opm" | "wpm" | "cpm" | "mpm" | "epm" => (Some("per_minute"), One),
        "currencyUSD" => (Some("usd"), One),
        "currencyEUR" => (Some("eur"), One),
        "currencyGBP" => (Some("gbp"), One),
        _ => return None,
    };
    Some(u)
}

/// A finite number as TOML (and PromQL) write it: whole numbers without a
/// fraction, others in Rust's shortest form that reads back exactly.
pub(super) fn num(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        // `as` drops the sign of -0.0, which is the point.
        format!("{}", v as i64)
    } else {
        format!("{v:?}")
    }
}
