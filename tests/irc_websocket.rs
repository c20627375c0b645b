//! IRC over WebSocket (the IRCv3 WebSocket spec): a web listener with
//! `protocol = "irc"` takes browser IRC clients such as gamja, one IRC
//! line per text message, with the `text.ircv3.net` subprotocol, in the
//! same chat as everyone else. Driven by the Python `websockets` client of
//! `tests/web/ws_client.py`.

use chat_tests::{Client, Proc, ServerProcess, http_get};

use crate::web::ws_script;

#[test]
fn an_irc_client_over_websocket_registers_joins_and_chats_with_a_line_client() {
    let Some(script) = ws_script() else { return };
    let server =
        ServerProcess::start(&["--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0,web,irc"]);
    let addr = server.web_irc_addr();
    // It serves no page: browser IRC clients bring their own.
    assert_eq!(http_get(addr, "/").status, 404);
    let mut cmd = std::process::Command::new("python3");
    cmd.arg("-u").arg(&script);
    let mut irc = Proc::spawn(cmd);
    irc.write_line(&format!("connectirc ws://{addr}/ws"));
    irc.expect_stdout("open text.ircv3.net");
    for line in ["NICK webirc", "USER w 0 * :Web Irc", "JOIN #lobby"] {
        irc.write_line(&format!("send {line}"));
    }
    // One IRC line per message, without its CRLF.
    irc.expect_stdout("recv :chat.local 001 webirc :Welcome");
    irc.expect_stdout("recv :webirc!webirc@chat.local JOIN #lobby");
    let mut nc = Client::join(server.plain_addr());
    irc.expect_stdout("JOIN #lobby");
    nc.send_line("hello browser irc");
    irc.expect_stdout("recv :guest1!guest1@chat.local PRIVMSG #lobby :hello browser irc");
    irc.write_line("send PRIVMSG #lobby :hello nc");
    nc.expect_body("<webirc> hello nc");
}
