//! Several chat-server nodes as one chat through a real redis-server: real
//! processes, raw TCP clients, faults (a node killed, Redis restarted or
//! missing at start). Each test starts its own redis-server on a free
//! loopback port without persistence; without redis-server installed the
//! tests say so and pass.

#![allow(clippy::print_stderr)] // a skipped test says why

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

fn redis_installed() -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!("skipped: redis-server is not installed");
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// A redis-server of our own, stopped on drop.
struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    fn start() -> Redis {
        let mut redis = Redis {
            port: free_port(),
            child: None,
        };
        redis.spawn();
        redis
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let mut reply = [0u8; 7];
                if s.write_all(b"PING\r\n").is_ok()
                    && std::io::Read::read(&mut s, &mut reply).is_ok_and(|n| n > 0)
                {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

static DIRS: AtomicU32 = AtomicU32::new(0);

/// A chat-server node, killed on drop.
struct Node {
    child: Child,
    addr: String,
    log: Arc<Mutex<Vec<String>>>,
    dir: PathBuf,
}

impl Node {
    fn start(name: &str, redis_url: &str) -> Node {
        let dir = std::env::temp_dir().join(format!(
            "chat-cluster-{}-{}",
            std::process::id(),
            DIRS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let config = dir.join("server.toml");
        let text = format!(
            "history_lines = 5\n\n[cluster]\nredis_url = \"{redis_url}\"\nnode_name = \"{name}\"\nnick_lease_seconds = 2\n"
        );
        std::fs::write(&config, text).unwrap_or_else(|e| panic!("{e}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_chat-server"))
            .args(["--listen", "127.0.0.1:0", "--no-console", "--config"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start chat-server: {e}"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            let Some(stderr) = stderr else { return };
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                if let Ok(mut log) = sink.lock() {
                    log.push(line);
                }
            }
        });
        let mut node = Node {
            child,
            addr: String::new(),
            log,
            dir,
        };
        let line = node.wait_log("listening on ");
        node.addr = line.trim_start_matches("listening on ").trim().to_owned();
        node
    }

    /// Waits for a stderr line containing `text`.
    fn wait_log(&self, text: &str) -> String {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Some(line) = self
                .log
                .lock()
                .ok()
                .and_then(|log| log.iter().find(|l| l.contains(text)).cloned())
            {
                return line;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = self.log.lock().map(|l| l.join("\n")).unwrap_or_default();
        panic!("no {text:?} in the node's log:\n{log}");
    }

    fn client(&self) -> Client {
        Client::connect(&self.addr)
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = self.log.lock().map(|l| l.join("\n")).unwrap_or_default();
            eprintln!("--- log of the node at {}:\n{log}", self.addr);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A raw TCP client in line framing.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    seen: Vec<String>,
}

impl Client {
    fn connect(addr: &str) -> Client {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{addr}: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap_or_else(|e| panic!("{e}"));
        let writer = stream.try_clone().unwrap_or_else(|e| panic!("{e}"));
        let mut client = Client {
            reader: BufReader::new(stream),
            writer,
            seen: Vec::new(),
        };
        client.expect("Welcome, ");
        client
    }

    fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .unwrap_or_else(|e| panic!("send {line:?}: {e}"));
    }

    /// Reads until a line containing `text` (within `within`); returns it.
    fn expect_within(&mut self, text: &str, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        let mut line = String::new();
        while Instant::now() < deadline {
            match self.reader.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) if line.ends_with('\n') => {
                    let done = std::mem::take(&mut line);
                    let done = done.trim_end().to_owned();
                    self.seen.push(done.clone());
                    if done.contains(text) {
                        return Some(done);
                    }
                }
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
        }
        None
    }

    fn expect(&mut self, text: &str) -> String {
        self.expect_within(text, WAIT)
            .unwrap_or_else(|| panic!("never got {text:?}; got:\n{}", self.seen.join("\n")))
    }

    fn nick(&mut self, nick: &str) {
        self.send(&format!("/nick {nick}"));
        self.expect(&format!("is now known as {nick}"));
    }

    /// Takes `nick` once another node has let it go (releases travel
    /// through Redis asynchronously, so the first try may be early).
    fn nick_eventually(&mut self, nick: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            self.send(&format!("/nick {nick}"));
            let reply = self.expect("-!- ");
            if reply.contains(&format!("is now known as {nick}")) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{nick} never freed: {:?}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Says numbered probes from `from` until `to` hears one: the nodes are
/// subscribed and the path through Redis works.
fn until_heard(from: &mut Client, to: &mut Client, what: &str) {
    for i in 0..50 {
        let probe = format!("{what} {i}");
        from.send(&probe);
        if to
            .expect_within(&format!("> {what} "), Duration::from_millis(300))
            .is_some()
        {
            return;
        }
    }
    panic!(
        "{what}: never heard across nodes; got:\n{}",
        to.seen.join("\n")
    );
}

#[test]
fn nodes_share_rooms_private_messages_nicks_and_lists() {
    if !redis_installed() {
        return;
    }
    let redis = Redis::start();
    let a = Node::start("nodeA", &redis.url());
    let b = Node::start("nodeB", &redis.url());
    let mut alice = a.client();
    alice.nick("alice");
    let mut bob = b.client();
    bob.nick("bob");
    until_heard(&mut alice, &mut bob, "probe");

    alice.send("hello from A");
    let line = bob.expect("<alice> hello from A");
    assert!(line.starts_with('['), "stamped: {line}");
    bob.send("/me waves from B");
    alice.expect("* bob waves from B");

    bob.send("/msg ALICE psst");
    alice.expect("*bob* psst");
    bob.expect("-> *ALICE* psst");
    alice.send("/msg nobody hi");
    alice.expect("error: no such nick: nobody");

    let mut other = b.client();
    other.send("/nick Alice");
    other.expect("error: nick Alice is taken");
    alice.send("/nick alice2");
    alice.expect("alice is now known as alice2");
    other.nick_eventually("alice"); // released by node A

    alice.send("/join dev");
    alice.expect("alice2 joined dev");
    bob.send("/who");
    let who = bob.expect("members of lobby");
    assert!(who.contains("alice ") || who.ends_with("alice"), "{who}");
    assert!(who.contains("bob"), "{who}");
    assert!(!who.contains("alice2"), "{who}");
    bob.send("/rooms");
    let rooms = bob.expect("-!- rooms (");
    assert!(
        rooms.contains("lobby(2)") && rooms.contains("dev(1)"),
        "{rooms}"
    );
}

#[test]
fn history_on_join_from_either_node() {
    if !redis_installed() {
        return;
    }
    let redis = Redis::start();
    let a = Node::start("nodeA", &redis.url());
    let b = Node::start("nodeB", &redis.url());
    let mut alice = a.client();
    alice.nick("alice");
    for i in 1..=7 {
        alice.send(&format!("line {i}"));
    }
    alice.send("/me is done");
    std::thread::sleep(Duration::from_millis(300));
    for node in [&a, &b] {
        let mut late = node.client();
        // history_lines = 5: the last five, oldest first, before live lines.
        let first = late.expect("(history)");
        assert!(first.ends_with("(history) <alice> line 4"), "{first}");
        late.expect("(history) <alice> line 7");
        late.expect("(history) * alice is done");
        late.send("/history 2");
        let again = late.expect("(history)");
        assert!(again.ends_with("(history) <alice> line 7"), "{again}");
        assert!(
            !late.seen.iter().any(|l| l.ends_with("line 3")),
            "{:?}",
            late.seen
        );
    }
}

#[test]
fn a_killed_node_frees_its_nicks_after_the_lease() {
    if !redis_installed() {
        return;
    }
    let redis = Redis::start();
    let mut a = Node::start("nodeA", &redis.url());
    let b = Node::start("nodeB", &redis.url());
    let mut alice = a.client();
    alice.nick("alice");
    let mut other = b.client();
    other.send("/nick alice");
    other.expect("error: nick alice is taken");
    a.kill();
    let deadline = Instant::now() + WAIT;
    loop {
        other.send("/nick alice");
        if other
            .expect_within("is now known as alice", Duration::from_millis(500))
            .is_some()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "alice never freed: {:?}",
            other.seen
        );
    }
}

#[test]
fn redis_restarted_mid_conversation() {
    if !redis_installed() {
        return;
    }
    let mut redis = Redis::start();
    let a = Node::start("nodeA", &redis.url());
    let b = Node::start("nodeB", &redis.url());
    let mut alice = a.client();
    alice.nick("alice");
    let mut carol = a.client();
    carol.nick("carol");
    let mut bob = b.client();
    bob.nick("bob");
    until_heard(&mut alice, &mut bob, "before");

    redis.stop();
    a.wait_log("cluster: lost");
    // Local rooms keep working: nothing is lost on the same node.
    for i in 0..5 {
        alice.send(&format!("during outage {i}"));
    }
    for i in 0..5 {
        carol.expect(&format!("<alice> during outage {i}"));
    }
    redis.spawn();
    until_heard(&mut alice, &mut bob, "after");
    until_heard(&mut bob, &mut carol, "back");
    // Nicks were claimed again after the restart.
    let mut other = b.client();
    let deadline = Instant::now() + WAIT;
    loop {
        other.send("/nick alice");
        let reply = other.expect("-!- ");
        if reply.contains("nick alice is taken") {
            break;
        }
        assert!(
            Instant::now() < deadline && !reply.contains("now known as"),
            "alice was not claimed again: {reply}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn redis_down_at_start_then_up() {
    if !redis_installed() {
        return;
    }
    let mut redis = Redis::start();
    redis.stop();
    let a = Node::start("nodeA", &redis.url());
    a.wait_log("unreachable");
    let mut one = a.client();
    let mut two = a.client();
    one.send("alone but fine");
    two.expect("> alone but fine");
    redis.spawn();
    a.wait_log("cluster: connected");
    let b = Node::start("nodeB", &redis.url());
    let mut three = b.client();
    until_heard(&mut one, &mut three, "joined up");
}
