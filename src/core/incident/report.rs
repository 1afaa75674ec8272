//! The Markdown incident report for the post-mortem: what vigil knows (when
//! it started, was detected and resolved, which alerts fired, the SLO error
//! budget burned, deploys and link changes around it, the whole timeline)
//! and the blameless sections only people can write, left empty for them.
//!
//! Times are UTC in ISO 8601; every text that came from a gateway or a
//! config is escaped (see `markdown`).

use super::markdown::{escape, labels};
use super::span::{self, Incident};
use super::timeline::{Entry, Timeline, What};
use crate::core::format::age;
use crate::core::slo::SloSpec;
use crate::core::slo::ledger::{BUCKET_MS, Ledger};
use crate::wire::format_time;
use std::fmt::Write;

/// Events this long before the first symptom are listed: deploys and
/// config changes often precede the incident they cause.
pub const LEAD_MS: i64 = 30 * 60_000;

/// What a report is written from.
pub struct Inputs<'a> {
    pub timeline: &'a Timeline,
    /// Each SLO with its ledger.
    pub slos: Vec<(&'a SloSpec, &'a Ledger)>,
    /// The instant on screen, and the window shown up to it.
    pub at_ms: i64,
    pub window_ms: i64,
    pub now_ms: i64,
    /// The gateways watched, for the header.
    pub source: &'a str,
}

/// A report, and the span it covers.
pub struct Report {
    pub markdown: String,
    /// The first symptom (or the start of the window shown, with no incident).
    pub from_ms: i64,
    /// Whether an incident was found; without one the window shown is reported.
    pub incident: bool,
}

/// Writes the report of the incident around `inputs.at_ms`.
pub fn write(inputs: &Inputs) -> Report {
    let incident = span::find(inputs.timeline, inputs.at_ms);
    let (from, to) = match &incident {
        Some(i) => (i.started_ms(), i.resolved_ms().unwrap_or(inputs.now_ms)),
        None => (inputs.at_ms - inputs.window_ms, inputs.at_ms),
    };
    let mut md = String::new();
    match &incident {
        Some(i) => header(&mut md, i, inputs),
        None => {
            let _ = writeln!(md, "# Incident report: {} to {}\n", format_time(from), format_time(to));
            let _ = writeln!(
                md,
                "No alert fired in the {} before {}; this report covers the window that was on screen.\n",
                age(span::LOOK_BACK_MS),
                format_time(inputs.at_ms)
            );
            exported(&mut md, inputs);
        }
    }
    if let Some(i) = &incident {
        alerts(&mut md, i);
    }
    budget(&mut md, inputs, from, to);
    let shown = inputs.timeline.between(from - LEAD_MS, to).collect::<Vec<_>>();
    events(&mut md, &shown, from);
    links(&mut md, &shown);
    table(&mut md, &shown);
    blameless(&mut md);
    Report { markdown: md, from_ms: from, incident: incident.is_some() }
}

fn exported(md: &mut String, inputs: &Inputs) {
    let _ = writeln!(
        md,
        "_Exported by vigil from {} at {}. Times are UTC._\n",
        escape(inputs.source),
        format_time(inputs.now_ms)
    );
}

