//! The incident timetable. Everything here is arithmetic on the clock, so
//! "what is playing at t" and "which events fall in (from, to]" are answered
//! without walking time second by second.
//!
//! Single scenarios repeat every 10 minutes, aligned to the Unix epoch:
//! minutes 0-2 normal, 2-7 incident, 7-10 recovered. The tour repeats every
//! 30 minutes: six 5-minute slots, each with its incident at minutes 1-4.

use super::Scenario;
use super::noise::{smoothstep, stream, unit};
use crate::wire::{EventFrame, Labels, StatusFrame, WireTime};

/// Length of a single scenario's cycle.
pub const PERIOD_MS: i64 = 600_000;
/// Length of the tour's cycle.
pub const TOUR_PERIOD_MS: i64 = 1_800_000;
/// Length of one tour slot.
pub const TOUR_SLOT_MS: i64 = 300_000;
/// What each tour slot plays, in order.
pub const TOUR: [Scenario; 6] = [
    Scenario::Calm,
    Scenario::LongTail,
    Scenario::ErrorBurst,
    Scenario::CpuSaturation,
    Scenario::BadDeploy,
    Scenario::Degraded,
];

/// Incident bounds inside a single scenario's period.
const SINGLE_WINDOW_MS: (i64, i64) = (120_000, 420_000);
/// Incident bounds inside a tour slot.
const TOUR_WINDOW_MS: (i64, i64) = (60_000, 240_000);
/// Every incident eases out over this long before its window ends, so the
/// service is back to normal when the window closes.
const RAMP_OUT_MS: i64 = 30_000;
/// Background deploys happen once per this span.
const DEPLOY_EVERY_MS: i64 = 7_200_000;
/// Queries longer than this are clamped to their most recent part, so a
/// hostile `from` cannot make the schedule loop for minutes.
const MAX_SPAN_MS: i64 = 31 * 86_400_000;
/// Times are clamped to about 8000 years either side of the epoch (up to
/// the end of year 9999), so period arithmetic never overflows.
const MAX_TIME_MS: i64 = 253_402_300_799_000;

/// `t_ms` pulled into the range the simulator computes over.
pub(crate) fn clamp_time(t_ms: i64) -> i64 {
    t_ms.clamp(-MAX_TIME_MS, MAX_TIME_MS)
}

/// One incident of the timetable: which single scenario plays and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncidentWindow {
    /// A single scenario (never `Tour`); `Calm` windows hold no incident.
    pub scenario: Scenario,
    /// Incident start, ms since the epoch (inclusive).
    pub start_ms: i64,
    /// Incident end, ms since the epoch (exclusive); fully recovered here.
    pub end_ms: i64,
}

/// The state of the timetable at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Incident {
    pub window: IncidentWindow,
    /// How hard the incident bites, `0..=1` (zero outside the window).
    pub x: f64,
    /// How far through the window we are, `0..=1`.
    pub progress: f64,
}

impl Incident {
    /// The incident state of `scenario` at `t_ms`.
    pub fn at(scenario: Scenario, t_ms: i64) -> Incident {
        let window = window_at(scenario, t_ms);
        let IncidentWindow { scenario: kind, start_ms, end_ms } = window;
        let inside = t_ms >= start_ms && t_ms < end_ms;
        let x = if !inside || kind == Scenario::Calm {
            0.0
        } else if kind == Scenario::Degraded {
            // An outage flips, it does not ramp.
            1.0
        } else {
            let ramp_in = ramp_in_ms(kind) as f64;
            let rise = smoothstep((t_ms - start_ms) as f64 / ramp_in);
            let fall = smoothstep((end_ms - t_ms) as f64 / RAMP_OUT_MS as f64);
            rise * fall
        };
        let progress = ((t_ms - start_ms) as f64 / (end_ms - start_ms) as f64).clamp(0.0, 1.0);
        Incident { window, x, progress }
    }

    /// The intensity of `kind` here: `x` when `kind` is what plays, else 0.
    pub fn of(&self, kind: Scenario) -> f64 {
        if self.window.scenario == kind { self.x } else { 0.0 }
    }

    /// Whether the degraded scenario has taken the shop down at `t_ms`.
    pub fn is_down(&self, t_ms: i64) -> bool {
        let (from, to) = down_stretch(&self.window);
        self.window.scenario == Scenario::Degraded && t_ms >= from && t_ms < to
    }
}

/// How long each kind takes to build up; natural speeds, not one constant.
fn ramp_in_ms(kind: Scenario) -> i64 {
    match kind {
        Scenario::LongTail | Scenario::CpuSaturation => 60_000,
        Scenario::ErrorBurst | Scenario::BadDeploy => 30_000,
        Scenario::Calm | Scenario::Degraded | Scenario::Tour => 1,
    }
}

