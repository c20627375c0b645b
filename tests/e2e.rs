//! End-to-end tests: the real `chat-server` and `chat-client` binaries over
//! real sockets. One test binary; each module is one area. The harness is the
//! `chat_tests` library (lib.rs).

mod chat;
mod cli;
mod client_binary;
mod client_tls;
mod cluster;
mod cluster_faults;
mod cluster_security;
mod config;
mod console;
mod ipv6;
mod lifecycle;
mod limits;
mod netcat;
mod raw;
mod sanitize;
mod scenario;
mod secrets;
mod security;
mod store;
mod tui;
