//! The small HTTP/1.1 layer for listeners that speak HTTP on the reactor:
//! the metrics and health endpoints, and the web listener's page and its
//! WebSocket upgrade ([`websocket_key`], [`websocket_accept`]).
//!
//! It is sans-I/O like the rest of a handler's work: a [`HeadReader`] per
//! connection gathers the bytes [`Handler::received`](crate::Handler::received)
//! hands over until a whole request head is there, [`httparse`] reads it (we
//! do not hand-parse HTTP), and [`response`] writes the answer as one
//! [`Bytes`] for [`Net::send`](crate::Net::send). No second HTTP stack, no
//! thread: the handler decides per listener which connections are HTTP.
//!
//! Bounded on purpose: a head over [`MAX_HEAD_BYTES`] or with more than
//! [`MAX_HEADERS`] headers is refused (431) rather than buffered. Bytes after
//! the head (a body, or WebSocket frames after an upgrade) stay in the reader
//! for [`HeadReader::take_rest`].

use bytes::{BufMut, Bytes, BytesMut};

/// The longest request head accepted, in bytes.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;

/// The most headers one request may carry.
pub const MAX_HEADERS: usize = 32;

/// A response status: its code and reason phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u16, pub &'static str);

impl Status {
    pub const OK: Status = Status(200, "OK");
    pub const SWITCHING_PROTOCOLS: Status = Status(101, "Switching Protocols");
    pub const BAD_REQUEST: Status = Status(400, "Bad Request");
    pub const UNAUTHORIZED: Status = Status(401, "Unauthorized");
    pub const FORBIDDEN: Status = Status(403, "Forbidden");
    pub const NOT_FOUND: Status = Status(404, "Not Found");
    pub const METHOD_NOT_ALLOWED: Status = Status(405, "Method Not Allowed");
    pub const LENGTH_REQUIRED: Status = Status(411, "Length Required");
    pub const PAYLOAD_TOO_LARGE: Status = Status(413, "Payload Too Large");
    pub const UNSUPPORTED_MEDIA_TYPE: Status = Status(415, "Unsupported Media Type");
    pub const MISDIRECTED_REQUEST: Status = Status(421, "Misdirected Request");
    pub const UPGRADE_REQUIRED: Status = Status(426, "Upgrade Required");
    pub const TOO_MANY_REQUESTS: Status = Status(429, "Too Many Requests");
    pub const HEADERS_TOO_LARGE: Status = Status(431, "Request Header Fields Too Large");
    pub const SERVICE_UNAVAILABLE: Status = Status(503, "Service Unavailable");
    pub const VERSION_NOT_SUPPORTED: Status = Status(505, "HTTP Version Not Supported");
}

/// One request head, owned (the read buffer it came from is reused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `HEAD`, …, as sent.
    pub method: String,
    /// The request target with its query: `/metrics`, `/health?x=1`.
    pub target: String,
    /// Header names as sent, values as bytes (they need not be UTF-8).
    pub headers: Vec<(String, Vec<u8>)>,
    /// The minor version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub minor_version: u8,
}

impl Request {
    /// Whether the client asks to keep the connection open after the answer:
    /// HTTP/1.1 does unless it sends `Connection: close`; HTTP/1.0 only with
    /// `Connection: keep-alive`.
    pub fn wants_keep_alive(&self) -> bool {
        match self.minor_version {
            0 => self.header_has_token("connection", "keep-alive"),
            _ => !self.header_has_token("connection", "close"),
        }
    }

    /// The target without its query string.
    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(self.target.as_str(), |(path, _)| path)
    }

    /// Whether header `name` lists `token` (comma-separated,
    /// case-insensitive): `Connection: keep-alive, Upgrade` lists `upgrade`.
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(have, _)| have.eq_ignore_ascii_case(name))
            .flat_map(|(_, value)| value.split(|&b| b == b','))
            .any(|item| item.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    }

    /// The first header called `name` (case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(have, _)| have.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_slice())
    }
}

