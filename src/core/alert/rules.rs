//! Alert rules the dashboard evaluates itself, over its own store: what to
//! measure (a metric narrowed by labels, aggregated over a window, perhaps
//! divided by a second query), how to compare it, and for how long. The
//! same query language as dashboard panels, so a rule and the panel that
//! shows its signal agree.

use super::engine::{self, Change, Phase, Timing};
use crate::core::format::duration;
use crate::core::model::Severity;
use crate::core::query::matcher::Matcher;
use crate::core::query::spec::{Agg, QuerySpec, Signal, quantile};
use crate::core::query::{self, Evaluated, Reader, Span};
use crate::core::units::{self, Unit};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// One `[[alert]]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    /// The metric measured; empty when the rule names a `signal` instead.
    #[serde(default)]
    pub metric: String,
    /// A golden signal measured instead of a metric, read from whichever
    /// of its usual forms each group has (`errors`).
    #[serde(default)]
    pub signal: Option<Signal>,
    #[serde(default)]
    pub labels: BTreeMap<String, Matcher>,
    /// As for panels: `rate` for counters and `quantile` for histograms
    /// when left out.
    #[serde(default)]
    pub agg: Option<Agg>,
    #[serde(default, deserialize_with = "quantile")]
    pub q: Option<f64>,
    /// The denominator of a ratio (errors over requests).
    #[serde(default)]
    pub divide_by: Option<QuerySpec>,
    /// One alert per value of this label; without it, one for the rule.
    #[serde(default)]
    pub by: Option<String>,
    pub op: Op,
    pub threshold: f64,
    #[serde(default, rename = "for", deserialize_with = "duration")]
    pub hold: Duration,
    #[serde(default, deserialize_with = "duration")]
    pub keep_firing_for: Duration,
    /// The window rates and quantiles are taken over.
    #[serde(default = "five_minutes", deserialize_with = "duration")]
    pub over: Duration,
    /// Compare the value with its own mean over this long before `over`:
    /// the rule then sees the relative change (0.5 is 50% above the
    /// baseline, -0.5 half of it), for "traffic far from normal" rules.
    #[serde(default, deserialize_with = "some_duration")]
    pub delta: Option<Duration>,
    /// With `delta`: a baseline under this gives no verdict, so a service
    /// that sees a request a minute does not swing by hundreds of percent.
    #[serde(default)]
    pub min_baseline: Option<f64>,
    #[serde(default)]
    pub severity: Level,
    /// `{value}`, `{threshold}`, `{name}` and `{label}` for the `by` label
    /// are filled in.
    #[serde(default)]
    pub summary: Option<String>,
    /// How `{value}` and `{threshold}` are written (`s`, `percent`, ...).
    #[serde(default)]
    pub unit: Unit,
}

