//! Room news between this node and the others: joins, leaves, nick changes
//! and topics go to the cluster beside the room lines (so a client on one
//! node sees `-!- bob joined lobby` when bob is on another), and what the
//! other nodes say comes back once and in order, read back from the
//! rooms' streams after the subscription broke ([`CatchUp`](crate::catchup::CatchUp)).
//!
//! The methods of [`Node`] kept here rather than in `node.rs`: what a room
//! line or notice does in a cluster.

use crate::catchup::Read;
use crate::chat::{Chat, Saying};
use crate::ctx::Ctx;
use crate::node::Node;
use crate::{
    ClientId, ClusterRequest, HubConfig, LineId, Now, Outbox, RoomEvent, RoomLine, StreamId,
};

impl Node {
    /// A local room line: to the other nodes too.
    pub(crate) fn publish(
        &mut self,
        chat: &Chat,
        out: &mut dyn Outbox,
        id: ClientId,
        saying: &Saying<'_>,
        now: Now,
    ) {
        let members = chat.members();
        let Some(client) = members.client(id).filter(|_| self.is_on()) else {
            return;
        };
        let Saying { room, action, text } = *saying;
        let room = &members.room(room).name;
        let kind = if action {
            RoomEvent::Action
        } else {
            RoomEvent::Message
        };
        if let Some(request) = self.room_line(room, &client.nick, text, kind, now) {
            self.ask(out, request);
        }
    }

    /// Tells the other nodes about `id` in its room: `kind` with `text`.
    pub(crate) fn announce(
        &mut self,
        chat: &Chat,
        out: &mut dyn Outbox,
        id: ClientId,
        kind: RoomEvent,
        text: &str,
        now: Now,
    ) {
        let members = chat.members();
        let Some(client) = members.client(id) else {
            return;
        };
        let Some(room) = client.seats.current() else {
            return;
        };
        let room = &members.room(room).name;
        if let Some(request) = self.room_line(room, &client.nick, text, kind, now) {
            self.ask(out, request);
        }
    }

    /// `id` joined a room, now its current one: the cluster is told where
    /// it is, and the room that it joined.
    pub(crate) fn joined(&mut self, chat: &Chat, out: &mut dyn Outbox, id: ClientId, now: Now) {
        if !self.is_on() {
            return;
        }
        self.tell_member(chat, out, id);
        self.announce(chat, out, id, RoomEvent::Joined, "", now);
    }

    /// `id` parted `room`: the cluster is told where it is, and the room.
    pub(crate) fn parted(
        &mut self,
        chat: &Chat,
        out: &mut dyn Outbox,
        id: ClientId,
        room: &str,
        now: Now,
    ) {
        if !self.is_on() {
            return;
        }
        self.tell_member(chat, out, id);
        let nick = chat.members().nick(id).unwrap_or_default();
        if let Some(left) = self.room_line(room, nick, "", RoomEvent::Left, now) {
            self.ask(out, left);
        }
    }

    /// `id` was `old` until now: the cluster is told its nick, and each of
    /// its rooms the change.
    pub(crate) fn renamed(
        &mut self,
        chat: &Chat,
        out: &mut dyn Outbox,
        id: ClientId,
        old: &str,
        now: Now,
    ) {
        if !self.is_on() {
            return;
        }
        self.tell_member(chat, out, id);
        let members = chat.members();
        let Some(nick) = members.nick(id) else {
            return;
        };
        for room in members.room_names_of(id) {
            if let Some(request) = self.room_line(&room, old, nick, RoomEvent::Nick, now) {
                self.ask(out, request);
            }
        }
    }

    /// A line heard live from another node: delivered unless it was
    /// already, or its room's stream is being read back.
    pub(crate) fn heard(
        &mut self,
        chat: &mut Chat,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: LineId,
        line: RoomLine,
        now: Now,
    ) {
        if let Some(line) = self.catchup.live(id, line) {
            chat.deliver_remote(config, out, &line, now);
        }
    }

    /// The subscriber subscribed (again) at `at`: every room with members
    /// here is read back from the last line it got.
    pub(crate) fn subscribed(&mut self, chat: &Chat, out: &mut dyn Outbox, at: StreamId) {
        let local: Vec<String> = chat
            .members()
            .rooms()
            .iter()
            .filter(|room| !room.members.is_empty())
            .map(|room| room.name.clone())
            .collect();
        let reads = self.catchup.subscribed(at, &local);
        self.ask_reads(out, reads);
    }

    /// A room's stream, read back: what was missed goes out, in order.
    pub(crate) fn caught_up(
        &mut self,
        chat: &mut Chat,
        ctx: &mut Ctx<'_>,
        room: &str,
        token: u64,
        entries: Option<Vec<(LineId, RoomLine)>>,
        more: bool,
    ) {
        let (deliver, next) = self.catchup.read(room, token, entries, more);
        for line in &deliver {
            chat.deliver_remote(ctx.config, ctx.out, line, ctx.now);
        }
        self.ask_reads(ctx.out, next.into_iter().collect());
    }

    /// Reads that could not be asked, or failed: asked again (each tick).
    pub(crate) fn catch_up(&mut self, out: &mut dyn Outbox) {
        let reads = self.catchup.due();
        self.ask_reads(out, reads);
    }

    fn ask_reads(&mut self, out: &mut dyn Outbox, reads: Vec<Read>) {
        for read in reads {
            let request = ClusterRequest::CatchUp {
                room: read.room.clone(),
                after: read.after,
                token: read.token,
            };
            if !self.ask(out, request) {
                self.catchup.not_asked(&read);
            }
        }
    }
}
