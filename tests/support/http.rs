//! A minimal HTTP/1.1 client for the server's `[metrics]` endpoints and web
//! listeners: one request per connection, the answer read by its
//! `Content-Length` (a hook's or API answer may keep the connection open).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use crate::TIMEOUT;

/// One answer: the status code, the head as text, the body.
#[derive(Debug, Clone)]
pub struct HttpReply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

/// The value of the unlabelled sample `name` in a `/metrics` text; panics
/// (showing the text) if there is none.
pub fn metric_sample(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no sample {name} in\n{text}"))
}

/// `GET path` on `addr` (`Host` names `addr`, as a browser's would); panics
/// (naming the request) if it cannot be made or the answer is not HTTP.
pub fn http_get(addr: SocketAddr, path: &str) -> HttpReply {
    http_request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n"),
    )
}

/// Sends `request` as it is and reads the answer.
pub fn http_request(addr: SocketAddr, request: &str) -> HttpReply {
    let what = format!("{request:?} to {addr}");
    let mut stream =
        TcpStream::connect(addr).unwrap_or_else(|e| panic!("cannot connect for {what}: {e}"));
    stream
        .set_read_timeout(Some(TIMEOUT))
        .unwrap_or_else(|e| panic!("{e}"));
    stream
        .write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("cannot send {what}: {e}"));
    read_reply(&mut stream, &what)
}

/// Reads one answer from `stream`: its head, then as many body bytes as
/// its `Content-Length` says on a kept-alive connection, so that it is read
/// without waiting for a close, or to the close. `what` names the request in a panic.
pub fn read_reply(stream: &mut TcpStream, what: &str) -> HttpReply {
    let mut bytes = Vec::new();
    let mut byte = [0u8; 1];
    // Byte by byte up to the head's end: nothing of a next answer is taken.
    while !bytes.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => bytes.push(byte[0]),
            Err(e) => panic!("no whole answer to {what}: {e}"),
        }
    }
    let head = String::from_utf8_lossy(&bytes).into_owned();
    let Some(head) = head.strip_suffix("\r\n\r\n") else {
        panic!("not an HTTP answer to {what}: {head:?}");
    };
    let length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    });
    let closes = head.lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.eq_ignore_ascii_case("connection") && value.trim().eq_ignore_ascii_case("close")
        })
    });
    let mut body = Vec::new();
    match length {
        // A kept-alive answer is read by its length; one the server closes
        // after (a HEAD's announces a length it does not send) to its end.
        Some(length) if !closes => {
            body.resize(length, 0);
            stream
                .read_exact(&mut body)
                .unwrap_or_else(|e| panic!("no whole body in the answer to {what}: {e}"));
        }
        _ => {
            stream
                .read_to_end(&mut body)
                .unwrap_or_else(|e| panic!("no whole answer to {what}: {e}"));
        }
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in the answer to {what}: {head:?}"));
    HttpReply {
        status,
        head: head.to_owned(),
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}
