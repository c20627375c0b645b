//! The interface's windows: one scrollback per room, in the order the rooms
//! were joined, as irssi and WeeChat keep them.
//!
//! A window is opened when the server confirms a join of mine and closed
//! when it confirms my leave; the server's word, not what was typed, decides,
//! so a refused `/join` opens nothing. The last window never closes: it
//! keeps its scrollback and becomes the window of no room, where the lines
//! that belong to no room (private messages, errors, information) still
//! have somewhere to go.
//!
//! Two rooms are tracked apart from the window shown. `talking` is the room
//! the server last said plain lines go to: an untagged room line comes from
//! it. `target` is where plain lines will go once the server has read
//! everything sent so far: showing a window sends `/join ROOM` unless
//! `target` is already that room, and the `now talking in ROOM` answer to
//! such a switch is swallowed (the window on screen already says it);
//! answers to a `/join` the user typed are shown.

use std::collections::{BTreeMap, VecDeque};

/// How many lines each window's scrollback keeps.
pub(crate) const SCROLLBACK: usize = 5000;

/// What a scrollback line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Room talk: `<nick> text`, or `* nick text` when `action`.
    Chat {
        nick: String,
        text: String,
        action: bool,
        own: bool,
    },
    /// A private message, received (`*from* text`) or sent (`-> *to* text`).
    Private {
        nick: String,
        text: String,
        sent: bool,
    },
    /// The operator speaking.
    Operator { name: String, text: String },
    /// A server notice (`-!- text`).
    Notice { text: String, error: bool },
    /// The client's own remark (connection state and the like).
    Local { text: String },
    /// A line that did not parse, shown as it came.
    Raw { text: String },
}

/// One scrollback line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Already formatted for display (local time, `--time-format`).
    pub(crate) time: String,
    pub(crate) kind: Kind,
    /// It mentions my nick (and is not mine).
    pub(crate) mention: bool,
}

impl Entry {
    /// Does it count as unread in a window not shown? Room talk by others
    /// does; joins, leaves and my own lines do not (irssi's "activity"
    /// without its lowest level).
    fn counts(&self) -> bool {
        matches!(self.kind, Kind::Chat { own: false, .. })
    }
}

/// One room's window.
#[derive(Debug)]
pub(crate) struct Window {
    /// `None`: the window of no room (before the first join, after the
    /// last leave).
    pub(crate) room: Option<String>,
    pub(crate) entries: VecDeque<Entry>,
    /// How many screen rows the view is scrolled up from the bottom.
    pub(crate) scroll: usize,
    /// Lines that count ([`Entry::counts`]) added while not shown.
    pub(crate) unread: usize,
    /// One of them mentions my nick.
    pub(crate) mention: bool,
    /// Nicks seen in the room: lowercase key -> as written.
    nicks: BTreeMap<String, String>,
}

impl Window {
    fn new(room: Option<String>) -> Window {
        Window {
            room,
            entries: VecDeque::new(),
            scroll: 0,
            unread: 0,
            mention: false,
            nicks: BTreeMap::new(),
        }
    }

    fn is(&self, room: &str) -> bool {
        self.room
            .as_deref()
            .is_some_and(|mine| mine.eq_ignore_ascii_case(room))
    }

    fn push(&mut self, entry: Entry, shown: bool) {
        if !shown && entry.counts() {
            self.unread += 1;
            self.mention |= entry.mention;
        }
        if self.scroll > 0 {
            // Keep the view where the reader left it.
            self.scroll += 1;
        }
        self.entries.push_back(entry);
        if self.entries.len() > SCROLLBACK {
            self.entries.pop_front();
        }
    }

    /// The nicks known in the room, as written, sorted case-insensitively.
    pub(crate) fn nicks(&self) -> impl Iterator<Item = &str> {
        self.nicks.values().map(String::as_str)
    }

    pub(crate) fn add_nick(&mut self, nick: &str) {
        self.nicks
            .insert(nick.to_ascii_lowercase(), nick.to_owned());
    }

    pub(crate) fn remove_nick(&mut self, nick: &str) -> bool {
        self.nicks.remove(&nick.to_ascii_lowercase()).is_some()
    }

    pub(crate) fn clear_nicks(&mut self) {
        self.nicks.clear();
    }
}

/// Every window, which one is shown, and where the server says lines go.
#[derive(Debug)]
pub(crate) struct Windows {
    /// In the order joined; never empty.
    list: Vec<Window>,
    shown: usize,
    /// The room the server last said it talks in (untagged room lines).
    talking: Option<String>,
    /// Where plain lines go once the server has read what was sent.
    target: Option<String>,
    /// Rooms of `/join`s sent by switching windows, whose `now talking in`
    /// is not shown.
    switching: Vec<String>,
}

impl Default for Windows {
    fn default() -> Self {
        Windows {
            list: vec![Window::new(None)],
            shown: 0,
            talking: None,
            target: None,
            switching: Vec::new(),
        }
    }
}

fn same(a: Option<&str>, b: &str) -> bool {
    a.is_some_and(|a| a.eq_ignore_ascii_case(b))
}

impl Windows {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Window> {
        self.list.iter()
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Window> {
        self.list.iter_mut()
    }

    /// The number of the window shown (0-based).
    pub(crate) fn shown_index(&self) -> usize {
        self.shown
    }

    // `list` is never empty and `shown` always indexes it: only this
    // file changes either, and each change keeps it so.
    pub(crate) fn shown(&self) -> &Window {
        &self.list[self.shown]
    }

