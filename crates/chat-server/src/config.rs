//! `server.toml`: the settings, their defaults, and errors that name the file,
//! the line and the key.
//!
//! Built-in defaults come first, then the file given with `--config` (no file
//! is read unless named), then command-line flags. Unknown keys and bad values
//! stop the start: a half-configured server never runs.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chat_hub::{HubConfig, IpNet, Operator, Protocol, Retention, TimestampFormat};
use chat_net::NetConfig;
use chat_proto::{validate_nick, validate_room};

pub use crate::cluster_config::ClusterConfig;
pub use crate::listen::{Listen, ListenTable, TlsFiles};
use crate::store::{HistoryStore, HistorySync};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ops_config::{self, LogFormat, MetricsConfig};
use crate::toml_location::{find_in_entry, find_key, key_at, line_of};

mod accounts;

/// The default port, the tutorial's.
pub const DEFAULT_PORT: u16 = 21263;
/// The browser page's port when no `listen` is given.
pub const DEFAULT_WEB_PORT: u16 = 21280;
/// IRC's port when no `listen` is given: IRC clients' default.
pub const DEFAULT_IRC_PORT: u16 = 6667;

/// Builds [`Config`] from the hub's list of settings (`chat_hub::hub_settings!`)
/// and the settings only the server has, so each is defined once.
macro_rules! define_config {
    ($( $(#[$doc:meta])* $name:ident : $type:ty = $default:expr $(, toml = $adapter:literal)? ;)*) => {
        /// Every setting of server.toml. Keys are top-level; tables are kept
        /// for groups of settings.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct Config {
            /// Where to listen: addresses, or tables with TLS files.
            pub listen: Vec<Listen>,
            /// Bytes queued for one client before it is disconnected as too slow.
            pub max_queue_bytes: usize,
            /// Operator console: unset = on when stdin is a terminal.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub console: Option<bool>,
            /// Seconds of silence before TCP keepalive probes a peer; 0 = off.
            pub keepalive: u64,
            /// A file whose first line is the password (instead of `password`).
            #[serde(skip_serializing_if = "Option::is_none")]
            pub password_file: Option<PathBuf>,
            /// `sqlite`: history kept in `history_path` too; `memory`: only in memory.
            pub history_store: HistoryStore,
            /// The history file (relative: to the working directory).
            pub history_path: PathBuf,
            /// `batch`: committed at least every 100 ms (`always`: not yet).
            pub history_sync: HistorySync,
            $( $(#[$doc])* $(#[serde(with = $adapter)])? pub $name: $type, )*
            /// `error`, `warn`, `info`, `debug` or `trace` (or filter
            /// directives); `RUST_LOG` overrides it.
            pub log_level: String,
            /// `text` or `json`.
            pub log_format: LogFormat,
            /// Seconds a stopping server waits for queued output to drain.
            pub shutdown_linger: u64,
            /// Origins whose pages may open the web listeners' WebSocket
            /// (`https://chat.example.org`); empty: only the page's own.
            pub web_origins: Vec<String>,
            /// Host names the web listeners answer to besides IP addresses
            /// and localhost (`mybox.lan`), while `web_origins` is empty.
            pub web_hosts: Vec<String>,
            /// Reverse proxies whose `X-Forwarded-For` names a web client.
            pub trusted_proxies: Vec<Network>,
            /// `[cluster]`: this server is one node of several sharing Redis.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub cluster: Option<ClusterConfig>,
            /// `[metrics]`: serve `/metrics` and `/health` over HTTP.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub metrics: Option<MetricsConfig>,
            /// The longest webhook body read; a longer one is refused (413).
            pub max_webhook_bytes: usize,
            /// Posts per second each webhook may make, sustained.
            pub webhook_rate: f64,
            /// Posts a webhook may make at once after a quiet spell.
            pub webhook_burst: u32,
            /// `[[webhooks]]`: incoming webhooks on the web listeners.
            #[serde(skip_serializing_if = "Vec::is_empty")]
            pub webhooks: Vec<crate::hooks::WebhookConfig>,
            /// `[[api_tokens]]`: bearer tokens of the HTTP API (`/api/v1/`).
            #[serde(skip_serializing_if = "Vec::is_empty")]
            pub api_tokens: Vec<crate::api::ApiTokenConfig>,
        }

        impl Default for Config {
            fn default() -> Config {
                let hub = HubConfig::default();
                let net = NetConfig::default();
                Config {
                    listen: vec![
                        Listen::Plain(SocketAddr::from(([0, 0, 0, 0], DEFAULT_PORT))),
                        Listen::Plain(SocketAddr::from(([0u16; 8], DEFAULT_PORT))),
                        Listen::web(SocketAddr::from(([0, 0, 0, 0], DEFAULT_WEB_PORT))),
                        Listen::web(SocketAddr::from(([0u16; 8], DEFAULT_WEB_PORT))),
                        Listen::irc(SocketAddr::from(([0, 0, 0, 0], DEFAULT_IRC_PORT))),
                        Listen::irc(SocketAddr::from(([0u16; 8], DEFAULT_IRC_PORT))),
                    ],
                    max_queue_bytes: net.max_queue_bytes,
                    console: None,
                    keepalive: net.keepalive.map_or(0, |idle| idle.as_secs()),
                    password_file: None,
                    history_store: HistoryStore::Sqlite,
                    history_path: PathBuf::from("chat-history.sqlite3"),
                    history_sync: HistorySync::Batch,
                    $( $name: hub.$name, )*
                    log_level: ops_config::DEFAULT_LOG_LEVEL.into(),
                    log_format: LogFormat::Text,
                    shutdown_linger: ops_config::DEFAULT_SHUTDOWN_LINGER,
                    web_origins: Vec::new(),
                    web_hosts: Vec::new(),
                    trusted_proxies: Vec::new(),
                    cluster: None,
                    metrics: None,
                    max_webhook_bytes: 65536,
                    webhook_rate: 5.0,
                    webhook_burst: 20,
                    webhooks: Vec::new(),
                    api_tokens: Vec::new(),
                }
            }
        }

        impl Config {
            /// The hub's part of the configuration.
            pub fn hub_config(&self, echo_messages: bool) -> HubConfig {
                HubConfig {
                    $( $name: self.$name.clone(), )*
                    echo_messages,
                    cluster: None,
                }
            }
        }
    };
}

chat_hub::hub_settings!(define_config);

/// An address range in `exempt`: `127.0.0.0/8`, or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Network(pub IpNet);

impl TryFrom<String> for Network {
    type Error = String;
    fn try_from(text: String) -> Result<Network, String> {
        if let Ok(net) = text.parse::<IpNet>() {
            return Ok(Network(net.trunc()));
        }
        match text.parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(Network(IpNet::from(ip))),
            Err(_) => Err(format!(
                "{text:?} is not an address or a CIDR range like 10.0.0.0/8"
            )),
        }
    }
}

impl From<Network> for String {
    fn from(net: Network) -> String {
        if net.0.prefix_len() == net.0.max_prefix_len() {
            net.0.addr().to_string()
        } else {
            net.0.to_string()
        }
    }
}

/// A configuration that cannot be used: where, which key, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// The limits every webhook shares.
    pub fn hook_limits(&self) -> crate::hooks::HookLimits {
        crate::hooks::HookLimits {
            max_bytes: self.max_webhook_bytes,
            rate: self.webhook_rate,
            burst: self.webhook_burst,
            max_line_bytes: self.max_line_bytes,
        }
    }

    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_owned(),
            line: None,
            key: None,
            message: format!("cannot read: {e}"),
        })?;
        Config::parse(path, &text)
    }

    /// Parses and checks `text`, naming `path` in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|span| line_of(text, span.start));
            ConfigError {
                file: path.to_owned(),
                line,
                key: line.and_then(|line| key_at(text, line)),
                message: e.message().trim().to_owned(),
            }
        })?;
        let mut config = config;
        let located = |key: &'static str, message: String| ConfigError {
            file: path.to_owned(),
            line: find_key(text, key),
            key: Some(key.to_owned()),
            message,
        };
        if let Some(file) = &config.password_file {
            if config.password.is_some() {
                return Err(located(
                    "password_file",
                    "set `password` or `password_file`, not both".into(),
                ));
            }
            // Relative to the config file, as a user reading it would expect.
            let file = path.parent().unwrap_or(Path::new(".")).join(file);
            let text = std::fs::read_to_string(&file).map_err(|e| {
                located(
                    "password_file",
                    format!("cannot read {}: {e}", file.display()),
                )
            })?;
            config.password = Some(text.lines().next().unwrap_or_default().to_owned());
        }
        if let Some(cluster) = &mut config.cluster {
            let dir = path.parent().unwrap_or(Path::new("."));
            cluster
                .read_password_files(dir)
                .map_err(|(key, message)| located(key, message))?;
        }
        crate::hooks::config::resolve(path, &mut config.webhooks)
            .and_then(|()| crate::api::config::resolve(path, &mut config.api_tokens))
            .map_err(|e| ConfigError {
                file: path.to_owned(),
                line: find_in_entry(text, e.table, &e.name, e.key),
                key: Some(e.key.to_owned()),
                message: e.message,
            })?;
        config
            .check()
            .map_err(|(key, message)| located(key, message))?;
        Ok(config)
    }

    /// Checks what the types alone do not. Returns the key at fault.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.listen.is_empty() {
            return Err(("listen", "needs at least one address".into()));
        }
        if !(16..=1024 * 1024).contains(&self.max_line_bytes) {
            return Err(("max_line_bytes", "must be between 16 and 1048576".into()));
        }
        if self.max_queue_bytes < 4096 {
            return Err(("max_queue_bytes", "must be at least 4096".into()));
        }
        let hostname = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
        if self.server_name.is_empty() || !self.server_name.chars().all(hostname) {
            let why = "must be letters, digits, `.` and `-` (it names the server to IRC clients)";
            return Err(("server_name", format!("{:?} {why}", self.server_name)));
        }
        if let Err(why) = validate_room(&self.default_room) {
            return Err(("default_room", format!("{:?} {why}", self.default_room)));
        }
        if let Err(why) = validate_nick(&self.operator_name) {
            return Err(("operator_name", format!("{:?} {why}", self.operator_name)));
        }
        if self.max_clients == 0 {
            return Err(("max_clients", "must be at least 1".into()));
        }
        if self.max_clients_per_ip == 0 {
            return Err(("max_clients_per_ip", "must be at least 1".into()));
        }
        if !(self.flood_rate.is_finite() && self.flood_rate >= 0.0) {
            return Err(("flood_rate", "must be 0 (off) or a positive number".into()));
        }
        if self.flood_rate > 0.0 && self.flood_burst == 0 {
            return Err((
                "flood_burst",
                "must be at least 1 when flood_rate is set".into(),
            ));
        }
        if self.password.as_deref().is_some_and(str::is_empty) {
            return Err((
                "password",
                "may not be empty (leave it out for no password)".into(),
            ));
        }
        if self.accounts.max_connections_per_account == 0 {
            let why = "must be at least 1 (one connection per account)";
            return Err(("max_connections_per_account", why.into()));
        }
        for op in &self.operators {
            if let Err(why) = validate_nick(&op.name) {
                return Err(("name", format!("operator name {:?} {why}", op.name)));
            }
            if let Err(e) = argon2::PasswordHash::new(&op.password_hash) {
                return Err((
                    "password_hash",
                    format!(
                        "operator {}: not an argon2 hash ({e}); make one with chat-server --hash-password",
                        op.name
                    ),
                ));
            }
        }
        if let Some(cluster) = &self.cluster {
            cluster.check()?;
        }
        if self.history_path.as_os_str().is_empty() {
            return Err(("history_path", "may not be empty".into()));
        }
        if self.motd.chars().any(char::is_control) {
            return Err(("motd", "may not contain control characters".into()));
        }
        for origin in &self.web_origins {
            crate::web::check_origin(origin).map_err(|e| ("web_origins", e))?;
        }
        for host in &self.web_hosts {
            crate::web::check_host_name(host).map_err(|e| ("web_hosts", e))?;
        }
        if !(64..=16 * 1024 * 1024).contains(&self.max_webhook_bytes) {
            return Err((
                "max_webhook_bytes",
                "must be between 64 and 16777216".into(),
            ));
        }
        if !(self.webhook_rate.is_finite() && self.webhook_rate > 0.0) {
            return Err(("webhook_rate", "must be a positive number".into()));
        }
        if self.webhook_burst == 0 {
            return Err(("webhook_burst", "must be at least 1".into()));
        }
        ops_config::check_log_level(&self.log_level).map_err(|e| ("log_level", e))?;
        ops_config::check_shutdown_linger(self.shutdown_linger)
            .map_err(|e| ("shutdown_linger", e))?;
        Ok(())
    }

    /// The effective configuration as TOML (`--print-config`). The
    /// password is never printed.
    pub fn to_toml(&self) -> String {
        let mut text = toml::to_string(self)
            .unwrap_or_else(|e| format!("# cannot print the configuration: {e}\n"));
        if self.password.is_some() && self.password_file.is_none() {
            text.push_str("# password = (set, not shown)\n");
        }
        text
    }
}

