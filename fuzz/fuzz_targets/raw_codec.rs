//! Raw framing on arbitrary chunks: never panics, never exceeds the limit.
#![no_main]

use chat_proto::{Body, raw_message, sanitize_text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|chunk: &[u8]| {
    if let Some(message) = raw_message(chunk, 1024) {
        assert!(message.len() <= 1024);
        let mut text = String::new();
        sanitize_text(message, &mut text);
        let mut out = bytes::BytesMut::new();
        chat_proto::encode_raw(&mut out, "Mon Nov  3 08:05:09 2026", &Body::Message { nick: "a", text: &text });
        assert!(!out.contains(&b'\n'));
    }
});
