//! The failover workload's flood: blocking line clients, each on a thread
//! of its own. Senders pace numbered lines (`failover-line s<SENDER>
//! n<SEQ>`) from their start and note when each left; a thread beside each
//! sender reads and drops what it gets, so its socket never fills.
//! Receivers note the first arrival of each sender's each line, the
//! duplicates, and the lines that come after a later one of the same
//! sender.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::workloads::beside::{LineClient, source};

/// The marker in each line's text.
const MARK: &str = "failover-line s";

/// How often a blocked read looks at its stop flag.
const READ_SLICE: Duration = Duration::from_millis(100);

/// How long a sender's write may block (a node that stopped reading).
const WRITE_WAIT: Duration = Duration::from_secs(5);

/// How long the receivers may take, after the senders stop, to get every
/// line sent.
const DRAIN_WITHIN: Duration = Duration::from_secs(15);

/// What a receiver has got so far.
#[derive(Debug, Default)]
struct Progress {
    /// Distinct lines.
    lines: AtomicU64,
    /// Distinct senders heard from.
    senders: AtomicU64,
}

/// What one receiver got: per sender, the first arrival of each sequence
/// number; the duplicates and the lines out of order, as `(sender, seq)`.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// The node the receiver was on.
    pub(super) node: usize,
    pub(super) first: Vec<Vec<Option<Instant>>>,
    pub(super) duplicated: Vec<(usize, usize)>,
    pub(super) reordered: Vec<(usize, usize)>,
}

/// One sender's lines: its node, and when each left.
#[derive(Debug, Default)]
pub(super) struct Sent {
    pub(super) node: usize,
    pub(super) at: Vec<Instant>,
}

/// The flood's running clients.
pub(super) struct Flood {
    sending: Arc<AtomicBool>,
    listening: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    senders: Vec<JoinHandle<io::Result<Sent>>>,
    drains: Vec<JoinHandle<()>>,
    receivers: Vec<(Arc<Progress>, JoinHandle<io::Result<Seen>>)>,
}

impl Flood {
    /// Connects `receivers` then `senders` on each of `nodes` and starts
    /// them; the senders together offer `rate` lines/s.
    pub(super) fn start(
        nodes: &[SocketAddr],
        senders: usize,
        receivers: usize,
        rate: f64,
    ) -> Result<Flood, String> {
        let err = |e: io::Error| e.to_string();
        let mut flood = Flood {
            sending: Arc::new(AtomicBool::new(true)),
            listening: Arc::new(AtomicBool::new(true)),
            sent: Arc::new(AtomicU64::new(0)),
            senders: Vec::new(),
            drains: Vec::new(),
            receivers: Vec::new(),
        };
        let all_senders = senders * nodes.len();
        let mut n = 0;
        for (node, &addr) in nodes.iter().enumerate() {
            for _ in 0..receivers {
                let (_, reader) = LineClient::connect(addr, source(n))
                    .map_err(err)?
                    .into_parts();
                n += 1;
                let progress = Arc::new(Progress::default());
                let (on, p) = (Arc::clone(&flood.listening), Arc::clone(&progress));
                let t = thread::spawn(move || receive(reader, node, all_senders, &on, &p));
                flood.receivers.push((progress, t));
            }
        }
        let each = rate / all_senders as f64;
        for (node, &addr) in nodes.iter().enumerate() {
            for _ in 0..senders {
                let id = flood.senders.len();
                let (stream, reader) = LineClient::connect(addr, source(n))
                    .map_err(err)?
                    .into_parts();
                n += 1;
                stream.set_write_timeout(Some(WRITE_WAIT)).map_err(err)?;
                let on = Arc::clone(&flood.listening);
                flood.drains.push(thread::spawn(move || drain(reader, &on)));
                let (on, sent) = (Arc::clone(&flood.sending), Arc::clone(&flood.sent));
                let sender = thread::spawn(move || send(stream, id, node, each, &on, &sent));
                flood.senders.push(sender);
            }
        }
        Ok(flood)
    }

    /// Whether every receiver has heard from every sender.
    pub(super) fn all_heard(&self) -> bool {
        let senders = self.senders.len() as u64;
        (self.receivers.iter()).all(|(p, _)| p.senders.load(Ordering::Relaxed) >= senders)
    }

