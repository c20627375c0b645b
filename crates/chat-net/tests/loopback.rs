//! End-to-end tests of the reactor over real loopback sockets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use chat_net::{Bytes, CloseReason, ConnId, NetConfig, Reactor};
use support::*;

#[test]
fn echo_round_trip_and_stats() {
    let mut server = Server::start(NetConfig::default(), Behavior::echo());
    assert_ne!(server.addr().port(), 0, "port 0 must report the real port");
    let mut c = connect(server.addr());
    let id = server.expect_accepted();
    write_all(&mut c, b"hello, reactor");
    assert_eq!(read_exact_n(&mut c, 14), b"hello, reactor");

    let (stats, count, peer) =
        server.query(move |net, _| (net.stats(), net.connection_count(), net.peer_addr(id)));
    assert_eq!(stats.bytes_in, 14);
    assert_eq!(stats.bytes_out, 14);
    assert_eq!(stats.accepted, 1);
    assert!(stats.read_syscalls >= 1 && stats.write_syscalls >= 1);
    assert_eq!(count, 1);
    assert_eq!(peer, Some(c.local_addr().unwrap()));

    drop(c);
    // EOF → default read_closed → close_after_flush, and the peer went first.
    assert_eq!(server.expect_closed(id), CloseReason::PeerClosed);
    assert_eq!(server.query(|net, _| net.connection_count()), 0);
}

/// 8 MiB echoed to a client that starts late and reads in small chunks: the
/// server must hit WouldBlock, wait for WRITABLE, and resume mid-buffer.
#[test]
fn large_echo_to_slow_reader_arrives_intact() {
    const LEN: usize = 8 << 20;
    let config = NetConfig {
        max_queue_bytes: 16 << 20,
        ..NetConfig::default()
    };
    let server = Server::start(config, Behavior::echo());
    let mut c = connect(server.addr());
    let data = pattern(LEN, 7);
    let mut writer = c.try_clone().unwrap();
    let sent = data.clone();
    let w = thread::spawn(move || {
        for chunk in sent.chunks(100_000) {
            writer.write_all(chunk).unwrap();
        }
    });
    thread::sleep(Duration::from_millis(200));
    let mut got = Vec::with_capacity(LEN);
    let mut buf = [0u8; 1000];
    let mut reads = 0;
    while got.len() < LEN {
        let n = c.read(&mut buf).unwrap();
        assert_ne!(n, 0, "early EOF after {} bytes", got.len());
        got.extend_from_slice(&buf[..n]);
        reads += 1;
        if reads % 512 == 0 {
            thread::sleep(Duration::from_millis(1));
        }
    }
    w.join().unwrap();
    assert!(got == data, "echoed bytes differ from what was sent");
    let stats = server.query(|net, _| net.stats());
    assert_eq!(stats.bytes_out, LEN as u64);
}

/// One 8 MiB `Bytes` queued at once: written across many partial writes.
#[test]
fn one_huge_message_is_written_across_partial_writes() {
    const LEN: usize = 8 << 20;
    let data = Bytes::from(pattern(LEN, 3));
    let msg = data.clone();
    let config = NetConfig {
        max_queue_bytes: 16 << 20,
        ..NetConfig::default()
    };
    let behavior = Behavior::on_recv(|_, _, _, _| {}).with_accept(move |net, conn| {
        net.send(conn, msg.clone());
    });
    let server = Server::start(config, behavior);
    let mut c = connect(server.addr());
    thread::sleep(Duration::from_millis(100));
    let got = read_exact_n(&mut c, LEN);
    assert!(got[..] == data[..], "bytes differ");
    let stats = server.query(|net, _| net.stats());
    assert!(stats.write_syscalls > 1, "expected several partial writes");
}

