//! The end-to-end test harness: the real `chat-server` and `chat-client`
//! binaries, run as child processes, talked to over real sockets.
//!
//! - [`bin`] finds a binary in the target directory (built once per test
//!   process by `cargo build`, so `cargo test -p chat-tests` alone is enough).
//! - [`ServerProcess`] runs `chat-server` in a temp dir of its own on a free
//!   port and knows the addresses it listens on.
//! - [`Client`] is a line client over a `TcpStream`, with deadlines.
//! - [`Proc`] runs any child process with piped stdio and deadlines.
//!
//! Nothing here waits longer than [`TIMEOUT`]; every failure message shows the
//! command and what it printed, or every line a client received.

mod support {
    pub(crate) mod bins;
    pub(crate) mod client;
    pub(crate) mod proc;
    pub(crate) mod server;
    pub(crate) mod stamp;
    pub(crate) mod tempdir;
}

use std::time::Duration;

pub use support::bins::{bin, command};
pub use support::client::Client;
pub use support::proc::Proc;
pub use support::server::ServerProcess;
pub use support::stamp::{is_ctime, split_stamp};
pub use support::tempdir::TempDir;

/// The longest any single wait in a test may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Can this host bind the IPv6 loopback? If not, says the calling test is
/// skipped (on stderr) and returns `false`.
pub fn ipv6_available(test: &str) -> bool {
    match std::net::TcpListener::bind("[::1]:0") {
        Ok(_) => true,
        Err(e) => {
            skip(test, &format!("cannot bind [::1]:0: {e}"));
            false
        }
    }
}

/// Says on stderr that `test` is skipped, and why.
#[allow(clippy::print_stderr)]
pub fn skip(test: &str, why: &str) {
    eprintln!("skipped {test}: {why}");
}
