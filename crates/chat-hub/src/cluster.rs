//! The messages between the hub and its Redis bridge: what the hub asks
//! ([`ClusterRequest`]) and what it is told ([`ClusterEvent`]). What the hub
//! keeps and does about them is `crate::node`.
//!
//! Several servers behave as one chat through Redis. The hub never talks to
//! Redis: it asks for things with [`Outbox::cluster`](crate::Outbox::cluster) and is told what
//! happened with [`Hub::cluster_event`](crate::Hub::cluster_event). The
//! server carries both across a bounded channel to its Redis bridge, which
//! does the talking. A request the channel cannot take is dropped and
//! counted; whatever needed an answer then falls back to what this node
//! knows (local members, local history).

use crate::{ClientId, IpNet, LineId, Now, StreamId};

/// This node in a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    /// The node's name, unique in the cluster.
    pub node: String,
    /// Seconds between two snapshots of the local members (which renew the
    /// nick leases and the member list in Redis).
    pub sync_seconds: i64,
}

/// A line said in a room, or a notice about the room, as it crosses the
/// cluster: notices travel with the lines, so they keep their order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomLine {
    /// The node it was said on.
    pub origin: String,
    pub room: String,
    /// Who said it, or whom the notice is about.
    pub nick: String,
    /// What was said; for notices see [`RoomEvent`].
    pub text: String,
    pub kind: RoomEvent,
    /// When it was said (its stamp everywhere).
    pub time: Now,
    /// Its node's sequence number, which tells a line written again after a
    /// Redis failover from the first copy (0: not numbered yet; the bridge
    /// numbers a node's lines as it writes them).
    pub seq: u64,
}

/// What a [`RoomLine`] is: a line said (`Message`, `Action`) or a notice
/// about the room (the rest, travelling with the lines to keep their
/// order); and what its `text` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomEvent {
    /// A line said: `text`.
    Message,
    /// `/me`: `text`.
    Action,
    /// `nick` joined the room (`text` empty).
    Joined,
    /// `nick` left the room; `text`: why (empty: it parted).
    Left,
    /// `nick` is now known as `text`.
    Nick,
    /// `nick` set the room's topic to `text`.
    Topic,
}

impl RoomEvent {
    /// A line said (kept in history), not a notice.
    pub fn is_said(self) -> bool {
        matches!(self, RoomEvent::Message | RoomEvent::Action)
    }
}

/// What the hub asks of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterRequest {
    /// Tell the other nodes, and keep it in the room's shared stream.
    Publish(RoomLine),
    /// The lines of `room`'s stream from `after`'s entry on (at most a
    /// page of entries); answered by [`ClusterEvent::CaughtUp`] with
    /// `token`.
    CatchUp {
        room: String,
        after: LineId,
        token: u64,
    },
    /// Claim `nick` for this node; answered by [`ClusterEvent::Claimed`].
    Claim { client: ClientId, nick: String },
    /// This node no longer uses `nick`.
    Release { nick: String },
    /// `nick` is now in `rooms` (and no other).
    Member { nick: String, rooms: Vec<String> },
    /// Every local member and its rooms: renews the leases, repairs
    /// anything a dropped request left behind. Sent every `sync_seconds`.
    Sync { members: Vec<(String, Vec<String>)> },
    /// A private message for a nick not on this node; answered by
    /// [`ClusterEvent::PrivateSent`].
    Private {
        client: ClientId,
        from: String,
        to: String,
        text: String,
        time: Now,
    },
    /// The room's last `count` lines; answered by [`ClusterEvent::History`].
    History {
        client: ClientId,
        token: u64,
        room: String,
        count: usize,
    },
    /// Members of `room` on the other nodes; answered by [`ClusterEvent::Members`].
    Who { client: ClientId, room: String },
    /// Rooms on the other nodes; answered by [`ClusterEvent::Rooms`].
    Rooms { client: ClientId },
    /// A ban made here, for the whole cluster: kept in Redis until `until`
    /// (Unix seconds) and told to every node.
    Ban { net: IpNet, until: i64, by: String },
    /// The bans on exactly `net`, lifted here, lifted everywhere.
    Unban { net: IpNet },
    /// `/kick` of a nick held by another node (`asker`: the operator's
    /// client, or `None` for the console); answered by
    /// [`ClusterEvent::KickSent`].
    Kick {
        asker: Option<ClientId>,
        nick: String,
        by: String,
        reason: Option<String>,
    },
}