    pub(crate) fn shown_mut(&mut self) -> &mut Window {
        &mut self.list[self.shown]
    }

    fn find(&self, room: &str) -> Option<usize> {
        self.list.iter().position(|window| window.is(room))
    }

    /// The window of `room`, or the one shown when it has none.
    fn index_of(&self, room: Option<&str>) -> usize {
        room.and_then(|room| self.find(room)).unwrap_or(self.shown)
    }

    /// Adds a line to `room`'s window (the one shown for `None` or a room
    /// without a window).
    pub(crate) fn push_to(&mut self, room: Option<&str>, entry: Entry) {
        let index = self.index_of(room);
        let shown = index == self.shown;
        self.list[index].push(entry, shown);
    }

    /// Adds a room line that named no room: it comes from the room the
    /// server talks in.
    pub(crate) fn push_untagged(&mut self, entry: Entry) {
        let talking = self.talking.clone();
        self.push_to(talking.as_deref(), entry);
    }

    /// The window of `room`, if it has one.
    pub(crate) fn window_mut(&mut self, room: &str) -> Option<&mut Window> {
        let index = self.find(room)?;
        self.list.get_mut(index)
    }

    /// The window of `room` (the one shown for `None` or a room without a
    /// window).
    pub(crate) fn window_of(&mut self, room: Option<&str>) -> &mut Window {
        let index = self.index_of(room);
        &mut self.list[index]
    }

    /// The window of the room the server talks in.
    pub(crate) fn talking_window(&mut self) -> &mut Window {
        let index = self.index_of(self.talking.as_deref());
        &mut self.list[index]
    }

    /// The server confirmed my join of `room`: it talks there, and its
    /// window (opened at the end, or the window of no room taking it) is
    /// shown. A room that has a window already is being rejoined after a
    /// reconnect: the view stays, so what comes meanwhile counts as unread.
    pub(crate) fn joined(&mut self, room: &str) {
        self.talking = Some(room.to_owned());
        self.target = Some(room.to_owned());
        self.switching.clear();
        if let Some(index) = self.find(room) {
            self.list[index].clear_nicks();
            return;
        }
        let index = match self.list.iter().position(|window| window.room.is_none()) {
            Some(index) => index,
            None => {
                self.list.push(Window::new(None));
                self.list.len() - 1
            }
        };
        if let Some(window) = self.list.get_mut(index) {
            window.room = Some(room.to_owned());
            // The members are told afresh on each join.
            window.clear_nicks();
        }
        self.show(index);
    }

    /// The server confirmed my leave of `room`: its window closes (the
    /// last one stays, as the window of no room).
    pub(crate) fn left(&mut self, room: &str) {
        if same(self.talking.as_deref(), room) {
            self.talking = None;
        }
        if same(self.target.as_deref(), room) {
            self.target = None;
        }
        let Some(index) = self.find(room) else {
            return;
        };
        if self.list.len() == 1 {
            if let Some(window) = self.list.get_mut(index) {
                window.room = None;
                window.clear_nicks();
            }
            return;
        }
        self.list.remove(index);
        if self.shown > index || self.shown == self.list.len() {
            self.shown = self.shown.saturating_sub(1);
        }
        if let Some(window) = self.list.get_mut(self.shown) {
            window.unread = 0;
            window.mention = false;
        }
    }

    /// `now talking in ROOM`. `true`: the notice is news and is shown (in
    /// ROOM's window, which is shown); `false`: it answers a switch of
    /// windows, which the screen already shows.
    pub(crate) fn talking(&mut self, room: &str) -> bool {
        self.talking = Some(room.to_owned());
        if let Some(at) = self
            .switching
            .iter()
            .position(|r| r.eq_ignore_ascii_case(room))
        {
            self.switching.remove(at);
            return false;
        }
        self.target = Some(room.to_owned());
        if let Some(index) = self.find(room) {
            self.show(index);
        }
        true
    }

    /// Shows window `index` (0-based); the room to `/join` so that plain
    /// lines go to it, unless they already will.
    pub(crate) fn select(&mut self, index: usize) -> Option<String> {
        if index >= self.list.len() {
            return None;
        }
        self.show(index);
        self.join_needed()
    }

    /// The next window (wrapping round).
    pub(crate) fn select_next(&mut self) -> Option<String> {
        self.select((self.shown + 1) % self.list.len())
    }

    /// The previous window (wrapping round).
    pub(crate) fn select_previous(&mut self) -> Option<String> {
        self.select((self.shown + self.list.len() - 1) % self.list.len())
    }

    /// The `/join` that makes plain lines go to the window shown, when they
    /// would go elsewhere (a window shown while disconnected).
    pub(crate) fn join_needed(&self) -> Option<String> {
        let room = self.shown().room.clone()?;
        (!same(self.target.as_deref(), &room)).then_some(room)
    }

    /// `/join room` went out for a switch of windows.
    pub(crate) fn switch_sent(&mut self, room: &str) {
        self.target = Some(room.to_owned());
        self.switching.push(room.to_owned());
    }

    /// A new connection: the server knows none of what was sent before.
    pub(crate) fn reconnected(&mut self) {
        self.talking = None;
        self.target = None;
        self.switching.clear();
    }

    fn show(&mut self, index: usize) {
        self.shown = index.min(self.list.len().saturating_sub(1));
        if let Some(window) = self.list.get_mut(self.shown) {
            window.unread = 0;
            window.mention = false;
        }
    }
}

#[cfg(test)]
mod tests;
