//! Raw mode (`--raw`): the classic socket-tutorial protocol.
//!
//! Each input line goes out as one write with no newline; the next line is
//! sent only after the server has answered the previous one (lockstep), so a
//! chunk-based server never reads two messages glued together. The reader
//! thread prints every chunk it receives, followed by a newline, whether or
//! not it answers something we sent.
//!
//! With a server password the first chunk is `/pass SECRET` (no newline,
//! like every chunk), sent in lockstep too.

use std::io::{self, IsTerminal as _, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use crate::connect::Stream;
use crate::error::{Error, Result};
use crate::password::Password;
use crate::reader::{self, Reader, WaitOutcome};
use crate::stdio::{self, InputLines};

/// The tutorial client's prompt.
const PROMPT: &str = ">>> ";

/// The tutorial client reads at most this much per reply.
const CHUNK_SIZE: usize = 1024;

/// After our half-close, how long to wait for the server to close.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Run a raw-mode session on a connected socket.
pub(crate) fn run(mut stream: Stream, peer: SocketAddr, password: Option<&Password>) -> Result<()> {
    let incoming = stream
        .try_clone()
        .map_err(|err| Error::new(format!("cannot share the socket to {peer}: {err}")))?;
    let chunks = Arc::new(ChunkCounter::default());
    let reader = {
        let chunks = Arc::clone(&chunks);
        Reader::spawn(move || print_chunks(incoming, peer, &chunks))?
    };

    let send_chunk = |stream: &mut Stream, chunk: &[u8]| {
        let seen = chunks.count();
        if let Err(err) = stream.write_all(chunk) {
            let error = Error::connection_lost(peer, &err);
            return match reader.wait(Some(CLOSE_WAIT)) {
                WaitOutcome::TimedOut | WaitOutcome::ReaderDied => Err(error),
            };
        }
        chunks.wait_past(seen);
        Ok(())
    };
    if let Some(password) = password {
        send_chunk(&mut stream, password.command().as_bytes())?;
    }
    let prompt = io::stdin().is_terminal();
    let mut input = InputLines::new();
    loop {
        if prompt {
            stdio::print_prompt(PROMPT)?;
        }
        let Some(line) = input.next_line()? else {
            break;
        };
        if line.is_empty() {
            break;
        }
        send_chunk(&mut stream, line)?;
    }

    // Done: half-close, give the server a moment to close, and leave.
    match stream.shutdown(Shutdown::Write) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotConnected => {}
        Err(err) => return Err(Error::connection_lost(peer, &err)),
    }
    match reader.wait(Some(CLOSE_WAIT)) {
        WaitOutcome::TimedOut => Ok(()),
        WaitOutcome::ReaderDied => Err(reader::reader_died()),
    }
}

/// How many chunks the reader has printed so far, for the lockstep.
#[derive(Debug, Default)]
struct ChunkCounter {
    count: Mutex<u64>,
    changed: Condvar,
}

impl ChunkCounter {
    fn count(&self) -> u64 {
        *self.count.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn increment(&self) {
        let mut count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        *count += 1;
        self.changed.notify_all();
    }

    /// Block until more than `seen` chunks have arrived. (If the server
    /// closes instead, the reader ends the process.)
    fn wait_past(&self, seen: u64) {
        let count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        let _count = self
            .changed
            .wait_while(count, |count| *count <= seen)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

/// The reader thread: print each chunk as it arrives, one per line.
fn print_chunks(mut stream: Stream, peer: SocketAddr, chunks: &ChunkCounter) -> Result<()> {
    let mut buf = [0_u8; CHUNK_SIZE];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(read) => {
                stdio::print_received(&buf[..read], "\n")?;
                chunks.increment();
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(Error::connection_lost(peer, &err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::thread;

    use super::ChunkCounter;

    #[test]
    fn wait_past_returns_after_a_new_chunk() {
        let chunks = Arc::new(ChunkCounter::default());
        let seen = chunks.count();
        let bumper = {
            let chunks = Arc::clone(&chunks);
            thread::spawn(move || chunks.increment())
        };
        chunks.wait_past(seen);
        assert_eq!(chunks.count(), seen + 1);
        assert!(bumper.join().is_ok());
    }
}
