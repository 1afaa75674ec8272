//! Plain domain types shared by sources, store, alerts and view. Nothing
//! here knows about sockets, tokio or the terminal.

use std::collections::BTreeMap;
use std::sync::Arc;

/// A label set, ordered so equal sets compare equal.
pub type Labels = BTreeMap<String, String>;

/// A metric name plus a label set: the identity of one series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    pub metric: String,
    pub labels: Labels,
}

impl SeriesKey {
    pub fn new(metric: &str) -> Self {
        SeriesKey { metric: metric.to_string(), labels: Labels::new() }
    }
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.labels.insert(name.to_string(), value.to_string());
        self
    }
    /// The value of one label, or "" when absent.
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map(String::as_str).unwrap_or("")
    }
}

/// How a metric's values behave over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Kind {
    #[default]
    Gauge,
    /// Monotonic; a drop means the producer restarted.
    Counter,
    /// Cumulative buckets since the producer started.
    Histogram,
    /// Text such as `healthy`.
    Status,
}

/// A cumulative histogram: upper bounds with cumulative counts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistogramValue {
    /// `(upper bound, cumulative count)`, bounds ascending, last may be +Inf.
    pub buckets: Vec<(f64, f64)>,
    pub sum: f64,
    pub count: f64,
}

/// One observed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Sample {
    Number(f64),
    Text(Arc<str>),
    Histogram(Arc<HistogramValue>),
}

impl Sample {
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Sample::Number(v) => Some(*v),
            _ => None,
        }
    }
}

/// A value of a series at a time (milliseconds since the epoch).
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub key: SeriesKey,
    pub ts: i64,
    pub sample: Sample,
}

/// A metric the source announced.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricMeta {
    pub name: String,
    pub kind: Kind,
    pub unit: String,
    pub help: String,
}

/// Lifecycle of an alert, as Prometheus names it, plus one state of the
/// dashboard's own rules: no data (the alert's series went silent while it
/// was pending or firing; see `alert::engine`). In list order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertState {
    Firing,
    Pending,
    NoData,
    Resolved,
}

impl AlertState {
    /// The protocol's name for the state.
    pub fn name(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Pending => "pending",
            AlertState::NoData => "nodata",
            AlertState::Resolved => "resolved",
        }
    }
}

/// How loud an alert is; ordered from loudest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

impl Severity {
    /// The protocol's name for the severity.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    pub fn parse(s: &str) -> Severity {
        match s.to_ascii_lowercase().as_str() {
            "critical" | "page" | "error" => Severity::Critical,
            "warning" | "warn" | "ticket" => Severity::Warning,
            _ => Severity::Info,
        }
    }
}

/// Who decides an alert's state. Carried beside the id, so nothing has to
/// guess an alert's provenance from how its id is spelled (a gateway may
/// name its alerts anything, `rule:` prefixes included).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    /// One of the dashboard's own rules, for one group (the rule's `by`
    /// label and its value) or for the whole rule.
    Rule { rule: String, group: Option<(String, String)> },
    /// A burn alert (`fast burn`, ...) of an SLO.
    Slo { slo: String, burn: String },
    /// Pushed by a gateway.
    Gateway { source: SourceId },
    /// Read from an Alertmanager, by the name the config gives the source.
    Alertmanager { source: String },
}

/// The kind of an [`Origin`], as the exec hook, `tail` and the incident
/// timeline name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OriginKind {
    Rule,
    Slo,
    Gateway,
    Alertmanager,
}

impl OriginKind {
    /// The word in machine-read output (`rule`, `slo`, `gateway`, `alertmanager`).
    pub fn name(self) -> &'static str {
        match self {
            OriginKind::Rule => "rule",
            OriginKind::Slo => "slo",
            OriginKind::Gateway => "gateway",
            OriginKind::Alertmanager => "alertmanager",
        }
    }

    /// The word for people (`SLO`, `Alertmanager`), as reports print it.
    pub fn label(self) -> &'static str {
        match self {
            OriginKind::Rule => "rule",
            OriginKind::Slo => "SLO",
            OriginKind::Gateway => "gateway",
            OriginKind::Alertmanager => "Alertmanager",
        }
    }

    /// Whether the dashboard works the alert out itself: it then knows the
    /// alert was inactive before its first change, and can work it out
    /// again after a restart instead of restoring it.
    pub fn is_own(self) -> bool {
        matches!(self, OriginKind::Rule | OriginKind::Slo)
    }
}

impl Origin {
    pub fn kind(&self) -> OriginKind {
        match self {
            Origin::Rule { .. } => OriginKind::Rule,
            Origin::Slo { .. } => OriginKind::Slo,
            Origin::Gateway { .. } => OriginKind::Gateway,
            Origin::Alertmanager { .. } => OriginKind::Alertmanager,
        }
    }
}

