//! Attacks on the web listener, each proved closed over the real binary: a
//! WebSocket message that carries several commands (one message is one
//! line, whatever it holds), refusals without the security headers every
//! other answer carries, a DNS-rebinding page (`Host: evil.example` with a
//! matching `Origin`) let in on loopback, and one address whose silent
//! sockets keep everyone else from the page.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use chat_tests::{Client, HttpReply, ServerProcess, Stream, http_request};

use crate::web::{LISTEN, ws_client, ws_script};

/// The headers every answer of a web listener carries, lower case.
const SECURITY_HEADERS: [&str; 5] = [
    "content-security-policy: default-src 'none'; script-src 'self'",
    "x-frame-options: deny",
    "x-content-type-options: nosniff",
    "referrer-policy: no-referrer",
    "cross-origin-opener-policy: same-origin",
];

/// An upgrade request to `/ws` for `host`, with `extra` header lines
/// (each ending in CRLF) and `Sec-WebSocket-Version: version`.
fn upgrade(host: &str, version: u8, extra: &str) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: {version}\r\n\
         {extra}\r\n"
    )
}

/// `reply` as a snapshot shows it: the head's lines but the security
/// headers (asserted instead, the same on every answer), then the body.
fn shown(reply: &HttpReply) -> String {
    let head: Vec<&str> = reply
        .head
        .split("\r\n")
        .filter(|line| {
            let line = line.to_ascii_lowercase();
            !SECURITY_HEADERS.iter().any(|header| {
                header
                    .split_once(':')
                    .is_some_and(|(name, _)| line.starts_with(&format!("{name}:")))
            })
        })
        .collect();
    format!("{}\n\n{}", head.join("\n"), reply.body)
}

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
        !heard
            .iter()
            .any(|line| line.contains("injected") && !line.contains("line one")),
        "the web client saw the injected command run: {heard:?}"
    );
    assert!(
        !tcp.history().iter().any(|line| line.contains("known as")),
        "a nick changed: {:?}",
        tcp.history()
    );
}

#[test]
fn web_every_refusal_carries_the_security_headers() {
    let server = ServerProcess::start(&LISTEN);
    let addr = server.web_addr();
    let mut huge = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nX: ");
    huge.push_str(&"a".repeat(9000));
    huge.push_str("\r\n\r\n");
    let cases = [
        ("garbage", "hello there\r\n\r\n".to_owned(), 400),
        (
            "GET /ws without an upgrade",
            format!("GET /ws HTTP/1.1\r\nHost: {addr}\r\n\r\n"),
            400,
        ),
        (
            "a foreign Origin",
            upgrade(&addr.to_string(), 13, "Origin: http://evil.example\r\n"),
            403,
        ),
        (
            "no such page",
            format!("GET /nothing HTTP/1.1\r\nHost: {addr}\r\n\r\n"),
            404,
        ),
        (
            "POST",
            format!("POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n"),
            405,
        ),
        (
            "WebSocket version 8",
            upgrade(&addr.to_string(), 8, ""),
            426,
        ),
        ("a head over 8 KiB", huge, 431),
        ("HTTP/2.0", "GET / HTTP/2.0\r\n\r\n".to_owned(), 505),
        ("no Host", "GET / HTTP/1.1\r\n\r\n".to_owned(), 400),
        (
            "two Hosts",
            format!("GET / HTTP/1.1\r\nHost: {addr}\r\nHost: {addr}\r\n\r\n"),
            400,
        ),
        (
            "a name the server does not answer to",
            format!(
                "GET / HTTP/1.1\r\nHost: evil.example:{}\r\n\r\n",
                addr.port()
            ),
            421,
        ),
    ];
    let mut snapshot = String::new();
    for (what, request, status) in cases {
        let reply = http_request(addr, &request);
        assert_eq!(reply.status, status, "{what}: {}", reply.head);
        let head = reply.head.to_ascii_lowercase();
        for header in SECURITY_HEADERS {
            assert!(
                head.contains(header),
                "{what}: no {header:?} in\n{}",
                reply.head
            );
        }
        snapshot.push_str(&format!("# {what}\n{}\n", shown(&reply)));
    }
    // The 426 says which version to use.
    assert!(
        snapshot.contains("\nSec-WebSocket-Version: 13\n"),
        "{snapshot}"
    );
    insta::assert_snapshot!("refusals", snapshot);
}

/// The status of the answer to `request` sent to `addr`, read up to the end
/// of its head (a 101 leaves the connection open), and the head.
fn status_of(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream
        .set_read_timeout(Some(chat_tests::TIMEOUT))
        .unwrap_or_else(|e| panic!("{e}"));
    stream
        .write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("send {request:?}: {e}"));
    let (mut head, mut byte) = (Vec::new(), [0u8]);
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => panic!(
                "no whole answer to {request:?}: {:?}",
                String::from_utf8_lossy(&head)
            ),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, head)
}

