//! The five services: their resting profiles, their resource gauges, and the
//! instantaneous traffic model (request rate, status mix, latency) that the
//! counters and histograms integrate.

use super::Scenario;
use super::latency::Latency;
use super::noise::{jitter, member, smooth, stream, wander};
use super::schedule::Incident;
use super::shop;

/// How one service behaves when nothing is wrong.
pub(crate) struct Profile {
    /// Requests per second at peak traffic.
    peak_rps: f64,
    /// Latency median and spread. Checkout and payments are slower but
    /// tighter, so their calm p99 stays under 0.35 s like everyone else's.
    median_s: f64,
    sigma: f64,
    cpu_base: f64,
    /// Extra CPU at peak traffic.
    cpu_span: f64,
    memory_base: f64,
    /// Database connection pool size.
    pub db_max: f64,
    /// Calm 5xx ratio.
    server_errors: f64,
    bad_requests: f64,
    not_found: f64,
}

/// Profiles in [`super::SERVICES`] order.
pub(crate) const PROFILES: [Profile; 5] = [
    // api
    Profile {
        peak_rps: 400.0,
        median_s: 0.040,
        sigma: 0.54,
        cpu_base: 20.0,
        cpu_span: 36.0,
        memory_base: 48.0,
        db_max: 200.0,
        server_errors: 0.0015,
        bad_requests: 0.008,
        not_found: 0.012,
    },
    // checkout
    Profile {
        peak_rps: 60.0,
        median_s: 0.100,
        sigma: 0.38,
        cpu_base: 18.0,
        cpu_span: 34.0,
        memory_base: 52.0,
        db_max: 100.0,
        server_errors: 0.0020,
        bad_requests: 0.006,
        not_found: 0.004,
    },
    // payments
    Profile {
        peak_rps: 45.0,
        median_s: 0.110,
        sigma: 0.30,
        cpu_base: 16.0,
        cpu_span: 30.0,
        memory_base: 45.0,
        db_max: 80.0,
        server_errors: 0.0018,
        bad_requests: 0.004,
        not_found: 0.002,
    },
    // inventory
    Profile {
        peak_rps: 120.0,
        median_s: 0.025,
        sigma: 0.52,
        cpu_base: 18.0,
        cpu_span: 28.0,
        memory_base: 55.0,
        db_max: 120.0,
        server_errors: 0.0012,
        bad_requests: 0.005,
        not_found: 0.015,
    },
    // search
    Profile {
        peak_rps: 200.0,
        median_s: 0.060,
        sigma: 0.50,
        cpu_base: 24.0,
        cpu_span: 34.0,
        memory_base: 50.0,
        db_max: 60.0,
        server_errors: 0.0016,
        bad_requests: 0.007,
        not_found: 0.025,
    },
];

/// Indices into [`super::SERVICES`] of the services the scenarios target.
pub(crate) const CHECKOUT: usize = 1;
pub(crate) const PAYMENTS: usize = 2;
pub(crate) const SEARCH: usize = 4;

/// Which services record `transactions_total` and `transaction_duration_seconds`.
pub(crate) fn has_transactions(svc: usize) -> bool {
    svc == CHECKOUT || svc == PAYMENTS
}

/// Status codes of `http_requests_total`, in column order.
pub(crate) const STATUSES: [&str; 5] = ["200", "400", "404", "500", "503"];
/// `(type, status)` of `transactions_total`, in column order.
pub(crate) const TX_KINDS: [(&str, &str); 4] =
    [("purchase", "success"), ("purchase", "failed"), ("refund", "success"), ("refund", "failed")];

const LOAD: u64 = stream("service-load");
const RATE: u64 = stream("rate");
const CPU: u64 = stream("cpu");
const MEMORY: u64 = stream("memory");
const DB: u64 = stream("db");
const QUEUE: u64 = stream("queue");
const ERRORS: u64 = stream("errors");
const CLIENT_ERRORS: u64 = stream("client-errors");
const LATENCY: u64 = stream("latency");
const TX_FAIL: u64 = stream("tx-fail");

