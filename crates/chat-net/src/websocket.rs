//! WebSocket (RFC 6455) as a layer of the transport: after a handler has
//! accepted an upgrade ([`Net::accept_websocket`](crate::Net::accept_websocket)),
//! the reactor turns each text message a client sends into one line (the
//! message and an LF) for [`Handler::received`](crate::Handler::received),
//! and each LF-ended line a handler sends into one text frame. The handler
//! sees lines, as it does over TCP; it never sees a frame. A message is one
//! line whatever it holds: a CR or LF inside it becomes a space, since the
//! handler would take either for the end of a line, and one message could
//! otherwise carry several commands.
//!
//! tungstenite does the protocol's parts that are easy to get wrong: it
//! parses and formats frame headers ([`FrameHeader`]) and derives the
//! handshake's accept key (SHA-1 and base64); this file only moves bytes
//! between them without blocking, and keeps every buffer bounded:
//!
//! - a frame or message longer than the handler's limit is refused with
//!   close code 1009 as soon as its header says so, before its payload is
//!   buffered;
//! - what is buffered is at most one frame (a header and up to the limit)
//!   plus one message being assembled from fragments, and both give their
//!   memory back when empty, so an idle WebSocket holds no buffer;
//! - a message sent to many clients is not copied per client: `Framer`
//!   copies it once, each line behind its frame header (from a table
//!   shared by all), into an arena grown in 64 KiB blocks, and every
//!   recipient's queue gets the same refcounted slice of that copy: one
//!   slice of its `writev`, as over TCP.

use std::io::Cursor;
use std::sync::OnceLock;
use std::time::Instant;

use bytes::Bytes;
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};

/// Close code: the purpose is fulfilled (a kick, a `/quit`, an answer to
/// the client's own close).
pub const NORMAL: u16 = 1000;
/// Close code: the server is going away (shutdown).
pub const GOING_AWAY: u16 = 1001;
/// Close code: the peer broke the protocol (an unmasked frame, reserved
/// bits, a bad continuation).
pub const PROTOCOL_ERROR: u16 = 1002;
/// Close code: a kind of data not accepted (binary frames: lines are text).
pub const UNSUPPORTED_DATA: u16 = 1003;
/// Close code: a text message that is not UTF-8.
pub const INVALID_PAYLOAD: u16 = 1007;
/// Close code: a message larger than the limit.
pub const TOO_BIG: u16 = 1009;

/// Longest payload a control frame may carry (RFC 6455, 5.5).
const MAX_CONTROL_PAYLOAD: u64 = 125;

/// Frame headers for payloads shorter than this come from a shared table;
/// longer lines (rare: a line is at most `max_line_bytes` and a stamp)
/// get a header of their own.
const HEADER_TABLE_LENGTHS: usize = 16 * 1024;

/// A buffer larger than this is given back once empty rather than kept.
const KEEP_CAPACITY: usize = 4 * 1024;

