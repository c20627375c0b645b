//! The history file's schema and every statement run on it, in one place.
//!
//! Room lines are kept in *blocks*: one row per room per batch, its lines
//! one per text line (`block.rs` has the format). A row per line cost the
//! store thread about 2 µs a line (SQLite's work per row, and an index),
//! which on the server's one core came straight out of fan-out; a block
//! costs a copy per line and a row per batch. Reads (`/history`, `/history
//! since`, `/search`) take whole blocks and pick their lines.
//!
//! For a person with the `sqlite3` shell there is a view, `lines`, with one
//! row per line (ARCHITECTURE.md shows how to read it). `PRAGMA
//! user_version` is the schema's version: a file of a newer version is
//! refused rather than misread.

use rusqlite::{Connection, OptionalExtension, params};

use chat_hub::{NewLine, Now, StoredLine};

use super::block::{self, TimeFormat};

/// This build's schema version (`PRAGMA user_version`). Version 2 files
/// (whose search index held stamps and nicks) are brought up to it at
/// start: their index is dropped and built again.
pub(super) const VERSION: i64 = 3;

/// The schema, as a user reads it with `.schema` in the `sqlite3` shell.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS blocks (
    last_id  INTEGER PRIMARY KEY, -- the id of its last line (ids increase across the server)
    room     TEXT    NOT NULL,    -- the room, lower case, without '#'
    first_id INTEGER NOT NULL,    -- the id of its first line
    last_ms  INTEGER NOT NULL,    -- when its last line was said: Unix time in milliseconds
    lines    TEXT    NOT NULL     -- one per text line: #ID TIME <nick> text, or #ID TIME * nick text
) STRICT;
CREATE INDEX IF NOT EXISTS blocks_by_room ON blocks (room, last_id);
-- one row per line, for reading the history by hand
CREATE VIEW IF NOT EXISTS lines (room, line) AS
    WITH RECURSIVE split (room, block, line, rest) AS (
        SELECT room, last_id, NULL, lines FROM blocks
        UNION ALL
        SELECT room, block, substr(rest, 1, instr(rest, char(10)) - 1),
               substr(rest, instr(rest, char(10)) + 1)
        FROM split WHERE rest <> ''
    )
    SELECT room, line FROM split WHERE line IS NOT NULL ORDER BY block;
-- /search: a full-text index of what the lines of each block say (not
-- their ids, stamps or nicks), by room; rowid is the block's last_id.
-- Indexed behind the writes, in quiet moments; a search reads the blocks
-- not yet indexed directly.
CREATE VIRTUAL TABLE IF NOT EXISTS search_text USING fts5 (room, text, content = '', contentless_delete = 1);
-- how far search_text goes: every block up to this last_id is indexed
CREATE TABLE IF NOT EXISTS search_progress (indexed_to INTEGER NOT NULL) STRICT;
INSERT INTO search_progress SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM search_progress);
-- every start of a server on this file
CREATE TABLE IF NOT EXISTS runs (started_ms INTEGER NOT NULL) STRICT;
";

/// The accounts' tables, in the same file (their statements are the
/// account store's, `accounts/book/file.rs`). A password is kept only as
/// its hash.
const ACCOUNTS_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    name_key      TEXT    PRIMARY KEY, -- the name, lower case
    name          TEXT    NOT NULL,    -- as its owner spelled it
    password_hash TEXT    NOT NULL,    -- argon2id, PHC form; never the password
    locked        INTEGER NOT NULL,    -- 1: nobody may log in to it
    created_ms    INTEGER NOT NULL     -- Unix time in milliseconds
) STRICT;
-- private messages waiting for an account to log in (deleted once delivered)
CREATE TABLE IF NOT EXISTS mail (
    id         INTEGER PRIMARY KEY, -- increasing, never reused
    to_key     TEXT    NOT NULL,    -- the account, lower case
    from_nick  TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    sent_ms    INTEGER NOT NULL,    -- Unix time in milliseconds
    utc_offset INTEGER NOT NULL     -- the server's UTC offset then, in seconds
) STRICT;
CREATE INDEX IF NOT EXISTS mail_by_account ON mail (to_key, id);
-- where each account stopped reading each room: every line up to `through`
CREATE TABLE IF NOT EXISTS read_markers (
    account_key TEXT    NOT NULL,
    room        TEXT    NOT NULL,
    through     INTEGER NOT NULL,
    through_ms  INTEGER NOT NULL DEFAULT 0, -- that line's time (Unix ms), 0: unknown
    PRIMARY KEY (account_key, room)
) STRICT;
";

