//! A query's own types: what a panel, line, column, alert rule or SLO asks
//! of the store (a metric narrowed by labels and aggregated, a PromQL
//! expression whose results the store holds, or a golden signal by its
//! usual names), and how it is read from and
//! written to TOML. They belong with the engine that answers them; pages,
//! rules and SLOs only use them.

use super::matcher::Matcher;
pub use crate::core::golden::Signal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// How several series (or a counter's history) become one number per instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Agg {
    Sum,
    Avg,
    Max,
    Min,
    /// How many series match.
    Count,
    /// Per-second increase of counters, summed.
    Rate,
    /// A quantile of histograms merged across series (`q`, default 0.99).
    Quantile,
}

/// What a panel, line or column shows: a metric, narrowed by labels,
/// aggregated, and optionally divided by a second query (error ratios). Or
/// a PromQL expression that a Prometheus source runs: its result series
/// land in the store under a name of their own ([`promql_key`]) and are
/// read from there like any metric. Or a golden signal ([`Signal`]), read
/// in whichever of its usual forms each group of series has.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, try_from = "RawQuery")]
pub struct QuerySpec {
    /// The metric read from the store; empty for a PromQL query until
    /// [`QuerySpec::resolved`] names its results.
    pub metric: String,
    pub labels: BTreeMap<String, Matcher>,
    /// When absent: `rate` for counters, `quantile` for histograms, `sum` otherwise.
    pub agg: Option<Agg>,
    pub q: Option<f64>,
    /// A PromQL expression, written as `query`; `$label` stands for the
    /// page's choice.
    pub promql: Option<String>,
    /// The Prometheus source that runs `promql`, by name; the first one when absent.
    pub source: Option<String>,
    /// A golden signal read instead of `metric` (which is then empty).
    pub signal: Option<Signal>,
}

/// A query as written: one of `metric`, `query` and `signal`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuery {
    #[serde(default)]
    metric: Option<String>,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    signal: Option<Signal>,
    #[serde(default)]
    labels: BTreeMap<String, Matcher>,
    #[serde(default)]
    agg: Option<Agg>,
    #[serde(default, deserialize_with = "quantile")]
    q: Option<f64>,
}

impl TryFrom<RawQuery> for QuerySpec {
    type Error = String;

    fn try_from(r: RawQuery) -> Result<Self, String> {
        let (metric, promql, source) = query_fields(r.metric, r.query, r.source, r.signal)?;
        Ok(QuerySpec {
            metric: metric.unwrap_or_default(),
            labels: r.labels,
            agg: r.agg,
            q: r.q,
            promql,
            source,
            signal: r.signal,
        })
    }
}

/// `metric`, `query` and `source` as written.
pub(crate) type QueryFields = (Option<String>, Option<String>, Option<String>);

/// Checks a `metric`, `query`, `source` and `signal` written together: one
/// of `metric`, `query` and `signal`, and `source` only with `query`. None
/// of them is left to the caller (a chart line may take its panel's).
pub(crate) fn query_fields(
    metric: Option<String>,
    query: Option<String>,
    source: Option<String>,
    signal: Option<Signal>,
) -> Result<QueryFields, String> {
    match (&metric, &query, signal) {
        (Some(_), Some(_), _) => {
            return Err("give `metric` (read from the store) or `query` (PromQL), not both".into());
        }
        (Some(_), None, Some(_)) => {
            return Err("give `metric` or `signal` (a golden signal by its usual names), not both".into());
        }
        (None, Some(_), Some(_)) => {
            return Err("give `query` (PromQL) or `signal` (a golden signal by its usual names), not both".into());
        }
        (_, Some(q), _) if q.trim().is_empty() => return Err("`query` is empty".into()),
        (_, None, _) if source.is_some() => {
            return Err("`source` names the Prometheus source of a `query`; a `metric` has none".into());
        }
        _ => {}
    }
    Ok((metric, query, source))
}

/// The store's name for the results of PromQL `text` run by `source` (""
/// for the first Prometheus source): not a valid metric name, so it can
/// never meet a metric of the same name from elsewhere.
pub fn promql_key(source: &str, text: &str) -> String {
    format!("{{{source}}} {text}")
}

