//! Wire points for one instant. A `Moment` computes each piece of state at
//! most once and only when a metric asks for it, so `sample` shares work
//! across metrics while `sample_metric` pays only for the one it needs.

use super::counters::{self, BUCKET_COL, Cumulative, STATUS_COL, SUM_COL, TX_BUCKET_COL, TX_COL, TX_SUM_COL};
use super::schedule::{self, Incident};
use super::services::{self, Gauges, STATUSES, TX_KINDS};
use super::shop::{self, Kpis};
use super::{HISTOGRAM_BOUNDS, PRODUCT_IDS, SERVICES, Scenario};
use crate::wire::{Histogram, Labels, Point, PointValue, WireNum};
use std::cell::OnceCell;

pub(crate) struct Moment {
    seed: u64,
    scenario: Scenario,
    t_ms: i64,
    incident: Incident,
    kpis: OnceCell<Kpis>,
    gauges: [OnceCell<Gauges>; SERVICES.len()],
    counters: [OnceCell<Cumulative>; SERVICES.len()],
}

impl Moment {
    pub fn new(seed: u64, scenario: Scenario, t_ms: i64) -> Self {
        Moment {
            seed,
            scenario,
            t_ms,
            incident: Incident::at(scenario, t_ms),
            kpis: OnceCell::new(),
            gauges: Default::default(),
            counters: Default::default(),
        }
    }

    fn kpis(&self) -> &Kpis {
        self.kpis.get_or_init(|| shop::kpis(self.seed, &self.incident, self.t_ms))
    }

    fn gauges(&self, svc: usize) -> &Gauges {
        self.gauges[svc].get_or_init(|| services::gauges(self.seed, svc, &self.incident, self.t_ms))
    }

    fn counters(&self, svc: usize) -> &Cumulative {
        self.counters[svc].get_or_init(|| counters::cumulative(self.seed, self.scenario, svc, self.t_ms))
    }

    /// Appends every series of `metric`; nothing for a metric it does not know.
    pub fn emit(&self, metric: &str, out: &mut Vec<Point>) {
        let per_service = |out: &mut Vec<Point>, value: &dyn Fn(&Gauges) -> f64| {
            for (svc, name) in SERVICES.iter().enumerate() {
                out.push(number(metric, labels(&[("service", name)]), value(self.gauges(svc))));
            }
        };
        match metric {
            "active_users" => out.push(number(metric, Labels::new(), self.kpis().active_users)),
            "orders_per_minute" => out.push(number(metric, Labels::new(), self.kpis().orders_per_minute)),
            "revenue_per_minute" => out.push(number(metric, Labels::new(), self.kpis().revenue_per_minute)),
            "inventory_alerts" => {
                let alerts = shop::inventory_alerts(self.seed, self.t_ms);
                out.push(number(metric, Labels::new(), alerts as f64));
            }
            "inventory_level" => {
                for (i, id) in PRODUCT_IDS.iter().enumerate() {
                    let level = shop::inventory_level(self.seed, i, self.t_ms);
                    out.push(number(metric, labels(&[("product_id", id)]), level));
                }
            }
            "system_health" => out.push(Point {
                metric: metric.to_string(),
                labels: Labels::new(),
                value: Some(PointValue::Text(schedule::health(&self.incident, self.t_ms).to_string())),
                histogram: None,
            }),
            "cpu_usage_percent" => per_service(out, &|g| g.cpu),
            "memory_usage_percent" => per_service(out, &|g| g.memory),
            "db_connections_active" => per_service(out, &|g| g.db_active),
            "db_connections_max" => per_service(out, &|g| g.db_max),
            "transaction_queue_depth" => per_service(out, &|g| g.queue),
            "http_requests_total" => {
                for (svc, name) in SERVICES.iter().enumerate() {
                    let c = self.counters(svc);
                    for (i, status) in STATUSES.iter().enumerate() {
                        let l = labels(&[("service", name), ("status", status)]);
                        out.push(number(metric, l, c[STATUS_COL + i].floor()));
                    }
                }
            }
            "http_errors_total" => {
                for (svc, name) in SERVICES.iter().enumerate() {
                    let c = self.counters(svc);
                    // Exactly the 5xx counters' sum, so the two never disagree.
                    let errors: f64 = STATUSES
                        .iter()
                        .enumerate()
                        .filter(|(_, s)| s.starts_with('5'))
                        .map(|(i, _)| c[STATUS_COL + i].floor())
                        .sum();
                    out.push(number(metric, labels(&[("service", name)]), errors));
                }
            }
            "http_request_duration_seconds" => {
                for (svc, name) in SERVICES.iter().enumerate() {
                    let c = self.counters(svc);
                    out.push(histogram(metric, labels(&[("service", name)]), &c[BUCKET_COL..], c[SUM_COL]));
                }
            }
            "transactions_total" => {
                for (svc, name) in SERVICES.iter().enumerate().filter(|(svc, _)| services::has_transactions(*svc)) {
                    let c = self.counters(svc);
                    for (i, (kind, status)) in TX_KINDS.iter().enumerate() {
                        let l = labels(&[("service", name), ("type", kind), ("status", status)]);
                        out.push(number(metric, l, c[TX_COL + i].floor()));
                    }
                }
            }
            "transaction_duration_seconds" => {
                for (svc, name) in SERVICES.iter().enumerate().filter(|(svc, _)| services::has_transactions(*svc)) {
                    let c = self.counters(svc);
                    out.push(histogram(metric, labels(&[("service", name)]), &c[TX_BUCKET_COL..], c[TX_SUM_COL]));
                }
            }
            _ => {}
        }
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn number(metric: &str, labels: Labels, value: f64) -> Point {
    Point { metric: metric.to_string(), labels, value: Some(PointValue::Number(WireNum(value))), histogram: None }
}

/// A histogram point from cumulative bucket integrals (one per bound, the
/// last being `+Inf`) and the latency-sum integral.
fn histogram(metric: &str, labels: Labels, buckets: &[f64], sum: f64) -> Point {
    let buckets: Vec<(WireNum, WireNum)> =
        HISTOGRAM_BOUNDS.iter().zip(buckets).map(|(&bound, &count)| (WireNum(bound), WireNum(count.floor()))).collect();
    // The `+Inf` bucket is the count by definition.
    let count = buckets.last().map_or(0.0, |b| b.1.0);
    let histogram = Histogram { buckets, sum: WireNum((sum * 1000.0).round() / 1000.0), count: WireNum(count) };
    Point { metric: metric.to_string(), labels, value: None, histogram: Some(histogram) }
}
