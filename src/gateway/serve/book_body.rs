//! Bodies of the book's routes, judged strictly: a silence (Alertmanager's
//! fields in snake_case) and an acknowledgement's optional `{"by": …}`.
//! Every refusal is one line that starts with the path of the fault
//! (`matchers[1].value: not a valid regular expression: …`), and nothing
//! of a refused body is kept.

use super::book::Silence;
use super::rest::clip;
use crate::core::alert::intent::MAX_SILENCE_MS;
use crate::core::alert::matcher::Matcher;
use crate::wire::{MAX_LABELS, MAX_TEXT, format_duration_ms, parse_time_any_offset};
use serde_json::{Map, Value};

/// Longest name a silence or an ack may be signed with.
const MAX_NAME: usize = 64;
/// Longest comment.
const MAX_COMMENT: usize = 1024;
/// The fields a silence body may have.
const SILENCE_FIELDS: &str = "matchers, starts_at, ends_at, created_by and comment";

/// A silence as a body describes it; the route gives it its id.
pub(crate) fn silence(body: &[u8], signed: Option<&str>, now_ms: i64) -> Result<Silence, String> {
    let obj = object(body)?;
    for key in obj.keys() {
        match key.as_str() {
            "matchers" | "starts_at" | "ends_at" | "created_by" | "comment" => {}
            "id" => return Err("id: a silence cannot be changed; expire it and make another".into()),
            other => return Err(format!("{}: unknown field (a silence has {SILENCE_FIELDS})", clip(other))),
        }
    }
    let matchers = matchers(obj.get("matchers"))?;
    let starts_at_ms = match obj.get("starts_at") {
        None | Some(Value::Null) => now_ms,
        Some(v) => time(v, "starts_at")?,
    };
    let ends_at_ms = match obj.get("ends_at") {
        None | Some(Value::Null) => return Err("ends_at: missing; a silence needs an end".into()),
        Some(v) => time(v, "ends_at")?,
    };
    if ends_at_ms <= now_ms {
        return Err("ends_at: in the past".into());
    }
    if ends_at_ms <= starts_at_ms {
        return Err("ends_at: not after starts_at".into());
    }
    let longest = format_duration_ms(MAX_SILENCE_MS);
    if starts_at_ms - now_ms > MAX_SILENCE_MS {
        return Err(format!("starts_at: more than {longest} ahead"));
    }
    if ends_at_ms - starts_at_ms.max(now_ms) > MAX_SILENCE_MS {
        return Err(format!("ends_at: the silence would last longer than {longest}, the longest allowed"));
    }
    let created_by = author(obj.get("created_by"), "created_by", signed, "silences")?;
    let comment = match obj.get("comment") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(c)) if c.chars().count() > MAX_COMMENT => {
            return Err(format!("comment: longer than {MAX_COMMENT} characters"));
        }
        Some(Value::String(c)) if c.chars().any(|ch| ch.is_control() && !matches!(ch, '\n' | '\t')) => {
            return Err("comment: holds control characters".into());
        }
        Some(Value::String(c)) => c.clone(),
        Some(_) => return Err("comment: expected a string".into()),
    };
    Ok(Silence { id: String::new(), matchers, starts_at_ms, ends_at_ms, created_by, comment, updated_ms: now_ms })
}

/// Who acknowledges: the named token's user, else the body's `by`. An
/// empty body is fine when the token names the user.
pub(crate) fn acker(body: &[u8], signed: Option<&str>) -> Result<String, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return author(None, "by", signed, "acknowledges");
    }
    let obj = object(body)?;
    if let Some(key) = obj.keys().find(|k| *k != "by") {
        return Err(format!("{}: unknown field (an acknowledgement has only by)", clip(key)));
    }
    author(obj.get("by"), "by", signed, "acknowledges")
}

fn object(body: &[u8]) -> Result<Map<String, Value>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("body: not JSON: {}", clip(&e.to_string())))?;
    match value {
        Value::Object(obj) => Ok(obj),
        _ => Err("body: expected a JSON object".into()),
    }
}

