//! The sources table: each gateway's counters and link status turned into a
//! row of words, times and per-second rates. The pipeline builds it for the
//! sources page and `vigil tail --sources` prints it, from this one place, so
//! the two can never disagree.

use crate::core::store::fresh_for;
use crate::sources::{LinkStatus, SourceStats};
use crate::tui::scene::{SourceHealth, SourceRow};
use std::sync::Arc;
use std::time::Duration;

/// Weight of the newest reading in a smoothed rate; the rest is history, so
/// a 1 s frame interval read on a 1 s tick does not flicker between 0 and 2.
const NEWEST_WEIGHT: f64 = 0.4;

/// Rates of every gateway between readings; one per data consumer.
#[derive(Debug, Clone, Default)]
pub struct SourceTable {
    meters: Vec<Meter>,
}

/// Counter values at the previous reading and the smoothed rates so far.
#[derive(Debug, Clone, Copy, Default)]
struct Meter {
    seen: [u64; 3],
    rates: Option<[f64; 3]>,
}

impl SourceTable {
    /// Reads every gateway's stats; `elapsed` is the time since the previous
    /// call (or since the stats were created), `interval_ms` the data interval.
    pub fn rows(
        &mut self,
        stats: &[Arc<SourceStats>],
        elapsed: Duration,
        now_ms: i64,
        interval_ms: i64,
    ) -> Vec<SourceRow> {
        self.meters.resize(stats.len(), Meter::default());
        let secs = elapsed.as_secs_f64().max(0.001);
        stats
            .iter()
            .zip(&mut self.meters)
            .map(|(s, meter)| {
                let counts = [SourceStats::read(&s.bytes), SourceStats::read(&s.frames), SourceStats::read(&s.points)];
                let [bytes, frames, points] = meter.advance(counts, secs);
                let link = s.link();
                // A source with a pace of its own is judged by it.
                let pace = if s.interval_ms > 0 { s.interval_ms } else { interval_ms };
                SourceRow {
                    url: s.url.clone(),
                    kind: s.kind,
                    name: s.name.clone(),
                    transport: link.transport,
                    health: health(&link, now_ms, pace, s.patience_ms),
                    connected: link.connected,
                    last_success_ms: link.last_success_ms,
                    rtt_ms: link.rtt_ms,
                    reconnects: SourceStats::read(&s.reconnects),
                    bytes_per_sec: bytes,
                    frames_per_sec: frames,
                    points_per_sec: points,
                    malformed: SourceStats::read(&s.malformed),
                    last_error: link.last_error,
                    note: link.note,
                }
            })
            .collect()
    }
}

impl Meter {
    /// Takes new counter values and returns the smoothed rates.
    fn advance(&mut self, counts: [u64; 3], secs: f64) -> [f64; 3] {
        // A counter never goes down; saturate anyway so a bug elsewhere
        // shows as zero rather than as a huge number.
        let raw: [f64; 3] = std::array::from_fn(|i| counts[i].saturating_sub(self.seen[i]) as f64 / secs);
        self.seen = counts;
        let rates = match self.rates {
            None => raw,
            Some(before) => std::array::from_fn(|i| smooth(before[i], raw[i])),
        };
        self.rates = Some(rates);
        rates
    }
}

/// Moves `before` towards `raw`, landing on it once within 1 %, so an idle
/// link settles on exactly zero and stops changing the picture.
fn smooth(before: f64, raw: f64) -> f64 {
    let s = before * (1.0 - NEWEST_WEIGHT) + raw * NEWEST_WEIGHT;
    if (s - raw).abs() <= 0.01 * raw.abs().max(1.0) { raw } else { s }
}

