//! Config errors as one line: `FILE:LINE: key `KEY`: what is wrong`.

use std::fmt;
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    pub fn io(path: &Path, e: &std::io::Error) -> Self {
        ConfigError { file: path.display().to_string(), line: None, key: None, message: format!("cannot read: {e}") }
    }

    /// From a TOML or type error, using its span for the line.
    pub fn from_toml(path: &Path, text: &str, key: &str, e: &toml::de::Error) -> Self {
        let line = e.span().map(|s| line_of(text, s.start)).or_else(|| find_key(text, key));
        let message = e.message().lines().next().unwrap_or("invalid").trim().to_string();
        // An unknown field's path is its table; name the field itself too.
        let key = if key.is_empty() || key == "." { None } else { Some(key.to_string()) };
        ConfigError { file: path.display().to_string(), line, key, message }
    }

    /// A validation error about `key` (dotted path), located in the text.
    pub fn at_key(path: &Path, text: &str, key: &str, message: String) -> Self {
        ConfigError { file: path.display().to_string(), line: find_key(text, key), key: Some(key.to_string()), message }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Finds the line that sets a dotted key, following `[table]` and
/// `[[array]]` headers (`page[1].row[0].height` is the `height` under the
/// first `[[page.row]]` of the second `[[page]]`). A key inside an inline
/// table falls back to the line of the table.
fn find_key(text: &str, key: &str) -> Option<usize> {
    let mut key = key;
    loop {
        if let Some(line) = find_exact(text, key) {
            return Some(line);
        }
        key = key.rsplit_once('.')?.0;
    }
}

fn find_exact(text: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    // The index of the newest element of every array of tables seen so far.
    let mut arrays: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let array = line.strip_prefix("[[").and_then(|l| l.split_once("]]")).map(|(h, _)| h);
        let table = line.strip_prefix('[').and_then(|l| l.split_once(']')).map(|(h, _)| h);
        if let Some(header) = array.or(table) {
            let segs: Vec<&str> = header.split('.').map(|s| s.trim().trim_matches('"')).collect();
            let mut path = String::new();
            for (n, seg) in segs.iter().enumerate() {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(seg);
                let last = n + 1 == segs.len();
                if last && array.is_some() {
                    let idx = arrays.get(&path).map_or(0, |i| i + 1);
                    arrays.insert(path.clone(), idx);
                    path = format!("{path}[{idx}]");
                } else if let Some(idx) = arrays.get(&path) {
                    path = format!("{path}[{idx}]");
                }
            }
            if path == key {
                return Some(i + 1);
            }
            current = path;
            continue;
        }
        let Some((k, _)) = line.split_once('=') else { continue };
        let k = k.trim().trim_matches('"');
        let full = if current.is_empty() { k.to_string() } else { format!("{current}.{k}") };
        if full == key {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_under_their_table() {
        let text = "fps = 1\n[ui]\n# c\nfps = 2\n";
        assert_eq!(find_key(text, "ui.fps"), Some(4));
        assert_eq!(find_key(text, "fps"), Some(1));
        assert_eq!(find_key(text, "demo.seed"), None);
    }

    #[test]
    fn keys_are_found_in_arrays_of_tables() {
        let text = "[[page]]\ntitle = \"a\"\n[[page.row]]\nheight = 1\n[[page]]\ntitle = \"b\"\n[[page.row]]\n[[page.row]]\nheight = 2\nx = { y = 1 }\n";
        assert_eq!(find_key(text, "page[1].title"), Some(6));
        assert_eq!(find_key(text, "page[0].row[0].height"), Some(4));
        assert_eq!(find_key(text, "page[1].row[1].height"), Some(9));
        assert_eq!(find_key(text, "page[1].row[1].x.y"), Some(10));
        assert_eq!(find_key(text, "page[1].row[0]"), Some(7));
    }
}
