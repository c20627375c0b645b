//! IRC's read markers (`draft/read-marker`): `MARKREAD` asks and moves an
//! account's marker, every connection of the account with the capability
//! hears it move, a line-protocol connection of the same account hears it
//! as its notice, and a `JOIN` is followed by the channel's marker before
//! the end of its names.

use chat_hub::*;

use crate::accounts::Store;
use crate::irc_accounts::with_bob;
use crate::support::Fixture;

/// Bob's hub with a history store (lines get ids), bob logged in on IRC
/// connections 3 and 4 (both with `draft/read-marker`), carol (5) talking
/// in #dev, where 3 and 4 are.
fn bob_on_two_devices() -> (Fixture, Store) {
    let (mut f, mut store) = with_bob();
    f.hub.use_store(1, Vec::new(), false);
    f.out.records = Some(Vec::new());
    for id in [3, 4] {
        f.irc_client(id, &format!("b0b{id}"), "draft/read-marker");
        f.say(id, "PRIVMSG NickServ :IDENTIFY bob bob-secret\r\n");
        f.answer_accounts(&mut store);
        f.out.take(id);
    }
    f.irc_client(5, "carol", "");
    f.say(5, "JOIN #dev\r\n");
    (f, store)
}

#[test]
fn the_cap_is_offered_with_accounts_and_a_history_store() {
    let (mut f, _) = with_bob();
    f.hub.use_store(1, Vec::new(), false);
    f.protocol = Protocol::Irc;
    f.connect(3);
    f.say(3, "CAP LS 302\r\n");
    assert!(f.out.take(3).contains(" draft/read-marker"));
    // Without the capability, MARKREAD is no command.
    f.irc_client(4, "b0b", "");
    f.say(4, "MARKREAD #dev\r\n");
    insta::assert_snapshot!(f.irc_lines(4), @":chat.local 421 b0b MARKREAD :Unknown command");
}

#[test]
fn markread_moves_the_marker_for_every_connection_and_a_join_tells_it() {
    let (mut f, _store) = bob_on_two_devices();
    f.say(3, "JOIN #dev\r\n");
    insta::assert_snapshot!(f.irc_lines(3), @r"
    :bob!bob@chat.local JOIN #dev
    :chat.local MARKREAD #dev *
    :chat.local 353 bob = #dev :bob carol
    :chat.local 366 bob #dev :End of /NAMES list
    ");
    f.say(4, "JOIN #dev\r\n");
    f.out.take(4);
    f.say(5, "PRIVMSG #dev :one\r\n");
    f.time += chrono::Duration::milliseconds(1500);
    f.say(5, "PRIVMSG #dev :two\r\n");
    f.out.take(3);
    f.out.take(4);
    // Read up to a time between the lines: through "one", at that time.
    f.say(3, "MARKREAD #dev timestamp=2026-11-03T08:05:10.000Z\r\n");
    let moved = ":chat.local MARKREAD #dev timestamp=2026-11-03T08:05:10.000Z";
    assert_eq!(f.irc_lines(3), moved);
    assert_eq!(f.irc_lines(4), moved, "the other device hears it too");
    // Asked, it is told to the asker only.
    f.say(4, "MARKREAD #dev\r\n");
    assert_eq!(f.irc_lines(4), moved);
    assert_eq!(f.irc_lines(3), "");
    // An older time moves nothing: the asker hears where it stays.
    f.say(4, "MARKREAD #dev timestamp=2026-11-03T08:05:09.000Z\r\n");
    assert_eq!(f.irc_lines(4), moved);
    assert_eq!(f.irc_lines(3), "", "nothing moved for the other");
    // A time from the future is now: through the last line.
    f.say(3, "MARKREAD #dev timestamp=2099-01-01T00:00:00.000Z\r\n");
    let now = ":chat.local MARKREAD #dev timestamp=2026-11-03T08:05:10.500Z";
    assert_eq!(f.irc_lines(4), now);
    // What the store is handed: the ids read through, with the times.
    let kept: Vec<(u64, i64)> = (f.out.records.take().unwrap_or_default().into_iter())
        .filter_map(|record| match record {
            AccountRecord::Marker(marker) => Some((marker.through, marker.ms)),
            AccountRecord::Mail(_) => None,
        })
        .collect();
    assert_eq!(kept, [(1, 1_793_693_110_000), (2, 1_793_693_110_500)]);
    // A second join after a part tells the marker again.
    f.say(4, "PART #dev\r\nJOIN #dev\r\n");
    assert!(f.irc_lines(4).contains(now));
}

#[test]
fn markread_errors_and_a_line_protocol_read_reaches_irc_devices() {
    let (mut f, mut store) = bob_on_two_devices();
    f.say(3, "JOIN #dev\r\n");
    f.say(5, "PRIVMSG #dev :one\r\n");
    f.out.take(3);
    f.say(
        3,
        "MARKREAD\r\nMARKREAD #nowhere\r\nMARKREAD #dev yesterday\r\n",
    );
    insta::assert_snapshot!(f.irc_lines(3), @r"
    :chat.local FAIL MARKREAD NEED_MORE_PARAMS :MARKREAD needs a target
    :chat.local FAIL MARKREAD INVALID_PARAMS #nowhere :You are not on that channel
    :chat.local FAIL MARKREAD INVALID_PARAMS #dev yesterday :A marker is timestamp=YYYY-MM-DDThh:mm:ss.sssZ
    ");
    // A guest with the capability has no marker to move.
    f.irc_client(6, "guest", "draft/read-marker");
    f.say(6, "MARKREAD #dev\r\n");
    insta::assert_snapshot!(f.irc_lines(6), @":chat.local FAIL MARKREAD ACCOUNT_REQUIRED #dev :Read markers are an account's: log in first");
    // Bob on the line protocol reads #dev: IRC devices hear MARKREAD.
    f.protocol = Protocol::Line;
    f.connect(7);
    f.say(7, "/login bob bob-secret\n");
    f.answer_accounts(&mut store);
    f.say(7, "/join dev\n");
    f.out.take(7);
    f.say(7, "/read dev\n");
    assert!(f.out.take(7).contains("-!- read dev through #1"));
    assert_eq!(
        f.irc_lines(3),
        ":chat.local MARKREAD #dev timestamp=2026-11-03T08:05:09.000Z"
    );
}
