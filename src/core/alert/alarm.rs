//! When a new critical alert may flash the header and ring the bell. The
//! same limits serve a desk and a wall display: at most one alarm per
//! `min_gap` however many alerts fire, and at most one per alert id per
//! `per_alert_gap`, so a rule that flaps between firing and resolved cannot
//! keep a room awake. Pure: the clock is passed in.

use std::collections::HashMap;

/// How loud, and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmOptions {
    pub flash: bool,
    pub bell: bool,
    /// Least time between two alarms.
    pub min_gap_ms: i64,
    /// Least time between two alarms for one alert id.
    pub per_alert_gap_ms: i64,
    /// How long the header flashes.
    pub flash_for_ms: i64,
}

impl Default for AlarmOptions {
    fn default() -> Self {
        AlarmOptions { flash: true, bell: true, min_gap_ms: 60_000, per_alert_gap_ms: 300_000, flash_for_ms: 5_000 }
    }
}

/// What an alarm does; handed back only when one goes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alarm {
    /// Ring the terminal bell (write `\x07`).
    pub bell: bool,
}

/// The memory of past alarms.
#[derive(Debug, Clone, Default)]
pub struct Alarms {
    last_ms: Option<i64>,
    /// When each alert id last set one off.
    rang: HashMap<String, i64>,
    flash_until_ms: Option<i64>,
}

impl Alarms {
    /// Alerts that just turned critical and firing, none silenced or
    /// acknowledged. Returns the alarm when one goes off; the ids that set
    /// it off are remembered, others that were held back are not.
    pub fn on_critical(&mut self, ids: &[String], opts: &AlarmOptions, now_ms: i64) -> Option<Alarm> {
        self.rang.retain(|_, at| now_ms - *at < opts.per_alert_gap_ms);
        let fresh: Vec<&String> = ids.iter().filter(|id| !self.rang.contains_key(*id)).collect();
        if fresh.is_empty() || self.last_ms.is_some_and(|last| now_ms - last < opts.min_gap_ms) {
            return None;
        }
        self.last_ms = Some(now_ms);
        for id in fresh {
            self.rang.insert(id.clone(), now_ms);
        }
        if opts.flash {
            self.flash_until_ms = Some(now_ms.saturating_add(opts.flash_for_ms));
        }
        Some(Alarm { bell: opts.bell })
    }

    pub fn flashing(&self, now_ms: i64) -> bool {
        self.flash_until_ms.is_some_and(|until| now_ms < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_storm_sets_off_one_alarm_per_gap() {
        let opts = AlarmOptions::default();
        let mut a = Alarms::default();
        assert_eq!(a.on_critical(&ids(&["x"]), &opts, 10_000), Some(Alarm { bell: true }));
        for (n, t) in (11_000..70_000).step_by(1_000).enumerate() {
            assert_eq!(a.on_critical(&ids(&[&format!("other-{n}")]), &opts, t), None, "at {t}");
        }
        assert!(a.on_critical(&ids(&["late"]), &opts, 70_000).is_some());
    }

    #[test]
    fn a_flapping_alert_rings_once_per_alert_gap() {
        let opts = AlarmOptions { min_gap_ms: 1_000, ..AlarmOptions::default() };
        let mut a = Alarms::default();
        assert!(a.on_critical(&ids(&["flappy"]), &opts, 0).is_some());
        // It resolves and fires again every 30 s: silent for five minutes.
        for t in (30_000..300_000).step_by(30_000) {
            assert_eq!(a.on_critical(&ids(&["flappy"]), &opts, t), None, "at {t}");
        }
        // Another alert meanwhile still rings.
        assert!(a.on_critical(&ids(&["flappy", "other"]), &opts, 290_000).is_some());
        assert!(a.on_critical(&ids(&["flappy"]), &opts, 300_000).is_some());
    }

    #[test]
    fn flash_and_bell_follow_the_options() {
        let mut a = Alarms::default();
        assert!(!a.flashing(0));
        a.on_critical(&ids(&["x"]), &AlarmOptions::default(), 5_000);
        assert!(a.flashing(5_000) && a.flashing(9_999));
        assert!(!a.flashing(10_000));

        let quiet = AlarmOptions { flash: false, bell: false, ..AlarmOptions::default() };
        let mut a = Alarms::default();
        assert_eq!(a.on_critical(&ids(&["x"]), &quiet, 5_000), Some(Alarm { bell: false }));
        assert!(!a.flashing(5_001));
        assert_eq!(a.on_critical(&[], &quiet, 500_000), None, "nothing new, nothing to say");
    }
}
