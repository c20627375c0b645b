//! Interactive mode: a full-screen chat interface when stdin and stdout are
//! both terminals.
//!
//! Three threads: the terminal-input thread and the socket reader
//! ([`net`]) send [`Event`]s to the main thread, which updates the state
//! ([`app`]), writes to the server and redraws ([`view`]). Messages scroll
//! above the input line and never touch what is being typed, because the
//! whole screen is redrawn from state (ratatui only sends the cells that
//! changed).
//!
//! The terminal is restored on every way out: `/quit`, Ctrl-C, Ctrl-D on an
//! empty line, an error, and a panic (ratatui's init installs a panic hook
//! that restores the terminal before the panic message is printed).

mod app;
mod complete;
mod history;
mod net;
mod theme;
mod view;
mod windows;

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use ratatui::DefaultTerminal;
use ratatui::crossterm::event;

use self::app::{Action, App, ConnState};
use self::history::History;
use self::net::NetEvent;
use self::theme::Theme;
pub(crate) use self::theme::parse_time_format;
use crate::account::Account;
use crate::catchup::Catchup;
use crate::connect::{Connector, Stream};
use crate::error::{Error, Result};
use crate::password::Password;

/// How long `/quit` waits for the server to close before leaving anyway.
const QUIT_WAIT: Duration = Duration::from_secs(2);

/// The main thread's inputs.
#[derive(Debug)]
pub(crate) enum Event {
    Term(event::Event),
    TermFailed(String),
    Net(NetEvent),
}

/// What the command line chose for the interactive mode.
#[derive(Debug)]
pub(crate) struct Options {
    /// Where to reconnect to (and how).
    pub(crate) connector: Connector,
    /// Sent as `/pass` first, and again after each reconnect.
    pub(crate) password: Option<Password>,
    /// `--insecure`: repeat the warning on screen.
    pub(crate) insecure: bool,
    pub(crate) nick: Option<String>,
    /// `--account`: logged in on every connection.
    pub(crate) account: Option<Account>,
    pub(crate) colors: bool,
    pub(crate) time_format: String,
    pub(crate) history: bool,
    pub(crate) reconnect: bool,
}

/// Run the interface on a connected socket until the user leaves.
pub(crate) fn run(stream: Stream, peer: SocketAddr, options: Options) -> Result<()> {
    let (events, inbox) = mpsc::channel();
    let writer = stream
        .try_clone()
        .map_err(|err| Error::new(format!("cannot share the socket to {peer}: {err}")))?;
    let target = options.reconnect.then(|| options.connector.clone());
    net::spawn(stream, target, events.clone())?;

    let history = History::load(options.history.then(history::default_path).flatten());
    let mut app = App::new(peer.to_string(), options.time_format.clone(), history);
    let theme = Theme {
        colors: options.colors,
    };
    let mut session = Session {
        writer: Some(writer),
        peer,
        catchup: options.reconnect.then(Catchup::new),
        password: options.password,
        account: options.account,
    };
    if options.insecure {
        app.say_local(crate::tls::INSECURE_WARNING);
    }
    session.send_password(&mut app);
    session.send_login(&mut app);
    if session.catchup.is_some() {
        for line in Catchup::first_lines() {
            session.send(&mut app, &line);
        }
    }
    if let Some(nick) = &options.nick {
        session.send(&mut app, &format!("/nick {nick}"));
    }

    let mut terminal = ratatui::try_init()
        .map_err(|err| Error::new(format!("cannot set up the terminal: {err}")))?;
    spawn_input(events)?;
    let result = event_loop(&mut terminal, &mut app, &mut session, theme, &inbox);
    ratatui::restore();
    result
}

/// The write side of the connection (replaced on reconnect).
struct Session {
    writer: Option<Stream>,
    peer: SocketAddr,
    /// `--reconnect`: the reader will try again after a drop, and this
    /// catches up on what was missed.
    catchup: Option<Catchup>,
    password: Option<Password>,
    account: Option<Account>,
}

impl Session {
    /// `/pass SECRET`, first thing on every connection.
    fn send_password(&mut self, app: &mut App) {
        if let Some(command) = self.password.as_ref().map(Password::command) {
            self.send(app, &command);
        }
    }

    /// `/login` (or `/resume` with a token), after `/pass`; whether one
    /// was sent.
    fn send_login(&mut self, app: &mut App) -> bool {
        let Some(login) = self.account.as_mut().and_then(Account::login_line) else {
            return false;
        };
        self.send(app, &login);
        true
    }

    fn send(&mut self, app: &mut App, line: &str) {
        let Some(writer) = self.writer.as_mut() else {
            app.say_local("not connected: line not sent");
            return;
        };
        let mut message = line.as_bytes().to_vec();
        message.push(b'\n');
        if let Err(err) = writer.write_all(&message) {
            app.say_local(format!("cannot send to {}: {err}", self.peer));
            self.writer = None;
        }
    }
}

