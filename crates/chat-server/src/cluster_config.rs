//! The `[cluster]` table of server.toml: where Redis is (one URL, or the
//! sentinels that know which server is the master), its passwords, and this
//! node's name and nick lease.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The `[cluster]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// `redis://HOST:PORT` (optionally `/DB`): one Redis, no failover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis_url: Option<String>,
    /// `HOST:PORT` of each Redis Sentinel watching the master (instead of
    /// `redis_url`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sentinels: Vec<String>,
    /// The master's name in the sentinels' configuration.
    #[serde(default = "default_master_name")]
    pub master_name: String,
    /// A file whose first line is Redis's password (`requirepass`), with
    /// `redis_url` or `sentinels`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis_password_file: Option<PathBuf>,
    /// A file whose first line is the sentinels' password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentinel_password_file: Option<PathBuf>,
    /// Unique in the cluster; default: this host's name and the port of
    /// the first listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// Seconds a node's claim on a nick lasts without renewal; a node that
    /// dies frees its nicks after this.
    #[serde(default = "default_nick_lease")]
    pub nick_lease_seconds: u64,
    /// Read from `redis_password_file`; never printed.
    #[serde(skip)]
    pub redis_password: Option<String>,
    /// Read from `sentinel_password_file`; never printed.
    #[serde(skip)]
    pub sentinel_password: Option<String>,
}

fn default_nick_lease() -> u64 {
    15
}

fn default_master_name() -> String {
    "chat".into()
}

impl ClusterConfig {
    /// Checks what the types alone do not. Returns the key at fault.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        match (&self.redis_url, self.sentinels.is_empty()) {
            (Some(_), false) => {
                return Err((
                    "sentinels",
                    "set `redis_url` (one Redis) or `sentinels` (a failover group), not both"
                        .into(),
                ));
            }
            (None, true) => {
                return Err((
                    "redis_url",
                    "set `redis_url` = \"redis://HOST:PORT\" or `sentinels` = [\"HOST:PORT\", …]"
                        .into(),
                ));
            }
            (Some(url), true) if !url.starts_with("redis://") => {
                return Err((
                    "redis_url",
                    format!("{url:?} is not a URL like redis://127.0.0.1:6379"),
                ));
            }
            _ => {}
        }
        for sentinel in &self.sentinels {
            let port = sentinel
                .rsplit_once(':')
                .map(|(host, port)| (host, port.parse::<u16>()));
            if !matches!(port, Some((host, Ok(_))) if !host.is_empty()) {
                return Err((
                    "sentinels",
                    format!("{sentinel:?} is not HOST:PORT, like \"10.0.0.1:26379\""),
                ));
            }
        }
        if self.master_name.is_empty() || self.master_name.contains(char::is_whitespace) {
            return Err(("master_name", "may not be empty or contain spaces".into()));
        }
        if self.nick_lease_seconds < 2 {
            return Err(("nick_lease_seconds", "must be at least 2".into()));
        }
        if self
            .node_name
            .as_deref()
            .is_some_and(|n| n.is_empty() || n.contains(char::is_whitespace))
        {
            return Err(("node_name", "may not be empty or contain spaces".into()));
        }
        Ok(())
    }

    /// Reads the password files (relative to `dir`, the configuration
    /// file's directory). Returns the key at fault.
    pub fn read_password_files(&mut self, dir: &Path) -> Result<(), (&'static str, String)> {
        if let Some(file) = &self.redis_password_file {
            self.redis_password = Some(first_line(dir, file, "redis_password_file")?);
        }
        if let Some(file) = &self.sentinel_password_file {
            self.sentinel_password = Some(first_line(dir, file, "sentinel_password_file")?);
        }
        Ok(())
    }

    /// Where Redis is, for the log: the URL, or the sentinels and the name.
    /// Where the bridge (and the accounts) find Redis.
    pub fn target(&self) -> crate::cluster::Target {
        use crate::cluster::Target;
        match &self.redis_url {
            Some(url) => Target::Url {
                url: url.clone(),
                password: self.redis_password.clone(),
            },
            None => Target::Sentinel {
                sentinels: self.sentinels.clone(),
                master_name: self.master_name.clone(),
                redis_password: self.redis_password.clone(),
                sentinel_password: self.sentinel_password.clone(),
            },
        }
    }

    pub fn describe(&self) -> String {
        match &self.redis_url {
            Some(url) => url.clone(),
            None => format!(
                "master {:?} of sentinels {}",
                self.master_name,
                self.sentinels.join(", ")
            ),
        }
    }
}

/// The first line of `dir/file`; an empty one is an error (no password is
/// said by leaving the key out).
fn first_line(
    dir: &Path,
    file: &Path,
    key: &'static str,
) -> Result<String, (&'static str, String)> {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| (key, format!("cannot read {}: {e}", path.display())))?;
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        return Err((key, format!("{}: the first line is empty", path.display())));
    }
    Ok(line.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ClusterConfig {
        match toml::from_str(text) {
            Ok(config) => config,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    #[test]
    fn a_url_or_sentinels_but_not_both_nor_neither() {
        let url = parse("redis_url = \"redis://127.0.0.1:6379\"");
        assert_eq!(url.check(), Ok(()));
        let sentinels = parse("sentinels = [\"10.0.0.1:26379\", \"[::1]:26379\"]");
        assert_eq!(sentinels.check(), Ok(()));
        assert_eq!(sentinels.master_name, "chat");
        let both = parse("redis_url = \"redis://a:1\"\nsentinels = [\"b:2\"]");
        assert_eq!(both.check().map_err(|e| e.0), Err("sentinels"));
        let neither = parse("node_name = \"a\"");
        assert_eq!(neither.check().map_err(|e| e.0), Err("redis_url"));
        let bad = parse("sentinels = [\"10.0.0.1\"]");
        assert_eq!(bad.check().map_err(|e| e.0), Err("sentinels"));
    }

    #[test]
    fn passwords_come_from_files_next_to_the_config() {
        let dir = std::env::temp_dir().join(format!("chat-cluster-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("redis.pw"), "s3cret\nignored\n").expect("write");
        let mut config = parse(
            "sentinels = [\"a:1\"]\nredis_password_file = \"redis.pw\"\nsentinel_password_file = \"none\"",
        );
        let error = config.read_password_files(&dir).map_err(|e| e.0);
        assert_eq!(error, Err("sentinel_password_file"));
        assert_eq!(config.redis_password.as_deref(), Some("s3cret"));
        let printed = toml::to_string(&config).expect("print");
        assert!(!printed.contains("s3cret"), "{printed}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
