//! `vigil check`: one look at the system for cron and CI, from the same
//! config as the wall screen. It connects, waits for one full picture (the
//! catalogue, the start-up backfill and a live frame), plays the alert rules
//! over the history so their `for` has already run its course, evaluates
//! them now, prints what it found and exits with a Nagios-style code.
//!
//! Alerts that others raise count as the rules' do: a gateway's own
//! `alert` frames and an Alertmanager's alerts, each firing unless it is
//! silenced (by the Alertmanager, or by a silence set on the dashboard,
//! read from the same file the dashboard keeps them in).

use super::Refusals;
use crate::cli::{CheckArgs, CheckFormat};
use crate::config::ConfigError;
use crate::core::Core;
use crate::core::alert::intent_file;
use crate::core::alert::rules::{RuleSet, RuleSpec};
use crate::core::model::{Alert, AlertState, ErrorClass, Origin, OriginKind, Severity};
use crate::core::slo::{SloSpec, SloStatus, span_name};
use crate::feed::{self, Feed, START_BACKFILL};
use crate::tui::pipeline::sources::SourceTable;
use crate::tui::scene::{SourceHealth, SourceRow};
use crate::wire::{WireNum, format_time, now_ms, sanitize};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

/// What the check found, loudest last: the exit code is the worst of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// An alert rule, an SLO's burn alert, or a gateway's or an
    /// Alertmanager's alert is firing.
    Firing,
    /// Data came, but it cannot be trusted to be current or whole.
    Stale,
    /// No picture: the gateway could not be reached, refused us, or did
    /// not give one in time.
    Unreachable,
    ConfigError,
}

impl Status {
    pub fn exit_code(self) -> i32 {
        match self {
            Status::Ok => 0,
            Status::Firing => 1,
            Status::Stale | Status::Unreachable => 2,
            Status::ConfigError => 3,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Firing => "FIRING",
            Status::Stale => "STALE",
            Status::Unreachable => "UNREACHABLE",
            Status::ConfigError => "CONFIG ERROR",
        }
    }
}

/// History fetched when SLOs are configured: the fast burn's long window.
const SLO_REACH: Duration = Duration::from_secs(3600);
/// Data older than this, by the gateway's own timestamps, is not current.
const STALE_AFTER_MS: i64 = 120_000;
/// The most history a check fetches and replays.
const MAX_REACH: Duration = Duration::from_secs(24 * 3600);

/// Runs `vigil check`; returns the exit code. Everything it has to say,
/// errors included, goes to stdout in the chosen format.
pub fn check(args: CheckArgs) -> i32 {
    let report = match feed::plan(&args.source) {
        Ok(plan) => run(plan, args.timeout.into()),
        Err(e) => {
            // A bad file, flag or token file: nothing was tried.
            let kind = if e.downcast_ref::<ConfigError>().is_some() { "config" } else { "set-up" };
            Report::failed(Status::ConfigError, format!("{kind}: {}", one_line(&e)))
        }
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let written = match args.format {
        CheckFormat::Text => report.write_text(&mut out),
        CheckFormat::Json => report.write_json(&mut out),
    };
    // A reader that went away cannot be told anything; the code still counts.
    let _ = written.and_then(|()| out.flush());
    report.status.exit_code()
}

fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}

fn run(mut plan: feed::Plan, timeout: Duration) -> Report {
    let specs = plan.config.rules();
    let slos = plan.config.slos(plan.demo());
    let mut reach = Duration::from_millis(RuleSet::new(specs.clone()).reach_ms().max(0) as u64);
    // SLOs are judged by their fast burn, over the last hour.
    if !slos.is_empty() {
        reach = reach.max(SLO_REACH);
    }
    // A minute beyond the reach: the replay's first instants fall on whole
    // steps after the history begins, and an alert breaching all along must
    // still have its whole `for` inside.
    plan.backfill = (reach + Duration::from_secs(60)).clamp(START_BACKFILL, MAX_REACH);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => return Report::failed(Status::Unreachable, format!("cannot start: {e}")),
    };
    let report = runtime.block_on(async {
        let mut feed = match Feed::start(&plan).await {
            Ok(f) => f,
            Err(e) => return Report::failed(Status::Unreachable, one_line(&e)),
        };
        match super::tail_queries(&plan, &[], plan.backfill) {
            Ok(wants) => {
                feed.promql.send_replace(std::sync::Arc::new(wants));
            }
            Err(e) => return Report::failed(Status::ConfigError, one_line(&e)),
        }
        let picture = gather(&mut feed, specs, slos, timeout).await;
        let report = judge(&feed, picture, timeout);
        feed.stop().await;
        report
    });
    // A backfill still in flight is of no use now; do not wait for it.
    runtime.shutdown_background();
    report
}

