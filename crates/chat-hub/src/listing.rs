//! `/who` and `/rooms`: the lists, merged from this node and (in a cluster)
//! the others, sorted, deduplicated and cut to a readable length.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chat_proto::{nick_key, room_key};

/// `/who` and `/rooms` list at most this many names.
const MAX_LISTED: usize = 100;

/// The members of a room: how many, and their nicks as one line (sorted
/// without regard to case, each once; `...` past [`MAX_LISTED`]).
pub(crate) fn members<'a>(
    local: impl Iterator<Item = &'a str>,
    remote: Vec<String>,
) -> (usize, String) {
    let mut nicks = remote;
    nicks.extend(local.map(str::to_owned));
    nicks.sort_unstable_by_key(|nick| nick_key(nick));
    nicks.dedup_by_key(|nick| nick_key(nick));
    let count = nicks.len();
    let mut list = nicks
        .iter()
        .take(MAX_LISTED)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    if count > MAX_LISTED {
        list.push_str(" ...");
    }
    (count, list)
}

/// The rooms: how many, and `name(members)` for each as one line, the
/// fullest first, a marked one (a room the asker is in) as `*name(members)`;
/// a room on several nodes is one room with their members added up.
pub(crate) fn rooms<'a>(
    local: impl Iterator<Item = (&'a str, usize, bool)>,
    remote: Vec<(String, usize)>,
) -> (usize, String) {
    let mut rooms: Vec<(String, usize, bool)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let local = local.map(|(name, n, marked)| (name.to_owned(), n, marked));
    let remote = remote.into_iter().map(|(name, n)| (name, n, false));
    for (name, n, marked) in local.chain(remote) {
        match index.entry(room_key(&name)) {
            Entry::Occupied(at) => {
                let room = &mut rooms[*at.get()];
                room.1 += n;
                room.2 |= marked;
            }
            Entry::Vacant(at) => {
                at.insert(rooms.len());
                rooms.push((name, n, marked));
            }
        }
    }
    rooms.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut list: Vec<String> = rooms
        .iter()
        .take(MAX_LISTED)
        .map(|(name, n, marked)| {
            let mark = if *marked { "*" } else { "" };
            format!("{mark}{name}({n})")
        })
        .collect();
    if rooms.len() > MAX_LISTED {
        list.push("...".into());
    }
    (rooms.len(), list.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_merge_nodes_sort_without_case_and_list_each_once() {
        let (count, list) = members(
            ["bob", "Alice"].into_iter(),
            vec!["carol".into(), "BOB".into()],
        );
        assert_eq!(count, 3);
        assert_eq!(list, "Alice BOB carol");
    }

    #[test]
    fn long_lists_are_cut() {
        let names: Vec<String> = (0..150).map(|n| format!("n{n:03}")).collect();
        let (count, list) = members(names.iter().map(String::as_str), Vec::new());
        assert_eq!(count, 150);
        assert!(list.ends_with("n099 ..."), "{list}");
    }

    #[test]
    fn rooms_add_up_across_nodes_fullest_first() {
        let local = [("lobby", 2, false), ("dev", 3, false)].into_iter();
        let (count, list) = rooms(local, vec![("Lobby".into(), 2), ("ops".into(), 1)]);
        assert_eq!(count, 3);
        assert_eq!(list, "lobby(4) dev(3) ops(1)");
        let local = [("lobby", 2, true), ("dev", 3, true), ("ops", 1, false)].into_iter();
        let (_, list) = rooms(local, Vec::new());
        assert_eq!(list, "*dev(3) *lobby(2) ops(1)");
    }
}
