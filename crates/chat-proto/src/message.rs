//! What the server sends: one documented shape per kind of line, written and read here.
//!
//! A line is `[STAMP] BODY\n` (line framing) or `[STAMP]BODY` (raw framing).
//! The shapes of BODY, each unambiguous because nicks and room names never
//! hold spaces or the punctuation used as delimiters:
//!
//! | kind | body |
//! |---|---|
//! | message | `<alice> hello` |
//! | action | `* alice waves` |
//! | private message to you | `*alice* psst` |
//! | your private message, as sent | `-> *bob* psst` |
//! | operator | `-operator- hello` |
//! | history (said before you came) | `(history) <alice> hello`, `(history) * alice waves` |
//! | notice | `-!- ` then one of the [`Notice`] shapes |
//!
//! A room line (message or action) from a room that is not the reader's
//! current one carries the room after the stamp (and after the id, for a
//! client that asked for ids): `[stamp] #dev <alice> hello`. A room name
//! starts with a letter and an id is digits, so the two never mix.

use bytes::BytesMut;

/// One server line, read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// The text between the brackets; see [`crate::parse_stamp`].
    pub stamp: &'a str,
    /// The room of a room line from a room that is not the reader's
    /// current one (`[stamp] #dev <alice> hi`).
    pub room: Option<&'a str>,
    pub body: Body<'a>,
}

/// What a server line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// `<nick> text`: said in the room.
    Message { nick: &'a str, text: &'a str },
    /// `* nick text`: an action (`/me`).
    Action { nick: &'a str, text: &'a str },
    /// `*from* text`: a private message to the reader.
    Private { from: &'a str, text: &'a str },
    /// `-> *to* text`: the reader's own private message, confirmed.
    PrivateSent { to: &'a str, text: &'a str },
    /// `-name- text`: the server's operator speaking. In raw framing only the
    /// text is sent, as the tutorial server did.
    Operator { name: &'a str, text: &'a str },
    /// `(history) <nick> text` or, for an action, `(history) * nick text`: a
    /// room line said before the reader joined, replayed with its original
    /// stamp.
    History {
        nick: &'a str,
        text: &'a str,
        action: bool,
    },
    /// `-!- ...`: the server speaking.
    Notice(Notice<'a>),
    /// `-!- error: TEXT`: a request refused, kept as a value so that each
    /// protocol renders it its way (IRC as a numeric). Read back, it is a
    /// [`Notice::Error`].
    Refusal(&'a crate::Refusal<'a>),
}

