//! The hub's settings, each defined once: its name, type, default and doc.
//!
//! [`hub_settings!`] is the list. This crate builds [`HubConfig`] from it;
//! chat-server builds the matching keys of `server.toml` from the same list
//! (the `toml = "..."` part names the serde adapter it uses there, and is
//! ignored here, since this crate never depends on serde). Adding a setting
//! is one entry in the list: the file, the defaults, `--print-config` and the
//! hub all follow.

use std::fmt;
use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net};

use crate::cluster::ClusterSettings;

/// Hands the list of hub settings to `$then!`, one entry per setting:
/// `/// doc`, `name: Type = default`, optionally `, toml = "adapter"`, `;`.
#[macro_export]
macro_rules! hub_settings {
    ($then:ident) => {
        $then! {
            /// `line` or `raw` (the tutorial's chunk framing).
            framing: $crate::Protocol = $crate::Protocol::Line, toml = "named";
            /// Longest line a client may send, in bytes.
            max_line_bytes: usize = 4096;
            /// The room every client starts in.
            default_room: String = "lobby".into();
            /// Rooms one client may be in at once (`/join` past it is
            /// refused; `/part` one first).
            max_rooms_per_client: usize = 20;
            /// Sent in the welcome notice.
            motd: String = "Type /help for commands.".into();
            /// `ctime`, `utc` or `rfc3339`.
            timestamp: $crate::TimestampFormat = $crate::TimestampFormat::Ctime, toml = "named";
            /// The server's name, as IRC clients see it (the source of its
            /// replies): letters, digits, `.` and `-`.
            server_name: String = "chat.local".into();
            /// The name the operator speaks as; no client may take it.
            operator_name: String = "operator".into();
            /// Joins, leaves and nick changes are announced to a room only
            /// while it has at most this many members, so a join costs the
            /// same in a room of twenty thousand as in an empty one.
            announce_limit: usize = 200;
            /// Address ranges the per-address and flood limits do not apply to
            /// (the failed-login lockout and the cap on logins in progress do);
            /// a range inside `::ffff:0:0/96` counts as the IPv4 range it maps.
            exempt: Vec<$crate::IpNet> = $crate::loopback(), toml = "networks";
            /// Clients at once; more get `server full`.
            max_clients: usize = 10_000;
            /// Clients at once from one address (IPv6: one /64).
            max_clients_per_ip: usize = 20;
            /// Lines per second per client before lines are delayed; 0 = off.
            flood_rate: f64 = 5.0;
            /// Lines a client may send at once before the rate applies.
            flood_burst: u32 = 10;
            /// Seconds a silent new client may stay while the server is full
            /// (and a login may take); 0 = off.
            handshake_timeout: u64 = 10;
            /// Seconds without a line before a client is closed; 0 = off.
            idle_timeout: u64 = 0;
            /// A client's first line must be `/pass` with this. Never printed.
            password: Option<String> = None, toml = "secret";
            /// Lines of history a joining client gets first; 0 = off. A room
            /// keeps four times as many (at most 1000) for `/history`.
            history_lines: usize = 50;
            /// Bytes of history every room together may keep in memory; past
            /// it the oldest lines of the largest rooms go first.
            history_memory_bytes: usize = 64 * 1024 * 1024;
            /// How long history is kept: `30d`, `12h`, `90m`, `45s` or
            /// `forever`. An older line is never sent; in a cluster a room's
            /// stream is trimmed to it and expires this long after its last
            /// line.
            history_retention: $crate::Retention = $crate::Retention::DEFAULT, toml = "retention";
            /// Who may become an operator with `/oper NAME PASSWORD`.
            operators: Vec<$crate::Operator> = Vec::new(), toml = "operators";
            /// `[accounts]`: who may register (`registration = "open"`,
            /// `"operators"` or `"closed"`), whether an account's nick is
            /// its own (`nick_enforcement`), and on how many connections
            /// at once (`max_connections_per_account`).
            accounts: $crate::AccountSettings = $crate::AccountSettings::default(), toml = "accounts";
        }
    };
}