/// What arrived while waiting for a full picture: the same core the
/// screen runs, fed the same updates.
struct Picture {
    core: Core,
    refused: Option<(ErrorClass, String)>,
    /// Whether a gateway (or the demo) feeds the check; without one, only
    /// the other sources' first answers make the picture.
    gateway: bool,
    /// Sources other than the gateway that have answered, or failed, once.
    sources_heard: bool,
    /// Why the dashboard's silences could not be read, when they could not.
    silences_unread: Option<String>,
}

impl Picture {
    fn complete(&self) -> bool {
        let p = self.core.progress();
        let gateway = !self.gateway || (p.catalogue && p.backfill.is_some() && p.live);
        gateway && self.sources_heard
    }

    fn missing(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        if !self.sources_heard {
            m.push("a source never answered");
        }
        if !self.gateway {
            return m;
        }
        let p = self.core.progress();
        if !p.catalogue {
            m.push("no catalogue");
        }
        if p.backfill.is_none() {
            m.push("no history");
        }
        if !p.live {
            m.push("no live data");
        }
        m
    }
}

/// Folds updates in until the picture is whole, the gateway refuses us, or
/// `timeout` runs out.
async fn gather(feed: &mut Feed, specs: Vec<RuleSpec>, slos: Vec<SloSpec>, timeout: Duration) -> Picture {
    let mut updates = feed.take_updates();
    let gateway = feed.stats.iter().any(|s| s.is_gateway());
    let mut core = Core::new(super::setup_of(feed));
    core.set_rules(Arc::new(specs));
    core.set_slos(Arc::new(slos));
    // Silences set on the dashboard hold here too.
    let silences_unread = match crate::config::state_dir() {
        Some(dir) => match intent_file::load(&intent_file::path_in(&dir)) {
            Ok(intent) => {
                core.restore_intent(intent);
                None
            }
            Err(e) => Some(e.to_string()),
        },
        None => None,
    };
    let mut p = Picture { core, refused: None, gateway, sources_heard: false, silences_unread };
    let others: Vec<_> = feed.stats.iter().filter(|s| !s.is_gateway()).cloned().collect();
    // A source that fails sends nothing: its link is looked at as time passes.
    let heard = move || {
        others.iter().all(|s| {
            let l = s.link();
            l.last_success_ms.is_some() || l.last_error.is_some()
        })
    };
    p.sources_heard = heard();
    let mut looks = tokio::time::interval(Duration::from_millis(200));
    let mut refusals = Refusals::default();
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut buf = Vec::with_capacity(super::BATCH);
    while !p.complete() {
        tokio::select! {
            biased;
            _ = &mut deadline => break,
            _ = looks.tick() => p.sources_heard = heard(),
            n = updates.recv_many(&mut buf, super::BATCH) => {
                if n == 0 {
                    break;
                }
                for u in buf.drain(..) {
                    if let Some(refusal) = refusals.check(&u, &feed.stats) {
                        p.refused = Some(refusal);
                        return p;
                    }
                    p.core.apply(u, now_ms());
                }
            }
        }
    }
    // Whatever else is already queued (the rest of a backfill's batches sit
    // ahead of its end marker, so none are left behind here).
    while let Ok(u) = updates.try_recv() {
        p.core.apply(u, now_ms());
    }
    p
}

