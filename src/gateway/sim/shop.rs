//! The business side of the simulated shop: the daily traffic curve every
//! service shares, the KPIs that follow it, and stock levels that drain with
//! orders and are restocked on a schedule.

use super::Scenario;
use super::noise::{jitter, member, stream, unit, wander};
use super::schedule::Incident;

/// Traffic at the quietest moment, as a share of the peak.
const LO: f64 = 0.28;
/// Traffic at the busiest moment.
const HI: f64 = 1.0;
/// The quietest hour (UTC): night in both Europe and the Americas.
const TROUGH_H: f64 = 4.0;
/// Hours from trough to peak (17:00 UTC, afternoon/evening); the fall takes the rest.
const RISE_H: f64 = 13.0;
const FALL_H: f64 = 24.0 - RISE_H;

/// Orders per minute at peak traffic.
const PEAK_ORDERS_PER_MIN: f64 = 118.0;
/// Average order value.
const BASKET_USD: f64 = 55.0;
/// Users online at peak traffic.
const PEAK_USERS: f64 = 3000.0;

/// Stock below this raises an inventory alert.
pub const LOW_STOCK: f64 = 100.0;

/// One tracked product.
pub(crate) struct Product {
    /// Units of this product per order, on average.
    share: f64,
    restock_every_h: f64,
    /// Stock right after a restock.
    capacity: f64,
}

/// Tracked products, in [`super::PRODUCT_IDS`] order. Shares, restock intervals and capacities are chosen so
/// that at average traffic every product ends its cycle above the alert line
/// while a busy afternoon pushes some of them below it (one even sells out).
pub(crate) const PRODUCTS: [Product; 6] = [
    Product { share: 0.020, restock_every_h: 3.0, capacity: 400.0 },
    Product { share: 0.012, restock_every_h: 4.0, capacity: 350.0 },
    Product { share: 0.030, restock_every_h: 2.0, capacity: 480.0 },
    Product { share: 0.008, restock_every_h: 6.0, capacity: 420.0 },
    Product { share: 0.016, restock_every_h: 2.5, capacity: 300.0 },
    Product { share: 0.025, restock_every_h: 5.0, capacity: 1000.0 },
];

/// The daily traffic shape in `[LO, HI]`: a smooth rise from the 04:00
/// trough to the 17:00 peak and a smooth fall back.
pub(crate) fn daily(t_s: f64) -> f64 {
    let h = (t_s / 3600.0 - TROUGH_H).rem_euclid(24.0);
    let ease = if h < RISE_H {
        0.5 * (1.0 - (std::f64::consts::PI * h / RISE_H).cos())
    } else {
        0.5 * (1.0 + (std::f64::consts::PI * (h - RISE_H) / FALL_H).cos())
    };
    LO + (HI - LO) * ease
}

/// The integral of [`daily`] in hours, from the trough of the first day
/// before the epoch: closed form, so stock levels never sum second by second.
fn daily_integral_h(t_s: f64) -> f64 {
    use std::f64::consts::PI;
    let hours = t_s / 3600.0 - TROUGH_H;
    let cycles = (hours / 24.0).floor();
    let h = hours - cycles * 24.0;
    let eased = if h < RISE_H {
        h / 2.0 - RISE_H / (2.0 * PI) * (PI * h / RISE_H).sin()
    } else {
        let v = h - RISE_H;
        RISE_H / 2.0 + v / 2.0 + FALL_H / (2.0 * PI) * (PI * v / FALL_H).sin()
    };
    // A whole cycle eases through exactly half of its 24 hours.
    cycles * 12.0 * (LO + HI) + LO * h + (HI - LO) * eased
}

const LOAD: u64 = stream("shop-load");
const ORDERS: u64 = stream("orders");
const USERS: u64 = stream("users");
const BASKET: u64 = stream("basket");
const STOCK: u64 = stream("stock");

/// Shop-wide traffic as a share of peak: the daily shape times a shared
/// drift, so every service and KPI rises and falls together.
pub(crate) fn load(seed: u64, t_s: f64) -> f64 {
    daily(t_s) * (1.0 + 0.06 * wander(seed, LOAD, t_s))
}

/// Share of orders that still go through during an incident.
fn order_factor(inc: &Incident, t_ms: i64) -> f64 {
    if inc.is_down(t_ms) {
        return 0.45;
    }
    1.0 - 0.06 * inc.of(Scenario::ErrorBurst)
        - 0.03 * inc.of(Scenario::BadDeploy)
        - 0.10 * inc.of(Scenario::CpuSaturation)
        - 0.08 * inc.of(Scenario::Degraded)
}