/// The server's notices. Each has a fixed English shape; anything else the
/// server says is [`Notice::Info`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice<'a> {
    /// `Welcome, alice! MOTD` (no space and no MOTD when it is empty).
    Welcome { nick: &'a str, motd: &'a str },
    /// `alice joined lobby`
    Joined { nick: &'a str, room: &'a str },
    /// `alice left lobby` or `alice left lobby (reason)`
    Left {
        nick: &'a str,
        room: &'a str,
        reason: Option<&'a str>,
    },
    /// `alice is now known as bob`
    NickChanged { old: &'a str, new: &'a str },
    /// `members of lobby (3): alice bob carol`: `nicks` is space-separated and
    /// may end with `...` when the room is too large to list.
    Members {
        room: &'a str,
        count: usize,
        nicks: &'a str,
    },
    /// `rooms (2): lobby(3) dev(1)`
    Rooms { count: usize, list: &'a str },
    /// `topic of lobby: TEXT` (an empty TEXT: no topic).
    Topic { room: &'a str, text: &'a str },
    /// `topic of lobby: TEXT` as it is set by `nick`: the same line in the
    /// line protocol (which does not say who), a `TOPIC` from `nick` in
    /// IRC. Read back, it is a [`Notice::Topic`].
    TopicSet {
        nick: &'a str,
        room: &'a str,
        text: &'a str,
    },
    /// The last word to a client whose connection is being closed (`Goodbye!`,
    /// `closing: idle timeout`, a kick's words): an information line in the
    /// line protocol, IRC's `ERROR`. Read back, it is a [`Notice::Info`].
    Closing { text: &'a str },
    /// `you are now an operator: /kick /ban /unban /bans /topic /motd`
    /// (IRC's `381`).
    NowOperator,
    /// `you are logged in as alice` (IRC's `900`).
    LoggedIn { nick: &'a str, account: &'a str },
    /// `you are logged out` (IRC's `901`).
    LoggedOut { nick: &'a str },
    /// `while you were away: 3 private messages`: they follow, each with
    /// its own stamp.
    WhileAway { count: usize },
    /// `3 unread in dev since #1041`: lines said in a room (or a
    /// conversation, `@bob`) after the one its reader last marked read.
    Unread {
        target: &'a str,
        count: usize,
        since: u64,
    },
    /// `read dev through #1044`: the reader's marker moved (on every
    /// device of its account).
    MarkedRead { target: &'a str, through: u64 },
    /// `login token: TOKEN (valid 12h)`: the answer to `/token`, for
    /// `/resume NAME TOKEN` on a later connection. A secret: a client keeps
    /// it and shows it nowhere.
    LoginToken { token: &'a str, valid_hours: u32 },
    /// `now talking in dev`: plain lines go to this room from now on (a
    /// client in several rooms, on `/join` of one it is already in or on
    /// `/part` of the one it talked in).
    Talking { room: &'a str },
    /// `error: text`: the request was refused; the connection stays.
    Error { text: &'a str },
    /// Anything else, e.g. `server shutting down`.
    Info { text: &'a str },
}

/// What an operator is told on becoming one.
const NOW_OPERATOR: &str = "you are now an operator: /kick /ban /unban /bans /topic /motd";

/// What a client is told when it logs out.
const LOGGED_OUT: &str = "you are logged out";

/// Why a line could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// It does not start with `[stamp]`.
    NoStamp,
    /// The body has no known shape.
    UnknownKind,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ParseError::NoStamp => "line does not start with [timestamp]",
            ParseError::UnknownKind => "unknown kind of line",
        })
    }
}

impl std::error::Error for ParseError {}

/// Appends `[stamp] body\n` (line framing).
pub fn encode_line(out: &mut BytesMut, stamp: &str, body: &Body<'_>) {
    encode_room_line(out, stamp, None, None, body);
}

/// Appends `[stamp] #ID body\n`: a room line (or a history line) for a
/// client that asked for message ids (`/cap ids`). Clients that did not ask
/// get [`encode_line`]'s shape.
pub fn encode_line_with_id(out: &mut BytesMut, stamp: &str, id: u64, body: &Body<'_>) {
    encode_room_line(out, stamp, Some(id), None, body);
}

/// Appends a room line in line framing: `[stamp] ` then `#ID ` where the
/// reader asked for ids, then `#ROOM ` where the line's room is not the
/// reader's current one, then the body and a newline.
pub fn encode_room_line(
    out: &mut BytesMut,
    stamp: &str,
    id: Option<u64>,
    room: Option<&str>,
    body: &Body<'_>,
) {
    out.extend_from_slice(b"[");
    out.extend_from_slice(stamp.as_bytes());
    out.extend_from_slice(b"] ");
    if let Some(id) = id {
        out.extend_from_slice(b"#");
        put_number(out, id);
        out.extend_from_slice(b" ");
    }
    put_room(out, room);
    body.pieces(|piece| out.extend_from_slice(piece.as_bytes()));
    out.extend_from_slice(b"\n");
}

/// Appends `[stamp]body` (raw framing: no space, no newline; an operator's
/// words go out bare, exactly as the tutorial server sent its replies).
pub fn encode_raw(out: &mut BytesMut, stamp: &str, body: &Body<'_>) {
    encode_raw_room_line(out, stamp, None, body);
}

/// [`encode_raw`] for a room line from a room that is not the reader's
/// current one: `[stamp]#ROOM body`.
pub fn encode_raw_room_line(out: &mut BytesMut, stamp: &str, room: Option<&str>, body: &Body<'_>) {
    out.extend_from_slice(b"[");
    out.extend_from_slice(stamp.as_bytes());
    out.extend_from_slice(b"]");
    put_room(out, room);
    match body {
        Body::Operator { text, .. } => out.extend_from_slice(text.as_bytes()),
        body => body.pieces(|piece| out.extend_from_slice(piece.as_bytes())),
    }
}

fn put_room(out: &mut BytesMut, room: Option<&str>) {
    if let Some(room) = room {
        out.extend_from_slice(b"#");
        out.extend_from_slice(room.as_bytes());
        out.extend_from_slice(b" ");
    }
}

/// Writes `number` in decimal without an intermediate string.
fn put_number(out: &mut BytesMut, number: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = number;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

impl Body<'_> {
    /// Hands out the body's text in pieces, so that encoding needs no
    /// intermediate string.
    fn pieces(&self, mut put: impl FnMut(&str)) {
        match *self {
            Body::Message { nick, text } => {
                put("<");
                put(nick);
                put("> ");
                put(text);
            }
            Body::Action { nick, text } => {
                put("* ");
                put(nick);
                put(" ");
                put(text);
            }
            Body::Private { from, text } => {
                put("*");
                put(from);
                put("* ");
                put(text);
            }
            Body::PrivateSent { to, text } => {
                put("-> *");
                put(to);
                put("* ");
                put(text);
            }
            Body::Operator { name, text } => {
                put("-");
                put(name);
                put("- ");
                put(text);
            }
            Body::History { nick, text, action } => {
                put("(history) ");
                if action {
                    Body::Action { nick, text }.pieces(put);
                } else {
                    Body::Message { nick, text }.pieces(put);
                }
            }
            Body::Notice(notice) => {
                put("-!- ");
                notice.pieces(put);
            }
            Body::Refusal(refusal) => {
                put("-!- error: ");
                put(&refusal.to_string());
            }
        }
    }
}

impl Notice<'_> {
    fn pieces(&self, mut put: impl FnMut(&str)) {
        match *self {
            Notice::Welcome { nick, motd } => {
                put("Welcome, ");
                put(nick);
                put("!");
                if !motd.is_empty() {
                    put(" ");
                    put(motd);
                }
            }
            Notice::Joined { nick, room } => {
                put(nick);
                put(" joined ");
                put(room);
            }
            Notice::Left { nick, room, reason } => {
                put(nick);
                put(" left ");
                put(room);
                if let Some(reason) = reason {
                    put(" (");
                    put(reason);
                    put(")");
                }
            }
            Notice::NickChanged { old, new } => {
                put(old);
                put(" is now known as ");
                put(new);
            }
            Notice::Members { room, count, nicks } => {
                put("members of ");
                put(room);
                put(" (");
                put(&count.to_string());
                put("): ");
                put(nicks);
            }
            Notice::Rooms { count, list } => {
                put("rooms (");
                put(&count.to_string());
                put("): ");
                put(list);
            }
            Notice::Topic { room, text } => {
                put("topic of ");
                put(room);
                put(": ");
                put(text);
            }
            Notice::TopicSet { room, text, .. } => {
                Notice::Topic { room, text }.pieces(put);
            }
            Notice::Closing { text } => put(text),
            Notice::NowOperator => put(NOW_OPERATOR),
            Notice::LoggedIn { account, .. } => {
                put("you are logged in as ");
                put(account);
            }
            Notice::LoggedOut { .. } => put(LOGGED_OUT),
            Notice::WhileAway { count } => {
                put("while you were away: ");
                put(&count.to_string());
                put(if count == 1 {
                    " private message"
                } else {
                    " private messages"
                });
            }
            Notice::Unread {
                target,
                count,
                since,
            } => {
                put(&count.to_string());
                put(" unread in ");
                put(target);
                put(" since #");
                put(&since.to_string());
            }
            Notice::MarkedRead { target, through } => {
                put("read ");
                put(target);
                put(" through #");
                put(&through.to_string());
            }
            Notice::LoginToken { token, valid_hours } => {
                put("login token: ");
                put(token);
                put(" (valid ");
                put(&valid_hours.to_string());
                put("h)");
            }
            Notice::Talking { room } => {
                put("now talking in ");
                put(room);
            }
            Notice::Error { text } => {
                put("error: ");
                put(text);
            }
            Notice::Info { text } => put(text),
        }
    }
}

impl std::fmt::Display for Body<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut result = Ok(());
        self.pieces(|piece| result = result.and_then(|()| f.write_str(piece)));
        result
    }
}

