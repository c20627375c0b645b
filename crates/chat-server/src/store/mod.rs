//! The history store: room lines kept in a SQLite file (`history_path`),
//! so a restart, or a `kill -9`, forgets nothing that was committed.
//!
//! The file is opened in `main.rs` before the reactor starts ([`open`]):
//! a store that cannot be opened stops the start, naming the path. Then a
//! thread of its own (`thread.rs`) owns the connection. The hub hands it
//! [`StoreRequest`]s through a bounded channel ([`REQUEST_QUEUE`], never
//! waited on: a full channel drops and counts); it writes lines in batched
//! transactions (committed at least every 100 ms) and answers reads with
//! [`StoreEvent`]s through a bounded channel and the reactor's waker, as
//! the Redis bridge does. The reactor never waits on the disk.
//!
//! The schema and every statement are in `schema.rs`.
//!
//! In a cluster, history lives in Redis streams (every node reads the same
//! one), so no file is opened.

mod block;
mod schema;
mod thread;

use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use chat_hub::{StoreEvent, StoreRequest};
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};

use crate::emitter::Wake;

/// Requests waiting for the store thread. Past this, lines are dropped (and
/// counted in `/stats`) rather than queued: a stuck disk costs no memory.
pub const REQUEST_QUEUE: usize = 65_536;
/// Answers waiting for the reactor; the store thread waits when it is full.
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

/// The reactor's ends of the store thread.
pub struct StoreLink {
    pub requests: SyncSender<StoreRequest>,
    pub events: Receiver<StoreEvent>,
    thread: JoinHandle<()>,
}

impl StoreLink {
    /// Stops taking requests and waits until what waits is written.
    pub fn close(self) {
        let StoreLink {
            requests, thread, ..
        } = self;
        drop(requests);
        // A thread that panicked has nothing left to write.
        let _ = thread.join();
    }
}

/// Starts the store thread on an opened file.
/// `always` (`history_sync = "always"`): every line is committed as soon
/// as it arrives, and the hub told.
pub fn spawn(opened: Opened, always: bool, wake: Wake) -> std::io::Result<StoreLink> {
    let (requests, requests_rx) = sync_channel(REQUEST_QUEUE);
    let (events_tx, events) = sync_channel(EVENT_QUEUE);
    let emit = Emitter {
        events: events_tx,
        wake,
    };
    let writer = thread::Writer::new(opened.conn, always, emit);
    let thread = std::thread::Builder::new()
        .name("history-store".into())
        .spawn(move || writer.run(requests_rx))?;
    Ok(StoreLink {
        requests,
        events,
        thread,
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
