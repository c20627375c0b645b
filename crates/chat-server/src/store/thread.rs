//! The store thread: takes lines and reads from the hub's channel, writes
//! the lines in batched transactions, answers the reads.
//!
//! Lines wait in memory until the batch is due: 100 ms after the first of
//! them, or at [`BATCH_MAX`] lines, or before a read (so a read sees every
//! line asked before it), or when the server stops. While a batch fills,
//! the thread naps ([`NAP`]) and drains the channel instead of blocking on
//! it, so the reactor's `try_send` rarely has a sleeper to wake (a wake is
//! a system call, and the benchmark pins the whole server to one core). One transaction per
//! batch keeps what a `kill -9` leaves a gap-free prefix of what was said.
//! A batch that cannot be written (disk full) stays, is retried every
//! second, and the hub is told (it logs and counts); past [`PENDING_MAX`]
//! waiting lines the oldest are dropped, and counted as failures too.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use chat_hub::{StoreEvent, StoreRequest, StoredLine};
use rusqlite::Connection;

use super::{Emitter, schema};

/// The longest a line waits before it is committed.
const COMMIT_EVERY: Duration = Duration::from_millis(100);
/// How long the thread naps between two drains of the channel while a
/// batch fills: a read waits at most this long.
const NAP: Duration = Duration::from_millis(5);
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
            // Blocks only while nothing waits to be written: then the
            // first request wakes the thread. While a batch fills, the
            // thread naps and drains, so the reactor's `try_send` never
            // has a sleeper to wake (no system call per line).
            let first = match self.due {
                None => requests.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(due) => requests.recv_timeout(due.saturating_duration_since(Instant::now())),
            };
            match first {
                Ok(request) => {
                    if !self.handle(request) {
                        return self.write();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return self.write(),
            }
            while self.due.is_some_and(|due| due > Instant::now()) && self.error.is_none() {
                std::thread::sleep(NAP);
                loop {
                    match requests.try_recv() {
                        Ok(request) => {
                            if !self.handle(request) {
                                return self.write();
                            }
                        }
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => return self.write(),
                    }
                }
            }
            if self.due.is_some_and(|due| due <= Instant::now()) {
                self.write();
            }
        }
    }

    /// One request; `false`: the reactor is gone.
    fn handle(&mut self, request: StoreRequest) -> bool {
        let (client, token, lines) = match request {
            StoreRequest::Append(line) => {
                self.push(line);
                return true;
            }
            // A read sees every line asked before it: they are written first.
            StoreRequest::Recent {
                client,
                token,
                room,
                count,
            } => {
                self.write();
                (client, token, schema::recent(&self.conn, &room, count))
            }
            StoreRequest::Since {
                client,
                token,
                room,
                after,
                count,
            } => {
                self.write();
                let lines = schema::since(&self.conn, &room, after, count.saturating_add(1));
                (client, token, lines)
            }
            StoreRequest::Search {
                client,
                token,
                room,
                words,
                count,
            } => {
                self.write();
                (
                    client,
                    token,
                    schema::search(&self.conn, &room, &words, count),
                )
            }
        };
        self.emit.emit(StoreEvent::Lines {
            client,
            token,
            lines: lines.ok(),
        })
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::mpsc::sync_channel;

    use chrono::{FixedOffset, TimeZone};

    use super::*;

    fn line(id: u64) -> StoredLine {
        let zone = FixedOffset::east_opt(0).expect("UTC");
        StoredLine {
            id,
            room: "lobby".into(),
            nick: "alice".into(),
            text: format!("line {id}"),
            action: false,
            time: zone
                .timestamp_millis_opt(1_790_000_000_000)
                .single()
                .expect("a time"),
        }
    }

    #[test]
    fn a_failing_disk_keeps_the_batch_reports_once_and_writing_resumes() {
        let conn = Connection::open_in_memory().expect("a database");
        conn.execute_batch(schema::SCHEMA).expect("the schema");
        let (events_tx, events) = sync_channel(16);
        let emit = Emitter {
            events: events_tx,
            wake: Arc::new(|| {}),
        };
        let mut writer = Writer::new(conn, emit);
        // What a full disk does to a write, without filling a disk.
        writer
            .conn
            .execute_batch("PRAGMA query_only = ON")
            .expect("pragma");
        writer.push(line(1));
        writer.write();
        writer.push(line(2));
        writer.write();
        assert_eq!(writer.pending.len(), 2, "the lines wait");
        assert_eq!(writer.failures, 2);
        let reported: Vec<StoreEvent> = events.try_iter().collect();
        assert!(
            matches!(
                reported.as_slice(),
                [StoreEvent::Health {
                    failures: 1,
                    error: Some(_)
                }]
            ),
            "reported once: {reported:?}"
        );
        writer
            .conn
            .execute_batch("PRAGMA query_only = OFF")
            .expect("pragma");
        writer.write();
        assert!(writer.pending.is_empty());
        let reported: Vec<StoreEvent> = events.try_iter().collect();
        assert_eq!(
            reported,
            [StoreEvent::Health {
                failures: 2,
                error: None
            }]
        );
        let kept = schema::recent(&writer.conn, "lobby", 10).expect("read");
        assert_eq!(kept, [line(1), line(2)]);
    }
}
