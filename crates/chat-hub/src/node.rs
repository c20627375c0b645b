//! This node's side of a cluster, still without I/O: [`Node`] keeps what
//! the hub must remember between requests and answers (history waits and
//! their tokens, when the member snapshot is due, the link's status, what
//! was dropped) and decides what each [`ClusterEvent`] does to the local
//! [`Chat`].
//!
//! Without `[cluster]` a `Node` is off: it asks nothing and every answer is
//! local.

use std::collections::HashMap;

use chat_proto::Refusal;
use chat_proto::{Body, nick_key};

use crate::admission::Admission;
use crate::catchup::CatchUp;
use crate::chat::Chat;
use crate::cluster::{local_time, node_tag, release};
use crate::ctx::Ctx;
use crate::pace::QueryPace;
use crate::sanctions::{self, Expel};
use crate::{
    ClaimResult, ClientId, ClusterEvent, ClusterRequest, ClusterSettings, HubConfig, IpNet, Now,
    Outbox, RoomEvent, RoomLine,
};

/// A client waiting this long for its history gets the local one instead.
const HISTORY_WAIT_SECONDS: i64 = 3;

#[derive(Debug, Default)]
pub(crate) struct Node {
    /// `None`: a single server; nothing here is used.
    settings: Option<ClusterSettings>,
    /// Clients waiting for their history, with the token of their request
    /// and when they began to wait (Unix milliseconds).
    waiting: HashMap<ClientId, (u64, i64)>,
    /// The nick each client is claiming in the cluster (`/nick` waits for
    /// the claim).
    claims: HashMap<ClientId, String>,
    next_token: u64,
    /// The second of the last member snapshot.
    last_sync: i64,
    /// The link to Redis, as last reported.
    status: String,
    connected: bool,
    /// Requests dropped because the channel toward Redis was full.
    dropped: u64,
    /// One `/who` or `/rooms` a second per client.
    pace: QueryPace,
    /// Which lines from other nodes were delivered; what to read back
    /// (`crate::news` drives it).
    pub(crate) catchup: CatchUp,
}

impl Node {
    pub(crate) fn new(settings: Option<ClusterSettings>) -> Node {
        let node = settings.as_ref().map_or("", |settings| &settings.node);
        Node {
            catchup: CatchUp::new(node),
            settings,
            ..Node::default()
        }
    }

    pub(crate) fn is_on(&self) -> bool {
        self.settings.is_some()
    }

