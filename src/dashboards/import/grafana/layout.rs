//! Where Grafana's panels go: which page (a Grafana row is a page of its
//! own), which vigil row (panels sharing a `y`), and how wide.

use super::model::{OldRow, Panel};
use super::text::clean_line;
use super::{Made, is_word};
use crate::dashboards::PageSpec;
use std::collections::{BTreeMap, BTreeSet};

/// Pixels in one unit of the grid: 30 for the cell, 8 for the gap below
/// it; the old layout gave row heights in pixels.
const PX_PER_UNIT: f64 = 38.0;

/// A page to be: a title and rows of Grafana panels with their widths.
pub(super) struct Section<'a> {
    pub title: String,
    pub rows: Vec<SourceRow<'a>>,
    /// The variable a Grafana row repeats for.
    pub repeat: Option<String>,
}

pub(super) struct SourceRow<'a> {
    /// Grid units (or old-layout pixels already turned into units).
    pub height: f64,
    /// Panels left to right, each with its width in grid columns.
    pub panels: Vec<(&'a Panel, u64)>,
}

/// A repeat that names a variable.
pub(super) fn repeat_of(r: &Option<String>) -> Option<String> {
    r.as_deref().filter(|r| is_word(r)).map(str::to_string)
}

/// The new layout: `row` panels start sections; the rest are grouped by `y`.
pub(super) fn grid_sections<'a>(title: &str, list: &'a [Panel]) -> Vec<Section<'a>> {
    let mut sorted: Vec<(usize, &Panel)> = list.iter().enumerate().collect();
    sorted.sort_by_key(|(i, p)| position(p, *i));
    let mut sections = vec![(title.to_string(), None, Vec::new())];
    for (_, p) in sorted {
        if p.kind.as_deref() == Some("row") {
            let row_title = p.title.as_deref().map(clean_line).unwrap_or_default();
            // A collapsed row keeps its panels inside it.
            sections.push((row_title, repeat_of(&p.repeat), p.panels.iter().collect()));
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
fn position(p: &Panel, index: usize) -> (i64, i64) {
    match &p.grid_pos {
        Some(g) => (g.y.unwrap_or(0), g.x.unwrap_or(0)),
        None => (1_000_000 + index as i64, 0),
    }
}

fn group_by_y(panels: Vec<&Panel>) -> Vec<SourceRow<'_>> {
    let mut rows: BTreeMap<i64, Vec<(i64, &Panel)>> = BTreeMap::new();
    for (i, p) in panels.into_iter().enumerate() {
        let (y, x) = position(p, i);
        rows.entry(y).or_default().push((x, p));
    }
    rows.into_values()
        .map(|mut row| {
            row.sort_by_key(|(x, _)| *x);
            let height = row.iter().map(|(_, p)| p.grid_pos.and_then(|g| g.h).unwrap_or(8)).max().unwrap_or(8) as f64;
            let width = |p: &Panel| p.grid_pos.and_then(|g| g.w).unwrap_or(12).clamp(1, 24) as u64;
            let panels = row.into_iter().map(|(_, p)| (p, width(p))).collect();
            SourceRow { height, panels }
        })
        .collect()
}

/// The old layout: `rows[]` of panels with a `span` out of 12.
pub(super) fn old_sections<'a>(title: &str, rows: &'a [OldRow]) -> Vec<Section<'a>> {
    let mut main = Section { title: title.to_string(), rows: Vec::new(), repeat: None };
    let mut own = Vec::new();
    for (n, r) in rows.iter().enumerate() {
        // The old layout's default row height.
        let height = r.height.unwrap_or(250.0) / PX_PER_UNIT;
        // Panels past the row's 12 columns wrap onto a line of their own.
        let mut lines: Vec<SourceRow> = Vec::new();
        let mut used = 0;
        for p in r.panels.iter() {
            let span = p.span.unwrap_or(12.0).clamp(1.0, 12.0) as u64;
            match lines.last_mut() {
                Some(line) if used + span <= 12 => line.panels.push((p, span)),
                _ => {
                    lines.push(SourceRow { height, panels: vec![(p, span)] });
                    used = 0;
                }
            }
            used += span;
        }
        let repeat = repeat_of(&r.repeat);
        if r.collapse == Some(true) {
            let t = r.title.as_deref().map(clean_line).filter(|s| !s.is_empty());
            own.push(Section { title: t.unwrap_or_else(|| format!("Row {}", n + 1)), rows: lines, repeat });
        } else {
            main.repeat = main.repeat.or(repeat);
            main.rows.extend(lines);
        }
    }
    std::iter::once(main).chain(own).collect()
}

/// Two pages may not share a key (their lower-cased title).
pub(super) fn dedupe_keys(pages: &mut [PageSpec]) {
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

/// Makes the widths of a row's panels the smallest whole shares.
pub(super) fn reduce_widths(panels: &mut [Made]) {
    let g = panels.iter().fold(0u16, |g, m| gcd(g, m.spec.width.max(1)));
    for m in panels {
        m.spec.width = m.spec.width.max(1) / g.max(1);
    }
}

fn gcd(a: u16, b: u16) -> u16 {
    if b == 0 { a } else { gcd(b, a % b) }
}