/// What [`Decoder::next_event`] found in a client's bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A whole text message as a line: its bytes followed by one LF.
    Line(&'a [u8]),
    /// A ping; the answer is a pong with the same payload.
    Ping(&'a [u8]),
    /// A pong (an answer to our keepalive ping).
    Pong,
    /// The client closes, with its code if it gave one. Nothing more is
    /// decoded.
    Close(Option<u16>),
    /// The client broke a rule: close with this code. Nothing more is
    /// decoded.
    Refuse(u16),
}

/// Client frames in, lines out: a sans-I/O decoder, one per connection.
#[derive(Debug)]
pub struct Decoder {
    /// The longest message taken, in bytes (the LF added after it not
    /// counted).
    max_message: usize,
    /// Bytes received and not yet decoded, from `start` on.
    input: Vec<u8>,
    start: usize,
    /// The text message being assembled (fragments, or one whole frame).
    message: Vec<u8>,
    /// A fragmented text message is open: only continuations may follow.
    fragmented: bool,
    /// `message` was handed out as a line: clear it before going on.
    delivered: bool,
    /// A close or a refusal was returned: the rest is ignored.
    finished: bool,
}

impl Decoder {
    /// A decoder taking messages of at most `max_message` bytes.
    pub fn new(max_message: usize) -> Decoder {
        Decoder {
            max_message,
            input: Vec::new(),
            start: 0,
            message: Vec::new(),
            fragmented: false,
            delivered: false,
            finished: false,
        }
    }

    /// Adds received bytes; [`Decoder::next_event`] decodes them. Call `next_event`
    /// until it returns `None` before pushing more, so that at most one
    /// unfinished frame stays buffered.
    pub fn push(&mut self, data: &[u8]) {
        if !self.finished {
            self.input.extend_from_slice(data);
        }
    }

    /// Bytes pushed and not yet decoded.
    pub fn has_input(&self) -> bool {
        !self.finished && self.start < self.input.len()
    }

    /// Bytes held (undecoded input and an unfinished message): what a peer
    /// makes this connection keep.
    pub fn buffered(&self) -> usize {
        self.input.len() - self.start + self.message.len()
    }

    /// The next event in what was pushed, or `None` until more arrives.
    pub fn next_event(&mut self) -> Option<Event<'_>> {
        if self.delivered {
            self.delivered = false;
            self.message.clear();
            if self.message.capacity() > KEEP_CAPACITY {
                self.message = Vec::new();
            }
        }
        // A loop, not recursion: a message may come in any number of fragments.
        loop {
            if self.finished {
                return None;
            }
            let mut cursor = Cursor::new(&self.input[self.start..]);
            let (header, length) = match FrameHeader::parse(&mut cursor) {
                Ok(Some(parsed)) => parsed,
                Ok(None) => {
                    self.compact();
                    return None;
                }
                Err(_) => return Some(self.refuse(PROTOCOL_ERROR)),
            };
            let head_len = cursor.position() as usize;
            if let Err(code) = self.check(&header, length) {
                return Some(self.refuse(code));
            }
            // `check` bounded it by `max_message` (or 125), so it fits.
            let length = length as usize;
            let begin = self.start + head_len;
            if self.input.len() - begin < length {
                self.compact();
                return None;
            }
            let end = begin + length;
            self.start = end;
            if let Some(mask) = header.mask {
                unmask(&mut self.input[begin..end], mask);
            }
            match header.opcode {
                OpCode::Data(_) => {
                    self.message.extend_from_slice(&self.input[begin..end]);
                    self.fragmented = !header.is_final;
                    if self.fragmented {
                        continue;
                    }
                    if std::str::from_utf8(&self.message).is_err() {
                        return Some(self.refuse(INVALID_PAYLOAD));
                    }
                    one_line(&mut self.message);
                    self.message.push(b'\n');
                    self.delivered = true;
                    return Some(Event::Line(&self.message));
                }
                OpCode::Control(Control::Ping) => {
                    return Some(Event::Ping(&self.input[begin..end]));
                }
                OpCode::Control(Control::Pong) => return Some(Event::Pong),
                OpCode::Control(_) => {
                    self.finished = true;
                    let payload = &self.input[begin..end];
                    let code = payload
                        .get(..2)
                        .map(|code| u16::from_be_bytes([code[0], code[1]]));
                    return Some(Event::Close(code));
                }
            }
        }
    }

    /// What the rules say of a frame, from its header alone (so a frame
    /// too long is refused before its payload is read).
    fn check(&self, header: &FrameHeader, length: u64) -> Result<(), u16> {
        if header.rsv1 || header.rsv2 || header.rsv3 || header.mask.is_none() {
            // No extension was negotiated; clients must mask (5.1).
            return Err(PROTOCOL_ERROR);
        }
        match header.opcode {
            OpCode::Control(Control::Reserved(_)) | OpCode::Data(Data::Reserved(_)) => {
                Err(PROTOCOL_ERROR)
            }
            OpCode::Control(_) if !header.is_final || length > MAX_CONTROL_PAYLOAD => {
                Err(PROTOCOL_ERROR)
            }
            OpCode::Control(_) => Ok(()),
            OpCode::Data(Data::Binary) => Err(UNSUPPORTED_DATA),
            OpCode::Data(Data::Text) if self.fragmented => Err(PROTOCOL_ERROR),
            OpCode::Data(Data::Continue) if !self.fragmented => Err(PROTOCOL_ERROR),
            OpCode::Data(_) => {
                let total = (self.message.len() as u64).saturating_add(length);
                if total > self.max_message as u64 {
                    Err(TOO_BIG)
                } else {
                    Ok(())
                }
            }
        }
    }

    fn refuse(&mut self, code: u16) -> Event<'static> {
        self.finished = true;
        self.input = Vec::new();
        self.start = 0;
        self.message = Vec::new();
        Event::Refuse(code)
    }

    /// Drops what was decoded; gives a large emptied buffer back.
    fn compact(&mut self) {
        if self.start == self.input.len() {
            self.input.clear();
            if self.input.capacity() > KEEP_CAPACITY {
                self.input = Vec::new();
            }
        } else {
            self.input.drain(..self.start);
        }
        self.start = 0;
    }
}

