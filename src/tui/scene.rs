//! The picture the view draws: everything on screen, already derived,
//! published as an immutable `Arc<Scene>`. The view reads only this.

use crate::core::model::{Alert, ConnState, Event, StatusBanner, Transport};

/// A value at a time (ms since the epoch).
pub type Point = (i64, f64);

/// A value and until when it counts as fresh (wall clock, ms): a few of
/// its source's intervals after it last arrived live, or the moment its
/// source's link went down. `None` means it came only from history and was
/// never seen live.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading<T> {
    pub value: T,
    pub fresh_until: Option<i64>,
}

// The scene's vocabulary, which the view draws from and imports from
// nowhere else: the core's types the scene holds, under one roof.
pub use crate::core::alert::Firing;
pub use crate::core::alert::intent::Hush;
pub use crate::core::alert::rules::Op;
pub use crate::core::model::Severity;
pub use crate::core::query::{Heat, MAX_CELLS};
pub use crate::core::slo::SloStatus;
pub use crate::core::units::Unit;
pub use crate::dashboards::Thresholds;
pub use crate::dashboards::spec::{Show, Sort};

/// The page the dashboard shows, already evaluated.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageScene {
    pub title: String,
    /// The label chosen one value at a time, when the page has one.
    pub select: Option<Selection>,
    pub rows: Vec<RowScene>,
    /// Until when the freshest data on the page counts as fresh; `None`
    /// when nothing on it ever arrived live (an alert list, history only).
    pub fresh_until: Option<i64>,
}

/// The value of a page's `select` label on show, and the others to pick.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selection {
    pub label: String,
    pub value: String,
    pub choices: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowScene {
    /// Fixed height, when the dashboard gave one.
    pub height: Option<u16>,
    pub panels: Vec<PanelScene>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PanelScene {
    pub title: String,
    /// The dashboard's colour for this panel, if it gave one.
    pub color: Option<ratatui::style::Color>,
    /// Share of the row.
    pub width: u16,
    pub unit: Unit,
    pub thresholds: Thresholds,
    pub body: PanelBody,
    /// Why the panel's query failed at its source (a PromQL error, a
    /// timeout), shown in the panel instead of a crash or a blank.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PanelBody {
    /// A big number with its trend (also a sparkline panel).
    Number {
        now: Option<Reading<f64>>,
        trend: Vec<Point>,
        big: bool,
    },
    Gauge {
        now: Option<Reading<f64>>,
        max: f64,
    },
    Chart {
        lines: Vec<ChartLine>,
        markers: Vec<Marker>,
    },
    Heatmap(crate::core::query::Heat),
    Table {
        by: String,
        columns: Vec<ColumnHead>,
        rows: Vec<TableRow>,
        limit: Option<usize>,
    },
    /// The scene's alerts, as filtered.
    Alerts {
        limit: Option<usize>,
    },
    /// The scene's SLOs.
    Slo,
    /// The scene's events, as filtered.
    Events {
        limit: Option<usize>,
    },
    /// `status`: the text is a health word (healthy, degraded, down) and is
    /// judged by it; otherwise it is shown as written.
    Text {
        text: Option<Reading<String>>,
        status: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChartLine {
    pub name: String,
    pub color: Option<ratatui::style::Color>,
    /// `(ms, value)`, oldest first.
    pub points: Vec<Point>,
    pub fresh_until: Option<i64>,
}

/// An event drawn on a chart at its time.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub ts: i64,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnHead {
    pub title: String,
    pub unit: Unit,
    pub thresholds: Thresholds,
    pub show: Show,
    /// Full scale of a bar.
    pub max: f64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableRow {
    pub name: String,
    pub cells: Vec<TableCell>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableCell {
    pub now: Option<Reading<f64>>,
    pub trend: Vec<Point>,
}

/// What span of time the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeInfo {
    /// Following the newest data, as opposed to paused or scrolled back.
    pub live: bool,
    /// The instant shown (wall clock, ms): now when live, else the one asked for.
    pub to_ms: i64,
    /// Where the page's time grid ends: the right edge of every chart. When
    /// live it is the next step boundary; looking back, the one before.
    pub grid_to_ms: i64,
    pub window_ms: i64,
}

impl Default for TimeInfo {
    fn default() -> Self {
        TimeInfo { live: true, to_ms: 0, grid_to_ms: 0, window_ms: 15 * 60_000 }
    }
}

/// What the data source is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceInfo {
    /// Where the stream comes from, as shown in the status bar.
    pub url: String,
    /// `Some(scenario)` when this is the embedded demo.
    pub demo: Option<String>,
}

/// Health of the link and of the data, for the status bar.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkInfo {
    pub conn: ConnState,
    pub interval_ms: i64,
    /// Wall clock of the newest live point.
    pub last_live_ms: Option<i64>,
    /// Until when the freshest live data of any source counts as fresh.
    pub fresh_until_ms: Option<i64>,
    pub frames_per_sec: f64,
    pub malformed: u64,
    pub last_malformed: Option<String>,
    pub reconnects: u64,
    pub seq_gaps: u64,
    pub backfills: u64,
}

impl Default for LinkInfo {
    fn default() -> Self {
        LinkInfo {
            conn: ConnState::Connecting { attempt: 0 },
            interval_ms: 1000,
            last_live_ms: None,
            fresh_until_ms: None,
            frames_per_sec: 0.0,
            malformed: 0,
            last_malformed: None,
            reconnects: 0,
            seq_gaps: 0,
            backfills: 0,
        }
    }
}

/// Firing alerts by whether someone holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attention {
    pub firing: usize,
    pub acked: usize,
    pub silenced: usize,
    /// Firing, and neither acknowledged nor silenced.
    pub need_action: usize,
    /// Whether a critical one is among those.
    pub critical: bool,
}

