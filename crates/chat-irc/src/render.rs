//! What the chat says, in IRC: a [`chat_proto::Body`] (a room's line, a
//! notice, a reply, a refusal) written as the IRC lines a client expects.
//! The hub decides in those protocol-neutral values; this is the IRC
//! encoder beside chat-proto's line and raw ones.
//!
//! A line for a whole room (a message, an action, a join, a leave, a nick
//! change) names no recipient, so one encoding serves every IRC member of
//! the room that negotiated the same tags. Replies name their recipient
//! (every numeric starts with the client's nick): [`needs_recipient`] tells
//! which bodies those are, and the caller encodes them per client.
//!
//! A user's source is `nick!nick@HOST`, the host being the server's name:
//! addresses are never shown.

use bytes::BytesMut;
use chat_proto::{Body, Notice, Refusal};

use crate::message::{write, write_text};
use crate::numeric::{self, Numeric};

/// What a line is rendered with, besides its body.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The server's name: the source of its replies, and users' host.
    pub server: &'a str,
    /// The recipient's nick, for a body that [`needs_recipient`].
    pub to: Option<&'a str>,
    /// The room a room line (message or action) was said in.
    pub room: Option<&'a str>,
    /// The message tags the recipient negotiated, already formatted:
    /// `time` (server-time) and `msgid` (message-tags).
    pub time: Option<&'a str>,
    pub msgid: Option<&'a str>,
    /// The recipient negotiated `echo-message`: its own messages come back.
    pub echo: bool,
    /// The recipient negotiated `extended-join`: a join says the joiner's
    /// account (`*`: none) and real name, `realname` (its nick if `None`).
    pub extended_join: bool,
    pub realname: Option<&'a str>,
    /// The account of the user the line comes from (or, for a join, who
    /// joined), where it is known: `extended-join`'s account field, and
    /// the `account` tag where [`Facts::account_tag`] is set.
    pub account: Option<&'a str>,
    /// The recipient negotiated `account-tag`.
    pub account_tag: bool,
}

/// Whether `body` names its recipient in IRC, so that it is encoded per
/// client rather than once per shape.
pub fn needs_recipient(body: &Body<'_>) -> bool {
    !matches!(
        body,
        Body::Message { .. }
            | Body::Action { .. }
            | Body::Notice(Notice::Joined { .. } | Notice::Left { .. })
            | Body::Notice(Notice::NickChanged { .. } | Notice::TopicSet { .. })
    )
}

/// Appends `body` as IRC lines (none for what IRC has no line for, such
/// as the line protocol's welcome, which the IRC front-end sends as the
/// 001–005 burst instead).
pub fn render(out: &mut BytesMut, facts: &Facts<'_>, body: &Body<'_>) {
    let mut tags: [(&str, &str); 3] = [("", ""); 3];
    let mut count = 0;
    if let Some(time) = facts.time {
        tags[count] = ("time", time);
        count += 1;
    }
    if let Some(msgid) = facts.msgid {
        tags[count] = ("msgid", msgid);
        count += 1;
    }
    if let Some(account) = facts.account.filter(|_| facts.account_tag) {
        tags[count] = ("account", account);
        count += 1;
    }
    let tags = &tags[..count];
    let to = facts.to.unwrap_or("*");
    let server = facts.server;
    match *body {
        Body::Message { nick, text } | Body::Action { nick, text } => {
            let Some(room) = facts.room else {
                return;
            };
            let action = matches!(body, Body::Action { .. });
            say(out, tags, facts, nick, &channel(room), text, action);
        }
        Body::Private { from, text } => say(out, tags, facts, from, to, text, false),
        // The sender's own copy: what echo-message shows (the caller sends
        // it only to a client that negotiated it).
        Body::PrivateSent { to: target, text } => {
            if facts.echo {
                say(out, tags, facts, to, target, text, false);
            }
        }
        Body::Operator { name, text } => {
            let source = user(name, server);
            let _ = write_text(out, tags, Some(&source), "NOTICE", &[to, text]);
        }
        // A history replay names no room: IRC clients read history through
        // their own requests, not this shape.
        Body::History { .. } => {}
        Body::Refusal(refusal) => refuse(out, facts, refusal),
        Body::Notice(notice) => render_notice(out, tags, facts, &notice),
    }
}

