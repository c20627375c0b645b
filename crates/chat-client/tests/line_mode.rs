//! Line mode against fake line servers.

mod common;

use std::io::Write as _;
use std::thread;
use std::time::Duration;

use common::{Client, FakeServer, read_exactly, read_to_eof, run_client};

#[test]
fn piped_lines_arrive_with_lf_and_eof_half_closes() {
    let server = FakeServer::start(|mut stream| {
        // read_to_eof only returns once the client has half-closed.
        let got = read_to_eof(&mut stream)?;
        stream.write_all(b"after your eof\n")?;
        Ok(got)
    });
    let client = run_client(
        ["127.0.0.1", &server.port()],
        b"hello\r\nworld\n\n\r\nlast without newline",
    );
    let got = server.join(&client);
    assert_eq!(
        String::from_utf8_lossy(&got),
        "hello\nworld\nlast without newline\n",
        "{client}"
    );
    assert_eq!(client.code(), Some(0), "{client}");
    assert_eq!(client.stdout, "after your eof\n", "{client}");
    assert_eq!(client.stderr, "", "{client}");
}

#[test]
fn nick_is_sent_first() {
    let server = FakeServer::start(|mut stream| read_to_eof(&mut stream));
    let client = run_client(["127.0.0.1", &server.port(), "--nick", "alice"], b"hi\n");
    let got = server.join(&client);
    assert_eq!(
        String::from_utf8_lossy(&got),
        "/nick alice\nhi\n",
        "{client}"
    );
    assert_eq!(client.code(), Some(0), "{client}");
}

#[test]
fn server_lines_are_printed_as_they_arrive() {
    let server = FakeServer::start(|mut stream| {
        stream.write_all(b"welcome\nsecond ")?;
        thread::sleep(Duration::from_millis(50));
        stream.write_all(b"half\n")?;
        // The test answers only after it saw those lines on stdout, while
        // the connection is still open.
        let got = read_exactly(&mut stream, b"seen\n".len())?;
        stream.write_all(b"bad \xff utf8\nfinal partial")?;
        Ok(got)
    });
    let mut client = Client::spawn(["127.0.0.1", &server.port()]);
    let early = client.wait_for_stdout("second half\n");
    client.write_stdin(b"seen\n");
    let client = client.finish();
    let got = server.join(&client);
    assert_eq!(early, "welcome\nsecond half\n", "{client}");
    assert_eq!(got, b"seen\n", "{client}");
    assert_eq!(client.code(), Some(0), "{client}");
    assert_eq!(
        client.stdout, "welcome\nsecond half\nbad \u{FFFD} utf8\nfinal partial\n",
        "{client}"
    );
    assert_eq!(client.stderr, "", "{client}");
}

#[test]
fn server_closing_first_ends_the_client_with_status_0() {
    let server = FakeServer::start(|mut stream| {
        let got = read_exactly(&mut stream, b"/quit\n".len())?;
        stream.write_all(b"bye\n")?;
        Ok(got)
    });
    let mut client = Client::spawn(["127.0.0.1", &server.port()]);
    client.write_stdin(b"/quit\n");
    // Stdin stays open: the client must leave on its own.
    let client = client.finish();
    let got = server.join(&client);
    assert_eq!(got, b"/quit\n", "{client}");
    assert_eq!(client.code(), Some(0), "{client}");
    assert_eq!(client.stdout, "bye\n", "{client}");
}

#[test]
fn reset_mid_session_is_one_line_naming_the_address() {
    let server = FakeServer::start(|mut stream| {
        stream.write_all(b"hello\n")?;
        // Wait for a line, then close while it is still unread: the kernel
        // answers with a reset instead of a clean close.
        thread::sleep(Duration::from_millis(300));
        drop(stream);
        Ok(())
    });
    let mut client = Client::spawn(["127.0.0.1", &server.port()]);
    client.write_stdin(b"unread line\n");
    let client = client.finish();
    let addr = server.addr;
    server.join(&client);
    assert_eq!(client.code(), Some(1), "{client}");
    assert_eq!(client.stdout, "hello\n", "{client}");
    assert!(
        client
            .stderr
            .starts_with(&format!("chat-client: connection to {addr} lost: ")),
        "{client}"
    );
    assert_eq!(client.stderr.lines().count(), 1, "{client}");
}

#[test]
fn json_prints_one_object_per_line() {
    let server = FakeServer::start(|mut stream| {
        stream.write_all(
            b"[Tue Nov 24 21:03:31 2026] <alice> hi \"there\"\n\
              [2026-11-24T21:03:32Z] -!- bob joined lobby\n\
              not a protocol line",
        )?;
        Ok(())
    });
    let client = run_client(["127.0.0.1", &server.port(), "--json"], b"");
    server.join(&client);
    assert_eq!(client.code(), Some(0), "{client}");
    assert_eq!(
        client.stdout,
        concat!(
            r#"{"kind":"message","nick":"alice","room":null,"text":"hi \"there\"","timestamp":"2026-11-24T21:03:31"}"#,
            "\n",
            r#"{"kind":"join","nick":"bob","room":"lobby","text":null,"timestamp":"2026-11-24T21:03:32+00:00"}"#,
            "\n",
            r#"{"kind":"unknown","nick":null,"room":null,"text":"not a protocol line","timestamp":null}"#,
            "\n",
        ),
        "{client}"
    );
}
