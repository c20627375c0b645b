//! The HTTP request-head reader (the metrics listener's, and any later
//! HTTP listener's) on arbitrary bytes fed in arbitrary pieces: never
//! panics, never holds more than its bound, answers at most once.
#![no_main]

use chat_net::http::{self, Head, HeadReader, MAX_HEAD_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = http::parse_head(bytes);
    // The first byte picks the piece size, so splits are explored too.
    let (size, rest) = match bytes.split_first() {
        Some((&size, rest)) => (usize::from(size).max(1), rest),
        None => (1, bytes),
    };
    let mut reader = HeadReader::new();
    let mut answers = 0;
    for piece in rest.chunks(size) {
        if !matches!(reader.feed(piece), Head::Partial) {
            answers += 1;
        }
    }
    assert!(answers <= 1);
    assert!(reader.take_rest().len() <= MAX_HEAD_BYTES);
});