#[test]
fn broadcast_reaches_200_connections() {
    const N: usize = 200;
    let behavior = Behavior::on_recv(|net, conns, _, data| {
        // Encoded once; every queue gets a refcounted clone.
        let msg = Bytes::copy_from_slice(data);
        for &c in conns {
            net.send(c, msg.clone());
        }
    });
    let mut server = Server::start(NetConfig::default(), behavior);
    let mut clients: Vec<_> = (0..N).map(|_| connect(server.addr())).collect();
    for _ in 0..N {
        server.expect_accepted();
    }
    let line = b"one message for everyone\n";
    write_all(&mut clients[0], line);
    for c in &mut clients {
        assert_eq!(read_exact_n(c, line.len()), line);
    }
    let stats = server.query(|net, _| net.stats());
    assert_eq!(stats.bytes_out, (N * line.len()) as u64);
}

#[test]
fn half_close_gets_everything_then_eof() {
    let mut server = Server::start(NetConfig::default(), Behavior::echo());
    let mut c = connect(server.addr());
    let id = server.expect_accepted();
    let data = pattern(300_000, 1);
    let mut writer = c.try_clone().unwrap();
    let sent = data.clone();
    let w = thread::spawn(move || {
        writer.write_all(&sent).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    let got = read_to_eof(&mut c);
    w.join().unwrap();
    assert!(
        got == data,
        "got {} bytes, expected {}",
        got.len(),
        data.len()
    );
    assert_eq!(server.expect_closed(id), CloseReason::PeerClosed);
}

#[test]
fn queue_overflow_closes_only_the_slow_reader() {
    let config = NetConfig {
        max_queue_bytes: 256 << 10,
        ..NetConfig::default()
    };
    let chunk = Bytes::from(pattern(16 << 10, 9));
    let behavior = Behavior::on_recv(|_, _, _, _| {}).with_timer(move |net, conns, _| {
        for &c in conns {
            net.send(c, chunk.clone());
        }
        net.set_timer(Duration::from_millis(1));
    });
    let mut server = Server::start(config, behavior);
    let _stalled = connect(server.addr()); // never reads
    let stalled_id = server.expect_accepted();
    let mut reader = connect(server.addr());
    let reader_id = server.expect_accepted();
    let received = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&received);
    let r = thread::spawn(move || {
        let mut buf = vec![0; 64 << 10];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => counter.fetch_add(n, Ordering::Relaxed),
            };
        }
    });
    server.run_on(|net, _| {
        net.set_timer(Duration::ZERO);
    });
    assert_eq!(server.expect_closed(stalled_id), CloseReason::QueueOverflow);
    let before = received.load(Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(5);
    while received.load(Ordering::Relaxed) < before + (1 << 20) {
        assert!(
            Instant::now() < deadline,
            "the reading client stopped being served"
        );
        thread::sleep(Duration::from_millis(5));
    }
    let (stats, open) = server.query(move |net, _| (net.stats(), net.is_open(reader_id)));
    assert_eq!(stats.closed_overflow, 1);
    assert!(open, "the reading client must stay open");
    drop(server); // stop() closes the reader too, ending its thread
    r.join().unwrap();
}

/// A turn that queues more than the write budget and `max_queue_bytes` for
/// a client whose socket takes it all: the backlog is the loop's, not the
/// client's. The client is not closed, and input that arrives meanwhile is
/// read only once the writes have caught up.
#[test]
fn a_loop_behind_its_writes_keeps_its_readers_and_reads_after_writing() {
    const TOTAL: usize = 60 << 10;
    const CHUNK: usize = 16;
    let config = NetConfig {
        max_queue_bytes: 16 << 10,
        // A message a turn: the backlog takes thousands of turns.
        write_budget_per_turn: 4,
        ..NetConfig::default()
    };
    // What the other connections had queued when a "ping" was read.
    let (queued_tx, queued_rx) = mpsc::channel();
    let data = Bytes::from(pattern(TOTAL, 3));
    let behavior = Behavior::on_recv(move |net, conns, from, input| {
        if input.starts_with(b"go") {
            for &c in conns.iter().filter(|&&c| c != from) {
                for at in (0..TOTAL).step_by(CHUNK) {
                    net.send(c, data.slice(at..at + CHUNK));
                }
            }
        } else if input.starts_with(b"ping") {
            let queued: usize = conns
                .iter()
                .filter(|&&c| c != from)
                .map(|&c| net.queued_bytes(c))
                .sum();
            queued_tx.send(queued).unwrap();
        }
    });
    let mut server = Server::start(config, behavior);
    let mut reader = connect(server.addr());
    let reader_id = server.expect_accepted();
    let mut starter = connect(server.addr());
    server.expect_accepted();
    let mut pinger = connect(server.addr());
    server.expect_accepted();

    write_all(&mut starter, b"go\n");
    // The first bytes are out: the backlog is being written.
    let first = read_exact_n(&mut reader, 1);
    write_all(&mut pinger, b"ping\n");
    let rest = read_exact_n(&mut reader, TOTAL - 1);
    assert_eq!([first, rest].concat(), pattern(TOTAL, 3));

    let queued = queued_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        queued, 0,
        "the ping was read before the backlog was written"
    );
    let (stats, open) = server.query(move |net, _| (net.stats(), net.is_open(reader_id)));
    assert_eq!(stats.closed_overflow, 0);
    assert!(open, "a client that reads all it is sent must stay open");
}

