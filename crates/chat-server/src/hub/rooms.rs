//! Rooms and their members, with O(1) joins and leaves however big a room is.

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};
use chat_proto::room_key;
use slab::Slab;

use super::ClientId;

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
    pub(crate) history: History,
}

/// A ring of the room's last lines, each kept encoded (line framing, with
/// its original stamp) in a slot whose buffer is reused once the ring is
/// full: storing a line costs a copy, not an allocation.
#[derive(Debug, Default)]
pub(crate) struct History {
    slots: Vec<BytesMut>,
    /// The oldest slot once the ring is full (and the next to reuse).
    next: usize,
    keep: usize,
}

impl History {
    fn new(keep: usize) -> History {
        History {
            slots: Vec::new(),
            next: 0,
            keep,
        }
    }

    /// A cleared slot for the newest line; `None` when history is off.
    pub(crate) fn slot(&mut self) -> Option<&mut BytesMut> {
        if self.keep == 0 {
            return None;
        }
        if self.slots.len() < self.keep {
            if self.slots.capacity() == 0 {
                self.slots.reserve_exact(self.keep);
            }
            self.slots.push(BytesMut::new());
            return self.slots.last_mut();
        }
        let slot = &mut self.slots[self.next];
        self.next = (self.next + 1) % self.keep;
        slot.clear();
        Some(slot)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The last `count` lines, oldest first, in one buffer.
    pub(crate) fn recent(&self, count: usize) -> Bytes {
        let (newer, older) = self.slots.split_at(self.next.min(self.slots.len()));
        let skip = self.slots.len().saturating_sub(count);
        let lines = older.iter().chain(newer).skip(skip);
        let mut out = BytesMut::with_capacity(lines.clone().map(BytesMut::len).sum());
        lines.for_each(|line| out.extend_from_slice(line));
        out.freeze()
    }
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
            history: History::new(self.history_keep),
        }));
        self.by_key.insert(room_key(&self.rooms[room.0].name), room);
        room
    }

    pub(crate) fn set_topic(&mut self, room: RoomId, topic: &str) {
        if let Some(room) = self.rooms.get_mut(room.0) {
            room.topic = topic.to_owned();
        }
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
    use super::History;

    #[test]
    fn the_ring_keeps_the_last_lines_in_order() {
        let mut ring = History::new(3);
        for line in ["a\n", "b\n", "c\n", "d\n", "e\n"] {
            if let Some(slot) = ring.slot() {
                slot.extend_from_slice(line.as_bytes());
            }
        }
        assert_eq!(ring.len(), 3);
        assert_eq!(&ring.recent(10)[..], b"c\nd\ne\n");
        assert_eq!(&ring.recent(2)[..], b"d\ne\n");
        assert!(History::new(0).slot().is_none());
    }
}
