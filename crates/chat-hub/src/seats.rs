//! The rooms one client sits in: a seat in each (the room and the index in
//! its member list, so leaving is O(1)), in the order it joined them, and
//! the current room, where its plain lines go.
//!
//! A client is in at most `max_rooms_per_client` rooms, so a short vector
//! searched front to back is the whole index. A client may be in no room
//! (it parted the last one): then it has no current room either.

use crate::rooms::{RoomId, Seat};

#[derive(Debug, Clone, Default)]
pub(crate) struct Seats {
    seats: Vec<Seat>,
    current: Option<RoomId>,
}

impl Seats {
    /// One seat, which is the current room.
    pub(crate) fn one(seat: Seat) -> Seats {
        Seats {
            seats: vec![seat],
            current: Some(seat.room),
        }
    }

    /// The room plain lines go to.
    pub(crate) fn current(&self) -> Option<RoomId> {
        self.current
    }

    /// The rooms, in the order they were joined.
    pub(crate) fn rooms(&self) -> impl Iterator<Item = RoomId> + '_ {
        self.seats.iter().map(|seat| seat.room)
    }

    pub(crate) fn len(&self) -> usize {
        self.seats.len()
    }

    pub(crate) fn contains(&self, room: RoomId) -> bool {
        self.seat_in(room).is_some()
    }

    pub(crate) fn seat_in(&self, room: RoomId) -> Option<Seat> {
        self.seats.iter().find(|seat| seat.room == room).copied()
    }

    /// A new seat, which becomes the current room.
    pub(crate) fn add(&mut self, seat: Seat) {
        self.seats.push(seat);
        self.current = Some(seat.room);
    }

    /// Makes `room` (one of its rooms) the current one.
    pub(crate) fn set_current(&mut self, room: RoomId) {
        if self.contains(room) {
            self.current = Some(room);
        }
    }

    /// Gives up the seat in `room`. If that was the current room, the room
    /// joined last among the others becomes current.
    pub(crate) fn remove(&mut self, room: RoomId) -> Option<Seat> {
        let at = self.seats.iter().position(|seat| seat.room == room)?;
        let seat = self.seats.remove(at);
        if self.current == Some(room) {
            self.current = self.seats.last().map(|seat| seat.room);
        }
        Some(seat)
    }

    /// Another member left `room` and this one moved into its seat `index`.
    pub(crate) fn moved(&mut self, room: RoomId, index: usize) {
        if let Some(seat) = self.seats.iter_mut().find(|seat| seat.room == room) {
            seat.index = index;
        }
    }
}
