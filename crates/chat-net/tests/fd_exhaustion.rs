//! Running out of file descriptors: the peer is refused politely and the
//! reactor neither spins nor stops accepting for good. Runs in a child
//! process because it exhausts the process's descriptor table.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use chat_net::{Bytes, CloseReason, ConnId, Handler, ListenerId, Net, NetConfig, Reactor};

const CHILD_ENV: &str = "CHAT_NET_FD_EXHAUSTION_CHILD";

#[test]
fn refuses_politely_when_out_of_descriptors() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_exhausts_descriptors",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
}

struct Refuser {
    stats: mpsc::Sender<u64>,
}

impl Handler for Refuser {
    fn accepted(&mut self, _: &mut Net, _: ConnId, _: SocketAddr, _: ListenerId) {}

    fn received(&mut self, net: &mut Net, conn: ConnId, data: &[u8]) {
        net.send(conn, Bytes::copy_from_slice(data));
        let _ = self.stats.send(net.stats().refused);
    }

    fn closed(&mut self, _: &mut Net, _: ConnId, _: CloseReason) {}

    fn refusal_notice(&mut self, _peer: SocketAddr) -> Option<Bytes> {
        Some(Bytes::from_static(b"server full\n"))
    }
}

#[test]
#[ignore = "run by refuses_politely_when_out_of_descriptors in a child process"]
fn child_exhausts_descriptors() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let limit = libc::rlimit {
        rlim_cur: 128,
        rlim_max: 128,
    };
    // SAFETY: setrlimit only reads the struct we pass.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);

    let mut reactor = Reactor::new(NetConfig::default()).unwrap();
    let (_, addr) = reactor.listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let (tx, rx) = mpsc::channel();
    let waker = reactor.waker();
    let server = thread::spawn(move || {
        let mut handler = Refuser { stats: tx };
        reactor.run(&mut handler).unwrap();
    });

    // Fill the table, then free exactly one slot for the client's socket.
    let mut hoard = Vec::new();
    while let Ok(f) = File::open("/dev/null") {
        hoard.push(f);
    }
    hoard.pop();
    let mut refused = TcpStream::connect(addr).unwrap();
    refused
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut notice = Vec::new();
    refused.read_to_end(&mut notice).unwrap();
    assert_eq!(notice, b"server full\n");

    // With descriptors back, connections are accepted again.
    hoard.truncate(hoard.len().saturating_sub(8));
    let mut ok = TcpStream::connect(addr).unwrap();
    ok.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    ok.write_all(b"ping").unwrap();
    let mut buf = [0; 4];
    ok.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), 1);

    drop(hoard);
    drop(ok);
    drop(refused);
    // The reactor thread is left running: the child process exits with the test.
    let _ = (waker, server);
}
