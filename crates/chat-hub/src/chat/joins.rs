//! Who is in which room, as the conversation sees it: joins, parts, nick
//! changes and topics, each told to the rooms concerned.
//!
//! A client may sit in several rooms (at most `max_rooms_per_client`); its
//! current room is where its plain lines, `/who` and `/topic` go. Joining a
//! room makes it current; joining one it is already in only makes it
//! current; parting the current room makes the room it joined last current.

use chat_proto::{Body, Notice, Refusal, validate_nick, validate_room};

use super::Chat;
use crate::delivery::Recipients;
use crate::membership;
use crate::rooms::RoomId;
use crate::{ClientId, HubConfig, Now, Outbox};

/// What `/nick NAME` may do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NickChange {
    /// Refused, and the client told why.
    Refused,
    /// The same nick in another case: no one else is concerned.
    Recase,
    /// A nick nobody here holds.
    New,
}

/// What `/join ROOM` did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Joined {
    /// Refused, and the client told why.
    Refused,
    /// It was in the room already: now its current room.
    Switched,
    /// It is a new member of the room, now its current one.
    Entered,
}

/// The last rename heard from another node, and whom it was told to.
#[derive(Debug)]
pub(crate) struct RemoteRename {
    old: String,
    new: String,
    told: Vec<ClientId>,
}

impl Chat {
    /// Says `body` about `concerned` (its join, nick change, a topic it
    /// set) in `room`: to the room's line clients while the room has at
    /// most `announce_limit` members, else to `concerned` alone. This bound
    /// is what keeps a join O(1) in a room of any size. A join of a device
    /// whose account is in the room already is news to that device alone.
    fn announce(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        room: RoomId,
        concerned: ClientId,
        body: &Body<'_>,
        now: Now,
    ) {
        let members = &self.members.room(room).members;
        let joined_again = matches!(body, Body::Notice(Notice::Joined { .. }))
            && self.members.shares_room(concerned, room);
        let members = if members.len() <= config.announce_limit && !joined_again {
            members
        } else {
            std::slice::from_ref(&concerned)
        };
        let to = Recipients {
            about: Some(concerned),
            ..Recipients::line_clients(members)
        };
        self.delivery
            .send_many(out, self.members.clients(), to, now, body);
    }

    /// Tells the room (if small enough) and the client itself that it
    /// joined, and the client the room's topic.
    pub(super) fn announce_join(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        room: RoomId,
        now: Now,
    ) {
        let Some(client) = self.members.client(id) else {
            return;
        };
        let hears_notices = client.protocol.hears_notices();
        let (nick, name) = (client.nick.clone(), self.members.room(room).name.clone());
        let joined = Body::Notice(Notice::Joined {
            nick: &nick,
            room: &name,
        });
        self.announce(config, out, room, id, &joined, now);
        let topic = &self.members.room(room).topic;
        if !topic.is_empty() && hears_notices {
            let body = Body::Notice(Notice::Topic {
                room: &name,
                text: topic,
            });
            self.delivery
                .send_one(out, self.members.clients(), id, now, &body);
        }
    }

    /// Takes a client out of `room`, telling the room if it is small (and
    /// the client itself when `reason` is `None`: it parted).
    pub(super) fn leave_room(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        room: RoomId,
        reason: Option<&str>,
        now: Now,
    ) {
        let Some(nick) = self.members.nick(id).map(str::to_owned) else {
            return;
        };
        let name = self.members.room(room).name.clone();
        // Its account stays in the room on another device: nobody else
        // sees a leave.
        let stays = self.members.shares_room(id, room);
        let left = self.members.leave_room(id, room, &config.default_room);
        if self.shutting_down {
            return;
        }
        let body = Body::Notice(Notice::Left {
            nick: &nick,
            room: &name,
            reason,
        });
        if reason.is_none() {
            self.send(out, id, &body, now);
        }
        let Some(room) = left.map(|room| self.members.room(room)) else {
            return;
        };
        if room.members.len() >= config.announce_limit || stays {
            return;
        }
        let to = Recipients::line_clients(&room.members);
        self.delivery
            .send_many(out, self.members.clients(), to, now, &body);
    }

    /// Whether `id` may take `nick`; if not, it is told why.
    pub(crate) fn check_nick(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        nick: &str,
        now: Now,
    ) -> NickChange {
        let refusal = if let Err(why) = validate_nick(nick) {
            Refusal::NickInvalid { nick, why }
        } else if let Some(whose) = membership::reserved(config, nick) {
            Refusal::NickReserved { nick, whose }
        } else if self.members.owner(nick).is_some_and(|owner| owner != id) {
            Refusal::NickTaken { nick }
        } else if self.members.owner(nick) == Some(id) {
            return NickChange::Recase;
        } else {
            return NickChange::New;
        };
        self.refuse(out, id, refusal, now);
        NickChange::Refused
    }

    /// Gives `id` the nick `nick` and tells each of its rooms (a member of
    /// several of them once). Returns the old nick.
    pub(crate) fn rename(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        nick: &str,
        now: Now,
    ) -> Option<String> {
        let old = self.members.rename(id, nick)?;
        self.tell_renamed(config, out, id, &old, now);
        Some(old)
    }

    /// Gives `id` the nick its account's other devices hold, and tells
    /// each of its rooms. Returns the old nick.
    pub(crate) fn share_nick(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        nick: &str,
        now: Now,
    ) -> Option<String> {
        let old = self.members.share_nick(id, nick)?;
        self.tell_renamed(config, out, id, &old, now);
        Some(old)
    }