/// The source and PromQL text behind a store name made by [`promql_key`];
/// `None` for the name of a metric.
pub fn parse_promql_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix('{')?;
    let (source, text) = rest.split_once("} ")?;
    Some((source, text))
}

/// PromQL `text` with every `$label` replaced by its value in `vars`,
/// escaped as inside a PromQL string (a value is data from the network,
/// and a quote in it must not end the string it is put in).
pub fn subst_promql(text: &str, vars: &[(String, String)]) -> String {
    let escaped: Vec<(String, String)> =
        vars.iter().map(|(k, v)| (k.clone(), v.replace('\\', "\\\\").replace('"', "\\\""))).collect();
    subst(text, &escaped)
}

/// `text` with every `$label` replaced by its value in `vars`.
pub fn subst(text: &str, vars: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (name, value) in vars {
        out = out.replace(&format!("${name}"), value);
    }
    out
}

impl QuerySpec {
    /// A query over one metric of the store.
    pub fn of(metric: &str) -> QuerySpec {
        QuerySpec { metric: metric.to_string(), ..QuerySpec::default() }
    }

    /// The query as the store answers it: a PromQL query names the series
    /// its expression (with the page's choices put in) landed under.
    pub fn resolved(&self, vars: &[(String, String)]) -> std::borrow::Cow<'_, QuerySpec> {
        match &self.promql {
            None => std::borrow::Cow::Borrowed(self),
            Some(text) => std::borrow::Cow::Owned(QuerySpec {
                metric: promql_key(self.source.as_deref().unwrap_or(""), &subst_promql(text, vars)),
                ..self.clone()
            }),
        }
    }

    /// The store names this query may read: its metric (or its PromQL's
    /// results), or every form of its signal.
    pub fn reads(&self, vars: &[(String, String)]) -> Vec<String> {
        match self.signal {
            Some(signal) => signal.forms().into_iter().map(|f| f.metric.to_string()).collect(),
            None => vec![self.resolved(vars).metric.clone()],
        }
    }

    /// The PromQL this query runs with `vars` put in, with its source
    /// (`""` for the first), if it is one.
    pub fn promql_with(&self, vars: &[(String, String)]) -> Option<(String, String)> {
        let text = self.promql.as_ref()?;
        Some((self.source.clone().unwrap_or_default(), subst_promql(text, vars)))
    }
}

/// A quantile between 0 and 1, for serde.
pub(crate) fn quantile<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let q = f64::deserialize(d)?;
    if !(0.0..=1.0).contains(&q) {
        return Err(serde::de::Error::custom(format!("quantile {q} is outside 0..1 (p99 is 0.99)")));
    }
    Ok(Some(q))
}

impl Serialize for QuerySpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        QueryOut::of(self).serialize(s)
    }
}

/// A query as written: the fields [`RawQuery`] reads.
#[derive(Serialize)]
pub(crate) struct QueryOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) metric: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) query: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) signal: Option<Signal>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", serialize_with = "write_labels")]
    pub(crate) labels: &'a BTreeMap<String, Matcher>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) agg: Option<Agg>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) q: Option<f64>,
}

impl<'a> QueryOut<'a> {
    pub(crate) fn of(q: &'a QuerySpec) -> Self {
        QueryOut {
            // A PromQL query's `metric` is only ever the name its results
            // get, and a signal's is empty.
            metric: (q.promql.is_none() && q.signal.is_none()).then_some(q.metric.as_str()),
            query: q.promql.as_deref(),
            source: q.promql.as_ref().and(q.source.as_deref()),
            signal: q.signal,
            labels: &q.labels,
            agg: q.agg,
            q: q.q,
        }
    }
}

/// Label matchers in their written form. An equal value that itself begins
/// like an operator keeps a leading `=`, so that it reads back as equal.
pub(crate) fn write_labels<S: Serializer>(labels: &BTreeMap<String, Matcher>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(labels.iter().map(|(k, m)| {
        let text = match m {
            Matcher::Equal(v) if v.starts_with('=') || v.starts_with('!') => format!("={v}"),
            m => m.to_string(),
        };
        (k, text)
    }))
}
