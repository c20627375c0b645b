//! The history store: room lines kept in a SQLite file (`history_path`),
//! so a restart, or a `kill -9`, forgets nothing that was committed.
//!
//! The file is opened in `main.rs` before the reactor starts ([`open`]):
//! a store that cannot be opened stops the start, naming the path. Then
//! two threads, each with a connection of its own, do the work: the
//! writer (`writer.rs`) writes lines in batched transactions (committed at
//! least every 100 ms), the reader (`reader.rs`) answers `/history` and
//! `/search`. Reads and writes share no queue and no thread's time, so no
//! read, however expensive or many, delays or drops a line. The hub hands
//! requests through [`StoreLink::send`]: bounded channels that are never
//! waited on ([`WRITE_QUEUE`] lines: a full one drops the line, and the
//! hub counts and logs it; [`READ_QUEUE`] reads: a full one is answered
//! "busy"). Answers come back as [`StoreEvent`]s through bounded channels
//! and the reactor's waker, as the Redis bridge's do. The reactor never
//! waits on the disk.
//!
//! The schema and every statement are in `schema.rs`.
//!
//! In a cluster, history lives in Redis streams (every node reads the same
//! one), so no file is opened.

mod block;
mod ranges;
mod reader;
mod schema;

mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

use chat_hub::{StoreEvent, StoreRead, StoreRequest};
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};

use crate::emitter::Wake;

/// Lines (and retention notices) waiting for the writer. Past this, lines
/// are dropped (and counted and logged by the hub) rather than queued: a
/// stuck disk costs no memory.
pub const WRITE_QUEUE: usize = 65_536;
/// Reads waiting for the reader. The hub lets each client have one read
/// in flight; past this, a read is refused ("busy").
pub const READ_QUEUE: usize = 256;
/// Answers waiting for the reactor; a thread waits when its channel is
/// full.
const EVENT_QUEUE: usize = 1024;

/// `history_store`: where room history is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HistoryStore {
    /// In `history_path`, and in memory for speed.
    #[default]
    Sqlite,
    /// In memory only: a restart forgets it.
    Memory,
}

/// `history_sync`: when a line is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HistorySync {
    /// In batches, at least every 100 ms.
    #[default]
    Batch,
    /// Before anyone receives it (a group commit).
    Always,
}

/// An opened, ready history file: the id the next line gets, and the
/// rooms it holds lines of.
pub struct Opened {
    conn: Connection,
    path: PathBuf,
    pub next_id: u64,
    pub rooms: Vec<String>,
}

/// Opens (or creates) the history file at `path`: WAL mode, the schema.
/// The error says why, for a message that names the path.
pub fn open(path: &Path) -> Result<Opened, String> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| e.to_string())?;
    schema::prepare(&conn).map_err(|e| e.to_string())?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let next_id = schema::start_run(&conn, now_ms).map_err(|e| e.to_string())?;
    let rooms = schema::rooms(&conn).map_err(|e| e.to_string())?;
    Ok(Opened {
        conn,
        path: path.to_owned(),
        next_id,
        rooms,
    })
}

