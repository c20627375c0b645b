//! The store's writer: takes lines from the hub's channel and writes
//! them in batched transactions on a connection of its own. Reads never
//! reach this thread (`reader.rs` has them), so no read can delay a line.
//!
//! With `history_sync = "batch"`, lines wait in memory until the batch is
//! due: 100 ms after the first of them, or at [`BATCH_MAX`] lines, or as
//! soon as a read waits for them ([`Shared::wants_commit`]), or when the
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
//! The thread holds at most one batch. A batch that cannot be written
//! (disk full) stays, is retried every second (each failure reported), and
//! meanwhile the thread takes nothing more: the channel fills and the
//! reactor's `try_send` counts and logs what it cannot take. So every line
//! that does not reach the file is counted, and memory stays bounded.
//!
//! Two jobs wait for quiet moments: indexing lines for `/search` and
//! deleting lines past `history_retention` (reads skip those at once). A
//! search reads the blocks not yet indexed directly; so that this stays
//! cheap under a load with no quiet moment, indexing also runs once
//! [`INDEX_BACKLOG`] lines wait for it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use chat_hub::{NewLine, StoreEvent, StoreRequest};
use rusqlite::Connection;

use super::{Emitter, Shared, schema};

/// The longest a line waits before it is committed.
const COMMIT_EVERY: Duration = Duration::from_millis(100);
/// How long the thread naps between two drains of the channel while a
/// batch fills.
const NAP: Duration = Duration::from_millis(5);
/// A batch this large is written at once; the thread holds no more.
const BATCH_MAX: usize = 4096;
/// After a failed write, the next attempt waits this long.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// The channel quiet this long: a step of background work.
const QUIET: Duration = Duration::from_millis(200);
/// Blocks indexed for `/search` in one step.
const INDEX_STEP: usize = 2000;
/// Lines written but not indexed past which indexing runs without waiting
/// for a quiet moment.
const INDEX_BACKLOG: usize = 50_000;
/// Lines deleted past the retention in one step.
const PRUNE_STEP: usize = 2000;
/// How often lines past the retention are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// When the server stops, the lines still waiting are written for at
/// most this long; what is left then is counted and logged.
pub(super) const FINAL_WRITE: Duration = Duration::from_millis(500);

pub(super) struct Writer {
    conn: Connection,
    pending: VecDeque<NewLine>,
    /// When the pending batch must be written.
    due: Option<Instant>,
    /// `history_sync = "always"`: commit at once, and say so.
    always: bool,
    failures: u64,
    error: Option<String>,
    /// Lines written since the search index last caught up; `None`: it may
    /// be behind by any number (at start).
    unindexed: Option<usize>,
    /// When lines past the retention were last deleted; `None`: due.
    pruned: Option<Instant>,
    shared: Arc<Shared>,
    emit: Emitter,
}

impl Writer {
    pub(super) fn new(
        conn: Connection,
        always: bool,
        shared: Arc<Shared>,
        emit: Emitter,
    ) -> Writer {
        Writer {
            conn,
            pending: VecDeque::new(),
            due: None,
            always,
            failures: 0,
            error: None,
            unindexed: None,
            pruned: None,
            shared,
            emit,
        }
    }

    /// Runs until the hub's end of the channel is gone, then writes what
    /// waits ([`FINAL_WRITE`]).
    pub(super) fn run(mut self, requests: Receiver<StoreRequest>) {
        loop {
            let mut quiet = false;
            if self.pending.len() < BATCH_MAX {
                // Blocks only while nothing waits to be written and no
                // background work waits: then the first request wakes the
                // thread.
                let first = match self.wake_at() {
                    None => requests.recv().map_err(|_| RecvTimeoutError::Disconnected),
                    Some(at) => requests.recv_timeout(at.saturating_duration_since(Instant::now())),
                };
                match first {
                    Ok(request) => self.take(request),
                    Err(RecvTimeoutError::Timeout) => quiet = self.pending.is_empty(),
                    Err(RecvTimeoutError::Disconnected) => return self.finish(&requests),
                }
                if !self.drain(&requests) {
                    return self.finish(&requests);
                }
                while self.filling() {
                    std::thread::sleep(NAP);
                    if !self.drain(&requests) {
                        return self.finish(&requests);
                    }
                }
            } else if self.shared.is_stopping() {
                return self.finish(&requests);
            } else if let Some(at) = self.due {
                // A full batch that cannot be written yet: take nothing
                // more until it is (looking now and then whether the
                // server stops).
                let wait = at.saturating_duration_since(Instant::now());
                std::thread::sleep(wait.min(NAP * 20));
            }
            if self.write_due() {
                self.write();
            } else if quiet {
                self.background();
            }
        }
    }

