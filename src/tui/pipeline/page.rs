//! Evaluates the page on show: every panel's queries over the chosen span,
//! into the plain numbers the view draws. Only the visible page is worked
//! out, so a dashboard of many pages costs what its largest page costs.

use crate::core::model::{Event, Sample};
use crate::core::query::{self, Evaluated, Span};
use crate::core::store::Store;
use crate::dashboards::spec::{
    ColumnSpec, LineSpec, PageSpec, PanelKind, PanelSpec, QuerySpec, Sort, promql_key, subst,
};
use crate::tui::scene::{
    ChartLine, ColumnHead, Marker, PageScene, PanelBody, PanelScene, Reading, RowScene, Selection, TableCell, TableRow,
    Unit,
};

/// What the user asked to see; owned by the app, sent to the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewRequest {
    /// Index into the dashboard's pages.
    pub page: usize,
    pub window_ms: i64,
    /// The instant shown; `None` follows the newest data.
    pub at_ms: Option<i64>,
    /// The value of the page's `select` label; the first one when `None`.
    pub choice: Option<String>,
    /// The `/` filter.
    pub filter: crate::core::filter::Filter,
    /// The terminal's width: a PromQL range query asks for about one point
    /// per column.
    pub columns: u16,
}

impl Default for ViewRequest {
    fn default() -> Self {
        ViewRequest {
            page: 0,
            window_ms: 15 * 60_000,
            at_ms: None,
            choice: None,
            filter: Default::default(),
            columns: 160,
        }
    }
}

/// Everything a page is evaluated against.
pub struct Inputs<'a> {
    pub store: &'a Store,
    /// Reads queries for this page, sharing work between its panels.
    pub reader: &'a query::Reader<'a>,
    pub events: &'a [Event],
    /// Why PromQL queries failed, by the store name of their results.
    pub query_errors: &'a std::collections::HashMap<String, String>,
    pub interval_ms: i64,
    pub now_ms: i64,
}

pub fn build(page: &PageSpec, req: &ViewRequest, span: &Span, inp: &Inputs) -> PageScene {
    let select = page.select.as_ref().map(|label| selection(page, label, req, inp.store));
    let vars: Vec<(String, String)> = select.iter().map(|s| (s.label.clone(), s.value.clone())).collect();
    let rows: Vec<RowScene> = page
        .rows
        .iter()
        .map(|row| RowScene {
            height: row.height,
            panels: row.panels.iter().map(|p| panel(p, &vars, req, span, inp)).collect(),
        })
        .collect();
    let fresh_until = rows.iter().flat_map(|r| &r.panels).filter_map(|p| fresh_until(&p.body)).max();
    PageScene { title: page.title.clone(), select, rows, fresh_until }
}

/// Until when the freshest data a panel shows counts as fresh. A fixed
/// text is always fresh, and so is no data: it is left out.
fn fresh_until(body: &PanelBody) -> Option<i64> {
    let data = |until: Option<i64>| until.filter(|&u| u != i64::MAX);
    match body {
        PanelBody::Number { now, .. } | PanelBody::Gauge { now, .. } => data(now.as_ref()?.fresh_until),
        PanelBody::Text { text, .. } => data(text.as_ref()?.fresh_until),
        PanelBody::Chart { lines, .. } => lines.iter().filter_map(|l| data(l.fresh_until)).max(),
        PanelBody::Heatmap(heat) => data(heat.fresh_until),
        PanelBody::Table { rows, .. } => {
            rows.iter().flat_map(|r| &r.cells).filter_map(|c| data(c.now.as_ref()?.fresh_until)).max()
        }
        PanelBody::Alerts { .. } | PanelBody::Slo | PanelBody::Events { .. } => None,
    }
}

