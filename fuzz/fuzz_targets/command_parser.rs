//! The command parser and the server-line parser on arbitrary text: never
//! panic; a sanitized line that parses as a command round-trips its words.
#![no_main]

use chat_proto::{Command, parse_command, parse_line, sanitize_text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let mut text = String::new();
    sanitize_text(bytes, &mut text);
    if let Ok(Command::Msg { to, text: said }) = parse_command(&text) {
        assert!(!to.is_empty() && !said.is_empty());
    }
    let _ = parse_line(&String::from_utf8_lossy(bytes));
    let _ = chat_proto::parse_stamp(&text);
});
