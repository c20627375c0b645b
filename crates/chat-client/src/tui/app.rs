//! The interface's state and what each key and each server line does to it.
//!
//! No I/O here: the event loop ([`super::run`]) feeds keys and lines in and
//! carries out the [`Action`]s that come back, and [`super::view`] draws the
//! state. That keeps every behaviour testable without a terminal.

use chat_proto::{Body, Notice, parse_line, split_message_id};
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tui_input::backend::crossterm::EventHandler as _;
use tui_input::{Input, InputRequest};

use super::complete::Completion;
use super::history::History;
use super::theme;
pub(crate) use super::windows::{Entry, Kind};
use super::windows::{Window, Windows};

/// The connection as the status line tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConnState {
    Connected,
    Reconnecting { attempt: u32 },
    Disconnected,
}

/// Which window a server line goes to.
enum Route {
    /// Not shown: it answers a switch of windows the screen already shows.
    Hidden,
    /// The one shown: lines about no room.
    Shown,
    /// The room the server talks in: a room line that names no room.
    Talking,
    /// This room's (the one shown when it has no window).
    Room(String),
}

/// What the event loop must do after a key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Action {
    None,
    /// Send these lines to the server, in order.
    Send(Vec<String>),
    /// Leave now.
    Quit,
}

/// Everything on screen.
#[derive(Debug)]
pub(crate) struct App {
    /// The server's address, for the status line.
    pub(crate) server: String,
    pub(crate) nick: Option<String>,
    pub(crate) conn: ConnState,
    /// One scrollback per room; the view shows one of them.
    pub(crate) windows: Windows,
    /// The height of the message area at the last draw (for PageUp/Down).
    pub(crate) page: usize,
    pub(crate) input: Input,
    pub(crate) history: History,
    completion: Option<Completion>,
    time_format: String,
    /// `/quit` was sent: the server's close ends the client.
    pub(crate) quitting: bool,
}

impl App {
    pub(crate) fn new(server: String, time_format: String, history: History) -> Self {
        Self {
            server,
            nick: None,
            conn: ConnState::Connected,
            windows: Windows::default(),
            page: 10,
            input: Input::default(),
            history,
            completion: None,
            time_format,
            quitting: false,
        }
    }

    fn is_me(&self, nick: &str) -> bool {
        self.nick
            .as_deref()
            .is_some_and(|me| me.eq_ignore_ascii_case(nick))
    }

    /// Show a remark of the client's own (not from the server).
    pub(crate) fn say_local(&mut self, text: impl Into<String>) {
        let time = theme::now(&self.time_format);
        self.windows.push_to(
            None,
            Entry {
                time,
                kind: Kind::Local { text: text.into() },
                mention: false,
            },
        );
    }

    /// A new connection: what was sent on the old one is not answered.
    pub(crate) fn reconnected(&mut self) {
        self.windows.reconnected();
    }

    /// Take in one line from the server (without its line end).
    pub(crate) fn on_line(&mut self, line: &str) {
        // After a `/cap ids` of the user's own, room lines carry ids: shown
        // as without them.
        let (_, line) = split_message_id(line);
        let Ok(parsed) = parse_line(&line) else {
            let kind = Kind::Raw {
                text: line.into_owned(),
            };
            let (time, mention) = (String::new(), false);
            let entry = Entry {
                time,
                kind,
                mention,
            };
            self.windows.push_to(None, entry);
            return;
        };
        let time = theme::local_time(parsed.stamp, &self.time_format);
        let mut route = Route::Shown;
        let kind = match parsed.body {
            Body::Message { nick, text } | Body::Action { nick, text } => {
                // A line that names no room comes from the room the server
                // talks in.
                route = parsed
                    .room
                    .map_or(Route::Talking, |room| Route::Room(room.to_owned()));
                let own = self.is_me(nick);
                self.window_of(&route).add_nick(nick);
                Kind::Chat {
                    nick: nick.to_owned(),
                    text: text.to_owned(),
                    action: matches!(parsed.body, Body::Action { .. }),
                    own,
                }
            }
            // Said before I came (the nick may be gone): history comes
            // after a join, when the room joined is the one talked in, or
            // answers `/history` there.
            Body::History { nick, text, action } => {
                route = Route::Talking;
                Kind::Chat {
                    nick: nick.to_owned(),
                    text: text.to_owned(),
                    action,
                    own: self.is_me(nick),
                }
            }
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
                route = self.on_notice(&notice);
                Kind::Notice {
                    text: Body::Notice(notice).to_string().split_off("-!- ".len()),
                    error: matches!(notice, Notice::Error { .. }),
                }
            }
            // What the server writes, never what it is read back as.
            Body::Refusal(refusal) => Kind::Notice {
                text: format!("error: {refusal}"),
                error: true,
            },
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
        let entry = Entry {
            time,
            kind,
            mention,
        };
        match route {
            Route::Hidden => {}
            Route::Shown => self.windows.push_to(None, entry),
            Route::Talking => self.windows.push_untagged(entry),
            Route::Room(room) => self.windows.push_to(Some(&room), entry),
        }
    }

    /// The window a line routed so goes to.
    fn window_of(&mut self, route: &Route) -> &mut Window {
        match route {
            Route::Room(room) => self.windows.window_of(Some(room)),
            Route::Talking => self.windows.talking_window(),
            Route::Shown | Route::Hidden => self.windows.shown_mut(),
        }
    }

