//! The history a client is sent (on joining, `/history`, `/history
//! since`, `/search`): from this server's memory, the history store or the
//! cluster, with what else it is sent held until the history has gone out,
//! so live lines never come before or inside it.

use bytes::BytesMut;
use chat_proto::Refusal;
use chat_proto::{Body, Notice};

use super::Chat;
use crate::cluster::local_time;
use crate::delivery::HOLD_MAX;
use crate::rooms::RoomId;
use crate::store::StoredLine;
use crate::{ClientId, HubConfig, LineKind, Now, Outbox, RoomLine};

impl Chat {
    /// How many lines `/history [N]` may send `id`, or `None` (it was told
    /// why not).
    pub(crate) fn history_count(
        &mut self,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
        count: Option<usize>,
        now: Now,
    ) -> Option<usize> {
        let keep = config.history_keep();
        let refusal = if keep == 0 {
            Refusal::NoHistoryKept
        } else if !self.protocol(id).reads_history() {
            Refusal::HistoryNeedsLines
        } else {
            return Some(crate::history::requested(count, keep));
        };
        self.refuse(out, id, refusal, now);
        None
    }

    /// The last `count` lines of `id`'s room from this server's memory,
    /// none said before `since` (Unix seconds).
    pub(crate) fn send_local_history(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        count: usize,
        since: i64,
    ) {
        let Some(room) = self.members.current_room(id) else {
            return;
        };
        let lines = self.members.room(room).history.recent(count, since);
        self.delivery.send_encoded(out, id, lines);
    }

    /// How many lines `room` holds in memory.
    pub(crate) fn history_len(&self, room: RoomId) -> usize {
        self.members.room(room).history.len()
    }

    /// History from the store, oldest first, with its original stamps (at
    /// most as many lines as may be held), and a notice after it.
    pub(crate) fn send_stored_history(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        lines: &[StoredLine],
        then: Option<(Now, &str)>,
    ) {
        let ids = self.members.client(id).is_some_and(|client| client.ids);
        let mut encoded = BytesMut::new();
        for line in lines.iter().rev().take(HOLD_MAX).rev() {
            let (nick, text, action) = (line.nick.as_str(), line.text.as_str(), line.action);
            let body = Body::History { nick, text, action };
            let line_id = ids.then_some(line.id);
            self.delivery
                .history_line_with_id(&mut encoded, line.time, line_id, &body);
        }
        if let Some((now, text)) = then {
            let body = Body::Notice(Notice::Info { text });
            self.delivery.history_line(&mut encoded, now, &body);
        }
        self.delivery.send_encoded(out, id, encoded.freeze());
    }

    /// History from the cluster, oldest first (at most as many lines as
    /// may be held).
    pub(crate) fn send_history_lines(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        lines: &[RoomLine],
        now: Now,
    ) {
        let mut text = BytesMut::new();
        for line in lines.iter().rev().take(HOLD_MAX).rev() {
            let body = Body::History {
                nick: &line.nick,
                text: &line.text,
                action: line.kind == LineKind::Action,
            };
            let time = local_time(line.time, now);
            self.delivery.history_line(&mut text, time, &body);
        }
        self.delivery.send_encoded(out, id, text.freeze());
    }

    /// Holds what is sent to `id` until [`Chat::release`] (its history is
    /// on the way).
    pub(crate) fn hold(&mut self, id: ClientId) {
        self.delivery.hold(id);
    }

    pub(crate) fn is_holding(&self, id: ClientId) -> bool {
        self.delivery.is_holding(id)
    }

    /// What was held for `id` goes out, in order.
    pub(crate) fn release(&mut self, out: &mut dyn Outbox, id: ClientId) {
        self.delivery.release(out, id);
    }
}