impl RuleSpec {
    /// What serde cannot see: values that parse but make no sense together.
    pub fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("name is empty".into());
        }
        match (self.metric.is_empty(), self.signal) {
            (true, None) => return Err("needs `metric` or `signal`, what it measures".into()),
            (false, Some(_)) => return Err("give `metric` or `signal`, not both".into()),
            _ => {}
        }
        if !self.threshold.is_finite() {
            return Err("threshold must be a finite number".into());
        }
        if self.over < Duration::from_secs(1) {
            return Err("over must be at least 1s".into());
        }
        // Past a day nothing is held to measure or wait on.
        let day = Duration::from_secs(86_400);
        for (key, d) in [("for", self.hold), ("keep_firing_for", self.keep_firing_for), ("over", self.over)] {
            if d > day {
                return Err(format!("{key} must be at most 24h, what the store keeps"));
            }
        }
        if self.delta.is_some_and(|d| d > day) {
            return Err("delta must be at most 24h, what the store keeps".into());
        }
        if let Some(d) = self.delta
            && d < self.over
        {
            return Err("delta must be at least as long as over: the baseline is the mean of several windows".into());
        }
        if self.op == Op::Outside && self.threshold < 0.0 {
            return Err("op \"outside\" takes a threshold of zero or more (a distance either way)".into());
        }
        Ok(())
    }

    /// The rule's query, without its denominator.
    pub fn query(&self) -> QuerySpec {
        QuerySpec {
            metric: self.metric.clone(),
            labels: self.labels.clone(),
            agg: self.agg,
            q: self.q,
            signal: self.signal,
            ..Default::default()
        }
    }

    /// What the rule measures, in a word: its metric, or its signal's name.
    pub fn measured(&self) -> &str {
        match self.signal {
            Some(s) => s.name(),
            None => &self.metric,
        }
    }

    /// What the rule measures at `now`, per group ("" without `by`): the
    /// numbers its verdicts are taken on. `None` for a group whose query
    /// has no value at that instant.
    pub fn values_at(&self, reader: &Reader, now: i64) -> BTreeMap<String, Option<f64>> {
        let over = (self.over.as_millis() as i64).max(2);
        // Two cells of half the window: the rate or quantile at the last
        // one is taken over the whole window.
        let span = Span { to_ms: now, window_ms: over, step_ms: over / 2 };
        let mut values: BTreeMap<String, Option<f64>> = measure(reader, self, &span)
            .into_iter()
            .map(|(g, e)| (g, e.points.last().filter(|p| p.0 == span.to_ms).map(|p| p.1)))
            .collect();
        if let Some(delta) = self.delta {
            against_baseline(&mut values, reader, self, &span, delta.as_millis() as i64);
        }
        values
    }

    /// The summary of one group at one value, from the rule's template or
    /// a plain default ("error rate 2.5% > 1.0%").
    pub fn summary_for(&self, group: Option<&(String, String)>, value: Option<f64>) -> String {
        let value = value.map_or_else(|| "no data".to_string(), |v| units::format(v, &self.unit));
        let threshold = units::format(self.threshold, &self.unit);
        let template = match &self.summary {
            Some(t) => t.clone(),
            None => {
                let who = group.map_or(String::new(), |(label, _)| format!(" {{{label}}}"));
                let vs = if self.delta.is_some() { " vs baseline" } else { "" };
                format!("{{name}}{who} {{value}}{vs} {} {{threshold}}", self.op.symbol())
            }
        };
        let mut text =
            template.replace("{name}", &self.name).replace("{value}", &value).replace("{threshold}", &threshold);
        if let Some((label, v)) = group {
            text = text.replace(&format!("{{{label}}}"), v);
        }
        text
    }

    /// The summary of a group that resolved at `value`: said as over, not
    /// in the firing words (which, with the value that ended it, would read
    /// "0.9% above 1%").
    pub fn resolved_summary(&self, group: Option<&(String, String)>, value: Option<f64>) -> String {
        let who = group.map_or(String::new(), |(_, v)| format!(" {v}"));
        let threshold = units::format(self.threshold, &self.unit);
        let vs = if self.delta.is_some() { " vs baseline" } else { "" };
        match value {
            Some(v) => format!(
                "{}{who} resolved: {}{vs}, no longer {} {threshold}",
                self.name,
                units::format(v, &self.unit),
                self.op.symbol()
            ),
            None => format!("{}{who} resolved", self.name),
        }
    }
}

/// How the value is compared with the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Op {
    #[serde(rename = ">")]
    Above,
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = "<")]
    Below,
    #[serde(rename = "<=")]
    AtMost,
    /// Further from zero than the threshold either way: with `delta`, "50%
    /// above or below the baseline".
    #[serde(rename = "outside")]
    Outside,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Above => ">",
            Op::AtLeast => ">=",
            Op::Below => "<",
            Op::AtMost => "<=",
            Op::Outside => "beyond ±",
        }
    }

    pub fn holds(self, v: f64, threshold: f64) -> bool {
        match self {
            Op::Above => v > threshold,
            Op::AtLeast => v >= threshold,
            Op::Below => v < threshold,
            Op::AtMost => v <= threshold,
            Op::Outside => v.abs() > threshold,
        }
    }
}

/// A rule's severity, as written in config (no other words accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Critical,
    #[default]
    Warning,
    Info,
}

impl From<Level> for Severity {
    fn from(l: Level) -> Severity {
        match l {
            Level::Critical => Severity::Critical,
            Level::Warning => Severity::Warning,
            Level::Info => Severity::Info,
        }
    }
}

fn five_minutes() -> Duration {
    Duration::from_secs(300)
}

fn some_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration(d).map(Some)
}

/// Where one group of one rule stands after an evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The rule's position in the set.
    pub index: usize,
    pub rule: String,
    /// The `by` label and its value, when the rule has one.
    pub group: Option<(String, String)>,
    pub phase: Phase,
    /// The value measured now; `None` with no data.
    pub value: Option<f64>,
    /// What this evaluation changed, if anything.
    pub change: Option<Change>,
    /// The condition already held at the group's first verdict: the alert
    /// began then or before, as far as the history held can tell.
    pub open: bool,
}