/// Whether the screen follows fresh data, as the header says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Following {
    /// Connected, and something on show is fresh.
    Live,
    /// Connected, but everything on show outlived its freshness: the link
    /// is open and nothing comes over it. The age is that of the newest
    /// live data; `None` when none has arrived.
    Stale { age_ms: Option<i64> },
    /// Connected, and the gateway says what it sends is cached, this old.
    Cached { age_ms: Option<i64> },
    /// Not connected.
    Down,
}

/// What one gateway's link is doing, as the sources page judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceHealth {
    /// Connected, and a frame or answer arrived recently.
    Live,
    /// Connected, but nothing has worked for a while: the data may be lying.
    Stale,
    /// Not connected, and the last attempt failed.
    Down,
    /// Not connected and nothing failed: not dialled yet, or a standby.
    #[default]
    Idle,
}

impl SourceHealth {
    /// The word the sources page and `tail --sources` print.
    pub fn name(self) -> &'static str {
        match self {
            SourceHealth::Live => "live",
            SourceHealth::Stale => "stale",
            SourceHealth::Down => "down",
            SourceHealth::Idle => "idle",
        }
    }
}

/// One gateway on the sources page: its link in words, times and rates.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceRow {
    pub url: String,
    /// `gateway`, `prometheus`, `scrape` or `alertmanager`, and the source's name.
    pub kind: crate::core::model::SourceKind,
    pub name: String,
    /// The transport in use, or last used; `None` before the first connection.
    pub transport: Option<Transport>,
    pub health: SourceHealth,
    pub connected: bool,
    /// Wall clock of the last frame or answer that worked.
    pub last_success_ms: Option<i64>,
    pub rtt_ms: Option<f64>,
    pub reconnects: u64,
    pub bytes_per_sec: f64,
    pub frames_per_sec: f64,
    pub points_per_sec: f64,
    pub malformed: u64,
    pub last_error: Option<String>,
    /// What is out of the ordinary in how the link works (a plain stream).
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scene {
    pub source: SourceInfo,
    pub link: LinkInfo,
    /// Titles of the dashboard's pages, in order.
    pub pages: Vec<String>,
    /// Which of them `page` is.
    pub page_index: usize,
    pub page: std::sync::Arc<PageScene>,
    pub time: TimeInfo,
    /// The `/` filter applied to lines, rows, alerts and events.
    pub filter: String,
    /// Firing first, loudest first; narrowed by the filter.
    pub alerts: Vec<Alert>,
    /// What is firing, whatever the filter: the header's count and a wall
    /// display's alarms must not miss what a filter hides.
    pub firing: Firing,
    /// Who acknowledged or silenced an alert, by alert id; alerts that are
    /// neither are left out. Covers every alert in the book, as `firing` does.
    pub hush: std::collections::BTreeMap<String, crate::core::alert::intent::Hush>,
    /// Newest first.
    pub events: Vec<Event>,
    /// Every SLO, in config order.
    pub slos: Vec<crate::core::slo::SloStatus>,
    pub banner: Option<StatusBanner>,
    /// Every gateway, preferred first.
    pub sources: Vec<SourceRow>,
    /// The alert whose detail is open, worked out; `None` when none is.
    pub detail: Option<std::sync::Arc<AlertDetail>>,
    /// The view this scene was worked out for, so the screen can tell the
    /// answer to a key from data for the view before it.
    pub view: crate::tui::pipeline::ViewRequest,
    /// A line for the status bar from the pipeline (a call to the
    /// gateway's book that failed), numbered so it is said once.
    pub notice: Option<(u64, String)>,
}

