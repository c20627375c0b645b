//! What operators do to others: kicks, bans (by address and range, with
//! a bounded duration, closing the logins they cover), the topic and the
//! message of the day.

use chat_hub::*;

use crate::support::{Fixture, with_admission};

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
