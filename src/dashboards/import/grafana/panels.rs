//! One Grafana panel as vigil panels: its Prometheus queries, its kind
//! mapped to vigil's, and the label its series are split by.

use super::layout::repeat_of;
use super::model::{DatasourceRef, Panel};
use super::text::{clean_line, plain_text, re};
use super::units::Scale;
use super::{Made, Translator};
use crate::dashboards::import::Skipped;
use crate::dashboards::spec::{ColumnSpec, LineSpec, Show};
use crate::dashboards::{PanelKind, PanelSpec, QuerySpec};
use regex::Regex;
use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

/// A Prometheus query of a panel, ready for vigil.
struct Query {
    expr: String,
    legend: Option<String>,
    ref_id: String,
}

/// What a datasource reference turned out to be.
#[derive(Clone)]
enum Ds {
    Prometheus,
    /// Each query names its own.
    Mixed,
    Other(String),
}

impl Translator<'_> {
    /// One Grafana panel as vigil panels (several for a stat of several
    /// queries), or none, with the reason recorded.
    pub(super) fn panel(&mut self, p: &Panel) -> Vec<Made> {
        let kind = p.kind.as_deref().unwrap_or("graph").to_string();
        let raw_title = p.title.as_deref().unwrap_or("");
        let title = clean_line(&self.interpolate(raw_title));
        let result = self.panel_as(p, &kind, &title);
        match result {
            Ok(panels) => {
                self.translated += 1;
                if let Some(var) = repeat_of(&p.repeat) {
                    let shown = match &self.select {
                        Some(sel) if sel.var == var => "for the page's choice",
                        _ => "once",
                    };
                    self.notes
                        .push(format!("\"{title}\" repeats for each `${var}` in Grafana; vigil shows it {shown}"));
                }
                let kind_word: String = kind.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
                let origin = match p.id {
                    Some(id) => format!("Grafana {kind_word} panel {id}"),
                    None => format!("Grafana {kind_word} panel"),
                };
                panels.into_iter().map(|spec| Made { spec, origin: Some(origin.clone()) }).collect()
            }
            Err(reason) => {
                self.skipped.push(Skipped { title, kind: clean_line(&kind), reason });
                Vec::new()
            }
        }
    }

    fn panel_as(&mut self, p: &Panel, kind: &str, title: &str) -> Result<Vec<PanelSpec>, String> {
        if p.library_panel.is_some() && p.targets.is_none() {
            return Err("a library panel: its queries live in Grafana, not in the dashboard JSON".into());
        }
        match kind {
            "text" => return self.text_panel(p, title).map(|t| vec![t]),
            "timeseries" | "graph" | "heatmap" | "stat" | "singlestat" | "gauge" | "bargauge" | "table"
            | "table-old" => {}
            "alertlist" => return Err("it lists Grafana's alerts; vigil's `alerts` panel shows vigil's own".into()),
            other => return Err(format!("vigil has no panel like Grafana's `{}`", clean_line(other))),
        }
        let targets = self.targets(p)?;
        let field = self.field_config(p, kind, title);
        let source = self.opts.source.clone();
        let base = |kind| PanelSpec {
            unit: field.unit(),
            thresholds: field.thresholds(),
            max: field.max,
            ..PanelSpec::new(kind, title)
        };
        // A table's columns carry the unit, thresholds and scale; the
        // panel itself has none of them.
        let table_by =
            |label: &str| PanelSpec { by: Some(label.to_string()), ..PanelSpec::new(PanelKind::Table, title) };
        let scale = field.scale;
        let query =
            |expr: &str| QuerySpec { promql: Some(scale.apply(expr)), source: source.clone(), ..QuerySpec::default() };
        let column = |title: String, expr: &str| ColumnSpec {
            title,
            query: Some(scale.apply(expr)),
            source: source.clone(),
            unit: field.unit(),
            warn: field.warn,
            crit: field.crit,
            below: field.below,
            ..ColumnSpec::default()
        };
        match kind {
            "timeseries" | "graph" => {
                let mut chart = base(PanelKind::Chart);
                if let [t] = targets.as_slice() {
                    chart.query = Some(query(&t.expr));
                    chart.by = self.series_label(t, title);
                } else {
                    chart.lines = self.lines(&targets, scale, title);
                }
                Ok(vec![chart])
            }
            "heatmap" => {
                let Some(t) = targets.iter().find(|t| t.expr.contains("_bucket")) else {
                    return Err("a heatmap of series that are not Prometheus histogram buckets (`_bucket`)".into());
                };
                // histogram_quantile needs the `le` label kept.
                let keeps_le = LE_KEPT.is_match(&t.expr);
                let inner = if keeps_le { t.expr.clone() } else { format!("sum by (le) ({})", t.expr) };
                let mut chart = base(PanelKind::Chart);
                chart.lines = [("p50", "0.5"), ("p90", "0.9"), ("p99", "0.99")]
                    .into_iter()
                    .map(|(name, q)| LineSpec {
                        title: name.into(),
                        query: Some(scale.apply(&format!("histogram_quantile({q}, {inner})"))),
                        source: source.clone(),
                        ..LineSpec::default()
                    })
                    .collect();
                self.notes.push(format!(
                    "heatmap \"{title}\" became a chart of its p50, p90 and p99 (histogram_quantile): \
                     vigil's heatmap draws native histograms only"
                ));
                Ok(vec![chart])
            }
            "stat" | "singlestat" | "gauge" | "bargauge" => {
                let gauge_like = kind == "gauge" || kind == "bargauge" || p.gauge.show == Some(true);
                // vigil shows the newest value; Grafana may reduce the range otherwise.
                let calc =
                    p.options.reduce_options.calcs.first().and_then(|c| c.as_deref()).or(p.value_name.as_deref());
                if let Some(calc) = calc.filter(|c| !matches!(*c, "lastNotNull" | "last" | "current")) {
                    self.notes.push(format!(
                        "\"{title}\": Grafana shows the `{}` of the time range; vigil shows the newest value",
                        clean_line(calc)
                    ));
                }
                let mut out = Vec::new();
                for t in &targets {
                    let label = self.series_label(t, title);
                    let panel_title =
                        if targets.len() > 1 { format!("{title} {}", legend_title(t)) } else { title.to_string() };
                    if let Some(label) = label {
                        // One value per label value: a table of them.
                        let show = if gauge_like {
                            Show::Bar
                        } else if kind == "stat" && p.options.graph_mode.as_deref() != Some("none") {
                            Show::Spark
                        } else {
                            Show::Value
                        };
                        let max = if gauge_like { self.gauge_max(&field, title) } else { None };
                        let mut table = table_by(&label);
                        table.title = panel_title;
                        table.columns = vec![ColumnSpec { show, max, ..column(column_title(t, &label, 1), &t.expr) }];
                        if kind != "bargauge" {
                            self.notes.push(format!(
                                "{kind} \"{title}\" shows one value per `{label}`: it became a table by `{label}`"
                            ));
                        }
                        out.push(table);
                    } else if gauge_like {
                        let mut g = base(PanelKind::Gauge);
                        g.title = panel_title;
                        g.query = Some(query(&t.expr));
                        g.max = self.gauge_max(&field, title);
                        out.push(g);
                    } else {
                        let mut b = base(PanelKind::Bignum);
                        b.title = panel_title;
                        b.query = Some(query(&t.expr));
                        b.max = None;
                        out.push(b);
                    }
                }
                Ok(out)
            }
            _ => {
                // A table: one row per value of a label, one column per query.
                let Some(label) = targets.iter().find_map(|t| self.series_label(t, title)) else {
                    return Err("a table needs a label to make rows of: none in its legends \
                                or in a `by (label)` of its queries"
                        .into());
                };
                let renames = renames(p);
                let mut table = table_by(&label);
                table.columns = targets
                    .iter()
                    .map(|t| {
                        let title = renames.get(&format!("Value #{}", t.ref_id)).cloned();
                        column(title.unwrap_or_else(|| column_title(t, &label, targets.len())), &t.expr)
                    })
                    .collect();
                Ok(vec![table])
            }
        }
    }

    /// The visible Prometheus queries of a panel, variables put in.
    fn targets(&mut self, p: &Panel) -> Result<Vec<Query>, String> {
        // Looked up only for a query that names no datasource of its own, so
        // that a panel whose queries all do is not noted as using the default.
        let mut panel_ds: Option<Ds> = None;
        let mut out = Vec::new();
        let mut others = BTreeSet::new();
        for (n, t) in p.targets.iter().flat_map(|t| t.iter()).enumerate() {
            if t.hide == Some(true) {
                continue;
            }
            let ds = match &t.datasource {
                Some(d) => self.datasource(Some(d)),
                None => panel_ds.get_or_insert_with(|| self.datasource(p.datasource.as_ref())).clone(),
            };
            let ds = match ds {
                // A query of a mixed panel that names none runs on the default.
                Ds::Mixed => self.datasource(None),
                d => d,
            };
            if let Ds::Other(name) = ds {
                others.insert(name);
                continue;
            }
            let Some(expr) = t.expr.as_deref().map(str::trim).filter(|e| !e.is_empty()) else { continue };
            let expr = self.interpolate(&expr.replace("\r\n", "\n"));
            let legend = t.legend_format.as_deref().filter(|l| !l.trim().is_empty() && *l != "__auto");
            let legend = legend.map(|l| self.interpolate(l));
            let ref_id =
                t.ref_id.as_deref().map(clean_line).unwrap_or_else(|| ((b'A' + (n % 26) as u8) as char).into());
            out.push(Query { expr, legend, ref_id });
        }
        let others: Vec<String> = others.into_iter().collect();
        if out.is_empty() {
            if !others.is_empty() {
                return Err(format!("its queries are for {}, not Prometheus", others.join(", ")));
            }
            return Err("it has no visible Prometheus query".into());
        }
        if !others.is_empty() {
            let title = p.title.as_deref().map(clean_line).unwrap_or_default();
            self.notes.push(format!("\"{title}\": its queries for {} were dropped", others.join(", ")));
        }
        Ok(out)
    }

    fn datasource(&mut self, d: Option<&DatasourceRef>) -> Ds {
        match d {
            None => {
                self.assumed_ds.insert("the default datasource".into());
                Ds::Prometheus
            }
            Some(DatasourceRef::Object { kind, uid }) => {
                let uid = uid.as_deref();
                match kind.as_deref() {
                    Some(ty) if is_prometheus(ty) => Ds::Prometheus,
                    Some("datasource") if uid == Some("-- Mixed --") => Ds::Mixed,
                    Some("datasource") => Ds::Other("Grafana's built-in datasource".into()),
                    Some("__expr__") => Ds::Other("Grafana expressions".into()),
                    Some(ty) => Ds::Other(clean_line(ty)),
                    None => match uid {
                        Some(u) => self.datasource_named(u),
                        None => self.datasource(None),
                    },
                }
            }
            Some(DatasourceRef::Name(s)) => self.datasource_named(s),
            Some(DatasourceRef::Odd) => self.datasource(None),
        }
    }

    /// A datasource by name, uid or variable: an export's `__inputs` and
    /// datasource variables say its plugin; a bare name is judged by what
    /// it says, and otherwise taken for Prometheus (with a note).
    fn datasource_named(&mut self, s: &str) -> Ds {
        match s {
            "-- Mixed --" => return Ds::Mixed,
            "-- Grafana --" | "grafana" => return Ds::Other("Grafana's built-in datasource".into()),
            "-- Dashboard --" => return Ds::Other("another panel's results".into()),
            "__expr__" => return Ds::Other("Grafana expressions".into()),
            _ => {}
        }
        let var = s.strip_prefix("${").and_then(|v| v.strip_suffix('}')).or_else(|| s.strip_prefix('$'));
        let plugin = var.and_then(|v| self.inputs.get(v).or_else(|| self.ds_vars.get(v))).cloned();
        let plugin = plugin.or_else(|| self.inputs.get(s).cloned());
        if let Some(plugin) = plugin {
            return if is_prometheus(&plugin) { Ds::Prometheus } else { Ds::Other(clean_line(&plugin)) };
        }
        let lower = s.to_lowercase();
        const OTHERS: [&str; 16] = [
            "loki",
            "elastic",
            "influx",
            "graphite",
            "tempo",
            "jaeger",
            "zipkin",
            "mysql",
            "postgres",
            "mssql",
            "cloudwatch",
            "stackdriver",
            "azure",
            "testdata",
            "opentsdb",
            "pyroscope",
        ];
        if let Some(kind) = OTHERS.iter().find(|k| lower.contains(*k)) {
            return Ds::Other((*kind).to_string());
        }
        if !lower.contains("prom") && !lower.contains("mimir") && !lower.contains("thanos") {
            self.assumed_ds.insert(format!("\"{}\"", clean_line(s)));
        }
        Ds::Prometheus
    }

    /// The label a query's series differ by: the first `{{label}}` of its
    /// legend, else the one label of an outer `sum by (label)`.
    fn series_label(&mut self, t: &Query, title: &str) -> Option<String> {
        if let Some(legend) = &t.legend {
            let labels: Vec<String> = LEGEND_LABEL.captures_iter(legend).map(|c| c[1].to_string()).collect::<Vec<_>>();
            if let Some(first) = labels.first() {
                if labels.len() > 1 {
                    self.notes.push(format!(
                        "\"{title}\": its legend names {} labels; vigil splits by `{first}` alone \
                         and adds up the series that share a value of it",
                        labels.len()
                    ));
                }
                return Some(first.clone());
            }
            return None;
        }
        let by = OUTER_BY_PREFIX.captures(&t.expr).or_else(|| OUTER_BY_SUFFIX.captures(&t.expr))?;
        Some(by[1].to_string())
    }

    /// A chart's lines, one per query.
    fn lines(&mut self, targets: &[Query], scale: Scale, title: &str) -> Vec<LineSpec> {
        let mut split = false;
        let lines = targets
            .iter()
            .map(|t| {
                split |= t.legend.as_deref().is_some_and(|l| LEGEND_LABEL.is_match(l));
                LineSpec {
                    title: legend_title(t),
                    query: Some(scale.apply(&t.expr)),
                    source: self.opts.source.clone(),
                    ..LineSpec::default()
                }
            })
            .collect();
        if split {
            self.notes.push(format!(
                "\"{title}\": a chart of several queries draws one line per query, \
                 so the series each one gives per label are added up"
            ));
        }
        lines
    }

    fn text_panel(&mut self, p: &Panel, title: &str) -> Result<PanelSpec, String> {
        let opts = &p.options;
        let content = opts.content.as_deref().or(p.content.as_deref()).unwrap_or("");
        let mode = opts.mode.as_deref().or(p.mode.as_deref()).unwrap_or("markdown");
        let content = self.interpolate(content);
        let text = plain_text(&content, mode);
        if text.is_empty() {
            return Err("an empty text panel".into());
        }
        Ok(PanelSpec { text: Some(text), ..PanelSpec::new(PanelKind::Text, title) })
    }
}

