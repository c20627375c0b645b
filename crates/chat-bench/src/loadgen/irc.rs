//! An IRC client of the generator: what it says first (it registers under
//! a nick of its own and joins `#lobby`, all in one write), how its
//! messages are framed, and its wait for the end of its join, after which
//! it is ready and its bytes are scanned for markers like any other
//! client's.
//!
//! A room line reaches an IRC receiver as `:NICK!NICK@HOST PRIVMSG #lobby
//! :PAYLOAD`, the payload (marker first) whole in the trailing parameter:
//! nothing else the server writes holds a `~`, so the scanner of
//! `marker.rs` finds the markers as it does in the line protocol.

use std::io::Write as _;

/// What a message is written behind: the payload is the trailing parameter.
pub const PRIVMSG: &[u8] = b"PRIVMSG #lobby :";

/// The channel every client joins: the room `lobby`, where the line
/// protocol's clients start.
const JOIN: &[u8] = b"JOIN #lobby\r\n";

/// Bytes of a line's start kept while waiting: enough for tags such as
/// server-time, the server's name and the command.
const HEAD: usize = 128;

/// Registration and the join, for the client numbered `serial`, into `out`.
pub fn hello(serial: u64, out: &mut Vec<u8>) {
    // Writing into a Vec cannot fail.
    let _ = write!(out, "NICK b{serial}\r\nUSER b{serial} 0 * :bench\r\n");
    out.extend_from_slice(JOIN);
}

/// A client waiting for the `366` (end of names) that follows its
/// `JOIN`: the welcome burst (001–376), its own JOIN and the 353 lines
/// come first, in whatever pieces the reads cut them.
#[derive(Debug, Clone)]
pub struct Joining {
    /// The start of the line being read (at most [`HEAD`] bytes of it).
    head: [u8; HEAD],
    len: usize,
}

impl Default for Joining {
    fn default() -> Self {
        Joining {
            head: [0; HEAD],
            len: 0,
        }
    }
}

impl Joining {
    /// Reads `bytes`; `Some(n)` when the join ended within them, `n` being
    /// the bytes up to and including that line's LF (the rest is the
    /// ready client's), `None` when it still waits.
    pub fn read(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut at = 0;
        while let Some(lf) = memchr::memchr(b'\n', &bytes[at..]) {
            self.keep(&bytes[at..at + lf]);
            at += lf + 1;
            let ended = self.ends_join();
            self.len = 0;
            if ended {
                return Some(at);
            }
        }
        self.keep(&bytes[at..]);
        None
    }

    fn keep(&mut self, piece: &[u8]) {
        let n = piece.len().min(HEAD - self.len);
        self.head[self.len..self.len + n].copy_from_slice(&piece[..n]);
        self.len += n;
    }

    /// Whether the line read is a `366`: its command, after any tags and
    /// the source.
    fn ends_join(&self) -> bool {
        let mut words = self.head[..self.len]
            .split(|&b| b == b' ')
            .filter(|w| !w.is_empty());
        let mut word = words.next();
        if word.is_some_and(|w| w.starts_with(b"@")) {
            word = words.next();
        }
        if word.is_some_and(|w| w.starts_with(b":")) {
            word = words.next();
        }
        word == Some(b"366")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BURST: &[u8] = b":chat.local 001 b7 :Welcome to the chat.local IRC network, b7\r\n\
:chat.local 251 b7 :There are 366 users and 0 invisible on 1 servers\r\n\
:chat.local 376 b7 :End of /MOTD command.\r\n\
:b7!b7@chat.local JOIN #lobby\r\n\
:chat.local 353 b7 = #lobby :b1 b2 b7\r\n\
@time=2026-11-03T08:05:09.123Z :chat.local 366 b7 #lobby :End of /NAMES list.\r\n\
:b1!b1@chat.local PRIVMSG #lobby :~0000000000000001;xx\r\n";

    #[test]
    fn hello_registers_and_joins() {
        let mut out = Vec::new();
        hello(42, &mut out);
        assert_eq!(
            out,
            b"NICK b42\r\nUSER b42 0 * :bench\r\nJOIN #lobby\r\n".to_vec()
        );
    }

    /// The join ends at the 366 line wherever the reads cut the burst, and
    /// nothing else (a 366 in a line's text) ends it.
    #[test]
    fn the_join_ends_at_its_366_at_every_cut() {
        let end = BURST
            .windows(6)
            .position(|w| w == b"list.\r")
            .map(|p| p + 7)
            .unwrap_or_else(|| panic!("no 366 line"));
        for cut in 0..=BURST.len() {
            let mut j = Joining::default();
            let (a, b) = BURST.split_at(cut);
            let got = match j.read(a) {
                Some(n) => n,
                None => cut + j.read(b).unwrap_or_else(|| panic!("not ended, cut {cut}")),
            };
            assert_eq!(got, end, "cut at {cut}");
        }
        let mut j = Joining::default();
        assert_eq!(j.read(&BURST[..end - 1]), None);
    }
}
