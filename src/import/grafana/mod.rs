//! Grafana dashboards (its JSON model, with or without the API's
//! `{"dashboard": ...}` wrapper; the grid layout of `panels` and the old
//! `rows` of schema versions before 16) turned into vigil dashboards.
//!
//! Only Prometheus queries carry over, since vigil runs PromQL and nothing
//! else. The mapping, decided once here:
//!
//! - A Grafana `row` panel becomes a page of its own (a terminal has no room
//!   to scroll through sections); panels above the first row make the first
//!   page, named after the dashboard. In the old layout each row is a row of
//!   one page, and a collapsed one becomes its own page.
//! - Panels sharing a `gridPos.y` make one vigil row, left to right by `x`,
//!   each as wide as its `w` (reduced to the smallest shares). A row with a
//!   chart gets no height, so that charts share whatever the terminal has
//!   left, as on vigil's own pages; any other row is as tall as its tallest
//!   panel's `h` at one and a half lines per grid unit: a browser shows
//!   about 25 units of Grafana's grid, a laptop's terminal about 40 lines.
//! - timeseries/graph -> chart; stat/singlestat -> bignum (which always
//!   draws its trend); gauge -> gauge; bargauge -> a table of bars by label
//!   when its query gives one series per label value, else a gauge; table ->
//!   table; heatmap of `_bucket` series -> a chart of p50/p90/p99 through
//!   `histogram_quantile` (vigil's heatmap draws native histograms only);
//!   text -> text. A panel whose query has one series per value of a label
//!   (a `{{label}}` legend, or `sum by (label)`) is split by that label.
//! - Units that only differ in scale (ms, bits, KiB, ...) are converted in
//!   the query (`(expr) / 1000`) so that vigil's seconds, bytes and bytes/s
//!   print them right; thresholds and maxima are scaled the same way.
//! - Threshold steps: green is fine, yellow and orange warn, red is
//!   critical; a bad lowest step means low values are the bad ones. Only
//!   steps Grafana draws are kept (see `thresholds_shown`).
//! - The first query variable that lists a label's values becomes the
//!   page's `select`; every other variable is replaced by its saved value
//!   (several values, or "All", as a regex, as Grafana writes them).
//!   `$__rate_interval` and `$__interval` become four scrape intervals,
//!   Grafana's own floor for a rate's range; `$__range` the page's window.

use super::{Column, ImportError, Line, Options, Page, Panel, Row, Skipped, Translation, num};
use crate::wire::sanitize;
use regex::Regex;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::LazyLock;

/// Terminal lines per unit of Grafana's grid.
const LINES_PER_UNIT: f64 = 1.5;
/// Pixels in one unit of the grid: 30 for the cell, 8 for the gap below
/// it; the old layout gave row heights in pixels.
const PX_PER_UNIT: f64 = 38.0;
/// A row needs its two border lines and one of content; taller than this
/// is more than a laptop's terminal shows.
const ROW_HEIGHT: (u16, u16) = (3, 30);
/// The window vigil opens with unless the dashboard says otherwise.
const DEFAULT_WINDOW_S: u64 = 15 * 60;
/// The lines kept of a text panel.
const MAX_TEXT_LINES: usize = 60;

/// Translates a Grafana dashboard's JSON into a vigil dashboard file.
pub fn translate(json: &str, opts: &Options) -> Result<Translation, ImportError> {
    let root: Value = serde_json::from_str(json).map_err(|e| {
        let text = e.to_string();
        // serde_json ends its message with the position, given separately here.
        let message = text.rsplit_once(" at line ").map_or(text.as_str(), |(m, _)| m).to_string();
        ImportError::Json { line: e.line(), column: e.column(), message }
    })?;
    let dash = match root.get("dashboard") {
        Some(d) if d.is_object() => d,
        _ => &root,
    };
    if !dash.is_object() {
        return Err(ImportError::NotADashboard("the JSON is not an object".into()));
    }
    let panels = dash.get("panels").and_then(Value::as_array);
    let old_rows = dash.get("rows").and_then(Value::as_array);
    if panels.is_none() && old_rows.is_none() {
        return Err(ImportError::NotADashboard("it has neither `panels` nor `rows`".into()));
    }
    let mut t = Translator::new(opts, &root, dash);
    let title = str_of(dash, "title").map(clean_line).filter(|s| !s.is_empty());
    let title = title.unwrap_or_else(|| "Grafana".to_string());
    let sections = match panels.filter(|p| !p.is_empty()) {
        Some(list) => grid_sections(&title, list),
        None => old_sections(&title, old_rows.map_or(&[][..], Vec::as_slice)),
    };
    let mut pages = Vec::new();
    for s in &sections {
        if let Some(page) = t.page(s) {
            pages.push(page);
        }
    }
    dedupe_keys(&mut pages);
    if pages.is_empty() {
        // The file stays a valid dashboard even when nothing carried over.
        let text = format!("Nothing on the Grafana dashboard \"{title}\" could be translated.");
        let panel = Panel { kind: "text", title: "Import".into(), text: Some(text), ..Panel::default() };
        pages.push(Page {
            title: title.clone(),
            rows: vec![Row { height: None, panels: vec![panel] }],
            ..Page::default()
        });
    }
    let header = t.finish_notes(&title);
    Ok(Translation {
        toml: super::write_dashboard(&header, &pages),
        translated: t.translated,
        skipped: t.skipped,
        notes: t.notes,
    })
}

/// A page to be: a title and rows of Grafana panels with their widths.
struct Section<'a> {
    title: String,
    rows: Vec<SourceRow<'a>>,
    /// The variable a Grafana row repeats for.
    repeat: Option<String>,
}

struct SourceRow<'a> {
    /// Grid units (or old-layout pixels already turned into units).
    height: f64,
    /// Panels left to right, each with its width in grid columns.
    panels: Vec<(&'a Value, u64)>,
}

/// The new layout: `row` panels start sections; the rest are grouped by `y`.
fn grid_sections<'a>(title: &str, list: &'a [Value]) -> Vec<Section<'a>> {
    let mut sorted: Vec<(usize, &Value)> = list.iter().enumerate().collect();
    sorted.sort_by_key(|(i, p)| position(p, *i));
    let mut sections = vec![(title.to_string(), None, Vec::new())];
    for (_, p) in sorted {
        if str_of(p, "type") == Some("row") {
            let row_title = str_of(p, "title").map(clean_line).unwrap_or_default();
            let repeat = str_of(p, "repeat").filter(|r| is_word(r)).map(str::to_string);
            // A collapsed row keeps its panels inside it.
            let nested: Vec<&Value> = p.get("panels").and_then(Value::as_array).into_iter().flatten().collect();
            sections.push((row_title, repeat, nested));
        } else if let Some(last) = sections.last_mut() {
            last.2.push(p);
        }
    }
    sections
        .into_iter()
        .enumerate()
        .map(|(n, (title, repeat, panels))| {
            let title = if title.is_empty() { format!("Row {n}") } else { title };
            Section { title, rows: group_by_y(panels), repeat }
        })
        .collect()
}

/// (y, x) of a panel; one without a grid position goes below the others
/// in the order it was listed.
fn position(p: &Value, index: usize) -> (i64, i64) {
    match p.get("gridPos") {
        Some(g) => (int_of(g, "y").unwrap_or(0), int_of(g, "x").unwrap_or(0)),
        None => (1_000_000 + index as i64, 0),
    }
}

fn group_by_y(mut panels: Vec<&Value>) -> Vec<SourceRow<'_>> {
    let indexed: Vec<(usize, &Value)> = panels.drain(..).enumerate().collect();
    let mut rows: BTreeMap<i64, Vec<(i64, &Value)>> = BTreeMap::new();
    for (i, p) in indexed {
        let (y, x) = position(p, i);
        rows.entry(y).or_default().push((x, p));
    }
    rows.into_values()
        .map(|mut row| {
            row.sort_by_key(|(x, _)| *x);
            let grid = |p: &Value, k: &str, d: i64| p.get("gridPos").and_then(|g| int_of(g, k)).unwrap_or(d);
            let height = row.iter().map(|(_, p)| grid(p, "h", 8)).max().unwrap_or(8) as f64;
            let panels = row.into_iter().map(|(_, p)| (p, grid(p, "w", 12).clamp(1, 24) as u64)).collect();
            SourceRow { height, panels }
        })
        .collect()
}

/// The old layout: `rows[]` of panels with a `span` out of 12.
fn old_sections<'a>(title: &str, rows: &'a [Value]) -> Vec<Section<'a>> {
    let mut main = Section { title: title.to_string(), rows: Vec::new(), repeat: None };
    let mut own = Vec::new();
    for (n, r) in rows.iter().enumerate() {
        let height = match r.get("height") {
            Some(Value::String(s)) => s.trim_end_matches("px").trim().parse::<f64>().ok(),
            Some(v) => v.as_f64(),
            None => None,
        }
        // The old layout's default row height.
        .unwrap_or(250.0)
            / PX_PER_UNIT;
        // Panels past the row's 12 columns wrap onto a line of their own.
        let mut lines: Vec<SourceRow> = Vec::new();
        let mut used = 0;
        for p in r.get("panels").and_then(Value::as_array).into_iter().flatten() {
            let span = num_of(p.get("span")).unwrap_or(12.0).clamp(1.0, 12.0) as u64;
            match lines.last_mut() {
                Some(line) if used + span <= 12 => line.panels.push((p, span)),
                _ => {
                    lines.push(SourceRow { height, panels: vec![(p, span)] });
                    used = 0;
                }
            }
            used += span;
        }
        let repeat = str_of(r, "repeat").filter(|r| is_word(r)).map(str::to_string);
        if r.get("collapse").and_then(Value::as_bool) == Some(true) {
            let t = str_of(r, "title").map(clean_line).filter(|s| !s.is_empty());
            own.push(Section { title: t.unwrap_or_else(|| format!("Row {}", n + 1)), rows: lines, repeat });
        } else {
            main.repeat = main.repeat.or(repeat);
            main.rows.extend(lines);
        }
    }
    std::iter::once(main).chain(own).collect()
}

