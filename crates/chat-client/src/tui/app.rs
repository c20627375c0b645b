//! The interface's state and what each key and each server line does to it.
//!
//! No I/O here: the event loop ([`super::run`]) feeds keys and lines in and
//! carries out the [`Action`]s that come back, and [`super::view`] draws the
//! state. That keeps every behaviour testable without a terminal.

use std::collections::{BTreeMap, VecDeque};

use chat_proto::{Body, Notice, parse_line};
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tui_input::backend::crossterm::EventHandler as _;
use tui_input::{Input, InputRequest};

use super::complete::Completion;
use super::history::History;
use super::theme;

/// How many lines the scrollback keeps.
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

/// The connection as the status line tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConnState {
    Connected,
    Reconnecting { attempt: u32 },
    Disconnected,
}

/// What the event loop must do after a key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Action {
    None,
    /// Send this line to the server.
    Send(String),
    /// Leave now.
    Quit,
}

/// Everything on screen.
#[derive(Debug)]
pub(crate) struct App {
    /// The server's address, for the status line.
    pub(crate) server: String,
    pub(crate) nick: Option<String>,
    pub(crate) room: Option<String>,
    pub(crate) conn: ConnState,
    pub(crate) entries: VecDeque<Entry>,
    /// How many screen rows the view is scrolled up from the bottom.
    pub(crate) scroll: usize,
    /// The height of the message area at the last draw (for PageUp/Down).
    pub(crate) page: usize,
    pub(crate) input: Input,
    pub(crate) history: History,
    completion: Option<Completion>,
    /// Nicks seen in my room: lowercase key -> as written.
    nicks: BTreeMap<String, String>,
    time_format: String,
    /// `/quit` was sent: the server's close ends the client.
    pub(crate) quitting: bool,
}

impl App {
    pub(crate) fn new(server: String, time_format: String, history: History) -> Self {
        Self {
            server,
            nick: None,
            room: None,
            conn: ConnState::Connected,
            entries: VecDeque::new(),
            scroll: 0,
            page: 10,
            input: Input::default(),
            history,
            completion: None,
            nicks: BTreeMap::new(),
            time_format,
            quitting: false,
        }
    }

    /// The nicks known in my room, as written, sorted case-insensitively.
    #[cfg(test)]
    pub(crate) fn nicks(&self) -> impl Iterator<Item = &str> {
        self.nicks.values().map(String::as_str)
    }

    fn add_nick(&mut self, nick: &str) {
        self.nicks
            .insert(nick.to_ascii_lowercase(), nick.to_owned());
    }

    fn remove_nick(&mut self, nick: &str) {
        self.nicks.remove(&nick.to_ascii_lowercase());
    }

    fn is_me(&self, nick: &str) -> bool {
        self.nick
            .as_deref()
            .is_some_and(|me| me.eq_ignore_ascii_case(nick))
    }

    fn push(&mut self, entry: Entry) {
        if self.scroll > 0 {
            // Keep the view where the reader left it.
            self.scroll += 1;
        }
        self.entries.push_back(entry);
        if self.entries.len() > SCROLLBACK {
            self.entries.pop_front();
        }
    }

    /// Show a remark of the client's own (not from the server).
    pub(crate) fn say_local(&mut self, text: impl Into<String>) {
        let time = theme::now(&self.time_format);
        self.push(Entry {
            time,
            kind: Kind::Local { text: text.into() },
            mention: false,
        });
    }

    /// Take in one line from the server (without its line end).
    pub(crate) fn on_line(&mut self, line: &str) {
        let Ok(parsed) = parse_line(line) else {
            self.push(Entry {
                time: String::new(),
                kind: Kind::Raw {
                    text: line.to_owned(),
                },
                mention: false,
            });
            return;
        };
        let time = theme::local_time(parsed.stamp, &self.time_format);
        let kind = match parsed.body {
            Body::Message { nick, text } | Body::Action { nick, text } => {
                self.add_nick(nick);
                Kind::Chat {
                    nick: nick.to_owned(),
                    text: text.to_owned(),
                    action: matches!(parsed.body, Body::Action { .. }),
                    own: self.is_me(nick),
                }
            }
            // Said before I came: shown like room talk (the nick may be gone).
            Body::History { nick, text, action } => Kind::Chat {
                nick: nick.to_owned(),
                text: text.to_owned(),
                action,
                own: self.is_me(nick),
            },
            Body::Private { from, text } => Kind::Private {
                nick: from.to_owned(),
                text: text.to_owned(),
                sent: false,
            },
            Body::PrivateSent { to, text } => Kind::Private {
                nick: to.to_owned(),
                text: text.to_owned(),
                sent: true,
            },
            Body::Operator { name, text } => Kind::Operator {
                name: name.to_owned(),
                text: text.to_owned(),
            },
            Body::Notice(notice) => {
                self.on_notice(&notice);
                Kind::Notice {
                    text: Body::Notice(notice).to_string().split_off("-!- ".len()),
                    error: matches!(notice, Notice::Error { .. }),
                }
            }
        };
        let mention = match &kind {
            Kind::Chat { text, own, .. } => {
                !own && self
                    .nick
                    .as_deref()
                    .is_some_and(|me| theme::mentions(text, me))
            }
            Kind::Private { sent, .. } => !sent,
            _ => false,
        };
        self.push(Entry {
            time,
            kind,
            mention,
        });
    }