// The serde adapters the settings list names (`toml = "..."`): how a hub
// type is written in server.toml.

/// A value written as one of its names (`framing`, `timestamp`).
trait Named: Sized + Copy + 'static {
    fn names() -> Vec<(&'static str, Self)>;
}

impl Named for Protocol {
    fn names() -> Vec<(&'static str, Protocol)> {
        Protocol::NAMES
            .iter()
            .map(|&(name, framing, _)| (name, framing))
            .collect()
    }
}

impl Named for TimestampFormat {
    fn names() -> Vec<(&'static str, TimestampFormat)> {
        TimestampFormat::NAMES.to_vec()
    }
}

mod named {
    use super::*;

    pub(super) fn serialize<T: Named + PartialEq, S: Serializer>(
        value: &T,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let name = T::names()
            .into_iter()
            .find(|(_, v)| v == value)
            .map_or("", |(name, _)| name);
        serializer.serialize_str(name)
    }

    pub(super) fn deserialize<'de, T: Named, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<T, D::Error> {
        let text = String::deserialize(deserializer)?;
        let names = T::names();
        if let Some(&(_, value)) = names.iter().find(|(name, _)| *name == text) {
            return Ok(value);
        }
        let quoted: Vec<String> = names.iter().map(|(name, _)| format!("`{name}`")).collect();
        let expected = match quoted.as_slice() {
            [one, two] => format!("`{}` or `{}`", one.trim_matches('`'), two.trim_matches('`')),
            _ => format!("one of {}", quoted.join(", ")),
        };
        Err(serde::de::Error::custom(format!(
            "unknown variant `{text}`, expected {expected}"
        )))
    }
}

