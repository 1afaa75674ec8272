//! The last resort: poll REST. Each round asks `realtime` for the flat
//! snapshot and `historical` for everything since the previous round, so
//! counters and histograms keep flowing too.

use crate::core::model::{ConnState, ErrorClass, SourceId, Transport, Update};
use crate::sources::error_chain;
use crate::sources::gateway::backfill::{self, Span};
use crate::sources::gateway::link::{Ended, Endpoint};
use crate::sources::gateway::stream::Stream;
use crate::sources::{SourceStats, convert};
use crate::wire::{self, Decoded};
use futures_util::StreamExt;
use std::time::Duration;
use tokio::time::sleep;

/// Shortest time between polls, whatever the stream interval.
const MIN_PERIOD: Duration = Duration::from_secs(2);

/// Polls `ep` until a round fails.
pub async fn run(stream: &mut Stream, ep: &mut Endpoint) -> Ended {
    let stats = ep.stats.clone();
    let mut ended: Option<Ended> = None;
    let period = Duration::from_millis(stream.interval_ms.max(1) as u64).max(MIN_PERIOD);
    loop {
        let started = tokio::time::Instant::now();
        let url = format!("{}{}", ep.base, wire::REALTIME_PATH);
        let mut req = stream.http().get(&url).timeout(Duration::from_secs(10));
        if let Some(t) = stream.token() {
            req = req.bearer_auth(t);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let (class, why) = crate::sources::classify(&e);
                return fail(ended, why, class);
            }
        };
        let code = resp.status().as_u16();
        if !resp.status().is_success() {
            let e = Ended::transport_refused("REST", code);
            return fail(ended, e.error, e.class);
        }
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) => return fail(ended, error_chain(&e), ErrorClass::Network),
        };
        let rtt = started.elapsed().as_secs_f64() * 1000.0;
        let now = wire::now_ms();
        SourceStats::bump(&stats.frames, 1);
        SourceStats::bump(&stats.bytes, text.len() as u64);
        match wire::decode_snapshot(&text) {
            Ok(Decoded::Snapshot { timestamp, points }) => {
                let observations = convert::into_observations(timestamp.unwrap_or(now), points);
                SourceStats::bump(&stats.points, observations.len() as u64);
                stream.emit(Update::Samples { observations, live: true, seq: None, source: SourceId::GATEWAY }).await;
            }
            Ok(_) => {}
            Err(e) => stream.malformed(&stats, e.to_string()).await,
        }
        // Everything else since the last round, over `historical`, and the
        // events of the span, which polling has no other way to hear of.
        let from = stream.resume_from();
        let span = (from, now);
        stream.events.backfill(stream.http(), &ep.base, stream.token(), span, &stats, stream.sender()).await;
        if !stream.catalogue.is_empty() && now > from {
            let span = Span { from_ms: from, to_ms: now, step_ms: stream.interval_ms.max(1) };
            let mut batches =
                std::pin::pin!(backfill::fetch(stream.http(), &ep.base, stream.token(), &stream.catalogue, span));
            // Only the last rounds' worth counts as live; anything older is
            // history (the first round after a fallback reaches far back).
            let cutoff = now - 2 * period.as_millis() as i64;
            // The watermark moves only once the round is complete: a round
            // cut short (a switch back to the WebSocket) must be asked for
            // again, whole, by whatever reads next.
            let mut newest_seen: Option<i64> = None;
            let mut complete = true;
            while let Some(batch) = batches.next().await {
                let observations = match batch {
                    Ok(o) => o,
                    Err(e) => {
                        tracing::debug!(error = %e, "poll backfill failed");
                        SourceStats::bump(&stats.backfill_errors, 1);
                        complete = false;
                        continue;
                    }
                };
                newest_seen = newest_seen.max(observations.iter().map(|o| o.ts).max());
                SourceStats::bump(&stats.points, observations.len() as u64);
                let (recent, older): (Vec<_>, Vec<_>) = observations.into_iter().partition(|o| o.ts >= cutoff);
                if !older.is_empty() {
                    stream
                        .emit(Update::Samples {
                            observations: older,
                            live: false,
                            seq: None,
                            source: SourceId::GATEWAY,
                        })
                        .await;
                }
                if !recent.is_empty() {
                    stream
                        .emit(Update::Samples {
                            observations: recent,
                            live: true,
                            seq: None,
                            source: SourceId::GATEWAY,
                        })
                        .await;
                }
            }
            if let Some(newest) = newest_seen {
                stream.last_data_ts = Some(newest.max(stream.last_data_ts.unwrap_or(newest)));
            }
            stream.emit(Update::Backfilled { from_ms: from, to_ms: now, complete }).await;
        } else if stream.last_data_ts.is_none() {
            stream.last_data_ts = Some(now);
        }
        stats.update_link(|l| {
            l.last_success_ms = Some(now);
            l.rtt_ms = Some(rtt);
        });
        if ended.is_none() {
            stats.update_link(|l| {
                l.transport = Some(Transport::Poll);
                l.connected = true;
                l.note = None;
            });
            let connected = ConnState::Connected {
                since_ms: now,
                server: String::new(),
                url: ep.url.clone(),
                transport: Transport::Poll,
            };
            stream.emit(Update::Conn(connected)).await;
            ended = Some(Ended::alive());
        }
        if let Some(e) = ended.as_mut() {
            e.saw_data(true);
        }
        sleep(period.saturating_sub(started.elapsed())).await;
    }
}

fn fail(alive: Option<Ended>, error: String, class: ErrorClass) -> Ended {
    match alive {
        Some(e) => e.with(error, class),
        None => Ended::failed(error, class),
    }
}
