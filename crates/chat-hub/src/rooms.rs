//! Rooms and their members, with O(1) joins and leaves however big a room is.

use std::collections::HashMap;

use chat_proto::room_key;
use slab::Slab;

use crate::{ClientId, history::Ring};

/// Index of a room in [`Rooms`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RoomId(usize);

#[derive(Debug)]
pub(crate) struct Room {
    pub(crate) name: String,
    /// Unordered; a member's index is kept by the caller so leaving is a
    /// `swap_remove`, not a search.
    pub(crate) members: Vec<ClientId>,
    /// Empty: no topic.
    pub(crate) topic: String,
    /// The room's last lines, encoded as history lines.
    pub(crate) history: Ring,
}

#[derive(Debug, Default)]
pub(crate) struct Rooms {
    rooms: Slab<Room>,
    by_key: HashMap<String, RoomId>,
    /// Lines of history each room keeps (0: none).
    history_keep: usize,
}

/// Where a member sits in its room: the room and the index in `members`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seat {
    pub(crate) room: RoomId,
    pub(crate) index: usize,
}

impl Rooms {
    pub(crate) fn new(history_keep: usize) -> Rooms {
        Rooms {
            history_keep,
            ..Rooms::default()
        }
    }

    pub(crate) fn get_mut(&mut self, room: RoomId) -> &mut Room {
        &mut self.rooms[room.0]
    }

    pub(crate) fn get(&self, room: RoomId) -> &Room {
        &self.rooms[room.0]
    }

    /// The room, if it still exists (an empty room other than the default
    /// one is removed).
    pub(crate) fn get_live(&self, room: RoomId) -> Option<&Room> {
        self.rooms.get(room.0)
    }

    pub(crate) fn find(&self, name: &str) -> Option<RoomId> {
        self.by_key.get(&room_key(name)).copied()
    }

    /// The room called `name`, created if it does not exist.
    pub(crate) fn find_or_create(&mut self, name: &str) -> RoomId {
        if let Some(room) = self.find(name) {
            return room;
        }
        let name = name.strip_prefix('#').unwrap_or(name).to_owned();
        let room = RoomId(self.rooms.insert(Room {
            name,
            members: Vec::new(),
            topic: String::new(),
            history: Ring::new(self.history_keep),
        }));
        self.by_key.insert(room_key(&self.rooms[room.0].name), room);
        room
    }

    pub(crate) fn join(&mut self, room: RoomId, client: ClientId) -> Seat {
        let members = &mut self.rooms[room.0].members;
        members.push(client);
        Seat {
            room,
            index: members.len() - 1,
        }
    }

    /// Removes the member at `seat`. Returns the member that moved into its
    /// place (its seat index is now `seat.index`), so the caller can update it.
    pub(crate) fn leave(&mut self, seat: Seat, keep_if_empty: &str) -> Option<ClientId> {
        let room = &mut self.rooms[seat.room.0];
        room.members.swap_remove(seat.index);
        let moved = room.members.get(seat.index).copied();
        if room.members.is_empty() && room_key(&room.name) != room_key(keep_if_empty) {
            let room = self.rooms.remove(seat.room.0);
            self.by_key.remove(&room_key(&room.name));
        }
        moved
    }

    pub(crate) fn len(&self) -> usize {
        self.rooms.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Room> {
        self.rooms.iter().map(|(_, room)| room)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_are_found_in_any_case_and_with_or_without_a_hash() {
        let mut rooms = Rooms::new(0);
        let dev = rooms.find_or_create("#Dev");
        assert_eq!(rooms.get(dev).name, "Dev");
        assert_eq!(rooms.find("dev"), Some(dev));
        assert_eq!(rooms.find_or_create("DEV"), dev);
        assert_eq!(rooms.len(), 1);
    }

    #[test]
    fn leaving_swaps_the_last_member_into_the_seat() {
        let mut rooms = Rooms::new(0);
        let room = rooms.find_or_create("lobby");
        let first = rooms.join(room, ClientId(1));
        rooms.join(room, ClientId(2));
        rooms.join(room, ClientId(3));
        assert_eq!(rooms.leave(first, "lobby"), Some(ClientId(3)));
        assert_eq!(rooms.get(room).members, [ClientId(3), ClientId(2)]);
    }
}
