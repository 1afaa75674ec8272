//! The dashboard file format: pages of rows of panels. Every type here checks
//! itself while it is read, so a mistake is reported by the TOML reader with
//! the line it sits on and the dotted key that holds it.

use crate::core::query::matcher::Matcher;
pub use crate::core::query::spec::{Agg, QuerySpec, Signal, parse_promql_key, promql_key, subst, subst_promql};
use crate::core::query::spec::{QueryOut, quantile, query_fields, write_labels};
use crate::core::units::Unit;
use crate::tui::theme::ThemeColor;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    /// `"default"`: these pages add to the built-in ones, and a page with
    /// the key of a built-in page takes its place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    #[serde(rename = "page", default)]
    pub pages: Vec<PageSpec>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PageSpec {
    pub title: String,
    /// The name `:page` takes; the lower-cased title when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// A label whose values are shown one at a time (e.g. "service"); panels
    /// refer to the chosen value as `"$service"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<String>,
    /// PromQL whose result series carry the values `select` offers, for a
    /// page whose panels run PromQL (`group by (job) (up)`); run by the
    /// first Prometheus source, or `select_source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_query: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_source: Option<String>,
    /// The window this page opens with, when it differs from the global one.
    #[serde(
        default,
        deserialize_with = "opt_duration_ms",
        serialize_with = "write_duration_ms",
        skip_serializing_if = "Option::is_none"
    )]
    pub window: Option<i64>,
    #[serde(rename = "row", default)]
    pub rows: Vec<RowSpec>,
}

impl PageSpec {
    /// A page of a title, every other field at its default.
    pub fn new(title: &str) -> PageSpec {
        PageSpec {
            title: title.to_string(),
            key: None,
            select: None,
            select_query: None,
            select_source: None,
            window: None,
            rows: Vec::new(),
        }
    }

    pub fn key(&self) -> String {
        self.key.clone().unwrap_or_else(|| self.title.to_lowercase())
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RowSpec {
    /// Terminal rows; rows without a height share what the others leave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u16>,
    #[serde(rename = "panel")]
    pub panels: Vec<PanelSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LineSpec {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// PromQL instead of `metric`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The Prometheus source of `query`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// A golden signal instead of `metric`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<Signal>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", serialize_with = "write_labels")]
    pub labels: BTreeMap<String, Matcher>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agg: Option<Agg>,
    #[serde(default, deserialize_with = "quantile", skip_serializing_if = "Option::is_none")]
    pub q: Option<f64>,
    /// The line's colour, instead of the theme's next one.
    #[serde(default, serialize_with = "write_color", skip_serializing_if = "Option::is_none")]
    pub color: Option<ThemeColor>,
}

/// How a table cell draws its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
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
        QuerySpec {
            metric: self.metric.clone().unwrap_or_default(),
            labels: self.labels.clone(),
            agg: self.agg,
            q: self.q,
            promql: self.query.clone(),
            source: self.source.clone(),
            signal: self.signal,
        }
    }
}

/// One column of a table; rows are the values of the table's `by` label.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// PromQL instead of `metric`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The Prometheus source of `query`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// A golden signal instead of `metric`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<Signal>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", serialize_with = "write_labels")]
    pub labels: BTreeMap<String, Matcher>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agg: Option<Agg>,
    #[serde(default, deserialize_with = "quantile", skip_serializing_if = "Option::is_none")]
    pub q: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub divide_by: Option<QuerySpec>,
    #[serde(default, serialize_with = "write_unit", skip_serializing_if = "is_count")]
    pub unit: Unit,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<f64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub below: bool,
    #[serde(default, skip_serializing_if = "is_value")]
    pub show: Show,
    /// Full scale of a bar (1 for ratios, 100 for percentages by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

impl PanelSpec {
    /// A panel of a kind and title, every other field at its default.
    pub fn new(kind: PanelKind, title: &str) -> PanelSpec {
        PanelSpec {
            kind,
            title: title.to_string(),
            width: 1,
            query: None,
            divide_by: None,
            unit: Unit::Count,
            thresholds: Thresholds::default(),
            max: None,
            by: None,
            lines: Vec::new(),
            columns: Vec::new(),
            text: None,
            limit: None,
            sort: Sort::Name,
            color: None,
        }
    }
}

/// Order of a table's rows: by name, or by the first column's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
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
    query: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    signal: Option<Signal>,
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
        let (metric, promql, source) = query_fields(r.metric, r.query, r.source, r.signal)?;
        let has_query = metric.is_some() || promql.is_some() || r.signal.is_some();
        let needs_metric = matches!(r.kind, Bignum | Gauge | Sparkline | Heatmap);
        if needs_metric && !has_query {
            return Err(format!("a {} panel needs `metric` (or a PromQL `query`) or a `signal`", kind_name(r.kind)));
        }
        for l in &r.lines {
            query_fields(l.metric.clone(), l.query.clone(), l.source.clone(), l.signal)
                .map_err(|e| format!("line {:?}: {e}", l.title))?;
        }
        let line_has_none = |l: &LineSpec| l.metric.is_none() && l.query.is_none() && l.signal.is_none();
        if r.kind == Chart && !has_query && r.lines.iter().any(line_has_none) {
            return Err("a chart needs `metric`, `query` or `signal`, or one of them on every line".into());
        }
        for c in &r.columns {
            match query_fields(c.metric.clone(), c.query.clone(), c.source.clone(), c.signal) {
                Err(e) => return Err(format!("column {:?}: {e}", c.title)),
                Ok((None, None, _)) if c.signal.is_none() => {
                    return Err(format!("column {:?} needs `metric`, `query` or `signal`", c.title));
                }
                Ok(_) => {}
            }
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
        let query = has_query.then(|| QuerySpec {
            metric: metric.unwrap_or_default(),
            labels: r.labels,
            agg: r.agg,
            q: r.q,
            promql,
            source,
            signal: r.signal,
        });
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

// Writing a spec back. `Serialize` mirrors the reading side field for field:
// a query is written as `metric` or `query`, a panel's query and thresholds
// sit in the panel's own table, and every field at its default is left out.

impl Serialize for PanelSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let q = self.query.as_ref().map(QueryOut::of);
        let no_labels = BTreeMap::new();
        PanelOut {
            kind: self.kind,
            title: &self.title,
            width: self.width,
            metric: q.as_ref().and_then(|q| q.metric),
            query: q.as_ref().and_then(|q| q.query),
            source: q.as_ref().and_then(|q| q.source),
            signal: q.as_ref().and_then(|q| q.signal),
            labels: q.as_ref().map_or(&no_labels, |q| q.labels),
            agg: q.as_ref().and_then(|q| q.agg),
            q: q.as_ref().and_then(|q| q.q),
            divide_by: self.divide_by.as_ref(),
            by: self.by.as_deref(),
            unit: &self.unit,
            warn: self.thresholds.warn,
            crit: self.thresholds.crit,
            below: self.thresholds.below,
            max: self.max,
            text: self.text.as_deref(),
            limit: self.limit,
            sort: self.sort,
            color: &self.color,
            lines: &self.lines,
            columns: &self.columns,
        }
        .serialize(s)
    }
}

