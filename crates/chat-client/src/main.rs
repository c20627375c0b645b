//! `chat-client`: the chat server's client, interactive or scriptable.
//!
//! When stdin and stdout are both terminals it runs a full-screen chat
//! interface ([`tui`]): messages scroll above an input line that incoming
//! traffic never clobbers, with line editing, history, Tab completion,
//! colours, a status line, scrollback and optional reconnect.
//!
//! Otherwise (a script) it shuttles bytes between the connection and
//! stdin/stdout: lines on stdin go to the server, whatever the server sends
//! is printed on stdout. In line mode (the default) it speaks the server's
//! LF-terminated UTF-8 lines, or prints each as a JSON object with `--json`
//! ([`json`]); in raw mode (`--raw`) it behaves like the classic
//! socket-tutorial client (one unterminated chunk per input line, in lockstep
//! with the server's replies).
//!
//! What scripted mode must never do: re-stamp, reorder, filter or otherwise
//! rewrite what the server sent (the only changes are a lossy decode of
//! invalid UTF-8 and a newline after a final partial line or a raw chunk),
//! send anything the user did not type (apart from the `/pass`, `/nick` and
//! `/login` asked for on the command line or by `CHAT_PASSWORD` and
//! `CHAT_ACCOUNT_PASSWORD`), or print anything but the server's data on
//! stdout. The one exception is `--reconnect` ([`reconnecting`],
//! [`catchup`]): it asks for message ids, rejoins and catches up on its own,
//! strips the ids before printing and drops lines it already printed, so
//! that what is printed is every line once; with `--account` it also asks
//! for a login token and keeps its notice to itself ([`account`]).
//!
//! With `--tls` the connection is TLS ([`tls`]): the handshake runs before
//! the connection counts as up, then a small pump gives every mode a socket
//! to use exactly like the plain one. The default trust is the Mozilla root
//! store bundled by **webpki-roots** rather than the OS store
//! (rustls-native-certs): the client then behaves the same on every machine
//! and needs no system certificate store; `--ca FILE` trusts a private CA or
//! a self-signed certificate instead. A server password
//! (`--password-file`, `CHAT_PASSWORD`, [`password`]) goes out as the
//! connection's first line, `/pass SECRET`.
//!
//! This file holds the command line and the dispatch; the work lives in
//! [`connect`], [`line_mode`], [`reconnecting`], [`raw_mode`], [`json`] and
//! [`tui`].
//!
//! ## The terminal interface: crates and why
//!
//! - **ratatui** (with its re-exported **crossterm** backend) draws the
//!   screen from state: messages, status line and input line are laid out
//!   every frame and ratatui sends only the cells that changed. An incoming
//!   message therefore cannot tear up the line being typed (there is no
//!   "print above the prompt" trick to get wrong), resize is just a redraw,
//!   and scrollback is an offset into our own list. `ratatui::try_init` /
//!   `restore` enter and leave raw mode and the alternate screen and install
//!   a panic hook that restores the terminal. Its `TestBackend` renders into
//!   a buffer, so screens are snapshot-tested with insta without a terminal.
//!   crossterm's event reader gives us keys (with modifiers) and resizes.
//! - **tui-input** is the input line: cursor moves, Home/End, Ctrl-A/E/W/U/K,
//!   word moves (Ctrl-Left/Right; Alt-B/F are mapped onto them), Backspace
//!   and Delete, with correct handling of wide characters and horizontal
//!   scrolling. It is a small, single-line editor made for ratatui, where
//!   tui-textarea is a multi-line editor we would have to restrain.
//! - History (a `Vec` plus an append-only file) and Tab completion (nicks
//!   learned from chat-proto's parsed lines, commands from chat-proto's
//!   `/help` table) are a few dozen lines each, so no crate for them.
//! - Not chosen: **reedline**/**rustyline** with an external printer. They
//!   give a good line editor with history and completion, but messages are
//!   printed into the normal terminal flow above the prompt: no status line,
//!   no PageUp/PageDown scrollback of our own, and less control over redraws
//!   on resize; adding those back would mean a second screen model.
//! - **serde_json** writes `--json` objects (correct escaping for free).
//! - **chrono** (already in the workspace through chat-proto) turns the
//!   protocol stamp, parsed by `chat_proto::parse_stamp`, into local time
//!   with the user's `--time-format`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod account;
mod catchup;
mod connect;
mod error;
// The same file as chat-server's: both binaries make their man page and
// completions from clap alike, and share no crate that knows clap.
#[allow(unreachable_pub, reason = "written for chat-server's library")]
#[path = "../../chat-server/src/generate.rs"]
mod generate;
mod json;
mod line_mode;
mod password;
mod raw_mode;
mod reader;
mod reconnecting;
mod stdio;
mod tls;
mod tui;

