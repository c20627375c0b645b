//! The server password (`--password-file FILE` or `CHAT_PASSWORD`), sent as
//! `/pass SECRET` before anything else.
//!
//! The secret is never printed: error messages name the file or the
//! variable, never the contents, and `Debug` shows `Password(..)`.

use std::ffi::OsString;
use std::fmt;
use std::path::Path;

use crate::error::{Error, Result};

/// The environment variable read when no `--password-file` is given.
pub(crate) const ENV_VAR: &str = "CHAT_PASSWORD";

/// A server password.
#[derive(Clone)]
pub(crate) struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

impl Password {
    /// The secret itself, for the one line that carries it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// The line to send first (without its line end).
    pub(crate) fn command(&self) -> String {
        format!("/pass {}", self.0)
    }
}

/// The password from `file` (its first line) if given, else from
/// `CHAT_PASSWORD` if set and not empty, else none.
pub(crate) fn load(file: Option<&Path>) -> Result<Option<Password>> {
    match file {
        Some(path) => from_file(path).map(Some),
        None => from_env(std::env::var_os(ENV_VAR)),
    }
}

pub(crate) fn from_file(path: &Path) -> Result<Password> {
    let shown = path.display();
    let bytes = std::fs::read(path)
        .map_err(|err| Error::new(format!("cannot read password file {shown}: {err}")))?;
    let line = bytes
        .split(|&byte| byte == b'\n')
        .next()
        .unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = String::from_utf8(line.to_vec()).map_err(|_| {
        Error::new(format!(
            "password file {shown}: the first line is not UTF-8"
        ))
    })?;
    check(line).map_err(|why| Error::new(format!("password file {shown}: {why}")))
}

fn from_env(value: Option<OsString>) -> Result<Option<Password>> {
    from_variable(ENV_VAR, value)
}

/// The secret in the environment variable `name`, whose value is `value`
/// (none when unset or empty).
pub(crate) fn from_variable(name: &str, value: Option<OsString>) -> Result<Option<Password>> {
    let Some(value) = value.filter(|value| !value.is_empty()) else {
        return Ok(None);
    };
    let value = value
        .into_string()
        .map_err(|_| Error::new(format!("{name} is not UTF-8")))?;
    check(value)
        .map(Some)
        .map_err(|why| Error::new(format!("{name}: {why}")))
}

/// Not empty, and no control characters (which could smuggle in a second
/// command line).
fn check(secret: String) -> std::result::Result<Password, &'static str> {
    if secret.is_empty() {
        Err("the password is empty")
    } else if secret.chars().any(char::is_control) {
        Err("the password contains control characters")
    } else {
        Ok(Password(secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_never_show_the_secret() {
        assert_eq!(
            check("s3cret".to_owned()).map(|p| p.command()),
            Ok("/pass s3cret".to_owned())
        );
        assert!(check(String::new()).is_err());
        assert!(check("a\rb".to_owned()).is_err());
        assert_eq!(
            format!("{:?}", Password("s3cret".to_owned())),
            "Password(..)"
        );
    }

    #[test]
    fn empty_env_means_none() {
        assert!(matches!(from_env(Some(OsString::new())), Ok(None)));
        assert!(matches!(from_env(None), Ok(None)));
        let got = from_env(Some("pw".into()))
            .ok()
            .flatten()
            .map(|p| p.command());
        assert_eq!(got.as_deref(), Some("/pass pw"));
    }
}
