//! Threshold alert subscriptions made over REST: validation, storage and
//! the per-tick evaluation that turns a crossing into an `alert` frame.

use super::rest::{clip, error_response};
use super::state::Shared;
use crate::wire::{AlertFrame, Labels, MAX_LABELS, MetricKind, Point, PointValue, WireNum, WireTime};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Largest accepted subscription body.
pub(crate) const MAX_BODY: usize = 64 * 1024;
/// Most subscriptions one gateway holds.
const MAX_SUBSCRIPTIONS: usize = 1024;

/// Where a subscription's alerts go.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Delivery {
    Webhook(String),
    Websocket,
}

/// One stored subscription.
#[derive(Debug, Clone)]
pub(crate) struct AlertSubscription {
    pub id: String,
    pub metric: String,
    pub threshold: f64,
    pub delivery: Delivery,
    pub matchers: Labels,
    /// Series currently beyond the threshold, with the time they crossed.
    firing: HashMap<Labels, i64>,
}

impl AlertSubscription {
    /// The subscription as the client sent it, plus its `id`.
    fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("id".into(), self.id.clone().into());
        obj.insert("metric".into(), self.metric.clone().into());
        obj.insert("threshold".into(), serde_json::to_value(WireNum(self.threshold)).unwrap_or(Value::Null));
        let method = match &self.delivery {
            Delivery::Webhook(url) => {
                obj.insert("url".into(), url.clone().into());
                "webhook"
            }
            Delivery::Websocket => "websocket",
        };
        obj.insert("notification_method".into(), method.into());
        for (k, v) in &self.matchers {
            obj.insert(k.clone(), v.clone().into());
        }
        Value::Object(obj)
    }
}

/// Every subscription, by id.
#[derive(Default)]
pub(crate) struct SubscriptionBook {
    subs: BTreeMap<String, AlertSubscription>,
}

impl SubscriptionBook {
    pub fn len(&self) -> usize {
        self.subs.len()
    }

    /// Checks each subscription against this tick's points; one frame per crossing.
    pub fn evaluate(
        &mut self,
        t: i64,
        points: &[Point],
        lower_is_worse: fn(&str) -> bool,
    ) -> Vec<(AlertFrame, Delivery)> {
        let mut out = Vec::new();
        for sub in self.subs.values_mut() {
            let lower = lower_is_worse(&sub.metric);
            for p in points.iter().filter(|p| p.metric == sub.metric) {
                if !sub.matchers.iter().all(|(k, v)| p.labels.get(k) == Some(v)) {
                    continue;
                }
                let Some(PointValue::Number(WireNum(v))) = p.value else { continue };
                if v.is_nan() {
                    continue;
                }
                let beyond = if lower { v < sub.threshold } else { v > sub.threshold };
                let started = sub.firing.get(&p.labels).copied();
                let frame = match (beyond, started) {
                    (true, None) => {
                        sub.firing.insert(p.labels.clone(), t);
                        crossing(sub, &p.labels, v, lower, t, None)
                    }
                    (false, Some(start)) => {
                        sub.firing.remove(&p.labels);
                        crossing(sub, &p.labels, v, lower, start, Some(t))
                    }
                    _ => continue,
                };
                out.push((frame, sub.delivery.clone()));
            }
        }
        out
    }
}

fn crossing(
    sub: &AlertSubscription,
    labels: &Labels,
    value: f64,
    lower: bool,
    start: i64,
    end: Option<i64>,
) -> AlertFrame {
    let series = if labels.is_empty() {
        "-".to_string()
    } else {
        labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
    };
    let side = if lower { "below" } else { "above" };
    AlertFrame {
        seq: None,
        id: format!("{}:{series}:{}", sub.id, start.div_euclid(1000)),
        state: if end.is_some() { "resolved" } else { "firing" }.into(),
        severity: "warning".into(),
        metric: sub.metric.clone(),
        labels: labels.clone(),
        value: Some(WireNum(value)),
        threshold: Some(WireNum(sub.threshold)),
        summary: format!("{} {side} {} (subscription {})", sub.metric, sub.threshold, sub.id),
        starts_at: Some(WireTime(start)),
        ends_at: end.map(WireTime),
        marks: Default::default(),
    }
}

