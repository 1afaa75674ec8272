//! The detail of the alert selected on the Alerts page: its value over the
//! page's window, measured the way its rule, SLO or gateway measures it,
//! and what is known of its history. Worked out here, where the store and
//! the rules are, so the view only draws it.

use super::Pipeline;
use crate::core::alert::rules::{Op, RuleSpec};
use crate::core::model::{Alert, AlertState, Origin, OriginKind};
use crate::core::query::matcher::Matcher;
use crate::core::query::{Reader, Span};
use crate::core::slo::{self, SloSpec};
use crate::dashboards::spec::QuerySpec;
use crate::tui::scene::{AlertDetail, HistoryStep, Point, Unit};
use std::sync::Arc;

/// A history step whose state the alert book does not know.
const STARTED: &str = "started";

impl Pipeline {
    /// Opens the detail of the alert with this id, or closes it (`None`).
    pub fn set_detail(&mut self, id: Option<String>) {
        self.detail = id;
    }

    /// The detail of the alert asked for, over the page's `span` up to the
    /// instant shown; `None` when none is asked for or it left the book.
    pub(super) fn alert_detail(&self, span: &Span, asked_ms: i64) -> Option<Arc<AlertDetail>> {
        let alert = self.core.alerts.get(self.detail.as_deref()?)?.clone();
        let instants = instants(span, asked_ms);
        let measured = if let Some(rule) = self.rule_of(&alert) {
            self.rule_series(rule, &alert, &instants)
        } else if let Some((spec, ledger, burn)) = self.burn_of(&alert) {
            self.burn_series(spec, ledger, burn, &instants)
        } else {
            self.gateway_series(&alert, span, asked_ms)
        };
        let no_series = measured.series.is_empty().then(|| match alert.origin.kind() {
            OriginKind::Gateway | OriginKind::Alertmanager => "no series for this alert".to_string(),
            OriginKind::Rule | OriginKind::Slo => "no data for this alert in the window".to_string(),
        });
        Some(Arc::new(AlertDetail {
            history: self.history_of(&alert),
            measure: measured.what,
            unit: measured.unit,
            series: measured.series,
            no_series,
            op: measured.op,
            alert,
        }))
    }

    /// The rule whose alert this is, while the rules still hold it.
    fn rule_of(&self, alert: &Alert) -> Option<&RuleSpec> {
        let Origin::Rule { rule, .. } = &alert.origin else { return None };
        self.core.rules.rules().iter().find(|r| r.name == *rule)
    }

    /// The rule's value at each instant, read as the rule reads it when it
    /// is evaluated then: the same numbers its verdicts were taken on.
    fn rule_series(&self, rule: &RuleSpec, alert: &Alert, instants: &[i64]) -> Measured {
        let group = rule.by.as_ref().map_or("", |l| alert.labels.get(l).map_or("", String::as_str));
        let series = instants
            .iter()
            .filter_map(|&t| {
                let reader = Reader::new(&self.core.store);
                let v = rule.values_at(&reader, t).remove(group).flatten()?;
                Some((t, v))
            })
            .collect();
        Measured { what: describe_rule(rule, group), unit: rule.unit.clone(), series, op: rule.op }
    }

    /// The SLO and the burn alert of an SLO's alert, with the SLO's ledger.
    fn burn_of(&self, alert: &Alert) -> Option<(&SloSpec, &slo::ledger::Ledger, &'static slo::BurnAlert)> {
        let Origin::Slo { slo: name, burn } = &alert.origin else { return None };
        let book = &self.core.slos;
        let (i, spec) = book.specs().iter().enumerate().find(|(_, s)| s.name == *name)?;
        let burn = slo::BURN_ALERTS.iter().find(|b| b.name == burn)?;
        Some((spec, book.ledgers().get(i)?, burn))
    }

    /// The burn rate over the alert's long window at each instant: the
    /// number the alert's value and verdict come from.
    fn burn_series(
        &self,
        spec: &SloSpec,
        ledger: &slo::ledger::Ledger,
        burn: &slo::BurnAlert,
        instants: &[i64],
    ) -> Measured {
        let series = instants
            .iter()
            .filter_map(|&t| Some((t, slo::burn_rate(spec, ledger, &Reader::new(&self.core.store), burn.long_ms, t)?)))
            .collect();
        let what =
            format!("{} burn rate over {} (1x spends the budget in {})", spec.name, slo::span_name(burn.long_ms), {
                slo::span_name(spec.window.as_millis() as i64)
            });
        Measured { what, unit: Unit::Count, series, op: Op::Above }
    }

