//! A webhook's request on arbitrary bytes: its length from the head
//! (`body_length`, `BodyReader`) and its body through the Slack payload
//! decoder and the line splitter, under every content type a hook takes:
//! never panics, answers within the bound, and whatever it says is at most
//! the post's cap of lines, each one line within `max_line_bytes`.
#![no_main]

use chat_net::http::{self, BodyReader, Head, HeadReader};
use chat_server::hooks::{self, MAX_LINES_PER_POST, slack};
use libfuzzer_sys::fuzz_target;

const MAX_LINE: usize = 64;

fuzz_target!(|bytes: &[u8]| {
    let Some((&pick, rest)) = bytes.split_first() else {
        return;
    };
    let content_type: Option<&[u8]> = match pick % 4 {
        0 => Some(b"application/json"),
        1 => Some(b"application/x-www-form-urlencoded; charset=utf-8"),
        2 => None,
        _ => Some(b"text/plain"),
    };
    if let Ok(message) = slack::decode(content_type, rest) {
        let lines = hooks::lines(&message.text, MAX_LINE);
        assert!(lines.len() <= MAX_LINES_PER_POST);
        for line in &lines {
            assert!(line.len() <= MAX_LINE.max(32), "{line:?}");
            assert!(!line.contains('\n'));
        }
    }
    // The same bytes as a request: a body is never held past its bound.
    let mut reader = HeadReader::new();
    if let Head::Request(request) = reader.feed(rest)
        && let Ok(length) = http::body_length(&request, 4096)
    {
        let mut body = BodyReader::new(length, &reader.take_rest());
        body.feed(rest);
        assert!(body.take().len() <= 4096);
    }
});
