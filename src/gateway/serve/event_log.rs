//! The events the gateway remembers, for `GET /api/v1/events`: a dashboard
//! that connects after a deploy still learns of it, which the stream alone
//! (live frames and a few minutes of replay) cannot tell it.
//!
//! A ring bounded by age and by count. It starts with the simulator's last
//! day, so a gateway that has just started knows the history it would have
//! had had it been running, and the ticker adds each tick's events.

use super::rest::{ApiError, Pairs, clip, pairs};
use super::state::Shared;
use crate::wire::{EventFrame, EventHistory, Labels, parse_time};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::collections::VecDeque;
use std::sync::Arc;

/// Events older than this (behind the newest tick) are let go.
pub(crate) const KEEP_MS: i64 = 24 * 3_600_000;
/// Most events held, whatever their age: a source that sends thousands a
/// day must not grow the gateway without bound.
pub(crate) const MAX_EVENTS: usize = 10_000;
/// Most events one answer gives: the newest of those asked for.
pub(crate) const MAX_ANSWER: usize = 1_000;

/// Events, oldest first.
#[derive(Debug, Default)]
pub(crate) struct EventLog {
    events: VecDeque<EventFrame>,
}

impl EventLog {
    /// Adds events that happened up to `now_ms`, in time order, and lets
    /// go of what is past the bounds.
    pub fn extend(&mut self, events: impl IntoIterator<Item = EventFrame>, now_ms: i64) {
        for e in events {
            let e = EventFrame { seq: None, ..e };
            // Each tick's events come after the last tick's; sorting only
            // guards against a caller that breaks that.
            let at = self.events.partition_point(|held| held.timestamp <= e.timestamp);
            self.events.insert(at, e);
        }
        while self.events.len() > MAX_EVENTS
            || self.events.front().is_some_and(|e| e.timestamp.0 < now_ms.saturating_sub(KEEP_MS))
        {
            self.events.pop_front();
        }
    }

    /// The events `q` asks for, oldest first; at most [`MAX_ANSWER`], the newest.
    pub fn query(&self, q: &EventQuery) -> Vec<EventFrame> {
        let start = self.events.partition_point(|e| e.timestamp.0 < q.since_ms);
        let mut out: Vec<EventFrame> = self
            .events
            .range(start..)
            .take_while(|e| e.timestamp.0 <= q.until_ms)
            .filter(|e| q.kind.as_ref().is_none_or(|k| *k == e.kind))
            .filter(|e| q.matchers.iter().all(|(k, v)| e.labels.get(k) == Some(v)))
            .cloned()
            .collect();
        let skip = out.len().saturating_sub(MAX_ANSWER);
        out.drain(..skip);
        out
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.events.len()
    }
}

/// A validated `GET /api/v1/events` query: `[since, until]`, inclusive.
#[derive(Debug, PartialEq)]
pub(crate) struct EventQuery {
    pub since_ms: i64,
    pub until_ms: i64,
    pub kind: Option<String>,
    /// Any other parameter is a label the event must carry, as in `historical`.
    pub matchers: Labels,
}

impl EventQuery {
    /// Validates the query pairs; `now` is the default (and latest) end,
    /// and a day before it the default start.
    pub fn parse(pairs: Vec<(String, String)>, now: i64) -> Result<Self, String> {
        let (mut since, mut until, mut kind) = (None, None, None);
        let mut matchers = Labels::new();
        for (key, value) in pairs {
            match key.as_str() {
                "since" => since = Some(value),
                "until" => until = Some(value),
                "kind" => kind = Some(value).filter(|k| !k.is_empty()),
                _ => {
                    matchers.insert(key, value);
                }
            }
        }
        let time = |name: &str, v: Option<String>| -> Result<Option<i64>, String> {
            v.map(|v| parse_time(&v).ok_or_else(|| format!("bad {name} {:?} (use RFC 3339)", clip(&v)))).transpose()
        };
        // Like `historical`, no answer from the future.
        let until_ms = time("until", until)?.map_or(now, |t| t.min(now));
        let since_ms = time("since", since)?.unwrap_or(now.saturating_sub(KEEP_MS));
        if since_ms > until_ms {
            return Err("since is after until".into());
        }
        Ok(EventQuery { since_ms, until_ms, kind, matchers })
    }
}

/// `GET /api/v1/events`.
pub(crate) async fn handler(State(shared): State<Arc<Shared>>, query: Pairs) -> Result<Response, ApiError> {
    let q = EventQuery::parse(pairs(query)?, shared.sim_now()).map_err(|m| ApiError(StatusCode::BAD_REQUEST, m))?;
    let events = shared.lock_events().query(&q);
    Ok(Json(EventHistory { events }).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::WireTime;

    const T: i64 = 1_751_279_400_000;

    fn event(t: i64, kind: &str, service: &str) -> EventFrame {
        EventFrame {
            seq: Some(9),
            timestamp: WireTime(t),
            kind: kind.into(),
            text: format!("{service} at {t}"),
            labels: [("service".to_string(), service.to_string())].into(),
        }
    }

    fn q(pairs: &[(&str, &str)]) -> Result<EventQuery, String> {
        EventQuery::parse(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), T)
    }

    #[test]
    fn the_ring_keeps_a_day_and_a_count() {
        let mut log = EventLog::default();
        log.extend([event(T - KEEP_MS - 1, "deploy", "a"), event(T - 5, "deploy", "b")], T);
        assert_eq!(log.len(), 1, "older than a day goes");
        log.extend((0..MAX_EVENTS as i64 + 5).map(|i| event(T + i, "deploy", "c")), T + MAX_EVENTS as i64 + 5);
        assert_eq!(log.len(), MAX_EVENTS);
        let all = log.query(&q(&[]).unwrap());
        assert!(all.iter().all(|e| e.seq.is_none()), "seqs belong to sessions, not to the log");
    }

    #[test]
    fn queries_pick_by_time_kind_and_labels() {
        let mut log = EventLog::default();
        log.extend([event(T - 3000, "deploy", "a"), event(T - 2000, "config", "b"), event(T - 1000, "deploy", "b")], T);
        let times = |pairs: &[(&str, &str)]| -> Vec<i64> {
            log.query(&q(pairs).unwrap()).iter().map(|e| T - e.timestamp.0).collect()
        };
        assert_eq!(times(&[]), [3000, 2000, 1000]);
        assert_eq!(times(&[("since", "2025-06-30T10:29:58Z")]), [2000, 1000], "since is inclusive");
        assert_eq!(times(&[("until", "2025-06-30T10:29:58Z")]), [3000, 2000], "until is inclusive");
        assert_eq!(times(&[("kind", "deploy")]), [3000, 1000]);
        assert_eq!(times(&[("kind", "deploy"), ("service", "b")]), [1000]);
        assert!(q(&[("since", "yesterday")]).unwrap_err().contains("since"));
        assert!(q(&[("since", "2025-06-30T10:30:00Z"), ("until", "2025-06-30T10:00:00Z")]).is_err());
        // The future is not known yet.
        assert_eq!(q(&[("until", "2030-01-01T00:00:00Z")]).unwrap().until_ms, T);
    }

    #[test]
    fn an_answer_holds_the_newest_when_too_many_match() {
        let mut log = EventLog::default();
        log.extend((0..MAX_ANSWER as i64 + 10).map(|i| event(T - 100_000 + i, "deploy", "a")), T);
        let got = log.query(&q(&[]).unwrap());
        assert_eq!(got.len(), MAX_ANSWER);
        assert_eq!(got.last().unwrap().timestamp.0, T - 100_000 + MAX_ANSWER as i64 + 9);
    }
}
