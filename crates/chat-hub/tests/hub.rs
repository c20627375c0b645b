//! The hub driven as a state machine: events in, recorded actions out.

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::DateTime;

use chat_hub::*;

/// Records what the hub asked for.
#[derive(Default)]
struct Recorder {
    sent: BTreeMap<ClientId, Vec<Bytes>>,
    closed: Vec<ClientId>,
    console: Vec<String>,
    shutdown: bool,
    /// Requests to the cluster, taken when `cluster_up`.
    requests: Vec<ClusterRequest>,
    cluster_up: bool,
    /// `/oper` checks handed to the verifier, not answered yet.
    checks: Vec<OperatorCheck>,
    /// The verifier's queue is full: it takes no check.
    verifier_full: bool,
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
    fn cluster(&mut self, request: ClusterRequest) -> bool {
        if self.cluster_up {
            self.requests.push(request);
        }
        self.cluster_up
    }
    fn verify_operator(&mut self, check: OperatorCheck) -> bool {
        if !self.verifier_full {
            self.checks.push(check);
        }
        !self.verifier_full
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
    time: Now,
    /// Leave `/oper` checks unanswered until [`Fixture::answer_checks`]
    /// (else each `say` answers them, as a verifier that is never behind).
    hold_checks: bool,
    /// What every connection speaks: the config's `framing`.
    protocol: Protocol,
}

impl Fixture {
    fn arrival(&self, peer: std::net::SocketAddr) -> Arrival {
        Arrival {
            peer,
            protocol: self.protocol,
        }
    }

    fn new(config: HubConfig) -> Fixture {
        let protocol = config.framing;
        let mut hub = Hub::new(config);
        hub.start(now());
        Fixture {
            hub,
            out: Recorder::default(),
            time: now(),
            hold_checks: false,
            protocol,
        }
    }

    /// Runs the `/oper` checks handed over (argon2, synchronously, as the
    /// server's worker would) and gives the hub their verdicts.
    fn answer_checks(&mut self) {
        for check in std::mem::take(&mut self.out.checks) {
            let verdict = check.verdict();
            self.hub
                .operator_checked(&mut self.out, check.client, verdict, self.time);
        }
    }

    fn connect(&mut self, id: u64) {
        let peer = format!("127.0.0.1:{}", 40000 + id)
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let arrival = self.arrival(peer);
        self.hub
            .connected(&mut self.out, ClientId(id as usize), arrival, self.time);
    }

    fn say(&mut self, id: u64, bytes: &str) {
        self.hub.received(
            &mut self.out,
            ClientId(id as usize),
            bytes.as_bytes(),
            self.time,
        );
        if !self.hold_checks {
            self.answer_checks();
        }
    }

    fn console(&mut self, line: &str) {
        self.hub.console_line(&mut self.out, line, self.time);
    }

    fn connect_from(&mut self, id: u64, peer: &str) {
        let peer = peer.parse().unwrap_or_else(|e| panic!("{peer}: {e}"));
        let arrival = self.arrival(peer);
        self.hub
            .connected(&mut self.out, ClientId(id as usize), arrival, self.time);
    }

    /// Lets `ms` milliseconds pass, ticking the hub every 100 ms as the server does.
    fn advance(&mut self, ms: i64) {
        for _ in 0..ms / 100 {
            self.time += chrono::Duration::milliseconds(100);
            self.hub.tick(&mut self.out, self.time);
        }
    }