/// How far ids jump at each start on a file used before. A `kill -9` loses
/// the lines not yet committed (with `history_sync = "batch"`), and
/// clients may have seen their ids: the next run must never give those ids
/// again. Fewer lines than this are ever in flight (the channel toward the
/// store, the batch, the lines kept while writing fails).
pub(super) const ID_GAP: u64 = 1 << 20;

/// Makes a fresh or existing file ready: WAL, the schema, its version.
/// Fails on a file that is not a database, or of another schema.
pub(super) fn prepare(conn: &Connection) -> rusqlite::Result<()> {
    // WAL: readers never block the writer, and a commit is one append.
    // NORMAL: a commit survives the process being killed (the OS has it);
    // only a power cut may lose the last commits, never the file's shape.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "journal_mode stayed {mode}"
        )));
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;")?;
    check_version(conn)?;
    // Version 2 indexed whole lines (stamps and nicks too): a word like
    // the year matched every block. Its index goes; the new one is built
    // in the background.
    conn.execute_batch(
        "DROP TABLE IF EXISTS blocks_text; DROP TABLE IF EXISTS blocks_text_progress;",
    )?;
    conn.execute_batch(SCHEMA)?;
    conn.execute_batch(ACCOUNTS_SCHEMA)?;
    add_marker_times(conn)?;
    conn.execute_batch(&format!("PRAGMA user_version = {VERSION}"))
}

/// A file made before markers kept times has `read_markers` without
/// `through_ms`: added, each marker's time unknown (0) until it moves.
fn add_marker_times(conn: &Connection) -> rusqlite::Result<()> {
    let has: i64 = conn.query_row(
        "SELECT count(*) FROM pragma_table_info('read_markers') WHERE name = 'through_ms'",
        [],
        |row| row.get(0),
    )?;
    if has == 0 {
        conn.execute_batch(
            "ALTER TABLE read_markers ADD COLUMN through_ms INTEGER NOT NULL DEFAULT 0",
        )?;
    }
    Ok(())
}

/// Records this start (at `now_ms`); the id the first new line gets: one
/// past the largest kept, plus [`ID_GAP`] if a server ran on the file
/// before.
pub(super) fn start_run(conn: &Connection, now_ms: i64) -> rusqlite::Result<u64> {
    let id: Option<i64> = conn
        .query_row("SELECT max(last_id) FROM blocks", [], |row| row.get(0))
        .optional()?
        .flatten();
    let kept = id.map_or(0, |id| u64::try_from(id).unwrap_or(0));
    let runs: i64 = conn.query_row("SELECT count(*) FROM runs", [], |row| row.get(0))?;
    conn.execute("INSERT INTO runs (started_ms) VALUES (?1)", params![now_ms])?;
    let gap = if runs > 0 { ID_GAP } else { 0 };
    Ok(kept.saturating_add(gap).saturating_add(1))
}

/// Fails on a file that is not a database, or of another schema (0: a
/// new file).
pub(super) fn check_version(conn: &Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version != 0 && version != 2 && version != VERSION {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "schema version {version}, and this server reads version {VERSION}"
        )));
    }
    Ok(())
}

/// The largest id kept, 0 for none.
#[cfg(test)]
pub(super) fn max_id(conn: &Connection) -> rusqlite::Result<u64> {
    let id: Option<i64> = conn
        .query_row("SELECT max(last_id) FROM blocks", [], |row| row.get(0))
        .optional()?
        .flatten();
    Ok(id.map_or(0, |id| u64::try_from(id).unwrap_or(0)))
}

