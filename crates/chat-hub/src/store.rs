//! The hub's side of the history store, still without I/O: [`StoreClient`]
//! numbers room lines, hands them to the store (counting and logging any
//! it cannot take), decides when a history is read from the store rather
//! than from memory, and keeps the clients waiting for a read: at most one
//! read each, called off ([`ReadCancel`]) when the client leaves, asks
//! again or has waited [`READ_WAIT_SECONDS`]. A search always gets an
//! answer of its own: its matches, "no matches", or "busy" (never other
//! lines in their place). What goes to the store and comes back is in
//! `store/messages.rs`.
//!
//! The store itself (SQLite, on threads of its own) lives in chat-server.
//! The hub only enqueues ([`Outbox::store`]) and is told
//! ([`Hub::store_event`](crate::Hub::store_event)), so the reactor never
//! waits on the disk. Without a store (`history_store = "memory"`, or a
//! cluster, whose history lives in Redis) a `StoreClient` is off: it asks nothing
//! and every history comes from the rooms' rings.

mod messages;
mod private;
mod queries;

pub(crate) use private::conversation_key;

pub(crate) use queries::HISTORY_QUERY_MAX;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use bytes::BytesMut;
use chat_proto::Refusal;
use chat_proto::{Command, Notice};

pub use messages::{
    NewLine, ReadAnswer, ReadCancel, ReadKind, StoreEvent, StoreRead, StoreRequest, StoredLine,
};

use crate::chat::{Chat, Saying};
use crate::ctx::Ctx;
use crate::node::Node;
use crate::{ClientId, Now, Outbox};

/// The most lines `/search` shows.
const SEARCH_MAX: usize = 20;

/// A read not answered within this long is called off: a history comes
/// from memory instead, a search is answered "busy".
const READ_WAIT_SECONDS: i64 = 3;

/// How often the store is told how old a line may be
/// (`history_retention`): it forgets older lines in the background.
const PRUNE_EVERY_SECONDS: i64 = 60;

/// "1 match", "2 matches".
fn matches(lines: &[StoredLine]) -> String {
    match lines.len() {
        1 => "1 match".to_owned(),
        n => format!("{n} matches"),
    }
}

/// A client waiting for a read's answer.
#[derive(Debug)]
struct Wait {
    token: u64,
    /// The second it began to wait.
    since: i64,
    /// How many lines it asked for.
    count: usize,
    cancel: ReadCancel,
    /// A search's words (its answer says so, and never stands in with
    /// other lines).
    search: Option<String>,
    /// How the answer goes out.
    shape: AnswerShape,
}

/// How a read's answer goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AnswerShape {
    /// As history lines (a search's matches, with its words).
    Lines,
    /// As the `chathistory` batch of this IRC channel.
    IrcBatch(String),
    /// After `N unread in ROOM since #ID`: what a reader missed in `room`
    /// since its marker.
    Unread { room: String, since: u64 },
    /// As the reader's private conversation with `with`.
    Private { with: String },
}

#[derive(Debug, Default)]
pub(crate) struct StoreClient {
    /// A store takes the lines.
    on: bool,
    /// The id of the next room line.
    next_id: u64,
    /// The id of the last line the store took: a read asked now waits for
    /// it to be committed.
    handed: u64,
    /// Rooms the file had lines of when the server started.
    stored: HashSet<String>,
    /// Lines each room was said since the server started. A room's ring
    /// holding as many (and the file no older ones) is its whole history:
    /// no need to read the file.
    appended: HashMap<String, usize>,
    /// Clients waiting for a read: at most one each.
    waiting: HashMap<ClientId, Wait>,
    next_token: u64,
    /// Lines the channel toward the store could not take: they never
    /// reach the file.
    dropped: u64,
    /// Of those, the ones not yet logged, and when drops were last logged
    /// (Unix seconds).
    dropped_unlogged: u64,
    dropped_logged_at: Option<i64>,
    /// Reads the store's reader had no room for (answered "busy").
    reads_refused: u64,
    /// Failed writes, as the store last reported them.
    failures: u64,
    error: Option<String>,
    /// Where new lines' nicks and texts are copied.
    arena: BytesMut,
    /// `history_sync = "always"`: a line goes out once it is committed.
    always: bool,
    /// Lines said but not yet committed (with `always`), and who said them.
    uncommitted: VecDeque<(NewLine, Option<ClientId>)>,
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
    /// Lines the channel toward the store could not take (never written).
    pub dropped: u64,
    /// Reads refused because the reader's queue was full.
    pub reads_refused: u64,
    /// Lines said but not yet committed (`history_sync = "always"`).
    pub uncommitted: usize,
}

