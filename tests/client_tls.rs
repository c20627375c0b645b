//! TLS against the real chat-server: one server with a plain and a TLS
//! listener; our client (`--tls --ca`), `openssl s_client` and
//! `ncat --ssl` on the TLS side chat with a plain client on the other.
//! Without openssl or ncat the test concerned says why and passes, or fails
//! under `CHAT_TESTS_REQUIRE=1`.

use std::process::Command;

use chat_tests::{Client, Proc, ServerProcess, TIMEOUT, TlsCert, command, require_tool};

/// A server with a plain and a TLS listener (with `cert`).
fn server(cert: &TlsCert) -> ServerProcess {
    ServerProcess::start(&[
        "--listen",
        "127.0.0.1:0",
        "--listen",
        &cert.listen_arg("127.0.0.1:0"),
        "--no-console",
    ])
}

/// A chat user on the plain listener, with `nick`.
fn plain_user(server: &ServerProcess, nick: &str) -> Client {
    let mut user = Client::connect(server.plain_addr());
    user.send_line(&format!("/nick {nick}"));
    user.expect_contains(&format!("is now known as {nick}"));
    user.set_nick(nick);
    user
}

#[test]
fn our_client_over_tls_chats_with_a_plain_client() {
    let cert = TlsCert::new();
    let server = server(&cert);
    let mut bob = plain_user(&server, "bob");

    let port = server.tls_addr().port().to_string();
    let mut cmd = command("chat-client");
    cmd.arg("--tls")
        .arg("--ca")
        .arg(cert.cert())
        .args(["--nick", "alice", "127.0.0.1", &port]);
    let mut alice = Proc::spawn(cmd);
    alice.expect_stdout("is now known as alice");
    alice.write_line("hello over tls");
    bob.expect_contains("<alice> hello over tls");
    bob.send_line("hi alice, in plain text");
    let seen = alice.expect_stdout("hi alice, in plain text");
    assert!(
        seen.contains("<bob> hi alice, in plain text"),
        "{}",
        alice.report()
    );

    // End of input: the client half-closes, the server closes, exit 0.
    alice.close_stdin();
    alice.assert_exit(0);
    assert_eq!(alice.stderr(), "", "{}", alice.report());
}

#[test]
fn openssl_s_client_is_a_client_too() {
    let Some(openssl) = require_tool("openssl") else {
        return;
    };
    let cert = TlsCert::new();
    let server = server(&cert);
    let mut bob = plain_user(&server, "bob");

    let mut cmd = Command::new(openssl);
    cmd.args([
        "s_client",
        "-connect",
        &server.tls_addr().to_string(),
        "-quiet",
    ])
    .arg("-CAfile")
    .arg(cert.cert())
    .arg("-verify_return_error");
    let mut olga = Proc::spawn(cmd);

    olga.expect_stdout("Welcome");
    olga.write_stdin(b"/nick olga\nhello from openssl\n");
    bob.expect_contains("<olga> hello from openssl");
    bob.send_line("hello olga");
    olga.expect_stdout("<bob> hello olga");
}

#[test]
fn ncat_ssl_is_a_client_too() {
    let Some(ncat) = require_tool("ncat") else {
        return;
    };
    let cert = TlsCert::new();
    let server = server(&cert);
    let mut bob = plain_user(&server, "bob");

    let port = server.tls_addr().port().to_string();
    let mut cmd = Command::new(ncat);
    cmd.args(["--ssl", "127.0.0.1", &port]);
    let mut nina = Proc::spawn(cmd);

    nina.expect_stdout("Welcome");
    nina.write_stdin(b"/nick nina\nhello from ncat\n");
    bob.expect_contains("<nina> hello from ncat");
    bob.send_line("hello nina");
    nina.expect_stdout("<bob> hello nina");
}

#[test]
fn plain_client_on_the_tls_port_gets_nothing_readable() {
    let cert = TlsCert::new();
    let server = server(&cert);
    let port = server.tls_addr().port().to_string();
    // Our client without --tls: the server refuses the non-TLS bytes and
    // closes; the client ends (no hang: `wait_exit` fails the test after
    // TIMEOUT) and prints no chat line.
    let mut cmd = command("chat-client");
    cmd.args(["127.0.0.1", &port]);
    let mut client = Proc::spawn(cmd);
    client.write_line("hello in plain text");
    client.wait_exit(TIMEOUT);
    assert!(!client.stdout().contains("Welcome"), "{}", client.report());
}
