//! chat-irc is the IRC client protocol as a pure library: the wire format
//! (RFC 1459/2812 as modern.ircdocs.horse describes them, with IRCv3 message
//! tags), the numeric replies, the IRCv3 capabilities and the registration
//! state machine. The hub's IRC listener is built on it.
//!
//! **Architecture invariant:** chat-irc does no I/O and reads no clock. It
//! never touches a socket, a file, a thread or the time of day: lines and
//! values go in, bytes (appended to a caller's `BytesMut`) and values come
//! out. It depends on `bytes`, `base64` (SASL payloads) and chat-proto (the vocabulary it renders); `tests/tidy.rs` keeps it free of
//! I/O crates, as it does chat-proto and chat-hub.
//!
//! **Invariant:** nothing it writes can split into two lines. Every writer
//! drops CR, LF and NUL from the values it is given (tag values escape CR
//! and LF instead), and the parser refuses a line that holds one, so a
//! parsed parameter echoed back is safe too.
//!
//! The modules, one concern each:
//!
//! - [`message`]: [`Message`], [`parse`] / [`parse_bytes`] (borrowed,
//!   allocation-free, with the 8191 + 512 byte limits and
//!   [`ParseError::InputTooLong`] for 417), and [`write()`] into a `BytesMut`.
//! - [`numeric`]: every numeric reply the server sends, one table, each a
//!   [`Numeric`] with its standard text; [`StandardReply`] for
//!   `FAIL`/`WARN`/`NOTE`.
//! - [`caps`]: the capability registry ([`Cap`]), the [`Caps`] set, what
//!   the server [`Offer`]s, and [`handle_cap`] for `CAP LS/LIST/REQ/END`.
//! - [`registration`]: [`Registration`], the state machine of a connection
//!   before it registers (`CAP`, `PASS`, `NICK`, `USER`, `PING`, `QUIT`).
//! - [`sasl`]: [`Sasl`], one connection's `AUTHENTICATE PLAIN` exchange,
//!   handing out [`PlainCredentials`] for the caller to check.
//! - [`isupport`]: the `005 RPL_ISUPPORT` lines from an [`Isupport`] value.
//! - [`render`]: what the chat says (a `chat_proto::Body`) as IRC lines:
//!   the IRC encoder beside chat-proto's line and raw ones.
//!
//! Lengths: a parsed line is bounded by the limits above; a line written is
//! not checked against them, since only the caller knows how to split its
//! text (a long `PRIVMSG`) or its lists (`NAMES`).

pub mod caps;
pub mod isupport;
pub mod message;
pub mod numeric;
pub mod registration;
pub mod render;
pub mod sasl;

pub use caps::{Cap, CapOutcome, CapState, Caps, Offer, handle_cap};
pub use isupport::Isupport;
pub use message::{
    MAX_LINE_BYTES, MAX_PARAMS, MAX_TAGS_BYTES, Message, Params, ParseError, Tags, WriteError,
    parse, parse_bytes, write, write_lines_with_tag, write_text, write_with_tag,
};
pub use numeric::{Numeric, StandardReply, StandardReplyKind};
pub use registration::{NickRefusal, Progress, Registered, Registration, Server};
pub use sasl::{PlainCredentials, Sasl, SaslStep};
