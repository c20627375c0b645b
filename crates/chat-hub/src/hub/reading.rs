//! What an account finds when it comes back: private messages that waited
//! for it, and how much it has not read of each room (read markers, set
//! with `/read`). Also where `/join` and `/msg` are routed, since a join
//! tells the unread and a message to an account that is away waits.

use chat_proto::{Body, Notice, Refusal, nick_key};

use crate::accounts::{AccountRecord, Mail, Marker};
use crate::chat::{Joined, Private};
use crate::ctx::Ctx;
use crate::markers::ReadAt;
use crate::rooms::RoomId;
use crate::store::conversation_key;
use crate::{ClientId, ClusterEvent, Now, Outbox};

use super::Hub;

/// The most lines a join replays to show a reader what it missed.
const UNREAD_REPLAY_MAX: usize = 500;

impl Hub {
    /// `/join ROOM`: history first (for an account with a marker there,
    /// from the marker, after how much it missed), then the room hears of
    /// it.
    pub(super) fn join(&mut self, out: &mut dyn Outbox, id: ClientId, room: &str, now: Now) {
        let (chat, node, config) = (&mut self.chat, &mut self.node, &self.config);
        if chat.join(config, out, id, room, now) != Joined::Entered {
            return;
        }
        // History first: its read waits for the lines handed before it,
        // which the join's notices must not be.
        if chat.protocol(id).reads_history() {
            let marker = self.accounts.account_of(id).and_then(|account| {
                let room = chat.members().current_room(id)?;
                let key = &chat.members().room(room).key;
                self.markers.get(&nick_key(account), key)
            });
            let marker = marker.map(|at| at.id);
            let ctx = &mut Ctx { out, config, now };
            match marker {
                Some(since) => {
                    let count = UNREAD_REPLAY_MAX.min(config.history_keep().max(1));
                    self.store.send_unread(node, chat, ctx, id, since, count);
                }
                None => {
                    let count = config.history_lines;
                    self.store.send_history(node, chat, ctx, id, count);
                }
            }
        }
        node.joined(chat, out, id, now);
    }

    /// `/msg NICK TEXT`: to NICK here, on another node, or (an account none
    /// of whose connections is anywhere) kept until it logs in.
    pub(super) fn private(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        to: &str,
        text: &str,
        now: Now,
    ) {
        let (chat, node, config) = (&mut self.chat, &mut self.node, &self.config);
        match chat.private(config, out, id, to, text, now) {
            Private::ToOperator => self.console.on_private(chat, config, out, id),
            Private::Sent => self.keep_private_line(out, id, to, text, now),
            Private::NotHere if self.accounts.is_account(to) && !node.is_on() => {
                self.keep_mail(out, id, to, text, now);
                self.keep_private_line(out, id, to, text, now);
            }
            Private::NotHere => {
                if !node.private(chat, out, id, to, text, now) {
                    chat.refuse(out, id, Refusal::NoSuchNick { nick: to }, now);
                }
            }
        }
    }

    /// A private line between `id` and `to`, where either is an account:
    /// into their conversation's history (`/history @NICK`).
    fn keep_private_line(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        to: &str,
        text: &str,
        now: Now,
    ) {
        let Some(from) = self.chat.members().nick(id) else {
            return;
        };
        if self.accounts.account_of(id).is_none() && !self.accounts.is_account(to) {
            return; // two guests: nobody owns the conversation
        }
        let to = self.accounts.name_of(to).unwrap_or(to);
        let ctx = &mut Ctx {
            out,
            config: &self.config,
            now,
        };
        if let Some(line) = self.store.append_private(ctx, from, to, text) {
            let at = ReadAt {
                id: line,
                ms: now.timestamp_millis(),
            };
            self.markers.said_privately(&conversation_key(from, to), at);
        }
    }

