//! The bytes that turn the picture on screen into the next one.
//!
//! Over SSH every byte counts, and a live dashboard changes a few scattered
//! cells each second: digits of a number, the last column of each chart.
//! What it costs is then mostly cursor moves and colour changes, not text.
//! So this writes each colour change as one short SGR (`32`, not `38;5;2`),
//! only the attributes that changed, moves along a line with a short
//! forward step (`ESC[5C`) or by re-printing the cells in between when that
//! is shorter, and leaves colours reset at the end so every frame starts
//! from a known state.
//!
//! Which cells changed comes from ratatui's own buffer diff, which knows
//! about wide characters; only the encoding is ours.

use ratatui::buffer::{Buffer, Cell, CellDiffOption, CellWidth};
use ratatui::layout::Position;
use ratatui::style::{Color, Modifier};
use std::io::Write;

/// Colours and attributes the terminal draws with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pen {
    fg: Color,
    bg: Color,
    underline: Color,
    modifier: Modifier,
}

impl Pen {
    const PLAIN: Pen = Pen { fg: Color::Reset, bg: Color::Reset, underline: Color::Reset, modifier: Modifier::empty() };

    fn of(cell: &Cell) -> Pen {
        Pen { fg: cell.fg, bg: cell.bg, underline: cell.underline_color, modifier: cell.modifier }
    }
}

/// Appends to `out` what makes a screen that shows `prev` show `next`.
/// Both must cover the same area; for a screen in an unknown state, clear it
/// and pass an empty buffer as `prev`.
pub fn paint(prev: &Buffer, next: &Buffer, out: &mut Vec<u8>) {
    let mut pen = Pen::PLAIN;
    // Where the cursor is, when known.
    let mut at: Option<(u16, u16)> = None;
    let right = next.area.right();
    for (x, y, cell) in prev.diff_iter(next) {
        let want = Pen::of(cell);
        if at != Some((x, y)) {
            step_to(out, at, (x, y), next, pen);
        }
        if want != pen {
            restyle(out, pen, want);
            pen = want;
        }
        out.extend_from_slice(cell.symbol().as_bytes());
        // Only a plain one-column cell short of the margin moves the cursor
        // predictably; after anything else, the next move is absolute.
        let one_column = cell.diff_option == CellDiffOption::None && cell.cell_width() == 1;
        at = (one_column && x + 1 < right).then_some((x + 1, y));
    }
    if pen != Pen::PLAIN {
        out.extend_from_slice(b"\x1b[m");
    }
}

/// Moves the cursor from `from` (if known) to `to`, by the fewest bytes:
/// re-printing the cells in between when they are short and in the current
/// pen, else a forward step on the same line, else an absolute move.
fn step_to(out: &mut Vec<u8>, from: Option<(u16, u16)>, to: (u16, u16), next: &Buffer, pen: Pen) {
    let (x, y) = to;
    if let Some((cx, cy)) = from
        && cy == y
        && cx < x
    {
        let gap = x - cx;
        let forward = if gap == 1 { 3 } else { 3 + digits(gap) };
        if reprintable(next, cx, x, y, pen, forward) {
            for gx in cx..x {
                out.extend_from_slice(next[(gx, y)].symbol().as_bytes());
            }
            return;
        }
        if gap == 1 {
            out.extend_from_slice(b"\x1b[C");
        } else {
            let _ = write!(out, "\x1b[{gap}C");
        }
        return;
    }
    if x == 0 {
        let _ = write!(out, "\x1b[{}H", y + 1);
    } else {
        let _ = write!(out, "\x1b[{};{}H", y + 1, x + 1);
    }
}