    /// Whether the link to Redis is up, if this is a node.
    pub(crate) fn link_up(&self) -> Option<bool> {
        self.settings.as_ref().map(|_| self.connected)
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Hands `request` to the bridge; counts what the channel could not take.
    pub(crate) fn ask(&mut self, out: &mut dyn Outbox, request: ClusterRequest) -> bool {
        let taken = self.is_on() && out.cluster(request);
        if !taken && self.is_on() {
            self.dropped += 1;
        }
        taken
    }

    /// A guest nick's suffix: in a cluster it carries the node's tag, so
    /// nodes never hand out the same one.
    pub(crate) fn guest_tag(&self) -> String {
        match &self.settings {
            Some(settings) => format!("-{}", node_tag(&settings.node)),
            None => String::new(),
        }
    }

    /// A local room line or notice, as it goes to the other nodes.
    pub(crate) fn room_line(
        &self,
        room: &str,
        nick: &str,
        text: &str,
        kind: RoomEvent,
        time: Now,
    ) -> Option<ClusterRequest> {
        let settings = self.settings.as_ref()?;
        Some(ClusterRequest::Publish(RoomLine {
            origin: settings.node.clone(),
            room: room.to_owned(),
            nick: nick.to_owned(),
            text: text.to_owned(),
            kind,
            time,
            seq: 0,
        }))
    }

    /// Is a member snapshot due at `second`? (Then it is the last one.)
    fn sync_due(&mut self, second: i64) -> bool {
        let Some(settings) = &self.settings else {
            return false;
        };
        let due = second - self.last_sync >= settings.sync_seconds;
        if due {
            self.last_sync = second;
        }
        due
    }

    /// A new history wait for `id` (replacing any older one); its token.
    fn wait_for_history(&mut self, id: ClientId, ms: i64) -> u64 {
        self.next_token += 1;
        self.waiting.insert(id, (self.next_token, ms));
        self.next_token
    }

    /// Is `token` the wait `id` is in? Then it ends, and when it began
    /// (Unix milliseconds) comes back.
    fn end_wait(&mut self, id: ClientId, token: u64) -> Option<i64> {
        match self.waiting.get(&id) {
            Some(&(current, since)) if current == token => {
                self.waiting.remove(&id);
                Some(since)
            }
            _ => None,
        }
    }

    /// `id` no longer waits (it left, or waits anew).
    fn forget(&mut self, id: ClientId) {
        self.waiting.remove(&id);
    }

    /// Waits that lasted too long at `ms` (Unix milliseconds), with their
    /// tokens.
    fn overdue(&self, ms: i64) -> Vec<(ClientId, u64)> {
        self.waiting
            .iter()
            .filter(|(_, (_, since))| ms - since >= HISTORY_WAIT_SECONDS * 1000)
            .map(|(&id, &(token, _))| (id, token))
            .collect()
    }

    /// The link changed; `true` if the text is news (worth a console line).
    fn set_status(&mut self, connected: bool, text: String) -> bool {
        self.connected = connected;
        let news = self.status != text;
        self.status = text;
        news
    }

    /// The `/stats` line about the cluster, if this is a node.
    pub(crate) fn stats_line(&self) -> Option<String> {
        let settings = self.settings.as_ref()?;
        let status = match self.status.as_str() {
            "" => "cluster: connecting",
            status => status,
        };
        let link = if self.connected { "up" } else { "down" };
        Some(format!(
            "{status} [node {}, link {link}, {} cluster requests dropped (queue toward redis full)]",
            settings.node, self.dropped
        ))
    }

    /// A client was admitted here: its guest nick is claimed, its room told.
    pub(crate) fn admitted(&mut self, chat: &Chat, out: &mut dyn Outbox, id: ClientId) {
        let Some(nick) = chat.members().nick(id) else {
            return;
        };
        if self.is_on() {
            let nick = nick.to_owned();
            self.ask(out, ClusterRequest::Claim { client: id, nick });
            self.tell_member(chat, out, id);
        }
    }

    /// `id` left its `rooms` with `nick` (`why`): it waits for nothing, its
    /// nick is free, and the other nodes are told.
    pub(crate) fn left(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        nick: &str,
        rooms: &[String],
        why: &str,
        now: Now,
    ) {
        self.forget(id);
        self.pace.forget(id);
        self.claims.remove(&id);
        if self.is_on() {
            for room in rooms {
                if let Some(left) = self.room_line(room, nick, why, RoomEvent::Left, now) {
                    self.ask(out, left);
                }
            }
            self.ask(out, release(nick));
        }
    }

    /// `/nick` in a cluster: claimed first, changed when the claim is
    /// granted ([`ClusterEvent::Claimed`]). `false`: the bridge is busy.
    pub(crate) fn claim_nick(
        &mut self,
        chat: &mut Chat,
        out: &mut dyn Outbox,
        id: ClientId,
        nick: &str,
    ) -> bool {
        if chat.members().client(id).is_some() {
            self.claims.insert(id, nick.to_owned());
        }
        let request = ClusterRequest::Claim {
            client: id,
            nick: nick.to_owned(),
        };
        self.ask(out, request)
    }

    /// Tells the cluster which rooms `id` is in now.
    pub(crate) fn tell_member(&mut self, chat: &Chat, out: &mut dyn Outbox, id: ClientId) {
        let members = chat.members();
        let Some(client) = members.client(id).filter(|_| self.is_on()) else {
            return;
        };
        let request = ClusterRequest::Member {
            nick: client.nick.clone(),
            rooms: members.room_names_of(id),
        };
        self.ask(out, request);
    }

    /// A private message for a nick not on this node; `false`: it cannot
    /// be asked (no cluster, or the bridge is busy).
    pub(crate) fn private(
        &mut self,
        chat: &Chat,
        out: &mut dyn Outbox,
        id: ClientId,
        to: &str,
        text: &str,
        now: Now,
    ) -> bool {
        let Some(from) = chat.members().nick(id) else {
            return false;
        };
        let request = ClusterRequest::Private {
            client: id,
            from: from.to_owned(),
            to: to.to_owned(),
            text: text.to_owned(),
            time: now,
        };
        self.ask(out, request)
    }

    /// `/who`: the other nodes' members are asked for first (or `id` is
    /// told to slow down); `false`: the answer is local only.
    pub(crate) fn who(
        &mut self,
        chat: &mut Chat,
        out: &mut dyn Outbox,
        id: ClientId,
        now: Now,
    ) -> bool {
        let members = chat.members();
        let Some(room) = members.current_room(id).filter(|_| self.is_on()) else {
            return false;
        };
        let room = members.room(room).name.clone();
        self.too_soon(chat, out, id, now) || self.ask(out, ClusterRequest::Who { client: id, room })
    }

    /// `/rooms`: the other nodes' rooms are asked for first (or `id` is
    /// told to slow down); `false`: the answer is local only.
    pub(crate) fn rooms(
        &mut self,
        chat: &mut Chat,
        out: &mut dyn Outbox,
        id: ClientId,
        now: Now,
    ) -> bool {
        self.is_on()
            && (self.too_soon(chat, out, id, now)
                || self.ask(out, ClusterRequest::Rooms { client: id }))
    }

    /// Is it too soon for `id` to ask the cluster again? Then it is told so.
    fn too_soon(&mut self, chat: &mut Chat, out: &mut dyn Outbox, id: ClientId, now: Now) -> bool {
        let too_soon = !self.pace.allow(id, now.timestamp_millis());
        if too_soon {
            chat.refuse(out, id, Refusal::SlowDown, now);
        }
        too_soon
    }

    /// Sends `id` the last `count` lines of its room, before anything else
    /// it is sent from now on. In a cluster they come from Redis, later;
    /// meanwhile what it is sent is held.
    pub(crate) fn send_history(
        &mut self,
        chat: &mut Chat,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        count: usize,
        now: Now,
    ) {
        let Some(room) = chat.members().current_room(id) else {
            return;
        };
        if count == 0 {
            return;
        }
        if self.is_on() {
            // One wait at a time: what an earlier one held goes first.
            self.forget(id);
            chat.release(out, id);
            let token = self.wait_for_history(id, now.timestamp_millis());
            let room = chat.members().room(room).name.clone();
            let request = ClusterRequest::History {
                client: id,
                token,
                room,
                count,
            };
            if self.ask(out, request) {
                return chat.hold(id);
            }
            self.forget(id);
        }
        let since = config.history_retention.since(now.timestamp());
        chat.send_local_history(out, id, count, since);
    }

    /// A ban made here: for the whole cluster.
    pub(crate) fn ban(&mut self, out: &mut dyn Outbox, net: IpNet, until: i64, by: &str) {
        if self.is_on() {
            let by = by.to_owned();
            self.ask(out, ClusterRequest::Ban { net, until, by });
        }
    }

    /// A ban lifted here: lifted in the whole cluster.
    pub(crate) fn unban(&mut self, out: &mut dyn Outbox, net: IpNet) {
        if self.is_on() {
            self.ask(out, ClusterRequest::Unban { net });
        }
    }

    /// `/kick` of a nick not on this node, asked of the node holding it;
    /// `false`: it cannot be asked (no cluster, or the bridge is busy).
    pub(crate) fn kick(
        &mut self,
        out: &mut dyn Outbox,
        asker: Option<ClientId>,
        nick: &str,
        by: &str,
        reason: Option<&str>,
    ) -> bool {
        let (nick, by, reason) = (nick.to_owned(), by.to_owned(), reason.map(str::to_owned));
        let request = ClusterRequest::Kick {
            asker,
            nick,
            by,
            reason,
        };
        self.is_on() && self.ask(out, request)
    }

    /// Something happened in the cluster. A ban, an unban or a kick made
    /// elsewhere is applied to `admission`'s bans; returns whom to expel.
    pub(crate) fn event(
        &mut self,
        chat: &mut Chat,
        admission: &mut Admission,
        config: &HubConfig,
        out: &mut dyn Outbox,
        event: ClusterEvent,
        now: Now,
    ) -> Vec<Expel> {
        match event {
            ClusterEvent::Line { id, line } => self.heard(chat, config, out, id, line, now),
            ClusterEvent::Subscribed { at } => self.subscribed(chat, out, at),
            ClusterEvent::CaughtUp {
                room,
                token,
                entries,
                more,
            } => {
                let ctx = &mut Ctx { out, config, now };
                self.caught_up(chat, ctx, &room, token, entries, more);
            }
            ClusterEvent::Private {
                from,
                to,
                text,
                time,
            } => chat.private_from_afar(out, &from, &to, &text, local_time(time, now)),
            ClusterEvent::PrivateSent {
                client,
                from,
                to,
                text,
                error,
            } => {
                if chat.members().nick(client) != Some(from.as_str()) {
                    return Vec::new(); // gone, or someone else by now
                }
                match error {
                    Some(error) => chat.refuse(out, client, Refusal::Other(&error), now),
                    None => {
                        let body = Body::PrivateSent {
                            to: &to,
                            text: &text,
                        };
                        chat.send(out, client, &body, now);
                    }
                }
            }
            ClusterEvent::Claimed {
                client,
                nick,
                result,
            } => self.claimed(chat, &mut Ctx { out, config, now }, client, &nick, result),
            ClusterEvent::History {
                client,
                token,
                lines,
            } => self.history_arrived(chat, &mut Ctx { out, config, now }, client, token, lines),
            ClusterEvent::Members {
                client,
                room,
                nicks,
            } => chat.who_reply(out, client, &room, nicks.unwrap_or_default(), now),
            ClusterEvent::Rooms { client, rooms } => {
                chat.rooms_reply(out, client, rooms.unwrap_or_default(), now)
            }
            ClusterEvent::Status { connected, text } => {
                if self.set_status(connected, text.clone()) {
                    out.console(&text);
                }
            }
            ClusterEvent::NickLost { nick } => self.nick_lost(chat, config, out, &nick, now),
            ClusterEvent::KickSent { asker, nick, error } => {
                let done = format!("kicked {nick} (on another node)");
                match (asker, error) {
                    (None, error) => out.console(error.as_deref().unwrap_or(&done)),
                    // Unless the asker is gone (an operator stays one
                    // while connected).
                    (Some(id), _) if chat.members().client(id).is_none() => {}
                    (Some(id), Some(error)) => chat.refuse(out, id, Refusal::Other(&error), now),
                    (Some(id), None) => chat.info(out, id, &done, now),
                }
            }
            sanction @ (ClusterEvent::Banned { .. }
            | ClusterEvent::Unbanned { .. }
            | ClusterEvent::Kick { .. }) => {
                return sanctions::from_afar(chat, admission, out, sanction, now);
            }
        }
        Vec::new()
    }

    /// Time passes: every `sync_seconds` the local members go to the
    /// cluster (renewing the leases); history waits that lasted too long
    /// get the local history.
    pub(crate) fn tick(
        &mut self,
        chat: &mut Chat,
        config: &HubConfig,
        out: &mut dyn Outbox,
        now: Now,
    ) {
        let second = now.timestamp();
        if self.sync_due(second) {
            let members = chat.members().snapshot();
            self.ask(out, ClusterRequest::Sync { members });
        }
        for (id, token) in self.overdue(now.timestamp_millis()) {
            self.history_arrived(chat, &mut Ctx { out, config, now }, id, token, None);
        }
        self.catch_up(out);
    }

    fn history_arrived(
        &mut self,
        chat: &mut Chat,
        ctx: &mut Ctx<'_>,
        id: ClientId,
        token: u64,
        lines: Option<Vec<RoomLine>>,
    ) {
        let Some(held_since) = self.end_wait(id, token) else {
            return; // an old request, or the client is gone
        };
        if !chat.is_holding(id) {
            // Its held lines overflowed and went out: late history would
            // come after newer lines, so it is skipped.
            return;
        }
        let since = ctx.config.history_retention.since(ctx.now.timestamp());
        match lines {
            Some(mut lines) => {
                // Lines said since the wait began were held for the client
                // as they came, and go out after the history: the stream may
                // hold them too by the time it is read.
                lines.retain(|line| {
                    line.time.timestamp() >= since && line.time.timestamp_millis() < held_since
                });
                chat.send_history_lines(ctx.out, id, &lines, ctx.now);
            }
            None => chat.send_local_history(ctx.out, id, ctx.config.history_lines, since),
        }
        chat.release(ctx.out, id);
    }

    fn claimed(
        &mut self,
        chat: &mut Chat,
        ctx: &mut Ctx<'_>,
        id: ClientId,
        nick: &str,
        result: ClaimResult,
    ) {
        let key = nick_key(nick);
        let Some(client) = chat.members().client(id) else {
            if result == ClaimResult::Claimed && chat.members().owner(nick).is_none() {
                self.ask(ctx.out, release(nick));
            }
            return;
        };
        if self.claims.get(&id).map(String::as_str) != Some(nick) {
            // The claim of its guest nick: held elsewhere, it gets another.
            if nick_key(&client.nick) == key && result == ClaimResult::Taken {
                self.new_guest(chat, ctx.config, ctx.out, id, nick, ctx.now);
            }
            return;
        }
        self.claims.remove(&id);
        match result {
            ClaimResult::Claimed => {
                if chat.members().owner(nick).is_some_and(|owner| owner != id) {
                    // Taken locally while the claim was on its way.
                    return chat.refuse(ctx.out, id, Refusal::NickTaken { nick }, ctx.now);
                }
                if let Some(old) = chat.rename(ctx.config, ctx.out, id, nick, ctx.now) {
                    self.renamed(chat, ctx.out, id, &old, ctx.now);
                    self.ask(ctx.out, release(&old));
                }
            }
            ClaimResult::Taken => chat.refuse(ctx.out, id, Refusal::NickTaken { nick }, ctx.now),
            ClaimResult::Unavailable => {
                chat.refuse(ctx.out, id, Refusal::NickChangesUnavailable, ctx.now);
            }
        }
    }

    /// Another node holds `nick` now: the local holder becomes a guest.
    fn nick_lost(
        &mut self,
        chat: &mut Chat,
        config: &HubConfig,
        out: &mut dyn Outbox,
        nick: &str,
        now: Now,
    ) {
        if let Some(id) = chat.members().owner(nick) {
            self.new_guest(chat, config, out, id, nick, now);
        }
    }

    /// `id`'s nick `nick` is another node's: it becomes a new guest, whose
    /// nick is claimed in turn.
    fn new_guest(
        &mut self,
        chat: &mut Chat,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        nick: &str,
        now: Now,
    ) {
        let guest = chat.members_mut().guest_nick(config, &self.guest_tag());
        let text = format!("another server holds the nick {nick} now; you are {guest}");
        chat.info(out, id, &text, now);
        if let Some(old) = chat.rename(config, out, id, &guest, now) {
            self.renamed(chat, out, id, &old, now);
        }
        let request = ClusterRequest::Claim {
            client: id,
            nick: guest,
        };
        self.ask(out, request);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Channel {
        full: bool,
        taken: Vec<ClusterRequest>,
    }

    impl Outbox for Channel {
        fn send(&mut self, _to: ClientId, _msg: bytes::Bytes) {}
        fn close(&mut self, _client: ClientId) {}
        fn console(&mut self, _line: &str) {}
        fn cluster(&mut self, request: ClusterRequest) -> bool {
            if !self.full {
                self.taken.push(request);
            }
            !self.full
        }
    }

    fn node() -> Node {
        Node::new(Some(ClusterSettings {
            node: "a".into(),
            sync_seconds: 5,
        }))
    }

    #[test]
    fn a_single_server_asks_nothing_and_counts_nothing() {
        let mut state = Node::new(None);
        let mut channel = Channel::default();
        assert!(!state.ask(&mut channel, release("x")));
        assert!(channel.taken.is_empty());
        assert_eq!(state.dropped(), 0);
        assert!(!state.sync_due(100));
        assert_eq!(state.guest_tag(), "");
    }

    #[test]
    fn a_full_channel_drops_and_counts() {
        let mut state = node();
        let mut channel = Channel {
            full: true,
            ..Channel::default()
        };
        assert!(!state.ask(&mut channel, release("x")));
        assert_eq!(state.dropped(), 1);
    }

    #[test]
    fn only_the_latest_history_wait_counts_and_old_ones_expire() {
        let mut state = node();
        let first = state.wait_for_history(ClientId(1), 10_000);
        let second = state.wait_for_history(ClientId(1), 11_000);
        assert_eq!(state.end_wait(ClientId(1), first), None);
        assert_eq!(state.overdue(13_999), []);
        assert_eq!(state.overdue(14_000), [(ClientId(1), second)]);
        assert_eq!(state.end_wait(ClientId(1), second), Some(11_000));
        assert!(state.overdue(100_000).is_empty());
    }

    #[test]
    fn snapshots_are_due_every_sync_seconds() {
        let mut state = node();
        assert!(state.sync_due(100));
        assert!(!state.sync_due(104));
        assert!(state.sync_due(105));
    }
}
