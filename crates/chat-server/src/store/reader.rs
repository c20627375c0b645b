//! The store's reader: `/history`, `/history since` and `/search` on a
//! connection and a thread of their own, so no read ever delays a line
//! (WAL lets it read while the writer writes), and a slow read delays only
//! other reads.
//!
//! Each read is bounded: it is skipped if nobody waits for it any more
//! ([`ReadCancel`]: the client left, asked again, or gave up), and SQLite's
//! progress handler stops it once it has run [`READ_BUDGET`], is called
//! off, or the server stops. A search also reads at most
//! `schema::SEARCH_BLOCKS_MAX` blocks; a search stopped early answers
//! with what it found ([`ReadAnswer::Partial`]).
//!
//! A read sees every line said before it was asked: it waits (at most
//! [`COMMIT_WAIT`]) until the writer has committed the last line handed to
//! the store before it ([`StoreRead::sees_through`]), asking the writer to
//! commit now rather than at the end of its batch.

use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use chat_hub::{ReadAnswer, ReadCancel, ReadKind, StoreEvent, StoreRead};
use rusqlite::Connection;

use super::{Emitter, Shared, ranges, schema};

/// The longest one read may run.
const READ_BUDGET: Duration = Duration::from_millis(250);
/// The longest a read waits for the lines said before it to be committed;
/// past it, the store is too busy to answer (the hub answers without it).
const COMMIT_WAIT: Duration = Duration::from_secs(1);
/// How often the reader looks whether the lines it waits for are in.
const COMMIT_POLL: Duration = Duration::from_millis(1);
/// SQLite virtual-machine steps between two looks at the budget.
const PROGRESS_STEPS: i32 = 1000;

pub(super) struct Reader {
    conn: Connection,
    shared: Arc<Shared>,
    emit: Emitter,
}

impl Reader {
    pub(super) fn new(conn: Connection, shared: Arc<Shared>, emit: Emitter) -> Reader {
        Reader { conn, shared, emit }
    }

    /// Answers reads until the hub's end of the channel is gone or the
    /// server stops (then what is queued is dropped: nobody waits for it).
    pub(super) fn run(self, reads: Receiver<StoreRead>) {
        for read in reads.iter() {
            if self.shared.is_stopping() {
                return;
            }
            if read.cancel.is_cancelled() {
                continue;
            }
            let answer = self.answer(&read);
            if read.cancel.is_cancelled() {
                continue; // nobody waits for it now
            }
            let (client, token) = (read.client, read.token);
            if !self.emit.emit(StoreEvent::Read {
                client,
                token,
                answer,
            }) {
                return;
            }
        }
    }

    fn answer(&self, read: &StoreRead) -> ReadAnswer {
        if !self.wait_for_commit(read.sees_through, &read.cancel) {
            return ReadAnswer::Failed;
        }
        let (cancel, shared) = (read.cancel.clone(), Arc::clone(&self.shared));
        let until = Instant::now() + READ_BUDGET;
        self.conn.progress_handler(
            PROGRESS_STEPS,
            Some(move || cancel.is_cancelled() || shared.is_stopping() || Instant::now() >= until),
        );
        let (conn, room, not_before) = (&self.conn, &*read.room, self.shared.not_before_ms());
        let answer = match &read.kind {
            ReadKind::Recent { count } => {
                schema::recent(conn, room, *count, not_before).map(ReadAnswer::Lines)
            }
            // One more than asked says another page follows.
            ReadKind::Since { after, count } => {
                schema::since(conn, room, *after, count.saturating_add(1), not_before)
                    .map(ReadAnswer::Lines)
            }
            ReadKind::Range {
                after,
                before,
                count,
                newest,
            } => {
                let range = ranges::Range {
                    after: *after,
                    before: *before,
                    count: *count,
                    newest: *newest,
                };
                ranges::range(conn, room, &range, not_before).map(ReadAnswer::Lines)
            }
            ReadKind::Around { at, count } => {
                ranges::around(conn, room, *at, *count, not_before).map(ReadAnswer::Lines)
            }
            ReadKind::Search { words, count } => {
                schema::search(conn, room, words, *count, not_before).map(|found| {
                    match found.complete {
                        true => ReadAnswer::Lines(found.lines),
                        false => ReadAnswer::Partial(found.lines),
                    }
                })
            }
        };
        self.conn.progress_handler(0, None::<fn() -> bool>);
        answer.unwrap_or_else(|e| {
            if e.sqlite_error_code() != Some(rusqlite::ErrorCode::OperationInterrupted) {
                crate::log::warn(&format!("history store: a read failed: {e}"));
            }
            ReadAnswer::Failed
        })
    }

    /// Waits until every line up to `through` is committed; `false`: it
    /// took too long, or nobody waits any more.
    fn wait_for_commit(&self, through: u64, cancel: &ReadCancel) -> bool {
        let until = Instant::now() + COMMIT_WAIT;
        while self.shared.committed_through() < through {
            if cancel.is_cancelled() || self.shared.is_stopping() || Instant::now() >= until {
                return false;
            }
            self.shared.want_commit();
            std::thread::sleep(COMMIT_POLL);
        }
        true
    }
}
