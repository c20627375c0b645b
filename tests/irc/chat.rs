//! Talking across the two protocols: `#lobby` is the line protocol's
//! `lobby`. Channel and private messages and actions both ways, leaving
//! and coming back, nick changes, quitting, and what the capabilities
//! change: echo-message, and the `time` and `msgid` tags.

use chrono::{DateTime, Utc};

use super::{Irc, irc, irc_script, nc, server};

#[test]
fn irc_and_line_clients_chat_both_ways_in_the_lobby() {
    let Some(script) = irc_script() else { return };
    let server = server();
    let mut alice = nc(&server, "alice");
    let mut ircy = irc(&script, &server, "ircy");
    let joined = ircy.join_lobby();
    // The JOIN comes first, from the joiner itself; NAMES names both.
    assert!(
        joined[0].is("JOIN") && joined[0].nick() == "ircy" && joined[0].param(0) == "#lobby",
        "{joined:?}"
    );
    let names: Vec<&str> = joined
        .iter()
        .filter(|l| l.is("353"))
        .flat_map(|l| l.last().split(' '))
        .map(|name| name.trim_start_matches(['@', '+']))
        .collect();
    assert!(
        names.contains(&"alice") && names.contains(&"ircy"),
        "{names:?}"
    );
    alice.expect_body("-!- ircy joined lobby");

    alice.send_line("hello from the line side");
    let line = ircy.expect_command("PRIVMSG");
    assert!(
        line.is_privmsg("alice", "#lobby", "hello from the line side"),
        "{:?}",
        line.raw
    );
    assert!(
        line.source
            .as_deref()
            .is_some_and(|s| s.starts_with("alice!alice@")),
        "{:?}",
        line.raw
    );
    ircy.send(&["PRIVMSG", "#lobby", "hello from the IRC side"]);
    alice.expect_body("<ircy> hello from the IRC side");
    // Command names are case-insensitive; a trailing parameter may be
    // written with its colon though it has no space.
    ircy.raw("privmsg #lobby :lowercase");
    alice.expect_body("<ircy> lowercase");

    // Actions are CTCP ACTION on IRC and `/me` on the line side.
    alice.send_line("/me waves");
    let action = ircy.expect_command("PRIVMSG");
    assert!(
        action.is_privmsg("alice", "#lobby", "\u{1}ACTION waves\u{1}"),
        "{:?}",
        action.raw
    );
    ircy.send(&["PRIVMSG", "#lobby", "\u{1}ACTION bows\u{1}"]);
    alice.expect_body("* ircy bows");

    // Line clients coming and going are seen as they join and leave.
    let mut bob = nc(&server, "bob");
    let join = ircy.expect_command("JOIN");
    assert!(
        join.nick().starts_with("guest") && join.param(0) == "#lobby",
        "{:?}",
        join.raw
    );
    ircy.expect("bob's rename", |l| l.is("NICK") && l.param(0) == "bob");
    // The hub tells each room a client leaves (`left lobby (quit)`), which
    // IRC can show as a PART or a QUIT: either says bob is gone.
    bob.send_line("/quit");
    ircy.expect("bob leaving", |l| {
        l.nick() == "bob" && (l.is("PART") || l.is("QUIT"))
    });

    // A line client talking in another room still hears the lobby, named.
    alice.send_line("/join dev");
    alice.expect_body("-!- alice joined dev");
    ircy.send(&["PRIVMSG", "#lobby", "while you are in dev"]);
    alice.expect_body("#lobby <ircy> while you are in dev");
    // Not a member of dev, the IRC client hears nothing of it.
    alice.send_line("only for dev");
    alice.sync();
    let heard = ircy.sync();
    assert!(
        !heard.iter().any(|l| l.is("PRIVMSG")),
        "dev reached a lobby-only IRC client: {heard:?}"
    );
}

#[test]
fn irc_private_messages_reach_line_clients_and_back() {
    let Some(script) = irc_script() else { return };
    let server = server();
    let mut alice = nc(&server, "alice");
    // Private messages need no channel.
    let mut ircy = irc(&script, &server, "ircy");
    ircy.send(&["PRIVMSG", "alice", "psst, alice"]);
    alice.expect_body("*ircy* psst, alice");
    alice.send_line("/msg ircy psst yourself");
    alice.expect_body("-> *ircy* psst yourself");
    let line = ircy.expect_command("PRIVMSG");
    assert!(
        line.is_privmsg("alice", "ircy", "psst yourself"),
        "{:?}",
        line.raw
    );
    // Nicks compare without case, and a missing one is 401.
    ircy.send(&["PRIVMSG", "ALICE", "loud"]);
    alice.expect_body("*ircy* loud");
    ircy.send(&["PRIVMSG", "nobody", "anyone?"]);
    let missing = ircy.expect("401 or 403", |l| l.is("401") || l.is("403"));
    assert!(
        missing.is("401") && missing.param(1) == "nobody",
        "{:?}",
        missing.raw
    );
}

