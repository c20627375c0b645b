//! The connected clients, indexed by their id: one record per client, whose
//! fields belong to the state machines that use them (its seats to
//! membership, its bucket to flood control, …).

use std::net::SocketAddr;

use crate::{ClientId, Protocol, flood::FloodState, seats::Seats};

/// A connection as it arrives: from where, and the protocol of the
/// listener it came in on (decided once, for the connection's life).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    pub peer: SocketAddr,
    pub protocol: Protocol,
}

#[derive(Debug)]
pub(crate) struct Client {
    pub(crate) nick: String,
    /// The rooms it is in, and the one it talks in.
    pub(crate) seats: Seats,
    pub(crate) peer: SocketAddr,
    pub(crate) protocol: Protocol,
    pub(crate) flood: FloodState,
    /// Unix seconds.
    pub(crate) connected_at: i64,
    /// Unix seconds of the last line received.
    pub(crate) last_active: i64,
    /// Has sent at least one line.
    pub(crate) spoke: bool,
    /// Asked for message ids (`/cap ids`): room lines carry `#ID`.
    pub(crate) ids: bool,
    /// The IRC capabilities it enabled (none for the other protocols).
    pub(crate) caps: chat_irc::Caps,
    /// The real name an IRC client gave (`USER`, `SETNAME`); `None` for
    /// the other protocols.
    pub(crate) realname: Option<String>,
    /// The account it is logged in to, as the account spells it: a copy
    /// of what `Accounts` decides (which sets and clears it through the
    /// hub), kept here because IRC lines are encoded with it
    /// (`account-tag`, `extended-join`).
    pub(crate) account: Option<String>,
}

/// Clients by id. Ids are the reactor's connection numbers, which are small
/// and reused, so a vector indexed by id is the whole map.
#[derive(Debug, Default)]
pub(crate) struct Clients {
    slots: Vec<Option<Client>>,
    len: usize,
}

impl Clients {
    pub(crate) fn get(&self, id: ClientId) -> Option<&Client> {
        self.slots.get(id.0).and_then(Option::as_ref)
    }

    pub(crate) fn get_mut(&mut self, id: ClientId) -> Option<&mut Client> {
        self.slots.get_mut(id.0).and_then(Option::as_mut)
    }

    pub(crate) fn insert(&mut self, id: ClientId, client: Client) {
        if self.slots.len() <= id.0 {
            self.slots.resize_with(id.0 + 1, || None);
        }
        if self.slots[id.0].replace(client).is_none() {
            self.len += 1;
        }
    }

    pub(crate) fn remove(&mut self, id: ClientId) -> Option<Client> {
        let client = self.slots.get_mut(id.0)?.take()?;
        self.len -= 1;
        Some(client)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (ClientId, &Client)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Some((ClientId(i), c.as_ref()?)))
    }

    pub(crate) fn ids(&self) -> Vec<ClientId> {
        self.iter().map(|(id, _)| id).collect()
    }
}
