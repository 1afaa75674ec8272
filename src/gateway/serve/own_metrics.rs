//! The gateway's own metrics, exposed at `GET /metrics` in the Prometheus
//! text format, and the middleware that times every HTTP request.

use super::state::Shared;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Upper bounds of the request-duration histogram, in seconds.
const DURATION_BOUNDS: [f64; 11] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Counters and gauges the gateway keeps about itself; cheap to bump from any task.
#[derive(Default)]
pub(crate) struct OwnMetrics {
    pub ws_clients: AtomicU64,
    pub sse_clients: AtomicU64,
    pub sessions: AtomicU64,
    pub frames_sent: AtomicU64,
    pub frames_dropped: AtomicU64,
    pub slow_client_closes: AtomicU64,
    pub alert_subscriptions: AtomicU64,
    pub webhook_ok: AtomicU64,
    pub webhook_failed: AtomicU64,
    pub webhook_dropped: AtomicU64,
    pub pushed_points: AtomicU64,
    http: Mutex<BTreeMap<String, RouteStats>>,
}

#[derive(Default)]
struct RouteStats {
    /// Count per bucket (not cumulative) plus one overflow slot.
    buckets: [u64; DURATION_BOUNDS.len() + 1],
    sum: f64,
    by_code: BTreeMap<u16, u64>,
}

impl OwnMetrics {
    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Subtracts one from a gauge, never below zero.
    pub fn dec(gauge: &AtomicU64) {
        let _ = gauge.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| Some(v.saturating_sub(1)));
    }

    fn record_request(&self, route: &str, code: u16, seconds: f64) {
        let mut http = self.http.lock().unwrap_or_else(|e| e.into_inner());
        let stats = http.entry(route.to_string()).or_default();
        let slot = DURATION_BOUNDS.iter().position(|b| seconds <= *b).unwrap_or(DURATION_BOUNDS.len());
        stats.buckets[slot] += 1;
        stats.sum += seconds;
        *stats.by_code.entry(code).or_default() += 1;
    }

    /// Renders everything in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        family(&mut out, "vigil_gateway_connected_clients", "gauge", "Clients connected, by transport.");
        let _ = writeln!(out, "vigil_gateway_connected_clients{{transport=\"websocket\"}} {}", get(&self.ws_clients));
        let _ = writeln!(out, "vigil_gateway_connected_clients{{transport=\"sse\"}} {}", get(&self.sse_clients));
        simple(
            &mut out,
            "vigil_gateway_sessions",
            "gauge",
            "Stream sessions held, attached or not.",
            get(&self.sessions),
        );
        simple(
            &mut out,
            "vigil_gateway_frames_sent_total",
            "counter",
            "Frames written to clients.",
            get(&self.frames_sent),
        );
        simple(
            &mut out,
            "vigil_gateway_frames_dropped_total",
            "counter",
            "Frames that could not be queued for a client (they stay in its replay buffer).",
            get(&self.frames_dropped),
        );
        simple(
            &mut out,
            "vigil_gateway_slow_client_closes_total",
            "counter",
            "Connections closed because the client did not keep up.",
            get(&self.slow_client_closes),
        );
        simple(
            &mut out,
            "vigil_gateway_alert_subscriptions",
            "gauge",
            "Alert subscriptions registered over REST.",
            get(&self.alert_subscriptions),
        );
        family(&mut out, "vigil_gateway_webhook_deliveries_total", "counter", "Webhook deliveries, by result.");
        for (result, c) in
            [("ok", &self.webhook_ok), ("failed", &self.webhook_failed), ("dropped", &self.webhook_dropped)]
        {
            let _ = writeln!(out, "vigil_gateway_webhook_deliveries_total{{result=\"{result}\"}} {}", get(c));
        }
        simple(
            &mut out,
            "vigil_gateway_pushed_points_total",
            "counter",
            "Points taken from producers over POST /api/v1/metrics.",
            get(&self.pushed_points),
        );
        self.render_http(&mut out);
        out
    }

    fn render_http(&self, out: &mut String) {
        let http = self.http.lock().unwrap_or_else(|e| e.into_inner());
        family(
            out,
            "vigil_gateway_http_requests_total",
            "counter",
            "HTTP requests answered, by route and status code.",
        );
        for (route, stats) in http.iter() {
            for (code, n) in &stats.by_code {
                let _ = writeln!(
                    out,
                    "vigil_gateway_http_requests_total{{route=\"{}\",code=\"{code}\"}} {n}",
                    escape(route)
                );
            }
        }
        let name = "vigil_gateway_http_request_duration_seconds";
        family(out, name, "histogram", "Time to answer an HTTP request (to the response head), by route.");
        for (route, stats) in http.iter() {
            let route = escape(route);
            let mut cumulative = 0;
            for (bound, n) in DURATION_BOUNDS.iter().zip(stats.buckets.iter()) {
                cumulative += n;
                let _ = writeln!(out, "{name}_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}");
            }
            cumulative += stats.buckets[DURATION_BOUNDS.len()];
            let _ = writeln!(out, "{name}_bucket{{route=\"{route}\",le=\"+Inf\"}} {cumulative}");
            let _ = writeln!(out, "{name}_sum{{route=\"{route}\"}} {}", stats.sum);
            let _ = writeln!(out, "{name}_count{{route=\"{route}\"}} {cumulative}");
        }
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn simple(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    family(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// Escapes a label value; routes are our own, but stay correct if one ever holds a quote.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Middleware: times every request and counts it by matched route and code.
pub(crate) async fn track(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    // The matched route, not the raw path, so clients cannot mint label values.
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let seconds = started.elapsed().as_secs_f64();
    shared.metrics.record_request(&route, response.status().as_u16(), seconds);
    response
}

/// `GET /metrics`.
pub(crate) async fn handler(State(shared): State<Arc<Shared>>) -> Response {
    let mut text = shared.metrics.render();
    if let Some(upstream) = shared.upstream.get() {
        upstream.render_metrics(&mut text);
    }
    if let Some(kept) = shared.kept() {
        let stats = &kept.log.stats;
        let (records, flushes) = (stats.records.load(Ordering::Relaxed), stats.flushes.load(Ordering::Relaxed));
        let help = "Pushes appended to the push log.";
        simple(&mut text, "vigil_gateway_push_log_records_total", "counter", help, records);
        // Fewer flushes than records: pushes that came together shared one.
        let help = "Flushes of the push log to disk.";
        simple(&mut text, "vigil_gateway_push_log_flushes_total", "counter", help, flushes);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_help_type_and_cumulative_buckets() {
        let m = OwnMetrics::default();
        OwnMetrics::inc(&m.frames_sent);
        m.record_request("/healthz", 200, 0.002);
        m.record_request("/healthz", 200, 20.0);
        let text = m.render();
        assert!(text.contains("# TYPE vigil_gateway_frames_sent_total counter\nvigil_gateway_frames_sent_total 1\n"));
        assert!(text.contains("vigil_gateway_http_requests_total{route=\"/healthz\",code=\"200\"} 2"));
        assert!(text.contains("vigil_gateway_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.005\"} 1"));
        assert!(text.contains("vigil_gateway_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 2"));
        assert!(text.contains("vigil_gateway_http_request_duration_seconds_count{route=\"/healthz\"} 2"));
    }
}
