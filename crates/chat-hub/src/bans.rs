//! Bans: address ranges refused until they expire.
//!
//! A ban is a range, matched against the client's own address: an
//! IPv4-mapped address (`::ffff:a.b.c.d`) is its IPv4 address, and a range
//! inside `::ffff:0:0/96` is the IPv4 range it maps (`::ffff:127.0.0.0/104`
//! is `127.0.0.0/8`). A ban on one address bans exactly that address; the
//! /64 grouping of IPv6 is admission's, for counting connections and failed
//! logins, never for bans. Bans live in memory, for at most
//! [`MAX_BAN_SECONDS`].

use std::net::IpAddr;

use ipnet::IpNet;

use crate::config::{canonical, canonical_net};

/// `/ban` without a duration.
pub(crate) const DEFAULT_BAN_SECONDS: i64 = 3600;

/// The longest ban: ten years (`3650d`).
pub(crate) const MAX_BAN_SECONDS: i64 = 3650 * 86_400;

#[derive(Debug, Clone)]
struct Ban {
    net: IpNet,
    /// Unix seconds.
    until: i64,
    by: String,
}

#[derive(Debug, Default)]
pub(crate) struct Bans(Vec<Ban>);

/// The range a ban on one address covers: that address alone (an
/// IPv4-mapped address as IPv4).
pub(crate) fn address_net(ip: IpAddr) -> IpNet {
    IpNet::from(canonical(ip))
}

/// What `/ban TARGET` and `/unban TARGET` mean: an address, a CIDR range,
/// or the address of the connected nick `nick_address` finds.
pub(crate) fn target_range(
    target: &str,
    nick_address: impl FnOnce(&str) -> Option<IpAddr>,
) -> Result<IpNet, String> {
    if let Ok(net) = target.parse::<IpNet>() {
        return Ok(canonical_net(net));
    }
    if let Ok(ip) = target.parse() {
        return Ok(address_net(ip));
    }
    nick_address(target)
        .map(address_net)
        .ok_or_else(|| format!("{target} is neither an address, a range nor a connected nick"))
}

/// `30s`, `10m`, `2h`, `1d` (a bare number is minutes), in seconds: more
/// than zero, at most [`MAX_BAN_SECONDS`]. The error is the answer to give.
pub(crate) fn parse_duration(text: &str) -> Result<i64, String> {
    let not_a_duration = || format!("{text:?} is not a duration like 30s, 10m, 2h or 1d");
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "m"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(not_a_duration()),
    };
    let too_long = || format!("{text} is too long: a ban lasts at most 3650d");
    // All digits: a number too big for i64 is too long, not malformed.
    let number: i64 = match number.parse() {
        Ok(number) => number,
        Err(_) if !number.is_empty() => return Err(too_long()),
        Err(_) => return Err(not_a_duration()),
    };
    match number.checked_mul(scale) {
        Some(0) => Err(not_a_duration()),
        Some(seconds) if seconds <= MAX_BAN_SECONDS => Ok(seconds),
        _ => Err(too_long()),
    }
}

impl Bans {
    /// Is `ip` covered by a ban in force at `now`?
    pub(crate) fn covers(&mut self, ip: IpAddr, now: i64) -> bool {
        self.expire(now);
        self.0.iter().any(|ban| Bans::range_covers(ban.net, ip))
    }

    /// Would a ban on `net` cover `ip`?
    pub(crate) fn range_covers(net: IpNet, ip: IpAddr) -> bool {
        canonical_net(net).contains(&canonical(ip))
    }

    /// Bans `net` from `now` for `seconds`; `Err` (and no ban) if its end
    /// cannot be counted.
    pub(crate) fn add(
        &mut self,
        net: IpNet,
        now: i64,
        seconds: i64,
        by: &str,
    ) -> Result<(), String> {
        let until = now
            .checked_add(seconds)
            .ok_or_else(|| format!("a ban of {seconds}s from now ends beyond the calendar"))?;
        self.0.push(Ban {
            net: canonical_net(net),
            until,
            by: by.to_owned(),
        });
        Ok(())
    }

    /// Lifts the bans on exactly `net`; `false` if there were none.
    pub(crate) fn remove(&mut self, net: IpNet) -> bool {
        let net = canonical_net(net);
        let before = self.0.len();
        self.0.retain(|ban| ban.net != net);
        self.0.len() != before
    }

