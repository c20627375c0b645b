//! What the hub tells the HTTP API of its rooms: values, never wire text.
//! Only this node's rooms and members (other nodes' are asked of Redis by
//! `/who` and `/rooms`, which the API does not wait for).

use super::Hub;

impl Hub {
    /// Every room here, with how many members it has.
    pub fn room_list(&self) -> Vec<(String, usize)> {
        let rooms = self.chat.members().rooms();
        let mut list: Vec<(String, usize)> = rooms
            .iter()
            .map(|room| (room.name.clone(), room.members.len()))
            .collect();
        list.sort_unstable_by_key(|(name, _)| name.to_ascii_lowercase());
        list
    }

    /// The room called `name` (any case, `#` or not): its name as written
    /// and its members' nicks, sorted; `None` if nobody is in it.
    pub fn room_members(&self, name: &str) -> Option<(String, Vec<String>)> {
        let members = self.chat.members();
        let room = members.room(members.rooms().find(name)?);
        let mut nicks: Vec<String> = (room.members.iter())
            .filter_map(|&id| members.nick(id).map(str::to_owned))
            .collect();
        nicks.sort_unstable_by_key(|nick| nick.to_ascii_lowercase());
        Some((room.name.clone(), nicks))
    }

    /// The id of the last line handed to the store: a read asked now that
    /// waits for it sees every line said before it.
    pub fn store_handed(&self) -> u64 {
        self.store.handed()
    }
}
