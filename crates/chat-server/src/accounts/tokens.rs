//! Login tokens: what `/token` hands out and `/resume` takes back, so a
//! page that reconnects proves who it is without its password, and the
//! account thread does no argon2 for it.
//!
//! Kept in this thread's memory only (never in the history file: a token
//! is a password for a few hours, and a restart asking everyone to log in
//! again costs little). Each is 32 random bytes from the operating system,
//! compared in constant time, good for [`LOGIN_TOKEN_HOURS`], forgotten when
//! its connection logs out, when the account's password changes and when
//! the account is locked or deleted.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use chat_hub::{LOGIN_TOKEN_HOURS, Secret};
use chat_proto::nick_key;
use subtle::ConstantTimeEq;

/// Tokens one account keeps at once (its devices, each reconnecting); past
/// this the oldest is forgotten.
const PER_ACCOUNT: usize = 32;

/// One token handed out.
struct Issued {
    token: Secret,
    expires: Instant,
}

/// Every account's good tokens, by nick key.
#[derive(Default)]
pub struct Tokens {
    issued: HashMap<String, Vec<Issued>>,
}

impl Tokens {
    /// How long a token is good for.
    fn lifetime() -> Duration {
        Duration::from_secs(u64::from(LOGIN_TOKEN_HOURS) * 3600)
    }

    /// A new token for account `name`, good from `now`.
    pub fn issue(&mut self, name: &str, now: Instant) -> Secret {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let token = Secret(bytes.iter().map(|b| format!("{b:02x}")).collect());
        let issued = self.issued.entry(nick_key(name)).or_default();
        issued.retain(|i| i.expires > now);
        if issued.len() >= PER_ACCOUNT {
            issued.remove(0);
        }
        issued.push(Issued {
            token: token.clone(),
            expires: now + Self::lifetime(),
        });
        token
    }

    /// Whether `token` is one of account `name`'s, not expired at `now`.
    /// Every token of the account is compared, in constant time each, so
    /// how long the answer takes tells nothing of which bytes matched.
    pub fn check(&mut self, name: &str, token: &Secret, now: Instant) -> bool {
        let Some(issued) = self.issued.get_mut(&nick_key(name)) else {
            return false;
        };
        issued.retain(|i| i.expires > now);
        let offered = token.expose().as_bytes();
        issued.iter().fold(false, |found, i| {
            found | bool::from(i.token.expose().as_bytes().ct_eq(offered))
        })
    }

    /// `token` of account `name` is good no more.
    pub fn revoke(&mut self, name: &str, token: &Secret) {
        let key = nick_key(name);
        if let Some(issued) = self.issued.get_mut(&key) {
            let offered = token.expose().as_bytes();
            issued.retain(|i| !bool::from(i.token.expose().as_bytes().ct_eq(offered)));
            if issued.is_empty() {
                self.issued.remove(&key);
            }
        }
    }

    /// Every token of account `name` is good no more (a new password, the
    /// account locked or deleted).
    pub fn revoke_all(&mut self, name: &str) {
        self.issued.remove(&nick_key(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_its_accounts_until_revoked_or_expired() {
        let mut tokens = Tokens::default();
        let now = Instant::now();
        let token = tokens.issue("Alice", now);
        assert_eq!(token.expose().len(), 64);
        assert!(tokens.check("alice", &token, now));
        assert!(!tokens.check("bob", &token, now));
        assert!(!tokens.check("alice", &Secret("0".repeat(64)), now));
        let later = now + Tokens::lifetime() + Duration::from_secs(1);
        assert!(!tokens.check("alice", &token, later));
        let token = tokens.issue("alice", now);
        let other = tokens.issue("alice", now);
        assert_ne!(token, other);
        tokens.revoke("ALICE", &token);
        assert!(!tokens.check("alice", &token, now));
        assert!(tokens.check("alice", &other, now));
        tokens.revoke_all("alice");
        assert!(!tokens.check("alice", &other, now));
        assert!(format!("{other:?}").find(other.expose()).is_none());
    }
}
