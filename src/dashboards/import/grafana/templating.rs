//! Grafana's template variables: the first that lists a label's values
//! becomes the page's choice, every other one is replaced by its saved
//! value, and the built-in ones (`$__rate_interval`, `$__range`) by what
//! they stand for.

use super::model::{VarQuery, Variable};
use super::text::{clean_line, re};
use super::{Select, Translator};
use regex::Regex;
use std::sync::LazyLock;

impl Translator<'_> {
    /// `templating.list`: the first variable that lists a label's values
    /// becomes the select; the others get their saved value.
    pub(super) fn read_variables(&mut self, list: &[Variable]) {
        let mut chosen: Option<(String, String, String)> = None;
        for v in list {
            let Some(name) = v.name.as_deref().filter(|n| is_word(n)) else { continue };
            let kind = v.kind.as_deref().unwrap_or("query");
            match kind {
                "datasource" => {
                    let plugin = match &v.query {
                        Some(VarQuery::Text(q)) => q.as_str(),
                        _ => "prometheus",
                    };
                    self.ds_vars.insert(name.to_string(), plugin.to_string());
                    continue;
                }
                "adhoc" => {
                    self.notes.push(format!("ad hoc filters `${name}` have no vigil counterpart and were dropped"));
                    continue;
                }
                _ => {}
            }
            if kind == "query"
                && chosen.is_none()
                && let Some((label, query)) = select_of(v)
            {
                let mut about = Vec::new();
                if v.multi == Some(true) || v.include_all == Some(true) {
                    about.push("vigil shows one value at a time, so its \"All\" and multiple choices are not offered");
                }
                if v.regex.as_deref().is_some_and(|r| !r.is_empty()) && !query_text(v).starts_with("query_result") {
                    about.push("its regex filter is dropped, so every value of the label is offered");
                }
                let mut note = format!("`${name}` became the page's choice of `{label}` ([ and ] step through it)");
                if !about.is_empty() {
                    note = format!("{note}; {}", about.join("; "));
                }
                self.var_notes.insert(name.to_string(), note);
                chosen = Some((name.to_string(), label, query));
                continue;
            }
            let (value, how) = saved_value(v, kind, &self.rate_interval);
            let why = if chosen.is_some() && kind == "query" { " (a vigil page selects one label only)" } else { "" };
            self.var_notes.insert(name.to_string(), format!("`${name}` was replaced by `{value}`, {how}{why}"));
            self.values.insert(name.to_string(), value);
        }
        if let Some((var, label, query)) = chosen {
            // The choices' own query may use the other variables.
            let query = self.interpolate(&query);
            self.select = Some(Select { var, label, query });
        }
    }

    /// Grafana's variable references in `text`: `$name`, `${name}`,
    /// `${name:format}` and `[[name]]`. The select's variable becomes
    /// vigil's `$label`; the others their values.
    pub(super) fn interpolate(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            let rest = &text[i..];
            if let Some((name, len)) = var_ref(rest) {
                if let Some(value) = self.lookup(name) {
                    out.push_str(&value);
                    i += len;
                    continue;
                }
                self.unknown_vars.insert(name.to_string());
            }
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
        out
    }

    fn lookup(&mut self, name: &str) -> Option<String> {
        if let Some(s) = &self.select
            && s.var == name
        {
            self.page_selects = true;
            return Some(format!("${}", s.label));
        }
        if let Some(v) = self.builtins.get(name) {
            self.used_builtins.insert(name.to_string());
            return Some(v.clone());
        }
        let v = self.values.get(name)?.clone();
        self.used_vars.insert(name.to_string());
        Some(v)
    }
}

/// A Grafana variable reference at the start of `rest`: its name and length.
fn var_ref(rest: &str) -> Option<(&str, usize)> {
    if let Some(inner) = rest.strip_prefix("${") {
        let end = inner.find('}')?;
        let name = inner[..end].split([':', '.']).next()?;
        return is_word(name).then_some((name, end + 3));
    }
    if let Some(inner) = rest.strip_prefix("[[") {
        let end = inner.find("]]")?;
        let name = inner[..end].split(':').next()?;
        return is_word(name).then_some((name, end + 4));
    }
    let inner = rest.strip_prefix('$')?;
    let len = inner.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    (len > 0).then(|| (&inner[..len], len + 1))
}

pub(super) fn is_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn is_label(s: &str) -> bool {
    is_word(s) && !s.as_bytes()[0].is_ascii_digit()
}

/// The text of a query variable's query (a string, or `{ query }`).
fn query_text(v: &Variable) -> String {
    match &v.query {
        Some(VarQuery::Text(s)) => s.trim().to_string(),
        Some(VarQuery::Object { query, .. }) => query.as_deref().unwrap_or("").trim().to_string(),
        None => v.definition.as_deref().unwrap_or("").trim().to_string(),
    }
}

