//! The log on stderr: with `log_format = "json"` every line is one JSON
//! object (the `listening on` line too); connects, leaves with their
//! reasons and failed logins are events; message text only at `debug`
//! (`log_level`, or `RUST_LOG` over it); passwords never.

use std::time::Duration;

use chat_tests::{Client, ServerProcess};

const PASSWORD: &str = "sesame-42";

/// A client that logs in with `password` and is welcomed.
fn log_in(server: &ServerProcess, password: &str) -> Client {
    let mut client = server.connect();
    client.send_line(&format!("/pass {password}"));
    client.expect_contains("Welcome, ");
    client
}

/// Runs a short conversation with a failed login, stops the server, and
/// returns its stderr lines.
fn conversation(config: &str, env: &[(&str, &str)]) -> Vec<String> {
    let config = format!("password = \"{PASSWORD}\"\n{config}");
    let mut builder = ServerProcess::builder().config(&config);
    for (name, value) in env {
        builder = builder.env(name, value);
    }
    let mut server = builder.start();
    let mut wrong = server.connect();
    wrong.send_line("/pass not-the-password");
    wrong.expect_eof();
    let mut alice = log_in(&server, PASSWORD);
    let mut bob = log_in(&server, PASSWORD);
    bob.sync();
    alice.send_line("the secret plans");
    bob.expect_contains("the secret plans");
    alice.send_line("/quit gone fishing");
    alice.expect_eof();
    bob.expect_contains("gone fishing");
    server.signal(libc::SIGTERM);
    assert!(
        server.wait_exit(Duration::from_secs(10)).success(),
        "{}",
        server.report()
    );
    server.proc().stderr().lines().map(str::to_owned).collect()
}

#[test]
fn json_logs_are_one_object_a_line_and_keep_secrets() {
    let lines = conversation("log_format = \"json\"\n", &[]);
    let mut messages = Vec::new();
    for line in &lines {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}\n{lines:#?}"));
        let message = value["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no message: {line}"));
        assert!(
            value["level"].is_string() && value["timestamp"].is_string(),
            "{line}"
        );
        messages.push(message.to_owned());
    }
    let has = |needle: &str| messages.iter().any(|m| m.contains(needle));
    assert!(has("listening on 127.0.0.1:"), "{messages:#?}");
    assert!(has("connected from 127.0.0.1:"), "{messages:#?}");
    assert!(has("wrong password from 127.0.0.1:"), "{messages:#?}");
    assert!(has("left: quit: gone fishing"), "{messages:#?}");
    assert!(has("shutting down"), "{messages:#?}");
    assert!(
        !has("the secret plans"),
        "message text at info\n{messages:#?}"
    );
    let all = lines.join("\n");
    assert!(
        !all.contains(PASSWORD) && !all.contains("not-the-password"),
        "{all}"
    );
}

#[test]
fn message_text_is_logged_at_debug_and_rust_log_overrides_the_file() {
    let debug = conversation("log_level = \"debug\"\n", &[]).join("\n");
    assert!(debug.contains("the secret plans"), "{debug}");
    assert!(!debug.contains(PASSWORD), "{debug}");
    let quiet = conversation("log_level = \"debug\"\n", &[("RUST_LOG", "warn")]).join("\n");
    assert!(quiet.contains("listening on 127.0.0.1:"), "{quiet}");
    assert!(!quiet.contains("connected from"), "{quiet}");
    assert!(!quiet.contains("the secret plans"), "{quiet}");
}
