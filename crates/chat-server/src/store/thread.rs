//! The store thread: takes lines and reads from the hub's channel, writes
//! the lines in batched transactions, answers the reads.
//!
//! With `history_sync = "batch"`, lines wait in memory until the batch is
//! due: 100 ms after the first of them, or at [`BATCH_MAX`] lines, or
//! before a read (so a read sees every line asked before it), or when the
//! server stops. While a batch fills, the thread naps ([`NAP`]) and drains
//! the channel instead of blocking on it, so the reactor's `try_send`
//! rarely has a sleeper to wake (a wake is a system call, and the benchmark
//! pins the whole server to one core). One transaction per batch keeps
//! what a `kill -9` leaves a gap-free prefix of what was said.
//!
//! With `"always"`, the hub sends a line out only once it is committed: the
//! thread commits whatever the channel holds as soon as it has it, then
//! says up to which id ([`StoreEvent::Committed`]). Lines that arrive
//! during one commit make up the next: a group commit, whose batches grow
//! with the load.
//!
//! A batch that cannot be written (disk full) stays, is retried every
//! second, and the hub is told (it logs and counts); past [`PENDING_MAX`]
//! waiting lines the oldest are dropped, and counted as failures too.
//!
//! Two jobs wait for quiet moments: indexing lines for `/search` (a search
//! first indexes what is missing, so it never misses a line) and deleting
//! lines past `history_retention` (reads skip those at once).

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use chat_hub::{NewLine, StoreEvent, StoreRequest};
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
/// The channel quiet this long: a step of background work.
const QUIET: Duration = Duration::from_millis(200);
/// Lines indexed for `/search` in one quiet step.
const INDEX_STEP: usize = 2000;
/// Lines deleted past the retention in one step.
const PRUNE_STEP: usize = 2000;
/// How often lines past the retention are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

pub(super) struct Writer {
    conn: Connection,
    pending: VecDeque<NewLine>,
    /// When the pending batch must be written.
    due: Option<Instant>,
    /// `history_sync = "always"`: commit at once, and say so.
    always: bool,
    failures: u64,
    error: Option<String>,
    /// Lines may be missing from the search index.
    unindexed: bool,
    /// Lines said before this (Unix ms) are past the retention.
    not_before_ms: i64,
    /// When lines past the retention were last deleted; `None`: due.
    pruned: Option<Instant>,
    emit: Emitter,
}

impl Writer {
    pub(super) fn new(conn: Connection, always: bool, emit: Emitter) -> Writer {
        Writer {
            conn,
            pending: VecDeque::new(),
            due: None,
            always,
            failures: 0,
            error: None,
            unindexed: true,
            not_before_ms: i64::MIN,
            pruned: None,
            emit,
        }
    }

    /// Runs until the hub's end of the channel is gone, then writes what
    /// waits.
    pub(super) fn run(mut self, requests: Receiver<StoreRequest>) {
        loop {
            // Blocks only while nothing waits to be written (and no
            // background work waits): then the first request wakes the
            // thread. While a batch fills, the thread naps and drains, so
            // the reactor's `try_send` never has a sleeper to wake (no
            // system call per line).
            let first = match self.due {
                None if !self.has_background_work() => {
                    requests.recv().map_err(|_| RecvTimeoutError::Disconnected)
                }
                None => requests.recv_timeout(QUIET),
                Some(due) => requests.recv_timeout(due.saturating_duration_since(Instant::now())),
            };
            match first {
                Ok(request) => {
                    if !self.handle(request) {
                        return self.write();
                    }
                }
                Err(RecvTimeoutError::Timeout) if self.due.is_none() => self.background(),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return self.write(),
            }
            if !self.drain(&requests) {
                return self.write();
            }
            while !self.always
                && self.due.is_some_and(|due| due > Instant::now())
                && self.error.is_none()
            {
                std::thread::sleep(NAP);
                if !self.drain(&requests) {
                    return self.write();
                }
            }
            if self.due.is_some_and(|due| due <= Instant::now()) {
                self.write();
            }
        }
    }

    /// Handles whatever the channel holds now; `false`: the reactor is gone.
    fn drain(&mut self, requests: &Receiver<StoreRequest>) -> bool {
        loop {
            match requests.try_recv() {
                Ok(request) => {
                    if !self.handle(request) {
                        return false;
                    }
                }
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => return false,
            }
        }
    }

    /// One request; `false`: the reactor is gone.
    fn handle(&mut self, request: StoreRequest) -> bool {
        let not_before = self.not_before_ms;
        let (client, token, lines) = match request {
            StoreRequest::Append(line) => {
                self.push(line);
                return true;
            }
            StoreRequest::Prune { before_ms } => {
                self.not_before_ms = before_ms;
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
                let lines = schema::recent(&self.conn, &room, count, not_before);
                (client, token, lines)
            }
            StoreRequest::Since {
                client,
                token,
                room,
                after,
                count,
            } => {
                self.write();
                let count = count.saturating_add(1);
                let lines = schema::since(&self.conn, &room, after, count, not_before);
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
                let lines = self
                    .index_all()
                    .and_then(|()| schema::search(&self.conn, &room, &words, count, not_before));
                (client, token, lines)
            }
        };
        self.emit.emit(StoreEvent::Lines {
            client,
            token,
            lines: lines.ok(),
        })
    }

