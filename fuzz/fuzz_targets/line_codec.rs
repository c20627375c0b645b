//! The line decoder on arbitrary bytes cut at arbitrary points: it never
//! panics, never yields a line longer than the limit or one holding a line
//! terminator, and every line it yields sanitizes to terminal-safe text.
#![no_main]

use chat_proto::{Frame, LineDecoder, sanitize_text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u8, Vec<u8>)| {
    let (cut, bytes) = input;
    let max = 64;
    let mut decoder = LineDecoder::new(max);
    let mut text = String::new();
    let mut check = |frame: Frame<'_>| {
        if let Frame::Line(line) = frame {
            assert!(line.len() <= max);
            assert!(!line.contains(&b'\n') && !line.contains(&b'\r'));
            text.clear();
            sanitize_text(line, &mut text);
            assert!(text.chars().all(|c| c == '\t' || !c.is_control()));
        }
    };
    let cut = usize::from(cut).min(bytes.len());
    decoder.decode(&bytes[..cut], &mut check);
    decoder.decode(&bytes[cut..], &mut check);
    decoder.finish(&mut check);
});