    /// Stops the senders, waits (at most [`DRAIN_WITHIN`]) until every
    /// receiver has as many lines as were sent, stops the rest, and returns
    /// each sender's lines and what each receiver saw.
    pub(super) fn stop(mut self) -> Result<(Vec<Sent>, Vec<Seen>), String> {
        self.sending.store(false, Ordering::Relaxed);
        let mut sends = Vec::new();
        let mut failed = None;
        for t in std::mem::take(&mut self.senders) {
            match t.join() {
                Ok(Ok(sent)) => sends.push(sent),
                Ok(Err(e)) => failed = Some(format!("a sender failed: {e}")),
                Err(_) => failed = Some("a sender panicked".into()),
            }
        }
        let want = self.sent.load(Ordering::Relaxed);
        let deadline = Instant::now() + DRAIN_WITHIN;
        let done = || (self.receivers.iter()).all(|(p, _)| p.lines.load(Ordering::Relaxed) >= want);
        while failed.is_none() && !done() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        // Later lines count as lost: the receivers stop reading now.
        self.listening.store(false, Ordering::Relaxed);
        let mut seen = Vec::new();
        for (_, t) in std::mem::take(&mut self.receivers) {
            match t.join() {
                Ok(Ok(s)) => seen.push(s),
                Ok(Err(e)) => failed = Some(format!("a receiver failed: {e}")),
                Err(_) => failed = Some("a receiver panicked".into()),
            }
        }
        for t in std::mem::take(&mut self.drains) {
            let _ = t.join();
        }
        match failed {
            Some(why) => Err(why),
            None => Ok((sends, seen)),
        }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.sending.store(false, Ordering::Relaxed);
        self.listening.store(false, Ordering::Relaxed);
    }
}

/// Sends numbered lines at `rate` per second, paced from the start (late
/// lines are caught up on), until `on` turns false.
fn send(
    mut stream: TcpStream,
    id: usize,
    node: usize,
    rate: f64,
    on: &AtomicBool,
    sent: &AtomicU64,
) -> io::Result<Sent> {
    let mut out = Sent {
        node,
        at: Vec::new(),
    };
    let start = Instant::now();
    let mut line = String::new();
    while on.load(Ordering::Relaxed) {
        let seq = out.at.len();
        let due = start + Duration::from_secs_f64(seq as f64 / rate);
        let now = Instant::now();
        if due > now {
            thread::sleep((due - now).min(Duration::from_millis(20)));
            continue;
        }
        line.clear();
        line.push_str(&format!("{MARK}{id} n{seq}\n"));
        stream.write_all(line.as_bytes())?;
        out.at.push(Instant::now());
        sent.fetch_add(1, Ordering::Relaxed);
    }
    Ok(out)
}

/// Reads and drops lines until `on` turns false or the server closes.
fn drain(mut reader: BufReader<TcpStream>, on: &AtomicBool) {
    if reader.get_ref().set_read_timeout(Some(READ_SLICE)).is_err() {
        return;
    }
    let mut line = Vec::new();
    while on.load(Ordering::Relaxed) {
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => return,
            Ok(_) => line.clear(),
            Err(e) if timed_out(&e) => {}
            Err(_) => return,
        }
    }
}

fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// `(sender, seq)` of a line holding the marker.
fn parse(line: &[u8]) -> Option<(usize, usize)> {
    let text = std::str::from_utf8(line).ok()?;
    let rest = &text[text.find(MARK)? + MARK.len()..];
    let (id, rest) = rest.split_once(" n")?;
    let seq = rest.trim_end();
    Some((id.parse().ok()?, seq.parse().ok()?))
}

/// Notes what arrives until `on` turns false.
fn receive(
    mut reader: BufReader<TcpStream>,
    node: usize,
    senders: usize,
    on: &AtomicBool,
    progress: &Progress,
) -> io::Result<Seen> {
    reader.get_ref().set_read_timeout(Some(READ_SLICE))?;
    let mut seen = Seen {
        node,
        first: vec![Vec::new(); senders],
        ..Seen::default()
    };
    let mut last: Vec<Option<usize>> = vec![None; senders];
    let mut line = Vec::new();
    while on.load(Ordering::Relaxed) {
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => return Err(io::Error::other("the node closed a receiver")),
            Ok(_) if !line.ends_with(b"\n") => continue,
            Ok(_) => {}
            // A partial line stays in `line` for the next read.
            Err(e) if timed_out(&e) => continue,
            Err(e) => return Err(e),
        }
        let at = Instant::now();
        let parsed = parse(&line);
        line.clear();
        let Some((id, seq)) = parsed else { continue };
        let Some(firsts) = seen.first.get_mut(id) else {
            continue;
        };
        if firsts.is_empty() {
            progress.senders.fetch_add(1, Ordering::Relaxed);
        }
        if firsts.len() <= seq {
            firsts.resize(seq + 1, None);
        }
        if firsts[seq].is_some() {
            seen.duplicated.push((id, seq));
            continue;
        }
        firsts[seq] = Some(at);
        progress.lines.fetch_add(1, Ordering::Relaxed);
        if last[id].is_some_and(|l| seq < l) {
            seen.reordered.push((id, seq));
        }
        last[id] = Some(last[id].map_or(seq, |l| l.max(seq)));
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_parsed_wherever_the_marker_is() {
        assert_eq!(
            parse(b"[12:00:01] <guest7> failover-line s3 n41\n"),
            Some((3, 41))
        );
        assert_eq!(parse(b"failover-line s0 n0"), Some((0, 0)));
        assert_eq!(parse(b"* guest7 joined lobby\n"), None);
        assert_eq!(parse(b"failover-line sx n1\n"), None);
    }
}