macro_rules! define_hub_config {
    ($( $(#[$doc:meta])* $name:ident : $type:ty = $default:expr $(, toml = $adapter:literal)? ;)*) => {
        /// What the hub needs to know: the settings of [`hub_settings!`], and
        /// two that do not come from the file.
        #[derive(Debug, Clone, PartialEq)]
        pub struct HubConfig {
            $( $(#[$doc])* pub $name: $type, )*
            /// Show every client message on the console (on when an operator
            /// watches).
            pub echo_messages: bool,
            /// Set: this server is one node of a cluster.
            pub cluster: Option<ClusterSettings>,
        }

        impl Default for HubConfig {
            fn default() -> HubConfig {
                HubConfig {
                    $( $name: $default, )*
                    echo_messages: false,
                    cluster: None,
                }
            }
        }
    };
}

hub_settings!(define_hub_config);

/// The most lines a room keeps for `/history`.
pub const MAX_HISTORY_KEEP: usize = 1000;

/// The default `exempt`: loopback, where tests and local tools connect from.
pub fn loopback() -> Vec<IpNet> {
    // Literals known to parse; `filter_map` only to avoid an unwrap.
    ["127.0.0.0/8", "::1/128"]
        .iter()
        .filter_map(|net| net.parse().ok())
        .collect()
}

impl HubConfig {
    /// Lines a room keeps: four times `history_lines`, at most
    /// [`MAX_HISTORY_KEEP`].
    pub fn history_keep(&self) -> usize {
        self.history_lines.saturating_mul(4).min(MAX_HISTORY_KEEP)
    }

    /// Delayed lines a flooding client may have before it is warned.
    pub fn flood_queue(&self) -> usize {
        (self.flood_burst as usize).max(8)
    }

    /// In an `exempt` range (an IPv4-mapped address counts as IPv4).
    pub fn is_exempt(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.exempt
            .iter()
            .any(|&net| canonical_net(net).contains(&ip))
    }
}

/// An IPv4-mapped IPv6 address is its IPv4 address.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// A range as it is matched (in bans and `exempt`): truncated to its
/// prefix, and a range inside `::ffff:0:0/96` as the IPv4 range it maps,
/// since clients' IPv4-mapped addresses are matched as IPv4.
pub(crate) fn canonical_net(net: IpNet) -> IpNet {
    let net = net.trunc();
    if let IpNet::V6(v6) = net
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && v6.prefix_len() >= 96
        && let Ok(v4) = Ipv4Net::new(v4, v6.prefix_len() - 96)
    {
        return IpNet::V4(v4.trunc());
    }
    net
}

/// How long history is kept (`history_retention`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    Forever,
    /// Seconds: at least 1, at most [`Retention::MAX_SECONDS`].
    Seconds(u64),
}

impl Retention {
    /// Thirty days.
    pub const DEFAULT: Retention = Retention::Seconds(30 * 86_400);
    /// Ten years; longer is `forever`.
    pub const MAX_SECONDS: u64 = 3650 * 86_400;
    const UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3600), ('m', 60), ('s', 1)];

    /// `30d`, `12h`, `90m`, `45s` or `forever`.
    pub fn parse(text: &str) -> Result<Retention, String> {
        if text == "forever" {
            return Ok(Retention::Forever);
        }
        let unit = text.chars().last().and_then(|last| {
            let &(_, scale) = Retention::UNITS.iter().find(|&&(unit, _)| unit == last)?;
            let number = text[..text.len() - 1].parse::<u64>().ok()?;
            Some(number.saturating_mul(scale))
        });
        match unit {
            None => Err(format!(
                "{text:?} is not a duration like \"30d\", \"12h\", \"90m\", \"45s\" or \"forever\""
            )),
            Some(0) => Err(
                "must be longer than 0 (\"forever\" keeps history for ever; history_lines = 0 keeps none)"
                    .into(),
            ),
            Some(seconds) if seconds > Retention::MAX_SECONDS => {
                Err("must be at most 3650d (or \"forever\")".into())
            }
            Some(seconds) => Ok(Retention::Seconds(seconds)),
        }
    }

    /// `None`: forever.
    pub fn seconds(self) -> Option<u64> {
        match self {
            Retention::Forever => None,
            Retention::Seconds(seconds) => Some(seconds),
        }
    }

    /// The oldest second (Unix) whose lines are still kept at `now`.
    pub fn since(self, now: i64) -> i64 {
        self.seconds()
            .and_then(|seconds| i64::try_from(seconds).ok())
            .map_or(i64::MIN, |seconds| now.saturating_sub(seconds))
    }
}

/// In the largest unit that is exact: `30d`, `36h`, `forever`.
impl fmt::Display for Retention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Retention::Seconds(seconds) = *self else {
            return f.write_str("forever");
        };
        let (unit, scale) = Retention::UNITS
            .into_iter()
            .find(|&(_, scale)| seconds % scale == 0)
            .unwrap_or(('s', 1));
        write!(f, "{}{unit}", seconds / scale)
    }
}

