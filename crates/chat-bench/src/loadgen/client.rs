//! One client's bytes: its socket, TLS session or WebSocket layer, what it
//! has queued to send, and what a read from it hands to (the [`Inbox`]).

use std::io::{self, Read, Write};

use mio::net::TcpStream;
use rustls::ClientConnection;

use super::irc::Joining;
use super::web::Web;
use super::{Group, Role};
use crate::marker::Scanner;

/// A connection of the generator.
pub(super) struct Client {
    pub(super) stream: TcpStream,
    /// The TLS session, when the group speaks TLS.
    pub(super) tls: Option<Box<ClientConnection>>,
    /// The WebSocket layer, when the group is on a web listener.
    pub(super) web: Option<Box<Web>>,
    pub(super) group: usize,
    pub(super) role: Role,
    /// A receiver on the group's second server.
    pub(super) remote: bool,
    pub(super) connected: bool,
    pub(super) ready: bool,
    /// A searcher that sent a search and has had nothing back since.
    pub(super) awaiting_answer: bool,
    /// An IRC client that has not seen the end of its join yet.
    pub(super) joining: Option<Box<Joining>>,
    pub(super) scanner: Scanner,
    pub(super) out: Vec<u8>,
    pub(super) out_pos: usize,
}

/// What a read hands to: the reading client's state and its group.
pub(super) struct Inbox<'a> {
    pub(super) ready: &'a mut bool,
    pub(super) awaiting_answer: &'a mut bool,
    /// Until its join ends, an IRC client's bytes go here, not to the
    /// scanner; it is ready from the end of the join.
    pub(super) joining: &'a mut Option<Box<Joining>>,
    pub(super) role: Role,
    pub(super) remote: bool,
    pub(super) scanner: &'a mut Scanner,
    pub(super) group: &'a mut Group,
    pub(super) now: u64,
}

impl Inbox<'_> {
    /// Bytes from the server (plaintext): the first make the client ready
    /// (an IRC client's, those that end its join), a receiver counts the
    /// markers in them, a searcher its lines and whether they answer a
    /// search.
    pub(super) fn receive(&mut self, mut bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Some(joining) = self.joining.as_deref_mut() {
            let Some(n) = joining.read(bytes) else {
                return;
            };
            *self.joining = None;
            bytes = &bytes[n..];
            self.become_ready();
            if bytes.is_empty() {
                return;
            }
        }
        self.become_ready();
        let g = &mut *self.group;
        if self.role == Role::Idle {
            g.idle_lines += memchr::memchr_iter(b'\n', bytes).count() as u64;
        }
        if self.role == Role::Searcher {
            g.searches.lines += memchr::memchr_iter(b'\n', bytes).count() as u64;
            if *self.awaiting_answer {
                *self.awaiting_answer = false;
                g.awaiting_answer -= 1;
                g.searches.answered += 1;
            }
        }
        if self.role == Role::Receiver {
            let (w, now, remote) = (&mut g.window, self.now, self.remote);
            self.scanner.scan(bytes, |t| {
                if t >= w.from_ns && t < w.until_ns {
                    let latency = now.saturating_sub(t).max(1);
                    w.delivered += 1;
                    w.hist.saturating_record(latency);
                    if remote {
                        w.delivered_remote += 1;
                        w.hist_remote.saturating_record(latency);
                    }
                }
            });
        }
    }

    fn become_ready(&mut self) {
        if !*self.ready {
            *self.ready = true;
            if self.role != Role::Churn {
                self.group.ready += 1;
            }
        }
    }

    /// A line ended that had no LF in the bytes (a WebSocket message).
    pub(super) fn end_line(&mut self) {
        self.scanner.end_line();
    }
}

/// Feeds `data` (bytes read from the socket) to `tls` and hands every
/// piece of plaintext to `found`. `Ok(true)`: the server closed the session.
pub(super) fn decrypt(
    tls: &mut ClientConnection,
    mut data: &[u8],
    plain: &mut [u8],
    mut found: impl FnMut(&[u8]),
) -> io::Result<bool> {
    // An empty slice would read as end of stream to rustls.
    while !data.is_empty() {
        tls.read_tls(&mut data)?;
        tls.process_new_packets().map_err(io::Error::other)?;
        loop {
            match tls.reader().read(plain) {
                Ok(0) => return Ok(true),
                Ok(n) => found(&plain[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(false)
}

/// Writes what `c` has queued until done or `WouldBlock` (through its TLS
/// session, if it has one).
pub(super) fn flush(c: &mut Client) -> io::Result<()> {
    if !c.connected {
        return Ok(());
    }
    match c.tls.as_deref_mut() {
        None => {
            while c.out_pos < c.out.len() {
                match c.stream.write(&c.out[c.out_pos..]) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => c.out_pos += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Some(tls) => 'out: loop {
            while tls.wants_write() {
                match tls.write_tls(&mut c.stream) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break 'out,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            if c.out_pos == c.out.len() {
                break;
            }
            // rustls takes what its buffer limit allows (before the
            // handshake ends it keeps the plaintext for later).
            let n = tls.writer().write(&c.out[c.out_pos..])?;
            if n == 0 {
                break;
            }
            c.out_pos += n;
        },
    }
    if c.out_pos == c.out.len() {
        c.out.clear();
        c.out_pos = 0;
    } else if c.out_pos >= 64 * 1024 {
        c.out.drain(..c.out_pos);
        c.out_pos = 0;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddr};

    use super::*;
    use crate::dialect::Dialect;

    /// A searcher's reads: lines counted in whatever pieces they come, and
    /// one search answered by the first bytes after it, however many
    /// lines and reads its answer takes.
    #[test]
    fn a_searcher_counts_lines_and_the_searches_something_came_back_for() {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 1));
        let mut group = Group::new(Dialect::OursSqlite, addr).unwrap_or_else(|e| panic!("{e}"));
        let (mut ready, mut awaiting_answer, mut scanner) = (true, true, Scanner::default());
        group.awaiting_answer = 1;
        for piece in [
            &b"[stamp] one\n[stamp] tw"[..],
            b"o\n",
            b"",
            b"[stamp] three\n",
        ] {
            Inbox {
                ready: &mut ready,
                awaiting_answer: &mut awaiting_answer,
                joining: &mut None,
                role: Role::Searcher,
                remote: false,
                scanner: &mut scanner,
                group: &mut group,
                now: 0,
            }
            .receive(piece);
        }
        assert_eq!(group.searches.lines, 3);
        assert_eq!(group.searches.answered, 1);
        assert_eq!(group.awaiting_answer, 0);
        assert!(!awaiting_answer);
        assert_eq!(group.window.delivered, 0);
    }
}
