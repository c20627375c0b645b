//! Why a server refuses what a client asked, as a value: the hub decides
//! in these terms and each wire protocol renders them (the line protocol
//! as `-!- error: TEXT`, with the texts below; another protocol may map
//! them onto its own codes). The texts are part of the protocol
//! (PROTOCOL.md) and pinned by a snapshot test.

use std::fmt;

use crate::{CommandError, NameError};

/// A request refused; the connection stays, except where the variant says
/// it is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal<'a> {
    /// A command line that is not a command, or not used right.
    Command(CommandError),
    /// A line over `max_line_bytes`, discarded.
    LineTooLong {
        max: usize,
    },
    /// Past the flood rate: lines are delayed.
    SendingTooFast,
    /// Far past it: the client is closed.
    Flooding,
    /// `/nick` with a name that is not a nick.
    NickInvalid {
        nick: &'a str,
        why: NameError,
    },
    /// `/nick` with a name kept for someone (`whose`: who, or empty).
    NickReserved {
        nick: &'a str,
        whose: &'a str,
    },
    NickTaken {
        nick: &'a str,
    },
    /// In a cluster whose Redis is away, nicks cannot be claimed.
    NickChangesUnavailable,
    NoSuchNick {
        nick: &'a str,
    },
    /// `/join` with a name that is not a room name.
    RoomNameInvalid {
        room: &'a str,
        why: NameError,
    },
    AlreadyInRoom {
        room: &'a str,
    },
    /// `/join` past `max_rooms_per_client`.
    TooManyRooms {
        max: usize,
    },
    /// `/part ROOM` for a room the client is not in.
    NotInRoom {
        room: &'a str,
    },
    /// A line (or `/who`, `/topic`, `/history`) from a client in no room.
    InNoRoom,
    /// `history_lines = 0`.
    NoHistoryKept,
    /// `/history` from a raw client (it needs line framing).
    HistoryNeedsLines,
    /// `/search` from a raw client.
    SearchNeedsLines,
    /// `/cap` from a raw client.
    CapabilitiesNeedLines,
    /// Ids and search need the history file.
    NeedsHistoryFile,
    UnknownCapability {
        name: &'a str,
    },
    /// With `history_sync = "always"`: the line was not said.
    StoreBusy,
    /// The history store could not take or answer a search.
    SearchBusy,
    /// The channel toward the cluster is full.
    ClusterBusy,
    /// `/who` and `/rooms` ask every node: at most once a second.
    SlowDown,
    /// `/pass` once logged in.
    AlreadyLoggedIn,
    OperatorsOnly,
    WrongOperator,
    /// An `/oper` is still being checked.
    OperatorCheckPending,
    /// The password checker's queue is full.
    VerifierBusy,
    /// Too many failed logins (or `/oper`s) from the address.
    TooManyFailures,
    /// The address is banned: the connection is closed.
    Banned,
    WrongPassword,
    LoginTimedOut,
    /// The server is at `max_clients`: the connection is closed.
    ServerFull,
    TooManyConnections,
    TooManyLogins,
    /// What another part of the server said went wrong (an operator
    /// command's argument, a cluster answer), in its words.
    Other(&'a str),
}

impl fmt::Display for Refusal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Command(error) => write!(f, "{error}"),
            Refusal::LineTooLong { max } => {
                write!(f, "line too long (over {max} bytes), discarded")
            }
            Refusal::SendingTooFast => f.write_str(
                "you are sending too fast: your lines are delayed; slow down or be disconnected",
            ),
            Refusal::Flooding => f.write_str("disconnected for flooding"),
            Refusal::NickInvalid { nick, why } => write!(f, "nick {nick:?} {why}"),
            Refusal::NickReserved { nick, whose } => write!(f, "nick {nick} is reserved{whose}"),
            Refusal::NickTaken { nick } => write!(f, "nick {nick} is taken"),
            Refusal::NickChangesUnavailable => {
                f.write_str("nick changes are unavailable while the cluster is unreachable")
            }
            Refusal::NoSuchNick { nick } => write!(f, "no such nick: {nick}"),
            Refusal::RoomNameInvalid { room, why } => write!(f, "room name {room:?} {why}"),
            Refusal::AlreadyInRoom { room } => write!(f, "you are already in {room}"),
            Refusal::TooManyRooms { max } => {
                write!(f, "you are in {max} rooms, the most allowed: /part one first")
            }
            Refusal::NotInRoom { room } => write!(f, "you are not in {room}"),
            Refusal::InNoRoom => f.write_str("you are in no room: /join one"),
            Refusal::NoHistoryKept => f.write_str("this server keeps no history"),
            Refusal::HistoryNeedsLines => f.write_str("history needs line framing"),
            Refusal::SearchNeedsLines => f.write_str("search needs line framing"),
            Refusal::CapabilitiesNeedLines => f.write_str("capabilities need line framing"),
            Refusal::NeedsHistoryFile => f.write_str(
                "message ids and search need the history file (history_store = \"sqlite\", no cluster)",
            ),
            Refusal::UnknownCapability { name } => {
                write!(f, "unknown capability {name:?}: the server knows `ids`")
            }
            Refusal::StoreBusy => {
                f.write_str("the history store is busy: your line was not sent, say it again")
            }
            Refusal::SearchBusy => f.write_str("search: the history store is busy, try again"),
            Refusal::ClusterBusy => f.write_str("the cluster is busy: try again"),
            Refusal::SlowDown => {
                f.write_str("slow down: /who and /rooms ask every server, at most once a second")
            }
            Refusal::AlreadyLoggedIn => f.write_str("you are already logged in"),
            Refusal::OperatorsOnly => {
                f.write_str("operators only: log in with /oper NAME PASSWORD")
            }
            Refusal::WrongOperator => f.write_str("wrong operator name or password"),
            Refusal::OperatorCheckPending => {
                f.write_str("your /oper is still being checked; wait for its answer")
            }
            Refusal::VerifierBusy => {
                f.write_str("the server is busy verifying logins; try again shortly")
            }
            Refusal::TooManyFailures => {
                f.write_str("too many failed logins from your address; try again later")
            }
            Refusal::Banned => f.write_str("you are banned from this server"),
            Refusal::WrongPassword => f.write_str("wrong password"),
            Refusal::LoginTimedOut => f.write_str("login timed out"),
            Refusal::ServerFull => f.write_str("server full"),
            Refusal::TooManyConnections => f.write_str("too many connections from your address"),
            Refusal::TooManyLogins => {
                f.write_str("too many logins in progress from your address; try again later")
            }
            Refusal::Other(text) => f.write_str(text),
        }
    }
}
