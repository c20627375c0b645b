//! chat-server is the binary and its adapters: it reads the configuration,
//! joins the hub (crate `chat_hub`) to the reactor (crate `chat_net`), reads
//! the operator's console, checks `/oper` passwords on a thread of their
//! own, keeps the accounts and checks their passwords on another
//! (`accounts`), keeps history in SQLite (`store`), serves the browser page and its
//! WebSocket on web listeners (`web`), and in a cluster bridges to Redis.
//!
//! **Architecture invariant:** the chat's decisions live in chat-hub; this
//! crate only carries events in and actions out. Only this crate reads
//! `server.toml`, and only this crate talks to Redis.

pub mod accounts;
pub mod api;
pub mod background;
pub mod cli;
pub mod cluster;
pub mod cluster_config;
pub mod config;
pub mod console_input;
mod emitter;
pub mod generate;
pub mod hooks;
pub mod http_endpoints;
pub mod listen;
pub mod log;
pub mod metrics;
pub mod notify;
pub mod ops_config;
pub mod preflight;
pub mod reload;
pub mod server;
pub mod store;
pub mod tls;
pub mod tokens;
mod toml_location;
pub mod verifier;
pub mod web;