    /// Learn my nick, my room and who is in it from a notice.
    fn on_notice(&mut self, notice: &Notice<'_>) {
        match *notice {
            Notice::Welcome { nick, .. } => self.nick = Some(nick.to_owned()),
            Notice::Joined { nick, room } => {
                if self.is_me(nick) {
                    self.room = Some(room.to_owned());
                    self.nicks.clear();
                }
                self.add_nick(nick);
            }
            Notice::Left { nick, .. } => self.remove_nick(nick),
            Notice::Talking { room } => self.room = Some(room.to_owned()),
            Notice::NickChanged { old, new } => {
                if self.is_me(old) {
                    self.nick = Some(new.to_owned());
                }
                self.remove_nick(old);
                self.add_nick(new);
            }
            Notice::Members { room, nicks, .. } => {
                if self
                    .room
                    .as_deref()
                    .is_none_or(|mine| mine.eq_ignore_ascii_case(room))
                {
                    self.nicks.clear();
                    for nick in nicks.split(' ').filter(|nick| *nick != "..") {
                        if !nick.is_empty() && nick != "..." {
                            self.add_nick(nick);
                        }
                    }
                }
            }
            Notice::Rooms { .. }
            | Notice::Topic { .. }
            | Notice::Error { .. }
            | Notice::Info { .. } => {}
        }
    }

    /// Show what I sent to the room (the server does not echo it back).
    fn echo_own(&mut self, line: &str) {
        let (text, action) = if let Some(text) = line.strip_prefix("//") {
            (format!("/{text}"), false)
        } else if let Some(text) = line.strip_prefix("/me ") {
            (text.to_owned(), true)
        } else if line.starts_with('/') {
            return;
        } else {
            (line.to_owned(), false)
        };
        let time = theme::now(&self.time_format);
        let nick = self.nick.clone().unwrap_or_else(|| "me".to_owned());
        self.push(Entry {
            time,
            kind: Kind::Chat {
                nick,
                text,
                action,
                own: true,
            },
            mention: false,
        });
    }

    fn set_input(&mut self, value: String, cursor: usize) {
        self.input = Input::new(value).with_cursor(cursor);
    }

    /// Handle one terminal event.
    pub(crate) fn on_event(&mut self, event: &Event) -> Action {
        let Event::Key(key) = event else {
            return Action::None;
        };
        if !matches!(key.kind, KeyEventKind::Press | KeyEventKind::Repeat) {
            return Action::None;
        }
        if key.code != KeyCode::Tab {
            self.completion = None;
        }
        self.on_key(key, event)
    }

    fn on_key(&mut self, key: &KeyEvent, event: &Event) -> Action {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Char('c') if ctrl => return Action::Quit,
            KeyCode::Char('d') if ctrl && self.input.value().is_empty() => return Action::Quit,
            KeyCode::Char('d') if ctrl => {
                self.input.handle(InputRequest::DeleteNextChar);
            }
            KeyCode::Char('b') if alt => {
                self.input.handle(InputRequest::GoToPrevWord);
            }
            KeyCode::Char('f') if alt => {
                self.input.handle(InputRequest::GoToNextWord);
            }
            KeyCode::Enter => return self.submit(),
            KeyCode::Up => {
                let current = self.input.value().to_owned();
                if let Some(line) = self.history.prev(&current).map(str::to_owned) {
                    let end = line.chars().count();
                    self.set_input(line, end);
                }
            }
            KeyCode::Down => {
                if let Some(line) = self.history.next() {
                    let end = line.chars().count();
                    self.set_input(line, end);
                }
            }
            KeyCode::PageUp => self.scroll += self.page.saturating_sub(1).max(1),
            KeyCode::PageDown => {
                self.scroll = self
                    .scroll
                    .saturating_sub(self.page.saturating_sub(1).max(1));
            }
            KeyCode::Tab => self.complete(),
            _ => {
                self.input.handle_event(event);
            }
        }
        Action::None
    }

    fn complete(&mut self) {
        if let Some(completion) = self.completion.as_mut() {
            completion.cycle();
        } else {
            let me = self.nick.as_deref().map(str::to_ascii_lowercase);
            let nicks: Vec<&str> = self
                .nicks
                .iter()
                .filter(|(key, _)| me.as_deref() != Some(key.as_str()))
                .map(|(_, nick)| nick.as_str())
                .collect();
            self.completion = Completion::start(self.input.value(), self.input.cursor(), nicks);
        }
        if let Some((line, cursor)) = self.completion.as_ref().map(Completion::line) {
            self.set_input(line, cursor);
        }
    }

    fn submit(&mut self) -> Action {
        let line = self.input.value_and_reset();
        self.history.push(&line);
        self.scroll = 0;
        if line.trim().is_empty() {
            return Action::None;
        }
        let command = line.split(' ').next().unwrap_or("").to_ascii_lowercase();
        if command == "/quit" {
            self.quitting = true;
            if self.conn != ConnState::Connected {
                return Action::Quit;
            }
        }
        if self.conn != ConnState::Connected {
            self.say_local("not connected: line not sent");
            return Action::None;
        }
        self.echo_own(&line);
        Action::Send(line)
    }
}

