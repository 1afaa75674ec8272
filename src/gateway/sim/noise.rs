//! Hash-based noise. Every wobble the simulator shows is a pure function of
//! the seed, a stream id naming the quantity, and a position in time, so any
//! instant can be recomputed on its own: no RNG state, no history, and two
//! gateways started with the same seed agree to the last digit.

/// The splitmix64 finaliser: a cheap bijective mix whose output bits all
/// depend on all input bits, which is all a stateless noise source needs.
pub(crate) const fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stream id spelt as a word (FNV-1a), so call sites read `stream("cpu")`
/// and ids are fixed at compile time when used in `const`s.
pub(crate) const fn stream(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let mut hash = 0xCBF2_9CE4_8422_2325_u64;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
        i += 1;
    }
    hash
}

/// A stream id for one member of a family (a service, a product).
pub(crate) const fn member(family: u64, index: usize) -> u64 {
    mix(family ^ (index as u64).wrapping_mul(0xA24B_AED4_963E_E407))
}

/// Uniform in `[0, 1)` for knot `n` of `stream` under `seed`.
pub(crate) fn unit(seed: u64, stream: u64, n: i64) -> f64 {
    let h = mix(seed ^ mix(stream ^ mix(n as u64)));
    // The top 53 bits fill an f64 mantissa exactly.
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform in `[-1, 1)` for knot `n` of `stream` under `seed`.
pub(crate) fn signed(seed: u64, stream: u64, n: i64) -> f64 {
    unit(seed, stream, n) * 2.0 - 1.0
}

/// Smooth noise in `[-1, 1]`: random values at knots `period_s` apart,
/// joined by a smoothstep ease so the curve has no corners at the knots.
pub(crate) fn smooth(seed: u64, stream: u64, t_s: f64, period_s: f64) -> f64 {
    let pos = t_s / period_s;
    let knot = pos.floor();
    let ease = smoothstep(pos - knot);
    let k = knot as i64;
    let a = signed(seed, stream, k);
    let b = signed(seed, stream, k + 1);
    a + (b - a) * ease
}

/// Two octaves of smooth noise, roughly in `[-1, 1]`: a slow two-minute
/// drift that a sparkline shows as a trend, plus a ten-second wobble that
/// keeps a one-second stream from looking synthetic.
pub(crate) fn wander(seed: u64, stream: u64, t_s: f64) -> f64 {
    0.6 * smooth(seed, stream, t_s, 120.0) + 0.4 * smooth(seed, mix(stream), t_s, 10.0)
}

/// Per-second jitter in `[-1, 1)`: one fresh value for each whole second.
pub(crate) fn jitter(seed: u64, stream: u64, t_s: f64) -> f64 {
    signed(seed, stream ^ JITTER, t_s.floor() as i64)
}

const JITTER: u64 = stream("jitter");

/// `0` below `0`, `1` above `1`, a flat-ended S-curve between: ramps that
/// start and finish gently, the way load actually builds up.
pub(crate) fn smoothstep(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_depends_on_seed_stream_and_knot_only() {
        let s = stream("cpu");
        assert_eq!(unit(7, s, 42), unit(7, s, 42));
        assert_ne!(unit(7, s, 42), unit(8, s, 42));
        assert_ne!(unit(7, s, 42), unit(7, s, 43));
        assert_ne!(unit(7, s, 42), unit(7, stream("mem"), 42));
        for n in -50..50 {
            let u = unit(3, s, n);
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn smooth_noise_is_continuous_and_bounded() {
        let s = stream("rate");
        let mut prev = smooth(1, s, 0.0, 10.0);
        for i in 1..2_000 {
            let t = i as f64 * 0.05;
            let v = smooth(1, s, t, 10.0);
            assert!((-1.0..=1.0).contains(&v));
            // Steepest slope of the ease is 1.5 per knot span, at most 2 wide.
            assert!((v - prev).abs() <= 3.0 * 0.05 / 10.0 + 1e-12, "jump at {t}");
            prev = v;
        }
        // Knots themselves are hit exactly.
        assert_eq!(smooth(1, s, 30.0, 10.0), signed(1, s, 3));
    }

    #[test]
    fn stream_ids_are_distinct() {
        assert_ne!(stream("a"), stream("b"));
        assert_ne!(member(stream("svc"), 0), member(stream("svc"), 1));
    }
}
