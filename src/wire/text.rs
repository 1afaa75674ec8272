//! Text that arrived from the network is made safe to draw exactly once,
//! here: no control character or escape sequence from a server may reach the
//! terminal, and no name may grow without bound.

use super::Labels;

/// Longest text kept from a server, in characters; the rest becomes `…`.
pub const MAX_TEXT: usize = 512;
/// Most labels a point may carry before it is refused.
pub const MAX_LABELS: usize = 32;

/// Replaces control characters (C0, DEL, C1) and bidirectional overrides
/// with visible escapes, folds line breaks and tabs to spaces, and caps the
/// length at [`MAX_TEXT`] characters.
pub fn sanitize(s: &str) -> String {
    if s.len() <= MAX_TEXT && s.chars().all(is_safe) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len().min(MAX_TEXT + 8));
    for (count, c) in s.chars().enumerate() {
        if count >= MAX_TEXT {
            out.push('…');
            break;
        }
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if is_safe(c) => out.push(c),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    out
}

/// Sanitises every key and value of a label set.
pub fn sanitize_labels(labels: &Labels) -> Labels {
    labels.iter().map(|(k, v)| (sanitize(k), sanitize(v))).collect()
}

fn is_safe(c: char) -> bool {
    !c.is_control() && !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_sequences() {
        let hostile = "ok\x1b[2J\x1b]0;pwned\x07done\u{9b}x";
        let clean = sanitize(hostile);
        assert!(!clean.chars().any(|c| c.is_control()), "{clean:?}");
        assert!(clean.starts_with("ok\\u{1b}[2J"));
    }

    #[test]
    fn folds_whitespace_and_caps_length() {
        assert_eq!(sanitize("a\nb\tc"), "a b c");
        let long = "x".repeat(MAX_TEXT * 3);
        assert_eq!(sanitize(&long).chars().count(), MAX_TEXT + 1);
        assert_eq!(sanitize("checkout ✓"), "checkout ✓");
        assert_eq!(sanitize("a\u{202e}b"), "a\\u{202e}b");
    }
}
