//! The whole hub on an arbitrary script of clients connecting, sending bytes
//! and leaving, and of operator lines: it never panics, and no byte it sends
//! is a control character other than the line feed ending each line.
//! (A send may hold several lines: history is sent as one batch; the first
//! crash this target found was that assumption, kept as a seed in the corpus.)
#![no_main]

use bytes::Bytes;
use chat_hub::{ClientId, Hub, HubConfig, Outbox};
use libfuzzer_sys::fuzz_target;

struct Check;

impl Outbox for Check {
    fn send(&mut self, _to: ClientId, msg: Bytes) {
        let text = String::from_utf8(msg.to_vec()).expect("the server sends UTF-8");
        let lines = text.strip_suffix('\n').expect("line framing ends in LF");
        // One send may carry several lines (a room's history is sent at once).
        for line in lines.split('\n') {
            assert!(line.starts_with('['), "every line starts with its stamp: {line:?}");
            assert!(line.chars().all(|c| c == '\t' || !c.is_control()), "{line:?}");
        }
    }
    fn close(&mut self, _client: ClientId) {}
    fn console(&mut self, _line: &str) {}
}

fuzz_target!(|script: Vec<(u8, u8, Vec<u8>)>| {
    let now = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default().fixed_offset();
    let mut hub = Hub::new(HubConfig { max_line_bytes: 64, ..HubConfig::default() });
    let mut out = Check;
    let peer = "10.0.0.1:1".parse().expect("a literal address");
    for (op, client, bytes) in script {
        let id = ClientId(usize::from(client % 8));
        match op % 6 {
            0 => hub.connected(&mut out, id, peer, now),
            1 | 2 => hub.received(&mut out, id, &bytes, now),
            3 => hub.read_closed(&mut out, id, now),
            4 => hub.disconnected(&mut out, id, chat_hub::Gone::Closed, now),
            _ => hub.console_line(&mut out, &String::from_utf8_lossy(&bytes), now),
        }
    }
});