/// The verdict on one link at `now_ms`: stale once silent for as long as
/// its data stays fresh ([`fresh_for`]).
pub fn health(link: &LinkStatus, now_ms: i64, interval_ms: i64, patience_ms: i64) -> SourceHealth {
    if !link.connected {
        return if link.last_error.is_some() { SourceHealth::Down } else { SourceHealth::Idle };
    }
    let stale_after = fresh_for(interval_ms, patience_ms);
    match link.last_success_ms {
        Some(t) if now_ms - t <= stale_after => SourceHealth::Live,
        _ => SourceHealth::Stale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::Transport;

    fn stats(url: &str) -> Arc<SourceStats> {
        Arc::new(SourceStats::for_url(url))
    }

    #[test]
    fn rates_are_deltas_over_elapsed_time() {
        let s = stats("ws://a/api/v1/metrics/stream");
        let mut table = SourceTable::default();
        SourceStats::bump(&s.frames, 10);
        SourceStats::bump(&s.bytes, 5_000);
        SourceStats::bump(&s.points, 810);
        let first = table.rows(std::slice::from_ref(&s), Duration::from_secs(2), 0, 1000);
        assert_eq!(first.len(), 1);
        assert_eq!((first[0].frames_per_sec, first[0].bytes_per_sec, first[0].points_per_sec), (5.0, 2_500.0, 405.0));

        // The same rate again stays put; silence decays and settles on zero.
        SourceStats::bump(&s.frames, 10);
        let same = table.rows(std::slice::from_ref(&s), Duration::from_secs(2), 0, 1000);
        assert_eq!(same[0].frames_per_sec, 5.0);
        let mut rate = f64::MAX;
        for _ in 0..30 {
            let row = table.rows(std::slice::from_ref(&s), Duration::from_secs(1), 0, 1000).remove(0);
            assert!(row.frames_per_sec < rate || row.frames_per_sec == 0.0);
            rate = row.frames_per_sec;
        }
        assert_eq!(rate, 0.0);
    }

    #[test]
    fn rows_copy_the_link_and_counters() {
        let (a, b) = (stats("ws://a/s"), stats("ws://b/s"));
        a.update_link(|l| {
            l.transport = Some(Transport::Sse);
            l.connected = true;
            l.last_success_ms = Some(9_500);
            l.rtt_ms = Some(3.5);
        });
        SourceStats::bump(&b.reconnects, 4);
        SourceStats::bump(&b.malformed, 2);
        b.update_link(|l| l.last_error = Some("connection refused".into()));
        let rows = SourceTable::default().rows(&[a, b], Duration::from_secs(1), 10_000, 1000);
        assert_eq!(rows[0].url, "ws://a/s");
        assert_eq!(rows[0].transport, Some(Transport::Sse));
        assert_eq!(rows[0].health, SourceHealth::Live);
        assert_eq!((rows[0].last_success_ms, rows[0].rtt_ms), (Some(9_500), Some(3.5)));
        assert_eq!(rows[1].health, SourceHealth::Down);
        assert_eq!((rows[1].reconnects, rows[1].malformed), (4, 2));
        assert_eq!(rows[1].last_error.as_deref(), Some("connection refused"));
    }

    #[test]
    fn health_follows_the_link_and_its_silence() {
        let up = LinkStatus { connected: true, last_success_ms: Some(0), ..LinkStatus::default() };
        assert_eq!(health(&up, 3_000, 1000, 0), SourceHealth::Live);
        assert_eq!(health(&up, 3_001, 1000, 0), SourceHealth::Stale);
        // A slow interval allows a longer silence.
        assert_eq!(health(&up, 14_000, 5000, 0), SourceHealth::Live);
        // So does a slow server: a 1 s poll whose answers may take 10 s.
        assert_eq!(health(&up, 13_000, 1000, 10_000), SourceHealth::Live);
        assert_eq!(health(&up, 13_001, 1000, 10_000), SourceHealth::Stale);
        let never = LinkStatus { connected: true, ..LinkStatus::default() };
        assert_eq!(health(&never, 0, 1000, 0), SourceHealth::Stale);
        assert_eq!(health(&LinkStatus::default(), 0, 1000, 0), SourceHealth::Idle);
        let failed = LinkStatus { last_error: Some("x".into()), ..LinkStatus::default() };
        assert_eq!(health(&failed, 0, 1000, 0), SourceHealth::Down);
    }
}
