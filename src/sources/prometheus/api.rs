//! The Prometheus HTTP API as a client sees it: instant and range queries,
//! and what their answers mean. Thanos, Mimir and VictoriaMetrics answer
//! the same requests the same way.

use crate::core::model::Labels;
use crate::sources::auth::{self, Auth};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::time::Duration;

/// Most series one answer may bring; the rest are dropped (and said so),
/// so a query that matches every series of a big server cannot flood the
/// store, which caps series as a whole anyway.
pub const MAX_SERIES: usize = 2_000;
/// Largest answer read, in bytes.
pub const MAX_BODY: usize = 32 << 20;

/// A client of one server.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    /// The base URL without a trailing slash.
    base: String,
    auth: Option<Auth>,
    timeout: Duration,
}

/// One series of an answer: its metric name when it kept one, its labels
/// (without `__name__`) and its points as (ms, value), oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: Option<String>,
    pub labels: Labels,
    pub points: Vec<(i64, f64)>,
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Answer {
    pub series: Vec<Series>,
    /// Series left out past [`MAX_SERIES`].
    pub dropped: usize,
    /// The body's size, for the sources page.
    pub bytes: usize,
    /// What the server warned of (partial data, and the like).
    pub warnings: Vec<String>,
}

/// Why a query gave no answer.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryError {
    /// No answer from the server at all: refused, reset, timed out.
    Unreachable(String),
    /// The server refused the credentials (401 or 403).
    Auth(String),
    /// The server answered, but not with results: the query is wrong, it
    /// timed out there, or the server is not a Prometheus API.
    Refused(String),
}

impl QueryError {
    /// Whether the server itself is down, not just this query wrong.
    pub fn server_down(&self) -> bool {
        matches!(self, QueryError::Unreachable(_) | QueryError::Auth(_))
    }
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryError::Unreachable(e) => write!(f, "unreachable: {e}"),
            QueryError::Auth(e) => write!(f, "not allowed: {e}"),
            QueryError::Refused(e) => f.write_str(e),
        }
    }
}

/// The envelope every API answer comes in.
#[derive(Deserialize)]
struct Envelope<'a> {
    status: String,
    #[serde(default, borrow)]
    data: Option<Data<'a>>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(rename = "resultType")]
    result_type: String,
    #[serde(borrow)]
    result: &'a RawValue,
}

/// A series of an instant answer. A native histogram comes as
/// `histogram` instead of `value`; vigil draws no such series, but the
/// others of the answer still count.
#[derive(Deserialize)]
struct VectorItem {
    #[serde(default)]
    metric: Labels,
    #[serde(default)]
    value: Option<(f64, String)>,
}

#[derive(Deserialize)]
struct MatrixItem {
    #[serde(default)]
    metric: Labels,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

impl Client {
    pub fn new(http: reqwest::Client, base: &str, auth: Option<Auth>, timeout: Duration) -> Client {
        Client { http, base: base.trim_end_matches('/').to_string(), auth, timeout }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The value of `query` at `at_ms`.
    pub async fn instant(&self, query: &str, at_ms: i64) -> Result<Answer, QueryError> {
        let params = [("query", query.to_string()), ("time", seconds(at_ms)), ("timeout", self.server_timeout())];
        self.get("/api/v1/query", &params).await
    }

    /// `query` from `from_ms` to `to_ms`, a point every `step_ms`.
    pub async fn range(&self, query: &str, from_ms: i64, to_ms: i64, step_ms: i64) -> Result<Answer, QueryError> {
        let params = [
            ("query", query.to_string()),
            ("start", seconds(from_ms)),
            ("end", seconds(to_ms)),
            ("step", seconds(step_ms.max(1000))),
            ("timeout", self.server_timeout()),
        ];
        self.get("/api/v1/query_range", &params).await
    }

    /// Every metric family's type as the server's targets declared it
    /// (`counter`, `histogram`, ...), by family name. Servers that keep no
    /// metadata answer with none, which is not an error.
    pub async fn metadata(&self) -> Result<std::collections::HashMap<String, String>, QueryError> {
        let url = format!("{}/api/v1/metadata", self.base);
        let request = self.http.get(&url).timeout(self.timeout);
        let request = auth::apply(self.auth.as_ref(), request).map_err(|e| QueryError::Auth(e.to_string()))?;
        let mut response =
            request.send().await.map_err(|e| QueryError::Unreachable(super::super::error_chain(&e.without_url())))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(QueryError::Auth(format!("HTTP {status}")));
        }
        let body = super::super::read_capped(&mut response, MAX_BODY)
            .await
            .map_err(|e| QueryError::Unreachable(super::super::error_chain(&e.without_url())))?
            .ok_or_else(|| QueryError::Refused(format!("answer larger than {} MiB", MAX_BODY >> 20)))?;
        decode_metadata(&body, status.as_u16())
    }