/// The incident window of the period (or tour slot) that holds `t_ms`.
pub fn window_at(scenario: Scenario, t_ms: i64) -> IncidentWindow {
    match scenario {
        Scenario::Tour => {
            let slot_start = t_ms.div_euclid(TOUR_SLOT_MS) * TOUR_SLOT_MS;
            let slot = slot_start.rem_euclid(TOUR_PERIOD_MS) / TOUR_SLOT_MS;
            let kind = TOUR[slot as usize % TOUR.len()];
            IncidentWindow {
                scenario: kind,
                start_ms: slot_start + TOUR_WINDOW_MS.0,
                end_ms: slot_start + TOUR_WINDOW_MS.1,
            }
        }
        single => {
            let period_start = t_ms.div_euclid(PERIOD_MS) * PERIOD_MS;
            IncidentWindow {
                scenario: single,
                start_ms: period_start + SINGLE_WINDOW_MS.0,
                end_ms: period_start + SINGLE_WINDOW_MS.1,
            }
        }
    }
}

/// Every incident window of `scenario` that starts in `[from_ms, to_ms]`.
fn windows_between(scenario: Scenario, from_ms: i64, to_ms: i64) -> Vec<IncidentWindow> {
    let step = if scenario == Scenario::Tour { TOUR_SLOT_MS } else { PERIOD_MS };
    let mut out = Vec::new();
    let mut block = from_ms.div_euclid(step) * step;
    while block <= to_ms {
        let w = window_at(scenario, block);
        if w.start_ms >= from_ms && w.start_ms <= to_ms {
            out.push(w);
        }
        block += step;
    }
    out
}

/// The middle third of a degraded window, when the shop is fully down.
fn down_stretch(w: &IncidentWindow) -> (i64, i64) {
    let third = (w.end_ms - w.start_ms) / 3;
    (w.start_ms + third, w.start_ms + 2 * third)
}

/// `system_health` at `t_ms`.
pub(crate) fn health(inc: &Incident, t_ms: i64) -> &'static str {
    if inc.is_down(t_ms) {
        "down"
    } else if inc.of(Scenario::Degraded) > 0.0 {
        "degraded"
    } else {
        "healthy"
    }
}

