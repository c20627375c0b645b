//! Tunables of the reactor, with defaults sized for many small messages.

use std::time::Duration;

/// Reactor settings. [`NetConfig::default`] is a sensible start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetConfig {
    /// Most bytes a connection may have queued; a `send` beyond it closes the
    /// connection with [`CloseReason::QueueOverflow`](crate::CloseReason::QueueOverflow).
    /// Default 1 MiB.
    pub max_queue_bytes: usize,
    /// Most bytes written to one connection per loop turn, so one fast reader
    /// cannot monopolise the thread. Default 256 KiB.
    pub write_budget_per_turn: usize,
    /// Most bytes read from one connection per loop turn, so one flooding
    /// peer cannot starve the others. Default 64 KiB.
    pub read_budget_per_turn: usize,
    /// Size of the single read buffer shared by all connections. Default 64 KiB.
    pub read_buffer_size: usize,
    /// Set `TCP_NODELAY` on accepted sockets: chat lines are small and latency
    /// matters more than packet count. Default true.
    pub tcp_nodelay: bool,
    /// TCP keepalive idle time for accepted sockets, `None` to leave it off.
    /// Default 60 s, so vanished peers are eventually noticed.
    pub keepalive: Option<Duration>,
    /// `listen(2)` backlog. Default 1024.
    pub backlog: i32,
    /// How long [`Net::close_after_flush`](crate::Net::close_after_flush) may
    /// take before the connection is closed anyway. Default 5 s.
    pub linger: Duration,
    /// How long a TLS client may take to finish its handshake before it is
    /// closed. Default 10 s.
    pub tls_handshake_timeout: Duration,
    /// Under load, how long a turn may go on reading before it writes: while
    /// at least [`GATHER_MIN_PENDING`](crate::GATHER_MIN_PENDING) connections
    /// have output waiting and more input keeps arriving, the reactor polls
    /// again (without sleeping) and reads it first, so each write carries
    /// more lines. Zero: write after every poll. Default 1 ms.
    pub gather_for: Duration,
    /// Under load, the longest a write to many connections waits after the
    /// last one: a turn that would write to at least
    /// [`GATHER_MIN_PENDING`](crate::GATHER_MIN_PENDING) connections on a
    /// busy loop waits, reading, until up to as long after the last such
    /// turn's writing as that writing took (`pace.rs` says how much of it),
    /// but no longer than this. With time to spare nothing waits. Zero:
    /// never wait. Default 1 ms.
    pub hold_for: Duration,
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            max_queue_bytes: 1024 * 1024,
            write_budget_per_turn: 256 * 1024,
            read_budget_per_turn: 64 * 1024,
            read_buffer_size: 64 * 1024,
            tcp_nodelay: true,
            keepalive: Some(Duration::from_secs(60)),
            backlog: 1024,
            linger: Duration::from_secs(5),
            tls_handshake_timeout: Duration::from_secs(10),
            gather_for: Duration::from_millis(1),
            hold_for: Duration::from_millis(1),
        }
    }
}
