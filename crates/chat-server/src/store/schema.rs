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

/// This build's schema version (`PRAGMA user_version`).
pub(super) const VERSION: i64 = 2;

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
-- /search: a full-text index of the blocks. Indexed in the background, not
-- as each batch is written; a search first indexes whatever is not yet.
CREATE VIRTUAL TABLE IF NOT EXISTS blocks_text USING fts5 (lines, content = 'blocks', content_rowid = 'last_id');
-- how far blocks_text goes: every block up to this last_id is indexed
CREATE TABLE IF NOT EXISTS blocks_text_progress (indexed_to INTEGER NOT NULL) STRICT;
INSERT INTO blocks_text_progress SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM blocks_text_progress);
-- every start of a server on this file
CREATE TABLE IF NOT EXISTS runs (started_ms INTEGER NOT NULL) STRICT;
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
    conn.execute_batch(SCHEMA)?;
    conn.execute_batch(&format!("PRAGMA user_version = {VERSION}"))
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
    if version != 0 && version != VERSION {
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
    let format = TimeFormat::new();
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
            &format,
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

/// Adds up to `limit` blocks not yet in the search index to it; how many.
pub(super) fn index_some(conn: &mut Connection, limit: usize) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    let indexed_to: i64 =
        tx.query_row("SELECT indexed_to FROM blocks_text_progress", [], |row| {
            row.get(0)
        })?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let upto: Option<i64> = tx.query_row(
        "SELECT max(last_id) FROM
             (SELECT last_id FROM blocks WHERE last_id > ?1 ORDER BY last_id LIMIT ?2)",
        params![indexed_to, limit],
        |row| row.get(0),
    )?;
    let Some(upto) = upto else {
        return Ok(0);
    };
    let added = tx.execute(
        "INSERT INTO blocks_text (rowid, lines)
         SELECT last_id, lines FROM blocks WHERE last_id > ?1 AND last_id <= ?2",
        params![indexed_to, upto],
    )?;
    tx.execute(
        "UPDATE blocks_text_progress SET indexed_to = ?1",
        params![upto],
    )?;
    tx.commit()?;
    Ok(added)
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
    // The index forgets them first: it reads their text from `blocks`.
    tx.execute(
        "INSERT INTO blocks_text (blocks_text, rowid, lines)
         SELECT 'delete', last_id, lines FROM blocks
         WHERE last_id <= ?1 AND last_id <= (SELECT indexed_to FROM blocks_text_progress)",
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

/// `room`'s last `count` lines holding every word of `words` (each
/// searched as a quoted phrase, so no input is FTS5 syntax), oldest first,
/// none said before `not_before_ms`. Only blocks in the index are searched
/// (see [`index_some`]).
pub(super) fn search(
    conn: &Connection,
    room: &str,
    words: &str,
    count: usize,
    not_before_ms: i64,
) -> rusqlite::Result<Vec<StoredLine>> {
    let phrases: Vec<Vec<String>> = words
        .split_whitespace()
        .map(block::tokens)
        .filter(|tokens| !tokens.is_empty())
        .collect();
    if phrases.is_empty() {
        return Ok(Vec::new());
    }
    let query: Vec<String> = phrases
        .iter()
        .map(|tokens| format!("\"{}\"", tokens.join(" ")))
        .collect();
    // The index finds blocks with every word somewhere; the lines holding
    // every word are picked from them (the nick and time are in a block's
    // text too, and must not count).
    let mut select = conn.prepare_cached(
        "SELECT lines FROM blocks
         WHERE last_id IN (SELECT rowid FROM blocks_text WHERE blocks_text MATCH ?1)
           AND room = ?2 AND last_ms >= ?3 ORDER BY last_id DESC",
    )?;
    let mut blocks = select.query(params![query.join(" "), room, not_before_ms])?;
    let mut lines = Vec::new();
    while lines.len() < count
        && let Some(block) = blocks.next()?
    {
        let text: String = block.get(0)?;
        let found = block::lines(room, &text).rev().filter(|line| {
            line.time.timestamp_millis() >= not_before_ms
                && block::holds_every_word(&line.text, &phrases)
        });
        lines.extend(found.take(count - lines.len()));
    }
    lines.reverse();
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, TimeZone};
    use proptest::prelude::*;

    use super::*;

    fn line(id: u64, room: &str) -> StoredLine {
        let zone =
            FixedOffset::east_opt(3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"));
        let time = zone
            .timestamp_millis_opt(1_790_000_000_123 + id as i64)
            .single()
            .expect("a time");
        StoredLine {
            id,
            room: room.to_owned(),
            nick: "alice".into(),
            text: format!("line {id}"),
            action: id.is_multiple_of(3),
            time,
        }
    }

    fn database(rooms: &[u8]) -> (Connection, Vec<StoredLine>) {
        let mut conn = Connection::open_in_memory().expect("an in-memory database");
        conn.execute_batch(SCHEMA).expect("the schema");
        let lines: Vec<StoredLine> = rooms
            .iter()
            .enumerate()
            .map(|(i, &room)| {
                line(
                    i as u64 + 1,
                    ["lobby", "dev", "side"][usize::from(room % 3)],
                )
            })
            .collect();
        // Batches of two lines: blocks of one or two lines, often several
        // per room.
        for batch in lines.chunks(2) {
            insert(&mut conn, batch.iter().map(Row::from)).expect("insert");
        }
        (conn, lines)
    }

    #[test]
    fn lines_come_back_as_written_newest_last() {
        let (mut conn, lines) = database(&[0, 1, 0, 0, 2, 0]);
        let lobby: Vec<StoredLine> = lines
            .iter()
            .filter(|l| l.room == "lobby")
            .cloned()
            .collect();
        assert_eq!(
            recent(&conn, "lobby", 2, i64::MIN).expect("read"),
            lobby[2..]
        );
        assert_eq!(recent(&conn, "lobby", 100, i64::MIN).expect("read"), lobby);
        assert_eq!(
            since(&conn, "lobby", 1, 2, i64::MIN).expect("read"),
            lobby[1..3]
        );
        assert_eq!(max_id(&conn).expect("max"), 6);
        let unindexed = search(&conn, "lobby", "line", 20, i64::MIN).expect("search");
        assert!(unindexed.is_empty(), "indexing is a step of its own");
        // Five blocks: lines 1 | 2 | 3-4 | 5 | 6.
        assert_eq!(index_some(&mut conn, 4).expect("index"), 4);
        assert_eq!(index_some(&mut conn, 4).expect("index"), 1);
        assert_eq!(index_some(&mut conn, 4).expect("index"), 0);
        let found = search(&conn, "lobby", "line \"6", 20, i64::MIN).expect("search");
        assert_eq!(found, lobby[3..]);
        assert!(
            search(&conn, "lobby", "AND OR NEAR( *", 20, i64::MIN)
                .expect("no syntax")
                .is_empty()
        );
        let mut rooms = super::rooms(&conn).expect("rooms");
        rooms.sort();
        assert_eq!(rooms, ["dev", "lobby", "side"]);
    }

    #[test]
    fn pruning_forgets_the_oldest_lines_and_their_index_entries() {
        let (mut conn, lines) = database(&[0, 0, 0, 0, 0, 0]);
        index_some(&mut conn, 100).expect("index");
        // Line n was said at 1_790_000_000_123 + n ms; blocks 1-2, 3-4,
        // 5-6: only the first is wholly older than line 4.
        let before = lines[3].time.timestamp_millis();
        assert_eq!(prune(&mut conn, before, 2).expect("prune"), 1);
        assert_eq!(prune(&mut conn, before, 2).expect("prune"), 0);
        assert_eq!(
            recent(&conn, "lobby", 100, i64::MIN).expect("read"),
            lines[2..]
        );
        let found = search(&conn, "lobby", "line", 20, i64::MIN).expect("search");
        assert_eq!(found, lines[2..]);
        conn.execute(
            "INSERT INTO blocks_text (blocks_text) VALUES ('integrity-check')",
            [],
        )
        .expect("the index agrees with the blocks");
        let by_hand: Vec<String> = conn
            .prepare("SELECT line FROM lines WHERE room = 'lobby'")
            .and_then(|mut select| select.query_map([], |row| row.get(0))?.collect())
            .expect("the lines view");
        assert_eq!(by_hand.len(), 4, "{by_hand:?}");
        assert!(
            by_hand[0].starts_with("#3 2026-09-21T15:13:20.126+01:00 "),
            "{by_hand:?}"
        );
        // What is past the retention is not read, pruned or not.
        let young = recent(&conn, "lobby", 100, lines[5].time.timestamp_millis()).expect("read");
        assert_eq!(young, lines[5..]);
    }

    proptest! {
        /// Paging with `since` in steps of any size yields each of a room's
        /// lines once, in order.
        #[test]
        fn paging_since_yields_every_line_once_in_order(
            rooms in proptest::collection::vec(0u8..3, 0..120),
            steps in proptest::collection::vec(1usize..17, 1..10),
        ) {
            let (conn, lines) = database(&rooms);
            let expected: Vec<u64> = lines.iter().filter(|l| l.room == "dev").map(|l| l.id).collect();
            let (mut after, mut got) = (0, Vec::new());
            for step in steps.iter().cycle() {
                let page = since(&conn, "dev", after, *step, i64::MIN).expect("read");
                prop_assert!(page.len() <= *step);
                let Some(last) = page.last() else { break };
                after = last.id;
                got.extend(page.iter().map(|l| l.id));
            }
            prop_assert_eq!(got, expected);
        }
    }
}
