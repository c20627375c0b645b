//! The history a client is sent (on joining, `/history`, `/history
//! since`, `/search`): from this server's memory, the history store or the
//! cluster, with what else it is sent held until the history has gone out,
//! so live lines never come before or inside it.

use chat_proto::Refusal;
use chat_proto::{Body, Notice};

use super::{Chat, SaidLine};
use crate::cluster::local_time;
use crate::delivery::{HOLD_MAX, HistoryBatch};
use crate::rooms::RoomId;
use crate::store::StoredLine;
use crate::{ClientId, HubConfig, Now, Outbox, RoomEvent, RoomLine};

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
    /// none said before `since` (Unix seconds), encoded for `id` as one
    /// batch. They show no ids, even to a client that asked for them: the
    /// ring mixes this node's numbered lines with other nodes' unnumbered
    /// ones, so such a client reads its history from the file when there
    /// is one, and from memory only as a stand-in.
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
        let reserve = lines.clone().map(|line| HistoryBatch::size(&line)).sum();
        self.delivery
            .send_history(out, id, false, reserve, |batch| {
                lines.for_each(|line| batch.line(&line));
            });
    }

    /// How many lines `room` holds in memory.
    pub(crate) fn history_len(&self, room: RoomId) -> usize {
        self.members.room(room).history.len()
    }

    /// History from the store, oldest first, with its original stamps (at
    /// most as many lines as may be held), a notice before it (`first`)
    /// and one after it (`then`).
    pub(crate) fn send_stored_history(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        lines: &[StoredLine],
        first: Option<(Now, Notice<'_>)>,
        then: Option<(Now, &str)>,
    ) {
        let ids = self.members.client(id).is_some_and(|client| client.ids);
        let lines = lines.iter().rev().take(HOLD_MAX).rev().map(said_of);
        let reserve = lines.clone().map(|line| HistoryBatch::size(&line)).sum();
        self.delivery.send_history(out, id, ids, reserve, |batch| {
            if let Some((now, notice)) = first {
                batch.notice(now, &Body::Notice(notice));
            }
            lines.for_each(|line| batch.line(&line));
            if let Some((now, text)) = then {
                batch.notice(now, &Body::Notice(Notice::Info { text }));
            }
        });
    }

    /// A private conversation's lines from the store, oldest first, with
    /// their stamps: the other party's as received (`*bob* text`), the
    /// reader's own as sent (`-> *bob* text`).
    pub(crate) fn send_private_history(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        with: &str,
        lines: &[StoredLine],
    ) {
        let with_key = chat_proto::nick_key(with);
        let lines = lines.iter().rev().take(HOLD_MAX).rev();
        let reserve = lines
            .clone()
            .map(|line| 64 + line.nick.len() + line.text.len())
            .sum();
        self.delivery
            .send_history(out, id, false, reserve, |batch| {
                for line in lines {
                    let text = &line.text;
                    let body = if chat_proto::nick_key(&line.nick) == with_key {
                        Body::Private {
                            from: &line.nick,
                            text,
                        }
                    } else {
                        Body::PrivateSent { to: with, text }
                    };
                    batch.notice(line.time, &body);
                }
            });
    }

    /// History from the store as an IRC `chathistory` batch of `channel`
    /// (empty when there is none): each line a `PRIVMSG` with the tags the
    /// client negotiated.
    pub(crate) fn send_irc_history(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        room: &str,
        lines: &[StoredLine],
    ) {
        let Some(client) = self.members.client(id) else {
            return;
        };
        let lines = lines.iter().map(said_of);
        self.delivery.send_irc_batch(out, (id, client), room, lines);
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
        let lines = lines
            .iter()
            .rev()
            .take(HOLD_MAX)
            .rev()
            .map(|line| SaidLine {
                nick: &line.nick,
                text: &line.text,
                action: line.kind == RoomEvent::Action,
                id: None,
                time: local_time(line.time, now),
            });
        let reserve = lines.clone().map(|line| HistoryBatch::size(&line)).sum();
        self.delivery
            .send_history(out, id, false, reserve, |batch| {
                lines.for_each(|line| batch.line(&line));
            });
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

/// A line from the store, as said.
fn said_of(line: &StoredLine) -> SaidLine<'_> {
    SaidLine {
        nick: &line.nick,
        text: &line.text,
        action: line.action,
        id: Some(line.id),
        time: line.time,
    }
}
