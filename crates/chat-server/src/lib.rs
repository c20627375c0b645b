//! chat-server is the chat itself: the hub (rooms, nicks, commands, the
//! operator) as a sans-I/O state machine, the configuration, and the binary
//! that joins them to the reactor.
//!
//! **Architecture invariant:** the [`hub`] touches no socket and reads no
//! clock. Events and the time go in; sends, closes and console lines come out
//! through an [`hub::Outbox`]. Only this crate reads `server.toml`.

pub mod cli;
pub mod cluster;
pub mod config;
pub mod console_input;
pub mod hub;
pub mod server;
pub mod tls;