/// Every room the file holds lines of.
pub(super) fn rooms(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut select = conn.prepare("SELECT DISTINCT room FROM blocks")?;
    let rows = select.query_map([], |row| row.get(0))?;
    rows.collect()
}

/// One line's columns, borrowed from whatever holds them.
pub(super) struct Row<'a> {
    pub(super) id: u64,
    pub(super) room: &'a str,
    pub(super) time: Now,
    pub(super) nick: &'a str,
    pub(super) text: &'a str,
    pub(super) action: bool,
}

impl<'a> From<&'a NewLine> for Row<'a> {
    fn from(line: &'a NewLine) -> Row<'a> {
        let (id, room, time, action) = (line.id, &*line.room, line.time, line.action);
        let (nick, text) = (line.nick(), line.text());
        Row {
            id,
            room,
            time,
            nick,
            text,
            action,
        }
    }
}

impl<'a> From<&'a StoredLine> for Row<'a> {
    fn from(line: &'a StoredLine) -> Row<'a> {
        let (id, room, time, action) = (line.id, line.room.as_str(), line.time, line.action);
        let (nick, text) = (line.nick.as_str(), line.text.as_str());
        Row {
            id,
            room,
            time,
            nick,
            text,
            action,
        }
    }
}

/// A room's lines of one batch, on their way to a row.
struct Block<'a> {
    room: &'a str,
    first_id: u64,
    last_id: u64,
    last_ms: i64,
    lines: String,
}

/// Writes `lines` (in id order) in one transaction, a block per room: all
/// or none.
pub(super) fn insert<'a>(
    conn: &mut Connection,
    lines: impl IntoIterator<Item = Row<'a>>,
) -> rusqlite::Result<()> {
    let mut format = TimeFormat::new();
    // A batch holds few rooms: a list beats a map.
    let mut blocks: Vec<Block<'a>> = Vec::new();
    for line in lines {
        let at = match blocks.iter().position(|block| block.room == line.room) {
            Some(at) => at,
            None => {
                blocks.push(Block {
                    room: line.room,
                    first_id: line.id,
                    last_id: line.id,
                    last_ms: 0,
                    lines: String::with_capacity(4096),
                });
                blocks.len() - 1
            }
        };
        let block = &mut blocks[at];
        let (id, time) = (line.id, line.time);
        block::push_line(
            &mut block.lines,
            &mut format,
            id,
            time,
            line.action,
            line.nick,
            line.text,
        );
        (block.last_id, block.last_ms) = (id, time.timestamp_millis());
    }
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO blocks (last_id, room, first_id, last_ms, lines)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for block in &blocks {
            insert.execute(params![
                i64::try_from(block.last_id).unwrap_or(i64::MAX),
                block.room,
                i64::try_from(block.first_id).unwrap_or(i64::MAX),
                block.last_ms,
                block.lines,
            ])?;
        }
    }
    tx.commit()
}

/// Adds up to `limit` blocks not yet in the search index to it (what
/// their lines say, by room); how many.
pub(super) fn index_some(conn: &mut Connection, limit: usize) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    let indexed_to = indexed_to(&tx)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let (mut added, mut upto) = (0, indexed_to);
    {
        let mut select = tx.prepare_cached(
            "SELECT last_id, room, lines FROM blocks WHERE last_id > ?1 ORDER BY last_id LIMIT ?2",
        )?;
        let mut insert =
            tx.prepare_cached("INSERT INTO search_text (rowid, room, text) VALUES (?1, ?2, ?3)")?;
        let mut blocks = select.query(params![indexed_to, limit])?;
        let mut text = String::new();
        while let Some(block) = blocks.next()? {
            let last_id: i64 = block.get(0)?;
            let (room, lines) = (block.get_ref(1)?.as_str()?, block.get_ref(2)?.as_str()?);
            text.clear();
            for said in block::texts(lines) {
                text.push_str(said);
                text.push('\n');
            }
            insert.execute(params![last_id, room, text])?;
            (added, upto) = (added + 1, last_id);
        }
    }
    tx.execute("UPDATE search_progress SET indexed_to = ?1", params![upto])?;
    tx.commit()?;
    Ok(added)
}

