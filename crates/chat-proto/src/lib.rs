//! chat-proto is the chat wire format: the kinds of line the server sends, the
//! commands a client sends, the line and raw codecs, text sanitizing and the
//! timestamp formats.
//!
//! **Architecture invariant:** chat-proto does no I/O and reads no clock. It
//! never touches a socket, a file or the time of day: bytes and timestamps are
//! passed in, bytes and values come out. That keeps it a pure library that the
//! server, the client, the benchmark and fuzzers all share, and that tests can
//! drive with fixed inputs.
//!
//! The protocol is specified in `PROTOCOL.md` at the repository root; this
//! crate is its executable form.
//!
//! - [`LineDecoder`] splits a byte stream into lines (LF, CRLF or a lone CR),
//!   bounded by a maximum length; [`raw_message`] treats one read as one message.
//! - [`sanitize_text`] removes control characters, terminal escape sequences
//!   and invisible characters.
//! - [`Command`] is what a client asks for (an intent, whatever wire it
//!   came on); [`parse_command`] reads it from a line;
//!   [`is_secret_command`] tells the lines that hold a password.
//! - [`Body`] is what the server says, to a room or to one client;
//!   [`encode_room_line`] and [`encode_raw_room_line`] write it for the
//!   line and raw protocols (with the room, for a reader whose current
//!   room is another), [`parse_line`] reads it back.
//! - [`Refusal`] is why the server refuses a request, as a value each wire
//!   protocol renders (the line protocol: `-!- error: TEXT`).
//! - [`TimestampFormat`] and [`StampCache`] format the leading `[stamp]`.

mod codec;
mod command;
mod message;
mod names;
mod refusal;
mod sanitize;
mod timestamp;

pub use codec::{Frame, LineDecoder, raw_message};
pub use command::{
    AccountCommand, Command, CommandError, HistoryQuery, Point, is_secret_command, parse_command,
};
pub use message::{
    Body, Line, Notice, ParseError, encode_line, encode_line_with_id, encode_raw,
    encode_raw_room_line, encode_room_line, parse_line, split_message_id,
};
pub use names::{
    MAX_NICK_LEN, MAX_ROOM_LEN, NameError, nick_key, room_key, room_key_of, validate_nick,
    validate_room,
};
pub use refusal::Refusal;
pub use sanitize::sanitize_text;
pub use timestamp::{ParsedStamp, StampCache, TimestampFormat, format_stamp, parse_stamp};
