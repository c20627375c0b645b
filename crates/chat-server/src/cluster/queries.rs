//! The query thread: the read-only requests (`/who`, `/rooms`, history
//! reads) on a connection and a bounded queue of their own.
//!
//! Why apart from the command thread: queued in front of room lines, ten
//! clients sending `/who` as fast as flood control allows would delay a
//! cross-node line from 0.7 ms to 5.8 s, and more would drop lines. Here a
//! query can only wait behind other queries; when their queue is
//! full the hub answers from what it knows. A history read first waits
//! (at most [`LINES_WAIT`]) for the command thread to write the room lines
//! handed to it before the read was asked, so history includes every line
//! this node said before a client joined.
//!
//! It connects when a query comes and Redis is not connected, at most once
//! per backoff; until then queries are answered "unavailable" at once. The
//! link's status is the command thread's to report.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use redis::Connection;

use super::link::Link;
use super::{BACKOFF_MAX, BACKOFF_MIN, BridgeConfig, Emitter, Query, requests};
use chat_hub::ClusterRequest;

/// The longest a history read waits for earlier room lines to be written.
const LINES_WAIT: Duration = Duration::from_secs(1);

pub(super) struct QueryThread {
    link: Arc<Link>,
    /// The count of master switches when connected.
    switches: u64,
    config: BridgeConfig,
    emit: Emitter,
    con: Option<Connection>,
    next_attempt: Instant,
    backoff: Duration,
    /// Room lines the command thread is done with.
    written: Arc<AtomicU64>,
}

impl QueryThread {
    pub(super) fn new(
        link: Arc<Link>,
        config: BridgeConfig,
        emit: Emitter,
        written: Arc<AtomicU64>,
    ) -> QueryThread {
        QueryThread {
            link,
            switches: 0,
            config,
            emit,
            con: None,
            next_attempt: Instant::now(),
            backoff: BACKOFF_MIN,
            written,
        }
    }

    /// Runs until the reactor is gone.
    pub(super) fn run(mut self, queries: Receiver<Query>) {
        while let Ok(query) = queries.recv() {
            if !self.handle(query) {
                return;
            }
        }
    }

    /// Runs one query. `false`: the reactor is gone, stop.
    fn handle(&mut self, Query { request, after }: Query) -> bool {
        if self.link.switches() != self.switches {
            // The master may have moved: ask again, at once.
            self.switches = self.link.switches();
            self.con = None;
            self.next_attempt = Instant::now();
        }
        if self.con.is_none() && Instant::now() >= self.next_attempt {
            let switches = self.link.switches();
            match self.link.connect() {
                Ok((con, _)) => {
                    self.con = Some(con);
                    self.switches = switches;
                    self.backoff = BACKOFF_MIN;
                }
                Err(_) => self.retry_later(),
            }
        }
        if let ClusterRequest::History { .. } = request {
            self.wait_for_lines(after);
        }
        let Some(con) = self.con.as_mut() else {
            return self.unavailable(request);
        };
        match requests::run(con, &self.config, request.clone()) {
            Ok(events) => events.into_iter().all(|event| self.emit.emit(event)),
            Err(_) => {
                // The command thread notices too, and reports it.
                self.con = None;
                self.retry_later();
                self.unavailable(request)
            }
        }
    }

    fn retry_later(&mut self) {
        self.next_attempt = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
    }

    /// Waits until the command thread is done with the first `after` room
    /// lines, or [`LINES_WAIT`] has passed.
    fn wait_for_lines(&self, after: u64) {
        let deadline = Instant::now() + LINES_WAIT;
        while self.written.load(Ordering::Acquire) < after && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn unavailable(&self, request: ClusterRequest) -> bool {
        requests::unavailable(request).is_none_or(|event| self.emit.emit(event))
    }
}
