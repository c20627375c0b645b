//! The hub's side of the history store, still without I/O: what goes to
//! the store ([`StoreRequest`]), what comes back ([`StoreEvent`]), and
//! [`Store`], which numbers room lines, decides when a history is read from
//! the store rather than from memory, and keeps the clients waiting for one.
//!
//! The store itself (SQLite, on a thread of its own) lives in chat-server.
//! The hub only enqueues ([`Outbox::store`]) and is told
//! ([`Hub::store_event`](crate::Hub::store_event)), so the reactor never
//! waits on the disk. Without a store (`history_store = "memory"`, or a
//! cluster, whose history lives in Redis) a `Store` is off: it asks nothing
//! and every history comes from the rooms' rings.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use chat_proto::Command;

use crate::chat::Chat;
use crate::node::Node;
use crate::{ClientId, Framing, HubConfig, Now, Outbox};

/// What `/history since` and `/cap ids` say without a history file.
const NEEDS_FILE: &str =
    "message ids and search need the history file (history_store = \"sqlite\", no cluster)";

/// What a client is told when, with `history_sync = "always"`, the store
/// cannot take its line.
pub(crate) const STORE_BUSY: &str =
    "the history store is busy: your line was not sent, say it again";

/// The most lines `/search` shows.
const SEARCH_MAX: usize = 20;

/// A client waiting this long for its history gets the memory's instead.
const HISTORY_WAIT_SECONDS: i64 = 3;

/// Room lines between the arena's allocations: a new line costs a copy of
/// its nick and text into the arena, not an allocation of its own.
const ARENA_BLOCK: usize = 64 * 1024;

/// How often the store is told how old a line may be
/// (`history_retention`): it forgets older lines in the background.
const PRUNE_EVERY_SECONDS: i64 = 60;

/// A new room line on its way to the store. Nothing in it is allocated for
/// it alone: the room key is the room's shared one, the nick and text are a
/// slice of the store's arena.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    /// Increasing across the server (so within each room), never reused.
    pub id: u64,
    /// The room's key (`chat_proto::room_key`: lower case, no `#`).
    pub room: Arc<str>,
    /// When it was said, with the server's UTC offset then: its stamp.
    pub time: Now,
    /// `/me`.
    pub action: bool,
    /// The nick, then the text.
    words: Bytes,
    nick_len: usize,
}

impl NewLine {
    /// A line with buffers of its own (tests, tools; the hub uses its arena).
    pub fn new(id: u64, room: &str, time: Now, action: bool, nick: &str, text: &str) -> NewLine {
        let mut arena = BytesMut::new();
        NewLine::in_arena(&mut arena, id, room.into(), time, action, nick, text)
    }

    fn in_arena(
        arena: &mut BytesMut,
        id: u64,
        room: Arc<str>,
        time: Now,
        action: bool,
        nick: &str,
        text: &str,
    ) -> NewLine {
        if arena.capacity() - arena.len() < nick.len() + text.len() {
            arena.reserve(ARENA_BLOCK.max(nick.len() + text.len()));
        }
        arena.extend_from_slice(nick.as_bytes());
        arena.extend_from_slice(text.as_bytes());
        NewLine {
            id,
            room,
            time,
            action,
            words: arena.split().freeze(),
            nick_len: nick.len(),
        }
    }

    pub fn nick(&self) -> &str {
        // Both halves were `&str`s split at a char boundary.
        std::str::from_utf8(&self.words[..self.nick_len]).unwrap_or_default()
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.words[self.nick_len..]).unwrap_or_default()
    }
}

/// A room line as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLine {
    /// Increasing across the server (so within each room), never reused.
    pub id: u64,
    /// The room's key (`chat_proto::room_key`: lower case, no `#`).
    pub room: String,
    pub nick: String,
    pub text: String,
    /// `/me`.
    pub action: bool,
    /// When it was said, with the server's UTC offset then: its stamp.
    pub time: Now,
}

/// What the hub asks of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreRequest {
    /// Keep this line (in the order asked).
    Append(NewLine),
    /// Lines said before `before_ms` (Unix milliseconds) are past
    /// `history_retention`: never read them again, delete them soon.
    Prune { before_ms: i64 },
    /// The room's last `count` lines, oldest first; answered by
    /// [`StoreEvent::Lines`] with the same `client` and `token`.
    Recent {
        client: ClientId,
        token: u64,
        room: Arc<str>,
        count: usize,
    },
    /// The room's last `count` lines holding every one of `words`, oldest
    /// first; answered by [`StoreEvent::Lines`].
    Search {
        client: ClientId,
        token: u64,
        room: Arc<str>,
        words: String,
        count: usize,
    },
    /// The room's lines after id `after`, oldest first, at most `count`
    /// and one more (which says another page follows); answered by
    /// [`StoreEvent::Lines`].
    Since {
        client: ClientId,
        token: u64,
        room: Arc<str>,
        after: u64,
        count: usize,
    },
}

