//! A line-framing chat client over a plain `TcpStream`, with deadlines.
//!
//! Every line received is kept, so a failed expectation shows all of them.
//! Expectations match the body of a line, after its `[stamp] ` prefix.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::{TIMEOUT, split_stamp};

/// How long one `read` blocks before the deadline is checked again.
const POLL: Duration = Duration::from_millis(50);

/// Why [`Client::read_until`] found no line.
enum NotFound {
    Closed,
    TimedOut,
}

impl NotFound {
    fn message(&self, what: &str) -> String {
        match self {
            NotFound::Closed => format!("connection closed before a line {what}"),
            NotFound::TimedOut => format!("no line {what} within {TIMEOUT:?}"),
        }
    }
}

#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    /// The nick from the welcome, once [`Client::join`] read it.
    nick: String,
    /// Bytes of an unfinished line.
    partial: Vec<u8>,
    /// Complete lines not consumed yet.
    pending: VecDeque<String>,
    /// Every line received, for failure messages.
    history: Vec<String>,
    eof: bool,
}

/// A plain TCP connection to `addr` from the local address `from`.
pub fn tcp_connect_from(addr: SocketAddr, from: IpAddr) -> TcpStream {
    use socket2::{Domain, SockAddr, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)
        .and_then(|socket| {
            socket.bind(&SockAddr::from(SocketAddr::new(from, 0)))?;
            socket.connect_timeout(&addr.into(), TIMEOUT)?;
            Ok(socket)
        })
        .unwrap_or_else(|e| panic!("cannot connect to {addr} from {from}: {e}"));
    socket.into()
}

