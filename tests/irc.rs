//! The IRC listener over real sockets, checked with the clients people use:
//! a Python client built on the `irctokens` package (PyPI), which parses
//! and writes every line (`tests/irc/irc_client.py`, driven through
//! [`Irc`]); irssi in a real terminal (tmux); and WeeChat without one
//! (`weechat-headless`, typed to through its fifo plugin, read through its
//! logger). Each test starts a chat-server with a line listener and an IRC
//! listener on free ports, and checks what IRC clients and line clients
//! (the part `nc` plays, played by [`Client`]) see of each other.
//!
//! - `registration.rs`: the welcome burst (snapshot), capabilities, nick
//!   refusals, the server password.
//! - `chat.rs`: channel and private messages both ways, actions, part,
//!   nick changes, quit (acknowledged with ERROR), echo-message, the `time`
//!   and `msgid` tags.
//! - `queries.rs`: NAMES, WHO, WHOIS, LIST, ISON, USERHOST, AWAY, OPER (464,
//!   381) and TOPIC (shown, set by operators, told to the channel as TOPIC),
//!   and the server's own queries.
//! - `irssi.rs` and `weechat.rs`: the two terminal clients.
//! - `accounts.rs`: SASL PLAIN (the Python client and irssi), `REGISTER`,
//!   NickServ, `account-tag` and `account-notify`.
//! - `markers.rs`: read markers (`draft/read-marker`, `MARKREAD`) across
//!   two connections of one account and a restart.
//!
//! Without python3 and irctokens, irssi or weechat-headless a test says
//! why and passes, or fails under `CHAT_TESTS_REQUIRE=1` (`.ci/run`
//! installs them).

mod accounts;
mod chat;
mod irssi;
mod markers;
mod queries;
mod registration;
mod weechat;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use chat_tests::{Client, Proc, ServerProcess, Stream, TIMEOUT, missing, require_tool};

/// A line listener first (so [`ServerProcess::connect`] and `join` reach
/// it), then an IRC listener, both on free ports.
const LISTEN: [&str; 5] = [
    "--listen",
    "127.0.0.1:0",
    "--listen",
    "127.0.0.1:0,irc",
    "--no-console",
];

/// Every test server's MOTD, so that what a client is shown is the same on
/// every run.
const MOTD: &str = "IRC and lines, one chat";

/// A chat-server with [`LISTEN`]'s listeners, [`MOTD`], and `config`
/// (more server.toml) after it.
fn server_with(config: &str) -> ServerProcess {
    ServerProcess::builder()
        .config(&format!("motd = \"{MOTD}\"\n{config}"))
        .args(&LISTEN)
        .start()
}

fn server() -> ServerProcess {
    server_with("")
}

/// A line client (what `nc` would be) on the server's line listener, in
/// `lobby`, renamed to `nick`.
fn nc(server: &ServerProcess, nick: &str) -> Client {
    let mut client = Client::join(server.plain_addr());
    client.send_line(&format!("/nick {nick}"));
    client.expect_body(&format!("-!- {} is now known as {nick}", client.nick()));
    client.set_nick(nick);
    client
}

/// The Python client's script, or `None` (skipped, or failed under
/// `CHAT_TESTS_REQUIRE=1`) when python3 or its `irctokens` package is
/// missing (`.ci/run` installs both).
pub(crate) fn irc_script() -> Option<PathBuf> {
    let python = require_tool("python3")?;
    let found = Command::new(&python)
        .args(["-c", "import irctokens"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        missing(
            "the Python irctokens package",
            "`python3 -c 'import irctokens'` failed (pip install irctokens)",
        );
        return None;
    }
    Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("irc/irc_client.py"))
}

/// One line the server sent, as irctokens parsed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IrcLine {
    /// The line as sent, without its line ending.
    pub(crate) raw: String,
    /// Whether it ended with CRLF, as IRC's lines do.
    crlf: bool,
    tags: Option<BTreeMap<String, String>>,
    source: Option<String>,
    /// Upper case.
    command: String,
    params: Vec<String>,
}

impl IrcLine {
    /// The line of a `recv JSON` report, or `None` for any other report.
    fn from_report(report: &str) -> Option<IrcLine> {
        let json: serde_json::Value = serde_json::from_str(report.strip_prefix("recv ")?).ok()?;
        let text = |value: &serde_json::Value| value.as_str().map(str::to_owned);
        let tags = json["tags"].as_object().map(|tags| {
            tags.iter()
                .map(|(name, value)| (name.clone(), text(value).unwrap_or_default()))
                .collect()
        });
        Some(IrcLine {
            raw: text(&json["raw"])?,
            crlf: json["crlf"].as_bool()?,
            tags,
            source: text(&json["source"]),
            command: text(&json["command"])?,
            params: json["params"].as_array()?.iter().filter_map(text).collect(),
        })
    }

