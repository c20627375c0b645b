//! The scenario's participants: a raw TCP [`Client`] or a `chat-client`
//! process, behind one interface that waits strictly (only notices may come
//! between the lines a participant is told to expect) and checks every
//! line's `[RFC 3339 STAMP] `; and the `{*}` patterns the script is written
//! in.

use chat_tests::{Client, Proc, Stream, split_stamp};

/// One chat participant of the scenario.
pub(super) struct Person {
    pub(super) name: &'static str,
    link: Link,
}

enum Link {
    /// A raw TCP socket driven from the test.
    Tcp(Client),
    /// A `chat-client` process: what it types goes to its stdin, what it
    /// receives is its stdout.
    Process(Proc),
}

impl Person {
    pub(super) fn tcp(name: &'static str, mut client: Client) -> Person {
        client.set_nick(name);
        Person {
            name,
            link: Link::Tcp(client),
        }
    }

    pub(super) fn chat_client(name: &'static str, proc: Proc) -> Person {
        Person {
            name,
            link: Link::Process(proc),
        }
    }

    pub(super) fn say(&mut self, line: &str) {
        match &mut self.link {
            Link::Tcp(client) => client.send_line(line),
            Link::Process(proc) => proc.write_line(line),
        }
    }

    /// Reads until a line whose body matches `pattern` (`{*}` matches any
    /// text) and returns the body. Only notices (`-!- …`, but not `-!-
    /// error: …`) may come before it; any other line fails the test at once.
    pub(super) fn expect(&mut self, pattern: &str) -> String {
        let what = format!("matching `{pattern}` (or not a notice)");
        let stop = |body: &str| matches(pattern, body) || !is_skippable(body);
        let body = match &mut self.link {
            Link::Tcp(client) => {
                let body = client.expect(&what, stop);
                check_stamps(client);
                body
            }
            Link::Process(proc) => {
                let line = proc.expect_line(Stream::Stdout, &what, |line| {
                    split_stamp(line).is_none_or(|(_, body)| stop(body))
                });
                body_of(&line, proc)
            }
        };
        if !matches(pattern, &body) {
            self.fail(&format!("waiting for `{pattern}`, got `{body}` instead"));
        }
        body
    }

    /// Reads to the end of the stream (the server closed it); every line on
    /// the way must be a notice. Then hangs up: closes the socket, or the
    /// chat-client's stdin.
    pub(super) fn drain_and_hang_up(&mut self) {
        let rest = match &mut self.link {
            Link::Tcp(client) => {
                let rest = client.expect_eof();
                check_stamps(client);
                client.hang_up();
                rest
            }
            Link::Process(proc) => {
                let lines = proc.expect_end(Stream::Stdout);
                let rest = lines.iter().map(|line| body_of(line, proc)).collect();
                proc.close_stdin();
                rest
            }
        };
        if let Some(body) = rest.iter().find(|body| !is_skippable(body)) {
            self.fail(&format!("unexpected `{body}` at the end"));
        }
    }

    /// The local address of a raw TCP participant, as the console shows it;
    /// `{*}` for a chat-client.
    pub(super) fn addr_pattern(&self) -> String {
        match &self.link {
            Link::Tcp(client) => client.local_addr().to_string(),
            Link::Process(_) => "{*}".to_owned(),
        }
    }

    /// Every line received, stamps included.
    pub(super) fn lines(&self) -> Vec<String> {
        match &self.link {
            Link::Tcp(client) => client.history().to_vec(),
            Link::Process(proc) => proc.lines(Stream::Stdout),
        }
    }

    /// The chat-client process, if this participant is one.
    pub(super) fn process(&mut self) -> Option<&mut Proc> {
        match &mut self.link {
            Link::Tcp(_) => None,
            Link::Process(proc) => Some(proc),
        }
    }

    /// What this participant received (and, for a chat-client, its command
    /// and stderr), for failure reports.
    pub(super) fn transcript(&self) -> String {
        match &self.link {
            Link::Tcp(client) => {
                let lines = client.history();
                let mut text = format!(
                    "--- {} (raw TCP from {}), {} lines ---\n",
                    self.name,
                    client.local_addr(),
                    lines.len()
                );
                for line in lines {
                    text.push_str(&format!("  {line}\n"));
                }
                text
            }
            Link::Process(proc) => {
                format!("--- {} (chat-client) ---\n{}\n", self.name, proc.report())
            }
        }
    }

    pub(super) fn fail(&self, why: &str) -> ! {
        match &self.link {
            Link::Tcp(client) => client.fail(why),
            Link::Process(proc) => panic!("{}: {why}\n{}", self.name, proc.report()),
        }
    }
}

/// A chat-client's stdout line's body after its `[STAMP] `, checking the
/// stamp is RFC 3339 as server.toml asked.
fn body_of(line: &str, proc: &Proc) -> String {
    match split_stamp(line) {
        Some((stamp, body)) if is_rfc3339(stamp) => body.to_owned(),
        _ => panic!("`{line}` is not `[RFC 3339 STAMP] BODY`\n{}", proc.report()),
    }
}

/// Every line `client` received has an RFC 3339 stamp, as server.toml asked.
fn check_stamps(client: &Client) {
    let bad = client
        .history()
        .iter()
        .find(|line| split_stamp(line).is_none_or(|(stamp, _)| !is_rfc3339(stamp)));
    if let Some(line) = bad {
        client.fail(&format!("`{line}` is not `[RFC 3339 STAMP] BODY`"));
    }
}

/// Lines a participant may receive between the ones it waits for: notices,
/// but not error notices.
fn is_skippable(body: &str) -> bool {
    body.starts_with("-!- ") && !body.starts_with("-!- error")
}

/// `2026-11-03T08:05:09Z`, `2026-11-03T08:05:09+01:00`, with optional fractions.
fn is_rfc3339(stamp: &str) -> bool {
    let bytes = stamp.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    stamp.len() >= 20
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10)
        && bytes[10] == b'T'
        && digits(11..13)
        && bytes[13] == b':'
        && digits(14..16)
        && bytes[16] == b':'
        && digits(17..19)
        && (stamp.ends_with('Z') || stamp[19..].contains(['+', '-']))
}

/// Does `text` match `pattern`, where each `{*}` matches any text?
pub(super) fn matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split("{*}");
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[test]
fn patterns() {
    assert!(matches(
        "-!- {*} is now known as bob",
        "-!- guest2 is now known as bob"
    ));
    assert!(matches(
        "-!- Welcome, {*}! motd",
        "-!- Welcome, guest1! motd"
    ));
    assert!(matches("*alice* psst", "*alice* psst"));
    assert!(matches("a{*}b{*}c", "a1b2c"));
    assert!(!matches("a{*}b", "a1c"));
    assert!(!matches("<alice> hi", "<alice> hi all"));
    assert!(!matches("ab{*}ba", "aba"));
}

#[test]
fn stamps() {
    assert!(is_rfc3339("2026-11-03T08:05:09Z"));
    assert!(is_rfc3339("2026-11-03T08:05:09+01:00"));
    assert!(is_rfc3339("2026-11-03T08:05:09.123-05:00"));
    assert!(!is_rfc3339("Tue Nov  3 08:05:09 2026"));
}

#[test]
fn only_plain_notices_may_be_skipped() {
    assert!(is_skippable("-!- bob joined lobby"));
    assert!(!is_skippable("-!- error: nick erin is taken"));
    assert!(!is_skippable("<alice> hi"));
}
