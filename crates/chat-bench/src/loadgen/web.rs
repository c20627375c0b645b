//! A generator client's WebSocket layer (chat-server's web listener): the
//! upgrade request it sends first, the wait for the `101` answer's blank
//! line, then the server's frames turned back into lines for the [`Inbox`],
//! and the masked text frame a sender writes per message.
//!
//! tungstenite does what is easy to get wrong, as it does in the server:
//! the accept key (SHA-1 and base64) and the frame headers, parsed with
//! [`FrameHeader::parse`] and written with [`FrameHeader::format`], both
//! over caller-owned bytes, so nothing is allocated per message. What is
//! left here is moving bytes: a header split across two reads is kept in a
//! 14-byte array, a payload is handed on in the pieces the reads cut it
//! into, and a frame's end ends the line for the marker scanner, as an LF
//! does over TCP. The masking XOR is written out because tungstenite keeps
//! its own private; it runs once per generation step, not per message.

use std::io::{self, Cursor};

use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use super::Inbox;

/// The request a client sends first. No `Origin` (a client that is not a
/// browser is let in without one); a fixed key, since the bench checks the
/// answer, not the key's randomness.
pub const UPGRADE: &[u8] = b"GET /ws HTTP/1.1\r\n\
Host: 127.0.0.1\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

/// The key in [`UPGRADE`].
const KEY: &[u8] = b"dGhlIHNhbXBsZSBub25jZQ==";

/// The mask of every frame the generator sends. A client must mask, and a
/// fixed mask is allowed for a measuring tool: the server unmasks every
/// byte whatever the key, so its work is the same as with random keys.
pub const MASK: [u8; 4] = [0x5a, 0xc3, 0x1e, 0x97];

/// The longest answer to the upgrade the bench waits for.
const MAX_RESPONSE: usize = 8 * 1024;

/// Longest frame header (2 bytes, 8 of length, 4 of mask).
const MAX_HEADER: usize = 14;

/// Longest payload of a control frame (RFC 6455, 5.5).
const MAX_CONTROL: usize = 125;

/// Writes `payload` as one masked text frame into `wire` (cleared first).
pub fn text_frame(payload: &[u8], wire: &mut Vec<u8>) -> io::Result<()> {
    wire.clear();
    masked_frame(OpCode::Data(Data::Text), payload, wire)
}

fn masked_frame(opcode: OpCode, payload: &[u8], wire: &mut Vec<u8>) -> io::Result<()> {
    let header = FrameHeader {
        opcode,
        mask: Some(MASK),
        ..FrameHeader::default()
    };
    header
        .format(payload.len() as u64, wire)
        .map_err(io::Error::other)?;
    let at = wire.len();
    wire.extend_from_slice(payload);
    for (i, b) in wire[at..].iter_mut().enumerate() {
        *b ^= MASK[i % 4];
    }
    Ok(())
}

/// What a client on a web listener knows of its WebSocket.
pub(super) struct Web {
    /// The answer to the upgrade so far; `None` once its blank line came.
    response: Option<Vec<u8>>,
    /// A frame header begun in an earlier read.
    head: [u8; MAX_HEADER],
    head_len: usize,
    /// Payload bytes of the current frame still to come (0: at a header).
    remaining: u64,
    /// The current frame's opcode and whether it ends its message.
    opcode: OpCode,
    is_final: bool,
    /// A ping's payload, gathered for the pong.
    control: [u8; MAX_CONTROL],
    control_len: usize,
}

/// What a read amounted to, beyond what it handed to the inbox.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Read {
    /// More to come.
    Open,
    /// The server closed the WebSocket (a close frame).
    Closed,
}

impl Web {
    pub(super) fn new() -> Web {
        Web {
            response: Some(Vec::with_capacity(256)),
            head: [0; MAX_HEADER],
            head_len: 0,
            remaining: 0,
            opcode: OpCode::Data(Data::Text),
            is_final: true,
            control: [0; MAX_CONTROL],
            control_len: 0,
        }
    }