    fn push(&mut self, line: NewLine) {
        if self.pending.len() >= PENDING_MAX {
            self.pending.pop_front();
            self.failures += 1;
        }
        self.pending.push_back(line);
        let full = self.pending.len() >= BATCH_MAX || self.always;
        if full && self.error.is_none() {
            self.due = Some(Instant::now());
        }
        self.due
            .get_or_insert_with(|| Instant::now() + COMMIT_EVERY);
    }

    /// Writes the waiting lines in one transaction; on failure keeps them
    /// and tries again later.
    fn write(&mut self) {
        let Some(through) = self.pending.back().map(|line| line.id) else {
            self.due = None;
            return;
        };
        let rows = self.pending.iter().map(schema::Row::from);
        match schema::insert(&mut self.conn, rows) {
            Ok(()) => {
                self.pending.clear();
                self.due = None;
                self.unindexed = true;
                if self.always {
                    self.emit.emit(StoreEvent::Committed { through });
                }
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

    fn has_background_work(&self) -> bool {
        let prune_due = self.pruned.is_none_or(|at| at.elapsed() >= PRUNE_EVERY);
        self.unindexed || (prune_due && self.not_before_ms > i64::MIN)
    }

    /// One step of the work that waits for quiet: deleting what is past
    /// the retention, then indexing for `/search`. A failure waits for the
    /// next quiet moment (a search indexes what it needs itself).
    fn background(&mut self) {
        let prune_due = self.pruned.is_none_or(|at| at.elapsed() >= PRUNE_EVERY);
        if prune_due && self.not_before_ms > i64::MIN {
            match schema::prune(&mut self.conn, self.not_before_ms, PRUNE_STEP) {
                Ok(deleted) if deleted > 0 => return,
                _ => self.pruned = Some(Instant::now()),
            }
        }
        if self.unindexed {
            self.unindexed = !matches!(schema::index_some(&mut self.conn, INDEX_STEP), Ok(0));
        }
    }

    /// Indexes every line not yet in the search index.
    fn index_all(&mut self) -> rusqlite::Result<()> {
        while schema::index_some(&mut self.conn, INDEX_STEP)? > 0 {}
        self.unindexed = false;
        Ok(())
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

    fn time() -> chat_hub::Now {
        let zone = FixedOffset::east_opt(0).expect("UTC");
        zone.timestamp_millis_opt(1_790_000_000_000)
            .single()
            .expect("a time")
    }

    fn line(id: u64) -> NewLine {
        NewLine::new(id, "lobby", time(), false, "alice", &format!("line {id}"))
    }

    fn stored(id: u64) -> chat_hub::StoredLine {
        chat_hub::StoredLine {
            id,
            room: "lobby".into(),
            nick: "alice".into(),
            text: format!("line {id}"),
            action: false,
            time: time(),
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
        let mut writer = Writer::new(conn, false, emit);
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
        let kept = schema::recent(&writer.conn, "lobby", 10, i64::MIN).expect("read");
        assert_eq!(kept, [stored(1), stored(2)]);
    }
}

#[cfg(test)]
mod cost {
    use std::time::Instant;

    use chrono::{FixedOffset, TimeZone};

    use super::*;

    /// What a line costs the store thread, written as the thread writes
    /// (batches of 4096 in one transaction), then indexed for `/search`.
    /// A measurement, not a check: `cargo test --release -p chat-server
    /// store_cost -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement; run it by name"]
    #[allow(clippy::print_stderr)] // the figures are the point
    fn store_cost_per_line() {
        let dir = std::env::temp_dir().join(format!("chat-store-cost-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let opened = super::super::open(&dir.join("cost.sqlite3")).expect("open");
        let mut conn = opened.conn;
        let time = FixedOffset::east_opt(0)
            .and_then(|zone| zone.timestamp_millis_opt(1_790_000_000_000).single())
            .expect("a time");
        let text = "a line of chat that is about sixty-four bytes long, give or take";
        let lines: Vec<NewLine> = (1..=200_000)
            .map(|id| NewLine::new(id, "lobby", time, false, "sender1", text))
            .collect();
        let began = Instant::now();
        for batch in lines.chunks(BATCH_MAX) {
            schema::insert(&mut conn, batch.iter().map(schema::Row::from)).expect("insert");
        }
        let written = began.elapsed();
        let began = Instant::now();
        while schema::index_some(&mut conn, INDEX_STEP).expect("index") > 0 {}
        let indexed = began.elapsed();
        let per = |d: std::time::Duration| d.as_nanos() as f64 / lines.len() as f64;

        eprintln!(
            "store cost per line: write {:.0} ns, index {:.0} ns",
            per(written),
            per(indexed)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