    /// When the thread must wake without a request: the batch is due, or
    /// background work waits for quiet. `None`: nothing to do.
    fn wake_at(&self) -> Option<Instant> {
        match self.due {
            Some(due) => Some(due),
            None if self.has_background_work() => Some(Instant::now() + QUIET),
            None => None,
        }
    }

    /// A batch is filling: the thread naps and drains until it is due.
    fn filling(&self) -> bool {
        !self.always
            && self.error.is_none()
            && self.pending.len() < BATCH_MAX
            && !self.shared.wants_commit()
            && self.due.is_some_and(|due| due > Instant::now())
    }

    fn write_due(&self) -> bool {
        let now = Instant::now();
        match self.due {
            None => false,
            // A failing disk is retried on its schedule, not at each read.
            Some(_) if self.error.is_some() => self.due.is_some_and(|due| due <= now),
            Some(due) => due <= now || self.always || self.shared.wants_commit(),
        }
    }

    /// Takes what the channel holds now, up to a batch; `false`: the
    /// reactor is gone.
    fn drain(&mut self, requests: &Receiver<StoreRequest>) -> bool {
        while self.pending.len() < BATCH_MAX {
            match requests.try_recv() {
                Ok(request) => self.take(request),
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => return false,
            }
        }
        true
    }

    fn take(&mut self, request: StoreRequest) {
        match request {
            StoreRequest::Append(line) => self.push(line),
            StoreRequest::Prune { before_ms } => self.shared.set_not_before_ms(before_ms),
            // Reads go to the reader; one sent here has nobody to answer.
            StoreRequest::Read(_) => {}
        }
    }