fn render_notice(
    out: &mut BytesMut,
    tags: &[(&str, &str)],
    facts: &Facts<'_>,
    notice: &Notice<'_>,
) {
    let (server, to) = (facts.server, facts.to.unwrap_or("*"));
    match *notice {
        Notice::Welcome { .. } | Notice::Talking { .. } => {}
        Notice::Joined { nick, room } if facts.extended_join => {
            let realname = facts.realname.unwrap_or(nick);
            let source = user(nick, server);
            let account = facts.account.unwrap_or("*");
            let params = [&*channel(room), account, realname];
            let _ = write_text(out, tags, Some(&source), "JOIN", &params);
        }
        Notice::Joined { nick, room } => {
            let _ = write(
                out,
                tags,
                Some(&user(nick, server)),
                "JOIN",
                &[&channel(room)],
            );
        }
        Notice::Left { nick, room, reason } => {
            let source = user(nick, server);
            let room = channel(room);
            let _ = match reason {
                Some(reason) => write_text(out, tags, Some(&source), "PART", &[&room, reason]),
                None => write(out, tags, Some(&source), "PART", &[&room]),
            };
        }
        Notice::NickChanged { old, new } => {
            let _ = write(out, tags, Some(&user(old, server)), "NICK", &[new]);
        }
        Notice::Members { room, nicks, .. } => {
            let room = channel(room);
            let nicks = nicks.trim_end_matches(" ...");
            let _ = numeric::RPL_NAMREPLY.write(out, &[], server, to, &["=", &room, nicks]);
            let _ = numeric::RPL_ENDOFNAMES.write_default(out, &[], server, to, &[&room]);
        }
        Notice::Rooms { list, .. } => {
            let _ = numeric::RPL_LISTSTART.write(out, &[], server, to, &["Channel", "Users  Name"]);
            for entry in list.split(' ') {
                let entry = entry.trim_start_matches('*');
                let Some((name, count)) = entry.strip_suffix(')').and_then(|e| e.split_once('('))
                else {
                    continue;
                };
                let name = channel(name);
                let _ = numeric::RPL_LIST.write(out, &[], server, to, &[&name, count, ""]);
            }
            let _ = numeric::RPL_LISTEND.write_default(out, &[], server, to, &[]);
        }
        Notice::Topic { room, text } => {
            let room = channel(room);
            let _ = match text {
                "" => numeric::RPL_NOTOPIC.write_default(out, &[], server, to, &[&room]),
                text => numeric::RPL_TOPIC.write(out, &[], server, to, &[&room, text]),
            };
        }
        Notice::TopicSet { nick, room, text } => {
            let source = user(nick, server);
            let _ = write_text(out, tags, Some(&source), "TOPIC", &[&channel(room), text]);
        }
        Notice::Closing { text } => {
            let _ = write_text(out, &[], None, "ERROR", &[text]);
        }
        Notice::NowOperator => {
            let _ = numeric::RPL_YOUREOPER.write_default(out, &[], server, to, &[]);
        }
        Notice::LoggedIn { nick, account } => {
            let mask = user(nick, server);
            let text = format!("You are now logged in as {account}");
            let _ = numeric::RPL_LOGGEDIN.write(out, &[], server, to, &[&mask, account, &text]);
        }
        // No IRC numeric says these: a notice in the line protocol's words.
        Notice::WhileAway { .. } | Notice::Unread { .. } | Notice::MarkedRead { .. } => {
            let text = Body::Notice(*notice).to_string();
            let text = text.strip_prefix("-!- ").unwrap_or(&text);
            let _ = write_text(out, tags, Some(server), "NOTICE", &[to, text]);
        }
        Notice::LoggedOut { nick } => {
            let mask = user(nick, server);
            let _ = numeric::RPL_LOGGEDOUT.write_default(out, &[], server, to, &[&mask]);
        }
        Notice::Error { text } | Notice::Info { text } => {
            let _ = write_text(out, tags, Some(server), "NOTICE", &[to, text]);
        }
        // An IRC client cannot ask for one (`/token` is the line
        // protocol's); should it get one, it reads as any notice.
        Notice::LoginToken { .. } => {
            let text = Body::Notice(*notice).to_string();
            let text = text.strip_prefix("-!- ").unwrap_or(&text);
            let _ = write_text(out, tags, Some(server), "NOTICE", &[to, text]);
        }
    }
}