/// `exempt`: addresses and CIDR ranges as strings.
mod networks {
    use super::*;

    pub(super) fn serialize<S: Serializer>(
        nets: &[IpNet],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(nets.iter().map(|&net| String::from(Network(net))))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<IpNet>, D::Error> {
        let nets = Vec::<Network>::deserialize(deserializer)?;
        Ok(nets.into_iter().map(|net| net.0).collect())
    }
}

/// `history_retention`: `"30d"`, `"12h"`, `"90m"`, `"45s"` or `"forever"`.
mod retention {
    use super::*;

    pub(super) fn serialize<S: Serializer>(
        retention: &Retention,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(retention)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Retention, D::Error> {
        let text = String::deserialize(deserializer)?;
        Retention::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `password`: read as a string, never written back, and never echoed in
/// an error (a secret typed without quotes must not end up in a log).
pub(crate) mod secret {
    use super::*;

    pub(super) fn serialize<S: Serializer>(
        _: &Option<String>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_none()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<String>, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Option<String>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string in quotes (the value is not shown)")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Option<String>, E> {
                Ok(Some(text.to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Option<String>, E> {
                Err(E::custom(self::NOT_A_STRING))
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Option<String>, E> {
                Err(E::custom(self::NOT_A_STRING))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Option<String>, E> {
                Err(E::custom(self::NOT_A_STRING))
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Option<String>, E> {
                Err(E::custom(self::NOT_A_STRING))
            }
        }
        deserializer.deserialize_any(Visitor)
    }

    const NOT_A_STRING: &str = "must be a string in quotes (the value is not shown)";
}

/// `[[operators]]`: tables of `name` and `password_hash`.
mod operators {
    use super::*;

    /// The shape of one entry in the file.
    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        name: String,
        /// argon2 in PHC form; `chat-server --hash-password` prints one.
        password_hash: String,
    }

    pub(super) fn serialize<S: Serializer>(
        operators: &[Operator],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(operators.iter().map(|op| Entry {
            name: op.name.clone(),
            password_hash: op.password_hash.clone(),
        }))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Operator>, D::Error> {
        let entries = Vec::<Entry>::deserialize(deserializer)?;
        Ok(entries
            .into_iter()
            .map(
                |Entry {
                     name,
                     password_hash,
                 }| Operator {
                    name,
                    password_hash,
                },
            )
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        match Config::parse(Path::new("server.toml"), text) {
            Ok(config) => format!("unexpectedly fine: {config:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn empty_file_is_the_defaults() {
        assert_eq!(Config::parse(Path::new("x"), ""), Ok(Config::default()));
    }

    #[test]
    fn defaults_print_and_parse_back() {
        let printed = Config::default().to_toml();
        assert_eq!(
            Config::parse(Path::new("x"), &printed),
            Ok(Config::default())
        );
    }

    #[test]
    fn the_documented_example_is_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../server.toml");
        assert_eq!(Config::load(&path), Ok(Config::default()));
    }

    #[test]
    fn tls_listeners_parse_from_the_file_and_the_flag() {
        let text = "listen = [\"127.0.0.1:1\", { addr = \"[::1]:2\", tls = { cert = \"c.pem\", key = \"k.pem\" } }]";
        let config = Config::parse(Path::new("x"), text).unwrap_or_else(|e| panic!("{e}"));
        let flag =
            Listen::parse_flag("[::1]:2,cert=c.pem,key=k.pem").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.listen[1], flag);
        assert_eq!(
            config.listen[0],
            Listen::parse_flag("127.0.0.1:1").unwrap_or_else(|e| panic!("{e}"))
        );
        assert!(Listen::parse_flag("[::1]:2,cert=c.pem").is_err());
        let printed = config.to_toml();
        assert_eq!(
            Config::parse(Path::new("x"), &printed),
            Ok(config),
            "{printed}"
        );
    }

    #[test]
    fn a_secret_is_never_echoed_in_an_error() {
        let message = error("motd = \"hi\"\npassword = 86421357\n");
        assert_eq!(
            message,
            "server.toml:2: key `password`: must be a string in quotes (the value is not shown)"
        );
    }

    #[test]
    fn a_bad_history_retention_is_named_with_its_line() {
        assert_eq!(
            error("motd = \"hi\"\nhistory_retention = \"30\"\n"),
            "server.toml:2: key `history_retention`: \"30\" is not a duration like \"30d\", \"12h\", \"90m\", \"45s\" or \"forever\""
        );
        assert_eq!(
            error("history_retention = \"0s\"\n"),
            "server.toml:1: key `history_retention`: must be longer than 0 (\"forever\" keeps history for ever; history_lines = 0 keeps none)"
        );
        let config = Config::parse(Path::new("x"), "history_retention = \"forever\"\n");
        assert_eq!(config.map(|c| c.history_retention), Ok(Retention::Forever));
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let text = [
            error("motd = \"hi\"\nmax_line_bytez = 10\n"),
            error("motd = \"hi\"\n\nmax_line_bytes = \"big\"\n"),
            error("max_line_bytes = 5\n"),
            error("framing = \"chunky\"\n"),
            error("listen = [\n  \"127.0.0.1:1\",\n  \"nowhere\",\n]\n"),
            error("default_room = \"two words\"\n"),
            error("operator_name = \"\"\n"),
            error("timestamp = \"iso\"\n"),
            error("motd = \n"),
            error("listen = [{ addr = \"127.0.0.1:0\", tls = { cert = \"c.pem\" } }]\n"),
            error("listen = [{ addr = \"127.0.0.1:0\", tsl = {} }]\n"),
            error("listen = [{ addr = \"127.0.0.1:0\", protocol = \"chunky\" }]\n"),
            error("listen = [{ addr = \"127.0.0.1:0\", web = true, protocol = \"raw\" }]\n"),
        ]
        .join("\n");
        insta::assert_snapshot!(text);
    }
}
