//! Label matchers as written in a dashboard: `"checkout"` (equal),
//! `"!=checkout"`, `"=~5.."` and `"!~5.."` (regular expressions over the whole
//! value, as Prometheus reads them). A value of `"$name"` stands for the
//! page's current choice of that label.

use regex::Regex;
use serde::{Deserialize, Deserializer};
use std::fmt;

#[derive(Debug, Clone)]
pub enum Matcher {
    Equal(String),
    NotEqual(String),
    Matches(Regex),
    NotMatches(Regex),
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Matcher {
    pub fn parse(s: &str) -> Result<Matcher, String> {
        let anchored = |re: &str| {
            Regex::new(&format!("^(?:{re})$")).map_err(|e| {
                // The regex crate's messages span several lines; keep the last.
                let why = e.to_string();
                let why = why.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("invalid").trim();
                format!("{re:?} is not a regular expression: {}", why.trim_start_matches("error: "))
            })
        };
        Ok(if let Some(re) = s.strip_prefix("=~") {
            Matcher::Matches(anchored(re)?)
        } else if let Some(re) = s.strip_prefix("!~") {
            Matcher::NotMatches(anchored(re)?)
        } else if let Some(v) = s.strip_prefix("!=") {
            Matcher::NotEqual(v.to_string())
        } else {
            Matcher::Equal(s.strip_prefix('=').unwrap_or(s).to_string())
        })
    }

    /// Whether a label value passes; `vars` resolves `$name` values.
    pub fn matches(&self, value: &str, vars: &[(String, String)]) -> bool {
        match self {
            Matcher::Equal(v) => value == resolve(v, vars),
            Matcher::NotEqual(v) => value != resolve(v, vars),
            Matcher::Matches(re) => re.is_match(value),
            Matcher::NotMatches(re) => !re.is_match(value),
        }
    }

    /// The exact value this matcher pins the label to, if it does.
    pub fn pinned<'a>(&'a self, vars: &'a [(String, String)]) -> Option<&'a str> {
        match self {
            Matcher::Equal(v) => Some(resolve(v, vars)),
            _ => None,
        }
    }
}

fn resolve<'a>(v: &'a str, vars: &'a [(String, String)]) -> &'a str {
    match v.strip_prefix('$') {
        Some(name) => vars.iter().find(|(n, _)| n == name).map_or(v, |(_, val)| val.as_str()),
        None => v,
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = |re: &Regex| {
            let s = re.as_str();
            s.strip_prefix("^(?:").and_then(|s| s.strip_suffix(")$")).unwrap_or(s).to_string()
        };
        match self {
            Matcher::Equal(v) => write!(f, "{v}"),
            Matcher::NotEqual(v) => write!(f, "!={v}"),
            Matcher::Matches(re) => write!(f, "=~{}", inner(re)),
            Matcher::NotMatches(re) => write!(f, "!~{}", inner(re)),
        }
    }
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Matcher::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_form_matches_as_written() {
        let none: [(String, String); 0] = [];
        assert!(Matcher::parse("api").unwrap().matches("api", &none));
        assert!(!Matcher::parse("api").unwrap().matches("apis", &none));
        assert!(Matcher::parse("!=api").unwrap().matches("search", &none));
        let five = Matcher::parse("=~5..").unwrap();
        assert!(five.matches("503", &none) && !five.matches("2503", &none) && !five.matches("200", &none));
        assert!(Matcher::parse("!~5..").unwrap().matches("200", &none));
        assert_eq!(Matcher::parse("=~5..").unwrap().to_string(), "=~5..");
    }

    #[test]
    fn variables_take_the_page_choice() {
        let vars = [("service".to_string(), "checkout".to_string())];
        let m = Matcher::parse("$service").unwrap();
        assert!(m.matches("checkout", &vars));
        assert!(!m.matches("api", &vars));
        assert_eq!(m.pinned(&vars), Some("checkout"));
    }

    #[test]
    fn a_bad_expression_says_so_on_one_line() {
        let err = Matcher::parse("=~5(").unwrap_err();
        assert!(err.starts_with("\"5(\" is not a regular expression"), "{err}");
        assert!(!err.contains('\n'));
    }
}
