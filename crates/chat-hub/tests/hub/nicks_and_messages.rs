//! Nicks and private messages: how a nick is checked and announced, the
//! nicks kept for guests, `/msg`, `/me` and unknown commands.

use chat_hub::*;

use crate::support::{Fixture, cluster_fixture};

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
                ClusterRequest::Publish(RoomLine { kind: RoomEvent::Nick, text, .. }),
                ClusterRequest::Claim { nick, .. },
            ] if *member == next && *nick == next && *text == next
        ),
        "{:?}",
        f.out.requests
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