/// What became of a line handed to [`StoreClient::append`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Appended {
    /// Relay it now (no store, or `history_sync = "batch"`).
    RelayNow,
    /// It goes out once the store has committed it.
    Held,
    /// The store cannot take it (`always`): it is not said.
    Refused,
}

/// A line on its way to the store: its room's key, who said it, and what.
#[derive(Debug)]
pub(crate) struct Appending<'a> {
    pub(crate) room: Arc<str>,
    pub(crate) nick: &'a str,
    pub(crate) action: bool,
    pub(crate) text: &'a str,
    /// The client that said it; `None` for a line posted over HTTP.
    pub(crate) sender: Option<ClientId>,
}

impl StoreClient {
    /// A store is on, holding lines of `rooms` (keys); the first line gets
    /// `next_id`.
    /// With `always`, a line goes out only once it is committed.
    pub(crate) fn enable(&mut self, next_id: u64, rooms: Vec<String>, always: bool) {
        self.on = true;
        self.always = always;
        self.next_id = next_id.max(1);
        self.handed = self.next_id - 1;
        self.stored = rooms.into_iter().collect();
    }

    /// The id of a new room line; `None` without a store (ids are the
    /// file's: they must never repeat).
    /// The id of the last line handed to the store.
    pub(crate) fn handed(&self) -> u64 {
        self.handed
    }