    /// The server gives up a little before we do, so a slow query comes
    /// back as its own error rather than as our timeout.
    fn server_timeout(&self) -> String {
        format!("{}ms", (self.timeout.as_millis() as u64 * 9 / 10).max(100))
    }

    async fn get(&self, path: &str, params: &[(&str, String)]) -> Result<Answer, QueryError> {
        let url = format!("{}{path}", self.base);
        let request = self.http.get(&url).query(params).timeout(self.timeout);
        let request = auth::apply(self.auth.as_ref(), request).map_err(|e| QueryError::Auth(e.to_string()))?;
        // The URL (query and all) would drown the reason in a panel's one line.
        // One slow query is that query's trouble, not the server's: a
        // timeout is not a dead link.
        let timeout = self.timeout;
        let unreachable = move |e: reqwest::Error| {
            if e.is_timeout() {
                QueryError::Refused(format!("no answer within {}", humantime::format_duration(timeout)))
            } else {
                QueryError::Unreachable(super::super::error_chain(&e.without_url()))
            }
        };
        let mut response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(QueryError::Auth(format!("HTTP {status}")));
        }
        let Some(body) = super::super::read_capped(&mut response, MAX_BODY).await.map_err(unreachable)? else {
            return Err(QueryError::Refused(format!("answer larger than {} MiB", MAX_BODY >> 20)));
        };
        decode(&body, status.as_u16())
    }
}

/// Milliseconds as the API's seconds, to the millisecond.
fn seconds(ms: i64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

/// A sample value as the API writes it: a number in a string, or `NaN`,
/// `+Inf`, `-Inf`.
fn value(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

fn ms(ts: f64) -> i64 {
    (ts * 1000.0).round() as i64
}

/// Reads an answer's body; `status` is its HTTP status.
pub fn decode(body: &[u8], status: u16) -> Result<Answer, QueryError> {
    let shown = |s: &str| crate::wire::sanitize(s);
    let envelope: Envelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(_) if !(200..300).contains(&status) => {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]).trim().to_string();
            return Err(QueryError::Refused(format!("HTTP {status}: {}", shown(&text))));
        }
        Err(e) => return Err(QueryError::Refused(format!("not a Prometheus API answer: {}", shown(&e.to_string())))),
    };
    if envelope.status != "success" {
        let kind = envelope.error_type.as_deref().unwrap_or("error");
        // Range queries say `invalid parameter "query": ` before the reason
        // an instant query gives bare; the same mistake reads the same.
        let why = envelope.error.as_deref().unwrap_or("no reason given");
        let why = why.strip_prefix("invalid parameter \"query\": ").unwrap_or(why);
        return Err(QueryError::Refused(format!("{}: {}", shown(kind), shown(why))));
    }
    let Some(data) = envelope.data else {
        return Err(QueryError::Refused("a successful answer without data".into()));
    };
    let bad = |e: serde_json::Error| QueryError::Refused(format!("unreadable {} result: {}", data.result_type, e));
    let mut series: Vec<Series> = match data.result_type.as_str() {
        "vector" => serde_json::from_str::<Vec<VectorItem>>(data.result.get())
            .map_err(bad)?
            .into_iter()
            .filter_map(|i| {
                let (t, v) = i.value?;
                Some(Series {
                    name: None,
                    labels: i.metric,
                    points: value(&v).map(|v| (ms(t), v)).into_iter().collect(),
                })
            })
            .collect(),
        "matrix" => serde_json::from_str::<Vec<MatrixItem>>(data.result.get())
            .map_err(bad)?
            .into_iter()
            .map(|i| Series {
                name: None,
                labels: i.metric,
                points: i.values.iter().filter_map(|(t, v)| Some((ms(*t), value(v)?))).collect(),
            })
            .collect(),
        "scalar" => {
            let (t, v): (f64, String) = serde_json::from_str(data.result.get()).map_err(bad)?;
            vec![Series {
                name: None,
                labels: Labels::new(),
                points: value(&v).map(|v| (ms(t), v)).into_iter().collect(),
            }]
        }
        other => return Err(QueryError::Refused(format!("a {} result cannot be drawn", shown(other)))),
    };
    let dropped = series.len().saturating_sub(MAX_SERIES);
    series.truncate(MAX_SERIES);
    for s in &mut series {
        s.name = s.labels.remove("__name__").filter(|n| crate::wire::valid_name(n));
        s.labels = crate::wire::sanitize_labels(&s.labels);
    }
    let warnings = envelope.warnings.iter().map(|w| shown(w)).collect();
    Ok(Answer { series, dropped, bytes: body.len(), warnings })
}