    /// Tells `id` and its rooms (a member of several of them once) that it
    /// was `old`.
    fn tell_renamed(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        old: &str,
        now: Now,
    ) {
        let Some(nick) = self.members.nick(id).map(str::to_owned) else {
            return;
        };
        let nick = nick.as_str();
        let mut told = vec![id];
        for room in self.members.rooms_of(id) {
            let members = &self.members.room(room).members;
            if members.len() <= config.announce_limit {
                told.extend_from_slice(members);
            }
        }
        told.sort_unstable_by_key(|member| member.0);
        told.dedup();
        let body = Body::Notice(Notice::NickChanged { old, new: nick });
        let to = Recipients::line_clients(&told);
        self.delivery
            .send_many(out, self.members.clients(), to, now, &body);
        out.console(&format!("{old} is now known as {nick}"));
    }

    /// Another node's member in `room` was `old` and is `new` now: the
    /// local members are told, as of a local rename. The other node says
    /// so once per room the member is in, one after the other; a local
    /// member sharing several of those rooms is told once.
    pub(crate) fn renamed_afar(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        room: &str,
        old: &str,
        new: &str,
        now: Now,
    ) {
        let Some(room) = self.members.rooms().find(room) else {
            return; // nobody here
        };
        let here = &self.members.room(room).members;
        if here.len() > config.announce_limit {
            return;
        }
        let told = match &mut self.remote_rename {
            Some(last) if last.old == old && last.new == new => last,
            last => last.insert(RemoteRename {
                old: old.to_owned(),
                new: new.to_owned(),
                told: Vec::new(),
            }),
        };
        let fresh: Vec<ClientId> = here
            .iter()
            .copied()
            .filter(|member| !told.told.contains(member))
            .collect();
        told.told.extend_from_slice(&fresh);
        let body = Body::Notice(Notice::NickChanged { old, new });
        let to = Recipients::line_clients(&fresh);
        self.delivery
            .send_many(out, self.members.clients(), to, now, &body);
    }

    /// `/join ROOM`: a new room (within `max_rooms_per_client`), or one it
    /// is in, becomes `id`'s current room.
    pub(crate) fn join(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        room: &str,
        now: Now,
    ) -> Joined {
        if let Err(why) = validate_room(room) {
            self.refuse(out, id, Refusal::RoomNameInvalid { room, why }, now);
            return Joined::Refused;
        }
        let Some(client) = self.members.client(id) else {
            return Joined::Refused;
        };
        let seats = &client.seats;
        if let Some(existing) = self.members.joined_room(id, room) {
            let name = self.members.room(existing).name.clone();
            if seats.current() == Some(existing) {
                self.refuse(out, id, Refusal::AlreadyInRoom { room: &name }, now);
                return Joined::Refused;
            }
            self.members.set_current(id, existing);
            self.tell_current(out, id, now);
            return Joined::Switched;
        }
        let max = config.max_rooms_per_client;
        if seats.len() >= max {
            self.refuse(out, id, Refusal::TooManyRooms { max }, now);
            return Joined::Refused;
        }
        let room = self.members.join_room(id, room);
        self.announce_join(config, out, id, room, now);
        Joined::Entered
    }

    /// `/part [ROOM]`: `id` leaves `room` (its current one by default).
    /// Returns the room's name, or `None` (it was told why not).
    pub(crate) fn part(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        room: Option<&str>,
        now: Now,
    ) -> Option<String> {
        let current = self.members.current_room(id);
        let target = match room {
            None => current,
            Some(name) => self.members.joined_room(id, name),
        };
        let Some(target) = target else {
            let refusal = match room {
                Some(room) => Refusal::NotInRoom { room },
                None => Refusal::InNoRoom,
            };
            self.refuse(out, id, refusal, now);
            return None;
        };
        let name = self.members.room(target).name.clone();
        self.leave_room(config, out, id, target, None, now);
        if current == Some(target) {
            self.tell_current(out, id, now);
        }
        Some(name)
    }

    /// Tells `id` which room its plain lines go to now (if any).
    fn tell_current(&mut self, out: &mut dyn Outbox, id: ClientId, now: Now) {
        if let Some(room) = self.members.current_room(id) {
            let name = self.members.room(room).name.clone();
            self.send(out, id, &Body::Notice(Notice::Talking { room: &name }), now);
        }
    }

    /// `/topic`: the current room's topic, to `id`.
    pub(crate) fn show_topic(&mut self, out: &mut dyn Outbox, id: ClientId, now: Now) {
        let Some(room) = self.members.current_room(id) else {
            return;
        };
        let room = self.members.room(room);
        let body = Body::Notice(Notice::Topic {
            room: &room.name,
            text: &room.topic,
        });
        self.delivery
            .send_one(out, self.members.clients(), id, now, &body);
    }

    /// `/topic TEXT` by `id`: set on its current room, and the room told
    /// (if small enough).
    pub(crate) fn set_topic(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        text: &str,
        now: Now,
    ) {
        let Some(room) = self.members.current_room(id) else {
            return;
        };
        self.members.room_mut(room).topic = text.to_owned();
        let name = self.members.room(room).name.clone();
        let nick = self.members.nick(id).unwrap_or_default().to_owned();
        let body = Body::Notice(Notice::TopicSet {
            nick: &nick,
            room: &name,
            text,
        });
        self.announce(config, out, room, id, &body, now);
    }
}
