//! The history store's read path (`/history N`, `/history since ID`) with
//! rooms, ids and page sizes from the input: never panics, a page holds only
//! its room's lines after the id asked, in order, at most as many as asked,
//! and paging through a room in steps of the input's sizes yields each of
//! its lines once, in order.
#![no_main]

use chat_hub::StoredLine;
use chat_server::store::ReadPath;
use chrono::{FixedOffset, TimeZone};
use libfuzzer_sys::fuzz_target;

const ROOMS: [&str; 3] = ["lobby", "dev", "side"];

fuzz_target!(|bytes: &[u8]| {
    // The first byte: how many lines; the next ones: each line's room.
    let Some((&count, rest)) = bytes.split_first() else {
        return;
    };
    let (rooms, asks) = rest.split_at(usize::from(count).min(rest.len()));
    let Some(zone) = FixedOffset::east_opt(3600) else {
        return;
    };
    let lines: Vec<StoredLine> = rooms
        .iter()
        .enumerate()
        .filter_map(|(i, &room)| {
            let id = i as u64 + 1;
            Some(StoredLine {
                id,
                room: ROOMS[usize::from(room % 3)].to_owned(),
                nick: "n".into(),
                text: format!("{id}"),
                action: room & 4 != 0,
                time: zone
                    .timestamp_millis_opt(1_790_000_000_000 + id as i64)
                    .single()?,
            })
        })
        .collect();
    let Ok(store) = ReadPath::in_memory(&lines) else {
        return;
    };
    let room_ids = |room: &str| -> Vec<u64> {
        lines
            .iter()
            .filter(|l| l.room == room)
            .map(|l| l.id)
            .collect()
    };

    // Single asks: 8 bytes of id, 2 of page size, 1 of room.
    let mut steps = Vec::new();
    for ask in asks.chunks(11) {
        let mut id = [0u8; 8];
        let n = ask.len().min(8);
        id[..n].copy_from_slice(&ask[..n]);
        let after = u64::from_le_bytes(id);
        let size = ask
            .get(8..10)
            .map_or(1, |s| usize::from(u16::from_le_bytes([s[0], s[1]])));
        let room = ROOMS[usize::from(ask.get(10).copied().unwrap_or(0) % 3)];
        steps.push(size.max(1));
        let Ok(page) = store.since(room, after, size) else {
            panic!("a read failed");
        };
        let expected: Vec<u64> = room_ids(room)
            .into_iter()
            .filter(|&id| id > after)
            .take(size)
            .collect();
        assert_eq!(page.iter().map(|l| l.id).collect::<Vec<_>>(), expected);
        let Ok(last) = store.recent(room, size) else {
            panic!("a read failed");
        };
        let all = room_ids(room);
        assert_eq!(
            last.iter().map(|l| l.id).collect::<Vec<_>>(),
            all[all.len().saturating_sub(size)..]
        );
    }

    // Paging from the start in the input's step sizes.
    if steps.is_empty() {
        steps.push(1);
    }
    let (mut after, mut paged) = (0, Vec::new());
    for &step in steps.iter().cycle() {
        let Ok(page) = store.since("dev", after, step) else {
            panic!("a read failed");
        };
        let Some(last) = page.last() else { break };
        after = last.id;
        paged.extend(page.iter().map(|l| l.id));
    }
    assert_eq!(paged, room_ids("dev"));
});
