//! The metrics stream protocol (version 1): serde types for every frame,
//! action and REST body, and a defensive decoder. Shared by the dashboard's
//! sources and the gateway, so both speak exactly the same dialect.

mod decode;
pub(crate) use decode::valid_name;
mod num;
mod text;
mod time;

pub use decode::{DecodeError, Decoded, MAX_BUCKETS, MAX_FRAME_BYTES, decode_frame, decode_snapshot};
pub use num::{WireNum, parse_special, special_name};
pub use text::{MAX_LABELS, MAX_TEXT, sanitize, sanitize_labels, sanitize_labels_owned};
pub use time::{
    WireTime, format_duration_ms, format_time, ms_to_system, now_ms, parse_duration_ms, parse_time,
    parse_time_any_offset, system_to_ms,
};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// Path of the WebSocket stream.
pub const STREAM_PATH: &str = "/api/v1/metrics/stream";
/// Path of the Server-Sent Events stream.
pub const EVENTS_PATH: &str = "/api/v1/metrics/events";
pub const REALTIME_PATH: &str = "/api/v1/metrics/realtime";
pub const HISTORICAL_PATH: &str = "/api/v1/metrics/historical";
pub const ALERT_SUBSCRIBE_PATH: &str = "/api/v1/alerts/subscribe";
/// Path of the events a gateway remembers (deploys and the like), asked for
/// by time. Not part of the protocol: vigil's own gateway serves it so a
/// dashboard that connects late still sees what happened before; other
/// servers may well answer 404.
pub const EVENT_HISTORY_PATH: &str = "/api/v1/events";
/// Where producers push points to our gateway: a `metrics` frame or a flat
/// snapshot as the body. Our gateway's own route, beside the protocol's.
pub const PUSH_PATH: &str = "/api/v1/metrics";

/// Our gateway's shared silences: `POST` makes one, `GET` lists them,
/// `DELETE {SILENCES_PATH}/{id}` expires one. Our gateway's own route, with
/// the [`CAP_ACKS`] capability.
pub const SILENCES_PATH: &str = "/api/v1/silences";
/// The acknowledgements our gateway holds (`GET`).
pub const ACKS_PATH: &str = "/api/v1/acks";
/// An alert's acknowledgement is `{ALERTS_PATH}/{id}/ack` (`POST` to give
/// it, `DELETE` to take it back).
pub const ALERTS_PATH: &str = "/api/v1/alerts";

/// A label set; ordered so that equal sets compare and hash equal.
pub type Labels = BTreeMap<String, String>;

/// What kind of values a metric carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    #[default]
    Gauge,
    Counter,
    Histogram,
    Status,
    /// A kind this build does not know; its series are shown as gauges.
    #[serde(other)]
    Unknown,
}

/// One entry of `hello.metrics`: the gateway's catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricInfo {
    pub name: String,
    #[serde(default)]
    pub kind: MetricKind,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub unit: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help: String,
}

/// Cumulative histogram: `(upper bound, cumulative count)` pairs, sum and count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Histogram {
    pub buckets: Vec<(WireNum, WireNum)>,
    #[serde(default)]
    pub sum: WireNum,
    #[serde(default)]
    pub count: WireNum,
}

/// A point's value: a number, or text for `status` metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PointValue {
    Number(WireNum),
    Text(String),
}

/// One sample of one series inside a `metrics` frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub metric: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<PointValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Histogram>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    #[serde(default)]
    pub protocol: u32,
    #[serde(default)]
    pub server: String,
    #[serde(default)]
    pub session: String,
    #[serde(default)]
    pub seq: u64,
    #[serde(default)]
    pub interval_ms: u64,
    #[serde(default)]
    pub metrics: Vec<MetricInfo>,
    /// What the server does beyond the protocol (our gateway's additions):
    /// [`CAP_RULES`] when it evaluates the alert rules itself. Absent from
    /// other servers' hellos, which is the same as none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
}

/// A hello capability: the gateway evaluates the alert rules for every
/// screen and streams their alerts, so a screen runs none of its own.
pub const CAP_RULES: &str = "rules";
/// A hello capability: the gateway works out the SLOs of its config and
/// streams their burn alerts, so a screen that tracks the same SLOs shows
/// their budgets but raises none of those alerts itself.
pub const CAP_SLOS: &str = "slos";
/// A hello capability: `GET /api/v1/events` answers the events of the last day.
pub const CAP_EVENTS: &str = "events";
/// A hello capability: producers may push points to `POST /api/v1/metrics`.
pub const CAP_INGEST: &str = "ingest";
/// A hello capability: the gateway keeps one book of acknowledgements and
/// silences for every screen (the routes under [`ALERTS_PATH`],
/// [`SILENCES_PATH`] and [`ACKS_PATH`]), and its `alert` frames carry what
/// it says of each alert ([`AlertMarks`]), sent again whenever that changes.
pub const CAP_ACKS: &str = "acks";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub timestamp: WireTime,
    #[serde(default)]
    pub points: Vec<Point>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub id: String,
    pub state: String,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub metric: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<WireNum>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<WireNum>,
    #[serde(default)]
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<WireTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<WireTime>,
    /// Who acknowledged or silenced the alert, on a gateway with the
    /// [`CAP_ACKS`] capability; fields beside the protocol's, which other
    /// clients ignore.
    /// (Boxed: most alerts carry none, and every frame is as large as the
    /// largest kind.)
    #[serde(flatten)]
    pub marks: Box<AlertMarks>,
}

