//! The store thread: takes lines and reads from the hub's channel, writes
//! the lines in batched transactions, answers the reads.
//!
//! Lines wait in memory until the batch is due: 100 ms after the first of
//! them, or at [`BATCH_MAX`] lines, or before a read (so a read sees every
//! line asked before it), or when the server stops. One transaction per
//! batch keeps what a `kill -9` leaves a gap-free prefix of what was said.
//! A batch that cannot be written (disk full) stays, is retried every
//! second, and the hub is told (it logs and counts); past [`PENDING_MAX`]
//! waiting lines the oldest are dropped, and counted as failures too.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use chat_hub::{StoreEvent, StoreRequest, StoredLine};
use rusqlite::Connection;

use super::{Emitter, schema};

/// The longest a line waits before it is committed.
const COMMIT_EVERY: Duration = Duration::from_millis(100);
/// A batch this large is written at once.
const BATCH_MAX: usize = 4096;
/// After a failed write, the next attempt waits this long.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Lines kept waiting while writing fails; past it the oldest go.
const PENDING_MAX: usize = 100_000;

pub(super) struct Writer {
    conn: Connection,
    pending: VecDeque<StoredLine>,
    /// When the pending batch must be written.
    due: Option<Instant>,
    failures: u64,
    error: Option<String>,
    emit: Emitter,
}

impl Writer {
    pub(super) fn new(conn: Connection, emit: Emitter) -> Writer {
        Writer {
            conn,
            pending: VecDeque::new(),
            due: None,
            failures: 0,
            error: None,
            emit,
        }
    }

    /// Runs until the hub's end of the channel is gone, then writes what
    /// waits.
    pub(super) fn run(mut self, requests: Receiver<StoreRequest>) {
        loop {
            let request = match self.due {
                Some(due) => requests.recv_timeout(due.saturating_duration_since(Instant::now())),
                None => requests.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match request {
                Ok(StoreRequest::Append(line)) => self.push(line),
                Ok(StoreRequest::Recent {
                    client,
                    token,
                    room,
                    count,
                }) => {
                    self.write();
                    let lines = schema::recent(&self.conn, &room, count).ok();
                    let event = StoreEvent::Lines {
                        client,
                        token,
                        lines,
                    };
                    if !self.emit.emit(event) {
                        return self.write(); // the reactor is gone
                    }
                }
                Ok(StoreRequest::Since {
                    client,
                    token,
                    room,
                    after,
                    count,
                }) => {
                    self.write();
                    let lines = schema::since(&self.conn, &room, after, count + 1).ok();
                    let event = StoreEvent::Lines {
                        client,
                        token,
                        lines,
                    };
                    if !self.emit.emit(event) {
                        return self.write(); // the reactor is gone
                    }
                }
                Err(RecvTimeoutError::Timeout) => self.write(),
                Err(RecvTimeoutError::Disconnected) => return self.write(),
            }
            if self.due.is_some_and(|due| due <= Instant::now()) {
                self.write();
            }
        }
    }

    fn push(&mut self, line: StoredLine) {
        if self.pending.len() >= PENDING_MAX {
            self.pending.pop_front();
            self.failures += 1;
        }
        self.pending.push_back(line);
        if self.pending.len() >= BATCH_MAX && self.error.is_none() {
            self.due = Some(Instant::now());
        }
        self.due
            .get_or_insert_with(|| Instant::now() + COMMIT_EVERY);
    }

    /// Writes the waiting lines in one transaction; on failure keeps them
    /// and tries again later.
    fn write(&mut self) {
        if self.pending.is_empty() {
            self.due = None;
            return;
        }
        match schema::insert(&mut self.conn, self.pending.make_contiguous()) {
            Ok(()) => {
                self.pending.clear();
                self.due = None;
                if self.error.take().is_some() {
                    self.report();
                }
            }
            Err(e) => {
                self.failures += 1;
                self.due = Some(Instant::now() + RETRY_AFTER);
                let error = Some(format!("{e} ({} lines waiting)", self.pending.len()));
                let news = self.error.is_none();
                self.error = error;
                if news {
                    self.report();
                }
            }
        }
    }

    /// Tells the hub how writing goes.
    fn report(&self) {
        self.emit.emit(StoreEvent::Health {
            failures: self.failures,
            error: self.error.clone(),
        });
    }
}
