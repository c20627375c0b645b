//! History asked by its points in time (IRC's `CHATHISTORY`): a
//! [`HistoryQuery`] of a named room becomes one read of the store, whose
//! answer goes out as the asking protocol's history (an IRC batch).

use chat_proto::{HistoryQuery, Point, Refusal};

use super::{ReadKind, StoreClient};
use crate::ClientId;
use crate::chat::Chat;
use crate::ctx::Ctx;

/// The most lines one query answers (also told to IRC clients as
/// `CHATHISTORY=` in their 005).
pub(crate) const HISTORY_QUERY_MAX: usize = 100;

impl StoreClient {
    /// `query` of `room`, which `id` must be in.
    pub(crate) fn history_of(
        &mut self,
        chat: &mut Chat,
        ctx: &mut Ctx<'_>,
        id: ClientId,
        room: &str,
        query: HistoryQuery,
    ) {
        if !self.on {
            return chat.refuse(ctx.out, id, Refusal::NeedsHistoryFile, ctx.now);
        }
        let members = chat.members();
        let Some(found) = members.joined_room(id, room) else {
            return chat.refuse(ctx.out, id, Refusal::NotInRoom { room }, ctx.now);
        };
        let room = members.room(found);
        let (name, key) = (room.name.clone(), std::sync::Arc::clone(&room.key));
        let batch = super::AnswerShape::IrcBatch(name);
        self.read_in(chat, ctx, id, key, read_of(query), batch);
    }
}

/// The store read that answers `query`.
fn read_of(query: HistoryQuery) -> ReadKind {
    let range = |after, before, limit: usize, newest| ReadKind::Range {
        after,
        before,
        count: limit.clamp(1, HISTORY_QUERY_MAX),
        newest,
    };
    match query {
        HistoryQuery::Latest { after, limit } => range(after, None, limit, true),
        HistoryQuery::Before { at, limit } => range(None, Some(at), limit, true),
        HistoryQuery::After { at, limit } => range(Some(at), None, limit, false),
        HistoryQuery::Around { at, limit } => ReadKind::Around {
            at,
            count: limit.clamp(1, HISTORY_QUERY_MAX),
        },
        HistoryQuery::Between { from, to, limit } => {
            if later(from, to) {
                range(Some(to), Some(from), limit, true)
            } else {
                range(Some(from), Some(to), limit, false)
            }
        }
    }
}

/// Whether `a` comes after `b` (points of one kind; ids and times are not
/// compared, and taken in the order given).
fn later(a: Point, b: Point) -> bool {
    match (a, b) {
        (Point::Id(a), Point::Id(b)) => a > b,
        (Point::Millis(a), Point::Millis(b)) => a > b,
        _ => false,
    }
}
