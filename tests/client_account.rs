//! `chat-client --account`: the real binary logs in to an account right
//! after connecting, with the password from `--password-file` or
//! `CHAT_ACCOUNT_PASSWORD`, and never prints it; with `--reconnect` it asks
//! for a login token and logs in with it after a drop (a scripted server
//! stands in for chat-server there, to see exactly what the client sends).
//! The terminal interface logs in too, and shows neither secret.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use chat_tests::{Client, Proc, ServerProcess, TIMEOUT, Tmux, command, require_tool};

const PASSWORD: &str = "correct-horse-battery";
const STAMP: &str = "[Mon Dec  7 12:00:00 2026]";

fn chat_client(addr: std::net::SocketAddr, extra: &[&str]) -> std::process::Command {
    let mut cmd = command("chat-client");
    cmd.arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .args(extra);
    cmd
}

/// A server where `alice` is an account (registered over nc), and bob
/// listening.
fn with_alice() -> (ServerProcess, Client) {
    let server = ServerProcess::start(&[]);
    let mut nc = Client::join(server.plain_addr());
    nc.send_line("/nick alice");
    nc.expect_contains("is now known as alice");
    nc.send_line(&format!("/register {PASSWORD}"));
    nc.expect_contains("you are logged in as alice");
    nc.send_line("/quit");
    let mut bob = Client::join(server.plain_addr());
    bob.send_line("/nick bob");
    bob.expect_contains("is now known as bob");
    (server, bob)
}

#[test]
fn chat_client_logs_in_with_a_password_file_or_the_environment() {
    let (server, mut bob) = with_alice();
    let file = server.dir().join("alice-password");
    std::fs::write(&file, format!("{PASSWORD}\n")).expect("write the password file");
    let file = file.display().to_string();
    let mut alice = Proc::spawn(chat_client(
        server.plain_addr(),
        &["--account", "alice", "--password-file", &file],
    ));
    alice.expect_stdout("you are logged in as alice");
    alice.write_line("hello as alice");
    bob.expect_contains("<alice> hello as alice");
    alice.close_stdin();
    alice.assert_exit(0);
    let shown = alice.stdout() + &alice.stderr();
    assert!(!shown.contains(PASSWORD), "{}", alice.report());

    // From the environment; a wrong one is the server's refusal.
    let mut cmd = chat_client(server.plain_addr(), &["--account", "alice"]);
    cmd.env("CHAT_ACCOUNT_PASSWORD", "wrong-horse-battery");
    let mut wrong = Proc::spawn(cmd);
    wrong.expect_stdout("error: wrong account name or password");
    wrong.close_stdin();
    wrong.assert_exit(0);
    let shown = wrong.stdout() + &wrong.stderr();
    assert!(!shown.contains("wrong-horse"), "{}", wrong.report());

    // No password at all: said at once, naming where it would come from.
    let mut none = Proc::run(
        chat_client(server.plain_addr(), &["--account", "alice"]),
        b"",
    );
    none.assert_exit(1);
    assert!(
        none.stderr().contains("CHAT_ACCOUNT_PASSWORD"),
        "{}",
        none.report()
    );
}

/// The next line the client sent that is not `/cap ids`.
fn next_command(reader: &mut BufReader<TcpStream>) -> String {
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => panic!("the client closed"),
            Ok(_) => {}
            Err(e) => panic!("reading the client: {e}"),
        }
        let line = line.trim_end().to_owned();
        if line != "/cap ids" {
            return line;
        }
    }
}

fn accept(listener: &TcpListener) -> (TcpStream, BufReader<TcpStream>) {
    let (stream, _) = listener.accept().expect("accept the client");
    stream
        .set_read_timeout(Some(TIMEOUT))
        .expect("set a read timeout");
    let reader = BufReader::new(stream.try_clone().expect("clone the socket"));
    (stream, reader)
}

fn say(stream: &mut TcpStream, notice: &str) {
    let line = format!("{STAMP} -!- {notice}\n");
    stream
        .write_all(line.as_bytes())
        .expect("write to the client");
}

#[test]
fn chat_client_reconnects_with_its_login_token_and_never_shows_it() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let mut cmd = chat_client(addr, &["--account", "alice", "--reconnect"]);
    cmd.env("CHAT_ACCOUNT_PASSWORD", PASSWORD);
    let mut client = Proc::spawn(cmd);

    // First the password, then (logged in) a token asked for.
    let (mut stream, mut reader) = accept(&listener);
    assert_eq!(
        next_command(&mut reader),
        format!("/login alice {PASSWORD}")
    );
    say(&mut stream, "Welcome, guest1!");
    say(&mut stream, "you are logged in as alice");
    assert_eq!(next_command(&mut reader), "/token");
    say(&mut stream, "login token: t0k3n-for-alice (valid 12h)");
    client.expect_stdout("you are logged in as alice");
    drop((stream, reader));

    // After the drop: the token, not the password, and no /nick.
    let (mut stream, mut reader) = accept(&listener);
    assert_eq!(next_command(&mut reader), "/resume alice t0k3n-for-alice");
    // A token refused (say, the server restarted): the password again.
    say(&mut stream, "error: wrong account name or password");
    assert_eq!(
        next_command(&mut reader),
        format!("/login alice {PASSWORD}")
    );
    say(&mut stream, "you are logged in as alice");
    assert_eq!(next_command(&mut reader), "/token");
    say(&mut stream, "the end");
    client.expect_stdout("the end");
    // The end of stdin half-closes the connection; then the server closes.
    client.close_stdin();
    let mut rest = String::new();
    while reader.read_line(&mut rest).is_ok_and(|n| n > 0) {}
    drop((stream, reader));
    client.wait_exit(Duration::from_secs(10));
    // Only what the client printed: the command line holds the password.
    let shown = client.stdout() + &client.stderr();
    let report = client.report();
    assert!(!shown.contains(PASSWORD), "{report}");
    assert!(!shown.contains("t0k3n"), "{report}");
    assert!(!shown.contains("wrong account name"), "{report}");
}

#[test]
fn the_terminal_client_logs_in_and_never_shows_its_token() {
    if require_tool("tmux").is_none() {
        return;
    }
    let (server, mut bob) = with_alice();
    let port = server.plain_addr().port().to_string();
    let env = [("CHAT_ACCOUNT_PASSWORD", PASSWORD)];
    let args = ["127.0.0.1", &port, "--account", "alice", "--reconnect"];
    let tmux = Tmux::client("account", &env, &args);
    tmux.wait_for("you are logged in as alice");
    tmux.wait_ready("alice");
    // The token is made on the account thread: by the time a line typed
    // after the login comes back from bob, its notice has long arrived.
    tmux.type_text("/msg bob ping");
    tmux.keys(&["Enter"]);
    bob.expect_contains("*alice* ping");
    bob.send_line("/msg alice pong");
    let screen = tmux.wait_for("pong");
    assert!(!screen.contains("login token"), "{screen}");
    assert!(!screen.contains(PASSWORD), "{screen}");
    tmux.keys(&["C-d"]);
    tmux.wait_exit();
}
