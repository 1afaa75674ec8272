//! The dashboard file format: pages of rows of panels. Every type here checks
//! itself while it is read, so a mistake is reported by the TOML reader with
//! the line it sits on and the dotted key that holds it.

use super::matcher::Matcher;
use crate::theme::ThemeColor;
use crate::units::Unit;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    /// `"default"`: these pages add to the built-in ones, and a page with
    /// the key of a built-in page takes its place.
    #[serde(default)]
    pub extends: Option<String>,
    #[serde(rename = "page", default)]
    pub pages: Vec<PageSpec>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageSpec {
    pub title: String,
    /// The name `:page` takes; the lower-cased title when absent.
    #[serde(default)]
    pub key: Option<String>,
    /// A label whose values are shown one at a time (e.g. "service"); panels
    /// refer to the chosen value as `"$service"`.
    #[serde(default)]
    pub select: Option<String>,
    /// The window this page opens with, when it differs from the global one.
    #[serde(default, deserialize_with = "opt_duration_ms")]
    pub window: Option<i64>,
    #[serde(rename = "row", default)]
    pub rows: Vec<RowSpec>,
}

impl PageSpec {
    pub fn key(&self) -> String {
        self.key.clone().unwrap_or_else(|| self.title.to_lowercase())
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowSpec {
    /// Terminal rows; rows without a height share what the others leave.
    #[serde(default)]
    pub height: Option<u16>,
    #[serde(rename = "panel")]
    pub panels: Vec<PanelSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PanelKind {
    Bignum,
    Gauge,
    Sparkline,
    Chart,
    Heatmap,
    Table,
    Alerts,
    /// Every SLO: attainment, budget left and burn rates.
    Slo,
    Events,
    Text,
}

/// How several series (or a counter's history) become one number per instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Agg {
    Sum,
    Avg,
    Max,
    Min,
    /// How many series match.
    Count,
    /// Per-second increase of counters, summed.
    Rate,
    /// A quantile of histograms merged across series (`q`, default 0.99).
    Quantile,
}

/// What a panel, line or column shows: a metric, narrowed by labels,
/// aggregated, and optionally divided by a second query (error ratios).
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct QuerySpec {
    pub metric: String,
    #[serde(default)]
    pub labels: BTreeMap<String, Matcher>,
    /// When absent: `rate` for counters, `quantile` for histograms, `sum` otherwise.
    #[serde(default)]
    pub agg: Option<Agg>,
    #[serde(default, deserialize_with = "quantile")]
    pub q: Option<f64>,
}

/// A panel's own thresholds: at or past `warn` it is a warning, at or past
/// `crit` critical; with `below`, lower values are the bad ones.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    #[serde(default)]
    pub warn: Option<f64>,
    #[serde(default)]
    pub crit: Option<f64>,
    #[serde(default)]
    pub below: bool,
}

/// One line of a chart; fields left out are the panel's.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineSpec {
    pub title: String,
    #[serde(default)]
    pub metric: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, Matcher>,
    #[serde(default)]
    pub agg: Option<Agg>,
    #[serde(default, deserialize_with = "quantile")]
    pub q: Option<f64>,
    /// The line's colour, instead of the theme's next one.
    #[serde(default)]
    pub color: Option<ThemeColor>,
}

/// How a table cell draws its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Show {
    #[default]
    Value,
    /// The value and a sparkline of its trend.
    Spark,
    /// The value and a bar against `max`.
    Bar,
}

impl ColumnSpec {
    pub fn thresholds(&self) -> Thresholds {
        Thresholds { warn: self.warn, crit: self.crit, below: self.below }
    }

    pub fn query(&self) -> QuerySpec {
        QuerySpec { metric: self.metric.clone(), labels: self.labels.clone(), agg: self.agg, q: self.q }
    }
}

/// One column of a table; rows are the values of the table's `by` label.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    pub title: String,
    pub metric: String,
    #[serde(default)]
    pub labels: BTreeMap<String, Matcher>,
    #[serde(default)]
    pub agg: Option<Agg>,
    #[serde(default, deserialize_with = "quantile")]
    pub q: Option<f64>,
    #[serde(default)]
    pub divide_by: Option<QuerySpec>,
    #[serde(default)]
    pub unit: Unit,
    #[serde(default)]
    pub warn: Option<f64>,
    #[serde(default)]
    pub crit: Option<f64>,
    #[serde(default)]
    pub below: bool,
    #[serde(default)]
    pub show: Show,
    /// Full scale of a bar (1 for ratios, 100 for percentages by default).
    #[serde(default)]
    pub max: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawPanel")]