/// `(from, to)` clamped to the computable range and to [`MAX_SPAN_MS`].
fn clamp_span(from_ms: i64, to_ms: i64) -> (i64, i64) {
    let to_ms = clamp_time(to_ms);
    (clamp_time(from_ms).max(to_ms - MAX_SPAN_MS), to_ms)
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn deploy(t_ms: i64, service: &str, version: &str, text: String) -> EventFrame {
    EventFrame {
        seq: None,
        timestamp: WireTime(t_ms),
        kind: "deploy".to_string(),
        text,
        labels: labels(&[("service", service), ("version", version)]),
    }
}

/// Services that take the harmless background deploys. Checkout is left out
/// so its version story stays the one the bad-deploy scenario tells.
const ROUTINE_SERVICES: [(&str, u32); 4] = [("api", 3), ("payments", 2), ("inventory", 1), ("search", 4)];

/// Deploy events with timestamp in `(from_ms, to_ms]`, sorted.
pub(crate) fn events_between(seed: u64, scenario: Scenario, from_ms: i64, to_ms: i64) -> Vec<EventFrame> {
    let (from_ms, to_ms) = clamp_span(from_ms, to_ms);
    if to_ms <= from_ms {
        return Vec::new();
    }
    let mut out = routine_deploys(seed, from_ms, to_ms);
    for w in windows_between(scenario, from_ms.saturating_sub(PERIOD_MS), to_ms) {
        if w.scenario != Scenario::BadDeploy {
            continue;
        }
        let rollback_ms = w.end_ms - RAMP_OUT_MS;
        let scripted = [
            deploy(w.start_ms, "checkout", "v1.4.3", "checkout v1.4.3 deployed".to_string()),
            deploy(rollback_ms, "checkout", "v1.4.2", "checkout rolled back to v1.4.2".to_string()),
        ];
        out.extend(scripted.into_iter().filter(|e| e.timestamp.0 > from_ms && e.timestamp.0 <= to_ms));
    }
    out.sort_by_key(|e| e.timestamp);
    out
}

/// One routine deploy every two hours on a rotating service. Its moment is
/// drawn from the seed but always lands in the first, calm minutes of a
/// 10-minute period (and of a tour's calm slot), so it never muddles an
/// incident.
fn routine_deploys(seed: u64, from_ms: i64, to_ms: i64) -> Vec<EventFrame> {
    const ROUTINE: u64 = stream("routine-deploy");
    let mut out = Vec::new();
    let mut slot = from_ms.div_euclid(DEPLOY_EVERY_MS);
    while slot * DEPLOY_EVERY_MS <= to_ms {
        let quarter = (unit(seed, ROUTINE, slot) * 4.0) as i64;
        let second = (unit(seed, ROUTINE ^ 1, slot) * 60.0) as i64;
        let t_ms = slot * DEPLOY_EVERY_MS + quarter * TOUR_PERIOD_MS + 30_000 + second * 1000;
        if t_ms > from_ms && t_ms <= to_ms {
            let (service, major) = ROUTINE_SERVICES[slot.rem_euclid(ROUTINE_SERVICES.len() as i64) as usize];
            // Each service's own deploy count makes a version that only rises.
            let build = slot.div_euclid(ROUTINE_SERVICES.len() as i64);
            let version = format!("v{major}.{}.{}", build.div_euclid(10).rem_euclid(100), build.rem_euclid(10));
            let text = format!("{service} {version} deployed");
            out.push(deploy(t_ms, service, &version, text));
        }
        slot += 1;
    }
    out
}

/// Status changes with timestamp in `(from_ms, to_ms]`, in order.
pub(crate) fn status_between(scenario: Scenario, from_ms: i64, to_ms: i64) -> Vec<(i64, StatusFrame)> {
    let (from_ms, to_ms) = clamp_span(from_ms, to_ms);
    if to_ms <= from_ms {
        return Vec::new();
    }
    let mut out = Vec::new();
    for w in windows_between(scenario, from_ms.saturating_sub(PERIOD_MS), to_ms) {
        if w.scenario != Scenario::Degraded {
            continue;
        }
        let (down_ms, _) = down_stretch(&w);
        let cached_min = 2 + (down_ms - w.start_ms) / 60_000;
        let changes = [
            (
                w.start_ms,
                "degraded",
                "Real-time data temporarily unavailable".to_string(),
                "cached_2_minutes_ago".to_string(),
            ),
            (
                down_ms,
                "degraded",
                "Upstream down: showing cached data".to_string(),
                format!("cached_{cached_min}_minutes_ago"),
            ),
            (w.end_ms, "ok", "Real-time data is back".to_string(), "live".to_string()),
        ];
        for (t_ms, status, message, freshness) in changes {
            if t_ms > from_ms && t_ms <= to_ms {
                let frame =
                    StatusFrame { seq: None, status: status.to_string(), message, data_freshness: Some(freshness) };
                out.push((t_ms, frame));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn single_windows_sit_at_minutes_two_to_seven() {
        let base = 1_751_241_600_000; // 2025-06-30T00:00:00Z, a multiple of every period
        let w = window_at(Scenario::ErrorBurst, base + 5_000);
        assert_eq!((w.start_ms - base, w.end_ms - base), (120_000, 420_000));
        assert_eq!(Incident::at(Scenario::ErrorBurst, base + 60_000).x, 0.0);
        assert_eq!(Incident::at(Scenario::ErrorBurst, base + 200_000).x, 1.0);
        assert_eq!(Incident::at(Scenario::ErrorBurst, base + 450_000).x, 0.0);
        assert_eq!(Incident::at(Scenario::Calm, base + 200_000).x, 0.0);
    }

    #[test]
    fn tour_slots_play_in_order() {
        let base = 1_751_241_600_000;
        for (i, kind) in TOUR.iter().enumerate() {
            let slot = base + i as i64 * TOUR_SLOT_MS;
            let w = window_at(Scenario::Tour, slot + 150_000);
            assert_eq!(w.scenario, *kind);
            assert_eq!((w.start_ms - slot, w.end_ms - slot), (60_000, 240_000));
        }
    }

    #[test]
    fn routine_deploys_come_every_two_hours_outside_incidents() {
        let base = 1_751_241_600_000;
        let events = events_between(9, Scenario::Tour, base, base + 24 * HOUR);
        assert!(events.windows(2).all(|w| w[0].timestamp < w[1].timestamp));
        // The tour's bad-deploy slot adds its two scripted checkout events per cycle.
        let (scripted, routine): (Vec<_>, Vec<_>) = events.iter().partition(|e| e.labels["service"] == "checkout");
        assert_eq!((routine.len(), scripted.len()), (12, 48 * 2));
        for e in routine {
            let in_period = e.timestamp.0.rem_euclid(PERIOD_MS);
            let in_tour = e.timestamp.0.rem_euclid(TOUR_PERIOD_MS);
            assert!((30_000..90_000).contains(&in_period) && in_tour < 90_000, "{e:?}");
            assert_ne!(e.labels["service"], "checkout");
        }
    }

    #[test]
    fn huge_spans_are_clamped_not_looped() {
        let events = events_between(1, Scenario::BadDeploy, i64::MIN, 1_751_241_600_000);
        assert!(!events.is_empty());
        assert!(status_between(Scenario::Degraded, i64::MIN, i64::MAX).len() > 100);
    }
}
