//! The hub's side of the history store's reads and writes: one read in
//! flight per client, called off when nobody waits; a search answers with
//! its matches, "no matches" or "busy", never with other lines; a line
//! the store cannot take is counted and logged.

use bytes::Bytes;
use chrono::DateTime;

use chat_hub::*;

/// Records what the hub asks of the store; its queues take nothing while
/// full.
#[derive(Default)]
struct Recorder {
    sent: Vec<(ClientId, Bytes)>,
    console: Vec<String>,
    reads: Vec<StoreRead>,
    appended: Vec<NewLine>,
    reads_full: bool,
    writes_full: bool,
}

impl Outbox for Recorder {
    fn send(&mut self, to: ClientId, msg: Bytes) {
        self.sent.push((to, msg));
    }
    fn close(&mut self, _client: ClientId) {}
    fn console(&mut self, line: &str) {
        self.console.push(line.to_owned());
    }
    fn shutdown(&mut self) {}
    fn store(&mut self, request: StoreRequest) -> bool {
        match request {
            StoreRequest::Read(read) if !self.reads_full => self.reads.push(read),
            StoreRequest::Append(line) if !self.writes_full => self.appended.push(line),
            StoreRequest::Prune { .. } => {}
            _ => return false,
        }
        true
    }
}

struct Fixture {
    hub: Hub,
    out: Recorder,
    time: Now,
}

const ALICE: ClientId = ClientId(1);
const BOB: ClientId = ClientId(2);

impl Fixture {
    fn new() -> Fixture {
        let time = DateTime::parse_from_rfc3339("2026-11-03T08:05:09+00:00")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut hub = Hub::new(HubConfig::default());
        hub.use_store(1, Vec::new(), false);
        hub.start(time);
        let mut fixture = Fixture {
            hub,
            out: Recorder::default(),
            time,
        };
        for id in [ALICE, BOB] {
            let peer = format!("127.0.0.1:{}", 40000 + id.0)
                .parse()
                .unwrap_or_else(|e| panic!("{e}"));
            let protocol = Protocol::Line;
            let arrival = Arrival { peer, protocol };
            fixture.hub.connected(&mut fixture.out, id, arrival, time);
        }
        fixture.out.sent.clear();
        fixture
    }

    fn say(&mut self, id: ClientId, line: &str) {
        let line = format!("{line}\n");
        self.hub
            .received(&mut self.out, id, line.as_bytes(), self.time);
    }