    /// A gateway's alert names a metric and labels: its series in the
    /// store, if there is one, read as a panel would read it.
    fn gateway_series(&self, alert: &Alert, span: &Span, asked_ms: i64) -> Measured {
        let labels = alert.labels.iter().map(|(k, v)| (k.clone(), Matcher::Equal(v.clone()))).collect();
        let q = QuerySpec { metric: alert.metric.clone(), labels, ..Default::default() };
        let e = Reader::new(&self.core.store).eval(&q, &[], span);
        let series = e.points.into_iter().filter(|p| p.0 <= asked_ms).collect();
        // A gateway says nothing of its comparison; alerts are raised on
        // values that grew too high far more often than on ones that fell.
        Measured { what: format!("{}{}", alert.metric, matchers(&q)), unit: Unit::Count, series, op: Op::Above }
    }
}

/// A series and what it is.
struct Measured {
    what: String,
    unit: Unit,
    series: Vec<Point>,
    op: Op,
}

/// The grid's instants up to the one shown, and that one: the detail's
/// newest point is the value now, as the alert has it.
fn instants(span: &Span, asked_ms: i64) -> Vec<i64> {
    let mut v: Vec<i64> = (0..span.cells()).map(|i| span.time(i)).filter(|&t| t < asked_ms).collect();
    v.push(asked_ms);
    v
}

/// `error rate: errors / http_requests_total · service=payments · over 5m`
fn describe_rule(rule: &RuleSpec, group: &str) -> String {
    let num = rule.query();
    let mut text = format!("{}: {}", rule.name, query_text(&num));
    if let Some(den) = &rule.divide_by {
        text.push_str(&format!(" / {}", query_text(den)));
    }
    if let Some(label) = &rule.by {
        text.push_str(&format!(" · {label}={group}"));
    }
    text.push_str(&format!(" · over {}", slo::span_name(rule.over.as_millis() as i64)));
    if let Some(d) = rule.delta {
        text.push_str(&format!(" · vs its mean over {} before", slo::span_name(d.as_millis() as i64)));
    }
    text
}

fn query_text(q: &QuerySpec) -> String {
    let how = match (q.q, q.agg) {
        (Some(q), _) => format!("p{} of ", q * 100.0),
        (None, Some(agg)) => format!("{agg:?} of ").to_lowercase(),
        (None, None) => String::new(),
    };
    let what = q.signal.map_or(q.metric.as_str(), |s| s.name());
    format!("{how}{what}{}", matchers(q))
}

/// `{service="api",status=~"5.."}`, or nothing without labels.
fn matchers(q: &QuerySpec) -> String {
    if q.labels.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = q
        .labels
        .iter()
        .map(|(k, m)| match m {
            Matcher::Equal(v) => format!("{k}={v:?}"),
            other => {
                let text = other.to_string();
                let (op, value) = text.split_at(2.min(text.len()));
                format!("{k}{op}{value:?}")
            }
        })
        .collect();
    format!("{{{}}}", parts.join(","))
}

impl Pipeline {
    /// The alert's changes as the incident timeline recorded them, newest
    /// last (the last few, which is what the pane has room for); what the
    /// book knows when the timeline holds nothing of it.
    fn history_of(&self, a: &Alert) -> Vec<HistoryStep> {
        const SHOWN: usize = 12;
        let mut steps: Vec<HistoryStep> = self
            .timeline()
            .of_alert(&a.id)
            .map(|(at, c)| HistoryStep { at_ms: at, state: c.step.name().to_string() })
            .collect();
        if steps.is_empty() {
            return history(a);
        }
        steps.drain(..steps.len().saturating_sub(SHOWN));
        steps
    }
}

/// What the alert book knows of the alert's life: when it started and,
/// once over, when it ended.
fn history(a: &Alert) -> Vec<HistoryStep> {
    let mut steps = Vec::new();
    if let Some(at) = a.starts_at {
        // Only firing alerts resolve, so a resolved one fired from its
        // start; one without data kept the start of a pending or a firing
        // spell, and the book does not say which.
        let state = match a.state {
            AlertState::Resolved => AlertState::Firing.name(),
            AlertState::NoData => STARTED,
            s => s.name(),
        };
        steps.push(HistoryStep { at_ms: at, state: state.to_string() });
    }
    if let Some(at) = a.ends_at {
        steps.push(HistoryStep { at_ms: at, state: AlertState::Resolved.name().to_string() });
    }
    steps
}
