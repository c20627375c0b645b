//! Reading server.toml again while serving (SIGHUP, the console's
//! `/reload`): what changes live, what needs a restart, and a bad file that
//! changes nothing.
//!
//! The file goes through the same checks as a start ([`preflight`]), so a
//! reload refuses exactly what a start refuses, with the same message. What
//! can change live is applied: the hub's settings through
//! `Hub::reconfigure`, new TLS certificates and keys for new handshakes
//! (`Net::replace_tls`; open connections keep their sessions), the shutdown
//! linger, the log level. Each key that only a restart can change keeps its
//! running value and is named in one log line.

use std::time::Duration;

use chat_hub::Hub;
use chat_net::{ListenerId, Net};

use crate::cli::Args;
use crate::config::Config;
use crate::preflight;

/// Keys of the server's own that only a restart changes: they shaped the
/// sockets, the threads, the history file or the log's format. (`listen` counts as changed
/// when its addresses or their TLS-ness do; new certificate and key paths
/// for the same address are read live. The web listeners' `web_origins`,
/// `web_hosts` and `trusted_proxies` are read when they open.) With the
/// hub's `RESTART_ONLY`, this is the one list: README's list and
/// server.toml's "Restart to change" marks are checked against it below.
pub const SERVER_RESTART_ONLY: [&str; 13] = [
    "listen",
    "history_store",
    "history_path",
    "history_sync",
    "max_queue_bytes",
    "keepalive",
    "console",
    "web_origins",
    "web_hosts",
    "trusted_proxies",
    "log_format",
    "[cluster]",
    "[metrics]",
];

/// What a reload did.
#[derive(Debug, PartialEq, Eq)]
pub struct Reloaded {
    /// Keys whose new values wait for a restart.
    pub restart_needed: Vec<&'static str>,
    /// TLS listeners whose certificate was read again.
    pub tls_renewed: usize,
    /// The log level now in force (from the file).
    pub log_level: String,
}

/// Everything a reload needs: how the server was started, and what runs.
#[derive(Debug)]
pub struct Reloader {
    args: Args,
    running: Config,
    /// The reactor's listener for each `listen` entry (`None`: not bound).
    listeners: Vec<Option<ListenerId>>,
}

impl Reloader {
    pub fn new(args: Args, running: Config, listeners: Vec<Option<ListenerId>>) -> Reloader {
        Reloader {
            args,
            running,
            listeners,
        }
    }

    /// The configuration in force.
    pub fn running(&self) -> &Config {
        &self.running
    }

    /// The file named at start, if any (nothing to read again without one).
    pub fn file(&self) -> Option<&std::path::Path> {
        self.args.config.as_deref()
    }

    /// Reads the configuration again and applies what can change live. On
    /// error nothing has changed, and the message is the one a start with
    /// that file would give.
    pub fn reload(
        &mut self,
        hub: &mut Hub,
        net: &mut Net,
        linger: &mut Duration,
    ) -> Result<Reloaded, String> {
        let checked = preflight::check(&self.args)?;
        let new = checked.config;
        let restart_needed = restart_only_changes(&self.running, &new);
        let same_listeners = !restart_needed.contains(&"listen");
        let mut tls_renewed = 0;
        if same_listeners {
            for (listener, tls) in self.listeners.iter().zip(&checked.tls) {
                if let (Some(listener), Some(tls)) = (listener, tls)
                    && net.replace_tls(*listener, std::sync::Arc::clone(tls))
                {
                    tls_renewed += 1;
                }
            }
        }
        let running = keep_restart_only(&self.running, new);
        hub.reconfigure(running.hub_config(hub.config().echo_messages));
        *linger = Duration::from_secs(running.shutdown_linger);
        let log_level = running.log_level.clone();
        self.running = running;
        Ok(Reloaded {
            restart_needed,
            tls_renewed,
            log_level,
        })
    }
}

/// `listen` as far as the sockets go: addresses, whether each is TLS, and
/// whether it is a web listener.
fn sockets(config: &Config) -> Vec<(std::net::SocketAddr, bool, bool)> {
    config
        .listen
        .iter()
        .map(|listen| (listen.addr(), listen.tls().is_some(), listen.is_web()))
        .collect()
}

/// The restart-only keys (the server's and the hub's) whose values differ.
fn restart_only_changes(old: &Config, new: &Config) -> Vec<&'static str> {
    let changed = [
        ("listen", sockets(old) != sockets(new)),
        (
            "max_queue_bytes",
            old.max_queue_bytes != new.max_queue_bytes,
        ),
        ("keepalive", old.keepalive != new.keepalive),
        ("history_store", old.history_store != new.history_store),
        ("history_path", old.history_path != new.history_path),
        ("history_sync", old.history_sync != new.history_sync),
        ("console", old.console != new.console),
        ("web_origins", old.web_origins != new.web_origins),
        ("web_hosts", old.web_hosts != new.web_hosts),
        (
            "trusted_proxies",
            old.trusted_proxies != new.trusted_proxies,
        ),
        ("log_format", old.log_format != new.log_format),
        ("[cluster]", old.cluster != new.cluster),
        ("[metrics]", old.metrics != new.metrics),
        ("framing", old.framing != new.framing),
        ("history_lines", old.history_lines != new.history_lines),
        (
            "history_memory_bytes",
            old.history_memory_bytes != new.history_memory_bytes,
        ),
        ("operator_name", old.operator_name != new.operator_name),
        ("server_name", old.server_name != new.server_name),
    ];
    changed
        .into_iter()
        .filter_map(|(key, changed)| changed.then_some(key))
        .collect()
}

