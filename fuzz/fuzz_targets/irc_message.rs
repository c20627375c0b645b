//! The IRC parser and writer on arbitrary bytes, seeded with the shared
//! parser vectors (`fuzz/corpus/irc_message`, made from
//! `crates/chat-irc/tests/vectors/`): parsing never panics; a parsed
//! message is written as exactly one line, which parses back to the same
//! message; and a registration fed it never panics or writes a line
//! holding a CR, LF or NUL before its end; nor does a SASL exchange fed it
//! as its `AUTHENTICATE` (its payload decoded whatever the bytes).
#![no_main]

use std::borrow::Cow;

use bytes::BytesMut;
use chat_irc::{Caps, Message, Offer, Registration, Sasl, Server, parse, parse_bytes};
use libfuzzer_sys::fuzz_target;

/// The tags that count: the last value of each key, in key order.
fn tags<'a>(message: &Message<'a>) -> Vec<(&'a str, Cow<'a, str>)> {
    let mut tags: Vec<_> = message.tags.iter().collect();
    tags.reverse();
    tags.sort_by(|x, y| x.0.cmp(y.0));
    tags.dedup_by(|x, y| x.0 == y.0);
    tags
}

fn same(a: &Message<'_>, b: &Message<'_>) -> bool {
    tags(a) == tags(b) && a.source == b.source && a.command == b.command && a.params == b.params
}

/// Whether `out` is whole lines, each ending in CRLF, none holding a CR,
/// LF or NUL before its end.
fn whole_lines(out: &[u8]) -> bool {
    let mut lines = out.split(|&b| b == b'\n');
    let last = lines.next_back();
    last == Some(&[][..])
        && lines.all(|line| {
            line.strip_suffix(b"\r")
                .is_some_and(|body| !body.iter().any(|b| matches!(b, b'\r' | b'\0')))
        })
}

fuzz_target!(|bytes: &[u8]| {
    let Ok(message) = parse_bytes(bytes) else {
        return;
    };
    let mut out = BytesMut::new();
    if message.write(&mut out).is_ok() {
        assert!(out.ends_with(b"\r\n"));
        let line = &out[..out.len() - 2];
        assert!(!line.iter().any(|b| matches!(b, b'\r' | b'\n' | b'\0')));
        let text = std::str::from_utf8(line).expect("written from UTF-8");
        let again = parse(text).expect("a written message parses");
        assert!(same(&message, &again), "{message:?} became {again:?}");
    } else {
        assert!(out.is_empty());
    }
    let server = Server {
        name: "irc.example",
        offer: Offer::new(Caps::ALL),
    };
    let mut registration = Registration::new();
    let mut replies = BytesMut::new();
    for _ in 0..3 {
        registration.handle(&server, &message, &mut replies, |_| Ok(()));
    }
    assert!(whole_lines(&replies));
    let mut sasl = Sasl::default();
    let mut answers = BytesMut::new();
    let start = parse("AUTHENTICATE PLAIN").expect("a fixed line parses");
    sasl.handle(&start, "irc.example", "*", &mut answers);
    for _ in 0..2 {
        let _ = sasl.handle(&message, "irc.example", "*", &mut answers);
    }
    assert!(whole_lines(&answers));
});
