//! IRC's read markers (`draft/read-marker`): `MARKREAD <target>` asks
//! where the account stopped reading, `MARKREAD <target> timestamp=TIME`
//! moves it, and a `JOIN` of a logged-in client is followed by the
//! channel's marker. The markers are the hub's (`crate::markers`), shared
//! with the line protocol's `/read`; only the words are IRC's.
//!
//! A marker is a line id with a time beside it. A client's time is turned
//! into the newest line of the room's memory said at or before it (a time
//! at or after the room's last line marks through that line); the time
//! kept is the client's (never later than now), so it hears back what it
//! said. A time older than every line the room's memory holds moves
//! nothing. A private conversation (`MARKREAD nick`) is marked through its
//! newest line said since the start, when that line is not newer than the
//! time.

use bytes::BytesMut;
use chat_irc::numeric;
use chat_irc::{Cap, Message};
use chat_proto::nick_key;

use super::Hub;
use crate::delivery::tags::ServerTime;
use crate::markers::ReadAt;
use crate::rooms::RoomId;
use crate::store::conversation_key;
use crate::{ClientId, Now, Outbox};

/// What a `MARKREAD` names, found.
struct Target {
    /// As the hub's notices name it: the room, or `@Nick`.
    name: String,
    /// The marker's key: the room's, or the conversation's.
    key: String,
    /// The room, for a channel.
    room: Option<RoomId>,
}

impl Hub {
    /// Whether `id` is told markers as `MARKREAD` (an IRC client that
    /// enabled `draft/read-marker`).
    pub(super) fn wants_markread(&self, id: ClientId) -> bool {
        (self.chat.members().client(id)).is_some_and(|client| client.caps.contains(Cap::ReadMarker))
    }

    /// `MARKREAD <target> [timestamp=TIME]`.
    pub(super) fn irc_markread(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        msg: &Message<'_>,
        now: Now,
    ) {
        if !self.wants_markread(id) {
            return self.irc_reply(out, id, numeric::ERR_UNKNOWNCOMMAND, &["MARKREAD"]);
        }
        let Some(asked) = msg.param(0) else {
            let why = "MARKREAD needs a target";
            return self.irc_fail(out, id, "MARKREAD", "NEED_MORE_PARAMS", &[], why);
        };
        let Some(account) = self.accounts.account_of(id).map(str::to_owned) else {
            let why = "Read markers are an account's: log in first";
            return self.irc_fail(out, id, "MARKREAD", "ACCOUNT_REQUIRED", &[asked], why);
        };
        let Some(target) = self.markread_target(id, &account, asked) else {
            let why = "You are not on that channel";
            return self.irc_fail(out, id, "MARKREAD", "INVALID_PARAMS", &[asked], why);
        };
        let account = nick_key(&account);
        let Some(point) = msg.param(1) else {
            let at = self.markers.get(&account, &target.key);
            return self.irc_tell_marker(out, id, &target.name, at);
        };
        let Some(ms) = point
            .strip_prefix("timestamp=")
            .and_then(|time| chrono::DateTime::parse_from_rfc3339(time).ok())
            .map(|time| time.timestamp_millis().min(now.timestamp_millis()))
        else {
            let why = "A marker is timestamp=YYYY-MM-DDThh:mm:ss.sssZ";
            return self.irc_fail(out, id, "MARKREAD", "INVALID_PARAMS", &[asked, point], why);
        };
        let line = match target.room {
            Some(room) => (self.chat.members().room(room).history).newest_at_or_before(ms),
            None => (self.markers.latest_private(&target.key)).filter(|line| line.ms <= ms),
        };
        match line {
            Some(line) => {
                let through = Some(ReadAt { id: line.id, ms });
                self.move_marker(out, id, &account, (&target.name, target.key), through, now);
            }
            // Nothing to map the time to: the marker stays, and the
            // client hears where it is.
            None => {
                let at = self.markers.get(&account, &target.key);
                self.irc_tell_marker(out, id, &target.name, at);
            }
        }
    }

    /// The room or conversation `asked` names, for `id` logged in to
    /// `account`; a channel must be one `id` is in.
    fn markread_target(&self, id: ClientId, account: &str, asked: &str) -> Option<Target> {
        if let Some(room) = asked.strip_prefix('#') {
            let members = self.chat.members();
            let found = members.joined_room(id, room)?;
            let room = members.room(found);
            return Some(Target {
                name: room.name.clone(),
                key: room.key.to_string(),
                room: Some(found),
            });
        }
        let with = self.accounts.name_of(asked).unwrap_or(asked);
        Some(Target {
            name: format!("@{with}"),
            key: conversation_key(account, with),
            room: None,
        })
    }

    /// After `id` joined `room`: its marker there, if `id` is logged in
    /// and enabled `draft/read-marker`.
    pub(super) fn irc_marker_on_join(&mut self, out: &mut dyn Outbox, id: ClientId, room: RoomId) {
        if !self.wants_markread(id) {
            return;
        }
        let Some(account) = self.accounts.account_of(id).map(nick_key) else {
            return;
        };
        let room = self.chat.members().room(room);
        let (name, at) = (room.name.clone(), self.markers.get(&account, &room.key));
        self.irc_tell_marker(out, id, &name, at);
    }

    /// `MARKREAD <target> timestamp=TIME` (or `*`) to `id`; `name` is the
    /// room, or `@Nick` for a conversation.
    pub(super) fn irc_tell_marker(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        name: &str,
        at: Option<ReadAt>,
    ) {
        let target = match name.strip_prefix('@') {
            Some(nick) => nick.to_owned(),
            None => chat_irc::render::channel(name).to_string(),
        };
        // A marker kept before times were has none: said as unknown.
        let time = at
            .filter(|at| at.ms > 0)
            .and_then(|at| chrono::DateTime::from_timestamp_millis(at.ms))
            .map(|time| ServerTime::of(time.fixed_offset()));
        let mut line = BytesMut::new();
        let server = &self.config.server_name;
        chat_irc::render::markread(&mut line, server, &target, time.as_deref());
        self.chat.send_wire(out, id, line.freeze());
    }
}
