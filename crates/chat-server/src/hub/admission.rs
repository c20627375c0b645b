//! Admission: the server password, operators' rights, and bans.
//!
//! Where `password` is set a new connection is a [`PendingLogin`]: it is in
//! no room, has no nick and sees nothing until its first line is
//! `/pass PASSWORD` (compared in constant time). A wrong password gets one
//! notice and the connection is closed; an address with too many recent
//! failures is refused at once for a while. Operators (`[[operators]]`, an
//! argon2 hash each) gain `/kick`, `/ban`, `/unban`, `/bans`, `/topic TEXT`
//! and `/motd TEXT` with `/oper NAME PASSWORD`. Bans live in memory and
//! expire.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use chat_proto::{Body, Frame, LineDecoder, Notice, nick_key, raw_message};
use ipnet::IpNet;
use subtle::ConstantTimeEq;

use super::{ClientId, Framing, Hub, Now, Outbox};

/// Failed logins (passwords or `/oper`) from one address within
/// [`FAILURE_WINDOW`] seconds before it is refused outright.
const MAX_FAILURES: u32 = 5;
const FAILURE_WINDOW: i64 = 60;
/// `/ban` without a duration.
const DEFAULT_BAN_SECONDS: i64 = 3600;

/// An `[[operators]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub name: String,
    /// An argon2 hash in PHC form (`chat-server --hash-password` makes one).
    pub password_hash: String,
}

/// A connection that has not given the password yet.
#[derive(Debug)]
pub(crate) struct PendingLogin {
    pub(crate) peer: SocketAddr,
    framing: Framing,
    decoder: LineDecoder,
    pub(crate) connected_at: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Ban {
    net: IpNet,
    /// Unix seconds.
    until: i64,
    by: String,
}

#[derive(Debug, Default)]
pub(crate) struct Failures {
    count: u32,
    since: i64,
}

/// Bans and login failures, kept by the hub.
#[derive(Debug, Default)]
pub(crate) struct Admission {
    pub(crate) pending: HashMap<ClientId, PendingLogin>,
    bans: Vec<Ban>,
    failures: HashMap<IpAddr, Failures>,
}

/// The address range a ban on one address covers: the address, or its /64.
fn ban_range(ip: IpAddr) -> IpNet {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(_) => IpNet::from(ip),
        IpAddr::V6(_) => IpNet::new(ip, 64).map_or(IpNet::from(ip), |net| net.trunc()),
    }
}

