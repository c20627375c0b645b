//! Secret tokens (a webhook's URL, an API bearer token) and what each
//! opens, found in constant time: every token is compared, each over the
//! same number of bytes, whether one matched or not, so how long an answer
//! takes says nothing of how near a guess was.

use subtle::{ConditionallySelectable, ConstantTimeEq};

use std::path::{Path, PathBuf};

/// The shortest token taken: a guessable URL is no secret.
pub const MIN_TOKEN_LEN: usize = 16;
/// The longest token taken; tokens are compared over this many bytes.
pub const MAX_TOKEN_LEN: usize = 128;

/// A `[[table]]` entry that cannot be used: which entry (its `name`),
/// which key, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError {
    pub table: &'static str,
    pub name: String,
    pub key: &'static str,
    pub message: String,
}

impl EntryError {
    pub fn new(
        table: &'static str,
        name: &str,
        (key, message): (&'static str, String),
    ) -> EntryError {
        EntryError {
            table,
            name: name.to_owned(),
            key,
            message,
        }
    }
}

/// The name checks every `[[table]]` of named tokens shares: a name that
/// could be a nick (it signs what the entry posts), given once in its
/// table; `names` holds the table's names so far, lower case. `kind`
/// names an entry in messages: `webhook`, `API token`.
pub fn check_name(
    table: &'static str,
    kind: &str,
    name: &str,
    names: &mut std::collections::HashSet<String>,
) -> Result<(), EntryError> {
    if let Err(why) = chat_proto::validate_nick(name) {
        let message = format!("{kind} name {name:?} {why}");
        return Err(EntryError::new(table, name, ("name", message)));
    }
    if !names.insert(name.to_ascii_lowercase()) {
        let message = format!("two {kind}s are called {name:?}");
        return Err(EntryError::new(table, name, ("name", message)));
    }
    Ok(())
}

/// Fills `token` from `token_file` (relative to `config_file`; its first
/// line), or checks the inline one: exactly one of the two, and a token of
/// [`MIN_TOKEN_LEN`] to [`MAX_TOKEN_LEN`] letters, digits, `-` or `_`.
/// `owner` names the entry in errors; the token itself never is.
pub fn read_token(
    config_file: &Path,
    owner: &str,
    token: &mut Option<String>,
    token_file: &Option<PathBuf>,
) -> Result<(), (&'static str, String)> {
    match (&token, token_file) {
        (Some(_), Some(_)) => {
            let why = format!("{owner}: set `token` or `token_file`, not both");
            return Err(("token_file", why));
        }
        (None, None) => {
            return Err((
                "token_file",
                format!("{owner}: needs `token_file` (or `token`)"),
            ));
        }
        (None, Some(file)) => {
            let file = config_file.parent().unwrap_or(Path::new(".")).join(file);
            let text = std::fs::read_to_string(&file).map_err(|e| {
                let why = format!("{owner}: cannot read {}: {e}", file.display());
                ("token_file", why)
            })?;
            *token = Some(text.lines().next().unwrap_or_default().trim().to_owned());
        }
        (Some(_), None) => {}
    }
    let key = if token_file.is_some() {
        "token_file"
    } else {
        "token"
    };
    let value = token.as_deref().unwrap_or_default();
    if !(MIN_TOKEN_LEN..=MAX_TOKEN_LEN).contains(&value.len())
        || !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        let why = format!(
            "{owner}: a token is {MIN_TOKEN_LEN} to {MAX_TOKEN_LEN} letters, digits, '-' or '_' (the value is not shown)"
        );
        return Err((key, why));
    }
    Ok(())
}

/// Tokens, each with what it opens.
pub struct TokenTable<T> {
    /// Each token zero-padded to [`MAX_TOKEN_LEN`], its length, its value.
    entries: Vec<([u8; MAX_TOKEN_LEN], usize, T)>,
}

impl<T> Default for TokenTable<T> {
    fn default() -> TokenTable<T> {
        TokenTable {
            entries: Vec::new(),
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for TokenTable<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The tokens are secrets: only what they open is shown.
        let values: Vec<&T> = self.entries.iter().map(|(_, _, value)| value).collect();
        f.debug_struct("TokenTable")
            .field("values", &values)
            .finish_non_exhaustive()
    }
}

fn padded(token: &[u8]) -> ([u8; MAX_TOKEN_LEN], usize) {
    let mut padded = [0u8; MAX_TOKEN_LEN];
    let len = token.len().min(MAX_TOKEN_LEN);
    padded[..len].copy_from_slice(&token[..len]);
    (padded, len)
}

impl<T> TokenTable<T> {
    /// Adds `token` (at most [`MAX_TOKEN_LEN`] bytes: the config checks)
    /// opening `value`.
    pub fn add(&mut self, token: &str, value: T) {
        let (bytes, len) = padded(token.as_bytes());
        self.entries.push((bytes, len, value));
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().map(|(_, _, value)| value)
    }

    /// What `offered` opens, if it is one of the tokens.
    pub fn find(&self, offered: &[u8]) -> Option<&T> {
        let (offered_bytes, len) = padded(offered);
        let fits = subtle::Choice::from(u8::from(offered.len() <= MAX_TOKEN_LEN));
        let mut found = subtle::Choice::from(0);
        let mut index = 0u64;
        for (i, (token, token_len, _)) in self.entries.iter().enumerate() {
            let same_len = (*token_len as u64).ct_eq(&(len as u64));
            let same = token.ct_eq(&offered_bytes) & same_len & fits;
            index = u64::conditional_select(&index, &(i as u64), same);
            found |= same;
        }
        let index = usize::try_from(index).ok()?;
        bool::from(found).then(|| &self.entries[index].2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_only_when_whole() {
        let mut table = TokenTable::default();
        table.add("aaaaaaaaaaaaaaaaaaaa", "alerts");
        table.add("bbbbbbbbbbbbbbbbbbbb", "ci");
        assert_eq!(table.find(b"aaaaaaaaaaaaaaaaaaaa"), Some(&"alerts"));
        assert_eq!(table.find(b"bbbbbbbbbbbbbbbbbbbb"), Some(&"ci"));
        assert_eq!(table.find(b"aaaaaaaaaaaaaaaaaaa"), None);
        assert_eq!(table.find(b"aaaaaaaaaaaaaaaaaaaaa"), None);
        assert_eq!(table.find(b""), None);
        assert_eq!(table.find(&[b'a'; 300]), None);
    }
}
