//! The end-to-end test harness: the real `chat-server` and `chat-client`
//! binaries, run as child processes, talked to over real sockets. Every
//! end-to-end test in the workspace uses it (they all live in this package);
//! chat-net's and chat-client's own tests use it too, as a dev-dependency,
//! for [`Proc`] and the skip-or-fail rule ([`missing`]), so each is written
//! once.
//!
//! - [`bin`] finds a binary in the target directory (built once per test
//!   process by `cargo build`, so `cargo test -p chat-tests` alone is enough).
//! - [`ServerProcess`] runs `chat-server` in a temp dir of its own on a free
//!   port and knows the addresses it listens on ([`ServerBuilder`] for a
//!   config file, more listeners or a lower descriptor limit).
//! - [`Client`] is a line client over a `TcpStream`, with deadlines;
//!   [`http_get`] asks the `[metrics]` listener or a web listener.
//! - [`RedisProcess`] runs a `redis-server` of the test's own;
//!   [`SentinelGroup`] a master, a replica and three `redis-sentinel`s.
//! - [`NetLab`] is a network namespace joined by veth links to cut and
//!   shape, for faults over a real network path.
//! - [`Tmux`] runs `chat-client`, or another terminal program such as an
//!   IRC client, in a real terminal.
//! - [`Proc`] runs any child process with piped stdio and deadlines.
//! - [`Proxy`] forwards TCP on loopback and can cut every connection.
//! - [`TlsCert`] is a self-signed certificate for `localhost`.
//! - [`require_tool`], [`ipv6_available`] and [`missing`]: what a test needs
//!   from outside; missing, it skips, or fails under `CHAT_TESTS_REQUIRE=1`.
//!
//! Nothing here waits longer than [`TIMEOUT`]; every failure message shows the
//! command, its directory and what it printed, or every line a client
//! received; a server or redis-server alive when a test fails prints its
//! report as it is dropped.

mod support {
    pub(crate) mod bins;
    pub(crate) mod client;
    pub(crate) mod flood;
    pub(crate) mod http;
    pub(crate) mod netns;
    pub(crate) mod proc;
    pub(crate) mod proxy;
    pub(crate) mod redis;
    pub(crate) mod require;
    pub(crate) mod sentinel;
    pub(crate) mod server;
    pub(crate) mod stamp;
    pub(crate) mod tempdir;
    pub(crate) mod tls;
    pub(crate) mod tmux;
}

use std::time::Duration;

pub use support::bins::{bin, command};
pub use support::client::{Client, tcp_connect_from};
pub use support::flood::flood;
pub use support::http::{HttpReply, http_get, http_request, metric_sample, read_reply};
pub use support::netns::NetLab;
pub use support::proc::{Proc, Stream, rss_kib};
pub use support::proxy::Proxy;
pub use support::redis::RedisProcess;
pub use support::require::{REQUIRE_VAR, ipv6_available, missing, require_tool};
pub use support::sentinel::{DOWN_AFTER, SentinelGroup};
pub use support::server::{ServerBuilder, ServerProcess, operator_config};
pub use support::stamp::{is_ctime, split_stamp};
pub use support::tempdir::TempDir;
pub use support::tls::TlsCert;
pub use support::tmux::Tmux;

/// The longest any single wait in a test may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A loopback port nothing listens on right now (bound, then let go).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("cannot find a free port: {e}"))
}
