//! Delivery: every line the hub sends leaves through here, encoded once and
//! handed out, and counted once per recipient.
//!
//! Every line is written into one growing arena and split off as a `Bytes`
//! handle: a line relayed to a thousand clients is one encode and a thousand
//! reference-count increments, and the arena is reused once every handle into
//! it has been written, so steady traffic allocates nothing per message.
//!
//! A line sent to many is encoded once per *wire shape* among its
//! recipients ([`WireShape`]: a protocol, and what its client negotiated,
//! such as message ids), not once per recipient, and not at all for a
//! shape no recipient has. [`Delivery::encodings`] counts the encodings,
//! so this is observable (`/stats`, `chat_encodings_total`) and tested.
//!
//! A history is encoded here too, when it is replayed: the ring's
//! protocol-neutral lines (`crate::history`), or the store's or the
//! cluster's, written in the client's shape into the arena and sent as one
//! `Bytes` ([`Delivery::send_history`]).
//!
//! Delivery can also hold a client's lines back (while its history is
//! fetched from the cluster), so history comes first and nothing live is
//! lost meanwhile.

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};
use chat_proto::{
    Body, StampCache, TimestampFormat, encode_line, encode_raw_room_line, encode_room_line,
};

use crate::chat::SaidLine;
use crate::clients::{Client, Clients};
use crate::rooms::RoomId;

pub(crate) mod tags;
use crate::{ClientId, Now, Outbox, Protocol};
use tags as irc;

/// Room left in the arena before a fresh block is reserved.
const ARENA_MIN_FREE: usize = 8 * 1024;
const ARENA_BLOCK: usize = 64 * 1024;
/// Lines held for one client while its history is fetched; past this they
/// are let go (in order) and the late history is skipped.
pub(crate) const HOLD_MAX: usize = 1000;

#[derive(Debug)]
pub(crate) struct Delivery {
    arena: BytesMut,
    stamps: StampCache,
    /// Raw protocol always speaks ctime, as the tutorial did.
    raw_stamps: StampCache,
    /// Output held back from clients waiting for their history, so that
    /// history comes first and no live line is lost meanwhile.
    held: HashMap<ClientId, Vec<Bytes>>,
    /// Lines queued to connections, each recipient counted.
    delivered: u64,
    /// Lines encoded for the wire.
    encodings: u64,
    /// The server's name, on IRC lines.
    server_name: String,
    /// The last IRC history batch's number.
    batches: u64,
}

/// How one client is written to: a protocol, the variants it negotiated,
/// and whether the line comes from a room other than its current one.
/// Clients of one shape share one encoding of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WireShape {
    form: Form,
    /// A room line from a room that is not the client's current one: it
    /// carries the room (`[stamp] #dev <alice> hi`).
    other_room: bool,
}

/// A protocol and the variants its client negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// Line protocol: `[stamp] body`.
    Line,
    /// Line protocol with `/cap ids`: room lines read `[stamp] #ID body`.
    LineWithIds,
    /// The tutorial's raw chunks: `[ctime]body`, no newline.
    Raw,
    /// IRC, with the message tags its client negotiated: `time`
    /// (server-time), `msgid` (message-tags) and `account` (account-tag,
    /// set only for a line whose sender is logged in, so that clients with
    /// and without the capability share a line from a guest). The room is
    /// always on an IRC line, so `other_room` never splits these.
    Irc {
        time: bool,
        msgid: bool,
        account: bool,
    },
}

impl Form {
    /// An index per form, for a line's encodings.
    fn index(self) -> usize {
        match self {
            Form::Line => 0,
            Form::LineWithIds => 1,
            Form::Raw => 2,
            Form::Irc {
                time,
                msgid,
                account,
            } => 3 + usize::from(time) + 2 * usize::from(msgid) + 4 * usize::from(account),
        }
    }

    /// `sender_account`: the line comes from someone logged in.
    fn irc(caps: chat_irc::Caps, sender_account: bool) -> Form {
        Form::Irc {
            time: caps.contains(chat_irc::Cap::ServerTime),
            msgid: caps.contains(chat_irc::Cap::MessageTags),
            account: sender_account && caps.contains(chat_irc::Cap::AccountTag),
        }
    }
}

