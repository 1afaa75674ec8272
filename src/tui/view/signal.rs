//! Verdicts on values (ok / warn / crit / stale) and their look. State is
//! never carried by colour alone: every level also has a glyph.

use crate::tui::theme::Theme;
use ratatui::style::Style;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warn,
    Crit,
    Stale,
}

impl Level {
    /// The glyph that says the same as the colour, in the theme's glyph set.
    pub fn glyph(self, theme: &Theme) -> &'static str {
        self.glyph_in(&theme.glyphs)
    }

    /// The glyph in a given set (for output without a theme).
    pub fn glyph_in(self, g: &crate::tui::theme::Glyphs) -> &'static str {
        match self {
            Level::Ok => g.ok,
            Level::Warn => g.warn,
            Level::Crit => g.crit,
            Level::Stale => g.stale,
        }
    }

    pub fn style(self, theme: &Theme) -> Style {
        match self {
            Level::Ok => theme.ok(),
            Level::Warn => theme.warn(),
            Level::Crit => theme.crit(),
            Level::Stale => theme.stale(),
        }
    }

    /// Level of `v` against warn and crit thresholds (higher is worse).
    pub fn of(v: f64, warn: f64, crit: f64) -> Level {
        if v >= crit || v.is_nan() {
            Level::Crit
        } else if v >= warn {
            Level::Warn
        } else {
            Level::Ok
        }
    }
}

/// A text sparkline of `points` over the window ending at `to_ms`, one
/// column per equal slice of the window. Slices sit on whole multiples of
/// their length, so the line moves one column each time a slice starts
/// rather than with every new cell of the grid (a 15 min window 30 columns
/// wide moves every 30 s), and sparklines side by side line up in time.
/// Each column is the mean of its slice; a slice with no data shows the
/// column before it, unless the data has been silent two slices long.
/// Values are scaled to their range; a range narrower than a tenth of the
/// values' size is widened to that, so noise on a steady value does not
/// look like a swing.
pub fn sparkline(points: &[(i64, f64)], to_ms: i64, window_ms: i64, width: usize, bars: &[char; 8]) -> String {
    let means = columns(points, to_ms, window_ms, width);
    let Some(start) = means.iter().position(Option::is_some) else {
        return String::new();
    };
    let (lo, hi) = means.iter().flatten().fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let floor = 0.1 * hi.abs().max(lo.abs());
    let (lo, hi) = if hi - lo < floor {
        let mid = (hi + lo) / 2.0;
        (mid - floor / 2.0, mid + floor / 2.0)
    } else {
        (lo, hi)
    };
    let span = hi - lo;
    // Columns before the first data are blank too, so a short history
    // sits at the right, where its time is.
    (0..start)
        .map(|_| ' ')
        .chain(means[start..].iter().map(|m| match m {
            None => ' ',
            Some(_) if span <= f64::EPSILON => bars[0],
            Some(v) => bars[(((v - lo) / span) * 7.0).round() as usize],
        }))
        .collect()
}

/// The columns of a [`sparkline`]: the mean of each slice of the window,
/// carried over short gaps, `None` where there is nothing to show. Taller
/// plots of the same data use it, so they line up with the sparklines.
pub fn columns(points: &[(i64, f64)], to_ms: i64, window_ms: i64, width: usize) -> Vec<Option<f64>> {
    if width == 0 {
        return Vec::new();
    }
    let slice = (window_ms.max(1) + width as i64 - 1) / width as i64;
    // Slice `k` holds `((k - 1) * slice, k * slice]`.
    let slice_of = |t: i64| t.div_euclid(slice) + i64::from(t.rem_euclid(slice) != 0);
    let first = slice_of(to_ms) - width as i64 + 1;
    let mut sums = vec![(0.0, 0u32, i64::MIN); width];
    for &(t, v) in points.iter().filter(|p| p.1.is_finite()) {
        let k = slice_of(t) - first;
        if (0..width as i64).contains(&k) {
            let s = &mut sums[k as usize];
            s.0 += v;
            s.1 += 1;
            s.2 = s.2.max(t);
        }
    }
    // A slice with no point of its own, but one less than two slices
    // before its end, shows the column before it: data sparser than the
    // columns (coarse history), or the newest slice before its first point,
    // is not a gap. Only a longer silence leaves the column blank.
    let mut means: Vec<Option<f64>> = Vec::with_capacity(width);
    let mut last: Option<(f64, i64)> = None;
    for (i, &(sum, n, newest)) in sums.iter().enumerate() {
        let end = (first + i as i64) * slice;
        let mean = if n > 0 {
            let m = sum / n as f64;
            last = Some((m, newest));
            Some(m)
        } else {
            last.filter(|&(_, t)| end - t < 2 * slice).map(|(m, _)| m)
        };
        means.push(mean);
    }
    means
}

