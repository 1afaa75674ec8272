//! Verdicts on values (ok / warn / crit / stale) and their look. State is
//! never carried by colour alone: every level also has a glyph.

use crate::theme::Theme;
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
    pub fn glyph_in(self, g: &crate::theme::Glyphs) -> &'static str {
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

/// A text sparkline of the last `width` values, scaled to their range; a
/// range narrower than a tenth of the values' size is widened to that, so
/// noise on a steady value does not look like a swing.
pub fn sparkline(values: &[f64], width: usize, bars: &[char; 8]) -> String {
    let tail: Vec<f64> = values.iter().rev().take(width).rev().copied().filter(|v| v.is_finite()).collect();
    if tail.is_empty() {
        return String::new();
    }
    let (lo, hi) = tail.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let floor = 0.1 * hi.abs().max(lo.abs());
    let (lo, hi) = if hi - lo < floor {
        let mid = (hi + lo) / 2.0;
        (mid - floor / 2.0, mid + floor / 2.0)
    } else {
        (lo, hi)
    };
    let span = hi - lo;
    tail.iter()
        .map(|&v| if span <= f64::EPSILON { bars[0] } else { bars[(((v - lo) / span) * 7.0).round() as usize] })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

    #[test]
    fn sparkline_scales_and_keeps_the_newest() {
        assert_eq!(sparkline(&[0.0, 7.0, 3.5], 10, &BARS), "▁█▅");
        assert_eq!(sparkline(&[9.0, 1.0, 1.0], 2, &BARS), "▅▅");
        assert_eq!(sparkline(&[-1.0, 1.0], 2, &BARS), "▁█");
        // 1 % noise on a steady value stays near the middle.
        assert_eq!(sparkline(&[100.0, 101.0, 100.0], 3, &BARS), "▄▅▄");
        assert_eq!(sparkline(&[], 4, &BARS), "");
        assert_eq!(sparkline(&[f64::NAN, 2.0], 4, &BARS), "▅");
        assert_eq!(sparkline(&[0.0, 0.0], 4, &BARS), "▁▁");
    }

    #[test]
    fn levels_follow_thresholds() {
        assert_eq!(Level::of(0.5, 1.0, 2.0), Level::Ok);
        assert_eq!(Level::of(1.0, 1.0, 2.0), Level::Warn);
        assert_eq!(Level::of(3.0, 1.0, 2.0), Level::Crit);
    }
}