/// `30s`, `10m`, `2h`, `1d` (a bare number is minutes).
fn parse_duration(text: &str) -> Option<i64> {
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

impl Admission {
    pub(crate) fn banned(&mut self, ip: IpAddr, now: i64) -> bool {
        self.bans.retain(|ban| ban.until > now);
        let ip = ban_range(ip).addr();
        self.bans.iter().any(|ban| ban.net.contains(&ip))
    }

    fn too_many_failures(&mut self, ip: IpAddr, now: i64) -> bool {
        let key = ban_range(ip).addr();
        match self.failures.get(&key) {
            Some(f) if now - f.since < FAILURE_WINDOW => f.count >= MAX_FAILURES,
            Some(_) => {
                self.failures.remove(&key);
                false
            }
            None => false,
        }
    }

    fn record_failure(&mut self, ip: IpAddr, now: i64) {
        let entry = self.failures.entry(ban_range(ip).addr()).or_default();
        if now - entry.since >= FAILURE_WINDOW {
            *entry = Failures {
                count: 0,
                since: now,
            };
        }
        entry.count += 1;
    }
}

impl Hub {
    /// A new connection where a password is required: it waits, unseen.
    pub(crate) fn await_login(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        peer: SocketAddr,
        now: Now,
    ) {
        let framing = self.config.framing;
        let login = PendingLogin {
            peer,
            framing,
            decoder: LineDecoder::new(self.config.max_line_bytes),
            connected_at: now.timestamp(),
        };
        self.admission.pending.insert(id, login);
        if framing == Framing::Line {
            let body = Body::Notice(Notice::Info {
                text: "password required: send /pass PASSWORD",
            });
            out.send(id, self.encoder.encode(framing, now, &body));
        }
    }

    /// Bytes from a connection that has not logged in: only its first line
    /// counts, and it must be `/pass` with the right password.
    pub(crate) fn login_received(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        data: &[u8],
        now: Now,
    ) {
        let Some(login) = self.admission.pending.get_mut(&id) else {
            return;
        };
        // Logging in is rare: owned lines are fine here, unlike the hot path.
        let mut lines: Vec<Result<Vec<u8>, ()>> = Vec::new();
        match login.framing {
            Framing::Raw => lines.push(
                raw_message(data, self.config.max_line_bytes)
                    .map(<[u8]>::to_vec)
                    .ok_or(()),
            ),
            Framing::Line => login.decoder.decode(data, |frame| {
                lines.push(match frame {
                    Frame::Line(line) => Ok(line.to_vec()),
                    Frame::TooLong => Err(()),
                });
            }),
        }
        let mut lines = lines.into_iter();
        let first = lines.next();
        let Some(first) = first else { return };
        let Some(login) = self.admission.pending.remove(&id) else {
            return;
        };
        let password = self.config.password.as_deref().unwrap_or_default();
        let given = first.ok().and_then(|line| {
            let text = String::from_utf8(line).ok()?;
            let rest = text
                .strip_prefix("/pass ")
                .or_else(|| text.strip_prefix("/PASS "))?;
            Some(rest.trim().to_owned())
        });
        let right =
            given.is_some_and(|given| bool::from(given.as_bytes().ct_eq(password.as_bytes())));
        if right {
            self.admit(out, id, login.peer, now);
            // What came right behind /pass is not lost: whole lines now, a
            // partial one with the decoder that holds it.
            if let Some(client) = self.clients.get_mut(id) {
                client.decoder = login.decoder;
            }
            for line in lines {
                match line {
                    Ok(line) => self.line(out, id, &line, now),
                    Err(()) => self.too_long(out, id, now),
                }
            }
            return;
        }
        self.admission
            .record_failure(login.peer.ip(), now.timestamp());
        self.per_address.remove(login.peer.ip());
        // The secret is never logged, right or wrong.
        out.console(&format!("wrong password from {}", login.peer));
        let body = Body::Notice(Notice::Error {
            text: "wrong password",
        });
        out.send(id, self.encoder.encode(login.framing, now, &body));
        out.close(id);
    }

    /// A pending login went away.
    pub(crate) fn login_gone(&mut self, id: ClientId) -> bool {
        match self.admission.pending.remove(&id) {
            Some(login) => {
                self.per_address.remove(login.peer.ip());
                true
            }
            None => false,
        }
    }

    /// Why `peer` may not even try: banned, or too many failed logins.
    pub(crate) fn barred(&mut self, peer: SocketAddr, now: Now) -> Option<&'static str> {
        let now = now.timestamp();
        if self.admission.banned(peer.ip(), now) {
            return Some("you are banned from this server");
        }
        if self.config.password.is_some() && self.admission.too_many_failures(peer.ip(), now) {
            return Some("too many failed logins from your address; try again later");
        }
        None
    }

    pub(crate) fn is_operator(&self, id: ClientId) -> bool {
        self.clients
            .get(id)
            .is_some_and(|client| client.operator.is_some())
    }

    /// `/oper NAME PASSWORD`.
    pub(crate) fn oper(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        name: &str,
        password: &str,
        now: Now,
    ) {
        let Some(peer) = self.clients.get(id).map(|c| c.peer) else {
            return;
        };
        if self.admission.too_many_failures(peer.ip(), now.timestamp()) {
            return self.error(
                out,
                id,
                "too many failed logins from your address; try again later",
                now,
            );
        }
        let entry = self.config.operators.iter().find(|op| op.name == name);
        // Verifying is deliberately slow (argon2): it runs only for /oper,
        // and failures are rate-limited per address.
        let verified = entry.is_some_and(|op| {
            PasswordHash::new(&op.password_hash).is_ok_and(|hash| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
        });
        if !verified {
            self.admission.record_failure(peer.ip(), now.timestamp());
            out.console(&format!("failed /oper {name} from {peer}"));
            return self.error(out, id, "wrong operator name or password", now);
        }
        if let Some(client) = self.clients.get_mut(id) {
            client.operator = Some(name.to_owned());
        }
        out.console(&format!(
            "{} ({peer}) is now operator {name}",
            self.nick(id).unwrap_or_default()
        ));
        self.info(
            out,
            id,
            "you are now an operator: /kick /ban /unban /bans /topic /motd",
            now,
        );
    }

    /// Bans `target` (an address, a range or a nick's address) and closes
    /// every client it covers. `by` is who asked.
    pub(crate) fn ban(
        &mut self,
        out: &mut dyn Outbox,
        by: &str,
        target: &str,
        duration: Option<&str>,
        now: Now,
    ) -> Result<String, String> {
        let seconds = match duration {
            None => DEFAULT_BAN_SECONDS,
            Some(text) => parse_duration(text)
                .ok_or_else(|| format!("{text:?} is not a duration like 30s, 10m, 2h or 1d"))?,
        };
        let net = self.target_range(target)?;
        self.admission.bans.push(Ban {
            net,
            until: now.timestamp() + seconds,
            by: by.to_owned(),
        });
        let covered: Vec<ClientId> = self
            .clients
            .iter()
            .filter(|(_, client)| net.contains(&ban_range(client.peer.ip()).addr()))
            .map(|(id, _)| id)
            .collect();
        for victim in &covered {
            self.info(out, *victim, &format!("you were banned by {by}"), now);
            self.remove(out, *victim, &format!("banned by {by}"), now);
            out.close(*victim);
        }
        let message = format!(
            "banned {net} for {seconds}s ({} disconnected)",
            covered.len()
        );
        out.console(&format!("{by}: {message}"));
        Ok(message)
    }

    pub(crate) fn unban(&mut self, target: &str) -> Result<String, String> {
        let net = self.target_range(target)?;
        let before = self.admission.bans.len();
        self.admission.bans.retain(|ban| ban.net != net);
        match before - self.admission.bans.len() {
            0 => Err(format!("{net} is not banned")),
            _ => Ok(format!("unbanned {net}")),
        }
    }

    pub(crate) fn ban_list(&mut self, now: Now) -> Vec<String> {
        let now = now.timestamp();
        self.admission.bans.retain(|ban| ban.until > now);
        if self.admission.bans.is_empty() {
            return vec!["no bans".into()];
        }
        self.admission
            .bans
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

    /// An address, a CIDR range, or a connected nick's address.
    fn target_range(&self, target: &str) -> Result<IpNet, String> {
        if let Ok(net) = target.parse::<IpNet>() {
            return Ok(net.trunc());
        }
        if let Ok(ip) = target.parse::<IpAddr>() {
            return Ok(ban_range(ip));
        }
        match self
            .nicks
            .get(&nick_key(target))
            .and_then(|&id| self.clients.get(id))
        {
            Some(client) => Ok(ban_range(client.peer.ip())),
            None => Err(format!(
                "{target} is neither an address, a range nor a connected nick"
            )),
        }
    }

    /// Sets the topic of `id`'s room and tells the room (if small enough).
    pub(crate) fn set_topic(&mut self, out: &mut dyn Outbox, id: ClientId, text: &str, now: Now) {
        let Some(room) = self.clients.get(id).map(|c| c.seat.room) else {
            return;
        };
        self.rooms.set_topic(room, text);
        let room = self.rooms.get(room);
        let body = Body::Notice(Notice::Topic {
            room: &room.name,
            text: &room.topic,
        });
        let to = self.announcement(&room.members, &id);
        self.stats.deliveries += self.encoder.send_many(out, &self.clients, to, now, &body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let range = ban_range("2001:db8::1".parse().unwrap_or(IpAddr::from([0; 4])));
        assert_eq!(range.to_string(), "2001:db8::/64");
        let mapped = ban_range("::ffff:10.0.0.1".parse().unwrap_or(IpAddr::from([0; 4])));
        assert_eq!(mapped.to_string(), "10.0.0.1/32");
    }
}