/// A handler that leaves input of its own waiting while the loop is behind
/// (`Net::is_behind`) gets a turn as soon as the loop has caught up, with
/// nothing else to wake it.
#[test]
fn a_turn_follows_at_once_when_the_loop_catches_up() {
    let config = NetConfig {
        write_budget_per_turn: 4,
        ..NetConfig::default()
    };
    let (caught_up_tx, caught_up_rx) = mpsc::channel();
    let mut was_behind = false;
    let behavior = Behavior::on_recv(|net, _, conn, _| {
        for _ in 0..64 {
            net.send(conn, Bytes::from_static(b"0123456789abcdef"));
        }
    })
    .with_turn_ending(move |net| {
        if was_behind && !net.is_behind() {
            let _ = caught_up_tx.send(());
        }
        was_behind = net.is_behind();
    });
    let mut server = Server::start(config, behavior);
    let mut c = connect(server.addr());
    server.expect_accepted();
    write_all(&mut c, b"go\n");
    assert_eq!(read_exact_n(&mut c, 64 * 16).len(), 64 * 16);
    caught_up_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("no turn came after the loop caught up");
}

#[test]
fn close_after_flush_delivers_then_closes() {
    let behavior = Behavior::on_recv(|net, _, conn, data| {
        if data.ends_with(b"bye\n") {
            net.send(conn, Bytes::from_static(b"goodbye\n"));
            net.close_after_flush(conn);
            // Ignored: the connection is closing.
            net.send(conn, Bytes::from_static(b"ignored\n"));
        }
    });
    let mut server = Server::start(NetConfig::default(), behavior);
    let mut c = connect(server.addr());
    let id = server.expect_accepted();
    write_all(&mut c, b"bye\n");
    assert_eq!(read_to_eof(&mut c), b"goodbye\n");
    drop(c);
    assert_eq!(server.expect_closed(id), CloseReason::Local);
}

#[test]
fn close_after_flush_gives_up_after_linger() {
    let linger = Duration::from_millis(300);
    let config = NetConfig {
        max_queue_bytes: 64 << 20,
        linger,
        ..NetConfig::default()
    };
    let behavior = Behavior::on_recv(|_, _, _, _| {}).with_accept(|net, conn| {
        net.send(conn, Bytes::from(vec![b'x'; 32 << 20]));
        net.close_after_flush(conn);
    });
    let mut server = Server::start(config, behavior);
    let start = Instant::now();
    let _c = connect(server.addr()); // never reads
    let id = server.expect_accepted();
    assert_eq!(server.expect_closed(id), CloseReason::Local);
    let took = start.elapsed();
    assert!(
        took >= linger - Duration::from_millis(20),
        "closed too early: {took:?}"
    );
    assert!(
        took < Duration::from_secs(3),
        "linger not enforced: {took:?}"
    );
}

