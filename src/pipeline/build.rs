//! Scene derivation: from raw series to the numbers on screen (rates from
//! counters, ratios, quantiles from histograms, trends).

use crate::model::{Kind, Sample, SeriesKey};
use crate::scene::{Kpi, Reading, ServiceRow, Unit};
use crate::store::{Store, derive};

/// How far back the trends reach.
const TREND_MS: i64 = 5 * 60_000;
/// Window of rates and error ratios.
const RATE_WINDOW_MS: i64 = 30_000;
/// Window of latency quantiles.
const QUANTILE_WINDOW_MS: i64 = 60_000;
/// Services shown in this order when present; others follow by name.
const KNOWN_SERVICES: [&str; 5] = ["api", "checkout", "payments", "inventory", "search"];
const MAX_SERVICES: usize = 16;

const KPIS: [(&str, &str, Unit, Option<f64>); 4] = [
    ("active_users", "Active users", Unit::Count, None),
    ("orders_per_minute", "Orders / min", Unit::Count, None),
    ("revenue_per_minute", "Revenue / min", Unit::Money, None),
    ("inventory_alerts", "Inventory alerts", Unit::Count, Some(1.0)),
];

pub fn kpis(store: &Store, now_ms: i64, _interval_ms: i64) -> Vec<Kpi> {
    KPIS.iter()
        .map(|&(metric, title, unit, warn_at)| {
            let (now, trend) = match store.get(&SeriesKey::new(metric)) {
                Some(s) => {
                    let pts = numbers(s.since(now_ms - TREND_MS));
                    let now = s
                        .latest()
                        .and_then(|(_, v)| v.as_number())
                        .map(|value| Reading { value, fresh_at: s.last_live_ms });
                    (now, pts.into_iter().map(|p| p.1).collect())
                }
                None => (None, Vec::new()),
            };
            Kpi { title, unit, now, trend, warn_at }
        })
        .collect()
}

pub fn health(store: &Store) -> Option<Reading<String>> {
    let s = store.get(&SeriesKey::new("system_health"))?;
    match s.latest()? {
        (_, Sample::Text(t)) => Some(Reading { value: t.to_string(), fresh_at: s.last_live_ms }),
        _ => None,
    }
}

pub fn services(store: &Store, now_ms: i64, _interval_ms: i64) -> Vec<ServiceRow> {
    service_names(store).into_iter().map(|name| service(store, &name, now_ms)).collect()
}

fn service_names(store: &Store) -> Vec<String> {
    let mut names: Vec<String> = ["http_requests_total", "cpu_usage_percent", "http_request_duration_seconds"]
        .iter()
        .flat_map(|m| store.of_metric(m).map(|(k, _)| k.label("service").to_string()))
        .filter(|s| !s.is_empty())
        .collect();
    names.sort_by_key(|n| (KNOWN_SERVICES.iter().position(|k| k == n).unwrap_or(usize::MAX), n.clone()));
    names.dedup();
    names.truncate(MAX_SERVICES);
    names
}

fn service(store: &Store, name: &str, now_ms: i64) -> ServiceRow {
    let from = now_ms - TREND_MS - QUANTILE_WINDOW_MS;
    let mut row = ServiceRow { name: name.to_string(), ..Default::default() };

    // Traffic and errors: rates of every status series, summed.
    let mut all = Vec::new();
    let mut errors = Vec::new();
    let mut fresh = None;
    for (key, s) in store.of_metric("http_requests_total").filter(|(k, _)| k.label("service") == name) {
        let r = derive::rates(&numbers(s.since(from)), RATE_WINDOW_MS);
        if key.label("status").starts_with('5') {
            errors.push(r.clone());
        }
        all.push(r);
        fresh = fresh.max(s.last_live_ms);
    }
    if !all.is_empty() {
        let total = derive::sum_by_time(&all);
        let bad = if errors.is_empty() {
            total.iter().map(|&(t, _)| (t, 0.0)).collect()
        } else {
            derive::sum_by_time(&errors)
        };
        let ratio = derive::ratio_by_time(&bad, &total);
        row.rps = total.last().map(|&(_, v)| Reading { value: v, fresh_at: fresh });
        row.error_ratio = ratio.last().map(|&(_, v)| Reading { value: v, fresh_at: fresh });
        row.rps_trend = trend(&total, now_ms);
        row.error_trend = trend(&ratio, now_ms);
    }

    // Latency from the histogram.
    let hkey = SeriesKey::new("http_request_duration_seconds").with("service", name);
    if let Some(s) = store.get(&hkey).filter(|s| s.kind == Kind::Histogram) {
        let pts: Vec<_> = s
            .since(from)
            .into_iter()
            .filter_map(|(t, v)| match v {
                Sample::Histogram(h) => Some((t, h.as_ref())),
                _ => None,
            })
            .collect();
        let p99 = derive::quantiles(&pts, QUANTILE_WINDOW_MS, 0.99);
        let p50 = derive::quantiles(&pts, QUANTILE_WINDOW_MS, 0.50);
        row.p99 = p99.last().map(|&(_, v)| Reading { value: v, fresh_at: s.last_live_ms });
        row.p50 = p50.last().map(|&(_, v)| Reading { value: v, fresh_at: s.last_live_ms });
        row.p99_trend = trend(&p99, now_ms);
    }

    let gauge = |metric: &str| {
        let s = store.get(&SeriesKey::new(metric).with("service", name))?;
        let value = s.latest()?.1.as_number()?;
        Some(Reading { value, fresh_at: s.last_live_ms })
    };
    row.cpu = gauge("cpu_usage_percent");
    row.memory = gauge("memory_usage_percent");
    row.db_active = gauge("db_connections_active");
    row.db_max = gauge("db_connections_max").map(|r| r.value);
    row.queue = gauge("transaction_queue_depth");
    row
}

fn numbers(points: Vec<(i64, &Sample)>) -> Vec<(i64, f64)> {
    points.into_iter().filter_map(|(t, v)| v.as_number().map(|n| (t, n))).filter(|(_, v)| v.is_finite()).collect()
}

fn trend(points: &[(i64, f64)], now_ms: i64) -> Vec<f64> {
    points.iter().filter(|(t, _)| *t >= now_ms - TREND_MS).map(|p| p.1).collect()
}
