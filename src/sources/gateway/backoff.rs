//! The reconnect schedule: 1 s, then x1.5 each failure, capped at 30 s, with
//! full jitter (a random delay up to the step) so many dashboards that lost
//! the same gateway do not come back in step.

use std::time::Duration;

/// The shortest delay full jitter may produce.
const MIN_DELAY: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    factor: f64,
    cap: Duration,
    /// Fraction of the step that is randomised away: 1.0 is full jitter,
    /// a delay anywhere up to the step.
    jitter: f64,
    failures: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(Duration::from_secs(1), 1.5, Duration::from_secs(30), 1.0)
    }
}

impl Backoff {
    pub fn new(initial: Duration, factor: f64, cap: Duration, jitter: f64) -> Self {
        Backoff { initial, factor, cap, jitter: jitter.clamp(0.0, 1.0), failures: 0 }
    }

    /// The delay before attempt `failures + 1`, before jitter.
    pub fn base_delay(&self, failures: u32) -> Duration {
        let grown = self.initial.as_secs_f64() * self.factor.powi(failures.min(64) as i32);
        // `min`, not `max`: the cap is a ceiling, never a floor.
        Duration::from_secs_f64(grown.min(self.cap.as_secs_f64()))
    }

    /// The next delay, given `unit`, a random number in [0, 1).
    pub fn next_delay_with(&mut self, unit: f64) -> Duration {
        let base = self.base_delay(self.failures).as_secs_f64();
        self.failures = self.failures.saturating_add(1);
        let jittered = base * (1.0 - self.jitter * unit.clamp(0.0, 1.0));
        // A floor, so full jitter never turns into a tight loop.
        let floor = base.min(MIN_DELAY.as_secs_f64());
        Duration::from_secs_f64(jittered.max(floor))
    }

    /// The next delay with fresh randomness.
    pub fn next_delay(&mut self) -> Duration {
        self.next_delay_with(rand::random::<f64>())
    }

    /// Failures since the last healthy connection.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Back to the first step, after a healthy connection.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_grows_by_half_and_caps_at_thirty_seconds() {
        let b = Backoff::default();
        let secs: Vec<f64> = (0..12).map(|f| b.base_delay(f).as_secs_f64()).collect();
        assert_eq!(secs[0], 1.0);
        assert_eq!(secs[1], 1.5);
        assert_eq!(secs[2], 2.25);
        assert!(secs.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*secs.last().unwrap(), 30.0);
        assert_eq!(b.base_delay(u32::MAX).as_secs_f64(), 30.0);
    }

    #[test]
    fn full_jitter_stays_under_the_step_and_above_the_floor() {
        let mut b = Backoff::default();
        assert_eq!(b.next_delay_with(0.0).as_secs_f64(), 1.0);
        assert_eq!(b.next_delay_with(0.5).as_secs_f64(), 0.75);
        assert_eq!(b.next_delay_with(0.999_999).as_millis(), 100, "the floor holds");
        for _ in 0..20 {
            assert!(b.next_delay_with(0.0) <= Duration::from_secs(30));
        }
        b.reset();
        assert_eq!(b.failures(), 0);
        assert_eq!(b.next_delay_with(0.0).as_secs_f64(), 1.0);
        // Partial jitter keeps the delay near the step.
        let mut b = Backoff::new(Duration::from_secs(2), 1.5, Duration::from_secs(30), 0.25);
        assert_eq!(b.next_delay_with(1.0).as_secs_f64(), 1.5);
    }
}