/// Plays the rules over the picture's history, evaluates them now, and
/// weighs the result.
fn judge(feed: &Feed, mut p: Picture, timeout: Duration) -> Report {
    let now = now_ms();
    let mut table = SourceTable::default();
    let sources = table.rows(&feed.stats, Duration::from_secs(1), now, p.core.interval_ms());
    let mut report = Report { sources: sources.iter().map(SourceJson::of).collect(), ..Report::default() };
    report.checked_at = now;
    if let Some((class, why)) = &p.refused {
        // A wrong URL is a set-up mistake, as a bad config is.
        let status = if *class == ErrorClass::Config { Status::ConfigError } else { Status::Unreachable };
        return report.with(status, why.clone());
    }
    if !p.complete() {
        let why = format!("no full picture within {}: {}", humantime::format_duration(timeout), p.missing().join(", "));
        let last_error = sources.iter().find_map(|s| s.last_error.clone());
        let why = match last_error {
            Some(e) => format!("{why} (last error: {e})"),
            None => why,
        };
        let status = if p.core.progress().live { Status::Stale } else { Status::Unreachable };
        return report.with(status, why);
    }

    let progress = p.core.progress();
    let (_, backfill_whole) = progress.backfill.unwrap_or((now, !p.gateway));
    // The rules were played over the start-up history when it landed (a
    // check without a gateway has none: they are played over what the
    // sources gave); the evaluation now is the verdict.
    if !p.core.rules_replayed() {
        p.core.replay_rules(now - 1);
    }
    p.core.evaluate_rules(now);
    report.rules = p.core.rules().rules().len();
    report.replayed_changes = p.core.replayed_changes();
    let core = &p.core;
    // Others' alerts count unless they are kept quiet: by the Alertmanager
    // that sent them, or by a silence set on the dashboard.
    let muted: std::collections::BTreeSet<&str> = core.muted().map(|m| m.alert_id.as_str()).collect();
    let quiet = |a: &Alert| muted.contains(a.id.as_str()) || core.silenced(a, now);
    report.alerts = core
        .alerts()
        .sorted()
        .iter()
        .filter(|a| match a.origin.kind() {
            OriginKind::Rule => matches!(a.state, AlertState::Pending | AlertState::Firing | AlertState::NoData),
            OriginKind::Gateway | OriginKind::Alertmanager => {
                matches!(a.state, AlertState::Pending | AlertState::Firing) && !quiet(a)
            }
            OriginKind::Slo => false,
        })
        .filter_map(AlertJson::of)
        .collect();
    report.alerts.sort_by_key(|a| (a.rank(), a.severity_rank, a.since.clone()));
    report.newest_data = progress.newest_ms.map(format_time);

    // SLOs over the history fetched: burn rates are what a check can vouch
    // for; attainment covers only that history (the dashboard's ledger keeps
    // the whole window). A burn alert firing counts as firing.
    p.core.evaluate_slos(now);
    let core = &p.core;
    report.slos = core.slos().status().iter().map(SloJson::of).collect();
    if report.slos.iter().any(|s| !s.firing.is_empty()) {
        report.raise(Status::Firing, "an SLO's error budget is burning too fast".into());
    }

    if report.alerts.iter().any(|a| a.state == FIRING && a.source == OriginKind::Rule.name()) {
        report.raise(Status::Firing, "an alert is firing".into());
    }
    for kind in [OriginKind::Gateway, OriginKind::Alertmanager] {
        let loud: Vec<&str> = report
            .alerts
            .iter()
            .filter(|a| a.state == FIRING && a.source == kind.name())
            .map(|a| a.name.as_str())
            .collect();
        if !loud.is_empty() {
            let names = loud.iter().map(|n| sanitize(n)).collect::<Vec<_>>().join(", ");
            report.raise(Status::Firing, format!("{}: {} firing ({names})", kind.label(), loud.len()));
        }
    }
    if let Some(why) = &p.silences_unread {
        // Said, but no reason to fail the check: at worst a silenced alert counts.
        report.raise(Status::Ok, format!("silences not applied: {why}"));
    }
    if !backfill_whole {
        report.raise(Status::Stale, "some history could not be fetched".into());
    }
    if let Some(age) = progress.newest_ms.map(|t| now - t).filter(|&age| age > STALE_AFTER_MS) {
        report.raise(Status::Stale, format!("the newest data is {} old", humantime::format_duration(secs(age))));
    }
    if let Some(b) = core.banner() {
        report.raise(Status::Stale, format!("the gateway says {}: {}", b.status, b.message));
    }
    if report.alerts.iter().any(|a| a.state == NO_DATA) {
        report.raise(Status::Stale, "an alert's series went silent".into());
    }
    if !sources.iter().any(|s| s.health == SourceHealth::Live) {
        let what = if p.gateway { "no gateway is live" } else { "no source is live" };
        report.raise(Status::Stale, what.into());
    }
    for s in
        sources.iter().filter(|s| s.kind != crate::core::model::SourceKind::Gateway && s.health == SourceHealth::Down)
    {
        let why = s.last_error.as_deref().unwrap_or("no answer");
        report.raise(Status::Unreachable, format!("{} ({}) is down: {why}", s.name, s.kind.name()));
    }
    report
}

