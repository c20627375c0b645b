//! Rooms and membership: the welcome, relaying a line to the room,
//! joining and parting (a client may be in several rooms), leaving, the
//! limits on a line and on join notices, and raw clients.

use chat_hub::*;

use crate::support::{Fixture, now};

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
