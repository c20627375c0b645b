//! The hub's way out: everything it wants done goes through [`Outbox`].

use bytes::Bytes;

use super::ClusterRequest;

/// A connected client, as the hub knows it. The server uses the reactor's
/// connection number; tests pick their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub usize);

/// How a client's byte stream is cut into messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Framing {
    /// Lines ending in LF (CRLF and CR accepted); every server line ends in LF.
    #[default]
    Line,
    /// The tutorial's framing: one read is one message, and every write is
    /// `[ctime]text` with no newline.
    Raw,
}

/// The actions the hub asks for. The server maps them onto the reactor; the
/// hub's tests record them.
pub trait Outbox {
    /// Queues `msg` for `to`. The same `Bytes` may go to many clients: it is
    /// shared, not copied.
    fn send(&mut self, to: ClientId, msg: Bytes);
    /// Closes `client` once what is queued for it has been written.
    fn close(&mut self, client: ClientId);
    /// A line for the operator's console (or the log, when headless).
    fn console(&mut self, line: &str);
    /// The operator asked the server to stop. Goodbyes are already queued.
    fn shutdown(&mut self) {}
    /// Hands a request to the cluster bridge. `false`: it could not be
    /// taken (no cluster, or the bounded channel toward Redis is full) and
    /// is dropped; the hub falls back to what it knows locally.
    fn cluster(&mut self, _request: ClusterRequest) -> bool {
        false
    }
    /// Bytes read and written so far, for `/stats`.
    fn io_totals(&self) -> (u64, u64) {
        (0, 0)
    }
}
