//! Connecting: refused ports, IPv6 literals, host names.
//!
//! (Unresolvable names are not tested here: without a reachable DNS server
//! the lookup alone can outlast the test deadline.)

mod common;

use std::io::{self, Write as _};
use std::net::TcpListener;

use common::{FakeServer, read_to_eof, run_client};

#[test]
fn refused_port_is_one_line_naming_the_address_and_exit_1() {
    // Bind, then free the port: nothing listens there any more.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .local_addr()
            .expect("local_addr")
            .port()
            .to_string()
    };
    let client = run_client(["127.0.0.1", &port], b"");
    assert_eq!(client.code(), Some(1), "{client}");
    assert_eq!(client.stdout, "", "{client}");
    insta::assert_snapshot!("refused", client.stderr.replace(&port, "[PORT]"));
}

fn echo_one_line(mut stream: std::net::TcpStream) -> io::Result<Vec<u8>> {
    let got = read_to_eof(&mut stream)?;
    stream.write_all(&got)?;
    Ok(got)
}

fn check_ipv6(host: &str) {
    if !chat_tests::ipv6_available() {
        return;
    }
    let listener = TcpListener::bind("[::1]:0").expect("bind [::1]:0");
    let server = FakeServer::on(listener, echo_one_line);
    let client = run_client([host, &server.port()], b"over six\n");
    let got = server.join(&client);
    assert_eq!(got, b"over six\n", "{client}");
    assert_eq!(client.code(), Some(0), "{client}");
    assert_eq!(client.stdout, "over six\n", "{client}");
}

#[test]
fn ipv6_literal_connects() {
    check_ipv6("::1");
}

#[test]
fn bracketed_ipv6_literal_connects() {
    check_ipv6("[::1]");
}

#[test]
fn host_names_are_resolved() {
    let server = FakeServer::start(echo_one_line);
    let client = run_client(["localhost", &server.port()], b"by name\n");
    let got = server.join(&client);
    assert_eq!(got, b"by name\n", "{client}");
    assert_eq!(client.code(), Some(0), "{client}");
}