fn is_prometheus(plugin: &str) -> bool {
    plugin.to_lowercase().contains("prometheus")
}

/// A title made from a target's legend: `{{label}}` becomes `label`.
fn legend_title(t: &Query) -> String {
    match &t.legend {
        Some(l) => {
            let plain = clean_line(&LEGEND_LABEL.replace_all(l, "$1"));
            if plain.is_empty() { t.ref_id.clone() } else { plain }
        }
        None => t.ref_id.clone(),
    }
}

/// A table column's title: its legend without the row label, else its
/// refId among several columns, or "value" for the only one.
fn column_title(t: &Query, row_label: &str, columns: usize) -> String {
    let fallback = || if columns > 1 { t.ref_id.clone() } else { "value".to_string() };
    let Some(l) = &t.legend else { return fallback() };
    let without = LEGEND_LABEL.replace_all(
        l,
        |c: &regex::Captures| {
            if &c[1] == row_label { String::new() } else { c[1].to_string() }
        },
    );
    let plain = clean_line(without.trim());
    if plain.is_empty() { fallback() } else { plain }
}

/// A table's `organize` transformation: field -> the name it is shown as.
fn renames(p: &Panel) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for tr in p.transformations.iter() {
        for (k, v) in &tr.options.rename_by_name {
            if let Some(v) = v.0.as_deref().filter(|v| !v.trim().is_empty()) {
                out.insert(k.clone(), clean_line(v));
            }
        }
    }
    out
}

static LEGEND_LABEL: LazyLock<Regex> = LazyLock::new(|| re(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}"));
/// `sum by (job) (...)`, the aggregation's one label.
static OUTER_BY_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\s*(?:sum|avg|max|min|count|topk|bottomk|quantile)\s+by\s*\(\s*([a-zA-Z_]\w*)\s*\)"));
/// `sum(...) by (job)` at the very end.
static OUTER_BY_SUFFIX: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^\s*(?:sum|avg|max|min|count|topk|bottomk|quantile)\s*\(.*\)\s*by\s*\(\s*([a-zA-Z_]\w*)\s*\)\s*$")
});
/// An aggregation that keeps `le`.
static LE_KEPT: LazyLock<Regex> = LazyLock::new(|| re(r"by\s*\([^)]*\ble\b"));