/// The statuses of `GET /` and of an upgrade to `/ws` with `Host: host`
/// and the page's own `Origin` (`http://host`).
fn page_and_upgrade(addr: SocketAddr, host: &str) -> (u16, u16) {
    let page = status_of(addr, &format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n"));
    let origin = format!("Origin: http://{host}\r\n");
    let upgraded = status_of(addr, &upgrade(host, 13, &origin));
    (page.0, upgraded.0)
}

#[test]
fn web_a_rebinding_host_is_refused_and_the_listeners_own_names_are_answered() {
    let server = ServerProcess::start(&LISTEN);
    let addr = server.web_addr();
    let port = addr.port();
    // A page on evil.example whose name now points at 127.0.0.1: Host and
    // Origin match each other, and neither the page nor /ws is served.
    for evil in [format!("evil.example:{port}"), "EVIL.example.".to_owned()] {
        assert_eq!(page_and_upgrade(addr, &evil), (421, 421), "Host: {evil}");
    }
    let (_, head) = status_of(
        addr,
        &upgrade(
            &format!("evil.example:{port}"),
            13,
            &format!("Origin: http://evil.example:{port}\r\n"),
        ),
    );
    let head = head.to_ascii_lowercase();
    for header in SECURITY_HEADERS {
        assert!(head.contains(header), "no {header:?} in\n{head}");
    }
    // The listener's own address and localhost, with a port or without.
    for own in [
        format!("127.0.0.1:{port}"),
        "127.0.0.1".to_owned(),
        format!("localhost:{port}"),
        "LocalHost".to_owned(),
        format!("chat.localhost:{port}"),
    ] {
        assert_eq!(page_and_upgrade(addr, &own), (200, 101), "Host: {own}");
    }
    // A name the operator lists (a LAN user typing the machine's name).
    let server = ServerProcess::builder()
        .config("web_hosts = [\"mybox.lan\"]\n")
        .args(&LISTEN)
        .start();
    let addr = server.web_addr();
    let port = addr.port();
    assert_eq!(
        page_and_upgrade(addr, &format!("mybox.lan:{port}")),
        (200, 101)
    );
    assert_eq!(
        page_and_upgrade(addr, &format!("evil.example:{port}")),
        (421, 421)
    );
}

/// `count` connections to `addr` from the local address `from` that never
/// send a byte.
fn silent_sockets(addr: SocketAddr, from: &str, count: usize) -> Vec<TcpStream> {
    use socket2::{Domain, SockAddr, Socket, Type};
    let from: IpAddr = from.parse().unwrap_or_else(|e| panic!("{from}: {e}"));
    (0..count)
        .map(|n| {
            let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)
                .and_then(|socket| {
                    socket.bind(&SockAddr::from(SocketAddr::new(from, 0)))?;
                    socket.connect_timeout(&addr.into(), chat_tests::TIMEOUT)?;
                    Ok(socket)
                })
                .unwrap_or_else(|e| panic!("silent socket {n} from {from} to {addr}: {e}"));
            socket.into()
        })
        .collect()
}

/// Whether the server has closed `stream` (EOF or a reset), answering it
/// first or not; `false` while it is open and silent.
fn server_closed(stream: &mut TcpStream) -> bool {
    stream
        .set_nonblocking(true)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

/// `GET /` from 127.0.0.1: the whole answer, or why there is none.
fn load_page(addr: SocketAddr) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(&addr, chat_tests::TIMEOUT)
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(chat_tests::TIMEOUT))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .map_err(|e| format!("read: {e}"))?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// Loads the page `times` times from 127.0.0.1; returns how many did not
/// get the page, with the first failure.
fn failed_page_loads(addr: SocketAddr, times: usize) -> (usize, Option<String>) {
    let (mut failed, mut first) = (0, None);
    for _ in 0..times {
        match load_page(addr) {
            Ok(page) if page.starts_with("HTTP/1.1 200 OK\r\n") && page.contains("</html>") => {}
            Ok(other) => {
                failed += 1;
                first.get_or_insert(format!("{other:.200}"));
            }
            Err(why) => {
                failed += 1;
                first.get_or_insert(why);
            }
        }
    }
    (failed, first)
}

#[test]
fn web_one_address_holding_300_silent_sockets_keeps_no_one_else_from_the_page() {
    // Loopback is exempt from per-address limits by default; not here, so
    // 127.0.0.2 is one address like any other.
    let server = ServerProcess::start_with_config("exempt = []\n", &LISTEN);
    let addr = server.web_addr();
    let mut held = silent_sockets(addr, "127.0.0.2", 300);
    // Past max_clients_per_ip (20) waiting, each is told why and closed.
    let mut last = held.pop().unwrap_or_else(|| panic!("no sockets"));
    last.set_read_timeout(Some(chat_tests::TIMEOUT))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = String::new();
    let _ = last.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n")
            && answer.ends_with(
                "too many connections from your address are waiting to send a request\n"
            ),
        "the 300th silent socket: {answer:?}\n{}",
        server.report()
    );
    // The first twenty still wait (they have 10 s to send a request).
    let open = held
        .iter_mut()
        .map(server_closed)
        .filter(|&closed| !closed)
        .count();
    assert_eq!(open, 20, "{}", server.report());
    let (failed, first) = failed_page_loads(addr, 30);
    assert_eq!(
        failed,
        0,
        "page loads from 127.0.0.1 failed: {first:?}\n{}",
        server.report()
    );
}

#[test]
fn web_when_every_place_is_taken_the_connection_waiting_longest_makes_room() {
    // Loopback is exempt (the default): 127.0.0.2 is not limited per
    // address, so its 300 silent sockets fill all 256 places.
    let server = ServerProcess::start(&LISTEN);
    let addr = server.web_addr();
    let mut held = silent_sockets(addr, "127.0.0.2", 300);
    let (failed, first) = failed_page_loads(addr, 30);
    assert_eq!(
        failed,
        0,
        "page loads from 127.0.0.1 failed: {first:?}\n{}",
        server.report()
    );
    // The oldest were closed, and only they: the closed ones come first.
    std::thread::sleep(Duration::from_millis(200));
    let closed: Vec<bool> = held.iter_mut().map(server_closed).collect();
    let dropped = closed.iter().take_while(|&&closed| closed).count();
    assert!(
        dropped >= 300 - 256 && closed[dropped..].iter().all(|&closed| !closed),
        "the {dropped} oldest were closed, then {} newer ones too\n{}",
        closed[dropped..].iter().filter(|&&c| c).count(),
        server.report()
    );
}
