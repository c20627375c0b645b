//! The operator's console: the tutorial's `reply to client:`, grown up.
//!
//! A plain line answers the client that spoke last; `/to`, `/all`, `/who`,
//! `/kick`, `/ban`, `/unban`, `/bans`, `/motd`, `/stats`, `/quit` and
//! `/help` do the rest. [`parse`] says what a typed line asks for;
//! [`Console`] remembers whom a plain line answers. Answers to the operator
//! go to `Outbox::console`.

use chat_proto::{Command, parse_command};

use crate::ClientId;

/// `/who` on the console lists at most this many clients.
pub(crate) const MAX_LISTED: usize = 200;

pub(crate) const HELP: &[&str] = &[
    "TEXT               reply to the client that spoke last",
    "/to NICK TEXT      reply to NICK",
    "/all TEXT          speak to every client",
    "/who               list the clients",
    "/kick NICK [WHY]   disconnect NICK",
    "/ban TARGET [DUR]  ban an address, range or nick (30s, 10m, 2h, 1d; default 1h)",
    "/unban TARGET      lift a ban",
    "/bans              list the bans",
    "/motd TEXT         set the message of the day",
    "/stats             show counters",
    "/quit              shut the server down",
];

/// What a console line asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ConsoleCommand<'a> {
    /// A plain line: to the client that spoke last.
    Reply(&'a str),
    To {
        nick: &'a str,
        text: &'a str,
    },
    All(&'a str),
    Who,
    /// `/kick`, `/ban`, `/unban`, `/bans`, `/motd`: shared with operators
    /// among the clients.
    Operator(Command<'a>),
    Stats,
    Quit,
    Help,
    /// Said to the operator as it is (usage, unknown command, bad arguments).
    Answer(String),
}

/// What the (sanitized, trimmed) console line `text` asks for.
pub(crate) fn parse(text: &str) -> ConsoleCommand<'_> {
    let Some(command) = text.strip_prefix('/').filter(|c| !c.starts_with('/')) else {
        // `//text` says `/text`.
        return ConsoleCommand::Reply(text.strip_prefix('/').unwrap_or(text));
    };
    let (name, args) = command.split_once(' ').unwrap_or((command, ""));
    let args = args.trim();
    match name {
        "to" => match args.split_once(' ') {
            Some((nick, text)) => ConsoleCommand::To {
                nick,
                text: text.trim(),
            },
            None => ConsoleCommand::Answer("usage: /to NICK TEXT".into()),
        },
        "all" if !args.is_empty() => ConsoleCommand::All(args),
        "all" => ConsoleCommand::Answer("usage: /all TEXT".into()),
        "who" => ConsoleCommand::Who,
        "kick" | "ban" | "unban" | "bans" | "motd" => match parse_command(text) {
            Ok(command) => ConsoleCommand::Operator(command),
            Err(e) => ConsoleCommand::Answer(e.to_string()),
        },
        "stats" => ConsoleCommand::Stats,
        "quit" => ConsoleCommand::Quit,
        "help" => ConsoleCommand::Help,
        _ => ConsoleCommand::Answer(format!("unknown console command /{name} (try /help)")),
    }
}

/// Whom the operator's plain line answers.
#[derive(Debug, Default)]
pub(crate) struct Console {
    last_speaker: Option<ClientId>,
}

impl Console {
    /// `id` spoke (in a room, or privately to the operator).
    pub(crate) fn heard(&mut self, id: ClientId) {
        self.last_speaker = Some(id);
    }

    /// `id` left: a plain line no longer answers it.
    pub(crate) fn forget(&mut self, id: ClientId) {
        if self.last_speaker == Some(id) {
            self.last_speaker = None;
        }
    }

    pub(crate) fn reply_target(&self) -> Option<ClientId> {
        self.last_speaker
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_lines_parse_into_what_they_ask() {
        assert_eq!(parse("hello"), ConsoleCommand::Reply("hello"));
        assert_eq!(parse("//help"), ConsoleCommand::Reply("/help"));
        assert_eq!(
            parse("/to bob  hi there"),
            ConsoleCommand::To {
                nick: "bob",
                text: "hi there"
            }
        );
        assert_eq!(
            parse("/to bob"),
            ConsoleCommand::Answer("usage: /to NICK TEXT".into())
        );
        assert_eq!(
            parse("/all"),
            ConsoleCommand::Answer("usage: /all TEXT".into())
        );
        assert_eq!(parse("/bans"), ConsoleCommand::Operator(Command::Bans));
        assert_eq!(
            parse("/frob"),
            ConsoleCommand::Answer("unknown console command /frob (try /help)".into())
        );
    }

    #[test]
    fn a_plain_line_answers_the_last_speaker_until_it_leaves() {
        let mut console = Console::default();
        assert_eq!(console.reply_target(), None);
        console.heard(ClientId(1));
        console.heard(ClientId(2));
        console.forget(ClientId(1));
        assert_eq!(console.reply_target(), Some(ClientId(2)));
        console.forget(ClientId(2));
        assert_eq!(console.reply_target(), None);
    }
}
