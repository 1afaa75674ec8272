//! Which incident a report is about. Each alert's changes make episodes
//! (from its first pending or firing to its resolution); episodes that
//! overlap belong to one incident, since alerts that burn together usually
//! share a cause. The incident reported is the latest one, up to the
//! instant on screen, in which something fired.

use super::timeline::{AlertSource, Step, Timeline, What};
use crate::core::model::{Labels, Severity};
use std::collections::HashMap;

/// How far back from the instant on screen an incident may have ended.
pub const LOOK_BACK_MS: i64 = 24 * 3_600_000;

/// One alert from its first symptom to its end.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    pub id: String,
    pub name: String,
    pub source: AlertSource,
    pub severity: Severity,
    pub labels: Labels,
    pub threshold: Option<f64>,
    /// First pending (or firing, for an alert with no `for`).
    pub started_ms: i64,
    pub fired_ms: Option<i64>,
    /// When it resolved or dropped; `None` while it lasts.
    pub ended_ms: Option<i64>,
    /// The highest value its changes reported.
    pub peak: Option<f64>,
}

/// Overlapping episodes with at least one that fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// By start.
    pub episodes: Vec<Episode>,
}

impl Incident {
    /// The first symptom: the earliest pending or firing.
    pub fn started_ms(&self) -> i64 {
        self.episodes.iter().map(|e| e.started_ms).min().unwrap_or_default()
    }

    /// Detection: the first firing.
    pub fn detected_ms(&self) -> Option<i64> {
        self.episodes.iter().filter_map(|e| e.fired_ms).min()
    }

    /// The last resolution; `None` while any alert still lasts.
    pub fn resolved_ms(&self) -> Option<i64> {
        self.episodes.iter().map(|e| e.ended_ms).collect::<Option<Vec<_>>>()?.into_iter().max()
    }

    /// The episode that fired first, which names the incident.
    pub fn lead(&self) -> Option<&Episode> {
        self.episodes.iter().filter(|e| e.fired_ms.is_some()).min_by_key(|e| (e.fired_ms, e.severity))
    }
}

/// Every alert episode in the timeline, by start.
pub fn episodes(timeline: &Timeline) -> Vec<Episode> {
    let mut open: HashMap<&str, usize> = HashMap::new();
    let mut all: Vec<Episode> = Vec::new();
    for e in timeline.entries() {
        let What::Alert(a) = &e.what else { continue };
        let i = match open.get(a.id.as_str()) {
            Some(&i) => i,
            // An alert already over (or a gateway alert first heard of as
            // resolved) starts nothing.
            None if a.step.ends() => continue,
            None => {
                all.push(Episode {
                    id: a.id.clone(),
                    name: a.name.clone(),
                    source: a.source,
                    severity: a.severity,
                    labels: a.labels.clone(),
                    threshold: a.threshold,
                    started_ms: e.at_ms,
                    fired_ms: None,
                    ended_ms: None,
                    peak: None,
                });
                open.insert(&a.id, all.len() - 1);
                all.len() - 1
            }
        };
        let ep = &mut all[i];
        if matches!(a.step, Step::Firing | Step::DataBack) && ep.fired_ms.is_none() {
            ep.fired_ms = Some(e.at_ms);
        }
        if let Some(v) = a.value.filter(|v| v.is_finite()) {
            ep.peak = Some(ep.peak.map_or(v, |p| p.max(v)));
        }
        ep.severity = ep.severity.min(a.severity);
        if a.step.ends() {
            ep.ended_ms = Some(e.at_ms);
            open.remove(a.id.as_str());
        }
    }
    all
}

/// The incident around `at_ms`: the latest group of overlapping episodes
/// that started by then, ended no more than [`LOOK_BACK_MS`] before it,
/// and fired. `None` when nothing fired in that time.
pub fn find(timeline: &Timeline, at_ms: i64) -> Option<Incident> {
    let mut near: Vec<Episode> = episodes(timeline)
        .into_iter()
        .filter(|e| e.started_ms <= at_ms && e.ended_ms.is_none_or(|end| end >= at_ms - LOOK_BACK_MS))
        .collect();
    near.sort_by_key(|e| e.started_ms);
    let mut groups: Vec<Vec<Episode>> = Vec::new();
    let mut group_end = i64::MIN;
    for e in near {
        let end = e.ended_ms.unwrap_or(i64::MAX);
        match groups.last_mut() {
            Some(g) if e.started_ms <= group_end => {
                g.push(e);
                group_end = group_end.max(end);
            }
            _ => {
                groups.push(vec![e]);
                group_end = end;
            }
        }
    }
    let episodes = groups.into_iter().rev().find(|g| g.iter().any(|e| e.fired_ms.is_some()))?;
    Some(Incident { episodes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::incident::timeline::{AlertChange, Entry};

    const T: i64 = 1_751_279_400_000;
    const MIN: i64 = 60_000;

    fn change(t: &mut Timeline, min: i64, id: &str, step: Step, value: f64) {
        let a = AlertChange {
            id: id.into(),
            name: id.into(),
            source: AlertSource::Rule,
            step,
            severity: Severity::Warning,
            labels: Labels::new(),
            value: Some(value),
            threshold: None,
            summary: String::new(),
            replayed: false,
        };
        t.record(Entry { at_ms: T + min * MIN, what: What::Alert(a) }, T + 120 * MIN);
    }

    #[test]
    fn overlapping_alerts_make_one_incident_and_the_latest_that_fired_is_chosen() {
        let mut t = Timeline::default();
        // An early incident, then a pending that dropped, then two that overlap.
        change(&mut t, 0, "old", Step::Firing, 1.0);
        change(&mut t, 5, "old", Step::Resolved, 0.0);
        change(&mut t, 10, "blip", Step::Pending, 1.0);
        change(&mut t, 11, "blip", Step::Dropped, 0.0);
        change(&mut t, 20, "a", Step::Pending, 2.0);
        change(&mut t, 22, "a", Step::Firing, 7.0);
        change(&mut t, 25, "b", Step::Firing, 3.0);
        change(&mut t, 30, "a", Step::Resolved, 1.0);
        change(&mut t, 40, "b", Step::Resolved, 1.0);
        let now = find(&t, T + 60 * MIN).unwrap();
        let ids: Vec<_> = now.episodes.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(now.started_ms(), T + 20 * MIN);
        assert_eq!(now.detected_ms(), Some(T + 22 * MIN));
        assert_eq!(now.resolved_ms(), Some(T + 40 * MIN));
        assert_eq!(now.lead().unwrap().id, "a");
        assert_eq!(now.episodes[0].peak, Some(7.0));
        // Looking back to before it, the earlier incident; the blip alone never fired.
        let then = find(&t, T + 15 * MIN).unwrap();
        assert_eq!(then.episodes.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["old"]);
        assert_eq!(find(&t, T - MIN), None);
        // A day after the last resolution, nothing is near enough.
        assert_eq!(find(&t, T + 40 * MIN + LOOK_BACK_MS + 1), None);
    }

    #[test]
    fn an_alert_still_firing_makes_the_incident_ongoing() {
        let mut t = Timeline::default();
        change(&mut t, 0, "a", Step::Firing, 1.0);
        change(&mut t, 1, "b", Step::Pending, 1.0);
        change(&mut t, 2, "a", Step::Resolved, 0.0);
        let i = find(&t, T + 3 * MIN).unwrap();
        assert_eq!(i.episodes.len(), 2);
        assert_eq!(i.resolved_ms(), None);
    }
}