impl WireShape {
    /// How many shapes there are (the size of a line's encodings).
    const COUNT: usize = 22;

    /// The shape `client` gets a line in; `None`: the line is not for it.
    fn of(client: &Client, line: &LineFacts) -> Option<WireShape> {
        let form = match client.protocol {
            Protocol::Line if line.numbered && client.ids => Form::LineWithIds,
            Protocol::Line => Form::Line,
            Protocol::Raw if line.audience == Audience::Everyone => Form::Raw,
            Protocol::Raw => return None,
            Protocol::Irc => Form::irc(client.caps, line.account.is_some()),
        };
        let other_room = client.protocol != Protocol::Irc
            && line
                .room
                .is_some_and(|(room, _)| client.seats.current() != Some(room));
        Some(WireShape { form, other_room })
    }

    /// The shape a connection of `protocol` gets a line meant for it alone.
    /// `sender_account`: the line comes from someone logged in.
    fn direct(protocol: Protocol, caps: chat_irc::Caps, sender_account: bool) -> WireShape {
        let form = match protocol {
            Protocol::Line => Form::Line,
            Protocol::Raw => Form::Raw,
            Protocol::Irc => Form::irc(caps, sender_account),
        };
        WireShape {
            form,
            other_room: false,
        }
    }

    fn index(self) -> usize {
        self.form.index() * 2 + usize::from(self.other_room)
    }

    fn is_irc(self) -> bool {
        matches!(self.form, Form::Irc { .. })
    }
}

/// The recipient of a line encoded for it alone: its nick and what it
/// negotiated.
#[derive(Debug, Clone, Copy)]
struct Addressee<'a> {
    nick: &'a str,
    caps: chat_irc::Caps,
}

impl<'a> Addressee<'a> {
    fn of(client: &'a Client) -> Addressee<'a> {
        Addressee {
            nick: &client.nick,
            caps: client.caps,
        }
    }
}

/// What decides a line's shape, besides its recipient.
struct LineFacts<'a> {
    /// It has a message id.
    numbered: bool,
    audience: Audience,
    /// The room it was said in, for a room line.
    room: Option<(RoomId, &'a str)>,
    /// The account of who it comes from (said or joined), if logged in.
    account: Option<&'a str>,
}

/// What IRC shows of who a line is about, besides its nick: its real name
/// (`extended-join`) and its account (`extended-join`, `account-tag`).
#[derive(Debug, Clone, Copy, Default)]
struct About<'a> {
    realname: Option<&'a str>,
    account: Option<&'a str>,
}

/// Who gets a line sent to many.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Recipients<'a> {
    pub(crate) members: &'a [ClientId],
    /// The sender, who gets no echo.
    pub(crate) except: Option<ClientId>,
    pub(crate) audience: Audience,
    /// For a line said in a room: the room (and its name), which members
    /// whose current room is another see on the line.
    pub(crate) room: Option<(RoomId, &'a str)>,
    /// For a notice about a client (its join): that client, whose real
    /// name IRC's `extended-join` shows.
    pub(crate) about: Option<ClientId>,
    /// For a line a local client said: that client, whose account IRC's
    /// `account-tag` shows.
    pub(crate) sender: Option<ClientId>,
}

impl<'a> Recipients<'a> {
    /// Every one of `members`, raw clients included, no one excepted.
    pub(crate) fn all(members: &'a [ClientId]) -> Recipients<'a> {
        Recipients {
            members,
            except: None,
            audience: Audience::Everyone,
            room: None,
            about: None,
            sender: None,
        }
    }

    /// The ones of `members` that hear notices.
    pub(crate) fn line_clients(members: &'a [ClientId]) -> Recipients<'a> {
        Recipients {
            audience: Audience::LineClients,
            ..Recipients::all(members)
        }
    }
}

/// Which clients among the recipients a line is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    /// Room traffic: every member, raw ones included.
    Everyone,
    /// Server notices: raw clients get nothing unprompted but what is
    /// addressed to them, so they are skipped.
    LineClients,
}

/// History lines being written for one client, in the line protocol's
/// history shape: `[stamp] (history) <nick> text`, `[stamp] #ID (history)
/// ...` where ids are shown, stamped with the server's format now.
#[derive(Debug)]
pub(crate) struct HistoryBatch<'d> {
    arena: &'d mut BytesMut,
    stamps: &'d mut StampCache,
    numbered: bool,
}

