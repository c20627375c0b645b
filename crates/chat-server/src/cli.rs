//! Command-line flags of the chat-server binary.

use std::path::PathBuf;

use clap::Parser;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

use crate::config::{Config, Listen};
use chat_hub::Protocol;

const LONG_ABOUT: &str = "\
A chat server: one thread serves thousands of clients. Clients speak UTF-8 lines \
(nc, socat and telnet work as clients), or the tutorial's raw chunks with framing = \"raw\".

With no flags it listens on port 21263 on every IPv4 and IPv6 address, and serves the \
browser page on port 21280 (http://localhost:21280/), with built-in defaults; `--config server.toml` reads settings, and flags override both. On start it \
prints `listening on ADDR` on stderr for each listener.

The operator console reads stdin: a plain line answers the client that spoke last; \
/to NICK TEXT, /all TEXT, /who, /kick NICK [REASON], /stats, /quit and /help do the rest. \
It is on when stdin is a terminal; --console turns it on for a pipe, --no-console off.

SIGINT or SIGTERM: stop accepting, tell the clients, flush what is queued (at most \
`shutdown_linger`, 2 s by default), exit 0. SIGHUP (or the console's /reload): read the \
config file again and apply what can change without a restart; a bad file changes nothing.
Exit codes: 0 after a clean stop, 1 when a listener cannot be opened, 2 for a bad \
command line or server.toml.";

#[derive(Debug, Clone, Parser)]
#[command(name = "chat-server", version, about = "A one-thread TCP chat server", long_about = LONG_ABOUT)]
pub struct Args {
    /// Listen on ADDR (repeatable; replaces `listen` from the config), e.g. 127.0.0.1:0 or
    /// [::1]:21263; for TLS add the PEM files: ADDR,cert=PATH,key=PATH; for the browser page
    /// and its WebSocket add web: 127.0.0.1:8080,web; to speak the tutorial's raw chunks
    /// there rather than `--framing`'s protocol add raw (or line): 127.0.0.1:21265,raw; for
    /// IRC clients add irc: 127.0.0.1:6667,irc
    #[arg(long = "listen", value_name = "ADDR", value_parser = Listen::parse_flag)]
    pub listen: Vec<Listen>,

    /// Read settings from PATH (see the documented server.toml)
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Print the effective configuration as TOML and exit
    #[arg(long)]
    pub print_config: bool,

    /// Check the configuration as a start would (file, flags, TLS certificates and keys)
    /// without binding or serving; exit 0 when good, 2 naming file, line and key when not
    #[arg(long)]
    pub check_config: bool,

    /// Read a password from stdin, print its argon2 hash for an [[operators]] entry, and exit
    #[arg(long)]
    pub hash_password: bool,

    /// Create account NAME in the history file, its password read from stdin, and exit
    #[arg(long, value_name = "NAME")]
    pub create_account: Option<String>,

    /// Run the operator console on stdin even when it is not a terminal
    #[arg(long, conflicts_with = "no_console")]
    pub console: bool,

    /// Never run the operator console
    #[arg(long)]
    pub no_console: bool,

    /// Write the man page or a shell's completions on stdout and exit (for packaging)
    #[arg(long, value_name = "WHAT", hide = true)]
    pub generate: Option<crate::generate::Generate>,

    /// What a listener that names no protocol speaks (overrides `framing`; the page
    /// always speaks line)
    #[arg(long, value_name = "FRAMING", value_parser = framing_parser())]
    pub framing: Option<Protocol>,
}

/// `--framing`: the names and meanings the hub gives its framings.
fn framing_parser() -> impl TypedValueParser<Value = Protocol> {
    let values = Protocol::NAMES.map(|(name, _, help)| PossibleValue::new(name).help(help));
    PossibleValuesParser::new(values).map(|name| {
        Protocol::NAMES
            .into_iter()
            .find(|&(known, _, _)| known == name)
            .map_or(Protocol::Line, |(_, framing, _)| framing)
    })
}

impl Args {
    /// Applies the flags on top of `config`.
    pub fn apply(&self, config: &mut Config) {
        if !self.listen.is_empty() {
            config.listen.clone_from(&self.listen);
        }
        if self.console {
            config.console = Some(true);
        }
        if self.no_console {
            config.console = Some(false);
        }
        if let Some(framing) = self.framing {
            config.framing = framing;
        }
    }
}
