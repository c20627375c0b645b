//! Which room lines a replica has: the acknowledgement thread.
//!
//! Redis replicates asynchronously: a line the master accepted and
//! published may not have reached its replica when the master dies, and
//! the replica promoted in its place has no trace of it. So, with
//! sentinels, the command thread keeps every line it wrote until a replica
//! has it, and writes again after a failover whatever the new master lacks
//! (`commands.rs`).
//!
//! This thread tells it when a replica has them, without ever making a
//! line wait: on a connection of its own it writes this node's mark
//! ([`keys::acked`]) to the master the lines went to, then `WAIT 1`s for
//! that write. Replication keeps the master's order, so a replica that has
//! the mark has every line written before it. With no replica (all lost,
//! or being resynchronised) the `WAIT` times out, nothing is acknowledged,
//! and lines keep flowing while the command thread's buffer fills
//! (bounded: [`commands::UNACKED_MAX`](super::commands::UNACKED_MAX)).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::{Connection, RedisResult};

use super::link::Link;
use super::{BACKOFF_MAX, BACKOFF_MIN, keys};

/// How often to look for newly written lines.
const POLL: Duration = Duration::from_millis(20);
/// How long one `WAIT` may take (in ms); under the bridge's command timeout.
const WAIT_MS: u64 = 1000;
/// How long Redis keeps a node's acknowledged mark.
const MARK_SECONDS: u64 = 86_400;

/// What the command thread wrote, and what a replica acknowledged.
#[derive(Debug, Default)]
pub(super) struct Acks {
    /// The master the last lines were written to, and the last sequence
    /// number written there.
    written: Mutex<Option<(String, u64)>>,
    /// The last sequence number a replica acknowledged.
    acked: AtomicU64,
}

impl Acks {
    /// Lines up to `seq` were written to `master`.
    pub(super) fn wrote(&self, master: &str, seq: u64) {
        if let Ok(mut written) = self.written.lock() {
            match written.as_mut() {
                Some((at, last)) if at == master => *last = seq,
                _ => *written = Some((master.to_owned(), seq)),
            }
        }
    }

    /// The last sequence number a replica has.
    pub(super) fn acked(&self) -> u64 {
        self.acked.load(Ordering::Acquire)
    }

    fn last_written(&self) -> Option<(String, u64)> {
        self.written.lock().ok().and_then(|written| written.clone())
    }
}

/// Runs until the process ends.
pub(super) fn run(link: &Link, node: &str, acks: &Acks) {
    let mark = keys::acked(node);
    let mut con: Option<(Connection, String, u64)> = None;
    let mut backoff = BACKOFF_MIN;
    loop {
        std::thread::sleep(POLL);
        let Some((master, seq)) = acks.last_written() else {
            continue;
        };
        if seq <= acks.acked() {
            continue;
        }
        let switches = link.switches();
        if con.as_ref().is_some_and(|(_, _, under)| *under != switches) {
            con = None; // the master may have moved: ask again
        }
        if con.is_none() {
            match link.connect() {
                Ok((c, at)) => con = Some((c, at, switches)),
                Err(_) => {
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue;
                }
            }
        }
        let Some((c, at, _)) = con.as_mut() else {
            continue;
        };
        if *at != master {
            // The lines went to another master than this connection's:
            // ask the sentinels again, in a while (the command thread may
            // be about to move too, and writes them again where it goes).
            con = None;
            link.pause(backoff, switches);
            backoff = (backoff * 2).min(BACKOFF_MAX);
            continue;
        }
        match acknowledge(c, &mark, seq) {
            Ok(true) => {
                backoff = BACKOFF_MIN;
                acks.acked.fetch_max(seq, Ordering::AcqRel);
            }
            Ok(false) => {} // no replica has it yet: asked again next time
            Err(_) => con = None,
        }
    }
}

/// Writes `seq` as the mark and waits for one replica to have it.
fn acknowledge(con: &mut Connection, mark: &str, seq: u64) -> RedisResult<bool> {
    redis::cmd("SET")
        .arg(mark)
        .arg(seq.to_string())
        .arg("EX")
        .arg(MARK_SECONDS)
        .query::<()>(con)?;
    let replicas: u64 = redis::cmd("WAIT").arg(1).arg(WAIT_MS).query(con)?;
    Ok(replicas >= 1)
}