#[cfg(test)]
mod tests {
    use ratatui::crossterm::event::{KeyEvent, KeyModifiers};

    use super::*;

    fn app() -> App {
        App::new(
            "127.0.0.1:1".to_owned(),
            "%H:%M".to_owned(),
            History::load(None),
        )
    }

    fn key(app: &mut App, code: KeyCode, modifiers: KeyModifiers) -> Action {
        app.on_event(&Event::Key(KeyEvent::new(code, modifiers)))
    }

    fn typed(app: &mut App, text: &str) {
        for c in text.chars() {
            key(app, KeyCode::Char(c), KeyModifiers::NONE);
        }
    }

    #[test]
    fn notices_teach_nick_room_and_members() {
        let mut app = app();
        app.on_line("[Tue Nov 24 21:03:31 2026] -!- Welcome, guest1! hi");
        app.on_line("[Tue Nov 24 21:03:31 2026] -!- guest1 joined lobby");
        app.on_line("[Tue Nov 24 21:03:31 2026] -!- guest1 is now known as alice");
        app.on_line("[Tue Nov 24 21:03:32 2026] -!- members of lobby (3): alice bob Carol");
        app.on_line("[Tue Nov 24 21:03:33 2026] -!- dave joined lobby");
        app.on_line("[Tue Nov 24 21:03:34 2026] -!- bob left lobby (quit)");
        assert_eq!(app.nick.as_deref(), Some("alice"));
        assert_eq!(app.room.as_deref(), Some("lobby"));
        assert_eq!(app.nicks().collect::<Vec<_>>(), ["alice", "Carol", "dave"]);
        app.on_line("[Tue Nov 24 21:03:35 2026] <dave> hey ALICE");
        assert!(app.entries.back().is_some_and(|entry| entry.mention));
    }

    #[test]
    fn enter_sends_echoes_and_remembers() {
        let mut app = app();
        typed(&mut app, "hello");
        assert_eq!(
            key(&mut app, KeyCode::Enter, KeyModifiers::NONE),
            Action::Send("hello".to_owned())
        );
        assert!(matches!(
            app.entries.back().map(|entry| &entry.kind),
            Some(Kind::Chat { own: true, .. })
        ));
        key(&mut app, KeyCode::Up, KeyModifiers::NONE);
        assert_eq!(app.input.value(), "hello");
        typed(&mut app, " there");
        key(&mut app, KeyCode::Char('a'), KeyModifiers::CONTROL);
        key(&mut app, KeyCode::Char('f'), KeyModifiers::ALT);
        key(&mut app, KeyCode::Char('w'), KeyModifiers::CONTROL);
        assert_eq!(app.input.value(), "there");
    }

    #[test]
    fn ctrl_d_quits_only_on_an_empty_line() {
        let mut app = app();
        typed(&mut app, "ab");
        key(&mut app, KeyCode::Home, KeyModifiers::NONE);
        assert_eq!(
            key(&mut app, KeyCode::Char('d'), KeyModifiers::CONTROL),
            Action::None
        );
        assert_eq!(app.input.value(), "b");
        key(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
        key(&mut app, KeyCode::Char('k'), KeyModifiers::CONTROL);
        assert_eq!(
            key(&mut app, KeyCode::Char('d'), KeyModifiers::CONTROL),
            Action::Quit
        );
    }

    #[test]
    fn tab_completes_nicks_but_not_mine() {
        let mut app = app();
        app.on_line("[Tue Nov 24 21:03:31 2026] -!- Welcome, bobby!");
        app.on_line("[Tue Nov 24 21:03:31 2026] <bob> hi");
        typed(&mut app, "b");
        key(&mut app, KeyCode::Tab, KeyModifiers::NONE);
        assert_eq!(app.input.value(), "bob: ");
    }
}
