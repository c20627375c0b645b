//! `[[api_tokens]]` in server.toml: a name, a secret bearer token (in a
//! file of its own, or inline) and what it may do.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::tokens::EntryError;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Say lines in rooms.
    Post,
    /// Read rooms, members, lines and search.
    Read,
    /// Everything.
    Admin,
}

/// One `[[api_tokens]]` entry.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiTokenConfig {
    /// Names the token's lines (`name[api]`) and the token in logs.
    pub name: String,
    /// The token inline (prefer `token_file`); never printed back.
    #[serde(
        default,
        skip_serializing,
        deserialize_with = "crate::config::secret::deserialize"
    )]
    pub token: Option<String>,
    /// A file whose first line is the token (relative: to server.toml).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    pub scopes: Vec<Scope>,
}

impl ApiTokenConfig {
    /// Whether the token may do what `needed` allows.
    pub fn allows(&self, needed: Scope) -> bool {
        self.scopes
            .iter()
            .any(|&scope| scope == needed || scope == Scope::Admin)
    }
}

impl fmt::Debug for ApiTokenConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token is a password: never in a log line or a panic.
        f.debug_struct("ApiTokenConfig")
            .field("name", &self.name)
            .field("token_file", &self.token_file)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// Reads each token's `token_file` (relative to `config_file`) and checks
/// every entry; an error names the key at fault.
pub fn resolve(config_file: &Path, tokens: &mut [ApiTokenConfig]) -> Result<(), EntryError> {
    let mut names = std::collections::HashSet::new();
    for entry in tokens.iter_mut() {
        crate::tokens::check_name("api_tokens", "API token", &entry.name, &mut names)?;
        if entry.scopes.is_empty() {
            let why = format!(
                "API token {}: needs at least one of \"post\", \"read\", \"admin\"",
                entry.name
            );
            return Err(EntryError::new("api_tokens", &entry.name, ("scopes", why)));
        }
        let owner = format!("API token {}", entry.name);
        crate::tokens::read_token(config_file, &owner, &mut entry.token, &entry.token_file)
            .map_err(|e| EntryError::new("api_tokens", &entry.name, e))?;
    }
    Ok(())
}