/// Makes `message` one line: each CR and LF becomes a space (ASCII for
/// ASCII, so the text stays UTF-8).
fn one_line(message: &mut [u8]) {
    let mut from = 0;
    while let Some(at) = memchr::memchr2(b'\n', b'\r', &message[from..]) {
        message[from + at] = b' ';
        from += at + 1;
    }
}

/// Undoes the client's masking (RFC 6455, 5.3: byte `i` XOR `mask[i % 4]`).
fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    for (i, byte) in payload.iter_mut().enumerate() {
        *byte ^= mask[i % 4];
    }
}

/// The header of a final, unmasked text frame of `length` bytes: a slice
/// of a shared table for lines of usual length (no allocation), its own
/// buffer beyond.
pub fn text_header(length: usize) -> Bytes {
    static TABLE: OnceLock<Box<[u8]>> = OnceLock::new();
    if length < HEADER_TABLE_LENGTHS {
        // Each entry is 4 bytes: 2 used below 126, 4 from 126 on.
        let table = TABLE.get_or_init(|| {
            let mut table = Vec::with_capacity(HEADER_TABLE_LENGTHS * 4);
            for length in 0..HEADER_TABLE_LENGTHS {
                let mut header = format_header(OpCode::Data(Data::Text), length as u64);
                header.resize(4, 0);
                table.extend_from_slice(&header);
            }
            table.into_boxed_slice()
        });
        let used = if length < 126 { 2 } else { 4 };
        return Bytes::from_static(&table[length * 4..length * 4 + used]);
    }
    Bytes::from(format_header(OpCode::Data(Data::Text), length as u64))
}

fn format_header(opcode: OpCode, length: u64) -> Vec<u8> {
    let header = FrameHeader {
        opcode,
        ..FrameHeader::default()
    };
    let mut out = Vec::with_capacity(header.len(length));
    // Writing into a Vec cannot fail.
    let _ = header.format(length, &mut out);
    out
}

fn control_frame(control: Control, payload: &[u8]) -> Bytes {
    let mut frame = format_header(OpCode::Control(control), payload.len() as u64);
    frame.extend_from_slice(payload);
    Bytes::from(frame)
}

/// A close frame with `code` and no reason.
pub fn close_frame(code: u16) -> Bytes {
    control_frame(Control::Close, &code.to_be_bytes())
}

/// A ping with an empty payload (keepalive).
pub fn ping_frame() -> Bytes {
    control_frame(Control::Ping, &[])
}

/// The answer to a ping carrying `payload` (at most 125 bytes: the
/// decoder refuses longer).
pub fn pong_frame(payload: &[u8]) -> Bytes {
    control_frame(Control::Pong, payload)
}