/// What the detail pane shows of one alert beyond its row in the list.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertDetail {
    pub alert: Alert,
    /// What the series is, in a line: the rule's query, the SLO's burn.
    pub measure: String,
    /// How the value and the threshold are written.
    pub unit: Unit,
    /// The value over the page's window at the instants of its grid (the
    /// last one the instant shown), oldest first; empty without a series.
    pub series: Vec<Point>,
    /// Why the series is empty, when it is.
    pub no_series: Option<String>,
    /// How the value is compared with the threshold (the alert's own).
    pub op: crate::core::alert::rules::Op,
    /// The alert's state changes, oldest first.
    pub history: Vec<HistoryStep>,
}

/// One change in an alert's life: when, and the state it entered.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryStep {
    pub at_ms: i64,
    /// The state's name as the protocol writes it (`pending`, `firing`,
    /// ...), or `started` where only the start is known.
    pub state: String,
}

impl Scene {
    /// A reading is stale once its freshness ran out (nothing new for three
    /// of its source's intervals, or its source's link went down), or when
    /// it never arrived live at all.
    /// Looking back in time only values that were never live, or that had
    /// stopped by the instant shown, are stale: the header says when it is.
    pub fn is_stale<T>(&self, r: &Reading<T>, now_ms: i64) -> bool {
        if !self.time.live {
            return r.fresh_until.is_none();
        }
        // Data the gateway itself calls cached is not fresh, however
        // recently it arrived.
        self.cached_age_ms(now_ms).is_some() || r.fresh_until.is_none_or(|until| now_ms >= until)
    }

    /// When the gateway says what it sends is cached (a `status` frame's
    /// `data_freshness`), and the link is up: the age it gave, carried on
    /// to now (`None` inside when it gave none).
    pub fn cached_age_ms(&self, now_ms: i64) -> Option<Option<i64>> {
        if !self.link.conn.is_connected() {
            return None;
        }
        let banner = self.banner.as_ref()?;
        let age = banner.cached()?;
        Some(age.map(|a| a + (now_ms - banner.since_ms).max(0)))
    }

    /// The first panel titled `title` on the page, for tests and tools.
    pub fn panel(&self, title: &str) -> Option<&PanelScene> {
        self.page.rows.iter().flat_map(|r| &r.panels).find(|p| p.title == title)
    }

    /// A number panel's reading and trend, by title.
    pub fn number(&self, title: &str) -> Option<(Option<&Reading<f64>>, &[Point])> {
        match &self.panel(title)?.body {
            PanelBody::Number { now, trend, .. } => Some((now.as_ref(), trend)),
            _ => None,
        }
    }

    /// Age of the newest live data, in ms.
    pub fn data_age_ms(&self, now_ms: i64) -> Option<i64> {
        self.link.last_live_ms.map(|t| (now_ms - t).max(0))
    }

    /// What fires, weighed against acks and silences: an alert someone
    /// acknowledged or silenced is held, and only the rest need action.
    pub fn attention(&self, now_ms: i64) -> Attention {
        let mut a = Attention { firing: self.firing.count, ..Attention::default() };
        for (id, severity) in &self.firing.ids {
            match self.hush.get(id) {
                Some(Hush { silenced: Some((until, _)), .. }) if *until > now_ms => a.silenced += 1,
                Some(Hush { acked_by: Some(_), .. }) => a.acked += 1,
                _ => {
                    a.need_action += 1;
                    a.critical |= *severity == Severity::Critical;
                }
            }
        }
        a
    }

    /// Whether the screen follows fresh data at `now_ms`. It does while any
    /// of the page's data is fresh, by the same rule that marks a panel
    /// stale, so the header turns stale with the last panel; a page that
    /// shows no live data (an alert list) goes by the freshest data held.
    pub fn following(&self, now_ms: i64) -> Following {
        if !self.link.conn.is_connected() {
            return Following::Down;
        }
        if let Some(age_ms) = self.cached_age_ms(now_ms) {
            return Following::Cached { age_ms };
        }
        match self.page.fresh_until.or(self.link.fresh_until_ms) {
            Some(until) if now_ms < until => Following::Live,
            _ => Following::Stale { age_ms: self.data_age_ms(now_ms) },
        }
    }
}
