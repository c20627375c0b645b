//! The wire format beyond the shared vectors: the length limits and their
//! error, bytes no line may hold, the fifteen-parameter rule, what the
//! writer refuses and what it drops, and snapshots of written messages.

use bytes::BytesMut;
use chat_irc::{
    MAX_LINE_BYTES, MAX_TAGS_BYTES, Message, ParseError, WriteError, parse, parse_bytes, write,
};

fn written(tags: &[(&str, &str)], source: Option<&str>, command: &str, params: &[&str]) -> String {
    let mut out = BytesMut::new();
    write(&mut out, tags, source, command, params).expect("writable");
    String::from_utf8(out.to_vec()).expect("UTF-8")
}

fn refused(command: &str, params: &[&str]) -> WriteError {
    let mut out = BytesMut::from("kept");
    let error = write(&mut out, &[], None, command, params).expect_err("refused");
    assert_eq!(&out[..], b"kept", "a refused message appends nothing");
    error
}

#[test]
fn the_rest_of_a_line_may_be_512_bytes_with_its_crlf_and_no_more() {
    let fits = format!("PRIVMSG #a :{}", "x".repeat(MAX_LINE_BYTES - 2 - 12));
    assert_eq!(fits.len(), 510);
    assert!(parse(&fits).is_ok());
    let over = format!("{fits}x");
    assert_eq!(parse(&over), Err(ParseError::InputTooLong));
    assert_eq!(
        parse_bytes(over.as_bytes()).map(|_| ()),
        Err(ParseError::InputTooLong)
    );
}

#[test]
fn tags_may_take_8191_bytes_besides_the_rest() {
    let tags = format!("@a={} ", "v".repeat(MAX_TAGS_BYTES - 4));
    assert_eq!(tags.len(), MAX_TAGS_BYTES);
    let rest = format!("PRIVMSG #a :{}", "x".repeat(498));
    let line = format!("{tags}{rest}");
    let message = parse(&line).expect("fits");
    assert_eq!(
        message.tags.get("a").map(|v| v.len()),
        Some(MAX_TAGS_BYTES - 4)
    );
    let over = format!("@a={} {rest}", "v".repeat(MAX_TAGS_BYTES - 3));
    assert_eq!(parse(&over), Err(ParseError::InputTooLong));
}

#[test]
fn an_over_long_line_is_too_long_before_it_is_anything_else() {
    let mut bytes = vec![0xff; 600];
    bytes.extend_from_slice(b" PRIVMSG");
    assert_eq!(
        parse_bytes(&bytes).map(|_| ()),
        Err(ParseError::InputTooLong)
    );
    assert_eq!(
        parse_bytes(b"PRIVMSG \xff").map(|_| ()),
        Err(ParseError::NotUtf8)
    );
}

#[test]
fn malformed_lines_have_their_own_errors() {
    for (line, error) in [
        ("", ParseError::Empty),
        ("   ", ParseError::Empty),
        ("@a=b", ParseError::NoCommand),
        ("@a=b  ", ParseError::NoCommand),
        (":src", ParseError::NoCommand),
        (":src ", ParseError::NoCommand),
        ("@a :src  ", ParseError::NoCommand),
        ("PRIVMSG #a :x\0y", ParseError::ForbiddenByte),
        ("PRIVMSG #a :x\ry", ParseError::ForbiddenByte),
        ("PRIVMSG #a :x\ny", ParseError::ForbiddenByte),
    ] {
        assert_eq!(parse(line), Err(error), "{line:?}");
    }
}

#[test]
fn spaces_around_a_line_are_ignored() {
    let message = parse("   NICK   alice   ").expect("parses");
    assert_eq!(
        (message.command, &message.params[..]),
        ("NICK", &["alice"][..])
    );
}

#[test]
fn the_fifteenth_parameter_takes_the_rest_of_the_line() {
    let line = "CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 fifteen and more  ";
    let message = parse(line).expect("parses");
    assert_eq!(message.params.len(), 15);
    assert_eq!(message.param(14), Some("fifteen and more"));
    let message = parse("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 :last one ").expect("parses");
    assert_eq!(message.param(14), Some("last one "));
}

#[test]
fn commands_compare_without_case_and_tags_read_the_last_value() {
    let message = parse("@+draft/reply=1;time=x;time=2026-01-01T00:00:00.000Z privmsg #a :hi")
        .expect("parses");
    assert!(message.is("PRIVMSG"));
    assert_eq!(
        message.tags.get("time").as_deref(),
        Some("2026-01-01T00:00:00.000Z")
    );
    assert_eq!(message.tags.get("+draft/reply").as_deref(), Some("1"));
    assert_eq!(message.tags.get("msgid"), None);
    assert!(!message.tags.is_empty());
    assert!(Message::new("PING").tags.is_empty());
}

