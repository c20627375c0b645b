//! `--reconnect`: after a dropped connection, get the nick and the rooms
//! back and show what was said meanwhile exactly once, in every mode.
//!
//! With `--reconnect` the client asks for message ids (`/cap ids`, see
//! PROTOCOL.md) on every connection and remembers, for each room, the newest
//! room line it showed. A new connection is in the default room only, so a
//! reconnect sends `/cap ids` and `/nick NICK`, then rejoins the rooms one
//! after the other, in the order they were joined, each as:
//!
//! ```text
//! /join ROOM · /cap ids · /history since LAST · /cap ids
//! ```
//!
//! The server answers in order, so each `/cap ids` reply is a marker. The
//! history the server replays on joining comes before the room's first
//! marker and is dropped: it would repeat what was shown, or leave a gap
//! before what `/history since` sends. Lines after `LAST` come before the
//! next marker and are shown, page after page (a `more: /history since ID`
//! notice is followed up at once). One room at a time, because
//! `/history since` reads the room talked in: the next room's `/join` goes
//! out once this one's pages are done. A room with nothing shown yet is
//! rejoined with `/join ROOM · /cap ids`, its history on joining shown
//! unless already shown. Last, `/join` of the room talked in before, if it
//! was not the last rejoined.
//!
//! Room lines said meanwhile wait until the catch-up is done, then go out
//! unless already shown. From then on a room line whose id was shown is
//! never shown again. A room line that names no room belongs to the room
//! talked in at the time: the notices that change it (joins, leaves, `now
//! talking in`) come in order with the lines.
//!
//! Ids are stripped before a line is shown: the output is what a client
//! without ids would print. A server without message ids (history in
//! memory, or a cluster) refuses `/cap ids`; then a reconnect rejoins the
//! nick and the rooms and shows each room's history on joining as it is.

use std::collections::{BTreeMap, VecDeque};

use chat_proto::{Body, Notice, parse_line, split_message_id};

/// Asks for message ids; its reply is the catch-up's marker.
pub(crate) const ASK_IDS: &str = "/cap ids";

/// Room lines held while catching up; past this they go out as they come.
const HELD_MAX: usize = 10_000;

/// What the history lines until the next marker are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not catching up: shown as they come (room lines already shown are
    /// dropped).
    Live,
    /// Replayed on rejoining a room whose lines `/history since` sends
    /// next (or, first thing, the default room's before ids are on):
    /// dropped.
    Drop,
    /// Replayed on rejoining a room with nothing shown: shown unless
    /// already shown.
    Fresh,
    /// What `/history since` sends: shown unless already shown.
    Paging,
}

/// What a connection's lines mean for the catch-up.
#[derive(Debug)]
pub(crate) struct Catchup {
    /// My nick, as the server last named it.
    nick: Option<String>,
    /// The rooms I am in, in the order joined.
    rooms: Vec<String>,
    /// The room talked in: untagged room lines come from it.
    room: Option<String>,
    /// The server numbers room lines (it accepted `/cap ids`).
    ids: Option<bool>,
    /// The newest room line shown, per room (lowercase).
    last: BTreeMap<String, u64>,
    phase: Phase,
    /// The phases after the markers still to come for the room being
    /// rejoined.
    next: VecDeque<Phase>,
    /// Rooms still to rejoin, in order.
    rejoin: VecDeque<String>,
    /// The room to talk in once every room is rejoined.
    talk_in: Option<String>,
    /// `/history since ID` the last page asked for.
    more: Option<u64>,
    /// Room lines said while catching up: room (lowercase), id, line.
    /// Each with its room, its id, and whether it names its room.
    held: VecDeque<(String, u64, String, bool)>,
}

/// What to do with one line from the server.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Lines to show, in order (ids stripped).
    pub(crate) show: Vec<String>,
    /// Lines to send to the server.
    pub(crate) send: Vec<String>,
}

fn join(room: &str) -> String {
    format!("/join {room}")
}

impl Catchup {
    pub(crate) fn new() -> Catchup {
        Catchup {
            nick: None,
            rooms: Vec::new(),
            room: None,
            ids: None,
            last: BTreeMap::new(),
            phase: Phase::Live,
            next: VecDeque::new(),
            rejoin: VecDeque::new(),
            talk_in: None,
            more: None,
            held: VecDeque::new(),
        }
    }