    /// Bytes read from the socket: the upgrade's answer, then frames, whose
    /// text payloads go to `inbox` as lines. A ping's pong is queued on `out`.
    pub(super) fn receive(
        &mut self,
        mut data: &[u8],
        inbox: &mut Inbox<'_>,
        out: &mut Vec<u8>,
    ) -> io::Result<Read> {
        if let Some(response) = &mut self.response {
            match upgraded(response, data)? {
                None => return Ok(Read::Open),
                Some(used) => {
                    self.response = None;
                    data = &data[used..];
                }
            }
        }
        while !data.is_empty() {
            if self.remaining == 0 && !self.header(&mut data)? {
                break;
            }
            let n = data.len().min(self.remaining as usize);
            let (piece, rest) = data.split_at(n);
            data = rest;
            self.remaining -= n as u64;
            match self.opcode {
                OpCode::Data(_) => inbox.receive(piece),
                OpCode::Control(Control::Ping) => {
                    let at = self.control_len;
                    self.control[at..at + n].copy_from_slice(piece);
                    self.control_len += n;
                }
                OpCode::Control(_) => {}
            }
            if self.remaining == 0 && self.finish(inbox, out)? == Read::Closed {
                return Ok(Read::Closed);
            }
        }
        Ok(Read::Open)
    }

    /// Parses the next frame header from `data` (with what an earlier read
    /// left of it); `false` when it is not all there yet.
    fn header(&mut self, data: &mut &[u8]) -> io::Result<bool> {
        let before = self.head_len;
        let take = data.len().min(MAX_HEADER - before);
        self.head[before..before + take].copy_from_slice(&data[..take]);
        self.head_len += take;
        let mut cursor = Cursor::new(&self.head[..self.head_len]);
        match FrameHeader::parse(&mut cursor).map_err(io::Error::other)? {
            None => {
                *data = &data[take..];
                Ok(false)
            }
            Some((header, length)) => {
                let used = cursor.position() as usize - before;
                *data = &data[used..];
                self.head_len = 0;
                if header.mask.is_some() {
                    return Err(io::Error::other("a masked frame from the server"));
                }
                if matches!(header.opcode, OpCode::Control(_)) && length > MAX_CONTROL as u64 {
                    return Err(io::Error::other("a control frame over 125 bytes"));
                }
                self.opcode = header.opcode;
                self.is_final = header.is_final;
                self.remaining = length;
                self.control_len = 0;
                // An empty frame ends here: there is no payload to wait for.
                Ok(true)
            }
        }
    }

    /// A frame's last byte arrived (or it had none).
    fn finish(&mut self, inbox: &mut Inbox<'_>, out: &mut Vec<u8>) -> io::Result<Read> {
        match self.opcode {
            // The end of a message is the end of a line, as an LF is.
            OpCode::Data(_) if self.is_final => inbox.end_line(),
            OpCode::Data(_) => {}
            OpCode::Control(Control::Ping) => {
                let control = self.control;
                masked_frame(
                    OpCode::Control(Control::Pong),
                    &control[..self.control_len],
                    out,
                )?;
            }
            OpCode::Control(Control::Close) => return Ok(Read::Closed),
            OpCode::Control(_) => {}
        }
        Ok(Read::Open)
    }
}

/// Adds `data` to the answer so far; once its blank line is there, checks
/// it is a `101` with the right accept key and returns how many bytes of
/// `data` it took (the rest are frames).
fn upgraded(response: &mut Vec<u8>, data: &[u8]) -> io::Result<Option<usize>> {
    let had = response.len();
    response.extend_from_slice(data);
    // The blank line may straddle two reads: look from 3 bytes back.
    let from = had.saturating_sub(3);
    let Some(at) = memchr::memmem::find(&response[from..], b"\r\n\r\n") else {
        if response.len() > MAX_RESPONSE {
            return Err(io::Error::other("no end to the upgrade's answer"));
        }
        return Ok(None);
    };
    let end = from + at + 4;
    let head = &response[..end];
    if !head.starts_with(b"HTTP/1.1 101") {
        let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
        return Err(io::Error::other(format!(
            "upgrade refused: {}",
            String::from_utf8_lossy(line)
        )));
    }
    let accept = tungstenite::handshake::derive_accept_key(KEY);
    if memchr::memmem::find(head, accept.as_bytes()).is_none() {
        return Err(io::Error::other(
            "the upgrade's answer has a wrong accept key",
        ));
    }
    Ok(Some(end - had))
}

#[cfg(test)]
mod tests;