fn secs(ms: i64) -> Duration {
    Duration::from_secs((ms.max(0) / 1000) as u64)
}

/// The state words, as alert lines of `tail` and the protocol spell them.
const FIRING: &str = "firing";
const PENDING: &str = "pending";
const NO_DATA: &str = "nodata";

/// Everything the check found.
#[derive(Debug, Serialize)]
pub struct Report {
    pub status: Status,
    pub exit: i32,
    #[serde(serialize_with = "time")]
    pub checked_at: i64,
    /// Why the status is not ok, worst first.
    pub reasons: Vec<String>,
    /// Pending, firing and no-data alerts of the rules in force, and the
    /// pending and firing alerts of gateways and Alertmanagers that are not
    /// silenced; firing first.
    pub alerts: Vec<AlertJson>,
    /// How many rules were evaluated, and how many changes the replay over
    /// the history went through on the way.
    pub rules: usize,
    pub replayed_changes: usize,
    pub newest_data: Option<String>,
    pub sources: Vec<SourceJson>,
    /// Every SLO: burn rates now, and attainment over the history fetched.
    pub slos: Vec<SloJson>,
    #[serde(skip)]
    reason_status: Vec<Status>,
}

impl Default for Report {
    fn default() -> Self {
        Report {
            status: Status::Ok,
            exit: 0,
            checked_at: now_ms(),
            reasons: Vec::new(),
            alerts: Vec::new(),
            rules: 0,
            replayed_changes: 0,
            newest_data: None,
            sources: Vec::new(),
            slos: Vec::new(),
            reason_status: Vec::new(),
        }
    }
}

fn time<S: serde::Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(*ms))
}

impl Report {
    fn failed(status: Status, why: String) -> Report {
        Report::default().with(status, why)
    }

    fn with(mut self, status: Status, why: String) -> Report {
        self.raise(status, why);
        self
    }

    /// Adds a finding; the status is the worst finding's.
    fn raise(&mut self, status: Status, why: String) {
        let at = self.reason_status.iter().position(|&s| s < status).unwrap_or(self.reasons.len());
        self.reasons.insert(at, why);
        self.reason_status.insert(at, status);
        self.status = self.status.max(status);
        self.exit = self.status.exit_code();
    }

    /// One line per alert, then the summary line.
    fn write_text(&self, out: &mut impl Write) -> io::Result<()> {
        for a in &self.alerts {
            let who = a.who();
            let at_least = if a.since_at_least { "at least " } else { "" };
            let since = a.since.as_deref().map(|s| format!("  since {at_least}{s}")).unwrap_or_default();
            writeln!(out, "{:<8} {:<8} {who}{since}  {}", a.state.to_uppercase(), a.severity, sanitize(&a.summary))?;
        }
        for s in &self.slos {
            let burns: Vec<String> = s
                .burns
                .iter()
                .map(|(w, b)| format!("{w} {}", b.map_or_else(|| "-".to_string(), |b| format!("{:.1}x", b.0))))
                .collect();
            let firing = if s.firing.is_empty() { String::new() } else { format!("  {}", s.firing.join(", ")) };
            writeln!(
                out,
                "SLO               {}  objective {}%  burn {}{firing}",
                sanitize(&s.name),
                s.objective,
                burns.join(" ")
            )?;
        }
        // The counts are the rules'; others' alerts have a reason of their own.
        let count = |state: &str| {
            self.alerts.iter().filter(|a| a.state == state && a.source == OriginKind::Rule.name()).count()
        };
        let mut line = format!("{} - ", self.status.word());
        if self.status == Status::ConfigError || (self.rules == 0 && !self.reasons.is_empty()) {
            line.push_str(&sanitize(&self.reasons.join("; ")));
        } else {
            line.push_str(&format!(
                "{} firing, {} pending, {} no data of {} rules",
                count(FIRING),
                count(PENDING),
                count(NO_DATA),
                self.rules
            ));
            let others: Vec<&String> = self.reasons.iter().filter(|r| r.as_str() != "an alert is firing").collect();
            if !others.is_empty() {
                let others: Vec<String> = others.iter().map(|r| sanitize(r)).collect();
                line.push_str(&format!("; {}", others.join("; ")));
            }
        }
        writeln!(out, "vigil check: {line}")
    }

    fn write_json(&self, out: &mut impl Write) -> io::Result<()> {
        serde_json::to_writer(&mut *out, self)?;
        out.write_all(b"\n")
    }
}

