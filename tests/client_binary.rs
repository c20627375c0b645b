//! The real `chat-client` binary, scripted through stdin, against the real
//! server; transcripts are compared with their stamps stripped.

use chat_tests::{Proc, ServerProcess, command, is_ctime, split_stamp};

/// Stdout of a line-mode client with every `[stamp] ` checked and stripped.
fn transcript(client: &Proc) -> String {
    let stdout = client.stdout();
    let mut out = String::new();
    for line in stdout.lines() {
        let Some((stamp, body)) = split_stamp(line) else {
            panic!("line without a [stamp]: {line:?}\n{}", client.report());
        };
        assert!(
            is_ctime(stamp),
            "bad stamp in {line:?}\n{}",
            client.report()
        );
        out.push_str(body);
        out.push('\n');
    }
    out
}

fn chat_client(server: &ServerProcess, extra: &[&str]) -> std::process::Command {
    let mut cmd = command("chat-client");
    cmd.arg(server.addr().ip().to_string())
        .arg(server.addr().port().to_string())
        .args(extra);
    cmd
}

#[test]
fn two_chat_clients_talk() {
    let server = ServerProcess::start(&[]);

    // bob stays connected while alice runs a whole scripted session.
    let mut bob = Proc::spawn(chat_client(&server, &["--nick", "bob"]));
    bob.expect_stdout("guest1 is now known as bob");

    let script = "hello bob\n\n/me waves\r\n/msg bob psst\n/who\n";
    let mut alice = Proc::run(
        chat_client(&server, &["--nick", "alice"]),
        script.as_bytes(),
    );
    alice.assert_exit(0);
    assert_eq!(alice.stderr(), "", "{}", alice.report());
    insta::assert_snapshot!("alice", transcript(&alice));

    bob.expect_stdout("alice left lobby (quit)");
    bob.write_line("/who");
    bob.expect_stdout("members of lobby (1)");
    bob.close_stdin();
    bob.assert_exit(0);
    assert_eq!(bob.stderr(), "", "{}", bob.report());
    insta::assert_snapshot!("bob", transcript(&bob));
}

#[test]
fn chat_client_exits_when_the_server_closes_first() {
    let server = ServerProcess::start(&[]);
    // /quit: the server says goodbye and closes; the client exits 0 at once,
    // though its stdin is still open.
    let mut client = Proc::spawn(chat_client(&server, &[]));
    client.write_line("/quit");
    client.expect_stdout("Goodbye!");
    client.assert_exit(0);
}

#[test]
fn chat_client_cannot_connect() {
    // A port nobody listens on: bind one, then free it.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("local_addr").port()
    };
    let mut cmd = command("chat-client");
    cmd.args(["127.0.0.1", &port.to_string()]);
    let mut client = Proc::run(cmd, b"");
    client.assert_exit(1);
    assert!(
        client.stderr().starts_with("chat-client: ") && client.stderr().contains(&port.to_string()),
        "{}",
        client.report()
    );
    assert_eq!(client.stdout(), "", "{}", client.report());
}
