//! Reads of a room's lines between two points, by message id or by time
//! (what IRC's `CHATHISTORY` asks), block by block from the side the
//! answer keeps, stopping once it has enough.

use chat_proto::Point;
use rusqlite::{Connection, params};

use chat_hub::StoredLine;

use super::block;

/// Lines strictly between `after` and `before` (each unbounded when
/// `None`), at most `count`: the newest of them when `newest`, else the
/// oldest.
pub(crate) struct Range {
    pub(crate) after: Option<Point>,
    pub(crate) before: Option<Point>,
    pub(crate) count: usize,
    pub(crate) newest: bool,
}

impl Range {
    fn admits(&self, line: &StoredLine) -> bool {
        let after = self.after.is_none_or(|at| match at {
            Point::Id(id) => line.id > id,
            Point::Millis(ms) => line.time.timestamp_millis() > ms,
        });
        let before = self.before.is_none_or(|at| match at {
            Point::Id(id) => line.id < id,
            Point::Millis(ms) => line.time.timestamp_millis() < ms,
        });
        after && before
    }
}

/// `room`'s lines in `range`, oldest first, none said before
/// `not_before_ms`.
pub(crate) fn range(
    conn: &Connection,
    room: &str,
    range: &Range,
    not_before_ms: i64,
) -> rusqlite::Result<Vec<StoredLine>> {
    // Blocks that may hold a line of the range: their ids and last times
    // bound what is read, whichever way it is read.
    let low_id = match range.after {
        Some(Point::Id(id)) => i64::try_from(id).unwrap_or(i64::MAX),
        _ => -1,
    };
    let high_id = match range.before {
        Some(Point::Id(id)) => i64::try_from(id).unwrap_or(i64::MAX),
        _ => i64::MAX,
    };
    let low_ms = match range.after {
        Some(Point::Millis(ms)) => ms.max(not_before_ms),
        _ => not_before_ms,
    };
    let order = if range.newest { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT lines FROM blocks WHERE room = ?1 AND last_id > ?2 AND first_id < ?3
         AND last_ms >= ?4 ORDER BY last_id {order}"
    );
    let mut select = conn.prepare_cached(&sql)?;
    let mut blocks = select.query(params![room, low_id, high_id, low_ms])?;
    let mut lines = Vec::new();
    while lines.len() < range.count
        && let Some(block) = blocks.next()?
    {
        let text: String = block.get(0)?;
        let young = |line: &StoredLine| line.time.timestamp_millis() >= not_before_ms;
        let in_block = block::lines(room, &text).filter(|line| young(line) && range.admits(line));
        let want = range.count - lines.len();
        if range.newest {
            let mut found: Vec<StoredLine> = in_block.collect();
            let keep = found.len().saturating_sub(want);
            lines.extend(found.drain(keep..).rev());
        } else {
            lines.extend(in_block.take(want));
        }
    }
    if range.newest {
        lines.reverse();
    }
    Ok(lines)
}

/// `room`'s lines around `at`: the newest `count / 2` before it, then the
/// oldest after it (the rest of `count`), oldest first.
pub(crate) fn around(
    conn: &Connection,
    room: &str,
    at: Point,
    count: usize,
    not_before_ms: i64,
) -> rusqlite::Result<Vec<StoredLine>> {
    let before = Range {
        after: None,
        before: Some(at),
        count: count / 2,
        newest: true,
    };
    let mut lines = range(conn, room, &before, not_before_ms)?;
    let after = Range {
        after: Some(at),
        before: None,
        count: count - lines.len(),
        newest: false,
    };
    lines.extend(range(conn, room, &after, not_before_ms)?);
    Ok(lines)
}