    /// The bodies sent to `id` since the last call (stamps cut off).
    fn bodies(&mut self, id: ClientId) -> Vec<String> {
        let (mine, others) = std::mem::take(&mut self.out.sent)
            .into_iter()
            .partition(|(to, _)| *to == id);
        self.out.sent = others;
        mine.iter()
            .flat_map(|(_, bytes)| {
                String::from_utf8_lossy(bytes)
                    .lines()
                    .map(|line| line.split_once("] ").map_or(line, |x| x.1).to_owned())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn answer(&mut self, read: &StoreRead, answer: ReadAnswer) {
        let event = StoreEvent::Read {
            client: read.client,
            token: read.token,
            answer,
        };
        self.hub.store_event(&mut self.out, event, self.time);
    }

    fn tick_for(&mut self, seconds: i64) {
        for _ in 0..seconds * 10 {
            self.time += chrono::Duration::milliseconds(100);
            self.hub.tick(&mut self.out, self.time);
        }
    }
}

fn line(id: u64, text: &str) -> StoredLine {
    StoredLine {
        id,
        room: "lobby".into(),
        nick: "alice".into(),
        text: text.into(),
        action: false,
        time: DateTime::parse_from_rfc3339("2026-11-03T08:00:00+00:00")
            .unwrap_or_else(|e| panic!("{e}")),
    }
}

#[test]
fn a_read_waits_for_the_lines_handed_before_it() {
    let mut f = Fixture::new();
    f.say(ALICE, "one");
    f.say(ALICE, "two");
    f.say(BOB, "/search one");
    let read = f.out.reads.pop().unwrap_or_else(|| panic!("no read"));
    assert_eq!(f.out.appended.last().map(|line| line.id), Some(2));
    assert_eq!(read.sees_through, 2);
    assert_eq!(read.room.as_ref(), "lobby");
    assert!(matches!(read.kind, ReadKind::Search { ref words, count: 20 } if words == "one"));
}

#[test]
fn a_second_search_calls_the_first_off_and_only_the_second_is_answered() {
    let mut f = Fixture::new();
    f.say(BOB, "/search first");
    f.say(BOB, "/search second");
    let second = f.out.reads.pop().unwrap_or_else(|| panic!("no read"));
    let first = f.out.reads.pop().unwrap_or_else(|| panic!("no read"));
    assert!(first.cancel.is_cancelled());
    assert!(!second.cancel.is_cancelled());
    f.answer(&first, ReadAnswer::Lines(vec![line(1, "first")]));
    assert!(f.bodies(BOB).is_empty(), "the first answer is nobody's");
    f.answer(&second, ReadAnswer::Lines(vec![line(2, "second")]));
    assert_eq!(
        f.bodies(BOB),
        [
            "(history) <alice> second",
            "-!- search: 1 match for \"second\", newest last"
        ]
    );
    assert!(second.cancel.is_cancelled(), "answered: nothing to run");
}

#[test]
fn a_search_says_when_nothing_matched_and_when_it_stopped_early() {
    let mut f = Fixture::new();
    f.say(BOB, "/search nothing");
    let read = f.out.reads.pop().unwrap_or_else(|| panic!("no read"));
    f.answer(&read, ReadAnswer::Lines(Vec::new()));
    assert_eq!(f.bodies(BOB), ["-!- search: no matches for \"nothing\""]);
    f.say(BOB, "/search much");
    let read = f.out.reads.pop().unwrap_or_else(|| panic!("no read"));
    f.answer(&read, ReadAnswer::Partial(vec![line(7, "much")]));
    let bodies = f.bodies(BOB);
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(bodies[1].contains("stopped early"), "{bodies:?}");
}

#[test]
fn a_search_the_store_cannot_take_or_answer_is_busy_never_other_lines() {
    let mut f = Fixture::new();
    f.say(ALICE, "a line in memory");
    f.bodies(BOB);
    f.out.reads_full = true;
    f.say(BOB, "/search anything");
    assert_eq!(
        f.bodies(BOB),
        ["-!- error: search: the history store is busy, try again"]
    );
    f.out.reads_full = false;
    f.say(BOB, "/search anything");
    let read = f.out.reads.pop().unwrap_or_else(|| panic!("no read"));
    f.tick_for(3);
    assert!(read.cancel.is_cancelled(), "called off after 3 s");
    assert_eq!(
        f.bodies(BOB),
        ["-!- error: search: the history store is busy, try again"]
    );
    let health = f.hub.store_health().unwrap_or_else(|| panic!("a store"));
    assert_eq!(health.reads_refused, 1);
}

#[test]
fn a_departed_clients_read_is_called_off() {
    let mut f = Fixture::new();
    f.say(BOB, "/history since 1");
    let read = f.out.reads.pop().unwrap_or_else(|| panic!("no read"));
    assert!(matches!(read.kind, ReadKind::Since { after: 1, .. }));
    f.hub.disconnected(&mut f.out, BOB, Gone::Closed, f.time);
    assert!(read.cancel.is_cancelled());
}

#[test]
fn a_line_the_store_cannot_take_is_counted_and_logged_once_a_second() {
    let mut f = Fixture::new();
    f.out.writes_full = true;
    for i in 0..5 {
        f.say(ALICE, &format!("lost {i}"));
    }
    // Still said: the room hears it.
    assert_eq!(f.bodies(BOB).len(), 5);
    let logged = |f: &Fixture| -> Vec<String> {
        let console = f.out.console.iter();
        console
            .filter(|line| line.contains("not written"))
            .cloned()
            .collect()
    };
    assert_eq!(logged(&f).len(), 1, "the first at once: {:?}", logged(&f));
    f.tick_for(2);
    let logged = logged(&f);
    assert_eq!(logged.len(), 2, "{logged:?}");
    assert!(logged[1].contains("4 lines not written") && logged[1].contains("5 so far"));
    let health = f.hub.store_health().unwrap_or_else(|| panic!("a store"));
    assert_eq!(health.dropped, 5);
}
