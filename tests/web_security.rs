//! What an outside review of the web listener found, each proved closed
//! over the real binary: a WebSocket message that carried several commands
//! (one message is one line, whatever it holds).

use chat_tests::{Client, ServerProcess, Stream};

use crate::web::{LISTEN, ws_client, ws_script};

#[test]
fn web_a_message_with_line_breaks_is_one_line_and_runs_no_command() {
    let Some(script) = ws_script() else { return };
    let server = ServerProcess::start(&LISTEN);
    let mut web = ws_client(&script, server.web_addr(), "");
    web.expect_stdout("-!- Welcome, guest1");
    let mut tcp = Client::join(server.plain_addr());
    web.expect_stdout("-!- guest2 joined lobby");
    web.write_line(r#"sendjson "line one\n/nick injected\nline three""#);
    // Everyone sees one line, said by guest1: no /nick ran.
    let seen = tcp.lines_until("the line", |line| line.contains("line one"));
    assert_eq!(
        seen.last().map(String::as_str),
        Some("<guest1> line one /nick injected line three"),
        "{seen:?}"
    );
    // guest1 is still guest1 to the others, and to itself.
    web.write_line("send still me");
    let seen = tcp.lines_until("the next line", |line| line.contains("still me"));
    assert_eq!(
        seen.last().map(String::as_str),
        Some("<guest1> still me"),
        "{seen:?}"
    );
    web.write_line("send /who");
    web.expect_stdout("-!- members of lobby (2): guest1 guest2");
    let heard = web.lines(Stream::Stdout);
    assert!(
        !heard.iter().any(|line| line.contains("injected") && !line.contains("line one")),
        "the web client saw the injected command run: {heard:?}"
    );
    assert!(
        !tcp.history().iter().any(|line| line.contains("known as")),
        "a nick changed: {:?}",
        tcp.history()
    );
}