/// One SLO, as the check reports it.
#[derive(Debug, Serialize)]
pub struct SloJson {
    pub name: String,
    pub objective: f64,
    /// Good over total across the history fetched.
    pub attainment: Option<WireNum>,
    /// `("5m", rate)`: how many times the sustainable rate the budget burns.
    pub burns: Vec<(String, Option<WireNum>)>,
    /// Burn alerts firing: "fast burn", "slow burn", "budget burn".
    pub firing: Vec<String>,
}

impl SloJson {
    fn of(s: &SloStatus) -> SloJson {
        SloJson {
            name: s.name.clone(),
            objective: s.objective,
            attainment: s.attainment.map(WireNum),
            burns: s.burns.iter().map(|(w, b)| (span_name(*w), b.map(WireNum))).collect(),
            firing: s.firing.clone(),
        }
    }
}

/// One alert, as the check reports it.
#[derive(Debug, Serialize)]
pub struct AlertJson {
    /// Where it comes from: `rule`, `gateway` or `alertmanager`.
    pub source: &'static str,
    /// What a silence matches it by as `alertname`: the rule's name, an
    /// Alertmanager alert's `alertname`, a gateway alert's id up to its
    /// first `:`.
    pub name: String,
    /// The rule, for a rule's alert (empty for others).
    pub rule: String,
    /// The rule's group (its `by` label and value), for a rule's alert.
    pub group: BTreeMap<String, String>,
    /// The metric and labels of a gateway's or an Alertmanager's alert.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub metric: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    pub state: &'static str,
    pub severity: &'static str,
    #[serde(skip)]
    severity_rank: Severity,
    /// Since when it has been in this state (firing: since it fired).
    pub since: Option<String>,
    /// The history fetched does not reach back to its start: it has been
    /// in this state since `since` at least.
    pub since_at_least: bool,
    pub value: Option<WireNum>,
    pub threshold: WireNum,
    pub summary: String,
}

impl AlertJson {
    /// An alert as the core filed it; `None` for an SLO's burn alert, which
    /// the SLO's own entry reports.
    fn of(a: &Alert) -> Option<AlertJson> {
        let (rule, group, metric, labels) = match &a.origin {
            Origin::Rule { rule, group } => {
                (rule.clone(), group.iter().cloned().collect(), String::new(), BTreeMap::new())
            }
            Origin::Slo { .. } => return None,
            Origin::Gateway { .. } | Origin::Alertmanager { .. } => {
                let name = a.name();
                // An Alertmanager alert's `alertname` is its name already.
                let labels = a
                    .labels
                    .iter()
                    .filter(|(k, v)| !(*k == "alertname" && **v == name))
                    .map(|(k, v)| (k.clone(), v.clone()));
                (String::new(), BTreeMap::new(), a.metric.clone(), labels.collect())
            }
        };
        Some(AlertJson {
            source: a.origin.kind().name(),
            name: a.name().into_owned(),
            rule,
            group,
            metric,
            labels,
            state: a.state.name(),
            severity: a.severity.name(),
            severity_rank: a.severity,
            since: a.start().map(|s| format_time(s.at_ms)),
            since_at_least: a.start().is_some_and(|s| s.at_least),
            value: a.value.map(WireNum),
            threshold: WireNum(a.threshold.unwrap_or(f64::NAN)),
            summary: a.summary.clone(),
        })
    }

    /// How the text line names it: the rule and its group, or where the
    /// alert comes from, its name (and metric, when that says more) and
    /// labels.
    fn who(&self) -> String {
        let pairs = |m: &BTreeMap<String, String>| -> String {
            let pairs: Vec<String> = m.iter().map(|(k, v)| format!("{}={:?}", sanitize(k), sanitize(v))).collect();
            if pairs.is_empty() { String::new() } else { format!("{{{}}}", pairs.join(",")) }
        };
        if self.source == OriginKind::Rule.name() {
            return format!("{}{}", self.rule, pairs(&self.group));
        }
        let metric = if self.metric.is_empty() || self.metric == self.name {
            String::new()
        } else {
            format!(" ({})", sanitize(&self.metric))
        };
        format!("{} {}{metric}{}", self.source, sanitize(&self.name), pairs(&self.labels))
    }

    /// Firing first, then no data, then pending.
    fn rank(&self) -> u8 {
        match self.state {
            FIRING => 0,
            NO_DATA => 1,
            _ => 2,
        }
    }
}

