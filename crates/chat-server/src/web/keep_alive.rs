//! HTTP/1.1 persistent connections for webhook and API answers: a tool
//! that posts often (an alerting system, a CI) reuses one connection
//! instead of paying a TCP handshake per post.
//!
//! A request taken for the hub remembers whether its connection may be
//! kept ([`Reuse`]). Once answered with success, a kept connection waits
//! for its next request like a new one ([`super::waiting`]): it counts
//! against its address's share and [`super::MAX_PENDING`], and is closed
//! after [`super::REQUEST_TIMEOUT`] idle. Everything else closes after
//! the answer: an error status, `Connection: close` (or HTTP/1.0 without
//! `keep-alive`), [`MAX_REQUESTS_PER_CONN`] answered, or bytes sent before
//! the answer (a pipelined request: refused by closing, so the client
//! retries it on a new connection, as HTTP allows).

use std::net::SocketAddr;

use chat_net::http::{self, Request, Status};
use chat_net::{ConnId, Net};

use super::{MAX_PENDING, SECURITY_HEADERS, WebListener, WebListeners};

/// Requests answered on one connection at most: past it the answer closes,
/// so a client cannot hold one place for ever.
pub const MAX_REQUESTS_PER_CONN: u32 = 1000;

/// A connection whose request is with the hub (or the store), and whether
/// it may take another after the answer.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reuse {
    peer: SocketAddr,
    listener: WebListener,
    /// Requests answered on it so far, this one included.
    served: u32,
    keep: bool,
}

impl Reuse {
    /// The reuse of a connection that made `request`, its `served`-th.
    pub(super) fn new(
        request: &Request,
        peer: SocketAddr,
        listener: WebListener,
        served: u32,
    ) -> Reuse {
        Reuse {
            peer,
            listener,
            served,
            keep: request.wants_keep_alive() && served < MAX_REQUESTS_PER_CONN,
        }
    }
}

impl WebListeners {
    /// Bytes came on `conn` while its request was with the hub: a
    /// pipelined request, refused by closing after the answer.
    pub(super) fn pipelined(&mut self, conn: ConnId) {
        if let Some(reuse) = self.reuse.get_mut(&conn) {
            reuse.keep = false;
        }
    }

    /// Answers `conn` with `status`: kept alive for its next request if it
    /// may be and the status is a success, else closed once sent.
    pub(super) fn finish(
        &mut self,
        net: &mut Net,
        conn: ConnId,
        status: Status,
        content_type: &str,
        body: &[u8],
    ) {
        let reuse = self.reuse.remove(&conn);
        let open = self.closing.contains(&conn) || self.waiting.contains(conn);
        let Some(reuse) = reuse.filter(|r| r.keep && open && (200..300).contains(&status.0)) else {
            let answer =
                http::response_with_headers(status, content_type, &SECURITY_HEADERS, body, None);
            return self.answer(net, conn, answer);
        };
        self.closing.remove(&conn);
        self.waiting.remove(conn);
        net.send(
            conn,
            http::response_kept_alive(status, content_type, &SECURITY_HEADERS, body),
        );
        if self.waiting.len() >= MAX_PENDING
            && let Some(oldest) = self.waiting.oldest()
        {
            self.drop_waiting(net, oldest);
        }
        self.waiting
            .add(conn, reuse.peer, reuse.listener, net.now());
        if let Some(pending) = self.waiting.get_mut(conn) {
            pending.served = reuse.served;
        }
    }
}