/// This service's share of peak traffic right now.
fn service_load(seed: u64, svc: usize, t_s: f64) -> f64 {
    shop::load(seed, t_s) * (1.0 + 0.05 * wander(seed, member(LOAD, svc), t_s))
}

/// The resource gauges of one service at one instant.
pub(crate) struct Gauges {
    pub cpu: f64,
    pub memory: f64,
    pub db_active: f64,
    pub db_max: f64,
    pub queue: f64,
}

pub(crate) fn gauges(seed: u64, svc: usize, inc: &Incident, t_ms: i64) -> Gauges {
    let p = &PROFILES[svc];
    let t_s = t_ms as f64 / 1000.0;
    let load = service_load(seed, svc, t_s);
    let on = |kind: Scenario, target: usize| if svc == target { inc.of(kind) } else { 0.0 };

    let mut cpu = p.cpu_base
        + p.cpu_span * load
        + 2.5 * wander(seed, member(CPU, svc), t_s)
        + 0.8 * jitter(seed, member(CPU, svc), t_s);
    let mut memory = p.memory_base
        + 8.0 * load
        + 4.0 * smooth(seed, member(MEMORY, svc), t_s, 600.0)
        + 0.3 * jitter(seed, member(MEMORY, svc), t_s);
    let mut db = p.db_max * (0.10 + 0.30 * load) * (1.0 + 0.08 * wander(seed, member(DB, svc), t_s));
    let mut queue = 8.0
        + 45.0 * load * (1.0 + 0.25 * wander(seed, member(QUEUE, svc), t_s))
        + 3.0 * jitter(seed, member(QUEUE, svc), t_s);

    // Checkout runs out of CPU: work piles up in the queue and every request
    // holds its database connection longer, so the pool fills.
    let saturation = on(Scenario::CpuSaturation, CHECKOUT);
    if saturation > 0.0 {
        let pegged = 94.0 + 2.5 * wander(seed, member(CPU, svc) ^ 1, t_s);
        cpu += (pegged - cpu) * saturation;
        queue += saturation * 1500.0 * (1.0 + 0.8 * inc.progress) * (1.0 + 0.05 * jitter(seed, QUEUE, t_s));
        let nearly_full = p.db_max * (0.95 + 0.03 * wander(seed, member(DB, svc) ^ 1, t_s));
        db += (nearly_full - db) * saturation;
        memory += 5.0 * saturation;
    }
    // The bad build burns more CPU and leaks memory until it is rolled back.
    let regression = on(Scenario::BadDeploy, CHECKOUT);
    cpu += 12.0 * regression;
    memory += 12.0 * regression * inc.progress;
    db *= 1.0 + 0.3 * regression;
    // Retries and slow requests cost a little CPU in the other incidents.
    cpu += 5.0 * on(Scenario::ErrorBurst, PAYMENTS) + 4.0 * on(Scenario::LongTail, SEARCH);

    Gauges {
        cpu: (cpu.clamp(0.0, 100.0) * 10.0).round() / 10.0,
        memory: (memory.clamp(0.0, 100.0) * 10.0).round() / 10.0,
        db_active: db.clamp(0.0, p.db_max).round(),
        db_max: p.db_max,
        queue: queue.max(0.0).round(),
    }
}

/// What one service is doing at one instant, as rates: the integrand of its
/// counters and histograms.
pub(crate) struct Traffic {
    /// Requests per second.
    pub rate: f64,
    /// Share of requests per entry of [`STATUSES`]; sums to 1.
    pub status_shares: [f64; 5],
    pub latency: Latency,
    /// Transactions per second per entry of [`TX_KINDS`] (zero for services
    /// without transactions).
    pub tx_rates: [f64; 4],
    pub tx_latency: Latency,
}