/// Two pages may not share a key (their lower-cased title).
fn dedupe_keys(pages: &mut [Page]) {
    let mut seen = BTreeSet::new();
    for p in pages.iter_mut() {
        let base = p.title.to_lowercase();
        let mut key = base.clone();
        let mut n = 2;
        while !seen.insert(key.clone()) {
            key = format!("{base} {n}");
            n += 1;
        }
        if key != base {
            p.key = Some(key);
        }
    }
}

/// A Prometheus query of a panel, ready for vigil.
struct Target {
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

/// The page choice made from a Grafana variable.
struct Select {
    var: String,
    label: String,
    query: String,
}

struct Translator<'a> {
    opts: &'a Options,
    /// `DS_NAME` of an export's `__inputs` -> plugin id.
    inputs: HashMap<String, String>,
    /// Datasource variables -> plugin id.
    ds_vars: HashMap<String, String>,
    select: Option<Select>,
    /// Every other variable -> the text put in its place.
    values: HashMap<String, String>,
    /// Grafana's built-in variables -> their text.
    builtins: HashMap<&'static str, String>,
    rate_interval: String,
    window: Option<String>,
    /// What the panels translated so far used.
    used_vars: BTreeSet<String>,
    used_builtins: BTreeSet<String>,
    unknown_vars: BTreeSet<String>,
    assumed_ds: BTreeSet<String>,
    /// Set while a page is built when one of its panels uses the select.
    page_selects: bool,
    /// Notes about variables, kept apart until we know which were used.
    var_notes: BTreeMap<String, String>,
    translated: usize,
    skipped: Vec<Skipped>,
    notes: Vec<String>,
}

impl<'a> Translator<'a> {
    fn new(opts: &'a Options, root: &Value, dash: &Value) -> Self {
        let scrape = opts.scrape_interval.as_secs().max(1);
        // Grafana's own rule is max($__interval + scrape, 4 × scrape); with
        // $__interval at its floor (the scrape interval) that is 4 × scrape.
        let rate_s = 4 * scrape;
        let window_s = dash
            .get("time")
            .and_then(|t| str_of(t, "from"))
            .and_then(|from| from.strip_prefix("now-"))
            .and_then(|d| humantime::parse_duration(d).ok())
            .map(|d| d.as_secs())
            .filter(|s| (60..=86_400).contains(s));
        let range_s = window_s.unwrap_or(DEFAULT_WINDOW_S);
        let rate = duration_text(rate_s);
        let builtins = HashMap::from([
            ("__rate_interval", rate.clone()),
            ("__interval", rate.clone()),
            ("__auto", rate.clone()),
            ("__rate_interval_ms", (rate_s * 1000).to_string()),
            ("__interval_ms", (rate_s * 1000).to_string()),
            ("__range", duration_text(range_s)),
            ("__range_s", range_s.to_string()),
            ("__range_ms", (range_s * 1000).to_string()),
        ]);
        let mut inputs = HashMap::new();
        for holder in [root, dash] {
            for input in holder.get("__inputs").and_then(Value::as_array).into_iter().flatten() {
                if let (Some(name), Some(plugin)) = (str_of(input, "name"), str_of(input, "pluginId")) {
                    inputs.insert(name.to_string(), plugin.to_string());
                }
            }
        }
        let mut t = Translator {
            opts,
            inputs,
            ds_vars: HashMap::new(),
            select: None,
            values: HashMap::new(),
            builtins,
            rate_interval: rate,
            window: window_s.map(duration_text),
            used_vars: BTreeSet::new(),
            used_builtins: BTreeSet::new(),
            unknown_vars: BTreeSet::new(),
            assumed_ds: BTreeSet::new(),
            page_selects: false,
            var_notes: BTreeMap::new(),
            translated: 0,
            skipped: Vec::new(),
            notes: Vec::new(),
        };
        t.read_variables(dash);
        t
    }

    /// `templating.list`: the first variable that lists a label's values
    /// becomes the select; the others get their saved value.
    fn read_variables(&mut self, dash: &Value) {
        let list = dash.get("templating").and_then(|t| t.get("list")).and_then(Value::as_array);
        let mut chosen: Option<(String, String, String)> = None;
        for v in list.into_iter().flatten() {
            let Some(name) = str_of(v, "name").filter(|n| is_word(n)) else { continue };
            let kind = str_of(v, "type").unwrap_or("query");
            match kind {
                "datasource" => {
                    let plugin = str_of(v, "query").unwrap_or("prometheus");
                    self.ds_vars.insert(name.to_string(), plugin.to_string());
                    continue;
                }
                "adhoc" => {
                    self.notes.push(format!("ad hoc filters `${name}` have no vigil counterpart and were dropped"));
                    continue;
                }
                _ => {}
            }
            if kind == "query"
                && chosen.is_none()
                && let Some((label, query)) = select_of(v)
            {
                let mut about = Vec::new();
                if v.get("multi").and_then(Value::as_bool) == Some(true)
                    || v.get("includeAll").and_then(Value::as_bool) == Some(true)
                {
                    about.push("vigil shows one value at a time, so its \"All\" and multiple choices are not offered");
                }
                if str_of(v, "regex").is_some_and(|r| !r.is_empty()) && !query_text(v).starts_with("query_result") {
                    about.push("its regex filter is dropped, so every value of the label is offered");
                }
                let mut note = format!("`${name}` became the page's choice of `{label}` ([ and ] step through it)");
                if !about.is_empty() {
                    note = format!("{note}; {}", about.join("; "));
                }
                self.var_notes.insert(name.to_string(), note);
                chosen = Some((name.to_string(), label, query));
                continue;
            }
            let (value, how) = saved_value(v, kind, &self.rate_interval);
            let why = if chosen.is_some() && kind == "query" { " (a vigil page selects one label only)" } else { "" };
            self.var_notes.insert(name.to_string(), format!("`${name}` was replaced by `{value}`, {how}{why}"));
            self.values.insert(name.to_string(), value);
        }
        if let Some((var, label, query)) = chosen {
            // The choices' own query may use the other variables.
            let query = self.interpolate(&query);
            self.select = Some(Select { var, label, query });
        }
    }

    /// Grafana's variable references in `text`: `$name`, `${name}`,
    /// `${name:format}` and `[[name]]`. The select's variable becomes
    /// vigil's `$label`; the others their values.
    fn interpolate(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            let rest = &text[i..];
            if let Some((name, len)) = var_ref(rest) {
                if let Some(value) = self.lookup(name) {
                    out.push_str(&value);
                    i += len;
                    continue;
                }
                self.unknown_vars.insert(name.to_string());
            }
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
        out
    }

    fn lookup(&mut self, name: &str) -> Option<String> {
        if let Some(s) = &self.select
            && s.var == name
        {
            self.page_selects = true;
            return Some(format!("${}", s.label));
        }
        if let Some(v) = self.builtins.get(name) {
            self.used_builtins.insert(name.to_string());
            return Some(v.clone());
        }
        let v = self.values.get(name)?.clone();
        self.used_vars.insert(name.to_string());
        Some(v)
    }

    fn page(&mut self, s: &Section) -> Option<Page> {
        self.page_selects = false;
        let mut rows = Vec::new();
        for r in &s.rows {
            let mut panels = Vec::new();
            for (p, w) in &r.panels {
                let made = self.panel(p);
                let n = made.len() as u64;
                for mut m in made {
                    // Several vigil panels from one Grafana panel share its width.
                    m.width = (w / n.max(1)).max(1) as u16;
                    panels.push(m);
                }
            }
            if panels.is_empty() {
                continue;
            }
            reduce_widths(&mut panels);
            let height = (!panels.iter().any(|p| p.kind == "chart"))
                .then(|| ((r.height * LINES_PER_UNIT).round() as u16).clamp(ROW_HEIGHT.0, ROW_HEIGHT.1));
            rows.push(Row { height, panels });
        }
        if let Some(var) = &s.repeat {
            if self.select.as_ref().is_some_and(|sel| &sel.var == var) {
                self.notes.push(format!("row \"{}\" repeats for each `${var}`: vigil shows one at a time", s.title));
            } else {
                self.notes.push(format!("row \"{}\" repeats for each `${var}`: vigil shows it once", s.title));
            }
        }
        if rows.is_empty() {
            return None;
        }
        let title = self.interpolate(&s.title);
        let selects = self.page_selects;
        let select = self.select.as_ref().filter(|_| selects);
        Some(Page {
            // A page title is not substituted by vigil: name the label instead.
            title: match select {
                Some(sel) => title.replace(&format!("${}", sel.label), &sel.label),
                None => title,
            },
            key: None,
            select: select.map(|s| s.label.clone()),
            select_query: select.map(|s| s.query.clone()),
            select_source: select.and(self.opts.source.clone()),
            window: self.window.clone(),
            rows,
        })
    }

    /// One Grafana panel as vigil panels (several for a stat of several
    /// queries), or none, with the reason recorded.
    fn panel(&mut self, p: &Value) -> Vec<Panel> {
        let kind = str_of(p, "type").unwrap_or("graph").to_string();
        let raw_title = str_of(p, "title").unwrap_or("");
        let title = clean_line(&self.interpolate(raw_title));
        let result = self.panel_as(p, &kind, &title);
        match result {
            Ok(mut panels) => {
                self.translated += 1;
                if let Some(var) = str_of(p, "repeat").filter(|r| is_word(r)) {
                    let shown = match &self.select {
                        Some(sel) if sel.var == var => "for the page's choice",
                        _ => "once",
                    };
                    self.notes
                        .push(format!("\"{title}\" repeats for each `${var}` in Grafana; vigil shows it {shown}"));
                }
                let id = p.get("id").and_then(Value::as_i64);
                let kind_word: String = kind.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
                for m in &mut panels {
                    m.origin = Some(match id {
                        Some(id) => format!("Grafana {kind_word} panel {id}"),
                        None => format!("Grafana {kind_word} panel"),
                    });
                }
                panels
            }
            Err(reason) => {
                self.skipped.push(Skipped { title, kind: clean_line(&kind), reason });
                Vec::new()
            }
        }
    }

