//! The data layer without a screen: `vigil tail` and `vigil check`. Each
//! starts the same feed as the dashboard and folds what arrives into the
//! same [`Core`], so scripts (and our tests) see exactly what the dashboard
//! holds, and the rules' and SLOs' changes come out as the dashboard works
//! them out.
//!
//! `tail` prints each point once: the core's store says which points are
//! new, so a backfill that overlaps live data prints nothing twice. A point
//! the store will not hold at full resolution (older than its raw ring, or
//! past the series cap) is not printed either: it may be one already
//! printed and since evicted, and the dashboard would not show it.

pub mod check;
mod jsonl;
mod text;

use crate::cli::{TailArgs, TailFormat};
use crate::core::Core;
use crate::core::alert::engine::Phase;
use crate::core::alert::rules::RuleSpec;
use crate::core::model::{Alert, AlertState, ConnState, ErrorClass, Event, Observation, Origin, StatusBanner, Update};
use crate::core::store::Store;
use crate::feed::{self, Feed};
use crate::sources::SourceStats;
use crate::tui::pipeline::sources::SourceTable;
use crate::tui::scene::SourceRow;
use crate::wire::now_ms;
use std::future::Future;
use std::io::{self, BufWriter, Write};
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Exit code when the gateway refuses us for good (credentials, URL, TLS).
pub const REFUSED_EXIT: i32 = 2;
/// Updates taken from the channel per pass; each pass ends with one flush.
const BATCH: usize = 1024;
/// How often `--sources` prints its table.
const SOURCES_EVERY: Duration = Duration::from_secs(1);
/// How often the core is asked to evaluate: it runs the rules on the same
/// whole steps as the dashboard's.
const RULES_EVERY: Duration = Duration::from_secs(1);
/// The most history `--since` may ask for: what the store keeps.
const MAX_SINCE: Duration = Duration::from_secs(24 * 3600);

/// What `tail` prints of the data it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Show {
    Everything,
    /// Alert changes only: the rules' and the gateway's.
    Alerts,
}

/// What `tail` prints, and since when it has been watching: what happened
/// before is history, told as such, never as a change seen live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Printing {
    show: Show,
    started_ms: i64,
}

