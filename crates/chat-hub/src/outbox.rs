//! The hub's edges: [`ClientId`] names a connection, [`Gone`] says why one
//! ended, and [`Outbox`] is the hub's only way out.

use bytes::Bytes;

use crate::{AccountRecord, AccountTask, ClusterRequest, OperatorCheck, StoreRequest};

/// A connected client, as the hub knows it. The server uses the reactor's
/// connection number; tests pick their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub usize);

/// Why a connection ended without the hub closing it. The hub turns it into
/// the reason its room is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    /// The peer closed, or the server closed it after the hub asked.
    Closed,
    /// It read too slowly: its output queue went over `max_queue_bytes`.
    TooSlow,
    /// The socket failed.
    Failed(std::io::ErrorKind),
}

impl Gone {
    /// The leave reason, as the room and the console see it.
    pub(crate) fn reason(self) -> String {
        match self {
            Gone::Closed => "connection closed".to_owned(),
            Gone::TooSlow => "too slow: output queue over max_queue_bytes".to_owned(),
            Gone::Failed(kind) => format!("connection error: {kind}"),
        }
    }
}

/// The actions the hub asks for. The server maps them onto the reactor; the
/// hub's tests record them.
pub trait Outbox {
    /// Queues `msg` for `to`. The same `Bytes` may go to many clients: it is
    /// shared, not copied.
    fn send(&mut self, to: ClientId, msg: Bytes);
    /// Closes `client` once what is queued for it has been written.
    fn close(&mut self, client: ClientId);
    /// A line for the operator's console (or the log, when headless): an
    /// event (a connect, a leave and why, a refusal, a kick…).
    fn console(&mut self, line: &str);
    /// Chatter for a watching operator: what clients say, and whom a plain
    /// console line answers. A log keeps it at `debug` (message text is
    /// not for an `info` log).
    fn said(&mut self, line: &str) {
        self.console(line);
    }
    /// The operator asked the server to stop. Goodbyes are already queued.
    fn shutdown(&mut self) {}
    /// Hands a request to the cluster bridge. `false`: it could not be
    /// taken (no cluster, or the bounded channel toward Redis is full) and
    /// is dropped; the hub falls back to what it knows locally.
    fn cluster(&mut self, _request: ClusterRequest) -> bool {
        false
    }
    /// Hands an `/oper` password check to a worker off the reactor's
    /// thread (argon2 is slow on purpose); its verdict comes back through
    /// `Hub::operator_checked`. `false`: it could not be taken (no worker,
    /// or its bounded queue is full); the client is told the server is busy.
    fn verify_operator(&mut self, _check: OperatorCheck) -> bool {
        false
    }
    /// Hands a request to the account store (chat-server's account
    /// thread: argon2 and the accounts' storage); its reply comes back
    /// through `Hub::account_reply`. `false`: it could not be taken (no
    /// store, or its bounded queue is full); the asker is told to retry.
    fn accounts(&mut self, _task: AccountTask) -> bool {
        false
    }
    /// Hands a record (a message kept for an account, a read marker) to
    /// the account store to keep across restarts. `false`: it could not be
    /// taken (no store, or its queue is full); the hub still acts on it,
    /// and it is counted and logged.
    fn account_record(&mut self, _record: AccountRecord) -> bool {
        false
    }
    /// An operator's `/webhook` (its words after the command), carried out
    /// by the server (it keeps the hooks); the answer to show the operator,
    /// or `None` where the server serves no webhooks.
    fn webhook(&mut self, _args: &str) -> Option<String> {
        None
    }
    /// Hands a request to the history store. `false`: it could not be
    /// taken (no store, or the bounded channel toward it is full) and is
    /// dropped (and counted).
    fn store(&mut self, _request: StoreRequest) -> bool {
        false
    }
    /// Bytes read and written so far, for `/stats`.
    fn io_totals(&self) -> (u64, u64) {
        (0, 0)
    }
}