/// One gateway's link, as the check saw it at the end.
#[derive(Debug, Serialize)]
pub struct SourceJson {
    pub url: String,
    pub state: &'static str,
    pub connected: bool,
    pub last_success: Option<String>,
    pub last_error: Option<String>,
    /// How the link works, when out of the ordinary (a plain stream).
    pub note: Option<String>,
}

impl SourceJson {
    fn of(r: &SourceRow) -> SourceJson {
        SourceJson {
            url: r.url.clone(),
            state: r.health.name(),
            connected: r.connected,
            last_success: r.last_success_ms.map(format_time),
            last_error: r.last_error.clone(),
            note: r.note.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_finding_sets_status_and_exit_code() {
        let mut r = Report::default();
        assert_eq!((r.status, r.exit), (Status::Ok, 0));
        r.raise(Status::Firing, "an alert is firing".into());
        assert_eq!(r.exit, 1);
        r.raise(Status::Stale, "the newest data is 5m old".into());
        assert_eq!((r.status, r.exit), (Status::Stale, 2));
        // A lesser finding later changes nothing but the list, worst first.
        r.raise(Status::Firing, "another".into());
        assert_eq!(r.exit, 2);
        assert_eq!(r.reasons[0], "the newest data is 5m old");
        assert_eq!(Report::failed(Status::ConfigError, "x".into()).exit, 3);
    }

    #[test]
    fn text_ends_with_one_summary_line_and_keeps_escapes_out() {
        let rules = crate::core::alert::defaults::rules();
        let rule = rules.iter().find(|r| r.name == "error rate").unwrap();
        let o = crate::core::alert::rules::Outcome {
            index: 1,
            rule: rule.name.clone(),
            group: Some(("service".into(), "pay\u{1b}[2Jments".into())),
            phase: crate::core::alert::engine::Phase::Firing { since: 1_751_279_400_000, quiet_since: None },
            value: Some(0.05),
            change: None,
            open: false,
        };
        let alert = crate::core::alert::rule_alert(rule, &o, None, 1_751_279_460_000).unwrap();
        let mut r = Report { rules: 9, alerts: AlertJson::of(&alert).into_iter().collect(), ..Report::default() };
        r.raise(Status::Firing, "an alert is firing".into());
        let mut out = Vec::new();
        r.write_text(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains('\u{1b}'), "{text:?}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("FIRING   critical error rate{service="), "{text}");
        assert!(lines[0].contains("since 2025-06-30T10:30:00Z"), "{text}");
        assert_eq!(lines[1], "vigil check: FIRING - 1 firing, 0 pending, 0 no data of 9 rules");
    }

    #[test]
    fn a_gateway_alert_is_listed_with_its_source_and_its_own_reason() {
        let alert = Alert {
            id: "queue-deep:checkout:1751279400".into(),
            origin: Origin::Gateway { source: crate::core::model::SourceId::GATEWAY },
            state: AlertState::Firing,
            severity: Severity::Critical,
            metric: "transaction_queue_depth".into(),
            labels: [("service".to_string(), "check\u{1b}[2Jout".to_string())].into(),
            value: Some(1500.0),
            threshold: Some(1000.0),
            summary: "queue deeper than 1000".into(),
            starts_at: Some(1_751_279_400_000),
            ends_at: None,
            updated_ms: 1_751_279_460_000,
            open_start: false,
        };
        let json = AlertJson::of(&alert).unwrap();
        assert_eq!((json.source, json.name.as_str(), json.rule.as_str()), ("gateway", "queue-deep", ""));
        let mut r = Report { rules: 9, alerts: vec![json], ..Report::default() };
        r.raise(Status::Firing, "gateway: 1 firing (queue-deep)".into());
        let mut out = Vec::new();
        r.write_text(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains('\u{1b}'), "{text:?}");
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("FIRING   critical gateway queue-deep (transaction_queue_depth){service="),
            "{text}"
        );
        assert!(lines[0].ends_with("queue deeper than 1000"), "{text}");
        // The counts are the rules'; the gateway's alert has its reason.
        assert_eq!(
            lines[1],
            "vigil check: FIRING - 0 firing, 0 pending, 0 no data of 9 rules; gateway: 1 firing (queue-deep)"
        );
        let json: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(json["alerts"][0]["source"], "gateway");
        assert_eq!(json["alerts"][0]["metric"], "transaction_queue_depth");
    }
}