pub(crate) fn traffic(seed: u64, svc: usize, inc: &Incident, t_ms: i64) -> Traffic {
    let p = &PROFILES[svc];
    let t_s = t_ms as f64 / 1000.0;
    let load = service_load(seed, svc, t_s);
    let on = |kind: Scenario, target: usize| if svc == target { inc.of(kind) } else { 0.0 };

    let rate = p.peak_rps * load * (1.0 + 0.03 * jitter(seed, member(RATE, svc), t_s));

    let mut server_errors = p.server_errors * (1.0 + 0.35 * wander(seed, member(ERRORS, svc), t_s));
    server_errors += on(Scenario::ErrorBurst, PAYMENTS) * (0.062 + 0.008 * wander(seed, ERRORS, t_s));
    server_errors += on(Scenario::BadDeploy, CHECKOUT) * (0.030 + 0.004 * wander(seed, ERRORS, t_s));
    let client = 1.0 + 0.2 * wander(seed, member(CLIENT_ERRORS, svc), t_s);
    let (bad_requests, not_found) = (p.bad_requests * client, p.not_found * client);
    // A crashing payments backend mostly answers 500; an overloaded one 503.
    let unavailable_share = if on(Scenario::ErrorBurst, PAYMENTS) > 0.5 { 0.45 } else { 0.35 };
    let status_shares = [
        1.0 - server_errors - bad_requests - not_found,
        bad_requests,
        not_found,
        server_errors * (1.0 - unavailable_share),
        server_errors * unavailable_share,
    ];

    // Latency drifts up a little with load, then each incident bends it.
    let drift = (0.92 + 0.12 * load) * (1.0 + 0.04 * wander(seed, member(LATENCY, svc), t_s));
    let calm = Latency::lognormal(p.median_s * drift, p.sigma);
    let latency = match inc.window.scenario {
        Scenario::LongTail if svc == SEARCH && inc.x > 0.0 => {
            // A slow shard takes a growing share of searches while the rest get
            // faster (smaller result pages), so the mean barely moves.
            let frac = inc.x * (0.016 + 0.006 * inc.progress);
            calm.with_tail_at_mean(frac, 1.8 + 0.4 * inc.progress, 0.3, calm.mean() * 1.1)
        }
        Scenario::CpuSaturation if svc == CHECKOUT => Latency { median: calm.median * (1.0 + 0.2 * inc.x), ..calm },
        Scenario::BadDeploy if svc == CHECKOUT && inc.x > 0.0 => Latency {
            median: calm.median * (1.0 + 0.6 * inc.x),
            sigma: calm.sigma + 0.22 * inc.x,
            tail_frac: 0.015 * inc.x,
            tail_median: 1.0,
            tail_sigma: 0.3,
        },
        _ => calm,
    };

    let (tx_rates, tx_latency) = transactions(seed, svc, inc, t_ms);
    Traffic { rate, status_shares, latency, tx_rates, tx_latency }
}

/// Purchases and refunds per second, and how long they take. Every order
/// passes through both checkout and payments, so both count the same orders.
fn transactions(seed: u64, svc: usize, inc: &Incident, t_ms: i64) -> ([f64; 4], Latency) {
    if !has_transactions(svc) {
        return ([0.0; 4], Latency::lognormal(1.0, 0.3));
    }
    let t_s = t_ms as f64 / 1000.0;
    let on = |kind: Scenario, target: usize| if svc == target { inc.of(kind) } else { 0.0 };
    let purchases = shop::order_rate(seed, inc, t_ms) / 60.0;
    let refunds = purchases * 0.04;
    let fail = 0.0001 * (1.0 + 0.3 * wander(seed, member(TX_FAIL, svc), t_s))
        + 0.07 * on(Scenario::ErrorBurst, PAYMENTS)
        + 0.035 * on(Scenario::BadDeploy, CHECKOUT)
        + 0.02 * on(Scenario::CpuSaturation, CHECKOUT);
    let refund_fail = 0.6 * fail;
    let rates = [purchases * (1.0 - fail), purchases * fail, refunds * (1.0 - refund_fail), refunds * refund_fail];

    let (median, sigma) = if svc == CHECKOUT { (0.32, 0.35) } else { (0.22, 0.30) };
    let slower = 1.0 + 0.8 * on(Scenario::CpuSaturation, CHECKOUT) + 0.5 * on(Scenario::BadDeploy, CHECKOUT);
    let wider = 0.15 * on(Scenario::BadDeploy, CHECKOUT);
    (rates, Latency::lognormal(median * slower, sigma + wider))
}
