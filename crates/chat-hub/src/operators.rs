//! Operators: `[[operators]]` entries, each a name and an argon2 hash, and
//! the check `/oper NAME PASSWORD` makes against them.
//!
//! An operator gains `/kick`, `/ban`, `/unban`, `/bans`, `/topic TEXT` and
//! `/motd TEXT`; the hub routes those, here is only who may.

use argon2::{Argon2, PasswordHash, PasswordVerifier};

use crate::Operator;

/// What an operator is told on logging in.
pub(crate) const WELCOME: &str = "you are now an operator: /kick /ban /unban /bans /topic /motd";

/// Does `password` log in as operator `name`? Verifying is deliberately slow
/// (argon2); failures are rate-limited per address by admission.
pub(crate) fn verify(operators: &[Operator], name: &str, password: &str) -> bool {
    let entry = operators.iter().find(|op| op.name == name);
    entry.is_some_and(|op| {
        PasswordHash::new(&op.password_hash).is_ok_and(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
    })
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, SaltString};

    use super::*;

    fn hash(password: &str) -> String {
        let salt = SaltString::encode_b64(b"a fixed test salt").unwrap_or_else(|e| panic!("{e}"));
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn only_the_right_name_and_password_verify() {
        let operators = [Operator {
            name: "root".into(),
            password_hash: hash("hunter2"),
        }];
        assert!(verify(&operators, "root", "hunter2"));
        assert!(!verify(&operators, "root", "hunter3"));
        assert!(!verify(&operators, "admin", "hunter2"));
        let broken = [Operator {
            name: "root".into(),
            password_hash: "not a hash".into(),
        }];
        assert!(!verify(&broken, "root", "hunter2"));
    }
}