#[test]
fn timers_fire_in_order_and_cancel_works() {
    let mut server = Server::start(NetConfig::default(), Behavior::echo());
    let start = Instant::now();
    let (a, b, c) = server.query(|net, _| {
        let a = net.set_timer(Duration::from_millis(40));
        let b = net.set_timer(Duration::from_millis(60));
        let c = net.set_timer(Duration::from_millis(100));
        net.cancel_timer(b);
        (a, b, c)
    });
    let is_timer = |e: &Ev| matches!(e, Ev::Timer(_));
    assert_eq!(server.expect("timer a", is_timer), Ev::Timer(a));
    assert!(start.elapsed() >= Duration::from_millis(40));
    assert_eq!(server.expect("timer c", is_timer), Ev::Timer(c));
    assert!(start.elapsed() >= Duration::from_millis(100));
    assert!(
        server
            .expect_within(Duration::from_millis(150), "b", move |e| *e == Ev::Timer(b))
            .is_none(),
        "cancelled timer fired"
    );
}

#[test]
fn timer_set_before_run_fires() {
    let mut id = None;
    let start = Instant::now();
    let mut server = Server::start_with(
        NetConfig::default(),
        &[LOCALHOST.parse().unwrap()],
        |r| id = Some(r.net().set_timer(Duration::from_millis(10))),
        Behavior::echo(),
    );
    let id = id.unwrap();
    // The first timer event is this one, and not before it was due.
    let is_timer = |e: &Ev| matches!(e, Ev::Timer(_));
    assert_eq!(server.expect("the timer", is_timer), Ev::Timer(id));
    assert!(start.elapsed() >= Duration::from_millis(10));
}

#[test]
fn waker_from_another_thread_calls_woken() {
    let mut server = Server::start(NetConfig::default(), Behavior::echo());
    let waker = Arc::clone(&server.waker);
    thread::spawn(move || waker.wake().unwrap()).join().unwrap();
    server.expect("woken", |e| *e == Ev::Woken);
}

#[test]
fn signals_are_delivered_to_the_handler() {
    let mut server = Server::start_with(
        NetConfig::default(),
        &[],
        |r| r.watch_signals(&[libc::SIGUSR1]).unwrap(),
        Behavior::echo(),
    );
    signal_hook::low_level::raise(libc::SIGUSR1).unwrap();
    server.expect("signal", |e| *e == Ev::Signal(libc::SIGUSR1));
}

/// A client flooding the server must not starve another client, and the
/// flooder itself must not be stranded when its read budget runs out.
#[test]
fn flooding_client_does_not_starve_another() {
    const FLOOD: usize = 16 << 20;
    let config = NetConfig {
        max_queue_bytes: 64 << 20,
        ..NetConfig::default()
    };
    let server = Server::start(config, Behavior::echo());
    let mut flood = connect(server.addr());
    let mut flood_writer = flood.try_clone().unwrap();
    let w = thread::spawn(move || {
        let chunk = pattern(64 << 10, 5);
        for _ in 0..FLOOD / chunk.len() {
            flood_writer.write_all(&chunk).unwrap();
        }
    });
    let r = thread::spawn(move || {
        let mut buf = vec![0; 64 << 10];
        let mut total = 0;
        while total < FLOOD {
            let n = flood.read(&mut buf).unwrap();
            assert_ne!(n, 0);
            total += n;
        }
        total
    });
    let mut pinger = connect(server.addr());
    let mut worst = Duration::ZERO;
    for i in 0..20u8 {
        let t = Instant::now();
        write_all(&mut pinger, &[b'p', i]);
        assert_eq!(read_exact_n(&mut pinger, 2), [b'p', i]);
        worst = worst.max(t.elapsed());
        thread::sleep(Duration::from_millis(10));
    }
    assert!(
        worst < Duration::from_secs(1),
        "echo took {worst:?} under flood"
    );
    w.join().unwrap();
    assert_eq!(r.join().unwrap(), FLOOD, "flood echo incomplete");
}