    fn panel_as(&mut self, p: &Value, kind: &str, title: &str) -> Result<Vec<Panel>, String> {
        if p.get("libraryPanel").is_some() && p.get("targets").is_none() {
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
        let base = |kind: &'static str| Panel {
            kind,
            title: title.to_string(),
            unit: field.unit,
            warn: field.warn,
            crit: field.crit,
            below: field.below,
            max: field.max,
            source: source.clone(),
            ..Panel::default()
        };
        // A table's columns carry the unit, thresholds and scale; the
        // panel itself has none of them.
        let table_by = |label: &str| Panel {
            kind: "table",
            title: title.to_string(),
            by: Some(label.to_string()),
            source: source.clone(),
            ..Panel::default()
        };
        let scale = field.scale;
        match kind {
            "timeseries" | "graph" => {
                let mut chart = base("chart");
                if let [t] = targets.as_slice() {
                    chart.query = Some(scale.apply(&t.expr));
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
                let mut chart = base("chart");
                chart.lines = [("p50", "0.5"), ("p90", "0.9"), ("p99", "0.99")]
                    .into_iter()
                    .map(|(name, q)| Line {
                        title: name.into(),
                        query: scale.apply(&format!("histogram_quantile({q}, {inner})")),
                        source: source.clone(),
                    })
                    .collect();
                self.notes.push(format!(
                    "heatmap \"{title}\" became a chart of its p50, p90 and p99 (histogram_quantile): \
                     vigil's heatmap draws native histograms only"
                ));
                Ok(vec![chart])
            }
            "stat" | "singlestat" | "gauge" | "bargauge" => {
                let gauge_like = kind == "gauge"
                    || kind == "bargauge"
                    || p.get("gauge").and_then(|g| g.get("show")).and_then(Value::as_bool) == Some(true);
                // vigil shows the newest value; Grafana may reduce the range otherwise.
                let calc = options(p)
                    .get("reduceOptions")
                    .and_then(|r| r.get("calcs"))
                    .and_then(Value::as_array)
                    .and_then(|c| c.first())
                    .and_then(Value::as_str)
                    .or_else(|| str_of(p, "valueName"));
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
                            "bar"
                        } else if kind == "stat" && str_of(options(p), "graphMode") != Some("none") {
                            "spark"
                        } else {
                            "value"
                        };
                        let max = if gauge_like { self.gauge_max(&field, title) } else { None };
                        let mut table = table_by(&label);
                        table.title = panel_title;
                        table.columns = vec![Column {
                            title: column_title(t, &label, 1),
                            query: scale.apply(&t.expr),
                            source: source.clone(),
                            unit: field.unit,
                            warn: field.warn,
                            crit: field.crit,
                            below: field.below,
                            show: Some(show),
                            max,
                        }];
                        if kind != "bargauge" {
                            self.notes.push(format!(
                                "{kind} \"{title}\" shows one value per `{label}`: it became a table by `{label}`"
                            ));
                        }
                        out.push(table);
                    } else if gauge_like {
                        let mut g = base("gauge");
                        g.title = panel_title;
                        g.query = Some(scale.apply(&t.expr));
                        g.max = self.gauge_max(&field, title);
                        out.push(g);
                    } else {
                        let mut b = base("bignum");
                        b.title = panel_title;
                        b.query = Some(scale.apply(&t.expr));
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
                    .map(|t| Column {
                        title: renames
                            .get(&format!("Value #{}", t.ref_id))
                            .cloned()
                            .unwrap_or_else(|| column_title(t, &label, targets.len())),
                        query: scale.apply(&t.expr),
                        source: source.clone(),
                        unit: field.unit,
                        warn: field.warn,
                        crit: field.crit,
                        below: field.below,
                        show: None,
                        max: None,
                    })
                    .collect();
                Ok(vec![table])
            }
        }
    }

