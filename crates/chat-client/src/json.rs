//! `--json`: each server line printed as one JSON object, for bots and
//! scripts.
//!
//! Every object has the same five keys, `null` where they do not apply:
//!
//! - `timestamp`: the stamp as ISO 8601 (`2026-11-24T21:03:31` for the
//!   zone-less `ctime` layout, RFC 3339 with its offset otherwise), or the
//!   stamp as sent if it cannot be read;
//! - `kind`: `message`, `action`, `private`, `private_sent`, `operator`,
//!   `welcome`, `join`, `leave`, `nick`, `members`, `rooms`, `login`,
//!   `logout`, `while_away`, `unread`, `read`, `token` (the answer to a
//!   `/token` typed), `error`, `info`, or `unknown` for a line chat-proto
//!   cannot read (its `text` is
//!   the whole line);
//! - `nick`: who spoke, joined, left or was renamed (the old nick); the
//!   account logged in to for `login`; the
//!   recipient for `private_sent`; the operator's name for `operator`;
//! - `room`: for `join`, `leave`, `members`, `unread` and `read` (a room,
//!   or `@NICK` for a private conversation);
//! - `text`: what was said; the MOTD, the leave reason, the new nick, the
//!   member or room list; for `unread` the id after which lines are
//!   unread, for `read` the id read through; the login token.
//!
//! `count` is added for `members`, `rooms`, `while_away` and `unread`.

use chat_proto::{Body, Notice, ParsedStamp, parse_line, parse_stamp};
use serde_json::{Value, json};

/// One line (without its line end) as a JSON object.
pub(crate) fn line_to_json(line: &str) -> Value {
    let Ok(parsed) = parse_line(line) else {
        return object(None, "unknown", None, None, Some(line));
    };
    let timestamp = match parse_stamp(parsed.stamp) {
        Some(ParsedStamp::Zoned(time)) => time.to_rfc3339(),
        Some(ParsedStamp::Naive(time)) => time.format("%Y-%m-%dT%H:%M:%S").to_string(),
        None => parsed.stamp.to_owned(),
    };
    let stamp = Some(timestamp.as_str());
    match parsed.body {
        Body::Message { nick, text } => {
            object(stamp, "message", Some(nick), parsed.room, Some(text))
        }
        Body::Action { nick, text } => object(stamp, "action", Some(nick), parsed.room, Some(text)),
        Body::Private { from, text } => object(stamp, "private", Some(from), None, Some(text)),
        Body::PrivateSent { to, text } => object(stamp, "private_sent", Some(to), None, Some(text)),
        Body::Operator { name, text } => object(stamp, "operator", Some(name), None, Some(text)),
        Body::History { nick, text, action } => {
            let kind = if action { "history_action" } else { "history" };
            object(stamp, kind, Some(nick), None, Some(text))
        }
        // What the server writes, never what it is read back as.
        Body::Refusal(refusal) => {
            let text = refusal.to_string();
            object(stamp, "error", None, None, Some(&text))
        }
        Body::Notice(notice) => match notice {
            Notice::Welcome { nick, motd } => {
                object(stamp, "welcome", Some(nick), None, Some(motd))
            }
            Notice::Joined { nick, room } => object(stamp, "join", Some(nick), Some(room), None),
            Notice::Left { nick, room, reason } => {
                object(stamp, "leave", Some(nick), Some(room), reason)
            }
            Notice::NickChanged { old, new } => object(stamp, "nick", Some(old), None, Some(new)),
            Notice::Members { room, count, nicks } => with_count(
                object(stamp, "members", None, Some(room), Some(nicks)),
                count,
            ),
            Notice::Rooms { count, list } => {
                with_count(object(stamp, "rooms", None, None, Some(list)), count)
            }
            Notice::Topic { room, text } => object(stamp, "topic", None, Some(room), Some(text)),
            Notice::Talking { room } => object(stamp, "talking", None, Some(room), None),
            Notice::Error { text } => object(stamp, "error", None, None, Some(text)),
            Notice::Info { text } | Notice::Closing { text } => {
                object(stamp, "info", None, None, Some(text))
            }
            // Read back, these are the notices they read as.
            Notice::TopicSet { room, text, .. } => {
                object(stamp, "topic", None, Some(room), Some(text))
            }
            Notice::LoggedIn { account, .. } => object(stamp, "login", Some(account), None, None),
            Notice::LoggedOut { .. } => object(stamp, "logout", None, None, None),
            Notice::WhileAway { count } => {
                with_count(object(stamp, "while_away", None, None, None), count)
            }
            Notice::Unread {
                target,
                count,
                since,
            } => {
                let since = since.to_string();
                let value = object(stamp, "unread", None, Some(target), Some(&since));
                with_count(value, count)
            }
            Notice::MarkedRead { target, through } => {
                let through = through.to_string();
                object(stamp, "read", None, Some(target), Some(&through))
            }
            // Asked for with /token by the one reading: theirs to see.
            Notice::LoginToken { token, .. } => object(stamp, "token", None, None, Some(token)),
            Notice::NowOperator => {
                let text = Body::Notice(Notice::NowOperator).to_string();
                let text = text.strip_prefix("-!- ").unwrap_or(&text).to_owned();
                object(stamp, "info", None, None, Some(&text))
            }
        },
    }
}

fn object(
    timestamp: Option<&str>,
    kind: &str,
    nick: Option<&str>,
    room: Option<&str>,
    text: Option<&str>,
) -> Value {
    json!({
        "timestamp": timestamp,
        "kind": kind,
        "nick": nick,
        "room": room,
        "text": text,
    })
}

fn with_count(mut value: Value, count: usize) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.insert("count".to_owned(), json!(count));
    }
    value
}

/// Every complete line in `bytes` (LF-separated; a trailing CR is dropped)
/// as JSON text, one object per line, each followed by a newline.
pub(crate) fn render(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for line in text.split_terminator('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        out.push_str(&line_to_json(line).to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_fields() {
        insta::assert_snapshot!(render(
            b"[Tue Nov 24 21:03:31 2026] <alice> hi\n\
              [2026-11-24T21:03:31Z] -!- bob left lobby (quit)\n\
              [Tue Nov 24 21:03:31 2026] -!- alice is now known as al\r\n\
              [Tue Nov 24 21:03:31 2026] -!- members of lobby (2): al bob\n\
              [Tue Nov 24 21:03:31 2026] -operator- hello\n\
              [Tue Nov 24 21:03:31 2026] -!- server shutting down\n\
              no stamp here\n"
        ));
    }
}
