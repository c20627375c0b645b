//! The three servers' wire dialects: what a client says first, how a
//! message is framed, and what makes a client ready.
//!
//! chat-server speaks two of them: its line protocol (on TCP, TLS and
//! WebSocket) and IRC, where a client registers under a nick of its own
//! and joins `#lobby` before it is ready.

use std::io;

use crate::loadgen::{PAYLOAD_LEN, Role, irc, web};

/// Which server a client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// chat-server's line protocol: everyone starts in `lobby`, a line reaches
    /// everyone else in the room. Ready when the welcome arrives.
    Ours,
    /// `ncat --chat`: every line to every other client, prefixed `<userN> `.
    /// Ready when its `<announce>` lines arrive.
    Ncat,
    /// Redis pub/sub: receivers `SUBSCRIBE lobby`, senders `PUBLISH lobby`.
    /// Ready when the reply to the first command arrives.
    Redis,
    /// chat-server's line protocol over TLS (its TLS listener).
    OursTls,
    /// chat-server's line protocol on two cluster nodes sharing a Redis:
    /// senders on node A, receivers alternating between A and B.
    OursCluster,
    /// chat-server with its history in memory only (`history_store =
    /// "memory"`): the store off, as in every workload but the store's.
    OursMemory,
    /// chat-server with the default SQLite store (`history_store =
    /// "sqlite"`, `history_sync = "batch"`): its defaults, with only the
    /// settings every chat-server of the bench gets, in the headline
    /// fan-out sweeps and the store's workloads.
    OursSqlite,
    /// chat-server committing each line before anyone gets it
    /// (`history_sync = "always"`).
    OursAlways,
    /// chat-server's line protocol over WebSocket (its web listener): one
    /// masked text frame per line sent, one text frame per line received.
    OursWeb,
    /// chat-server's IRC listener: each client registers (`NICK`, `USER`)
    /// under a nick of its own and joins `#lobby`; a message is
    /// `PRIVMSG #lobby :PAYLOAD`. Ready when the `366` ending the join's
    /// names arrives.
    OursIrc,
}

/// Ours and the peers it is compared with, ours first (the TLS and
/// cluster variants of ours are not peers).
pub const ALL: [Dialect; 3] = [Dialect::Ours, Dialect::Redis, Dialect::Ncat];

impl Dialect {
    /// Short key used in JSON and on the command line.
    pub fn key(self) -> &'static str {
        match self {
            Dialect::Ours => "chat-server",
            Dialect::Ncat => "ncat",
            Dialect::Redis => "redis",
            Dialect::OursTls => "chat-server-tls",
            Dialect::OursCluster => "chat-server-2-nodes",
            Dialect::OursMemory => "chat-server-memory",
            Dialect::OursSqlite => "chat-server-sqlite",
            Dialect::OursAlways => "chat-server-always",
            Dialect::OursWeb => "chat-server-web",
            Dialect::OursIrc => "chat-server-irc",
        }
    }

    /// What a new client sends first, into `out` (cleared first); `serial`
    /// is the client's number, unique in the generator's life, which an
    /// IRC client's nick is made of.
    pub fn hello(self, role: Role, serial: u64, out: &mut Vec<u8>) {
        out.clear();
        match (self, role) {
            (Dialect::Redis, Role::Sender) => out.extend_from_slice(b"PING\r\n"),
            (Dialect::Redis, _) => {
                out.extend_from_slice(b"*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nlobby\r\n");
            }
            (Dialect::OursWeb, _) => out.extend_from_slice(web::UPGRADE),
            (Dialect::OursIrc, _) => irc::hello(serial, out),
            _ => {}
        }
    }

    /// Whether a client speaks IRC: ready only once it has joined (see
    /// [`hello`](Self::hello)), not at the first bytes it receives.
    pub fn irc(self) -> bool {
        self == Dialect::OursIrc
    }

    /// Whether a client speaks WebSocket (after the upgrade in [`hello`](Self::hello)).
    pub fn web(self) -> bool {
        self == Dialect::OursWeb
    }

    /// Writes one message carrying `payload` into `wire` (cleared first),
    /// framed as this server takes it. The generator does this once per
    /// pacing step and copies the bytes to each sender's queue.
    pub fn message(self, payload: &[u8; PAYLOAD_LEN], wire: &mut Vec<u8>) -> io::Result<()> {
        wire.clear();
        match self {
            Dialect::Redis => {
                // `$64`: the payload's length, PAYLOAD_LEN.
                wire.extend_from_slice(b"*3\r\n$7\r\nPUBLISH\r\n$5\r\nlobby\r\n$64\r\n");
                wire.extend_from_slice(payload);
                wire.extend_from_slice(b"\r\n");
            }
            Dialect::OursWeb => web::text_frame(payload, wire)?,
            Dialect::OursIrc => {
                wire.extend_from_slice(irc::PRIVMSG);
                wire.extend_from_slice(payload);
                wire.extend_from_slice(b"\r\n");
            }
            _ => {
                wire.extend_from_slice(payload);
                wire.push(b'\n');
            }
        }
        Ok(())
    }

    /// Clients waiting for their greeting at once while connecting many:
    /// ncat listens with a backlog of 10, and a longer queue only earns SYN
    /// retransmits a second long.
    pub fn connect_burst(self) -> usize {
        match self {
            Dialect::Ncat => 8,
            _ => 256,
        }
    }

    /// Most clients the server takes (ncat's select() stops at 1,027).
    pub fn max_clients(self) -> usize {
        match self {
            Dialect::Ncat => 1020,
            _ => 19_500,
        }
    }
}