/// Rules and where each of their groups stands.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<RuleSpec>,
    /// By rule position and group value ("" without `by`).
    phases: HashMap<(usize, String), Phase>,
    /// Groups that have had a verdict: a breach at a group's first one may
    /// have begun before anything this set was shown.
    judged: std::collections::HashSet<(usize, String)>,
    /// Groups whose breach under way was already there at their first
    /// verdict (see [`Outcome::open`]).
    open: std::collections::HashSet<(usize, String)>,
}

impl RuleSet {
    pub fn new(rules: Vec<RuleSpec>) -> Self {
        RuleSet { rules, ..RuleSet::default() }
    }

    /// Whether some group's breach under way began before its first verdict.
    pub fn any_open(&self) -> bool {
        !self.open.is_empty()
    }

    pub fn rules(&self) -> &[RuleSpec] {
        &self.rules
    }

    /// Evaluates every rule at `now` over `store`. Returns every group that
    /// is pending, firing or without data, and those that just resolved or
    /// dropped.
    pub fn evaluate(&mut self, store: &crate::core::store::Store, now: i64) -> Vec<Outcome> {
        self.evaluate_where(store, now, |_| true)
    }

    /// [`RuleSet::evaluate`] for the rules `due` picks; the others are left
    /// where they stand.
    fn evaluate_where(
        &mut self,
        store: &crate::core::store::Store,
        now: i64,
        due: impl Fn(&RuleSpec) -> bool,
    ) -> Vec<Outcome> {
        let reader = Reader::new(store);
        let mut out = Vec::new();
        for (i, rule) in self.rules.iter().enumerate().filter(|(_, r)| due(r)) {
            let mut values = rule.values_at(&reader, now);
            // A group heard of before and gone now has no data.
            for (_, g) in self.phases.keys().filter(|(r, _)| *r == i) {
                values.entry(g.clone()).or_insert(None);
            }
            let timing = Timing {
                for_ms: rule.hold.as_millis() as i64,
                keep_firing_for_ms: rule.keep_firing_for.as_millis() as i64,
            };
            for (group, value) in values {
                let verdict = value.map(|v| v.is_finite() && rule.op.holds(v, rule.threshold));
                let key = (i, group);
                let before = self.phases.get(&key).copied().unwrap_or(Phase::Inactive);
                let (phase, change) = engine::step(before, verdict, now, timing);
                // A breach that starts now began here, unless this is the
                // first the group is seen at all: then it may be older.
                let begins = matches!(change, Some(Change::Pending) | Some(Change::Firing))
                    && !matches!(before, Phase::Pending { .. } | Phase::Firing { .. });
                let open = if begins { !self.judged.contains(&key) } else { self.open.contains(&key) };
                if verdict.is_some() {
                    self.judged.insert(key.clone());
                }
                // A resolved alert is told once; after that the group is
                // inactive again (and silence no longer concerns it).
                if matches!(phase, Phase::Inactive | Phase::Resolved { .. }) {
                    self.phases.remove(&key);
                    self.open.remove(&key);
                } else {
                    self.phases.insert(key.clone(), phase);
                    if open {
                        self.open.insert(key.clone());
                    } else {
                        self.open.remove(&key);
                    }
                }
                if phase != Phase::Inactive || change.is_some() {
                    let group = rule.by.clone().map(|label| (label, key.1));
                    out.push(Outcome { index: i, rule: rule.name.clone(), group, phase, value, change, open });
                }
            }
        }
        out
    }
}

/// Spacing of a replay over history: coarse enough to stay cheap (a tenth
/// of the evaluations of a live second-by-second run), and a divisor of
/// every whole-minute `for`, so an alert fires exactly `for` after it went
/// pending.
pub const REPLAY_STEP_MS: i64 = 10_000;