/// The PromQL queries the page runs, with the page's choice put in, and
/// the query its choices come from; in order, each once.
pub fn promql_wanted(page: &PageSpec, req: &ViewRequest, store: &Store) -> Vec<crate::sources::prometheus::Want> {
    use crate::sources::prometheus::Want;
    let select = page.select.as_ref().map(|label| selection(page, label, req, store));
    let vars: Vec<(String, String)> = select.iter().map(|s| (s.label.clone(), s.value.clone())).collect();
    let mut out: Vec<Want> = Vec::new();
    // A query that needs the choice waits until there is one. (Other `$`s,
    // such as `label_replace`'s "$1", are PromQL's own.)
    let waiting = page.select.as_ref().filter(|_| vars.iter().all(|(_, v)| v.is_empty())).map(|l| format!("${l}"));
    let mut add = |q: &QuerySpec| {
        if let Some((source, text)) =
            q.promql_with(&vars).filter(|(_, t)| waiting.as_ref().is_none_or(|w| !t.contains(w.as_str())))
        {
            out.push(Want { source, text });
        }
    };
    for p in page.rows.iter().flat_map(|r| &r.panels) {
        p.query.iter().chain(&p.divide_by).for_each(&mut add);
        p.lines.iter().for_each(|l| add(&line_query(p.query.as_ref(), l)));
        for c in &p.columns {
            add(&c.query());
            c.divide_by.iter().for_each(&mut add);
        }
    }
    if let Some(text) = &page.select_query {
        out.push(Want { source: page.select_source.clone().unwrap_or_default(), text: text.clone() });
    }
    out.sort();
    out.dedup();
    out
}

/// The values the page's label takes across every metric its panels read,
/// and the results of its `select_query`. (A PromQL panel that names the
/// choice cannot offer values: its query waits for one.)
fn selection(page: &PageSpec, label: &str, req: &ViewRequest, store: &Store) -> Selection {
    let mut queries: Vec<QuerySpec> = Vec::new();
    for p in page.rows.iter().flat_map(|r| &r.panels) {
        queries.extend(p.query.iter().cloned());
        queries.extend(p.lines.iter().map(|l| line_query(p.query.as_ref(), l)));
        queries.extend(p.columns.iter().map(ColumnSpec::query));
    }
    let choice = format!("${label}");
    let mut names: Vec<String> = queries
        .iter()
        .filter(|q| q.promql.as_ref().is_none_or(|t| !t.contains(&choice)))
        .flat_map(|q| q.reads(&[]))
        .collect();
    if let Some(text) = &page.select_query {
        names.push(promql_key(page.select_source.as_deref().unwrap_or(""), text));
    }
    let mut metrics: Vec<&str> = names.iter().map(String::as_str).filter(|m| !m.is_empty()).collect();
    metrics.sort();
    metrics.dedup();
    let choices = query::label_values(store, &metrics, label);
    let value =
        req.choice.clone().filter(|c| choices.contains(c)).or_else(|| choices.first().cloned()).unwrap_or_default();
    Selection { label: label.to_string(), value, choices }
}

fn panel(p: &PanelSpec, vars: &[(String, String)], req: &ViewRequest, span: &Span, inp: &Inputs) -> PanelScene {
    let body = match p.kind {
        PanelKind::Bignum | PanelKind::Sparkline => {
            let e = value(p.query.as_ref(), p.divide_by.as_ref(), vars, span, inp);
            PanelBody::Number { now: reading(&e, span), trend: e.points.clone(), big: p.kind == PanelKind::Bignum }
        }
        PanelKind::Gauge => {
            let e = value(p.query.as_ref(), p.divide_by.as_ref(), vars, span, inp);
            let max = p.max.unwrap_or(if p.unit == Unit::Ratio { 1.0 } else { 100.0 });
            PanelBody::Gauge { now: reading(&e, span), max }
        }
        PanelKind::Chart => {
            PanelBody::Chart { lines: lines(p, vars, req, span, inp), markers: markers(p, vars, span, inp) }
        }
        PanelKind::Heatmap => match &p.query {
            Some(q) => PanelBody::Heatmap(inp.reader.heat(q, vars, span)),
            None => PanelBody::Heatmap(Default::default()),
        },
        PanelKind::Table => table(p, vars, req, span, inp),
        PanelKind::Alerts => PanelBody::Alerts { limit: p.limit },
        PanelKind::Slo => PanelBody::Slo,
        PanelKind::Events => PanelBody::Events { limit: p.limit },
        PanelKind::Text => PanelBody::Text { text: text(p, vars, span, inp), status: p.text.is_none() },
    };
    PanelScene {
        error: panel_error(p, vars, inp),
        title: subst(&p.title, vars),
        color: p.color.map(|c| c.0),
        width: p.width,
        unit: p.unit.clone(),
        thresholds: p.thresholds,
        body,
    }
}