fn header(md: &mut String, i: &Incident, inputs: &Inputs) {
    let title =
        i.lead().map_or_else(|| "alerts".to_string(), |e| format!("{} ({})", escape(&e.name), labels(&e.labels)));
    let _ = writeln!(md, "# Incident report: {title}\n");
    exported(md, inputs);
    let started = i.started_ms();
    let fired: Vec<_> = i.episodes.iter().filter(|e| e.fired_ms.is_some()).collect();
    let resolved = i.resolved_ms();
    let end = resolved.unwrap_or(inputs.now_ms);
    let _ = writeln!(md, "## Summary\n");
    let state = if resolved.is_some() { "resolved" } else { "ongoing" };
    let _ = writeln!(
        md,
        "{} alert(s) fired, {} in all went pending or firing; the incident is {state}.\n",
        fired.len(),
        i.episodes.len()
    );
    let _ = writeln!(md, "| | |\n|---|---|");
    let first = i.episodes.iter().min_by_key(|e| e.started_ms);
    let who = |e: Option<&span::Episode>| {
        e.map_or(String::new(), |e| format!(" ({}, {})", escape(&e.name), labels(&e.labels)))
    };
    let _ = writeln!(md, "| First symptom | {}{} |", format_time(started), who(first));
    match i.detected_ms() {
        Some(d) => {
            let lead = i.lead();
            let _ = writeln!(md, "| Detection (first firing) | {}{} |", format_time(d), who(lead));
            let _ = writeln!(md, "| Time to detect | {} |", age(d - started));
        }
        None => {
            let _ = writeln!(md, "| Detection (first firing) | none |");
        }
    }
    match resolved {
        Some(r) => {
            let _ = writeln!(md, "| Resolution (last resolved) | {} |", format_time(r));
        }
        None => {
            let _ = writeln!(md, "| Resolution (last resolved) | ongoing at {} |", format_time(inputs.now_ms));
        }
    }
    let so_far = if resolved.is_some() { "" } else { " so far" };
    let _ = writeln!(md, "| Duration | {}{so_far} |\n", age(end - started));
}

fn alerts(md: &mut String, i: &Incident) {
    let _ = writeln!(md, "## Alerts\n");
    let _ = writeln!(
        md,
        "| alert | severity | group | source | first symptom | fired | resolved | peak value | threshold |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    for e in &i.episodes {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            escape(&e.name),
            e.severity.name(),
            labels(&e.labels),
            e.source.label(),
            format_time(e.started_ms),
            e.fired_ms.map_or_else(|| "never".to_string(), format_time),
            e.ended_ms.map_or_else(|| "ongoing".to_string(), format_time),
            e.peak.map_or_else(|| "—".to_string(), number),
            e.threshold.map_or_else(|| "—".to_string(), number),
        );
    }
    md.push('\n');
}

/// The error budget each SLO burned in `[from, to]`: the bad events its
/// ledger counted in the five-minute buckets the span touches, as a share
/// of the budget of its whole window. Where the ledger holds less than the
/// window, the window's traffic is taken to be like the part it holds.
fn budget(md: &mut String, inputs: &Inputs, from: i64, to: i64) {
    let _ = writeln!(md, "## SLO error budget burned\n");
    if inputs.slos.is_empty() {
        let _ = writeln!(md, "No SLOs are configured.\n");
        return;
    }
    let (start, end) = (from.div_euclid(BUCKET_MS) * BUCKET_MS, (to + BUCKET_MS - 1).div_euclid(BUCKET_MS) * BUCKET_MS);
    let _ = writeln!(
        md,
        "Counted from each SLO's ledger over the five-minute buckets from {} to {}.\n",
        format_time(start),
        format_time(end)
    );
    let _ =
        writeln!(md, "| SLO | objective | window | bad events | events | budget burned |\n|---|---|---|---|---|---|");
    for (spec, ledger) in &inputs.slos {
        let window_ms = spec.window.as_millis() as i64;
        let name = escape(&spec.name);
        let head = format!("| {name} | {}% | {} ", spec.objective, crate::core::slo::span_name(window_ms));
        let Some((good, total)) = ledger.counts(start, end) else {
            let _ = writeln!(md, "{head}| — | — | no data in the ledger for this span |");
            continue;
        };
        let bad = (total - good).max(0.0);
        let held = ledger.counts(inputs.now_ms - window_ms, inputs.now_ms).map_or(0.0, |c| c.1);
        let covered = ledger.covered_ms(inputs.now_ms - window_ms, inputs.now_ms);
        let budget = spec.allowed() * held * window_ms as f64 / covered.max(1) as f64;
        let burned = if budget > 0.0 {
            let held_note =
                if covered < window_ms { format!(", {} of the window held", age(covered)) } else { String::new() };
            format!("{:.2}% of the {} budget{held_note}", 100.0 * bad / budget, crate::core::slo::span_name(window_ms))
        } else {
            "no traffic in the window to budget against".to_string()
        };
        let _ = writeln!(md, "{head}| {bad:.0} | {total:.0} | {burned} |");
    }
    md.push('\n');
}