/// Whether the cells from `from` up to `to` on line `y` can be printed
/// again as they are (plain one-column cells in `pen`) in at most `budget`
/// bytes.
fn reprintable(next: &Buffer, from: u16, to: u16, y: u16, pen: Pen, budget: usize) -> bool {
    let mut bytes = 0;
    (from..to).all(|x| {
        next.cell(Position::new(x, y)).is_some_and(|c| {
            bytes += c.symbol().len();
            bytes <= budget && c.diff_option == CellDiffOption::None && c.cell_width() == 1 && Pen::of(c) == pen
        })
    })
}

fn digits(n: u16) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// One SGR sequence that turns pen `from` into `to`.
fn restyle(out: &mut Vec<u8>, from: Pen, to: Pen) {
    let mut p = Params::new(out);
    let removed = from.modifier - to.modifier;
    let mut kept = from.modifier;
    for (gone, code, resets) in [
        (Modifier::BOLD | Modifier::DIM, 22, Modifier::BOLD | Modifier::DIM),
        (Modifier::ITALIC, 23, Modifier::ITALIC),
        (Modifier::UNDERLINED, 24, Modifier::UNDERLINED),
        (Modifier::SLOW_BLINK | Modifier::RAPID_BLINK, 25, Modifier::SLOW_BLINK | Modifier::RAPID_BLINK),
        (Modifier::REVERSED, 27, Modifier::REVERSED),
        (Modifier::HIDDEN, 28, Modifier::HIDDEN),
        (Modifier::CROSSED_OUT, 29, Modifier::CROSSED_OUT),
    ] {
        if removed.intersects(gone) {
            p.num(code);
            kept -= resets;
        }
    }
    let added = to.modifier - kept;
    for (m, code) in [
        (Modifier::BOLD, 1),
        (Modifier::DIM, 2),
        (Modifier::ITALIC, 3),
        (Modifier::UNDERLINED, 4),
        (Modifier::SLOW_BLINK, 5),
        (Modifier::RAPID_BLINK, 6),
        (Modifier::REVERSED, 7),
        (Modifier::HIDDEN, 8),
        (Modifier::CROSSED_OUT, 9),
    ] {
        if added.contains(m) {
            p.num(code);
        }
    }
    if to.fg != from.fg {
        p.color(to.fg, Layer::Fg);
    }
    if to.bg != from.bg {
        p.color(to.bg, Layer::Bg);
    }
    if to.underline != from.underline {
        p.color(to.underline, Layer::Underline);
    }
    p.end();
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Layer {
    Fg,
    Bg,
    Underline,
}

/// The parameters of one SGR sequence, written as they come.
struct Params<'a> {
    out: &'a mut Vec<u8>,
    any: bool,
}

