//! Credentials for HTTP sources: a bearer token or a user and password,
//! read from files or the environment when the source starts. Secrets
//! never appear in messages or logs.

use crate::config::SourceSpec;
use anyhow::Context;
use std::path::Path;

/// How a request proves who sends it.
#[derive(Clone, PartialEq)]
pub enum Auth {
    Bearer(String),
    Basic { user: String, password: String },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Bearer(_) => f.write_str("Bearer(..)"),
            Auth::Basic { user, .. } => write!(f, "Basic({user}, ..)"),
        }
    }
}

impl Auth {
    /// The credentials a source table asks for, read now; `None` without any.
    pub fn of(spec: &SourceSpec) -> anyhow::Result<Option<Auth>> {
        let secret = |file: &Option<std::path::PathBuf>, env: &Option<String>, what: &str| -> anyhow::Result<_> {
            match (file, env) {
                (Some(path), _) => read_secret(path, what).map(Some),
                (None, Some(var)) => {
                    let value = std::env::var(var).with_context(|| format!("{what}: ${var} is not set"))?;
                    let value = value.trim().to_string();
                    anyhow::ensure!(!value.is_empty(), "{what}: ${var} is empty");
                    anyhow::ensure!(printable(&value), "{what}: ${var} holds characters a header cannot carry");
                    Ok(Some(value))
                }
                (None, None) => Ok(None),
            }
        };
        if let Some(token) = secret(&spec.token_file, &spec.token_env, "token")? {
            return Ok(Some(Auth::Bearer(token)));
        }
        let Some(user) = &spec.username else { return Ok(None) };
        let password = secret(&spec.password_file, &spec.password_env, "password")?.unwrap_or_default();
        Ok(Some(Auth::Basic { user: user.clone(), password }))
    }

    /// The request with the credentials on it.
    pub fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Basic { user, password } => request.basic_auth(user, Some(password)),
        }
    }
}

/// Applies `auth`, when there is one.
pub fn with(request: reqwest::RequestBuilder, auth: Option<&Auth>) -> reqwest::RequestBuilder {
    match auth {
        Some(a) => a.apply(request),
        None => request,
    }
}

fn printable(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_graphic() || c == ' ')
}

/// A secret from a file, trimmed; its text never appears in an error.
fn read_secret(path: &Path, what: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {what} file {}", path.display()))?;
    let secret = text.trim().to_string();
    anyhow::ensure!(!secret.is_empty(), "{what} file {} is empty", path.display());
    anyhow::ensure!(printable(&secret), "{what} file {} holds characters a header cannot carry", path.display());
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceKind;

    #[test]
    fn secrets_come_from_files_or_the_environment_and_stay_out_of_messages() {
        let dir = std::env::temp_dir().join(format!("vigil-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let token = dir.join("token");
        std::fs::write(&token, "s3cret\n").unwrap();
        let mut spec = SourceSpec::from_flag(SourceKind::Prometheus, "http://p:9090");
        assert_eq!(Auth::of(&spec).unwrap(), None);
        spec.token_file = Some(token.clone());
        let auth = Auth::of(&spec).unwrap().unwrap();
        assert_eq!(auth, Auth::Bearer("s3cret".into()));
        assert!(!format!("{auth:?}").contains("s3cret"));

        spec.token_file = None;
        spec.username = Some("ops".into());
        spec.password_file = Some(token.clone());
        assert_eq!(Auth::of(&spec).unwrap(), Some(Auth::Basic { user: "ops".into(), password: "s3cret".into() }));

        spec.password_file = Some(dir.join("missing"));
        let e = Auth::of(&spec).unwrap_err().to_string();
        assert!(e.contains("cannot read password file") && !e.contains("s3cret"), "{e}");

        std::fs::write(&token, "bad\u{7}bell").unwrap();
        spec.password_file = Some(token);
        let e = format!("{:#}", Auth::of(&spec).unwrap_err());
        assert!(e.contains("cannot carry") && !e.contains("bell"), "{e}");
        spec.password_file = None;
        spec.password_env = Some("VIGIL_TEST_SURELY_UNSET_VARIABLE".into());
        assert!(Auth::of(&spec).unwrap_err().to_string().contains("is not set"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
