//! Line clients in rooms: welcome, notices, relay, and every client command.

use chat_tests::{Client, ServerProcess, is_ctime, split_stamp};

/// Asserts that `body` is the one line `client` got since its last sync:
/// exactly once, and nothing else.
fn assert_got_once(client: &mut Client, body: &str) {
    let lines = client.sync();
    if lines != [body] {
        client.fail(&format!("expected just {body:?}, got {lines:?}"));
    }
}

/// Asserts that `client` got nothing since the last sync.
fn assert_got_nothing(client: &mut Client) {
    let lines = client.sync();
    if !lines.is_empty() {
        client.fail(&format!("expected nothing, got {lines:?}"));
    }
}

#[test]
fn every_line_starts_with_a_ctime_stamp() {
    let server = ServerProcess::start(&[]);
    let mut a = server.join();
    a.sync();
    for line in a.history() {
        let Some((stamp, _)) = split_stamp(line) else {
            a.fail(&format!("no [stamp] prefix in {line:?}"));
        };
        assert!(is_ctime(stamp), "not a ctime stamp: {stamp:?} in {line:?}");
    }
    assert_eq!(
        a.history().len(),
        3,
        "welcome, join, rooms: {:?}",
        a.history()
    );
}

#[test]
fn rfc3339_stamps_when_configured() {
    let server = ServerProcess::start_with_config("timestamp = \"rfc3339\"\n", &[]);
    let mut a = server.join();
    a.sync();
    for line in a.history() {
        let (stamp, _) = split_stamp(line).unwrap_or_else(|| a.fail("no stamp"));
        // 2026-11-03T08:05:09+01:00 or ...Z
        let ok = chrono::DateTime::parse_from_rfc3339(stamp).is_ok()
            && stamp.len() >= 20
            && stamp.as_bytes()[10] == b'T';
        assert!(ok, "not an RFC 3339 stamp: {stamp:?} in {line:?}");
    }
}

#[test]
fn three_clients_welcome_join_and_relay() {
    let server = ServerProcess::start(&[]);
    let mut a = Client::connect(server.addr());
    assert_eq!(
        a.expect("a welcome", |_| true),
        "-!- Welcome, guest1! Type /help for commands."
    );
    a.expect_body("-!- guest1 joined lobby");
    a.set_nick("guest1");
    let mut b = server.join();
    let mut c = server.join();
    assert_eq!(
        (b.nick(), c.nick()),
        ("guest2", "guest3"),
        "guest nicks are numbered in order"
    );

    // Everyone already there hears of each join, once.
    let a_lines = a.sync();
    assert_eq!(
        a_lines,
        ["-!- guest2 joined lobby", "-!- guest3 joined lobby"]
    );
    assert_eq!(b.sync(), ["-!- guest3 joined lobby"]);
    assert_got_nothing(&mut c);

    // A line reaches the two others exactly once, and not its sender.
    a.send_line("hello everyone");
    assert_got_nothing(&mut a);
    assert_got_once(&mut b, "<guest1> hello everyone");
    assert_got_once(&mut c, "<guest1> hello everyone");

    // `//text` says `/text` literally.
    c.send_line("//not a command");
    assert_got_once(&mut a, "<guest3> /not a command");
    assert_got_once(&mut b, "<guest3> /not a command");
    assert_got_nothing(&mut c);
}

#[test]
fn a_client_joins_at_most_max_rooms_per_client() {
    let server = ServerProcess::start_with_config("max_rooms_per_client = 2\n", &[]);
    let mut a = server.join();
    a.send_line("/join dev");
    a.expect_body("-!- guest1 joined dev");
    a.send_line("/join ops");
    a.expect_body("-!- error: you are in 2 rooms, the most allowed: /part one first");
    a.send_line("/part lobby");
    a.expect_body("-!- guest1 left lobby");
    a.send_line("/join ops");
    a.expect_body("-!- guest1 joined ops");
    a.send_line("/rooms");
    a.expect_body("-!- rooms (3): *dev(1) *ops(1) lobby(0)");
}

