//! The life of one alert under a rule, with Prometheus's timing: inactive;
//! pending while the condition has held for less than `for`; firing; and
//! resolved once the condition has been false for `keep_firing_for`.
//!
//! One state Prometheus lacks: no data. When a pending or firing alert's
//! series stops reporting, Prometheus drops the alert, which reads as "all
//! well". Here it neither fires nor resolves: it says there is no data,
//! until data comes back and decides.
//!
//! Everything here is a pure function of the previous phase, the verdict of
//! one evaluation and its time, so the rules are tested on virtual time.

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Inactive,
    /// The condition has held since `since`, not yet for `for`.
    Pending {
        since: i64,
    },
    /// Firing since `since`; `quiet_since` is when the condition last
    /// turned false, while `keep_firing_for` holds it up.
    Firing {
        since: i64,
        quiet_since: Option<i64>,
    },
    Resolved {
        at: i64,
    },
    /// Its series stopped reporting at `since`; `firing_since` is kept if it
    /// was firing then.
    NoData {
        since: i64,
        firing_since: Option<i64>,
    },
}

/// A rule's timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timing {
    /// How long the condition must hold before the alert fires.
    pub for_ms: i64,
    /// How long a firing alert stays firing after the condition clears.
    pub keep_firing_for_ms: i64,
}

/// What an evaluation changed: each is one line of the incident timeline
/// and one call of the notification hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Pending,
    Firing,
    Resolved,
    /// A pending alert whose condition cleared before `for` was up.
    Dropped,
    NoData,
    /// Data came back to an alert that had none, still breaching.
    DataBack,
}

impl Change {
    /// Whether the alert is over after this change.
    pub fn ends(self) -> bool {
        matches!(self, Change::Resolved | Change::Dropped)
    }

    pub fn name(self) -> &'static str {
        match self {
            Change::Pending => "pending",
            Change::Firing => "firing",
            Change::Resolved => "resolved",
            Change::Dropped => "dropped",
            Change::NoData => "no data",
            Change::DataBack => "data back",
        }
    }
}

