//! Rooms and their members, with O(1) joins and leaves however big a room is.

use std::collections::HashMap;
use std::sync::Arc;

use chat_proto::room_key;
use slab::Slab;

use crate::chat::SaidLine;
use crate::{ClientId, history::Ring};

/// Index of a room in [`Rooms`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RoomId(usize);

#[derive(Debug)]
pub(crate) struct Room {
    pub(crate) name: String,
    /// `chat_proto::room_key` of the name, made once: the history store
    /// gets it with each line without an allocation.
    pub(crate) key: Arc<str>,
    /// Unordered; a member's index is kept by the caller so leaving is a
    /// `swap_remove`, not a search.
    pub(crate) members: Vec<ClientId>,
    /// Empty: no topic.
    pub(crate) topic: String,
    /// The room's last lines, as said (protocol-neutral values, encoded
    /// for each client when replayed).
    pub(crate) history: Ring,
}

#[derive(Debug, Default)]
pub(crate) struct Rooms {
    rooms: Slab<Room>,
    by_key: HashMap<String, RoomId>,
    /// Lines of history each room keeps (0: none).
    history_keep: usize,
    /// The memory every room's history may hold together.
    history_budget: usize,
    /// The memory every room's history holds now.
    history_bytes: usize,
}

/// Where a member sits in a room: the room and the index in `members`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seat {
    pub(crate) room: RoomId,
    pub(crate) index: usize,
}

impl Rooms {
    pub(crate) fn new(history_keep: usize, history_budget: usize) -> Rooms {
        Rooms {
            history_keep,
            history_budget,
            ..Rooms::default()
        }
    }

    /// The memory every room's history holds now.
    pub(crate) fn history_bytes(&self) -> usize {
        self.history_bytes
    }

    /// Stores `said` in `room`'s history. Past the budget, the oldest lines of the largest
    /// histories go first, down to nine tenths of it (so the search for the
    /// largest runs once per many lines, not once per line).
    pub(crate) fn store_history(&mut self, room: RoomId, said: &SaidLine<'_>) {
        let Some(room) = self.rooms.get_mut(room.0) else {
            return;
        };
        let (before, after) = room.history.store(said);
        self.history_bytes = self.history_bytes - before + after;
        if self.history_bytes > self.history_budget {
            self.shed_history(self.history_budget / 10 * 9);
        }
    }

    /// Drops the oldest lines of the largest histories until all of them
    /// hold at most `target`.
    fn shed_history(&mut self, target: usize) {
        while self.history_bytes > target {
            // The largest history, and how far it may shrink before another
            // is the largest.
            let (mut largest, mut largest_bytes, mut runner_up) = (None, 0, 0);
            for (key, room) in &self.rooms {
                let bytes = room.history.bytes();
                if largest.is_none() || bytes > largest_bytes {
                    runner_up = largest_bytes;
                    (largest, largest_bytes) = (Some(key), bytes);
                } else {
                    runner_up = runner_up.max(bytes);
                }
            }
            let Some(largest) = largest.filter(|_| largest_bytes > 0) else {
                return; // nothing left to drop
            };
            let ring = &mut self.rooms[largest].history;
            while self.history_bytes > target && ring.bytes() >= runner_up {
                let freed = ring.drop_oldest();
                if freed == 0 {
                    break;
                }
                self.history_bytes -= freed;
            }
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
        let name = name.strip_prefix('#').unwrap_or(name);
        crate::keys::lowered(name, |key| self.by_key.get(key).copied())
    }

    /// The room called `name`, created if it does not exist.
    /// The room whose key (`room_key`) is `key`.
    pub(crate) fn find_key(&self, key: &str) -> Option<RoomId> {
        self.by_key.get(key).copied()
    }

    pub(crate) fn find_or_create(&mut self, name: &str) -> RoomId {
        if let Some(room) = self.find(name) {
            return room;
        }
        let name = name.strip_prefix('#').unwrap_or(name).to_owned();
        let key: Arc<str> = room_key(&name).into();
        let room = RoomId(self.rooms.insert(Room {
            key: Arc::clone(&key),
            name,
            members: Vec::new(),
            topic: String::new(),
            history: Ring::new(self.history_keep),
        }));
        self.by_key.insert(key.as_ref().to_owned(), room);
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
            self.history_bytes -= room.history.bytes();
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

    /// Every room with its id.
    pub(crate) fn iter_ids(&self) -> impl Iterator<Item = (RoomId, &Room)> {
        self.rooms.iter().map(|(key, room)| (RoomId(key), room))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_are_found_in_any_case_and_with_or_without_a_hash() {
        let mut rooms = Rooms::new(0, 0);
        let dev = rooms.find_or_create("#Dev");
        assert_eq!(rooms.get(dev).name, "Dev");
        assert_eq!(rooms.find("dev"), Some(dev));
        assert_eq!(rooms.find_or_create("DEV"), dev);
        assert_eq!(rooms.len(), 1);
    }

    fn store(rooms: &mut Rooms, room: RoomId, bytes: usize) {
        let text = "x".repeat(bytes);
        let said = SaidLine {
            nick: "al",
            text: &text,
            action: false,
            id: None,
            time: crate::Now::default(),
        };
        rooms.store_history(room, &said);
    }

    #[test]
    fn history_past_its_budget_loses_the_oldest_lines_of_the_largest_rooms_first() {
        let mut rooms = Rooms::new(100, 10_000);
        let (big, small) = (rooms.find_or_create("big"), rooms.find_or_create("small"));
        for _ in 0..3 {
            store(&mut rooms, small, 1000);
        }
        for _ in 0..6 {
            store(&mut rooms, big, 1000);
        }
        assert!(rooms.history_bytes() <= 10_000, "{}", rooms.history_bytes());
        store(&mut rooms, big, 1000);
        store(&mut rooms, big, 1000);
        assert!(rooms.history_bytes() <= 10_000, "{}", rooms.history_bytes());
        assert!(rooms.get(big).history.len() < 8, "the big room lost lines");
        assert_eq!(
            rooms.get(small).history.len(),
            3,
            "the small room kept its own"
        );
        let sum = rooms.get(big).history.bytes() + rooms.get(small).history.bytes();
        assert_eq!(rooms.history_bytes(), sum);
    }

    #[test]
    fn an_emptied_room_gives_its_history_memory_back() {
        let mut rooms = Rooms::new(10, 1 << 20);
        let side = rooms.find_or_create("side");
        let seat = rooms.join(side, ClientId(1));
        store(&mut rooms, side, 500);
        assert!(rooms.history_bytes() >= 500);
        rooms.leave(seat, "lobby");
        assert_eq!(rooms.history_bytes(), 0);
    }

    #[test]
    fn leaving_swaps_the_last_member_into_the_seat() {
        let mut rooms = Rooms::new(0, 0);
        let room = rooms.find_or_create("lobby");
        let first = rooms.join(room, ClientId(1));
        rooms.join(room, ClientId(2));
        rooms.join(room, ClientId(3));
        assert_eq!(rooms.leave(first, "lobby"), Some(ClientId(3)));
        assert_eq!(rooms.get(room).members, [ClientId(3), ClientId(2)]);
    }
}
