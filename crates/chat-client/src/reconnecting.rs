//! Line mode (and `--json`) with `--reconnect`: the session outlives a
//! dropped connection.
//!
//! The reader thread owns the connection: it reads, shows what
//! [`Catchup`] lets through, and after a drop reconnects with backoff,
//! sends `/pass`, rejoins and catches up (see `catchup.rs`). The main
//! thread sends stdin lines through [`Link`]; a line typed while the
//! connection is down waits and goes out first thing after the reconnect,
//! so nothing typed is lost. At the end of stdin the session ends as
//! without `--reconnect`: the write side is closed and the reader exits
//! when the server closes.

use std::io::{self, BufRead as _, BufReader, Write as _};
use std::net::{Shutdown, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use crate::account::Account;
use crate::catchup::Catchup;
use crate::connect::{Connector, Stream};
use crate::error::{Error, Result};
use crate::reader::{self, Reader, WaitOutcome};
use crate::stdio::{self, InputLines};

/// The write side, shared by the stdin loop and the reader (which swaps it
/// after a reconnect).
#[derive(Default)]
struct Link {
    /// `None` while the connection is down.
    writer: Option<Stream>,
    /// Lines typed while it was down, in order.
    waiting: Vec<Vec<u8>>,
    /// Stdin has ended: a close is the end, not a reason to reconnect.
    finished: bool,
}

type Shared = Arc<Mutex<Link>>;

fn lock(link: &Shared) -> std::sync::MutexGuard<'_, Link> {
    // A panicked holder left whole lines behind: keep going.
    link.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Link {
    /// Sends `line`, or keeps it for the next connection.
    fn send(&mut self, line: &[u8]) {
        let mut message = Vec::with_capacity(line.len() + 1);
        message.extend_from_slice(line);
        message.push(b'\n');
        let sent = self
            .writer
            .as_mut()
            .is_some_and(|writer| writer.write_all(&message).is_ok());
        if !sent {
            // The reader notices the break and reconnects.
            self.writer = None;
            self.waiting.push(message);
        }
    }

    /// A new connection: the lines to start it with, then what waited.
    fn connected(&mut self, mut writer: Stream, first: &[String]) -> io::Result<()> {
        for line in first {
            writer.write_all(line.as_bytes())?;
            writer.write_all(b"\n")?;
        }
        for message in &self.waiting {
            writer.write_all(message)?;
        }
        self.waiting.clear();
        if self.finished {
            writer.shutdown(Shutdown::Write)?;
        }
        self.writer = Some(writer);
        Ok(())
    }
}

/// What the command line asked of the session.
pub(crate) struct Start<'a> {
    /// `/pass SECRET`, first on every connection.
    pub(crate) password: Option<String>,
    pub(crate) nick: Option<&'a str>,
    /// `--account`: logged in on every connection.
    pub(crate) account: Option<Account>,
    pub(crate) json: bool,
}

/// Runs a line-mode session that reconnects after a drop.
pub(crate) fn run(
    stream: Stream,
    peer: SocketAddr,
    target: Connector,
    start: Start<'_>,
) -> Result<()> {
    let Start {
        password,
        nick,
        mut account,
        json,
    } = start;
    let link: Shared = Arc::default();
    let mut first: Vec<String> = password.iter().cloned().collect();
    first.extend(account.as_mut().and_then(Account::login_line));
    first.extend(Catchup::first_lines());
    first.extend(nick.map(|nick| format!("/nick {nick}")));
    let writer = stream
        .try_clone()
        .map_err(|err| Error::new(format!("cannot share the socket to {peer}: {err}")))?;
    lock(&link)
        .connected(writer, &first)
        .map_err(|err| Error::connection_lost(peer, &err))?;
    let shared = Arc::clone(&link);
    let reader = Reader::spawn(move || {
        let mut session = Session {
            password,
            account,
            catchup: Catchup::new(),
            json,
        };
        pump(stream, peer, &target, &mut session, &shared)
    })?;

    let mut input = InputLines::new();
    while let Some(line) = input.next_line()? {
        if !line.is_empty() {
            lock(&link).send(line);
        }
    }
    {
        let mut link = lock(&link);
        link.finished = true;
        if let Some(writer) = link.writer.as_mut() {
            // Not connected: the close follows the reconnect.
            let _ = writer.shutdown(Shutdown::Write);
        }
    }
    match reader.wait(None) {
        WaitOutcome::TimedOut | WaitOutcome::ReaderDied => Err(reader::reader_died()),
    }
}

/// What the reader thread keeps across connections.
struct Session {
    password: Option<String>,
    account: Option<Account>,
    catchup: Catchup,
    json: bool,
}

impl Session {
    /// The lines that start a connection after a reconnect: `/pass`, the
    /// login, then the catch-up's (less its `/nick` when logging in: the
    /// login brings the account's nick, and before it the nick is refused).
    fn reconnected(&mut self) -> Vec<String> {
        let mut first: Vec<String> = self.password.iter().cloned().collect();
        let login = self.account.as_mut().and_then(Account::login_line);
        let logging_in = login.is_some();
        first.extend(login);
        let rejoin = self.catchup.reconnected();
        first.extend(
            rejoin
                .into_iter()
                .filter(|line| !(logging_in && line.starts_with("/nick "))),
        );
        first
    }
}

/// The reader thread: shows lines, and reconnects after each drop until
/// stdin has ended and the server has closed.
fn pump(
    mut stream: Stream,
    mut peer: SocketAddr,
    target: &Connector,
    session: &mut Session,
    link: &Shared,
) -> Result<()> {
    loop {
        let broken = read_lines(&stream, session, link)?;
        lock(link).writer = None;
        if lock(link).finished {
            return match broken {
                None => Ok(()),
                Some(err) => Err(Error::connection_lost(peer, &err)),
            };
        }
        let why = broken.map_or_else(|| "closed by the server".to_owned(), |e| e.to_string());
        eprintln!("chat-client: connection to {peer} lost ({why})");
        let reconnected = target.reconnect(|attempt, delay, error| {
            if let Some(error) = error {
                eprintln!("chat-client: reconnect failed: {error}");
            }
            eprintln!(
                "chat-client: reconnecting in {}s (attempt {attempt})",
                delay.as_secs()
            );
            true
        });
        let Some((next, addr)) = reconnected else {
            return Err(Error::new("gave up reconnecting"));
        };
        eprintln!("chat-client: reconnected to {addr}");
        let first = session.reconnected();
        let writer = next
            .try_clone()
            .map_err(|err| Error::new(format!("cannot share the socket to {addr}: {err}")))?;
        // A failure here shows up as a break on the next read.
        let _ = lock(link).connected(writer, &first);
        (stream, peer) = (next, addr);
    }
}

/// Shows lines until the connection ends; the error if it broke.
fn read_lines(stream: &Stream, session: &mut Session, link: &Shared) -> Result<Option<io::Error>> {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Ok(Some(err)),
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        if let Some(account) = session.account.as_mut() {
            let step = account.on_line(text);
            if let Some(command) = step.send {
                lock(link).send(command.as_bytes());
            }
            if step.hide {
                continue;
            }
        }
        let outcome = session.catchup.on_line(text);
        for shown in &outcome.show {
            if session.json {
                stdio::print_received(crate::json::render(shown.as_bytes()).as_bytes(), "")?;
            } else {
                stdio::print_received(shown.as_bytes(), "\n")?;
            }
        }
        let mut link = lock(link);
        for command in &outcome.send {
            link.send(command.as_bytes());
        }
    }
}