/// One evaluation: the phase after a verdict at `now` (`None`: no data;
/// `Some(true)`: the condition holds), and what changed.
pub fn step(phase: Phase, verdict: Option<bool>, now: i64, t: Timing) -> (Phase, Option<Change>) {
    use Phase::*;
    let breach = |now: i64| {
        if t.for_ms <= 0 {
            (Firing { since: now, quiet_since: None }, Some(Change::Firing))
        } else {
            (Pending { since: now }, Some(Change::Pending))
        }
    };
    match (phase, verdict) {
        (Pending { .. }, None) => (NoData { since: now, firing_since: None }, Some(Change::NoData)),
        (Firing { since, .. }, None) => (NoData { since: now, firing_since: Some(since) }, Some(Change::NoData)),
        (p @ (Inactive | Resolved { .. } | NoData { .. }), None) => (p, None),

        (Inactive | Resolved { .. }, Some(true)) => breach(now),
        (Pending { since }, Some(true)) if now - since >= t.for_ms => {
            (Firing { since: now, quiet_since: None }, Some(Change::Firing))
        }
        (p @ Pending { .. }, Some(true)) => (p, None),
        (Firing { since, .. }, Some(true)) => (Firing { since, quiet_since: None }, None),
        (NoData { firing_since: Some(since), .. }, Some(true)) => {
            (Firing { since, quiet_since: None }, Some(Change::DataBack))
        }
        (NoData { firing_since: None, .. }, Some(true)) => breach(now),

        (p @ (Inactive | Resolved { .. }), Some(false)) => (p, None),
        (Pending { .. }, Some(false)) => (Inactive, Some(Change::Dropped)),
        (Firing { since, quiet_since }, Some(false)) => {
            let quiet = quiet_since.unwrap_or(now);
            if now - quiet >= t.keep_firing_for_ms {
                (Resolved { at: now }, Some(Change::Resolved))
            } else {
                (Firing { since, quiet_since: Some(quiet) }, None)
            }
        }
        (NoData { firing_since: Some(_), .. }, Some(false)) => (Resolved { at: now }, Some(Change::Resolved)),
        (NoData { firing_since: None, .. }, Some(false)) => (Inactive, Some(Change::Dropped)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs verdicts one a second from t = 0; returns each change with its time.
    fn run(verdicts: &[Option<bool>], t: Timing) -> (Phase, Vec<(i64, Change)>) {
        let mut phase = Phase::Inactive;
        let mut changes = Vec::new();
        for (i, v) in verdicts.iter().enumerate() {
            let now = i as i64 * 1000;
            let (next, change) = step(phase, *v, now, t);
            phase = next;
            changes.extend(change.map(|c| (now, c)));
        }
        (phase, changes)
    }

    fn held(n: usize, v: Option<bool>) -> Vec<Option<bool>> {
        vec![v; n]
    }

    #[test]
    fn pending_turns_firing_exactly_when_for_is_up() {
        let t = Timing { for_ms: 5000, keep_firing_for_ms: 0 };
        let (_, changes) = run(&held(7, Some(true)), t);
        assert_eq!(changes, [(0, Change::Pending), (5000, Change::Firing)]);
        // One second short, it is still pending.
        let (phase, _) = run(&held(5, Some(true)), t);
        assert_eq!(phase, Phase::Pending { since: 0 });
        // No `for`: firing at once.
        let (phase, changes) = run(&[Some(true)], Timing::default());
        assert_eq!((phase, changes), (Phase::Firing { since: 0, quiet_since: None }, vec![(0, Change::Firing)]));
    }

    #[test]
    fn a_breach_shorter_than_for_never_fires() {
        let t = Timing { for_ms: 3000, keep_firing_for_ms: 0 };
        let v = [Some(true), Some(true), Some(false), Some(true), Some(true), Some(true), Some(false)];
        let (phase, changes) = run(&v, t);
        assert_eq!(phase, Phase::Inactive);
        assert_eq!(
            changes,
            [(0, Change::Pending), (2000, Change::Dropped), (3000, Change::Pending), (6000, Change::Dropped)]
        );
    }

    #[test]
    fn keep_firing_for_rides_out_a_flap() {
        let t = Timing { for_ms: 0, keep_firing_for_ms: 3000 };
        // Fires, clears for two seconds, breaches again, then clears for good.
        let v = [Some(true), Some(false), Some(false), Some(true), Some(false), Some(false), Some(false), Some(false)];
        let (phase, changes) = run(&v, t);
        assert_eq!(changes, [(0, Change::Firing), (7000, Change::Resolved)]);
        assert_eq!(phase, Phase::Resolved { at: 7000 });
        // Without it, the same flap resolves and fires again.
        let (_, changes) = run(&v, Timing::default());
        assert_eq!(
            changes,
            [(0, Change::Firing), (1000, Change::Resolved), (3000, Change::Firing), (4000, Change::Resolved)]
        );
    }

    #[test]
    fn a_silent_series_is_no_data_not_resolved() {
        let t = Timing { for_ms: 2000, keep_firing_for_ms: 0 };
        let mut v = held(3, Some(true));
        v.extend(held(4, None));
        let (phase, changes) = run(&v, t);
        assert_eq!(changes, [(0, Change::Pending), (2000, Change::Firing), (3000, Change::NoData)]);
        assert_eq!(phase, Phase::NoData { since: 3000, firing_since: Some(2000) });
        // Still breaching when data returns: firing, since the first time.
        let mut back = v.clone();
        back.push(Some(true));
        let (phase, changes) = run(&back, t);
        assert_eq!(changes.last(), Some(&(7000, Change::DataBack)));
        assert_eq!(phase, Phase::Firing { since: 2000, quiet_since: None });
        // Healthy when it returns: resolved, by data.
        let mut healed = v;
        healed.push(Some(false));
        let (phase, changes) = run(&healed, t);
        assert_eq!(changes.last(), Some(&(7000, Change::Resolved)));
        assert_eq!(phase, Phase::Resolved { at: 7000 });
    }

    #[test]
    fn silence_before_any_breach_raises_nothing() {
        let t = Timing { for_ms: 1000, keep_firing_for_ms: 0 };
        let (phase, changes) = run(&[Some(false), None, None, Some(false)], t);
        assert_eq!((phase, changes), (Phase::Inactive, vec![]));
        // A pending alert that loses its data waits for it, then starts over.
        let (phase, changes) = run(&[Some(true), None, Some(true)], t);
        assert_eq!(changes, [(0, Change::Pending), (1000, Change::NoData), (2000, Change::Pending)]);
        assert_eq!(phase, Phase::Pending { since: 2000 });
    }
}