    /// `/history @NICK [N]`: the conversation of `id`'s account with NICK.
    pub(super) fn private_history(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        with: &str,
        count: Option<usize>,
        now: Now,
    ) {
        let Some(me) = self.accounts.account_of(id).map(str::to_owned) else {
            return self.chat.refuse(out, id, Refusal::NotLoggedIn, now);
        };
        let (chat, config) = (&mut self.chat, &self.config);
        let Some(count) = chat.history_count(config, out, id, count, now) else {
            return;
        };
        let with = self.accounts.name_of(with).unwrap_or(with).to_owned();
        let ctx = &mut Ctx { out, config, now };
        self.store.read_private(chat, ctx, id, (&me, &with), count);
    }

    /// In a cluster, a private message that no node could deliver (its
    /// nick held nowhere) to an account: kept for its next login, on any
    /// node. Any other event is given back.
    pub(super) fn mail_if_nobody_took(
        &mut self,
        out: &mut dyn Outbox,
        event: ClusterEvent,
        now: Now,
    ) -> Option<ClusterEvent> {
        match &event {
            ClusterEvent::PrivateSent {
                client,
                from,
                to,
                text,
                error: Some(_),
            } if self.accounts.is_account(to)
                && self.chat.members().nick(*client) == Some(from.as_str()) =>
            {
                let (client, to, text) = (*client, to.clone(), text.clone());
                self.keep_mail(out, client, &to, &text, now);
                None
            }
            _ => Some(event),
        }
    }

    /// A message to account `to`, which is away: kept, and the sender (on
    /// each of its devices) told so.
    fn keep_mail(&mut self, out: &mut dyn Outbox, id: ClientId, to: &str, text: &str, now: Now) {
        let Some(from) = self.chat.members().nick(id).map(str::to_owned) else {
            return;
        };
        let name = self.accounts.name_of(to).unwrap_or(to).to_owned();
        let mail = Mail {
            to: nick_key(&name),
            from: from.clone(),
            text: text.to_owned(),
            time: now,
        };
        self.keep_record(out, AccountRecord::Mail(mail));
        let sent = Body::PrivateSent { to: &name, text };
        let away = format!("{name} is away: your message waits for their next login");
        for sender in self.chat.members().holders(&from) {
            self.chat.send(out, sender, &sent, now);
            self.chat.info(out, sender, &away, now);
        }
    }

    /// Hands `record` to the account store; what it cannot take is
    /// counted and logged.
    pub(super) fn keep_record(&mut self, out: &mut dyn Outbox, record: AccountRecord) {
        let what = match &record {
            AccountRecord::Mail(mail) => format!("a message for {}", mail.to),
            AccountRecord::Marker(marker) => format!("a read marker of {}", marker.account),
        };
        if !out.account_record(record) {
            self.counters.record_dropped();
            out.console(&format!("{what} was not kept: the account store is busy"));
        }
    }

    /// `client` just logged in, and the store says what waited for its
    /// account: the messages (to each of its connections), and its markers,
    /// with what it has not read of its rooms.
    pub(super) fn welcome_back(
        &mut self,
        out: &mut dyn Outbox,
        client: ClientId,
        mail: Vec<Mail>,
        markers: Vec<Marker>,
        now: Now,
    ) {
        let Some(key) = self.accounts.account_of(client).map(nick_key) else {
            return;
        };
        self.markers.load(markers);
        // An IRC client may have joined before its markers came (the store
        // answers after the login): told its channels' markers now.
        for room in self.chat.members().rooms_of(client) {
            self.irc_marker_on_join(out, client, room);
        }
        if !mail.is_empty() {
            let count = mail.len();
            for device in self.accounts.devices_of(&key).to_vec() {
                let away = Body::Notice(Notice::WhileAway { count });
                self.chat.send(out, device, &away, now);
                for mail in &mail {
                    let from = &mail.from;
                    let body = Body::Private {
                        from,
                        text: &mail.text,
                    };
                    self.chat.send(out, device, &body, mail.time);
                }
            }
        }
        // Its current room is shown again from where the account stopped
        // (it saw the room's last lines as a guest); the others are told
        // what they hold unread.
        let current = self.chat.members().current_room(client);
        for room in self.chat.members().rooms_of(client) {
            if Some(room) != current {
                self.tell_unread(out, client, room, now);
            }
        }
        let Some(room) = current else {
            return;
        };
        let room_key = &self.chat.members().room(room).key;
        if let Some(since) = self.markers.get(&key, room_key).map(|at| at.id) {
            let (chat, node, config) = (&mut self.chat, &mut self.node, &self.config);
            let count = UNREAD_REPLAY_MAX.min(config.history_keep().max(1));
            let ctx = &mut Ctx { out, config, now };
            self.store
                .send_unread(node, chat, ctx, client, since, count);
        }
    }