/// An alert as the dashboard knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub id: String,
    pub origin: Origin,
    pub state: AlertState,
    pub severity: Severity,
    pub metric: String,
    pub labels: Labels,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub summary: String,
    /// When it began: for a gateway's or an Alertmanager's alert, the
    /// `starts_at` they give; for a rule's, when it fired (or went
    /// pending), as the history held shows it. Read it through
    /// [`Alert::start`], which says whether it is only a bound.
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    /// When this client last heard of the alert.
    pub updated_ms: i64,
    /// The alert was already on where the history held begins: it began
    /// at `starts_at` or before, and is said to be on "since at least"
    /// then. Only a rule's alert can be; others' say when they began.
    pub open_start: bool,
}

/// When an alert began, as every view tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    pub at_ms: i64,
    /// It may have begun earlier: the history held does not reach back to
    /// its start ("since at least").
    pub at_least: bool,
}

impl Alert {
    /// When the alert began, and whether that is only a bound: the one
    /// answer the list, the detail, `check` and `tail` all give.
    pub fn start(&self) -> Option<Start> {
        self.starts_at.map(|at_ms| Start { at_ms, at_least: self.open_start })
    }

    /// The name of the rule behind the alert, which silences match as
    /// `alertname`: a rule's name; an SLO's name and burn alert
    /// (`checkout availability:fast burn`, as SLOs share burn alert names);
    /// an Alertmanager alert's `alertname`; and for a gateway's alert the
    /// first part of its id (`NAME:series:start`), as the start changes
    /// every time the alert fires anew.
    pub fn name(&self) -> std::borrow::Cow<'_, str> {
        use std::borrow::Cow;
        match &self.origin {
            Origin::Rule { rule, .. } => Cow::Borrowed(rule),
            Origin::Slo { slo, burn } => Cow::Owned(format!("{slo}:{burn}")),
            Origin::Alertmanager { .. } => {
                Cow::Borrowed(self.labels.get("alertname").map_or(self.metric.as_str(), String::as_str))
            }
            Origin::Gateway { .. } => Cow::Borrowed(self.id.split(':').next().unwrap_or(&self.id)),
        }
    }
}

/// Something that happened, such as a deploy.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub ts: i64,
    pub kind: String,
    pub text: String,
    pub labels: Labels,
}

/// A `status` frame from the gateway: shown as a banner until cleared.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusBanner {
    pub status: String,
    pub message: String,
    pub freshness: Option<String>,
    pub since_ms: i64,
}

impl StatusBanner {
    /// When the gateway says the data it sends is cached
    /// (`data_freshness` such as `cached_5_minutes_ago`): how old it was
    /// said to be when the status came, or `None` inside when the words
    /// give no age.
    pub fn cached(&self) -> Option<Option<i64>> {
        let f = self.freshness.as_deref()?.to_ascii_lowercase();
        let rest = f.strip_prefix("cached")?;
        let words: Vec<&str> = rest.split(['_', ' ', '-']).filter(|w| !w.is_empty()).collect();
        let age = match words.as_slice() {
            [n, unit, ..] => {
                let n: i64 = n.parse().ok()?;
                let unit_ms = match unit.trim_end_matches('s') {
                    "second" | "sec" => 1_000,
                    "minute" | "min" => 60_000,
                    "hour" => 3_600_000,
                    "day" => 86_400_000,
                    _ => return Some(None),
                };
                Some(n.saturating_mul(unit_ms))
            }
            _ => None,
        };
        Some(age)
    }
}

/// How data reaches the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Transport {
    /// WebSocket stream: the normal case.
    #[default]
    Ws,
    /// Server-Sent Events, when a proxy refuses the WebSocket upgrade.
    Sse,
    /// Periodic REST snapshots: the last resort.
    Poll,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Ws => "WS",
            Transport::Sse => "SSE",
            Transport::Poll => "POLL",
        }
    }
}

/// Why a link failed; each class has its own retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ErrorClass {
    /// Refused, reset, timed out, dead: back off exponentially.
    #[default]
    Network,
    /// The server closed the connection cleanly (restart, slow client): retry soon.
    ServerClosed,
    /// 401 or 403: the credentials are wrong; retrying fast will not help.
    Auth,
    /// Another 4xx, or a server that does not speak the protocol.
    Refused,
    /// The certificate could not be verified.
    Tls,
    /// The URL points at nothing that speaks the protocol (a 404 where the
    /// stream should be): a mistake in the set-up, which waiting cannot fix.
    Config,
}

impl ErrorClass {
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::Network => "network",
            ErrorClass::ServerClosed => "closed by server",
            ErrorClass::Auth => "auth",
            ErrorClass::Refused => "refused",
            ErrorClass::Tls => "TLS",
            ErrorClass::Config => "wrong URL",
        }
    }
}