/// One thing `tail` prints.
#[derive(Debug, Clone, Copy)]
pub enum Item<'a> {
    /// A point; `seq` is its live frame's, `backfilled` when it came over REST.
    Point {
        obs: &'a Observation,
        seq: Option<u64>,
        backfilled: bool,
    },
    /// A gateway's or an Alertmanager's alert frame; `replayed` when it
    /// tells of a state the alert was already in before `tail` started
    /// (the alerts under way when it connected), not of a change seen live.
    Alert {
        alert: &'a Alert,
        replayed: bool,
    },
    Event(&'a Event),
    /// A status banner; `None` when the gateway cleared it.
    Status(Option<&'a StatusBanner>),
    /// A connection state change; `url` is the gateway it concerns, when the
    /// state does not say.
    Conn {
        state: &'a ConnState,
        url: &'a str,
    },
    Malformed(&'a str),
    /// How a PromQL query's last run went, by the store name of its results.
    Query {
        key: &'a str,
        error: Option<&'a str>,
    },
    Source(&'a SourceRow),
    /// A change of one of the rules in force, at `at`; `replayed` when it
    /// was found by playing the rules over backfilled history.
    RuleAlert {
        at: i64,
        rule: &'a RuleSpec,
        /// The rule's `by` label and its value, for a rule that has one.
        group: Option<&'a (String, String)>,
        change: Option<crate::core::alert::engine::Change>,
        /// The state the change left the alert in (`inactive` once gone).
        state: &'static str,
        value: Option<f64>,
        replayed: bool,
        /// When the alert began, as every view says it.
        start: Option<crate::core::model::Start>,
    },
    /// A change of an SLO's burn alert, seen at `at`.
    SloAlert {
        at: i64,
        alert: &'a Alert,
        change: crate::core::alert::engine::Change,
    },
}

/// The state an outcome leaves its alert in, in the words of alert lines.
pub fn state_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Inactive => "inactive",
        Phase::Pending { .. } => AlertState::Pending.name(),
        Phase::Firing { .. } => AlertState::Firing.name(),
        Phase::Resolved { .. } => AlertState::Resolved.name(),
        Phase::NoData { .. } => AlertState::NoData.name(),
    }
}

/// Runs `vigil tail`; returns the process exit code.
pub fn tail(args: TailArgs) -> anyhow::Result<i32> {
    let mut plan = feed::plan(&args.source)?;
    let since: Duration = args.since.into();
    anyhow::ensure!(
        (Duration::from_secs(1)..=MAX_SINCE).contains(&since),
        "--since {} is out of range (1s to 24h, what the store keeps)",
        args.since
    );
    plan.backfill = since;
    let rules = plan.config.rules();
    let slos = plan.config.slos(plan.demo());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let code = runtime.block_on(async {
        let mut feed = Feed::start(&plan).await?;
        feed.promql.send_replace(Arc::new(tail_queries(&plan, &args.queries, since)?));
        let updates = feed.take_updates();
        let stop = stop_signal(args.duration.map(Into::into))?;
        let stdout = io::stdout();
        let mut out = Printer { out: BufWriter::with_capacity(64 * 1024, stdout.lock()), format: args.format };
        let ended = if args.sources {
            print_sources(&feed, updates, stop, &mut out).await
        } else {
            let show = if args.alerts { Show::Alerts } else { Show::Everything };
            let printing = Printing { show, started_ms: now_ms() };
            let mut core = Core::new(setup_of(&feed));
            core.set_rules(Arc::new(rules));
            core.set_slos(Arc::new(slos));
            print_data(&feed, updates, stop, &mut out, &args.metrics, printing, core).await
        };
        feed.stop().await;
        anyhow::Ok(exit_code(ended, &mut out)?)
    });
    // A backfill still in flight is of no use now; do not wait for it.
    runtime.shutdown_background();
    code
}

/// What `tail` asks its Prometheus sources for: the `--query` flags, run
/// by the first Prometheus source; without any, every query of the pages
/// vigil writes for the sources (a service's golden signals). History
/// reaches back `since`, at about 160 points.
pub(super) fn tail_queries(
    plan: &feed::Plan,
    queries: &[String],
    since: Duration,
) -> anyhow::Result<crate::sources::prometheus::Wants> {
    use crate::config::SourceKind;
    use crate::sources::prometheus::{Want, Wants};
    let first = plan.sources.iter().find(|s| s.kind == SourceKind::Prometheus).and_then(|s| s.name.clone());
    let wants: Vec<Want> = match (&first, queries.is_empty()) {
        (None, false) => anyhow::bail!("--query needs a Prometheus source (--prometheus URL)"),
        (None, true) => Vec::new(),
        (Some(name), false) => queries.iter().map(|q| Want { source: name.clone(), text: q.clone() }).collect(),
        (Some(_), true) => {
            let written = crate::dashboards::preset::dashboard(false, &plan.sources);
            let store = Store::default();
            let mut all: Vec<Want> = written
                .pages
                .iter()
                .flat_map(|p| crate::tui::pipeline::page::promql_wanted(p, &Default::default(), &store))
                .collect();
            all.sort();
            all.dedup();
            all
        }
    };
    let to_ms = now_ms();
    let span = since.as_millis() as i64;
    let step_ms = ((span / 160).max(1000) + 999) / 1000 * 1000;
    Ok(Wants { queries: wants, from_ms: to_ms - span, to_ms, step_ms })
}

/// What a headless core (`tail`'s, `check`'s) is told of the sources a
/// feed started: it waits for the start-up history, plays the rules over
/// all of it (what the command fetched is what it reports on), and
/// evaluates them every second.
pub(crate) fn setup_of(feed: &Feed) -> crate::core::Setup {
    let gateway = feed.stats.iter().any(|s| s.is_gateway());
    crate::core::Setup {
        gateway,
        url: feed.stats.first().map(|s| s.url.clone()).unwrap_or_default(),
        patience_ms: feed.stats.iter().map(|s| (s.source, s.patience_ms)).collect(),
        // A gateway's start-up history is fetched; the rules wait for it
        // (or give up waiting after a while, as without one).
        history: true,
        replay_backfill: true,
        every_ms: Some(RULES_EVERY.as_millis() as i64),
    }
}

/// How a run ended.
enum Ended {
    /// Duration over, a signal, or the feed finished.
    Clean,
    /// The gateway refused us before it ever sent data; the reason.
    Refused(String),
}

fn exit_code(ended: io::Result<Ended>, out: &mut Printer<impl Write>) -> io::Result<i32> {
    let ended = ended.and_then(|e| out.flush().map(|()| e));
    match ended {
        Ok(Ended::Clean) => Ok(0),
        Ok(Ended::Refused(why)) => {
            let _ = writeln!(io::stderr(), "vigil tail: {why}");
            Ok(REFUSED_EXIT)
        }
        // The reader went away (`| head`): that is their way of saying stop.
        // Dropping the writer tries one more flush and ignores its failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(e),
    }
}

/// Resolves when `duration` has passed or SIGINT or SIGTERM arrives.
fn stop_signal(duration: Option<Duration>) -> io::Result<impl Future<Output = ()>> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        let deadline = async {
            match duration {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = deadline => {}
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// A buffered writer in the chosen format.
struct Printer<W: Write> {
    out: W,
    format: TailFormat,
}

impl<W: Write> Printer<W> {
    fn item(&mut self, item: &Item, now_ms: i64) -> io::Result<()> {
        match self.format {
            TailFormat::Jsonl => jsonl::write(&mut self.out, item, now_ms),
            TailFormat::Text => text::write(&mut self.out, item, now_ms),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Tells a wrong set-up (credentials, URL, certificate) from a bad network:
/// a refusal before the gateway ever answered will not go away by waiting.
#[derive(Default)]
struct Refusals {
    heard_from_gateway: bool,
}

impl Refusals {
    /// The one-line reason to give up, when `u` is such a refusal.
    fn check(&mut self, u: &Update, stats: &[Arc<SourceStats>]) -> Option<(ErrorClass, String)> {
        match u {
            Update::Conn(ConnState::Reconnecting { error, class, .. }) => {
                let fatal =
                    matches!(class, ErrorClass::Auth | ErrorClass::Refused | ErrorClass::Tls | ErrorClass::Config);
                let why = match class {
                    ErrorClass::Config => format!("{}: {error}", url_of(stats, error)),
                    _ => format!("{} refused us ({} error): {error}", url_of(stats, error), class.name()),
                };
                (fatal && !self.heard_from_gateway).then_some((*class, why))
            }
            Update::Conn(_)
            | Update::Malformed(_)
            | Update::Backfilled { .. }
            | Update::RulesUpstream
            | Update::SlosUpstream
            | Update::BookUpstream(_)
            | Update::BookError(_) => None,
            _ => {
                self.heard_from_gateway = true;
                None
            }
        }
    }
}

/// The gateway whose last error is `error`, else the preferred one.
fn url_of<'a>(stats: &'a [Arc<SourceStats>], error: &str) -> &'a str {
    let failed = stats.iter().find(|s| s.link().last_error.as_deref() == Some(error));
    failed.or(stats.first()).map_or("the gateway", |s| s.url.as_str())
}

/// Prints every point once, and alerts, events, status and connection
/// changes, and the alert rules' and SLOs' changes, as a core that holds
/// what the dashboard would hold works them out.
async fn print_data<W: Write>(
    feed: &Feed,
    mut updates: mpsc::Receiver<Update>,
    stop: impl Future<Output = ()>,
    out: &mut Printer<W>,
    metrics: &[String],
    printing: Printing,
    mut core: Core,
) -> io::Result<Ended> {
    let mut stop = std::pin::pin!(stop);
    let mut refusals = Refusals::default();
    let mut buf = Vec::with_capacity(BATCH);
    let mut tick = tokio::time::interval_at(Instant::now() + RULES_EVERY, RULES_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    core.tell_changes();
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => return Ok(Ended::Clean),
            n = updates.recv_many(&mut buf, BATCH) => {
                if n == 0 {
                    return Ok(Ended::Clean);
                }
                let now = now_ms();
                for u in buf.drain(..) {
                    let refused = refusals.check(&u, &feed.stats);
                    print_update(u, &mut core, metrics, &feed.info.url, out, now, printing)?;
                    print_told(&mut core, out, now)?;
                    if let Some((_, why)) = refused {
                        return Ok(Ended::Refused(why));
                    }
                }
                out.flush()?;
            }
            _ = tick.tick() => {
                let now = now_ms();
                core.evaluate(now);
                print_told(&mut core, out, now)?;
                out.flush()?;
            }
        }
    }
}

/// The rules' and SLOs' changes the core noted, replayed ones included. A
/// gateway's or an Alertmanager's alerts are printed as they arrive.
fn print_told<W: Write>(core: &mut Core, out: &mut Printer<W>, now: i64) -> io::Result<()> {
    for t in core.take_told() {
        let Some(alert) = t.after.as_ref().or(t.before.as_ref()) else { continue };
        match &alert.origin {
            Origin::Rule { rule, group } => {
                let Some(spec) = core.rules().rules().iter().find(|r| r.name == *rule) else { continue };
                let state = t.after.as_ref().map_or("inactive", |a| a.state.name());
                let (at, change, value, replayed) = (t.at_ms, t.step, t.value, t.replayed);
                let group = group.as_ref();
                let start = alert.start();
                out.item(&Item::RuleAlert { at, rule: spec, group, change, state, value, replayed, start }, now)?;
            }
            // A burn alert that went away without resolving (one that never
            // fired) has nothing to show.
            Origin::Slo { .. } => {
                if let (Some(after), Some(change)) = (&t.after, t.step) {
                    out.item(&Item::SloAlert { at: t.at_ms, alert: after, change }, now)?;
                }
            }
            Origin::Gateway { .. } | Origin::Alertmanager { .. } => {}
        }
    }
    Ok(())
}

/// Prints what one update holds that was not printed before, and folds it
/// into the core. Points go into the store whatever is shown: the alert
/// rules read them there, and a point the store already held is not
/// printed again.
fn print_update<W: Write>(
    u: Update,
    core: &mut Core,
    metrics: &[String],
    url: &str,
    out: &mut Printer<W>,
    now: i64,
    printing: Printing,
) -> io::Result<()> {
    let everything = printing.show == Show::Everything;
    if let Update::Event(e) = u {
        // The same event comes live and again from the gateway's history:
        // printed once.
        let shown = e.clone();
        if core.add_event(e, now) && everything {
            out.item(&Item::Event(&shown), now)?;
        }
        return Ok(());
    }
    match &u {
        Update::Samples { live, seq, .. } => {
            let (backfilled, seq) = (!live, *seq);
            let mut written = Ok(());
            core.apply_noting(u, now, &mut |obs| {
                // `--metric` only narrows what is printed.
                let shown = metrics.is_empty() || metrics.contains(&obs.key.metric);
                if everything && shown && written.is_ok() {
                    written = out.item(&Item::Point { obs, seq, backfilled }, now);
                }
            });
            return written;
        }
        Update::Alert(a) => {
            // The first word of an alert already in its state before tail
            // started (what a gateway says of its alerts on connecting) is
            // how it stood, not news.
            let since = match a.state {
                AlertState::Resolved => a.ends_at,
                _ => a.starts_at,
            };
            let unheard = core.alerts().get(&a.id).is_none();
            let replayed = unheard && since.is_some_and(|t| t < printing.started_ms);
            out.item(&Item::Alert { alert: a, replayed }, now)?
        }
        Update::Status(b) if everything => out.item(&Item::Status(b.as_ref()), now)?,
        Update::Conn(state) if everything => out.item(&Item::Conn { state, url }, now)?,
        Update::Malformed(why) if everything => out.item(&Item::Malformed(why), now)?,
        Update::Query { key, error } if everything => out.item(&Item::Query { key, error: error.as_deref() }, now)?,
        Update::Catalogue { .. }
        | Update::Event(_)
        | Update::Status(_)
        | Update::Conn(_)
        | Update::Malformed(_)
        | Update::Backfilled { .. }
        | Update::RulesUpstream
        | Update::SlosUpstream
        | Update::BookUpstream(_)
        | Update::Marked { .. }
        | Update::BookError(_)
        | Update::Query { .. }
        | Update::Muted { .. } => {}
    }
    core.apply(u, now);
    Ok(())
}

/// Prints the sources table every second, from the same rows as the page.
async fn print_sources<W: Write>(
    feed: &Feed,
    mut updates: mpsc::Receiver<Update>,
    stop: impl Future<Output = ()>,
    out: &mut Printer<W>,
) -> io::Result<Ended> {
    let mut stop = std::pin::pin!(stop);
    let mut table = SourceTable::default();
    let mut refusals = Refusals::default();
    let mut interval_ms = 1000;
    let mut buf = Vec::with_capacity(BATCH);
    let mut tick = tokio::time::interval_at(Instant::now() + SOURCES_EVERY, SOURCES_EVERY);
    let mut last = Instant::now();
    let mut print_rows = |out: &mut Printer<W>, interval_ms: i64| -> io::Result<()> {
        let now = now_ms();
        let rows = table.rows(&feed.stats, last.elapsed(), now, interval_ms);
        last = Instant::now();
        for r in &rows {
            out.item(&Item::Source(r), now)?;
        }
        out.flush()
    };
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => return Ok(Ended::Clean),
            // The updates must still be drained, or the sources would stall.
            n = updates.recv_many(&mut buf, BATCH) => {
                if n == 0 {
                    return Ok(Ended::Clean);
                }
                for u in buf.drain(..) {
                    if let Update::Catalogue { interval_ms: i, .. } = u {
                        interval_ms = i;
                    }
                    if let Some((_, why)) = refusals.check(&u, &feed.stats) {
                        // Show the table once, so the refusal is on record.
                        print_rows(out, interval_ms)?;
                        return Ok(Ended::Refused(why));
                    }
                }
            }
            _ = tick.tick() => print_rows(out, interval_ms)?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{Sample, SeriesKey};

    fn samples(ts: &[i64], live: bool, seq: Option<u64>) -> Update {
        let observations = ts
            .iter()
            .map(|&t| Observation { key: SeriesKey::new("orders_per_minute"), ts: t, sample: Sample::Number(1.0) })
            .collect();
        Update::Samples { observations, live, seq, source: crate::core::model::SourceId::GATEWAY }
    }

    fn printed(updates: &[Update], metrics: &[String]) -> Vec<serde_json::Value> {
        let mut out = Printer { out: Vec::new(), format: TailFormat::Jsonl };
        let mut core = Core::default();
        for u in updates {
            let printing = Printing { show: Show::Everything, started_ms: 0 };
            print_update(u.clone(), &mut core, metrics, "ws://gw/s", &mut out, 0, printing).unwrap();
        }
        String::from_utf8(out.out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    #[test]
    fn overlapping_backfill_prints_each_point_once() {
        let lines = printed(&[samples(&[3000], true, Some(9)), samples(&[1000, 2000, 3000], false, None)], &[]);
        let ts: Vec<_> = lines.iter().map(|l| l["timestamp"].as_str().unwrap().to_string()).collect();
        assert_eq!(ts, ["1970-01-01T00:00:03Z", "1970-01-01T00:00:01Z", "1970-01-01T00:00:02Z"]);
        assert_eq!(lines[0]["seq"], 9);
        assert!(lines[0].get("backfilled").is_none());
        assert_eq!(lines[1]["backfilled"], true);
    }

    #[test]
    fn metric_filter_keeps_only_named_metrics() {
        let other = Update::Samples {
            observations: vec![Observation { key: SeriesKey::new("active_users"), ts: 1, sample: Sample::Number(2.0) }],
            live: true,
            seq: Some(1),
            source: crate::core::model::SourceId::GATEWAY,
        };
        let lines = printed(&[other, samples(&[1000], true, Some(2))], &["orders_per_minute".to_string()]);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["metric"], "orders_per_minute");
    }

    #[test]
    fn refusals_count_only_before_the_gateway_answered() {
        let stats = vec![Arc::new(SourceStats::for_url("ws://gw/s"))];
        let auth = Update::Conn(ConnState::Reconnecting {
            retry_at_ms: 0,
            attempt: 1,
            error: "HTTP 401".into(),
            class: ErrorClass::Auth,
        });
        let network = Update::Conn(ConnState::Reconnecting {
            retry_at_ms: 0,
            attempt: 1,
            error: "connection refused".into(),
            class: ErrorClass::Network,
        });
        let mut r = Refusals::default();
        assert_eq!(r.check(&network, &stats), None);
        let (_, why) = r.check(&auth, &stats).unwrap();
        assert!(why.contains("ws://gw/s") && why.contains("auth") && why.contains("HTTP 401"), "{why}");
        let mut r = Refusals::default();
        assert_eq!(r.check(&samples(&[1], true, None), &stats), None);
        assert_eq!(r.check(&auth, &stats), None);
    }

    #[test]
    fn a_closed_stdout_is_a_clean_end() {
        let mut out = Printer { out: Vec::new(), format: TailFormat::Text };
        let code = exit_code(Err(io::ErrorKind::BrokenPipe.into()), &mut out).unwrap();
        assert_eq!(code, 0);
    }
}
