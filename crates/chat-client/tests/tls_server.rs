//! TLS against the real chat-server: one server with a plain and a TLS
//! listener; our client (`--tls --ca`), `openssl s_client` and
//! `ncat --ssl` on the TLS side chat with a plain client on the other.
//!
//! The server binary is `$CHAT_SERVER_BIN` when set; otherwise it is built
//! once with `$CARGO build -p chat-server` into its own target dir under
//! `CARGO_TARGET_TMPDIR` (as tests/tui.rs does). Without openssl or ncat the
//! test concerned prints why and passes (CI installs both).
#![allow(clippy::print_stderr, reason = "say why a test did nothing")]

mod common;

use std::fs;
use std::io::{BufRead as _, BufReader, Read, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Instant;

use common::{Client, DEADLINE};

/// A certificate for `localhost` and `127.0.0.1` with its key, as PEM files.
struct Pki {
    cert: PathBuf,
    key: PathBuf,
}

impl Pki {
    fn new() -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let made = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .expect("rcgen certificate");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "chat-client-tls-server-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&dir).expect("temp dir");
        let pki = Self {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        fs::write(&pki.cert, made.cert.pem()).expect("write cert");
        fs::write(&pki.key, made.signing_key.serialize_pem()).expect("write key");
        pki
    }

    fn cert(&self) -> &str {
        self.cert.to_str().expect("UTF-8 temp path")
    }
}

/// A running chat-server with a plain and a TLS listener, killed on drop.
struct Server {
    child: Child,
    plain: SocketAddr,
    tls: SocketAddr,
}

impl Server {
    fn start(pki: &Pki) -> Self {
        let tls_listen = format!(
            "127.0.0.1:0,cert={},key={}",
            pki.cert.display(),
            pki.key.display()
        );
        let mut child = Command::new(common::server_binary())
            .args([
                "--listen",
                "127.0.0.1:0",
                "--listen",
                &tls_listen,
                "--no-console",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chat-server");
        let stderr = child.stderr.take().expect("server stderr");
        let mut lines = BufReader::new(stderr).lines();
        let (mut plain, mut tls) = (None, None);
        while plain.is_none() || tls.is_none() {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                panic!("chat-server did not say where it listens");
            };
            let Some(rest) = line.split("listening on ").nth(1) else {
                continue;
            };
            let (addr, is_tls) = match rest.strip_suffix(" (TLS)") {
                Some(addr) => (addr, true),
                None => (rest, false),
            };
            let addr: SocketAddr = addr.trim().parse().expect("server address");
            if is_tls {
                tls = Some(addr);
            } else {
                plain = Some(addr);
            }
        }
        // Keep draining stderr so the server never blocks on it.
        thread::spawn(move || for _ in lines {});
        Self {
            child,
            plain: plain.expect("plain listener"),
            tls: tls.expect("TLS listener"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lines from any reader, collected on a thread so waits can time out.
struct Lines(Receiver<String>);

impl Lines {
    fn spawn(reader: impl Read + Send + 'static) -> Self {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(reader).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self(rx)
    }

    /// Wait for a line containing `text`; returns it.
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        while let Some(left) = DEADLINE.checked_sub(start.elapsed()) {
            match self.0.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("never got a line with {text:?}");
    }
}

/// A chat user on the plain listener.
struct Plain {
    stream: TcpStream,
    lines: Lines,
}

impl Plain {
    fn join(server: &Server, nick: &str) -> Self {
        let stream = TcpStream::connect(server.plain).expect("plain client connects");
        let lines = Lines::spawn(stream.try_clone().expect("clone socket"));
        let mut plain = Self { stream, lines };
        plain.say(&format!("/nick {nick}"));
        plain.lines.wait_for(&format!("is now known as {nick}"));
        plain
    }

    fn say(&mut self, line: &str) {
        writeln!(self.stream, "{line}").expect("plain client writes");
    }
}

/// Kills a helper process (openssl, ncat) on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn available(program: &str, version_arg: &str) -> bool {
    let found = Command::new(program)
        .arg(version_arg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        eprintln!("skipping: {program} is not installed");
    }
    found
}

#[test]
fn our_client_over_tls_chats_with_a_plain_client() {
    let pki = Pki::new();
    let server = Server::start(&pki);
    let mut bob = Plain::join(&server, "bob");

    let port = server.tls.port().to_string();
    let mut alice = Client::spawn([
        "--tls",
        "--ca",
        pki.cert(),
        "--nick",
        "alice",
        "127.0.0.1",
        &port,
    ]);
    alice.wait_for_stdout("is now known as alice");
    alice.write_stdin(b"hello over tls\n");
    bob.lines.wait_for("<alice> hello over tls");
    bob.say("hi alice, in plain text");
    let seen = alice.wait_for_stdout("hi alice, in plain text");
    assert!(seen.contains("<bob> hi alice, in plain text"), "{seen}");

    // End of input: the client half-closes, the server closes, exit 0.
    alice.close_stdin();
    let finished = alice.finish();
    assert_eq!(finished.code(), Some(0), "{finished}");
    assert_eq!(finished.stderr, "", "{finished}");
}

#[test]
fn openssl_s_client_is_a_client_too() {
    if !available("openssl", "version") {
        return;
    }
    let pki = Pki::new();
    let server = Server::start(&pki);
    let mut bob = Plain::join(&server, "bob");

    let mut child = Command::new("openssl")
        .args(["s_client", "-connect", &server.tls.to_string(), "-quiet"])
        .args(["-CAfile", pki.cert(), "-verify_return_error"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start openssl s_client");
    let mut stdin = child.stdin.take().expect("openssl stdin");
    let lines = Lines::spawn(child.stdout.take().expect("openssl stdout"));
    let _openssl = Killed(child);

    lines.wait_for("Welcome");
    stdin
        .write_all(b"/nick olga\nhello from openssl\n")
        .expect("write to openssl");
    bob.lines.wait_for("<olga> hello from openssl");
    bob.say("hello olga");
    lines.wait_for("<bob> hello olga");
}

#[test]
fn ncat_ssl_is_a_client_too() {
    if !available("ncat", "--version") {
        return;
    }
    let pki = Pki::new();
    let server = Server::start(&pki);
    let mut bob = Plain::join(&server, "bob");

    let port = server.tls.port().to_string();
    let mut child = Command::new("ncat")
        .args(["--ssl", "127.0.0.1", &port])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ncat");
    let mut stdin = child.stdin.take().expect("ncat stdin");
    let lines = Lines::spawn(child.stdout.take().expect("ncat stdout"));
    let _ncat = Killed(child);

    lines.wait_for("Welcome");
    stdin
        .write_all(b"/nick nina\nhello from ncat\n")
        .expect("write to ncat");
    bob.lines.wait_for("<nina> hello from ncat");
    bob.say("hello nina");
    lines.wait_for("<bob> hello nina");
}

#[test]
fn plain_client_on_the_tls_port_gets_nothing_readable() {
    let pki = Pki::new();
    let server = Server::start(&pki);
    let port = server.tls.port().to_string();
    // Our client without --tls: the server refuses the non-TLS bytes and
    // closes; the client ends (no hang) and prints no chat line.
    let mut client = Client::spawn(["127.0.0.1", &port]);
    client.write_stdin(b"hello in plain text\n");
    let finished = client.finish();
    assert!(finished.status.is_some(), "{finished}");
    assert!(!finished.stdout.contains("Welcome"), "{finished}");
}