impl<'a> Params<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        Params { out, any: false }
    }

    fn num(&mut self, n: u16) {
        self.out.extend_from_slice(if self.any { b";" } else { b"\x1b[" });
        self.any = true;
        let _ = write!(self.out, "{n}");
    }

    fn color(&mut self, c: Color, layer: Layer) {
        // The sixteen named colours have two-digit codes for text and
        // background (the same palette entries as 38;5;0..15).
        let (base, bright, ext, reset) = match layer {
            Layer::Fg => (30, 90, 38, 39),
            Layer::Bg => (40, 100, 48, 49),
            Layer::Underline => (0, 0, 58, 59),
        };
        let named = match c {
            Color::Reset => return self.num(reset),
            Color::Indexed(n) => return self.extended(ext, &[5, n as u16]),
            Color::Rgb(r, g, b) => return self.extended(ext, &[2, r as u16, g as u16, b as u16]),
            Color::Black => 0,
            Color::Red => 1,
            Color::Green => 2,
            Color::Yellow => 3,
            Color::Blue => 4,
            Color::Magenta => 5,
            Color::Cyan => 6,
            Color::Gray => 7,
            Color::DarkGray => 8,
            Color::LightRed => 9,
            Color::LightGreen => 10,
            Color::LightYellow => 11,
            Color::LightBlue => 12,
            Color::LightMagenta => 13,
            Color::LightCyan => 14,
            Color::White => 15,
        };
        match (layer, named) {
            (Layer::Underline, n) => self.extended(ext, &[5, n]),
            (_, n @ 0..=7) => self.num(base + n),
            (_, n) => self.num(bright + n - 8),
        }
    }

    fn extended(&mut self, ext: u16, rest: &[u16]) {
        self.num(ext);
        for &n in rest {
            self.num(n);
        }
    }

    fn end(self) {
        if self.any {
            self.out.push(b'm');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    /// What a terminal shows after `bytes`, cell by cell: text, colours and
    /// the attributes the dashboard uses.
    fn screen_after(parser: &mut vt100::Parser, bytes: &[u8]) -> Vec<String> {
        parser.process(bytes);
        let s = parser.screen();
        let (rows, cols) = s.size();
        (0..rows.get())
            .flat_map(|r| (0..cols.get()).map(move |c| (r, c)))
            .map(|(r, c)| {
                let cell = s.cell(r, c).unwrap();
                // A space written and a cell never written look the same.
                let text = cell.contents();
                format!(
                    "{:?} {:?} {:?} b{} d{} i{} u{} r{}",
                    if text == " " { "" } else { text },
                    cell.fgcolor(),
                    cell.bgcolor(),
                    cell.bold(),
                    cell.dim(),
                    cell.italic(),
                    cell.underline(),
                    cell.inverse()
                )
            })
            .collect()
    }

    fn vt_color(c: Color) -> vt100::Color {
        let named = [
            Color::Black,
            Color::Red,
            Color::Green,
            Color::Yellow,
            Color::Blue,
            Color::Magenta,
            Color::Cyan,
            Color::Gray,
            Color::DarkGray,
            Color::LightRed,
            Color::LightGreen,
            Color::LightYellow,
            Color::LightBlue,
            Color::LightMagenta,
            Color::LightCyan,
            Color::White,
        ];
        match c {
            Color::Reset => vt100::Color::Default,
            Color::Indexed(n) => vt100::Color::Idx(n),
            Color::Rgb(r, g, b) => vt100::Color::Rgb(r, g, b),
            c => vt100::Color::Idx(named.iter().position(|&n| n == c).unwrap() as u8),
        }
    }

    /// What a terminal should show for a buffer, in `screen_after`'s terms.
    fn expected(buf: &Buffer) -> Vec<String> {
        let a = buf.area;
        (a.top()..a.bottom())
            .flat_map(|y| (a.left()..a.right()).map(move |x| (x, y)))
            .map(|(x, y)| {
                let c = &buf[(x, y)];
                let m = c.modifier;
                format!(
                    "{:?} {:?} {:?} b{} d{} i{} u{} r{}",
                    if c.symbol() == " " { "" } else { c.symbol() },
                    vt_color(c.fg),
                    vt_color(c.bg),
                    m.contains(Modifier::BOLD),
                    m.contains(Modifier::DIM),
                    m.contains(Modifier::ITALIC),
                    m.contains(Modifier::UNDERLINED),
                    m.contains(Modifier::REVERSED)
                )
            })
            .collect()
    }

    const SYMBOLS: [&str; 8] = ["a", "7", " ", "─", "⣿", "▆", "●", "%"];
    const COLORS: [Color; 7] = [
        Color::Reset,
        Color::Green,
        Color::LightRed,
        Color::DarkGray,
        Color::Indexed(208),
        Color::Rgb(9, 200, 31),
        Color::White,
    ];
    const MODIFIERS: [Modifier; 5] =
        [Modifier::empty(), Modifier::BOLD, Modifier::DIM, Modifier::REVERSED, Modifier::ITALIC];

    /// A buffer from a list of (symbol, fg, bg, modifier) choices.
    fn buffer(w: u16, h: u16, picks: &[(usize, usize, usize, usize)]) -> Buffer {
        let mut b = Buffer::empty(Rect::new(0, 0, w, h));
        for (i, &(s, f, g, m)) in picks.iter().enumerate().take((w * h) as usize) {
            let (x, y) = (i as u16 % w, i as u16 / w);
            b[(x, y)]
                .set_symbol(SYMBOLS[s % 8])
                .set_style(Style::default().fg(COLORS[f % 7]).bg(COLORS[g % 7]).add_modifier(MODIFIERS[m % 5]));
        }
        b
    }

    fn picks() -> impl Strategy<Value = Vec<(usize, usize, usize, usize)>> {
        prop::collection::vec((0..8usize, 0..7usize, 0..7usize, 0..5usize), 0..60)
    }

    proptest! {
        /// From any picture to any other, a terminal ends up showing exactly
        /// the new one.
        #[test]
        fn a_terminal_shows_the_next_picture(first in picks(), second in picks(), keep in prop::collection::vec(any::<bool>(), 60)) {
            let (w, h) = (12, 5);
            let a = buffer(w, h, &first);
            // The second picture keeps some cells of the first, so moves
            // over unchanged cells get exercised.
            let mut b = buffer(w, h, &second);
            for (i, k) in keep.iter().enumerate().take((w * h) as usize) {
                if *k {
                    let (x, y) = (i as u16 % w, i as u16 / w);
                    b[(x, y)] = a[(x, y)].clone();
                }
            }
            let mut parser = vt100::Parser::new(h.try_into().unwrap(), w.try_into().unwrap(), 0);
            let mut out = Vec::new();
            paint(&Buffer::empty(a.area), &a, &mut out);
            prop_assert_eq!(screen_after(&mut parser, &out), expected(&a));
            out.clear();
            paint(&a, &b, &mut out);
            prop_assert_eq!(screen_after(&mut parser, &out), expected(&b));
        }
    }

    #[test]
    fn scattered_changes_cost_few_bytes() {
        let area = Rect::new(0, 0, 40, 3);
        let mut a = Buffer::empty(area);
        a.set_string(0, 1, "req/s 149  p99 213ms  errors 0.15%", Style::default().fg(Color::Green));
        let mut b = a.clone();
        b.set_string(8, 1, "50", Style::default().fg(Color::Green));
        b.set_string(17, 1, "4", Style::default().fg(Color::Green));
        let mut out = Vec::new();
        paint(&a, &b, &mut out);
        // A move, the colour, "50", a step over seven unchanged cells, "4",
        // and the pen reset.
        assert_eq!(String::from_utf8(out).unwrap(), "\x1b[2;9H\x1b[32m50\x1b[7C4\x1b[m");
        // One unchanged cell between two changes is cheaper to print again.
        let mut c = a.clone();
        c.set_string(6, 1, "2", Style::default().fg(Color::Green));
        c.set_string(8, 1, "0", Style::default().fg(Color::Green));
        out = Vec::new();
        paint(&a, &c, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "\x1b[2;7H\x1b[32m240\x1b[m");
    }

    #[test]
    fn nothing_changed_writes_nothing() {
        let area = Rect::new(0, 0, 10, 2);
        let mut a = Buffer::empty(area);
        a.set_string(0, 0, "steady", Style::default().fg(Color::Cyan).add_modifier(Modifier::BOLD));
        let mut out = Vec::new();
        paint(&a, &a.clone(), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn attributes_switch_off_one_by_one() {
        let mut out = Vec::new();
        let bold_red = Pen { fg: Color::Red, modifier: Modifier::BOLD | Modifier::ITALIC, ..Pen::PLAIN };
        let italic = Pen { modifier: Modifier::ITALIC, ..Pen::PLAIN };
        restyle(&mut out, bold_red, italic);
        assert_eq!(out, b"\x1b[22;39m");
        out.clear();
        restyle(
            &mut out,
            Pen { modifier: Modifier::BOLD, ..Pen::PLAIN },
            Pen { modifier: Modifier::DIM, ..Pen::PLAIN },
        );
        assert_eq!(out, b"\x1b[22;2m");
    }
}