impl RuleSet {
    /// Plays the rules over history the store holds from `from_ms`:
    /// evaluates them every `step_ms` up to `to_ms` (included; the instants
    /// before it sit on whole steps), so that after a backfill each group
    /// stands where it would have had vigil been watching all along. An
    /// evaluation reads nothing newer than its instant, so data that came in
    /// after it does not leak into the past. A rule joins once its whole
    /// window lies within the history: over a few seconds of data a ratio
    /// or quantile would swing and raise alerts a full window would not.
    /// Returns every change with the instant it happened, oldest first.
    pub fn replay(
        &mut self,
        store: &crate::core::store::Store,
        from_ms: i64,
        to_ms: i64,
        step_ms: i64,
    ) -> Vec<(i64, Outcome)> {
        let step = step_ms.max(1);
        let mut changes = Vec::new();
        let mut t = from_ms;
        while t <= to_ms {
            let covered = |r: &RuleSpec| t - r.over.as_millis() as i64 >= from_ms;
            let outcomes = self.evaluate_where(store, t, covered);
            changes.extend(outcomes.into_iter().filter(|o| o.change.is_some()).map(|o| (t, o)));
            // Whole multiples of the step after the first: a rule's `for`
            // (whole minutes) is then met exactly on a step.
            let next = (t.div_euclid(step) + 1) * step;
            t = if t < to_ms && next > to_ms { to_ms } else { next };
        }
        changes
    }

    /// How far back a replay must reach for every rule's state to be what
    /// it would be had vigil been running: a `for` to go pending and fire,
    /// `keep_firing_for` to hold, and the window the first verdict reads.
    pub fn reach_ms(&self) -> i64 {
        // A baseline rule also needs half its baseline, before its window.
        let reach = |r: &RuleSpec| {
            let baseline = r.delta.map_or(Duration::ZERO, |d| d / 2 + r.over);
            (r.hold + r.keep_firing_for + r.over + baseline).as_millis() as i64
        };
        self.rules.iter().map(reach).max().unwrap_or(0)
    }
}

/// Turns each value into its relative change against the group's mean over
/// `delta_ms` before the current window. A baseline that covers less than
/// half its window (just after start) or is zero gives no verdict yet.
fn against_baseline(
    values: &mut BTreeMap<String, Option<f64>>,
    reader: &Reader,
    rule: &RuleSpec,
    now: &Span,
    delta_ms: i64,
) {
    let span = Span { to_ms: now.to_ms - now.window_ms, window_ms: delta_ms.max(now.step_ms), step_ms: now.step_ms };
    let need = span.cells().div_ceil(2);
    let baselines: HashMap<String, f64> = measure(reader, rule, &span)
        .into_iter()
        .filter(|(_, e)| e.points.len() >= need)
        .map(|(g, e)| (g, e.points.iter().map(|p| p.1).sum::<f64>() / e.points.len() as f64))
        .collect();
    for (group, value) in values.iter_mut() {
        *value = match (*value, baselines.get(group)) {
            (Some(v), Some(&base)) if base.abs() > rule.min_baseline.unwrap_or(0.0).max(f64::EPSILON) => {
                Some(v / base - 1.0)
            }
            _ => None,
        };
    }
}

