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

mod layout;
mod model;
mod panels;
mod templating;
mod text;
mod units;

use super::{ImportError, Options, Skipped, Translation};
use crate::dashboards::spec::RowSpec;
use crate::dashboards::write::{self, Comments};
use crate::dashboards::{Dashboard, PageSpec, PanelKind, PanelSpec};
use layout::{Section, dedupe_keys, grid_sections, old_sections, reduce_widths};
use model::{Board, Export};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use templating::duration_text;
use templating::is_word;
use text::clean_line;

/// Terminal lines per unit of Grafana's grid.
const LINES_PER_UNIT: f64 = 1.5;
/// A row needs its two border lines and one of content; taller than this
/// is more than a laptop's terminal shows.
const ROW_HEIGHT: (u16, u16) = (3, 30);
/// The window vigil opens with unless the dashboard says otherwise.
const DEFAULT_WINDOW_S: u64 = 15 * 60;

/// Translates a Grafana dashboard's JSON into a vigil dashboard file.
pub fn translate(json: &str, opts: &Options) -> Result<Translation, ImportError> {
    let root: serde_json::Value = serde_json::from_str(json).map_err(|e| {
        let text = e.to_string();
        // serde_json ends its message with the position, given separately here.
        let message = text.rsplit_once(" at line ").map_or(text.as_str(), |(m, _)| m).to_string();
        ImportError::Json { line: e.line(), column: e.column(), message }
    })?;
    if !root.is_object() {
        return Err(ImportError::NotADashboard("the JSON is not an object".into()));
    }
    // The API wraps the dashboard as `{"dashboard": ..., "meta": ...}`.
    let dash = root.get("dashboard").filter(|d| d.is_object()).unwrap_or(&root);
    // Every field of the model is lenient, so only a non-object fails, and
    // both are objects.
    let board = Board::deserialize(dash).unwrap_or_default();
    let export = Export::deserialize(&root).unwrap_or_default();
    if board.panels.is_none() && board.rows.is_none() {
        return Err(ImportError::NotADashboard("it has neither `panels` nor `rows`".into()));
    }
    let mut t = Translator::new(opts, &export, &board);
    let title = board.title.as_deref().map(clean_line).filter(|s| !s.is_empty());
    let title = title.unwrap_or_else(|| "Grafana".to_string());
    let sections = match board.panels.as_deref().filter(|p| !p.is_empty()) {
        Some(list) => grid_sections(&title, list),
        None => old_sections(&title, board.rows.as_deref().unwrap_or_default()),
    };
    let mut dashboard = Dashboard { extends: None, pages: Vec::new() };
    let mut comments = Comments::default();
    for s in &sections {
        if let Some((page, origins)) = t.page(s) {
            let p = dashboard.pages.len();
            for (r, row) in origins.into_iter().enumerate() {
                for (n, origin) in row.into_iter().enumerate() {
                    if let Some(origin) = origin {
                        comments.panels.insert((p, r, n), origin);
                    }
                }
            }
            dashboard.pages.push(page);
        }
    }
    dedupe_keys(&mut dashboard.pages);
    if dashboard.pages.is_empty() {
        // The file stays a valid dashboard even when nothing carried over.
        let text = format!("Nothing on the Grafana dashboard \"{title}\" could be translated.");
        let panel = PanelSpec { text: Some(text), ..PanelSpec::new(PanelKind::Text, "Import") };
        let row = RowSpec { height: None, panels: vec![panel] };
        dashboard.pages.push(PageSpec { rows: vec![row], ..PageSpec::new(&title) });
    }
    comments.header = t.finish_notes(&title);
    Ok(Translation {
        toml: write::to_toml(&dashboard, &comments),
        translated: t.translated,
        skipped: t.skipped,
        notes: t.notes,
    })
}

/// A vigil panel made from a Grafana panel, with where it came from (a
/// comment above it in the file).
pub(super) struct Made {
    pub spec: PanelSpec,
    pub origin: Option<String>,
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
    /// The page's window in milliseconds, when the dashboard gives one.
    window: Option<i64>,
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
    fn new(opts: &'a Options, export: &Export, dash: &Board) -> Self {
        let scrape = opts.scrape_interval.as_secs().max(1);
        // Grafana's own rule is max($__interval + scrape, 4 × scrape); with
        // $__interval at its floor (the scrape interval) that is 4 × scrape.
        let rate_s = 4 * scrape;
        let window_s = dash
            .time
            .from
            .as_deref()
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
        for input in export.inputs.iter().chain(dash.inputs.iter()) {
            if let (Some(name), Some(plugin)) = (&input.name, &input.plugin_id) {
                inputs.insert(name.clone(), plugin.clone());
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
            window: window_s.map(|s| s as i64 * 1000),
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
        t.read_variables(&dash.templating.list);
        t
    }

    /// A page of a section's panels, with the origin of each (by row),
    /// or none when nothing on it carried over.
    fn page(&mut self, s: &Section) -> Option<(PageSpec, Vec<Vec<Option<String>>>)> {
        self.page_selects = false;
        let mut rows = Vec::new();
        for r in &s.rows {
            let mut panels = Vec::new();
            for (p, w) in &r.panels {
                let made = self.panel(p);
                let n = made.len() as u64;
                for mut m in made {
                    // Several vigil panels from one Grafana panel share its width.
                    m.spec.width = (w / n.max(1)).max(1) as u16;
                    panels.push(m);
                }
            }
            if panels.is_empty() {
                continue;
            }
            reduce_widths(&mut panels);
            let height = (!panels.iter().any(|m| m.spec.kind == PanelKind::Chart))
                .then(|| ((r.height * LINES_PER_UNIT).round() as u16).clamp(ROW_HEIGHT.0, ROW_HEIGHT.1));
            rows.push((height, panels));
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
        // A page title is not substituted by vigil: name the label instead.
        let title = match select {
            Some(sel) => title.replace(&format!("${}", sel.label), &sel.label),
            None => title,
        };
        let (rows, origins) = rows
            .into_iter()
            .map(|(height, made)| {
                let (panels, origins) = made.into_iter().map(|m| (m.spec, m.origin)).unzip();
                (RowSpec { height, panels }, origins)
            })
            .unzip();
        let page = PageSpec {
            select: select.map(|s| s.label.clone()),
            select_query: select.map(|s| s.query.clone()),
            select_source: select.and(self.opts.source.clone()),
            window: self.window,
            rows,
            ..PageSpec::new(&title)
        };
        Some((page, origins))
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

#[cfg(test)]
mod tests;
