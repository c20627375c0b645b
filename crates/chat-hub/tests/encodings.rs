//! A line to many clients is encoded once per wire shape among them: not
//! once per client, and not at all for a shape nobody has.

use bytes::Bytes;
use chrono::DateTime;

use chat_hub::*;

/// Takes everything; keeps what each client was sent.
#[derive(Default)]
struct Recorder {
    sent: Vec<(ClientId, Bytes)>,
    /// The store's read queue is full: histories come from memory.
    reads_refused: bool,
    /// Account requests, for the test to answer.
    account_tasks: Vec<AccountTask>,
}

impl Outbox for Recorder {
    fn send(&mut self, to: ClientId, msg: Bytes) {
        self.sent.push((to, msg));
    }
    fn close(&mut self, _client: ClientId) {}
    fn console(&mut self, _line: &str) {}
    fn shutdown(&mut self) {}
    fn accounts(&mut self, task: AccountTask) -> bool {
        self.account_tasks.push(task);
        true
    }
    fn store(&mut self, request: StoreRequest) -> bool {
        !(self.reads_refused && matches!(request, StoreRequest::Read(_)))
    }
}

struct Fixture {
    hub: Hub,
    out: Recorder,
    time: Now,
}

impl Fixture {
    /// A hub with a history store (so clients may ask for ids) and these
    /// clients, numbered from 1.
    fn with(protocols: &[Protocol]) -> Fixture {
        let time = DateTime::parse_from_rfc3339("2026-11-03T08:05:09+00:00")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut hub = Hub::new(HubConfig::default());
        hub.use_store(1, Vec::new(), false);
        hub.start(time);
        let mut out = Recorder::default();
        for (i, &protocol) in protocols.iter().enumerate() {
            let peer = format!("127.0.0.1:{}", 40000 + i)
                .parse()
                .unwrap_or_else(|e| panic!("{e}"));
            let arrival = Arrival { peer, protocol };
            hub.connected(&mut out, ClientId(i + 1), arrival, time);
        }
        Fixture { hub, out, time }
    }

    fn say(&mut self, id: usize, line: &str) {
        let bytes = format!("{line}\n");
        self.hub
            .received(&mut self.out, ClientId(id), bytes.as_bytes(), self.time);
    }

    /// Encodings made while `id` says `text`, and how many clients got it.
    fn encodings_of(&mut self, id: usize, text: &str) -> (u64, usize) {
        self.out.sent.clear();
        let before = self.hub.stats().encodings;
        self.say(id, text);
        let got = self
            .out
            .sent
            .iter()
            .filter(|(_, bytes)| String::from_utf8_lossy(bytes).contains(text))
            .count();
        (self.hub.stats().encodings - before, got)
    }
}

#[test]
fn a_line_to_one_protocol_is_encoded_once_however_many_receive_it() {
    let mut f = Fixture::with(&[Protocol::Line; 6]);
    assert_eq!(f.encodings_of(1, "hello all"), (1, 5));
}

#[test]
fn a_line_to_two_protocols_is_encoded_once_per_protocol() {
    use Protocol::{Line, Raw};
    let mut f = Fixture::with(&[Line, Line, Line, Raw, Raw, Raw]);
    assert_eq!(f.encodings_of(1, "to lines and chunks"), (2, 5));
    // A raw sender's line: the same two shapes.
    assert_eq!(f.encodings_of(4, "from a chunk"), (2, 5));
}

#[test]
fn clients_that_asked_for_ids_share_a_third_shape() {
    use Protocol::{Line, Raw};
    let mut f = Fixture::with(&[Line, Line, Line, Line, Raw]);
    f.say(2, "/cap ids");
    f.say(3, "/cap ids");
    assert_eq!(f.encodings_of(1, "numbered for two"), (3, 4));
    // Once the raw client leaves, its shape is not made any more.
    f.hub
        .disconnected(&mut f.out, ClientId(5), Gone::Closed, f.time);
    assert_eq!(f.encodings_of(1, "no chunk now"), (2, 3));
}