    /// Tells `id` how much of `room` its account has not read, if it has a
    /// marker there and the room's memory holds every newer line (after a
    /// restart it may not: a join reads the store instead).
    fn tell_unread(&mut self, out: &mut dyn Outbox, id: ClientId, room: RoomId, now: Now) {
        let Some(account) = self.accounts.account_of(id).map(nick_key) else {
            return;
        };
        let room = self.chat.members().room(room);
        let Some(since) = self.markers.get(&account, &room.key).map(|at| at.id) else {
            return;
        };
        let (count, all) = room.history.count_after(since);
        if count == 0 || !all {
            return;
        }
        let name = room.name.clone();
        let unread = Notice::Unread {
            target: &name,
            count,
            since,
        };
        self.chat.send(out, id, &Body::Notice(unread), now);
    }

    /// `/read [ROOM]`: the room (default: the current one) is read through
    /// its last line, for every connection of the account.
    pub(super) fn mark_read(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        target: Option<&str>,
        now: Now,
    ) {
        let Some(account) = self.accounts.account_of(id).map(str::to_owned) else {
            return self.chat.refuse(out, id, Refusal::NotLoggedIn, now);
        };
        if let Some(with) = target.and_then(|target| target.strip_prefix('@')) {
            let key = conversation_key(&account, with);
            let through = self.markers.latest_private(&key);
            let target = format!("@{}", self.accounts.name_of(with).unwrap_or(with));
            return self.move_marker(out, id, &nick_key(&account), (&target, key), through, now);
        }
        let account = nick_key(&account);
        let members = self.chat.members();
        let room = match target {
            None => members.current_room(id),
            Some(name) => members.joined_room(id, name),
        };
        let Some(room) = room else {
            let refusal = match target {
                Some(room) => Refusal::NotInRoom { room },
                None => Refusal::InNoRoom,
            };
            return self.chat.refuse(out, id, refusal, now);
        };
        if !self.store.is_on() {
            return self.chat.refuse(out, id, Refusal::NeedsHistoryFile, now);
        }
        let room = members.room(room);
        let through = room.history.last_read_at();
        let (name, key) = (room.name.clone(), room.key.to_string());
        self.move_marker(out, id, &account, (&name, key), through, now);
    }

    /// Moves `account`'s marker on `target` (its name, and its key) to
    /// `through`, as `asker` asked, and tells where it is now: each of the
    /// account's connections if it moved, else `asker` only (it was there
    /// or further already, which the others know). IRC clients with
    /// `draft/read-marker` read `MARKREAD`, the others a notice.
    pub(super) fn move_marker(
        &mut self,
        out: &mut dyn Outbox,
        asker: ClientId,
        account: &str,
        (name, key): (&str, String),
        through: Option<ReadAt>,
        now: Now,
    ) {
        let Some(through) = through else {
            return; // nothing said there since the start to mark read
        };
        let moved = self.markers.set(account, &key, through);
        if moved {
            let marker = Marker {
                account: account.to_owned(),
                target: key.clone(),
                through: through.id,
                ms: through.ms,
            };
            self.keep_record(out, AccountRecord::Marker(marker));
        }
        let at = self.markers.get(account, &key).unwrap_or(through);
        let marked = Body::Notice(Notice::MarkedRead {
            target: name,
            through: at.id,
        });
        let told = if moved {
            self.accounts.devices_of(account).to_vec()
        } else {
            vec![asker]
        };
        for device in told {
            if self.wants_markread(device) {
                self.irc_tell_marker(out, device, name, Some(at));
            } else {
                self.chat.send(out, device, &marked, now);
            }
        }
    }

    /// Account `key` was deleted: its markers go.
    pub(super) fn forget_account(&mut self, key: &str) {
        self.markers.discard(key);
    }
}
