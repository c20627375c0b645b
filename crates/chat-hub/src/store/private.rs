//! Private conversations in the history store: the lines two parties
//! said to each other, kept under a key no room can have (`@alice@bob`:
//! room names start with a letter), so no room's history or search ever
//! reads them; only `/history @NICK` does, for one of the two.

use std::sync::Arc;

use chat_proto::{Refusal, nick_key};

use super::{AnswerShape, NewLine, ReadKind, StoreClient, StoreRequest};
use crate::ClientId;
use crate::chat::Chat;
use crate::ctx::Ctx;

/// The store's key of the conversation between `a` and `b` (nicks, any
/// case, either order).
pub(crate) fn conversation_key(a: &str, b: &str) -> String {
    let (a, b) = (nick_key(a), nick_key(b));
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    format!("@{first}@{second}")
}

impl StoreClient {
    /// `from` said `text` to `to` privately: kept in their conversation.
    /// Returns its id (`None` without a store, or if the store could not
    /// take it: counted and logged as any line).
    pub(crate) fn append_private(
        &mut self,
        ctx: &mut Ctx<'_>,
        from: &str,
        to: &str,
        text: &str,
    ) -> Option<u64> {
        let id = self.line_id()?;
        let key: Arc<str> = conversation_key(from, to).into();
        let line = NewLine::in_arena(&mut self.arena, id, key, ctx.now, false, from, text);
        if !ctx.out.store(StoreRequest::Append(line)) {
            self.line_dropped(ctx.out, ctx.now);
            return None;
        }
        self.handed = id;
        Some(id)
    }

    /// `/history @NICK [N]`: the last `count` lines between `me` (an
    /// account) and `with`.
    pub(crate) fn read_private(
        &mut self,
        chat: &mut Chat,
        ctx: &mut Ctx<'_>,
        id: ClientId,
        (me, with): (&str, &str),
        count: usize,
    ) {
        if !self.on {
            return chat.refuse(ctx.out, id, Refusal::NeedsHistoryFile, ctx.now);
        }
        let key: Arc<str> = conversation_key(me, with).into();
        let shape = AnswerShape::Private {
            with: with.to_owned(),
        };
        self.read_in(chat, ctx, id, key, ReadKind::Recent { count }, shape);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversation_has_one_key_whoever_speaks_and_no_room_has_it() {
        assert_eq!(conversation_key("Bob", "alice"), "@alice@bob");
        assert_eq!(conversation_key("alice", "BOB"), "@alice@bob");
        assert!(chat_proto::validate_room("@alice@bob").is_err());
    }
}