fn events(md: &mut String, shown: &[&Entry], from: i64) {
    let _ = writeln!(md, "## Deploys and other events\n");
    let _ = writeln!(md, "From {} before the first symptom.\n", age(LEAD_MS));
    let mut any = false;
    for e in shown {
        let What::Event { kind, text, labels: l } = &e.what else { continue };
        any = true;
        let before =
            if e.at_ms < from { format!(" ({} before the first symptom)", age(from - e.at_ms)) } else { String::new() };
        let l = if l.is_empty() { String::new() } else { format!(" ({})", labels(l)) };
        let _ = writeln!(md, "- {} **{}** {}{l}{before}", format_time(e.at_ms), escape(kind), escape(text));
    }
    if !any {
        let _ = writeln!(md, "None.");
    }
    md.push('\n');
}

fn links(md: &mut String, shown: &[&Entry]) {
    let _ = writeln!(md, "## Connection\n");
    let mut any = false;
    for e in shown {
        let What::Link { state, url, detail } = &e.what else { continue };
        any = true;
        let detail = if detail.is_empty() { String::new() } else { format!(": {}", escape(detail)) };
        let _ = writeln!(md, "- {} {} {}{detail}", format_time(e.at_ms), state.name(), escape(url));
    }
    if !any {
        let _ = writeln!(md, "No connection changes: the data was continuous.");
    }
    md.push('\n');
}

fn table(md: &mut String, shown: &[&Entry]) {
    let _ = writeln!(md, "## Timeline\n");
    let _ = writeln!(md, "| time (UTC) | what | detail |\n|---|---|---|");
    for e in shown {
        let (what, detail) = match &e.what {
            What::Alert(a) => {
                let replayed = if a.replayed { " (found in history)" } else { "" };
                let value = a.value.map_or_else(String::new, |v| format!(", value {}", number(v)));
                (
                    format!("{} {} {}", a.source.label(), a.step.name(), a.severity.name()),
                    format!("{} ({}){value}: {}{replayed}", escape(&a.name), labels(&a.labels), escape(&a.summary)),
                )
            }
            What::Event { kind, text, labels: l } => {
                (format!("event {}", escape(kind)), format!("{} ({})", escape(text), labels(l)))
            }
            What::Link { state, url, detail } => {
                (format!("link {}", state.name()), format!("{} {}", escape(url), escape(detail)).trim_end().to_string())
            }
        };
        let _ = writeln!(md, "| {} | {what} | {detail} |", format_time(e.at_ms));
    }
    md.push('\n');
}

fn blameless(md: &mut String) {
    md.push_str(
        "## Impact\n\n_Who and what was affected, how badly, for how long._\n\n\
         ## Root cause\n\n_Why it happened: the conditions, not the people._\n\n\
         ## Trigger\n\n_What set it off._\n\n\
         ## Resolution\n\n_What ended it, and how it was found._\n\n\
         ## Action items\n\n\
         | action | owner | due |\n|---|---|---|\n| | | |\n\n\
         ## Lessons learned\n\n_What went well, what went badly, where we were lucky._\n",
    );
}

/// A value with four significant figures at most, as a report reads it.
fn number(v: f64) -> String {
    if let Some(name) = crate::wire::special_name(v) {
        return name.to_string();
    }
    if v == 0.0 || v.abs() >= 1000.0 {
        return format!("{v:.0}");
    }
    let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 8) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_four_figures() {
        assert_eq!(number(0.051234), "0.05123");
        assert_eq!(number(0.01), "0.01");
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(123456.7), "123457");
        assert_eq!(number(f64::NAN), "NaN");
    }
}