#[cfg(test)]
mod tests {
    use super::*;

    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

    /// Points one per `step` ms, ending at `to`.
    fn pts(values: &[f64], step: i64, to: i64) -> Vec<(i64, f64)> {
        let n = values.len() as i64;
        values.iter().enumerate().map(|(i, &v)| (to - (n - 1 - i as i64) * step, v)).collect()
    }

    #[test]
    fn sparkline_scales_and_sits_in_time() {
        // One point per column: a 3-column window of 3 s.
        assert_eq!(sparkline(&pts(&[0.0, 7.0, 3.5], 1000, 3000), 3000, 3000, 3, &BARS), "▁█▅");
        // A short history sits at the right.
        assert_eq!(sparkline(&pts(&[-1.0, 1.0], 1000, 10_000), 10_000, 4000, 4, &BARS), "  ▁█");
        // 1 % noise on a steady value stays near the middle.
        assert_eq!(sparkline(&pts(&[100.0, 101.0, 100.0], 1000, 3000), 3000, 3000, 3, &BARS), "▄▅▄");
        assert_eq!(sparkline(&[], 3000, 3000, 4, &BARS), "");
        assert_eq!(sparkline(&pts(&[f64::NAN, 2.0], 1000, 2000), 2000, 2000, 2, &BARS), " ▅");
        assert_eq!(sparkline(&pts(&[0.0, 0.0], 1000, 2000), 2000, 2000, 2, &BARS), "▁▁");
        // Data sparser than the columns carries over; a longer gap is blank.
        assert_eq!(sparkline(&[(1000, 1.0), (3000, 2.0)], 3000, 3000, 3, &BARS), "▁▁█");
        assert_eq!(sparkline(&[(1000, 1.0), (5000, 2.0)], 5000, 5000, 5, &BARS), "▁▁  █");
    }

    #[test]
    fn sparkline_columns_are_means_of_fixed_slices() {
        // Six points in a 6 s window, 3 columns: 2 s slices, (0,2], (2,4], (4,6].
        let p = pts(&[1.0, 3.0, 10.0, 10.0, 5.0, 7.0], 1000, 6000);
        assert_eq!(sparkline(&p, 6000, 6000, 3, &BARS), "▁█▅");
        // While the window's end stays inside the newest slice, only that
        // slice takes new points; with the same mean, nothing moves.
        let at = [(3000, 3.0), (4000, 10.0), (5000, 10.0), (6000, 5.0), (6500, 6.0)];
        let later = [&at[..], &[(7000, 6.0), (7500, 6.0)]].concat();
        assert_eq!(sparkline(&at, 6500, 6000, 3, &BARS), sparkline(&later, 7500, 6000, 3, &BARS));
        // Once it crosses into the next slice, the line moves one column.
        assert_eq!(sparkline(&[(7500, 6.0), (8500, 1.0)], 8500, 6000, 3, &BARS), " █▁");
    }

    #[test]
    fn levels_follow_thresholds() {
        assert_eq!(Level::of(0.5, 1.0, 2.0), Level::Ok);
        assert_eq!(Level::of(1.0, 1.0, 2.0), Level::Warn);
        assert_eq!(Level::of(3.0, 1.0, 2.0), Level::Crit);
    }
}
