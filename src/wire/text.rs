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
    if is_clean(s) {
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

/// [`sanitize`] for text already owned: clean text, the usual case, is
/// kept as it is instead of copied.
pub fn sanitize_owned(s: String) -> String {
    if is_clean(&s) { s } else { sanitize(&s) }
}

/// Sanitises every key and value of a label set.
pub fn sanitize_labels(labels: &Labels) -> Labels {
    labels.iter().map(|(k, v)| (sanitize(k), sanitize(v))).collect()
}

/// [`sanitize_labels`] for a set already owned: a clean set is kept whole.
pub fn sanitize_labels_owned(labels: Labels) -> Labels {
    if labels.iter().all(|(k, v)| is_clean(k) && is_clean(v)) { labels } else { sanitize_labels(&labels) }
}

/// Whether [`sanitize`] would leave the text as it is. Printable ASCII, by far
/// the most common text, is settled a byte at a time without decoding chars.
fn is_clean(s: &str) -> bool {
    s.len() <= MAX_TEXT && (s.bytes().all(|b| (0x20..0x7f).contains(&b)) || s.chars().all(is_safe))
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

    #[test]
    fn owned_variants_agree_with_the_borrowing_ones() {
        for s in ["plain", "checkout ✓", "a\x1bb", "t\tab", &"x".repeat(MAX_TEXT + 1)] {
            assert_eq!(sanitize_owned(s.to_string()), sanitize(s));
        }
        let dirty: Labels = [("k\x07".to_string(), "v".to_string()), ("a".into(), "b\u{9b}".into())].into();
        assert_eq!(sanitize_labels_owned(dirty.clone()), sanitize_labels(&dirty));
        let clean: Labels = [("service".to_string(), "api".to_string())].into();
        assert_eq!(sanitize_labels_owned(clean.clone()), clean);
    }
}