/// What a gateway's shared book says of one alert: an `alert` frame's
/// additional fields. A frame without them, from a gateway that offers
/// [`CAP_ACKS`], says the alert is neither acknowledged nor silenced.
/// A field of the wrong type is read as absent: the alert itself matters
/// more than its marks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AlertMarks {
    /// Who acknowledged it, and when.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub acked_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub acked_at: Option<WireTime>,
    /// Who made the silence covering it that ends last, and when that ends.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub silenced_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient")]
    pub silenced_until: Option<WireTime>,
    /// Every active silence covering it, by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "lenient")]
    pub silence_ids: Vec<String>,
}

impl AlertMarks {
    pub fn is_empty(&self) -> bool {
        *self == AlertMarks::default()
    }
}

/// A field read if it has the expected shape, else left at its default.
fn lenient<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned + Default,
{
    let value = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(value).unwrap_or_default())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub timestamp: WireTime,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub text: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub status: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_freshness: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResetFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorFrame {
    pub message: String,
}

/// Every frame a server may send, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerFrame {
    Hello(Hello),
    Metrics(MetricsFrame),
    Alert(AlertFrame),
    Event(EventFrame),
    Status(StatusFrame),
    Reset(ResetFrame),
    Error(ErrorFrame),
}

impl ServerFrame {
    /// The frame's `seq`, when it carries one.
    pub fn seq(&self) -> Option<u64> {
        match self {
            ServerFrame::Metrics(f) => f.seq,
            ServerFrame::Alert(f) => f.seq,
            ServerFrame::Event(f) => f.seq,
            ServerFrame::Status(f) => f.seq,
            ServerFrame::Reset(f) => f.seq,
            ServerFrame::Hello(_) | ServerFrame::Error(_) => None,
        }
    }

    /// Sets the frame's `seq` (the gateway numbers frames per session).
    pub fn set_seq(&mut self, seq: u64) {
        match self {
            ServerFrame::Metrics(f) => f.seq = Some(seq),
            ServerFrame::Alert(f) => f.seq = Some(seq),
            ServerFrame::Event(f) => f.seq = Some(seq),
            ServerFrame::Status(f) => f.seq = Some(seq),
            ServerFrame::Reset(f) => f.seq = Some(seq),
            ServerFrame::Hello(_) | ServerFrame::Error(_) => {}
        }
    }

    /// The `type` tag as it appears on the wire.
    pub fn type_name(&self) -> &'static str {
        match self {
            ServerFrame::Hello(_) => "hello",
            ServerFrame::Metrics(_) => "metrics",
            ServerFrame::Alert(_) => "alert",
            ServerFrame::Event(_) => "event",
            ServerFrame::Status(_) => "status",
            ServerFrame::Reset(_) => "reset",
            ServerFrame::Error(_) => "error",
        }
    }
}

/// Names in a `subscribe` or `unsubscribe`: `metric`, `metrics`, or both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MetricNames {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Vec<String>>,
}

impl MetricNames {
    pub fn one(name: &str) -> Self {
        MetricNames { metric: Some(name.to_string()), metrics: None }
    }
    /// All names, `metric` first.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.metric.iter().chain(self.metrics.iter().flatten()).map(String::as_str)
    }
}

/// Everything a client may send, tagged by `action`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum ClientAction {
    Subscribe(MetricNames),
    Unsubscribe(MetricNames),
    Resume { session: String, since_seq: u64 },
}

/// One point of a `historical` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoricalPoint {
    pub timestamp: WireTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<PointValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Histogram>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoricalSeries {
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub data: Vec<HistoricalPoint>,
}

/// The body of `GET /api/v1/metrics/historical`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoricalResponse {
    pub metric: String,
    #[serde(default)]
    pub period: String,
    #[serde(default)]
    pub granularity: String,
    #[serde(default)]
    pub series: Vec<HistoricalSeries>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Vec<HistoricalPoint>>,
    /// Set when part of the span could not be read (our gateway's upstream
    /// did not answer for what lies before its own store): why, in one
    /// line. An addition to the protocol; absent means the answer is whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<String>,
}

/// The body of `GET /api/v1/events`: the events asked for, oldest first,
/// each with the fields of an `event` frame (no `seq`: they belong to no
/// session).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventHistory {
    pub events: Vec<EventFrame>,
}

/// The body of every REST error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}
