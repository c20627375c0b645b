//! The history file's schema and every statement run on it, in one place.
//!
//! One table, `lines`, one row per room line, readable with the `sqlite3`
//! shell (ARCHITECTURE.md shows how). `PRAGMA user_version` is the schema's
//! version: a file of a newer version is refused rather than misread.

use chrono::{FixedOffset, TimeZone};
use rusqlite::{Connection, OptionalExtension, params};

use chat_hub::{NewLine, StoredLine};

/// This build's schema version (`PRAGMA user_version`).
pub(super) const VERSION: i64 = 1;

/// The schema, as a user reads it with `.schema` in the `sqlite3` shell.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS lines (
    id         INTEGER PRIMARY KEY, -- the message id: increasing across the server
    room       TEXT    NOT NULL,    -- the room, lower case, without '#'
    time_ms    INTEGER NOT NULL,    -- when it was said: Unix time in milliseconds
    utc_offset INTEGER NOT NULL,    -- the server's UTC offset then, in seconds east
    nick       TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    action     INTEGER NOT NULL     -- 1 for /me
) STRICT;
CREATE INDEX IF NOT EXISTS lines_by_room ON lines (room, id);
-- /search: a full-text index of the text. Indexed in the background, not
-- as each line is written (it would cost more than the line itself); a
-- search first indexes whatever is not yet.
CREATE VIRTUAL TABLE IF NOT EXISTS lines_text USING fts5 (text, content = 'lines', content_rowid = 'id');
-- how far lines_text goes: every line up to this id is indexed
CREATE TABLE IF NOT EXISTS lines_text_progress (indexed_to INTEGER NOT NULL) STRICT;
INSERT INTO lines_text_progress SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM lines_text_progress);
";

/// Makes a fresh or existing file ready: WAL, the schema, its version.
/// Fails on a file that is not a database, or of a newer schema.
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
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version > VERSION {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "schema version {version} is newer than this server's ({VERSION})"
        )));
    }
    conn.execute_batch(SCHEMA)?;
    conn.execute_batch(&format!("PRAGMA user_version = {VERSION}"))
}

/// The largest id kept, 0 for none.
pub(super) fn max_id(conn: &Connection) -> rusqlite::Result<u64> {
    let id: Option<i64> = conn
        .query_row("SELECT max(id) FROM lines", [], |row| row.get(0))
        .optional()?
        .flatten();
    Ok(id.map_or(0, |id| u64::try_from(id).unwrap_or(0)))
}

/// Every room the file holds lines of.
pub(super) fn rooms(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut select = conn.prepare("SELECT DISTINCT room FROM lines")?;
    let rows = select.query_map([], |row| row.get(0))?;
    rows.collect()
}

/// One line's columns, borrowed from whatever holds them.
pub(super) struct Row<'a> {
    pub(super) id: u64,
    pub(super) room: &'a str,
    pub(super) time: chat_hub::Now,
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

/// Writes `lines` in one transaction: all or none.
pub(super) fn insert<'a>(
    conn: &mut Connection,
    lines: impl IntoIterator<Item = Row<'a>>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO lines (id, room, time_ms, utc_offset, nick, text, action)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for line in lines {
            insert.execute(params![
                i64::try_from(line.id).unwrap_or(i64::MAX),
                line.room,
                line.time.timestamp_millis(),
                line.time.offset().local_minus_utc(),
                line.nick,
                line.text,
                line.action,
            ])?;
        }
    }
    tx.commit()
}

/// Adds up to `limit` lines not yet in the search index to it; how many.
pub(super) fn index_some(conn: &mut Connection, limit: usize) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    let indexed_to: i64 =
        tx.query_row("SELECT indexed_to FROM lines_text_progress", [], |row| {
            row.get(0)
        })?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let added = tx.execute(
        "INSERT INTO lines_text (rowid, text)
         SELECT id, text FROM lines WHERE id > ?1 ORDER BY id LIMIT ?2",
        params![indexed_to, limit],
    )?;
    tx.execute(
        "UPDATE lines_text_progress SET indexed_to =
             (SELECT coalesce(max(rowid), ?1) FROM
                 (SELECT id AS rowid FROM lines WHERE id > ?1 ORDER BY id LIMIT ?2))",
        params![indexed_to, limit],
    )?;
    tx.commit()?;
    Ok(added)
}

/// Deletes the lines said before `before_ms` (Unix milliseconds), oldest
/// first, in steps of `step`; how many. Ids grow with time, so it stops at
/// the first line young enough.
pub(super) fn prune(conn: &mut Connection, before_ms: i64, step: usize) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    let last_old: Option<i64> = {
        let mut oldest = tx.prepare_cached("SELECT id, time_ms FROM lines ORDER BY id LIMIT ?1")?;
        let rows = oldest.query_map(params![step], |row| Ok((row.get(0)?, row.get(1)?)))?;
        let mut last_old = None;
        for row in rows {
            let (id, time_ms): (i64, i64) = row?;
            if time_ms >= before_ms {
                break;
            }
            last_old = Some(id);
        }
        last_old
    };
    let Some(last_old) = last_old else {
        return Ok(0);
    };
    // The index forgets them first: it reads their text from `lines`.
    tx.execute(
        "INSERT INTO lines_text (lines_text, rowid, text)
         SELECT 'delete', id, text FROM lines
         WHERE id <= ?1 AND id <= (SELECT indexed_to FROM lines_text_progress)",
        params![last_old],
    )?;
    let deleted = tx.execute("DELETE FROM lines WHERE id <= ?1", params![last_old])?;
    tx.commit()?;
    Ok(deleted)
}