    /// Learn my nick, my rooms and who is in them from a notice; where
    /// the notice goes.
    fn on_notice(&mut self, notice: &Notice<'_>) -> Route {
        match *notice {
            Notice::Welcome { nick, .. } => {
                self.nick = Some(nick.to_owned());
                Route::Shown
            }
            Notice::Joined { nick, room } => {
                if self.is_me(nick) {
                    self.windows.joined(room);
                }
                if let Some(window) = self.windows.window_mut(room) {
                    window.add_nick(nick);
                }
                Route::Room(room.to_owned())
            }
            Notice::Left { nick, room, .. } => {
                if self.is_me(nick) {
                    // Its window is gone: told in the one shown now.
                    self.windows.left(room);
                    return Route::Shown;
                }
                if let Some(window) = self.windows.window_mut(room) {
                    window.remove_nick(nick);
                }
                Route::Room(room.to_owned())
            }
            Notice::Talking { room } => {
                if self.windows.talking(room) {
                    Route::Room(room.to_owned())
                } else {
                    Route::Hidden
                }
            }
            Notice::NickChanged { old, new } => {
                if self.is_me(old) {
                    self.nick = Some(new.to_owned());
                }
                for window in self.windows.iter_mut() {
                    if window.remove_nick(old) {
                        window.add_nick(new);
                    }
                }
                Route::Shown
            }
            Notice::Members { room, nicks, .. } => {
                if let Some(window) = self.windows.window_mut(room) {
                    window.clear_nicks();
                    for nick in nicks.split(' ') {
                        if !nick.is_empty() && nick != "..." {
                            window.add_nick(nick);
                        }
                    }
                }
                Route::Room(room.to_owned())
            }
            Notice::Topic { room, .. } | Notice::TopicSet { room, .. } => {
                Route::Room(room.to_owned())
            }
            Notice::Rooms { .. }
            | Notice::Error { .. }
            | Notice::Info { .. }
            | Notice::Closing { .. }
            | Notice::NowOperator
            | Notice::LoggedIn { .. }
            | Notice::LoggedOut { .. }
            | Notice::WhileAway { .. }
            | Notice::MarkedRead { .. }
            | Notice::LoginToken { .. } => Route::Shown,
            Notice::Unread { target, .. } => Route::Room(target.to_owned()),
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
        let kind = Kind::Chat {
            nick,
            text,
            action,
            own: true,
        };
        let mention = false;
        self.windows.push_to(
            None,
            Entry {
                time,
                kind,
                mention,
            },
        );
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
            KeyCode::PageUp => {
                self.windows.shown_mut().scroll += self.page.saturating_sub(1).max(1)
            }
            KeyCode::PageDown => {
                let window = self.windows.shown_mut();
                window.scroll = window
                    .scroll
                    .saturating_sub(self.page.saturating_sub(1).max(1));
            }
            // Alt-1 to Alt-9, and Alt-0 for the tenth, as in irssi.
            KeyCode::Char(digit @ '0'..='9') if alt => {
                let number = digit.to_digit(10).unwrap_or(0) as usize;
                let index = (number + 9) % 10;
                let join = self.windows.select(index);
                return self.switch(join);
            }
            KeyCode::Char('n') if ctrl => {
                let join = self.windows.select_next();
                return self.switch(join);
            }
            KeyCode::Char('p') if ctrl => {
                let join = self.windows.select_previous();
                return self.switch(join);
            }
            KeyCode::Tab => self.complete(),
            _ => {
                self.input.handle_event(event);
            }
        }
        Action::None
    }

    /// A window was shown: plain lines follow it, by a `/join` of its room
    /// (not while disconnected: the reconnect rejoins).
    fn switch(&mut self, join: Option<String>) -> Action {
        match join {
            Some(room) if self.conn == ConnState::Connected => {
                self.windows.switch_sent(&room);
                Action::Send(vec![format!("/join {room}")])
            }
            _ => Action::None,
        }
    }

    fn complete(&mut self) {
        if let Some(completion) = self.completion.as_mut() {
            completion.cycle();
        } else {
            let me = self.nick.as_deref().map(str::to_ascii_lowercase);
            let nicks: Vec<&str> = self
                .windows
                .shown()
                .nicks()
                .filter(|nick| me.as_deref() != Some(nick.to_ascii_lowercase().as_str()))
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
        self.windows.shown_mut().scroll = 0;
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
        let mut send = Vec::new();
        if !line.starts_with('/') || line.starts_with("//") || command == "/me" {
            // Said to the window shown, wherever the server talks now.
            if let Some(room) = self.windows.join_needed() {
                self.windows.switch_sent(&room);
                send.push(format!("/join {room}"));
            }
        }
        self.echo_own(&line);
        send.push(line);
        Action::Send(send)
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
        assert_eq!(app.windows.shown().room.as_deref(), Some("lobby"));
        let nicks: Vec<&str> = app.windows.shown().nicks().collect();
        assert_eq!(nicks, ["alice", "Carol", "dave"]);
        app.on_line("[Tue Nov 24 21:03:35 2026] <dave> hey ALICE");
        assert!(
            app.windows
                .shown()
                .entries
                .back()
                .is_some_and(|entry| entry.mention)
        );
    }

    #[test]
    fn enter_sends_echoes_and_remembers() {
        let mut app = app();
        typed(&mut app, "hello");
        assert_eq!(
            key(&mut app, KeyCode::Enter, KeyModifiers::NONE),
            Action::Send(vec!["hello".to_owned()])
        );
        assert!(matches!(
            app.windows.shown().entries.back().map(|entry| &entry.kind),
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
