//! Bans: address ranges refused until they expire.
//!
//! A ban on one address covers that address (IPv4) or its /64 (IPv6), and
//! an IPv4-mapped address counts as its IPv4 address. Bans live in memory.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::config::canonical;

/// `/ban` without a duration.
pub(crate) const DEFAULT_BAN_SECONDS: i64 = 3600;

#[derive(Debug, Clone)]
struct Ban {
    net: IpNet,
    /// Unix seconds.
    until: i64,
    by: String,
}

#[derive(Debug, Default)]
pub(crate) struct Bans(Vec<Ban>);

/// The address range a ban on one address covers: the address, or its /64.
pub(crate) fn ban_range(ip: IpAddr) -> IpNet {
    let ip = canonical(ip);
    match ip {
        IpAddr::V4(_) => IpNet::from(ip),
        IpAddr::V6(_) => IpNet::new(ip, 64).map_or(IpNet::from(ip), |net| net.trunc()),
    }
}

/// `30s`, `10m`, `2h`, `1d` (a bare number is minutes).
pub(crate) fn parse_duration(text: &str) -> Option<i64> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "m"),
    };
    let number: i64 = number.parse().ok()?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    number.checked_mul(scale).filter(|&s| s > 0)
}

impl Bans {
    /// Is `ip` covered by a ban in force at `now`?
    pub(crate) fn covers(&mut self, ip: IpAddr, now: i64) -> bool {
        self.expire(now);
        let ip = ban_range(ip).addr();
        self.0.iter().any(|ban| ban.net.contains(&ip))
    }

    /// Would a ban on `net` cover `ip`?
    pub(crate) fn range_covers(net: IpNet, ip: IpAddr) -> bool {
        net.contains(&ban_range(ip).addr())
    }

    pub(crate) fn add(&mut self, net: IpNet, until: i64, by: &str) {
        self.0.push(Ban {
            net,
            until,
            by: by.to_owned(),
        });
    }

    /// Lifts the bans on exactly `net`; `false` if there were none.
    pub(crate) fn remove(&mut self, net: IpNet) -> bool {
        let before = self.0.len();
        self.0.retain(|ban| ban.net != net);
        self.0.len() != before
    }

    /// When the ban on exactly `net` ends, if there is one.
    pub(crate) fn until(&self, net: IpNet) -> Option<i64> {
        self.0
            .iter()
            .filter(|ban| ban.net == net)
            .map(|ban| ban.until)
            .max()
    }

    /// One line per ban in force, for `/bans`.
    pub(crate) fn list(&mut self, now: i64) -> Vec<String> {
        self.expire(now);
        if self.0.is_empty() {
            return vec!["no bans".into()];
        }
        self.0
            .iter()
            .map(|ban| {
                format!(
                    "ban {} for {}s more, by {}",
                    ban.net,
                    ban.until - now,
                    ban.by
                )
            })
            .collect()
    }

    fn expire(&mut self, now: i64) {
        self.0.retain(|ban| ban.until > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(30));
        assert_eq!(parse_duration("10m"), Some(600));
        assert_eq!(parse_duration("10"), Some(600));
        assert_eq!(parse_duration("2h"), Some(7200));
        assert_eq!(parse_duration("1d"), Some(86_400));
        assert_eq!(parse_duration("0m"), None);
        assert_eq!(parse_duration("5y"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("99999999999999999d"), None);
    }

    #[test]
    fn ipv6_bans_cover_the_slash_64() {
        assert_eq!(ban_range(ip("2001:db8::1")).to_string(), "2001:db8::/64");
        assert_eq!(ban_range(ip("::ffff:10.0.0.1")).to_string(), "10.0.0.1/32");
    }

    #[test]
    fn a_ban_covers_its_range_until_it_expires_and_can_be_lifted() {
        let mut bans = Bans::default();
        bans.add(ban_range(ip("10.0.0.1")), 100, "op");
        assert!(bans.covers(ip("10.0.0.1"), 99));
        assert!(bans.covers(ip("::ffff:10.0.0.1"), 99));
        assert!(!bans.covers(ip("10.0.0.2"), 99));
        assert!(!bans.covers(ip("10.0.0.1"), 100));
        assert_eq!(bans.list(100), ["no bans"]);
        bans.add(ban_range(ip("10.0.0.1")), 200, "op");
        assert_eq!(bans.list(150), ["ban 10.0.0.1/32 for 50s more, by op"]);
        assert!(bans.remove(ban_range(ip("10.0.0.1"))));
        assert!(!bans.remove(ban_range(ip("10.0.0.1"))));
    }
}