    /// What to send first on a new connection (after `/pass`).
    pub(crate) fn first_lines() -> Vec<String> {
        vec![ASK_IDS.to_owned()]
    }

    /// What to send after a reconnect (after `/pass`), to get the nick and
    /// rooms back and what was said meanwhile.
    pub(crate) fn reconnected(&mut self) -> Vec<String> {
        let mut lines = vec![ASK_IDS.to_owned()];
        lines.extend(self.nick.iter().map(|nick| format!("/nick {nick}")));
        // Rooms a broken catch-up had still to rejoin are still wanted.
        let mut rooms = std::mem::take(&mut self.rooms);
        for room in std::mem::take(&mut self.rejoin) {
            if !rooms.iter().any(|r| r.eq_ignore_ascii_case(&room)) {
                rooms.push(room);
            }
        }
        // Cut off while catching up, aim where that catch-up aimed.
        if self.phase == Phase::Live || self.talk_in.is_none() {
            self.talk_in = self.room.take();
        }
        self.room = None;
        self.held.clear();
        self.more = None;
        self.next.clear();
        self.rejoin = rooms.into();
        if self.ids == Some(false) {
            // No markers to wait for: every room at once.
            lines.extend(self.join_the_rest());
            self.phase = Phase::Live;
            return lines;
        }
        // The default room's history, before ids are on, then the first
        // room's steps.
        self.phase = Phase::Drop;
        self.next_room(&mut lines);
        lines
    }

    /// Without markers: a `/join` of every room left to rejoin, then of the
    /// room to talk in unless it is the last of them.
    fn join_the_rest(&mut self) -> Vec<String> {
        let rooms: Vec<String> = self.rejoin.drain(..).collect();
        let mut lines: Vec<String> = rooms.iter().map(|room| join(room)).collect();
        let talk_in = self.talk_in.take();
        if let (Some(talk_in), Some(last)) = (talk_in, rooms.last())
            && !last.eq_ignore_ascii_case(&talk_in)
        {
            lines.push(join(&talk_in));
        }
        lines
    }

    /// Sends the next room's rejoin; the phases of what its markers
    /// delimit follow the current one. `false`: no room was left.
    fn next_room(&mut self, send: &mut Vec<String>) -> bool {
        let Some(room) = self.rejoin.pop_front() else {
            return false;
        };
        send.push(join(&room));
        send.push(ASK_IDS.to_owned());
        match self.last.get(&room.to_ascii_lowercase()) {
            Some(last) => {
                send.push(format!("/history since {last}"));
                send.push(ASK_IDS.to_owned());
                self.next.extend([Phase::Drop, Phase::Paging]);
            }
            None => self.next.push_back(Phase::Fresh),
        }
        true
    }

    /// The nick and rooms this client will rejoin, as far as it knows them.
    pub(crate) fn seat(&self) -> (Option<&str>, Vec<&str>) {
        let rooms = self.rooms.iter().chain(&self.rejoin).map(String::as_str);
        (self.nick.as_deref(), rooms.collect())
    }

    /// Shows `line` (room line `id` of `room`) unless a line of that room
    /// as new was shown.
    fn show_once(&mut self, room: String, id: u64, line: String, outcome: &mut Outcome) {
        let last = self.last.entry(room).or_default();
        if id > *last {
            *last = id;
            outcome.show.push(line);
        }
    }

