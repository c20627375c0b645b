//! `--raw` against a tutorial-style chunk server.

mod common;

use std::io::{Read as _, Write as _};
use std::thread;
use std::time::Duration;

use common::{FakeServer, run_client};

const STAMP: &str = "[Mon Nov 23 18:59:48 2026]";

/// The tutorial server: read at most 1024 bytes, answer `[<ctime>]<data>`
/// without a newline, stop at EOF. Replies slowly, so a client that did not
/// wait for the answer would glue its next message to the previous one.
fn tutorial_server() -> FakeServer<Vec<Vec<u8>>> {
    FakeServer::start(|mut stream| {
        let mut chunks = Vec::new();
        let mut buf = [0_u8; 1024];
        loop {
            let read = stream.read(&mut buf)?;
            if read == 0 {
                return Ok(chunks);
            }
            chunks.push(buf[..read].to_vec());
            thread::sleep(Duration::from_millis(100));
            let mut reply = STAMP.as_bytes().to_vec();
            reply.extend_from_slice(&buf[..read]);
            stream.write_all(&reply)?;
        }
    })
}

fn as_text(chunks: &[Vec<u8>]) -> Vec<String> {
    chunks
        .iter()
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect()
}

#[test]
fn each_line_is_one_chunk_and_each_reply_one_line() {
    let server = tutorial_server();
    let client = run_client(["--raw", "127.0.0.1", &server.port()], b"hello\r\nworld\n");
    let chunks = server.join(&client);
    assert_eq!(as_text(&chunks), ["hello", "world"], "{client}");
    assert_eq!(client.code(), Some(0), "{client}");
    assert_eq!(
        client.stdout,
        format!("{STAMP}hello\n{STAMP}world\n"),
        "{client}"
    );
    assert_eq!(client.stderr, "", "{client}");
}

#[test]
fn an_empty_line_ends_the_session() {
    let server = tutorial_server();
    let client = run_client(
        ["--raw", "127.0.0.1", &server.port()],
        b"one\n\nnever sent\n",
    );
    let chunks = server.join(&client);
    assert_eq!(as_text(&chunks), ["one"], "{client}");
    assert_eq!(client.code(), Some(0), "{client}");
    assert_eq!(client.stdout, format!("{STAMP}one\n"), "{client}");
}

#[test]
fn unprompted_chunks_are_printed_and_server_close_exits_0() {
    let server = FakeServer::start(|mut stream| {
        stream.write_all(b"hello from the server")?;
        Ok(())
    });
    // Stdin stays open: the server's close must end the client.
    let client = common::Client::spawn(["--raw", "127.0.0.1", &server.port()]).finish();
    server.join(&client);
    assert_eq!(client.code(), Some(0), "{client}");
    assert_eq!(client.stdout, "hello from the server\n", "{client}");
}

#[test]
fn nick_is_refused_in_raw_mode() {
    let client = run_client(["--raw", "--nick", "alice"], b"");
    assert_eq!(client.code(), Some(2), "{client}");
    assert!(client.stderr.contains("cannot be used with"), "{client}");
}
