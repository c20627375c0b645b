//! How connections and the server end: half-close, signals.

use std::time::{Duration, Instant};

use chat_tests::{Client, ServerProcess};

/// Sends `signal` to the server process.
fn signal(server: &ServerProcess, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(server.pid()).expect("pid fits pid_t");
    // SAFETY: kill(2) with a valid signal number has no memory-safety
    // preconditions; the pid is our own child, not yet reaped.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(
        rc,
        0,
        "kill({pid}, {signal}): {}",
        std::io::Error::last_os_error()
    );
}

#[test]
fn half_close_gets_everything_queued_then_eof() {
    let server = ServerProcess::start(&[]);
    let mut a = server.join();
    let mut b = server.join();
    let mut c = server.join();
    a.sync();
    b.sync();

    // c asks for a lot, says goodbye, and half-closes before reading any of it.
    let mut burst = String::from("/who\n");
    for _ in 0..100 {
        burst.push_str("/help\n");
    }
    burst.push_str("bye now\n");
    c.send_bytes(burst.as_bytes());
    c.shutdown_write();

    let rest = c.expect_eof();
    assert_eq!(
        rest.first().map(String::as_str),
        Some("-!- members of lobby (3): guest1 guest2 guest3")
    );
    let helps = rest.iter().filter(|l| l.contains("/quit [REASON]")).count();
    assert_eq!(
        helps,
        100,
        "every /help answered before the close: {} lines",
        rest.len()
    );
    assert!(
        rest.last().is_some_and(|l| l.contains("//TEXT")),
        "the last /help is the last line: {:?}",
        rest.last()
    );

    for other in [&mut a, &mut b] {
        let lines = other.sync();
        assert_eq!(lines, ["<guest3> bye now", "-!- guest3 left lobby (quit)"]);
    }
}

#[test]
fn half_close_after_an_unterminated_line() {
    let server = ServerProcess::start(&[]);
    let mut a = server.join();
    let mut b = server.join();
    a.sync();
    b.send_bytes(b"/nick bee\nlast words without a newline");
    b.shutdown_write();
    let rest = b.expect_eof();
    assert_eq!(rest, ["-!- guest2 is now known as bee"]);
    assert_eq!(
        a.sync(),
        [
            "-!- guest2 is now known as bee",
            "<bee> last words without a newline",
            "-!- bee left lobby (quit)"
        ]
    );
}

#[test]
fn sigterm_tells_every_client_and_exits_0() {
    let mut server = ServerProcess::start(&[]);
    let mut clients: Vec<Client> = (0..3).map(|_| server.join()).collect();
    for client in &mut clients {
        client.sync();
    }
    signal(&server, libc::SIGTERM);
    for client in &mut clients {
        client.expect_body("-!- server shutting down");
        let rest = client.expect_eof();
        assert!(rest.is_empty(), "nothing after the goodbye: {rest:?}");
    }
    // Once its peers have closed too, the server has nothing left to wait for.
    drop(clients);
    let status = server.wait_exit(Duration::from_secs(3));
    assert_eq!(status.code(), Some(0), "{}", server.report());
    server.expect_log("shutting down");
    // The listener is gone with the server.
    assert!(
        std::net::TcpStream::connect(server.addr()).is_err(),
        "still accepting after exit"
    );
}

#[test]
fn sigint_is_a_graceful_stop_too() {
    let mut server = ServerProcess::start(&[]);
    let mut client = server.join();
    client.sync();
    signal(&server, libc::SIGINT);
    client.expect_body("-!- server shutting down");
    client.expect_eof();
    drop(client);
    let status = server.wait_exit(Duration::from_secs(3));
    assert_eq!(status.code(), Some(0), "{}", server.report());
}

#[test]
fn shutdown_is_bounded_by_the_grace_period() {
    // A client that reads its goodbye but never closes its socket, and one
    // that reads nothing at all: the server still exits, after its 5 s grace.
    let mut server = ServerProcess::start(&[]);
    let mut reader = server.join();
    let mut silent = server.connect();
    reader.sync();
    let started = Instant::now();
    signal(&server, libc::SIGTERM);
    reader.expect_body("-!- server shutting down");
    reader.expect_eof();
    let status = server.wait_exit(Duration::from_secs(8));
    assert_eq!(status.code(), Some(0), "{}", server.report());
    assert!(started.elapsed() < Duration::from_secs(8));
    // What was queued for the silent client was still delivered.
    silent.expect_contains("Welcome, guest2!");
    silent.expect_body("-!- server shutting down");
}

#[test]
fn sigterm_flushes_a_backlog_before_the_goodbye() {
    let mut server = ServerProcess::start(&["--console"]);
    let mut client = server.join();
    // Lots of answers the client does not read yet (some 200 KB, well under
    // max_queue_bytes); the private word to the operator shows on the
    // console once the server has handled them all.
    let mut burst = "/help\n".repeat(200);
    burst.push_str("/msg operator done\n");
    client.send_bytes(burst.as_bytes());
    server.expect_console("*guest1* done");
    signal(&server, libc::SIGTERM);
    let rest = client.expect_eof();
    let helps = rest.iter().filter(|l| l.starts_with("-!- //TEXT")).count();
    assert_eq!(helps, 200, "every answer arrives: {} lines", rest.len());
    let tail: Vec<&str> = rest
        .iter()
        .rev()
        .take(2)
        .rev()
        .map(String::as_str)
        .collect();
    assert_eq!(tail, ["-> *operator* done", "-!- server shutting down"]);
    drop(client);
    let status = server.wait_exit(Duration::from_secs(3));
    assert_eq!(status.code(), Some(0), "{}", server.report());
}