/// The rule's query on `span`, per group.
fn measure(reader: &Reader, rule: &RuleSpec, span: &Span) -> Vec<(String, Evaluated)> {
    let q = rule.query();
    let eval = |q: &QuerySpec| match &rule.by {
        Some(label) => reader.eval_by(q, label, &[], span),
        None => vec![(String::new(), reader.eval(q, &[], span))],
    };
    let num = eval(&q);
    let Some(den) = &rule.divide_by else { return num };
    let den: HashMap<String, Evaluated> = eval(den).into_iter().collect();
    num.into_iter()
        .map(|(g, n)| {
            let ratio = den.get(&g).map(|d| query::divide(&n, d)).unwrap_or_default();
            (g, ratio)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{Kind, MetricMeta, Observation, Sample, SeriesKey};
    use crate::core::store::Store;

    fn store() -> Store {
        let mut s = Store::default();
        s.learn(&[
            MetricMeta { name: "requests".into(), kind: Kind::Counter, unit: String::new(), help: String::new() },
            MetricMeta { name: "errors".into(), kind: Kind::Counter, unit: String::new(), help: String::new() },
        ]);
        s
    }

    fn put(s: &mut Store, metric: &str, service: &str, t: i64, v: f64) {
        let key = SeriesKey::new(metric).with("service", service);
        s.insert(
            &Observation { key, ts: t, sample: Sample::Number(v) },
            Some(crate::core::store::Live::at(t, 1000, 0, crate::core::model::SourceId::GATEWAY)),
        );
    }

    fn rule(toml_text: &str) -> RuleSpec {
        toml::from_str(toml_text).unwrap()
    }

    const ERROR_RATE: &str = r#"
        name = "error rate"
        metric = "errors"
        divide_by = { metric = "requests" }
        by = "service"
        op = ">"
        threshold = 0.01
        for = "2m"
        over = "1m"
        severity = "critical"
    "#;

    #[test]
    fn an_error_ratio_fires_after_for_and_resolves_per_service() {
        let mut rules = RuleSet::new(vec![rule(ERROR_RATE)]);
        let mut s = store();
        let (mut req, mut err) = (0.0, 0.0);
        let mut changes = Vec::new();
        // 100 requests a second; from 5 min to 10 min, 5 of them fail on
        // "api"; "web" never fails.
        for sec in 0..900i64 {
            let t = sec * 1000;
            req += 100.0;
            if (300..600).contains(&sec) {
                err += 5.0;
            }
            put(&mut s, "requests", "api", t, req);
            put(&mut s, "errors", "api", t, err);
            put(&mut s, "requests", "web", t, req);
            put(&mut s, "errors", "web", t, 0.0);
            for o in rules.evaluate(&s, t) {
                if let Some(c) = o.change {
                    changes.push((sec, o.group.unwrap().1, c));
                }
            }
        }
        // The ratio over the last minute is 5 x (seconds of errors in it) /
        // 6000: past 1% once the window holds 13 s of errors (312 s), firing
        // 2 min later, and back under once it holds 12 s or fewer (the
        // last errors were at 599 s, so at 647 s).
        assert_eq!(
            changes,
            [
                (312, "api".to_string(), Change::Pending),
                (432, "api".to_string(), Change::Firing),
                (647, "api".to_string(), Change::Resolved),
            ]
        );
    }

    /// The store of the error-ratio test above, filled to 900 s at once.
    fn burst_history() -> Store {
        let mut s = store();
        let (mut req, mut err) = (0.0, 0.0);
        for sec in 0..900i64 {
            req += 100.0;
            if (300..600).contains(&sec) {
                err += 5.0;
            }
            put(&mut s, "requests", "api", sec * 1000, req);
            put(&mut s, "errors", "api", sec * 1000, err);
            put(&mut s, "requests", "web", sec * 1000, req);
            put(&mut s, "errors", "web", sec * 1000, 0.0);
        }
        s
    }

    fn when(changes: &[(i64, Outcome)]) -> Vec<(i64, String, Change)> {
        changes.iter().map(|(t, o)| (t / 1000, o.group.clone().unwrap().1, o.change.unwrap())).collect()
    }

    #[test]
    fn a_replay_over_held_history_gives_the_changes_of_a_live_run() {
        // Played a second at a time over a store that already holds all 900
        // s, the rules see what they saw live: nothing from later leaks in.
        let mut rules = RuleSet::new(vec![rule(ERROR_RATE)]);
        let changes = rules.replay(&burst_history(), 0, 899_000, 1000);
        assert_eq!(
            when(&changes),
            [
                (312, "api".to_string(), Change::Pending),
                (432, "api".to_string(), Change::Firing),
                (647, "api".to_string(), Change::Resolved),
            ]
        );
    }

    #[test]
    fn a_coarse_replay_lands_on_whole_steps_and_fires_exactly_at_for() {
        let mut rules = RuleSet::new(vec![rule(ERROR_RATE)]);
        // From an instant off the grid: the first evaluation is there, the
        // rest on multiples of 10 s, the last at the end asked for.
        let store = burst_history();
        let changes = rules.replay(&store, 1_500, 500_000, 10_000);
        assert_eq!(
            when(&changes),
            [(320, "api".to_string(), Change::Pending), (440, "api".to_string(), Change::Firing)]
        );
        // Where the replay left the group is where live evaluation goes on.
        let now = rules.evaluate(&store, 501_000);
        let api = now.iter().find(|o| o.group.as_ref().is_some_and(|g| g.1 == "api")).unwrap();
        assert_eq!((api.phase, api.change), (Phase::Firing { since: 440_000, quiet_since: None }, None));
        assert_eq!(rules.reach_ms(), (120 + 60) * 1000);
    }

    #[test]
    fn a_breach_already_there_at_the_first_verdict_has_an_open_start() {
        // Joined in the middle of the burst, the rule cannot tell when it
        // began: pending and firing say so, and so does the resolve.
        let store = burst_history();
        let mut rules = RuleSet::new(vec![rule(ERROR_RATE)]);
        let changes = rules.replay(&store, 400_000, 899_000, 10_000);
        assert_eq!(
            when(&changes),
            [
                (460, "api".to_string(), Change::Pending),
                (580, "api".to_string(), Change::Firing),
                (650, "api".to_string(), Change::Resolved),
            ]
        );
        assert!(changes.iter().all(|(_, o)| o.open), "{changes:?}");
        assert!(!rules.any_open(), "over once resolved");
        // From before it, the start is known; "web", healthy, never counts.
        let mut rules = RuleSet::new(vec![rule(ERROR_RATE)]);
        let changes = rules.replay(&store, 0, 500_000, 10_000);
        assert!(changes.iter().all(|(_, o)| !o.open), "{changes:?}");
        // Still on where the replay ends: open until it ends.
        let mut rules = RuleSet::new(vec![rule(ERROR_RATE)]);
        rules.replay(&store, 400_000, 600_000, 10_000);
        assert!(rules.any_open());
    }

    #[test]
    fn a_rule_joins_a_replay_once_its_window_is_held() {
        // Failing from the first second of history on: a few seconds in, the
        // ratio is already past 1%, but a verdict on less than the rule's
        // minute would be one a full window might not give.
        let mut s = store();
        for sec in 0..200i64 {
            put(&mut s, "requests", "api", sec * 1000, sec as f64 * 100.0);
            put(&mut s, "errors", "api", sec * 1000, sec as f64 * 5.0);
        }
        let mut rules = RuleSet::new(vec![rule(ERROR_RATE)]);
        let changes = rules.replay(&s, 0, 199_000, 10_000);
        assert_eq!(
            when(&changes),
            [(60, "api".to_string(), Change::Pending), (180, "api".to_string(), Change::Firing)]
        );
    }

    #[test]
    fn a_service_that_goes_quiet_has_no_data_and_is_not_resolved() {
        let mut rules = RuleSet::new(vec![rule(ERROR_RATE)]);
        let mut s = store();
        let mut last = Vec::new();
        for sec in 0..400i64 {
            let t = sec * 1000;
            // Failing hard, then gone at 250 s.
            if sec < 250 {
                put(&mut s, "requests", "api", t, sec as f64 * 100.0);
                put(&mut s, "errors", "api", t, sec as f64 * 50.0);
            }
            last = rules.evaluate(&s, t);
        }
        let api = last.iter().find(|o| o.group.as_ref().is_some_and(|g| g.1 == "api")).unwrap();
        assert!(matches!(api.phase, Phase::NoData { firing_since: Some(_), .. }), "{api:?}");
        assert_eq!(api.value, None);
    }

    #[test]
    fn a_counter_reset_is_a_restart_not_a_burst_of_errors() {
        let mut rules = RuleSet::new(vec![rule(ERROR_RATE)]);
        let mut s = store();
        let mut changes = Vec::new();
        let mut last = None;
        // 100 requests and 0.5 errors a second; at 200 s the service
        // restarts and both counters start again from zero. Taken as a drop,
        // the reset would look like a flood of errors (or of negative ones).
        for sec in 0..400i64 {
            let t = sec * 1000;
            let since = if sec < 200 { sec } else { sec - 200 };
            put(&mut s, "requests", "api", t, since as f64 * 100.0);
            put(&mut s, "errors", "api", t, since as f64 * 0.5);
            for o in rules.evaluate(&s, t) {
                changes.extend(o.change);
            }
            let reader = Reader::new(&s);
            let span = Span { to_ms: t, window_ms: 60_000, step_ms: 30_000 };
            if sec > 60 {
                last = measure(&reader, &rules.rules()[0], &span).into_iter().next().and_then(|(_, e)| e.last());
                // Half a percent throughout, the restart included.
                let ratio = last.unwrap_or_else(|| panic!("no ratio at {sec} s"));
                assert!((ratio - 0.005).abs() < 2e-4, "{ratio} at {sec} s");
            }
        }
        assert!(changes.is_empty(), "{changes:?}");
        assert!(last.is_some());
    }

    #[test]
    fn a_latency_rule_reads_the_quantile_hand_worked_from_the_buckets() {
        use crate::core::model::HistogramValue;
        let mut s = Store::default();
        let meta =
            MetricMeta { name: "latency".into(), kind: Kind::Histogram, unit: String::new(), help: String::new() };
        s.learn(&[meta]);
        // Each second: 90 requests under 0.1 s, 8 between 0.1 and 0.5 s,
        // and 2 between 0.5 and 1 s.
        for sec in 0..120i64 {
            let n = (sec + 1) as f64;
            let buckets = vec![(0.1, 90.0 * n), (0.5, 98.0 * n), (1.0, 100.0 * n), (f64::INFINITY, 100.0 * n)];
            let h = HistogramValue { buckets, sum: 0.0, count: 100.0 * n };
            let key = SeriesKey::new("latency").with("service", "api");
            s.insert(&Observation { key, ts: sec * 1000, sample: Sample::Histogram(std::sync::Arc::new(h)) }, None);
        }
        let p99 = rule("name='slow'\nmetric='latency'\nq=0.99\nop='>'\nthreshold=0.7\nover='1m'");
        let p95 = rule("name='p95'\nmetric='latency'\nq=0.95\nop='>'\nthreshold=0.7\nover='1m'");
        let mut rules = RuleSet::new(vec![p99, p95]);
        let out = rules.evaluate(&s, 119_000);
        // p99: rank 0.99 of 100 falls half way through the 0.5-1 s bucket
        // (98 below it, 2 in it): 0.75 s, past 0.7. p95: rank 95 is 5 of
        // the 8 between 0.1 and 0.5 s: 0.1 + 0.4 x 5/8 = 0.35 s.
        let value = |name: &str| out.iter().find(|o| o.rule == name).and_then(|o| o.value);
        assert!((value("slow").unwrap() - 0.75).abs() < 1e-9, "{out:?}");
        assert_eq!(out.iter().find(|o| o.rule == "slow").unwrap().change, Some(Change::Firing));
        // p95 does not breach, so it has no outcome; its query says why.
        assert_eq!(value("p95"), None, "{out:?}");
        let span = Span { to_ms: 119_000, window_ms: 60_000, step_ms: 30_000 };
        let p95 = measure(&Reader::new(&s), &rules.rules()[1], &span).into_iter().next().and_then(|(_, e)| e.last());
        assert!((p95.unwrap() - 0.35).abs() < 1e-9, "{p95:?}");
    }

    #[test]
    fn summaries_fill_in_the_group_and_the_value() {
        let mut r = rule(ERROR_RATE);
        r.unit = "ratio".parse().unwrap();
        let api = ("service".to_string(), "api".to_string());
        assert_eq!(r.summary_for(Some(&api), Some(0.025)), "error rate api 2.50% > 1.00%");
        r.summary = Some("{service}: {value} of requests fail (limit {threshold})".into());
        assert_eq!(r.summary_for(Some(&api), Some(0.025)), "api: 2.50% of requests fail (limit 1.00%)");
        assert_eq!(r.summary_for(Some(&api), None), "api: no data of requests fail (limit 1.00%)");
        assert_eq!(r.resolved_summary(Some(&api), Some(0.00885)), "error rate api resolved: 0.885%, no longer > 1.00%");
        assert_eq!(r.resolved_summary(None, None), "error rate resolved");
    }

    #[test]
    fn a_rule_measures_a_metric_or_a_signal() {
        let r = rule("name='e'\nsignal='errors'\ndivide_by={ metric='requests' }\nop='>'\nthreshold=0.01");
        assert_eq!((r.check(), r.measured(), r.query().signal), (Ok(()), "errors", Some(Signal::Errors)));
        let neither = rule("name='e'\nop='>'\nthreshold=1");
        assert!(neither.check().unwrap_err().contains("needs `metric` or `signal`"));
        let both = rule("name='e'\nmetric='m'\nsignal='errors'\nop='>'\nthreshold=1");
        assert!(both.check().unwrap_err().contains("not both"));
    }

    #[test]
    fn bad_rules_are_refused_with_the_reason() {
        let e = toml::from_str::<RuleSpec>("name='x'\nmetric='m'\nop='>>'\nthreshold=1").unwrap_err().to_string();
        assert!(e.contains("op"), "{e}");
        let e = toml::from_str::<RuleSpec>("name='x'\nmetric='m'\nop='>'\nthreshold=1\nfor='soon'").unwrap_err();
        assert!(e.to_string().contains("not a duration"), "{e}");
        let e = toml::from_str::<RuleSpec>("name='x'\nmetric='m'\nop='>'\nthreshold=1\nseverity='loud'").unwrap_err();
        assert!(e.to_string().contains("severity") || e.to_string().contains("loud"), "{e}");
    }
}
