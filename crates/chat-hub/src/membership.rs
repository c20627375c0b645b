//! Membership: who is here, under which nick, in which room.
//!
//! Owns the clients, the nick index and the rooms, and keeps them agreeing:
//! a nick names at most one client, or the connections of one account
//! (its devices, which share it: [`Membership::share_nick`]), a client is a member of exactly the
//! rooms its [`Seats`] list, and a member's seat index is right after any
//! leave (rooms swap-remove).
//! It sends nothing: the hub announces what changed.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use chat_proto::nick_key;

use crate::chat::SaidLine;
use crate::clients::{Client, Clients};
use crate::rooms::{Room, RoomId, Rooms};
use crate::seats::Seats;
use crate::{ClientId, HubConfig};

#[derive(Debug)]
pub(crate) struct Membership {
    clients: Clients,
    /// Nick keys (lowercase) to their holders: one client, or the devices
    /// of one account, the first to take it first.
    nicks: HashMap<String, Vec<ClientId>>,
    rooms: Rooms,
    next_guest: u64,
}

impl Membership {
    pub(crate) fn new(history_keep: usize, history_budget: usize) -> Membership {
        Membership {
            clients: Clients::default(),
            nicks: HashMap::new(),
            rooms: Rooms::new(history_keep, history_budget),
            next_guest: 1,
        }
    }

    pub(crate) fn clients(&self) -> &Clients {
        &self.clients
    }

    pub(crate) fn client(&self, id: ClientId) -> Option<&Client> {
        self.clients.get(id)
    }

    pub(crate) fn client_mut(&mut self, id: ClientId) -> Option<&mut Client> {
        self.clients.get_mut(id)
    }

    pub(crate) fn len(&self) -> usize {
        self.clients.len()
    }

    pub(crate) fn nick(&self, id: ClientId) -> Option<&str> {
        self.clients.get(id).map(|client| client.nick.as_str())
    }

    /// The client holding `nick` (any case): the first, where several
    /// devices of an account share it.
    pub(crate) fn owner(&self, nick: &str) -> Option<ClientId> {
        crate::keys::lowered(nick, |key| {
            self.nicks
                .get(key)
                .and_then(|holders| holders.first().copied())
        })
    }

    /// Every client holding `nick` (any case): one, or an account's devices.
    pub(crate) fn holders(&self, nick: &str) -> Vec<ClientId> {
        crate::keys::lowered(nick, |key| self.nicks.get(key).cloned()).unwrap_or_default()
    }

    /// Is another client with `id`'s nick (a device of its account) in
    /// `room`? Then `id` coming or going changes nothing the room sees.
    pub(crate) fn shares_room(&self, id: ClientId, room: RoomId) -> bool {
        let Some(client) = self.clients.get(id) else {
            return false;
        };
        let holders = crate::keys::lowered(&client.nick, |key| self.nicks.get(key).cloned());
        holders.into_iter().flatten().any(|other| {
            other != id
                && self
                    .clients
                    .get(other)
                    .is_some_and(|other| other.seats.contains(room))
        })
    }

    pub(crate) fn rooms(&self) -> &Rooms {
        &self.rooms
    }

    pub(crate) fn room(&self, room: RoomId) -> &Room {
        self.rooms.get(room)
    }

    pub(crate) fn room_mut(&mut self, room: RoomId) -> &mut Room {
        self.rooms.get_mut(room)
    }

    /// Stores `said` in `room`'s history.
    pub(crate) fn record(&mut self, room: RoomId, said: &SaidLine<'_>) {
        self.rooms.store_history(room, said);
    }

    /// The room `id`'s plain lines go to, if it is in any.
    pub(crate) fn current_room(&self, id: ClientId) -> Option<RoomId> {
        self.clients.get(id)?.seats.current()
    }

    /// The room called `name` (any case, with or without `#`), if `id` is
    /// in it.
    pub(crate) fn joined_room(&self, id: ClientId, name: &str) -> Option<RoomId> {
        let room = self.rooms.find(name)?;
        let seats = &self.clients.get(id)?.seats;
        seats.contains(room).then_some(room)
    }

