//! The hub driven as a state machine: events in, recorded actions out.

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::DateTime;

use super::*;

/// Records what the hub asked for.
#[derive(Default)]
struct Recorder {
    sent: BTreeMap<ClientId, Vec<Bytes>>,
    closed: Vec<ClientId>,
    console: Vec<String>,
    shutdown: bool,
}

impl Outbox for Recorder {
    fn send(&mut self, to: ClientId, msg: Bytes) {
        self.sent.entry(to).or_default().push(msg);
    }
    fn close(&mut self, client: ClientId) {
        self.closed.push(client);
    }
    fn console(&mut self, line: &str) {
        self.console.push(line.to_owned());
    }
    fn shutdown(&mut self) {
        self.shutdown = true;
    }
}

impl Recorder {
    /// Everything sent to `id` since the last call, as text.
    fn take(&mut self, id: u64) -> String {
        let sent = self.sent.remove(&ClientId(id as usize)).unwrap_or_default();
        sent.iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }
}

fn now() -> Now {
    DateTime::parse_from_rfc3339("2026-11-03T08:05:09+00:00").unwrap_or_else(|e| panic!("{e}"))
}

struct Fixture {
    hub: Hub,
    out: Recorder,
}

impl Fixture {
    fn new(config: HubConfig) -> Fixture {
        let mut hub = Hub::new(config);
        hub.start(now());
        Fixture {
            hub,
            out: Recorder::default(),
        }
    }

    fn connect(&mut self, id: u64) {
        let peer = format!("127.0.0.1:{}", 40000 + id)
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        self.hub
            .connected(&mut self.out, ClientId(id as usize), peer, now());
    }

    fn say(&mut self, id: u64, bytes: &str) {
        self.hub.received(
            &mut self.out,
            ClientId(id as usize),
            bytes.as_bytes(),
            now(),
        );
    }

    fn console(&mut self, line: &str) {
        self.hub.console_line(&mut self.out, line, now());
    }

    /// Connects `ids` and forgets what they were sent while joining.
    fn with_clients(ids: &[u64]) -> Fixture {
        let mut f = Fixture::new(HubConfig::default());
        for &id in ids {
            f.connect(id);
        }
        for &id in ids {
            f.out.take(id);
        }
        f
    }
}

