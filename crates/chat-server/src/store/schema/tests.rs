//! Tests of the schema: reads as written, paging with `since`, a search's
//! bounds.

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
    let search = |conn: &Connection, words: &str| {
        let found = search(conn, "lobby", words, 20, i64::MIN).expect("search");
        assert!(found.complete, "{words:?}");
        found.lines
    };
    // Before the index has them, blocks are read whole.
    assert_eq!(search(&conn, "line \"6"), lobby[3..]);
    // Five blocks: lines 1 | 2 | 3-4 | 5 | 6.
    assert_eq!(index_some(&mut conn, 4).expect("index"), 4);
    assert_eq!(search(&conn, "line \"6"), lobby[3..], "half indexed");
    assert_eq!(index_some(&mut conn, 4).expect("index"), 1);
    assert_eq!(index_some(&mut conn, 4).expect("index"), 0);
    assert_eq!(search(&conn, "line \"6"), lobby[3..]);
    assert_eq!(search(&conn, "LINE"), lobby);
    assert!(search(&conn, "AND OR NEAR( *").is_empty(), "no syntax");
    // Only what lines say is searched: not stamps, nicks or ids.
    assert!(search(&conn, "alice").is_empty());
    assert!(search(&conn, "2026").is_empty());
    // Another room's lines never come back.
    assert!(search(&conn, "2").is_empty(), "line 2 was said in dev");
    let dev = super::search(&conn, "dev", "2", 20, i64::MIN).expect("search");
    assert_eq!(dev.lines, lines[1..2]);
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
    assert_eq!(found.lines, lines[2..]);
    conn.execute(
        "INSERT INTO search_text (search_text) VALUES ('integrity-check')",
        [],
    )
    .expect("the index is sound");
    let indexed: i64 = conn
        .query_row("SELECT count(*) FROM search_text", [], |row| row.get(0))
        .expect("count");
    assert_eq!(indexed, 2, "the pruned block left the index");
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

/// `lines` in blocks of two, each line said in `room`.
fn blocks_of(conn: &mut Connection, room: &str, texts: &[&str], blocks: u64) {
    let lines: Vec<StoredLine> = (1..=blocks * 2)
        .map(|id| StoredLine {
            text: texts[(id % 2) as usize].to_owned(),
            ..line(id, room)
        })
        .collect();
    for batch in lines.chunks(2) {
        insert(conn, batch.iter().map(Row::from)).expect("insert");
    }
}

#[test]
fn a_search_reads_a_bounded_number_of_blocks() {
    let mut conn = Connection::open_in_memory().expect("an in-memory database");
    conn.execute_batch(SCHEMA).expect("the schema");
    // Every block holds both words, no line holds both.
    let blocks = SEARCH_BLOCKS_MAX as u64 + 100;
    blocks_of(&mut conn, "lobby", &["alpha one", "beta two"], blocks);
    while index_some(&mut conn, 1000).expect("index") > 0 {}
    let found = search(&conn, "lobby", "alpha beta", 20, i64::MIN).expect("search");
    assert_eq!(
        found,
        Found {
            lines: Vec::new(),
            complete: false
        }
    );
    let found = search(&conn, "lobby", "alpha one", 20, i64::MIN).expect("search");
    assert_eq!((found.lines.len(), found.complete), (20, true));
}

#[test]
fn an_interrupted_search_answers_with_what_it_found() {
    let mut conn = Connection::open_in_memory().expect("an in-memory database");
    conn.execute_batch(SCHEMA).expect("the schema");
    blocks_of(&mut conn, "lobby", &["gamma", "delta"], 50);
    conn.progress_handler(1, Some(|| true));
    let found = search(&conn, "lobby", "gamma", 20, i64::MIN).expect("interrupted, not failed");
    assert!(!found.complete);
    conn.progress_handler(0, None::<fn() -> bool>);
    let found = search(&conn, "lobby", "gamma", 20, i64::MIN).expect("search");
    assert_eq!((found.lines.len(), found.complete), (20, true));
}

#[test]
fn a_version_2_file_gets_a_new_search_index() {
    let path = std::env::temp_dir().join(format!("chat-schema-v2-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut conn = Connection::open(&path).expect("a file");
    // Version 2's index: whole lines, stamps and nicks too.
    conn.execute_batch(
        "CREATE VIRTUAL TABLE blocks_text USING fts5 (lines);
         CREATE TABLE blocks_text_progress (indexed_to INTEGER NOT NULL) STRICT;
         INSERT INTO blocks_text (lines) VALUES ('#1 2026-09-21 <alice> epsilon');
         PRAGMA user_version = 2;",
    )
    .expect("a version 2 index");
    prepare(&conn).expect("version 2 is brought up");
    blocks_of(&mut conn, "lobby", &["epsilon", "zeta"], 3);
    assert_eq!(index_some(&mut conn, 10).expect("index"), 3);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .expect("version");
    let old: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'blocks_text%'",
            [],
            |row| row.get(0),
        )
        .expect("schema");
    drop(conn);
    let _ = std::fs::remove_file(&path);
    assert_eq!((version, old), (VERSION, 0));
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