/// An `[[operators]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub name: String,
    /// An argon2 hash in PHC form (`chat-server --hash-password` makes one).
    pub password_hash: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_exempt_by_default_and_nothing_else_is() {
        let config = HubConfig::default();
        assert!(config.is_exempt("127.0.0.1".parse().unwrap_or(IpAddr::from([0; 4]))));
        assert!(config.is_exempt("127.9.9.9".parse().unwrap_or(IpAddr::from([0; 4]))));
        assert!(config.is_exempt("::ffff:127.0.0.1".parse().unwrap_or(IpAddr::from([0; 4]))));
        assert!(config.is_exempt("::1".parse().unwrap_or(IpAddr::from([0; 4]))));
        assert!(!config.is_exempt("10.0.0.1".parse().unwrap_or(IpAddr::from([127, 0, 0, 1]))));
        let mapped = HubConfig {
            exempt: vec![
                "::ffff:10.0.0.0/104"
                    .parse()
                    .unwrap_or_else(|e| panic!("{e}")),
            ],
            ..HubConfig::default()
        };
        assert!(mapped.is_exempt("10.1.2.3".parse().unwrap_or(IpAddr::from([0; 4]))));
        assert!(mapped.is_exempt("::ffff:10.1.2.3".parse().unwrap_or(IpAddr::from([0; 4]))));
        assert!(!mapped.is_exempt("11.0.0.1".parse().unwrap_or(IpAddr::from([10, 0, 0, 1]))));
        let names: Vec<String> = config.exempt.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["127.0.0.0/8", "::1/128"]);
    }

    #[test]
    fn retention_is_a_duration_or_forever_and_prints_back() {
        for (text, seconds) in [
            ("30d", Some(30 * 86_400)),
            ("36h", Some(36 * 3600)),
            ("90m", Some(5400)),
            ("45s", Some(45)),
            ("forever", None),
            ("3650d", Some(Retention::MAX_SECONDS)),
        ] {
            let retention = Retention::parse(text);
            assert_eq!(retention.clone().map(Retention::seconds), Ok(seconds));
            assert_eq!(retention.map(|r| r.to_string()), Ok(text.to_owned()));
        }
        assert_eq!(
            Retention::parse("60m").map(|r| r.to_string()),
            Ok("1h".into())
        );
        for bad in [
            "",
            "30",
            "d",
            "5y",
            "-1d",
            "1.5h",
            "0s",
            "3651d",
            "99999999999999999999d",
        ] {
            assert!(Retention::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Retention::Seconds(60).since(1000), 940);
        assert_eq!(Retention::Forever.since(1000), i64::MIN);
    }
}
