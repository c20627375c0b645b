//! Property tests: writing then parsing gives back the message written, for
//! arbitrary tags, source and parameters; no input makes the parser panic;
//! whatever it parses is written back as the same message; and no value,
//! however hostile, makes the writer emit a second line.

use std::collections::BTreeMap;

use bytes::BytesMut;
use chat_irc::{MAX_PARAMS, Message, WriteError, parse, parse_bytes, write};
use proptest::prelude::*;

/// What a message means: tags as a map (the last of a key wins).
type Meaning = (
    BTreeMap<String, String>,
    Option<String>,
    String,
    Vec<String>,
);

fn meaning(message: &Message<'_>) -> Meaning {
    (
        message
            .tags
            .iter()
            .map(|(k, v)| (k.to_owned(), v.into_owned()))
            .collect(),
        message.source.map(str::to_owned),
        message.command.to_owned(),
        message.params.iter().map(|p| (*p).to_owned()).collect(),
    )
}

/// Anything but the bytes no line can hold.
fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[^\\x00\\r\\n]{{0,{max}}}")).expect("a regex")
}

fn middle() -> impl Strategy<Value = String> {
    "[^\\x00\\r\\n :][^\\x00\\r\\n ]{0,15}"
}

fn tags() -> impl Strategy<Value = BTreeMap<String, String>> {
    proptest::collection::btree_map("\\+?([a-z0-9.]{1,8}/)?[a-zA-Z0-9-]{1,10}", text(12), 0..5)
}

fn params() -> impl Strategy<Value = Vec<String>> {
    (
        proptest::collection::vec(middle(), 0..MAX_PARAMS),
        text(40),
        any::<bool>(),
    )
        .prop_map(|(mut params, last, with_last)| {
            if with_last && params.len() < MAX_PARAMS {
                params.push(last);
            }
            params
        })
}

proptest! {
    #[test]
    fn written_messages_parse_back_the_same(
        tags in tags(),
        source in proptest::option::of("[^\\x00\\r\\n ]{1,20}"),
        command in "[A-Za-z]{1,12}|[0-9]{3}",
        params in params(),
    ) {
        let tag_pairs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let param_refs: Vec<&str> = params.iter().map(String::as_str).collect();
        let mut out = BytesMut::new();
        write(&mut out, &tag_pairs, source.as_deref(), &command, &param_refs).expect("writable");
        let line = std::str::from_utf8(&out).expect("UTF-8");
        let line = line.strip_suffix("\r\n").expect("ends in CRLF");
        prop_assert!(!line.contains(['\r', '\n', '\0']));
        let parsed = parse(line).expect("parses");
        prop_assert_eq!(meaning(&parsed), (tags, source, command, params));
    }

    #[test]
    fn any_bytes_parse_or_fail_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        let _ = parse_bytes(&bytes);
    }

    #[test]
    fn what_parses_is_written_back_as_the_same_message(line in "[@:;=\\\\ a-z0-9+/.\u{e9}-]{0,80}") {
        let Ok(parsed) = parse(&line) else { return Ok(()); };
        let mut out = BytesMut::new();
        match parsed.write(&mut out) {
            Ok(()) => {
                let written = std::str::from_utf8(&out).expect("UTF-8");
                let again = parse(written.trim_end_matches("\r\n")).expect("parses again");
                prop_assert_eq!(meaning(&again), meaning(&parsed));
            }
            // A parsed tag key or command may be one the writer will not
            // produce (`a!b=c`, `@cmd` after a source); nothing is written.
            Err(WriteError::BadTagKey | WriteError::BadCommand) => prop_assert!(out.is_empty()),
            Err(e) => prop_assert!(false, "{line:?}: {e}"),
        }
    }

    #[test]
    fn no_value_starts_a_second_line(
        tag_value in "[\\x00-\\x7f]{0,20}",
        source in "[a-z]{1,4}[\\x00\\r\\n]{0,3}[a-z]{0,4}",
        last in "[\\x00-\\x7f]{0,40}",
    ) {
        let mut out = BytesMut::new();
        if write(&mut out, &[("t", &tag_value)], Some(&source), "PRIVMSG", &["#room", &last]).is_ok() {
            let body = out.strip_suffix(b"\r\n").expect("ends in CRLF");
            prop_assert!(!body.iter().any(|b| matches!(b, b'\r' | b'\n' | b'\0')), "{out:?}");
        } else {
            prop_assert!(out.is_empty());
        }
    }
}