use std::io::IsTerminal as _;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use crate::connect::Connector;
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

Interactive mode: when stdin and stdout are both terminals (and neither --raw
nor --json is given), a full-screen interface: messages above, a status line,
the input line at the bottom. Keys: Enter sends; Left/Right, Home/End,
Ctrl-A/E, Ctrl-Left/Right or Alt-B/F (words), Backspace/Delete, Ctrl-W/U/K
edit; Up/Down recall history (kept in $XDG_DATA_HOME/chat-client/history or
~/.local/share/chat-client/history unless --no-history); Tab completes nicks
and /commands (again to cycle); PageUp/PageDown scroll; Ctrl-C, Ctrl-D on an
empty line or /quit leave.

Rooms: each room joined gets a window of its own, numbered in the order
joined, with its own scrollback; private messages, errors and information go
to the window shown. `/join ROOM` opens ROOM's window (or shows it, if joined
already) once the server confirms; `/part [ROOM]` closes it. Alt-1 to Alt-9
(Alt-0 for the tenth) show a window, Ctrl-N/Ctrl-P the next/previous one;
showing a window also makes it where plain lines go (the client sends `/join
ROOM`). The status line lists the windows, `[*2:dev]` being the one shown and
`[1:lobby(3)]` one with 3 unread lines, `(3!)` when one mentions your nick.
With --reconnect every room is rejoined after a reconnect, each caught up
without repeating a line already shown.

Raw mode (--raw): compatible with the classic socket-tutorial client and server.
Each input line is sent as one write with no newline, and the client waits for
the server's reply before sending the next line, so a chunk-based server never
sees two messages glued together. Every chunk received is printed followed by a
newline. An empty line or end of stdin ends the session. When stdin is a
terminal, the prompt `>>> ` is shown before each line.

TLS (--tls): the certificate is checked against the Mozilla roots built into
the client (the same on every machine), or against --ca FILE for a private CA
or a self-signed certificate, for the name --tls-name or else HOST (an IP
address must be in the certificate as an IP address). --insecure checks nothing
and says so on stderr. TLS 1.2 or newer. A failed handshake is a connection
error.

Password: with --password-file FILE (its first line) or else the environment
variable CHAT_PASSWORD, the client sends `/pass SECRET` as its very first line,
before --nick (in raw mode: as the first chunk, waiting for the reply like any
other). The secret is never printed.

Accounts: with --account NAME the client sends `/login NAME PASSWORD` right
after connecting (and after `/pass`), the password being the first line of
--password-file FILE or else the environment variable CHAT_ACCOUNT_PASSWORD
(with --account, a server password comes from CHAT_PASSWORD only). The login
gives the account's nick, so --account and --nick do not go together. With
--reconnect the client asks for a login token once logged in, and logs in
with it after each reconnect (`/resume NAME TOKEN`; the password again if
the token is refused). Neither the password nor the token is printed or kept
in the input history.

Exit status: 0 when the session ends normally, 1 when the server cannot be
reached or the connection breaks (a one-line message on stderr names the
address).";

const EXAMPLES: &str = "\
Examples:
  chat-client                              # 127.0.0.1:21263, line mode
  chat-client ::1 21263 --nick alice       # IPv6, pick a nick first
  printf 'hello\\n/quit\\n' | chat-client    # scripted session
  chat-client --raw example.org 12345      # talk to a tutorial server
  chat-client --json < /dev/null | jq .    # received lines as JSON
  chat-client --tls --ca ca.pem chat.lan   # TLS, trusting a private CA
  CHAT_PASSWORD=s3cret chat-client         # a server with a password
  chat-client --account alice --password-file pw.txt  # log in";

