//! The `/` filter over series and alerts.
//!
//! The text is whitespace-separated terms, and a name matches when every
//! term does:
//!
//! | term          | matches when                                                |
//! |---------------|-------------------------------------------------------------|
//! | `text`        | the name or any label value contains `text`, in any case    |
//! | `!text`       | neither the name nor any label value contains `text`        |
//! | `key=value`   | label `key` is exactly `value` (`key=` : absent or empty)   |
//! | `key!=value`  | label `key` is not exactly `value` (absent counts as not)   |
//! | `key~text`    | label `key` contains `text`, in any case                    |
//!
//! Exact terms are case-sensitive because label values are identifiers;
//! the loose ones are not because they are typed in a hurry. There is no
//! quoting: label values with spaces are reached with `~` on a part.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    terms: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    /// Held lowercased, for matching without case.
    Contains(String),
    Lacks(String),
    Is(String, String),
    IsNot(String, String),
    /// The needle is lowercased.
    Like(String, String),
}

impl Filter {
    /// Parses filter text; anything parses, and empty text matches all.
    pub fn parse(text: &str) -> Filter {
        Filter { terms: text.split_whitespace().map(Term::parse).collect() }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn matches<'a>(&self, name: &str, labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
        if self.terms.is_empty() {
            return true;
        }
        let labels: Vec<(&str, &str)> = labels.into_iter().collect();
        let label = |key: &str| labels.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        let anywhere = |needle: &str| {
            contains_ignoring_case(name, needle) || labels.iter().any(|(_, v)| contains_ignoring_case(v, needle))
        };
        self.terms.iter().all(|t| match t {
            Term::Contains(s) => anywhere(s),
            Term::Lacks(s) => !anywhere(s),
            Term::Is(k, v) => label(k).unwrap_or("") == v,
            Term::IsNot(k, v) => label(k).unwrap_or("") != v,
            Term::Like(k, s) => label(k).is_some_and(|l| contains_ignoring_case(l, s)),
        })
    }
}

impl Term {
    fn parse(word: &str) -> Term {
        // The first operator after a non-empty key decides, so a value may
        // itself hold `=` or `~` (`path~a=b`).
        let op = word.char_indices().skip(1).find_map(|(i, c)| match c {
            '!' if word[i..].starts_with("!=") => Some((i, "!=")),
            '=' | '~' => Some((i, &word[i..i + 1])),
            _ => None,
        });
        if let Some((i, op)) = op {
            let (k, v) = (&word[..i], &word[i + op.len()..]);
            return match op {
                "!=" => Term::IsNot(k.into(), v.into()),
                "=" => Term::Is(k.into(), v.into()),
                _ => Term::Like(k.into(), v.to_lowercase()),
            };
        }
        match word.strip_prefix('!').filter(|w| !w.is_empty()) {
            Some(w) => Term::Lacks(w.to_lowercase()),
            None => Term::Contains(word.to_lowercase()),
        }
    }
}

/// `needle` is already lowercase. ASCII needles, nearly all of them, are
/// matched without allocating, since this runs per series per frame.
fn contains_ignoring_case(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        return h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(needle)
}

