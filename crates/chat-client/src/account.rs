//! `--account NAME`: log in to an account right after connecting, with the
//! password from `--password-file FILE` or `CHAT_ACCOUNT_PASSWORD`.
//!
//! With `--reconnect` the client asks for a login token (`/token`) once
//! logged in, and a reconnect logs in with it (`/resume NAME TOKEN`), so the
//! server does not run argon2 again for every dropped connection. A token
//! refused (expired, or the server restarted) falls back to the password,
//! which the client holds anyway. The token notice is a secret: it is taken
//! here and never shown. Neither secret is printed nor kept in the input
//! history; `Debug` shows neither.

use std::fmt;
use std::path::Path;

use chat_proto::{Body, Notice};

use crate::error::{Error, Result};
use crate::password::{self, Password};

/// The environment variable read when no `--password-file` is given.
pub(crate) const ENV_VAR: &str = "CHAT_ACCOUNT_PASSWORD";

/// The account to log in to, and how.
pub(crate) struct Account {
    name: String,
    password: Password,
    /// The login token the server gave, for the next connection.
    token: Option<String>,
    /// A `/resume` is out, its answer not in yet.
    resuming: bool,
    /// The user typed `/logout`: a reconnect stays a guest.
    logged_out: bool,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What a server line meant to the account.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Step {
    /// Not to be shown (the token).
    pub(crate) hide: bool,
    /// To send.
    pub(crate) send: Option<String>,
}

impl Account {
    /// Account `name`, its password from `file` (its first line) or else
    /// from `CHAT_ACCOUNT_PASSWORD`.
    pub(crate) fn load(name: &str, file: Option<&Path>) -> Result<Account> {
        let password = match file {
            Some(path) => password::from_file(path)?,
            None => {
                password::from_variable(ENV_VAR, std::env::var_os(ENV_VAR))?.ok_or_else(|| {
                    Error::new(format!(
                        "--account {name}: no password (--password-file FILE, or {ENV_VAR})"
                    ))
                })?
            }
        };
        Ok(Account::new(name, password))
    }

    fn new(name: &str, password: Password) -> Account {
        Account {
            name: name.to_owned(),
            password,
            token: None,
            resuming: false,
            logged_out: false,
        }
    }

    /// The line that logs in on a new connection: the token if there is
    /// one, else the password; none after the user logged out.
    pub(crate) fn login_line(&mut self) -> Option<String> {
        if self.logged_out {
            return None;
        }
        self.resuming = self.token.is_some();
        Some(match &self.token {
            Some(token) => format!("/resume {} {token}", self.name),
            None => self.password_line(),
        })
    }

    fn password_line(&self) -> String {
        format!("/login {} {}", self.name, self.password.expose())
    }

    /// A server line, where tokens are used (`--reconnect`): a login by
    /// password asks for a token, the token is kept and hidden, a refused
    /// token is forgotten and the password sent instead.
    pub(crate) fn on_line(&mut self, line: &str) -> Step {
        let Ok(parsed) = chat_proto::parse_line(line) else {
            return Step::default();
        };
        let Body::Notice(notice) = parsed.body else {
            return Step::default();
        };
        match notice {
            Notice::LoggedIn { .. } => {
                let by_password = !self.resuming;
                self.resuming = false;
                self.logged_out = false;
                Step {
                    hide: false,
                    send: by_password.then(|| "/token".to_owned()),
                }
            }
            Notice::LoginToken { token, .. } => {
                self.token = Some(token.to_owned());
                Step {
                    hide: true,
                    send: None,
                }
            }
            Notice::LoggedOut { .. } => {
                self.token = None;
                self.logged_out = true;
                Step::default()
            }
            Notice::Error { text }
                if self.resuming && text.starts_with("wrong account name or password") =>
            {
                self.resuming = false;
                self.token = None;
                Step {
                    hide: true,
                    send: Some(self.password_line()),
                }
            }
            _ => Step::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        let password = password::from_variable("X", Some("correct-horse".into()));
        match password {
            Ok(Some(password)) => Account::new("alice", password),
            other => panic!("{other:?}"),
        }
    }

    const STAMP: &str = "[Mon Dec  7 12:00:00 2026]";

    #[test]
    fn a_password_login_asks_for_a_token_and_a_reconnect_resumes_with_it() {
        let mut account = account();
        assert_eq!(
            account.login_line().as_deref(),
            Some("/login alice correct-horse")
        );
        let step = account.on_line(&format!("{STAMP} -!- you are logged in as alice"));
        assert_eq!(step.send.as_deref(), Some("/token"));
        let step = account.on_line(&format!("{STAMP} -!- login token: abc123 (valid 12h)"));
        assert!(step.hide);
        assert_eq!(
            account.login_line().as_deref(),
            Some("/resume alice abc123")
        );
        // Resumed: no new token asked for.
        let step = account.on_line(&format!("{STAMP} -!- you are logged in as alice"));
        assert_eq!(step, Step::default());
        // A token refused (the server restarted): the password instead.
        account.login_line();
        let refused = format!("{STAMP} -!- error: wrong account name or password");
        let step = account.on_line(&refused);
        assert_eq!(step.send.as_deref(), Some("/login alice correct-horse"));
        assert!(step.hide);
        // Logged out by the user: a reconnect stays a guest.
        account.on_line(&format!("{STAMP} -!- you are logged out"));
        assert_eq!(account.login_line(), None);
        assert!(!format!("{account:?}").contains("correct-horse"));
    }
}
