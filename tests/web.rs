//! The web listener over real sockets, checked with an
//! independent WebSocket client (the Python `websockets` package, driven by
//! `tests/web/ws_client.py`): the page and its headers, the handshake, a
//! TCP client and a WebSocket client chatting both ways, a foreign Origin
//! refused, a message over `max_line_bytes` refused while others are
//! served, a client that never reads cut off, and the close codes. The
//! browser tests are in `web_browser.rs`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use chat_tests::{Client, Proc, ServerProcess, http_get, missing, require_tool};

/// `--listen` for a line listener and a web listener, both on free ports.
pub(crate) const LISTEN: [&str; 4] = ["--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0,web"];

/// The WebSocket client script, or `None` (skipped, or failed under
/// `CHAT_TESTS_REQUIRE=1`) when python3 or its `websockets` package is
/// missing (`.ci/run` installs both).
pub(crate) fn ws_script() -> Option<PathBuf> {
    let python = require_tool("python3")?;
    let found = Command::new(&python)
        .args(["-c", "import websockets"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        missing(
            "the Python websockets package",
            "`python3 -c 'import websockets'` failed (pip install websockets)",
        );
        return None;
    }
    Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web/ws_client.py"))
}

/// A WebSocket client, connected to `addr`'s `/ws` with `origin` (empty:
/// none); it has said `open`, or `refused STATUS`.
pub(crate) fn ws_client(script: &PathBuf, addr: SocketAddr, origin: &str) -> Proc {
    let mut cmd = Command::new("python3");
    cmd.arg("-u").arg(script);
    let mut proc = Proc::spawn(cmd);
    proc.write_line(&format!("connect ws://{addr}/ws {origin}"));
    proc
}

/// The page's own origin on `addr`.
pub(crate) fn own(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

#[test]
fn web_page_is_served_with_its_security_headers() {
    let server = ServerProcess::start(&LISTEN);
    let page = http_get(server.web_addr(), "/");
    assert_eq!(page.status, 200, "{}", page.head);
    assert!(
        page.body.contains("<script src=\"/app.js\""),
        "{}",
        page.body
    );
    let head = page.head.to_ascii_lowercase();
    for header in [
        "content-security-policy: default-src 'none'; script-src 'self'",
        "frame-ancestors 'none'",
        "x-frame-options: deny",
        "x-content-type-options: nosniff",
        "content-type: text/html; charset=utf-8",
    ] {
        assert!(head.contains(header), "no {header:?} in\n{}", page.head);
    }
    // Nothing in the page comes from another host.
    for file in [
        "/",
        "/app.js",
        "/lines.js",
        "/session.js",
        "/views.js",
        "/account.js",
        "/app.css",
    ] {
        let reply = http_get(server.web_addr(), file);
        assert_eq!(reply.status, 200, "{file}: {}", reply.head);
        assert!(!reply.body.contains("//cdn"), "{file}");
        assert!(
            !reply.body.contains("https://"),
            "{file} names another host"
        );
    }
    assert!(
        http_get(server.web_addr(), "/app.js")
            .head
            .contains("text/javascript")
    );
    assert_eq!(http_get(server.web_addr(), "/nothing").status, 404);
    // A plain GET of /ws is not an upgrade.
    assert_eq!(http_get(server.web_addr(), "/ws").status, 400);
}

#[test]
fn the_page_speaks_lines_when_the_default_protocol_is_raw() {
    let Some(script) = ws_script() else { return };
    let server = ServerProcess::start(&[
        "--framing",
        "raw",
        "--listen",
        "127.0.0.1:0",
        "--listen",
        "127.0.0.1:0,web",
    ]);
    let mut web = ws_client(&script, server.web_addr(), &own(server.web_addr()));
    web.expect_stdout("open");
    web.expect_stdout("-!- Welcome, guest");
    // Catching up by id works on the page whatever `framing` says.
    web.write_line("send /cap ids");
    web.expect_stdout("-!- capability ids on");
}

#[test]
fn web_and_tcp_clients_chat_both_ways() {
    let Some(script) = ws_script() else { return };
    let server = ServerProcess::start(&LISTEN);
    let mut web = ws_client(&script, server.web_addr(), &own(server.web_addr()));
    web.expect_stdout("open");
    web.expect_stdout("-!- Welcome, guest");
    web.write_line("send /nick webby");
    web.expect_stdout("-!- guest1 is now known as webby");
    let mut tcp = Client::join(server.plain_addr());
    web.expect_stdout("joined lobby");
    web.write_line("send hello from the browser side");
    tcp.expect_contains("<webby> hello from the browser side");
    tcp.send_line("hello from nc");
    // One message per line, the TCP bytes less the LF.
    let line = web.expect_stdout("> hello from nc");
    assert!(line.starts_with("recv ["), "{line}");
    assert!(!line.contains('\r'), "{line:?}");
    // Commands work as typed, and a new web client gets the history.
    web.write_line("send /who");
    web.expect_stdout("-!- members of lobby (2):");
    let mut late = ws_client(&script, server.web_addr(), "");
    late.expect_stdout("(history) <webby> hello from the browser side");
    // A ping is answered by the server.
    late.write_line("ping");
    late.expect_stdout("pong");
}

#[test]
fn web_a_foreign_origin_is_refused_with_403() {
    let Some(script) = ws_script() else { return };
    let server = ServerProcess::start(&LISTEN);
    let mut evil = ws_client(&script, server.web_addr(), "http://evil.example");
    evil.expect_stdout("refused 403");
    // web_origins names the origins allowed instead.
    let server = ServerProcess::builder()
        .config("web_origins = [\"https://chat.example.org\"]\n")
        .args(&LISTEN)
        .start();
    let mut listed = ws_client(&script, server.web_addr(), "https://chat.example.org");
    listed.expect_stdout("open");
    let mut own_page = ws_client(&script, server.web_addr(), &own(server.web_addr()));
    own_page.expect_stdout("refused 403");
}

#[test]
fn web_a_message_over_max_line_bytes_is_refused_with_1009_while_others_are_served() {
    let Some(script) = ws_script() else { return };
    let server = ServerProcess::builder()
        .config("max_line_bytes = 64\n")
        .args(&LISTEN)
        .start();
    let mut tcp = Client::join(server.plain_addr());
    let mut big = ws_client(&script, server.web_addr(), "");
    big.expect_stdout("-!- Welcome");
    let mut fine = ws_client(&script, server.web_addr(), "");
    fine.expect_stdout("-!- Welcome");
    big.write_line("sendsize 100000");
    big.expect_stdout("closed 1009");
    fine.write_line("send still served");
    tcp.expect_contains("> still served");
    // Binary is not a line: refused with 1003.
    fine.write_line("binary abc");
    fine.expect_stdout("closed 1003");
}

#[test]
fn web_close_codes_for_quit_kick_and_shutdown() {
    let Some(script) = ws_script() else { return };
    let mut server = ServerProcess::builder()
        .args(&LISTEN)
        .args(&["--console"])
        .start();
    let mut quitter = ws_client(&script, server.web_addr(), "");
    quitter.expect_stdout("-!- Welcome, guest1");
    quitter.write_line("send /quit");
    quitter.expect_stdout("closed 1000");
    let mut kicked = ws_client(&script, server.web_addr(), "");
    kicked.expect_stdout("-!- Welcome, guest2");
    server.console("/kick guest2 enough");
    kicked.expect_stdout("kicked");
    kicked.expect_stdout("closed 1000");
    let mut stays = ws_client(&script, server.web_addr(), "");
    stays.expect_stdout("-!- Welcome");
    server.signal(libc::SIGTERM);
    stays.expect_stdout("server shutting down");
    stays.expect_stdout("closed 1001");
}

#[test]
fn web_a_client_that_never_reads_is_cut_off_at_max_queue_bytes() {
    let server = ServerProcess::builder()
        .config("max_queue_bytes = 4096\nflood_rate = 0.0\n")
        .args(&LISTEN)
        .start();
    // A talker whose own copies of its lines are read (and dropped) by a
    // thread, so it is never the slow one; it reports the cut-off.
    let mut talker =
        TcpStream::connect(server.plain_addr()).unwrap_or_else(|e| panic!("connect: {e}"));
    let mut hears = talker.try_clone().unwrap_or_else(|e| panic!("clone: {e}"));
    let (cut_tx, cut_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut heard, mut chunk) = (String::new(), [0; 65536]);
        while let Ok(n @ 1..) = hears.read(&mut chunk) {
            heard.push_str(&String::from_utf8_lossy(&chunk[..n]));
            if let Some(at) = heard.find("left lobby (too slow") {
                let line = heard[at..].lines().next().unwrap_or_default().to_owned();
                let _ = cut_tx.send(line);
                return;
            }
            // Keep only a tail long enough to hold a split notice.
            if heard.len() > 4096 {
                heard = heard.split_off(heard.len() - 512);
            }
        }
    });
    // A raw upgrade on a socket with a small receive buffer, never read.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
        .unwrap_or_else(|e| panic!("socket: {e}"));
    let _ = socket.set_recv_buffer_size(4096);
    socket
        .connect(&server.web_addr().into())
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let mut sleeper: TcpStream = socket.into();
    let upgrade = format!(
        "GET /ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        server.web_addr()
    );
    sleeper
        .write_all(upgrade.as_bytes())
        .unwrap_or_else(|e| panic!("write: {e}"));
    std::thread::sleep(Duration::from_millis(200));
    let burst = format!("{}\n", "x".repeat(1000)).repeat(100);
    let mut cut = None;
    // At most 40 MB: far past the kernel's buffers and the 4 KiB queue.
    for _ in 0..400 {
        talker
            .write_all(burst.as_bytes())
            .unwrap_or_else(|e| panic!("the talker could not write: {e}"));
        cut = cut_rx.recv_timeout(Duration::from_millis(20)).ok();
        if cut.is_some() {
            break;
        }
    }
    let cut = cut.unwrap_or_else(|| {
        panic!(
            "the web client that never reads was not cut off\n{}",
            server.report()
        )
    });
    assert!(cut.contains("output queue over max_queue_bytes"), "{cut}");
    // The server dropped it: reading ends (after whatever was buffered).
    let _ = sleeper.set_read_timeout(Some(chat_tests::TIMEOUT));
    let mut sink = Vec::new();
    let _ = sleeper.read_to_end(&mut sink);
}

