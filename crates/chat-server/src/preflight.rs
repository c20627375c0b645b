//! Everything a start checks before it binds anything, in one place so that
//! a start, `--check-config` and a reload (SIGHUP, `/reload`) accept and
//! refuse the same files with the same words: the file (syntax, keys,
//! values), the flags on top of it, and the TLS certificates and keys (that
//! they load and fit each other).

use std::path::Path;
use std::sync::Arc;

use chat_net::rustls;

use crate::cli::Args;
use crate::config::Config;
use crate::toml_location::find_key;

/// A configuration ready to serve: the settings, and the TLS configuration
/// of each `listen` entry (`None` for plain TCP), in order.
#[derive(Debug)]
pub struct Checked {
    pub config: Config,
    pub tls: Vec<Option<Arc<rustls::ServerConfig>>>,
}

/// The settings from the built-in defaults, `--config FILE` and the flags.
/// The error is the whole message (file, line, key, why).
pub fn settings(args: &Args) -> Result<Config, String> {
    let mut config = match &args.config {
        Some(path) => Config::load(path).map_err(|e| e.to_string())?,
        None => Config::default(),
    };
    args.apply(&mut config);
    config
        .check()
        .map_err(|(key, message)| format!("command line: `{key}`: {message}"))?;
    // The history file is named relative to where the server starts.
    if config.history_path.is_relative()
        && let Ok(dir) = std::env::current_dir()
    {
        config.history_path = dir.join(&config.history_path);
    }
    Ok(config)
}

/// [`settings`], then every TLS listener's files.
pub fn check(args: &Args) -> Result<Checked, String> {
    let config = settings(args)?;
    let tls = tls_configs(&config, args.config.as_deref())?;
    Ok(Checked { config, tls })
}

/// Loads the TLS files of every `listen` entry. An error names the file it
/// came from (or the command line) and the line of `listen` in it.
pub fn tls_configs(
    config: &Config,
    file: Option<&Path>,
) -> Result<Vec<Option<Arc<rustls::ServerConfig>>>, String> {
    config
        .listen
        .iter()
        .map(|listen| {
            let Some(files) = listen.tls() else {
                return Ok(None);
            };
            crate::tls::server_config(&files.cert, &files.key)
                .map(Some)
                .map_err(|e| format!("{}: key `listen`: {e}", where_listen_is(file)))
        })
        .collect()
}

/// `FILE:LINE` of `listen` in `file`, `FILE` if it is not there (the
/// default, or the flag), `command line` without a file.
fn where_listen_is(file: Option<&Path>) -> String {
    let Some(file) = file else {
        return "command line".into();
    };
    let line = std::fs::read_to_string(file)
        .ok()
        .and_then(|text| find_key(&text, "listen"));
    match line {
        Some(line) => format!("{}:{line}", file.display()),
        None => file.display().to_string(),
    }
}
