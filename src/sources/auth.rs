//! Credentials for HTTP sources (Alertmanager, Prometheus): a bearer token
//! or basic auth, read from files or the environment when the source
//! starts, checked once and applied to each request. Secrets never appear
//! in `Debug` output or in error messages.

use crate::config::SourceSpec;
use anyhow::Context;
use std::fmt;
use std::path::Path;

/// How a source authenticates.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    Bearer(String),
    Basic { user: String, password: String },
}

/// Why credentials cannot be used; always one line, never the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the bearer token is empty")]
    EmptyToken,
    #[error("the bearer token has characters an HTTP header cannot carry (control characters or spaces)")]
    BadToken,
    #[error("the basic-auth user name is empty")]
    EmptyUser,
    #[error("the basic-auth user name contains ':', which basic auth cannot carry")]
    ColonInUser,
    #[error("the basic-auth {0} contains control characters")]
    ControlCharacters(&'static str),
}

impl Auth {
    /// Checks that the credentials can be sent at all, so a bad
    /// configuration is reported as such rather than as a failed request.
    pub fn validate(&self) -> Result<(), AuthError> {
        match self {
            Auth::Bearer(token) => {
                if token.is_empty() {
                    return Err(AuthError::EmptyToken);
                }
                // RFC 6750's token68 plus what proxies commonly accept:
                // visible ASCII. Anything else breaks the header or is a
                // pasted line break.
                if !token.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(AuthError::BadToken);
                }
                Ok(())
            }
            Auth::Basic { user, password } => {
                if user.is_empty() {
                    return Err(AuthError::EmptyUser);
                }
                if user.contains(':') {
                    return Err(AuthError::ColonInUser);
                }
                if user.chars().any(char::is_control) {
                    return Err(AuthError::ControlCharacters("user name"));
                }
                if password.chars().any(char::is_control) {
                    return Err(AuthError::ControlCharacters("password"));
                }
                Ok(())
            }
        }
    }

    /// Adds the `Authorization` header to `req` (marked sensitive, so it is
    /// kept out of logs), after [`validate`](Auth::validate).
    pub fn apply(&self, req: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder, AuthError> {
        self.validate()?;
        Ok(match self {
            Auth::Bearer(token) => req.bearer_auth(token),
            Auth::Basic { user, password } => req.basic_auth(user, Some(password)),
        })
    }

    /// The scheme's name, for status lines.
    pub fn scheme(&self) -> &'static str {
        match self {
            Auth::Bearer(_) => "bearer",
            Auth::Basic { .. } => "basic",
        }
    }
}

impl Auth {
    /// The credentials a source table asks for, read and checked now;
    /// `None` without any.
    pub fn of(spec: &SourceSpec) -> anyhow::Result<Option<Auth>> {
        let secret = |file: &Option<std::path::PathBuf>, env: &Option<String>, what: &str| -> anyhow::Result<_> {
            match (file, env) {
                (Some(path), _) => read_secret(path, what).map(Some),
                (None, Some(var)) => {
                    let value = std::env::var(var).with_context(|| format!("{what}: ${var} is not set"))?;
                    let value = value.trim().to_string();
                    anyhow::ensure!(!value.is_empty(), "{what}: ${var} is empty");
                    Ok(Some(value))
                }
                (None, None) => Ok(None),
            }
        };
        let auth = match secret(&spec.token_file, &spec.token_env, "token")? {
            Some(token) => Auth::Bearer(token),
            None => {
                let Some(user) = &spec.username else { return Ok(None) };
                let password = secret(&spec.password_file, &spec.password_env, "password")?.unwrap_or_default();
                Auth::Basic { user: user.clone(), password }
            }
        };
        auth.validate()?;
        Ok(Some(auth))
    }
}

/// A secret from a file, trimmed; its text never appears in an error.
fn read_secret(path: &Path, what: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {what} file {}", path.display()))?;
    let secret = text.trim().to_string();
    anyhow::ensure!(!secret.is_empty(), "{what} file {} is empty", path.display());
    Ok(secret)
}

