//! Grafana's dashboard JSON, as far as the import reads it. Grafana has
//! changed its model many times and dashboards are edited by hand, so
//! every field is lenient: one of an unexpected type reads as absent
//! (its default) instead of failing the dashboard, numbers may be written
//! as strings, a datasource is a name or an object, and a list holds
//! whatever its elements turned out to be.

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::Value;
use std::collections::BTreeMap;

/// Any value read as a `T`, or `T`'s default when it is not one.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(d: D) -> Result<T, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(T::deserialize(v).unwrap_or_default())
}

/// A table read as a `T`; anything else is `T`'s default. (A list would
/// otherwise be read as the struct's fields in order.)
fn table<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(d: D) -> Result<T, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(if v.is_object() { T::deserialize(v).unwrap_or_default() } else { T::default() })
}

/// A table that is there and is a table.
fn some_table<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(d: D) -> Result<Option<T>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(v.is_object().then(|| T::deserialize(v).unwrap_or_default()))
}

/// A field that is there, whatever its value (even `null`), as `Some`.
fn present<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(d: D) -> Result<Option<T>, D::Error> {
    lenient(d).map(Some)
}

/// A table that is there, whatever its value, as `Some`.
fn present_table<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(d: D) -> Result<Option<T>, D::Error> {
    table(d).map(Some)
}

/// A number, or a string holding one (as old dashboards write them);
/// only finite numbers count.
fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let n = match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    Ok(n.filter(|f| f.is_finite()))
}

/// A whole number; a fraction is cut to its whole part.
fn whole<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        _ => None,
    })
}

/// A list whose elements are read one by one: one that is not a `T` is
/// `T`'s default, and anything but a list is an empty one.
#[derive(Debug, Clone, PartialEq)]
pub struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<'de, T: DeserializeOwned + Default> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(List(match Value::deserialize(d)? {
            Value::Array(items) => items
                .into_iter()
                // No element here is a list; serde would read one as a
                // struct's fields in order.
                .map(|v| if v.is_array() { T::default() } else { T::deserialize(v).unwrap_or_default() })
                .collect(),
            _ => Vec::new(),
        }))
    }
}

impl<T> std::ops::Deref for List<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.0
    }
}

/// The dashboard itself (inside the API's `{"dashboard": ...}` or not).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Board {
    #[serde(deserialize_with = "lenient")]
    pub title: Option<String>,
    /// The grid layout; `None` when the dashboard has no such list.
    #[serde(deserialize_with = "list_if_list")]
    pub panels: Option<List<Panel>>,
    /// The layout before schema version 16.
    #[serde(deserialize_with = "list_if_list")]
    pub rows: Option<List<OldRow>>,
    #[serde(deserialize_with = "table")]
    pub templating: Templating,
    #[serde(deserialize_with = "table")]
    pub time: TimeRange,
    #[serde(rename = "__inputs", deserialize_with = "lenient")]
    pub inputs: List<Input>,
}

/// A list that is there and is a list.
fn list_if_list<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(d: D) -> Result<Option<List<T>>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(v.is_array().then(|| List::deserialize(v).unwrap_or_default()))
}

/// The part of an export that is not the dashboard: what it needs imported.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Export {
    #[serde(rename = "__inputs", deserialize_with = "lenient")]
    pub inputs: List<Input>,
}