/// `new`, with every restart-only key set back to its running value.
fn keep_restart_only(old: &Config, new: Config) -> Config {
    let listen = if sockets(old) == sockets(&new) {
        new.listen
    } else {
        old.listen.clone()
    };
    Config {
        listen,
        max_queue_bytes: old.max_queue_bytes,
        keepalive: old.keepalive,
        history_store: old.history_store,
        history_path: old.history_path.clone(),
        history_sync: old.history_sync,
        console: old.console,
        web_origins: old.web_origins.clone(),
        web_hosts: old.web_hosts.clone(),
        trusted_proxies: old.trusted_proxies.clone(),
        log_format: old.log_format,
        cluster: old.cluster.clone(),
        metrics: old.metrics.clone(),
        framing: old.framing,
        history_lines: old.history_lines,
        history_memory_bytes: old.history_memory_bytes,
        operator_name: old.operator_name.clone(),
        server_name: old.server_name.clone(),
        ..new
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;

    fn parse(text: &str) -> Config {
        Config::parse(Path::new("x"), text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn every_restart_only_key_is_compared_and_kept() {
        let old = Config::default();
        let new = parse(
            "listen = [\"127.0.0.1:1\"]\nmax_queue_bytes = 8192\nkeepalive = 1\nconsole = true\n\
             web_origins = [\"https://a.example\"]\nweb_hosts = [\"mybox.lan\"]\ntrusted_proxies = [\"10.0.0.1\"]\n\
             log_format = \"json\"\nframing = \"raw\"\nhistory_lines = 1\n\
             history_store = \"memory\"\nhistory_path = \"elsewhere.sqlite3\"\nhistory_sync = \"always\"\n\
             history_memory_bytes = 10\noperator_name = \"boss\"\nmotd = \"new\"\n\
             server_name = \"irc.example\"\n\
             [cluster]\nredis_url = \"redis://127.0.0.1:1\"\n[metrics]\nlisten = \"127.0.0.1:2\"\n",
        );
        let changed = restart_only_changes(&old, &new);
        for key in SERVER_RESTART_ONLY.iter().chain(&chat_hub::RESTART_ONLY) {
            assert!(changed.contains(key), "{key} is compared: {changed:?}");
        }
        assert_eq!(
            changed.len(),
            SERVER_RESTART_ONLY.len() + chat_hub::RESTART_ONLY.len()
        );
        let kept = keep_restart_only(&old, new);
        assert_eq!(restart_only_changes(&old, &kept), Vec::<&str>::new());
        assert_eq!(kept.motd, "new", "live keys take the new value");
    }

    /// Every restart-only key, the server's and the hub's.
    fn restart_only() -> BTreeSet<&'static str> {
        SERVER_RESTART_ONLY
            .iter()
            .chain(&chat_hub::RESTART_ONLY)
            .copied()
            .collect()
    }

    fn repo_file(name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The code spans of `text` (none spans a line here).
    fn code_spans(text: &str) -> Vec<&str> {
        text.split('`').skip(1).step_by(2).collect()
    }

    /// README's "Reload without a restart" names the keys that need one:
    /// the same as the code, so that it cannot drift again.
    #[test]
    fn the_readme_names_exactly_the_restart_only_keys() {
        let readme = repo_file("README.md");
        let readme = readme.split_whitespace().collect::<Vec<_>>().join(" ");
        let (_, list) = readme
            .split_once("Keys that need a restart (")
            .expect("README.md says which keys need a restart");
        let (list, _) = list.split_once(')').expect("the list ends");
        let named: BTreeSet<&str> = code_spans(list).into_iter().collect();
        assert_eq!(
            named,
            restart_only(),
            "README.md, \"Keys that need a restart\""
        );
    }

    /// server.toml marks each restart-only key "Restart to change" in the
    /// comment above it, and no other.
    #[test]
    fn server_toml_marks_exactly_the_restart_only_keys() {
        let text = repo_file("server.toml");
        let mut marked = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut comment = String::new();
        for line in text.lines() {
            let setting = line.strip_prefix("# ").unwrap_or(line);
            let key = match setting.split_once(" = ") {
                Some((key, _)) if key.chars().all(|c| c.is_ascii_lowercase() || c == '_') => {
                    Some(key)
                }
                _ => (setting.starts_with('[') && !setting.starts_with("[["))
                    .then_some(setting.trim()),
            };
            match key {
                Some(key) => {
                    // A key shown again as an example keeps its first mark.
                    if seen.insert(key.to_owned()) && comment.contains("Restart to change") {
                        marked.insert(key.to_owned());
                    }
                    comment.clear();
                }
                None if line.starts_with('#') => comment.push_str(line),
                None => comment.clear(),
            }
        }
        let expected: BTreeSet<String> = restart_only().into_iter().map(str::to_owned).collect();
        assert_eq!(
            marked, expected,
            "server.toml's \"Restart to change\" marks"
        );
    }
}
