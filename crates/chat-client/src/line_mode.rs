//! Line mode (the default): LF-terminated UTF-8 lines both ways.
//!
//! The main thread sends stdin lines; the reader thread prints server lines
//! as they arrive and ends the process when the server closes.

use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use crate::connect::Stream;
use crate::error::{Error, Result};
use crate::password::Password;
use crate::reader::{self, Reader, WaitOutcome};
use crate::stdio::{self, InputLines};

/// After a failed write, how long the reader gets to notice that the server
/// closed (a clean close still exits 0).
const GRACE_AFTER_WRITE_ERROR: Duration = Duration::from_secs(2);

/// What is sent before stdin's lines, in this order.
pub(crate) struct First<'a> {
    /// `/pass`.
    pub(crate) password: Option<&'a Password>,
    /// `/login NAME PASSWORD` (`--account`).
    pub(crate) login: Option<&'a str>,
    pub(crate) nick: Option<&'a str>,
}

/// Run a line-mode session on a connected socket.
/// With `json`, each received line is printed as a JSON object instead.
pub(crate) fn run(
    mut stream: Stream,
    peer: SocketAddr,
    first: First<'_>,
    json: bool,
) -> Result<()> {
    let First {
        password,
        login,
        nick,
    } = first;
    let incoming = stream
        .try_clone()
        .map_err(|err| Error::new(format!("cannot share the socket to {peer}: {err}")))?;
    let reader = Reader::spawn(move || print_lines(incoming, peer, json))?;

    if let Some(password) = password {
        send_line(&mut stream, password.command().as_bytes(), peer, &reader)?;
    }
    if let Some(login) = login {
        send_line(&mut stream, login.as_bytes(), peer, &reader)?;
    }
    if let Some(nick) = nick {
        send_line(&mut stream, nick_command(nick).as_bytes(), peer, &reader)?;
    }
    let mut input = InputLines::new();
    while let Some(line) = input.next_line()? {
        if !line.is_empty() {
            send_line(&mut stream, line, peer, &reader)?;
        }
    }

    // End of stdin: tell the server, then let the reader print until it closes.
    match stream.shutdown(Shutdown::Write) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotConnected => {}
        Err(err) => return after_write_error(&reader, Error::connection_lost(peer, &err)),
    }
    match reader.wait(None) {
        WaitOutcome::TimedOut | WaitOutcome::ReaderDied => Err(reader::reader_died()),
    }
}

/// The `/nick NAME` command (without its line end).
fn nick_command(nick: &str) -> String {
    format!("/nick {nick}")
}

/// Send `line` followed by `\n` in one write.
fn send_line(stream: &mut Stream, line: &[u8], peer: SocketAddr, reader: &Reader) -> Result<()> {
    let mut message = Vec::with_capacity(line.len() + 1);
    message.extend_from_slice(line);
    message.push(b'\n');
    match stream.write_all(&message) {
        Ok(()) => Ok(()),
        Err(err) => after_write_error(reader, Error::connection_lost(peer, &err)),
    }
}

/// A write failed: usually the server closed first, which the reader turns
/// into a clean exit. Give it that chance before reporting `error`.
fn after_write_error(reader: &Reader, error: Error) -> Result<()> {
    match reader.wait(Some(GRACE_AFTER_WRITE_ERROR)) {
        WaitOutcome::TimedOut | WaitOutcome::ReaderDied => Err(error),
    }
}

/// The reader thread: print each complete line as it arrives; at EOF print a
/// final partial line with a newline added.
fn print_lines(mut stream: Stream, peer: SocketAddr, json: bool) -> Result<()> {
    let print = |bytes: &[u8], suffix: &str| {
        if json {
            stdio::print_received(crate::json::render(bytes).as_bytes(), "")
        } else {
            stdio::print_received(bytes, suffix)
        }
    };
    let mut buf = [0_u8; 8192];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let read = match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                // Show what did arrive before reporting the break.
                if !pending.is_empty() {
                    print(&pending, "\n")?;
                }
                return Err(Error::connection_lost(peer, &err));
            }
        };
        pending.extend_from_slice(&buf[..read]);
        if let Some(last_lf) = pending.iter().rposition(|&byte| byte == b'\n') {
            let partial = pending.split_off(last_lf + 1);
            print(&pending, "")?;
            pending = partial;
        }
    }
    if !pending.is_empty() {
        print(&pending, "\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::nick_command;

    #[test]
    fn nick_is_one_command_line() {
        assert_eq!(nick_command("alice"), "/nick alice");
    }
}