impl Client {
    /// Connects to `addr`; nothing is read yet.
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect_timeout(&addr, TIMEOUT)
            .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
        Client::over(stream)
    }

    /// Connects to `addr` from the local address `from` (another loopback
    /// address, such as 127.0.0.2, is another client address to the
    /// server); nothing is read yet.
    pub fn connect_from(addr: SocketAddr, from: IpAddr) -> Client {
        Client::over(tcp_connect_from(addr, from))
    }

    fn over(stream: TcpStream) -> Client {
        stream
            .set_read_timeout(Some(POLL))
            .expect("set_read_timeout");
        stream
            .set_write_timeout(Some(TIMEOUT))
            .expect("set_write_timeout");
        stream.set_nodelay(true).expect("set_nodelay");
        Client {
            stream,
            nick: String::new(),
            partial: Vec::new(),
            pending: VecDeque::new(),
            history: Vec::new(),
            eof: false,
        }
    }

    /// Connects, reads the welcome (`-!- Welcome, NICK! ...`) and its own
    /// join notice, and remembers NICK.
    pub fn join(addr: SocketAddr) -> Client {
        Client::connect(addr).welcomed()
    }

    /// [`Client::join`] from the local address `from` (see
    /// [`Client::connect_from`]).
    pub fn join_from(addr: SocketAddr, from: IpAddr) -> Client {
        Client::connect_from(addr, from).welcomed()
    }

    fn welcomed(self) -> Client {
        let mut client = self;
        let welcome = client.expect("a welcome", |b| b.starts_with("-!- Welcome, "));
        let nick = welcome
            .strip_prefix("-!- Welcome, ")
            .and_then(|rest| rest.split_once('!'))
            .map(|(nick, _)| nick.to_owned())
            .unwrap_or_else(|| client.fail(&format!("cannot read the nick in {welcome:?}")));
        client.expect_body(&format!("-!- {nick} joined lobby"));
        client.nick = nick;
        client
    }

    /// The nick the welcome gave (or that [`Client::set_nick`] recorded).
    pub fn nick(&self) -> &str {
        &self.nick
    }

    /// Records a nick change made by the test.
    pub fn set_nick(&mut self, nick: &str) {
        nick.clone_into(&mut self.nick);
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.stream.local_addr().expect("local_addr")
    }

    /// Sends `line` and a `\n`.
    pub fn send_line(&mut self, line: &str) {
        self.send_bytes(format!("{line}\n").as_bytes());
    }

    /// Sends `bytes` as they are.
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        if let Err(e) = self.stream.write_all(bytes) {
            self.fail(&format!(
                "cannot send {:?}: {e}",
                String::from_utf8_lossy(bytes)
            ));
        }
    }

    /// Closes the connection both ways, as a client does once the server has
    /// closed it. What was received stays in [`Client::history`].
    pub fn hang_up(&mut self) {
        // Fails only when already closed.
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Half-closes: no more sending; reading goes on.
    pub fn shutdown_write(&mut self) {
        if let Err(e) = self.stream.shutdown(Shutdown::Write) {
            self.fail(&format!("cannot shut down the write side: {e}"));
        }
    }

    /// Reads until the next line whose body (after `[stamp] `) satisfies
    /// `pred`; returns that body. Lines before it are skipped. Panics with
    /// every line received after [`TIMEOUT`] or at EOF.
    pub fn expect(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.lines_until(what, pred)
            .pop()
            .expect("lines_until returns the match")
    }

    /// [`Client::expect`] for a body equal to `body`.
    pub fn expect_body(&mut self, body: &str) -> String {
        self.expect(&format!("equal to {body:?}"), |b| b == body)
    }

    /// [`Client::expect`] for a body containing `needle`.
    pub fn expect_contains(&mut self, needle: &str) -> String {
        self.expect(&format!("containing {needle:?}"), |b| b.contains(needle))
    }

    /// The bodies of every line up to and including the first one that
    /// satisfies `pred`.
    pub fn lines_until(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> Vec<String> {
        match self.read_until(Instant::now() + TIMEOUT, &pred) {
            Ok(lines) => lines.into_iter().map(|(_, body)| body).collect(),
            Err(why) => self.fail(&why.message(what)),
        }
    }

    /// Like [`Client::expect`], but returns the whole line, `[stamp] `
    /// included.
    pub fn expect_line(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        match self.read_until(Instant::now() + TIMEOUT, &pred) {
            Ok(mut lines) => lines.pop().expect("read_until returns the match").0,
            Err(why) => self.fail(&why.message(what)),
        }
    }

    /// Reads for at most `within` until a line whose body contains `needle`
    /// and returns that whole line, or `None` if none came in time (or the
    /// connection closed first). Lines before it are skipped.
    pub fn expect_within(&mut self, needle: &str, within: Duration) -> Option<String> {
        let found = self.read_until(Instant::now() + within, &|b: &str| b.contains(needle));
        found
            .ok()
            .and_then(|mut lines| lines.pop())
            .map(|(line, _)| line)
    }

    /// `(line, body)` of every line up to and including the first whose
    /// body satisfies `pred`, or why there was none before `deadline`.
    fn read_until(
        &mut self,
        deadline: Instant,
        pred: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<(String, String)>, NotFound> {
        let mut skipped = Vec::new();
        loop {
            while let Some(line) = self.pending.pop_front() {
                let Some((_, body)) = split_stamp(&line) else {
                    self.fail(&format!("line without a [stamp] prefix: {line:?}"));
                };
                let body = body.to_owned();
                let done = pred(&body);
                skipped.push((line, body));
                if done {
                    return Ok(skipped);
                }
            }
            if self.eof {
                return Err(NotFound::Closed);
            }
            if Instant::now() >= deadline {
                return Err(NotFound::TimedOut);
            }
            self.read_some();
        }
    }

    /// Sends `/rooms` and returns the bodies of every line received before
    /// its answer. The server answers in order, so anything a line sent
    /// earlier caused for this client is in the result.
    pub fn sync(&mut self) -> Vec<String> {
        self.send_line("/rooms");
        let mut lines = self.lines_until("answering /rooms", |b| b.starts_with("-!- rooms ("));
        lines.pop();
        lines
    }

    /// Reads until the server closes the connection; returns the bodies of
    /// the lines not consumed yet. Panics after [`TIMEOUT`].
    pub fn expect_eof(&mut self) -> Vec<String> {
        let deadline = Instant::now() + TIMEOUT;
        while !self.eof {
            if Instant::now() >= deadline {
                self.fail(&format!("the connection was not closed within {TIMEOUT:?}"));
            }
            self.read_some();
        }
        if !self.partial.is_empty() {
            let rest = String::from_utf8_lossy(&self.partial).into_owned();
            self.fail(&format!("unterminated last line {rest:?}"));
        }
        let lines: Vec<String> = self.pending.drain(..).collect();
        lines
            .iter()
            .map(|line| match split_stamp(line) {
                Some((_, body)) => body.to_owned(),
                None => self.fail(&format!("line without a [stamp] prefix: {line:?}")),
            })
            .collect()
    }

    /// Every complete line received so far, stamps included.
    pub fn history(&self) -> &[String] {
        &self.history
    }

    /// One read (at most [`POLL`] long) into the line buffers.
    fn read_some(&mut self) {
        let mut buf = [0_u8; 16 * 1024];
        match self.stream.read(&mut buf) {
            Ok(0) => self.eof = true,
            Ok(n) => {
                self.partial.extend_from_slice(&buf[..n]);
                while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
                    let mut line: Vec<u8> = self.partial.drain(..=end).collect();
                    line.pop();
                    // The server promises UTF-8: a lossy decode here would
                    // hide a broken promise.
                    let line = match String::from_utf8(line) {
                        Ok(line) => line,
                        Err(e) => self.fail(&format!(
                            "the server sent invalid UTF-8: {:?}",
                            e.as_bytes()
                        )),
                    };
                    self.history.push(line.clone());
                    self.pending.push_back(line);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(e) => self.fail(&format!("read failed: {e}")),
        }
    }

    /// Panics with `why` and everything this client received.
    pub fn fail(&self, why: &str) -> ! {
        let mut text = format!(
            "client {} ({}): {why}\n--- lines received ---\n",
            self.nick,
            self.stream
                .local_addr()
                .map_or_else(|e| e.to_string(), |a| a.to_string())
        );
        for line in &self.history {
            text.push_str(line);
            text.push('\n');
        }
        if !self.partial.is_empty() {
            text.push_str(&format!(
                "(unterminated) {:?}\n",
                String::from_utf8_lossy(&self.partial)
            ));
        }
        panic!("{text}");
    }
}
