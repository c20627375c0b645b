//! The socket-reader thread shared by both modes.
//!
//! The reader owns the end of the process: when the server closes the
//! connection it exits 0, when the connection breaks it reports and exits 1.
//! That way a main thread blocked on stdin never keeps a finished session
//! alive.

use std::convert::Infallible;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use crate::error::{self, Error, Result};

/// The main thread's handle on the running reader.
pub(crate) struct Reader {
    /// Never carries a message: it only disconnects if the reader thread
    /// stops without ending the process (a panic).
    alive: Receiver<Infallible>,
}

impl Reader {
    /// Run `pump` on its own thread, then end the process with its result.
    pub(crate) fn spawn(pump: impl FnOnce() -> Result<()> + Send + 'static) -> Result<Self> {
        let (alive_tx, alive) = mpsc::channel::<Infallible>();
        thread::Builder::new()
            .name("socket-reader".to_owned())
            .spawn(move || {
                let _alive = alive_tx;
                error::exit_with(pump())
            })
            .map_err(|err| Error::new(format!("cannot start the socket reader: {err}")))?;
        Ok(Self { alive })
    }

    /// Wait for the reader to end the process, at most `limit` (forever if
    /// `None`). Returns only if it did not.
    pub(crate) fn wait(&self, limit: Option<Duration>) -> WaitOutcome {
        match limit {
            None => {
                let Err(mpsc::RecvError) = self.alive.recv();
                WaitOutcome::ReaderDied
            }
            Some(limit) => match self.alive.recv_timeout(limit) {
                Err(RecvTimeoutError::Timeout) => WaitOutcome::TimedOut,
                Err(RecvTimeoutError::Disconnected) => WaitOutcome::ReaderDied,
            },
        }
    }
}

/// Why [`Reader::wait`] returned.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WaitOutcome {
    TimedOut,
    ReaderDied,
}

/// The error to report when the reader thread stopped without a verdict.
pub(crate) fn reader_died() -> Error {
    Error::new("the socket reader stopped unexpectedly")
}
