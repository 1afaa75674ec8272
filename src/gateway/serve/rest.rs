//! The read-only REST routes: health, the realtime snapshot and history.

use super::state::Shared;
use super::upstream_history;
use crate::wire::{
    ErrorBody, HistoricalPoint, HistoricalResponse, HistoricalSeries, Labels, MetricKind, PointValue, WireTime,
    format_duration_ms, format_time, parse_duration_ms, parse_time, sanitize,
};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most points one series of a historical answer may hold.
pub(crate) const MAX_POINTS: i64 = 10_000;

/// A JSON error body (`{"error": …}`) with its status.
pub(crate) fn error_response(status: StatusCode, message: &str) -> Response {
    (status, Json(ErrorBody { error: message.to_string() })).into_response()
}

/// A REST error: its status and a one-line message, answered as `{"error": …}`.
#[derive(Debug)]
pub(crate) struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(self.0, &self.1)
    }
}

/// Query strings as ordered pairs, with a JSON error instead of axum's text one.
pub(crate) type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

pub(crate) fn pairs(query: Pairs) -> Result<Vec<(String, String)>, ApiError> {
    query.map(|Query(p)| p).map_err(|_| ApiError(StatusCode::BAD_REQUEST, "malformed query string".into()))
}

/// `GET /healthz`.
pub(crate) async fn healthz() -> Response {
    Json(serde_json::json!({"status": "ok"})).into_response()
}

/// Fallback for unknown paths.
pub(crate) async fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, "no such route")
}

/// Known path, wrong method.
pub(crate) async fn method_not_allowed() -> Response {
    error_response(StatusCode::METHOD_NOT_ALLOWED, "method not allowed on this route")
}

/// `GET /api/v1/metrics/realtime`: every unlabelled gauge and status, flat.
pub(crate) async fn realtime(State(shared): State<Arc<Shared>>) -> Response {
    let t = if shared.simulating { shared.sim_now() } else { crate::wire::now_ms() };
    let mut snapshot = Map::new();
    for (metric, value) in shared.held().realtime() {
        if let Ok(value) = serde_json::to_value(&value) {
            snapshot.insert(metric, value);
        }
    }
    let simulated = if shared.simulating { shared.sim.sample(t) } else { Vec::new() };
    for point in simulated {
        if !point.labels.is_empty() {
            continue;
        }
        let kind = shared.kind_of(&point.metric);
        let value = match (&point.value, kind) {
            (Some(PointValue::Number(n)), Some(MetricKind::Gauge)) => serde_json::to_value(n).ok(),
            (Some(PointValue::Text(s)), Some(MetricKind::Status)) => Some(Value::String(s.clone())),
            _ => None,
        };
        if let Some(value) = value {
            snapshot.insert(point.metric, value);
        }
    }
    snapshot.insert("timestamp".into(), Value::String(format_time(t)));
    Json(Value::Object(snapshot)).into_response()
}

/// A validated historical query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HistoryQuery {
    pub metric: String,
    pub period_ms: i64,
    pub granularity_ms: i64,
    /// Period and granularity as the client spelled them (`24h` stays
    /// `24h`, not `1d`), or as the defaults are spelled: the answer echoes
    /// the question.
    pub period: String,
    pub granularity: String,
    pub end_ms: i64,
    pub matchers: Labels,
}

impl HistoryQuery {
    /// Validates the query pairs; `now` is the default (and latest) end.
    pub fn parse(pairs: Vec<(String, String)>, now: i64) -> Result<Self, String> {
        let mut metric = None;
        let (mut period, mut granularity, mut end) = (None, None, None);
        let mut matchers = Labels::new();
        for (key, value) in pairs {
            match key.as_str() {
                "metric" => metric = Some(value),
                "period" => period = Some(value),
                "granularity" => granularity = Some(value),
                "end" => end = Some(value),
                _ => {
                    matchers.insert(key, value);
                }
            }
        }
        let metric = metric.filter(|m| !m.is_empty()).ok_or("missing \"metric\"")?;
        let (period_ms, period) = match period {
            None => (3_600_000, "1h".to_string()),
            Some(p) => {
                let ms = parse_duration_ms(&p)
                    .ok_or_else(|| format!("bad period {:?} (use e.g. 90s, 5m, 24h)", clip(&p)))?;
                (ms, p.trim().to_string())
            }
        };
        let (granularity_ms, granularity) = match granularity {
            None => {
                let ms = (period_ms / 60).max(1);
                (ms, format_duration_ms(ms))
            }
            Some(g) => {
                let ms = parse_duration_ms(&g)
                    .ok_or_else(|| format!("bad granularity {:?} (use e.g. 10s, 1m, 1h)", clip(&g)))?;
                (ms, g.trim().to_string())
            }
        };
        // The simulator can compute the future; a gateway should not pretend to know it.
        let end_ms = match end {
            None => now,
            Some(e) => parse_time(&e).ok_or_else(|| format!("bad end {:?} (use RFC 3339)", clip(&e)))?.min(now),
        };
        let q = HistoryQuery { metric, period_ms, granularity_ms, period, granularity, end_ms, matchers };
        if q.span().1 > MAX_POINTS {
            return Err(format!("period/granularity asks for more than {MAX_POINTS} points per series"));
        }
        Ok(q)
    }

    /// The first timestamp and how many there are.
    fn span(&self) -> (i64, i64) {
        let g = self.granularity_ms;
        let first = (self.end_ms - self.period_ms).div_euclid(g) * g + g;
        let last = self.end_ms.div_euclid(g) * g;
        (first, ((last - first) / g + 1).max(0))
    }