/// What [`HeadReader::feed`] found so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    /// Not a whole head yet: feed more.
    Partial,
    /// A whole, well-formed head.
    Request(Request),
    /// Not HTTP we take: answer with this status and close.
    Refused(Status),
}

/// Gathers one connection's bytes until a request head is complete.
#[derive(Debug, Default)]
pub struct HeadReader {
    buffer: Vec<u8>,
    /// Length of the head, once parsed; bytes past it are the rest.
    head_len: Option<usize>,
}

impl HeadReader {
    pub fn new() -> HeadReader {
        HeadReader::default()
    }

    /// Adds `data` and tries to read the head. Once a [`Head::Request`] or
    /// [`Head::Refused`] has been returned, further bytes are only kept (for
    /// [`HeadReader::take_rest`]) and the same answer is not given again:
    /// [`Head::Partial`] is returned.
    pub fn feed(&mut self, data: &[u8]) -> Head {
        if self.head_len.is_some() {
            // A body or frames after the head: kept, within the same bound.
            let room = MAX_HEAD_BYTES.saturating_sub(self.buffer.len());
            self.buffer.extend_from_slice(&data[..data.len().min(room)]);
            return Head::Partial;
        }
        let room = MAX_HEAD_BYTES.saturating_sub(self.buffer.len());
        let over = data.len() > room;
        let taken = data.len().min(room);
        self.buffer.extend_from_slice(&data[..taken]);
        match parse_head(&self.buffer) {
            Ok(Some((request, len))) => {
                self.head_len = Some(len);
                // The start of a body may come in the same read as the head:
                // it is kept whole (one read is bounded by the reactor's
                // buffer), for a [`BodyReader`] to take over.
                self.buffer.extend_from_slice(&data[taken..]);
                Head::Request(request)
            }
            Ok(None) if over || self.buffer.len() >= MAX_HEAD_BYTES => {
                self.head_len = Some(self.buffer.len());
                Head::Refused(Status::HEADERS_TOO_LARGE)
            }
            Ok(None) => Head::Partial,
            Err(status) => {
                self.head_len = Some(self.buffer.len());
                Head::Refused(status)
            }
        }
    }

    /// The bytes received after the head (empty before it is complete).
    pub fn take_rest(&mut self) -> Vec<u8> {
        match self.head_len {
            Some(len) if len < self.buffer.len() => self.buffer.split_off(len),
            _ => Vec::new(),
        }
    }
}

/// How many body bytes `request` announces, or the status to refuse it
/// with, decided from the head alone so a body too big is never read: a
/// `Transfer-Encoding` (chunked) is refused with 411 (a length is
/// required), a `Content-Length` that is missing (on a `POST` or `PUT`),
/// repeated with another value or not a number with 411 or 400, and one
/// over `max` with 413.
pub fn body_length(request: &Request, max: usize) -> Result<usize, Status> {
    if request.header("transfer-encoding").is_some() {
        return Err(Status::LENGTH_REQUIRED);
    }
    let mut lengths = request
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map(|(_, value)| {
            std::str::from_utf8(value)
                .ok()
                .filter(|text| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
                // Digits too many for a u64 are a length too large, not garbage.
                .map(|text| text.parse::<u64>().unwrap_or(u64::MAX))
        });
    let Some(first) = lengths.next() else {
        return match request.method.as_str() {
            "POST" | "PUT" | "PATCH" => Err(Status::LENGTH_REQUIRED),
            _ => Ok(0),
        };
    };
    let Some(length) = first else {
        return Err(Status::BAD_REQUEST);
    };
    if lengths.any(|other| other != Some(length)) {
        return Err(Status::BAD_REQUEST);
    }
    match usize::try_from(length) {
        Ok(length) if length <= max => Ok(length),
        _ => Err(Status::PAYLOAD_TOO_LARGE),
    }
}

/// Gathers a request body of a length known from its head
/// ([`body_length`]), already checked against the bound: it never holds
/// more than that length, and bytes past it (a pipelined request we do not
/// serve) are dropped.
#[derive(Debug)]
pub struct BodyReader {
    wanted: usize,
    bytes: Vec<u8>,
    /// Bytes came past the body: a pipelined request, which a kept-alive
    /// connection refuses by closing after this answer.
    overflowed: bool,
}

impl BodyReader {
    /// A body of `wanted` bytes, starting with `early` (what came with the
    /// head, [`HeadReader::take_rest`]).
    pub fn new(wanted: usize, early: &[u8]) -> BodyReader {
        // Grown as bytes come, not reserved from the header: a head that
        // announces a body it never sends costs no memory.
        let mut reader = BodyReader {
            wanted,
            bytes: Vec::with_capacity(wanted.min(MAX_HEAD_BYTES)),
            overflowed: false,
        };
        reader.feed(early);
        reader
    }

    /// Adds `data`; true once the whole body is here.
    pub fn feed(&mut self, data: &[u8]) -> bool {
        let room = self.wanted - self.bytes.len();
        self.overflowed |= data.len() > room;
        self.bytes.extend_from_slice(&data[..data.len().min(room)]);
        self.is_whole()
    }

    pub fn is_whole(&self) -> bool {
        self.bytes.len() == self.wanted
    }

    /// Whether bytes came past the body (dropped; see the struct).
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// The body (whole once [`BodyReader::feed`] said so).
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }
}