/// `Sec-WebSocket-Accept` for a request's `Sec-WebSocket-Key`.
pub fn accept_key(key: &[u8]) -> String {
    tungstenite::handshake::derive_accept_key(key)
}

/// A connection's WebSocket state, kept beside its queue.
pub(crate) struct WebSocket {
    /// Taken out while its events are handed to the handler.
    pub(crate) decoder: Option<Box<Decoder>>,
    /// The code the close frame will carry.
    pub(crate) close_code: u16,
    /// The close frame is queued: nothing follows it.
    pub(crate) close_sent: bool,
    /// When the client last sent anything (a pong counts), for keepalive.
    pub(crate) last_input: Instant,
}

impl WebSocket {
    pub(crate) fn new(max_message: usize, now: Instant) -> WebSocket {
        WebSocket {
            decoder: Some(Box::new(Decoder::new(max_message))),
            close_code: NORMAL,
            close_sent: false,
            last_input: now,
        }
    }
}

/// Frames written between two allocations of a [`Framer`]'s arena.
const FRAMER_BLOCK: usize = 64 * 1024;

/// Frames each message once for every WebSocket it goes to: a line sent
/// to a room is one `Bytes` handed to each recipient in turn, so the frames
/// made for the first are shared by the rest. The message is copied once,
/// each line behind its header, into an arena, and every recipient's queue
/// gets the same refcounted slice: one slice per recipient, as over TCP,
/// where a header and a payload slice each would double the queue entries
/// and the `writev` slices. The arena grows in [`FRAMER_BLOCK`]s, so
/// framing a message allocates nothing of its own. Only the last message
/// is remembered: one sent to several recipients in a row is framed once.
#[derive(Debug, Default)]
pub(crate) struct Framer {
    arena: bytes::BytesMut,
    /// The last message framed, and its frames. Holding the message keeps
    /// its memory from being reused, so an equal pointer and length are
    /// the same message.
    last: Option<(Bytes, Bytes)>,
}

