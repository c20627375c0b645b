//! `chat-client`: a small, scriptable TCP client for the chat server.
//!
//! It connects to one server and shuttles bytes between that connection and
//! the terminal (or a script): lines typed on stdin go to the server, whatever
//! the server sends is printed on stdout. In line mode (the default) it speaks
//! the server's LF-terminated UTF-8 lines; in raw mode (`--raw`) it behaves
//! like the classic socket-tutorial client (one unterminated chunk per input
//! line, in lockstep with the server's replies).
//!
//! What it must never do: re-stamp, reorder, filter or otherwise rewrite what
//! the server sent (the only changes are a lossy decode of invalid UTF-8 and
//! a newline after a final partial line or a raw chunk), send anything the
//! user did not type (apart from the `/nick` asked for on the command line),
//! or print anything but the server's data on stdout when driven by a script.
//!
//! This file holds the command line and the dispatch; the work lives in
//! [`connect`], [`line_mode`] and [`raw_mode`].
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod connect;
mod error;
mod line_mode;
mod raw_mode;
mod reader;
mod stdio;

use clap::Parser;

use crate::error::Result;

/// Default server port (the chat server's default too).
const DEFAULT_PORT: u16 = 21263;

const LONG_ABOUT: &str = "\
Connect to a chat server and relay between it and this terminal (or a script).

Line mode (the default): every line read from stdin is sent to the server with
a trailing LF (a trailing CR is dropped, empty lines are not sent). Every line
the server sends is printed on stdout as soon as it arrives. At end of stdin the
client half-closes the connection, keeps printing until the server closes it,
then exits 0. If the server closes first (for example after `/quit`), the client
prints what is left and exits 0 at once.

Raw mode (--raw): compatible with the classic socket-tutorial client and server.
Each input line is sent as one write with no newline, and the client waits for
the server's reply before sending the next line, so a chunk-based server never
sees two messages glued together. Every chunk received is printed followed by a
newline. An empty line or end of stdin ends the session. When stdin is a
terminal, the prompt `>>> ` is shown before each line.

Exit status: 0 when the session ends normally, 1 when the server cannot be
reached or the connection breaks (a one-line message on stderr names the
address).";

const EXAMPLES: &str = "\
Examples:
  chat-client                              # 127.0.0.1:21263, line mode
  chat-client ::1 21263 --nick alice       # IPv6, pick a nick first
  printf 'hello\\n/quit\\n' | chat-client    # scripted session
  chat-client --raw example.org 12345      # talk to a tutorial server";

#[derive(Debug, Parser)]
#[command(
    name = "chat-client",
    version,
    about = "Connect to a chat server: line mode (default) or raw tutorial mode.",
    long_about = LONG_ABOUT,
    after_help = EXAMPLES,
)]
struct Args {
    /// Server host: IPv4, IPv6 (`::1` or `[::1]`) or a host name
    ///
    /// A host name may resolve to several addresses; each is tried in turn.
    #[arg(default_value = "127.0.0.1")]
    host: String,

    /// Server TCP port
    #[arg(default_value_t = DEFAULT_PORT)]
    port: u16,

    /// Send `/nick NAME` right after connecting (line mode only)
    #[arg(long, value_name = "NAME", conflicts_with = "raw", value_parser = parse_nick)]
    nick: Option<String>,

    /// Raw mode: the classic socket-tutorial protocol
    ///
    /// Each input line is one write with no newline, sent once the server
    /// has replied to the previous one; each chunk received is printed on a
    /// line of its own.
    #[arg(long)]
    raw: bool,
}

/// A nick must be one non-empty line; anything else would smuggle in an
/// extra command.
fn parse_nick(value: &str) -> std::result::Result<String, String> {
    if value.trim().is_empty() {
        Err("the nick must not be empty".to_owned())
    } else if value.chars().any(char::is_control) {
        Err("the nick must not contain control characters".to_owned())
    } else {
        Ok(value.to_owned())
    }
}

fn main() {
    let args = Args::parse();
    error::exit_with(run(&args));
}

fn run(args: &Args) -> Result<()> {
    let (stream, peer) = connect::connect(&args.host, args.port)?;
    if args.raw {
        raw_mode::run(stream, peer)
    } else {
        line_mode::run(stream, peer, args.nick.as_deref())
    }
}
