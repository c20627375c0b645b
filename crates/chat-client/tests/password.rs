//! The server password: `--password-file FILE` or `CHAT_PASSWORD` makes
//! `/pass SECRET` the very first line (before `/nick`), in raw mode the first
//! chunk; the secret is never printed.

mod common;

use std::fs;
use std::io::Write as _;
use std::path::PathBuf;

use common::{FakeServer, read_exactly, read_to_eof, run_client, run_client_env};

/// A password file under `CARGO_TARGET_TMPDIR` holding `contents`.
fn password_file(name: &str, contents: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("chat-client-password");
    fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{name}-{}", std::process::id()));
    fs::write(&path, contents).expect("write password file");
    path
}

fn record_everything() -> FakeServer<Vec<u8>> {
    FakeServer::start(|mut stream| read_to_eof(&mut stream))
}

#[test]
fn password_file_sends_pass_first_then_nick() {
    let file = password_file("first", "s3cret\r\nignored second line\n");
    let file = file.to_str().expect("UTF-8 path");
    let server = record_everything();
    let port = server.port();
    let client = run_client(
        [
            "--password-file",
            file,
            "--nick",
            "alice",
            "127.0.0.1",
            &port,
        ],
        b"hello\n",
    );
    let got = server.join(&client);
    assert_eq!(got, b"/pass s3cret\n/nick alice\nhello\n", "{client}");
    assert_eq!(client.code(), Some(0), "{client}");
    assert!(!client.stdout.contains("s3cret"), "{client}");
    assert!(!client.stderr.contains("s3cret"), "{client}");
}

#[test]
fn env_password_is_sent_first() {
    let server = record_everything();
    let port = server.port();
    let client = run_client_env(
        ["127.0.0.1", &port],
        &[("CHAT_PASSWORD", "from env")],
        b"hi\n",
    );
    let got = server.join(&client);
    assert_eq!(got, b"/pass from env\nhi\n", "{client}");
    assert_eq!(client.code(), Some(0), "{client}");
}

#[test]
fn password_file_wins_over_env() {
    let file = password_file("wins", "from-file\n");
    let file = file.to_str().expect("UTF-8 path");
    let server = record_everything();
    let port = server.port();
    let client = run_client_env(
        ["--password-file", file, "127.0.0.1", &port],
        &[("CHAT_PASSWORD", "from-env")],
        b"",
    );
    let got = server.join(&client);
    assert_eq!(got, b"/pass from-file\n", "{client}");
}

#[test]
fn empty_env_sends_nothing() {
    let server = record_everything();
    let port = server.port();
    let client = run_client_env(["127.0.0.1", &port], &[("CHAT_PASSWORD", "")], b"hi\n");
    let got = server.join(&client);
    assert_eq!(got, b"hi\n", "{client}");
}

#[test]
fn raw_mode_sends_pass_as_the_first_chunk() {
    let server = FakeServer::start(|mut stream| {
        let first = read_exactly(&mut stream, "/pass s3cret".len())?;
        stream.write_all(b"[x]ok")?;
        let rest = read_exactly(&mut stream, "hello".len())?;
        stream.write_all(b"[x]hello")?;
        Ok((first, rest))
    });
    let port = server.port();
    let client = run_client_env(
        ["--raw", "127.0.0.1", &port],
        &[("CHAT_PASSWORD", "s3cret")],
        b"hello\n",
    );
    let (first, rest) = server.join(&client);
    assert_eq!(first, b"/pass s3cret", "{client}");
    assert_eq!(rest, b"hello", "{client}");
    assert_eq!(client.stdout, "[x]ok\n[x]hello\n", "{client}");
}

#[test]
fn unreadable_or_empty_password_file_is_an_error_without_the_secret() {
    let client = run_client(
        ["--password-file", "/nonexistent/pw", "127.0.0.1", "1"],
        b"",
    );
    assert_eq!(client.code(), Some(1), "{client}");
    assert!(
        client
            .stderr
            .starts_with("chat-client: cannot read password file /nonexistent/pw:"),
        "{client}"
    );

    let file = password_file("empty", "\nsecond\n");
    let shown = file.display().to_string();
    let client = run_client(["--password-file", &shown, "127.0.0.1", "1"], b"");
    assert_eq!(client.code(), Some(1), "{client}");
    assert_eq!(
        client.stderr,
        format!("chat-client: password file {shown}: the password is empty\n"),
        "{client}"
    );
}

#[test]
fn control_characters_in_env_password_are_refused() {
    let client = run_client_env(["127.0.0.1", "1"], &[("CHAT_PASSWORD", "a\u{1b}b")], b"");
    assert_eq!(client.code(), Some(1), "{client}");
    assert_eq!(
        client.stderr, "chat-client: CHAT_PASSWORD: the password contains control characters\n",
        "{client}"
    );
}