#[test]
fn members_for_whom_the_room_is_not_the_current_one_share_one_more_shape() {
    let mut f = Fixture::with(&[Protocol::Line; 5]);
    for id in [1, 2, 3] {
        f.say(id, "/join dev");
    }
    // 1 talks in dev, 2 and 3 too; 4 and 5 are only in lobby.
    assert_eq!(f.encodings_of(1, "dev only"), (1, 2));
    f.say(2, "/join lobby");
    f.say(3, "/join lobby");
    // In lobby 4 and 5 read it plain, 2 and 3 too; 1 reads it marked.
    assert_eq!(f.encodings_of(4, "lobby for all"), (2, 4));
}

#[test]
fn history_from_memory_reads_alike_to_every_line_client_as_one_send() {
    let mut f = Fixture::with(&[Protocol::Line, Protocol::Line, Protocol::Line]);
    f.say(2, "/cap ids");
    f.say(1, "first");
    f.say(1, "/me waves");
    f.out.reads_refused = true;
    f.out.sent.clear();
    // One client with ids (its read refused: memory stands in), one without.
    f.say(2, "/history 2");
    f.say(3, "/history 2");
    let history = "[Tue Nov  3 08:05:09 2026] (history) <guest1> first\n\
                   [Tue Nov  3 08:05:09 2026] (history) * guest1 waves\n";
    let sent: Vec<_> = (f.out.sent.iter())
        .map(|(to, bytes)| (to.0, String::from_utf8_lossy(bytes).into_owned()))
        .collect();
    assert_eq!(sent, [(2, history.to_owned()), (3, history.to_owned())]);
}

#[test]
fn a_line_to_line_and_irc_clients_is_encoded_once_per_protocol_and_negotiated_tags() {
    use Protocol::{Irc, Line};
    let mut f = Fixture::with(&[Line, Line, Irc, Irc, Irc]);
    for (id, caps) in [(3, ""), (4, ""), (5, "CAP REQ :server-time\r\n")] {
        let register =
            format!("CAP LS 302\r\n{caps}CAP END\r\nNICK irc{id}\r\nUSER u 0 * :U\r\nJOIN #lobby");
        f.say(id, &register);
    }
    // Two line clients read it one way; two IRC clients another; one IRC
    // client with server-time a third way.
    assert_eq!(f.encodings_of(1, "to every protocol"), (3, 4));
    let irc = (f.out.sent.iter())
        .map(|(to, bytes)| (to.0, String::from_utf8_lossy(bytes).into_owned()))
        .filter(|(to, _)| *to >= 3)
        .collect::<Vec<_>>();
    assert_eq!(
        irc[0].1,
        ":guest1!guest1@chat.local PRIVMSG #lobby :to every protocol\r\n"
    );
    assert!(
        irc[2]
            .1
            .starts_with("@time=2026-11-03T08:05:09.000Z :guest1!"),
        "{irc:?}"
    );
}

#[test]
fn the_account_tag_splits_irc_shapes_only_for_a_logged_in_sender() {
    use Protocol::{Irc, Line};
    let mut f = Fixture::with(&[Line, Irc, Irc, Irc]);
    f.hub.use_accounts(Vec::new());
    for (id, caps) in [(2, "account-tag"), (3, "echo-message"), (4, "server-time")] {
        let register = format!(
            "CAP LS 302\r\nCAP REQ :{caps}\r\nCAP END\r\nNICK irc{id}\r\nUSER u 0 * :U\r\nJOIN #lobby"
        );
        f.say(id, &register);
    }
    // From a guest (the line client), a line for an account-tag client is
    // the same as for one without: IRC's, and IRC's with server-time.
    assert_eq!(f.encodings_of(1, "from a guest"), (2, 3));
    f.say(1, "/nick alice");
    f.say(1, "/register alice-password");
    for task in std::mem::take(&mut f.out.account_tasks) {
        let name = "alice".to_owned();
        let reply = task.reply(AccountOutcome::Created {
            name,
            password: None,
        });
        f.hub.account_reply(&mut f.out, reply, f.time);
    }
    // Logged in: the account-tag client reads a third shape.
    assert_eq!(f.encodings_of(1, "from an account"), (3, 3));
    let tagged = (f.out.sent.iter())
        .filter(|(to, _)| to.0 == 2)
        .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned());
    for line in tagged {
        assert!(line.starts_with("@account=alice :alice!"), "{line}");
    }
}