    fn is(&self, command: &str) -> bool {
        self.command == command
    }

    /// Parameter `index`, or `""` when there is none.
    fn param(&self, index: usize) -> &str {
        self.params.get(index).map_or("", String::as_str)
    }

    /// The last parameter (a message's text, a numeric's words).
    fn last(&self) -> &str {
        self.params.last().map_or("", String::as_str)
    }

    /// The nick of a `nick!user@host` source.
    fn nick(&self) -> &str {
        let source = self.source.as_deref().unwrap_or_default();
        source.split('!').next().unwrap_or_default()
    }

    fn tag(&self, name: &str) -> Option<&str> {
        self.tags.as_ref()?.get(name).map(String::as_str)
    }

    /// A `PRIVMSG` from `nick` to `target` saying `text`.
    pub(crate) fn is_privmsg(&self, nick: &str, target: &str, text: &str) -> bool {
        self.is("PRIVMSG") && self.nick() == nick && self.param(0) == target && self.last() == text
    }
}

/// The Python IRC client (see the module docs), one connection. Every line
/// received is kept, so a failed expectation shows all of them.
pub(crate) struct Irc {
    proc: Proc,
    /// How many of the script's report lines were read.
    seen: usize,
    /// The nick it registered with, once it did.
    nick: String,
}

impl Irc {
    /// Starts the script and connects it to `addr`; nothing is sent yet.
    fn connect(script: &Path, addr: SocketAddr) -> Irc {
        let mut cmd = Command::new("python3");
        cmd.arg("-u").arg(script);
        let mut irc = Irc {
            proc: Proc::spawn(cmd),
            seen: 0,
            nick: String::new(),
        };
        irc.proc
            .write_line(&format!("connect {} {}", addr.ip(), addr.port()));
        irc.proc.expect_stdout("open");
        irc
    }

    /// Sends `words` (a command and its parameters) as irctokens writes
    /// them: a last parameter holding a space becomes a trailing one.
    fn send(&mut self, words: &[&str]) {
        let json = serde_json::to_string(words).unwrap_or_else(|e| panic!("{e}"));
        self.proc.write_line(&format!("send {json}"));
    }

    /// Sends `line` as it is.
    fn raw(&mut self, line: &str) {
        self.proc.write_line(&format!("raw {line}"));
    }

    /// Every line up to and including the first that satisfies `done`.
    /// Panics, showing every line received, after [`TIMEOUT`] or when the
    /// connection closes first.
    fn lines_until(&mut self, what: &str, done: impl Fn(&IrcLine) -> bool) -> Vec<IrcLine> {
        match self.read_until(&done) {
            Ok(lines) => lines,
            Err(why) => self.fail(&format!("{why} before a line {what}")),
        }
    }

    /// The first line (after those read) that satisfies `pred`.
    fn expect(&mut self, what: &str, pred: impl Fn(&IrcLine) -> bool) -> IrcLine {
        let mut lines = self.lines_until(what, pred);
        lines.pop().expect("lines_until returns the match")
    }

    /// The next line whose command (or numeric) is `command`.
    pub(crate) fn expect_command(&mut self, command: &str) -> IrcLine {
        self.expect(&format!("with command {command}"), |l| l.is(command))
    }

    /// Reads until the server closes the connection; returns the lines
    /// not read before.
    fn expect_closed(&mut self) -> Vec<IrcLine> {
        match self.read_until(&|_| false) {
            Err(Ended::Closed(lines)) => lines,
            Err(why) => self.fail(&format!("{why} (waiting for the server to close)")),
            Ok(_) => unreachable!("nothing satisfies the predicate"),
        }
    }