/// A datasource an export asks for, by the name its panels use.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Input {
    #[serde(deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(rename = "pluginId", deserialize_with = "lenient")]
    pub plugin_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TimeRange {
    #[serde(deserialize_with = "lenient")]
    pub from: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Templating {
    #[serde(deserialize_with = "lenient")]
    pub list: List<Variable>,
}

/// A panel of either layout; a `row` panel holds its panels while collapsed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Panel {
    #[serde(rename = "type", deserialize_with = "lenient")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub title: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub id: Option<i64>,
    #[serde(deserialize_with = "lenient")]
    pub repeat: Option<String>,
    /// `None` when the panel has no grid position at all.
    #[serde(rename = "gridPos", deserialize_with = "present_table")]
    pub grid_pos: Option<GridPos>,
    /// The old layout's width out of 12.
    #[serde(deserialize_with = "number")]
    pub span: Option<f64>,
    #[serde(deserialize_with = "lenient")]
    pub panels: List<Panel>,
    /// Present (whatever it holds) when the panel is a library panel.
    #[serde(rename = "libraryPanel", deserialize_with = "present")]
    pub library_panel: Option<()>,
    /// `None` when the panel has no `targets` at all.
    #[serde(deserialize_with = "present")]
    pub targets: Option<List<Target>>,
    #[serde(deserialize_with = "lenient")]
    pub datasource: Option<DatasourceRef>,
    #[serde(rename = "fieldConfig", deserialize_with = "table")]
    pub field_config: FieldConfig,
    #[serde(deserialize_with = "table")]
    pub options: PanelOptions,
    #[serde(deserialize_with = "lenient")]
    pub transformations: List<Transformation>,
    // What panels before the field config said for themselves.
    #[serde(rename = "valueName", deserialize_with = "lenient")]
    pub value_name: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub content: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub mode: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub yaxes: List<Axis>,
    #[serde(rename = "yAxis", deserialize_with = "table")]
    pub y_axis: Axis,
    #[serde(deserialize_with = "lenient")]
    pub format: Option<String>,
    #[serde(deserialize_with = "table")]
    pub gauge: OldGauge,
    #[serde(deserialize_with = "lenient")]
    pub thresholds: OldThresholds,
    #[serde(deserialize_with = "lenient")]
    pub colors: List<Option<String>>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub struct GridPos {
    #[serde(deserialize_with = "whole")]
    pub x: Option<i64>,
    #[serde(deserialize_with = "whole")]
    pub y: Option<i64>,
    #[serde(deserialize_with = "whole")]
    pub w: Option<i64>,
    #[serde(deserialize_with = "whole")]
    pub h: Option<i64>,
}

/// A row of the old layout.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OldRow {
    #[serde(deserialize_with = "lenient")]
    pub title: Option<String>,
    /// Pixels, as a number or a string such as `"250px"`.
    #[serde(deserialize_with = "pixels")]
    pub height: Option<f64>,
    #[serde(deserialize_with = "lenient")]
    pub panels: List<Panel>,
    #[serde(deserialize_with = "lenient")]
    pub repeat: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub collapse: Option<bool>,
}

fn pixels<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s.trim_end_matches("px").trim().parse::<f64>().ok(),
        v => v.as_f64(),
    })
}

/// One query of a panel.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Target {
    #[serde(deserialize_with = "lenient")]
    pub hide: Option<bool>,
    #[serde(deserialize_with = "lenient")]
    pub datasource: Option<DatasourceRef>,
    #[serde(deserialize_with = "lenient")]
    pub expr: Option<String>,
    #[serde(rename = "legendFormat", deserialize_with = "lenient")]
    pub legend_format: Option<String>,
    #[serde(rename = "refId", deserialize_with = "lenient")]
    pub ref_id: Option<String>,
}

/// A panel's or query's datasource: a name (or uid, or `$variable`) in
/// older dashboards, `{ type, uid }` in newer ones. `null` is no datasource
/// named (the field reads as `None`); any other value is [`Self::Odd`].
#[derive(Debug, Clone, PartialEq, Default)]
pub enum DatasourceRef {
    Name(String),
    Object {
        kind: Option<String>,
        uid: Option<String>,
    },
    #[default]
    Odd,
}