    /// The rooms `id` is in, in the order it joined them.
    pub(crate) fn rooms_of(&self, id: ClientId) -> Vec<RoomId> {
        let seats = self.clients.get(id).map(|client| &client.seats);
        seats
            .map(|seats| seats.rooms().collect())
            .unwrap_or_default()
    }

    /// The name of each room `id` is in, in the order it joined them.
    pub(crate) fn room_names_of(&self, id: ClientId) -> Vec<String> {
        let rooms = self.rooms_of(id).into_iter();
        rooms.map(|room| self.room(room).name.clone()).collect()
    }

    /// A guest nick nobody holds: `guestN`, with `tag` (a cluster node's)
    /// appended, never the operator's. Only the server gives these out
    /// ([`reserved`]).
    pub(crate) fn guest_nick(&mut self, config: &HubConfig, tag: &str) -> String {
        let reserved = nick_key(&config.operator_name);
        loop {
            let nick = format!("guest{}{tag}", self.next_guest);
            self.next_guest += 1;
            if !self.nicks.contains_key(&nick) && nick_key(&nick) != reserved {
                return nick;
            }
        }
    }

    /// A new client called `nick` enters `room` (or none); `client` makes
    /// its record from its seats.
    pub(crate) fn enter(
        &mut self,
        id: ClientId,
        nick: String,
        room: Option<&str>,
        client: impl FnOnce(String, Seats) -> Client,
    ) -> Option<RoomId> {
        self.nicks.insert(nick_key(&nick), vec![id]);
        let Some(room) = room else {
            self.clients.insert(id, client(nick, Seats::default()));
            return None;
        };
        let room = self.rooms.find_or_create(room);
        let seat = self.rooms.join(room, id);
        self.clients.insert(id, client(nick, Seats::one(seat)));
        Some(room)
    }

    /// Takes `id` out of `room`, which is removed if it is now empty and
    /// not `default_room`. Returns the room if it still exists; `None` also
    /// when `id` was not in it.
    pub(crate) fn leave_room(
        &mut self,
        id: ClientId,
        room: RoomId,
        default_room: &str,
    ) -> Option<RoomId> {
        let seat = self.clients.get_mut(id)?.seats.remove(room)?;
        if let Some(moved) = self.rooms.leave(seat, default_room)
            && let Some(moved) = self.clients.get_mut(moved)
        {
            moved.seats.moved(seat.room, seat.index);
        }
        self.rooms.get_live(seat.room).map(|_| seat.room)
    }

    /// Seats `id` in `room` (created if need be), which becomes its current
    /// room. It must not be in it already.
    pub(crate) fn join_room(&mut self, id: ClientId, room: &str) -> RoomId {
        let room = self.rooms.find_or_create(room);
        let seat = self.rooms.join(room, id);
        if let Some(client) = self.clients.get_mut(id) {
            client.seats.add(seat);
        }
        room
    }

    /// Makes `room`, one of `id`'s rooms, its current one.
    pub(crate) fn set_current(&mut self, id: ClientId, room: RoomId) {
        if let Some(client) = self.clients.get_mut(id) {
            client.seats.set_current(room);
        }
    }

    /// Gives `id` the nick `nick`, which nobody else holds. Returns the
    /// old one.
    pub(crate) fn rename(&mut self, id: ClientId, nick: &str) -> Option<String> {
        let client = self.clients.get_mut(id)?;
        let old = std::mem::replace(&mut client.nick, nick.to_owned());
        self.release(id, &old);
        self.nicks.insert(nick_key(nick), vec![id]);
        Some(old)
    }

    /// Gives `id` the nick `nick` beside those who hold it (the other
    /// devices of its account). Returns the old one.
    pub(crate) fn share_nick(&mut self, id: ClientId, nick: &str) -> Option<String> {
        let client = self.clients.get_mut(id)?;
        let old = std::mem::replace(&mut client.nick, nick.to_owned());
        self.release(id, &old);
        self.nicks.entry(nick_key(nick)).or_default().push(id);
        Some(old)
    }

