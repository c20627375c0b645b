//! End-to-end tests: the real `chat-server` and `chat-client` binaries over
//! real sockets. One test binary; each module is one area. The harness is the
//! `chat_tests` library (lib.rs).

mod accounts;
mod alertmanager;
mod api;
mod catchup;
mod chat;
mod check_config;
mod cli;
mod client_account;
mod client_binary;
mod client_tls;
mod cluster;
mod cluster_failover;
mod cluster_faults;
mod cluster_security;
mod config;
mod console;
mod dist;
mod ipv6;
mod irc;
mod irc_history;
mod irc_websocket;
mod lifecycle;
mod limits;
mod logs;
mod metrics;
mod netcat;
mod raw;
mod reload;
mod sanitize;
mod scenario;
mod secrets;
mod security;
mod store;
mod store_safety;
mod systemd;
mod tui;
mod web;
mod web_browser;
mod web_security;
mod webhooks;
