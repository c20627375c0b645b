//! chat-server's command line: help, bad flags, listeners that cannot open.

use std::net::TcpListener;

use chat_tests::{Proc, ServerProcess, TempDir, command};

fn run_server(args: &[&str]) -> Proc {
    let dir = TempDir::new("cli");
    let mut cmd = command("chat-server");
    cmd.current_dir(dir.path()).args(args);
    Proc::run(cmd, b"")
}

#[test]
fn help() {
    let mut server = run_server(&["--help"]);
    server.assert_exit(0);
    assert_eq!(server.stderr(), "", "{}", server.report());
    insta::assert_snapshot!(server.stdout());
}

#[test]
fn bad_command_lines_exit_2() {
    for args in [
        &["--bogus"][..],
        &["--listen", "nowhere"],
        &["--listen"],
        &["--framing", "chunky"],
        &["--console", "--no-console"],
    ] {
        let mut server = run_server(args);
        server.assert_exit(2);
        assert!(server.stderr().contains("error"), "{}", server.report());
    }
}

#[test]
fn a_listener_that_cannot_open_exits_1() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("local_addr").to_string();
    let mut server = run_server(&["--listen", &addr]);
    server.assert_exit(1);
    assert!(
        server
            .stderr()
            .contains(&format!("cannot listen on {addr}")),
        "{}",
        server.report()
    );
}

#[test]
fn framing_flag_overrides_the_config() {
    // The file says raw, the flag says line: clients get a welcome.
    let server = ServerProcess::start_with_config("framing = \"raw\"\n", &["--framing", "line"]);
    let mut client = server.connect();
    client.expect_contains("Welcome, guest1!");
}
