//! The settings for running the server unattended: `[metrics]`,
//! `log_level`, `log_format` and `shutdown_linger`, with their checks. Their
//! keys sit in [`Config`](crate::config::Config); their types and rules
//! live here.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// The default `log_level`.
pub const DEFAULT_LOG_LEVEL: &str = "info";

/// The default `shutdown_linger`, in seconds.
pub const DEFAULT_SHUTDOWN_LINGER: u64 = 2;

/// `[metrics]`: where `/metrics` and `/health` are served over HTTP (by
/// the reactor, beside the chat listeners).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// `127.0.0.1:9263`, say. No TLS and no password: keep it on loopback
    /// or a private network.
    pub listen: SocketAddr,
}

/// `log_format`: how stderr lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Checks `log_level`: a level (`error` … `trace`) or `tracing` filter
/// directives (`info,chat_server=debug`), as `RUST_LOG` takes.
pub fn check_log_level(level: &str) -> Result<(), String> {
    tracing_subscriber::EnvFilter::builder()
        .parse(level)
        .map(|_| ())
        .map_err(|e| {
            format!("{level:?} is not a level (error, warn, info, debug, trace) or a filter: {e}")
        })
}

/// Checks `shutdown_linger`.
pub fn check_shutdown_linger(seconds: u64) -> Result<(), String> {
    if seconds > 3600 {
        return Err("must be at most 3600 (seconds)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_filters_pass_and_nonsense_does_not() {
        for good in ["info", "debug", "warn,chat_server=trace", "off"] {
            assert_eq!(check_log_level(good), Ok(()), "{good}");
        }
        assert!(check_log_level("chat_server=loud").is_err());
        assert!(check_shutdown_linger(2).is_ok());
        assert!(check_shutdown_linger(86_400).is_err());
    }
}