    /// When the ban on exactly `net` ends, if there is one.
    pub(crate) fn until(&self, net: IpNet) -> Option<i64> {
        let net = canonical_net(net);
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
                    ban.until.saturating_sub(now),
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

    fn net(text: &str) -> IpNet {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(30));
        assert_eq!(parse_duration("10m"), Ok(600));
        assert_eq!(parse_duration("10"), Ok(600));
        assert_eq!(parse_duration("2h"), Ok(7200));
        assert_eq!(parse_duration("1d"), Ok(86_400));
        assert_eq!(parse_duration("3650d"), Ok(MAX_BAN_SECONDS));
        let malformed = |text: &str| {
            Err(format!(
                "{text:?} is not a duration like 30s, 10m, 2h or 1d"
            ))
        };
        assert_eq!(parse_duration("0m"), malformed("0m"));
        assert_eq!(parse_duration("5y"), malformed("5y"));
        assert_eq!(parse_duration("h"), malformed("h"));
        assert_eq!(parse_duration(""), malformed(""));
    }

    #[test]
    fn a_huge_ban_duration_is_refused_not_wrapped() {
        for text in [
            "3651d",
            "9223372036854775807s",
            "9223372036854775807d",
            "99999999999999999999999s",
            "315360001s",
        ] {
            assert_eq!(
                parse_duration(text),
                Err(format!("{text} is too long: a ban lasts at most 3650d")),
            );
        }
        let mut bans = Bans::default();
        let end = bans.add(net("10.0.0.1/32"), i64::MAX - 10, 3600, "op");
        assert!(end.is_err(), "{end:?}");
        assert_eq!(bans.list(0), ["no bans"]);
        assert!(
            bans.add(net("10.0.0.1/32"), 100, MAX_BAN_SECONDS, "op")
                .is_ok()
        );
        assert!(bans.covers(ip("10.0.0.1"), 100 + MAX_BAN_SECONDS - 1));
    }

    #[test]
    fn a_ban_on_one_address_bans_exactly_that_address() {
        assert_eq!(
            address_net(ip("2001:db8::1")).to_string(),
            "2001:db8::1/128"
        );
        assert_eq!(
            address_net(ip("::ffff:10.0.0.1")).to_string(),
            "10.0.0.1/32"
        );
        let mut bans = Bans::default();
        assert!(
            bans.add(address_net(ip("2001:db8::1")), 0, 60, "op")
                .is_ok()
        );
        assert!(bans.covers(ip("2001:db8::1"), 1));
        assert!(!bans.covers(ip("2001:db8::2"), 1), "not its /64");
        assert!(bans.add(net("::1/128"), 0, 60, "op").is_ok());
        assert!(bans.covers(ip("::1"), 1));
        assert!(bans.add(net("2001:db9::/48"), 0, 60, "op").is_ok());
        assert!(bans.covers(ip("2001:db9:0:ffff::7"), 1));
    }

    #[test]
    fn ranges_inside_the_ipv4_mapped_block_are_ipv4_ranges() {
        assert_eq!(
            canonical_net(net("::ffff:127.0.0.0/104")).to_string(),
            "127.0.0.0/8"
        );
        assert_eq!(
            canonical_net(net("::ffff:10.1.2.3/128")).to_string(),
            "10.1.2.3/32"
        );
        assert_eq!(canonical_net(net("::ffff:0:0/96")).to_string(), "0.0.0.0/0");
        assert_eq!(canonical_net(net("10.9.9.9/8")).to_string(), "10.0.0.0/8");
        assert_eq!(
            canonical_net(net("2001:db8::1/64")).to_string(),
            "2001:db8::/64"
        );
        let mut bans = Bans::default();
        assert!(bans.add(net("::ffff:127.0.0.0/104"), 0, 60, "op").is_ok());
        assert!(bans.covers(ip("127.0.0.1"), 1));
        assert!(bans.covers(ip("::ffff:127.9.0.1"), 1));
        assert!(!bans.covers(ip("128.0.0.1"), 1));
        assert_eq!(bans.list(0), ["ban 127.0.0.0/8 for 60s more, by op"]);
        assert!(bans.remove(net("127.0.0.0/8")));
    }

    #[test]
    fn a_ban_covers_its_range_until_it_expires_and_can_be_lifted() {
        let mut bans = Bans::default();
        assert!(bans.add(address_net(ip("10.0.0.1")), 0, 100, "op").is_ok());
        assert!(bans.covers(ip("10.0.0.1"), 99));
        assert!(bans.covers(ip("::ffff:10.0.0.1"), 99));
        assert!(!bans.covers(ip("10.0.0.2"), 99));
        assert!(!bans.covers(ip("10.0.0.1"), 100));
        assert_eq!(bans.list(100), ["no bans"]);
        assert!(bans.add(address_net(ip("10.0.0.1")), 0, 200, "op").is_ok());
        assert_eq!(bans.list(150), ["ban 10.0.0.1/32 for 50s more, by op"]);
        assert!(bans.remove(address_net(ip("::ffff:10.0.0.1"))));
        assert!(!bans.remove(address_net(ip("10.0.0.1"))));
    }
}