#[test]
fn irc_part_nick_and_quit_are_seen_by_line_clients() {
    let Some(script) = irc_script() else { return };
    let server = server();
    let mut alice = nc(&server, "alice");
    let mut ircy = irc(&script, &server, "ircy");
    ircy.join_lobby();
    alice.expect_body("-!- ircy joined lobby");

    ircy.send(&["PART", "#lobby"]);
    let part = ircy.expect_command("PART");
    assert!(
        part.nick() == "ircy" && part.param(0) == "#lobby",
        "{:?}",
        part.raw
    );
    alice.expect_body("-!- ircy left lobby");
    alice.send_line("after ircy left");
    alice.sync();
    let heard = ircy.sync();
    assert!(!heard.iter().any(|l| l.is("PRIVMSG")), "{heard:?}");

    ircy.join_lobby();
    alice.expect_body("-!- ircy joined lobby");
    ircy.send(&["NICK", "ircz"]);
    let renamed = ircy.expect_command("NICK");
    assert!(
        renamed.nick() == "ircy" && renamed.param(0) == "ircz",
        "{:?}",
        renamed.raw
    );
    alice.expect_body("-!- ircy is now known as ircz");
    // And the other way: a line client's rename reaches the channel.
    alice.send_line("/nick alicia");
    let renamed = ircy.expect_command("NICK");
    assert!(
        renamed.nick() == "alice" && renamed.param(0) == "alicia",
        "{:?}",
        renamed.raw
    );

    ircy.send(&["QUIT", "gone for lunch"]);
    alice.expect_body("-!- ircz left lobby (quit: gone for lunch)");
    ircy.expect_closed();
}

#[test]
fn irc_quit_is_acknowledged_with_error_then_closed() {
    let Some(script) = irc_script() else { return };
    let server = server();
    let mut ircy = irc(&script, &server, "ircy");
    ircy.send(&["QUIT", "bye"]);
    // modern.ircdocs.horse, QUIT: "The server acknowledges this by
    // replying with an ERROR message and closing the connection".
    let last = ircy.expect_closed();
    assert!(
        last.iter().any(|l| l.is("ERROR")),
        "QUIT was not acknowledged with ERROR: {last:?}"
    );
}

#[test]
fn irc_echo_message_returns_own_messages_only_to_clients_that_asked() {
    let Some(script) = irc_script() else { return };
    let server = server();
    let mut alice = nc(&server, "alice");
    let mut echoed = Irc::connect(&script, server.irc_addr());
    echoed.register_with_caps("echoed", &["echo-message"]);
    echoed.join_lobby();
    let mut plain = irc(&script, &server, "plain");
    plain.join_lobby();

    echoed.send(&["PRIVMSG", "#lobby", "do I hear myself?"]);
    alice.expect_body("<echoed> do I hear myself?");
    let own = echoed.expect_command("PRIVMSG");
    assert!(
        own.is_privmsg("echoed", "#lobby", "do I hear myself?"),
        "{:?}",
        own.raw
    );
    echoed.send(&["PRIVMSG", "alice", "privately"]);
    alice.expect_body("*echoed* privately");
    let own = echoed.expect_command("PRIVMSG");
    assert!(
        own.is_privmsg("echoed", "alice", "privately"),
        "{:?}",
        own.raw
    );

    plain.send(&["PRIVMSG", "#lobby", "I do not"]);
    alice.expect_body("<plain> I do not");
    plain.send(&["PRIVMSG", "alice", "nor here"]);
    alice.expect_body("*plain* nor here");
    let heard = plain.sync();
    assert!(
        !heard.iter().any(|l| l.is("PRIVMSG") && l.nick() == "plain"),
        "echoed without echo-message: {heard:?}"
    );
}

/// Is `time` the server-time tag's shape, `YYYY-MM-DDThh:mm:ss.sssZ`, and
/// within a minute of now?
fn is_recent_server_time(time: &str) -> bool {
    let b = time.as_bytes();
    let shaped = b.len() == 24
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'.',
            23 => c == b'Z',
            _ => c.is_ascii_digit(),
        });
    let recent = DateTime::parse_from_rfc3339(time)
        .is_ok_and(|t| (Utc::now() - t.with_timezone(&Utc)).num_seconds().abs() < 60);
    shaped && recent
}

#[test]
fn irc_time_and_msgid_tags_come_only_with_their_capabilities() {
    let Some(script) = irc_script() else { return };
    let server = server();
    let mut alice = nc(&server, "alice");
    // A line client that sees message ids: the msgid tag must be the same id.
    let mut ids = nc(&server, "ids");
    ids.send_line("/cap ids");
    ids.expect_contains("-!- capability ids on");
    let mut both = Irc::connect(&script, server.irc_addr());
    both.register_with_caps("both", &["server-time", "message-tags"]);
    both.join_lobby();
    let mut timed = Irc::connect(&script, server.irc_addr());
    timed.register_with_caps("timed", &["server-time"]);
    timed.join_lobby();
    let mut tagged = Irc::connect(&script, server.irc_addr());
    tagged.register_with_caps("tagged", &["message-tags"]);
    tagged.join_lobby();
    let mut bare = irc(&script, &server, "bare");
    bare.join_lobby();

    alice.send_line("what time is it?");
    let seen = ids.expect_contains("<alice> what time is it?");
    let id = seen
        .strip_prefix('#')
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no #ID in {seen:?}"));

    let line = both.expect_command("PRIVMSG");
    let time = line.tag("time").unwrap_or_default();
    assert!(is_recent_server_time(time), "{:?}", line.raw);
    assert_eq!(line.tag("msgid"), Some(id), "{:?}", line.raw);

    let line = timed.expect_command("PRIVMSG");
    assert!(
        line.tag("time").is_some_and(is_recent_server_time),
        "{:?}",
        line.raw
    );
    assert_eq!(line.tag("msgid"), None, "{:?}", line.raw);

    let line = tagged.expect_command("PRIVMSG");
    assert_eq!(line.tag("msgid"), Some(id), "{:?}", line.raw);
    assert_eq!(line.tag("time"), None, "{:?}", line.raw);

    let line = bare.expect_command("PRIVMSG");
    assert!(
        line.is_privmsg("alice", "#lobby", "what time is it?"),
        "{:?}",
        line.raw
    );
    assert_eq!(line.tags, None, "tags nobody asked for: {:?}", line.raw);
}