/// A panel as written: the fields [`RawPanel`] reads.
#[derive(Serialize)]
struct PanelOut<'a> {
    #[serde(rename = "type")]
    kind: PanelKind,
    #[serde(skip_serializing_if = "str::is_empty")]
    title: &'a str,
    #[serde(skip_serializing_if = "is_one")]
    width: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    metric: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signal: Option<Signal>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", serialize_with = "write_labels")]
    labels: &'a BTreeMap<String, Matcher>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agg: Option<Agg>,
    #[serde(skip_serializing_if = "Option::is_none")]
    q: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    divide_by: Option<&'a QuerySpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    by: Option<&'a str>,
    #[serde(skip_serializing_if = "is_count", serialize_with = "write_unit")]
    unit: &'a Unit,
    #[serde(skip_serializing_if = "Option::is_none")]
    warn: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crit: Option<f64>,
    #[serde(skip_serializing_if = "is_false")]
    below: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<usize>,
    #[serde(skip_serializing_if = "is_name")]
    sort: Sort,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "write_color")]
    color: &'a Option<ThemeColor>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    lines: &'a [LineSpec],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    columns: &'a [ColumnSpec],
}

fn is_one(w: &u16) -> bool {
    *w == 1
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_name(s: &Sort) -> bool {
    *s == Sort::Name
}

fn is_value(s: &Show) -> bool {
    *s == Show::Value
}

fn is_count(u: &Unit) -> bool {
    *u == Unit::Count
}

/// A unit by the name [`Unit`]'s reader takes.
fn write_unit<S: Serializer>(u: &Unit, s: S) -> Result<S::Ok, S::Error> {
    let name = match u {
        Unit::Count => "count",
        Unit::Seconds => "seconds",
        Unit::Bytes => "bytes",
        Unit::BytesPerSecond => "bytes/s",
        Unit::Money(sym) if sym == "€" => "eur",
        Unit::Money(sym) if sym == "£" => "gbp",
        Unit::Money(_) => "usd",
        Unit::Percent => "percent",
        Unit::Ratio => "ratio",
        Unit::PerSecond => "per_second",
        Unit::PerMinute => "per_minute",
    };
    s.serialize_str(name)
}

/// A colour by the name the theme's reader takes (`lightred`, `#ff8800`, `208`).
fn write_color<S: Serializer>(c: &Option<ThemeColor>, s: S) -> Result<S::Ok, S::Error> {
    match c {
        Some(c) => s.serialize_str(&c.0.to_string().to_lowercase()),
        None => s.serialize_none(),
    }
}

/// A page's window as the reader takes it: `1h`, `90m` as `1h 30m`.
fn write_duration_ms<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => {
            let d = std::time::Duration::from_millis((*ms).max(0) as u64);
            s.serialize_str(&humantime::format_duration(d).to_string())
        }
        None => s.serialize_none(),
    }
}
