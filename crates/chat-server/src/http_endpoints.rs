//! The connections of the `[metrics]` listener: HTTP requests read with
//! chat-net's HTTP layer, answered with `/metrics` or `/health`, closed.
//!
//! They never reach the hub. They are few and short, so they are bounded in
//! number ([`MAX_CONNECTIONS`]) and in time ([`REQUEST_TIMEOUT`]): a scraper
//! that connects and says nothing cannot hold a descriptor for long.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chat_net::http::{self, Head, HeadReader, Request, Status};
use chat_net::{ConnId, ListenerId, Net};

/// HTTP connections open at once; more are closed at once.
pub const MAX_CONNECTIONS: usize = 64;

/// How long a connection may take to send its request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP connections of one listener.
#[derive(Debug)]
pub struct HttpEndpoints {
    listener: ListenerId,
    open: HashMap<ConnId, Pending>,
}

#[derive(Debug)]
struct Pending {
    reader: HeadReader,
    since: Instant,
}

impl HttpEndpoints {
    pub fn new(listener: ListenerId) -> HttpEndpoints {
        HttpEndpoints {
            listener,
            open: HashMap::new(),
        }
    }

    pub fn listener(&self) -> ListenerId {
        self.listener
    }

    /// A connection on this listener came in.
    pub fn accepted(&mut self, net: &mut Net, conn: ConnId) {
        if self.open.len() >= MAX_CONNECTIONS {
            return net.close(conn);
        }
        let pending = Pending {
            reader: HeadReader::new(),
            since: net.now(),
        };
        self.open.insert(conn, pending);
    }

    /// Whether `conn` is one of these (cheap when none is open, which is
    /// nearly always).
    pub fn owns(&self, conn: ConnId) -> bool {
        !self.open.is_empty() && self.open.contains_key(&conn)
    }

    /// Bytes from `conn`: the request once its head is whole. A request
    /// that is not HTTP we take is answered here, and closed.
    pub fn received(&mut self, net: &mut Net, conn: ConnId, data: &[u8]) -> Option<Request> {
        let pending = self.open.get_mut(&conn)?;
        match pending.reader.feed(data) {
            Head::Partial => None,
            Head::Request(request) => Some(request),
            Head::Refused(status) => {
                let body = format!("{} {}\n", status.0, status.1);
                respond(
                    net,
                    conn,
                    http::response(status, "text/plain", body.as_bytes()),
                );
                None
            }
        }
    }

    /// `conn` is gone.
    pub fn closed(&mut self, conn: ConnId) -> bool {
        self.open.remove(&conn).is_some()
    }

    /// Closes the connections that took too long to ask.
    pub fn sweep(&mut self, net: &mut Net) {
        let now = net.now();
        for (&conn, pending) in &self.open {
            if now.duration_since(pending.since) > REQUEST_TIMEOUT {
                net.close(conn);
            }
        }
    }
}

/// Sends `response` and closes once it is written.
pub fn respond(net: &mut Net, conn: ConnId, response: Bytes) {
    net.send(conn, response);
    net.close_after_flush(conn);
}

/// The answer to `request`: `text` for GET (or its head for HEAD) on a known
/// path, 404 or 405 otherwise. `route` maps a path to a status, a content
/// type and a body.
pub fn answer(
    request: &Request,
    route: impl FnOnce(&str) -> Option<(Status, &'static str, String)>,
) -> Bytes {
    let head_only = request.method == "HEAD";
    if request.method != "GET" && !head_only {
        return http::response(Status::METHOD_NOT_ALLOWED, "text/plain", b"GET only\n");
    }
    match route(request.path()) {
        None => http::response(
            Status::NOT_FOUND,
            "text/plain",
            b"not found: try /metrics or /health\n",
        ),
        Some((status, content_type, body)) if head_only => {
            http::response_with_length(status, content_type, b"", body.len())
        }
        Some((status, content_type, body)) => http::response(status, content_type, body.as_bytes()),
    }
}