/// What the store tells the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreEvent {
    /// The answer to a read; `None`: the store could not read.
    Lines {
        client: ClientId,
        token: u64,
        lines: Option<Vec<StoredLine>>,
    },
    /// Every line up to id `through` is committed (`history_sync =
    /// "always"` only).
    Committed { through: u64 },
    /// Writing failed (`error` says why; `failures` counts them) or works
    /// again (`error` is `None`).
    Health {
        failures: u64,
        error: Option<String>,
    },
}

#[derive(Debug, Default)]
pub(crate) struct Store {
    /// A store takes the lines.
    on: bool,
    /// The id of the next room line.
    next_id: u64,
    /// Rooms the file had lines of when the server started.
    stored: HashSet<String>,
    /// Lines each room was said since the server started. A room's ring
    /// holding as many (and the file no older ones) is its whole history:
    /// no need to read the file.
    appended: HashMap<String, usize>,
    /// Clients waiting for their history: their request's token, the
    /// second they began to wait, and how many lines they asked for.
    waiting: HashMap<ClientId, (u64, i64, usize)>,
    next_token: u64,
    /// Requests the channel toward the store could not take.
    dropped: u64,
    /// Failed writes, as the store last reported them.
    failures: u64,
    error: Option<String>,
    /// Where new lines' nicks and texts are copied.
    arena: BytesMut,
    /// `history_sync = "always"`: a line goes out once it is committed.
    always: bool,
    /// Lines said but not yet committed (with `always`), and who said them.
    uncommitted: VecDeque<(NewLine, ClientId)>,
    /// When the store was last told the retention (Unix seconds).
    pruned_at: Option<i64>,
}

/// How the history store is doing, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreHealth {
    /// Writing works (the last failure, if any, is over).
    pub writing: bool,
    /// Failed writes so far.
    pub write_failures: u64,
    /// Requests the channel toward the store could not take.
    pub dropped: u64,
    /// Lines said but not yet committed (`history_sync = "always"`).
    pub uncommitted: usize,
}

/// What became of a line handed to [`Store::append`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Appended {
    /// Relay it now (no store, or `history_sync = "batch"`).
    RelayNow,
    /// It goes out once the store has committed it.
    Held,
    /// The store cannot take it (`always`): it is not said.
    Refused,
}

impl Store {
    /// A store is on, holding lines of `rooms` (keys); the first line gets
    /// `next_id`.
    /// With `always`, a line goes out only once it is committed.
    pub(crate) fn enable(&mut self, next_id: u64, rooms: Vec<String>, always: bool) {
        self.on = true;
        self.always = always;
        self.next_id = next_id.max(1);
        self.stored = rooms.into_iter().collect();
    }

