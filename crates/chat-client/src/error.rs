//! The client's one error type, and the one way out of the process.
//!
//! Both the main thread and the socket-reader thread end the process through
//! [`exit_with`], so every failure is reported the same way: one line
//! `chat-client: ...` on stderr and exit status 1.

use std::fmt;
use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::process;

/// A failure, already phrased for the user (without the `chat-client:` prefix).
#[derive(Debug)]
pub(crate) struct Error(String);

pub(crate) type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The connection to `peer` broke (reset, write to a dead socket, ...).
    pub(crate) fn connection_lost(peer: SocketAddr, err: &io::Error) -> Self {
        Self(format!("connection to {peer} lost: {err}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Flush stdout and end the process: status 0 on `Ok`, otherwise one line on
/// stderr and status 1.
pub(crate) fn exit_with(result: Result<()>) -> ! {
    // A failed flush only matters when nothing else went wrong first.
    let flushed = io::stdout().flush();
    match result {
        Ok(()) => {
            if let Err(err) = flushed {
                eprintln!("chat-client: cannot write to stdout: {err}");
                process::exit(1);
            }
            process::exit(0)
        }
        Err(err) => {
            eprintln!("chat-client: {err}");
            process::exit(1)
        }
    }
}