/// `--check-config`: whether a start could open the history file at
/// `path`, without creating or changing anything. An existing file must be
/// a history file of this schema; a missing one needs a directory to be
/// created in that this process may write.
pub fn check(path: &Path) -> Result<(), String> {
    if path.exists() {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| e.to_string())?;
        return schema::check_version(&conn).map_err(|e| e.to_string());
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    // The one sure test of "may create a file here": create one.
    let probe = dir.join(format!(".chat-history-check-{}", std::process::id()));
    std::fs::File::create(&probe)
        .map_err(|e| format!("cannot create a file in {}: {e}", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// The store's read path over a database in memory, filled with `lines`:
/// what `/history` and `/history since` run, for the fuzz target
/// (`fuzz/fuzz_targets/store_reads.rs`) and tests.
pub struct ReadPath {
    conn: Connection,
}

impl ReadPath {
    pub fn in_memory(lines: &[chat_hub::StoredLine]) -> Result<ReadPath, String> {
        // In memory there is no WAL: only the schema.
        let mut conn = Connection::open_in_memory().map_err(|e| e.to_string())?;
        conn.execute_batch(schema::SCHEMA)
            .map_err(|e| e.to_string())?;
        schema::insert(&mut conn, lines.iter().map(schema::Row::from))
            .map_err(|e| e.to_string())?;
        Ok(ReadPath { conn })
    }

    /// `room`'s last `count` lines, oldest first.
    pub fn recent(&self, room: &str, count: usize) -> Result<Vec<chat_hub::StoredLine>, String> {
        schema::recent(&self.conn, room, count, i64::MIN).map_err(|e| e.to_string())
    }

    /// `room`'s lines after id `after`, oldest first, at most `count`.
    pub fn since(
        &self,
        room: &str,
        after: u64,
        count: usize,
    ) -> Result<Vec<chat_hub::StoredLine>, String> {
        schema::since(&self.conn, room, after, count, i64::MIN).map_err(|e| e.to_string())
    }
}

/// What the reactor and the store's two threads share, without a lock.
struct Shared {
    /// Every line up to this id is committed.
    committed: AtomicU64,
    /// A read waits for lines not yet committed: commit now.
    commit_wanted: AtomicBool,
    /// Lines said earlier than this (Unix ms) are past the retention.
    not_before_ms: AtomicI64,
    /// The server stops: reads are dropped, the one running is stopped.
    stopping: AtomicBool,
}

impl Shared {
    /// Every line up to `committed` is in the file already.
    fn new(committed: u64) -> Shared {
        Shared {
            committed: AtomicU64::new(committed),
            commit_wanted: AtomicBool::new(false),
            not_before_ms: AtomicI64::new(i64::MIN),
            stopping: AtomicBool::new(false),
        }
    }

    fn committed(&self, through: u64) {
        self.committed.store(through, Ordering::Release);
        self.commit_wanted.store(false, Ordering::Relaxed);
    }

    fn committed_through(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    fn want_commit(&self) {
        self.commit_wanted.store(true, Ordering::Relaxed);
    }

    fn wants_commit(&self) -> bool {
        self.commit_wanted.load(Ordering::Relaxed)
    }

    fn set_not_before_ms(&self, before_ms: i64) {
        self.not_before_ms.store(before_ms, Ordering::Relaxed);
    }

    fn not_before_ms(&self) -> i64 {
        self.not_before_ms.load(Ordering::Relaxed)
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }
}

/// The reactor's ends of the store's threads.
pub struct StoreLink {
    writes: SyncSender<StoreRequest>,
    reads: SyncSender<StoreRead>,
    /// The writer's reports (commits, health).
    events: Receiver<StoreEvent>,
    /// The reader's answers.
    answers: Receiver<StoreEvent>,
    shared: Arc<Shared>,
    /// Rung once by the writer when it has written what waited.
    written: Receiver<()>,
}

impl StoreLink {
    /// Hands a request to the thread that takes it, never waiting;
    /// `false`: its queue is full.
    pub fn send(&self, request: StoreRequest) -> bool {
        match request {
            StoreRequest::Read(read) => self.reads.try_send(read).is_ok(),
            other => self.writes.try_send(other).is_ok(),
        }
    }

    /// What the threads have said since the last call: at most `max` of
    /// the writer's reports, then at most `max` answers.
    pub fn events(&self, max: usize) -> Vec<StoreEvent> {
        let reports = self.events.try_iter().take(max);
        reports.chain(self.answers.try_iter().take(max)).collect()
    }

    /// The server stops: queued reads are dropped and a running one is
    /// stopped; the writer writes what waits (for at most half a second)
    /// and this returns once it has, or soon after that time is up.
    pub fn close(self) {
        let StoreLink {
            writes,
            reads,
            events,
            answers,
            shared,
            written,
        } = self;
        shared.stopping.store(true, Ordering::Relaxed);
        // Without receivers, a thread waiting to hand an event over stops.
        drop((reads, events, answers, writes));
        let grace = writer::FINAL_WRITE + Duration::from_millis(250);
        if written.recv_timeout(grace).is_err() {
            crate::log::error("history store: the writer did not finish in time");
        }
    }
}

/// Starts the store's threads on an opened file.
/// `always` (`history_sync = "always"`): every line is committed as soon
/// as it arrives, and the hub told.
pub fn spawn(opened: Opened, always: bool, wake: Wake) -> std::io::Result<StoreLink> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let read_conn = Connection::open_with_flags(&opened.path, flags)
        .map_err(|e| std::io::Error::other(format!("cannot open it to read: {e}")))?;
    let shared = Arc::new(Shared::new(opened.next_id.saturating_sub(1)));
    let (writes, writes_rx) = sync_channel(WRITE_QUEUE);
    let (reads, reads_rx) = sync_channel(READ_QUEUE);
    let (events_tx, events) = sync_channel(EVENT_QUEUE);
    let (answers_tx, answers) = sync_channel(EVENT_QUEUE);
    let (written_tx, written) = sync_channel(1);
    let emit = |events| Emitter {
        events,
        wake: Arc::clone(&wake),
    };
    let writer = writer::Writer::new(opened.conn, always, Arc::clone(&shared), emit(events_tx));
    let reader = reader::Reader::new(read_conn, Arc::clone(&shared), emit(answers_tx));
    std::thread::Builder::new()
        .name("history-writer".into())
        .spawn(move || {
            // "always" holds every line until it is committed: its commits
            // are the delivery path, and keep the reactor's priority.
            if !always {
                crate::background::behind_the_reactor();
            }
            writer.run(writes_rx);
            let _ = written_tx.send(());
        })?;
    std::thread::Builder::new()
        .name("history-reader".into())
        .spawn(move || {
            crate::background::behind_the_reactor();
            reader.run(reads_rx)
        })?;
    Ok(StoreLink {
        writes,
        reads,
        events,
        answers,
        shared,
        written,
    })
}

/// This module's threads' way back to the reactor.
type Emitter = crate::emitter::Emitter<StoreEvent>;

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, TimeZone};

    use super::*;

    #[test]
    fn the_read_path_reads_what_was_written() {
        let zone = FixedOffset::east_opt(-5 * 3600).expect("an offset");
        let lines: Vec<chat_hub::StoredLine> = (1..=5)
            .map(|id| chat_hub::StoredLine {
                id,
                room: if id % 2 == 0 { "dev" } else { "lobby" }.into(),
                nick: "bob".into(),
                text: format!("{id}"),
                action: false,
                time: zone
                    .timestamp_millis_opt(1_790_000_000_000)
                    .single()
                    .expect("a time"),
            })
            .collect();
        let store = ReadPath::in_memory(&lines).unwrap_or_else(|e| panic!("{e}"));
        let ids = |lines: Vec<chat_hub::StoredLine>| lines.iter().map(|l| l.id).collect::<Vec<_>>();
        assert_eq!(ids(store.since("lobby", 1, 10).unwrap_or_default()), [3, 5]);
        assert_eq!(ids(store.recent("dev", 1).unwrap_or_default()), [4]);
        // The stamp comes back in the offset it was said in.
        let back = store.recent("lobby", 1).unwrap_or_default();
        assert_eq!(back.first().map(|l| l.time), Some(lines[4].time));
        assert_eq!(back.first().map(|l| *l.time.offset()), Some(zone));
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused() {
        let path = std::env::temp_dir().join(format!("chat-store-junk-{}", std::process::id()));
        std::fs::write(&path, "not a database\n".repeat(100)).expect("write");
        let error = open(&path).err();
        let _ = std::fs::remove_file(&path);
        assert!(error.is_some_and(|e| e.contains("not a database")));
    }
}
