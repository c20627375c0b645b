//! `cargo xtask e2e`: the scripted conversation against the real binaries
//! (node a with a TLS client, and with redis-server a second cluster node).
//!
//! The scenario is a test on the shared end-to-end harness,
//! `scenario::scripted_conversation` in `tests/scenario.rs` (package
//! `chat-tests`); this task only runs it through cargo with `--nocapture`,
//! so each step it takes is printed. The harness builds the binaries, starts
//! the servers and redis-server, and on failure prints every transcript.

use crate::{Result, cargo, run_status};

/// The scenario test, by its full name in the `e2e` test binary.
const SCENARIO: &str = "scenario::scripted_conversation";

pub(crate) fn run() -> Result {
    run_status(&mut cargo(&[
        "test",
        "-p",
        "chat-tests",
        "--test",
        "e2e",
        "--",
        "--exact",
        SCENARIO,
        "--nocapture",
    ]))
}