#[test]
fn the_writer_refuses_what_cannot_be_one_message() {
    assert_eq!(refused("", &[]), WriteError::BadCommand);
    assert_eq!(refused("PRIV MSG", &[]), WriteError::BadCommand);
    assert_eq!(refused(":X", &[]), WriteError::BadCommand);
    assert_eq!(refused("\r\n", &[]), WriteError::BadCommand);
    assert_eq!(
        refused("X", &["a b", "c"]),
        WriteError::BadMiddleParam { index: 0 }
    );
    assert_eq!(
        refused("X", &["a", "", "c"]),
        WriteError::BadMiddleParam { index: 1 }
    );
    assert_eq!(
        refused("X", &[":a", "c"]),
        WriteError::BadMiddleParam { index: 0 }
    );
    assert_eq!(
        refused("X", &["\n", "c"]),
        WriteError::BadMiddleParam { index: 0 }
    );
    assert_eq!(refused("X", &["p"; 16]), WriteError::TooManyParams);
    let mut out = BytesMut::new();
    assert_eq!(
        write(&mut out, &[("a b", "")], None, "X", &[]),
        Err(WriteError::BadTagKey)
    );
    assert_eq!(
        write(&mut out, &[("", "v")], None, "X", &[]),
        Err(WriteError::BadTagKey)
    );
    assert_eq!(
        write(&mut out, &[], Some("a b"), "X", &[]),
        Err(WriteError::BadSource)
    );
    assert_eq!(
        write(&mut out, &[], Some("\r"), "X", &[]),
        Err(WriteError::BadSource)
    );
    assert!(out.is_empty());
}

#[test]
fn cr_lf_and_nul_are_dropped_from_every_part_and_escaped_in_tag_values() {
    let line = written(
        &[("k", "a\r\nb\0c")],
        Some("ser\rver"),
        "PRIV\nMSG",
        &["#ro\0om", "hello\r\nQUIT :injected"],
    );
    assert_eq!(
        line,
        "@k=a\\r\\nbc :server PRIVMSG #room :helloQUIT :injected\r\n"
    );
    assert_eq!(line.matches("\r\n").count(), 1);
    // What is left decides the form: a last parameter of only CR LF is empty.
    assert_eq!(written(&[], None, "X", &["\r\n"]), "X :\r\n");
}

/// Tags, source, command and parameters of one message to write.
type Parts<'a> = (
    &'a [(&'a str, &'a str)],
    Option<&'a str>,
    &'a str,
    &'a [&'a str],
);

#[test]
fn written_messages() {
    let mut out = BytesMut::new();
    let lines: &[Parts<'_>] = &[
        (&[], None, "PING", &["token"]),
        (&[], Some("irc.example"), "PONG", &["irc.example", "token"]),
        (
            &[("time", "2026-12-07T10:00:00.000Z"), ("msgid", "abc123")],
            Some("alice!alice@host"),
            "PRIVMSG",
            &["#rust", "hello there"],
        ),
        (
            &[("+typing", "active")],
            Some("bob!b@h"),
            "TAGMSG",
            &["#rust"],
        ),
        (
            &[("label", "x;y z\\")],
            Some("irc.example"),
            "NOTICE",
            &["*", ":starts with a colon"],
        ),
        (&[], Some("alice!alice@host"), "AWAY", &[""]),
        (
            &[],
            Some("alice!alice@host"),
            "JOIN",
            &["#rust", "account", "Alice Liddell"],
        ),
        (&[], Some("alice!alice@host"), "NICK", &["alice2"]),
        (
            &[("batch", "1")],
            Some("irc.example"),
            "BATCH",
            &["+1", "chathistory", "#rust"],
        ),
    ];
    for (tags, source, command, params) in lines {
        write(&mut out, tags, *source, command, params).expect("writable");
    }
    insta::assert_snapshot!(String::from_utf8_lossy(&out));
}

#[test]
fn a_parsed_message_is_written_back_normalized() {
    let message = parse("@b=x\\zy;a  :src   CMD  one   :two  three ").expect("parses");
    let mut out = BytesMut::new();
    message.write(&mut out).expect("writable");
    assert_eq!(&out[..], b"@b=xzy;a :src CMD one :two  three \r\n");
}
