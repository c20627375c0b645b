//! The command line itself: help and version.

mod common;

use common::run_client;

#[test]
fn help() {
    let client = run_client(["--help"], b"");
    assert_eq!(client.code(), Some(0), "{client}");
    insta::assert_snapshot!("help", client.stdout);
}

#[test]
fn short_help() {
    let client = run_client(["-h"], b"");
    assert_eq!(client.code(), Some(0), "{client}");
    insta::assert_snapshot!("short_help", client.stdout);
}

#[test]
fn version() {
    let client = run_client(["--version"], b"");
    assert_eq!(client.code(), Some(0), "{client}");
    assert_eq!(
        client.stdout,
        format!("chat-client {}\n", env!("CARGO_PKG_VERSION")),
        "{client}"
    );
}

#[test]
fn bad_nick_is_a_usage_error() {
    let client = run_client(["--nick", "a\nb"], b"");
    assert_eq!(client.code(), Some(2), "{client}");
    assert!(client.stderr.contains("control characters"), "{client}");
}
