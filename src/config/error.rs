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

/// Finds the line that sets a dotted key, following `[table]` headers.
fn find_key(text: &str, key: &str) -> Option<usize> {
    let (table, leaf) = match key.rsplit_once('.') {
        Some((t, l)) => (t, l),
        None => ("", key),
    };
    let mut current = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(h) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = h.trim().to_string();
            continue;
        }
        let Some((k, _)) = line.split_once('=') else { continue };
        if current == table && k.trim().trim_matches('"') == leaf {
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
}