    /// `id` no longer holds `nick`: freed if nobody else does.
    fn release(&mut self, id: ClientId, nick: &str) {
        let key = nick_key(nick);
        if let Some(holders) = self.nicks.get_mut(&key) {
            holders.retain(|&holder| holder != id);
            if holders.is_empty() {
                self.nicks.remove(&key);
            }
        }
    }

    /// Removes `id` and frees its nick (if no other device holds it); it
    /// must have left its rooms.
    pub(crate) fn remove(&mut self, id: ClientId) -> Option<Client> {
        let client = self.clients.remove(id)?;
        self.release(id, &client.nick);
        Some(client)
    }

    /// The clients `covers` says yes to, by address.
    pub(crate) fn at_addresses(&self, covers: impl Fn(IpAddr) -> bool) -> Vec<ClientId> {
        self.clients
            .iter()
            .filter(|(_, client)| covers(client.peer.ip()))
            .map(|(id, _)| id)
            .collect()
    }

    /// Every client with its nick, current room (empty: none) and
    /// address, for the console.
    pub(crate) fn list(&self) -> impl Iterator<Item = (&str, &str, SocketAddr)> {
        self.clients.iter().map(|(_, client)| {
            let room = client
                .seats
                .current()
                .map(|room| self.room(room).name.as_str());
            (client.nick.as_str(), room.unwrap_or_default(), client.peer)
        })
    }

    /// Every client's nick and the names of its rooms, for the cluster's
    /// member snapshot.
    pub(crate) fn snapshot(&self) -> Vec<(String, Vec<String>)> {
        self.clients
            .iter()
            .map(|(id, client)| (client.nick.clone(), self.room_names_of(id)))
            .collect()
    }
}

/// The account service's nick (IRC clients `/msg NickServ IDENTIFY …`):
/// never a client's.
pub(crate) const NICKSERV: &str = "NickServ";