/// The answer to a [`ClusterRequest::Claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimResult {
    Claimed,
    /// Another node holds it.
    Taken,
    /// Redis cannot be asked right now.
    Unavailable,
}

/// What the cluster tells the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterEvent {
    /// A line said on another node, heard live; `id`: its stream entry and
    /// its place in it.
    Line { id: LineId, line: RoomLine },
    /// The subscriber subscribed (again); `at`: Redis's clock then. What
    /// was said while it was not subscribed is read back
    /// ([`ClusterRequest::CatchUp`]).
    Subscribed { at: StreamId },
    /// The answer to a [`ClusterRequest::CatchUp`]: the entries' lines,
    /// oldest first (`None`: Redis could not be read); `more`: the page was
    /// full.
    CaughtUp {
        room: String,
        token: u64,
        entries: Option<Vec<(LineId, RoomLine)>>,
        more: bool,
    },
    /// A private message from another node for a local nick.
    Private {
        from: String,
        to: String,
        text: String,
        time: Now,
    },
    /// What became of a [`ClusterRequest::Private`]: `error` is `None` when
    /// it was delivered to the node holding the nick.
    PrivateSent {
        client: ClientId,
        from: String,
        to: String,
        text: String,
        error: Option<String>,
    },
    Claimed {
        client: ClientId,
        nick: String,
        result: ClaimResult,
    },
    /// A room's shared history, oldest first; `None`: not available.
    History {
        client: ClientId,
        token: u64,
        lines: Option<Vec<RoomLine>>,
    },
    /// Members of `room` on the other nodes; `None`: not available.
    Members {
        client: ClientId,
        room: String,
        nicks: Option<Vec<String>>,
    },
    /// Rooms and member counts on the other nodes; `None`: not available.
    Rooms {
        client: ClientId,
        rooms: Option<Vec<(String, usize)>>,
    },
    /// The link to Redis changed (for the log and `/stats`).
    Status { connected: bool, text: String },
    /// Another node holds `nick` now (its lease lapsed, e.g. during an
    /// outage): the local holder becomes a guest.
    NickLost { nick: String },
    /// A ban made on another node, or in force when this node connected.
    Banned { net: IpNet, until: i64, by: String },
    /// A ban lifted on another node.
    Unbanned { net: IpNet },
    /// Another node's operator kicks the local `nick`.
    Kick {
        nick: String,
        by: String,
        reason: Option<String>,
    },
    /// What became of a [`ClusterRequest::Kick`]: `error` is `None` when
    /// the node holding the nick was told.
    KickSent {
        asker: Option<ClientId>,
        nick: String,
        error: Option<String>,
    },
}

/// A short tag from the node's name, for guest nicks unique in the cluster.
pub(crate) fn node_tag(node: &str) -> String {
    // FNV-1a: stable across builds and platforms, unlike the std hasher.
    let hash = node.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let alphabet = b"abcdefghijkmnpqrstuvwxyz23456789";
    (0..4)
        .map(|i| char::from(alphabet[((hash >> (i * 5)) & 31) as usize]))
        .collect()
}

pub(crate) fn release(nick: &str) -> ClusterRequest {
    ClusterRequest::Release {
        nick: nick.to_owned(),
    }
}

/// `time` in the offset of `now`: stamps are in this server's local time.
pub(crate) fn local_time(time: Now, now: Now) -> Now {
    time.with_timezone(now.offset())
}
