//! The golden-signal catalogue: the names and labels by which services
//! expose traffic, errors, latency and saturation, as client libraries and
//! frameworks write them. It is the one list every way of finding the
//! signals reads:
//!
//! - the PromQL vigil writes for `--prometheus URL --service NAME`
//!   (`dashboards::preset`), which cannot look at what the service exposes
//!   and so asks for each usual name in turn,
//! - the store queries a scraped page's signals are read by
//!   (`sources::scrape::golden`), which sees every metric and label and
//!   picks among them, and
//! - the signals a query names instead of a metric ([`Signal`]: `signal =
//!   "errors"` in a panel, a rule or an SLO), which the query engine reads
//!   in whichever of their forms each service has.
//!
//! A name added here is recognised by all three.

use serde::{Deserialize, Serialize};

/// A request counter by its full name, with the labels that carry each
/// request's outcome in the library that names it so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestCounter {
    pub name: &'static str,
    /// Outcome labels, most telling first; each is read as
    /// [`server_errors_by_name`] says.
    pub outcome: &'static [&'static str],
    /// The counter of failed requests that goes with it, where the
    /// convention has one.
    pub errors: Option<&'static str>,
}

/// HTTP's status code, by the two names nearly every library uses.
const HTTP_STATUS: &[&str] = &["status", "code"];

/// Request counters by their full names, in the order they are tried: a
/// plain counter, or the count of a request-duration histogram.
pub const REQUEST_COUNTERS: [RequestCounter; 5] = [
    // The client libraries' own examples, most exporters of web frameworks,
    // and the gateway protocol (whose own gateway counts 5xx answers in
    // `http_errors_total` as well).
    RequestCounter { name: "http_requests_total", outcome: HTTP_STATUS, errors: Some("http_errors_total") },
    // Micrometer (Spring Boot): the count of its timer of server requests.
    RequestCounter { name: "http_server_requests_seconds_count", outcome: HTTP_STATUS, errors: None },
    // The count of the usual request-duration histogram.
    RequestCounter { name: "http_request_duration_seconds_count", outcome: HTTP_STATUS, errors: None },
    // OpenTelemetry's HTTP semantic conventions, through its Prometheus exporter.
    RequestCounter {
        name: "http_server_request_duration_seconds_count",
        outcome: &["http_response_status_code"],
        errors: None,
    },
    // go-grpc-prometheus and its kin: every RPC handled, by `grpc_code`.
    RequestCounter { name: "grpc_server_handled_total", outcome: &["grpc_code"], errors: None },
];

/// How a request counter's name ends when it is not one of the usual full
/// names (`app_http_requests_total`).
pub const REQUEST_COUNTER_ENDINGS: [&str; 4] =
    ["_requests_total", "_request_count_total", "_requests_count_total", "_request_total"];

/// Micrometer's timer of server requests, whose count is the request counter.
pub const REQUEST_TIMER_COUNT_ENDINGS: [&str; 2] = ["_server_requests_seconds_count", "_server_requests_count"];

/// A request counter from before the `_total` convention.
pub const OLD_REQUEST_COUNTER_ENDING: &str = "_requests";

/// How a counter of failed requests beside the request counter is named
/// (`app_http_errors_total`).
pub const ERROR_COUNTER_ENDINGS: [&str; 5] =
    ["_errors_total", "_exceptions_total", "_failures_total", "_failed_total", "_errors"];

/// Label names that carry a request's outcome, most telling first.
pub const STATUS_LABELS: [&str; 10] = [
    "code",
    "status",
    "status_code",
    "http_status",
    "http_status_code",
    "http_response_status_code",
    "response_code",
    "grpc_code",
    "outcome",
    "result",
];

/// HTTP codes that mean the server failed.
pub const HTTP_SERVER_ERRORS: &str = "5..";

/// gRPC codes that mean the server failed (the rest are the caller's
/// doing, or success).
pub const GRPC_SERVER_ERRORS: &str = "Unknown|DeadlineExceeded|Unimplemented|Internal|Unavailable|DataLoss";

/// gRPC codes common enough that seeing one tells a label holds gRPC codes.
pub const GRPC_CODES_SEEN: [&str; 6] = ["OK", "Canceled", "NotFound", "Unavailable", "Internal", "DeadlineExceeded"];

/// Micrometer's `outcome` of a failed request (the others are `SUCCESS`,
/// `CLIENT_ERROR`, `REDIRECTION`, `INFORMATIONAL` and `UNKNOWN`).
pub const OUTCOME_SERVER_ERROR: &str = "SERVER_ERROR";

/// Outcome words that mean a failure, in any case.
pub const FAILURE_WORDS: &str = "(?i)(error|errors|err|fail|failed|failure|fault|exception|timeout|server_error)";

/// Whether a label value is an HTTP status code (`200`, or `5xx` as some
/// libraries group them).
pub fn is_http_status(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 3
        && (b'1'..=b'5').contains(&b[0])
        && b[1..].iter().all(|c| c.is_ascii_digit() || *c == b'x' || *c == b'X')
}

/// The values of outcome label `label` that mean the server failed, as a
/// regular expression over the whole value, judged by the values it was
/// seen with: gRPC codes, HTTP codes, Micrometer's outcome, else failure
/// words.
pub fn server_errors<'v>(label: &str, values: impl IntoIterator<Item = &'v str> + Clone) -> &'static str {
    if label == "grpc_code" || values.clone().into_iter().any(|v| GRPC_CODES_SEEN.contains(&v)) {
        GRPC_SERVER_ERRORS
    } else if values.into_iter().any(is_http_status) {
        HTTP_SERVER_ERRORS
    } else if label == "outcome" {
        OUTCOME_SERVER_ERROR
    } else {
        FAILURE_WORDS
    }
}