/// `room`'s last `count` lines, oldest first.
pub(super) fn recent(
    conn: &Connection,
    room: &str,
    count: usize,
    not_before_ms: i64,
) -> rusqlite::Result<Vec<StoredLine>> {
    let mut select = conn.prepare_cached(
        "SELECT id, room, time_ms, utc_offset, nick, text, action FROM lines
         WHERE room = ?1 AND time_ms >= ?3 ORDER BY id DESC LIMIT ?2",
    )?;
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    let rows = select.query_map(params![room, count, not_before_ms], row_line)?;
    let mut lines: Vec<StoredLine> = rows
        .filter_map(Result::transpose)
        .collect::<Result<_, _>>()?;
    lines.reverse();
    Ok(lines)
}

/// `room`'s lines after id `after`, oldest first, at most `count`.
pub(super) fn since(
    conn: &Connection,
    room: &str,
    after: u64,
    count: usize,
    not_before_ms: i64,
) -> rusqlite::Result<Vec<StoredLine>> {
    let mut select = conn.prepare_cached(
        "SELECT id, room, time_ms, utc_offset, nick, text, action FROM lines
         WHERE room = ?1 AND id > ?2 AND time_ms >= ?4 ORDER BY id LIMIT ?3",
    )?;
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    let rows = select.query_map(params![room, after, count, not_before_ms], row_line)?;
    rows.filter_map(Result::transpose).collect()
}

/// `room`'s last `count` lines holding every word of `words` (each
/// searched as a quoted phrase, so no input is FTS5 syntax), oldest first.
pub(super) fn search(
    conn: &Connection,
    room: &str,
    words: &str,
    count: usize,
    not_before_ms: i64,
) -> rusqlite::Result<Vec<StoredLine>> {
    let query: Vec<String> = words
        .split_whitespace()
        .filter(|word| word.chars().any(char::is_alphanumeric))
        .map(|word| format!("\"{}\"", word.replace('"', "\"\"")))
        .collect();
    if query.is_empty() {
        return Ok(Vec::new());
    }
    let mut select = conn.prepare_cached(
        "SELECT id, room, time_ms, utc_offset, nick, text, action FROM lines
         WHERE id IN (SELECT rowid FROM lines_text WHERE lines_text MATCH ?1)
           AND room = ?2 AND time_ms >= ?4 ORDER BY id DESC LIMIT ?3",
    )?;
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    let query = query.join(" ");
    let rows = select.query_map(params![query, room, count, not_before_ms], row_line)?;
    let mut lines: Vec<StoredLine> = rows
        .filter_map(Result::transpose)
        .collect::<Result<_, _>>()?;
    lines.reverse();
    Ok(lines)
}

/// A row as a line; `None` for a row whose time cannot be a time (edited
/// by hand), which is skipped rather than fatal.
fn row_line(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<StoredLine>> {
    let (id, time_ms, offset): (i64, i64, i32) = (row.get(0)?, row.get(2)?, row.get(3)?);
    let time =
        FixedOffset::east_opt(offset).and_then(|zone| zone.timestamp_millis_opt(time_ms).single());
    let (Some(time), Ok(id)) = (time, u64::try_from(id)) else {
        return Ok(None);
    };
    Ok(Some(StoredLine {
        id,
        room: row.get(1)?,
        nick: row.get(4)?,
        text: row.get(5)?,
        action: row.get(6)?,
        time,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        insert(&mut conn, lines.iter().map(Row::from)).expect("insert");
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
        assert_eq!(index_some(&mut conn, 4).expect("index"), 4);
        assert_eq!(index_some(&mut conn, 4).expect("index"), 2);
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
        // Line n was said at 1_790_000_000_123 + n ms.
        let before = lines[3].time.timestamp_millis();
        assert_eq!(prune(&mut conn, before, 2).expect("prune"), 2);
        assert_eq!(prune(&mut conn, before, 2).expect("prune"), 1);
        assert_eq!(prune(&mut conn, before, 2).expect("prune"), 0);
        assert_eq!(
            recent(&conn, "lobby", 100, i64::MIN).expect("read"),
            lines[3..]
        );
        let found = search(&conn, "lobby", "line", 20, i64::MIN).expect("search");
        assert_eq!(found, lines[3..]);
        conn.execute(
            "INSERT INTO lines_text (lines_text) VALUES ('integrity-check')",
            [],
        )
        .expect("the index agrees with the lines");
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