#[test]
fn listen_on_port_zero_reports_real_ports() {
    let mut reactor = Reactor::new(NetConfig::default()).unwrap();
    let (l1, a1) = reactor.listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let (l2, a2) = reactor.listen("127.0.0.1:0".parse().unwrap()).unwrap();
    assert_ne!(l1, l2);
    assert_ne!(a1.port(), 0);
    assert_ne!(a2.port(), 0);
    assert_ne!(a1.port(), a2.port());
    let mut server = Server::spawn(reactor, vec![a1, a2], Behavior::echo());
    for addr in [a1, a2] {
        let mut c = connect(addr);
        server.expect_accepted();
        write_all(&mut c, b"hi");
        assert_eq!(read_exact_n(&mut c, 2), b"hi");
    }
}

#[test]
fn ipv6_loopback_and_dual_bind() {
    if !chat_tests::ipv6_available() {
        return;
    }
    let mut reactor = Reactor::new(NetConfig::default()).unwrap();
    let v6: SocketAddr = "[::1]:0".parse().unwrap();
    let (_, addr) = reactor.listen(v6).unwrap();
    // IPV6_V6ONLY lets the IPv4 and IPv6 wildcards share a port.
    let (_, v4_any) = reactor.listen("0.0.0.0:0".parse().unwrap()).unwrap();
    let v6_any: SocketAddr = format!("[::]:{}", v4_any.port()).parse().unwrap();
    reactor.listen(v6_any).unwrap();
    let mut server = Server::spawn(reactor, vec![addr], Behavior::echo());
    let mut c = connect(addr);
    server.expect_accepted();
    write_all(&mut c, b"v6");
    assert_eq!(read_exact_n(&mut c, 2), b"v6");
}

#[test]
fn closed_and_unknown_conns_are_ignored() {
    let (tx, rx) = mpsc::channel();
    let behavior = Behavior::on_recv(move |net, _, conn, data| {
        if data == b"close" {
            net.close(conn);
            net.send(conn, Bytes::from_static(b"after close"));
            let unknown = ConnId(987_654);
            net.send(unknown, Bytes::from_static(b"nobody"));
            net.close(unknown);
            net.close_after_flush(unknown);
            tx.send((
                net.queued_bytes(conn),
                net.is_open(conn),
                net.peer_addr(unknown),
                net.connection_count(),
            ))
            .unwrap();
        }
    });
    let mut server = Server::start(NetConfig::default(), behavior);
    let mut c = connect(server.addr());
    let id = server.expect_accepted();
    write_all(&mut c, b"close");
    let (queued, open, peer, count) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!((queued, open, peer, count), (0, false, None, 0));
    assert_eq!(server.expect_closed(id), CloseReason::Local);
    assert_eq!(read_to_eof(&mut c), b"");
    // A later send to the stale id (no new connection took the key) is a no-op.
    server.query(move |net, _| net.send(id, Bytes::from_static(b"stale")));
    assert!(
        server
            .expect_within(Duration::from_millis(100), "second close", |e| matches!(
                e,
                Ev::Closed(..)
            ))
            .is_none()
    );
}

#[test]
fn stop_when_drained_returns_after_goodbyes() {
    let mut server = Server::start(NetConfig::default(), Behavior::echo());
    let mut clients: Vec<_> = (0..3).map(|_| connect(server.addr())).collect();
    for _ in 0..3 {
        server.expect_accepted();
    }
    let addr = server.addr();
    server.run_on(|net, conns| {
        for &c in conns {
            net.send(c, Bytes::from_static(b"shutting down\n"));
            net.close_after_flush(c);
        }
        net.stop_when_drained(Duration::from_secs(5));
    });
    for c in &mut clients {
        assert_eq!(read_to_eof(c), b"shutting down\n");
    }
    drop(clients); // our EOF lets the draining connections finish
    server.join();
    // Listeners were closed.
    let refused = std::net::TcpStream::connect(addr);
    assert!(refused.is_err_and(|e| e.kind() == ErrorKind::ConnectionRefused));
}

#[test]
fn stop_closes_and_reports_remaining_connections() {
    let mut server = Server::start(NetConfig::default(), Behavior::echo());
    let mut c = connect(server.addr());
    let id = server.expect_accepted();
    server.run_on(|net, _| net.stop());
    assert_eq!(server.expect_closed(id), CloseReason::Local);
    assert_eq!(read_to_eof(&mut c), b"");
    server.join();
}