    /// One line from the server (without its line end).
    pub(crate) fn on_line(&mut self, line: &str) -> Outcome {
        let mut outcome = Outcome::default();
        let (id, plain) = split_message_id(line);
        let Ok(parsed) = parse_line(&plain) else {
            outcome.show.push(plain.into_owned());
            return outcome;
        };
        let room = parsed
            .room
            .or(self.room.as_deref())
            .unwrap_or("")
            .to_ascii_lowercase();
        match parsed.body {
            Body::Notice(notice) => {
                if self.on_notice(&notice, &mut outcome) {
                    outcome.show.push(plain.into_owned());
                }
            }
            Body::History { .. } => match (self.phase, id) {
                // Replayed on rejoining: dropped (see the top).
                (Phase::Drop, _) => {}
                (Phase::Paging | Phase::Fresh, Some(id)) => {
                    self.show_once(room, id, plain.into_owned(), &mut outcome);
                }
                (_, Some(id)) => {
                    // Asked for again (`/history`): shown again.
                    let last = self.last.entry(room).or_default();
                    *last = (*last).max(id);
                    outcome.show.push(plain.into_owned());
                }
                (_, None) => outcome.show.push(plain.into_owned()),
            },
            Body::Message { .. } | Body::Action { .. } => match id {
                Some(id) if self.phase != Phase::Live && self.held.len() < HELD_MAX => {
                    let named = parsed.room.is_some();
                    self.held.push_back((room, id, plain.into_owned(), named));
                }
                Some(id) => self.show_once(room, id, plain.into_owned(), &mut outcome),
                None => outcome.show.push(plain.into_owned()),
            },
            _ => outcome.show.push(plain.into_owned()),
        }
        outcome
    }

    /// Learns from a notice; `false`: it is the catch-up's own and is not
    /// shown.
    fn on_notice(&mut self, notice: &Notice<'_>, outcome: &mut Outcome) -> bool {
        let me = |nick: &str, mine: &Option<String>| {
            mine.as_deref()
                .is_some_and(|me| me.eq_ignore_ascii_case(nick))
        };
        match notice {
            Notice::Welcome { nick, .. } => self.nick = Some((*nick).to_owned()),
            Notice::NickChanged { old, new } if me(old, &self.nick) => {
                self.nick = Some((*new).to_owned());
            }
            Notice::Joined { nick, room } if me(nick, &self.nick) => {
                if !self.rooms.iter().any(|r| r.eq_ignore_ascii_case(room)) {
                    self.rooms.push((*room).to_owned());
                }
                self.room = Some((*room).to_owned());
            }
            Notice::Left { nick, room, .. } if me(nick, &self.nick) => {
                self.rooms.retain(|r| !r.eq_ignore_ascii_case(room));
                if self
                    .room
                    .as_deref()
                    .is_some_and(|r| r.eq_ignore_ascii_case(room))
                {
                    self.room = None;
                }
            }
            Notice::Talking { room } => self.room = Some((*room).to_owned()),
            Notice::Info { text } if text.starts_with("capability ids on") => {
                self.ids = Some(true);
                self.marker(outcome);
                return false;
            }
            Notice::Error { text } if text.starts_with("message ids") => {
                // No ids here: no markers will come, nothing to page
                // through; what is left to rejoin goes out at once.
                let first = self.ids.is_none();
                self.ids = Some(false);
                if self.phase != Phase::Live {
                    self.next.clear();
                    outcome.send.extend(self.join_the_rest());
                    self.finish(outcome);
                }
                return first;
            }
            // The default room, rejoined while in it: the catch-up's own.
            Notice::Error { text }
                if self.phase != Phase::Live && text.starts_with("you are already in ") =>
            {
                return false;
            }
            Notice::Info { text } if self.phase == Phase::Paging => {
                if let Some(more) = text.strip_prefix("more: /history since ") {
                    self.more = more.trim().parse().ok();
                    return false;
                }
            }
            _ => {}
        }
        true
    }

    /// A reply to `/cap ids`: the next step of a catch-up.
    fn marker(&mut self, outcome: &mut Outcome) {
        if self.phase == Phase::Live {
            return;
        }
        if self.phase == Phase::Paging
            && let Some(after) = self.more.take()
        {
            outcome.send.push(format!("/history since {after}"));
            outcome.send.push(ASK_IDS.to_owned());
            return;
        }
        if self.next.is_empty() && !self.next_room(&mut outcome.send) {
            self.finish(outcome);
            return;
        }
        self.phase = self.next.pop_front().unwrap_or(Phase::Live);
    }

    /// Every room is rejoined: back to the room talked in, and the lines
    /// held meanwhile.
    fn finish(&mut self, outcome: &mut Outcome) {
        self.phase = Phase::Live;
        let mut talking_in = self.room.clone().unwrap_or_default();
        if let Some(talk_in) = self.talk_in.take() {
            let rejoined = self.rooms.iter().any(|r| r.eq_ignore_ascii_case(&talk_in));
            let there = talking_in.eq_ignore_ascii_case(&talk_in);
            if rejoined && !there {
                outcome.send.push(join(&talk_in));
                talking_in = talk_in;
            }
        }
        let talking_in = talking_in.to_ascii_lowercase();
        for (room, id, line, named) in std::mem::take(&mut self.held) {
            // A line held from a room talked in then, shown once another
            // is: it names its room, as the server would have.
            let line = match named || room == talking_in {
                true => line,
                false => with_room(&line, &room),
            };
            self.show_once(room, id, line, outcome);
        }
    }
}

