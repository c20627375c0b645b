//! Raw framing, the socket tutorial's protocol: one read is one message,
//! every reply is `[ctime]text` with no newline.
//!
//! Both sides of the tutorial are re-created here: a chunk client (against
//! `chat-server --framing raw`) and a chunk server (against
//! `chat-client --raw`).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use chat_tests::{Client, Proc, ServerProcess, TIMEOUT, command, ipv6_available, is_ctime};

/// The tutorial's client: connect, send a chunk, read one reply of at most
/// 1024 bytes.
struct ChunkClient {
    stream: TcpStream,
}

impl ChunkClient {
    fn connect(addr: SocketAddr) -> ChunkClient {
        let stream = TcpStream::connect_timeout(&addr, TIMEOUT)
            .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
        stream
            .set_read_timeout(Some(TIMEOUT))
            .expect("set_read_timeout");
        ChunkClient { stream }
    }

    fn send(&mut self, text: &str) {
        self.stream.write_all(text.as_bytes()).expect("send");
    }

    /// One read of at most 1024 bytes, as text.
    fn recv(&mut self) -> String {
        let mut buf = [0_u8; 1024];
        match self.stream.read(&mut buf) {
            Ok(0) => panic!("the server closed the connection"),
            Ok(n) => String::from_utf8(buf[..n].to_vec()).expect("UTF-8 reply"),
            Err(e) => panic!("no reply within {TIMEOUT:?}: {e}"),
        }
    }

    /// Asserts nothing arrives within `wait`.
    fn expect_silence(&mut self, wait: Duration) {
        self.stream
            .set_read_timeout(Some(wait))
            .expect("set_read_timeout");
        let mut buf = [0_u8; 1024];
        match self.stream.read(&mut buf) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Ok(n) => panic!("unexpected {:?}", String::from_utf8_lossy(&buf[..n])),
            Err(e) => panic!("read failed: {e}"),
        }
        self.stream
            .set_read_timeout(Some(TIMEOUT))
            .expect("set_read_timeout");
    }
}

/// Splits `[<ctime>]text`, checking the stamp; returns the text.
fn unwrap_raw(chunk: &str) -> &str {
    let rest = chunk
        .strip_prefix('[')
        .unwrap_or_else(|| panic!("no [stamp] in {chunk:?}"));
    let (stamp, text) = rest
        .split_once(']')
        .unwrap_or_else(|| panic!("no [stamp] in {chunk:?}"));
    assert!(is_ctime(stamp), "not a ctime stamp: {stamp:?} in {chunk:?}");
    assert!(
        !text.ends_with('\n'),
        "raw replies have no newline: {chunk:?}"
    );
    text
}

/// The tutorial exchange: the client speaks, the operator answers it.
fn talk_to_the_operator(listen: &str) {
    let mut server = ServerProcess::start(&["--framing", "raw", "--console", "--listen", listen]);
    let mut client = ChunkClient::connect(server.addr());
    let local = client.stream.local_addr().expect("local_addr");
    server.expect_console(&format!("guest1 connected from {local}"));
    // Raw clients get no welcome and no notices.
    client.expect_silence(Duration::from_millis(200));

    client.send("hello");
    assert_eq!(
        server.expect_console("hello"),
        format!("[lobby] <guest1> hello ({local})")
    );
    server.console("hi there");
    let reply = client.recv();
    assert_eq!(unwrap_raw(&reply), "hi there", "the whole reply: {reply:?}");

    // A second round, with a trailing newline as nc would send it.
    client.send("again\n");
    server.expect_console("<guest1> again");
    server.console("and again");
    assert_eq!(unwrap_raw(&client.recv()), "and again");
}

#[test]
fn chunk_client_talks_to_the_operator() {
    talk_to_the_operator("127.0.0.1:0");
}

#[test]
fn chunk_client_talks_to_the_operator_over_ipv6() {
    if !ipv6_available() {
        return;
    }
    talk_to_the_operator("[::1]:0");
}