/// A refused subscription: status and message.
type Refusal = (StatusCode, String);

fn bad(message: String) -> Refusal {
    (StatusCode::BAD_REQUEST, message)
}

/// Validates a subscription body; every message names the field at fault.
pub(crate) fn parse_subscription(
    body: &[u8],
    kind_of: impl Fn(&str) -> Option<MetricKind>,
) -> Result<AlertSubscription, Refusal> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("invalid JSON: {}", clip(&e.to_string()))))?;
    let Value::Object(obj) = value else { return Err(bad("body must be a JSON object".into())) };
    let metric = match obj.get("metric") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        Some(_) => return Err(bad("field \"metric\" must be a metric name".into())),
        None => return Err(bad("missing field \"metric\"".into())),
    };
    match kind_of(&metric) {
        None => return Err((StatusCode::NOT_FOUND, format!("unknown metric {:?}", clip(&metric)))),
        Some(MetricKind::Histogram | MetricKind::Status) => {
            return Err(bad(format!("field \"metric\": {metric} has no single numeric value to compare")));
        }
        Some(_) => {}
    }
    let threshold = match obj.get("threshold") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
        None => return Err(bad("missing field \"threshold\"".into())),
    }
    .filter(|t| t.is_finite())
    .ok_or_else(|| bad("field \"threshold\" must be a finite number".into()))?;
    let delivery = match obj.get("notification_method") {
        None => return Err(bad("missing field \"notification_method\"".into())),
        Some(Value::String(m)) if m == "webhook" => Delivery::Webhook(parse_url(obj.get("url"))?),
        Some(Value::String(m)) if m == "websocket" => Delivery::Websocket,
        Some(_) => return Err(bad("field \"notification_method\" must be \"webhook\" or \"websocket\"".into())),
    };
    let mut matchers = Labels::new();
    for (key, value) in &obj {
        if matches!(key.as_str(), "metric" | "threshold" | "notification_method" | "url" | "id") {
            continue;
        }
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(bad(format!("field {:?} must be a string or a number (a label matcher)", clip(key)))),
        };
        if !valid_label_name(key) {
            return Err(bad(format!("field {:?} is not a valid label name", clip(key))));
        }
        matchers.insert(key.clone(), text);
    }
    if matchers.len() > MAX_LABELS {
        return Err(bad(format!("too many label matchers (at most {MAX_LABELS})")));
    }
    Ok(AlertSubscription { id: String::new(), metric, threshold, delivery, matchers, firing: HashMap::new() })
}

fn parse_url(url: Option<&Value>) -> Result<String, Refusal> {
    let Some(url) = url else { return Err(bad("missing field \"url\" (required for webhook)".into())) };
    let parsed = url.as_str().and_then(|u| reqwest::Url::parse(u).ok());
    match parsed {
        Some(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(u.to_string()),
        _ => Err(bad("field \"url\" must be an http or https URL".into())),
    }
}

fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 128
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `POST /api/v1/alerts/subscribe`.
pub(crate) async fn create(State(shared): State<Arc<Shared>>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error_response(StatusCode::PAYLOAD_TOO_LARGE, "body over 64 KiB");
        }
        Err(_) => return error_response(StatusCode::BAD_REQUEST, "could not read the body"),
    };
    let mut sub = match parse_subscription(&body, |m| shared.kind_of(m)) {
        Ok(sub) => sub,
        Err((status, message)) => return error_response(status, &message),
    };
    sub.id = format!("sub-{:016x}", rand::random::<u64>());
    let answer = sub.to_json();
    {
        let mut book = shared.lock_subscriptions();
        if book.subs.len() >= MAX_SUBSCRIPTIONS {
            return error_response(StatusCode::BAD_REQUEST, "too many alert subscriptions");
        }
        book.subs.insert(sub.id.clone(), sub);
        shared.metrics.alert_subscriptions.store(book.len() as u64, Ordering::Relaxed);
    }
    (StatusCode::CREATED, Json(answer)).into_response()
}

