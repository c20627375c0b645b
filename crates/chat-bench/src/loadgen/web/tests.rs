//! The WebSocket layer against bytes made here: the upgrade's answer and
//! the first frames in one read or cut anywhere, 2-, 4- and 10-byte
//! lengths, a ping answered with a masked pong, a close, a refusal.

use std::net::{Ipv4Addr, SocketAddr};

use super::*;
use crate::dialect::Dialect;
use crate::loadgen::{Group, Role};
use crate::marker::{self, MARKER_LEN, Scanner};

fn answer() -> Vec<u8> {
    let accept = tungstenite::handshake::derive_accept_key(KEY);
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    )
    .into_bytes()
}

/// A server frame (unmasked) with `payload`.
fn frame(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    let header = FrameHeader {
        opcode,
        ..FrameHeader::default()
    };
    header
        .format(payload.len() as u64, &mut v)
        .unwrap_or_else(|e| panic!("{e}"));
    v.extend_from_slice(payload);
    v
}

/// A line as the server sends it, carrying the marker for `t`, `pad`
/// bytes longer than the usual 64-byte payload.
fn line(t: u64, pad: usize) -> Vec<u8> {
    let mut m = [0u8; MARKER_LEN];
    marker::encode(&mut m, t);
    let mut v = b"[12:00] <guest1> ".to_vec();
    v.extend_from_slice(&m);
    v.resize(v.len() + 46 + pad, b'x');
    v
}

struct Run {
    group: Group,
    ready: bool,
    scanner: Scanner,
    web: Web,
    out: Vec<u8>,
}

impl Run {
    fn new() -> Run {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 1));
        let mut group = Group::new(Dialect::OursWeb, addr).unwrap_or_else(|e| panic!("{e}"));
        group.window.from_ns = 0;
        Run {
            group,
            ready: false,
            scanner: Scanner::default(),
            web: Web::new(),
            out: Vec::new(),
        }
    }

    /// Feeds `stream` in the pieces `cuts` make.
    fn feed(&mut self, stream: &[u8], cuts: &[usize]) -> io::Result<Read> {
        let mut from = 0;
        let mut last = Read::Open;
        let mut awaiting_answer = false;
        for &c in cuts.iter().chain(std::iter::once(&stream.len())) {
            let mut inbox = Inbox {
                ready: &mut self.ready,
                awaiting_answer: &mut awaiting_answer,
                role: Role::Receiver,
                remote: false,
                joining: &mut None,
                scanner: &mut self.scanner,
                group: &mut self.group,
                now: u64::MAX >> 4,
            };
            last = self
                .web
                .receive(&stream[from..c], &mut inbox, &mut self.out)?;
            from = c;
        }
        Ok(last)
    }
}

#[test]
fn the_answer_and_frames_at_every_cut() {
    let mut stream = answer();
    // Lengths 81 (2-byte header), 300 (4-byte) and 70,000 (10-byte).
    for (t, pad) in [(1, 0), (2, 219), (3, 69_919)] {
        stream.extend(frame(OpCode::Data(Data::Text), &line(t, pad)));
    }
    stream.extend(frame(OpCode::Data(Data::Text), b""));
    let cuts: Vec<usize> = (0..stream.len()).step_by(7).chain([1, 2, 3]).collect();
    for &cut in &cuts {
        let mut run = Run::new();
        let read = run.feed(&stream, &[cut]);
        assert!(matches!(read, Ok(Read::Open)), "cut at {cut}: {read:?}");
        assert_eq!(run.group.window.delivered, 3, "cut at {cut}");
        assert!(run.ready);
        assert!(run.out.is_empty());
    }
    // One byte per read.
    let mut run = Run::new();
    let cuts: Vec<usize> = (1..stream.len()).collect();
    assert!(matches!(run.feed(&stream, &cuts), Ok(Read::Open)));
    assert_eq!(run.group.window.delivered, 3);
}

#[test]
fn a_frame_end_ends_the_line() {
    // A marker cut short by its message's end is no marker, even when the
    // next message would complete it.
    let mut stream = answer();
    stream.extend(frame(OpCode::Data(Data::Text), b"~00000000000"));
    stream.extend(frame(OpCode::Data(Data::Text), b"00001;"));
    let mut run = Run::new();
    assert!(matches!(run.feed(&stream, &[]), Ok(Read::Open)));
    assert_eq!(run.group.window.delivered, 0);
}

#[test]
fn a_ping_gets_a_masked_pong_and_a_close_closes() {
    let mut stream = answer();
    stream.extend(frame(OpCode::Control(Control::Ping), b"hi"));
    let mut run = Run::new();
    assert!(matches!(
        run.feed(&stream, &[stream.len() - 1]),
        Ok(Read::Open)
    ));
    let mut cursor = Cursor::new(&run.out[..]);
    let parsed = FrameHeader::parse(&mut cursor).unwrap_or_else(|e| panic!("{e}"));
    let Some((header, length)) = parsed else {
        panic!("no pong in {:?}", run.out)
    };
    assert_eq!(header.opcode, OpCode::Control(Control::Pong));
    assert_eq!((header.mask, length), (Some(MASK), 2));
    let at = cursor.position() as usize;
    let payload: Vec<u8> = run.out[at..]
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ MASK[i % 4])
        .collect();
    assert_eq!(payload, b"hi");
    let close = frame(OpCode::Control(Control::Close), &1001u16.to_be_bytes());
    assert!(matches!(run.feed(&close, &[1]), Ok(Read::Closed)));
}

#[test]
fn a_refusal_or_a_masked_frame_is_an_error() {
    let mut run = Run::new();
    let refused = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
    let err = run.feed(refused, &[10]).err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("upgrade refused: HTTP/1.1 403 Forbidden")
    );
    let mut run = Run::new();
    let mut stream = answer();
    text_frame(&[b'x'; 64], &mut run.out).unwrap_or_else(|e| panic!("{e}"));
    stream.extend_from_slice(&run.out);
    assert!(run.feed(&stream, &[]).is_err());
}

#[test]
fn a_text_frame_is_masked_once() {
    let mut wire = Vec::new();
    let payload = [b'y'; 64];
    text_frame(&payload, &mut wire).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        &wire[..6],
        &[0x81, 0x80 | 64, MASK[0], MASK[1], MASK[2], MASK[3]]
    );
    assert_eq!(wire.len(), 70);
    let unmasked: Vec<u8> = wire[6..]
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ MASK[i % 4])
        .collect();
    assert_eq!(unmasked, payload);
}
