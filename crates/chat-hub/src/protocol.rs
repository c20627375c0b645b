//! The wire protocols the hub serves, and everything that differs between
//! them apart from the bytes: a connection's protocol is decided once, by
//! its listener ([`crate::Arrival`]), and every "does this client get …"
//! is answered here, not by comparing protocols where the answer is used.
//! The bytes themselves are `crate::wire` (in) and `crate::delivery` (out).

/// A connection's wire protocol: how its bytes are cut into messages and
/// how lines are written to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// Lines ending in LF (CRLF and CR accepted); every server line ends in LF.
    #[default]
    Line,
    /// The tutorial's framing: one read is one message, and every write is
    /// `[ctime]text` with no newline.
    Raw,
    /// IRC (RFC 1459/2812 as modern.ircdocs.horse has them, with IRCv3
    /// capabilities): the connection registers (`NICK`, `USER`) before it
    /// is a client, and joins the channels it wants.
    Irc,
}

impl Protocol {
    /// Every framing with its name in server.toml and on the command line,
    /// and what it means.
    pub const NAMES: [(&'static str, Protocol, &'static str); 3] = [
        ("line", Protocol::Line, "UTF-8 lines ending in LF"),
        (
            "raw",
            Protocol::Raw,
            "One read is one message; replies are `[ctime]text` with no newline",
        ),
        (
            "irc",
            Protocol::Irc,
            "IRC, for IRC clients and bots (irssi, WeeChat, HexChat, ...)",
        ),
    ];

    /// The name server.toml uses.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Line => "line",
            Protocol::Raw => "raw",
            Protocol::Irc => "irc",
        }
    }
}

impl Protocol {
    /// Gets the server's notices unasked (a welcome, joins, leaves,
    /// topics). The tutorial's raw clients get only room lines and the
    /// answers to what they send.
    pub fn hears_notices(self) -> bool {
        match self {
            Protocol::Line | Protocol::Irc => true,
            Protocol::Raw => false,
        }
    }

    /// Can be sent history (on joining a room, `/history`, `/search`) and
    /// negotiate capabilities (`/cap`): it needs lines that say what they
    /// are, which raw chunks do not.
    pub fn reads_history(self) -> bool {
        match self {
            Protocol::Line => true,
            // An IRC client reads history through its own requests, never
            // pushed on a join in a shape it cannot tell from live lines.
            Protocol::Raw | Protocol::Irc => false,
        }
    }

    /// Registers (`NICK`, `USER`, `CAP`, `PASS`) before it is a client; a
    /// connection of the others is a client at once (after `/pass` where
    /// the server has a password).
    pub fn registers(self) -> bool {
        self == Protocol::Irc
    }

    /// Is put in the default room on arrival, and greeted with a welcome
    /// notice. An IRC client gets its own welcome (001–005, the MOTD) and
    /// joins the channels it wants.
    pub fn starts_in_default_room(self) -> bool {
        self != Protocol::Irc
    }

    /// The longest message a client may send: `max_line_bytes`, or IRC's
    /// own limit (512 bytes, and 8191 more of tags).
    pub fn max_message_bytes(self, max_line_bytes: usize) -> usize {
        match self {
            Protocol::Line | Protocol::Raw => max_line_bytes,
            Protocol::Irc => chat_irc::MAX_LINE_BYTES + chat_irc::MAX_TAGS_BYTES,
        }
    }

    /// Sees a line it sent itself, in its room or to a nick, only when its
    /// client asked (IRC's `echo-message`); the line protocol never does.
    pub fn echoes(self, caps: chat_irc::Caps) -> bool {
        self == Protocol::Irc && caps.contains(chat_irc::Cap::EchoMessage)
    }
}