/// Opens `/ws` on `addr` from the local address `from`, naming
/// `forwarded` in `X-Forwarded-For`, and returns the first text message
/// the server sends (the welcome, or why the client is refused).
fn first_message_via(
    addr: SocketAddr,
    from: std::net::IpAddr,
    forwarded: &str,
) -> (TcpStream, String) {
    use socket2::{Domain, SockAddr, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)
        .and_then(|socket| {
            socket.bind(&SockAddr::from(SocketAddr::new(from, 0)))?;
            socket.connect_timeout(&addr.into(), chat_tests::TIMEOUT)?;
            Ok(socket)
        })
        .unwrap_or_else(|e| panic!("cannot connect to {addr} from {from}: {e}"));
    let mut stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(chat_tests::TIMEOUT))
        .unwrap_or_else(|e| panic!("{e}"));
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         X-Forwarded-For: {forwarded}\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    // The 101 answer, then the first frame: a text message of less than
    // 126 bytes, unmasked (a server's frames are), so its header is two
    // bytes. (A test's reader; the server uses tungstenite's.)
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    let message = loop {
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            let frame = &received[end + 4..];
            if let [0x81, len, payload @ ..] = frame
                && payload.len() >= usize::from(*len)
            {
                break String::from_utf8_lossy(&payload[..usize::from(*len)]).into_owned();
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => panic!(
                "no first message from {addr}: {:?}",
                String::from_utf8_lossy(&received)
            ),
            Ok(n) => received.extend_from_slice(&buf[..n]),
        }
    };
    (stream, message)
}

