//! Label matchers as Alertmanager's silences have them: a label name, a
//! value, whether the value is a regular expression, and whether the match
//! is negated. The gateway's shared silences are made of these.
//!
//! The semantics are Alertmanager's, so a silence copied from one means the
//! same here: a regular expression must match the whole value (it is
//! anchored at both ends), and a label the alert does not carry is matched
//! as the empty string, so `service!="checkout"` covers alerts without a
//! `service` label and `service=~".*"` matches every alert.

use crate::core::model::Labels;
use regex::{Regex, RegexBuilder};
use std::fmt;

/// Largest compiled program a matcher's regular expression may make: a
/// pattern crafted to blow up cannot take the gateway's memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// One label matcher.
#[derive(Clone)]
pub struct Matcher {
    pub name: String,
    pub value: String,
    /// The value is a regular expression (anchored at both ends).
    pub regex: bool,
    /// False for a negative matcher (`!=`, `!~`).
    pub is_equal: bool,
    compiled: Option<Regex>,
}

/// Why a matcher cannot be made, in one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid regular expression: {0}")]
pub struct BadRegex(pub String);

impl Matcher {
    /// A matcher; a regular expression is checked and compiled here.
    pub fn new(name: &str, value: &str, regex: bool, is_equal: bool) -> Result<Matcher, BadRegex> {
        let compiled = if regex {
            // The value alone must be a whole expression: `a)|(b` would
            // otherwise slip out of the anchoring group and match anywhere.
            build(value)?;
            Some(build(&format!("^(?:{value})$"))?)
        } else {
            None
        };
        Ok(Matcher { name: name.to_string(), value: value.to_string(), regex, is_equal, compiled })
    }

    /// An equality matcher.
    pub fn equal(name: &str, value: &str) -> Matcher {
        Matcher { name: name.to_string(), value: value.to_string(), regex: false, is_equal: true, compiled: None }
    }

    /// Whether `labels` meet this matcher; a missing label is the empty string.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matches_value(labels.get(&self.name).map_or("", String::as_str))
    }

    fn matches_value(&self, value: &str) -> bool {
        let hit = match &self.compiled {
            Some(re) => re.is_match(value),
            None => value == self.value,
        };
        hit == self.is_equal
    }

    /// Whether the matcher takes an alert without the label: a silence
    /// made only of such matchers would silence every alert there is.
    pub fn matches_empty(&self) -> bool {
        self.matches_value("")
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        (&self.name, &self.value, self.regex, self.is_equal) == (&other.name, &other.value, other.regex, other.is_equal)
    }
}

impl fmt::Debug for Matcher {
    /// As Alertmanager writes matchers: `service=~"check.*"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match (self.is_equal, self.regex) {
            (true, false) => "=",
            (false, false) => "!=",
            (true, true) => "=~",
            (false, true) => "!~",
        };
        write!(f, "{}{op}{:?}", self.name, self.value)
    }
}

/// Whether every matcher is met. No matchers match nothing: an empty set
/// would otherwise silence every alert.
pub fn all_match(matchers: &[Matcher], labels: &Labels) -> bool {
    !matchers.is_empty() && matchers.iter().all(|m| m.matches(labels))
}

fn build(pattern: &str) -> Result<Regex, BadRegex> {
    RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).build().map_err(|e| BadRegex(one_line(&e.to_string())))
}

/// The regex crate explains a syntax error over several lines (the pattern,
/// a caret, then the error); its last line says what is wrong.
fn one_line(text: &str) -> String {
    let line = text.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or("");
    line.trim_start_matches("error: ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn regular_expressions_are_anchored_at_both_ends() {
        let m = Matcher::new("service", "check.*", true, true).unwrap();
        assert!(m.matches(&labels(&[("service", "checkout")])));
        assert!(!m.matches(&labels(&[("service", "precheckout")])), "anchored at the start");
        let m = Matcher::new("service", "check", true, true).unwrap();
        assert!(!m.matches(&labels(&[("service", "checkout")])), "anchored at the end");
        assert!(m.matches(&labels(&[("service", "check")])));
        let m = Matcher::new("service", "api|search", true, true).unwrap();
        assert!(m.matches(&labels(&[("service", "search")])));
        assert!(!m.matches(&labels(&[("service", "research")])), "an alternation is anchored as a whole");
    }

    #[test]
    fn a_value_that_would_escape_the_anchors_is_refused() {
        let err = Matcher::new("service", "a)|(b", true, true).unwrap_err();
        assert!(!err.0.contains('\n'), "one line: {err}");
        assert!(Matcher::new("service", "(", true, true).is_err());
        assert!(Matcher::new("service", "x{1000000}", true, true).is_err(), "too big to compile");
        // The same text as a plain value is just text.
        assert!(Matcher::new("service", "(", false, true).unwrap().matches(&labels(&[("service", "(")])));
    }

    #[test]
    fn negative_matchers_and_missing_labels_follow_alertmanager() {
        let not_checkout = Matcher::new("service", "checkout", false, false).unwrap();
        assert!(!not_checkout.matches(&labels(&[("service", "checkout")])));
        assert!(not_checkout.matches(&labels(&[("service", "api")])));
        assert!(not_checkout.matches(&labels(&[])), "a missing label is the empty string");
        let not_api_like = Matcher::new("service", "api.*", true, false).unwrap();
        assert!(not_api_like.matches(&labels(&[("service", "search")])));
        assert!(!not_api_like.matches(&labels(&[("service", "api-eu")])));
        assert!(not_api_like.matches_empty());
        assert!(Matcher::new("service", ".*", true, true).unwrap().matches_empty());
        assert!(!Matcher::equal("service", "api").matches_empty());
        assert!(Matcher::equal("service", "").matches(&labels(&[])));
    }

    #[test]
    fn all_must_match_and_none_match_nothing() {
        let ms = [Matcher::equal("alertname", "cpu"), Matcher::new("service", "api|search", true, true).unwrap()];
        assert!(all_match(&ms, &labels(&[("alertname", "cpu"), ("service", "api")])));
        assert!(!all_match(&ms, &labels(&[("alertname", "queue"), ("service", "api")])));
        assert!(!all_match(&[], &labels(&[("alertname", "cpu")])));
        assert_eq!(format!("{:?}", ms[1]), "service=~\"api|search\"");
    }
}
