//! Read markers: where each account stopped reading each room, shared by
//! its connections and kept by the account store across restarts.
//!
//! A marker is a line id: everything up to it is read. It only moves
//! forward, so a device that reads an older line cannot unread newer ones.

use std::collections::HashMap;

use crate::accounts::Marker;

#[derive(Debug, Default)]
pub(crate) struct Markers {
    /// Account key → room key (or conversation key) → the id read through.
    read: HashMap<String, HashMap<String, u64>>,
    /// The newest line of each private conversation said since the start
    /// (what `/read @NICK` marks read).
    latest_private: HashMap<String, u64>,
}

impl Markers {
    pub(crate) fn load(&mut self, markers: Vec<Marker>) {
        for marker in markers {
            self.set(&marker.account, &marker.target, marker.through);
        }
    }

    /// Where account `account` stopped reading `target` (keys).
    pub(crate) fn get(&self, account: &str, target: &str) -> Option<u64> {
        self.read.get(account)?.get(target).copied()
    }

    /// Moves the marker forward to `through`; `false` if it was there or
    /// further already.
    pub(crate) fn set(&mut self, account: &str, target: &str, through: u64) -> bool {
        let rooms = self.read.entry(account.to_owned()).or_default();
        match rooms.get_mut(target) {
            Some(at) if *at >= through => false,
            Some(at) => {
                *at = through;
                true
            }
            None => {
                rooms.insert(target.to_owned(), through);
                true
            }
        }
    }

    /// Line `id` was said in private conversation `key`.
    pub(crate) fn said_privately(&mut self, key: &str, id: u64) {
        self.latest_private.insert(key.to_owned(), id);
    }

    /// The newest line of conversation `key` said since the start.
    pub(crate) fn latest_private(&self, key: &str) -> Option<u64> {
        self.latest_private.get(key).copied()
    }

    /// Account `account` is gone: its markers go too.
    pub(crate) fn discard(&mut self, account: &str) {
        self.read.remove(account);
    }
}