/// What a source's connection is doing, as data the screen can show.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnState {
    /// Dialling; `attempt` counts failures since the last healthy link.
    Connecting { attempt: u32 },
    /// Streaming since `since_ms`.
    Connected { since_ms: i64, server: String, url: String, transport: Transport },
    /// Waiting to dial again at `retry_at_ms` (wall clock).
    Reconnecting { retry_at_ms: i64, attempt: u32, error: String, class: ErrorClass },
    /// Given up on, or stopped.
    Disconnected { error: String },
}

/// Before anything is known, a link is dialling for the first time.
impl Default for ConnState {
    fn default() -> Self {
        ConnState::Connecting { attempt: 0 }
    }
}

impl ConnState {
    pub fn is_connected(&self) -> bool {
        matches!(self, ConnState::Connected { .. })
    }
}

/// What a source speaks. A `[[source]]` table names one of the polled
/// kinds; the gateway is configured apart (`--url`, `[connection]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// A gateway's WebSocket or SSE stream (or the embedded demo's).
    #[default]
    #[serde(skip_deserializing)]
    Gateway,
    /// The Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`), as
    /// Prometheus, Thanos, Mimir and VictoriaMetrics serve it.
    Prometheus,
    /// A service's own `/metrics`, in the Prometheus text format or OpenMetrics.
    Scrape,
    /// The Alertmanager v2 API: alerts and silences.
    Alertmanager,
}

impl SourceKind {
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Gateway => "gateway",
            SourceKind::Prometheus => "prometheus",
            SourceKind::Scrape => "scrape",
            SourceKind::Alertmanager => "alertmanager",
        }
    }

    /// How often a source of this kind is read when its table says nothing
    /// (a gateway's catalogue sets its own pace).
    pub fn default_interval(self) -> std::time::Duration {
        std::time::Duration::from_secs(match self {
            SourceKind::Gateway => 1,
            SourceKind::Prometheus => 10,
            SourceKind::Scrape => 5,
            SourceKind::Alertmanager => 15,
        })
    }
}

/// Which source something came from: its place in the feed's list of
/// sources. The gateway link (or the embedded demo) is always 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SourceId(pub u16);

impl SourceId {
    pub const GATEWAY: SourceId = SourceId(0);
}

/// An alert another system keeps quiet (an Alertmanager silence or
/// inhibition), as the alert list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Muted {
    pub alert_id: String,
    /// When the silence ends; `None` for an inhibition.
    pub until_ms: Option<i64>,
    /// Who, where and why, in a line.
    pub by: String,
}

/// Everything a source tells the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// A source's metric catalogue (from `hello`), and how often it sends
    /// new values.
    Catalogue {
        metrics: Vec<MetricMeta>,
        interval_ms: i64,
        source: SourceId,
    },
    /// Values; `live` is false for backfilled history; `seq` is the live
    /// frame's sequence number, when it had one.
    Samples {
        observations: Vec<Observation>,
        live: bool,
        seq: Option<u64>,
        source: SourceId,
    },
    /// Every alert a source keeps quiet now, replacing what it said before.
    Muted {
        source: SourceId,
        muted: Vec<Muted>,
    },
    /// How the last run of a PromQL query went, by the store name of its
    /// results (`dashboard::spec::promql_key`): `None` when it worked.
    Query {
        key: String,
        error: Option<String>,
    },
    Alert(Alert),
    Event(Event),
    /// A status banner; `None` clears it.
    Status(Option<StatusBanner>),
    Conn(ConnState),
    /// A frame that could not be used; the text says why.
    Malformed(String),
    /// The gateway evaluates the alert rules itself and streams their
    /// alerts: the core runs none of its own, so no alert is listed twice.
    RulesUpstream,
    /// The gateway works out the SLOs and streams their burn alerts: the
    /// core still shows budgets and burn rates, but raises none of those
    /// alerts, so none is listed twice.
    SlosUpstream,
    /// Whether the gateway keeps the book of acknowledgements and silences
    /// for every screen (its `hello` offers the `acks` capability): its
    /// alerts are then acknowledged and silenced there, not in a local file.
    BookUpstream(bool),
    /// What the gateway's book says of one of its alerts, as its latest
    /// frame carried it (nothing when it carried none): sent before that
    /// frame's [`Update::Alert`], so the change is told with it.
    Marked {
        id: String,
        marks: crate::core::alert::upstream::Marks,
    },
    /// A call to the gateway's book failed; why, in one line, for the
    /// screen's status bar.
    BookError(String),
    /// A REST backfill of (from, to] has handed on everything it fetched,
    /// so history up to `to_ms` is as complete as the gateway could make
    /// it; `complete` is false when some metric could not be read.
    Backfilled {
        from_ms: i64,
        to_ms: i64,
        complete: bool,
    },
}