    /// Sends `PING` with a token of its own and returns every line before
    /// the `PONG` that answers it: the server answers in order, so these
    /// are all that what was sent before caused.
    fn sync(&mut self) -> Vec<IrcLine> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let token = format!("sync{}", NEXT.fetch_add(1, Ordering::Relaxed));
        self.send(&["PING", &token]);
        let mut lines = self.lines_until(&format!("PONG {token}"), |l| {
            l.is("PONG") && l.last() == token
        });
        lines.pop();
        lines
    }

    /// `NICK` and `USER`, then the lines up to the end of the MOTD.
    fn register(&mut self, nick: &str) -> Vec<IrcLine> {
        self.send(&["NICK", nick]);
        self.send(&["USER", nick, "0", "*", &format!("{nick} of the tests")]);
        self.welcomed(nick)
    }

    /// `CAP LS 302`, `CAP REQ` for `caps` (acknowledged), then
    /// [`Irc::register`] and `CAP END`. Returns the welcome burst.
    fn register_with_caps(&mut self, nick: &str, caps: &[&str]) -> Vec<IrcLine> {
        self.send(&["CAP", "LS", "302"]);
        self.expect("listing the capabilities", |l| {
            l.is("CAP") && l.param(1) == "LS" && l.param(2) != "*"
        });
        let wanted = caps.join(" ");
        self.send(&["CAP", "REQ", &wanted]);
        let ack = self.expect("answering CAP REQ", |l| {
            l.is("CAP") && matches!(l.param(1), "ACK" | "NAK")
        });
        if ack.param(1) != "ACK" || ack.last().trim() != wanted {
            self.fail(&format!("CAP REQ :{wanted} was answered {:?}", ack.raw));
        }
        self.send(&["NICK", nick]);
        self.send(&["USER", nick, "0", "*", &format!("{nick} of the tests")]);
        self.send(&["CAP", "END"]);
        self.welcomed(nick)
    }

    /// The lines up to the end of the MOTD (376, or 422 without one), which
    /// must include a 001 for `nick`.
    fn welcomed(&mut self, nick: &str) -> Vec<IrcLine> {
        let burst = self.lines_until("ending the MOTD (or refusing)", |l| {
            l.is("376") || l.is("422") || l.is("ERROR") || l.command.starts_with('4')
        });
        if !burst.iter().any(|l| l.is("001") && l.param(0) == nick) {
            self.fail(&format!("registering as {nick} got no 001"));
        }
        nick.clone_into(&mut self.nick);
        burst
    }

    /// `JOIN #lobby`; returns the lines up to the end of its NAMES.
    pub(crate) fn join_lobby(&mut self) -> Vec<IrcLine> {
        self.send(&["JOIN", "#lobby"]);
        self.lines_until("ending the NAMES of #lobby (366)", |l| {
            l.is("366") && l.param(1) == "#lobby"
        })
    }

    /// The lines up to `done`, or why there are none: the script's reports
    /// are read as they come, for at most [`TIMEOUT`].
    fn read_until(&mut self, done: &dyn Fn(&IrcLine) -> bool) -> Result<Vec<IrcLine>, Ended> {
        let deadline = Instant::now() + TIMEOUT;
        let mut lines = Vec::new();
        loop {
            let reports = self.proc.lines(Stream::Stdout);
            while let Some(report) = reports.get(self.seen) {
                self.seen += 1;
                if let Some(line) = IrcLine::from_report(report) {
                    let found = done(&line);
                    lines.push(line);
                    if found {
                        return Ok(lines);
                    }
                } else if report == "closed" {
                    return Err(Ended::Closed(lines));
                } else if report.starts_with("error") {
                    return Err(Ended::Error(report.clone()));
                }
            }
            if Instant::now() >= deadline {
                return Err(Ended::TimedOut);
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Panics with `why` and every line this client received.
    fn fail(&self, why: &str) -> ! {
        let mut text = format!(
            "IRC client {:?}: {why}\n--- lines received ---\n",
            self.nick
        );
        for report in self.proc.lines(Stream::Stdout) {
            match IrcLine::from_report(&report) {
                Some(line) => text.push_str(&line.raw),
                None => text.push_str(&format!("({report})")),
            }
            text.push('\n');
        }
        text.push_str(&format!(
            "--- the script's stderr ---\n{}",
            self.proc.stderr()
        ));
        panic!("{text}");
    }
}

/// Why [`Irc::read_until`] found no line.
enum Ended {
    /// The server closed the connection; the lines read before.
    Closed(Vec<IrcLine>),
    /// The script reported an error.
    Error(String),
    TimedOut,
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ended::Closed(_) => write!(f, "the server closed the connection"),
            Ended::Error(report) => write!(f, "the client reported {report:?}"),
            Ended::TimedOut => write!(f, "nothing within {TIMEOUT:?}"),
        }
    }
}

/// A registered Python IRC client called `nick`, connected to `server`'s
/// IRC listener.
pub(crate) fn irc(script: &Path, server: &ServerProcess, nick: &str) -> Irc {
    let mut irc = Irc::connect(script, server.irc_addr());
    irc.register(nick);
    irc
}
