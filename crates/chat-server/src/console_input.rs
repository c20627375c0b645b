//! The operator's stdin, read on a thread of its own and handed to the
//! reactor through a channel and its waker.
//!
//! Why a thread: stdin may be a terminal, a pipe or a file, and making it
//! non-blocking would change it for the shell that shares it. One thread for
//! one stdin is not a thread per client: the reactor still does all the work.

use std::io::BufRead;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

/// What the console thread reports.
#[derive(Debug)]
pub enum ConsoleInput {
    Line(String),
    /// stdin ended; the server keeps running.
    Closed,
}

/// Starts the reader thread. `wake` is called after each line is queued.
pub fn spawn(wake: Arc<dyn Fn() + Send + Sync>) -> std::io::Result<Receiver<ConsoleInput>> {
    let (tx, rx) = channel();
    std::thread::Builder::new()
        .name("console".into())
        .spawn(move || read_lines(&tx, &*wake))?;
    Ok(rx)
}

fn read_lines(tx: &Sender<ConsoleInput>, wake: &(dyn Fn() + Send + Sync)) {
    let stdin = std::io::stdin();
    let mut line = Vec::new();
    loop {
        line.clear();
        match stdin.lock().read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                let text = text.trim_end_matches(['\n', '\r']).to_owned();
                if tx.send(ConsoleInput::Line(text)).is_err() {
                    return;
                }
                wake();
            }
        }
    }
    if tx.send(ConsoleInput::Closed).is_ok() {
        wake();
    }
}