/// `[stamp] body` as `[stamp] #room body`: a room line that named no room
/// (it was said in the room talked in then), for when it is shown later.
fn with_room(line: &str, room: &str) -> String {
    match line.split_once("] ") {
        Some((stamp, body)) if !room.is_empty() => format!("{stamp}] #{room} {body}"),
        _ => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAMP: &str = "[Mon Nov 30 17:00:00 2026]";

    fn feed(catchup: &mut Catchup, lines: &[String]) -> Outcome {
        let mut all = Outcome::default();
        for line in lines {
            let outcome = catchup.on_line(line);
            all.show.extend(outcome.show);
            all.send.extend(outcome.send);
        }
        all
    }

    fn say(id: u64, text: &str) -> String {
        format!("{STAMP} #{id} <bob> {text}")
    }

    fn history(id: u64, text: &str) -> String {
        format!("{STAMP} #{id} (history) <bob> {text}")
    }

    fn notice(text: &str) -> String {
        format!("{STAMP} -!- {text}")
    }

    fn ids_on() -> String {
        notice("capability ids on: room lines read [stamp] #ID <nick> text")
    }

    #[test]
    fn a_reconnect_shows_what_was_missed_once_and_in_order() {
        let mut catchup = Catchup::new();
        let first = feed(
            &mut catchup,
            &[
                notice("Welcome, alice!"),
                notice("alice joined lobby"),
                ids_on(),
                notice("alice joined dev"),
                notice("alice left lobby"),
                say(1, "one"),
                say(2, "two"),
            ],
        );
        assert_eq!(
            first.show,
            [
                notice("Welcome, alice!"),
                notice("alice joined lobby"),
                notice("alice joined dev"),
                notice("alice left lobby"),
                format!("{STAMP} <bob> one"),
                format!("{STAMP} <bob> two"),
            ]
        );
        assert_eq!(
            catchup.reconnected(),
            [
                "/cap ids",
                "/nick alice",
                "/join dev",
                "/cap ids",
                "/history since 2",
                "/cap ids"
            ]
        );
        // Lines 3 to 6 were said while away; 7 is said during the catch-up.
        let again = feed(
            &mut catchup,
            &[
                notice("Welcome, guest9!"),
                notice("guest9 joined lobby"),
                format!("{STAMP} (history) <bob> lobby talk, before ids are on"),
                history(1, "lobby talk"),
                ids_on(),
                notice("guest9 is now known as alice"),
                notice("alice joined dev"),
                history(2, "two"),
                history(5, "five"),
                history(6, "six"),
                say(7, "seven"),
                ids_on(),
                history(3, "three"),
                history(4, "four"),
                notice("more: /history since 4"),
                ids_on(),
            ],
        );
        assert_eq!(
            again.send,
            ["/history since 4", "/cap ids"].map(String::from)
        );
        let last = feed(
            &mut catchup,
            &[
                history(5, "five"),
                history(6, "six"),
                say(7, "seven"),
                ids_on(),
                say(8, "eight"),
                say(7, "seven"),
            ],
        );
        let shown: Vec<String> = again.show.into_iter().chain(last.show).collect();
        let said: Vec<&str> = shown
            .iter()
            .filter_map(|line| line.rsplit_once("> ").map(|(_, text)| text))
            .collect();
        assert_eq!(said, ["three", "four", "five", "six", "seven", "eight"]);
        assert!(shown.iter().all(|line| !line.contains(" #")), "{shown:?}");
    }

    #[test]
    fn without_ids_a_reconnect_rejoins_and_shows_the_history_as_it_comes() {
        let mut catchup = Catchup::new();
        let refusal = notice("error: message ids and search need the history file");
        let first = feed(
            &mut catchup,
            &[notice("Welcome, alice!"), refusal.clone(), notice("plain")],
        );
        assert_eq!(first.show.len(), 3, "the refusal is shown once: {first:?}");
        assert_eq!(catchup.reconnected(), ["/cap ids", "/nick alice"]);
        let again = feed(
            &mut catchup,
            &[
                refusal,
                format!("{STAMP} (history) <bob> said before"),
                format!("{STAMP} <bob> live"),
            ],
        );
        assert_eq!(
            again.show,
            [
                format!("{STAMP} (history) <bob> said before"),
                format!("{STAMP} <bob> live"),
            ]
        );
    }

    #[test]
    fn a_line_held_from_a_room_talked_in_then_names_it_when_shown_after_another_is() {
        let mut catchup = Catchup::new();
        feed(
            &mut catchup,
            &[
                notice("Welcome, alice!"),
                notice("alice joined lobby"),
                ids_on(),
                notice("alice joined dev"),
                say(1, "d1"),
                notice("now talking in lobby"),
            ],
        );
        catchup.reconnected();
        feed(
            &mut catchup,
            &[
                notice("Welcome, guest9!"),
                notice("guest9 joined lobby"),
                ids_on(),
                notice("guest9 is now known as alice"),
                notice("error: you are already in lobby"),
                ids_on(),
            ],
        );
        // Dev is talked in while it is rejoined: its live line names no
        // room, and waits for the catch-up to end.
        let dev = feed(
            &mut catchup,
            &[notice("alice joined dev"), say(2, "d2"), ids_on(), ids_on()],
        );
        assert_eq!(dev.send, ["/join lobby"].map(String::from));
        assert_eq!(
            dev.show.last().map(String::as_str),
            Some(format!("{STAMP} #dev <bob> d2").as_str())
        );
    }

    #[test]
    fn a_reconnect_rejoins_every_room_one_after_the_other() {
        let mut catchup = Catchup::new();
        let first = feed(
            &mut catchup,
            &[
                notice("Welcome, alice!"),
                notice("alice joined lobby"),
                ids_on(),
                say(1, "l1"),
                notice("alice joined dev"),
                say(2, "d2"),
                format!("{STAMP} #3 #lobby <bob> l3"),
                notice("now talking in lobby"),
            ],
        );
        assert_eq!(first.show.len(), 7, "{first:?}");
        assert_eq!(catchup.seat(), (Some("alice"), vec!["lobby", "dev"]));
        assert_eq!(
            catchup.reconnected(),
            [
                "/cap ids",
                "/nick alice",
                "/join lobby",
                "/cap ids",
                "/history since 3",
                "/cap ids"
            ]
        );
        // The server put the new connection in lobby: the rejoin of lobby
        // is refused, quietly. Lines 4 to 7 are said while catching up.
        let lobby = feed(
            &mut catchup,
            &[
                notice("Welcome, guest9!"),
                notice("guest9 joined lobby"),
                format!("{STAMP} (history) <bob> l1"),
                ids_on(),
                notice("guest9 is now known as alice"),
                notice("error: you are already in lobby"),
                ids_on(),
                history(4, "l4"),
                say(6, "l6"),
                ids_on(),
            ],
        );
        // Dev's turn comes once lobby's pages are done.
        assert_eq!(
            lobby.send,
            ["/join dev", "/cap ids", "/history since 2", "/cap ids"].map(String::from)
        );
        let dev = feed(
            &mut catchup,
            &[
                notice("alice joined dev"),
                history(2, "d2"),
                history(5, "d5"),
                format!("{STAMP} #7 #lobby <bob> l7"),
                ids_on(),
                history(5, "d5"),
                ids_on(),
                say(8, "d8"),
                format!("{STAMP} #7 #lobby <bob> l7"),
            ],
        );
        // Back to the room talked in before.
        assert_eq!(dev.send, ["/join lobby"].map(String::from));
        let shown: Vec<String> = lobby.show.into_iter().chain(dev.show).collect();
        let said: Vec<&str> = shown
            .iter()
            .filter_map(|line| line.rsplit_once("> ").map(|(_, text)| text))
            .collect();
        assert_eq!(said, ["l4", "d5", "l6", "l7", "d8"], "{shown:?}");
        assert!(
            !shown.iter().any(|line| line.contains("already in")),
            "{shown:?}"
        );
    }
}