impl<'de> Deserialize<'de> for DatasourceRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Object {
            #[serde(rename = "type", deserialize_with = "lenient")]
            kind: Option<String>,
            #[serde(deserialize_with = "lenient")]
            uid: Option<String>,
        }
        Ok(match Value::deserialize(d)? {
            Value::String(s) => DatasourceRef::Name(s),
            o @ Value::Object(_) => {
                let o = Object::deserialize(o).unwrap_or_default();
                DatasourceRef::Object { kind: o.kind, uid: o.uid }
            }
            // `Option<DatasourceRef>` reads `null` as `None` before this.
            _ => DatasourceRef::Odd,
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FieldConfig {
    #[serde(deserialize_with = "table")]
    pub defaults: FieldDefaults,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FieldDefaults {
    #[serde(deserialize_with = "lenient")]
    pub unit: Option<String>,
    #[serde(deserialize_with = "number")]
    pub max: Option<f64>,
    #[serde(deserialize_with = "number")]
    pub min: Option<f64>,
    /// `None` unless an object.
    #[serde(deserialize_with = "some_table")]
    pub thresholds: Option<Steps>,
    #[serde(deserialize_with = "table")]
    pub custom: Custom,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Steps {
    #[serde(deserialize_with = "lenient")]
    pub mode: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub steps: List<Step>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Step {
    #[serde(deserialize_with = "lenient")]
    pub color: Option<String>,
    /// `None` for the base step, which has no start.
    #[serde(deserialize_with = "number")]
    pub value: Option<f64>,
}

/// A panel kind's own settings of its fields.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Custom {
    #[serde(rename = "thresholdsStyle", deserialize_with = "table")]
    pub thresholds_style: ModeOf,
    #[serde(rename = "cellOptions", deserialize_with = "table")]
    pub cell_options: CellOptions,
    #[serde(rename = "displayMode", deserialize_with = "lenient")]
    pub display_mode: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ModeOf {
    #[serde(deserialize_with = "lenient")]
    pub mode: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CellOptions {
    #[serde(rename = "type", deserialize_with = "lenient")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PanelOptions {
    #[serde(rename = "reduceOptions", deserialize_with = "table")]
    pub reduce_options: ReduceOptions,
    #[serde(rename = "graphMode", deserialize_with = "lenient")]
    pub graph_mode: Option<String>,
    #[serde(rename = "colorMode", deserialize_with = "lenient")]
    pub color_mode: Option<String>,
    #[serde(rename = "yAxis", deserialize_with = "table")]
    pub y_axis: Axis,
    /// A text panel's.
    #[serde(deserialize_with = "lenient")]
    pub content: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub mode: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReduceOptions {
    #[serde(deserialize_with = "lenient")]
    pub calcs: List<Option<String>>,
}

/// An axis: the new options' `unit`, the old graph's `format`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Axis {
    #[serde(deserialize_with = "lenient")]
    pub unit: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub format: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OldGauge {
    #[serde(deserialize_with = "lenient")]
    pub show: Option<bool>,
    #[serde(rename = "maxValue", deserialize_with = "number")]
    pub max_value: Option<f64>,
    #[serde(rename = "minValue", deserialize_with = "number")]
    pub min_value: Option<f64>,
}

/// The thresholds of panels before the field config: the old graph's
/// list of lines, or the singlestat's `"50,80"`.
#[derive(Debug, Clone, Default)]
pub enum OldThresholds {
    Lines(Vec<OldThreshold>),
    Text(String),
    #[default]
    None,
}

impl<'de> Deserialize<'de> for OldThresholds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            v @ Value::Array(_) => OldThresholds::Lines(List::deserialize(v).unwrap_or_default().0),
            Value::String(s) => OldThresholds::Text(s),
            _ => OldThresholds::None,
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OldThreshold {
    #[serde(deserialize_with = "number")]
    pub value: Option<f64>,
    #[serde(deserialize_with = "lenient")]
    pub op: Option<String>,
    #[serde(rename = "colorMode", deserialize_with = "lenient")]
    pub color_mode: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Transformation {
    #[serde(deserialize_with = "table")]
    pub options: TransformOptions,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TransformOptions {
    /// Field -> the name it is shown as; a name that is not a string is `None`.
    #[serde(rename = "renameByName", deserialize_with = "lenient")]
    pub rename_by_name: BTreeMap<String, Lenient<String>>,
}

/// A value that is a `T` or nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lenient<T>(pub Option<T>);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Lenient(T::deserialize(Value::deserialize(d)?).ok()))
    }
}

/// A template variable.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Variable {
    #[serde(deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(rename = "type", deserialize_with = "lenient")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub query: Option<VarQuery>,
    #[serde(deserialize_with = "lenient")]
    pub definition: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub regex: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub multi: Option<bool>,
    #[serde(rename = "includeAll", deserialize_with = "lenient")]
    pub include_all: Option<bool>,
    #[serde(rename = "allValue", deserialize_with = "lenient")]
    pub all_value: Option<String>,
    #[serde(deserialize_with = "table")]
    pub current: Current,
    #[serde(deserialize_with = "lenient")]
    pub options: List<VarOption>,
}

/// A variable's query: text, or the query editor's structured form
/// (`{ qryType, query, label, metric }`).
#[derive(Debug, Clone, PartialEq)]
pub enum VarQuery {
    Text(String),
    Object { query: Option<String>, label: Option<String>, metric: Option<String> },
}

impl<'de> Deserialize<'de> for VarQuery {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Object {
            #[serde(deserialize_with = "lenient")]
            query: Option<String>,
            #[serde(deserialize_with = "lenient")]
            label: Option<String>,
            #[serde(deserialize_with = "lenient")]
            metric: Option<String>,
        }
        match Value::deserialize(d)? {
            Value::String(s) => Ok(VarQuery::Text(s)),
            o @ Value::Object(_) => {
                let o = Object::deserialize(o).unwrap_or_default();
                Ok(VarQuery::Object { query: o.query, label: o.label, metric: o.metric })
            }
            _ => Err(serde::de::Error::custom("neither text nor an object")),
        }
    }
}

/// A variable's saved choice: one value or several.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Current {
    #[serde(deserialize_with = "values")]
    pub value: Vec<String>,
}

/// A string as one value, a list as its strings, anything else as none.
fn values<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => vec![s],
        Value::Array(a) => a.into_iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VarOption {
    #[serde(deserialize_with = "lenient")]
    pub value: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn odd_fields_read_as_absent_and_numbers_may_be_strings() {
        let p: Panel = serde_json::from_value(json!({
            "type": 3, "title": "t", "id": 2.5, "span": "6", "gridPos": null,
            "targets": "x", "datasource": "Prom", "panels": [1, { "title": "in" }],
            "fieldConfig": { "defaults": { "max": "100", "min": [], "thresholds": "no" } },
            "thresholds": "50,80", "colors": ["red", 1]
        }))
        .unwrap();
        assert_eq!((p.kind, p.title.as_deref(), p.id, p.span), (None, Some("t"), None, Some(6.0)));
        assert!(p.grid_pos.is_some(), "there, though null");
        assert_eq!(p.targets.as_deref().map(<[_]>::len), Some(0));
        assert_eq!(p.datasource, Some(DatasourceRef::Name("Prom".into())));
        assert_eq!(p.panels.len(), 2);
        assert_eq!(p.panels[1].title.as_deref(), Some("in"));
        let d = &p.field_config.defaults;
        assert_eq!((d.max, d.min, d.thresholds.is_none()), (Some(100.0), None, true));
        assert!(matches!(p.thresholds, OldThresholds::Text(ref s) if s == "50,80"));
        assert_eq!(p.colors.0, [Some("red".into()), None]);
        assert!(p.library_panel.is_none());
        let ds: Target = serde_json::from_value(json!({ "datasource": { "type": "prometheus", "uid": 7 } })).unwrap();
        assert_eq!(ds.datasource, Some(DatasourceRef::Object { kind: Some("prometheus".into()), uid: None }));
        let null: Target = serde_json::from_value(json!({ "datasource": null })).unwrap();
        assert_eq!(null.datasource, None);
        let odd: Target = serde_json::from_value(json!({ "datasource": 1 })).unwrap();
        assert_eq!(odd.datasource, Some(DatasourceRef::Odd));
    }
}
