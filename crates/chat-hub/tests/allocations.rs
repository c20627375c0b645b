//! A relayed line is encoded once and shared: the allocations it costs do not
//! grow with the number of recipients, in the line protocol and in IRC. Counted with a counting global
//! allocator around the hub alone (no sockets, no reactor).

#![allow(clippy::print_stderr)] // the figures are worth seeing with --nocapture

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use chat_hub::{Arrival, ClientId, Hub, HubConfig, Outbox, Protocol, StoreRequest};
use chrono::DateTime;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: defers to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Keeps what was sent in preallocated queues, as the reactor does, and
/// drops it when "written"; what goes to the history store waits in a
/// preallocated channel, as in the server.
struct Queues(Vec<Vec<Bytes>>, Vec<StoreRequest>);

impl Outbox for Queues {
    fn store(&mut self, request: StoreRequest) -> bool {
        self.1.push(request);
        true
    }
    fn send(&mut self, to: ClientId, msg: Bytes) {
        if let Some(queue) = self.0.get_mut(to.0) {
            queue.push(msg);
        }
    }
    fn close(&mut self, _client: ClientId) {}
    fn console(&mut self, _line: &str) {}
}

impl Queues {
    fn written(&mut self) {
        self.0.iter_mut().for_each(Vec::clear);
        self.1.clear();
    }
}

/// Allocations for `lines` relayed lines in a room of `members`, after warm-up.
fn allocations_per_line(members: usize, lines: u64, store: bool) -> f64 {
    allocations_per_line_in(members, lines, store, Protocol::Line, Protocol::Line)
}

/// [`allocations_per_line`] with the sender (client 0) speaking `sender`
/// and every other member `receivers`.
fn allocations_per_line_in(
    members: usize,
    lines: u64,
    store: bool,
    sender: Protocol,
    receivers: Protocol,
) -> f64 {
    // The counter is global: one measurement at a time.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _measuring = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let now = DateTime::parse_from_rfc3339("2026-11-03T08:05:09+00:00").unwrap_or_default();
    // History on, its ring as long as it goes: recording each line into
    // the full ring is part of what is counted.
    let mut hub = Hub::new(HubConfig {
        announce_limit: 0,
        history_lines: 250,
        ..HubConfig::default()
    });
    if store {
        hub.use_store(1, Vec::new(), false);
    }
    let queues = (0..members).map(|_| Vec::with_capacity(64)).collect();
    let mut out = Queues(queues, Vec::with_capacity(64));
    let peer = "127.0.0.1:1".parse().unwrap_or_else(|e| panic!("{e}"));
    for id in 0..members {
        let protocol = if id == 0 { sender } else { receivers };
        hub.connected(&mut out, ClientId(id), Arrival { peer, protocol }, now);
        if protocol == Protocol::Irc {
            let register = format!("NICK irc{id}\r\nUSER u 0 * :u\r\nJOIN #lobby\r\n");
            hub.received(&mut out, ClientId(id), register.as_bytes(), now);
        }
        out.written();
    }
    let line: &[u8] = match sender {
        Protocol::Irc => b"PRIVMSG #lobby :a line of chat that is about sixty-four bytes long\r\n",
        _ => b"a line of chat that is about sixty-four bytes long, give or take\n",
    };
    // Warm up: scratch strings, arena, queues and the room's history ring
    // (at most 1000 slots) reach their steady capacity.
    for _ in 0..1100 {
        hub.received(&mut out, ClientId(0), line, now);
        out.written();
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..lines {
        hub.received(&mut out, ClientId(0), line, now);
        out.written();
    }
    (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / lines as f64
}

#[test]
fn allocations_per_relayed_line_do_not_grow_with_recipients() {
    let small = allocations_per_line(10, 2000, false);
    let large = allocations_per_line(1000, 2000, false);
    eprintln!("allocations per relayed line: {small:.3} (10 members), {large:.3} (1000 members)");
    assert!(
        large <= small + 0.01,
        "per-line allocations grew with the room: {small} -> {large}"
    );
    assert!(
        large < 0.1,
        "the arena should make steady relaying allocation-free: {large}"
    );
}

#[test]
fn a_line_on_its_way_to_the_history_store_costs_no_allocation_either() {
    let stored = allocations_per_line(100, 2000, true);
    eprintln!("allocations per relayed line with the store on: {stored:.3}");
    assert!(
        stored < 0.1,
        "a line for the store should be the room's key and an arena slice: {stored}"
    );
}

#[test]
fn a_line_to_irc_clients_and_from_one_costs_no_allocation_either() {
    let to_irc = allocations_per_line_in(100, 2000, true, Protocol::Line, Protocol::Irc);
    let from_irc = allocations_per_line_in(100, 2000, true, Protocol::Irc, Protocol::Irc);
    eprintln!("allocations per relayed line: {to_irc:.3} (to IRC), {from_irc:.3} (IRC to IRC)");
    assert!(to_irc < 0.1, "a line to IRC clients: {to_irc}");
    assert!(from_irc < 0.1, "a line from an IRC client: {from_irc}");
}