pub struct PanelSpec {
    pub kind: PanelKind,
    pub title: String,
    /// Share of the row's width, relative to the other panels.
    pub width: u16,
    pub query: Option<QuerySpec>,
    pub divide_by: Option<QuerySpec>,
    pub unit: Unit,
    pub thresholds: Thresholds,
    /// Full scale of a gauge.
    pub max: Option<f64>,
    /// Split into one line (chart) or row (table) per value of this label.
    pub by: Option<String>,
    pub lines: Vec<LineSpec>,
    pub columns: Vec<ColumnSpec>,
    pub text: Option<String>,
    /// Most rows a table or list shows before scrolling.
    pub limit: Option<usize>,
    /// Order of a table's rows.
    pub sort: Sort,
    /// The panel's own colour (its value or line) while nothing is wrong;
    /// warning, critical and stale keep the theme's colours.
    pub color: Option<ThemeColor>,
}

/// Order of a table's rows: by name, or by the first column's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    #[default]
    Name,
    Asc,
    Desc,
}

/// The panel as written; checked and shaped into [`PanelSpec`]. Serde cannot
/// combine `flatten` with `deny_unknown_fields`, so the query's fields are
/// listed here and gathered by hand.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPanel {
    #[serde(rename = "type")]
    kind: PanelKind,
    #[serde(default)]
    title: String,
    #[serde(default)]
    width: Option<u16>,
    #[serde(default)]
    metric: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, Matcher>,
    #[serde(default)]
    agg: Option<Agg>,
    #[serde(default, deserialize_with = "quantile")]
    q: Option<f64>,
    #[serde(default)]
    divide_by: Option<QuerySpec>,
    #[serde(default)]
    unit: Unit,
    #[serde(default)]
    warn: Option<f64>,
    #[serde(default)]
    crit: Option<f64>,
    #[serde(default)]
    below: bool,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    lines: Vec<LineSpec>,
    #[serde(default)]
    columns: Vec<ColumnSpec>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    sort: Sort,
    #[serde(default)]
    color: Option<ThemeColor>,
}

impl TryFrom<RawPanel> for PanelSpec {
    type Error = String;

    fn try_from(r: RawPanel) -> Result<Self, String> {
        use PanelKind::*;
        let needs_metric = matches!(r.kind, Bignum | Gauge | Sparkline | Heatmap);
        if needs_metric && r.metric.is_none() {
            return Err(format!("a {} panel needs `metric`", kind_name(r.kind)));
        }
        if r.kind == Chart && r.metric.is_none() && r.lines.iter().any(|l| l.metric.is_none()) {
            return Err("a chart needs `metric`, or a `metric` on every line".into());
        }
        if r.kind == Table && (r.by.is_none() || r.columns.is_empty()) {
            return Err("a table needs `by` (the label of its rows) and at least one `[[...columns]]`".into());
        }
        if r.kind == Gauge && r.max.is_none() && !matches!(r.unit, Unit::Percent | Unit::Ratio) {
            return Err("a gauge needs `max` (unless its unit is \"percent\" or \"ratio\")".into());
        }
        if r.width == Some(0) {
            return Err("`width` is a share of the row and must be at least 1".into());
        }
        if let (Some(w), Some(c)) = (r.warn, r.crit) {
            let ordered = if r.below { c <= w } else { w <= c };
            if !ordered {
                return Err(format!("`warn` ({w}) must come before `crit` ({c})"));
            }
        }
        let query = r.metric.map(|metric| QuerySpec { metric, labels: r.labels, agg: r.agg, q: r.q });
        Ok(PanelSpec {
            kind: r.kind,
            title: r.title,
            width: r.width.unwrap_or(1),
            query,
            divide_by: r.divide_by,
            unit: r.unit,
            thresholds: Thresholds { warn: r.warn, crit: r.crit, below: r.below },
            max: r.max,
            by: r.by,
            lines: r.lines,
            columns: r.columns,
            text: r.text,
            limit: r.limit,
            sort: r.sort,
            color: r.color,
        })
    }
}

pub fn kind_name(k: PanelKind) -> &'static str {
    match k {
        PanelKind::Bignum => "bignum",
        PanelKind::Gauge => "gauge",
        PanelKind::Sparkline => "sparkline",
        PanelKind::Chart => "chart",
        PanelKind::Heatmap => "heatmap",
        PanelKind::Table => "table",
        PanelKind::Alerts => "alerts",
        PanelKind::Slo => "slo",
        PanelKind::Events => "events",
        PanelKind::Text => "text",
    }
}

/// A quantile between 0 and 1, for serde.
pub(crate) fn quantile<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let q = f64::deserialize(d)?;
    if !(0.0..=1.0).contains(&q) {
        return Err(serde::de::Error::custom(format!("quantile {q} is outside 0..1 (p99 is 0.99)")));
    }
    Ok(Some(q))
}

fn opt_duration_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let s = String::deserialize(d)?;
    let dur = humantime::parse_duration(&s)
        .map_err(|e| serde::de::Error::custom(format!("{s:?} is not a duration ({e}); try \"1h\"")))?;
    if dur.as_secs() < 60 || dur.as_secs() > 86_400 {
        return Err(serde::de::Error::custom(format!(
            "window {s:?} must be between 1m and 24h (what the store keeps)"
        )));
    }
    Ok(Some(dur.as_millis() as i64))
}