    /// The visible Prometheus queries of a panel, variables put in.
    fn targets(&mut self, p: &Value) -> Result<Vec<Target>, String> {
        // Looked up only for a query that names no datasource of its own, so
        // that a panel whose queries all do is not noted as using the default.
        let mut panel_ds: Option<Ds> = None;
        let mut out = Vec::new();
        let mut others = BTreeSet::new();
        for (n, t) in p.get("targets").and_then(Value::as_array).into_iter().flatten().enumerate() {
            if t.get("hide").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let ds = match t.get("datasource").filter(|d| !d.is_null()) {
                Some(d) => self.datasource(Some(d)),
                None => panel_ds.get_or_insert_with(|| self.datasource(p.get("datasource"))).clone(),
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
            let Some(expr) = str_of(t, "expr").map(str::trim).filter(|e| !e.is_empty()) else { continue };
            let expr = self.interpolate(&expr.replace("\r\n", "\n"));
            let legend = str_of(t, "legendFormat").filter(|l| !l.trim().is_empty() && *l != "__auto");
            let legend = legend.map(|l| self.interpolate(l));
            let ref_id = str_of(t, "refId").map(clean_line).unwrap_or_else(|| ((b'A' + (n % 26) as u8) as char).into());
            out.push(Target { expr, legend, ref_id });
        }
        let others: Vec<String> = others.into_iter().collect();
        if out.is_empty() {
            if !others.is_empty() {
                return Err(format!("its queries are for {}, not Prometheus", others.join(", ")));
            }
            return Err("it has no visible Prometheus query".into());
        }
        if !others.is_empty() {
            let title = str_of(p, "title").map(clean_line).unwrap_or_default();
            self.notes.push(format!("\"{title}\": its queries for {} were dropped", others.join(", ")));
        }
        Ok(out)
    }

    fn datasource(&mut self, d: Option<&Value>) -> Ds {
        match d {
            None | Some(Value::Null) => {
                self.assumed_ds.insert("the default datasource".into());
                Ds::Prometheus
            }
            Some(Value::Object(o)) => {
                let uid = o.get("uid").and_then(Value::as_str);
                match o.get("type").and_then(Value::as_str) {
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
            Some(Value::String(s)) => self.datasource_named(s),
            Some(_) => self.datasource(None),
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
    fn series_label(&mut self, t: &Target, title: &str) -> Option<String> {
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
    fn lines(&mut self, targets: &[Target], scale: Scale, title: &str) -> Vec<Line> {
        let mut split = false;
        let lines = targets
            .iter()
            .map(|t| {
                split |= t.legend.as_deref().is_some_and(|l| LEGEND_LABEL.is_match(l));
                Line { title: legend_title(t), query: scale.apply(&t.expr), source: self.opts.source.clone() }
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

    fn text_panel(&mut self, p: &Value, title: &str) -> Result<Panel, String> {
        let opts = options(p);
        let content = str_of(opts, "content").or_else(|| str_of(p, "content")).unwrap_or("");
        let mode = str_of(opts, "mode").or_else(|| str_of(p, "mode")).unwrap_or("markdown");
        let content = self.interpolate(content);
        let text = plain_text(&content, mode);
        if text.is_empty() {
            return Err("an empty text panel".into());
        }
        Ok(Panel { kind: "text", title: title.to_string(), text: Some(text), ..Panel::default() })
    }

    /// Unit, scale, thresholds and maximum of a panel, from the new
    /// `fieldConfig` or the old panels' own fields.
    fn field_config(&mut self, p: &Value, kind: &str, title: &str) -> Field {
        let defaults = p.get("fieldConfig").and_then(|f| f.get("defaults")).unwrap_or(&Value::Null);
        let old_axis = p.get("yaxes").and_then(Value::as_array).and_then(|a| a.first());
        let unit_id = str_of(defaults, "unit")
            .or_else(|| options(p).get("yAxis").and_then(|y| str_of(y, "unit")))
            .or_else(|| old_axis.and_then(|a| str_of(a, "format")))
            .or_else(|| p.get("yAxis").and_then(|y| str_of(y, "format")))
            .or_else(|| str_of(p, "format"))
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
        let gauge = p.get("gauge");
        let max = num_of(defaults.get("max"))
            .or_else(|| gauge.and_then(|g| num_of(g.get("maxValue"))).filter(|_| kind == "singlestat"));
        let min = num_of(defaults.get("min")).or_else(|| gauge.and_then(|g| num_of(g.get("minValue"))));
        let mut th = if let Some(t) = defaults.get("thresholds").filter(|t| t.is_object()) {
            if thresholds_shown(p, kind) { self.steps(t, min, max, unit, title) } else { Thresholds::default() }
        } else if let Some(list) = p.get("thresholds").and_then(Value::as_array) {
            old_graph_thresholds(list)
        } else if let Some(s) = p.get("thresholds").and_then(Value::as_str) {
            singlestat_thresholds(s, p.get("colors").and_then(Value::as_array))
        } else {
            Thresholds::default()
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
    fn steps(&mut self, t: &Value, min: Option<f64>, max: Option<f64>, unit: Option<&str>, title: &str) -> Thresholds {
        let mut steps: Vec<(f64, Option<Severity>)> = Vec::new();
        let mut unknown = BTreeSet::new();
        for s in t.get("steps").and_then(Value::as_array).into_iter().flatten() {
            let colour = str_of(s, "color").unwrap_or("");
            let sev = severity(colour);
            if sev.is_none() {
                unknown.insert(clean_line(colour));
            }
            steps.push((num_of(s.get("value")).unwrap_or(f64::NEG_INFINITY), sev));
        }
        if !unknown.is_empty() {
            let list: Vec<String> = unknown.into_iter().collect();
            self.notes.push(format!(
                "\"{title}\": threshold colours {} are neither green, yellow, orange nor red, and were left out",
                list.join(", ")
            ));
        }
        let mut steps: Vec<(f64, Severity)> = steps.into_iter().filter_map(|(v, s)| Some((v, s?))).collect();
        if str_of(t, "mode") == Some("percentage") {
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
    fn gauge_max(&mut self, f: &Field, title: &str) -> Option<f64> {
        if f.max.is_some() || matches!(f.unit, Some("percent" | "ratio")) {
            return f.max;
        }
        let max = f.crit.into_iter().chain(f.warn).fold(100.0_f64, f64::max);
        self.notes.push(format!("\"{title}\": no max in Grafana; its gauge runs to {}", num(max)));
        Some(max)
    }

    /// The report's notes about variables and datasources, and the file's header.
    fn finish_notes(&mut self, title: &str) -> Vec<String> {
        let mut header = vec![format!("Imported from the Grafana dashboard \"{title}\" by `vigil import grafana`.")];
        let mut notes = Vec::new();
        if let Some(s) = &self.select
            && let Some(n) = self.var_notes.get(&s.var)
        {
            notes.push(n.clone());
        }
        for v in &self.used_vars {
            if let Some(n) = self.var_notes.get(v) {
                notes.push(n.clone());
            }
        }
        let rate_ones: Vec<&str> = ["__rate_interval", "__interval", "__auto", "__rate_interval_ms", "__interval_ms"]
            .into_iter()
            .filter(|b| self.used_builtins.contains(*b))
            .collect();
        if !rate_ones.is_empty() {
            let names: Vec<String> = rate_ones.iter().map(|b| format!("`${b}`")).collect();
            let line = format!(
                "{} became {} (four scrape intervals of {}s: --scrape-interval changes it)",
                names.join(", "),
                self.rate_interval,
                self.opts.scrape_interval.as_secs().max(1)
            );
            header.push(line.clone());
            notes.push(line);
        }
        if self.used_builtins.iter().any(|b| b.starts_with("__range")) {
            let line = format!("`$__range` became {}, the page's window", self.builtins["__range"]);
            header.push(line.clone());
            notes.push(line);
        }
        let unknown: Vec<String> = self
            .unknown_vars
            .iter()
            .filter(|n| !self.values.contains_key(*n) && !self.ds_vars.contains_key(*n))
            .map(|n| format!("`${n}`"))
            .collect();
        match unknown.as_slice() {
            [] => {}
            [one] => notes.push(format!("{one} is not a variable of this dashboard and was left as written")),
            many => {
                notes.push(format!("{} are not variables of this dashboard and were left as written", many.join(", ")))
            }
        }
        if !self.assumed_ds.is_empty() {
            let list: Vec<String> = self.assumed_ds.iter().cloned().collect();
            notes.push(format!("queries of {} were taken to be PromQL", list.join(", ")));
        }
        notes.append(&mut self.notes);
        self.notes = notes;
        header
    }
}

/// What a panel's field config gives vigil.
struct Field {
    unit: Option<&'static str>,
    scale: Scale,
    warn: Option<f64>,
    crit: Option<f64>,
    below: bool,
    max: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Thresholds {
    warn: Option<f64>,
    crit: Option<f64>,
    below: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Severity {
    Ok,
    Warn,
    Crit,
}

/// Whether Grafana draws a panel's threshold steps at all. Every new panel
/// gets a green base and a red 80, which a time series shows only when its
/// threshold style is on, a stat unless its colour mode is none, and a
/// table only in cells coloured by value.
fn thresholds_shown(p: &Value, kind: &str) -> bool {
    let custom = p.get("fieldConfig").and_then(|f| f.get("defaults")).and_then(|d| d.get("custom"));
    let custom = custom.unwrap_or(&Value::Null);
    match kind {
        "timeseries" => custom.get("thresholdsStyle").and_then(|t| str_of(t, "mode")).is_some_and(|m| m != "off"),
        "stat" => str_of(options(p), "colorMode") != Some("none"),
        "table" => {
            let cell =
                custom.get("cellOptions").and_then(|c| str_of(c, "type")).or_else(|| str_of(custom, "displayMode"));
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
fn old_graph_thresholds(list: &[Value]) -> Thresholds {
    let mut th = Thresholds::default();
    for t in list {
        let Some(v) = num_of(t.get("value")) else { continue };
        th.below |= str_of(t, "op") == Some("lt");
        match str_of(t, "colorMode") {
            Some("warning") => th.warn = th.warn.or(Some(v)),
            Some("critical") => th.crit = th.crit.or(Some(v)),
            _ => {}
        }
    }
    th
}

/// The old singlestat's `thresholds = "50,80"` with `colors` for below,
/// between and above them.
fn singlestat_thresholds(s: &str, colours: Option<&Vec<Value>>) -> Thresholds {
    let values: Vec<f64> = s.split(',').filter_map(|v| v.trim().parse().ok()).collect();
    let sev = |i: usize| colours.and_then(|c| c.get(i)).and_then(Value::as_str).and_then(severity);
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
enum Scale {
    One,
    Mul(f64),
    Div(f64),
}

impl Scale {
    fn apply(self, expr: &str) -> String {
        match self {
            Scale::One => expr.to_string(),
            Scale::Mul(k) => format!("({expr}) * {}", num(k)),
            Scale::Div(k) => format!("({expr}) / {}", num(k)),
        }
    }

    fn value(self, v: f64) -> f64 {
        match self {
            Scale::One => v,
            Scale::Mul(k) => v * k,
            Scale::Div(k) => v / k,
        }
    }

    fn describe(self) -> String {
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

/// A Grafana variable reference at the start of `rest`: its name and length.
fn var_ref(rest: &str) -> Option<(&str, usize)> {
    if let Some(inner) = rest.strip_prefix("${") {
        let end = inner.find('}')?;
        let name = inner[..end].split([':', '.']).next()?;
        return is_word(name).then_some((name, end + 3));
    }
    if let Some(inner) = rest.strip_prefix("[[") {
        let end = inner.find("]]")?;
        let name = inner[..end].split(':').next()?;
        return is_word(name).then_some((name, end + 4));
    }
    let inner = rest.strip_prefix('$')?;
    let len = inner.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    (len > 0).then(|| (&inner[..len], len + 1))
}

fn is_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn is_label(s: &str) -> bool {
    is_word(s) && !s.as_bytes()[0].is_ascii_digit()
}

fn is_prometheus(plugin: &str) -> bool {
    plugin.to_lowercase().contains("prometheus")
}

/// The text of a query variable's query (a string, or `{ query }`).
fn query_text(v: &Value) -> String {
    match v.get("query") {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(q @ Value::Object(_)) => str_of(q, "query").unwrap_or("").trim().to_string(),
        _ => str_of(v, "definition").unwrap_or("").trim().to_string(),
    }
}

/// A query variable that lists a label's values, as (label, PromQL whose
/// result series carry those values).
fn select_of(v: &Value) -> Option<(String, String)> {
    let q = query_text(v);
    if let Some(args) = q.strip_prefix("label_values").map(str::trim).and_then(|a| a.strip_prefix('(')) {
        let args = args.trim_end().strip_suffix(')')?;
        let (selector, label) = match split_last_arg(args) {
            Some((sel, label)) => (Some(sel.trim()), label.trim()),
            None => (None, args.trim()),
        };
        if !is_label(label) {
            return None;
        }
        let query = match selector.filter(|s| !s.is_empty()) {
            Some(sel) => format!("group by ({label}) ({sel})"),
            // Every series that has the label.
            None => format!("group by ({label}) ({{{label}!=\"\"}})"),
        };
        return Some((label.to_string(), query));
    }
    if let Some(expr) = q.strip_prefix("query_result").map(str::trim).and_then(|a| a.strip_prefix('(')) {
        let expr = expr.trim_end().strip_suffix(')')?.trim();
        // The value is cut out of the series by the regex: `label="(...)"`.
        let regex = str_of(v, "regex").unwrap_or("");
        let label = REGEX_LABEL.captures(regex)?[1].to_string();
        return Some((label, expr.to_string()));
    }
    // The query editor's structured form: `{ qryType: 1, label, metric }`.
    let obj = v.get("query").filter(|q| q.is_object())?;
    let label = str_of(obj, "label").filter(|l| is_label(l))?;
    let query = match str_of(obj, "metric").filter(|m| !m.is_empty()) {
        Some(m) => format!("group by ({label}) ({m})"),
        None => format!("group by ({label}) ({{{label}!=\"\"}})"),
    };
    Some((label.to_string(), query))
}

/// `metric{a="b,c"}, label` split at its last comma outside braces, quotes
/// and parentheses.
fn split_last_arg(args: &str) -> Option<(&str, &str)> {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut last = None;
    let mut escaped = false;
    for (i, c) in args.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '{' | '(' | '[' => depth += 1,
            '}' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => last = Some(i),
            _ => {}
        }
    }
    last.map(|i| (&args[..i], &args[i + 1..]))
}

/// A variable's saved value, as the text to put in queries, and how it
/// was found (for the report).
fn saved_value(v: &Value, kind: &str, rate_interval: &str) -> (String, &'static str) {
    let current = v.get("current").and_then(|c| c.get("value"));
    let values: Vec<String> = match current {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    let all = values.iter().any(|x| x == "$__all");
    let (value, how) = if all {
        (all_value(v), "its \"All\" as a regex")
    } else if values.len() > 1 {
        // Grafana writes several values as a regex alternation for Prometheus.
        let escaped: Vec<String> = values.iter().map(|x| regex_escape(x)).collect();
        (format!("({})", escaped.join("|")), "its saved choices as a regex")
    } else if let Some(one) = values.into_iter().next().filter(|x| !x.is_empty()) {
        (one, "its saved value")
    } else {
        match kind {
            "constant" | "textbox" => (query_text(v), "its value"),
            "custom" | "interval" => match custom_options(v).into_iter().next() {
                Some(first) => (first, "its first option"),
                None => (".*".into(), "a match-anything regex"),
            },
            _ => (".*".into(), "a match-anything regex, as it has no saved value"),
        }
    };
    if kind == "interval" && (value == "auto" || value.starts_with("$__auto")) {
        return (rate_interval.to_string(), "the rate interval");
    }
    (clean_line(&value), how)
}

/// What "All" stands for: the variable's `allValue`, else its options as
/// an alternation, else anything.
fn all_value(v: &Value) -> String {
    if let Some(a) = str_of(v, "allValue").filter(|a| !a.is_empty()) {
        return a.to_string();
    }
    let options: Vec<String> = v
        .get("options")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| str_of(o, "value"))
        .filter(|o| *o != "$__all")
        .map(regex_escape)
        .collect();
    if options.is_empty() { ".*".into() } else { format!("({})", options.join("|")) }
}

/// `value` as a regex matching only itself, written inside a double-quoted
/// PromQL string (whose own escapes double every backslash), as Grafana
/// writes multiple choices.
fn regex_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c == '\\' {
            // The regex's `\\`, each backslash doubled for the string.
            out.push_str("\\\\\\\\");
            continue;
        }
        if matches!(c, '^' | '$' | '*' | '+' | '?' | '.' | '(' | ')' | '|' | '[' | ']' | '{' | '}') {
            out.push_str("\\\\");
        } else if c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A custom variable's values: `a,b,c` or `Label : value, ...`.
fn custom_options(v: &Value) -> Vec<String> {
    query_text(v)
        .split(',')
        .map(|o| o.rsplit_once(" : ").map_or(o, |(_, value)| value).trim().to_string())
        .filter(|o| !o.is_empty())
        .collect()
}

/// A title made from a target's legend: `{{label}}` becomes `label`.
fn legend_title(t: &Target) -> String {
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
fn column_title(t: &Target, row_label: &str, columns: usize) -> String {
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
fn renames(p: &Value) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for tr in p.get("transformations").and_then(Value::as_array).into_iter().flatten() {
        let by_name = tr.get("options").and_then(|o| o.get("renameByName")).and_then(Value::as_object);
        for (k, v) in by_name.into_iter().flatten() {
            if let Some(v) = v.as_str().filter(|v| !v.trim().is_empty()) {
                out.insert(k.clone(), clean_line(v));
            }
        }
    }
    out
}

/// Makes the widths of a row's panels the smallest whole shares.
fn reduce_widths(panels: &mut [Panel]) {
    let g = panels.iter().fold(0u16, |g, p| gcd(g, p.width.max(1)));
    for p in panels {
        p.width = p.width.max(1) / g.max(1);
    }
}

fn gcd(a: u16, b: u16) -> u16 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Seconds as PromQL writes a duration: `1m`, `2h`, `45s`.
fn duration_text(s: u64) -> String {
    if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// A text panel's markdown or HTML as plain lines: tags, emphasis and link
/// targets go; every line is made safe for the terminal.
fn plain_text(content: &str, mode: &str) -> String {
    let mut s = content.replace("\r\n", "\n");
    if mode != "code" {
        s = SCRIPT.replace_all(&s, "").into_owned();
        s = BLOCK_END.replace_all(&s, "\n").into_owned();
        s = LIST_ITEM.replace_all(&s, "\n- ").into_owned();
        s = TAG.replace_all(&s, "").into_owned();
        for (entity, c) in [("&nbsp;", " "), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'")] {
            s = s.replace(entity, c);
        }
        s = s.replace("&amp;", "&");
    }
    if mode == "markdown" {
        s = IMAGE.replace_all(&s, "$1").into_owned();
        s = LINK.replace_all(&s, "$1").into_owned();
        s = EMPHASIS.replace_all(&s, "").into_owned();
        s = s
            .lines()
            .filter(|l| !l.trim_start().starts_with("```") && !RULE.is_match(l))
            .map(|l| HEADING.replace(l, "").into_owned())
            .collect::<Vec<_>>()
            .join("\n");
    }
    let mut lines: Vec<String> = Vec::new();
    for line in s.lines() {
        let line = sanitize(line.trim_end());
        // One blank line at most between paragraphs.
        if line.trim().is_empty() && lines.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        lines.push(if line.trim().is_empty() { String::new() } else { line });
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    if lines.len() > MAX_TEXT_LINES {
        lines.truncate(MAX_TEXT_LINES);
        lines.push("…".into());
    }
    lines.join("\n")
}

/// Untrusted text for a title or name: one safe line.
fn clean_line(s: &str) -> String {
    sanitize(s.trim()).trim().to_string()
}

fn str_of<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

fn int_of(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(|x| x.as_i64().or_else(|| x.as_f64().map(|f| f as i64)))
}

/// A number written as a number or, as old dashboards do, as a string.
fn num_of(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite())
}

fn options(p: &Value) -> &Value {
    p.get("options").unwrap_or(&Value::Null)
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid built-in pattern")
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
/// `instance="(...)"` in a query_result variable's regex.
static REGEX_LABEL: LazyLock<Regex> = LazyLock::new(|| re(r#"([a-zA-Z_][a-zA-Z0-9_]*)=\\?"\("#));
static SCRIPT: LazyLock<Regex> = LazyLock::new(|| re(r"(?is)<(?:script|style)\b.*?</(?:script|style)\s*>"));
static BLOCK_END: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)<br\s*/?>|</(?:p|div|h[1-6]|tr|table|ul|ol|blockquote|pre)\s*>"));
static LIST_ITEM: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)<li\b[^>]*>"));
static TAG: LazyLock<Regex> = LazyLock::new(|| re(r"(?s)<[^>]*>"));
static IMAGE: LazyLock<Regex> = LazyLock::new(|| re(r"!\[([^\]]*)\]\([^)]*\)"));
static LINK: LazyLock<Regex> = LazyLock::new(|| re(r"\[([^\]]*)\]\([^)]*\)"));
static EMPHASIS: LazyLock<Regex> = LazyLock::new(|| re(r"\*\*|__|`"));
static HEADING: LazyLock<Regex> = LazyLock::new(|| re(r"^\s{0,3}#{1,6}\s+|^\s{0,3}>\s?"));
static RULE: LazyLock<Regex> = LazyLock::new(|| re(r"^\s{0,3}(?:-{3,}|\*{3,}|_{3,})\s*$"));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::{Dashboard, PanelKind, PanelSpec};
    use crate::units::Unit;
    use proptest::prelude::Strategy;
    use proptest::prelude::*;
    use serde_json::json;
    use std::path::Path;

    const GOLDEN: &str = include_str!("../../tests/fixtures/grafana/golden-signals.json");
    const OLD: &str = include_str!("../../tests/fixtures/grafana/old-rows.json");

    fn run(json: &str) -> (Translation, Dashboard) {
        let t = translate(json, &Options::default()).unwrap();
        let d =
            Dashboard::parse(&t.toml, Path::new("imported.toml")).unwrap_or_else(|e| panic!("{e}\n---\n{}", t.toml));
        (t, d)
    }

    /// A dashboard of `panels` and template `vars`.
    fn board(panels: Value, vars: Value) -> String {
        json!({ "title": "T", "schemaVersion": 39, "templating": { "list": vars }, "panels": panels }).to_string()
    }

    fn prom(kind: &str, title: &str, targets: Value, defaults: Value) -> Value {
        json!({
            "type": kind, "title": title, "gridPos": { "x": 0, "y": 0, "w": 24, "h": 8 },
            "datasource": { "type": "prometheus", "uid": "p" },
            "fieldConfig": { "defaults": defaults }, "targets": targets
        })
    }

    fn only_panel(d: &Dashboard) -> &PanelSpec {
        &d.pages[0].rows[0].panels[0]
    }

    fn promql(p: &PanelSpec) -> &str {
        p.query.as_ref().and_then(|q| q.promql.as_deref()).unwrap_or("")
    }

    fn panel<'d>(d: &'d Dashboard, title: &str) -> &'d PanelSpec {
        d.pages
            .iter()
            .flat_map(|p| &p.rows)
            .flat_map(|r| &r.panels)
            .find(|p| p.title == title)
            .unwrap_or_else(|| panic!("no panel {title:?}"))
    }

    #[test]
    fn the_golden_signals_dashboard_translates() {
        let (t, d) = run(GOLDEN);
        let titles: Vec<&str> = d.pages.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["Service golden signals", "Saturation", "Business"]);
        let main = &d.pages[0];
        assert_eq!(main.select.as_deref(), Some("job"));
        assert_eq!(main.select_query.as_deref(), Some("group by (job) (up)"));
        assert_eq!(main.window, Some(3_600_000), "the dashboard's time range became the page's window");
        // Rows by y: the text, the four stats, the two charts, table and heatmap.
        let widths: Vec<Vec<u16>> = main.rows.iter().map(|r| r.panels.iter().map(|p| p.width).collect()).collect();
        assert_eq!(widths, [vec![1], vec![1, 1, 1, 1], vec![1, 1], vec![1, 1]]);
        let heights: Vec<Option<u16>> = main.rows.iter().map(|r| r.height).collect();
        assert_eq!(heights, [Some(6), Some(8), None, None], "1.5 lines a unit; charts share the rest");

        let rps = panel(&d, "Requests / s");
        assert_eq!(rps.kind, PanelKind::Bignum);
        assert_eq!(rps.unit, Unit::PerSecond);
        assert_eq!(promql(rps), r#"sum(rate(http_requests_total{job="$job", instance=~".+"}[1m]))"#);
        assert_eq!(
            (rps.thresholds.warn, rps.thresholds.crit, rps.thresholds.below),
            (Some(800.0), Some(1200.0), false)
        );

        let errors = panel(&d, "Error ratio");
        assert_eq!(errors.unit, Unit::Ratio);
        assert!(promql(errors).contains("\n/\n"), "multi-line PromQL is kept: {}", promql(errors));
        assert_eq!((errors.thresholds.warn, errors.thresholds.crit), (Some(0.01), Some(0.05)));

        let cpu = panel(&d, "CPU");
        assert_eq!((cpu.kind, cpu.unit.clone(), cpu.max), (PanelKind::Gauge, Unit::Percent, Some(100.0)));
        assert_eq!((cpu.thresholds.warn, cpu.thresholds.crit), (Some(80.0), Some(90.0)), "percentage steps");

        let mem = panel(&d, "Memory by instance");
        assert_eq!((mem.kind, mem.by.as_deref()), (PanelKind::Table, Some("instance")));
        let col = &mem.columns[0];
        assert_eq!(col.unit, Unit::Bytes);
        assert_eq!(
            col.query().promql.as_deref(),
            Some(r#"(process_resident_memory_bytes{job="$job"} / 1024 / 1024) * 1048576"#)
        );
        assert_eq!((col.max, col.crit), (Some(2048.0 * 1048576.0), Some(1800.0 * 1048576.0)));
        assert_eq!(col.show, crate::dashboard::spec::Show::Bar);
        assert_eq!((col.title.as_str(), &mem.unit), ("value", &Unit::Count), "the column has the unit");

        let latency = panel(&d, "Latency ($job)");
        assert_eq!((latency.kind, latency.unit.clone()), (PanelKind::Chart, Unit::Seconds));
        let lines: Vec<&str> = latency.lines.iter().map(|l| l.title.as_str()).collect();
        assert_eq!(lines, ["p50", "p90", "chosen quantile"], "the hidden query is left out");
        let chosen = latency.lines[2].query.as_deref().unwrap();
        assert!(chosen.starts_with("(histogram_quantile(0.99, ") && chosen.ends_with(") / 1000"), "{chosen}");
        assert_eq!((latency.thresholds.warn, latency.thresholds.crit), (Some(0.25), Some(0.5)), "ms became s");

        let traffic = panel(&d, "Traffic by status");
        assert_eq!(traffic.by.as_deref(), Some("status"));
        assert!(promql(traffic).contains(r#"path=~"/api/.+\\.json""#), "{}", promql(traffic));

        let instances = panel(&d, "Instances");
        assert_eq!(instances.by.as_deref(), Some("instance"));
        let cols: Vec<&str> = instances.columns.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(cols, ["up", "restarts"], "titles from the organize transformation");

        let heat = panel(&d, "Latency distribution");
        assert_eq!((heat.kind, heat.unit.clone()), (PanelKind::Chart, Unit::Seconds));
        let p99 = heat.lines[2].query.as_deref().unwrap();
        assert_eq!(
            p99,
            r#"histogram_quantile(0.99, sum(increase(http_request_duration_seconds_bucket{job="$job"}[1m])) by (le))"#
        );

        let about = panel(&d, "About \\u{1b}[31mthis\\u{1b}[0m board");
        let text = about.text.as_deref().unwrap();
        assert!(text.starts_with("Golden signals for $job\n"), "{text}");
        assert!(text.contains("See the runbook.") && !text.contains("script") && !text.contains("alert(1)"), "{text}");

        // The collapsed row's page: bits became bytes, and low availability is bad.
        let sat = &d.pages[1];
        assert_eq!(sat.select.as_deref(), Some("job"), "its availability stat uses $job");
        let net = panel(&d, "Network out");
        assert_eq!(net.unit, Unit::BytesPerSecond);
        assert!(promql(net).ends_with(") / 8"), "{}", promql(net));
        let avail = panel(&d, "Availability");
        assert_eq!(
            (avail.thresholds.crit, avail.thresholds.warn, avail.thresholds.below),
            (Some(99.0), Some(99.9), true)
        );
        assert!(promql(avail).contains("[1h]"), "$__range is the window: {}", promql(avail));
        let conns = panel(&d, "Open connections");
        assert_eq!((conns.max, conns.thresholds.crit), (Some(500.0), Some(500.0)));

        assert_eq!(panel(&d, "Revenue / min").unit, Unit::Money("$".into()));
        assert_eq!(t.translated, 14);
        let skipped: Vec<(&str, &str)> = t.skipped.iter().map(|s| (s.title.as_str(), s.kind.as_str())).collect();
        assert_eq!(
            skipped,
            [
                ("Error logs", "logs"),
                ("Log lines / s", "timeseries"),
                ("Requests by route", "piechart"),
                ("Checkout shared", "stat")
            ]
        );
        assert!(t.skipped[1].reason.contains("loki"), "{:?}", t.skipped[1]);
        let notes = t.notes.join("\n");
        for needle in [
            "`$job` became the page's choice of `job`",
            "`$instance` was replaced by `.+`, its \"All\"",
            "`$quantile` was replaced by `0.99`, its saved value",
            "became 1m",
            "`celsius`",
            "p50, p90 and p99",
        ] {
            assert!(notes.contains(needle), "no {needle:?} in\n{notes}");
        }
    }

    #[test]
    fn the_api_wrapper_and_the_old_rows_layout() {
        let (t, d) = run(OLD);
        let titles: Vec<&str> = d.pages.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["Legacy API", "Old graphite panels"]);
        let main = &d.pages[0];
        assert_eq!(main.select.as_deref(), Some("service"), "`$svc` lists `service` values");
        assert_eq!(main.select_query.as_deref(), Some("group by (service) (http_requests_total)"));
        assert_eq!(main.window, Some(6 * 3_600_000));
        let heights: Vec<Option<u16>> = main.rows.iter().map(|r| r.height).collect();
        assert_eq!(heights, [None, None], "rows with charts share the screen");
        let widths: Vec<u16> = main.rows[0].panels.iter().map(|p| p.width).collect();
        assert_eq!(widths, [2, 1], "spans 8 and 4");

        let reqs = panel(&d, "Requests of $service");
        assert_eq!(
            (reqs.kind, reqs.by.as_deref(), reqs.unit.clone()),
            (PanelKind::Chart, Some("code"), Unit::PerSecond)
        );
        assert_eq!(
            promql(reqs),
            r#"sum(rate(http_requests_total{service="$service",env=~"(prod|staging)",cluster="eu-west-1"}[5m])) by (code)"#
        );
        assert_eq!((reqs.thresholds.warn, reqs.thresholds.crit), (Some(400.0), Some(900.0)));

        let budget = panel(&d, "Error budget left");
        assert_eq!((budget.kind, budget.unit.clone(), budget.max), (PanelKind::Gauge, Unit::Ratio, Some(1.0)));
        assert_eq!(
            (budget.thresholds.crit, budget.thresholds.warn, budget.thresholds.below),
            (Some(0.1), Some(0.25), true)
        );

        let p99 = panel(&d, "p99 latency");
        assert!(promql(p99).ends_with(") / 1000000"), "µs became s: {}", promql(p99));
        assert_eq!(panel(&d, "Requests today").kind, PanelKind::Bignum);
        let notes = panel(&d, "Notes").text.as_deref().unwrap();
        assert_eq!(notes, "On call\nEscalate to #api-oncall & the wiki.\n\n- restart pods\n- scale out");

        let disk = panel(&d, "Disk I/O");
        assert_eq!(disk.unit, Unit::BytesPerSecond);
        assert_eq!(disk.lines.len(), 2);
        assert_eq!(t.translated, 6);
        assert_eq!(t.skipped.len(), 1);
        assert!(t.skipped[0].reason.contains("graphite"), "{:?}", t.skipped);
        let notes = t.notes.join("\n");
        assert!(notes.contains("queries of the default datasource were taken to be PromQL"), "{notes}");
        assert!(!notes.contains("\"Prometheus\""), "a datasource called Prometheus is one: {notes}");
    }

    #[test]
    fn with_and_without_the_wrapper_alike() {
        let inner: Value = serde_json::from_str::<Value>(OLD).unwrap()["dashboard"].clone();
        let a = translate(OLD, &Options::default()).unwrap();
        let b = translate(&inner.to_string(), &Options::default()).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn a_source_is_named_on_every_query() {
        let opts = Options { source: Some("eu \"west\"".into()), ..Options::default() };
        let t = translate(GOLDEN, &opts).unwrap();
        let d = Dashboard::parse(&t.toml, Path::new("x.toml")).unwrap();
        assert_eq!(d.pages[0].select_source.as_deref(), Some("eu \"west\""));
        for p in d.pages.iter().flat_map(|p| &p.rows).flat_map(|r| &r.panels) {
            let sources = p
                .query
                .iter()
                .map(|q| q.source.clone())
                .chain(p.lines.iter().map(|l| l.source.clone()))
                .chain(p.columns.iter().map(|c| c.source.clone()));
            for s in sources {
                assert_eq!(s.as_deref(), Some("eu \"west\""), "{}", p.title);
            }
        }
    }

    #[test]
    fn variables_of_every_kind() {
        let vars = json!([
            { "name": "cluster_name", "type": "query", "query": "label_values(cluster)", "current": { "value": "a" } },
            { "name": "ns", "type": "query", "query": "label_values(kube_pod_info{cluster=\"$cluster_name\"}, namespace)",
              "multi": true, "current": { "value": ["a.b", "c"] } },
            { "name": "pod", "type": "query", "query": "label_values(kube_pod_info, pod)", "includeAll": true,
              "current": { "value": "$__all" }, "options": [{ "value": "$__all" }, { "value": "web-1" }, { "value": "web-2" }] },
            { "name": "job", "type": "query", "query": "query_result(up)", "current": {} },
            { "name": "step", "type": "interval", "query": "1m,5m", "current": { "value": "$__auto_interval_step" } },
            { "name": "team", "type": "textbox", "query": "core" }
        ]);
        let expr = "sum(rate(x{cluster=\"${cluster_name}\", ns=~\"${ns:regex}\", pod=~\"[[pod]]\", job=~\"$job\", team=\"$team\"}[$step])) / $__range_s + $nope";
        let panels =
            json!([prom("timeseries", "On $cluster_name", json!([{ "expr": expr, "refId": "A" }]), json!({}))]);
        let (t, d) = run(&board(panels, vars));
        let page = &d.pages[0];
        assert_eq!(page.select.as_deref(), Some("cluster"));
        assert_eq!(page.select_query.as_deref(), Some(r#"group by (cluster) ({cluster!=""})"#));
        assert_eq!(page.title, "T");
        let p = only_panel(&d);
        assert_eq!(p.title, "On $cluster");
        assert_eq!(
            promql(p),
            r#"sum(rate(x{cluster="$cluster", ns=~"(a\\.b|c)", pod=~"(web-1|web-2)", job=~".*", team="core"}[1m])) / 900 + $nope"#
        );
        let notes = t.notes.join("\n");
        assert!(notes.contains("`$nope` is not a variable of this dashboard"), "{notes}");
        assert!(notes.contains("`$job` was replaced by `.*`, a match-anything regex"), "{notes}");
    }

    #[test]
    fn a_query_result_variable_with_a_label_regex_is_a_select() {
        let vars = json!([{ "name": "svc", "type": "query", "query": "query_result(count by (service) (up))",
            "regex": "/.*service=\"([^\"]+)\".*/" }]);
        let panels =
            json!([prom("stat", "up", json!([{ "expr": "sum(up{service=\"$svc\"})", "refId": "A" }]), json!({}))]);
        let (_, d) = run(&board(panels, vars));
        assert_eq!(d.pages[0].select.as_deref(), Some("service"));
        assert_eq!(d.pages[0].select_query.as_deref(), Some("count by (service) (up)"));
        assert_eq!(promql(only_panel(&d)), r#"sum(up{service="$service"})"#);
    }

    #[test]
    fn the_scrape_interval_sets_the_rate_interval() {
        let panels =
            json!([prom("stat", "r", json!([{ "expr": "rate(x[$__rate_interval])", "refId": "A" }]), json!({}))]);
        let opts = Options { scrape_interval: std::time::Duration::from_secs(30), ..Options::default() };
        let t = translate(&board(panels, json!([])), &opts).unwrap();
        assert!(t.toml.contains("query = \"rate(x[2m])\""), "{}", t.toml);
        assert!(t.toml.contains("# `$__rate_interval` became 2m"), "{}", t.toml);
        assert_eq!(duration_text(45), "45s");
        assert_eq!(duration_text(7200), "2h");
    }

    #[test]
    fn thresholds_by_colour_and_direction() {
        let steps = |s: Value| json!({ "thresholds": { "mode": "absolute", "steps": s } });
        let cases = [
            (json!([{ "color": "green", "value": null }, { "color": "red", "value": 5 }]), (None, Some(5.0), false)),
            (
                json!([{ "color": "#73BF69", "value": null }, { "color": "#FF9830", "value": 1 }, { "color": "#F2495C", "value": 2 }]),
                (Some(1.0), Some(2.0), false),
            ),
            (
                json!([{ "color": "semi-dark-red", "value": null }, { "color": "green", "value": 3 }]),
                (None, Some(3.0), true),
            ),
            (
                json!([{ "color": "yellow", "value": null }, { "color": "super-light-green", "value": 10 }]),
                (Some(10.0), None, true),
            ),
            // Warning past critical cannot be said in vigil: the warning goes.
            (
                json!([{ "color": "green", "value": null }, { "color": "red", "value": 5 }, { "color": "yellow", "value": 9 }]),
                (None, Some(5.0), false),
            ),
            (json!([{ "color": "blue", "value": null }, { "color": "purple", "value": 4 }]), (None, None, false)),
        ];
        for (s, (warn, crit, below)) in cases {
            let panels = json!([prom("stat", "s", json!([{ "expr": "x", "refId": "A" }]), steps(s.clone()))]);
            let (_, d) = run(&board(panels, json!([])));
            let th = only_panel(&d).thresholds;
            assert_eq!((th.warn, th.crit, th.below), (warn, crit, below), "{s}");
        }
        // Percentages need a range.
        let pct = json!({ "unit": "short", "thresholds": { "mode": "percentage", "steps": [{ "color": "green" }, { "color": "red", "value": 50 }] } });
        let panels = json!([prom("stat", "s", json!([{ "expr": "x", "refId": "A" }]), pct)]);
        let (t, d) = run(&board(panels, json!([])));
        assert_eq!(only_panel(&d).thresholds.crit, None);
        assert!(t.notes.iter().any(|n| n.contains("percentages of a range")), "{:?}", t.notes);
    }

    #[test]
    fn thresholds_grafana_does_not_draw_are_left_behind() {
        let steps = json!({ "mode": "absolute", "steps": [{ "color": "green", "value": null }, { "color": "red", "value": 80 }] });
        let crit = |kind: &str, defaults: Value, options: Value| {
            let mut p = prom(kind, "p", json!([{ "expr": "x", "legendFormat": "{{a}}", "refId": "A" }]), defaults);
            p["options"] = options;
            let (_, d) = run(&board(json!([p]), json!([])));
            let p = only_panel(&d);
            p.thresholds.crit.or(p.columns.first().and_then(|c| c.crit))
        };
        let chart = |style: Value| json!({ "thresholds": steps.clone(), "custom": { "thresholdsStyle": style } });
        assert_eq!(crit("timeseries", chart(json!({ "mode": "off" })), json!({})), None);
        assert_eq!(crit("timeseries", json!({ "thresholds": steps.clone() }), json!({})), None);
        assert_eq!(crit("timeseries", chart(json!({ "mode": "dashed" })), json!({})), Some(80.0));
        assert_eq!(crit("stat", json!({ "thresholds": steps.clone() }), json!({ "colorMode": "none" })), None);
        assert_eq!(
            crit("stat", json!({ "thresholds": steps.clone() }), json!({ "colorMode": "background" })),
            Some(80.0)
        );
        let cells = |ty: &str| json!({ "thresholds": steps.clone(), "custom": { "cellOptions": { "type": ty } } });
        assert_eq!(crit("table", cells("auto"), json!({})), None);
        assert_eq!(crit("table", cells("color-background"), json!({})), Some(80.0));
        assert_eq!(crit("gauge", json!({ "thresholds": steps.clone() }), json!({})), Some(80.0));
    }

    #[test]
    fn units_map_and_scale() {
        for (id, unit, query) in [
            ("s", Unit::Seconds, "x"),
            ("ns", Unit::Seconds, "(x) / 1000000000"),
            ("m", Unit::Seconds, "(x) * 60"),
            ("decbytes", Unit::Bytes, "x"),
            ("gbytes", Unit::Bytes, "(x) * 1073741824"),
            ("Bps", Unit::BytesPerSecond, "x"),
            ("Mbits", Unit::BytesPerSecond, "(x) * 125000"),
            ("ops", Unit::PerSecond, "x"),
            ("rpm", Unit::PerMinute, "x"),
            ("currencyEUR", Unit::Money("€".into()), "x"),
            ("percent", Unit::Percent, "x"),
            ("none", Unit::Count, "x"),
            ("lengthm", Unit::Count, "x"),
        ] {
            let panels =
                json!([prom("timeseries", "u", json!([{ "expr": "x", "refId": "A" }]), json!({ "unit": id }))]);
            let (_, d) = run(&board(panels, json!([])));
            let p = only_panel(&d);
            assert_eq!((&p.unit, promql(p)), (&unit, query), "{id}");
        }
    }

    #[test]
    fn split_by_label_from_a_legend_or_an_aggregation() {
        let one = |expr: &str, legend: &str| {
            let t = json!([{ "expr": expr, "legendFormat": legend, "refId": "A" }]);
            let (_, d) = run(&board(json!([prom("timeseries", "c", t, json!({}))]), json!([])));
            only_panel(&d).by.clone()
        };
        assert_eq!(one("sum by (route) (rate(x[1m]))", ""), Some("route".into()));
        assert_eq!(one("sum(rate(x[1m])) by (route)", ""), Some("route".into()));
        assert_eq!(one("sum(rate(x[1m])) by (route, code)", ""), None);
        assert_eq!(one("rate(x[1m])", "{{ pod }} / {{container}}"), Some("pod".into()));
        assert_eq!(one("sum by (route) (rate(x[1m]))", "all routes"), None, "a fixed legend names one line");
        // A stat with a series per label value becomes a table of them.
        let t = json!([{ "expr": "up", "legendFormat": "{{instance}}", "refId": "A" }]);
        let (_, d) = run(&board(json!([prom("stat", "Up", t, json!({}))]), json!([])));
        let p = only_panel(&d);
        assert_eq!((p.kind, p.by.as_deref()), (PanelKind::Table, Some("instance")));
        // A stat of the range's mean still shows the newest value, and says so.
        let mut stat = prom("stat", "Mean", json!([{ "expr": "up", "refId": "A" }]), json!({}));
        stat["options"] = json!({ "reduceOptions": { "calcs": ["mean"] } });
        let (t, _) = run(&board(json!([stat]), json!([])));
        assert!(t.notes.iter().any(|n| n.contains("shows the `mean` of the time range")), "{:?}", t.notes);
        assert_eq!(p.columns[0].show, crate::dashboard::spec::Show::Spark);
    }

    #[test]
    fn a_stat_of_several_queries_is_several_big_numbers() {
        let t = json!([{ "expr": "a", "legendFormat": "in", "refId": "A" }, { "expr": "b", "refId": "B" }]);
        let mut p = prom("stat", "Flow", t, json!({}));
        p["gridPos"]["w"] = json!(12);
        let other = prom("gauge", "G", json!([{ "expr": "c", "refId": "A" }]), json!({ "unit": "percent" }));
        let mut other = other;
        other["gridPos"] = json!({ "x": 12, "y": 0, "w": 12, "h": 4 });
        let (t, d) = run(&board(json!([p, other]), json!([])));
        let row = &d.pages[0].rows[0];
        let names: Vec<(&str, u16)> = row.panels.iter().map(|p| (p.title.as_str(), p.width)).collect();
        assert_eq!(names, [("Flow in", 1), ("Flow B", 1), ("G", 2)]);
        assert_eq!(row.height, Some(12), "the taller panel's 8 units");
        assert_eq!(t.translated, 2);
    }

    #[test]
    fn mixed_datasources_keep_their_prometheus_queries() {
        let p = json!({
            "type": "timeseries", "title": "Mixed", "gridPos": { "x": 0, "y": 0, "w": 24, "h": 8 },
            "datasource": { "type": "datasource", "uid": "-- Mixed --" },
            "targets": [
                { "datasource": { "type": "prometheus", "uid": "p" }, "expr": "up", "refId": "A" },
                { "datasource": { "type": "loki", "uid": "l" }, "expr": "count_over_time({a=\"b\"}[1m])", "refId": "B" },
                { "datasource": { "type": "__expr__", "uid": "__expr__" }, "expression": "$A * 2", "refId": "C" }
            ]
        });
        let (t, d) = run(&board(json!([p]), json!([])));
        assert_eq!(promql(only_panel(&d)), "up");
        assert!(
            t.notes.iter().any(|n| n.contains("\"Mixed\": its queries for Grafana expressions, loki were dropped")),
            "{:?}",
            t.notes
        );
        // The panel's own (here the default) counts only for queries naming none.
        let mut p = prom(
            "timeseries",
            "D",
            json!([{ "datasource": { "type": "prometheus" }, "expr": "up", "refId": "A" }]),
            json!({}),
        );
        p["datasource"] = Value::Null;
        let (t, _) = run(&board(json!([p.clone()]), json!([])));
        assert!(!t.notes.iter().any(|n| n.contains("default datasource")), "{:?}", t.notes);
        p["targets"][0]["datasource"] = Value::Null;
        let (t, _) = run(&board(json!([p]), json!([])));
        assert!(
            t.notes.iter().any(|n| n.contains("queries of the default datasource were taken to be PromQL")),
            "{:?}",
            t.notes
        );
        // A datasource named by a variable of Loki's plugin.
        let vars = json!([{ "name": "logs", "type": "datasource", "query": "loki" }]);
        let mut p = prom("timeseries", "L", json!([{ "expr": "{a=\"b\"}", "refId": "A" }]), json!({}));
        p["datasource"] = json!("$logs");
        let (t, _) = run(&board(json!([p]), vars));
        assert_eq!(t.translated, 0);
        assert!(t.skipped[0].reason.contains("loki"), "{:?}", t.skipped);
    }

    #[test]
    fn nothing_translated_is_still_a_dashboard() {
        let p = json!({ "type": "news", "title": "News", "gridPos": { "x": 0, "y": 0, "w": 24, "h": 8 } });
        let (t, d) = run(&board(json!([p]), json!([])));
        assert_eq!(t.translated, 0);
        assert_eq!(t.skipped[0].reason, "vigil has no panel like Grafana's `news`");
        assert_eq!(only_panel(&d).kind, PanelKind::Text);
        let (t, _) = run(&board(json!([]), json!([])));
        assert_eq!((t.translated, t.skipped.len()), (0, 0));
    }

    #[test]
    fn bad_input_is_an_error_with_a_position() {
        let e = translate("{\n  \"panels\": [,]\n}", &Options::default()).unwrap_err();
        match &e {
            ImportError::Json { line, column, message } => {
                assert_eq!((*line, *column), (2, 14));
                assert!(!message.contains("line"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().starts_with("2:14: not valid JSON: "), "{e}");
        let e = translate("[1, 2]", &Options::default()).unwrap_err();
        assert_eq!(e, ImportError::NotADashboard("the JSON is not an object".into()));
        let e = translate("{\"title\": \"x\"}", &Options::default()).unwrap_err();
        assert!(e.to_string().contains("neither `panels` nor `rows`"), "{e}");
    }

    #[test]
    fn hostile_titles_and_text_stay_inside_their_strings() {
        let title = "a\"b'c\\d\n[[page]]\ntitle = \"x\"\u{7}\u{202e}";
        let mut p = prom("stat", title, json!([{ "expr": "up{a=\"'\\\\\"}", "refId": "A" }]), json!({}));
        p["gridPos"]["h"] = json!(100);
        let text = json!({ "type": "text", "title": "t", "gridPos": { "x": 0, "y": 1, "w": 24, "h": 1 },
            "options": { "mode": "markdown", "content": "'''\n\"\"\"\n\u{1b}]0;x\u{7}\n# [[page]]" } });
        let (_, d) = run(&board(json!([p, text]), json!([])));
        assert_eq!(d.pages.len(), 1);
        let p = only_panel(&d);
        assert!(!p.title.chars().any(char::is_control) && !p.title.contains('\u{202e}'), "{:?}", p.title);
        assert_eq!(promql(p), "up{a=\"'\\\\\"}");
        assert_eq!(d.pages[0].rows[0].height, Some(30), "tall panels are capped");
        // The old layout's rows are in pixels: 250 px is six and a half units.
        let old = json!({ "title": "O", "rows": [{ "height": "250px", "panels": [
            { "type": "singlestat", "span": 6, "targets": [{ "expr": "a" }] },
            { "type": "singlestat", "span": 6, "targets": [{ "expr": "b" }] },
            { "type": "singlestat", "span": 4, "targets": [{ "expr": "c" }] }
        ] }] });
        let (_, od) = run(&old.to_string());
        let rows: Vec<(Option<u16>, usize)> = od.pages[0].rows.iter().map(|r| (r.height, r.panels.len())).collect();
        assert_eq!(rows, [(Some(10), 2), (Some(10), 1)], "past 12 columns a panel wraps");
        assert_eq!(d.pages[0].rows[1].height, Some(3), "short ones get room for a line");
        let text = d.pages[0].rows[1].panels[0].text.as_deref().unwrap();
        assert_eq!(text, "'''\n\"\"\"\n\\u{1b}]0;x\\u{7}\n[[page]]");
    }

    /// Any JSON value, leaning on Grafana's keys and on awkward text.
    fn any_json() -> impl Strategy<Value = Value> {
        let text = prop_oneof![
            Just("prometheus".to_string()),
            Just("loki".to_string()),
            Just("${DS_PROMETHEUS}".to_string()),
            Just("-- Mixed --".to_string()),
            Just("label_values(up, job)".to_string()),
            Just("#F2495Cé".to_string()),
            Just("$__all".to_string()),
            "[a-z{}$\\[\\]()\"'\\\\:.,=~_ \n\u{1b}\u{202e}é#-]{0,24}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|f| json!(f)),
            (-30i64..60).prop_map(|n| json!(n)),
            text.prop_map(Value::String),
        ];
        let keys = prop_oneof![
            Just("type"),
            Just("title"),
            Just("gridPos"),
            Just("x"),
            Just("y"),
            Just("w"),
            Just("h"),
            Just("panels"),
            Just("targets"),
            Just("expr"),
            Just("legendFormat"),
            Just("datasource"),
            Just("fieldConfig"),
            Just("defaults"),
            Just("unit"),
            Just("thresholds"),
            Just("steps"),
            Just("color"),
            Just("value"),
            Just("max"),
            Just("min"),
            Just("options"),
            Just("content"),
            Just("mode"),
            Just("span"),
            Just("rows"),
            Just("height"),
            Just("collapse"),
            Just("hide"),
            Just("templating"),
            Just("list"),
            Just("name"),
            Just("query"),
            Just("current"),
            Just("regex"),
            Just("yaxes"),
            Just("format"),
            Just("colors"),
            Just("gauge"),
            Just("repeat"),
            Just("time"),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((keys.clone(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
            ]
        })
    }

    /// A panel of Grafana's shape whose every field may be odd.
    fn grafana_panel() -> impl Strategy<Value = Value> {
        let kind = prop_oneof![
            Just("timeseries"),
            Just("graph"),
            Just("stat"),
            Just("singlestat"),
            Just("gauge"),
            Just("bargauge"),
            Just("table"),
            Just("heatmap"),
            Just("text"),
            Just("row"),
            Just("logs"),
        ];
        let expr =
            "[a-z_{}()\\[\\]$\"=~,. 0-9\n]{0,30}|sum by \\(le\\) \\(rate\\(x_bucket\\[\\$__rate_interval\\]\\)\\)";
        let target = (expr, "[a-z{} $]{0,10}", any::<bool>(), any_json()).prop_map(
            |(e, l, hide, ds)| json!({ "expr": e, "legendFormat": l, "hide": hide, "datasource": ds, "refId": "A" }),
        );
        let unit =
            prop_oneof![Just("ms"), Just("percent"), Just("percentunit"), Just("bytes"), Just("celsius"), Just("")];
        let colour =
            prop_oneof![Just("green"), Just("red"), Just("orange"), Just("blue"), Just("#EAB839"), Just("rgba(1,2,3")];
        let step = (
            colour,
            prop_oneof![Just(Value::Null), any::<f64>().prop_map(|f| json!(f)), (0i64..200).prop_map(|n| json!(n))],
        )
            .prop_map(|(c, v)| json!({ "color": c, "value": v }));
        let mode = prop_oneof![Just("absolute"), Just("percentage")];
        let defaults = (unit, prop::collection::vec(step, 0..4), mode, any_json(), any_json())
            .prop_map(|(u, steps, m, max, min)| json!({ "unit": u, "max": max, "min": min, "thresholds": { "mode": m, "steps": steps } }));
        let grid = (-2i64..40, -2i64..40, -2i64..30, -2i64..40)
            .prop_map(|(x, y, w, h)| json!({ "x": x, "y": y, "w": w, "h": h }));
        (kind, any_json(), grid, prop::collection::vec(target, 0..4), defaults, any_json(), any_json()).prop_map(
            |(k, title, grid, targets, defaults, options, panels)| {
                json!({ "type": k, "title": title, "gridPos": grid, "targets": targets,
                        "fieldConfig": { "defaults": defaults }, "options": options, "panels": panels })
            },
        )
    }

    /// A template variable of Grafana's shape.
    fn grafana_var() -> impl Strategy<Value = Value> {
        let kind = prop_oneof![
            Just("query"),
            Just("custom"),
            Just("constant"),
            Just("interval"),
            Just("datasource"),
            Just("adhoc")
        ];
        let query = prop_oneof![
            Just("label_values(up, job)".to_string()),
            Just("label_values(instance)".to_string()),
            Just("query_result(up)".to_string()),
            "[a-z_(){},\" :$]{0,20}",
        ];
        (kind, "[a-z_]{1,6}", query, any_json()).prop_map(
            |(k, name, q, current)| json!({ "type": k, "name": name, "query": q, "current": { "value": current } }),
        )
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        #[test]
        fn any_dashboard_json_gives_a_dashboard_or_an_error(
            panels in any_json(), vars in any_json(), rows in any_json(),
            shaped in prop::collection::vec(grafana_panel(), 0..8),
            shaped_vars in prop::collection::vec(grafana_var(), 0..4),
            old in any::<bool>(),
        ) {
            let board = if old {
                json!({ "title": "P", "panels": panels, "rows": rows, "templating": { "list": vars } })
            } else {
                json!({ "title": "P", "panels": shaped, "templating": { "list": shaped_vars } })
            };
            if let Ok(t) = translate(&board.to_string(), &Options::default()) {
                let parsed = Dashboard::parse(&t.toml, Path::new("p.toml"));
                proptest::prop_assert!(parsed.is_ok(), "{:?}\n{}", parsed.err(), t.toml);
                let report = format!("{:?}{:?}", t.skipped, t.notes);
                proptest::prop_assert!(!report.contains('\u{1b}') && !report.contains('\u{202e}'), "{report}");
            }
        }
    }

    #[test]
    fn repeated_keys_and_empty_row_titles() {
        let row = |title: &str, y: i64| json!({ "type": "row", "title": title, "gridPos": { "x": 0, "y": y, "w": 24, "h": 1 } });
        let stat = |y: i64| {
            let mut p = prom("stat", "s", json!([{ "expr": "x", "refId": "A" }]), json!({}));
            p["gridPos"]["y"] = json!(y);
            p
        };
        let panels = json!([stat(0), row("t", 1), stat(2), row("", 3), stat(4)]);
        let (_, d) = run(&board(panels, json!([])));
        let keys: Vec<String> = d.pages.iter().map(|p| p.key()).collect();
        assert_eq!(keys, ["t", "t 2", "row 2"]);
    }
}
