//! A text panel's content, and every other string from the dashboard, made
//! safe to show: markup goes, and control characters are made visible.

use crate::wire::sanitize;
use regex::Regex;
use std::sync::LazyLock;

/// The lines kept of a text panel.
const MAX_TEXT_LINES: usize = 60;

/// A text panel's markdown or HTML as plain lines: tags, emphasis and link
/// targets go; every line is made safe for the terminal.
pub(super) fn plain_text(content: &str, mode: &str) -> String {
    let mut s = content.replace("\r\n", "\n");
    if mode != "code" {
        s = SCRIPT.replace_all(&s, "").into_owned();
        s = BLOCK_END.replace_all(&s, "\n").into_owned();
        s = LIST_ITEM.replace_all(&s, "\n- ").into_owned();
        s = TAG.replace_all(&s, "").into_owned();
        for (entity, c) in [("&nbsp;", " "), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'")] {
            s = s.replace(entity, c);
        }
        s = s.replace("&amp;", "&");
    }
    if mode == "markdown" {
        s = IMAGE.replace_all(&s, "$1").into_owned();
        s = LINK.replace_all(&s, "$1").into_owned();
        s = EMPHASIS.replace_all(&s, "").into_owned();
        s = s
            .lines()
            .filter(|l| !l.trim_start().starts_with("```") && !RULE.is_match(l))
            .map(|l| HEADING.replace(l, "").into_owned())
            .collect::<Vec<_>>()
            .join("\n");
    }
    let mut lines: Vec<String> = Vec::new();
    for line in s.lines() {
        let line = sanitize(line.trim_end());
        // One blank line at most between paragraphs.
        if line.trim().is_empty() && lines.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        lines.push(if line.trim().is_empty() { String::new() } else { line });
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    if lines.len() > MAX_TEXT_LINES {
        lines.truncate(MAX_TEXT_LINES);
        lines.push("…".into());
    }
    lines.join("\n")
}

/// Untrusted text for a title or name: one safe line.
pub(super) fn clean_line(s: &str) -> String {
    sanitize(s.trim()).trim().to_string()
}

pub(super) fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid built-in pattern")
}

static SCRIPT: LazyLock<Regex> = LazyLock::new(|| re(r"(?is)<(?:script|style)\b.*?</(?:script|style)\s*>"));
static BLOCK_END: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)<br\s*/?>|</(?:p|div|h[1-6]|tr|table|ul|ol|blockquote|pre)\s*>"));
static LIST_ITEM: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)<li\b[^>]*>"));
static TAG: LazyLock<Regex> = LazyLock::new(|| re(r"(?s)<[^>]*>"));
static IMAGE: LazyLock<Regex> = LazyLock::new(|| re(r"!\[([^\]]*)\]\([^)]*\)"));
static LINK: LazyLock<Regex> = LazyLock::new(|| re(r"\[([^\]]*)\]\([^)]*\)"));
static EMPHASIS: LazyLock<Regex> = LazyLock::new(|| re(r"\*\*|__|`"));
static HEADING: LazyLock<Regex> = LazyLock::new(|| re(r"^\s{0,3}#{1,6}\s+|^\s{0,3}>\s?"));
static RULE: LazyLock<Regex> = LazyLock::new(|| re(r"^\s{0,3}(?:-{3,}|\*{3,}|_{3,})\s*$"));