    fn push(&mut self, line: NewLine) {
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
                let written = self.pending.len();
                self.pending.clear();
                self.due = None;
                self.shared.committed(through);
                if self.always {
                    self.emit.emit(StoreEvent::Committed { through });
                }
                if self.error.take().is_some() {
                    self.report();
                }
                self.index_behind(written);
            }
            Err(e) => {
                self.failures += 1;
                self.due = Some(Instant::now() + RETRY_AFTER);
                self.error = Some(format!("{e} ({} lines waiting)", self.pending.len()));
                self.report();
            }
        }
    }

    /// `written` more lines wait for the index; past [`INDEX_BACKLOG`], a
    /// step of indexing now.
    fn index_behind(&mut self, written: usize) {
        let Some(behind) = self.unindexed.as_mut() else {
            return;
        };
        *behind += written;
        if *behind >= INDEX_BACKLOG {
            self.index_step();
        }
    }

    fn index_step(&mut self) {
        match schema::index_some(&mut self.conn, INDEX_STEP) {
            Ok(added) if added < INDEX_STEP => self.unindexed = Some(0),
            // More to do, or a failure: the next quiet moment goes on.
            _ => self.unindexed = None,
        }
    }

    fn has_background_work(&self) -> bool {
        let prune_due = self.pruned.is_none_or(|at| at.elapsed() >= PRUNE_EVERY);
        self.unindexed != Some(0) || (prune_due && self.shared.not_before_ms() > i64::MIN)
    }

    /// One step of the work that waits for quiet: deleting what is past
    /// the retention, then indexing for `/search`. A failure waits for the
    /// next quiet moment.
    fn background(&mut self) {
        let prune_due = self.pruned.is_none_or(|at| at.elapsed() >= PRUNE_EVERY);
        let not_before_ms = self.shared.not_before_ms();
        if prune_due && not_before_ms > i64::MIN {
            match schema::prune(&mut self.conn, not_before_ms, PRUNE_STEP) {
                Ok(deleted) if deleted > 0 => return,
                _ => self.pruned = Some(Instant::now()),
            }
        }
        if self.unindexed != Some(0) {
            self.index_step();
        }
    }

    /// The server stops: what waits, in the thread and in the channel, is
    /// written for at most [`FINAL_WRITE`]; what is left is counted and
    /// logged.
    fn finish(mut self, requests: &Receiver<StoreRequest>) {
        let until = Instant::now() + FINAL_WRITE;
        loop {
            self.drain(requests);
            if self.pending.is_empty() {
                return;
            }
            self.write();
            // A failing disk is not retried at the exit.
            if self.error.is_some() || Instant::now() >= until {
                break;
            }
        }
        let left = self.pending.len()
            + requests
                .try_iter()
                .filter(|request| matches!(request, StoreRequest::Append(_)))
                .count();
        crate::log::error(&format!(
            "history store: {left} lines not written at shutdown: {}",
            self.error.as_deref().unwrap_or("out of time")
        ));
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

    fn writer(always: bool) -> (Writer, std::sync::mpsc::Receiver<StoreEvent>) {
        let conn = Connection::open_in_memory().expect("a database");
        conn.execute_batch(schema::SCHEMA).expect("the schema");
        let (events_tx, events) = sync_channel(64);
        let emit = Emitter {
            events: events_tx,
            wake: Arc::new(|| {}),
        };
        let shared = Arc::new(Shared::new(0));
        (Writer::new(conn, always, shared, emit), events)
    }

    /// What a full disk does to a write, without filling a disk.
    fn fail_writes(writer: &Writer, fail: bool) {
        let pragma = if fail { "ON" } else { "OFF" };
        writer
            .conn
            .execute_batch(&format!("PRAGMA query_only = {pragma}"))
            .expect("pragma");
    }

    #[test]
    fn a_failing_disk_keeps_the_batch_reports_each_failure_and_writing_resumes() {
        let (mut writer, events) = writer(false);
        fail_writes(&writer, true);
        writer.push(line(1));
        writer.write();
        writer.push(line(2));
        writer.write();
        assert_eq!(writer.pending.len(), 2, "the lines wait");
        assert_eq!(writer.failures, 2);
        assert_eq!(writer.shared.committed_through(), 0);
        let reported: Vec<StoreEvent> = events.try_iter().collect();
        assert!(
            matches!(
                reported.as_slice(),
                [
                    StoreEvent::Health {
                        failures: 1,
                        error: Some(_)
                    },
                    StoreEvent::Health {
                        failures: 2,
                        error: Some(_)
                    }
                ]
            ),
            "each failure is reported, so the count never lags: {reported:?}"
        );
        fail_writes(&writer, false);
        writer.write();
        assert!(writer.pending.is_empty());
        assert_eq!(writer.shared.committed_through(), 2);
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

    #[test]
    fn a_failing_disk_takes_no_more_than_a_batch_off_the_channel() {
        let (writer, _events) = writer(false);
        fail_writes(&writer, true);
        let shared = Arc::clone(&writer.shared);
        let capacity = 100;
        let (requests, requests_rx) = sync_channel(capacity);
        let thread = std::thread::spawn(move || writer.run(requests_rx));
        let (mut taken, mut id) = (0, 0);
        let until = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < until {
            id += 1;
            if requests.try_send(StoreRequest::Append(line(id))).is_ok() {
                taken += 1;
            } else {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        shared
            .stopping
            .store(true, std::sync::atomic::Ordering::Relaxed);
        drop(requests);
        thread.join().expect("the writer ends");
        // A batch in the thread, the channel full: the rest was refused
        // to the sender, who counts it.
        assert!(
            taken <= BATCH_MAX + capacity,
            "{taken} lines taken while every write failed"
        );
        assert!(taken >= BATCH_MAX, "{taken}");
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
