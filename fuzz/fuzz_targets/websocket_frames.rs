//! The WebSocket frame decoder (a web listener's client frames) on
//! arbitrary bytes fed in arbitrary pieces: never panics; a line is a whole
//! text message of valid UTF-8 within the size limit, ending in one LF;
//! nothing follows a close or a refusal; and what it holds stays bounded
//! by the limit, whatever the input.
#![no_main]

use chat_net::websocket::{Decoder, Event};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    // The first byte picks the size limit, the second the piece size.
    let [limit, size, rest @ ..] = bytes else {
        return;
    };
    let max_message = usize::from(*limit) * 4;
    let size = usize::from(*size).max(1);
    let mut decoder = Decoder::new(max_message);
    let mut finished = false;
    for piece in rest.chunks(size) {
        decoder.push(piece);
        while let Some(event) = decoder.next_event() {
            assert!(!finished, "an event after a close or a refusal");
            match event {
                Event::Line(line) => {
                    assert!(line.len() <= max_message + 1, "a line over the limit");
                    assert_eq!(line.last(), Some(&b'\n'));
                    assert!(std::str::from_utf8(line).is_ok(), "a line that is not UTF-8");
                }
                Event::Ping(payload) => assert!(payload.len() <= 125),
                Event::Pong => {}
                Event::Close(_) | Event::Refuse(_) => finished = true,
            }
        }
        // At most the message being assembled (up to the limit), one
        // unfinished frame (a header of at most 14 bytes, and a payload up
        // to the limit, or 125 bytes for a control frame) and one piece
        // are ever held.
        assert!(
            decoder.buffered() <= max_message + 14 + max_message.max(125) + size,
            "{} bytes held",
            decoder.buffered()
        );
    }
});