/// Applies optional credentials.
pub fn apply(auth: Option<&Auth>, req: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder, AuthError> {
    match auth {
        Some(a) => a.apply(req),
        None => Ok(req),
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Auth::Basic { user, .. } => write!(f, "Basic {{ user: {user:?}, password: <redacted> }}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> Auth {
        Auth::Basic { user: user.into(), password: password.into() }
    }

    #[test]
    fn good_credentials_pass() {
        assert_eq!(Auth::Bearer("abc.DEF-123_~+/=".into()).validate(), Ok(()));
        assert_eq!(basic("vigil", "pa ss:wörd").validate(), Ok(()));
    }

    #[test]
    fn bad_credentials_are_refused_in_one_line_without_the_secret() {
        let cases = [
            (Auth::Bearer(String::new()), AuthError::EmptyToken),
            (Auth::Bearer("secret\nnext".into()), AuthError::BadToken),
            (Auth::Bearer("secret token".into()), AuthError::BadToken),
            (Auth::Bearer("sécret".into()), AuthError::BadToken),
            (basic("", "secret"), AuthError::EmptyUser),
            (basic("a:b", "secret"), AuthError::ColonInUser),
            (basic("a", "secret\r\n"), AuthError::ControlCharacters("password")),
        ];
        for (auth, want) in cases {
            let err = auth.validate().unwrap_err();
            assert_eq!(err, want, "{auth:?}");
            let text = err.to_string();
            assert!(!text.contains('\n') && !text.contains("secret"), "{text}");
        }
    }

    #[test]
    fn secrets_come_from_files_or_the_environment_and_stay_out_of_messages() {
        use crate::config::SourceKind;
        let dir = std::env::temp_dir().join(format!("vigil-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let token = dir.join("token");
        std::fs::write(&token, "s3cret\n").unwrap();
        let mut spec = SourceSpec::from_flag(SourceKind::Prometheus, "http://p:9090");
        assert_eq!(Auth::of(&spec).unwrap(), None);
        spec.token_file = Some(token.clone());
        assert_eq!(Auth::of(&spec).unwrap(), Some(Auth::Bearer("s3cret".into())));

        spec.token_file = None;
        spec.username = Some("ops".into());
        spec.password_file = Some(token.clone());
        assert_eq!(Auth::of(&spec).unwrap(), Some(basic("ops", "s3cret")));

        spec.password_file = Some(dir.join("missing"));
        let e = Auth::of(&spec).unwrap_err().to_string();
        assert!(e.contains("cannot read password file") && !e.contains("s3cret"), "{e}");

        std::fs::write(&token, "bad\u{7}bell").unwrap();
        spec.password_file = Some(token);
        let e = format!("{:#}", Auth::of(&spec).unwrap_err());
        assert!(e.contains("control characters") && !e.contains("bell"), "{e}");
        spec.password_file = None;
        spec.password_env = Some("VIGIL_TEST_SURELY_UNSET_VARIABLE".into());
        assert!(Auth::of(&spec).unwrap_err().to_string().contains("is not set"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn debug_hides_secrets() {
        let shown = format!("{:?} {:?}", Auth::Bearer("tok3n".into()), basic("ops", "hunter2"));
        assert!(!shown.contains("tok3n") && !shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("ops"), "{shown}");
    }

    #[test]
    fn apply_sets_a_sensitive_authorization_header() {
        let http = reqwest::Client::new();
        let req = Auth::Bearer("t0k".into()).apply(http.get("http://127.0.0.1:1/")).unwrap().build().unwrap();
        let header = &req.headers()[reqwest::header::AUTHORIZATION];
        assert_eq!(header.to_str().unwrap(), "Bearer t0k");
        assert!(header.is_sensitive());
        let req = basic("ops", "pw").apply(http.get("http://127.0.0.1:1/")).unwrap().build().unwrap();
        // base64("ops:pw")
        assert_eq!(req.headers()[reqwest::header::AUTHORIZATION].to_str().unwrap(), "Basic b3BzOnB3");
        assert!(apply(None, http.get("http://127.0.0.1:1/")).unwrap().build().unwrap().headers().is_empty());
    }
}
