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
    /// `/nick` (or a login) with a nick an account owns, by a client not
    /// logged in to it.
    NickRegistered {
        nick: &'a str,
    },
    /// `[accounts] registration = "closed"`.
    RegistrationClosed,
    /// `[accounts] registration = "operators"`: only `/account create`.
    RegistrationByOperators,
    /// Past the registrations an address may make in an hour.
    TooManyRegistrations,
    /// `/register` from a guest nick: the account is named after the nick.
    RegisterNeedsNick,
    AccountExists {
        name: &'a str,
    },
    /// The name is no account, or the password is not its password (one
    /// answer for both: it tells nobody which names exist).
    WrongLogin,
    AccountLocked {
        name: &'a str,
    },
    NotLoggedIn,
    /// `/login` or `/register` while logged in.
    LoggedInAs {
        account: &'a str,
    },
    /// A login, registration or password change is still being checked.
    AccountCheckPending,
    /// Too many failed logins to the account, from anywhere.
    AccountCoolingDown,
    /// The account is at `max_connections_per_account`.
    TooManyDevices {
        max: usize,
    },
    /// A password must have `min`..=`max` bytes.
    PasswordLength {
        min: usize,
        max: usize,
    },
    /// The server has no account store (or it failed).
    AccountsUnavailable,
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
            Refusal::NickRegistered { nick } => write!(
                f,
                "nick {nick} belongs to an account: /login {nick} PASSWORD, or choose another"
            ),
            Refusal::RegistrationClosed => f.write_str("registration is closed on this server"),
            Refusal::RegistrationByOperators => {
                f.write_str("accounts are made by the operators on this server: ask one")
            }
            Refusal::TooManyRegistrations => {
                f.write_str("too many accounts registered from your address; try again later")
            }
            Refusal::RegisterNeedsNick => {
                f.write_str("choose your nick first (/nick NAME): an account is named after it")
            }
            Refusal::AccountExists { name } => write!(f, "account {name} already exists"),
            Refusal::WrongLogin => f.write_str("wrong account name or password"),
            Refusal::AccountLocked { name } => write!(f, "account {name} is locked"),
            Refusal::NotLoggedIn => f.write_str("you are not logged in"),
            Refusal::LoggedInAs { account } => {
                write!(f, "you are logged in as {account}: /logout first")
            }
            Refusal::AccountCheckPending => {
                f.write_str("your last account request is still being checked; wait for its answer")
            }
            Refusal::AccountCoolingDown => {
                f.write_str("too many failed logins to this account; try again later")
            }
            Refusal::TooManyDevices { max } => write!(
                f,
                "your account is connected {max} times, the most allowed: close one first"
            ),
            Refusal::PasswordLength { min, max } => {
                write!(f, "a password has {min} to {max} bytes")
            }
            Refusal::AccountsUnavailable => {
                f.write_str("accounts are unavailable on this server right now")
            }
            Refusal::Other(text) => f.write_str(text),
        }
    }
}