/// Orders per minute before per-second jitter: what the transaction
/// counters integrate, so they agree with `orders_per_minute`.
pub(crate) fn order_rate(seed: u64, inc: &Incident, t_ms: i64) -> f64 {
    let t_s = t_ms as f64 / 1000.0;
    PEAK_ORDERS_PER_MIN * load(seed, t_s) * (1.0 + 0.05 * wander(seed, ORDERS, t_s)) * order_factor(inc, t_ms)
}

/// The shop's headline numbers at one instant.
pub(crate) struct Kpis {
    pub active_users: f64,
    pub orders_per_minute: f64,
    pub revenue_per_minute: f64,
}

pub(crate) fn kpis(seed: u64, inc: &Incident, t_ms: i64) -> Kpis {
    let t_s = t_ms as f64 / 1000.0;
    let away = if inc.is_down(t_ms) { 0.85 } else { 1.0 };
    let users =
        PEAK_USERS * load(seed, t_s) * (1.0 + 0.03 * wander(seed, USERS, t_s)) * away + 12.0 * jitter(seed, USERS, t_s);
    let orders = order_rate(seed, inc, t_ms) * (1.0 + 0.02 * jitter(seed, ORDERS, t_s));
    let revenue = orders * BASKET_USD * (1.0 + 0.08 * wander(seed, BASKET, t_s));
    Kpis {
        active_users: users.max(0.0).round(),
        orders_per_minute: (orders.max(0.0) * 10.0).round() / 10.0,
        revenue_per_minute: (revenue.max(0.0) * 100.0).round() / 100.0,
    }
}

/// Units in stock of product `index` at `t_ms`: the last restock minus what
/// orders have taken since, never below zero (sold out until the truck comes).
pub(crate) fn inventory_level(seed: u64, index: usize, t_ms: i64) -> f64 {
    let Some(p) = PRODUCTS.get(index) else {
        return 0.0;
    };
    let series = member(STOCK, index);
    let every_ms = (p.restock_every_h * 3_600_000.0) as i64;
    let phase_ms = (unit(seed, series, 0) * every_ms as f64) as i64;
    let cycle = (t_ms - phase_ms).div_euclid(every_ms);
    let restocked_ms = cycle * every_ms + phase_ms;
    // Deliveries and demand vary a little from one cycle to the next.
    let capacity = p.capacity * (0.92 + 0.16 * unit(seed, series ^ 1, cycle));
    let share = p.share * (0.85 + 0.30 * unit(seed, series ^ 2, cycle));
    let hours_of_traffic = daily_integral_h(t_ms as f64 / 1000.0) - daily_integral_h(restocked_ms as f64 / 1000.0);
    let sold = PEAK_ORDERS_PER_MIN * 60.0 * share * hours_of_traffic;
    (capacity - sold).max(0.0).round()
}

/// How many tracked products are below [`LOW_STOCK`]; computed from the same
/// levels, so `inventory_alerts` and `inventory_level` always agree.
pub(crate) fn inventory_alerts(seed: u64, t_ms: i64) -> usize {
    (0..PRODUCTS.len()).filter(|&i| inventory_level(seed, i, t_ms) < LOW_STOCK).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_curve_is_quiet_at_four_and_busy_in_the_evening() {
        let h = |x: f64| daily(x * 3600.0);
        assert!((h(4.0) - LO).abs() < 1e-9);
        assert!((h(17.0) - HI).abs() < 1e-9);
        assert!(h(10.0) > h(4.0) && h(20.0) > h(10.0) && h(23.0) < h(17.0));
        // Continuous across midnight.
        assert!((h(24.0 - 1e-6) - h(0.0)).abs() < 1e-6);
    }

    #[test]
    fn closed_form_integral_matches_a_numeric_one() {
        let start = 1_751_241_600.0; // 2025-06-30T00:00:00Z
        let mut numeric = 0.0;
        let step = 30.0;
        for i in 0..(2 * 86_400 / 30) {
            let t = start + i as f64 * step;
            numeric += 0.5 * (daily(t) + daily(t + step)) * step / 3600.0;
            let closed = daily_integral_h(t + step) - daily_integral_h(start);
            assert!((closed - numeric).abs() < 1e-3, "at {t}: {closed} vs {numeric}");
        }
    }
}
