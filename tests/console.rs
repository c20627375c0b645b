//! The operator console: `--console` with piped stdin, stdout as the
//! operator's view.

use std::time::Duration;

use chat_tests::ServerProcess;

#[test]
fn operator_replies_to_the_last_speaker_and_addresses_clients() {
    let mut server = ServerProcess::start(&["--console"]);
    let mut a = server.join();
    let mut b = server.join();
    a.sync();
    server.expect_console(&format!("guest1 connected from {}", a.local_addr()));
    server.expect_console(&format!("guest2 connected from {}", b.local_addr()));

    // The console shows what a client says, with its nick and address.
    b.send_line("hello operator");
    let shown = server.expect_console("hello operator");
    assert_eq!(
        shown,
        format!("[lobby] <guest2> hello operator ({})", b.local_addr())
    );

    // A plain line answers the client that spoke last, and only it.
    server.console("hi guest2");
    b.expect_body("-operator- hi guest2");
    server.expect_console("(to guest2) hi guest2");
    let a_lines = a.sync();
    assert_eq!(
        a_lines,
        ["<guest2> hello operator"],
        "the reply went to the speaker only"
    );

    // /to NICK
    server.console("/to guest1 just for you");
    a.expect_body("-operator- just for you");
    assert!(b.sync().is_empty(), "{:?}", b.history());

    // /all
    server.console("/all everyone listen");
    a.expect_body("-operator- everyone listen");
    b.expect_body("-operator- everyone listen");
    server.expect_console("(to all 2 clients) everyone listen");

    // /who on the console lists nicks with addresses.
    server.console("/who");
    server.expect_console("2 clients:");
    server.expect_console(&format!("guest1 {} in lobby", a.local_addr()));

    // /msg to the operator shows on the console.
    a.send_line("/msg operator a private word");
    a.expect_body("-> *operator* a private word");
    server.expect_console(&format!("*guest1* a private word ({})", a.local_addr()));

    // Unknown console commands are answered on the console only.
    server.console("/frobnicate");
    server.expect_console("unknown console command /frobnicate");

    // /stats
    server.console("/stats");
    let stats = server.expect_console("clients 2 rooms 1");
    assert!(stats.contains("uptime"), "{stats}");
}

#[test]
fn kick_disconnects_and_tells_the_room() {
    let mut server = ServerProcess::start(&["--console"]);
    let mut a = server.join();
    let mut b = server.join();
    a.sync();
    server.console("/kick guest2 spamming");
    b.expect_body("-!- you were kicked by operator (spamming)");
    b.expect_eof();
    a.expect_body("-!- guest2 left lobby (kicked: spamming)");
    server.expect_console("guest2");
    server.console("/kick nobody");
    server.expect_console("no such nick: nobody");
    a.send_line("/who");
    a.expect_body("-!- members of lobby (1): guest1");
}

#[test]
fn quit_shuts_down_gracefully() {
    let mut server = ServerProcess::start(&["--console"]);
    let mut a = server.join();
    let mut b = server.join();
    a.sync();
    server.console("/quit");
    for client in [&mut a, &mut b] {
        client.expect_body("-!- server shutting down");
        let rest = client.expect_eof();
        assert!(rest.is_empty(), "nothing after the goodbye: {rest:?}");
    }
    // The server waits for its peers to close too (up to its 5 s grace).
    drop((a, b));
    let status = server.wait_exit(Duration::from_secs(3));
    assert_eq!(status.code(), Some(0), "{}", server.report());
}

#[test]
fn end_of_console_input_keeps_the_server_running() {
    let mut server = ServerProcess::start(&["--console"]);
    server.proc().close_stdin();
    server.expect_console("console input ended");
    let mut a = server.join();
    let mut b = server.join();
    a.send_line("still serving");
    b.expect_body("<guest1> still serving");
}

/// A private question is answered to its asker, however
/// many others speak before the operator types; the prompt names the target.
#[test]
fn a_private_question_is_answered_to_its_asker_not_to_whoever_spoke_next() {
    let mut server = ServerProcess::start(&["--console"]);
    let mut alice = server.join();
    let mut mallory = server.join();
    alice.send_line("/nick alice");
    alice.expect_body("-!- guest1 is now known as alice");
    mallory.send_line("/nick mallory");
    mallory.send_line("/join side");
    mallory.expect_body("-!- mallory joined side");
    alice.send_line("/msg operator what is the wifi password?");
    server.expect_console("*alice* what is the wifi password?");
    server.expect_console("reply to alice:");
    mallory.send_line("me me me");
    server.expect_console("<mallory> me me me");
    server.console("it is on the fridge");
    server.expect_console("(to alice) it is on the fridge");
    alice.expect_body("-operator- it is on the fridge");
    assert!(
        !mallory.sync().iter().any(|line| line.contains("fridge")),
        "{:?}",
        mallory.history()
    );
    // Answered: the next speaker is the target again, and the prompt says so.
    mallory.send_line("anyone?");
    server.expect_console("reply to mallory:");
}