/// A query variable that lists a label's values, as (label, PromQL whose
/// result series carry those values).
fn select_of(v: &Variable) -> Option<(String, String)> {
    let q = query_text(v);
    if let Some(args) = q.strip_prefix("label_values").map(str::trim).and_then(|a| a.strip_prefix('(')) {
        let args = args.trim_end().strip_suffix(')')?;
        let (selector, label) = match split_last_arg(args) {
            Some((sel, label)) => (Some(sel.trim()), label.trim()),
            None => (None, args.trim()),
        };
        if !is_label(label) {
            return None;
        }
        let query = match selector.filter(|s| !s.is_empty()) {
            Some(sel) => format!("group by ({label}) ({sel})"),
            // Every series that has the label.
            None => format!("group by ({label}) ({{{label}!=\"\"}})"),
        };
        return Some((label.to_string(), query));
    }
    if let Some(expr) = q.strip_prefix("query_result").map(str::trim).and_then(|a| a.strip_prefix('(')) {
        let expr = expr.trim_end().strip_suffix(')')?.trim();
        // The value is cut out of the series by the regex: `label="(...)"`.
        let regex = v.regex.as_deref().unwrap_or("");
        let label = REGEX_LABEL.captures(regex)?[1].to_string();
        return Some((label, expr.to_string()));
    }
    // The query editor's structured form: `{ qryType: 1, label, metric }`.
    let Some(VarQuery::Object { label, metric, .. }) = &v.query else { return None };
    let label = label.as_deref().filter(|l| is_label(l))?;
    let query = match metric.as_deref().filter(|m| !m.is_empty()) {
        Some(m) => format!("group by ({label}) ({m})"),
        None => format!("group by ({label}) ({{{label}!=\"\"}})"),
    };
    Some((label.to_string(), query))
}

/// `metric{a="b,c"}, label` split at its last comma outside braces, quotes
/// and parentheses.
fn split_last_arg(args: &str) -> Option<(&str, &str)> {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut last = None;
    let mut escaped = false;
    for (i, c) in args.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '{' | '(' | '[' => depth += 1,
            '}' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => last = Some(i),
            _ => {}
        }
    }
    last.map(|i| (&args[..i], &args[i + 1..]))
}

/// A variable's saved value, as the text to put in queries, and how it
/// was found (for the report).
fn saved_value(v: &Variable, kind: &str, rate_interval: &str) -> (String, &'static str) {
    let values = &v.current.value;
    let all = values.iter().any(|x| x == "$__all");
    let (value, how) = if all {
        (all_value(v), "its \"All\" as a regex")
    } else if values.len() > 1 {
        // Grafana writes several values as a regex alternation for Prometheus.
        let escaped: Vec<String> = values.iter().map(|x| regex_escape(x)).collect();
        (format!("({})", escaped.join("|")), "its saved choices as a regex")
    } else if let Some(one) = values.first().filter(|x| !x.is_empty()) {
        (one.clone(), "its saved value")
    } else {
        match kind {
            "constant" | "textbox" => (query_text(v), "its value"),
            "custom" | "interval" => match custom_options(v).into_iter().next() {
                Some(first) => (first, "its first option"),
                None => (".*".into(), "a match-anything regex"),
            },
            _ => (".*".into(), "a match-anything regex, as it has no saved value"),
        }
    };
    if kind == "interval" && (value == "auto" || value.starts_with("$__auto")) {
        return (rate_interval.to_string(), "the rate interval");
    }
    (clean_line(&value), how)
}

/// What "All" stands for: the variable's `allValue`, else its options as
/// an alternation, else anything.
fn all_value(v: &Variable) -> String {
    if let Some(a) = v.all_value.as_deref().filter(|a| !a.is_empty()) {
        return a.to_string();
    }
    let options: Vec<String> =
        v.options.iter().filter_map(|o| o.value.as_deref()).filter(|o| *o != "$__all").map(regex_escape).collect();
    if options.is_empty() { ".*".into() } else { format!("({})", options.join("|")) }
}

/// `value` as a regex matching only itself, written inside a double-quoted
/// PromQL string (whose own escapes double every backslash), as Grafana
/// writes multiple choices.
fn regex_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c == '\\' {
            // The regex's `\\`, each backslash doubled for the string.
            out.push_str("\\\\\\\\");
            continue;
        }
        if matches!(c, '^' | '$' | '*' | '+' | '?' | '.' | '(' | ')' | '|' | '[' | ']' | '{' | '}') {
            out.push_str("\\\\");
        } else if c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A custom variable's values: `a,b,c` or `Label : value, ...`.
fn custom_options(v: &Variable) -> Vec<String> {
    query_text(v)
        .split(',')
        .map(|o| o.rsplit_once(" : ").map_or(o, |(_, value)| value).trim().to_string())
        .filter(|o| !o.is_empty())
        .collect()
}

/// Seconds as PromQL writes a duration: `1m`, `2h`, `45s`.
pub(super) fn duration_text(s: u64) -> String {
    if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// `instance="(...)"` in a query_result variable's regex.
static REGEX_LABEL: LazyLock<Regex> = LazyLock::new(|| re(r#"([a-zA-Z_][a-zA-Z0-9_]*)=\\?"\("#));
