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

use std::collections::{HashMap, HashSet};

use chat_proto::room_key;

use crate::chat::Chat;
use crate::node::Node;
use crate::{ClientId, Now, Outbox};

/// A client waiting this long for its history gets the memory's instead.
const HISTORY_WAIT_SECONDS: i64 = 3;

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
    Append(StoredLine),
    /// The room's last `count` lines, oldest first; answered by
    /// [`StoreEvent::Lines`] with the same `client` and `token`.
    Recent {
        client: ClientId,
        token: u64,
        room: String,
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
}

impl Store {
    /// A store is on, holding lines of `rooms` (keys); the first line gets
    /// `next_id`.
    pub(crate) fn enable(&mut self, next_id: u64, rooms: Vec<String>) {
        self.on = true;
        self.next_id = next_id.max(1);
        self.stored = rooms.into_iter().collect();
    }

    /// A number for a new room line.
    fn take_id(&mut self) -> u64 {
        self.next_id = self.next_id.max(1);
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// A local room line said by `id`: to the store.
    pub(crate) fn append(
        &mut self,
        chat: &Chat,
        out: &mut dyn Outbox,
        id: ClientId,
        action: bool,
        text: &str,
        now: Now,
    ) {
        let members = chat.members();
        let Some(client) = members.client(id).filter(|_| self.on) else {
            return;
        };
        let room = room_key(&members.room(client.seat.room).name);
        match self.appended.get_mut(&room) {
            Some(count) => *count += 1,
            None => {
                self.appended.insert(room.clone(), 1);
            }
        }
        let line = StoredLine {
            id: self.take_id(),
            room,
            nick: client.nick.clone(),
            text: text.to_owned(),
            action,
            time: now,
        };
        if !out.store(StoreRequest::Append(line)) {
            self.dropped += 1;
        }
    }

    /// Sends `id` the last `count` lines of its room, before anything else
    /// it is sent from now on: from memory when the room's ring holds that
    /// many or all there is (or there is no store, or a cluster's Redis
    /// keeps the history), else from the store, later, holding what it is
    /// sent meanwhile.
    pub(crate) fn send_history(
        &mut self,
        node: &mut Node,
        chat: &mut Chat,
        out: &mut dyn Outbox,
        id: ClientId,
        count: usize,
        now: Now,
    ) {
        let Some(room) = chat.members().room_of(id) else {
            return;
        };
        let key = room_key(&chat.members().room(room).name);
        let held = chat.history_len(room);
        let said = self.appended.get(&key).copied().unwrap_or(0);
        let whole = !self.stored.contains(&key) && said == held;
        if !self.on || node.is_on() || count == 0 || held >= count || whole {
            return node.send_history(chat, out, id, count, now);
        }
        // One wait at a time: what an earlier one held goes first.
        self.waiting.remove(&id);
        chat.release(out, id);
        self.next_token += 1;
        let token = self.next_token;
        let request = StoreRequest::Recent {
            client: id,
            token,
            room: key,
            count,
        };
        if out.store(request) {
            self.waiting.insert(id, (token, now.timestamp(), count));
            chat.hold(id);
        } else {
            self.dropped += 1;
            chat.send_local_history(out, id, count);
        }
    }

    /// The store answered or reported.
    pub(crate) fn event(&mut self, chat: &mut Chat, out: &mut dyn Outbox, event: StoreEvent) {
        match event {
            StoreEvent::Lines {
                client,
                token,
                lines,
            } => self.arrived(chat, out, client, token, lines),
            StoreEvent::Health { failures, error } => {
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
    pub(crate) fn tick(&mut self, chat: &mut Chat, out: &mut dyn Outbox, now: Now) {
        let second = now.timestamp();
        let overdue: Vec<(ClientId, u64)> = self
            .waiting
            .iter()
            .filter(|(_, (_, since, _))| second - since >= HISTORY_WAIT_SECONDS)
            .map(|(&id, &(token, _, _))| (id, token))
            .collect();
        for (id, token) in overdue {
            self.arrived(chat, out, id, token, None);
        }
    }

    fn arrived(
        &mut self,
        chat: &mut Chat,
        out: &mut dyn Outbox,
        id: ClientId,
        token: u64,
        lines: Option<Vec<StoredLine>>,
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
            Some(lines) => chat.send_stored_history(out, id, &lines),
            None => chat.send_local_history(out, id, count),
        }
        chat.release(out, id);
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
