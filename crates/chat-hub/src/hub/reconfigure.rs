//! [`Hub::reconfigure`]: settings read again while the server runs (SIGHUP,
//! the console's `/reload`), applied without dropping anyone.

use crate::{Hub, HubConfig};

/// The hub settings a running hub cannot change: they shaped what already
/// exists (every client's protocol, the rooms' history rings and their
/// budget, the operator's reserved nick). A reload keeps the old values;
/// the server names them in its log as needing a restart.
pub const RESTART_ONLY: [&str; 5] = [
    "framing",
    "history_lines",
    "history_memory_bytes",
    "operator_name",
    "server_name",
];

impl Hub {
    /// Takes `config` as the settings from now on, except [`RESTART_ONLY`]
    /// and what does not come from the file (`echo_messages`, `cluster`),
    /// which keep their values. Connected clients stay; what changed applies
    /// from the next event on: the MOTD to the next welcome, limits and
    /// flood settings to the next connection or line, the password to the
    /// next login, operators to the next `/oper`, the timestamp to the next
    /// line sent, the retention to the next history read.
    pub fn reconfigure(&mut self, config: HubConfig) {
        let old = &self.config;
        let config = HubConfig {
            framing: old.framing,
            history_lines: old.history_lines,
            server_name: old.server_name.clone(),
            history_memory_bytes: old.history_memory_bytes,
            operator_name: old.operator_name.clone(),
            echo_messages: old.echo_messages,
            cluster: old.cluster.clone(),
            ..config
        };
        if config.timestamp != old.timestamp {
            self.chat.set_timestamp(config.timestamp);
        }
        self.operators.set_list(&config.operators);
        self.config = config;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Operator, Protocol, TimestampFormat};

    #[test]
    fn live_settings_change_and_restart_only_ones_stay() {
        let mut hub = Hub::new(HubConfig::default());
        let new = HubConfig {
            motd: "new day".into(),
            max_clients: 7,
            flood_rate: 1.0,
            password: Some("sesame".into()),
            timestamp: TimestampFormat::Utc,
            operators: vec![Operator {
                name: "alice".into(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
                    .into(),
            }],
            framing: Protocol::Raw,
            history_lines: 3,
            operator_name: "boss".into(),
            echo_messages: true,
            ..HubConfig::default()
        };
        hub.reconfigure(new);
        let config = hub.config();
        assert_eq!(config.motd, "new day");
        assert_eq!(config.max_clients, 7);
        assert_eq!(config.password.as_deref(), Some("sesame"));
        assert_eq!(config.timestamp, TimestampFormat::Utc);
        assert_eq!(config.operators.len(), 1);
        let defaults = HubConfig::default();
        assert_eq!(config.framing, defaults.framing);
        assert_eq!(config.history_lines, defaults.history_lines);
        assert_eq!(config.operator_name, defaults.operator_name);
        assert!(!config.echo_messages);
    }
}