#[derive(Debug, Parser)]
#[command(
    name = "chat-client",
    version,
    about = "Connect to a chat server: a terminal chat interface, scripted line or JSON mode, or raw tutorial mode.",
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

    /// Print each received line as one JSON object (scripted mode)
    ///
    /// Keys: timestamp, kind, nick, room, text (null where they do not
    /// apply), plus count for member and room lists.
    #[arg(long, conflicts_with = "raw")]
    json: bool,

    /// Colours in the interactive mode (auto: on unless NO_COLOR is set)
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    color: ColorChoice,

    /// How the interactive mode shows times (strftime, local time)
    #[arg(long, value_name = "FORMAT", default_value = "%H:%M", value_parser = tui::parse_time_format)]
    time_format: String,

    /// Do not read or write the input history file
    #[arg(long)]
    no_history: bool,

    /// Reconnect after a dropped connection (backing off from 1 s to 30 s),
    /// rejoin the nick and room, and show what was said meanwhile exactly
    /// once (by message ids, where the server keeps a history file); in
    /// every mode but --raw
    #[arg(long, conflicts_with = "raw")]
    reconnect: bool,

    /// Connect with TLS (certificates checked against the bundled Mozilla
    /// roots unless --ca or --insecure)
    #[arg(long)]
    tls: bool,

    /// Trust the certificates in this PEM file (a private CA or a
    /// self-signed certificate) instead of the bundled roots
    #[arg(long, value_name = "FILE", requires = "tls")]
    ca: Option<PathBuf>,

    /// The name the server's certificate must carry, also sent as SNI
    /// (default: HOST)
    #[arg(long, value_name = "NAME", requires = "tls")]
    tls_name: Option<String>,

    /// Accept any certificate: NO verification, anyone on the path can read
    /// and change the chat (a warning is printed)
    #[arg(long, requires = "tls", conflicts_with = "ca")]
    insecure: bool,

    /// Send `/pass` with the first line of FILE before anything else
    /// (default: $CHAT_PASSWORD, if set); with --account, FILE holds the
    /// account's password instead (default: $CHAT_ACCOUNT_PASSWORD)
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,

    /// Log in to account NAME right after connecting (its password from
    /// --password-file or $CHAT_ACCOUNT_PASSWORD; not with --raw)
    #[arg(long, value_name = "NAME", conflicts_with_all = ["raw", "nick"], value_parser = parse_nick)]
    account: Option<String>,

    /// Write the man page or a shell's completions on stdout and exit (for packaging)
    #[arg(long, value_name = "WHAT", hide = true)]
    generate: Option<generate::Generate>,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Never,
    Auto,
    Always,
}

impl ColorChoice {
    fn enabled(self) -> bool {
        match self {
            Self::Never => false,
            Self::Always => true,
            Self::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
                    && std::env::var_os("TERM").is_none_or(|term| term != "dumb")
            }
        }
    }
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
    if let Some(what) = args.generate {
        use clap::CommandFactory;
        if let Err(e) = generate::write(Args::command(), what, &mut std::io::stdout().lock()) {
            eprintln!("chat-client: cannot write it: {e}");
            std::process::exit(1);
        }
        return;
    }
    error::exit_with(run(&args));
}

fn run(args: &Args) -> Result<()> {
    // With an account, the password file is the account's.
    let (password, account) = match &args.account {
        Some(name) => {
            let account = account::Account::load(name, args.password_file.as_deref())?;
            (password::load(None)?, Some(account))
        }
        None => (password::load(args.password_file.as_deref())?, None),
    };
    let connector = Connector {
        host: args.host.clone(),
        port: args.port,
        tls: tls_setup(args)?,
    };
    let (stream, peer) = connector.connect()?;
    let interactive = !args.raw
        && !args.json
        && std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal();
    if args.raw {
        raw_mode::run(stream, peer, password.as_ref())
    } else if interactive {
        let options = tui::Options {
            connector,
            password,
            insecure: args.insecure,
            nick: args.nick.clone(),
            account,
            colors: args.color.enabled(),
            time_format: args.time_format.clone(),
            history: !args.no_history,
            reconnect: args.reconnect,
        };
        tui::run(stream, peer, options)
    } else if args.reconnect {
        let password = password.as_ref().map(password::Password::command);
        let nick = args.nick.as_deref();
        let start = reconnecting::Start {
            password,
            nick,
            account,
            json: args.json,
        };
        reconnecting::run(stream, peer, connector, start)
    } else {
        let login = account.and_then(|mut account| account.login_line());
        let first = line_mode::First {
            password: password.as_ref(),
            login: login.as_deref(),
            nick: args.nick.as_deref(),
        };
        line_mode::run(stream, peer, first, args.json)
    }
}

/// The TLS configuration for `--tls` (printing the `--insecure` warning).
fn tls_setup(args: &Args) -> Result<Option<tls::Setup>> {
    if !args.tls {
        return Ok(None);
    }
    let trust = if args.insecure {
        eprintln!("chat-client: {}", tls::INSECURE_WARNING);
        tls::Trust::Insecure
    } else if let Some(ca) = &args.ca {
        tls::Trust::Ca(ca.clone())
    } else {
        tls::Trust::Roots
    };
    let name = args
        .tls_name
        .as_deref()
        .unwrap_or_else(|| connect::default_tls_name(&args.host));
    tls::Setup::new(&trust, name).map(Some)
}