impl HistoryBatch<'_> {
    /// Room a history line of `said` takes, about: its nick and text, and
    /// more than a stamp, an id and the punctuation.
    pub(crate) fn size(said: &SaidLine<'_>) -> usize {
        64 + said.nick.len() + said.text.len()
    }

    /// `said`, stamped when it was said.
    pub(crate) fn line(&mut self, said: &SaidLine<'_>) {
        let (nick, text, action) = (said.nick, said.text, said.action);
        let body = Body::History { nick, text, action };
        let stamp = self.stamps.get(said.time);
        let id = said.id.filter(|_| self.numbered);
        encode_room_line(self.arena, stamp, id, None, &body);
    }

    /// A body other than a room line (a notice, a private line), stamped
    /// `now`.
    pub(crate) fn notice(&mut self, now: Now, body: &Body<'_>) {
        encode_line(self.arena, self.stamps.get(now), body);
    }
}

impl Delivery {
    pub(crate) fn new(format: TimestampFormat, server_name: &str) -> Delivery {
        Delivery {
            arena: BytesMut::new(),
            stamps: StampCache::new(format),
            raw_stamps: StampCache::new(TimestampFormat::Ctime),
            held: HashMap::new(),
            delivered: 0,
            encodings: 0,
            server_name: server_name.to_owned(),
            batches: 0,
        }
    }

    /// Stamps lines in `format` from now on (a reload).
    pub(crate) fn set_timestamp(&mut self, format: TimestampFormat) {
        self.stamps = StampCache::new(format);
    }

    /// Lines queued to connections so far, each recipient counted.
    pub(crate) fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Lines encoded for the wire so far.
    pub(crate) fn encodings(&self) -> u64 {
        self.encodings
    }

    /// Holds what is sent to `id` from now on, until [`Delivery::release`].
    pub(crate) fn hold(&mut self, id: ClientId) {
        self.held.entry(id).or_default();
    }

    pub(crate) fn is_holding(&self, id: ClientId) -> bool {
        self.held.contains_key(&id)
    }

    /// Stops holding for `id`: what was held goes out, in order.
    pub(crate) fn release(&mut self, out: &mut dyn Outbox, id: ClientId) {
        for held in self.held.remove(&id).unwrap_or_default() {
            out.send(id, held);
        }
    }

    /// Queues `msg` for `to`, or holds it.
    fn deliver(&mut self, out: &mut dyn Outbox, to: ClientId, msg: Bytes) {
        self.delivered += 1;
        if !self.held.is_empty()
            && let Some(queue) = self.held.get_mut(&to)
        {
            if queue.len() < HOLD_MAX {
                return queue.push(msg);
            }
            // Too much waited: everything goes now, in order.
            self.release(out, to);
        }
        out.send(to, msg);
    }

    /// Lines already encoded (a batch of history) for `to`, ahead of
    /// anything held for it.
    pub(crate) fn send_encoded(&mut self, out: &mut dyn Outbox, to: ClientId, lines: Bytes) {
        if !lines.is_empty() {
            self.delivered += 1;
            out.send(to, lines);
        }
    }

