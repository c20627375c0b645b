//! A line said in a room, composed once as a value: what the fan-out
//! sends, what the room's history keeps, what the console shows, for a
//! line said here, committed by the store, or heard from another node.

use chat_proto::Body;

use crate::Now;
use crate::rooms::RoomId;

/// What a client says, once the hub knows where: a room it is in (its
/// current one, or the one the client's protocol named), `/me` or not,
/// and the text. What the store, the room and the cluster are handed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Saying<'a> {
    pub(crate) room: RoomId,
    /// `/me`.
    pub(crate) action: bool,
    pub(crate) text: &'a str,
}

/// One line said in a room.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SaidLine<'a> {
    pub(crate) nick: &'a str,
    pub(crate) text: &'a str,
    /// `/me`.
    pub(crate) action: bool,
    /// Its message id, where there is a history file.
    pub(crate) id: Option<u64>,
    /// When it was said: its stamp.
    pub(crate) time: Now,
}

impl<'a> SaidLine<'a> {
    /// The line as its room hears it live.
    pub(crate) fn body(&self) -> Body<'a> {
        let (nick, text) = (self.nick, self.text);
        match self.action {
            true => Body::Action { nick, text },
            false => Body::Message { nick, text },
        }
    }
}
