//! A minimal HTTP/1.1 client for the server's `[metrics]` endpoints and web
//! listeners: one request per connection, the whole answer read until the
//! server closes.

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
    let mut bytes = Vec::new();
    stream
        .read_to_end(&mut bytes)
        .unwrap_or_else(|e| panic!("no whole answer to {what}: {e}"));
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        panic!("not an HTTP answer to {what}: {text:?}");
    };
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in the answer to {what}: {head:?}"));
    HttpReply {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}
