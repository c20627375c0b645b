//! Read markers: where each account stopped reading each room, shared by
//! its connections and kept by the account store across restarts.
//!
//! A marker is a line id: everything up to it is read. Beside it is a time
//! (Unix ms): the marked line's, or the one an IRC client gave with
//! `MARKREAD`, since IRC's `draft/read-marker` speaks of times, not ids.
//! It only moves forward, so a device that reads an older line cannot
//! unread newer ones.

use std::collections::HashMap;

use crate::accounts::Marker;

/// Where a marker stands: the id read through, and its time in Unix ms
/// (0: unknown). Ordered by id, then time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ReadAt {
    pub(crate) id: u64,
    pub(crate) ms: i64,
}

#[derive(Debug, Default)]
pub(crate) struct Markers {
    /// Account key → room key (or conversation key) → where it is read.
    read: HashMap<String, HashMap<String, ReadAt>>,
    /// The newest line of each private conversation said since the start
    /// (what `/read @NICK` marks read), with its time.
    latest_private: HashMap<String, ReadAt>,
}

impl Markers {
    pub(crate) fn load(&mut self, markers: Vec<Marker>) {
        for marker in markers {
            let at = ReadAt {
                id: marker.through,
                ms: marker.ms,
            };
            self.set(&marker.account, &marker.target, at);
        }
    }

    /// Where account `account` stopped reading `target` (keys).
    pub(crate) fn get(&self, account: &str, target: &str) -> Option<ReadAt> {
        self.read.get(account)?.get(target).copied()
    }

    /// Moves the marker forward to `at`; `false` if it was there or
    /// further already.
    pub(crate) fn set(&mut self, account: &str, target: &str, at: ReadAt) -> bool {
        let rooms = self.read.entry(account.to_owned()).or_default();
        match rooms.get_mut(target) {
            Some(was) if *was >= at => false,
            Some(was) => {
                *was = at;
                true
            }
            None => {
                rooms.insert(target.to_owned(), at);
                true
            }
        }
    }

    /// Line `at` was said in private conversation `key`.
    pub(crate) fn said_privately(&mut self, key: &str, at: ReadAt) {
        self.latest_private.insert(key.to_owned(), at);
    }

    /// The newest line of conversation `key` said since the start.
    pub(crate) fn latest_private(&self, key: &str) -> Option<ReadAt> {
        self.latest_private.get(key).copied()
    }

    /// Account `account` is gone: its markers go too.
    pub(crate) fn discard(&mut self, account: &str) {
        self.read.remove(account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_only_moves_forward_and_a_later_time_on_one_line_counts() {
        let mut markers = Markers::default();
        let at = |id, ms| ReadAt { id, ms };
        assert!(markers.set("alice", "dev", at(5, 100)));
        assert!(!markers.set("alice", "dev", at(4, 900)), "an older line");
        assert!(!markers.set("alice", "dev", at(5, 100)), "the same");
        assert!(
            markers.set("alice", "dev", at(5, 150)),
            "read later, no newer line"
        );
        assert_eq!(markers.get("alice", "dev"), Some(at(5, 150)));
    }
}