/// Parses a request head from the start of `bytes`: `Ok(None)` while it is
/// incomplete, the request and the head's length once it is whole, the
/// status to refuse with if it is not HTTP/1.x we take.
pub fn parse_head(bytes: &[u8]) -> Result<Option<(Request, usize)>, Status> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let len = match request.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Status::HEADERS_TOO_LARGE),
        Err(httparse::Error::Version) => return Err(Status::VERSION_NOT_SUPPORTED),
        Err(_) => return Err(Status::BAD_REQUEST),
    };
    // Complete means httparse filled these three.
    let (Some(method), Some(target), Some(minor_version)) =
        (request.method, request.path, request.version)
    else {
        return Err(Status::BAD_REQUEST);
    };
    let headers = request
        .headers
        .iter()
        .map(|header| (header.name.to_owned(), header.value.to_vec()))
        .collect();
    let request = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        headers,
        minor_version,
    };
    Ok(Some((request, len)))
}

/// The `Sec-WebSocket-Key` of a WebSocket upgrade request (RFC 6455,
/// 4.2.1), or why it is not one: 400 for a malformed one, 426 for a
/// version other than 13 (answer with [`websocket_version_required`]).
pub fn websocket_key(request: &Request) -> Result<&[u8], Status> {
    if request.method != "GET"
        || !request.header_has_token("upgrade", "websocket")
        || !request.header_has_token("connection", "upgrade")
    {
        return Err(Status::BAD_REQUEST);
    }
    if request.header("sec-websocket-version") != Some(b"13") {
        return Err(Status::UPGRADE_REQUIRED);
    }
    match request.header("sec-websocket-key") {
        // 16 random bytes in base64 are 24 characters.
        Some(key) if key.len() == 24 => Ok(key),
        _ => Err(Status::BAD_REQUEST),
    }
}

/// The answer to a WebSocket request of another version than 13, with
/// `headers` added (the same security headers as every other answer).
pub fn websocket_version_required(headers: &[(&str, &str)]) -> Bytes {
    let mut all = Vec::with_capacity(headers.len() + 1);
    all.push(("Sec-WebSocket-Version", "13"));
    all.extend_from_slice(headers);
    response_with_headers(
        Status::UPGRADE_REQUIRED,
        "text/plain; charset=utf-8",
        &all,
        b"426 Upgrade Required: WebSocket version 13 only\n",
        None,
    )
}

/// `101 Switching Protocols` for an upgrade with `key` (from
/// [`websocket_key`]), with `headers` added (security headers, say). Hand
/// it to [`Net::accept_websocket`](crate::Net::accept_websocket).
pub fn websocket_accept(key: &[u8], headers: &[(&str, &str)]) -> Bytes {
    let accept = crate::websocket::accept_key(key);
    let mut head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    Bytes::from(head)
}

