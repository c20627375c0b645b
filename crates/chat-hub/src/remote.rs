//! What a line or a notice from another node does here: a line goes to the
//! local members of its room and into its history here, and to the
//! operator's console as a local line does; a join, leave, nick change or
//! topic is announced to the local members exactly as a local one is (the
//! same [`Notice`] shapes, the same `announce_limit`), and a topic becomes
//! the room's topic here too.
//!
//! `crate::node` decides when (once, in order: `crate::catchup`); this
//! only delivers.

use chat_proto::{Body, Notice};

use crate::chat::{Chat, SaidLine};
use crate::cluster::local_time;
use crate::delivery::Recipients;
use crate::{HubConfig, Now, Outbox, RoomEvent, RoomLine};

impl Chat {
    /// `line`, said on another node, for the local members of its room.
    pub(crate) fn deliver_remote(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        line: &RoomLine,
        now: Now,
    ) {
        let time = local_time(line.time, now);
        let (nick, text) = (line.nick.as_str(), line.text.as_str());
        let said = SaidLine {
            nick,
            text,
            action: line.kind == RoomEvent::Action,
            id: None,
            time,
        };
        if config.echo_messages && line.kind.is_said() {
            // As a local line shows, with the node instead of the address.
            let body = said.body();
            out.console(&format!("[{}] {body} (node {})", line.room, line.origin));
        }
        if line.kind.is_said() {
            if let Some(room) = self.members().rooms().find(&line.room) {
                self.say_in(out, room, (None, None), &said);
            }
            return;
        }
        if line.kind == RoomEvent::Nick {
            return self.renamed_afar(config, out, &line.room, nick, text, time);
        }
        let (members, delivery) = self.members_and_delivery();
        let Some(room) = members.rooms().find(&line.room) else {
            return; // nobody here
        };
        let reason = Some(text).filter(|reason| !reason.is_empty());
        let name = members.room(room).name.clone();
        let notice = match line.kind {
            // Said lines went to `say_in` above.
            RoomEvent::Message | RoomEvent::Action => return,
            RoomEvent::Joined => Notice::Joined { nick, room: &name },
            RoomEvent::Left => Notice::Left {
                nick,
                room: &name,
                reason,
            },
            // Nick changes went to `renamed_afar` above.
            RoomEvent::Nick => return,
            RoomEvent::Topic => {
                text.clone_into(&mut members.room_mut(room).topic);
                Notice::TopicSet {
                    nick,
                    room: &name,
                    text,
                }
            }
        };
        // As for a local notice: only while the room is small enough here.
        let here = &members.room(room).members;
        if here.len() <= config.announce_limit {
            let to = Recipients::line_clients(here);
            delivery.send_many(out, members.clients(), to, time, &Body::Notice(notice));
        }
    }
}
