//! A cluster node's reads of what crosses Redis on the hot path, on
//! arbitrary bytes: a room's stream entry (`packed::decode_entry`, as a
//! history read or a catch-up reads it) and a publication of a batch's
//! entries (`packed::decode_publication`, as the subscriber hears it).
//! Never panics; an entry yields at most one line per seven bytes, each
//! numbered by its place; and the lines decoded, packed again, decode to
//! themselves.
#![no_main]

use chat_hub::{RoomLine, StreamId};
use chat_server::cluster::packed::{PackedEntry, decode_entry, decode_publication};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let id = StreamId { ms: 1, seq: 2 };
    let lines = decode_entry(id, bytes);
    assert!(lines.len() <= bytes.len() / 7);
    assert!(lines.windows(2).all(|w| w[0].0.index < w[1].0.index));
    assert!(lines.iter().all(|(line_id, _)| line_id.entry == id));

    // What decoded, packed again by its node, decodes to itself.
    if let Some((_, first)) = lines.first() {
        let mut again = PackedEntry::new(&first.origin);
        for (_, line) in &lines {
            again.push(line);
        }
        let back: Vec<RoomLine> = decode_entry(id, &again.finish())
            .into_iter()
            .map(|(_, line)| line)
            .collect();
        let said: Vec<RoomLine> = lines.into_iter().map(|(_, line)| line).collect();
        assert_eq!(back, said);
    }

    let heard = decode_publication(bytes, "b:1");
    assert!(heard.len() <= bytes.len() / 7);
    assert!(heard.iter().all(|(_, line)| line.origin != "b:1"));
    assert!(heard.windows(2).all(|w| w[0].1.seq <= w[1].1.seq));
});
