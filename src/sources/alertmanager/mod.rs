//! Alertmanager as a source of alerts: one fetch of its v2 API (every alert,
//! suppressed ones included, and every silence), and a pure conversion into
//! the dashboard's [`Alert`]s.
//!
//! Alerts keep their Alertmanager identity in the id, `am:<source>:<fingerprint>`,
//! rather than in a label: labels take part in matching (filters, vigil's
//! own silences), and a made-up label would change what matches.
//! Alertmanager's silences and inhibitions are not alert states: a
//! suppressed alert is still firing, and [`suppressions`] says who muted it
//! and until when, for the alert list to show beside vigil's own silences.
//!
//! Everything read from the network is sanitised for the terminal and
//! length-capped here. An entry that does not make sense is counted in
//! [`Snapshot::malformed`] and skipped; only an answer that is not
//! Alertmanager's at all fails the fetch.

pub mod poll;

use super::auth::{self, Auth, AuthError};
use crate::core::model::{Alert, AlertState, ErrorClass, Labels, Origin, Severity};
use crate::wire::{MAX_LABELS, parse_time_any_offset, sanitize, sanitize_labels};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Largest answer read from one endpoint; a bigger one fails the fetch
/// rather than the dashboard's memory.
pub const MAX_BODY_BYTES: usize = 16 << 20;
/// Most annotations kept on one alert before it is refused as malformed.
pub const MAX_ANNOTATIONS: usize = 64;
/// Most silences or inhibitors listed for one alert; the rest are dropped.
const MAX_REFS: usize = 64;
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Prefix of the ids of alerts that came from an Alertmanager: the id is a
/// key for acks and the timeline; the alert's origin says where it came from.
const ID_PREFIX: &str = "am:";

/// What Alertmanager says about an alert's delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AmAlertState {
    /// Notifications go out.
    Active,
    /// Silenced or inhibited: see `silenced_by` and `inhibited_by`.
    Suppressed,
    /// Received but not yet through the pipeline.
    Unprocessed,
}

/// One alert as Alertmanager reports it, sanitised.
#[derive(Debug, Clone, PartialEq)]
pub struct AmAlert {
    /// Alertmanager's hash of the label set: lowercase hex.
    pub fingerprint: String,
    pub labels: Labels,
    pub annotations: Labels,
    pub starts_at_ms: i64,
    pub ends_at_ms: Option<i64>,
    pub updated_at_ms: Option<i64>,
    pub state: AmAlertState,
    /// IDs of the silences that mute the alert.
    pub silenced_by: Vec<String>,
    /// Fingerprints of the alerts that inhibit it.
    pub inhibited_by: Vec<String>,
    pub receivers: Vec<String>,
    pub generator_url: String,
}

impl AmAlert {
    pub fn is_silenced(&self) -> bool {
        !self.silenced_by.is_empty()
    }
    pub fn is_inhibited(&self) -> bool {
        !self.inhibited_by.is_empty()
    }
}

/// One matcher of a silence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmMatcher {
    pub name: String,
    pub value: String,
    pub is_regex: bool,
    /// False for `!=` and `!~`.
    pub is_equal: bool,
}

/// Where a silence is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SilenceState {
    Active,
    /// Starts in the future.
    Pending,
    Expired,
    /// A state this build does not know.
    Unknown,
}

/// One silence, sanitised.
#[derive(Debug, Clone, PartialEq)]
pub struct AmSilence {
    pub id: String,
    pub matchers: Vec<AmMatcher>,
    pub created_by: String,
    pub comment: String,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub state: SilenceState,
}

/// Everything one fetch read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    pub alerts: Vec<AmAlert>,
    pub silences: Vec<AmSilence>,
    /// Entries skipped because they made no sense.
    pub malformed: usize,
}