    /// A batch of history for `to`, written by `write` line by line into
    /// the arena (room for `reserve` bytes made first, so a long history
    /// is not copied as it grows) and sent as one `Bytes` with
    /// [`Delivery::send_encoded`], ahead of anything held for it.
    /// `numbered`: lines that have an id show it (a client that asked).
    pub(crate) fn send_history(
        &mut self,
        out: &mut dyn Outbox,
        to: ClientId,
        numbered: bool,
        reserve: usize,
        write: impl FnOnce(&mut HistoryBatch<'_>),
    ) {
        if self.arena.capacity() - self.arena.len() < reserve.max(ARENA_MIN_FREE) {
            self.arena.reserve(reserve.max(ARENA_BLOCK));
        }
        write(&mut HistoryBatch {
            arena: &mut self.arena,
            stamps: &mut self.stamps,
            numbered,
        });
        let lines = self.arena.split().freeze();
        self.send_encoded(out, to, lines);
    }

    /// `lines` of `room` to the IRC client `client` as a `chathistory`
    /// batch (its lines tagged `batch=` where it negotiated `batch`).
    pub(crate) fn send_irc_batch<'a>(
        &mut self,
        out: &mut dyn Outbox,
        (id, client): (ClientId, &Client),
        room: &str,
        lines: impl Iterator<Item = SaidLine<'a>>,
    ) {
        let shape = WireShape::direct(Protocol::Irc, client.caps, false);
        let to = Some(Addressee::of(client));
        let batched = client.caps.contains(chat_irc::Cap::Batch);
        self.batches += 1;
        let reference = format!("ch{}", self.batches);
        let channel = chat_irc::render::channel(room);
        let mut batch = BytesMut::new();
        let server = self.server_name.clone();
        if batched {
            let open = format!("+{reference}");
            let params = [open.as_str(), "chathistory", &channel];
            let _ = chat_irc::write(&mut batch, &[], Some(&server), "BATCH", &params);
        }
        let tag = batched.then_some(reference.as_str());
        for line in lines {
            let body = line.body();
            let encoded = self.encode_shape(
                shape,
                line.time,
                line.id,
                Some(room),
                (to, About::default()),
                &body,
            );
            chat_irc::write_lines_with_tag(&mut batch, "batch", tag, &encoded);
        }
        if batched {
            let close = format!("-{reference}");
            let _ = chat_irc::write(&mut batch, &[], Some(&server), "BATCH", &[&close]);
        }
        self.send_encoded(out, id, batch.freeze());
    }

    /// Sends `body` to a connection that is not a client yet (a login, a
    /// refusal), in `framing`.
    pub(crate) fn send_to_connection(
        &mut self,
        out: &mut dyn Outbox,
        to: ClientId,
        protocol: Protocol,
        now: Now,
        body: &Body<'_>,
    ) {
        let msg = self.encode(protocol, now, body);
        self.deliver(out, to, msg);
    }

    /// `body` encoded in `framing`, for a connection the hub never sees (the
    /// reactor's refusal when it is out of descriptors).
    pub(crate) fn encode(&mut self, protocol: Protocol, now: Now, body: &Body<'_>) -> Bytes {
        let shape = WireShape::direct(protocol, chat_irc::Caps::EMPTY, false);
        self.encode_shape(shape, now, None, None, (None, About::default()), body)
    }

    /// `body` written in `shape` (numbered `id` where the shape shows ids,
    /// with `room` where it shows the room), split off the arena: the one
    /// place a line sent live is encoded (a replayed history is written by
    /// [`HistoryBatch`] or, for IRC, as a batch of these).
    fn encode_shape(
        &mut self,
        shape: WireShape,
        now: Now,
        id: Option<u64>,
        room: Option<&str>,
        (to, about): (Option<Addressee<'_>>, About<'_>),
        body: &Body<'_>,
    ) -> Bytes {
        if self.arena.capacity() - self.arena.len() < ARENA_MIN_FREE {
            self.arena.reserve(ARENA_BLOCK);
        }
        self.encodings += 1;
        let arena = &mut self.arena;
        let tag = room.filter(|_| shape.other_room);
        match shape.form {
            Form::LineWithIds => encode_room_line(arena, self.stamps.get(now), id, tag, body),
            Form::Line => encode_room_line(arena, self.stamps.get(now), None, tag, body),
            Form::Raw => encode_raw_room_line(arena, self.raw_stamps.get(now), tag, body),
            Form::Irc {
                time,
                msgid,
                account,
            } => {
                let time = time.then(|| irc::ServerTime::of(now));
                let msgid = id.filter(|_| msgid).map(irc::Digits::of);
                let facts = chat_irc::render::Facts {
                    server: &self.server_name,
                    to: to.map(|to| to.nick),
                    room,
                    time: time.as_deref(),
                    msgid: msgid.as_deref(),
                    echo: to.is_some_and(|to| Protocol::Irc.echoes(to.caps)),
                    extended_join: to
                        .is_some_and(|to| to.caps.contains(chat_irc::Cap::ExtendedJoin)),
                    realname: about.realname,
                    account: about.account,
                    account_tag: account,
                };
                chat_irc::render::render(arena, &facts, body);
            }
        }
        self.arena.split().freeze()
    }

