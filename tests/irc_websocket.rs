//! The browser and IRC. IRC over WebSocket (the IRCv3 WebSocket spec): a web listener with
//! `protocol = "irc"` takes browser IRC clients such as gamja, one IRC
//! line per text message, with the `text.ircv3.net` subprotocol, in the
//! same chat as everyone else; and the page (the line protocol over its
//! WebSocket) and an IRC client in one room. Driven by the Python
//! `websockets` client of `tests/web/ws_client.py`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

use chat_tests::{Client, Proc, ServerProcess, TIMEOUT, http_get};

use crate::web::{own, ws_client, ws_script};

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

#[test]
fn the_page_and_an_irc_client_share_a_room() {
    let Some(script) = ws_script() else { return };
    let server = ServerProcess::start(&[
        "--listen",
        "127.0.0.1:0",
        "--listen",
        "127.0.0.1:0,web",
        "--listen",
        "127.0.0.1:0,irc",
    ]);
    // The page speaks the line protocol over its WebSocket.
    let web_addr = server.web_addr();
    let mut page = ws_client(&script, web_addr, &own(web_addr));
    page.expect_stdout("open");
    page.expect_stdout("-!- Welcome, guest");
    page.write_line("send /nick pager");
    page.expect_stdout("is now known as pager");
    // An IRC client, bare: lines out, lines in, each read bounded.
    let mut tcp = TcpStream::connect(server.irc_addr()).expect("connect to IRC");
    tcp.set_read_timeout(Some(TIMEOUT)).expect("read timeout");
    tcp.write_all(b"NICK ircer\r\nUSER i 0 * :I\r\nJOIN #lobby\r\nPRIVMSG #lobby :hello page\r\n")
        .expect("send");
    page.expect_stdout("<ircer> hello page");
    page.write_line("send hello irc");
    let mut reader = BufReader::new(tcp);
    let mut seen = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            panic!("no line from the page within {TIMEOUT:?}; IRC got {seen:#?}");
        }
        if line.contains("PRIVMSG #lobby :hello irc") {
            assert!(line.starts_with(":pager!pager@"), "{line}");
            break;
        }
        seen.push(line);
    }
}
