//! What a gateway fed by real inputs holds: a core, as a dashboard keeps
//! one, with the store every screen's history comes from and the rules and
//! SLOs evaluated once for all of them; and the catalogue `hello` lists,
//! which grows as inputs bring metrics the gateway had not seen.
//!
//! The simulator needs none of this: it can compute any instant it is asked
//! for. Real data is only what arrived, so it is kept.

use super::rest::HistoryQuery;
use crate::core::alert::rules::RuleSpec;
use crate::core::model::{Alert, AlertState, Observation, Sample, SourceId, Update};
use crate::core::slo::SloSpec;
use crate::core::{Core, Setup};
use crate::gateway::inputs;
use crate::persist::{self, GatewayPart, Restored, Snapshot};
use crate::wire::{
    AlertFrame, HistoricalPoint, HistoricalResponse, HistoricalSeries, Labels, MetricInfo, MetricKind, Point,
    PointValue, WireNum, WireTime,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

/// The gateway's core and catalogue.
pub(crate) struct Held {
    core: Mutex<Core>,
    /// Whether any rule runs here (the simulator's gateway has its own).
    has_rules: bool,
    /// Whether any SLO's burn alerts are raised here.
    has_slos: bool,
    catalogue: RwLock<Catalogue>,
}

/// Metrics in the order they were first seen, with their kinds.
#[derive(Default)]
struct Catalogue {
    list: Vec<MetricInfo>,
    kinds: HashMap<String, MetricKind>,
}

impl Catalogue {
    /// Adds what is new; a metric keeps the kind it was first given, so a
    /// screen never sees one change under it.
    fn learn(&mut self, metrics: impl IntoIterator<Item = MetricInfo>) -> bool {
        let mut grew = false;
        for m in metrics {
            if !self.kinds.contains_key(&m.name) {
                self.kinds.insert(m.name.clone(), m.kind);
                self.list.push(m);
                grew = true;
            }
        }
        grew
    }
}

/// What one update changed for the screens.
#[derive(Debug, Default)]
pub(crate) struct Taken {
    /// Points to send, as one frame per timestamp.
    pub frames: Vec<(i64, Vec<Point>)>,
    /// The catalogue grew: new connections' `hello` lists more.
    pub catalogue: bool,
}

impl Held {
    /// A core that evaluates `rules` and `slos` every `every_ms`.
    pub fn new(rules: Vec<RuleSpec>, slos: Vec<SloSpec>, every_ms: i64) -> Held {
        let setup = Setup { every_ms: Some(every_ms.max(1_000)), ..Setup::default() };
        let mut core = Core::new(setup);
        let has_rules = !rules.is_empty();
        let has_slos = !slos.is_empty();
        core.set_rules(Arc::new(rules));
        core.set_slos(Arc::new(slos));
        core.tell_changes();
        Held { core: Mutex::new(core), has_rules, has_slos, catalogue: RwLock::new(Catalogue::default()) }
    }

    pub fn has_rules(&self) -> bool {
        self.has_rules
    }

    pub fn has_slos(&self) -> bool {
        self.has_slos
    }

    fn core(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Folds one input's update into the core and says what to send.
    pub fn take(&self, update: Update, now_ms: i64) -> Taken {
        let mut taken = Taken::default();
        if let Update::Catalogue { metrics, .. } = &update {
            let infos = metrics.iter().map(inputs::metric_info);
            taken.catalogue = self.catalogue.write().unwrap_or_else(|e| e.into_inner()).learn(infos);
        }
        match update {
            // Folded in first, then moved into the screens' frames.
            Update::Samples { observations, live: true, source, .. } => {
                self.core().apply_samples(&observations, true, source, now_ms);
                taken.frames = inputs::into_frames(observations);
            }
            update => self.core().apply(update, now_ms),
        }
        taken
    }

    /// Metrics a producer pushed, with the kinds it was read as.
    pub fn learn(&self, kinds: &[(String, MetricKind)]) -> bool {
        let infos = kinds.iter().map(|(name, kind)| MetricInfo {
            name: name.clone(),
            kind: *kind,
            unit: String::new(),
            help: String::new(),
        });
        self.catalogue.write().unwrap_or_else(|e| e.into_inner()).learn(infos)
    }

    pub fn catalogue(&self) -> Vec<MetricInfo> {
        self.catalogue.read().unwrap_or_else(|e| e.into_inner()).list.clone()
    }

    pub fn kind_of(&self, metric: &str) -> Option<MetricKind> {
        self.catalogue.read().unwrap_or_else(|e| e.into_inner()).kinds.get(metric).copied()
    }

    /// Runs the rules and SLOs when a step is due; the alert changes as
    /// frames, oldest first.
    pub fn evaluate(&self, now_ms: i64) -> Vec<AlertFrame> {
        let mut core = self.core();
        core.evaluate(now_ms);
        core.take_told().into_iter().filter_map(|t| t.after.or(t.before)).map(|a| alert_frame(&a)).collect()
    }

    /// Plays the rules over the history held, after a restart restored it:
    /// an alert that was firing before the stop is firing again at once,
    /// from where the data says it started, not pending anew. The changes
    /// the replay went through are history, not news for the screens.
    pub fn replay_rules(&self, now_ms: i64) -> usize {
        if !self.has_rules {
            return 0;
        }
        let mut core = self.core();
        let changes = core.replay_rules(now_ms);
        core.take_told();
        changes
    }

    /// The alerts now pending or firing, for a screen that arrives later.
    pub fn active_alerts(&self) -> Vec<AlertFrame> {
        let core = self.core();
        core.alerts().sorted().iter().filter(|a| a.state != AlertState::Resolved).map(alert_frame).collect()
    }

    /// The newest point of every series fresh enough to still be current
    /// (`since_ms` on), for a session that subscribes now.
    pub fn latest(&self, since_ms: i64) -> Vec<Point> {
        let core = self.core();
        core.store
            .iter()
            .filter_map(|(key, series)| {
                let (ts, sample) = series.latest()?;
                (ts >= since_ms).then(|| inputs::point(&Observation { key: key.clone(), ts, sample: sample.clone() }))
            })
            .collect()
    }

    /// The newest value of every unlabelled gauge and status, for
    /// `GET /api/v1/metrics/realtime`.
    pub fn realtime(&self) -> Vec<(String, PointValue)> {
        let kinds = self.catalogue.read().unwrap_or_else(|e| e.into_inner()).kinds.clone();
        let core = self.core();
        let mut out = Vec::new();
        for (key, series) in core.store.iter() {
            if !key.labels.is_empty() {
                continue;
            }
            let value = match (series.latest().map(|(_, s)| s), kinds.get(&key.metric)) {
                (Some(Sample::Number(v)), Some(MetricKind::Gauge)) => PointValue::Number(WireNum(*v)),
                (Some(Sample::Text(t)), Some(MetricKind::Status)) => PointValue::Text(t.to_string()),
                _ => continue,
            };
            out.push((key.metric.clone(), value));
        }
        out
    }

    /// The time of the oldest point the store holds of `metric`: history
    /// before it must come from elsewhere.
    pub fn oldest_of(&self, metric: &str) -> Option<i64> {
        self.core().store.of_metric(metric).filter_map(|(_, s)| s.oldest()).min()
    }

    /// History from the store: for every series of the metric that the
    /// matchers take, the newest value in each granularity step.
    pub fn history(&self, q: &HistoryQuery) -> HistoricalResponse {
        let stamps: Vec<i64> = q.timestamps().collect();
        let first = stamps.first().copied().unwrap_or(q.end_ms) - q.granularity_ms;
        let core = self.core();
        let mut series: BTreeMap<Labels, Vec<HistoricalPoint>> = BTreeMap::new();
        for (key, s) in core.store.of_metric(&q.metric) {
            if !q.matchers.iter().all(|(k, v)| key.labels.get(k) == Some(v)) {
                continue;
            }
            let points = s.stitched(first);
            let mut data = Vec::new();
            let mut i = 0;
            for &t in &stamps {
                // The newest point at or before t, and inside its step.
                while i < points.len() && points[i].0 <= t {
                    i += 1;
                }
                let Some(&(ts, sample)) = i.checked_sub(1).map(|j| &points[j]) else { continue };
                if ts <= t - q.granularity_ms {
                    continue;
                }
                let p = inputs::point(&Observation { key: key.clone(), ts: t, sample: sample.clone() });
                data.push(HistoricalPoint { timestamp: WireTime(t), value: p.value, histogram: p.histogram });
            }
            if !data.is_empty() {
                series.insert(key.labels.clone(), data);
            }
        }
        let series: Vec<HistoricalSeries> =
            series.into_iter().map(|(labels, data)| HistoricalSeries { labels, data }).collect();
        let data = (series.len() == 1).then(|| series[0].data.clone());
        HistoricalResponse {
            metric: q.metric.clone(),
            period: q.period.clone(),
            granularity: q.granularity.clone(),
            series,
            data,
            partial: None,
        }
    }

    /// Folds points pushed for `at_ms` into the core and hands them back
    /// for the screens. Names and labels move into the store's input and
    /// back out, never copied: a push may hold thousands of points.
    pub fn take_pushed(&self, points: Vec<Point>, at_ms: i64, now_ms: i64) -> Vec<Point> {
        let observations = crate::sources::convert::into_observations(at_ms, points);
        self.core().apply_samples(&observations, true, SourceId::GATEWAY, now_ms);
        observations.into_iter().map(inputs::into_point).collect()
    }

    /// Points pushed before a restart, read back from the push log: history,
    /// not live data, so no screen takes them for current values.
    pub fn replayed(points: Vec<Point>, at_ms: i64) -> Update {
        let observations = crate::sources::convert::into_observations(at_ms, points);
        Update::Samples { observations, live: false, seq: None, source: SourceId::GATEWAY }
    }

    /// Bumped by every change to what is held: a save with nothing new to
    /// write is skipped.
    pub fn version(&self) -> u64 {
        self.core().data_version
    }

    /// A copy of the store and the catalogue for the state file, with the
    /// version it was taken at.
    pub fn snapshot(&self, source: &str, now_ms: i64, log_generation: u64) -> (Snapshot, u64) {
        let catalogue = self.catalogue();
        let core = self.core();
        let part = GatewayPart { catalogue, log_generation };
        (persist::snapshot(&core, source, now_ms).with_gateway(part), core.data_version)
    }

    /// Puts a saved state back, catalogue included; returns how many
    /// series came back.
    pub fn restore(&self, restored: Restored, now_ms: i64) -> usize {
        let infos = restored.gateway().map(|g| g.catalogue.clone()).unwrap_or_default();
        let infos = infos.into_iter().filter(|m| persist::valid_name(&m.name)).map(|m| MetricInfo {
            unit: crate::wire::sanitize(&m.unit),
            help: crate::wire::sanitize(&m.help),
            ..m
        });
        self.catalogue.write().unwrap_or_else(|e| e.into_inner()).learn(infos);
        persist::put_back(&mut self.core(), restored, now_ms)
    }
}

/// A core alert as the protocol sends it. The id is the rule's name, the
/// series and the start, as the simulator's rules make theirs: a screen
/// names the alert from the part before the first colon, and an alert that
/// fires again later is a new one.
pub(crate) fn alert_frame(a: &Alert) -> AlertFrame {
    let series =
        if a.labels.is_empty() { "-".to_string() } else { a.labels.values().cloned().collect::<Vec<_>>().join(",") };
    let name = a.name().replace(':', " ");
    let start = a.starts_at.map_or(0, |t| t.div_euclid(1000));
    let state = match a.state {
        AlertState::Firing | AlertState::NoData => "firing",
        AlertState::Pending => "pending",
        AlertState::Resolved => "resolved",
    };
    AlertFrame {
        seq: None,
        id: format!("{name}:{series}:{start}"),
        state: state.to_string(),
        severity: a.severity.name().to_string(),
        metric: a.metric.clone(),
        labels: a.labels.clone(),
        value: a.value.map(WireNum),
        threshold: a.threshold.map(WireNum),
        summary: a.summary.clone(),
        starts_at: a.starts_at.map(WireTime),
        ends_at: a.ends_at.map(WireTime),
        marks: Default::default(),
    }
}