impl fmt::Display for Filter {
    /// The canonical text: terms in order, one space apart, loose terms in
    /// lower case. Parsing it gives the same filter back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match t {
                Term::Contains(s) => write!(f, "{s}")?,
                Term::Lacks(s) => write!(f, "!{s}")?,
                Term::Is(k, v) => write!(f, "{k}={v}")?,
                Term::IsNot(k, v) => write!(f, "{k}!={v}")?,
                Term::Like(k, s) => write!(f, "{k}~{s}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKOUT: [(&str, &str); 3] = [("service", "checkout"), ("env", "prod"), ("region", "eu-West-1")];

    fn hit(filter: &str, name: &str, labels: &[(&str, &str)]) -> bool {
        Filter::parse(filter).matches(name, labels.iter().copied())
    }

    #[test]
    fn empty_matches_everything() {
        assert!(Filter::parse("").is_empty());
        assert!(Filter::parse("  \t ").is_empty());
        assert!(hit("", "anything", &[]));
        assert!(!Filter::parse("x").is_empty());
    }

    #[test]
    fn plain_terms_search_name_and_label_values_in_any_case() {
        assert!(hit("latency", "http_latency_p99", &CHECKOUT));
        assert!(hit("LATENCY", "http_latency_p99", &CHECKOUT));
        assert!(hit("CHECK", "http_latency_p99", &CHECKOUT));
        assert!(hit("west", "cpu", &CHECKOUT));
        // Keys are not searched, only values.
        assert!(!hit("region", "cpu", &CHECKOUT));
        assert!(!hit("payments", "cpu", &CHECKOUT));
    }

    #[test]
    fn all_terms_must_match() {
        assert!(hit("cpu prod", "cpu_usage", &CHECKOUT));
        assert!(!hit("cpu staging", "cpu_usage", &CHECKOUT));
    }

    #[test]
    fn label_equality_is_exact() {
        assert!(hit("env=prod", "cpu", &CHECKOUT));
        assert!(!hit("env=Prod", "cpu", &CHECKOUT));
        assert!(!hit("env=pro", "cpu", &CHECKOUT));
        assert!(!hit("zone=prod", "cpu", &CHECKOUT));
        // An empty value means the label is absent or empty.
        assert!(hit("zone=", "cpu", &CHECKOUT));
        assert!(!hit("env=", "cpu", &CHECKOUT));
    }

    #[test]
    fn label_inequality_excludes() {
        assert!(!hit("env!=prod", "cpu", &CHECKOUT));
        assert!(hit("env!=staging", "cpu", &CHECKOUT));
        assert!(hit("zone!=a", "cpu", &CHECKOUT));
        assert!(hit("env!=", "cpu", &CHECKOUT));
        assert!(!hit("zone!=", "cpu", &CHECKOUT));
    }

    #[test]
    fn label_substring_ignores_case() {
        assert!(hit("region~west", "cpu", &CHECKOUT));
        assert!(hit("region~EU-w", "cpu", &CHECKOUT));
        assert!(!hit("region~east", "cpu", &CHECKOUT));
        assert!(!hit("zone~", "cpu", &CHECKOUT));
        assert!(hit("region~", "cpu", &CHECKOUT));
    }

    #[test]
    fn a_bang_excludes_a_plain_term() {
        assert!(!hit("!checkout", "cpu", &CHECKOUT));
        assert!(hit("!payments", "cpu", &CHECKOUT));
        assert!(hit("cpu !mem", "cpu", &[]));
        // A lone `!` or a keyless operator is just text.
        assert!(hit("!", "a!b", &[]));
        assert!(hit("=x", "a=x", &[]));
        // Only the first operator counts.
        assert!(hit("path~a=b", "cpu", &[("path", "/A=B")]));
        assert!(hit("q=a~b", "cpu", &[("q", "a~b")]));
    }

    #[test]
    fn case_folding_works_beyond_ascii() {
        assert!(hit("ZÜRICH", "cpu", &[("site", "zürich")]));
        assert!(hit("zürich", "cpu", &[("site", "ZÜRICH")]));
    }

    #[test]
    fn display_is_canonical_and_round_trips() {
        let f = Filter::parse("  CPU   env=prod\tregion~West  env!=dev !Mem ");
        assert_eq!(f.to_string(), "cpu env=prod region~west env!=dev !mem");
        assert_eq!(Filter::parse(&f.to_string()), f);
        assert_eq!(Filter::default().to_string(), "");
    }

    #[test]
    fn labels_can_come_from_owned_strings() {
        let owned = [("env".to_string(), "prod".to_string())];
        let f = Filter::parse("env=prod");
        assert!(f.matches("cpu", owned.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
    }
}