    pub(crate) fn line_id(&mut self) -> Option<u64> {
        if !self.on {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        Some(id)
    }

    /// A local room line said by `id`, numbered `line_id`: to the store.
    pub(crate) fn append(
        &mut self,
        chat: &Chat,
        ctx: &mut Ctx<'_>,
        id: ClientId,
        line_id: Option<u64>,
        saying: &Saying<'_>,
    ) -> Appended {
        let members = chat.members();
        let Some(client) = members.client(id) else {
            return Appended::RelayNow;
        };
        let Saying { room, action, text } = *saying;
        let room = Arc::clone(&members.room(room).key);
        let line = Appending {
            room,
            nick: &client.nick,
            action,
            text,
            sender: Some(id),
        };
        self.append_line(ctx, line_id, line)
    }

    /// A local room line numbered `line_id` (`None`: no store), from a
    /// client (`sender`, left out when it is relayed after its commit) or
    /// from no client (a posted line): to the store.
    pub(crate) fn append_line(
        &mut self,
        ctx: &mut Ctx<'_>,
        line_id: Option<u64>,
        line: Appending<'_>,
    ) -> Appended {
        let Some(line_id) = line_id else {
            return Appended::RelayNow;
        };
        let Appending {
            room,
            nick,
            action,
            text,
            sender,
        } = line;
        match self.appended.get_mut(room.as_ref()) {
            Some(count) => *count += 1,
            None => {
                self.appended.insert(room.as_ref().to_owned(), 1);
            }
        }
        let line = NewLine::in_arena(&mut self.arena, line_id, room, ctx.now, action, nick, text);
        let hold = self.always && self.error.is_none();
        if hold {
            if !ctx.out.store(StoreRequest::Append(line.clone())) {
                self.line_dropped(ctx.out, ctx.now);
                return Appended::Refused;
            }
            self.handed = line_id;
            self.uncommitted.push_back((line, sender));
            return Appended::Held;
        }
        if ctx.out.store(StoreRequest::Append(line)) {
            self.handed = line_id;
        } else {
            self.line_dropped(ctx.out, ctx.now);
        }
        Appended::RelayNow
    }

    /// A line the store could not take: counted, and logged (the first at
    /// once, then at most once a second with how many).
    fn line_dropped(&mut self, out: &mut dyn Outbox, now: Now) {
        self.dropped += 1;
        self.dropped_unlogged += 1;
        self.log_drops(out, now.timestamp());
    }

    fn log_drops(&mut self, out: &mut dyn Outbox, second: i64) {
        let due = self.dropped_logged_at.is_none_or(|at| second > at);
        if self.dropped_unlogged == 0 || !due {
            return;
        }
        out.console(&format!(
            "history store: {} lines not written (the queue toward the file was full; {} so far)",
            self.dropped_unlogged, self.dropped
        ));
        self.dropped_unlogged = 0;
        self.dropped_logged_at = Some(second);
    }

    /// Lines up to `through` are committed: they go out, as they were said.
    fn release(&mut self, chat: &mut Chat, ctx: &mut Ctx<'_>, through: u64) {
        while let Some((line, _)) = self.uncommitted.front()
            && line.id <= through
        {
            if let Some((line, sender)) = self.uncommitted.pop_front() {
                chat.relay_committed(ctx.config, ctx.out, &line, sender);
            }
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
        ctx: &mut Ctx<'_>,
        id: ClientId,
        count: usize,
    ) {
        let Some(room) = chat.members().current_room(id) else {
            return;
        };
        let key = &chat.members().room(room).key;
        let held = chat.history_len(room);
        let said = self.appended.get(key.as_ref()).copied().unwrap_or(0);
        let whole = !self.stored.contains(key.as_ref()) && said == held;
        // Memory's lines carry no ids: a client that asked for them reads
        // the file.
        let ids = chat.members().client(id).is_some_and(|client| client.ids);
        if !self.on || node.is_on() || count == 0 || (!ids && (held >= count || whole)) {
            return node.send_history(chat, ctx.config, ctx.out, id, count, ctx.now);
        }
        self.read(chat, ctx, id, ReadKind::Recent { count });
    }

    /// Asks the store's reader for `kind` of `id`'s room; `id` waits for
    /// it, its output held. A read already in flight for `id` is called
    /// off (what it held goes out first). A full queue: a history comes
    /// from memory, a search is answered "busy".
    fn read(&mut self, chat: &mut Chat, ctx: &mut Ctx<'_>, id: ClientId, kind: ReadKind) {
        let Some(room) = chat.members().current_room(id) else {
            return;
        };
        let key = Arc::clone(&chat.members().room(room).key);
        self.read_in(chat, ctx, id, key, kind, AnswerShape::Lines);
    }

    /// A joining reader's history from its marker `since` in its current
    /// room (told how much it missed first), or, without a store, as any
    /// join's.
    pub(crate) fn send_unread(
        &mut self,
        node: &mut Node,
        chat: &mut Chat,
        ctx: &mut Ctx<'_>,
        id: ClientId,
        since: u64,
        count: usize,
    ) {
        let Some(room) = chat.members().current_room(id) else {
            return;
        };
        if !self.on || node.is_on() {
            return self.send_history(node, chat, ctx, id, ctx.config.history_lines);
        }
        let room = chat.members().room(room);
        let (name, key) = (room.name.clone(), Arc::clone(&room.key));
        let kind = ReadKind::Since {
            after: since,
            count,
        };
        let shape = AnswerShape::Unread { room: name, since };
        self.read_in(chat, ctx, id, key, kind, shape);
    }

    /// [`StoreClient::read`] of the room (or private conversation) keyed
    /// `room`, its answer going out as `shape` says.
    fn read_in(
        &mut self,
        chat: &mut Chat,
        ctx: &mut Ctx<'_>,
        id: ClientId,
        room: Arc<str>,
        kind: ReadKind,
        shape: AnswerShape,
    ) {
        if let Some(old) = self.waiting.remove(&id) {
            old.cancel.cancel();
            chat.release(ctx.out, id);
        }
        self.next_token += 1;
        let (count, search) = match &kind {
            ReadKind::Recent { count }
            | ReadKind::Since { count, .. }
            | ReadKind::Range { count, .. }
            | ReadKind::Around { count, .. } => (*count, None),
            ReadKind::Search { words, count } => (*count, Some(words.clone())),
        };
        let wait = Wait {
            token: self.next_token,
            since: ctx.now.timestamp(),
            count,
            cancel: ReadCancel::default(),
            search,
            shape,
        };
        let request = StoreRead {
            client: id,
            token: wait.token,
            room,
            sees_through: self.handed,
            cancel: wait.cancel.clone(),
            kind,
        };
        if ctx.out.store(StoreRequest::Read(request)) {
            self.waiting.insert(id, wait);
            chat.hold(id);
        } else {
            self.reads_refused += 1;
            self.answer_without_store(chat, ctx, id, &wait);
        }
    }

    /// What a client gets when the store cannot answer it: a history from
    /// memory; for a search, that the store is busy (never other lines).
    fn answer_without_store(
        &mut self,
        chat: &mut Chat,
        ctx: &mut Ctx<'_>,
        id: ClientId,
        wait: &Wait,
    ) {
        if wait.search.is_some() {
            return chat.refuse(ctx.out, id, Refusal::SearchBusy, ctx.now);
        }
        if let AnswerShape::Private { .. } = wait.shape {
            let busy = Refusal::Other("history: the history store is busy, try again");
            return chat.refuse(ctx.out, id, busy, ctx.now);
        }
        let since = ctx.config.history_retention.since(ctx.now.timestamp());
        chat.send_local_history(ctx.out, id, wait.count, since);
    }

    /// `/history [N]`, `/history since ID`, `/search WORDS`, `/cap NAME`.
    pub(crate) fn command(
        &mut self,
        node: &mut Node,
        chat: &mut Chat,
        ctx: &mut Ctx<'_>,
        id: ClientId,
        command: Command<'_>,
    ) {
        match command {
            Command::History(count) => {
                if let Some(count) = chat.history_count(ctx.config, ctx.out, id, count, ctx.now) {
                    self.send_history(node, chat, ctx, id, count);
                }
            }
            Command::HistorySince(after) => {
                let Some(count) = chat.history_count(ctx.config, ctx.out, id, None, ctx.now) else {
                    return;
                };
                if !self.on {
                    return chat.refuse(ctx.out, id, Refusal::NeedsHistoryFile, ctx.now);
                }
                self.read(chat, ctx, id, ReadKind::Since { after, count });
            }
            Command::Search(words) => {
                if !chat.protocol(id).reads_history() {
                    return chat.refuse(ctx.out, id, Refusal::SearchNeedsLines, ctx.now);
                }
                if !self.on {
                    return chat.refuse(ctx.out, id, Refusal::NeedsHistoryFile, ctx.now);
                }
                let words = words.to_owned();
                let kind = ReadKind::Search {
                    words,
                    count: SEARCH_MAX,
                };
                self.read(chat, ctx, id, kind);
            }
            Command::Cap(name) => {
                let refusal = if !name.eq_ignore_ascii_case("ids") {
                    Refusal::UnknownCapability { name }
                } else if !self.on {
                    Refusal::NeedsHistoryFile
                } else if let Some(client) = chat.members_mut().client_mut(id)
                    && client.protocol.reads_history()
                {
                    client.ids = true;
                    let text = "capability ids on: room lines read [stamp] #ID <nick> text";
                    return chat.info(ctx.out, id, text, ctx.now);
                } else {
                    Refusal::CapabilitiesNeedLines
                };
                chat.refuse(ctx.out, id, refusal, ctx.now);
            }
            Command::HistoryOf { room, query } => self.history_of(chat, ctx, id, room, query),
            _ => {}
        }
    }

    /// The store answered or reported.
    pub(crate) fn event(&mut self, chat: &mut Chat, ctx: &mut Ctx<'_>, event: StoreEvent) {
        match event {
            StoreEvent::Read {
                client,
                token,
                answer,
            } => self.arrived(chat, ctx, client, token, answer),
            StoreEvent::Committed { through } => self.release(chat, ctx, through),
            StoreEvent::Health { failures, error } => {
                if error.is_some() {
                    // Chat goes on while the disk fails: what waits for a
                    // commit goes out uncommitted (the failure is logged).
                    self.release(chat, ctx, u64::MAX);
                }
                let line = match &error {
                    Some(error) => format!(
                        "history store: write failed ({failures} failures so far): {error}; chat goes on, writing is retried"
                    ),
                    None => format!("history store: writing again ({failures} failures so far)"),
                };
                if error != self.error {
                    ctx.out.console(&line);
                }
                (self.failures, self.error) = (failures, error);
            }
        }
    }

    /// `id` is gone: its read, if any, is called off.
    pub(crate) fn departed(&mut self, id: ClientId) {
        if let Some(wait) = self.waiting.remove(&id) {
            wait.cancel.cancel();
        }
    }

    /// Reads that took too long are called off and answered without the
    /// store; drops not yet logged are.
    pub(crate) fn tick(&mut self, chat: &mut Chat, ctx: &mut Ctx<'_>) {
        let second = ctx.now.timestamp();
        self.log_drops(ctx.out, second);
        let due = self
            .pruned_at
            .is_none_or(|at| second - at >= PRUNE_EVERY_SECONDS);
        if self.on && due {
            self.pruned_at = Some(second);
            let since = ctx.config.history_retention.since(second);
            let before_ms = since.saturating_mul(1000);
            // A retention not told now is told at the next prune.
            let _ = ctx.out.store(StoreRequest::Prune { before_ms });
        }
        let overdue: Vec<(ClientId, u64)> = self
            .waiting
            .iter()
            .filter(|(_, wait)| second - wait.since >= READ_WAIT_SECONDS)
            .map(|(&id, wait)| (id, wait.token))
            .collect();
        for (id, token) in overdue {
            self.arrived(chat, ctx, id, token, ReadAnswer::Failed);
        }
    }

    fn arrived(
        &mut self,
        chat: &mut Chat,
        ctx: &mut Ctx<'_>,
        id: ClientId,
        token: u64,
        answer: ReadAnswer,
    ) {
        if self.waiting.get(&id).is_none_or(|wait| wait.token != token) {
            return; // an old request
        }
        let Some(wait) = self.waiting.remove(&id) else {
            return;
        };
        wait.cancel.cancel();
        if !chat.is_holding(id) {
            // Gone, or its held lines overflowed and went out: a late
            // answer would come after newer lines, so it is skipped.
            return;
        }
        let count = wait.count;
        match (&wait.shape, &answer) {
            (AnswerShape::IrcBatch(channel), _) => {
                let lines = match answer {
                    ReadAnswer::Lines(lines) | ReadAnswer::Partial(lines) => lines,
                    ReadAnswer::Failed => Vec::new(),
                };
                chat.send_irc_history(ctx.out, id, channel, &lines);
                return chat.release(ctx.out, id);
            }
            (AnswerShape::Private { with }, ReadAnswer::Lines(lines)) => {
                chat.send_private_history(ctx.out, id, with, lines);
                return chat.release(ctx.out, id);
            }
            (AnswerShape::Unread { room, since }, ReadAnswer::Lines(lines)) => {
                let unread = Notice::Unread {
                    target: room,
                    count: lines.len(),
                    since: *since,
                };
                let first = (!lines.is_empty()).then_some((ctx.now, unread));
                chat.send_stored_history(ctx.out, id, lines, first, None);
                return chat.release(ctx.out, id);
            }
            _ => {}
        }
        match (answer, &wait.search) {
            (ReadAnswer::Failed, _) => {
                self.answer_without_store(chat, ctx, id, &wait);
            }
            (ReadAnswer::Lines(lines), Some(words)) if lines.is_empty() => {
                let text = format!("search: no matches for {words:?}");
                chat.info(ctx.out, id, &text, ctx.now);
            }
            (ReadAnswer::Partial(lines), Some(words)) if lines.is_empty() => {
                let text = format!(
                    "search: no matches for {words:?} in the time a search may take: more words narrow it"
                );
                chat.info(ctx.out, id, &text, ctx.now);
            }
            (ReadAnswer::Lines(lines), Some(words)) => {
                let text = format!("search: {} for {words:?}, newest last", matches(&lines));
                chat.send_stored_history(ctx.out, id, &lines, None, Some((ctx.now, &text)));
            }
            (ReadAnswer::Partial(lines), Some(words)) => {
                let text = format!(
                    "search: {} for {words:?}, newest last (it stopped early: more words narrow it)",
                    matches(&lines)
                );
                chat.send_stored_history(ctx.out, id, &lines, None, Some((ctx.now, &text)));
            }
            (ReadAnswer::Lines(lines) | ReadAnswer::Partial(lines), None) => {
                // The store read one more than asked: another page follows.
                let page = &lines[..lines.len().min(count)];
                let more = match page.last() {
                    Some(last) if lines.len() > count => {
                        format!("more: /history since {}", last.id)
                    }
                    _ => String::new(),
                };
                let then = (!more.is_empty()).then_some((ctx.now, more.as_str()));
                chat.send_stored_history(ctx.out, id, page, None, then);
            }
        }
        chat.release(ctx.out, id);
    }

    /// A history store takes the lines (reads by id and time work).
    pub(crate) fn is_on(&self) -> bool {
        self.on
    }

    /// How the store is doing, if there is one.
    pub(crate) fn health(&self) -> Option<StoreHealth> {
        self.on.then(|| StoreHealth {
            writing: self.error.is_none(),
            write_failures: self.failures,
            dropped: self.dropped,
            reads_refused: self.reads_refused,
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
            "history store: {state} [{} write failures, {} lines not written (queue toward the store full), {} reads refused (busy), next id {}]",
            self.failures, self.dropped, self.reads_refused, self.next_id
        ))
    }
}
