//! Incoming webhooks: the configured hooks, found by their secret token in
//! constant time, each with its own rate bucket, and what a post becomes:
//! the sender's shown name and the lines to say.
//!
//! The web listener reads the request (`web/hook_requests.rs`); the hub says
//! the lines (`Hub::post`). Nothing here touches a socket or the hub.

use std::collections::HashMap;
use std::time::Instant;

use crate::tokens::TokenTable;

pub mod config;
pub mod slack;

pub use config::WebhookConfig;

/// The mark after a hook's name: a character no nick may hold, so a hook's
/// line can never be taken for a person's (PROTOCOL.md, "Posted lines").
pub const SENDER_MARK: &str = "[hook]";

/// Lines one post may say at most; past it the last says how many more
/// were left out.
pub const MAX_LINES_PER_POST: usize = 20;

/// The limits every hook shares (top-level keys of server.toml).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HookLimits {
    /// `max_webhook_bytes`: the longest body read.
    pub max_bytes: usize,
    /// `webhook_rate`: posts per second each hook may make, sustained.
    pub rate: f64,
    /// `webhook_burst`: posts a hook may make at once after a quiet spell.
    pub burst: u32,
    /// `max_line_bytes`: the longest line; longer ones are split.
    pub max_line_bytes: usize,
}

/// One hook, as found by its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub name: String,
    pub room: String,
    pub allow_username: bool,
}

/// A token bucket: `tokens` left as of `at`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Every hook: those of server.toml, and those an operator created with
/// `/webhook create` (which last until the server stops).
pub struct Hooks {
    hooks: TokenTable<Hook>,
    configured: Vec<WebhookConfig>,
    created: Vec<WebhookConfig>,
    buckets: HashMap<String, Bucket>,
    pub limits: HookLimits,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens are secrets: only the hooks' names and rooms are shown.
        f.debug_struct("Hooks")
            .field("hooks", &self.hooks)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Hooks {
    /// The hooks of `configs` (checked already: each has its token).
    pub fn new(configs: &[WebhookConfig], limits: HookLimits) -> Hooks {
        let mut hooks = Hooks {
            hooks: TokenTable::default(),
            configured: Vec::new(),
            created: Vec::new(),
            buckets: HashMap::new(),
            limits,
        };
        hooks.replace(configs, limits);
        hooks
    }

    /// The configuration read again: the new hooks, their buckets kept by
    /// name (a reload does not reset a hook's rate).
    pub fn replace(&mut self, configs: &[WebhookConfig], limits: HookLimits) {
        self.configured = configs.to_vec();
        self.limits = limits;
        self.rebuild();
    }

    /// The token table again, from the configured and created hooks (a
    /// created one whose name the file now gives is the file's).
    fn rebuild(&mut self) {
        let configured = &self.configured;
        let named = |name: &str| configured.iter().any(|c| c.name.eq_ignore_ascii_case(name));
        self.created.retain(|created| !named(&created.name));
        self.hooks = TokenTable::default();
        for config in self.configured.iter().chain(&self.created) {
            let hook = Hook {
                name: config.name.clone(),
                room: config.room.clone(),
                allow_username: config.allow_username,
            };
            self.hooks
                .add(config.token.as_deref().unwrap_or_default(), hook);
        }
        let hooks = &self.hooks;
        self.buckets
            .retain(|name, _| hooks.values().any(|hook| &hook.name == name));
    }

    /// `/webhook create ROOM NAME`: a new hook with a new random token,
    /// returned (to be shown once), or why not.
    pub fn create(&mut self, room: &str, name: &str) -> Result<String, String> {
        if self
            .list()
            .iter()
            .any(|(have, _, _)| have.eq_ignore_ascii_case(name))
        {
            return Err(format!("a webhook called {name} exists already"));
        }
        let mut bytes = [0u8; 24];
        argon2::password_hash::rand_core::RngCore::fill_bytes(
            &mut argon2::password_hash::rand_core::OsRng,
            &mut bytes,
        );
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut entry = [WebhookConfig {
            name: name.to_owned(),
            room: room.to_owned(),
            token: Some(token.clone()),
            token_file: None,
            allow_username: false,
        }];
        config::resolve(std::path::Path::new("."), &mut entry).map_err(|e| e.message)?;
        let [entry] = entry;
        self.created.push(entry);
        self.rebuild();
        Ok(token)
    }

    /// `/webhook delete NAME`: whether there was one. A hook of server.toml
    /// comes back with the next reload.
    pub fn delete(&mut self, name: &str) -> bool {
        let before = self.configured.len() + self.created.len();
        self.configured
            .retain(|c| !c.name.eq_ignore_ascii_case(name));
        self.created.retain(|c| !c.name.eq_ignore_ascii_case(name));
        self.rebuild();
        before != self.configured.len() + self.created.len()
    }

    /// `/webhook list`: each hook's name, room, and whether it was created
    /// by an operator (else server.toml has it). Never a token.
    pub fn list(&self) -> Vec<(String, String, bool)> {
        let configured = self.configured.iter().map(|c| (c, false));
        let created = self.created.iter().map(|c| (c, true));
        (configured.chain(created))
            .map(|(c, created)| (c.name.clone(), c.room.clone(), created))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }

    /// The hook whose token is `offered` (compared in constant time).
    pub fn find(&self, offered: &[u8]) -> Option<&Hook> {
        self.hooks.find(offered)
    }

    /// Whether `hook` may post at `now` (and, if so, it has).
    pub fn allow(&mut self, hook: &str, now: Instant) -> bool {
        let (rate, burst) = (self.limits.rate, f64::from(self.limits.burst));
        let bucket = self.buckets.entry(hook.to_owned()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return true;
        }
        false
    }
}

/// The name `hook`'s lines are shown from: its name, or the payload's
/// `username` where the hook allows one (reduced to a nick's letters),
/// with [`SENDER_MARK`] after it.
pub fn sender(hook: &Hook, username: Option<&str>) -> String {
    let asked: String = username
        .filter(|_| hook.allow_username)
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(chat_proto::MAX_NICK_LEN)
        .collect();
    let name = match asked.is_empty() {
        true => hook.name.as_str(),
        false => asked.as_str(),
    };
    format!("{name}{SENDER_MARK}")
}

/// `text` as the lines a post says: split at newlines, blank lines left
/// out, a line longer than `max_line_bytes` split at a character boundary,
/// and at most [`MAX_LINES_PER_POST`] of them (the last then says how many
/// more there were).
pub fn lines(text: &str, max_line_bytes: usize) -> Vec<String> {
    let width = max_line_bytes.max(16);
    let mut all = Vec::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let mut rest = line.trim_end();
        while rest.len() > width {
            let mut cut = width;
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            all.push(rest[..cut].to_owned());
            rest = &rest[cut..];
        }
        all.push(rest.to_owned());
    }
    if all.len() > MAX_LINES_PER_POST {
        let left_out = all.len() - (MAX_LINES_PER_POST - 1);
        all.truncate(MAX_LINES_PER_POST - 1);
        all.push(format!("({left_out} more lines not shown)"));
    }
    all
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn hooks() -> Hooks {
        let config = |name: &str, token: &str| WebhookConfig {
            name: name.into(),
            room: "ops".into(),
            token: Some(token.into()),
            token_file: None,
            allow_username: name == "ci",
        };
        let limits = HookLimits {
            max_bytes: 65536,
            rate: 5.0,
            burst: 3,
            max_line_bytes: 100,
        };
        let configs = [
            config("alerts", "aaaaaaaaaaaaaaaaaaaa"),
            config("ci", "bbbbbbbbbbbbbbbbbbbb"),
        ];
        Hooks::new(&configs, limits)
    }

