//! `[[webhooks]]` in server.toml: each hook's name, room and secret token
//! (given inline or, better, in a file of its own), and whether a payload
//! may name its sender.

use std::fmt;
use std::path::Path;

use chat_proto::validate_room;
use serde::{Deserialize, Serialize};

use crate::tokens::EntryError;

/// One `[[webhooks]]` entry.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Shown as the sender, with the mark `[hook]`; a nick's letters.
    pub name: String,
    /// The room its lines go to.
    pub room: String,
    /// The token inline (prefer `token_file`); never printed back.
    #[serde(
        default,
        skip_serializing,
        deserialize_with = "crate::config::secret::deserialize"
    )]
    pub token: Option<String>,
    /// A file whose first line is the token (relative: to server.toml).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<std::path::PathBuf>,
    /// Whether a payload's `username` replaces the name shown (still
    /// with the mark, so never a person's nick).
    #[serde(default)]
    pub allow_username: bool,
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token is a password: never in a log line or a panic.
        f.debug_struct("WebhookConfig")
            .field("name", &self.name)
            .field("room", &self.room)
            .field("token_file", &self.token_file)
            .field("allow_username", &self.allow_username)
            .finish_non_exhaustive()
    }
}

/// Reads each hook's `token_file` (relative to `config_file`) into its
/// `token`, and checks every entry; an error names the key at fault.
pub fn resolve(config_file: &Path, hooks: &mut [WebhookConfig]) -> Result<(), EntryError> {
    let mut names = std::collections::HashSet::new();
    for hook in hooks.iter_mut() {
        crate::tokens::check_name("webhooks", "webhook", &hook.name, &mut names)?;
        if let Err(why) = validate_room(&hook.room) {
            return Err(EntryError::new(
                "webhooks",
                &hook.name,
                (
                    "room",
                    format!("webhook {}: room {:?} {why}", hook.name, hook.room),
                ),
            ));
        }
        let owner = format!("webhook {}", hook.name);
        crate::tokens::read_token(config_file, &owner, &mut hook.token, &hook.token_file)
            .map_err(|e| EntryError::new("webhooks", &hook.name, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Config;

    fn error(text: &str) -> String {
        match Config::parse(Path::new("server.toml"), text) {
            Ok(_) => "unexpectedly fine".to_owned(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn webhook_and_api_token_errors_name_file_line_and_key_never_the_token() {
        let hook = |body: &str| format!("motd = \"hi\"\n\n[[webhooks]]\n{body}");
        let text = [
            error(&hook("name = \"a\"\nroom = \"ops\"\n")),
            error(&hook("name = \"a\"\nroom = \"ops\"\ntoken = \"short-secret\"\n")),
            error(&hook(
                "name = \"a\"\nroom = \"two words\"\ntoken = \"aaaaaaaaaaaaaaaaaaaa\"\n",
            )),
            error(&hook(
                "name = \"a\"\nroom = \"ops\"\ntoken = \"aaaaaaaaaaaaaaaaaaaa\"\ntoken_file = \"t\"\n",
            )),
            error(&hook(
                "name = \"a\"\nroom = \"ops\"\ntoken_file = \"/nonexistent/token\"\n",
            )),
            error(&hook("name = \"a\"\nroom = \"ops\"\ntokn = \"x\"\n")),
            error(&hook("name = \"a\"\nroom = \"ops\"\ntoken = 8642135790864213\n")),
            error("[[api_tokens]]\nname = \"ci\"\ntoken = \"aaaaaaaaaaaaaaaaaaaa\"\nscopes = []\n"),
            error("[[api_tokens]]\nname = \"ci\"\ntoken = \"aaaaaaaaaaaaaaaaaaaa\"\nscopes = [\"write\"]\n"),
            error("webhook_rate = 0\n"),
            error("max_webhook_bytes = 10\n"),
        ]
        .join("\n");
        assert!(!text.contains("short-secret"), "{text}");
        assert!(!text.contains("8642135790864213"), "{text}");
        insta::assert_snapshot!(text);
    }
}
