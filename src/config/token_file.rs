//! Token files. A file holding one bare token is read as it always was.
//! A gateway's file may also hold several, one a line, each with the name
//! of the person it belongs to before it (`alice TOKEN`), so what a named
//! token acknowledges or silences is signed with that name; `#` starts a
//! comment line. A token can hold no whitespace, so the name is
//! unmistakable and no file that worked before changes meaning.
//!
//! Tokens never appear in errors: only the file and the line are named.

use std::path::Path;

/// Longest user name a token may carry.
const MAX_NAME: usize = 64;

/// One token and the name of whoever it belongs to, if given.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenLine {
    pub user: Option<String>,
    pub token: String,
}

impl std::fmt::Debug for TokenLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenLine").field("user", &self.user).field("token", &"<redacted>").finish()
    }
}

/// Reads every token of a file (a gateway's, which may hold several).
pub fn read_all(path: &Path) -> anyhow::Result<Vec<TokenLine>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read token file {}: {e}", path.display()))?;
    parse(&text).map_err(|e| anyhow::anyhow!("token file {}: {e}", path.display()))
}

/// Reads the one token a client sends; a line of a gateway's file
/// (`alice TOKEN`) works too, so a person can be handed their own line.
pub fn read_one(path: &Path) -> anyhow::Result<String> {
    let lines = read_all(path)?;
    match lines.as_slice() {
        [one] => Ok(one.token.clone()),
        _ => anyhow::bail!("token file {} holds {} tokens; a client sends one", path.display(), lines.len()),
    }
}

/// The tokens of a file's text; an error names the line at fault.
pub fn parse(text: &str) -> Result<Vec<TokenLine>, String> {
    let mut out: Vec<TokenLine> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let (user, token) = match words.as_slice() {
            [token] => (None, *token),
            [user, token] => (Some(*user), *token),
            _ => return Err(format!("line {n}: expected a token, or a user name and a token")),
        };
        if let Some(user) = user
            && (user.chars().count() > MAX_NAME
                || !user.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')))
        {
            return Err(format!("line {n}: a user name is letters, digits, '.', '_', '-' or '@', at most {MAX_NAME}"));
        }
        if !token.chars().all(|c| c.is_ascii_graphic()) {
            return Err(format!("line {n}: the token holds characters a header cannot carry"));
        }
        if out.iter().any(|t| t.token == token) {
            return Err(format!("line {n}: the same token as an earlier line"));
        }
        out.push(TokenLine { user: user.map(str::to_string), token: token.to_string() });
    }
    if out.is_empty() {
        return Err("no token in it".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_token_reads_as_before_and_named_lines_carry_their_user() {
        let one = parse("s3cr:et\n").unwrap();
        assert_eq!(one, [TokenLine { user: None, token: "s3cr:et".into() }]);
        let many = parse("# the room\nalice AAA\n\nbob  BBB\nCCC\n").unwrap();
        let users: Vec<_> = many.iter().map(|t| (t.user.as_deref(), t.token.as_str())).collect();
        assert_eq!(users, [(Some("alice"), "AAA"), (Some("bob"), "BBB"), (None, "CCC")]);
        assert!(!format!("{many:?}").contains("AAA"), "Debug never shows a token");
    }

    #[test]
    fn bad_files_name_the_line_and_never_the_token() {
        let err = |t: &str| parse(t).unwrap_err();
        assert_eq!(err(""), "no token in it");
        assert!(err("a b c").starts_with("line 1:"));
        assert!(err("AAA\nal/ice BBB").starts_with("line 2:"));
        let dup = err("alice SECRET\nbob SECRET");
        assert!(dup.starts_with("line 2:") && !dup.contains("SECRET"), "{dup}");
        assert!(err("alice tok\u{7f}en").contains("header"));
    }
}