    #[test]
    fn a_hook_is_found_by_its_whole_token_only() {
        let hooks = hooks();
        let name = |token: &[u8]| hooks.find(token).map(|hook| hook.name.clone());
        assert_eq!(name(b"aaaaaaaaaaaaaaaaaaaa"), Some("alerts".into()));
        assert_eq!(name(b"bbbbbbbbbbbbbbbbbbbb"), Some("ci".into()));
        assert_eq!(name(b"aaaaaaaaaaaaaaaaaaa"), None);
        assert_eq!(name(b"aaaaaaaaaaaaaaaaaaaaa"), None);
        assert_eq!(name(b""), None);
        assert_eq!(name(&[b'a'; 300]), None);
    }

    #[test]
    fn each_hook_has_its_own_bucket() {
        let mut hooks = hooks();
        let start = Instant::now();
        let allowed = (0..5).filter(|_| hooks.allow("alerts", start)).count();
        assert_eq!(allowed, 3, "the burst");
        assert!(hooks.allow("ci", start), "another hook's bucket is full");
        assert!(hooks.allow("alerts", start + Duration::from_millis(200)));
        assert!(!hooks.allow("alerts", start + Duration::from_millis(200)));
    }

    #[test]
    fn the_sender_is_never_a_nick() {
        let hooks = hooks();
        let alerts = hooks.find(b"aaaaaaaaaaaaaaaaaaaa").cloned();
        let ci = hooks.find(b"bbbbbbbbbbbbbbbbbbbb").cloned();
        let (Some(alerts), Some(ci)) = (alerts, ci) else {
            panic!("hooks not found");
        };
        assert_eq!(sender(&alerts, Some("alice")), "alerts[hook]");
        assert_eq!(sender(&ci, Some("Build Bot!")), "BuildBot[hook]");
        assert_eq!(sender(&ci, Some("  ")), "ci[hook]");
        for name in ["alerts[hook]", "BuildBot[hook]"] {
            assert!(chat_proto::validate_nick(name).is_err());
        }
    }

    #[test]
    fn operators_create_list_and_delete_hooks() {
        let mut hooks = hooks();
        let token = hooks
            .create("dev", "deploys")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(token.len(), 48);
        let found = hooks.find(token.as_bytes()).map(|hook| hook.room.clone());
        assert_eq!(found.as_deref(), Some("dev"));
        assert!(hooks.create("dev", "Deploys").is_err(), "names are unique");
        assert!(hooks.create("dev", "no good").is_err(), "names are nicks");
        let names: Vec<String> = hooks.list().into_iter().map(|(name, _, _)| name).collect();
        assert_eq!(names, ["alerts", "ci", "deploys"]);
        assert!(hooks.delete("deploys"));
        assert!(!hooks.delete("deploys"));
        assert!(hooks.find(token.as_bytes()).is_none());
    }

    #[test]
    fn text_is_split_into_capped_lines() {
        assert_eq!(lines("a\n\n b \nc", 100), ["a", " b", "c"]);
        assert_eq!(lines(&"é".repeat(10), 16), ["éééééééé", "éé"]);
        let many = (0..30)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        let said = lines(&many, 100);
        assert_eq!(said.len(), MAX_LINES_PER_POST);
        assert_eq!(said[MAX_LINES_PER_POST - 1], "(11 more lines not shown)");
    }
}