/// The signature: a named token's user wins over whatever the body says.
fn author(given: Option<&Value>, field: &str, signed: Option<&str>, verb: &str) -> Result<String, String> {
    if let Some(user) = signed {
        return Ok(user.to_string());
    }
    match given {
        None | Some(Value::Null) => Err(format!("{field}: missing; say who {verb} (or use a token with a user name)")),
        Some(Value::String(s)) if s.trim().is_empty() => Err(format!("{field}: empty")),
        Some(Value::String(s)) if s.chars().count() > MAX_NAME => {
            Err(format!("{field}: longer than {MAX_NAME} characters"))
        }
        Some(Value::String(s)) if s.chars().any(char::is_control) => Err(format!("{field}: holds control characters")),
        Some(Value::String(s)) => Ok(s.trim().to_string()),
        Some(_) => Err(format!("{field}: expected a string")),
    }
}

fn time(v: &Value, field: &str) -> Result<i64, String> {
    v.as_str()
        .and_then(parse_time_any_offset)
        .ok_or_else(|| format!("{field}: expected an RFC 3339 time such as 2025-06-30T10:30:00Z"))
}

fn matchers(v: Option<&Value>) -> Result<Vec<Matcher>, String> {
    let list = match v {
        None | Some(Value::Null) => return Err("matchers: missing; a silence needs at least one matcher".into()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err("matchers: expected an array".into()),
    };
    if list.is_empty() {
        return Err("matchers: empty; a silence needs at least one matcher".into());
    }
    if list.len() > MAX_LABELS {
        return Err(format!("matchers: more than {MAX_LABELS}"));
    }
    let matchers =
        list.iter().enumerate().map(|(i, m)| matcher(m, &format!("matchers[{i}]"))).collect::<Result<Vec<_>, _>>()?;
    // As Alertmanager: matchers that all take an alert without the label
    // would silence every alert there is.
    if matchers.iter().all(Matcher::matches_empty) {
        return Err("matchers: every one matches the empty string, so the silence would cover every alert".into());
    }
    Ok(matchers)
}

fn matcher(v: &Value, at: &str) -> Result<Matcher, String> {
    let Value::Object(obj) = v else { return Err(format!("{at}: expected an object")) };
    if let Some(key) = obj.keys().find(|k| !matches!(k.as_str(), "name" | "value" | "regex" | "is_regex" | "is_equal"))
    {
        return Err(format!("{at}.{}: unknown field (a matcher has name, value, regex and is_equal)", clip(key)));
    }
    let name = match obj.get("name") {
        Some(Value::String(n)) if valid_label_name(n) => n.clone(),
        Some(Value::String(_)) => return Err(format!("{at}.name: not a label name ([a-zA-Z_][a-zA-Z0-9_]*)")),
        Some(_) => return Err(format!("{at}.name: expected a string")),
        None => return Err(format!("{at}.name: missing")),
    };
    let value = match obj.get("value") {
        Some(Value::String(v)) if v.chars().count() > MAX_TEXT => {
            return Err(format!("{at}.value: longer than {MAX_TEXT} characters"));
        }
        Some(Value::String(v)) => v.clone(),
        Some(_) => return Err(format!("{at}.value: expected a string")),
        None => return Err(format!("{at}.value: missing")),
    };
    if obj.contains_key("regex") && obj.contains_key("is_regex") {
        return Err(format!("{at}: give regex or is_regex, not both"));
    }
    let flag = |key: &str, default: bool| match obj.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{at}.{key}: expected true or false")),
    };
    let regex = if obj.contains_key("is_regex") { flag("is_regex", false)? } else { flag("regex", false)? };
    let is_equal = flag("is_equal", true)?;
    Matcher::new(&name, &value, regex, is_equal).map_err(|e| format!("{at}.value: {e}"))
}

fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 128
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::format_time;

    const NOW: i64 = 1_751_279_400_000;

    fn body(matchers: &str, extra: &str) -> String {
        format!(r#"{{"matchers":{matchers},"ends_at":"{}","created_by":"alice"{extra}}}"#, format_time(NOW + 3_600_000))
    }

    fn err(b: &str) -> String {
        silence(b.as_bytes(), None, NOW).unwrap_err()
    }

    #[test]
    fn a_good_body_makes_a_silence_with_defaults() {
        let s =
            silence(body(r#"[{"name":"service","value":"check.*","regex":true}]"#, "").as_bytes(), None, NOW).unwrap();
        assert_eq!((s.starts_at_ms, s.ends_at_ms, s.created_by.as_str()), (NOW, NOW + 3_600_000, "alice"));
        assert!(s.matchers[0].regex && s.matchers[0].is_equal);
        // A named token signs it, whatever the body says.
        let signed = silence(body(r#"[{"name":"a","value":"b"}]"#, "").as_bytes(), Some("carol"), NOW).unwrap();
        assert_eq!(signed.created_by, "carol");
        let negative = silence(
            body(r#"[{"name":"a","value":"b"},{"name":"c","value":"d","is_equal":false}]"#, "").as_bytes(),
            None,
            NOW,
        )
        .unwrap();
        assert!(!negative.matchers[1].is_equal);
    }

    #[test]
    fn every_refusal_names_the_path_at_fault() {
        let one = r#"[{"name":"service","value":"x"}]"#;
        assert!(err("{").starts_with("body: not JSON"));
        assert_eq!(err("[]"), "body: expected a JSON object");
        assert!(err(&body("[]", "")).starts_with("matchers: empty"));
        assert!(err(&body("{}", "")).starts_with("matchers: expected an array"));
        assert!(
            err(&body(r#"[{"name":"a","value":"x"},{"name":"s","value":"(","regex":true}]"#, ""))
                .starts_with("matchers[1].value: not a valid regular expression")
        );
        assert!(err(&body(r#"[{"name":"1x","value":"y"}]"#, "")).starts_with("matchers[0].name:"));
        assert!(err(&body(r#"[{"name":"a","value":5}]"#, "")).starts_with("matchers[0].value: expected a string"));
        assert!(err(&body(r#"[{"name":"a","value":"b","regex":"yes"}]"#, "")).starts_with("matchers[0].regex:"));
        assert!(err(&body(r#"[{"name":"a","value":"b","isRegex":true}]"#, "")).starts_with("matchers[0].isRegex:"));
        assert!(err(&body(r#"[{"name":"a","value":".*","regex":true}]"#, "")).contains("every alert"));
        assert!(err(&body(r#"[{"name":"a","value":"b","is_equal":false}]"#, "")).contains("every alert"));
        assert!(err(&body(one, r#","endsAt":"x""#)).starts_with("endsAt: unknown field"));
        assert!(err(&body(one, r#","id":"abc""#)).starts_with("id:"));
        let past = format!(r#"{{"matchers":{one},"ends_at":"{}","created_by":"a"}}"#, format_time(NOW - 1));
        assert_eq!(err(&past), "ends_at: in the past");
        let before = format!(
            r#"{{"matchers":{one},"starts_at":"{}","ends_at":"{}","created_by":"a"}}"#,
            format_time(NOW + 7_200_000),
            format_time(NOW + 3_600_000)
        );
        assert_eq!(err(&before), "ends_at: not after starts_at");
        let long =
            format!(r#"{{"matchers":{one},"ends_at":"{}","created_by":"a"}}"#, format_time(NOW + MAX_SILENCE_MS + 1));
        assert!(err(&long).starts_with("ends_at: the silence would last longer than 30d"), "{}", err(&long));
        let no_end = format!(r#"{{"matchers":{one},"created_by":"a"}}"#);
        assert!(err(&no_end).starts_with("ends_at: missing"));
        let bad_time = format!(r#"{{"matchers":{one},"ends_at":"tomorrow","created_by":"a"}}"#);
        assert!(err(&bad_time).starts_with("ends_at: expected an RFC 3339 time"));
        let anonymous = format!(r#"{{"matchers":{one},"ends_at":"{}"}}"#, format_time(NOW + 60_000));
        assert!(err(&anonymous).starts_with("created_by: missing"));
        assert!(err(&body(one, r#","comment":7"#)).starts_with("comment: expected a string"));
        assert!(err(&body(one, "").replace("alice", "al\\u001bice")).starts_with("created_by: holds control"));
        for e in [err("{"), err(&body("[]", ""))] {
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }

    #[test]
    fn an_ack_is_signed_by_the_token_or_the_body() {
        assert_eq!(acker(br#"{"by":"alice"}"#, None).unwrap(), "alice");
        assert_eq!(acker(br#"{"by":"alice"}"#, Some("bob")).unwrap(), "bob");
        assert_eq!(acker(b"", Some("bob")).unwrap(), "bob");
        assert!(acker(b"", None).unwrap_err().starts_with("by: missing"));
        assert!(acker(br#"{"who":"x"}"#, None).unwrap_err().starts_with("who: unknown field"));
        assert!(acker(br#"{"by":3}"#, None).unwrap_err().starts_with("by: expected a string"));
    }
}