/// Why a fetch failed; every message is one line and carries no secret.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FetchError {
    #[error("bad Alertmanager URL {url:?}: {why}")]
    BadUrl { url: String, why: String },
    #[error("Alertmanager credentials: {0}")]
    Auth(#[from] AuthError),
    #[error("cannot reach Alertmanager at {url}: {why}")]
    Network { url: String, why: String, class: ErrorClass },
    #[error("Alertmanager at {url} {}", refusal(*.had_credentials))]
    Unauthorized { url: String, status: u16, had_credentials: bool },
    #[error("Alertmanager at {url} answered HTTP {status}{}", with_colon(.detail))]
    Status { url: String, status: u16, detail: String },
    #[error("{url} did not answer as Alertmanager's API does: {why}")]
    Decode { url: String, why: String },
    #[error("{url} answered with more than {} MiB", MAX_BODY_BYTES >> 20)]
    TooLarge { url: String },
}

fn refusal(had_credentials: bool) -> &'static str {
    if had_credentials { "refused the credentials" } else { "wants credentials" }
}

fn with_colon(detail: &str) -> String {
    if detail.is_empty() { String::new() } else { format!(": {detail}") }
}

impl FetchError {
    /// The class that decides how soon to retry.
    pub fn class(&self) -> ErrorClass {
        match self {
            FetchError::Network { class, .. } => *class,
            FetchError::Auth(_) | FetchError::Unauthorized { .. } => ErrorClass::Auth,
            FetchError::BadUrl { .. } | FetchError::Decode { .. } | FetchError::TooLarge { .. } => ErrorClass::Refused,
            FetchError::Status { status, .. } if *status >= 500 => ErrorClass::Network,
            FetchError::Status { .. } => ErrorClass::Refused,
        }
    }
}

/// Reads every alert (active, silenced, inhibited and unprocessed) and
/// every silence from the Alertmanager at `base_url` (which may carry a
/// route prefix, such as `https://ops.example/alertmanager`).
pub async fn fetch(http: &reqwest::Client, base_url: &str, auth: Option<&Auth>) -> Result<Snapshot, FetchError> {
    if let Some(a) = auth {
        a.validate()?;
    }
    let base = base(base_url)?;
    let alerts_url = format!("{base}/api/v2/alerts");
    let silences_url = format!("{base}/api/v2/silences");
    let filter = [("active", "true"), ("silenced", "true"), ("inhibited", "true"), ("unprocessed", "true")];
    // Alerts first, then silences: a silence an alert names already
    // existed when the alerts were read, so it is in the list read after
    // them, and who set it and why can be shown. Read at once, an alert
    // could name a silence made between the two reads.
    let alerts = get_json(http.get(&alerts_url).query(&filter), &alerts_url, auth).await?;
    let silences = get_json(http.get(&silences_url), &silences_url, auth).await?;
    let mut snapshot = Snapshot::default();
    for entry in alerts {
        match parse_alert(entry) {
            Some(a) => snapshot.alerts.push(a),
            None => snapshot.malformed += 1,
        }
    }
    for entry in silences {
        match parse_silence(entry) {
            Some(s) => snapshot.silences.push(s),
            None => snapshot.malformed += 1,
        }
    }
    Ok(snapshot)
}