/// The values of outcome label `label` that mean the server failed, when
/// its values cannot be seen (a query written before any answer): by what
/// the label's name says it holds.
pub fn server_errors_by_name(label: &str) -> &'static str {
    match label {
        "grpc_code" => GRPC_SERVER_ERRORS,
        "outcome" => OUTCOME_SERVER_ERROR,
        "result" => FAILURE_WORDS,
        _ => HTTP_SERVER_ERRORS,
    }
}

/// A golden signal a query can name instead of a metric (`signal =
/// "errors"`). Services expose the same signal in different forms; each
/// group of series a query reads (a service, with `by = "service"`) is
/// read in the first form it has, so one dashboard, rule or SLO is true of
/// every gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// Requests the server failed, as a counter: the errors counter beside
    /// the protocol's request counter where a service has one, else its
    /// requests whose `status` (or, lacking that label, `code`) is a 5xx.
    /// Divided by the request counter, it is the error ratio.
    Errors,
}

/// One form of a signal: a metric, and the outcome label whose values say
/// which of its series count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Form {
    pub metric: &'static str,
    /// The label, and the values that count (a regular expression over
    /// the whole value). A series without the label is not of this form;
    /// without an outcome every series counts.
    pub outcome: Option<(&'static str, &'static str)>,
}

impl Signal {
    /// The name a query writes.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Errors => "errors",
        }
    }

    /// The forms the signal takes, in the order they are tried.
    pub fn forms(self) -> Vec<Form> {
        match self {
            Signal::Errors => error_forms(&REQUEST_COUNTERS[0]),
        }
    }
}

/// The failed requests of request counter `c`: its errors counter, then
/// its own series whose outcome label says the server failed, label by
/// label. A counter of errors is read first because it is what the service
/// itself calls an error; an outcome label is the next best thing.
pub fn error_forms(c: &RequestCounter) -> Vec<Form> {
    let counter = c.errors.map(|metric| Form { metric, outcome: None });
    let by_outcome = c.outcome.iter().map(|l| Form { metric: c.name, outcome: Some((l, server_errors_by_name(l))) });
    counter.into_iter().chain(by_outcome).collect()
}

/// Request-duration histograms (and summaries) by their full names, in the
/// order they are tried; the counters above are the counts of some of them.
pub const DURATION_HISTOGRAMS: [&str; 4] = [
    "http_request_duration_seconds",
    "http_server_requests_seconds",
    "http_server_request_duration_seconds",
    "grpc_server_handling_seconds",
];

/// The label that names a summary's quantile series, and the quantiles a
/// page shows: a summary's quantiles cannot be merged across series nor
/// taken over another window, so only those it exposes can be shown.
pub const SUMMARY_QUANTILE_LABEL: &str = "quantile";
pub const LATENCY_QUANTILES: [f64; 2] = [0.5, 0.99];

/// Gauges of requests being served, by their full names.
pub const IN_FLIGHT_GAUGES: [&str; 4] = [
    "http_requests_in_progress",
    "http_requests_in_flight",
    // Micrometer's long task timer of active requests.
    "http_server_requests_active_seconds_active_count",
    // OpenTelemetry's HTTP semantic conventions.
    "http_server_active_requests",
];

/// Words in the name of a gauge of requests in flight.
pub const IN_FLIGHT_WORDS: [&str; 7] =
    ["in_flight", "inflight", "in_progress", "inprogress", "concurrent_requests", "active_requests", "requests_active"];

/// The process collector every client library has.
pub const CPU_SECONDS: &str = "process_cpu_seconds_total";
pub const RESIDENT_MEMORY: &str = "process_resident_memory_bytes";
pub const OPEN_FDS: &str = "process_open_fds";
pub const MAX_FDS: &str = "process_max_fds";

/// Name prefixes of requests that are not a service's traffic: the
/// exporter's own `/metrics` handler (its scrapes), and a host's or
/// runtime's own counters (`node_disk_flush_requests_total` counts disk
/// flushes).
pub const NOT_SERVED_PREFIXES: [&str; 5] = ["promhttp_", "node_", "go_", "process_", "net_conntrack_"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_told_by_values_and_else_by_name() {
        assert_eq!(server_errors("status", ["200", "503"]), HTTP_SERVER_ERRORS);
        assert_eq!(server_errors("code", ["OK", "Internal"]), GRPC_SERVER_ERRORS);
        assert_eq!(server_errors("outcome", ["SUCCESS"]), OUTCOME_SERVER_ERROR);
        assert_eq!(server_errors("status", ["ok", "error"]), FAILURE_WORDS);
        assert_eq!(server_errors_by_name("status"), HTTP_SERVER_ERRORS);
        assert_eq!(server_errors_by_name("grpc_code"), GRPC_SERVER_ERRORS);
        assert!(is_http_status("5xx") && !is_http_status("600") && !is_http_status("20"));
    }

    #[test]
    fn errors_are_the_errors_counter_then_5xx_by_status_then_by_code() {
        let forms = Signal::Errors.forms();
        let written: Vec<(&str, Option<(&str, &str)>)> = forms.iter().map(|f| (f.metric, f.outcome)).collect();
        assert_eq!(
            written,
            [
                ("http_errors_total", None),
                ("http_requests_total", Some(("status", HTTP_SERVER_ERRORS))),
                ("http_requests_total", Some(("code", HTTP_SERVER_ERRORS))),
            ]
        );
        // A counter without an errors counter of its own goes by its outcome label alone.
        let grpc = REQUEST_COUNTERS.iter().find(|c| c.name == "grpc_server_handled_total").unwrap();
        assert_eq!(error_forms(grpc), [Form { metric: grpc.name, outcome: Some(("grpc_code", GRPC_SERVER_ERRORS)) }]);
    }
}