#[test]
fn client_commands() {
    let server = ServerProcess::start(&[]);
    let mut a = server.join();
    let mut b = server.join();
    let mut c = server.join();
    a.sync();
    b.sync();

    // /nick: everyone in the room hears it; taken and reserved nicks are refused.
    a.send_line("/nick alice");
    for client in [&mut a, &mut b, &mut c] {
        assert_got_once(client, "-!- guest1 is now known as alice");
    }
    a.set_nick("alice");
    b.send_line("/nick bob");
    b.set_nick("bob");
    b.expect_body("-!- guest2 is now known as bob");
    c.send_line("/nick ALICE");
    c.expect_body("-!- error: nick ALICE is taken");
    c.send_line("/nick operator");
    c.expect_body("-!- error: nick operator is reserved");
    a.sync();
    c.sync();

    // /join keeps the rooms one is in: lines from another than the current
    // room carry it. /part leaves one; traffic stays in its room.
    c.send_line("/join dev");
    c.expect_body("-!- guest3 joined dev");
    a.send_line("c hears this in both");
    c.expect_body("#lobby <alice> c hears this in both");
    assert_got_once(&mut b, "<alice> c hears this in both");
    c.send_line("/part lobby");
    c.expect_body("-!- guest3 left lobby");
    assert_got_once(&mut a, "-!- guest3 left lobby");
    assert_got_once(&mut b, "-!- guest3 left lobby");
    c.send_line("only dev hears this");
    a.send_line("only lobby hears this");
    assert_got_nothing(&mut c);
    assert_got_once(&mut b, "<alice> only lobby hears this");
    assert_got_nothing(&mut a);
    c.send_line("/join lobby");
    c.expect_body("-!- guest3 joined lobby");
    c.send_line("/part dev");
    c.expect_body("-!- guest3 left dev");
    c.send_line("/join #dev");
    c.expect_body("-!- guest3 joined dev");
    // The emptied room was forgotten in memory, not in the history file.
    c.expect_body("(history) <guest3> only dev hears this");
    c.send_line("/part lobby");
    c.expect_body("-!- guest3 left lobby");
    assert_eq!(
        a.sync(),
        ["-!- guest3 joined lobby", "-!- guest3 left lobby"]
    );
    b.sync();

    // /msg: only the recipient gets it, the sender gets the echo.
    b.send_line("/msg alice psst, alice");
    b.expect_body("-> *alice* psst, alice");
    assert_got_once(&mut a, "*bob* psst, alice");
    assert_got_nothing(&mut c);
    b.send_line("/msg guest3 across rooms");
    assert_got_once(&mut c, "*bob* across rooms");
    assert_got_once(&mut b, "-> *guest3* across rooms");
    b.send_line("/msg nobody hello?");
    b.expect_body("-!- error: no such nick: nobody");

    // /me: an action, to the room only.
    a.send_line("/me waves");
    assert_got_once(&mut b, "* alice waves");
    assert_got_nothing(&mut c);
    assert_got_nothing(&mut a);

    // /who lists the room, sorted; /rooms lists every room by size.
    a.send_line("/who");
    a.expect_body("-!- members of lobby (2): alice bob");
    c.send_line("/who");
    c.expect_body("-!- members of dev (1): guest3");
    a.send_line("/rooms");
    a.expect_body("-!- rooms (2): lobby(2) dev(1)");

    // An unknown command is an error notice; the connection still works.
    a.send_line("/frob now");
    a.expect_body("-!- error: unknown command /frob (try /help)");
    a.send_line("/nick");
    a.expect_body("-!- error: usage: /nick NAME");
    a.send_line("still here");
    assert_got_once(&mut b, "<alice> still here");

    // /help lists the commands.
    a.send_line("/help");
    let help = a.lines_until("ending /help", |l| l.starts_with("-!- //TEXT"));
    assert!(
        help.iter().any(|l| l.starts_with("-!- /msg NICK TEXT")),
        "{help:?}"
    );

    // /quit: a goodbye, the room hears the leave, then the connection closes.
    b.send_line("/quit see you");
    b.expect_body("-!- Goodbye!");
    b.expect_eof();
    assert_got_once(&mut a, "-!- bob left lobby (quit: see you)");
    a.send_line("/who");
    a.expect_body("-!- members of lobby (1): alice");
}

#[test]
fn nicks_are_unique_ignoring_case_and_free_again_after_leaving() {
    let server = ServerProcess::start(&[]);
    let mut a = server.join();
    let mut b = server.join();
    a.send_line("/nick Zed");
    a.expect_body("-!- guest1 is now known as Zed");
    b.send_line("/nick zED");
    b.expect_body("-!- error: nick zED is taken");
    a.send_line("/quit");
    a.expect_eof();
    b.expect_body("-!- Zed left lobby (quit)");
    b.send_line("/nick zed");
    b.expect_body("-!- guest2 is now known as zed");
}

#[test]
fn guest_nicks_are_left_to_newcomers() {
    let server = ServerProcess::start(&[]);
    let mut a = server.join();
    a.send_line("/nick GUEST2");
    a.expect_body(
        "-!- error: nick GUEST2 is reserved for guests: the server gives them to newcomers",
    );
    let b = server.join();
    assert_eq!(b.nick(), "guest2", "nobody could take it");
}
