//! The whole hub on an arbitrary script of clients connecting, sending bytes
//! and leaving, of operator lines, of `/oper` verdicts and of time passing:
//! it never panics, and no byte it sends is a control character other than
//! the line feed ending each line.
//! (A send may hold several lines: history is sent as one batch; the first
//! crash this target found was that assumption, kept as a seed in the corpus.)
//!
//! The server has a password and an operator, and lines are often built from
//! an alphabet of logins and bans (`/pass`, `/oper`, `/ban`, `/unban`, IPv4,
//! IPv6 and IPv4-mapped targets, huge durations), so the fuzzer reaches the
//! login, lockout and ban paths rather than guessing their spelling.
#![no_main]

use bytes::Bytes;
use chat_hub::{ClientId, Hub, HubConfig, Operator, OperatorCheck, OperatorVerdict, Outbox};
use libfuzzer_sys::fuzz_target;

/// A cheap argon2id hash of `hunter2` (m=8 KiB, t=1), so a verdict costs
/// microseconds.
const ROOT_HASH: &str =
    "$argon2id$v=19$m=8,t=1,p=1$YSBmdXp6aW5nIHNhbHQ$Fxq33yqh0KqIzwkzwqV/eSsudQWUlwpkMA91/BNlRp4";

/// What lines are made of, one word per input byte.
const WORDS: &[&str] = &[
    "/pass ",
    "/PASS ",
    "s3cret",
    "wrong",
    "/oper ",
    "root ",
    "hunter2",
    "nobody ",
    "/ban ",
    "/unban ",
    "/bans",
    "/kick ",
    "guest1",
    "guest2",
    "10.0.0.1",
    "10.0.0.0/8",
    "10.0.0.2/31",
    "::ffff:10.0.0.0/104",
    "::ffff:0:0/96",
    "2001:db8::1",
    "2001:db8::/64",
    "::1/128",
    "0.0.0.0/0",
    " 30s",
    " 10m",
    " 0m",
    " 3650d",
    " 3651d",
    " 9223372036854775807s",
    " 99999999999999999999d",
    " ",
    "\n",
    "hello",
    "/quit",
    "/motd ",
    "/topic ",
];

/// Where clients come from: IPv4, IPv6 in one /64, IPv4-mapped, loopback.
const PEERS: &[&str] = &[
    "10.0.0.1:1",
    "10.0.0.2:1",
    "[2001:db8::1]:1",
    "[2001:db8::2]:1",
    "[::ffff:10.0.0.1]:1",
    "127.0.0.1:1",
    "[::1]:1",
];

struct Check {
    /// `/oper` checks handed over and not answered yet (at most four: a
    /// full queue is a path too).
    checks: Vec<OperatorCheck>,
}

impl Outbox for Check {
    fn send(&mut self, _to: ClientId, msg: Bytes) {
        let text = String::from_utf8(msg.to_vec()).expect("the server sends UTF-8");
        let lines = text.strip_suffix('\n').expect("line framing ends in LF");
        // One send may carry several lines (a room's history is sent at once).
        for line in lines.split('\n') {
            assert!(
                line.starts_with('['),
                "every line starts with its stamp: {line:?}"
            );
            assert!(
                line.chars().all(|c| c == '\t' || !c.is_control()),
                "{line:?}"
            );
        }
    }
    fn close(&mut self, _client: ClientId) {}
    fn console(&mut self, _line: &str) {}
    fn verify_operator(&mut self, check: OperatorCheck) -> bool {
        if self.checks.len() >= 4 {
            return false;
        }
        self.checks.push(check);
        true
    }
}

/// The line the bytes spell in [`WORDS`].
fn spelled(bytes: &[u8]) -> String {
    let mut line: String = bytes
        .iter()
        .map(|&b| WORDS[usize::from(b) % WORDS.len()])
        .collect();
    line.push('\n');
    line
}

fuzz_target!(|script: Vec<(u8, u8, Vec<u8>)>| {
    let mut now = chrono::DateTime::from_timestamp(1_790_000_000, 0)
        .unwrap_or_default()
        .fixed_offset();
    let config = HubConfig {
        max_line_bytes: 64,
        password: Some("s3cret".into()),
        operators: vec![Operator {
            name: "root".into(),
            password_hash: ROOT_HASH.into(),
        }],
        ..HubConfig::default()
    };
    let mut hub = Hub::new(config);
    let mut out = Check { checks: Vec::new() };
    for (op, client, bytes) in script {
        let id = ClientId(usize::from(client % 8));
        match op % 11 {
            0 => {
                let peer = PEERS[usize::from(client / 8) % PEERS.len()];
                let peer = peer.parse().expect("a literal address");
                let protocol = chat_hub::Protocol::Line;
                hub.connected(&mut out, id, chat_hub::Arrival { peer, protocol }, now);
            }
            1 => hub.received(&mut out, id, &bytes, now),
            2 | 3 => hub.received(&mut out, id, spelled(&bytes).as_bytes(), now),
            4 => hub.read_closed(&mut out, id, now),
            5 => hub.disconnected(&mut out, id, chat_hub::Gone::Closed, now),
            6 => hub.console_line(&mut out, spelled(&bytes).trim_end(), now),
            7 => hub.console_line(&mut out, &String::from_utf8_lossy(&bytes), now),
            // The verifier answers, in order, as the server's thread would.
            8 => {
                for check in std::mem::take(&mut out.checks) {
                    hub.operator_checked(&mut out, check.client, check.verdict(), now);
                }
            }
            // A verdict nobody asked for (a stale token, a client gone).
            9 => {
                let token = u64::from(bytes.first().copied().unwrap_or_default());
                let verdict = OperatorVerdict {
                    token,
                    matched: true,
                };
                hub.operator_checked(&mut out, id, verdict, now);
            }
            _ => {
                let seconds = bytes.iter().map(|&b| i64::from(b)).sum::<i64>();
                now += chrono::Duration::seconds(seconds);
                hub.tick(&mut out, now);
            }
        }
    }
});