/// Why no client may take `nick` with `/nick`, as the end of `nick N is
/// reserved…`: the operator's name, and the guest nicks, which only the
/// server gives out (`guestN`, `guestN-TAG`, any case), so that no client
/// can squat the one a newcomer on another node is about to get; and the
/// account service's.
pub(crate) fn reserved(config: &HubConfig, nick: &str) -> Option<&'static str> {
    if nick_key(nick) == nick_key(&config.operator_name) {
        return Some("");
    }
    let key = nick_key(nick);
    if key == nick_key(NICKSERV) {
        return Some(" for the account service");
    }
    let number = key.strip_prefix("guest")?;
    let rest = number.trim_start_matches(|c: char| c.is_ascii_digit());
    let guest = rest.len() < number.len() && (rest.is_empty() || rest.starts_with('-'));
    guest.then_some(" for guests: the server gives them to newcomers")
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::Protocol;
    use crate::flood::FloodState;

    fn enter(members: &mut Membership, id: usize, nick: &str, room: &str) -> RoomId {
        let config = HubConfig::default();
        let room = members.enter(ClientId(id), nick.to_owned(), Some(room), |nick, seats| {
            Client {
                nick,
                seats,
                peer: SocketAddr::from(([127, 0, 0, 1], 1000 + id as u16)),
                protocol: Protocol::Line,
                flood: FloodState::new(&config, false, 0),
                connected_at: 0,
                last_active: 0,
                spoke: false,
                ids: false,
                caps: chat_irc::Caps::EMPTY,
                realname: None,
                account: None,
            }
        });
        room.unwrap_or_else(|| panic!("{nick} entered no room"))
    }

    #[test]
    fn seats_stay_right_when_a_member_in_the_middle_leaves() {
        let mut members = Membership::new(0, 0);
        let lobby = enter(&mut members, 1, "a", "lobby");
        enter(&mut members, 2, "b", "lobby");
        enter(&mut members, 3, "c", "lobby");
        assert_eq!(members.leave_room(ClientId(1), lobby, "lobby"), Some(lobby));
        assert_eq!(members.room(lobby).members, [ClientId(3), ClientId(2)]);
        let seat = members
            .client(ClientId(3))
            .and_then(|c| c.seats.seat_in(lobby));
        assert_eq!(
            seat.map(|seat| seat.index),
            Some(0),
            "moved into the freed seat"
        );
    }

    #[test]
    fn an_emptied_room_goes_but_the_default_room_stays() {
        let mut members = Membership::new(0, 0);
        let lobby = enter(&mut members, 1, "a", "lobby");
        let side = enter(&mut members, 2, "b", "side");
        assert_eq!(members.leave_room(ClientId(2), side, "lobby"), None);
        assert!(members.rooms().find("side").is_none());
        assert!(members.leave_room(ClientId(1), lobby, "lobby").is_some());
        assert!(members.rooms().find("lobby").is_some());
    }

    #[test]
    fn nicks_are_unique_in_any_case_and_freed_on_rename_and_removal() {
        let mut members = Membership::new(0, 0);
        let lobby = enter(&mut members, 1, "Alice", "lobby");
        assert_eq!(members.owner("ALICE"), Some(ClientId(1)));
        assert_eq!(members.rename(ClientId(1), "bob").as_deref(), Some("Alice"));
        assert_eq!(members.owner("alice"), None);
        members.leave_room(ClientId(1), lobby, "lobby");
        assert!(members.remove(ClientId(1)).is_some());
        assert_eq!(members.owner("bob"), None);
        assert_eq!(members.len(), 0);
    }

    #[test]
    fn a_client_in_several_rooms_keeps_each_seat_and_falls_back_to_the_room_joined_last() {
        let mut members = Membership::new(0, 0);
        let lobby = enter(&mut members, 1, "a", "lobby");
        enter(&mut members, 2, "b", "lobby");
        let dev = members.join_room(ClientId(2), "dev");
        let ops = members.join_room(ClientId(2), "ops");
        assert_eq!(members.rooms_of(ClientId(2)), [lobby, dev, ops]);
        assert_eq!(members.current_room(ClientId(2)), Some(ops));
        members.set_current(ClientId(2), lobby);
        // Leaving a room that is not the current one keeps the current one.
        members.leave_room(ClientId(2), dev, "lobby");
        assert_eq!(members.current_room(ClientId(2)), Some(lobby));
        // Leaving the current one falls back to the room joined last.
        members.leave_room(ClientId(2), lobby, "lobby");
        assert_eq!(members.current_room(ClientId(2)), Some(ops));
        assert_eq!(members.room(lobby).members, [ClientId(1)]);
        let seat = members
            .client(ClientId(1))
            .and_then(|c| c.seats.seat_in(lobby));
        assert_eq!(seat.map(|seat| seat.index), Some(0));
        members.leave_room(ClientId(2), ops, "lobby");
        assert_eq!(members.current_room(ClientId(2)), None);
        let snapshot = members.snapshot();
        assert!(snapshot.contains(&("a".to_owned(), vec!["lobby".to_owned()])));
        assert!(snapshot.contains(&("b".to_owned(), Vec::new())));
    }

    #[test]
    fn guest_nicks_skip_taken_ones_and_the_operator() {
        let mut members = Membership::new(0, 0);
        enter(&mut members, 1, "guest1", "lobby");
        let config = HubConfig {
            operator_name: "guest2".into(),
            ..HubConfig::default()
        };
        assert_eq!(members.guest_nick(&config, ""), "guest3");
        assert_eq!(members.guest_nick(&config, "-ab"), "guest4-ab");
    }

    #[test]
    fn guest_nicks_and_the_operator_are_reserved() {
        let config = HubConfig::default();
        for nick in ["guest1", "GUEST12", "guest2-7arh", "Guest3-x_y", "operator"] {
            assert!(reserved(&config, nick).is_some(), "{nick}");
        }
        for nick in [
            "guest", "guests", "guest-1", "guest1x", "guest_1", "myguest1", "alice",
        ] {
            assert_eq!(reserved(&config, nick), None, "{nick}");
        }
    }
}
