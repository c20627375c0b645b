//! WebSocket as a transport layer over real loopback sockets: the upgrade,
//! lines as text messages both ways (with frames sent right behind the
//! request), pings answered, a too-long message refused with 1009 while
//! another client is served, and the close codes of a close and a stop.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_net::http::{self, Head, HeadReader};
use chat_net::{Bytes, NetConfig};
use support::*;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// A server that upgrades every request and sends each line it gets to
/// every WebSocket client as `said: LINE`.
fn start() -> Server {
    let heads: Arc<Mutex<HashMap<chat_net::ConnId, HeadReader>>> = Arc::default();
    Server::start(
        NetConfig::default(),
        Behavior::on_recv(move |net, conns, conn, data| {
            if !net.is_websocket(conn) {
                let mut heads = heads.lock().unwrap();
                let reader = heads.entry(conn).or_default();
                if let Head::Request(request) = reader.feed(data) {
                    let key = http::websocket_key(&request).unwrap();
                    let response = http::websocket_accept(key, &[]);
                    let early = reader.take_rest();
                    net.accept_websocket(conn, response, 16, &early);
                }
                return;
            }
            let mut line = b"said: ".to_vec();
            line.extend_from_slice(data);
            let line = Bytes::from(line);
            for &other in conns {
                net.send(other, line.clone());
            }
        }),
    )
}

/// A masked client frame.
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [9, 8, 7, 6];
    assert!(payload.len() < 126);
    let mut out = vec![0x80 | opcode, 0x80 | payload.len() as u8];
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// Connects, upgrades (with `early` right behind the request) and reads
/// the 101 head.
fn client(server: &Server, early: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = format!(
        "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {KEY}\r\n\r\n"
    )
    .into_bytes();
    request.extend_from_slice(early);
    stream.write_all(&request).unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0];
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    stream
}

/// The next server frame: its opcode and payload (servers do not mask).
fn read_frame(stream: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0; 2];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(head[1] & 0x80, 0, "a server frame is never masked");
    let len = match head[1] & 0x7f {
        126 => {
            let mut ext = [0; 2];
            stream.read_exact(&mut ext).unwrap();
            u16::from_be_bytes(ext) as usize
        }
        127 => panic!("unexpectedly long frame"),
        n => n as usize,
    };
    let mut payload = vec![0; len];
    stream.read_exact(&mut payload).unwrap();
    (head[0], payload)
}

fn read_text(stream: &mut TcpStream) -> String {
    let (opcode, payload) = read_frame(stream);
    assert_eq!(opcode, 0x81, "a final text frame: {payload:?}");
    String::from_utf8(payload).unwrap()
}

/// The close frame's code, then EOF.
fn read_close(stream: &mut TcpStream) -> u16 {
    let (opcode, payload) = read_frame(stream);
    assert_eq!(opcode, 0x88, "a close frame: {payload:?}");
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "nothing after the close frame: {rest:?}");
    u16::from_be_bytes([payload[0], payload[1]])
}

#[test]
fn lines_go_both_ways_as_text_messages() {
    let server = start();
    // A frame sent right behind the request is decoded too.
    let mut alice = client(&server, &frame(1, b"early"));
    assert_eq!(read_text(&mut alice), "said: early");
    let mut bob = client(&server, &[]);
    bob.write_all(&frame(1, b"hi")).unwrap();
    assert_eq!(read_text(&mut alice), "said: hi");
    assert_eq!(read_text(&mut bob), "said: hi");
    // A ping is answered with its payload; lines keep flowing.
    bob.write_all(&frame(9, b"p!")).unwrap();
    assert_eq!(read_frame(&mut bob), (0x8a, b"p!".to_vec()));
    // A client's close is answered with 1000, then the connection ends.
    bob.write_all(&frame(8, &1000u16.to_be_bytes())).unwrap();
    assert_eq!(read_close(&mut bob), 1000);
    alice.write_all(&frame(1, b"still here")).unwrap();
    assert_eq!(read_text(&mut alice), "said: still here");
}

#[test]
fn a_message_over_the_limit_is_refused_with_1009_and_others_are_served() {
    let server = start();
    let mut big = client(&server, &[]);
    let mut other = client(&server, &[]);
    big.write_all(&frame(1, &[b'x'; 100])).unwrap();
    assert_eq!(read_close(&mut big), 1009);
    other.write_all(&frame(1, b"fine")).unwrap();
    assert_eq!(read_text(&mut other), "said: fine");
}

#[test]
fn binary_is_refused_with_1003() {
    let server = start();
    let mut stream = client(&server, &[]);
    stream.write_all(&frame(2, b"bin")).unwrap();
    assert_eq!(read_close(&mut stream), 1003);
}

#[test]
fn a_stop_says_going_away() {
    let server = start();
    let mut stream = client(&server, &[]);
    stream.write_all(&frame(1, b"x")).unwrap();
    assert_eq!(read_text(&mut stream), "said: x");
    server.run_on(|net, conns| {
        for &conn in conns {
            net.close_after_flush(conn);
        }
        net.stop_when_drained(Duration::from_secs(5));
    });
    assert_eq!(read_close(&mut stream), 1001);
}

#[test]
fn keepalive_pings_and_closes_the_silent() {
    let server = start();
    let mut stream = client(&server, &[]);
    let alive = server.query(|net, conns| {
        let conn = *conns.iter().next().unwrap();
        net.websocket_keepalive(conn, Duration::from_secs(60))
    });
    assert!(alive);
    assert_eq!(read_frame(&mut stream), (0x89, Vec::new()));
    let alive = server.query(|net, conns| {
        let conn = *conns.iter().next().unwrap();
        net.websocket_keepalive(conn, Duration::ZERO)
    });
    assert!(!alive);
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
}
