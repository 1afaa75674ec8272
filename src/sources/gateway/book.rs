//! The screen's calls to a gateway's book of acks and silences (the `acks`
//! capability): acknowledge, take back, silence, end silences. Each goes
//! over REST to the gateway the link is connected to (else the preferred
//! one), one at a time in the order pressed; what comes of it arrives as
//! the gateway pushes the alerts again, to this screen as to every other.
//! A call that fails is said in one line on the status bar
//! ([`Update::BookError`]); nothing else changes.

use super::link;
use crate::core::model::{Labels, Update};
use crate::sources::SourceStats;
use crate::wire::{ALERTS_PATH, ErrorBody, SILENCES_PATH, format_time, sanitize};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Each attempt's limit: the gateway answers at once or is in trouble.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Pauses before attempts again after a network error.
const RETRY: [Duration; 2] = [Duration::from_millis(500), Duration::from_secs(2)];

/// One change the screen asks of the gateway's book.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Ack {
        id: String,
        by: String,
    },
    Unack {
        id: String,
    },
    /// A silence of equality matchers, replacing active ones of exactly
    /// the same matchers (so a shorter silence can replace a longer one).
    Silence {
        matchers: Labels,
        ends_at_ms: i64,
        created_by: String,
        comment: String,
    },
    /// Ends these silences.
    Expire {
        ids: Vec<String>,
    },
}

impl Call {
    /// What failed, for the status line.
    fn what(&self) -> &'static str {
        match self {
            Call::Ack { .. } => "acknowledgement",
            Call::Unack { .. } => "taking back the acknowledgement",
            Call::Silence { .. } => "silence",
            Call::Expire { .. } => "ending the silence",
        }
    }
}

/// Where and how calls are made.
pub struct Options {
    pub urls: Vec<String>,
    pub stats: Vec<Arc<SourceStats>>,
    pub token: Option<String>,
    pub http: reqwest::Client,
}

/// Serves calls one at a time until cancelled.
pub async fn serve(
    mut calls: mpsc::Receiver<Call>,
    opts: Options,
    tx: mpsc::Sender<Update>,
    cancel: CancellationToken,
) {
    loop {
        let call = tokio::select! {
            c = calls.recv() => match c {
                Some(c) => c,
                None => return,
            },
            _ = cancel.cancelled() => return,
        };
        let outcome = tokio::select! {
            o = make(&opts, &call) => o,
            _ = cancel.cancelled() => return,
        };
        if let Err(why) = outcome {
            tracing::warn!(call = ?call, error = %why, "the gateway's book refused or missed a call");
            let line = format!("{} not recorded by the gateway: {why}", call.what());
            if tx.send(Update::BookError(line)).await.is_err() {
                return;
            }
        }
    }
}

/// The REST base of the gateway the link is on, else the preferred one.
fn base(opts: &Options) -> Result<String, String> {
    let connected = opts.urls.iter().zip(&opts.stats).find(|(_, s)| s.link().connected).map(|(u, _)| u);
    let url = connected.or(opts.urls.first()).ok_or("no gateway to ask")?;
    link::http_base(url).map_err(|e| e.to_string())
}

async fn make(opts: &Options, call: &Call) -> Result<(), String> {
    let base = base(opts)?;
    match call {
        Call::Ack { id, by } => {
            send(opts, reqwest::Method::POST, &alert_url(&base, id)?, Some(json!({ "by": by }))).await.map(drop)
        }
        Call::Unack { id } => send(opts, reqwest::Method::DELETE, &alert_url(&base, id)?, None).await.map(drop),
        Call::Silence { matchers, ends_at_ms, created_by, comment } => {
            let url = format!("{base}{SILENCES_PATH}");
            let listed = send(opts, reqwest::Method::GET, &url, None).await?;
            let same = same_matchers(&listed, matchers);
            let list: Vec<Value> = matchers
                .iter()
                .map(|(name, value)| json!({"name": name, "value": value, "regex": false, "is_equal": true}))
                .collect();
            let body = json!({
                "matchers": list,
                "ends_at": format_time(*ends_at_ms),
                "created_by": created_by,
                "comment": comment,
            });
            send(opts, reqwest::Method::POST, &url, Some(body)).await?;
            expire(opts, &base, &same).await
        }
        Call::Expire { ids } => expire(opts, &base, ids).await,
    }
}

