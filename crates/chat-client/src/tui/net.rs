//! The socket-reader thread of the interactive mode.
//!
//! Unlike line mode's reader it never ends the process: it hands every line
//! and every change of connection to the event loop, which decides. With
//! `--reconnect` it reconnects after a drop, backing off from 1 s up to 30 s,
//! and hands over the new socket for writing.

use std::io::{self, BufRead as _, BufReader};
use std::net::SocketAddr;
use std::sync::mpsc::Sender;
use std::thread;
use std::time::Duration;

use super::Event;
use crate::connect::{Connector, Stream};
use crate::error::{Error, Result};

/// What the reader tells the event loop.
#[derive(Debug)]
pub(crate) enum NetEvent {
    /// One server line, without its line end.
    Line(String),
    /// The connection ended: closed by the server (`None`) or broken.
    Closed(Option<String>),
    /// Waiting `delay` before reconnect attempt number `attempt`.
    Reconnecting {
        attempt: u32,
        delay: Duration,
        error: Option<String>,
    },
    /// Connected again: the socket to write to from now on.
    Connected(Stream, SocketAddr),
}

/// Start reading `stream`; `reconnect` says where to go after a drop.
pub(crate) fn spawn(
    stream: Stream,
    reconnect: Option<Connector>,
    events: Sender<Event>,
) -> Result<()> {
    thread::Builder::new()
        .name("socket-reader".to_owned())
        .spawn(move || pump(stream, reconnect.as_ref(), &events))
        .map(drop)
        .map_err(|err| Error::new(format!("cannot start the socket reader: {err}")))
}

fn pump(mut stream: Stream, reconnect: Option<&Connector>, events: &Sender<Event>) {
    loop {
        let closed = read_lines(&stream, events);
        if events.send(Event::Net(NetEvent::Closed(closed))).is_err() {
            return;
        }
        let Some(target) = reconnect else {
            return;
        };
        match reconnect_to(target, events) {
            Some(next) => stream = next,
            None => return,
        }
    }
}

/// Forward lines until the connection ends; the error if it broke.
fn read_lines(stream: &Stream, events: &Sender<Event>) -> Option<String> {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => return None,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                let text = text.strip_suffix('\n').unwrap_or(&text);
                let text = text.strip_suffix('\r').unwrap_or(text);
                if events
                    .send(Event::Net(NetEvent::Line(text.to_owned())))
                    .is_err()
                {
                    return None;
                }
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Some(err.to_string()),
        }
    }
}

/// Try until connected (or the event loop is gone); backs off between tries.
fn reconnect_to(target: &Connector, events: &Sender<Event>) -> Option<Stream> {
    let (stream, addr) = target.reconnect(|attempt, delay, error| {
        let waiting = NetEvent::Reconnecting {
            attempt,
            delay,
            error,
        };
        events.send(Event::Net(waiting)).is_ok()
    })?;
    let writer = stream.try_clone().ok()?;
    events
        .send(Event::Net(NetEvent::Connected(writer, addr)))
        .ok()?;
    Some(stream)
}