/// A refusal as the numeric an IRC client expects, or a notice where IRC
/// has none.
fn refuse(out: &mut BytesMut, facts: &Facts<'_>, refusal: &Refusal<'_>) {
    let (server, to) = (facts.server, facts.to.unwrap_or("*"));
    let with = |out: &mut BytesMut, numeric: Numeric, params: &[&str]| {
        let _ = numeric.write_default(out, &[], server, to, params);
    };
    match *refusal {
        Refusal::NickInvalid { nick, .. } | Refusal::NickReserved { nick, .. } => {
            with(out, numeric::ERR_ERRONEUSNICKNAME, &[nick]);
        }
        Refusal::NickTaken { nick } => with(out, numeric::ERR_NICKNAMEINUSE, &[nick]),
        // As ergo answers it: in use, by an account the client is not.
        Refusal::NickRegistered { nick } => {
            let text = "Nickname is reserved by a different account";
            let _ = numeric::ERR_NICKNAMEINUSE.write(out, &[], server, to, &[nick, text]);
        }
        Refusal::NoSuchNick { nick } => with(out, numeric::ERR_NOSUCHNICK, &[nick]),
        Refusal::RoomNameInvalid { room, .. } => {
            with(out, numeric::ERR_NOSUCHCHANNEL, &[&channel(room)]);
        }
        // Joining a channel one is in is no error in IRC.
        Refusal::AlreadyInRoom { .. } => {}
        Refusal::TooManyRooms { .. } => with(out, numeric::ERR_TOOMANYCHANNELS, &["#"]),
        Refusal::NotInRoom { room } => with(out, numeric::ERR_NOTONCHANNEL, &[&channel(room)]),
        Refusal::OperatorsOnly => with(out, numeric::ERR_NOPRIVILEGES, &[]),
        Refusal::WrongOperator => with(out, numeric::ERR_PASSWDMISMATCH, &[]),
        Refusal::WrongPassword => with(out, numeric::ERR_PASSWDMISMATCH, &[]),
        Refusal::Banned => with(out, numeric::ERR_YOUREBANNEDCREEP, &[]),
        Refusal::LineTooLong { .. } => with(out, numeric::ERR_INPUTTOOLONG, &[]),
        Refusal::AlreadyLoggedIn => with(out, numeric::ERR_ALREADYREGISTERED, &[]),
        // The connection ends with these: IRC's ERROR says why.
        Refusal::Flooding
        | Refusal::ServerFull
        | Refusal::TooManyConnections
        | Refusal::TooManyLogins
        | Refusal::TooManyFailures
        | Refusal::LoginTimedOut => {
            let text = refusal.to_string();
            let _ = write(out, &[], None, "ERROR", &[&text]);
        }
        _ => {
            let text = format!("error: {refusal}");
            let _ = write_text(out, &[], Some(server), "NOTICE", &[to, &text]);
        }
    }
}

/// `PRIVMSG` from `nick` to `target` (a CTCP ACTION for `/me`).
fn say(
    out: &mut BytesMut,
    tags: &[(&str, &str)],
    facts: &Facts<'_>,
    nick: &str,
    target: &str,
    text: &str,
    action: bool,
) {
    let source = user(nick, facts.server);
    let _ = if action {
        let text = format!("\u{1}ACTION {text}\u{1}");
        write_text(out, tags, Some(&source), "PRIVMSG", &[target, &text])
    } else {
        write_text(out, tags, Some(&source), "PRIVMSG", &[target, text])
    };
}

/// `MARKREAD <target> timestamp=<time>` from `server` (`draft/read-marker`):
/// where the client's account stopped reading `target`; `*` for no marker.
/// `time` is already in the spec's form (`YYYY-MM-DDThh:mm:ss.sssZ`).
pub fn markread(out: &mut BytesMut, server: &str, target: &str, time: Option<&str>) {
    let point = match time {
        Some(time) => Joined::of(&["timestamp=", time]),
        None => Joined::of(&["*"]),
    };
    let _ = write(out, &[], Some(server), "MARKREAD", &[target, &point]);
}

/// A room's channel name: `#` and the room's name.
pub fn channel(room: &str) -> Joined {
    Joined::of(&["#", room])
}

/// A user's source: `nick!nick@server`.
pub fn user(nick: &str, server: &str) -> Joined {
    Joined::of(&[nick, "!", nick, "@", server])
}

/// A few pieces joined, on the stack when they fit (a source or a channel
/// name always does, with nicks and rooms as short as they are), so that
/// relaying a line allocates nothing.
pub enum Joined {
    Stack {
        bytes: [u8; STACK_BYTES],
        len: usize,
    },
    Heap(String),
}

const STACK_BYTES: usize = 192;

impl Joined {
    fn of(pieces: &[&str]) -> Joined {
        let len: usize = pieces.iter().map(|piece| piece.len()).sum();
        if len > STACK_BYTES {
            return Joined::Heap(pieces.concat());
        }
        let mut bytes = [0; STACK_BYTES];
        let mut at = 0;
        for piece in pieces {
            bytes[at..at + piece.len()].copy_from_slice(piece.as_bytes());
            at += piece.len();
        }
        Joined::Stack { bytes, len }
    }
}

impl std::ops::Deref for Joined {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            // Whole `&str`s copied end to end: valid UTF-8.
            Joined::Stack { bytes, len } => std::str::from_utf8(&bytes[..*len]).unwrap_or(""),
            Joined::Heap(text) => text,
        }
    }
}
