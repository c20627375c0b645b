//! chat-bench: the benchmark of chat-server, side by side with Redis pub/sub
//! and `ncat --chat` (the fast general-purpose fan-out and the simplest
//! chat relay), run by `cargo xtask bench`.
//!
//! It starts each server itself on a free loopback port, pinned to CPU 0,
//! pins its own one-thread mio load generator to CPU 1, runs the workloads
//! (fan-out sweeps, fan-out over IRC beside the line protocol and Redis,
//! ping-pong, idle connections, churn, fan-out over TLS,
//! over WebSocket, across two cluster nodes, and with the history store,
//! alone and while other clients search), prints a table and
//! writes `bench/results.json`, `bench/fanout.svg` and `BENCHMARKS.md`. With
//! `--smoke` it runs for seconds against chat-server only and checks counts,
//! never speed.
//!
//! What it must never do: talk to an address outside 127.0.0.0/8 (every
//! group checks its server's address), run unbounded (every wait has a
//! deadline, every sweep a last rate), leave a server running (a server is
//! killed and reaped when its handle drops), or allocate per message in the
//! generator's hot path.

pub mod bucket;
pub mod dialect;
pub mod loadgen;
pub mod markdown;
pub mod marker;
pub mod perf;
pub mod plan;
pub mod report;
pub mod servers;
pub mod stats;
pub mod sys;
pub mod template;
pub mod tls;
pub mod workloads;