#[test]
fn web_forwarded_for_names_the_client_only_behind_a_trusted_proxy() {
    let local: std::net::IpAddr = "127.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"));
    let other: std::net::IpAddr = "127.0.0.2".parse().unwrap_or_else(|e| panic!("{e}"));
    let server = ServerProcess::start_with_config(
        // Loopback is exempt from the limit by default; not here.
        "max_clients_per_ip = 1\nexempt = []\ntrusted_proxies = [\"127.0.0.1\"]\n",
        &LISTEN,
    );
    let addr = server.web_addr();
    // Through the trusted proxy: one client per forwarded address.
    let (_first, welcome) = first_message_via(addr, local, "10.9.8.1");
    assert!(welcome.contains("Welcome"), "{welcome}");
    let (_second, welcome) = first_message_via(addr, local, "10.9.8.2");
    assert!(welcome.contains("Welcome"), "another address: {welcome}");
    let (_third, refused) = first_message_via(addr, local, "10.9.8.1");
    assert!(
        refused.contains("too many connections from your address"),
        "the same forwarded address again: {refused}"
    );
    // From anyone else the header is ignored: 127.0.0.2 is the address.
    let (_fourth, welcome) = first_message_via(addr, other, "10.9.8.3");
    assert!(welcome.contains("Welcome"), "{welcome}");
    let (_fifth, refused) = first_message_via(addr, other, "10.9.8.4");
    assert!(
        refused.contains("too many connections from your address"),
        "an untrusted peer's header is ignored: {refused}"
    );
}