/// A whole response: status line, `Content-Type`, `Content-Length`,
/// `Connection: close`, then `body` (left out for a `HEAD` request by the
/// caller passing an empty body with `length`).
pub fn response(status: Status, content_type: &str, body: &[u8]) -> Bytes {
    response_with_length(status, content_type, body, body.len())
}

/// Like [`response`], but with an explicit `Content-Length` (a `HEAD`
/// answer announces the length of the body it does not send).
pub fn response_with_length(
    status: Status,
    content_type: &str,
    body: &[u8],
    length: usize,
) -> Bytes {
    response_with_headers(status, content_type, &[], body, Some(length))
}

/// Like [`response_with_length`] (`None`: the body's length), with
/// `headers` added after the usual ones.
pub fn response_with_headers(
    status: Status,
    content_type: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    length: Option<usize>,
) -> Bytes {
    respond_with(status, content_type, headers, body, length, "close")
}

/// Like [`response_with_headers`] for a whole `body`, but with
/// `Connection: keep-alive`: the connection stays open for the client's
/// next request.
pub fn response_kept_alive(
    status: Status,
    content_type: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Bytes {
    respond_with(status, content_type, headers, body, None, "keep-alive")
}

fn respond_with(
    status: Status,
    content_type: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    length: Option<usize>,
    connection: &str,
) -> Bytes {
    let Status(code, reason) = status;
    let length = length.unwrap_or(body.len());
    let mut head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\nCache-Control: no-store\r\nConnection: {connection}\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = BytesMut::with_capacity(head.len() + body.len());
    out.put_slice(head.as_bytes());
    out.put_slice(body);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(head: Head) -> Request {
        match head {
            Head::Request(request) => request,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    #[test]
    fn a_head_split_anywhere_is_read_once_whole() {
        let text = b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: text/plain\r\n\r\nBODY";
        for cut in 0..text.len() {
            let mut reader = HeadReader::new();
            let first = reader.feed(&text[..cut]);
            let found = match first {
                Head::Partial => request(reader.feed(&text[cut..])),
                Head::Request(request) => {
                    assert_eq!(reader.feed(&text[cut..]), Head::Partial);
                    request
                }
                Head::Refused(status) => panic!("refused {status:?} at {cut}"),
            };
            assert_eq!(found.method, "GET");
            assert_eq!(found.path(), "/metrics");
            assert_eq!(found.header("host"), Some(&b"a"[..]));
            assert_eq!(reader.take_rest(), b"BODY");
        }
    }

    #[test]
    fn garbage_and_huge_heads_are_refused_not_buffered() {
        let mut reader = HeadReader::new();
        assert_eq!(
            reader.feed(b"\x16\x03\x01 hello\r\n\r\n"),
            Head::Refused(Status::BAD_REQUEST)
        );
        let mut reader = HeadReader::new();
        let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
        big.resize(MAX_HEAD_BYTES + 10, b'a');
        assert_eq!(reader.feed(&big), Head::Refused(Status::HEADERS_TOO_LARGE));
        let mut reader = HeadReader::new();
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            many.extend_from_slice(format!("X{i}: y\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(reader.feed(&many), Head::Refused(Status::HEADERS_TOO_LARGE));
    }

    #[test]
    fn upgrades_are_read_and_answered() {
        let text = b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
        let found = request(HeadReader::new().feed(text));
        let key = websocket_key(&found).unwrap_or_else(|s| panic!("{s:?}"));
        let answer = websocket_accept(key, &[("X-Frame-Options", "DENY")]);
        assert_eq!(
            &answer[..],
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nX-Frame-Options: DENY\r\n\r\n"
        );
        let old = b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
        let found = request(HeadReader::new().feed(old));
        assert_eq!(websocket_key(&found), Err(Status::UPGRADE_REQUIRED));
        let answer = websocket_version_required(&[("X-Frame-Options", "DENY")]);
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
            "{answer}"
        );
        assert!(
            answer.contains("\r\nSec-WebSocket-Version: 13\r\nX-Frame-Options: DENY\r\n\r\n"),
            "{answer}"
        );
        let plain = request(HeadReader::new().feed(b"GET /ws HTTP/1.1\r\n\r\n"));
        assert_eq!(websocket_key(&plain), Err(Status::BAD_REQUEST));
    }

    #[test]
    fn a_body_is_sized_from_the_head_alone() {
        let head = |text: &str| request(HeadReader::new().feed(text.as_bytes()));
        let post = |headers: &str| head(&format!("POST /hooks/x HTTP/1.1\r\n{headers}\r\n"));
        assert_eq!(body_length(&post("Content-Length: 12\r\n"), 100), Ok(12));
        assert_eq!(
            body_length(&post("Content-Length: 10485760\r\n"), 65536),
            Err(Status::PAYLOAD_TOO_LARGE)
        );
        assert_eq!(
            body_length(&post("Content-Length: 99999999999999999999999\r\n"), 65536),
            Err(Status::PAYLOAD_TOO_LARGE)
        );
        assert_eq!(
            body_length(&post("Transfer-Encoding: chunked\r\n"), 100),
            Err(Status::LENGTH_REQUIRED)
        );
        assert_eq!(body_length(&post(""), 100), Err(Status::LENGTH_REQUIRED));
        assert_eq!(
            body_length(&post("Content-Length: -1\r\n"), 100),
            Err(Status::BAD_REQUEST)
        );
        assert_eq!(
            body_length(&post("Content-Length: 1\r\nContent-Length: 2\r\n"), 100),
            Err(Status::BAD_REQUEST)
        );
        assert_eq!(body_length(&head("GET / HTTP/1.1\r\n\r\n"), 100), Ok(0));
    }

    #[test]
    fn a_body_that_came_with_its_head_is_kept_past_the_head_bound() {
        let mut text = b"POST /hooks/x HTTP/1.1\r\nContent-Length: 20000\r\n\r\n".to_vec();
        text.resize(text.len() + 20_000, b'a');
        let mut reader = HeadReader::new();
        let found = request(reader.feed(&text));
        let length = body_length(&found, 65536).unwrap_or_else(|s| panic!("{s:?}"));
        let mut body = BodyReader::new(length, &reader.take_rest());
        assert!(body.is_whole());
        assert!(body.feed(b"past the end"));
        assert_eq!(body.take().len(), 20_000);
    }

    #[test]
    fn responses_say_their_length_and_close() {
        let text = response(Status::NOT_FOUND, "text/plain", b"no\n");
        assert_eq!(
            &text[..],
            b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nCache-Control: no-store\r\nConnection: close\r\n\r\nno\n"
        );
    }

    #[test]
    fn keep_alive_is_http_1_1_s_default_and_1_0_s_exception() {
        let ask = |text: &str| request(HeadReader::new().feed(text.as_bytes()));
        assert!(ask("POST /h HTTP/1.1\r\n\r\n").wants_keep_alive());
        assert!(!ask("POST /h HTTP/1.1\r\nConnection: Close\r\n\r\n").wants_keep_alive());
        assert!(!ask("POST /h HTTP/1.0\r\n\r\n").wants_keep_alive());
        assert!(ask("POST /h HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").wants_keep_alive());
        let kept = response_kept_alive(Status::OK, "text/plain", &[], b"ok");
        assert!(
            kept.ends_with(b"Connection: keep-alive\r\n\r\nok"),
            "{kept:?}"
        );
    }

    #[test]
    fn bytes_past_a_body_are_dropped_and_noticed() {
        let mut body = BodyReader::new(2, b"o");
        assert!(!body.overflowed());
        assert!(body.feed(b"kPOST"));
        assert!(body.overflowed());
        assert_eq!(body.take(), b"ok");
    }
}
