//! The log: `tracing` events on stderr, through `tracing-subscriber`.
//!
//! `log_level` sets what is written (`RUST_LOG`, when set, overrides it,
//! and a reload does not change it then); `log_format` is `text` (one line
//! per event, `chat-server: what happened`, the shape this server always
//! printed) or `json` (every line one JSON object, the text under
//! `message`). Every event has the target `chat-server`.
//!
//! What is logged: each connect, leave (with its reason), refusal, kick,
//! ban, failed login, reload and cluster state change, at `info` (the hub
//! words them; see `Outbox::console`). Message text only at `debug`
//! (`Outbox::said`), and only if the log was at `debug` from the start
//! (the hub words it only then: a relayed line costs no formatting
//! otherwise); passwords never (the hub never words them).
//!
//! The `listening on ADDR` lines (and `metrics on …`) are written whatever
//! the level, since scripts and supervisors wait for them: as they always
//! were in text, as a JSON object with that `message` in JSON.

use std::io::Write;
use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

use crate::ops_config::LogFormat;
use crate::reload::Reloaded;

/// The target of every event.
pub const TARGET: &str = "chat-server";

/// What [`init`] set up, for [`announce`] and [`set_level`].
struct Installed {
    format: LogFormat,
    /// `None` when `RUST_LOG` decides the filter.
    level: Option<reload::Handle<EnvFilter, Registry>>,
}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

/// Installs the subscriber: `level` (unless `RUST_LOG` is set) and `format`.
/// Once per process; a second call changes nothing.
pub fn init(level: &str, format: LogFormat) {
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|directives| !directives.trim().is_empty());
    let directives = from_env.clone().unwrap_or_else(|| level.to_owned());
    let filter = EnvFilter::builder()
        .parse(&directives)
        .unwrap_or_else(|_| EnvFilter::new(crate::ops_config::DEFAULT_LOG_LEVEL));
    let (filter, handle) = reload::Layer::new(filter);
    let text = (format == LogFormat::Text).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .without_time()
            .with_level(false)
    });
    let json = (format == LogFormat::Json).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .json()
            .flatten_event(true)
    });
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .try_init()
        .is_ok();
    if installed {
        let level = from_env.is_none().then_some(handle);
        let _ = INSTALLED.set(Installed { format, level });
    }
}

/// Sets the level (a reload). Ignored while `RUST_LOG` decides.
pub fn set_level(level: &str) -> Result<(), String> {
    let Some(handle) = INSTALLED
        .get()
        .and_then(|installed| installed.level.as_ref())
    else {
        return Ok(());
    };
    let filter = EnvFilter::builder()
        .parse(level)
        .map_err(|e| format!("log_level {level:?}: {e}"))?;
    handle.reload(filter).map_err(|e| e.to_string())
}

/// A line that is written whatever the level: `listening on ADDR`.
pub fn announce(message: &str) {
    let json = INSTALLED
        .get()
        .is_some_and(|installed| installed.format == LogFormat::Json);
    let line = if json {
        serde_json::json!({
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "level": "INFO",
            "message": message,
            "target": TARGET,
        })
        .to_string()
    } else {
        message.to_owned()
    };
    // A log that cannot be written must not stop the server.
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

pub fn info(message: &str) {
    tracing::info!(target: TARGET, "{message}");
}

pub fn warn(message: &str) {
    tracing::warn!(target: TARGET, "{message}");
}

pub fn error(message: &str) {
    tracing::error!(target: TARGET, "{message}");
}

/// Message text and the console's chatter: only at `debug`.
pub fn debug(message: &str) {
    tracing::debug!(target: TARGET, "{message}");
}

/// A reload that took: what changed, and in one line what waits for a
/// restart.
pub fn reloaded(reloaded: &Reloaded) {
    if let Err(e) = set_level(&reloaded.log_level) {
        error(&format!("reload: {e}"));
    }
    info(&format!(
        "reload: configuration applied ({} TLS listener(s) with new certificates for new connections)",
        reloaded.tls_renewed
    ));
    if !reloaded.restart_needed.is_empty() {
        warn(&format!(
            "reload: these keys changed but need a restart to take effect: {}",
            reloaded.restart_needed.join(", ")
        ));
    }
}

/// A reload with a bad file: the start's message, and that nothing changed.
pub fn reload_refused(message: &str) {
    error(&format!("error: {message}"));
    warn("reload: the file above was refused; nothing changed");
}