#[test]
fn raw_clients_get_room_traffic_but_no_notices() {
    // The console's echo tells when the server has handled each chunk, so no
    // two chunks of one client can be read as one.
    let mut server = ServerProcess::start(&["--framing", "raw", "--console"]);
    let mut a = ChunkClient::connect(server.addr());
    server.expect_console("guest1 connected");
    let mut b = ChunkClient::connect(server.addr());
    server.expect_console("guest2 connected");
    a.send("/nick ay");
    server.expect_console("guest1 is now known as ay");
    b.send("/nick bee");
    server.expect_console("guest2 is now known as bee");
    // Joins and nick changes are notices: raw clients get none of them.
    a.expect_silence(Duration::from_millis(200));

    a.send("hello bee");
    assert_eq!(unwrap_raw(&b.recv()), "<ay> hello bee");
    b.send("/me waves");
    assert_eq!(unwrap_raw(&a.recv()), "* bee waves");
    // Answers addressed to the client do arrive.
    a.send("/frob");
    assert_eq!(
        unwrap_raw(&a.recv()),
        "-!- error: unknown command /frob (try /help)"
    );
    b.send("/who");
    assert_eq!(unwrap_raw(&b.recv()), "-!- members of lobby (2): ay bee");
    // The sender never gets its own message back.
    a.expect_silence(Duration::from_millis(100));

    // In two rooms, a line from the one it does not talk in names it.
    a.send("/join dev");
    // One read is one message: let the join be read alone.
    a.expect_silence(Duration::from_millis(100));
    a.send("/who");
    assert_eq!(unwrap_raw(&a.recv()), "-!- members of dev (1): ay");
    b.send("lobby still");
    assert_eq!(unwrap_raw(&a.recv()), "#lobby <bee> lobby still");
}

/// The tutorial's server: accept one client, answer every chunk with
/// `[ctime]` + a reply, no newline; an empty read ends it.
fn tutorial_server() -> (SocketAddr, thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        stream
            .set_read_timeout(Some(TIMEOUT))
            .expect("set_read_timeout");
        let mut got = Vec::new();
        let mut buf = [0_u8; 1024];
        loop {
            let n = stream.read(&mut buf).expect("read within the timeout");
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let stamp = chrono::Local::now().format("%a %b %e %H:%M:%S %Y");
            let reply = format!("[{stamp}]you said: {text}");
            stream.write_all(reply.as_bytes()).expect("reply");
            got.push(text);
        }
        got
    });
    (addr, handle)
}

#[test]
fn chat_client_raw_talks_to_a_tutorial_server() {
    let (addr, server) = tutorial_server();
    let mut cmd = command("chat-client");
    cmd.args(["--raw", "127.0.0.1", &addr.port().to_string()]);
    let mut client = Proc::run(cmd, b"hello\nsecond line\n");
    client.assert_exit(0);
    let got = server.join().expect("the tutorial server");
    assert_eq!(
        got,
        ["hello", "second line"],
        "one chunk per line, no newline\n{}",
        client.report()
    );
    let stdout = client.stdout();
    let replies: Vec<&str> = stdout.lines().map(unwrap_raw).collect();
    assert_eq!(
        replies,
        ["you said: hello", "you said: second line"],
        "{}",
        client.report()
    );
    assert!(stdout.ends_with('\n'), "{}", client.report());
    assert_eq!(client.stderr(), "", "{}", client.report());
}

#[test]
fn chat_client_raw_talks_to_chat_server_raw() {
    let mut server = ServerProcess::start(&["--framing", "raw", "--console"]);
    let mut cmd = command("chat-client");
    cmd.args(["--raw", "127.0.0.1", &server.addr().port().to_string()]);
    let mut client = Proc::spawn(cmd);
    client.write_line("ping");
    server.expect_console("<guest1> ping");
    server.console("pong");
    let line = client.expect_stdout("pong");
    assert_eq!(unwrap_raw(&line), "pong");
    client.close_stdin();
    client.assert_exit(0);
}

#[test]
fn raw_over_long_chunk_and_quit() {
    let server = ServerProcess::start_with_config("framing = \"raw\"\nmax_line_bytes = 32\n", &[]);
    let mut client = ChunkClient::connect(server.addr());
    client.send(&"x".repeat(100));
    assert_eq!(
        unwrap_raw(&client.recv()),
        "-!- error: line too long (over 32 bytes), discarded"
    );
    client.send("/quit");
    assert_eq!(unwrap_raw(&client.recv()), "-!- Goodbye!");
    let mut buf = [0_u8; 1024];
    let n = client.stream.read(&mut buf).expect("EOF after the goodbye");
    assert_eq!(n, 0, "unexpected {:?}", String::from_utf8_lossy(&buf[..n]));
}

#[test]
fn a_raw_listener_and_a_line_listener_share_one_chat() {
    let server = ServerProcess::start(&["--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0,raw"]);
    let (line_addr, raw_addr) = (server.addrs()[0], server.addrs()[1]);
    let mut line = Client::join(line_addr);
    let mut raw = ChunkClient::connect(raw_addr);
    // The raw client gets no welcome; the line client sees it join.
    line.expect_body("-!- guest2 joined lobby");
    raw.expect_silence(Duration::from_millis(200));
    raw.send("hello from a chunk");
    line.expect_body("<guest2> hello from a chunk");
    line.send_line("hello from a line");
    assert_eq!(
        unwrap_raw(&raw.recv()),
        format!("<{}> hello from a line", line.nick())
    );
}
