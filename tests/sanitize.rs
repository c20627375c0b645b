//! What one client sends cannot attack another's terminal: escape
//! sequences, controls and bidi overrides are removed, invalid UTF-8 becomes
//! U+FFFD, and over-long lines are refused without losing the connection.

use chat_tests::{Client, ServerProcess};

/// Asserts no line `client` received holds a control character or a bidi
/// override (tabs aside).
fn assert_all_safe(client: &Client) {
    for line in client.history() {
        let bad = line.chars().find(|&c| {
            (c.is_control() && c != '\t')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
        });
        if let Some(c) = bad {
            client.fail(&format!("unsafe character {c:?} in {line:?}"));
        }
    }
}

#[test]
fn escapes_controls_and_bidi_are_stripped() {
    let server = ServerProcess::start(&[]);
    let mut a = server.join();
    let mut b = server.join();
    a.sync();

    a.send_bytes(b"\x1b]0;title\x07hi\x1b[2J\n");
    a.send_bytes("safe\u{202e}txet\u{202c} \u{2066}iso\u{2069} end\n".as_bytes());
    a.send_bytes(b"bell\x07 back\x08 nul\x00 del\x7f c1\xc2\x9b31m tab\tok\n");
    a.send_bytes(b"\x1b[31m\x1b[0m\n"); // nothing left: nothing said
    a.send_bytes(b"after\n");
    let lines = b.lines_until("the last line", |l| l == "<guest1> after");
    let said: Vec<&String> = lines.iter().filter(|l| l.starts_with("<guest1>")).collect();
    assert_eq!(
        said,
        [
            "<guest1> hi",
            "<guest1> safetxet iso end",
            "<guest1> bell back nul del c1 tab\tok",
            "<guest1> after"
        ]
    );
    assert_all_safe(&b);
}

#[test]
fn invalid_utf8_arrives_as_replacement_characters() {
    let server = ServerProcess::start(&[]);
    let mut a = server.join();
    let mut b = server.join();
    a.sync();
    a.send_bytes(b"bad\xffbyte \xc3 cut \xe2\x82 short\n");
    b.expect_body("<guest1> bad\u{fffd}byte \u{fffd} cut \u{fffd} short");
    // A multi-byte character split across two writes is put back together.
    a.send_bytes("caf\u{e9} \u{2713}".as_bytes().split_at(4).0);
    std::thread::sleep(std::time::Duration::from_millis(50));
    a.send_bytes(&"caf\u{e9} \u{2713}\n".as_bytes()[4..]);
    b.expect_body("<guest1> caf\u{e9} \u{2713}");
}

#[test]
fn over_long_lines_are_refused_and_the_connection_stays() {
    let server = ServerProcess::start_with_config("max_line_bytes = 32\n", &[]);
    let mut a = server.join();
    let mut b = server.join();
    a.sync();

    let long = "x".repeat(100);
    a.send_line(&long);
    a.expect_body("-!- error: line too long (over 32 bytes), discarded");
    a.send_line("the next line works");
    b.expect_body("<guest1> the next line works");

    // Exactly the limit is fine.
    let exact = "y".repeat(32);
    a.send_line(&exact);
    b.expect_body(&format!("<guest1> {exact}"));

    // A long line split across writes is refused once, and only it.
    a.send_bytes("z".repeat(20).as_bytes());
    std::thread::sleep(std::time::Duration::from_millis(50));
    a.send_bytes(format!("{}\nshort again\n", "z".repeat(20)).as_bytes());
    assert_eq!(
        a.sync(),
        ["-!- error: line too long (over 32 bytes), discarded"],
        "one error for the long line"
    );
    let lines = b.sync();
    assert_eq!(
        lines,
        ["<guest1> short again"],
        "nothing of the long lines leaked"
    );
}