/// `DELETE /api/v1/alerts/subscribe/{id}`.
pub(crate) async fn delete(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let mut book = shared.lock_subscriptions();
    if book.subs.remove(&id).is_none() {
        return error_response(StatusCode::NOT_FOUND, "no such subscription");
    }
    shared.metrics.alert_subscriptions.store(book.len() as u64, Ordering::Relaxed);
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(m: &str) -> Option<MetricKind> {
        match m {
            "orders_per_minute" => Some(MetricKind::Gauge),
            "system_health" => Some(MetricKind::Status),
            _ => None,
        }
    }

    fn parse(body: &str) -> Result<AlertSubscription, Refusal> {
        parse_subscription(body.as_bytes(), kinds)
    }

    #[test]
    fn accepts_matchers_and_names_bad_fields() {
        let ok = parse(
            r#"{"metric":"orders_per_minute","threshold":10,"product_id":12345,"notification_method":"websocket"}"#,
        )
        .unwrap();
        assert_eq!(ok.matchers.get("product_id").map(String::as_str), Some("12345"));
        let err = |b: &str| parse(b).unwrap_err();
        assert_eq!(err("{").0, StatusCode::BAD_REQUEST);
        assert!(err(r#"{"threshold":1}"#).1.contains("\"metric\""));
        assert_eq!(
            err(r#"{"metric":"nope","threshold":1,"notification_method":"websocket"}"#).0,
            StatusCode::NOT_FOUND
        );
        assert!(err(r#"{"metric":"orders_per_minute","notification_method":"websocket"}"#).1.contains("threshold"));
        assert!(
            err(r#"{"metric":"orders_per_minute","threshold":1,"notification_method":"pigeon"}"#)
                .1
                .contains("notification_method")
        );
        assert!(
            err(r#"{"metric":"orders_per_minute","threshold":1,"notification_method":"webhook"}"#).1.contains("url")
        );
        assert!(
            err(r#"{"metric":"orders_per_minute","threshold":1,"notification_method":"webhook","url":"ftp://x"}"#)
                .1
                .contains("url")
        );
        assert!(
            err(r#"{"metric":"orders_per_minute","threshold":1,"notification_method":"websocket","x":[1]}"#)
                .1
                .contains("\"x\"")
        );
        assert!(
            err(r#"{"metric":"system_health","threshold":1,"notification_method":"websocket"}"#).1.contains("metric")
        );
    }

    #[test]
    fn fires_once_per_crossing_and_resolves() {
        let mut sub =
            parse(r#"{"metric":"orders_per_minute","threshold":10,"notification_method":"websocket"}"#).unwrap();
        sub.id = "sub-1".into();
        let mut book = SubscriptionBook::default();
        book.subs.insert(sub.id.clone(), sub);
        let point = |v: f64| Point {
            metric: "orders_per_minute".into(),
            labels: Labels::new(),
            value: Some(PointValue::Number(WireNum(v))),
            histogram: None,
        };
        let higher_is_worse = |_: &str| false;
        assert!(book.evaluate(1000, &[point(5.0)], higher_is_worse).is_empty());
        let fired = book.evaluate(2000, &[point(15.0)], higher_is_worse);
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].0.state, "firing");
        assert!(book.evaluate(3000, &[point(16.0)], higher_is_worse).is_empty());
        let resolved = book.evaluate(4000, &[point(1.0)], higher_is_worse);
        assert_eq!(resolved[0].0.state, "resolved");
        assert_eq!(resolved[0].0.id, fired[0].0.id);
        assert_eq!(resolved[0].0.ends_at, Some(WireTime(4000)));
    }
}