/// Every block up to this `last_id` is in the search index.
fn indexed_to(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT indexed_to FROM search_progress", [], |row| {
        row.get(0)
    })
}

/// Deletes the blocks whose every line was said before `before_ms` (Unix
/// milliseconds), oldest first, at most `step`; how many.
pub(super) fn prune(conn: &mut Connection, before_ms: i64, step: usize) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    // Ids grow with time: the old blocks are the first ones, up to the
    // first young one.
    let last_old: Option<i64> = {
        let mut oldest =
            tx.prepare_cached("SELECT last_id, last_ms FROM blocks ORDER BY last_id LIMIT ?1")?;
        let rows = oldest.query_map(params![step], |row| Ok((row.get(0)?, row.get(1)?)))?;
        let mut last_old = None;
        for row in rows {
            let (id, last_ms): (i64, i64) = row?;
            if last_ms >= before_ms {
                break;
            }
            last_old = Some(id);
        }
        last_old
    };
    let Some(last_old) = last_old else {
        return Ok(0);
    };
    tx.execute(
        "DELETE FROM search_text WHERE rowid <= ?1",
        params![last_old],
    )?;
    let deleted = tx.execute("DELETE FROM blocks WHERE last_id <= ?1", params![last_old])?;
    tx.commit()?;
    Ok(deleted)
}

/// `room`'s last `count` lines, oldest first, none said before
/// `not_before_ms`.
pub(super) fn recent(
    conn: &Connection,
    room: &str,
    count: usize,
    not_before_ms: i64,
) -> rusqlite::Result<Vec<StoredLine>> {
    let mut select = conn.prepare_cached(
        "SELECT lines FROM blocks WHERE room = ?1 AND last_ms >= ?2 ORDER BY last_id DESC",
    )?;
    let mut blocks = select.query(params![room, not_before_ms])?;
    let mut lines = Vec::new();
    while lines.len() < count
        && let Some(block) = blocks.next()?
    {
        let text: String = block.get(0)?;
        let young = block::lines(room, &text)
            .rev()
            .filter(|line| line.time.timestamp_millis() >= not_before_ms);
        lines.extend(young.take(count - lines.len()));
    }
    lines.reverse();
    Ok(lines)
}

/// `room`'s lines after id `after`, oldest first, at most `count`, none
/// said before `not_before_ms`.
pub(super) fn since(
    conn: &Connection,
    room: &str,
    after: u64,
    count: usize,
    not_before_ms: i64,
) -> rusqlite::Result<Vec<StoredLine>> {
    let mut select = conn.prepare_cached(
        "SELECT lines FROM blocks WHERE room = ?1 AND last_id > ?2 AND last_ms >= ?3
         ORDER BY last_id",
    )?;
    let floor = i64::try_from(after).unwrap_or(i64::MAX);
    let mut blocks = select.query(params![room, floor, not_before_ms])?;
    let mut lines = Vec::new();
    while lines.len() < count
        && let Some(block) = blocks.next()?
    {
        let text: String = block.get(0)?;
        let wanted = block::lines(room, &text)
            .filter(|line| line.id > after && line.time.timestamp_millis() >= not_before_ms);
        lines.extend(wanted.take(count - lines.len()));
    }
    Ok(lines)
}

/// The most blocks one search reads: with the time budget the reader
/// sets (`reader.rs`), what bounds the work of one search.
pub(super) const SEARCH_BLOCKS_MAX: usize = 2000;

/// What a search found, oldest first; `complete`: it looked everywhere
/// (else it used up [`SEARCH_BLOCKS_MAX`] or was interrupted).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Found {
    pub(super) lines: Vec<StoredLine>,
    pub(super) complete: bool,
}

