//! What goes between the hub and the history store: the requests
//! ([`StoreRequest`]: lines to keep, reads to answer), the answers and
//! reports ([`StoreEvent`]), and the lines themselves ([`NewLine`] on the
//! way in, [`StoredLine`] on the way out).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::{Bytes, BytesMut};

use crate::{ClientId, Now};

/// Room lines between the arena's allocations: a new line costs a copy of
/// its nick and text into the arena, not an allocation of its own.
const ARENA_BLOCK: usize = 64 * 1024;

/// A new room line on its way to the store. Nothing in it is allocated for
/// it alone: the room key is the room's shared one, the nick and text are a
/// slice of the store's arena.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    /// Increasing across the server (so within each room), never reused.
    pub id: u64,
    /// The room's key (`chat_proto::room_key`: lower case, no `#`).
    pub room: Arc<str>,
    /// When it was said, with the server's UTC offset then: its stamp.
    pub time: Now,
    /// `/me`.
    pub action: bool,
    /// The nick, then the text.
    words: Bytes,
    nick_len: usize,
}

impl NewLine {
    /// A line with buffers of its own (tests, tools; the hub uses its arena).
    pub fn new(id: u64, room: &str, time: Now, action: bool, nick: &str, text: &str) -> NewLine {
        let mut arena = BytesMut::new();
        NewLine::in_arena(&mut arena, id, room.into(), time, action, nick, text)
    }

    pub(crate) fn in_arena(
        arena: &mut BytesMut,
        id: u64,
        room: Arc<str>,
        time: Now,
        action: bool,
        nick: &str,
        text: &str,
    ) -> NewLine {
        if arena.capacity() - arena.len() < nick.len() + text.len() {
            arena.reserve(ARENA_BLOCK.max(nick.len() + text.len()));
        }
        arena.extend_from_slice(nick.as_bytes());
        arena.extend_from_slice(text.as_bytes());
        NewLine {
            id,
            room,
            time,
            action,
            words: arena.split().freeze(),
            nick_len: nick.len(),
        }
    }

    pub fn nick(&self) -> &str {
        // Both halves were `&str`s split at a char boundary.
        std::str::from_utf8(&self.words[..self.nick_len]).unwrap_or_default()
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.words[self.nick_len..]).unwrap_or_default()
    }
}

/// A room line as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLine {
    /// Increasing across the server (so within each room), never reused.
    pub id: u64,
    /// The room's key (`chat_proto::room_key`: lower case, no `#`).
    pub room: String,
    pub nick: String,
    pub text: String,
    /// `/me`.
    pub action: bool,
    /// When it was said, with the server's UTC offset then: its stamp.
    pub time: Now,
}

/// What the hub asks of the store. Lines and the retention go to the
/// store's writer, reads to its reader: neither ever waits for the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreRequest {
    /// Keep this line (in the order asked).
    Append(NewLine),
    /// Lines said before `before_ms` (Unix milliseconds) are past
    /// `history_retention`: never read them again, delete them soon.
    Prune { before_ms: i64 },
    /// Read some of a room's lines; answered by [`StoreEvent::Read`].
    Read(StoreRead),
}

impl StoreRequest {
    /// Whether the store's reader takes it (else its writer does).
    pub fn is_read(&self) -> bool {
        matches!(self, StoreRequest::Read(_))
    }
}

/// A read of a room's lines, answered by [`StoreEvent::Read`] with the
/// same `client` and `token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreRead {
    pub client: ClientId,
    pub token: u64,
    pub room: Arc<str>,
    /// The last line handed to the store before the read was asked: the
    /// read waits for its commit, so it sees every line said before it.
    pub sees_through: u64,
    /// Set once nobody waits for the answer (the client left, asked again,
    /// or waited too long): the reader skips the read, or stops it.
    pub cancel: ReadCancel,
    pub kind: ReadKind,
}

/// What a [`StoreRead`] asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadKind {
    /// The room's last `count` lines, oldest first.
    Recent { count: usize },
    /// The room's lines after id `after`, oldest first, at most `count`
    /// and one more (which says another page follows).
    Since { after: u64, count: usize },
    /// The room's last `count` lines holding every one of `words`, oldest
    /// first.
    Search { words: String, count: usize },
    /// The room's lines strictly between `after` and `before` (each
    /// unbounded when `None`), at most `count`: the newest of them when
    /// `newest`, else the oldest; oldest first.
    Range {
        after: Option<chat_proto::Point>,
        before: Option<chat_proto::Point>,
        count: usize,
        newest: bool,
    },
    /// The room's lines around `at`: the newest `count / 2` before it and
    /// the oldest after it (the rest of `count`), oldest first.
    Around { at: chat_proto::Point, count: usize },
}

/// A read's "never mind": the hub sets it, the store's reader looks at it
/// before and while it reads. Shared by the two threads without a lock.
#[derive(Debug, Clone, Default)]
pub struct ReadCancel(Arc<AtomicBool>);

impl ReadCancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl PartialEq for ReadCancel {
    /// The same read's flag.
    fn eq(&self, other: &ReadCancel) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ReadCancel {}

/// How a read ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadAnswer {
    /// Every line asked for, oldest first.
    Lines(Vec<StoredLine>),
    /// A search that used up its budget (time or rows) before it looked
    /// everywhere: the matches it found, oldest first.
    Partial(Vec<StoredLine>),
    /// The store could not read (busy, or failing).
    Failed,
}

/// What the store tells the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreEvent {
    /// The answer to a [`StoreRead`].
    Read {
        client: ClientId,
        token: u64,
        answer: ReadAnswer,
    },
    /// Every line up to id `through` is committed (`history_sync =
    /// "always"` only).
    Committed { through: u64 },
    /// Writing failed (`error` says why; `failures` counts the failed
    /// attempts so far, each reported) or works again (`error` is `None`).
    Health {
        failures: u64,
        error: Option<String>,
    },
}
