//! IPv6: the server on `[::1]`, clients over `::1` (skipped, with a message,
//! where the IPv6 loopback cannot be bound; a failure then under
//! `CHAT_TESTS_REQUIRE=1`).

use chat_tests::{Proc, ServerProcess, command, ipv6_available};

#[test]
fn line_clients_over_ipv6() {
    if !ipv6_available() {
        return;
    }
    let mut server = ServerProcess::start(&["--listen", "[::1]:0", "--console"]);
    assert!(server.addr().is_ipv6(), "{:?}", server.addrs());
    let mut a = server.join();
    let mut b = server.join();
    assert!(a.local_addr().is_ipv6());
    a.send_line("hello over v6");
    b.expect_body("<guest1> hello over v6");
    let shown = server.expect_console("hello over v6");
    assert!(
        shown.contains(&format!("([::1]:{})", a.local_addr().port())),
        "{shown}"
    );
}

#[test]
fn one_server_on_ipv4_and_ipv6() {
    if !ipv6_available() {
        return;
    }
    let server = ServerProcess::start(&["--listen", "127.0.0.1:0", "--listen", "[::1]:0"]);
    let [v4, v6] = server.addrs() else {
        panic!("two listeners expected: {:?}", server.addrs());
    };
    assert!(v4.is_ipv4() && v6.is_ipv6(), "{:?}", server.addrs());
    let mut a = chat_tests::Client::join(*v4);
    let mut b = chat_tests::Client::join(*v6);
    b.send_line("from v6");
    a.expect_body("<guest2> from v6");
    a.send_line("from v4");
    b.expect_body("<guest1> from v4");
}

#[test]
fn chat_client_over_ipv6() {
    if !ipv6_available() {
        return;
    }
    let server = ServerProcess::start(&["--listen", "[::1]:0"]);
    let mut watcher = server.join();
    for host in ["::1", "[::1]"] {
        let mut cmd = command("chat-client");
        cmd.args([host, &server.addr().port().to_string()]);
        let mut client = Proc::run(cmd, format!("hi from {host}\n").as_bytes());
        client.assert_exit(0);
        assert!(
            client.stdout().contains("-!- Welcome, guest"),
            "{}",
            client.report()
        );
        watcher.expect(&format!("the line from {host}"), |b| {
            b.ends_with(&format!("> hi from {host}"))
        });
    }
}