/// Reads one server line in line framing (a trailing LF or CRLF is allowed).
pub fn parse_line(line: &str) -> Result<Line<'_>, ParseError> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let rest = line.strip_prefix('[').ok_or(ParseError::NoStamp)?;
    let (stamp, body) = rest.split_once(']').ok_or(ParseError::NoStamp)?;
    let body = body.strip_prefix(' ').ok_or(ParseError::UnknownKind)?;
    let (room, body) = split_room(body);
    Ok(Line {
        stamp,
        room,
        body: parse_body(body).ok_or(ParseError::UnknownKind)?,
    })
}

/// `#dev <alice> hi` is `(Some("dev"), "<alice> hi")`: a room line from a
/// room that is not the reader's current one. A room name starts with a
/// letter, so `#41 …` (a message id) is not one.
fn split_room(body: &str) -> (Option<&str>, &str) {
    let tagged = body.strip_prefix('#').and_then(|rest| {
        let (room, rest) = rest.split_once(' ')?;
        let starts_with_letter = room.starts_with(|c: char| c.is_ascii_alphabetic());
        starts_with_letter.then_some((room, rest))
    });
    match tagged {
        Some((room, rest)) => (Some(room), rest),
        None => (None, body),
    }
}

/// A line of a client that asked for message ids, split into its id (room
/// and history lines only) and the line as a client that did not ask gets
/// it: `[stamp] #41 <alice> hi` is `(Some(41), "[stamp] <alice> hi")`. A
/// line without an id comes back whole.
pub fn split_message_id(line: &str) -> (Option<u64>, std::borrow::Cow<'_, str>) {
    // The stamp holds no `]`: the first one ends it.
    let numbered = line.split_once(']').and_then(|(stamp, rest)| {
        let (digits, body) = rest.strip_prefix(" #")?.split_once(' ')?;
        let id = digits.parse::<u64>().ok()?;
        stamp.starts_with('[').then_some((id, stamp, body))
    });
    match numbered {
        Some((id, stamp, body)) => (Some(id), format!("{stamp}] {body}").into()),
        None => (None, line.into()),
    }
}

