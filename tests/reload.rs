//! Reading server.toml again while serving: SIGHUP and the console's
//! `/reload` change the MOTD and swap a certificate (checked with
//! `openssl s_client`) while clients stay connected and chatting; a key
//! that needs a restart is named; a broken file changes nothing and is
//! refused with the words a start would use.

use std::process::Command;

use chat_tests::{Client, Proc, ServerProcess, TempDir, TlsCert, command, require_tool};

/// The welcome line of `client` (the first line it read).
fn welcome(client: &Client) -> String {
    client
        .history()
        .iter()
        .find(|line| line.contains("Welcome, "))
        .cloned()
        .unwrap_or_default()
}

/// Two clients that talk, to show they were not dropped.
fn still_chatting(a: &mut Client, b: &mut Client, text: &str) {
    a.send_line(text);
    b.expect_contains(text);
}

#[test]
fn sighup_applies_the_motd_and_names_keys_that_need_a_restart() {
    let mut server = ServerProcess::start_with_config("motd = \"first\"\n", &[]);
    let (mut a, mut b) = (server.join(), server.join());
    b.sync();
    assert!(welcome(&a).ends_with("first"), "{:?}", a.history());

    write(
        &server.dir().join("server.toml"),
        "motd = \"second\"\nmax_queue_bytes = 8192\nframing = \"raw\"\n",
    );
    server.signal(libc::SIGHUP);
    server.expect_log("reload: configuration applied");
    let restart = server.expect_log("need a restart to take effect:");
    assert!(
        restart.ends_with("need a restart to take effect: max_queue_bytes, framing"),
        "{restart}"
    );
    still_chatting(&mut a, &mut b, "after the reload");
    let c = server.join();
    assert!(welcome(&c).ends_with("second"), "{:?}", c.history());
    assert!(welcome(&a).ends_with("first"));
}

#[test]
fn a_broken_file_changes_nothing_and_says_what_a_start_says() {
    let mut server = ServerProcess::start_with_config("motd = \"kept\"\n", &["--console"]);
    let (mut a, mut b) = (server.join(), server.join());
    b.sync();
    let broken = "motd = \"lost\"\nmax_clients = 0\n";
    write(&server.dir().join("server.toml"), broken);
    server.console("/reload");
    let logged = server.expect_log("error:");

    // What a start (here a check, the same code) says about the same file.
    let dir = TempDir::new("reload-bad");
    dir.write("server.toml", broken);
    let mut cmd = command("chat-server");
    cmd.current_dir(dir.path())
        .args(["--check-config", "--config", "server.toml"]);
    let mut check = Proc::run(cmd, b"");
    check.assert_exit(2);
    assert_eq!(logged, check.stderr().trim_end(), "{}", server.report());
    assert_eq!(
        logged,
        "chat-server: error: server.toml:2: key `max_clients`: must be at least 1"
    );
    server.expect_log("nothing changed");

    still_chatting(&mut a, &mut b, "still served");
    let c = server.join();
    assert!(welcome(&c).ends_with("kept"), "{:?}", c.history());
}

/// The base64 body of the first PEM certificate in `text`.
fn first_certificate(text: &str) -> String {
    let begin = "-----BEGIN CERTIFICATE-----";
    let end = "-----END CERTIFICATE-----";
    text.split_once(begin)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(body, _)| body.split_whitespace().collect())
        .unwrap_or_default()
}

/// The certificate a new TLS handshake with `addr` gets, by `openssl s_client`.
fn presented_certificate(openssl: &std::path::Path, addr: std::net::SocketAddr) -> String {
    let mut cmd = Command::new(openssl);
    cmd.args([
        "s_client",
        "-connect",
        &addr.to_string(),
        "-servername",
        "localhost",
    ]);
    let proc = Proc::run(cmd, b"");
    let found = first_certificate(&proc.stdout());
    assert!(
        !found.is_empty(),
        "no certificate from s_client\n{}",
        proc.report()
    );
    found
}

#[test]
fn sighup_swaps_the_certificate_for_new_handshakes_only() {
    let Some(openssl) = require_tool("openssl") else {
        return;
    };
    let (first, second) = (TlsCert::new(), TlsCert::new());
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let config = "listen = [\"127.0.0.1:0\", { addr = \"127.0.0.1:0\", tls = { cert = \"cert.pem\", key = \"key.pem\" } }]\n";
    let mut server = ServerProcess::builder()
        .config(config)
        .file("cert.pem", &read(first.cert()))
        .file("key.pem", &read(first.key()))
        .listeners(2)
        .start();
    let tls_addr = server.tls_addr();
    let plain = server.plain_addr();
    assert_eq!(
        presented_certificate(&openssl, tls_addr),
        first_certificate(&read(first.cert()))
    );

    // A TLS client that stays connected across the swap.
    let mut cmd = Command::new(&openssl);
    cmd.args(["s_client", "-connect", &tls_addr.to_string(), "-quiet"]);
    let mut tls_client = Proc::spawn(cmd);
    tls_client.expect_stdout("Welcome, ");
    let mut listener = Client::join(plain);
    listener.sync();

    let dir = server.dir();
    write(&dir.join("cert.pem"), &read(second.cert()));
    write(&dir.join("key.pem"), &read(second.key()));
    server.signal(libc::SIGHUP);
    let applied = server.expect_log("reload: configuration applied");
    assert!(applied.contains("1 TLS listener"), "{applied}");

    assert_eq!(
        presented_certificate(&openssl, tls_addr),
        first_certificate(&read(second.cert()))
    );
    tls_client.write_line("said over the old session");
    listener.expect_contains("said over the old session");
}

/// Replaces the file at `path` with `contents`.
fn write(path: &std::path::Path, contents: &str) {
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
