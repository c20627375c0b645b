//! A daemon like any other: the `NOTIFY_SOCKET` protocol (READY, RELOADING,
//! READY, STOPPING, WATCHDOG) heard on a datagram socket of the test's own,
//! a stop that keeps nobody waiting past `shutdown_linger`, and the unit
//! file in `contrib/` checked by `systemd-analyze verify`.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use chat_tests::{Proc, ServerProcess, TIMEOUT, TempDir, bin, require_tool};

/// The next notice on `socket` that is not `WATCHDOG=1` (those are
/// counted in `watchdogs`).
fn next_notice(socket: &UnixDatagram, watchdogs: &mut usize) -> String {
    let mut buffer = [0; 4096];
    loop {
        let n = socket
            .recv(&mut buffer)
            .unwrap_or_else(|e| panic!("no notice within {TIMEOUT:?}: {e}"));
        // Each state is a line; the last ends in a newline too.
        let notice = String::from_utf8_lossy(&buffer[..n]).trim_end().to_owned();
        if notice == "WATCHDOG=1" {
            *watchdogs += 1;
        } else {
            return notice;
        }
    }
}

#[test]
fn the_service_manager_hears_ready_reloading_ready_stopping_and_the_watchdog() {
    let dir = TempDir::new("notify");
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap_or_else(|e| panic!("bind {path:?}: {e}"));
    socket
        .set_read_timeout(Some(TIMEOUT))
        .unwrap_or_else(|e| panic!("{e}"));
    let notify_socket = path.display().to_string();
    let mut server = ServerProcess::builder()
        .config("motd = \"hi\"\n")
        .env("NOTIFY_SOCKET", &notify_socket)
        .env("WATCHDOG_USEC", "300000")
        .start();
    let mut watchdogs = 0;
    assert_eq!(next_notice(&socket, &mut watchdogs), "READY=1");
    let mut client = server.join();

    server.signal(libc::SIGHUP);
    let reloading = next_notice(&socket, &mut watchdogs);
    assert!(reloading.starts_with("RELOADING=1\n"), "{reloading:?}");
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading:?}");
    assert_eq!(next_notice(&socket, &mut watchdogs), "READY=1");
    client.sync();

    // At most 150 ms apart: within a second several have come.
    std::thread::sleep(Duration::from_millis(1000));
    server.signal(libc::SIGTERM);
    assert_eq!(next_notice(&socket, &mut watchdogs), "STOPPING=1");
    assert!(watchdogs >= 3, "{watchdogs} WATCHDOG=1 notices");
    assert!(server.wait_exit(TIMEOUT).success(), "{}", server.report());
}

#[test]
fn sigterm_exits_within_the_linger_even_if_clients_never_close() {
    let server_config = "shutdown_linger = 1\n";
    let mut server = ServerProcess::start_with_config(server_config, &[]);
    // Idle clients that read nothing more and never close their side.
    let clients: Vec<_> = (0..3).map(|_| server.join()).collect();
    let asked = Instant::now();
    server.signal(libc::SIGTERM);
    let status = server.wait_exit(TIMEOUT);
    let took = asked.elapsed();
    assert!(status.success(), "{}", server.report());
    assert!(
        took < Duration::from_millis(1800),
        "took {took:?} with shutdown_linger = 1\n{}",
        server.report()
    );
    drop(clients);
}

#[test]
fn the_unit_file_passes_systemd_analyze_verify() {
    let Some(analyze) = require_tool("systemd-analyze") else {
        return;
    };
    let unit =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../contrib/chat-server.service");
    let text = std::fs::read_to_string(&unit).unwrap_or_else(|e| panic!("{unit:?}: {e}"));
    // verify wants the programs to exist: point it at the one just built.
    let server = bin("chat-server").display().to_string();
    let dir = TempDir::new("unit");
    let copy = dir.write(
        "chat-server.service",
        &text.replace("/usr/bin/chat-server", &server),
    );
    let mut cmd = std::process::Command::new(analyze);
    // --man=no: the man page is installed with the package, not here.
    cmd.args(["verify", "--man=no"]).arg(&copy);
    let mut verify = Proc::run(cmd, b"");
    verify.assert_exit(0);
    let complaints: Vec<String> = verify
        .stderr()
        .lines()
        .filter(|line| line.contains("chat-server.service"))
        .map(str::to_owned)
        .collect();
    assert!(complaints.is_empty(), "{}", verify.report());
}