    /// Timestamps: multiples of the granularity in `(end - period, end]`.
    pub fn timestamps(&self) -> impl Iterator<Item = i64> + use<> {
        let (first, count) = self.span();
        let g = self.granularity_ms;
        (0..count).map(move |i| first + i * g)
    }
}

/// `GET /api/v1/metrics/historical`.
pub(crate) async fn historical(State(shared): State<Arc<Shared>>, query: Pairs) -> Result<Response, ApiError> {
    let q = HistoryQuery::parse(pairs(query)?, shared.sim_now()).map_err(|m| ApiError(StatusCode::BAD_REQUEST, m))?;
    if shared.kind_of(&q.metric).is_none() {
        return Err(ApiError(StatusCode::NOT_FOUND, format!("unknown metric {:?}", clip(&q.metric))));
    }
    let simulated = shared.simulated(&q.metric);
    // What lies before the store comes from the upstream, when there is one.
    let upstream = shared.upstream.get().filter(|_| !simulated);
    let span = upstream.and_then(|u| u.span(&q, shared.held().oldest_of(&q.metric)));
    let from_upstream = async {
        match (upstream, span) {
            (Some(u), Some(span)) => Some(u.read(span, crate::wire::now_ms()).await),
            _ => None,
        }
    };
    // Up to ten thousand samples per series, computed by the simulator or
    // read from the store under its lock: keep them off the async workers.
    let work = Arc::clone(&shared);
    let query = q.clone();
    let answer =
        tokio::task::spawn_blocking(
            move || {
                if simulated { build_history(&work, query) } else { work.held().history(&query) }
            },
        );
    let (answer, before) = tokio::join!(answer, from_upstream);
    let Ok(body) = answer else {
        return Err(ApiError(StatusCode::INTERNAL_SERVER_ERROR, "history could not be computed".into()));
    };
    let body = match before {
        None => body,
        Some(Ok(series)) => upstream_history::merge(body, &series, &q),
        // What the store holds, and why the rest is missing.
        Some(Err(why)) => HistoricalResponse { partial: Some(why), ..body },
    };
    Ok(Json(body).into_response())
}

fn build_history(shared: &Shared, q: HistoryQuery) -> HistoricalResponse {
    let mut series: BTreeMap<Labels, Vec<HistoricalPoint>> = BTreeMap::new();
    for t in q.timestamps() {
        for point in shared.sim.sample_metric(&q.metric, t) {
            if point.metric != q.metric || !q.matchers.iter().all(|(k, v)| point.labels.get(k) == Some(v)) {
                continue;
            }
            let hp = HistoricalPoint { timestamp: WireTime(t), value: point.value, histogram: point.histogram };
            series.entry(point.labels).or_default().push(hp);
        }
    }
    let series: Vec<HistoricalSeries> =
        series.into_iter().map(|(labels, data)| HistoricalSeries { labels, data }).collect();
    let data = (series.len() == 1).then(|| series[0].data.clone());
    HistoricalResponse { metric: q.metric, period: q.period, granularity: q.granularity, series, data, partial: None }
}

/// Client text echoed in an error is made printable and short.
pub(crate) fn clip(s: &str) -> String {
    let s = sanitize(s);
    if s.chars().count() > 80 { format!("{}…", s.chars().take(80).collect::<String>()) } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<HistoryQuery, String> {
        let pairs = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        HistoryQuery::parse(pairs, 1_751_279_400_000)
    }

    #[test]
    fn defaults_and_alignment() {
        let h = q(&[("metric", "cpu_usage_percent"), ("service", "checkout")]).unwrap();
        assert_eq!((h.period_ms, h.granularity_ms), (3_600_000, 60_000));
        assert_eq!(h.matchers.get("service").map(String::as_str), Some("checkout"));
        let ts: Vec<i64> = h.timestamps().collect();
        assert_eq!(ts.len(), 60);
        assert_eq!(*ts.last().unwrap(), 1_751_279_400_000);
        let h =
            q(&[("metric", "m"), ("period", "150s"), ("granularity", "1m"), ("end", "2025-06-30T10:29:30Z")]).unwrap();
        let ts: Vec<i64> = h.timestamps().collect();
        assert_eq!(ts, vec![1_751_279_280_000, 1_751_279_340_000]);
    }

    #[test]
    fn period_and_granularity_keep_the_clients_spelling() {
        let h = q(&[("metric", "m"), ("period", "24h"), ("granularity", "60m")]).unwrap();
        assert_eq!((h.period_ms, h.granularity_ms), (86_400_000, 3_600_000));
        assert_eq!((h.period.as_str(), h.granularity.as_str()), ("24h", "60m"));
        let h = q(&[("metric", "m"), ("period", "90s")]).unwrap();
        assert_eq!((h.period.as_str(), h.granularity.as_str()), ("90s", "1500ms"));
        let h = q(&[("metric", "m")]).unwrap();
        assert_eq!((h.period.as_str(), h.granularity.as_str()), ("1h", "1m"));
    }

    #[test]
    fn rejects_bad_queries() {
        assert!(q(&[]).unwrap_err().contains("metric"));
        assert!(q(&[("metric", "m"), ("period", "soon")]).unwrap_err().contains("period"));
        assert!(q(&[("metric", "m"), ("granularity", "0s")]).unwrap_err().contains("granularity"));
        assert!(q(&[("metric", "m"), ("end", "yesterday")]).unwrap_err().contains("end"));
        assert!(q(&[("metric", "m"), ("period", "7d"), ("granularity", "1s")]).unwrap_err().contains("10000"));
        assert!(q(&[("metric", "m"), ("period", "10000s"), ("granularity", "1s")]).is_ok());
    }
}