/// Reads a metadata answer: `{"data":{"name":[{"type":"counter",…}]}}`.
/// A name its targets disagree on takes the first type given.
pub fn decode_metadata(body: &[u8], status: u16) -> Result<std::collections::HashMap<String, String>, QueryError> {
    #[derive(Deserialize)]
    struct Entry {
        #[serde(default, rename = "type")]
        kind: String,
    }
    #[derive(Deserialize)]
    struct Meta {
        status: String,
        #[serde(default)]
        data: std::collections::HashMap<String, Vec<Entry>>,
    }
    let meta: Meta = serde_json::from_slice(body)
        .map_err(|_| QueryError::Refused(format!("HTTP {status}: not a Prometheus metadata answer")))?;
    if meta.status != "success" {
        return Err(QueryError::Refused(format!("HTTP {status}: metadata refused")));
    }
    Ok(meta
        .data
        .into_iter()
        .filter(|(name, _)| crate::wire::valid_name(name))
        .filter_map(|(name, entries)| Some((name, entries.into_iter().next()?.kind)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_gives_each_family_its_type() {
        let body = br#"{"status":"success","data":{"http_requests_total":[{"type":"counter","help":"","unit":""}],
            "lat_seconds":[{"type":"histogram","help":"","unit":""},{"type":"gauge","help":"","unit":""}],
            "bad name":[{"type":"gauge"}]}}"#;
        let m = decode_metadata(body, 200).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!((m["http_requests_total"].as_str(), m["lat_seconds"].as_str()), ("counter", "histogram"));
        assert!(decode_metadata(b"<html>", 404).is_err());
    }

    #[test]
    fn vectors_matrices_and_scalars_become_series() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"up","job":"api"},"value":[1700000000.5,"1"]},
            {"metric":{"job":"db"},"value":[1700000000.5,"NaN"]}]}}"#;
        let a = decode(body, 200).unwrap();
        assert_eq!(a.series.len(), 2);
        assert_eq!(a.series[0].labels, Labels::from([("job".into(), "api".into())]));
        assert_eq!(a.series[0].name.as_deref(), Some("up"));
        assert_eq!(a.series[0].points, [(1_700_000_000_500, 1.0)]);
        assert!(a.series[1].points[0].1.is_nan());

        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{},"values":[[10,"1.5"],[20,"+Inf"],[30,"x"]]}]},"warnings":["partial"]}"#;
        let a = decode(body, 200).unwrap();
        assert_eq!(a.series[0].points, [(10_000, 1.5), (20_000, f64::INFINITY)]);
        assert_eq!(a.warnings, ["partial"]);

        // A native histogram among plain series: left out, the rest kept.
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"job":"a"},"histogram":[1,{"count":"3","sum":"1","buckets":[]}]},
            {"metric":{"job":"b"},"value":[1,"2"]}]}}"#;
        let a = decode(body, 200).unwrap();
        assert_eq!(a.series.len(), 1);
        assert_eq!(a.series[0].points, [(1000, 2.0)]);

        let body = br#"{"status":"success","data":{"resultType":"scalar","result":[5,"42"]}}"#;
        assert_eq!(decode(body, 200).unwrap().series[0].points, [(5000, 42.0)]);
    }

    #[test]
    fn errors_are_one_clean_line() {
        let body = br#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \u001b[31m"}"#;
        let e = decode(body, 400).unwrap_err().to_string();
        assert!(e.starts_with("bad_data: 1:5: parse error"), "{e}");
        let body =
            br#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error"}"#;
        assert_eq!(decode(body, 400).unwrap_err().to_string(), "bad_data: 1:5: parse error");
        assert!(!e.contains('\u{1b}'), "{e}");
        let e = decode(b"<html>502 Bad Gateway\n</html>", 502).unwrap_err().to_string();
        assert_eq!(e, "HTTP 502: <html>502 Bad Gateway </html>");
        let e = decode(b"{}", 200).unwrap_err().to_string();
        assert!(e.contains("not a Prometheus API answer"), "{e}");
        let body = br#"{"status":"success","data":{"resultType":"string","result":[1,"hi"]}}"#;
        assert_eq!(decode(body, 200).unwrap_err().to_string(), "a string result cannot be drawn");
    }

    #[test]
    fn an_answer_of_too_many_series_is_cut_and_says_so() {
        let items: Vec<String> =
            (0..MAX_SERIES + 5).map(|i| format!(r#"{{"metric":{{"i":"{i}"}},"value":[1,"1"]}}"#)).collect();
        let body = format!(r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#, items.join(","));
        let a = decode(body.as_bytes(), 200).unwrap();
        assert_eq!((a.series.len(), a.dropped), (MAX_SERIES, 5));
    }

    #[test]
    fn times_go_out_as_seconds_to_the_millisecond() {
        assert_eq!(seconds(1_700_000_000_123), "1700000000.123");
        assert_eq!(seconds(5_000), "5.000");
    }
}
