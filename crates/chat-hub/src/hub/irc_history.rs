//! IRCv3 `draft/chathistory`: `CHATHISTORY LATEST|BEFORE|AFTER|AROUND|
//! BETWEEN #channel …` read from the history store (a protocol-neutral
//! `Command::HistoryOf`, answered as a `chathistory` batch), and `TARGETS`.
//! What cannot be answered gets the spec's `FAIL CHATHISTORY …`.

use bytes::BytesMut;
use chat_irc::Message;
use chat_proto::{Command, HistoryQuery, Point};
use chrono::DateTime;

use super::Hub;
use crate::{ClientId, Now, Outbox};

impl Hub {
    pub(super) fn irc_chathistory(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        msg: &Message<'_>,
        now: Now,
    ) {
        let sub = msg.param(0).unwrap_or_default().to_ascii_uppercase();
        if sub == "TARGETS" {
            // Private conversations are not kept: no targets to name.
            return self.irc_empty_batch(out, id, "draft/chathistory-targets", None);
        }
        let Some(target) = msg.param(1) else {
            return self.irc_fail(
                out,
                id,
                "CHATHISTORY",
                "NEED_MORE_PARAMS",
                &[],
                "Missing parameters",
            );
        };
        let query = match parse_query(&sub, msg) {
            Ok(query) => query,
            Err(why) => {
                return self.irc_fail(out, id, "CHATHISTORY", "INVALID_PARAMS", &[&sub], why);
            }
        };
        if !self.store.is_on() {
            let why = "no history is kept here";
            return self.irc_fail(
                out,
                id,
                "CHATHISTORY",
                "MESSAGE_ERROR",
                &[&sub, target],
                why,
            );
        }
        let Some(room) = target.strip_prefix('#') else {
            // Private conversations are not kept: an empty answer.
            return self.irc_empty_batch(out, id, "chathistory", Some(target));
        };
        if self.chat.members().joined_room(id, room).is_none() {
            let why = "You are not on that channel";
            return self.irc_fail(
                out,
                id,
                "CHATHISTORY",
                "INVALID_TARGET",
                &[&sub, target],
                why,
            );
        }
        self.command(out, id, Command::HistoryOf { room, query }, now);
    }

    /// A batch of `kind` with nothing in it (for `target`, if given).
    fn irc_empty_batch(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        kind: &str,
        target: Option<&str>,
    ) {
        let server = self.config.server_name.clone();
        let mut reply = BytesMut::new();
        let mut open = vec!["+empty", kind];
        open.extend(target);
        let _ = chat_irc::write(&mut reply, &[], Some(&server), "BATCH", &open);
        let _ = chat_irc::write(&mut reply, &[], Some(&server), "BATCH", &["-empty"]);
        self.chat.send_wire(out, id, reply.freeze());
    }
}

/// The query of `CHATHISTORY SUB target …`, or why it cannot be read.
fn parse_query(sub: &str, msg: &Message<'_>) -> Result<HistoryQuery, &'static str> {
    let limit = |index: usize| -> Result<usize, &'static str> {
        let limit = msg.param(index).ok_or("Missing limit")?;
        limit.parse().map_err(|_| "The limit is not a number")
    };
    let point = |index: usize| -> Result<Option<Point>, &'static str> {
        let at = msg.param(index).ok_or("Missing message reference")?;
        parse_point(at)
    };
    let required = |index: usize| point(index)?.ok_or("`*` is only for LATEST");
    match sub {
        "LATEST" => Ok(HistoryQuery::Latest {
            after: point(2)?,
            limit: limit(3)?,
        }),
        "BEFORE" => Ok(HistoryQuery::Before {
            at: required(2)?,
            limit: limit(3)?,
        }),
        "AFTER" => Ok(HistoryQuery::After {
            at: required(2)?,
            limit: limit(3)?,
        }),
        "AROUND" => Ok(HistoryQuery::Around {
            at: required(2)?,
            limit: limit(3)?,
        }),
        "BETWEEN" => Ok(HistoryQuery::Between {
            from: required(2)?,
            to: required(3)?,
            limit: limit(4)?,
        }),
        _ => Err("Unknown subcommand"),
    }
}

/// `msgid=ID`, `timestamp=RFC3339` or `*` (none).
fn parse_point(text: &str) -> Result<Option<Point>, &'static str> {
    if text == "*" {
        return Ok(None);
    }
    if let Some(id) = text.strip_prefix("msgid=") {
        return id
            .parse()
            .map(|id| Some(Point::Id(id)))
            .map_err(|_| "Unknown msgid");
    }
    if let Some(time) = text.strip_prefix("timestamp=") {
        let time = DateTime::parse_from_rfc3339(time).map_err(|_| "Bad timestamp")?;
        return Ok(Some(Point::Millis(time.timestamp_millis())));
    }
    Err("A message reference is msgid=ID, timestamp=TIME or *")
}