/// The base URL without a trailing slash, refused when it is not plain
/// HTTP(S) or carries credentials (which would then show in every status
/// line and error; they belong in [`Auth`]).
fn base(base_url: &str) -> Result<String, FetchError> {
    let bad = |why: &str| FetchError::BadUrl { url: sanitize(base_url), why: why.to_string() };
    let url = reqwest::Url::parse(base_url.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("only http and https are supported"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // The message shows the URL without them.
        let mut shown = url.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        return Err(FetchError::BadUrl {
            url: sanitize(shown.as_str()),
            why: "credentials belong in the source's auth settings, not the URL".into(),
        });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("a query or fragment has no place in a base URL"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// GETs a JSON array, reading at most [`MAX_BODY_BYTES`].
async fn get_json(
    req: reqwest::RequestBuilder,
    url: &str,
    auth: Option<&Auth>,
) -> Result<Vec<serde_json::Value>, FetchError> {
    let req = auth::apply(auth, req.timeout(REQUEST_TIMEOUT).header(reqwest::header::ACCEPT, "application/json"))?;
    let network = |e: reqwest::Error| {
        // The URL leads the message already.
        let (class, why) = super::classify(&e.without_url());
        FetchError::Network { url: url.to_string(), why, class }
    };
    let mut resp = req.send().await.map_err(network)?;
    let status = resp.status().as_u16();
    if status == 401 || status == 403 {
        return Err(FetchError::Unauthorized { url: url.to_string(), status, had_credentials: auth.is_some() });
    }
    let Some(body) = super::read_capped(&mut resp, MAX_BODY_BYTES).await.map_err(network)? else {
        return Err(FetchError::TooLarge { url: url.to_string() });
    };
    if !resp_ok(status) {
        // Alertmanager explains a refusal in the body; its first line is
        // worth showing.
        let text = String::from_utf8_lossy(&body);
        let first = text.lines().next().unwrap_or("").trim();
        let detail = sanitize(&first.chars().take(200).collect::<String>());
        return Err(FetchError::Status { url: url.to_string(), status, detail });
    }
    serde_json::from_slice::<Vec<serde_json::Value>>(&body)
        .map_err(|e| FetchError::Decode { url: url.to_string(), why: sanitize(&format!("expected a JSON array: {e}")) })
}

fn resp_ok(status: u16) -> bool {
    (200..300).contains(&status)
}

// ------------------------------------------------------------- raw shapes

/// A list that Go may have written as `null`.
fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAlert {
    fingerprint: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    starts_at: String,
    #[serde(default)]
    ends_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    status: RawAlertStatus,
    #[serde(default, deserialize_with = "list")]
    receivers: Vec<RawReceiver>,
    #[serde(default, rename = "generatorURL")]
    generator_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAlertStatus {
    state: String,
    #[serde(default, deserialize_with = "list")]
    silenced_by: Vec<String>,
    #[serde(default, deserialize_with = "list")]
    inhibited_by: Vec<String>,
}

#[derive(Deserialize)]
struct RawReceiver {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSilence {
    id: String,
    #[serde(deserialize_with = "list")]
    matchers: Vec<RawMatcher>,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    comment: String,
    starts_at: String,
    ends_at: String,
    status: RawSilenceStatus,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMatcher {
    name: String,
    value: String,
    is_regex: bool,
    // Alertmanager before 0.22 has no negative matchers and omits this.
    #[serde(default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct RawSilenceStatus {
    state: String,
}

/// Whether `s` looks like an Alertmanager fingerprint (a 64-bit hash in hex).
fn is_fingerprint(s: &str) -> bool {
    (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `s` can serve as a silence ID (a UUID in practice).
fn is_silence_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn parse_alert(entry: serde_json::Value) -> Option<AmAlert> {
    let raw: RawAlert = serde_json::from_value(entry).ok()?;
    if !is_fingerprint(&raw.fingerprint) || raw.labels.len() > MAX_LABELS || raw.annotations.len() > MAX_ANNOTATIONS {
        return None;
    }
    let starts_at_ms = parse_time_any_offset(&raw.starts_at)?;
    // Go writes a zero time (year 1) for "not set", which no parser here
    // takes: that is the absence of an end, not a malformed alert.
    let ends_at_ms = raw.ends_at.as_deref().and_then(parse_time_any_offset);
    let updated_at_ms = raw.updated_at.as_deref().and_then(parse_time_any_offset);
    let state = match raw.status.state.as_str() {
        "suppressed" => AmAlertState::Suppressed,
        "unprocessed" => AmAlertState::Unprocessed,
        // A state from a newer Alertmanager: showing the alert beats hiding it.
        _ => AmAlertState::Active,
    };
    let silenced_by =
        raw.status.silenced_by.into_iter().filter(|id| is_silence_id(id)).take(MAX_REFS).collect::<Vec<_>>();
    let inhibited_by = raw
        .status
        .inhibited_by
        .into_iter()
        .filter(|fp| is_fingerprint(fp))
        .map(|fp| fp.to_ascii_lowercase())
        .take(MAX_REFS)
        .collect();
    Some(AmAlert {
        fingerprint: raw.fingerprint.to_ascii_lowercase(),
        labels: sanitize_labels(&raw.labels),
        annotations: sanitize_labels(&raw.annotations),
        starts_at_ms,
        ends_at_ms,
        updated_at_ms,
        state,
        silenced_by,
        inhibited_by,
        receivers: raw.receivers.into_iter().take(MAX_REFS).map(|r| sanitize(&r.name)).collect(),
        generator_url: raw.generator_url.map(|u| sanitize(&u)).unwrap_or_default(),
    })
}

fn parse_silence(entry: serde_json::Value) -> Option<AmSilence> {
    let raw: RawSilence = serde_json::from_value(entry).ok()?;
    if !is_silence_id(&raw.id) || raw.matchers.len() > MAX_LABELS {
        return None;
    }
    let state = match raw.status.state.as_str() {
        "active" => SilenceState::Active,
        "pending" => SilenceState::Pending,
        "expired" => SilenceState::Expired,
        _ => SilenceState::Unknown,
    };
    Some(AmSilence {
        id: raw.id,
        matchers: raw
            .matchers
            .into_iter()
            .map(|m| AmMatcher {
                name: sanitize(&m.name),
                value: sanitize(&m.value),
                is_regex: m.is_regex,
                is_equal: m.is_equal,
            })
            .collect(),
        created_by: sanitize(&raw.created_by),
        comment: sanitize(&raw.comment),
        starts_at_ms: parse_time_any_offset(&raw.starts_at)?,
        ends_at_ms: parse_time_any_offset(&raw.ends_at)?,
        state,
    })
}

// ------------------------------------------------------------- conversion

/// The dashboard's id for an Alertmanager alert.
pub fn alert_id(source_name: &str, fingerprint: &str) -> String {
    format!("{ID_PREFIX}{source_name}:{fingerprint}")
}

/// The dashboard's alerts for a snapshot. Suppressed alerts stay firing
/// (the condition holds; only notifications stop): see [`suppressions`].
pub fn to_alerts(snapshot: &Snapshot, source_name: &str, now_ms: i64) -> Vec<Alert> {
    snapshot
        .alerts
        .iter()
        .map(|a| {
            let resolved = a.ends_at_ms.is_some_and(|end| end <= now_ms);
            let summary = ["summary", "description", "message"]
                .iter()
                .filter_map(|k| a.annotations.get(*k))
                .find(|s| !s.trim().is_empty())
                .cloned()
                .unwrap_or_default();
            Alert {
                id: alert_id(source_name, &a.fingerprint),
                origin: Origin::Alertmanager { source: source_name.to_string() },
                state: if resolved { AlertState::Resolved } else { AlertState::Firing },
                severity: Severity::parse(a.labels.get("severity").map(String::as_str).unwrap_or("")),
                metric: a.labels.get("alertname").cloned().unwrap_or_default(),
                labels: a.labels.clone(),
                value: None,
                threshold: None,
                summary,
                starts_at: Some(a.starts_at_ms),
                ends_at: a.ends_at_ms,
                updated_ms: now_ms,
                open_start: false,
            }
        })
        .collect()
}

/// A silence that mutes an alert, as the alert list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SilencedBy {
    pub silence_id: String,
    /// Empty when the silence was not in the snapshot (it was created or
    /// removed between the two requests of a fetch).
    pub created_by: String,
    pub comment: String,
    pub ends_at_ms: Option<i64>,
}

/// Why an Alertmanager alert sends no notifications.
#[derive(Debug, Clone, PartialEq)]
pub struct Suppression {
    /// The muted alert's dashboard id.
    pub alert_id: String,
    pub silenced_by: Vec<SilencedBy>,
    /// Dashboard ids of the alerts that inhibit it.
    pub inhibited_by: Vec<String>,
}

/// Every silenced or inhibited alert of a snapshot, with who silenced it,
/// why and until when.
pub fn suppressions(snapshot: &Snapshot, source_name: &str) -> Vec<Suppression> {
    let silences: BTreeMap<&str, &AmSilence> = snapshot.silences.iter().map(|s| (s.id.as_str(), s)).collect();
    snapshot
        .alerts
        .iter()
        .filter(|a| a.is_silenced() || a.is_inhibited())
        .map(|a| Suppression {
            alert_id: alert_id(source_name, &a.fingerprint),
            silenced_by: a
                .silenced_by
                .iter()
                .map(|id| match silences.get(id.as_str()) {
                    Some(s) => SilencedBy {
                        silence_id: id.clone(),
                        created_by: s.created_by.clone(),
                        comment: s.comment.clone(),
                        ends_at_ms: Some(s.ends_at_ms),
                    },
                    None => SilencedBy {
                        silence_id: id.clone(),
                        created_by: String::new(),
                        comment: String::new(),
                        ends_at_ms: None,
                    },
                })
                .collect(),
            inhibited_by: a.inhibited_by.iter().map(|fp| alert_id(source_name, fp)).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alert_json(fp: &str) -> serde_json::Value {
        json!({
            "fingerprint": fp,
            "labels": {"alertname": "HighErrorRate", "severity": "critical", "service": "checkout"},
            "annotations": {"description": "5xx above 5%", "runbook_url": "https://runbooks/x"},
            "startsAt": "2025-06-30T10:30:00.123456789Z",
            "endsAt": "2025-06-30T10:35:00Z",
            "updatedAt": "2025-06-30T10:30:01+02:00",
            "status": {"state": "suppressed", "silencedBy": ["6c1f0b5e-0000-4000-8000-000000000001"], "inhibitedBy": null},
            "receivers": [{"name": "null"}],
            "generatorURL": "http://prometheus/graph"
        })
    }

    fn silence_json(id: &str) -> serde_json::Value {
        json!({
            "id": id,
            "matchers": [{"name": "service", "value": "checkout", "isRegex": false}],
            "createdBy": "ana\u{1b}[31m",
            "comment": "deploy\nwindow",
            "startsAt": "2025-06-30T10:00:00Z",
            "endsAt": "2025-06-30T12:00:00Z",
            "status": {"state": "active"}
        })
    }

    #[test]
    fn parses_alerts_leniently_about_what_go_may_leave_out() {
        let a = parse_alert(alert_json("ABCDEF0123456789")).unwrap();
        assert_eq!(a.fingerprint, "abcdef0123456789");
        assert_eq!(a.starts_at_ms, 1_751_279_400_123);
        assert_eq!(a.ends_at_ms, Some(1_751_279_700_000));
        assert_eq!(a.updated_at_ms, Some(1_751_272_201_000));
        assert_eq!(a.state, AmAlertState::Suppressed);
        assert!(a.is_silenced() && !a.is_inhibited());
        assert_eq!(a.receivers, ["null"]);

        let mut zero_end = alert_json("01");
        zero_end["endsAt"] = json!("0001-01-01T00:00:00Z");
        assert_eq!(parse_alert(zero_end).unwrap().ends_at_ms, None);
    }

    #[test]
    fn refuses_entries_that_make_no_sense() {
        let mut bad = Vec::new();
        for (field, value) in [
            ("fingerprint", json!("not hex!")),
            ("fingerprint", json!("")),
            ("startsAt", json!("soon")),
            ("labels", json!({"severity": 3})),
            ("status", json!("active")),
        ] {
            let mut a = alert_json("01");
            a[field] = value;
            bad.push(a);
        }
        let mut many = alert_json("01");
        many["labels"] = (0..=MAX_LABELS).map(|i| (format!("l{i}"), json!("v"))).collect();
        bad.push(many);
        for a in bad {
            assert_eq!(parse_alert(a.clone()), None, "{a}");
        }
        assert_eq!(parse_silence(json!({"id": "x"})), None);
        let mut bad_id = silence_json("a");
        bad_id["id"] = json!("../../etc");
        assert_eq!(parse_silence(bad_id), None);
    }

    #[test]
    fn text_is_sanitised() {
        let s = parse_silence(silence_json("6c1f0b5e-0000-4000-8000-000000000001")).unwrap();
        assert_eq!(s.created_by, "ana\\u{1b}[31m");
        assert_eq!(s.comment, "deploy window");
        assert!(s.matchers[0].is_equal, "isEqual defaults to true");
        assert_eq!(s.state, SilenceState::Active);
    }

    #[test]
    fn converts_to_dashboard_alerts_and_reports_suppression() {
        let silence_id = "6c1f0b5e-0000-4000-8000-000000000001";
        let mut inhibited = alert_json("02");
        inhibited["labels"]["severity"] = json!("warning");
        inhibited["labels"]["alertname"] = json!("Latency");
        inhibited["annotations"] = json!({"message": "slow", "summary": "  "});
        inhibited["status"] = json!({"state": "suppressed", "silencedBy": [], "inhibitedBy": ["01"]});
        let mut plain = alert_json("03");
        plain["status"] = json!({"state": "active", "silencedBy": [], "inhibitedBy": []});
        plain["labels"] = json!({});
        plain["annotations"] = json!({});
        let snapshot = Snapshot {
            alerts: [alert_json("01"), inhibited, plain].into_iter().map(|a| parse_alert(a).unwrap()).collect(),
            silences: vec![parse_silence(silence_json(silence_id)).unwrap()],
            malformed: 0,
        };
        let now = 1_751_279_500_000;
        let alerts = to_alerts(&snapshot, "prod", now);
        assert_eq!(alerts.len(), 3);
        assert_eq!(alerts[0].id, "am:prod:01");
        assert!(alerts.iter().all(|a| a.origin == Origin::Alertmanager { source: "prod".into() }));
        assert_eq!(alerts[0].state, AlertState::Firing);
        assert_eq!(alerts[0].severity, Severity::Critical);
        assert_eq!(alerts[0].metric, "HighErrorRate");
        assert_eq!(alerts[0].summary, "5xx above 5%");
        assert_eq!(alerts[0].labels.get("service").map(String::as_str), Some("checkout"));
        assert!(!alerts[0].labels.contains_key("source"));
        assert_eq!(alerts[1].severity, Severity::Warning);
        assert_eq!(alerts[1].summary, "slow", "a blank summary gives way");
        assert_eq!((alerts[2].severity, alerts[2].metric.as_str()), (Severity::Info, ""));
        // After its end the alert is resolved.
        assert_eq!(to_alerts(&snapshot, "prod", 1_751_279_700_000)[0].state, AlertState::Resolved);

        let muted = suppressions(&snapshot, "prod");
        assert_eq!(muted.len(), 2);
        assert_eq!(muted[0].alert_id, "am:prod:01");
        assert_eq!(muted[0].silenced_by[0].created_by, "ana\\u{1b}[31m");
        assert_eq!(muted[0].silenced_by[0].ends_at_ms, Some(1_751_284_800_000));
        assert_eq!(muted[1].alert_id, "am:prod:02");
        assert_eq!(muted[1].inhibited_by, ["am:prod:01"]);
    }

    #[test]
    fn alerts_carry_their_source_and_alertname() {
        let snapshot =
            Snapshot { alerts: vec![parse_alert(alert_json("01")).unwrap()], silences: vec![], malformed: 0 };
        let a = &to_alerts(&snapshot, "eu:west", 1_751_279_500_000)[0];
        assert_eq!(a.origin, Origin::Alertmanager { source: "eu:west".into() });
        assert_eq!(a.name(), "HighErrorRate", "named by alertname, not by the id's prefix");
    }

    #[test]
    fn base_urls() {
        assert_eq!(base("http://127.0.0.1:9093/").unwrap(), "http://127.0.0.1:9093");
        assert_eq!(base("https://ops.example/am/").unwrap(), "https://ops.example/am");
        for bad in ["ftp://x", "http://u:p@x", "not a url", "http://x/?a=b"] {
            let e = base(bad).unwrap_err();
            assert_eq!(e.class(), ErrorClass::Refused);
            assert!(!e.to_string().contains('\n'));
        }
        assert!(!base("http://u:secret@x").unwrap_err().to_string().contains("secret"));
    }
}