#[test]
fn a_new_client_is_welcomed_into_the_lobby() {
    let mut f = Fixture::new(HubConfig {
        motd: "Be kind.".into(),
        ..HubConfig::default()
    });
    f.connect(1);
    f.connect(2);
    insta::assert_snapshot!(f.out.take(1), @r"
    [Tue Nov  3 08:05:09 2026] -!- Welcome, guest1! Be kind.
    [Tue Nov  3 08:05:09 2026] -!- guest1 joined lobby
    [Tue Nov  3 08:05:09 2026] -!- guest2 joined lobby
    ");
    assert_eq!(f.hub.nick(ClientId(2)), Some("guest2"));
}

#[test]
fn a_line_goes_to_everyone_else_in_the_room() {
    let mut f = Fixture::with_clients(&[1, 2, 3]);
    let before = f.hub.stats().deliveries;
    f.say(1, "hello\r\nsplit ");
    f.say(1, "line\n");
    assert_eq!(f.out.take(1), "", "no echo to the sender");
    let expected = "[Tue Nov  3 08:05:09 2026] <guest1> hello\n[Tue Nov  3 08:05:09 2026] <guest1> split line\n";
    assert_eq!(f.out.take(2), expected);
    assert_eq!(f.out.take(3), expected);
    assert_eq!(f.hub.stats().deliveries - before, 4);
}

#[test]
fn one_relayed_line_is_one_shared_buffer() {
    let mut f = Fixture::with_clients(&[1, 2, 3]);
    f.say(1, "shared\n");
    let to_2 = f.out.sent[&ClientId(2)][0].clone();
    let to_3 = f.out.sent[&ClientId(3)][0].clone();
    assert_eq!(
        to_2.as_ptr(),
        to_3.as_ptr(),
        "both recipients hold the same bytes"
    );
}

#[test]
fn control_characters_and_escapes_never_reach_others() {
    let mut f = Fixture::with_clients(&[1, 2]);
    f.say(1, "\x1b]0;owned\x07hi\x1b[2J\x07 \u{202e}there\n");
    f.hub
        .received(&mut f.out, ClientId(1), b"bad \xff utf8\n", now());
    assert_eq!(
        f.out.take(2),
        "[Tue Nov  3 08:05:09 2026] <guest1> hi there\n[Tue Nov  3 08:05:09 2026] <guest1> bad \u{fffd} utf8\n"
    );
}

#[test]
fn nick_changes_are_checked_and_announced() {
    let mut f = Fixture::with_clients(&[1, 2]);
    f.say(1, "/nick Alice\n");
    f.say(
        2,
        "/nick alice\n/nick OPERATOR\n/nick 9lives\n/nick b\u{200b}ob\n",
    );
    f.say(1, "/nick ALICE\n");
    insta::assert_snapshot!(f.out.take(2), @r#"
    [Tue Nov  3 08:05:09 2026] -!- guest1 is now known as Alice
    [Tue Nov  3 08:05:09 2026] -!- error: nick alice is taken
    [Tue Nov  3 08:05:09 2026] -!- error: nick OPERATOR is reserved
    [Tue Nov  3 08:05:09 2026] -!- error: nick "9lives" must start with a letter
    [Tue Nov  3 08:05:09 2026] -!- error: nick "b\u{200b}ob" may not contain '\u{200b}' (use letters, digits, '_' and '-')
    [Tue Nov  3 08:05:09 2026] -!- Alice is now known as ALICE
    "#);
    assert!(f.hub.has_nick("alice") && !f.hub.has_nick("guest1"));
}

#[test]
fn rooms_separate_traffic() {
    let mut f = Fixture::with_clients(&[1, 2, 3]);
    f.say(1, "/join #Dev\n");
    f.say(2, "/join dev\n/who\n");
    f.say(3, "only lobby hears this\n/rooms\n/join lobby\n");
    f.say(1, "in dev\n");
    insta::assert_snapshot!(f.out.take(1), @r"
    [Tue Nov  3 08:05:09 2026] -!- guest1 joined Dev
    [Tue Nov  3 08:05:09 2026] -!- guest2 joined Dev
    ");
    insta::assert_snapshot!(f.out.take(2), @r"
    [Tue Nov  3 08:05:09 2026] -!- guest1 left lobby
    [Tue Nov  3 08:05:09 2026] -!- guest2 joined Dev
    [Tue Nov  3 08:05:09 2026] -!- members of Dev (2): guest1 guest2
    [Tue Nov  3 08:05:09 2026] <guest1> in dev
    ");
    insta::assert_snapshot!(f.out.take(3), @r"
    [Tue Nov  3 08:05:09 2026] -!- guest1 left lobby
    [Tue Nov  3 08:05:09 2026] -!- guest2 left lobby
    [Tue Nov  3 08:05:09 2026] -!- rooms (2): Dev(2) lobby(1)
    [Tue Nov  3 08:05:09 2026] -!- error: you are already in lobby
    ");
}

#[test]
fn private_messages_actions_and_errors() {
    let mut f = Fixture::with_clients(&[1, 2, 3]);
    f.say(
        1,
        "/msg GUEST2 psst\n/msg nobody hi\n/me waves\n/frob\n/msg\n",
    );
    insta::assert_snapshot!(f.out.take(1), @r"
    [Tue Nov  3 08:05:09 2026] -> *guest2* psst
    [Tue Nov  3 08:05:09 2026] -!- error: no such nick: nobody
    [Tue Nov  3 08:05:09 2026] -!- error: unknown command /frob (try /help)
    [Tue Nov  3 08:05:09 2026] -!- error: usage: /msg NICK TEXT
    ");
    insta::assert_snapshot!(f.out.take(2), @r"
    [Tue Nov  3 08:05:09 2026] *guest1* psst
    [Tue Nov  3 08:05:09 2026] * guest1 waves
    ");
    assert_eq!(f.out.take(3), "[Tue Nov  3 08:05:09 2026] * guest1 waves\n");
}

#[test]
fn long_lines_are_refused_and_the_connection_stays() {
    let mut f = Fixture::new(HubConfig {
        max_line_bytes: 8,
        ..HubConfig::default()
    });
    f.connect(1);
    f.connect(2);
    f.out.take(1);
    f.out.take(2);
    f.say(1, "0123456789abcdef");
    f.say(1, "still the long line\nok\n");
    assert_eq!(
        f.out.take(1),
        "[Tue Nov  3 08:05:09 2026] -!- error: line too long (over 8 bytes), discarded\n"
    );
    assert_eq!(f.out.take(2), "[Tue Nov  3 08:05:09 2026] <guest1> ok\n");
}

#[test]
fn quit_and_half_close_leave_the_room() {
    let mut f = Fixture::with_clients(&[1, 2, 3]);
    f.say(1, "/quit see you\nthis is never said\n");
    f.say(2, "last words without newline");
    f.hub.read_closed(&mut f.out, ClientId(2), now());
    assert_eq!(f.out.closed, [ClientId(1), ClientId(2)]);
    insta::assert_snapshot!(f.out.take(3), @r"
    [Tue Nov  3 08:05:09 2026] -!- guest1 left lobby (quit: see you)
    [Tue Nov  3 08:05:09 2026] <guest2> last words without newline
    [Tue Nov  3 08:05:09 2026] -!- guest2 left lobby (quit)
    ");
    assert_eq!(f.hub.client_count(), 1);
    assert!(!f.hub.has_nick("guest1"));
}

#[test]
fn big_rooms_are_not_told_of_every_join() {
    let mut f = Fixture::new(HubConfig {
        announce_limit: 3,
        ..HubConfig::default()
    });
    for id in 1..=5 {
        f.connect(id);
    }
    let joins = |text: &str| text.matches("joined").count();
    assert_eq!(
        joins(&f.out.take(1)),
        3,
        "guest1 hears joins until the room passes 3"
    );
    assert_eq!(
        joins(&f.out.take(5)),
        1,
        "guest5 is told of its own join only"
    );
}

#[test]
fn raw_clients_get_only_what_is_addressed_to_them() {
    let mut f = Fixture::new(HubConfig {
        framing: Framing::Raw,
        ..HubConfig::default()
    });
    f.connect(1);
    f.connect(2);
    assert_eq!(f.out.take(1), "", "no welcome, no join notices");
    f.say(1, "hello from a tutorial client");
    assert_eq!(
        f.out.take(2),
        "[Tue Nov  3 08:05:09 2026]<guest1> hello from a tutorial client"
    );
    f.console("hi there");
    assert_eq!(f.out.take(1), "[Tue Nov  3 08:05:09 2026]hi there");
}

#[test]
fn the_operator_replies_to_whoever_spoke_last() {
    let mut f = Fixture::with_clients(&[1, 2]);
    f.console("anyone?");
    f.say(2, "hello operator\n");
    f.console("hello guest2");
    f.console("/to guest1 and you");
    f.console("/all everyone");
    f.console("/to ghost boo");
    assert_eq!(
        f.out.take(1),
        "[Tue Nov  3 08:05:09 2026] <guest2> hello operator\n[Tue Nov  3 08:05:09 2026] -operator- and you\n[Tue Nov  3 08:05:09 2026] -operator- everyone\n"
    );
    assert_eq!(
        f.out.take(2),
        "[Tue Nov  3 08:05:09 2026] -operator- hello guest2\n[Tue Nov  3 08:05:09 2026] -operator- everyone\n"
    );
    insta::assert_snapshot!(f.out.console.join("\n"), @r"
    nobody to reply to yet: use /to NICK TEXT or /all TEXT
    (to guest2) hello guest2
    (to guest1) and you
    (to all 2 clients) everyone
    no such nick: ghost
    ");
}

#[test]
fn msg_to_the_operator_reaches_the_console() {
    let mut f = Fixture::with_clients(&[1]);
    f.say(1, "/msg operator help me\n");
    assert_eq!(
        f.out.take(1),
        "[Tue Nov  3 08:05:09 2026] -> *operator* help me\n"
    );
    assert_eq!(f.out.console, ["*guest1* help me (127.0.0.1:40001)"]);
}

#[test]
fn operator_kick_who_stats_and_quit() {
    let mut f = Fixture::with_clients(&[1, 2]);
    f.say(1, "hi\n");
    f.console("/kick guest1 spam");
    f.console("/who");
    f.console("/stats");
    f.console("/frob");
    f.console("/quit");
    assert_eq!(
        f.out.take(1),
        "[Tue Nov  3 08:05:09 2026] -!- you were kicked by operator (spam)\n"
    );
    insta::assert_snapshot!(f.out.take(2), @r"
    [Tue Nov  3 08:05:09 2026] <guest1> hi
    [Tue Nov  3 08:05:09 2026] -!- guest1 left lobby (kicked: spam)
    [Tue Nov  3 08:05:09 2026] -!- server shutting down
    ");
    insta::assert_snapshot!(f.out.console.join("\n"), @r"
    guest1 (127.0.0.1:40001) left: kicked: spam
    1 clients:
      guest2 127.0.0.1:40002 in lobby
    clients 1 rooms 1 connections 2 messages in 1 deliveries 5 bytes in 0 bytes out 0 uptime 0s
    unknown console command /frob (try /help)
    shutting down
    ");
    assert_eq!(f.out.closed, [ClientId(1), ClientId(2)]);
    assert!(f.out.shutdown);
}