/// The terminal-input thread: every key and resize, in order.
fn spawn_input(events: Sender<Event>) -> Result<()> {
    thread::Builder::new()
        .name("terminal-input".to_owned())
        .spawn(move || {
            loop {
                let event = match event::read() {
                    Ok(event) => Event::Term(event),
                    Err(err) => Event::TermFailed(err.to_string()),
                };
                let failed = matches!(event, Event::TermFailed(_));
                if events.send(event).is_err() || failed {
                    return;
                }
            }
        })
        .map(drop)
        .map_err(|err| Error::new(format!("cannot start the terminal reader: {err}")))
}

fn event_loop(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    session: &mut Session,
    theme: Theme,
    inbox: &Receiver<Event>,
) -> Result<()> {
    let mut quit_deadline: Option<Instant> = None;
    loop {
        terminal
            .draw(|frame| view::draw(frame, app, theme))
            .map_err(|err| Error::new(format!("cannot draw on the terminal: {err}")))?;
        let first = match inbox.recv_timeout(Duration::from_millis(250)) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => {
                if quit_deadline.is_some_and(|deadline| Instant::now() > deadline) {
                    return Ok(());
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        // Take everything that is waiting before drawing again.
        for event in std::iter::once(first).chain(inbox.try_iter().take(1000)) {
            match handle(event, app, session)? {
                Flow::Go => {}
                Flow::Quit => return Ok(()),
            }
        }
        if app.quitting && quit_deadline.is_none() {
            quit_deadline = Some(Instant::now() + QUIT_WAIT);
        }
    }
}

enum Flow {
    Go,
    Quit,
}

fn handle(event: Event, app: &mut App, session: &mut Session) -> Result<Flow> {
    match event {
        Event::Term(event) => match app.on_event(&event) {
            Action::None => {}
            Action::Send(lines) => lines.iter().for_each(|line| session.send(app, line)),
            Action::Quit => return Ok(Flow::Quit),
        },
        Event::TermFailed(err) => {
            return Err(Error::new(format!("cannot read the terminal: {err}")));
        }
        // Tokens only where there are reconnects to use them.
        Event::Net(NetEvent::Line(line))
            if session.catchup.is_some() && account_step(session, app, &line) => {}
        Event::Net(NetEvent::Line(line)) => match session.catchup.as_mut() {
            None => app.on_line(&line),
            Some(catchup) => {
                let outcome = catchup.on_line(&line);
                outcome.show.iter().for_each(|line| app.on_line(line));
                outcome.send.iter().for_each(|line| session.send(app, line));
            }
        },
        Event::Net(NetEvent::Closed(error)) => {
            session.writer = None;
            if app.quitting {
                return Ok(Flow::Quit);
            }
            app.conn = ConnState::Disconnected;
            let what = match error {
                Some(error) => format!("connection to {} lost: {error}", session.peer),
                None => format!("{} closed the connection", session.peer),
            };
            if session.catchup.is_some() {
                app.say_local(what);
            } else {
                app.say_local(format!("{what} (Ctrl-C to leave)"));
            }
        }
        Event::Net(NetEvent::Reconnecting {
            attempt,
            delay,
            error,
        }) => {
            app.conn = ConnState::Reconnecting { attempt };
            if let Some(error) = error {
                app.say_local(format!("reconnect failed: {error}"));
            }
            app.say_local(format!(
                "reconnecting in {}s (attempt {attempt})",
                delay.as_secs()
            ));
        }
        Event::Net(NetEvent::Connected(writer, addr)) => {
            session.writer = Some(writer);
            session.peer = addr;
            app.server = addr.to_string();
            app.conn = ConnState::Connected;
            app.reconnected();
            let Some(catchup) = session.catchup.as_mut() else {
                return Ok(Flow::Go);
            };
            let (nick, rooms) = catchup.seat();
            let how = match nick {
                Some(nick) if !rooms.is_empty() => {
                    let rooms: Vec<String> = rooms.iter().map(|room| format!("#{room}")).collect();
                    format!("; rejoining {} as {nick}", rooms.join(" "))
                }
                _ => String::new(),
            };
            let rejoin = catchup.reconnected();
            app.say_local(format!("reconnected to {addr}{how}"));
            session.send_password(app);
            // The login brings the account's nick: no /nick, refused before it.
            let logging_in = session.send_login(app);
            for line in rejoin {
                if !(logging_in && line.starts_with("/nick ")) {
                    session.send(app, &line);
                }
            }
        }
    }
    Ok(Flow::Go)
}

/// A server line for the account (`--account` with `--reconnect`): what it
/// asks sent; whether it is hidden (the token).
fn account_step(session: &mut Session, app: &mut App, line: &str) -> bool {
    let Some(account) = session.account.as_mut() else {
        return false;
    };
    let step = account.on_line(line);
    if let Some(command) = step.send {
        session.send(app, &command);
    }
    step.hide
}