/// `room`'s last `count` lines holding every word of `words` (each
/// searched as a quoted phrase of its tokens, so no input is FTS5 syntax),
/// oldest first, none said before `not_before_ms`. The blocks not yet in
/// the index are read whole; the index gives the rest, newest first, in
/// this room only. An interrupted search (the reader's progress handler)
/// returns what it found by then.
pub(super) fn search(
    conn: &Connection,
    room: &str,
    words: &str,
    count: usize,
    not_before_ms: i64,
) -> rusqlite::Result<Found> {
    let phrases: Vec<Vec<String>> = words
        .split_whitespace()
        .map(block::tokens)
        .filter(|tokens| !tokens.is_empty())
        .collect();
    let mut found = Found {
        lines: Vec::new(),
        complete: true,
    };
    if phrases.is_empty() {
        return Ok(found);
    }
    let mut budget = SEARCH_BLOCKS_MAX;
    let interrupted = |found: &mut Found, e: rusqlite::Error| {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) {
            found.complete = false;
            Ok(())
        } else {
            Err(e)
        }
    };
    // Whether a block's text adds lines; `false`: enough, stop.
    let mut take = |found: &mut Found, text: &str| -> bool {
        let picked = block::lines(room, text).rev().filter(|line| {
            line.time.timestamp_millis() >= not_before_ms
                && block::holds_every_word(&line.text, &phrases)
        });
        let room_left = count - found.lines.len();
        found.lines.extend(picked.take(room_left));
        budget -= 1;
        if budget == 0 && found.lines.len() < count {
            found.complete = false;
        }
        found.lines.len() < count && budget > 0
    };
    let indexed_to = match indexed_to(conn) {
        Ok(id) => id,
        Err(e) => return interrupted(&mut found, e).map(|()| found),
    };
    // Newest first: the blocks not yet indexed are the newest.
    let mut more = true;
    {
        let mut unindexed = conn.prepare_cached(
            "SELECT lines FROM blocks WHERE room = ?1 AND last_id > ?2 AND last_ms >= ?3
             ORDER BY last_id DESC",
        )?;
        let mut blocks = unindexed.query(params![room, indexed_to, not_before_ms])?;
        while more {
            match blocks.next() {
                Ok(Some(block)) => more = take(&mut found, block.get_ref(0)?.as_str()?),
                Ok(None) => break,
                Err(e) => {
                    interrupted(&mut found, e)?;
                    more = false;
                }
            }
        }
    }
    if more {
        let mut query = match block::tokens(room).join(" ") {
            room if room.is_empty() => String::new(),
            room => format!("room : \"{room}\" AND "),
        };
        let words: Vec<String> = phrases
            .iter()
            .map(|tokens| format!("text : \"{}\"", tokens.join(" ")))
            .collect();
        query.push_str(&words.join(" AND "));
        let mut matches = conn.prepare_cached(
            "SELECT rowid FROM search_text WHERE search_text MATCH ?1 AND rowid <= ?2
             ORDER BY rowid DESC",
        )?;
        let mut block_of = conn
            .prepare_cached("SELECT lines, last_ms FROM blocks WHERE last_id = ?1 AND room = ?2")?;
        let mut ids = matches.query(params![query, indexed_to])?;
        while more {
            let block = match ids.next() {
                Ok(Some(id)) => {
                    let id: i64 = id.get(0)?;
                    block_of
                        .query_row(params![id, room], |row| {
                            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                        })
                        .optional()
                }
                Ok(None) => break,
                Err(e) => Err(e),
            };
            match block {
                // Older blocks are past the retention too.
                Ok(Some((_, last_ms))) if last_ms < not_before_ms => break,
                Ok(Some((text, _))) => more = take(&mut found, &text),
                Ok(None) => {} // another room's block of the same tokens
                Err(e) => {
                    interrupted(&mut found, e)?;
                    more = false;
                }
            }
        }
    }
    found.lines.reverse();
    Ok(found)
}

#[cfg(test)]
mod tests;