fn parse_body(body: &str) -> Option<Body<'_>> {
    if let Some(rest) = body.strip_prefix("(history) ") {
        return match parse_body(rest)? {
            Body::Message { nick, text } => Some(Body::History {
                nick,
                text,
                action: false,
            }),
            Body::Action { nick, text } => Some(Body::History {
                nick,
                text,
                action: true,
            }),
            _ => None,
        };
    }
    if let Some(rest) = body.strip_prefix('<') {
        let (nick, text) = rest.split_once("> ")?;
        return Some(Body::Message {
            nick: word(nick)?,
            text,
        });
    }
    if let Some(rest) = body.strip_prefix("* ") {
        let (nick, text) = rest.split_once(' ')?;
        return Some(Body::Action {
            nick: word(nick)?,
            text,
        });
    }
    if let Some(rest) = body.strip_prefix('*') {
        let (from, text) = rest.split_once("* ")?;
        return Some(Body::Private {
            from: word(from)?,
            text,
        });
    }
    if let Some(rest) = body.strip_prefix("-> *") {
        let (to, text) = rest.split_once("* ")?;
        return Some(Body::PrivateSent {
            to: word(to)?,
            text,
        });
    }
    if let Some(rest) = body.strip_prefix("-!- ") {
        return Some(Body::Notice(parse_notice(rest)));
    }
    if let Some(rest) = body.strip_prefix('-') {
        let (name, text) = rest.split_once("- ")?;
        return Some(Body::Operator {
            name: word(name)?,
            text,
        });
    }
    None
}