async fn expire(opts: &Options, base: &str, ids: &[String]) -> Result<(), String> {
    for id in ids {
        let url = segment_url(&format!("{base}{SILENCES_PATH}"), &[id])?;
        send(opts, reqwest::Method::DELETE, &url, None).await?;
    }
    Ok(())
}

/// The ids of active silences whose matchers are exactly these equalities.
fn same_matchers(listed: &Value, matchers: &Labels) -> Vec<String> {
    let Some(silences) = listed.get("silences").and_then(Value::as_array) else { return Vec::new() };
    silences
        .iter()
        .filter(|s| s.get("status").and_then(Value::as_str) == Some("active"))
        .filter(|s| {
            let Some(ms) = s.get("matchers").and_then(Value::as_array) else { return false };
            let equalities: Option<Labels> = ms
                .iter()
                .map(|m| {
                    let plain =
                        m.get("regex") != Some(&Value::Bool(true)) && m.get("is_equal") != Some(&Value::Bool(false));
                    let name = m.get("name")?.as_str()?.to_string();
                    let value = m.get("value")?.as_str()?.to_string();
                    plain.then_some((name, value))
                })
                .collect();
            equalities.as_ref() == Some(matchers)
        })
        .filter_map(|s| s.get("id")?.as_str().map(str::to_string))
        .collect()
}

fn alert_url(base: &str, id: &str) -> Result<String, String> {
    segment_url(&format!("{base}{ALERTS_PATH}"), &[id, "ack"])
}

/// `base` with path segments added, each escaped: alert ids hold spaces,
/// colons and commas.
fn segment_url(base: &str, segments: &[&str]) -> Result<String, String> {
    let mut url = reqwest::Url::parse(base).map_err(|e| e.to_string())?;
    url.path_segments_mut().map_err(|_| "the gateway's URL cannot take a path".to_string())?.extend(segments);
    Ok(url.to_string())
}

/// One request, tried again after a network error; the answer's JSON, or
/// why not in one line (the gateway's own error message when it gave one).
async fn send(opts: &Options, method: reqwest::Method, url: &str, body: Option<Value>) -> Result<Value, String> {
    let mut last = String::new();
    for attempt in 0..=RETRY.len() {
        if attempt > 0 {
            tokio::time::sleep(RETRY[attempt - 1]).await;
        }
        let mut req = opts.http.request(method.clone(), url).timeout(TIMEOUT);
        if let Some(t) = &opts.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = &body {
            req = req.json(b);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                last = format!("cannot reach it ({})", crate::sources::error_chain(&e.without_url()));
                continue;
            }
        };
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if status.is_success() {
            return Ok(serde_json::from_str(&text).unwrap_or(Value::Null));
        }
        let said = serde_json::from_str::<ErrorBody>(&text).map(|b| b.error).unwrap_or_default();
        let said = sanitize(said.lines().next().unwrap_or(""));
        let why = if said.is_empty() {
            format!("HTTP {}", status.as_u16())
        } else {
            format!("{said} (HTTP {})", status.as_u16())
        };
        // A refusal will not change by asking again; a server in trouble may.
        if !status.is_server_error() {
            return Err(why);
        }
        last = why;
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_escaped_into_one_segment() {
        let url = alert_url("http://gw:7878", "checkout errors:checkout:1751279400").unwrap();
        assert_eq!(url, "http://gw:7878/api/v1/alerts/checkout%20errors:checkout:1751279400/ack");
        assert_eq!(alert_url("http://gw", "a/b").unwrap(), "http://gw/api/v1/alerts/a%2Fb/ack");
    }

    #[test]
    fn only_active_silences_of_exactly_the_same_equalities_are_replaced() {
        let want: Labels =
            [("alertname".to_string(), "cpu".to_string()), ("service".to_string(), "api".to_string())].into();
        let listed = json!({"silences": [
            {"id": "same", "status": "active", "matchers": [
                {"name": "alertname", "value": "cpu", "regex": false, "is_equal": true},
                {"name": "service", "value": "api"}]},
            {"id": "expired", "status": "expired", "matchers": [
                {"name": "alertname", "value": "cpu"}, {"name": "service", "value": "api"}]},
            {"id": "broader", "status": "active", "matchers": [{"name": "service", "value": "api"}]},
            {"id": "regex", "status": "active", "matchers": [
                {"name": "alertname", "value": "cpu", "regex": true}, {"name": "service", "value": "api"}]},
        ]});
        assert_eq!(same_matchers(&listed, &want), ["same"]);
        assert!(same_matchers(&json!({}), &want).is_empty());
    }
}