impl Framer {
    /// Each LF- or CRLF-ended line of `msg` (and a last one without an
    /// end) as a text frame, all in one buffer.
    pub(crate) fn frame(&mut self, msg: &Bytes) -> Bytes {
        if let Some((message, frames)) = &self.last
            && message.as_ptr() == msg.as_ptr()
            && message.len() == msg.len()
        {
            return frames.clone();
        }
        let mut at = 0;
        while at < msg.len() {
            let end = memchr::memchr(b'\n', &msg[at..]).map_or(msg.len(), |i| at + i);
            // A CRLF-ended line (IRC's) loses its CR too: a message is the
            // line alone.
            let line_end = if end > at && msg[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            let header = text_header(line_end - at);
            let need = header.len() + line_end - at;
            if self.arena.capacity() - self.arena.len() < need {
                self.arena.reserve(FRAMER_BLOCK.max(need));
            }
            self.arena.extend_from_slice(&header);
            self.arena.extend_from_slice(&msg[at..line_end]);
            at = end + 1;
        }
        let frames = self.arena.split().freeze();
        self.last = Some((msg.clone(), frames.clone()));
        frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame.
    fn frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mask = [1, 2, 3, 4];
        let mut out = vec![opcode | if fin { 0x80 } else { 0 }];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n < 65536 => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    fn events(decoder: &mut Decoder) -> Vec<String> {
        let mut seen = Vec::new();
        while let Some(event) = decoder.next_event() {
            seen.push(match event {
                Event::Line(line) => format!("line {}", String::from_utf8_lossy(line)),
                other => format!("{other:?}"),
            });
        }
        seen
    }

    #[test]
    fn messages_split_anywhere_become_lines() {
        let mut bytes = frame(1, true, b"hello");
        bytes.extend(frame(1, false, b"wor"));
        bytes.extend(frame(9, true, b"p"));
        bytes.extend(frame(0, true, b"ld"));
        bytes.extend(frame(8, true, &1000u16.to_be_bytes()));
        for cut in 0..bytes.len() {
            let mut decoder = Decoder::new(100);
            decoder.push(&bytes[..cut]);
            let mut seen = events(&mut decoder);
            decoder.push(&bytes[cut..]);
            seen.extend(events(&mut decoder));
            assert_eq!(
                seen,
                [
                    "line hello\n",
                    "Ping([112])",
                    "line world\n",
                    "Close(Some(1000))"
                ],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_message_with_line_breaks_is_still_one_line() {
        let mut decoder = Decoder::new(100);
        decoder.push(&frame(1, true, b"line one\n/nick injected\r\nline three\r"));
        decoder.push(&frame(1, false, b"a\r"));
        decoder.push(&frame(0, true, b"\nb"));
        assert_eq!(
            events(&mut decoder),
            ["line line one /nick injected  line three \n", "line a  b\n"]
        );
    }

    #[test]
    fn too_long_is_refused_from_the_header_alone() {
        let mut decoder = Decoder::new(10);
        let whole = frame(1, true, &[b'a'; 1000]);
        // Only the header has arrived: refused already, nothing kept.
        decoder.push(&whole[..8]);
        assert_eq!(decoder.next_event(), Some(Event::Refuse(TOO_BIG)));
        decoder.push(&whole[8..]);
        assert_eq!(decoder.buffered(), 0);
        assert_eq!(decoder.next_event(), None);
        // Fragments that add up past the limit too.
        let mut decoder = Decoder::new(10);
        decoder.push(&frame(1, false, b"123456"));
        decoder.push(&frame(0, true, b"123456"));
        assert_eq!(events(&mut decoder), ["Refuse(1009)"]);
        let mut decoder = Decoder::new(10);
        decoder.push(&frame(1, true, b"1234567890"));
        assert_eq!(events(&mut decoder), ["line 1234567890\n"]);
    }

    #[test]
    fn rule_breakers_are_refused_with_their_codes() {
        let cases: [(Vec<u8>, &str); 6] = [
            (frame(2, true, b"bin"), "Refuse(1003)"),
            (frame(1, true, b"\xff\xfe"), "Refuse(1007)"),
            (frame(0, true, b"lost"), "Refuse(1002)"),
            (frame(9, false, b"p"), "Refuse(1002)"),
            (frame(3, true, b""), "Refuse(1002)"),
            (b"\x81\x05hello".to_vec(), "Refuse(1002)"),
        ];
        for (bytes, expected) in cases {
            let mut decoder = Decoder::new(100);
            decoder.push(&bytes);
            assert_eq!(events(&mut decoder), [expected], "{bytes:?}");
        }
    }

    #[test]
    fn a_message_is_framed_once_for_every_recipient() {
        let mut framer = Framer::default();
        let msg = Bytes::from_static(b"one\ntwo words\n");
        let frames = framer.frame(&msg);
        assert_eq!(&frames[..], b"\x81\x03one\x81\x09two words");
        // The next recipient of the same message shares the frames.
        assert_eq!(framer.frame(&msg.clone()).as_ptr(), frames.as_ptr());
        // Another message, even an equal one elsewhere, is framed anew.
        let other = Bytes::copy_from_slice(b"one\ntwo words\n");
        let again = framer.frame(&other);
        assert_eq!(again, frames);
        assert_ne!(again.as_ptr(), frames.as_ptr());
        assert_eq!(
            &framer.frame(&Bytes::from_static(b"no lf"))[..],
            b"\x81\x05no lf"
        );
        let long = vec![b'x'; 300];
        assert_eq!(&text_header(300)[..], &[0x81, 126, 1, 44]);
        assert_eq!(text_header(70_000).len(), 10);
        assert_eq!(long.len(), 300);
        assert_eq!(&close_frame(TOO_BIG)[..], &[0x88, 2, 0x03, 0xf1]);
    }

    #[test]
    fn the_accept_key_is_the_rfc_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
