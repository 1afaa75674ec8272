//! Latency distributions: a lognormal body (what every request sees) plus an
//! optional lognormal slow tail (a bad shard, a lock, a cold cache). Buckets
//! are filled from the exact CDF rather than by drawing samples, which keeps
//! the histograms smooth, cheap and deterministic.

use super::HISTOGRAM_BOUNDS;
use std::sync::LazyLock;

/// A two-component lognormal mixture, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Latency {
    pub median: f64,
    pub sigma: f64,
    /// Share of requests that take the slow path, `0..1`.
    pub tail_frac: f64,
    pub tail_median: f64,
    pub tail_sigma: f64,
}

impl Latency {
    /// A plain lognormal with no slow tail.
    pub fn lognormal(median: f64, sigma: f64) -> Self {
        Latency { median, sigma, tail_frac: 0.0, tail_median: 1.0, tail_sigma: 0.3 }
    }

    /// Mean of one lognormal component: the median stretched by `e^(σ²/2)`.
    fn component_mean(median: f64, sigma: f64) -> f64 {
        median * (0.5 * sigma * sigma).exp()
    }

    /// Mean latency: what `sum / count` of the histogram converges to.
    pub fn mean(&self) -> f64 {
        let body = Self::component_mean(self.median, self.sigma);
        let tail = Self::component_mean(self.tail_median, self.tail_sigma);
        (1.0 - self.tail_frac) * body + self.tail_frac * tail
    }

    /// Adds a slow tail of `frac` at `tail_median`, and shrinks the body so
    /// that the mean becomes `target_mean`: the shape of an incident where the
    /// average looks fine and only the high percentiles give it away.
    pub fn with_tail_at_mean(self, frac: f64, tail_median: f64, tail_sigma: f64, target_mean: f64) -> Self {
        let frac = frac.clamp(0.0, 0.5);
        let tail_mean = Self::component_mean(tail_median, tail_sigma);
        let body_mean_now = Self::component_mean(self.median, self.sigma);
        // Never let the body collapse: past a point the mean is allowed to rise.
        let body_mean = ((target_mean - frac * tail_mean) / (1.0 - frac)).max(0.35 * body_mean_now);
        Latency { median: self.median * body_mean / body_mean_now, tail_frac: frac, tail_median, tail_sigma, ..self }
    }

    /// Share of requests at or under `bound` seconds. Production code goes
    /// through [`Latency::bucket_shares`]; tests probe arbitrary bounds.
    #[cfg(test)]
    pub fn cdf(&self, bound: f64) -> f64 {
        if bound.is_infinite() {
            return 1.0;
        }
        self.cdf_ln(bound.ln(), self.median.ln(), self.tail_median.ln())
    }

    /// [`Latency::cdf`] with every logarithm supplied: filling buckets is the
    /// hot loop of building a day of counters, and the bounds and medians
    /// stay the same across a row of buckets.
    fn cdf_ln(&self, ln_b: f64, ln_median: f64, ln_tail_median: f64) -> f64 {
        let body = normal_cdf((ln_b - ln_median) / self.sigma);
        if self.tail_frac <= 0.0 {
            return body;
        }
        let tail = normal_cdf((ln_b - ln_tail_median) / self.tail_sigma);
        (1.0 - self.tail_frac) * body + self.tail_frac * tail
    }

    /// Cumulative shares for [`HISTOGRAM_BOUNDS`]: non-decreasing by
    /// construction (the running max irons out approximation error) and
    /// exactly `1` at `+Inf`, so bucket counts built from them keep the
    /// histogram invariants.
    pub fn bucket_shares(&self) -> [f64; HISTOGRAM_BOUNDS.len()] {
        let mut out = [0.0; HISTOGRAM_BOUNDS.len()];
        let (ln_median, ln_tail_median) = (self.median.ln(), self.tail_median.ln());
        let mut floor = 0.0_f64;
        for (slot, &ln_b) in out.iter_mut().zip(LN_BOUNDS.iter()) {
            floor = floor.max(self.cdf_ln(ln_b, ln_median, ln_tail_median).clamp(0.0, 1.0));
            *slot = floor;
        }
        out[HISTOGRAM_BOUNDS.len() - 1] = 1.0;
        out
    }
}

/// Natural logs of [`HISTOGRAM_BOUNDS`] (`+Inf` stays `+Inf`), computed once.
static LN_BOUNDS: LazyLock<[f64; HISTOGRAM_BOUNDS.len()]> = LazyLock::new(|| HISTOGRAM_BOUNDS.map(f64::ln));

/// Standard normal CDF.
fn normal_cdf(z: f64) -> f64 {
    // Beyond 8.5 sigma the answer is 0 or 1 to double precision; skipping
    // the exponential there saves most of the work for far-off buckets.
    if z.abs() > 8.5 {
        return if z > 0.0 { 1.0 } else { 0.0 };
    }
    0.5 * (1.0 + erf(z * std::f64::consts::FRAC_1_SQRT_2))
}

/// Abramowitz & Stegun 7.1.26: absolute error under 1.5e-7, which is far
/// below one request in any bucket the simulator fills.
fn erf(x: f64) -> f64 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    sign * (1.0 - poly * (-x * x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        assert!(erf(0.0).abs() < 1e-6);
        assert!((erf(1.0) - 0.842_700_79).abs() < 1e-6);
        assert!((erf(-1.0) + 0.842_700_79).abs() < 1e-6);
        assert!((normal_cdf(2.326_348) - 0.99).abs() < 1e-6);
    }

    #[test]
    fn median_and_shares_are_right() {
        let l = Latency::lognormal(0.04, 0.5);
        assert!((l.cdf(0.04) - 0.5).abs() < 1e-6);
        let shares = l.bucket_shares();
        assert!(shares.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(shares[shares.len() - 1], 1.0);
    }

    #[test]
    fn a_tail_at_constant_mean_moves_p99_not_the_mean() {
        let calm = Latency::lognormal(0.06, 0.5);
        let tailed = calm.with_tail_at_mean(0.02, 2.0, 0.3, calm.mean());
        assert!((tailed.mean() - calm.mean()).abs() < 1e-9);
        assert!(calm.cdf(1.0) > 0.999);
        assert!(tailed.cdf(1.0) < 0.985);
    }
}