    fn lines_for(&mut self, id: u64) -> Vec<String> {
        self.out
            .take(id)
            .lines()
            .map(|l| l.split_once("] ").map_or(l, |x| x.1).to_owned())
            .collect()
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
        // The setup's own console lines (who connected) are not the test's.
        f.out.console.clear();
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
        "/nick alice\n/nick OPERATOR\n/nick 9lives\n/nick b\u{430}ob\n",
    );
    f.say(1, "/nick ALICE\n");
    insta::assert_snapshot!(f.out.take(2), @r#"
    [Tue Nov  3 08:05:09 2026] -!- guest1 is now known as Alice
    [Tue Nov  3 08:05:09 2026] -!- error: nick alice is taken
    [Tue Nov  3 08:05:09 2026] -!- error: nick OPERATOR is reserved
    [Tue Nov  3 08:05:09 2026] -!- error: nick "9lives" must start with a letter
    [Tue Nov  3 08:05:09 2026] -!- error: nick "bаob" may not contain 'а' (U+0430; use letters, digits, '_' and '-')
    [Tue Nov  3 08:05:09 2026] -!- Alice is now known as ALICE
    "#);
    assert!(f.hub.has_nick("alice") && !f.hub.has_nick("guest1"));
}

#[test]
fn an_invisible_character_in_a_nick_is_removed_before_the_nick_is_checked() {
    let mut f = Fixture::with_clients(&[1, 2]);
    f.say(1, "/nick Al\u{200b}ice\u{3164}\n");
    f.say(2, "/nick al\u{e0041}ice\n");
    assert_eq!(f.lines_for(1), ["-!- guest1 is now known as Alice"]);
    assert_eq!(
        f.lines_for(2),
        [
            "-!- guest1 is now known as Alice",
            "-!- error: nick alice is taken"
        ]
    );
    assert!(f.hub.has_nick("alice"));
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
    [Tue Nov  3 08:05:09 2026] #lobby <guest3> only lobby hears this
    ");
    // Joining dev kept them in lobby too: its lines reach them marked.
    insta::assert_snapshot!(f.out.take(2), @r"
    [Tue Nov  3 08:05:09 2026] -!- guest2 joined Dev
    [Tue Nov  3 08:05:09 2026] -!- members of Dev (2): guest1 guest2
    [Tue Nov  3 08:05:09 2026] #lobby <guest3> only lobby hears this
    [Tue Nov  3 08:05:09 2026] <guest1> in dev
    ");
    insta::assert_snapshot!(f.out.take(3), @r"
    [Tue Nov  3 08:05:09 2026] -!- rooms (2): lobby(3) Dev(2)
    [Tue Nov  3 08:05:09 2026] -!- error: you are already in lobby
    ");
}

#[test]
fn a_client_in_several_rooms_talks_in_its_current_one_and_hears_the_others_marked() {
    let mut f = Fixture::with_clients(&[1, 2, 3]);
    f.say(1, "/join dev\n");
    f.say(2, "/join dev\n");
    f.out.take(1);
    f.out.take(2);
    f.say(3, "lobby only\n");
    f.say(2, "dev talk\n");
    // 1 talks in dev now: lobby's lines carry their room, dev's do not.
    assert_eq!(
        f.lines_for(1),
        ["#lobby <guest3> lobby only", "<guest2> dev talk"]
    );
    // Going back to a room it is in only switches.
    f.say(1, "/join lobby\n/join lobby\nback in lobby\n");
    assert_eq!(
        f.lines_for(1),
        [
            "-!- now talking in lobby",
            "-!- error: you are already in lobby"
        ]
    );
    assert_eq!(f.lines_for(3), ["<guest1> back in lobby"]);
    assert_eq!(
        f.lines_for(2),
        [
            "#lobby <guest3> lobby only",
            "#lobby <guest1> back in lobby"
        ]
    );
    f.say(2, "more dev\n");
    assert_eq!(f.lines_for(1), ["#dev <guest2> more dev"]);
    // /rooms marks the rooms of a client in several.
    f.say(1, "/rooms\n");
    f.say(3, "/rooms\n");
    assert_eq!(f.lines_for(1), ["-!- rooms (2): *lobby(3) *dev(2)"]);
    assert_eq!(f.lines_for(3), ["-!- rooms (2): lobby(3) dev(2)"]);
}

#[test]
fn parting_leaves_one_room_and_a_client_in_none_is_told_to_join_one() {
    let mut f = Fixture::with_clients(&[1, 2]);
    f.say(1, "/join dev\n/join ops\n");
    f.say(2, "/join dev\n");
    f.out.take(1);
    f.out.take(2);
    // Parting a room that is not the current one keeps the current one.
    f.say(1, "/part dev\n");
    assert_eq!(f.lines_for(1), ["-!- guest1 left dev"]);
    assert_eq!(f.lines_for(2), ["-!- guest1 left dev"]);
    // Parting the current one falls back to the room joined last.
    f.say(1, "/part\n");
    assert_eq!(
        f.lines_for(1),
        ["-!- guest1 left ops", "-!- now talking in lobby"]
    );
    f.say(1, "/part nowhere\n/part lobby\n");
    assert_eq!(
        f.lines_for(1),
        ["-!- error: you are not in nowhere", "-!- guest1 left lobby"]
    );
    assert_eq!(f.lines_for(2), ["-!- guest1 left lobby"]);
    f.say(1, "hello?\n/who\n/topic\n/part\n");
    assert_eq!(
        f.lines_for(1),
        ["-!- error: you are in no room: /join one"; 4]
    );
    // Joining again sends the room's history, as on arrival.
    f.say(2, "/join lobby\nsaid in lobby\n");
    f.say(1, "/join lobby\n");
    assert_eq!(
        f.lines_for(1),
        [
            "-!- guest1 joined lobby",
            "(history) <guest2> said in lobby"
        ]
    );
}

#[test]
fn a_client_joins_at_most_max_rooms_per_client() {
    let config = HubConfig {
        max_rooms_per_client: 2,
        ..HubConfig::default()
    };
    let mut f = Fixture::new(config);
    f.connect(1);
    f.out.take(1);
    f.say(1, "/join dev\n/join ops\n/join lobby\n");
    assert_eq!(
        f.lines_for(1),
        [
            "-!- guest1 joined dev",
            "-!- error: you are in 2 rooms, the most allowed: /part one first",
            "-!- now talking in lobby"
        ]
    );
}

#[test]
fn a_nick_change_reaches_a_member_of_several_shared_rooms_once() {
    let mut f = Fixture::with_clients(&[1, 2]);
    f.say(1, "/join dev\n");
    f.say(2, "/join dev\n");
    f.out.take(1);
    f.out.take(2);
    f.say(1, "/nick alice\n");
    assert_eq!(f.lines_for(2), ["-!- guest1 is now known as alice"]);
    assert_eq!(f.lines_for(1), ["-!- guest1 is now known as alice"]);
    // Leaving tells each of its rooms.
    f.hub
        .disconnected(&mut f.out, ClientId(1), Gone::Closed, f.time);
    assert_eq!(
        f.lines_for(2),
        [
            "-!- alice left lobby (connection closed)",
            "-!- alice left dev (connection closed)"
        ]
    );
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
        framing: Protocol::Raw,
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
fn a_private_question_to_the_operator_is_answered_to_its_asker_not_the_last_speaker() {
    let mut f = Fixture::new(HubConfig {
        echo_messages: true,
        ..HubConfig::default()
    });
    f.connect(1);
    f.connect(2);
    f.say(1, "/nick alice\n/msg operator what is the wifi password?\n");
    f.say(2, "/nick mallory\n/join side\nme me me\n");
    f.out.console.clear();
    f.console("it is on the fridge");
    assert!(
        f.lines_for(1)
            .contains(&"-operator- it is on the fridge".to_owned())
    );
    assert!(!f.lines_for(2).iter().any(|l| l.contains("fridge")));
    // Answered: room lines move the target again, and the prompt says so.
    f.say(2, "anyone?\n");
    f.console("yes, me");
    assert!(f.lines_for(2).contains(&"-operator- yes, me".to_owned()));
    insta::assert_snapshot!(f.out.console.join("\n"), @r"
    (to alice) it is on the fridge
    [side] <mallory> anyone? (127.0.0.1:40002)
    reply to mallory:
    (to mallory) yes, me
    ");
}

#[test]
fn the_console_prompt_names_whom_a_plain_line_answers() {
    let mut f = Fixture::new(HubConfig {
        echo_messages: true,
        ..HubConfig::default()
    });
    f.connect(1);
    f.say(1, "hi\n");
    f.say(1, "again\n");
    let prompts: Vec<&String> = f
        .out
        .console
        .iter()
        .filter(|l| l.starts_with("reply to"))
        .collect();
    assert_eq!(
        prompts,
        ["reply to guest1:"],
        "shown once, when the target changes"
    );
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
    kicked guest1
    1 clients:
      guest2 127.0.0.1:40002 in lobby
    clients 1 rooms 1 connections 2 messages in 1 deliveries 8 bytes in 0 bytes out 0 uptime 0s history 50 of 67108864 bytes
    unknown console command /frob (try /help)
    shutting down
    ");
    assert_eq!(f.out.closed, [ClientId(1), ClientId(2)]);
    assert!(f.out.shutdown);
}

fn limited(config: HubConfig) -> Fixture {
    Fixture::new(config)
}

#[test]
fn too_many_clients_or_from_one_address_are_refused_politely() {
    let limits = HubConfig {
        exempt: vec![],
        max_clients: 5,
        max_clients_per_ip: 2,
        ..HubConfig::default()
    };
    let mut f = limited(limits);
    f.connect_from(1, "10.0.0.1:1");
    f.connect_from(2, "10.0.0.1:2");
    f.connect_from(3, "10.0.0.1:3");
    f.connect_from(4, "[2001:db8::1]:1");
    f.connect_from(5, "[2001:db8::2]:1");
    f.connect_from(6, "[2001:db8::3]:1");
    f.connect_from(7, "[2001:db8:0:1::1]:1");
    f.connect_from(8, "10.0.0.9:1");
    assert_eq!(
        f.lines_for(3),
        ["-!- error: too many connections from your address"]
    );
    assert_eq!(
        f.lines_for(6),
        ["-!- error: too many connections from your address"],
        "same /64"
    );
    assert_eq!(f.lines_for(8), ["-!- error: server full"]);
    assert_eq!(f.out.closed, [ClientId(3), ClientId(6), ClientId(8)]);
    assert_eq!(f.hub.client_count(), 5);
    assert_eq!(f.hub.stats().refused, 3);
    // A place frees up: the address may connect again.
    f.hub
        .disconnected(&mut f.out, ClientId(1), Gone::Closed, f.time);
    f.connect_from(9, "10.0.0.1:9");
    assert!(f.hub.nick(ClientId(9)).is_some());
}

#[test]
fn exempt_addresses_skip_the_per_address_limit() {
    let limits = HubConfig {
        max_clients_per_ip: 1,
        ..HubConfig::default()
    };
    let mut f = limited(limits);
    for id in 1..=3 {
        f.connect_from(id, "127.0.0.1:1");
    }
    assert_eq!(f.hub.client_count(), 3);
}

#[test]
fn a_flood_is_delayed_not_dropped_then_warned_then_cut() {
    let limits = HubConfig {
        exempt: vec![],
        flood_rate: 10.0,
        flood_burst: 2,
        ..HubConfig::default()
    };
    let mut f = limited(limits);
    f.connect_from(1, "10.0.0.1:1");
    f.connect_from(2, "10.0.0.2:1");
    f.lines_for(1);
    f.lines_for(2);
    f.say(1, "a\nb\nc\nd\n");
    assert_eq!(
        f.lines_for(2),
        ["<guest1> a", "<guest1> b"],
        "the burst passes at once"
    );
    f.advance(100);
    assert_eq!(f.lines_for(2), ["<guest1> c"]);
    f.advance(100);
    assert_eq!(f.lines_for(2), ["<guest1> d"]);
    assert!(f.lines_for(1).is_empty(), "no warning for a short burst");

    // 9 delayed lines pass the queue of 8: one warning.
    let flood: String = (0..12).map(|i| format!("x{i}\n")).collect();
    f.advance(1000);
    f.say(1, &flood);
    let warning = f.lines_for(1);
    assert_eq!(warning.len(), 1, "{warning:?}");
    assert!(
        warning[0].starts_with("-!- error: you are sending too fast"),
        "{warning:?}"
    );
    // Everything is still delivered, in order, as time passes.
    f.advance(2000);
    let expected: Vec<String> = (0..12).map(|i| format!("<guest1> x{i}")).collect();
    assert_eq!(f.lines_for(2), expected);

    // Past four times the queue: disconnected, and the others are told.
    let flood: String = (0..40).map(|i| format!("y{i}\n")).collect();
    f.say(1, &flood);
    assert_eq!(
        f.lines_for(1).last().map(String::as_str),
        Some("-!- error: disconnected for flooding")
    );
    assert!(f.out.closed.contains(&ClientId(1)));
    assert_eq!(
        f.lines_for(2).last().map(String::as_str),
        Some("-!- guest1 left lobby (flooding)")
    );
    assert_eq!(f.hub.stats().flooders, 1);
}

#[test]
fn delayed_lines_are_said_when_the_client_leaves() {
    let limits = HubConfig {
        exempt: vec![],
        flood_rate: 1.0,
        flood_burst: 1,
        ..HubConfig::default()
    };
    let mut f = limited(limits);
    f.connect_from(1, "10.0.0.1:1");
    f.connect_from(2, "10.0.0.2:1");
    f.lines_for(2);
    f.say(1, "one\ntwo\nthree\n");
    f.hub.read_closed(&mut f.out, ClientId(1), f.time);
    assert_eq!(
        f.lines_for(2),
        [
            "<guest1> one",
            "<guest1> two",
            "<guest1> three",
            "-!- guest1 left lobby (quit)"
        ]
    );
}

#[test]
fn idle_and_handshake_timeouts() {
    let limits = HubConfig {
        idle_timeout: 5,
        ..HubConfig::default()
    };
    let mut f = limited(limits);
    f.connect(1);
    f.connect(2);
    f.advance(3000);
    f.say(2, "still here\n");
    f.advance(3000);
    assert_eq!(
        f.out.closed,
        [ClientId(1)],
        "only the idle client is closed: {:?}",
        f.out.console
    );
    assert!(
        f.lines_for(1)
            .contains(&"-!- closing: idle timeout".to_owned())
    );

    let limits = HubConfig {
        max_clients: 2,
        handshake_timeout: 2,
        ..HubConfig::default()
    };
    let mut f = limited(limits);
    f.connect(1);
    f.say(1, "hi\n");
    f.connect(2);
    f.advance(3000);
    assert_eq!(
        f.out.closed,
        [ClientId(2)],
        "a silent client is closed while the server is full"
    );
    f.connect(3);
    f.say(3, "hello\n");
    f.advance(3000);
    assert_eq!(f.out.closed, [ClientId(2)], "a client that spoke stays");
}

/// A cheap argon2 hash, so debug-build tests stay fast.
fn cheap_hash(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let params = argon2::Params::new(8, 1, 1, None).unwrap_or_else(|e| panic!("{e}"));
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"a fixed test salt").unwrap_or_else(|e| panic!("{e}"));
    argon
        .hash_password(password.as_bytes(), &salt)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string()
}

fn with_admission() -> Fixture {
    Fixture::new(HubConfig {
        password: Some("s3cret".into()),
        operators: vec![Operator {
            name: "root".into(),
            password_hash: cheap_hash("hunter2"),
        }],
        ..HubConfig::default()
    })
}

#[test]
fn a_password_gates_everything() {
    let mut f = with_admission();
    f.connect(1);
    f.connect(2);
    assert_eq!(
        f.lines_for(1),
        ["-!- password required: send /pass PASSWORD"]
    );
    f.say(2, "hello?\n/pass s3cret\n");
    assert_eq!(
        f.lines_for(2),
        [
            "-!- password required: send /pass PASSWORD",
            "-!- error: wrong password"
        ]
    );
    assert_eq!(f.out.closed, [ClientId(2)]);
    f.connect(3);
    f.say(3, "/pass s3cret\n");
    f.say(1, "/pass s3cret\nfirst words\nand a half");
    f.say(1, " line\n");
    let seen = f.lines_for(1);
    assert_eq!(
        seen[0], "-!- Welcome, guest2! Type /help for commands.",
        "{seen:?}"
    );
    assert_eq!(f.hub.client_count(), 2);
    assert!(
        f.out.console.iter().all(|line| !line.contains("s3cret")),
        "{:?}",
        f.out.console
    );
    // The lines sent right behind /pass were not lost.
    let heard = f.lines_for(3);
    assert_eq!(
        heard[heard.len() - 2..],
        ["<guest2> first words", "<guest2> and a half line"],
        "{heard:?}"
    );
}

#[test]
fn failed_logins_are_rate_limited_and_silent_ones_time_out() {
    let mut f = with_admission();
    for id in 1..=5 {
        f.connect_from(id, "10.0.0.1:1");
        f.say(id, "/pass wrong\n");
    }
    f.connect_from(6, "10.0.0.1:1");
    assert_eq!(
        f.lines_for(6),
        ["-!- error: too many failed logins from your address; try again later"]
    );
    f.connect_from(7, "10.0.0.2:1");
    assert_eq!(
        f.lines_for(7),
        ["-!- password required: send /pass PASSWORD"],
        "others are unaffected"
    );
    f.advance(11_000);
    assert_eq!(f.lines_for(7), ["-!- error: login timed out"]);
    assert!(f.out.closed.contains(&ClientId(7)));
}

#[test]
fn operators_kick_ban_and_set_the_topic() {
    let mut f = with_admission();
    f.connect_from(1, "10.0.0.1:1");
    f.connect_from(2, "10.0.0.2:1");
    f.connect_from(3, "[2001:db8::1]:1");
    for id in 1..=3 {
        f.say(id, "/pass s3cret\n");
    }
    for id in 1..=3 {
        f.lines_for(id);
    }
    // Each /oper is answered before the next is sent (one is checked at a
    // time per client; see `oper_is_answered_later_off_the_reactor`).
    f.say(2, "/kick guest1\n/oper root wrong\n");
    f.say(2, "/oper root hunter2\n");
    f.say(2, "/topic Rust only\n");
    insta::assert_snapshot!(f.lines_for(2).join("\n"), @r"
    -!- error: operators only: log in with /oper NAME PASSWORD
    -!- error: wrong operator name or password
    -!- you are now an operator: /kick /ban /unban /bans /topic /motd
    -!- topic of lobby: Rust only
    ");
    f.lines_for(1);
    f.lines_for(3);
    f.say(
        2,
        "/ban guest3 2h\n/bans\n/kick guest1 spam\n/motd new rules\n",
    );
    insta::assert_snapshot!(f.lines_for(2).join("\n"), @r"
    -!- guest3 left lobby (banned by root)
    -!- banned 2001:db8::1/128 for 7200s (1 disconnected)
    -!- ban 2001:db8::1/128 for 7200s more, by root
    -!- guest1 left lobby (kicked: spam)
    -!- kicked guest1
    -!- the message of the day is now: new rules
    ");
    assert_eq!(f.lines_for(3), ["-!- you were banned by root"]);
    assert_eq!(
        f.lines_for(1),
        [
            "-!- guest3 left lobby (banned by root)",
            "-!- you were kicked by root (spam)"
        ]
    );
    // A nick's ban is its own address's, not its /64's.
    f.connect_from(4, "[2001:db8::1]:2");
    assert_eq!(
        f.lines_for(4),
        ["-!- error: you are banned from this server"]
    );
    f.connect_from(6, "[2001:db8::99]:1");
    assert_eq!(
        f.lines_for(6),
        ["-!- password required: send /pass PASSWORD"]
    );
    f.connect_from(5, "10.0.0.5:1");
    f.say(5, "/pass s3cret\n/topic\n");
    insta::assert_snapshot!(f.lines_for(5).join("\n"), @r"
    -!- password required: send /pass PASSWORD
    -!- Welcome, guest4! new rules
    -!- guest4 joined lobby
    -!- topic of lobby: Rust only
    -!- topic of lobby: Rust only
    ");
    f.lines_for(2);
    f.say(2, "/unban 2001:db8::1\n/unban 2001:db8::1/128\n");
    assert_eq!(
        f.lines_for(2),
        [
            "-!- unbanned 2001:db8::1/128",
            "-!- error: 2001:db8::1/128 is not banned"
        ]
    );
    f.console("/bans");
    assert_eq!(f.out.console.last().map(String::as_str), Some("no bans"));
}

/// `with_admission`, with clients 1 and 2 logged in from 10.0.0.1 and
/// 10.0.0.2, and `/oper` checks held until answered.
fn with_two_logged_in() -> Fixture {
    let mut f = with_admission();
    f.hold_checks = true;
    f.connect_from(1, "10.0.0.1:1");
    f.connect_from(2, "10.0.0.2:1");
    f.say(1, "/pass s3cret\n");
    f.say(2, "/pass s3cret\n");
    f.lines_for(1);
    f.lines_for(2);
    f
}

/// The PHC string's `$algorithm$version$params`.
fn cost(phc: &str) -> String {
    phc.split('$').take(4).collect::<Vec<_>>().join("$")
}

#[test]
fn oper_is_answered_later_off_the_reactor() {
    let mut f = with_two_logged_in();
    f.say(1, "/oper root hunter2\n");
    assert_eq!(f.out.checks.len(), 1, "handed to the verifier");
    assert!(f.lines_for(1).is_empty(), "no answer before the verdict");
    // Meanwhile the client (and everyone else) chats on.
    f.say(1, "/oper root hunter2\nstill here\n");
    assert_eq!(
        f.lines_for(1),
        ["-!- error: your /oper is still being checked; wait for its answer"]
    );
    assert_eq!(f.lines_for(2), ["<guest1> still here"]);
    f.answer_checks();
    assert_eq!(
        f.lines_for(1),
        ["-!- you are now an operator: /kick /ban /unban /bans /topic /motd"]
    );
    assert!(
        f.out
            .console
            .iter()
            .any(|l| l.contains("is now operator root")),
        "{:?}",
        f.out.console
    );
}

#[test]
fn an_unknown_operator_name_is_checked_against_a_dummy_hash() {
    let mut f = with_two_logged_in();
    f.say(1, "/oper root wrong\n");
    f.say(2, "/oper nobody hunter2\n");
    let [known, unknown] = &f.out.checks[..] else {
        panic!("two checks expected: {:?}", f.out.checks);
    };
    let root = cheap_hash("hunter2");
    assert_eq!(known.hash, root);
    // The unknown name costs a verification too, of the same cost.
    assert_ne!(unknown.hash, root);
    assert_eq!(cost(&unknown.hash), cost(&root));
    assert!(!unknown.verdict().matched);
    // Even a verdict that says "matched" grants an unknown name nothing.
    let (client, token) = (unknown.client, unknown.token);
    f.out.checks.truncate(1);
    let lie = OperatorVerdict {
        token,
        matched: true,
    };
    f.hub.operator_checked(&mut f.out, client, lie, f.time);
    f.answer_checks();
    for id in [1, 2] {
        assert_eq!(
            f.lines_for(id),
            ["-!- error: wrong operator name or password"]
        );
    }
    let failed: Vec<_> = f
        .out
        .console
        .iter()
        .filter(|l| l.contains("failed /oper"))
        .collect();
    assert_eq!(failed.len(), 2, "{:?}", f.out.console);
    assert!(f.out.console.iter().all(|l| !l.contains("hunter2")));
}

#[test]
fn a_verdict_for_a_client_that_left_or_an_older_check_changes_nothing() {
    let mut f = with_two_logged_in();
    f.say(1, "/oper root hunter2\n");
    let old = f.out.checks.remove(0);
    f.say(1, "/quit\n");
    // The reactor reuses the id for a new connection, which logs in.
    f.connect_from(1, "10.0.0.1:2");
    f.say(1, "/pass s3cret\n");
    f.hub
        .operator_checked(&mut f.out, old.client, old.verdict(), f.time);
    f.lines_for(1);
    f.say(1, "/bans\n/oper root wrong\n");
    assert_eq!(
        f.lines_for(1),
        ["-!- error: operators only: log in with /oper NAME PASSWORD"]
    );
    // The older check's "matched" does not answer the newer one.
    f.hub
        .operator_checked(&mut f.out, old.client, old.verdict(), f.time);
    assert!(f.lines_for(1).is_empty());
    f.answer_checks();
    assert_eq!(
        f.lines_for(1),
        ["-!- error: wrong operator name or password"]
    );
}

#[test]
fn a_full_verifier_queue_says_busy_and_counts_no_failure() {
    let mut f = with_two_logged_in();
    f.out.verifier_full = true;
    // More than the failure limit, and within the flood burst.
    for _ in 0..8 {
        f.say(1, "/oper root hunter2\n");
    }
    let busy = "-!- error: the server is busy verifying logins; try again shortly";
    assert_eq!(f.lines_for(1), vec![busy; 8]);
    f.out.verifier_full = false;
    f.say(1, "/oper root hunter2\n");
    f.answer_checks();
    assert_eq!(
        f.lines_for(1),
        ["-!- you are now an operator: /kick /ban /unban /bans /topic /motd"],
        "not locked out"
    );
}

#[test]
fn parallel_oper_attempts_get_no_more_guesses_than_serial_ones() {
    let mut f = with_admission();
    f.hold_checks = true;
    for id in 1..=8 {
        f.connect_from(id, &format!("10.0.0.1:{id}"));
        f.say(id, "/pass s3cret\n");
    }
    for id in 1..=8 {
        f.lines_for(id);
        f.say(id, "/oper root wrong\n");
    }
    assert_eq!(f.out.checks.len(), 5, "checks in flight count as failures");
    let locked = "-!- error: too many failed logins from your address; try again later";
    for id in 6..=8 {
        assert_eq!(f.lines_for(id), [locked]);
    }
    f.answer_checks();
    f.say(6, "/oper root hunter2\n");
    assert_eq!(f.lines_for(6), [locked]);
    assert!(f.out.checks.is_empty());
}

#[test]
fn a_ban_closes_logins_waiting_at_the_password_prompt() {
    let mut f = with_admission();
    f.connect_from(1, "10.0.0.1:1");
    f.connect_from(2, "10.0.0.2:1");
    f.connect_from(3, "10.0.0.1:2");
    f.say(3, "/pass s3cret\n");
    for id in 1..=3 {
        f.lines_for(id);
    }
    f.console("/ban 10.0.0.1 10m");
    assert_eq!(
        f.out.console.last().map(String::as_str),
        Some("banned 10.0.0.1/32 for 600s (2 disconnected)")
    );
    assert_eq!(
        f.lines_for(1),
        ["-!- error: you are banned from this server"]
    );
    assert_eq!(f.lines_for(3), ["-!- you were banned by operator"]);
    assert!(f.out.closed.contains(&ClientId(1)));
    // A late /pass from the closed login does nothing; others log in.
    f.say(1, "/pass s3cret\n");
    f.say(2, "/pass s3cret\n");
    assert!(f.lines_for(1).is_empty());
    assert_eq!(f.hub.client_count(), 1);
}

#[test]
fn bans_match_the_clients_own_address_and_mapped_ranges_as_ipv4() {
    let mut f = Fixture::new(HubConfig::default());
    f.connect_from(1, "[2001:db8::1]:1");
    f.connect_from(2, "[2001:db8::2]:1");
    f.connect_from(3, "[::ffff:10.1.2.3]:1");
    f.connect_from(4, "10.1.9.9:1");
    f.console("/ban 2001:db8::1/128");
    assert_eq!(
        f.out.console.last().map(String::as_str),
        Some("banned 2001:db8::1/128 for 3600s (1 disconnected)")
    );
    f.console("/ban ::ffff:10.1.0.0/112 1d");
    assert_eq!(
        f.out.console.last().map(String::as_str),
        Some("banned 10.1.0.0/16 for 86400s (2 disconnected)")
    );
    assert_eq!(f.hub.client_count(), 1, "only 2001:db8::2 stays");
    assert!(f.hub.has_nick("guest2"));
    f.connect_from(5, "[::ffff:10.1.0.1]:1");
    assert_eq!(
        f.lines_for(5),
        ["-!- error: you are banned from this server"]
    );
    f.console("/unban ::ffff:10.1.0.0/112");
    assert_eq!(
        f.out.console.last().map(String::as_str),
        Some("unbanned 10.1.0.0/16")
    );
}

#[test]
fn a_huge_ban_duration_is_an_error_not_a_wrapped_ban() {
    let mut f = Fixture::with_clients(&[1]);
    f.console("/ban 127.0.0.1 9223372036854775807s");
    assert_eq!(
        f.out.console.last().map(String::as_str),
        Some("9223372036854775807s is too long: a ban lasts at most 3650d")
    );
    assert_eq!(f.hub.client_count(), 1, "nobody disconnected");
    f.console("/bans");
    assert_eq!(f.out.console.last().map(String::as_str), Some("no bans"));
    f.console("/ban 127.0.0.1 3650d");
    assert_eq!(
        f.out.console.last().map(String::as_str),
        Some("banned 127.0.0.1/32 for 315360000s (1 disconnected)")
    );
}

#[test]
fn a_joining_client_gets_the_history_first() {
    let mut f = Fixture::with_clients(&[1, 2]);
    f.say(1, "one\n/me waves\n");
    f.time += chrono::Duration::seconds(5);
    f.say(1, "three\n");
    f.connect(3);
    insta::assert_snapshot!(f.out.take(3), @r"
    [Tue Nov  3 08:05:14 2026] -!- Welcome, guest3! Type /help for commands.
    [Tue Nov  3 08:05:14 2026] -!- guest3 joined lobby
    [Tue Nov  3 08:05:09 2026] (history) <guest1> one
    [Tue Nov  3 08:05:09 2026] (history) * guest1 waves
    [Tue Nov  3 08:05:14 2026] (history) <guest1> three
    ");
    f.say(3, "/history 1\n/history x\n");
    insta::assert_snapshot!(f.out.take(3), @r"
    [Tue Nov  3 08:05:14 2026] (history) <guest1> three
    [Tue Nov  3 08:05:14 2026] -!- error: usage: /history [N]
    ");
    f.say(2, "/join dev\n");
    let dev = f.lines_for(2);
    assert!(!dev.iter().any(|l| l.contains("(history)")), "{dev:?}");
}

#[test]
fn history_is_bounded_and_can_be_off() {
    let mut f = Fixture::new(HubConfig {
        history_lines: 2,
        ..HubConfig::default()
    });
    f.connect(1);
    for i in 0..20 {
        f.say(1, &format!("line {i}\n"));
    }
    f.connect(2);
    let lines = f.lines_for(2);
    assert_eq!(
        lines[2..],
        ["(history) <guest1> line 18", "(history) <guest1> line 19"]
    );
    f.say(2, "/history 500\n");
    assert_eq!(
        f.lines_for(2).len(),
        8,
        "a room keeps four times history_lines"
    );

    let mut off = Fixture::new(HubConfig {
        history_lines: 0,
        ..HubConfig::default()
    });
    off.connect(1);
    off.say(1, "hello\n");
    off.connect(2);
    off.say(2, "/history\n");
    let lines = off.lines_for(2);
    assert_eq!(
        lines.last().map(String::as_str),
        Some("-!- error: this server keeps no history")
    );
    assert!(!lines.iter().any(|l| l.contains("(history)")));
}

fn cluster_fixture() -> Fixture {
    let mut f = Fixture::new(HubConfig {
        cluster: Some(ClusterSettings {
            node: "a:1".into(),
            sync_seconds: 5,
        }),
        ..HubConfig::default()
    });
    f.out.cluster_up = true;
    f
}

impl Fixture {
    /// Connects `id` in a cluster and answers its history request (empty).
    fn connect_node(&mut self, id: u64) {
        self.connect(id);
        let token = self.out.requests.iter().find_map(|r| match r {
            ClusterRequest::History { client, token, .. } if *client == ClientId(id as usize) => {
                Some(*token)
            }
            _ => None,
        });
        let mut out = std::mem::take(&mut self.out);
        if let Some(token) = token {
            let event = ClusterEvent::History {
                client: ClientId(id as usize),
                token,
                lines: Some(Vec::new()),
            };
            self.hub.cluster_event(&mut out, event, self.time);
        }
        self.out = out;
    }
}

fn remote_line(text: &str, time: Now) -> RoomLine {
    RoomLine {
        origin: "b:2".into(),
        room: "Lobby".into(),
        nick: "bob".into(),
        text: text.into(),
        kind: LineKind::Message,
        time,
    }
}

#[test]
fn cluster_lines_cross_nodes_with_their_stamp() {
    let mut f = cluster_fixture();
    f.connect_node(1);
    let guest = f.hub.nick(ClientId(1)).unwrap_or_default().to_owned();
    assert!(
        guest.starts_with("guest1-"),
        "guest nicks carry the node's tag: {guest}"
    );
    f.out.take(1);
    f.out.requests.clear();
    f.say(1, "hi all\n");
    assert_eq!(
        f.out.requests,
        [ClusterRequest::Publish(RoomLine {
            origin: "a:1".into(),
            room: "lobby".into(),
            nick: guest.clone(),
            text: "hi all".into(),
            kind: LineKind::Message,
            time: now(),
        })]
    );
    let earlier = now() - chrono::Duration::seconds(61);
    let (mut out, time) = (std::mem::take(&mut f.out), f.time);
    f.hub.cluster_event(
        &mut out,
        ClusterEvent::Line {
            id: StreamId { ms: 1, seq: 0 },
            line: remote_line("from b", earlier),
        },
        time,
    );
    let mut elsewhere = remote_line("nobody here", earlier);
    elsewhere.room = "dev".into();
    f.hub.cluster_event(
        &mut out,
        ClusterEvent::Line {
            id: StreamId { ms: 2, seq: 0 },
            line: elsewhere,
        },
        time,
    );
    f.out = out;
    assert_eq!(f.out.take(1), "[Tue Nov  3 08:04:08 2026] <bob> from b\n");
    f.out.requests.clear();
    f.connect(2);
    assert!(
        matches!(
            &f.out.requests[..],
            [
                ClusterRequest::Claim { .. },
                ClusterRequest::Member { .. },
                // The history read waits for the lines handed before it:
                // not the join's own notice, nor what the newcomer says.
                ClusterRequest::History { count: 50, .. },
                ClusterRequest::Publish(RoomLine {
                    kind: LineKind::Joined,
                    ..
                })
            ]
        ),
        "{:?}",
        f.out.requests
    );
}

#[test]
fn cluster_history_comes_first_and_live_lines_wait_for_it() {
    let mut f = cluster_fixture();
    f.connect(1);
    f.connect(2);
    f.out.take(2);
    let token = f
        .out
        .requests
        .iter()
        .rev()
        .find_map(|r| match r {
            ClusterRequest::History { client, token, .. } if *client == ClientId(2) => Some(*token),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no history request: {:?}", f.out.requests));
    f.say(1, "live while waiting\n");
    assert_eq!(f.out.take(2), "", "held until the history is sent");
    let lines = Some(vec![remote_line(
        "old one",
        now() - chrono::Duration::hours(1),
    )]);
    let mut out = std::mem::take(&mut f.out);
    f.hub.cluster_event(
        &mut out,
        ClusterEvent::History {
            client: ClientId(2),
            token,
            lines,
        },
        now(),
    );
    f.out = out;
    let guest1 = f.hub.nick(ClientId(1)).unwrap_or_default().to_owned();
    assert_eq!(
        f.lines_for(2),
        [
            "(history) <bob> old one".to_owned(),
            format!("<{guest1}> live while waiting")
        ]
    );
}

#[test]
fn cluster_history_falls_back_to_local_after_a_wait() {
    let mut f = cluster_fixture();
    f.connect(1);
    f.say(1, "said here\n");
    f.connect(2);
    f.out.take(2);
    f.say(1, "meanwhile\n");
    f.advance(3100);
    let lines = f.lines_for(2);
    assert!(lines[0].starts_with("(history) <guest1-"), "{lines:?}");
    assert!(lines[1].ends_with("> meanwhile"), "{lines:?}");
}

#[test]
fn cluster_nicks_are_claimed_before_they_change() {
    let mut f = cluster_fixture();
    f.connect_node(1);
    f.out.take(1);
    f.out.requests.clear();
    f.say(1, "/nick bob\n");
    assert_eq!(
        f.out.requests,
        [ClusterRequest::Claim {
            client: ClientId(1),
            nick: "bob".into()
        }]
    );
    assert!(!f.hub.has_nick("bob"), "not before the claim is granted");
    let mut out = std::mem::take(&mut f.out);
    let claimed = |result| ClusterEvent::Claimed {
        client: ClientId(1),
        nick: "bob".into(),
        result,
    };
    f.hub
        .cluster_event(&mut out, claimed(ClaimResult::Taken), now());
    f.out = out;
    assert_eq!(f.lines_for(1), ["-!- error: nick bob is taken"]);
    f.say(1, "/nick bob\n");
    let mut out = std::mem::take(&mut f.out);
    out.requests.clear();
    f.hub
        .cluster_event(&mut out, claimed(ClaimResult::Claimed), now());
    f.out = out;
    assert!(f.hub.has_nick("bob"));
    assert!(
        matches!(&f.out.requests[..], [ClusterRequest::Member { .. }, ClusterRequest::Publish(RoomLine { kind: LineKind::Nick, .. }), ClusterRequest::Release { nick }] if nick.starts_with("guest1-")),
        "{:?}",
        f.out.requests
    );
    // A lease lost during an outage: the local holder becomes a guest.
    let mut out = std::mem::take(&mut f.out);
    f.hub.cluster_event(
        &mut out,
        ClusterEvent::NickLost { nick: "bob".into() },
        now(),
    );
    f.out = out;
    assert!(!f.hub.has_nick("bob"));
}

#[test]
fn cluster_private_messages_and_who() {
    let mut f = cluster_fixture();
    f.connect_node(1);
    f.say(1, "/nick alice\n");
    let mut out = std::mem::take(&mut f.out);
    f.hub.cluster_event(
        &mut out,
        ClusterEvent::Claimed {
            client: ClientId(1),
            nick: "alice".into(),
            result: ClaimResult::Claimed,
        },
        now(),
    );
    f.out = out;
    f.out.take(1);
    f.out.requests.clear();
    f.say(1, "/msg carol psst\n");
    assert!(matches!(&f.out.requests[..], [ClusterRequest::Private { to, .. }] if to == "carol"));
    let events = [
        ClusterEvent::PrivateSent {
            client: ClientId(1),
            from: "alice".into(),
            to: "carol".into(),
            text: "psst".into(),
            error: None,
        },
        ClusterEvent::Private {
            from: "carol".into(),
            to: "ALICE".into(),
            text: "hi back".into(),
            time: now(),
        },
        ClusterEvent::Members {
            client: ClientId(1),
            room: "lobby".into(),
            nicks: Some(vec!["carol".into(), "dave".into()]),
        },
        ClusterEvent::Rooms {
            client: ClientId(1),
            rooms: Some(vec![("dev".into(), 3), ("LOBBY".into(), 2)]),
        },
        ClusterEvent::Status {
            connected: false,
            text: "cluster: redis://x unreachable, retrying".into(),
        },
    ];
    let mut out = std::mem::take(&mut f.out);
    for event in events {
        f.hub.cluster_event(&mut out, event, now());
    }
    f.out = out;
    assert_eq!(
        f.lines_for(1),
        [
            "-> *carol* psst",
            "*carol* hi back",
            "-!- members of lobby (3): alice carol dave",
            "-!- rooms (2): dev(3) lobby(3)",
        ]
    );
    f.console("/stats");
    assert!(
        f.out
            .console
            .iter()
            .any(|l| l.contains("unreachable, retrying"))
    );
    // A full channel toward Redis: the line is dropped and counted.
    f.out.cluster_up = false;
    f.say(1, "not published\n");
    assert_eq!(f.hub.stats().cluster_dropped, 1);
}

impl Fixture {
    /// Hands the hub one event from the cluster.
    fn event(&mut self, event: ClusterEvent) {
        let mut out = std::mem::take(&mut self.out);
        self.hub.cluster_event(&mut out, event, self.time);
        self.out = out;
    }

    /// The token of `id`'s last history request.
    fn history_token(&self, id: u64) -> u64 {
        self.out
            .requests
            .iter()
            .rev()
            .find_map(|r| match r {
                ClusterRequest::History { client, token, .. }
                    if *client == ClientId(id as usize) =>
                {
                    Some(*token)
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no history request: {:?}", self.out.requests))
    }
}

#[test]
fn history_older_than_the_retention_is_never_sent() {
    let config = HubConfig {
        history_retention: Retention::Seconds(60),
        ..HubConfig::default()
    };
    let mut f = Fixture::new(config.clone());
    f.connect(1);
    f.say(1, "old\n");
    f.time += chrono::Duration::seconds(30);
    f.say(1, "newer\n");
    f.time += chrono::Duration::seconds(31);
    f.connect(2);
    assert_eq!(f.lines_for(2)[2..], ["(history) <guest1> newer"]);
    f.say(2, "/history\n");
    assert_eq!(f.lines_for(2), ["(history) <guest1> newer"]);

    // In a cluster, what Redis sends back obeys the same rule.
    let mut f = Fixture::new(HubConfig {
        cluster: cluster_fixture().hub.config().cluster.clone(),
        ..config
    });
    f.out.cluster_up = true;
    f.connect(1);
    f.out.take(1);
    let token = f.history_token(1);
    let lines = vec![
        remote_line("too old", now() - chrono::Duration::seconds(61)),
        remote_line("recent", now() - chrono::Duration::seconds(59)),
    ];
    f.event(ClusterEvent::History {
        client: ClientId(1),
        token,
        lines: Some(lines),
    });
    assert_eq!(f.lines_for(1), ["(history) <bob> recent"]);
}

#[test]
fn cluster_queries_are_paced_per_client_and_a_single_server_is_not() {
    let mut f = cluster_fixture();
    f.connect_node(1);
    f.connect_node(2);
    f.out.take(1);
    f.out.requests.clear();
    f.say(1, "/who\n/rooms\n/who\n/rooms\n");
    f.say(2, "/who\n");
    let asked: Vec<ClientId> = f
        .out
        .requests
        .iter()
        .filter_map(|r| match r {
            ClusterRequest::Who { client, .. } | ClusterRequest::Rooms { client } => Some(*client),
            _ => None,
        })
        .collect();
    assert_eq!(asked, [ClientId(1), ClientId(1), ClientId(2)]);
    let slow_down = "-!- error: slow down: /who and /rooms ask every server, at most once a second";
    assert_eq!(f.lines_for(1), [slow_down, slow_down]);
    f.time += chrono::Duration::seconds(1);
    f.out.requests.clear();
    f.say(1, "/who\n");
    assert!(
        matches!(&f.out.requests[..], [ClusterRequest::Who { .. }]),
        "{:?}",
        f.out.requests
    );

    let mut single = Fixture::with_clients(&[1]);
    single.say(1, "/who\n/rooms\n/who\n/rooms\n/who\n");
    let lines = single.lines_for(1);
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains("slow down")), "{lines:?}");
}

#[test]
fn guest_nicks_are_reserved_and_a_guest_nick_held_elsewhere_is_replaced() {
    let mut f = Fixture::with_clients(&[1]);
    f.say(1, "/nick guest7\n/nick Guest2-7arh\n/nick guest\n");
    assert_eq!(
        f.lines_for(1),
        [
            "-!- error: nick guest7 is reserved for guests: the server gives them to newcomers",
            "-!- error: nick Guest2-7arh is reserved for guests: the server gives them to newcomers",
            "-!- guest1 is now known as guest",
        ]
    );

    let mut f = cluster_fixture();
    f.connect_node(1);
    let guest = f.hub.nick(ClientId(1)).unwrap_or_default().to_owned();
    let tag = guest.trim_start_matches("guest1");
    f.out.take(1);
    f.out.requests.clear();
    f.event(ClusterEvent::Claimed {
        client: ClientId(1),
        nick: guest.clone(),
        result: ClaimResult::Taken,
    });
    let next = format!("guest2{tag}");
    assert_eq!(
        f.lines_for(1),
        [
            format!("-!- another server holds the nick {guest} now; you are {next}"),
            format!("-!- {guest} is now known as {next}"),
        ]
    );
    assert!(
        matches!(
            &f.out.requests[..],
            [
                ClusterRequest::Member { nick: member, .. },
                ClusterRequest::Publish(RoomLine { kind: LineKind::Nick, text, .. }),
                ClusterRequest::Claim { nick, .. },
            ] if *member == next && *nick == next && *text == next
        ),
        "{:?}",
        f.out.requests
    );
}

#[test]
fn cluster_bans_and_kicks_go_to_every_node_and_come_from_any() {
    let mut f = cluster_fixture();
    f.connect_from(1, "10.0.0.7:5000");
    f.connect_from(2, "10.0.0.8:5000");
    f.out.requests.clear();
    // Made here: told to the cluster.
    f.console("/ban 10.0.0.9 2h");
    f.console("/unban 10.0.0.9");
    f.console("/kick carol spam");
    let net: IpNet = "10.0.0.9/32".parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        f.out.requests,
        [
            ClusterRequest::Ban {
                net,
                until: now().timestamp() + 7200,
                by: "operator".into()
            },
            ClusterRequest::Unban { net },
            ClusterRequest::Kick {
                asker: None,
                nick: "carol".into(),
                by: "operator".into(),
                reason: Some("spam".into())
            },
        ]
    );
    f.event(ClusterEvent::KickSent {
        asker: None,
        nick: "carol".into(),
        error: None,
    });
    assert_eq!(
        f.out.console.last().map(String::as_str),
        Some("kicked carol (on another node)")
    );

    // Made elsewhere: applied here, once.
    let net: IpNet = "10.0.0.7/32".parse().unwrap_or_else(|e| panic!("{e}"));
    let banned = ClusterEvent::Banned {
        net,
        until: now().timestamp() + 600,
        by: "bob".into(),
    };
    f.event(banned.clone());
    assert!(f.out.closed.contains(&ClientId(1)));
    assert!(!f.out.closed.contains(&ClientId(2)));
    assert!(
        f.out
            .console
            .iter()
            .any(|l| l == "cluster: bob banned 10.0.0.7/32 (1 disconnected here)"),
        "{:?}",
        f.out.console
    );
    let console = f.out.console.len();
    f.event(banned);
    assert_eq!(f.out.console.len(), console, "known already: no news");
    f.connect_from(3, "10.0.0.7:5001");
    assert!(f.lines_for(3)[0].ends_with("error: you are banned from this server"));
    f.console("/bans");
    assert!(
        f.out
            .console
            .last()
            .is_some_and(|l| l.starts_with("ban 10.0.0.7/32 for 600s more, by bob")),
        "{:?}",
        f.out.console
    );
    f.event(ClusterEvent::Unbanned { net });
    f.connect_from(4, "10.0.0.7:5002");
    assert!(f.hub.nick(ClientId(4)).is_some(), "welcome back");

    let guest2 = f.hub.nick(ClientId(2)).unwrap_or_default().to_owned();
    f.event(ClusterEvent::Kick {
        nick: guest2.to_uppercase(),
        by: "bob".into(),
        reason: None,
    });
    assert!(f.out.closed.contains(&ClientId(2)));
    assert!(
        f.lines_for(2)
            .iter()
            .any(|l| l.ends_with("you were kicked by bob"))
    );
}

#[test]
fn a_ban_from_another_node_closes_the_logins_it_covers() {
    let mut f = Fixture::new(HubConfig {
        password: Some("s3cret".into()),
        cluster: cluster_fixture().hub.config().cluster.clone(),
        ..HubConfig::default()
    });
    f.out.cluster_up = true;
    f.connect_from(1, "10.0.0.5:4000");
    f.connect_from(2, "10.0.0.6:4000");
    f.out.take(1);
    f.event(ClusterEvent::Banned {
        net: "10.0.0.5/32".parse().unwrap_or_else(|e| panic!("{e}")),
        until: now().timestamp() + 60,
        by: "bob".into(),
    });
    assert_eq!(f.out.closed, [ClientId(1)]);
    assert_eq!(
        f.lines_for(1),
        ["-!- error: you are banned from this server"]
    );
    assert!(
        f.out
            .console
            .iter()
            .any(|l| l == "cluster: bob banned 10.0.0.5/32 (1 disconnected here)")
    );
}

/// A cluster node whose console echoes room lines (as `--console` does).
fn echoing_cluster_fixture() -> Fixture {
    let mut f = Fixture::new(HubConfig {
        cluster: Some(ClusterSettings {
            node: "a:1".into(),
            sync_seconds: 5,
        }),
        echo_messages: true,
        ..HubConfig::default()
    });
    f.out.cluster_up = true;
    f
}

impl Fixture {
    fn cluster(&mut self, event: ClusterEvent) {
        let mut out = std::mem::take(&mut self.out);
        self.hub.cluster_event(&mut out, event, self.time);
        self.out = out;
    }

    /// `line` heard live from another node as stream entry `ms`-0.
    fn heard(&mut self, ms: u64, line: RoomLine) {
        let id = StreamId { ms, seq: 0 };
        self.cluster(ClusterEvent::Line { id, line });
    }

    /// Answers `id`'s latest history request (with nothing).
    fn answer_history(&mut self, id: u64) {
        let token = self.out.requests.iter().rev().find_map(|r| match r {
            ClusterRequest::History { client, token, .. } if *client == ClientId(id as usize) => {
                Some(*token)
            }
            _ => None,
        });
        if let Some(token) = token {
            self.cluster(ClusterEvent::History {
                client: ClientId(id as usize),
                token,
                lines: Some(Vec::new()),
            });
        }
    }

    /// The room lines and notices asked to be published, as `kind room nick text`.
    fn published(&mut self) -> Vec<String> {
        let published = self
            .out
            .requests
            .iter()
            .filter_map(|request| match request {
                ClusterRequest::Publish(line) => Some(format!(
                    "{:?} {} {} {}",
                    line.kind, line.room, line.nick, line.text
                )),
                _ => None,
            });
        let published = published.collect();
        self.out.requests.clear();
        published
    }
}

fn bob_in(room: &str, kind: LineKind, text: &str) -> RoomLine {
    RoomLine {
        room: room.into(),
        kind,
        ..remote_line(text, now())
    }
}

#[test]
fn cluster_notices_cross_nodes_and_read_as_local_ones() {
    let mut f = echoing_cluster_fixture();
    f.connect_node(1);
    let guest = f.hub.nick(ClientId(1)).unwrap_or_default().to_owned();
    f.out.take(1);
    f.out.requests.clear();
    f.say(1, "/join dev\n");
    let requests = f.out.requests.clone();
    assert_eq!(
        f.published(),
        [format!("Joined dev {guest} ")],
        "a join leaves no room"
    );
    f.out.requests = requests;
    f.answer_history(1);
    f.out.requests.clear();
    f.out.take(1);

    // What another node says happens in dev reads here as it would if it
    // happened here.
    f.heard(1, bob_in("dev", LineKind::Joined, ""));
    f.heard(2, bob_in("dev", LineKind::Nick, "robert"));
    let mut topic = bob_in("dev", LineKind::Topic, "release friday");
    topic.nick = "robert".into();
    f.heard(3, topic);
    let mut said = bob_in("dev", LineKind::Message, "hi all");
    said.nick = "robert".into();
    f.heard(4, said);
    let mut left = bob_in("dev", LineKind::Left, "quit");
    left.nick = "robert".into();
    f.heard(5, left);
    f.heard(6, bob_in("ops", LineKind::Joined, "")); // nobody here
    assert_eq!(
        f.lines_for(1),
        [
            "-!- bob joined dev",
            "-!- bob is now known as robert",
            "-!- topic of dev: release friday",
            "<robert> hi all",
            "-!- robert left dev (quit)",
        ]
    );
    f.say(1, "/topic\n");
    assert_eq!(f.lines_for(1), ["-!- topic of dev: release friday"]);
    // The console shows a line said on another node as it shows a local one.
    assert!(
        f.out
            .console
            .iter()
            .any(|line| line == "[dev] <robert> hi all (node b:2)"),
        "{:?}",
        f.out.console
    );

    f.say(1, "/nick carol\n");
    f.cluster(ClusterEvent::Claimed {
        client: ClientId(1),
        nick: "carol".into(),
        result: ClaimResult::Claimed,
    });
    // Every room it is in hears of it, and of its leaving.
    assert_eq!(
        f.published(),
        [
            format!("Nick lobby {guest} carol"),
            format!("Nick dev {guest} carol")
        ]
    );
    f.hub
        .disconnected(&mut f.out, ClientId(1), Gone::Closed, f.time);
    assert_eq!(
        f.published(),
        [
            "Left lobby carol connection closed",
            "Left dev carol connection closed"
        ]
    );
}

#[test]
fn cluster_lines_missed_while_unsubscribed_are_read_back_once_and_in_order() {
    let mut f = cluster_fixture();
    f.connect_node(1);
    f.out.take(1);
    f.out.requests.clear();
    // The first subscription: nothing was missed before it.
    f.cluster(ClusterEvent::Subscribed {
        at: StreamId { ms: 100, seq: 0 },
    });
    assert_eq!(f.out.requests, []);
    f.heard(110, remote_line("one", now()));
    f.heard(110, remote_line("one again", now()));
    assert_eq!(f.lines_for(1), ["<bob> one"]);

    // The subscription broke; subscribed again, the room is read back from
    // the last line delivered, and lines heard meanwhile wait for it.
    f.cluster(ClusterEvent::Subscribed {
        at: StreamId { ms: 200, seq: 0 },
    });
    let token = match &f.out.requests[..] {
        [ClusterRequest::CatchUp { room, after, token }] => {
            assert_eq!(
                (room.as_str(), *after),
                ("lobby", StreamId { ms: 110, seq: 0 })
            );
            *token
        }
        other => panic!("expected one catch-up read: {other:?}"),
    };
    f.heard(205, remote_line("live 1", now()));
    f.heard(210, remote_line("live 2", now()));
    assert_eq!(f.lines_for(1), Vec::<String>::new());
    let entry = |ms, line| (StreamId { ms, seq: 0 }, line);
    let mut ours = remote_line("said here, sent late", now());
    ours.origin = "a:1".into();
    f.cluster(ClusterEvent::CaughtUp {
        room: "lobby".into(),
        token,
        entries: Some(vec![
            entry(150, remote_line("missed 1", now())),
            entry(160, ours),
            entry(170, remote_line("missed 2", now())),
            entry(205, remote_line("live 1", now())),
        ]),
        more: false,
    });
    assert_eq!(
        f.lines_for(1),
        [
            "<bob> missed 1",
            "<bob> missed 2",
            "<bob> live 1",
            "<bob> live 2"
        ]
    );
    f.heard(210, remote_line("live 2", now()));
    f.heard(220, remote_line("live 3", now()));
    assert_eq!(f.lines_for(1), ["<bob> live 3"]);

    // A read Redis could not answer is asked again on a tick.
    f.cluster(ClusterEvent::Subscribed {
        at: StreamId { ms: 300, seq: 0 },
    });
    let token = match &f.out.requests[..] {
        [.., ClusterRequest::CatchUp { token, .. }] => *token,
        other => panic!("expected a catch-up read: {other:?}"),
    };
    f.out.requests.clear();
    f.cluster(ClusterEvent::CaughtUp {
        room: "lobby".into(),
        token,
        entries: None,
        more: false,
    });
    f.advance(1000);
    assert!(
        f.out.requests.iter().any(|request| matches!(
            request,
            ClusterRequest::CatchUp { after, .. } if *after == StreamId { ms: 220, seq: 0 }
        )),
        "{:?}",
        f.out.requests
    );
}

#[test]
fn a_rename_on_another_node_reaches_a_member_of_several_of_its_rooms_once() {
    let mut f = echoing_cluster_fixture();
    f.connect_node(1);
    f.say(1, "/join dev\n");
    f.answer_history(1);
    f.out.take(1);
    // Bob, on another node, is in lobby and dev: his node says so in each.
    f.heard(1, bob_in("lobby", LineKind::Nick, "robert"));
    f.heard(2, bob_in("dev", LineKind::Nick, "robert"));
    assert_eq!(f.lines_for(1), ["-!- bob is now known as robert"]);
    // A later rename is news again.
    let mut again = bob_in("lobby", LineKind::Nick, "bob");
    again.nick = "robert".into();
    f.heard(3, again);
    assert_eq!(f.lines_for(1), ["-!- robert is now known as bob"]);
}
