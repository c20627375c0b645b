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
}

impl Protocol {
    /// Every framing with its name in server.toml and on the command line,
    /// and what it means.
    pub const NAMES: [(&'static str, Protocol, &'static str); 2] = [
        ("line", Protocol::Line, "UTF-8 lines ending in LF"),
        (
            "raw",
            Protocol::Raw,
            "One read is one message; replies are `[ctime]text` with no newline",
        ),
    ];

    /// The name server.toml uses.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Line => "line",
            Protocol::Raw => "raw",
        }
    }
}

impl Protocol {
    /// Gets the server's notices unasked (a welcome, joins, leaves,
    /// topics). The tutorial's raw clients get only room lines and the
    /// answers to what they send.
    pub fn hears_notices(self) -> bool {
        match self {
            Protocol::Line => true,
            Protocol::Raw => false,
        }
    }

    /// Can be sent history (on joining a room, `/history`, `/search`) and
    /// negotiate capabilities (`/cap`): it needs lines that say what they
    /// are, which raw chunks do not.
    pub fn reads_history(self) -> bool {
        match self {
            Protocol::Line => true,
            Protocol::Raw => false,
        }
    }
}
