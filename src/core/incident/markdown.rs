//! Text from the network made safe for a Markdown report: it may hold
//! anything a gateway or a config was given, and must neither break a
//! table, start a code span or a link, nor carry control characters into
//! the file.

/// `s` on one line, without control characters, with the characters that
/// Markdown reads as syntax escaped by a backslash.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() || is_bidi_override(c) => {}
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Labels as `k=v, k=v`, escaped; `—` for none.
pub fn labels(labels: &crate::core::model::Labels) -> String {
    if labels.is_empty() {
        return "—".into();
    }
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{}={}", escape(k), escape(v))).collect();
    pairs.join(", ")
}

/// Characters that reorder text as it is shown, so a line would read
/// other than it is written.
fn is_bidi_override(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_code_and_link_syntax_is_escaped_and_controls_are_gone() {
        assert_eq!(escape("a|b `rm -rf` [x](y)"), r"a\|b \`rm -rf\` \[x\](y)");
        assert_eq!(escape("line one\nline two\r\n"), "line one line two  ");
        assert_eq!(escape("red\u{1b}[31m\u{7}\u{202e}txt"), r"red\[31mtxt");
        assert_eq!(escape(r"<script> **bold** c:\x #1"), r"\<script\> \*\*bold\*\* c:\\x \#1");
        assert_eq!(escape("checkout v1.4.3 deployed"), "checkout v1.4.3 deployed", "plain text stays as it is");
        let l: crate::core::model::Labels = [("service".to_string(), "pay|ments".to_string())].into();
        assert_eq!(labels(&l), r"service=pay\|ments");
    }
}