    /// Sends `body` to one client, in its framing.
    pub(crate) fn send_one(
        &mut self,
        out: &mut dyn Outbox,
        clients: &Clients,
        to: ClientId,
        now: Now,
        body: &Body<'_>,
    ) {
        self.send_one_from(out, clients, (None, to), now, body);
    }

    /// Sends `body`, said by `sender` (a private message from a local
    /// client, whose account IRC's `account-tag` shows), to one client.
    pub(crate) fn send_one_from(
        &mut self,
        out: &mut dyn Outbox,
        clients: &Clients,
        (sender, to): (Option<ClientId>, ClientId),
        now: Now,
        body: &Body<'_>,
    ) {
        if let Some(client) = clients.get(to) {
            let account = sender
                .and_then(|sender| clients.get(sender))
                .and_then(|sender| sender.account.as_deref());
            let shape = WireShape::direct(client.protocol, client.caps, account.is_some());
            let about = About {
                realname: None,
                account,
            };
            let addressee = (Some(Addressee::of(client)), about);
            let msg = self.encode_shape(shape, now, None, None, addressee, body);
            if !msg.is_empty() {
                self.deliver(out, to, msg);
            }
        }
    }

    /// Sends `body` to the recipients, encoding it at most once per framing.
    /// Returns how many clients it was queued for.
    pub(crate) fn send_many(
        &mut self,
        out: &mut dyn Outbox,
        clients: &Clients,
        to: Recipients<'_>,
        now: Now,
        body: &Body<'_>,
    ) -> u64 {
        self.send_room_line(out, clients, to, now, None, body)
    }

    /// [`Delivery::send_many`] for a room line numbered `id`: clients that
    /// asked for ids get it numbered. Each shape present is encoded once,
    /// when its first recipient comes, and shared by the others.
    pub(crate) fn send_room_line(
        &mut self,
        out: &mut dyn Outbox,
        clients: &Clients,
        to: Recipients<'_>,
        now: Now,
        id: Option<u64>,
        body: &Body<'_>,
    ) -> u64 {
        let Recipients {
            members,
            except,
            audience,
            room,
            about,
            sender,
        } = to;
        let about = about.or(sender).and_then(|about| clients.get(about));
        let about = About {
            realname: about.and_then(|about| about.realname.as_deref()),
            account: about.and_then(|about| about.account.as_deref()),
        };
        let joined = matches!(body, Body::Notice(chat_proto::Notice::Joined { .. }));
        let facts = LineFacts {
            numbered: id.is_some(),
            audience,
            room,
            account: about.account,
        };
        let tag = room.map(|(_, name)| name);
        let mut encoded: [Option<Bytes>; WireShape::COUNT] = Default::default();
        let mut sent = 0;
        for &member in members {
            if Some(member) == except {
                continue;
            }
            let Some(client) = clients.get(member) else {
                continue;
            };
            let Some(shape) = WireShape::of(client, &facts) else {
                continue;
            };
            let extended = joined && client.caps.contains(chat_irc::Cap::ExtendedJoin);
            let bytes = if shape.is_irc() && (extended || chat_irc::render::needs_recipient(body)) {
                // Every IRC reply names its recipient, and an extended join
                // is for those who asked (joins are announced only in rooms
                // of at most `announce_limit`): one encoding each.
                let to = Some(Addressee::of(client));
                self.encode_shape(shape, now, id, tag, (to, about), body)
            } else {
                match &encoded[shape.index()] {
                    Some(bytes) => bytes.clone(),
                    None => {
                        let shared = (None, about);
                        let bytes = self.encode_shape(shape, now, id, tag, shared, body);
                        encoded[shape.index()].insert(bytes).clone()
                    }
                }
            };
            if bytes.is_empty() {
                continue; // nothing in this protocol says it
            }
            self.deliver(out, member, bytes);
            sent += 1;
        }
        sent
    }
}