/// Why one of the panel's PromQL queries failed last time it ran, if one did.
fn panel_error(p: &PanelSpec, vars: &[(String, String)], inp: &Inputs) -> Option<String> {
    if inp.query_errors.is_empty() {
        return None;
    }
    let lines = p.lines.iter().map(|l| line_query(p.query.as_ref(), l));
    let columns = p.columns.iter().flat_map(|c| std::iter::once(c.query()).chain(c.divide_by.clone()));
    p.query
        .iter()
        .chain(&p.divide_by)
        .cloned()
        .chain(lines)
        .chain(columns)
        .filter(|q| q.promql.is_some())
        .find_map(|q| inp.query_errors.get(&q.resolved(vars).metric).cloned())
}

fn value(
    q: Option<&QuerySpec>,
    den: Option<&QuerySpec>,
    vars: &[(String, String)],
    span: &Span,
    inp: &Inputs,
) -> Evaluated {
    let Some(q) = q else { return Evaluated::default() };
    let num = inp.reader.eval(q, vars, span);
    match den {
        Some(d) => query::divide(&num, &inp.reader.eval(d, vars, span)),
        None => num,
    }
}

/// The value at the shown instant: the newest cell with data. A value that
/// stopped well before that instant is still shown (the last thing known),
/// but as never fresh, so the view marks it stale even when its series is
/// alive (an error ratio whose errors stopped, a p99 with no traffic).
fn reading(e: &Evaluated, span: &Span) -> Option<Reading<f64>> {
    let &(t, v) = e.points.last()?;
    let recent = span.to_ms - t <= (3 * span.step_ms).max(span.rate_window_ms());
    Some(Reading { value: v, fresh_until: if recent { e.fresh_until } else { None } })
}

fn lines(p: &PanelSpec, vars: &[(String, String)], req: &ViewRequest, span: &Span, inp: &Inputs) -> Vec<ChartLine> {
    let line =
        |name: String, e: Evaluated| ChartLine { name, color: None, points: e.points, fresh_until: e.fresh_until };
    let mut out = Vec::new();
    if p.lines.is_empty() {
        let Some(q) = &p.query else { return out };
        match &p.by {
            Some(label) => {
                for (v, e) in inp.reader.eval_by(q, label, vars, span) {
                    let labels = e.labels.iter().map(|(a, b)| (a.as_str(), b.as_str()));
                    if req.filter.matches(&v, labels) {
                        out.push(line(v, e));
                    }
                }
            }
            None => {
                let mut one = line(p.title.clone(), value(Some(q), p.divide_by.as_ref(), vars, span, inp));
                one.color = p.color.map(|c| c.0);
                out.push(one);
            }
        }
    } else {
        for l in &p.lines {
            let q = line_query(p.query.as_ref(), l);
            let mut one = line(l.title.clone(), inp.reader.eval(&q, vars, span));
            one.color = l.color.map(|c| c.0);
            out.push(one);
        }
    }
    out
}

