//! The state file's format: plain serde types and the conversions between
//! them and the store's. Timestamps are stored as differences and values as
//! columns, which keeps a day of the demo to a few MB of JSON.

use crate::core::model::{Alert, HistogramValue, Kind, OriginKind, Sample};
use crate::core::slo::ledger::Ledger;
use crate::wire::{self, AlertFrame, EventFrame, Labels, MetricInfo, MetricKind, WireNum, WireTime};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Format of the file; any other is ignored.
pub(crate) const VERSION: u32 = 1;

/// The file. `S` is a series: raw JSON when writing (each series is
/// serialised on its own, to keep within the size limit), typed when reading.
#[derive(Serialize, Deserialize)]
pub(crate) struct Saved<S> {
    pub(crate) vigil_state: u32,
    /// The gateways the state came from, as named in the file name.
    pub(crate) source: String,
    /// What the gateway that produced the data called itself in its
    /// `hello`; absent when none said (and in files from before it was
    /// kept). Data of another producer is not joined to the live data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) producer: Option<String>,
    pub(crate) saved_ms: i64,
    pub(crate) interval_ms: i64,
    pub(crate) metrics: Vec<MetricInfo>,
    pub(crate) alerts: Vec<SavedAlert>,
    pub(crate) events: Vec<EventFrame>,
    /// What a gateway keeps beside its store; absent in a dashboard's file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) gateway: Option<GatewayPart>,
    pub(crate) series: Vec<S>,
}

/// A gateway's own part of its state file.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct GatewayPart {
    /// The catalogue `hello` lists, pushed metrics' kinds included: they
    /// are in no input's catalogue, and without them the restored series
    /// would be of metrics the gateway does not know.
    pub catalogue: Vec<MetricInfo>,
    /// The first generation of the push log the file does not cover: the
    /// generations before it were taken into the store before it was saved.
    pub log_generation: u64,
}

/// The SLO ledgers' file: the ledgers and who produced what they counted.
/// Files from before the producer was kept hold the bare list.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum SavedLedgers {
    Tagged {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        producer: Option<String>,
        ledgers: Vec<Ledger>,
    },
    Bare(Vec<Ledger>),
}

#[derive(Serialize, Deserialize)]
pub(crate) struct SavedAlert {
    #[serde(flatten)]
    pub(crate) alert: AlertFrame,
    pub(crate) updated_ms: i64,
    /// Who made the alert; absent in files from before it was saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) origin: Option<OriginKind>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct SavedSeries {
    pub(crate) metric: String,
    #[serde(default)]
    pub(crate) labels: Labels,
    pub(crate) kind: MetricKind,
    /// Finest first, as `store::TIERS`.
    pub(crate) tiers: Vec<SavedTier>,
}

/// One tier, as columns: newest timestamps (the first absolute, then each
/// the difference to the one before), samples folded per slot (empty when
/// all are 1, as in the raw tier), and values.
#[derive(Serialize, Deserialize, Default)]
pub(crate) struct SavedTier {
    pub(crate) t: Vec<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) n: Vec<u32>,
    pub(crate) v: Vec<SavedSample>,
}

/// Shapes differ, so the untagged form is unambiguous: numbers (or the
/// protocol's non-finite strings), `{"s": text}`, `{"b": buckets, ...}`.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum SavedSample {
    Number(WireNum),
    Text { s: String },
    Histogram { b: Vec<(WireNum, WireNum)>, sum: WireNum, count: WireNum },
}

pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 256 && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

pub(crate) fn saved_tier(tier: &crate::core::store::Tier) -> SavedTier {
    let mut out = SavedTier::default();
    let mut prev = 0;
    for slot in tier.slots() {
        out.t.push(slot.newest - prev);
        prev = slot.newest;
        out.n.push(slot.n);
        out.v.push(match &slot.sample {
            Sample::Number(v) => SavedSample::Number(WireNum(*v)),
            Sample::Text(t) => SavedSample::Text { s: t.to_string() },
            Sample::Histogram(h) => SavedSample::Histogram {
                b: h.buckets.iter().map(|&(le, c)| (WireNum(le), WireNum(c))).collect(),
                sum: WireNum(h.sum),
                count: WireNum(h.count),
            },
        });
    }
    if out.n.iter().all(|&n| n == 1) {
        out.n.clear();
    }
    out
}

pub(crate) fn tier_slots(tier: SavedTier) -> Vec<(i64, u32, Sample)> {
    let mut ts = 0i64;
    let counts = tier.n.into_iter().chain(std::iter::repeat(1));
    tier.t
        .into_iter()
        .zip(counts)
        .zip(tier.v)
        .map(|((dt, n), v)| {
            ts = ts.saturating_add(dt);
            let sample = match v {
                SavedSample::Number(v) => Sample::Number(v.0),
                SavedSample::Text { s } => Sample::Text(Arc::from(wire::sanitize(&s))),
                SavedSample::Histogram { b, sum, count } => Sample::Histogram(Arc::new(HistogramValue {
                    buckets: b.into_iter().take(wire::MAX_BUCKETS).map(|(le, c)| (le.0, c.0)).collect(),
                    sum: sum.0,
                    count: count.0,
                })),
            };
            (ts, n, sample)
        })
        .collect()
}

pub(crate) fn metric_kind(kind: Kind) -> MetricKind {
    match kind {
        Kind::Gauge => MetricKind::Gauge,
        Kind::Counter => MetricKind::Counter,
        Kind::Histogram => MetricKind::Histogram,
        Kind::Status => MetricKind::Status,
    }
}

pub(crate) fn alert_frame(a: Alert) -> AlertFrame {
    let (state, severity) = (a.state.name(), a.severity.name());
    AlertFrame {
        seq: None,
        id: a.id,
        state: state.into(),
        severity: severity.into(),
        metric: a.metric,
        labels: a.labels,
        value: a.value.map(WireNum),
        threshold: a.threshold.map(WireNum),
        summary: a.summary,
        starts_at: a.starts_at.map(WireTime),
        ends_at: a.ends_at.map(WireTime),
        marks: Default::default(),
    }
}

pub(crate) fn clean_alert(mut a: AlertFrame) -> AlertFrame {
    for text in [&mut a.id, &mut a.metric, &mut a.summary, &mut a.state, &mut a.severity] {
        *text = wire::sanitize(text);
    }
    a.labels = wire::sanitize_labels(&a.labels);
    a
}
