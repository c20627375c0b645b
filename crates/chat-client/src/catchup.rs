//! `--reconnect`: after a dropped connection, get the nick and room back
//! and show what was said meanwhile exactly once, in every mode.
//!
//! With `--reconnect` the client asks for message ids (`/cap ids`, see
//! PROTOCOL.md) on every connection and remembers the newest room line it
//! showed. On a reconnect it sends, in this order:
//!
//! ```text
//! /cap ids · /nick NICK · /join ROOM · /cap ids · /history since LAST · /cap ids
//! ```
//!
//! The server answers in order, so each `/cap ids` reply is a marker. The
//! history the server replays on joining comes before the second marker
//! and is dropped: it would repeat what was shown, or leave a gap before
//! what `/history since` sends. Lines after `LAST` come before the third
//! marker and are shown, page after page (a `more: /history since ID`
//! notice is followed up at once). Room lines said meanwhile wait until
//! the catch-up is done, then go out unless already shown. From then on a
//! room line whose id was shown is never shown again.
//!
//! Ids are stripped before a line is shown: the output is what a client
//! without ids would print. A server without message ids (history in
//! memory, or a cluster) refuses `/cap ids`; then a reconnect rejoins the
//! nick and room and shows the room's history on joining as it is.

use std::collections::VecDeque;

use chat_proto::{Body, Notice, parse_line, split_message_id};

/// Asks for message ids; its reply is the catch-up's marker.
pub(crate) const ASK_IDS: &str = "/cap ids";

/// Room lines held while catching up; past this they go out as they come.
const HELD_MAX: usize = 10_000;

/// Where the catch-up is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Showing lines as they come (dropping room lines already shown).
    Live,
    /// Rejoined; `markers` replies to `/cap ids` still to come before the
    /// history `/history since` sends (history before them is dropped).
    Rejoining { markers: u32 },
    /// Showing what `/history since` sends, until the next marker.
    Paging,
}

/// What a connection's lines mean for the catch-up.
#[derive(Debug)]
pub(crate) struct Catchup {
    /// My nick and room, as the server last named them.
    nick: Option<String>,
    room: Option<String>,
    /// The server numbers room lines (it accepted `/cap ids`).
    ids: Option<bool>,
    /// The newest room line shown.
    last_id: Option<u64>,
    phase: Phase,
    /// `/history since ID` the last page asked for.
    more: Option<u64>,
    /// Room lines said while catching up, with their ids.
    held: VecDeque<(u64, String)>,
}

/// What to do with one line from the server.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Lines to show, in order (ids stripped).
    pub(crate) show: Vec<String>,
    /// Lines to send to the server.
    pub(crate) send: Vec<String>,
}

impl Catchup {
    pub(crate) fn new() -> Catchup {
        Catchup {
            nick: None,
            room: None,
            ids: None,
            last_id: None,
            phase: Phase::Live,
            more: None,
            held: VecDeque::new(),
        }
    }

    /// What to send first on a new connection (after `/pass`).
    pub(crate) fn first_lines() -> Vec<String> {
        vec![ASK_IDS.to_owned()]
    }

    /// What to send after a reconnect (after `/pass`), to get the nick and
    /// room back and what was said meanwhile.
    pub(crate) fn reconnected(&mut self) -> Vec<String> {
        let mut lines = vec![ASK_IDS.to_owned()];
        lines.extend(self.nick.iter().map(|nick| format!("/nick {nick}")));
        lines.extend(self.room.iter().map(|room| format!("/join {room}")));
        self.held.clear();
        self.more = None;
        match self.last_id {
            Some(last) if self.ids != Some(false) => {
                lines.push(ASK_IDS.to_owned());
                lines.push(format!("/history since {last}"));
                lines.push(ASK_IDS.to_owned());
                self.phase = Phase::Rejoining { markers: 2 };
            }
            // Nothing shown yet, or no ids: the history on joining is all
            // there is to go on.
            _ => self.phase = Phase::Live,
        }
        lines
    }

    /// The nick and room this client will rejoin, if it knows them.
    pub(crate) fn seat(&self) -> (Option<&str>, Option<&str>) {
        (self.nick.as_deref(), self.room.as_deref())
    }

    /// One line from the server (without its line end).
    pub(crate) fn on_line(&mut self, line: &str) -> Outcome {
        let mut outcome = Outcome::default();
        let (id, plain) = split_message_id(line);
        let Ok(parsed) = parse_line(&plain) else {
            outcome.show.push(plain.into_owned());
            return outcome;
        };
        match parsed.body {
            Body::Notice(notice) => {
                if self.on_notice(&notice, &mut outcome) {
                    outcome.show.push(plain.into_owned());
                }
            }
            Body::History { .. } => match (self.phase, id) {
                // The rooms' history on reconnecting and rejoining (the
                // first comes before ids are on): dropped (see the top).
                (Phase::Rejoining { .. }, _) => {}
                (Phase::Paging, Some(id)) => {
                    if self.last_id.is_none_or(|last| id > last) {
                        self.last_id = Some(id);
                        outcome.show.push(plain.into_owned());
                    }
                }
                _ => outcome.show.push(plain.into_owned()),
            },
            Body::Message { .. } | Body::Action { .. } => match id {
                Some(id) if self.phase != Phase::Live && self.held.len() < HELD_MAX => {
                    self.held.push_back((id, plain.into_owned()));
                }
                Some(id) => {
                    if self.last_id.is_none_or(|last| id > last) {
                        self.last_id = Some(id);
                        outcome.show.push(plain.into_owned());
                    }
                }
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
                self.room = Some((*room).to_owned());
            }
            Notice::Info { text } if text.starts_with("capability ids on") => {
                self.ids = Some(true);
                self.marker(outcome);
                return false;
            }
            Notice::Error { text } if text.starts_with("message ids") => {
                // No ids here: nothing to page through.
                let first = self.ids.is_none();
                self.ids = Some(false);
                self.phase = Phase::Live;
                return first;
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
        self.phase = match self.phase {
            Phase::Live => Phase::Live,
            Phase::Rejoining { markers } if markers > 1 => Phase::Rejoining {
                markers: markers - 1,
            },
            Phase::Rejoining { .. } => Phase::Paging,
            Phase::Paging => match self.more.take() {
                Some(after) => {
                    outcome.send.push(format!("/history since {after}"));
                    outcome.send.push(ASK_IDS.to_owned());
                    Phase::Paging
                }
                None => Phase::Live,
            },
        };
        if self.phase == Phase::Live {
            for (id, line) in std::mem::take(&mut self.held) {
                if self.last_id.is_none_or(|last| id > last) {
                    self.last_id = Some(id);
                    outcome.show.push(line);
                }
            }
        }
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
}