/// A chart line's query: its own fields over the panel's.
fn line_query(base: Option<&QuerySpec>, l: &LineSpec) -> QuerySpec {
    let mut q = base.cloned().unwrap_or_default();
    if let Some(m) = &l.metric {
        q.metric = m.clone();
        (q.promql, q.source, q.signal) = (None, None, None);
    }
    if let Some(text) = &l.query {
        q.metric.clear();
        (q.promql, q.source, q.signal) = (Some(text.clone()), l.source.clone(), None);
    }
    if let Some(signal) = l.signal {
        q.metric.clear();
        (q.promql, q.source, q.signal) = (None, None, Some(signal));
    }
    q.labels.extend(l.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    q.agg = l.agg.or(q.agg);
    q.q = l.q.or(q.q);
    q
}

/// Events inside the span, narrowed to the panel's service when it has one.
fn markers(p: &PanelSpec, vars: &[(String, String)], span: &Span, inp: &Inputs) -> Vec<Marker> {
    let service = p.query.as_ref().and_then(|q| q.labels.get("service")).and_then(|m| m.pinned(vars));
    inp.events
        .iter()
        .filter(|e| e.ts > span.from_ms() && e.ts <= span.to_ms)
        .filter(|e| service.is_none_or(|s| e.labels.get("service").is_some_and(|v| v == s)))
        .map(|e| Marker { ts: e.ts, text: crate::wire::sanitize(&e.text) })
        .collect()
}

fn table(p: &PanelSpec, vars: &[(String, String)], req: &ViewRequest, span: &Span, inp: &Inputs) -> PanelBody {
    let by = p.by.clone().unwrap_or_default();
    let mut names: Vec<String> = Vec::new();
    let mut per_column: Vec<Vec<(String, Evaluated)>> = Vec::new();
    let mut passing: Vec<String> = Vec::new();
    for c in &p.columns {
        let num = inp.reader.eval_by(&c.query(), &by, vars, span);
        let col = match &c.divide_by {
            Some(d) => {
                let den = inp.reader.eval_by(d, &by, vars, span);
                num.into_iter()
                    .filter_map(|(v, n)| {
                        let d = den.iter().find(|(dv, _)| *dv == v)?;
                        Some((v, query::divide(&n, &d.1)))
                    })
                    .collect()
            }
            None => num,
        };
        names.extend(col.iter().map(|(v, _)| v.clone()));
        // A row passes the filter when any column's series, by the labels
        // they share, pass it.
        for (v, e) in &col {
            let labels = e.labels.iter().map(|(a, b)| (a.as_str(), b.as_str()));
            if req.filter.matches(v, labels) {
                passing.push(v.clone());
            }
        }
        per_column.push(col);
    }
    names.sort();
    names.dedup();
    names.retain(|n| req.filter.is_empty() || passing.contains(n));
    let mut rows: Vec<TableRow> = names
        .into_iter()
        .map(|name| {
            let cells = per_column
                .iter()
                .map(|col| match col.iter().find(|(v, _)| *v == name) {
                    Some((_, e)) => TableCell { now: reading(e, span), trend: e.points.clone() },
                    None => TableCell::default(),
                })
                .collect();
            TableRow { name, cells }
        })
        .collect();
    // Rows without a value go last whichever way the table is sorted.
    let first = |r: &TableRow| r.cells.first().and_then(|c| c.now.as_ref()).map(|r| r.value).filter(|v| !v.is_nan());
    let by_value = |a: &TableRow, b: &TableRow, desc: bool| match (first(a), first(b)) {
        (Some(x), Some(y)) if desc => y.total_cmp(&x),
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    };
    match p.sort {
        Sort::Name => {}
        Sort::Asc => rows.sort_by(|a, b| by_value(a, b, false)),
        Sort::Desc => rows.sort_by(|a, b| by_value(a, b, true)),
    }
    let columns = p.columns.iter().map(column_head).collect();
    PanelBody::Table { by, columns, rows, limit: p.limit }
}

fn column_head(c: &ColumnSpec) -> ColumnHead {
    let max = c.max.unwrap_or(if c.unit == Unit::Ratio { 1.0 } else { 100.0 });
    ColumnHead { title: c.title.clone(), unit: c.unit.clone(), thresholds: c.thresholds(), show: c.show, max }
}

/// A text panel: its fixed text, or the newest text of its metric.
fn text(p: &PanelSpec, vars: &[(String, String)], span: &Span, inp: &Inputs) -> Option<Reading<String>> {
    if let Some(t) = &p.text {
        return Some(Reading { value: subst(t, vars), fresh_until: Some(i64::MAX) });
    }
    let q = p.query.as_ref()?.resolved(vars);
    let (_, s) = query::select(inp.store, &q, vars).next()?;
    let newest = s.stitched(span.from_ms()).into_iter().rev().find(|(t, _)| *t <= span.to_ms)?;
    match newest.1 {
        Sample::Text(t) => Some(Reading { value: crate::wire::sanitize(t), fresh_until: s.fresh_until_ms }),
        Sample::Number(n) => {
            Some(Reading { value: crate::core::units::format(*n, &p.unit), fresh_until: s.fresh_until_ms })
        }
        Sample::Histogram(_) => None,
    }
}
