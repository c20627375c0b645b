//! The room streams against a real Redis: a batch written as one entry per
//! room and published with the entries' ids, a batch sent again (whole or
//! regrouped) written once, also after Redis lost the script, and history
//! and catch-up reads over entries of several lines and past entries it
//! cannot read.

use std::time::Duration;

use redis::Commands;

use super::commands::{ENTRY_LINES, Written, write_lines};
use super::test_lines::room_line;
use super::{BridgeConfig, Target, entries, keys, requests};
use chat_hub::{ClientId, ClusterEvent, ClusterRequest, LineId, RoomEvent, RoomLine, StreamId};

fn line(seq: u64, room: &str, text: &str, kind: RoomEvent) -> (u64, RoomLine) {
    (seq, room_line(room, text, kind, seq))
}

fn said(seq: u64, room: &str, text: &str) -> (u64, RoomLine) {
    line(seq, room, text, RoomEvent::Message)
}

fn texts<'a>(lines: impl IntoIterator<Item = &'a RoomLine>) -> Vec<&'a str> {
    lines.into_iter().map(|line| line.text.as_str()).collect()
}

/// Node `a:1`'s bridge to `redis`, keeping `history_keep` lines a room.
fn bridge(redis: &chat_tests::RedisProcess, history_keep: usize) -> BridgeConfig {
    BridgeConfig {
        target: Target::Url {
            url: redis.url(),
            password: None,
        },
        node: "a:1".into(),
        lease: Duration::from_secs(15),
        history_keep,
        history_retention: None,
    }
}

/// A connection of its own to `redis`.
fn connect(redis: &chat_tests::RedisProcess) -> redis::Connection {
    let client = redis::Client::open(redis.url()).unwrap_or_else(|e| panic!("{e}"));
    client
        .get_connection_with_timeout(Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `lobby`'s lines read back from `after` on, in one answer with no page
/// left to ask for.
fn read_back(
    con: &mut redis::Connection,
    config: &BridgeConfig,
    after: LineId,
) -> Vec<(LineId, RoomLine)> {
    let read = ClusterRequest::CatchUp {
        room: "lobby".into(),
        after,
        token: 1,
    };
    let mut events = requests::run(con, config, read).unwrap_or_else(|e| panic!("{e}"));
    match events.pop() {
        Some(ClusterEvent::CaughtUp {
            entries: Some(read),
            more: false,
            ..
        }) if events.is_empty() => read,
        other => panic!("{events:?} {other:?}"),
    }
}

#[test]
fn a_batch_is_one_entry_per_room_written_once_and_read_back_line_by_line() {
    let Some(redis) = chat_tests::RedisProcess::start() else {
        return; // skipped (or failed, when required) by the harness
    };
    let mut con = connect(&redis);
    let mut listener = connect(&redis);
    let mut pubsub = listener.as_pubsub();
    pubsub
        .subscribe(keys::ROOMS)
        .unwrap_or_else(|e| panic!("{e}"));
    pubsub
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap_or_else(|e| panic!("{e}"));
    let config = bridge(&redis, 50);
    let entries_in = |con: &mut redis::Connection, room: &str| -> usize {
        con.xlen(keys::history(room))
            .unwrap_or_else(|e| panic!("{e}"))
    };

    let batch = [
        said(1, "lobby", "one"),
        said(2, "dev", "two"),
        said(3, "lobby", "three"),
        said(4, "Lobby", "four"),
        line(5, "dev", "", RoomEvent::Joined),
    ];
    let written = write_lines(&mut con, &config, batch.iter());
    assert!(matches!(written, Ok(Written::All)));
    assert_eq!(
        (entries_in(&mut con, "lobby"), entries_in(&mut con, "dev")),
        (1, 1)
    );
    let payload: Vec<u8> = pubsub
        .get_message()
        .and_then(|msg| msg.get_payload())
        .unwrap_or_else(|e| panic!("{e}"));
    let heard = entries::published(&payload, "b:1");
    let heard_texts = texts(heard.iter().map(|(_, line)| line));
    assert_eq!(heard_texts, ["one", "two", "three", "four", ""]);
    let places: Vec<u32> = heard.iter().map(|(id, _)| id.index).collect();
    assert_eq!(places, [0, 0, 1, 2, 1]);

    // A Redis that lost its scripts (restarted, or a new master) is
    // given the script again.
    let () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query(&mut con)
        .unwrap_or_else(|e| panic!("{e}"));
    // Sent again after a lost reply: it ran, nothing is written.
    let again = write_lines(&mut con, &config, batch.iter());
    assert!(matches!(again, Ok(Written::All)));
    // Regrouped with newer lines: Redis says what it has, the rest goes.
    let regrouped = [
        batch[3].clone(),
        batch[4].clone(),
        said(6, "lobby", "six"),
        said(7, "lobby", "seven"),
    ];
    let straddled = write_lines(&mut con, &config, regrouped.iter());
    assert!(matches!(straddled, Ok(Written::Through(5))));
    let rest = write_lines(&mut con, &config, regrouped[2..].iter());
    assert!(matches!(rest, Ok(Written::All)));
    assert_eq!(
        (entries_in(&mut con, "lobby"), entries_in(&mut con, "dev")),
        (2, 1)
    );

    // History: entries newest first until they hold the lines asked.
    let history = ClusterRequest::History {
        client: ClientId(1),
        token: 1,
        room: "lobby".into(),
        count: 3,
    };
    let events = requests::run(&mut con, &config, history).unwrap_or_else(|e| panic!("{e}"));
    let [
        ClusterEvent::History {
            lines: Some(lines), ..
        },
    ] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!(texts(lines), ["four", "six", "seven"]);

    // A read back from inside the first entry starts at that entry.
    let first = heard[0].0.entry;
    let read = read_back(&mut con, &config, LineId::new(first, 1));
    let lines = texts(read.iter().map(|(_, line)| line));
    assert_eq!(lines, ["one", "three", "four", "six", "seven"]);
    assert!(read[..3].iter().all(|(id, _)| id.entry == first));
    assert_eq!(read[3].0.index, 0);
    assert!(read[3].0.entry > first);
    let after_everything = ClusterRequest::CatchUp {
        room: "lobby".into(),
        after: LineId::through(StreamId {
            ms: u64::MAX,
            seq: 0,
        }),
        token: 10,
    };
    let events =
        requests::run(&mut con, &config, after_everything).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        &events[..],
        [ClusterEvent::CaughtUp { entries: Some(read), .. }] if read.is_empty()
    ));
}