    /// The id of a new room line; `None` without a store (ids are the
    /// file's: they must never repeat).
    pub(crate) fn line_id(&mut self) -> Option<u64> {
        if !self.on {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        Some(id)
    }

    /// A local room line said by `id`, numbered `line_id`: to the store.
    #[allow(clippy::too_many_arguments)] // the line and where it goes
    pub(crate) fn append(
        &mut self,
        chat: &Chat,
        out: &mut dyn Outbox,
        id: ClientId,
        line_id: Option<u64>,
        action: bool,
        text: &str,
        now: Now,
    ) -> Appended {
        let members = chat.members();
        let (Some(client), Some(line_id)) = (members.client(id), line_id) else {
            return Appended::RelayNow;
        };
        let room = &members.room(client.seat.room).key;
        match self.appended.get_mut(room.as_ref()) {
            Some(count) => *count += 1,
            None => {
                self.appended.insert(room.as_ref().to_owned(), 1);
            }
        }
        let (nick, room) = (client.nick.as_str(), Arc::clone(room));
        let line = NewLine::in_arena(&mut self.arena, line_id, room, now, action, nick, text);
        let hold = self.always && self.error.is_none();
        if hold {
            if !out.store(StoreRequest::Append(line.clone())) {
                self.dropped += 1;
                return Appended::Refused;
            }
            self.uncommitted.push_back((line, id));
            return Appended::Held;
        }
        if !out.store(StoreRequest::Append(line)) {
            self.dropped += 1;
        }
        Appended::RelayNow
    }

    /// Lines up to `through` are committed: they go out, as they were said.
    fn release(&mut self, chat: &mut Chat, config: &HubConfig, out: &mut dyn Outbox, through: u64) {
        while let Some((line, _)) = self.uncommitted.front()
            && line.id <= through
        {
            if let Some((line, sender)) = self.uncommitted.pop_front() {
                chat.relay_committed(config, out, &line, sender);
            }
        }
    }

    /// Sends `id` the last `count` lines of its room, before anything else
    /// it is sent from now on: from memory when the room's ring holds that
    /// many or all there is (or there is no store, or a cluster's Redis
    /// keeps the history), else from the store, later, holding what it is
    /// sent meanwhile.
    #[allow(clippy::too_many_arguments)] // the machines it asks, and for whom
    pub(crate) fn send_history(
        &mut self,
        node: &mut Node,
        chat: &mut Chat,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        count: usize,
        now: Now,
    ) {
        let Some(room) = chat.members().room_of(id) else {
            return;
        };
        let key = Arc::clone(&chat.members().room(room).key);
        let held = chat.history_len(room);
        let said = self.appended.get(key.as_ref()).copied().unwrap_or(0);
        let whole = !self.stored.contains(key.as_ref()) && said == held;
        // Memory's lines carry no ids: a client that asked for them reads
        // the file.
        let ids = chat.members().client(id).is_some_and(|client| client.ids);
        if !self.on || node.is_on() || count == 0 || (!ids && (held >= count || whole)) {
            return node.send_history(chat, config, out, id, count, now);
        }
        let token = self.wait(chat, out, id);
        let request = StoreRequest::Recent {
            client: id,
            token,
            room: key,
            count,
        };
        self.ask(chat, config, out, id, request, token, count, now);
    }

    /// A new wait for `id`, replacing any older one (what that one held
    /// goes out first); its token.
    fn wait(&mut self, chat: &mut Chat, out: &mut dyn Outbox, id: ClientId) -> u64 {
        self.waiting.remove(&id);
        chat.release(out, id);
        self.next_token += 1;
        self.next_token
    }

    /// Sends a read; `id` waits for it, its output held. A full channel:
    /// memory answers.
    #[allow(clippy::too_many_arguments)] // the request and who waits for it
    fn ask(
        &mut self,
        chat: &mut Chat,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        request: StoreRequest,
        token: u64,
        count: usize,
        now: Now,
    ) {
        if out.store(request) {
            self.waiting.insert(id, (token, now.timestamp(), count));
            chat.hold(id);
        } else {
            self.dropped += 1;
            let since = config.history_retention.since(now.timestamp());
            chat.send_local_history(out, id, count, since);
        }
    }

    /// `/history [N]`, `/history since ID`, `/search WORDS`, `/cap NAME`.
    #[allow(clippy::too_many_arguments)] // the command and where it goes
    pub(crate) fn command(
        &mut self,
        node: &mut Node,
        chat: &mut Chat,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        command: Command<'_>,
        now: Now,
    ) {
        match command {
            Command::History(count) => {
                if let Some(count) = chat.history_count(config, out, id, count, now) {
                    self.send_history(node, chat, config, out, id, count, now);
                }
            }
            Command::HistorySince(after) => {
                let Some(count) = chat.history_count(config, out, id, None, now) else {
                    return;
                };
                let Some(room) = chat.members().room_of(id).filter(|_| self.on) else {
                    return chat.error(out, id, NEEDS_FILE, now);
                };
                let room = Arc::clone(&chat.members().room(room).key);
                let token = self.wait(chat, out, id);
                let request = StoreRequest::Since {
                    client: id,
                    token,
                    room,
                    after,
                    count,
                };
                self.ask(chat, config, out, id, request, token, count, now);
            }
            Command::Search(words) => {
                if chat.is_raw(id) {
                    return chat.error(out, id, "search needs line framing", now);
                }
                let Some(room) = chat.members().room_of(id).filter(|_| self.on) else {
                    return chat.error(out, id, NEEDS_FILE, now);
                };
                let room = Arc::clone(&chat.members().room(room).key);
                let token = self.wait(chat, out, id);
                let words = words.to_owned();
                let request = StoreRequest::Search {
                    client: id,
                    token,
                    room,
                    words,
                    count: SEARCH_MAX,
                };
                self.ask(chat, config, out, id, request, token, SEARCH_MAX, now);
            }
            Command::Cap(name) => {
                let error = if !name.eq_ignore_ascii_case("ids") {
                    format!("unknown capability {name:?}: the server knows `ids`")
                } else if !self.on {
                    NEEDS_FILE.to_owned()
                } else if let Some(client) = chat.members_mut().client_mut(id)
                    && client.framing == Framing::Line
                {
                    client.ids = true;
                    let text = "capability ids on: room lines read [stamp] #ID <nick> text";
                    return chat.info(out, id, text, now);
                } else {
                    "capabilities need line framing".to_owned()
                };
                chat.error(out, id, &error, now);
            }
            _ => {}
        }
    }

    /// The store answered or reported.
    pub(crate) fn event(
        &mut self,
        chat: &mut Chat,
        config: &HubConfig,
        out: &mut dyn Outbox,
        event: StoreEvent,
        now: Now,
    ) {
        match event {
            StoreEvent::Lines {
                client,
                token,
                lines,
            } => self.arrived(chat, config, out, client, token, lines, now),
            StoreEvent::Committed { through } => self.release(chat, config, out, through),
            StoreEvent::Health { failures, error } => {
                if error.is_some() {
                    // Chat goes on while the disk fails: what waits for a
                    // commit goes out uncommitted (the failure is logged).
                    self.release(chat, config, out, u64::MAX);
                }
                let line = match &error {
                    Some(error) => format!(
                        "history store: write failed ({failures} failures so far): {error}; chat goes on, writing is retried"
                    ),
                    None => format!("history store: writing again ({failures} failures so far)"),
                };
                if error != self.error {
                    out.console(&line);
                }
                (self.failures, self.error) = (failures, error);
            }
        }
    }

    /// History waits that lasted too long get the memory's history.
    pub(crate) fn tick(
        &mut self,
        chat: &mut Chat,
        config: &HubConfig,
        out: &mut dyn Outbox,
        now: Now,
    ) {
        let second = now.timestamp();
        let due = self
            .pruned_at
            .is_none_or(|at| second - at >= PRUNE_EVERY_SECONDS);
        if self.on && due {
            self.pruned_at = Some(second);
            let since = config.history_retention.since(second);
            let before_ms = since.saturating_mul(1000);
            if !out.store(StoreRequest::Prune { before_ms }) {
                self.dropped += 1;
            }
        }
        let overdue: Vec<(ClientId, u64)> = self
            .waiting
            .iter()
            .filter(|(_, (_, since, _))| second - since >= HISTORY_WAIT_SECONDS)
            .map(|(&id, &(token, _, _))| (id, token))
            .collect();
        for (id, token) in overdue {
            self.arrived(chat, config, out, id, token, None, now);
        }
    }

    #[allow(clippy::too_many_arguments)] // the event's fields, as they come
    fn arrived(
        &mut self,
        chat: &mut Chat,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        token: u64,
        lines: Option<Vec<StoredLine>>,
        now: Now,
    ) {
        let Some(&(_, _, count)) = self.waiting.get(&id).filter(|&&(t, _, _)| t == token) else {
            return; // an old request
        };
        self.waiting.remove(&id);
        if !chat.is_holding(id) {
            // Gone, or its held lines overflowed and went out: late history
            // would come after newer lines, so it is skipped.
            return;
        }
        match lines {
            Some(lines) => {
                // The store read one more than asked: another page follows.
                let page = &lines[..lines.len().min(count)];
                let more = match page.last() {
                    Some(last) if lines.len() > count => {
                        format!("more: /history since {}", last.id)
                    }
                    _ => String::new(),
                };
                let then = (!more.is_empty()).then_some((now, more.as_str()));
                chat.send_stored_history(out, id, page, then);
            }
            None => {
                let since = config.history_retention.since(now.timestamp());
                chat.send_local_history(out, id, count, since);
            }
        }
        chat.release(out, id);
    }

    /// How the store is doing, if there is one.
    pub(crate) fn health(&self) -> Option<StoreHealth> {
        self.on.then(|| StoreHealth {
            writing: self.error.is_none(),
            write_failures: self.failures,
            dropped: self.dropped,
            uncommitted: self.uncommitted.len(),
        })
    }

    /// The `/stats` line about the store, if there is one.
    pub(crate) fn stats_line(&self) -> Option<String> {
        if !self.on {
            return None;
        }
        let state = match &self.error {
            None => "ok".to_owned(),
            Some(error) => format!("failing: {error}"),
        };
        Some(format!(
            "history store: {state} [{} write failures, {} requests dropped (queue toward the store full), next id {}]",
            self.failures, self.dropped, self.next_id
        ))
    }
}
