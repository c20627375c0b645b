//! Lines posted into a room from outside the chat (an incoming webhook):
//! said by no client, under a sender name no client can hold, and from
//! then on like any room line: numbered, stored, fanned out to every
//! protocol by the one room fan-out (`Chat::say_in`), and published to the
//! other nodes.

use std::sync::Arc;

use chat_proto::{room_key, sanitize_text, validate_nick, validate_room};

use super::Hub;
use crate::chat::SaidLine;
use crate::ctx::Ctx;
use crate::store::{Appended, Appending};
use crate::{Now, Outbox, RoomEvent};

/// One line to post: where, shown as from whom, and what.
#[derive(Debug, Clone, Copy)]
pub struct Post<'a> {
    /// A room name (`ops` or `#ops`); the room need not have members.
    pub room: &'a str,
    /// The name the line is shown from. It must not be a valid nick, so
    /// that no client can hold it or be taken for it (the caller adds a
    /// mark, PROTOCOL.md's `name[hook]`).
    pub sender: &'a str,
    /// One line of text; it is sanitized here like a client's line.
    pub text: &'a str,
}

/// What became of a [`Post`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    /// Said, with its message id where there is a history file.
    Said { id: Option<u64> },
    /// Nothing left once sanitized: not said.
    Empty,
    /// The room name or the sender is not one a post may use.
    Refused,
    /// The store cannot take lines now (`history_sync = "always"`).
    StoreBusy,
}

impl Hub {
    /// Says `post` in its room.
    pub fn post(&mut self, out: &mut dyn Outbox, post: Post<'_>, now: Now) -> Posted {
        if validate_room(post.room).is_err() || validate_nick(post.sender).is_ok() {
            return Posted::Refused;
        }
        let mut text = std::mem::take(&mut self.scratch);
        text.clear();
        sanitize_text(post.text.as_bytes(), &mut text);
        let posted = match text.trim().is_empty() {
            true => Posted::Empty,
            false => self.say_posted(out, post.room, post.sender, &text, now),
        };
        self.scratch = text;
        posted
    }

    fn say_posted(
        &mut self,
        out: &mut dyn Outbox,
        room: &str,
        sender: &str,
        text: &str,
        now: Now,
    ) -> Posted {
        self.counters.message();
        let (chat, config) = (&mut self.chat, &self.config);
        let here = chat.members().rooms().find(room);
        let (key, name): (Arc<str>, String) = match here {
            Some(room) => {
                let room = chat.members().room(room);
                (Arc::clone(&room.key), room.name.clone())
            }
            None => (
                room_key(room).into(),
                room.strip_prefix('#').unwrap_or(room).to_owned(),
            ),
        };
        let line_id = self.store.line_id();
        let line = Appending {
            room: key,
            nick: sender,
            action: false,
            text,
            sender: None,
        };
        let ctx = &mut Ctx { out, config, now };
        match self.store.append_line(ctx, line_id, line) {
            Appended::RelayNow => {
                if config.echo_messages {
                    out.said(&format!("[{name}] <{sender}> {text}"));
                }
                // A room nobody is in has no one to hear it here: it is
                // in the store and on the other nodes.
                if let Some(room) = here {
                    let said = SaidLine {
                        nick: sender,
                        text,
                        action: false,
                        id: line_id,
                        time: now,
                    };
                    chat.say_in(out, room, (None, None), &said);
                }
                if let Some(request) =
                    (self.node).room_line(&name, sender, text, RoomEvent::Message, now)
                {
                    self.node.ask(out, request);
                }
                Posted::Said { id: line_id }
            }
            // Out once committed, to its room (if anyone is in it then).
            Appended::Held => Posted::Said { id: line_id },
            Appended::Refused => Posted::StoreBusy,
        }
    }
}