#[test]
fn a_catch_up_reads_on_past_a_full_page_of_entries_it_cannot_read() {
    let Some(redis) = chat_tests::RedisProcess::start() else {
        return; // skipped (or failed, when required) by the harness
    };
    let mut con = connect(&redis);
    let config = bridge(&redis, 1000);
    let write = |con: &mut redis::Connection, seq: u64, text: &str| {
        let batch = [said(seq, "lobby", text)];
        write_lines(con, &config, batch.iter()).unwrap_or_else(|e| panic!("{e}"));
    };
    write(&mut con, 1, "before");
    // Entries of a later build: a field this one does not know.
    let stream = keys::history("lobby");
    for _ in 0..250 {
        let _: String = con
            .xadd(&stream, "*", &[("future", "?")])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    write(&mut con, 2, "after");
    let first: redis::streams::StreamRangeReply = con
        .xrange_count(&stream, "-", "+", 1)
        .unwrap_or_else(|e| panic!("{e}"));
    let first = StreamId::parse(&first.ids[0].id).unwrap_or_else(|| panic!("an id"));
    let read = read_back(&mut con, &config, LineId::new(first, 0));
    assert_eq!(
        texts(read.iter().map(|(_, line)| line)),
        ["before", "after"]
    );
}

#[test]
fn a_room_s_lines_past_an_entry_s_worth_go_into_more_entries_in_order() {
    let Some(redis) = chat_tests::RedisProcess::start() else {
        return; // skipped (or failed, when required) by the harness
    };
    let mut con = connect(&redis);
    let config = bridge(&redis, 1000);
    let count = 2 * ENTRY_LINES + 76;
    // `lobby`'s lines, spelt two ways in turn, with one of `dev` after
    // each hundred, in one batch.
    let batch: Vec<(u64, RoomLine)> = (1..=count)
        .flat_map(|n| {
            let seq = 2 * n as u64;
            let room = if n % 2 == 0 { "Lobby" } else { "lobby" };
            let dev = (n % 100 == 0).then(|| said(seq + 1, "dev", "elsewhere"));
            std::iter::once(said(seq, room, &n.to_string())).chain(dev)
        })
        .collect();
    let written = write_lines(&mut con, &config, batch.iter());
    assert!(matches!(written, Ok(Written::All)));
    let entries: usize = con
        .xlen(keys::history("lobby"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(entries, 3);
    let read = read_back(&mut con, &config, LineId::default());
    let expected: Vec<String> = (1..=count).map(|n| n.to_string()).collect();
    assert_eq!(texts(read.iter().map(|(_, line)| line)), expected);
}