fn parse_notice(text: &str) -> Notice<'_> {
    parse_structured_notice(text).unwrap_or(Notice::Info { text })
}

fn parse_structured_notice(text: &str) -> Option<Notice<'_>> {
    if let Some(rest) = text.strip_prefix("Welcome, ") {
        let (nick, motd) = rest.split_once('!')?;
        let motd = match motd {
            "" => "",
            motd => motd.strip_prefix(' ')?,
        };
        return Some(Notice::Welcome {
            nick: word(nick)?,
            motd,
        });
    }
    if let Some(rest) = text.strip_prefix("error: ") {
        return Some(Notice::Error { text: rest });
    }
    if let Some(rest) = text.strip_prefix("members of ") {
        let (room, rest) = rest.split_once(" (")?;
        let (count, nicks) = rest.split_once("): ")?;
        return Some(Notice::Members {
            room: word(room)?,
            count: count.parse().ok()?,
            nicks,
        });
    }
    if let Some(rest) = text.strip_prefix("topic of ") {
        let (room, text) = rest.split_once(": ")?;
        return Some(Notice::Topic {
            room: word(room)?,
            text,
        });
    }
    if text == NOW_OPERATOR {
        return Some(Notice::NowOperator);
    }
    // Read back, a login's nick is unknown: it is the reader's own.
    if let Some(account) = text.strip_prefix("you are logged in as ") {
        let account = word(account)?;
        return Some(Notice::LoggedIn { nick: "", account });
    }
    if text == LOGGED_OUT {
        return Some(Notice::LoggedOut { nick: "" });
    }
    if let Some(rest) = text.strip_prefix("while you were away: ") {
        let count = rest
            .strip_suffix(" private messages")
            .or_else(|| rest.strip_suffix(" private message"))?;
        return Some(Notice::WhileAway {
            count: count.parse().ok()?,
        });
    }
    if let Some((count, rest)) = text.split_once(" unread in ") {
        let (target, since) = rest.split_once(" since #")?;
        return Some(Notice::Unread {
            target: word(target)?,
            count: count.parse().ok()?,
            since: since.parse().ok()?,
        });
    }
    if let Some(rest) = text.strip_prefix("read ") {
        let (target, through) = rest.split_once(" through #")?;
        return Some(Notice::MarkedRead {
            target: word(target)?,
            through: through.parse().ok()?,
        });
    }
    if let Some(rest) = text.strip_prefix("login token: ") {
        let (token, hours) = rest.split_once(" (valid ")?;
        let valid_hours = hours.strip_suffix("h)")?.parse().ok()?;
        return Some(Notice::LoginToken {
            token: word(token)?,
            valid_hours,
        });
    }
    if let Some(room) = text.strip_prefix("now talking in ") {
        return Some(Notice::Talking { room: word(room)? });
    }
    if let Some(rest) = text.strip_prefix("rooms (") {
        let (count, list) = rest.split_once("): ")?;
        return Some(Notice::Rooms {
            count: count.parse().ok()?,
            list,
        });
    }
    if let Some((old, new)) = text.split_once(" is now known as ") {
        return Some(Notice::NickChanged {
            old: word(old)?,
            new: word(new)?,
        });
    }
    if let Some((nick, room)) = text.split_once(" joined ") {
        return Some(Notice::Joined {
            nick: word(nick)?,
            room: word(room)?,
        });
    }
    if let Some((nick, rest)) = text.split_once(" left ") {
        let (room, reason) = match rest.split_once(" (") {
            Some((room, reason)) => (room, Some(reason.strip_suffix(')')?)),
            None => (rest, None),
        };
        return Some(Notice::Left {
            nick: word(nick)?,
            room: word(room)?,
            reason,
        });
    }
    None
}

/// A nick or room: non-empty, no spaces.
fn word(text: &str) -> Option<&str> {
    (!text.is_empty() && !text.contains(' ')).then_some(text)
}
