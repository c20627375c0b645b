//! What a client asks for: a line is a message to its room or a `/command`.

/// One line from a client, understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// Plain text for the room (`//text` says the literal `/text`).
    Say(&'a str),
    /// Text (or, `action`, a `/me`) for a named room the client is in: what
    /// a protocol whose messages name their room (IRC's `PRIVMSG #dev`)
    /// asks. The line protocol's lines go to the current room instead.
    SayIn {
        room: &'a str,
        text: &'a str,
        action: bool,
    },
    Nick(&'a str),
    /// Join a room (or go back to one already joined) and talk there.
    Join(&'a str),
    /// Leave a room; `None`: the one the client talks in.
    Part(Option<&'a str>),
    Msg {
        to: &'a str,
        text: &'a str,
    },
    Me(&'a str),
    Who,
    Rooms,
    /// `/history [N]`: the room's last N lines again (default: all it keeps).
    History(Option<usize>),
    /// `/history since ID`: the room's lines after message ID (a page of
    /// them; the server says where the next page starts).
    HistorySince(u64),
    /// `/search WORDS`: the room's last lines holding every word (at most
    /// 20, newest last).
    Search(&'a str),
    /// Lines of a named room the client is in, chosen by `query`: what IRC's
    /// `CHATHISTORY` asks (the line protocol pages with `/history since`).
    HistoryOf {
        room: &'a str,
        query: HistoryQuery,
    },
    /// `/cap NAME`: turn on a capability; `ids` numbers room lines
    /// (`[stamp] #ID <nick> text`).
    Cap(&'a str),
    Help,
    Quit(Option<&'a str>),
    /// The server password; must be a client's first line where one is set.
    Pass(&'a str),
    /// Become an operator: `/oper NAME PASSWORD`.
    Oper {
        name: &'a str,
        password: &'a str,
    },
    /// Operators: disconnect a user.
    Kick {
        nick: &'a str,
        reason: Option<&'a str>,
    },
    /// Operators: ban an address, a CIDR range or a user's address, for a
    /// duration like `30m` (default: one hour).
    Ban {
        target: &'a str,
        duration: Option<&'a str>,
    },
    /// Operators: lift a ban.
    Unban(&'a str),
    /// Operators: list bans.
    Bans,
    /// Show the room's topic, or (operators) set it.
    Topic(Option<&'a str>),
    /// Operators: set the message of the day.
    Motd(&'a str),
    /// `/register PASSWORD`: make the client's nick an account of its own.
    Register(&'a str),
    /// `/login NAME PASSWORD`: become account NAME (and take its nick).
    Login {
        name: &'a str,
        password: &'a str,
    },
    /// `/logout`: be a guest again.
    Logout,
    /// `/password OLD NEW`: change the logged-in account's password.
    Password {
        old: &'a str,
        new: &'a str,
    },
    /// `/token`: a short-lived login token for the logged-in account, so a
    /// client that reconnects need not send (nor the server re-hash) the
    /// password.
    Token,
    /// `/resume NAME TOKEN`: log in to account NAME with a token from
    /// `/token`.
    Resume {
        name: &'a str,
        token: &'a str,
    },
    /// Operators: `/account list|lock|unlock|delete|create …`.
    Account(AccountCommand<'a>),
    /// `/read [ROOM|@NICK]`: everything in the room (default: the current
    /// one), or the conversation with NICK, is read up to its last line.
    Read(Option<&'a str>),
    /// `/history @NICK [N]`: the last N lines of the private conversation
    /// with NICK (its two parties only).
    HistoryWith {
        nick: &'a str,
        count: Option<usize>,
    },
    /// Operators: `/webhook create ROOM NAME | list | delete NAME`, its
    /// words as typed (the server's web listeners keep the hooks).
    Webhook(&'a str),
}

/// What an operator asks of the accounts with `/account`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountCommand<'a> {
    List,
    /// Nobody can log in as it, and its connections are logged out.
    Lock(&'a str),
    Unlock(&'a str),
    /// Gone, with everything it owned; its nick is free again.
    Delete(&'a str),
    /// A new account; without a password the server makes one up and
    /// shows it once.
    Create {
        name: &'a str,
        password: Option<&'a str>,
    },
}

impl AccountCommand<'_> {
    pub const USAGE: &'static str =
        "/account list|lock NAME|unlock NAME|delete NAME|create NAME [PASSWORD]";
}

/// Which lines of a room a [`Command::HistoryOf`] asks for, oldest first
/// in every answer, at most `limit`; the points themselves are left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryQuery {
    /// The newest lines (after `after`, if given).
    Latest { after: Option<Point>, limit: usize },
    /// The newest lines before `at`.
    Before { at: Point, limit: usize },
    /// The oldest lines after `at`.
    After { at: Point, limit: usize },
    /// Lines on both sides of `at`, half before and half after.
    Around { at: Point, limit: usize },
    /// The oldest lines after `from` and before `to` (or the newest, when
    /// `from` is the later one).
    Between {
        from: Point,
        to: Point,
        limit: usize,
    },
}

/// A point in a room's history: a message id, or a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    Id(u64),
    /// Unix time in milliseconds.
    Millis(i64),
}

/// A `/command` that could not be understood. The connection stays; the
/// server answers with an error notice built from the `Display` text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    Unknown(String),
    /// The command's arguments were missing or extra; carries its usage.
    Usage(&'static str),
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandError::Unknown(name) => {
                write!(f, "unknown command /{name} (try /help)")
            }
            CommandError::Usage(usage) => write!(f, "usage: {usage}"),
        }
    }
}

impl std::error::Error for CommandError {}

impl Command<'_> {
    /// Acts on the client's current room (says something in it, lists it,
    /// reads its history or topic): refused to a client in no room.
    pub fn is_about_current_room(&self) -> bool {
        matches!(
            self,
            Command::Say(_)
                | Command::Me(_)
                | Command::Who
                | Command::History(_)
                | Command::HistorySince(_)
                | Command::Search(_)
                | Command::Topic(_)
        )
    }

    /// Every command with its usage and what it does, for `/help`.
    pub const HELP: &'static [(&'static str, &'static str)] = &[
        ("/nick NAME", "change your nick"),
        (
            "/join ROOM",
            "join ROOM and talk there (created on first join)",
        ),
        ("/part [ROOM]", "leave ROOM (default: the room you talk in)"),
        ("/msg NICK TEXT", "send TEXT to NICK only"),
        ("/me TEXT", "say TEXT as an action"),
        ("/who", "list the members of your room"),
        ("/rooms", "list the rooms"),
        ("/history [N]", "show the room's last N lines again"),
        (
            "/history @NICK [N]",
            "show your last N private lines with NICK",
        ),
        ("/read [ROOM|@NICK]", "mark the room or conversation read"),
        (
            "/history since ID",
            "show the room's lines after message ID",
        ),
        (
            "/search WORDS",
            "show the room's last lines with every word",
        ),
        ("/cap ids", "number room lines: [stamp] #ID <nick> text"),
        ("/help", "show this help"),
        ("/quit [REASON]", "leave the chat"),
        ("/topic [TEXT]", "show the room's topic (operators: set it)"),
        ("/pass PASSWORD", "log in to a server with a password"),
        ("/register PASSWORD", "make your nick an account"),
        ("/login NAME PASSWORD", "log in to account NAME"),
        ("/logout", "log out of your account"),
        ("/password OLD NEW", "change your account's password"),
        ("/token", "get a login token for reconnecting (valid 12h)"),
        ("/resume NAME TOKEN", "log in to account NAME with a token"),
        ("/oper NAME PASSWORD", "become an operator"),
        ("/kick NICK [REASON]", "operators: disconnect NICK"),
        (
            "/ban TARGET [DURATION]",
            "operators: ban an address, range or nick (e.g. 30m, 2h, 1d)",
        ),
        ("/unban TARGET", "operators: lift a ban"),
        ("/bans", "operators: list the bans"),
        ("/motd TEXT", "operators: set the message of the day"),
        (
            "/account list|lock|unlock|delete|create",
            "operators: manage the accounts",
        ),
        (
            "/webhook create ROOM NAME|list|delete NAME",
            "operators: manage incoming webhooks",
        ),
        ("//TEXT", "say /TEXT literally"),
    ];
}

/// Parses one client line (already sanitized).
pub fn parse_command(line: &str) -> Result<Command<'_>, CommandError> {
    let Some(command) = line.strip_prefix('/') else {
        return Ok(Command::Say(line));
    };
    if command.starts_with('/') {
        return Ok(Command::Say(command));
    }
    let (name, args) = match command.split_once([' ', '\t']) {
        Some((name, args)) => (name, args.trim()),
        None => (command, ""),
    };
    let one_word = |usage| match args {
        "" => Err(CommandError::Usage(usage)),
        word if word.contains([' ', '\t']) => Err(CommandError::Usage(usage)),
        word => Ok(word),
    };
    let text = |usage| {
        if args.is_empty() {
            Err(CommandError::Usage(usage))
        } else {
            Ok(args)
        }
    };
    let no_args = |command, usage| {
        if args.is_empty() {
            Ok(command)
        } else {
            Err(CommandError::Usage(usage))
        }
    };
    match name.to_ascii_lowercase().as_str() {
        "nick" => one_word("/nick NAME").map(Command::Nick),
        "join" => one_word("/join ROOM").map(Command::Join),
        "part" => match args {
            "" => Ok(Command::Part(None)),
            room if room.contains([' ', '\t']) => Err(CommandError::Usage("/part [ROOM]")),
            room => Ok(Command::Part(Some(room))),
        },
        "me" => text("/me TEXT").map(Command::Me),
        "msg" => {
            let (to, text) = args.split_once([' ', '\t']).unwrap_or((args, ""));
            let text = text.trim_start();
            if to.is_empty() || text.is_empty() {
                return Err(CommandError::Usage("/msg NICK TEXT"));
            }
            Ok(Command::Msg { to, text })
        }
        "who" => no_args(Command::Who, "/who"),
        "rooms" => no_args(Command::Rooms, "/rooms"),
        "cap" => one_word("/cap ids").map(Command::Cap),
        "search" => text("/search WORDS").map(Command::Search),
        "history" if args.starts_with('@') => {
            let usage = CommandError::Usage("/history @NICK [N]");
            match split_word(args) {
                (nick, None) if nick.len() > 1 => Ok(Command::HistoryWith {
                    nick: &nick[1..],
                    count: None,
                }),
                (nick, Some(n)) if nick.len() > 1 => match n.parse::<usize>() {
                    Ok(n) if n > 0 => Ok(Command::HistoryWith {
                        nick: &nick[1..],
                        count: Some(n),
                    }),
                    _ => Err(usage),
                },
                _ => Err(usage),
            }
        }
        "read" => match args {
            "" => Ok(Command::Read(None)),
            target if target.contains([' ', '\t']) || target == "@" => {
                Err(CommandError::Usage("/read [ROOM|@NICK]"))
            }
            target => Ok(Command::Read(Some(target))),
        },
        "history" => match (args, args.split_once([' ', '\t'])) {
            ("", _) => Ok(Command::History(None)),
            ("since", _) => Err(CommandError::Usage("/history since ID")),
            (_, Some(("since", id))) => id
                .trim()
                .parse::<u64>()
                .map(Command::HistorySince)
                .map_err(|_| CommandError::Usage("/history since ID")),
            (n, _) => match n.parse::<usize>() {
                Ok(n) if n > 0 => Ok(Command::History(Some(n))),
                _ => Err(CommandError::Usage("/history [N]")),
            },
        },
        "help" => Ok(Command::Help),
        "quit" => Ok(Command::Quit((!args.is_empty()).then_some(args))),
        "pass" => text("/pass PASSWORD").map(Command::Pass),
        "oper" => match args.split_once([' ', '\t']) {
            Some((name, password)) if !password.trim().is_empty() => Ok(Command::Oper {
                name,
                password: password.trim(),
            }),
            _ => Err(CommandError::Usage("/oper NAME PASSWORD")),
        },
        "kick" => {
            let (nick, reason) = split_word(text("/kick NICK [REASON]")?);
            Ok(Command::Kick { nick, reason })
        }
        "ban" => match split_word(text("/ban TARGET [DURATION]")?) {
            (target, Some(duration)) if duration.contains([' ', '\t']) => {
                let _ = target;
                Err(CommandError::Usage("/ban TARGET [DURATION]"))
            }
            (target, duration) => Ok(Command::Ban { target, duration }),
        },
        "unban" => one_word("/unban TARGET").map(Command::Unban),
        "bans" => no_args(Command::Bans, "/bans"),
        "topic" => Ok(Command::Topic((!args.is_empty()).then_some(args))),
        "motd" => text("/motd TEXT").map(Command::Motd),
        "register" => one_word("/register PASSWORD").map(Command::Register),
        "login" => two_words(args)
            .map(|(name, password)| Command::Login { name, password })
            .ok_or(CommandError::Usage("/login NAME PASSWORD")),
        "logout" => no_args(Command::Logout, "/logout"),
        "password" => two_words(args)
            .map(|(old, new)| Command::Password { old, new })
            .ok_or(CommandError::Usage("/password OLD NEW")),
        "token" => no_args(Command::Token, "/token"),
        "resume" => two_words(args)
            .map(|(name, token)| Command::Resume { name, token })
            .ok_or(CommandError::Usage("/resume NAME TOKEN")),
        "account" => parse_account(args).map(Command::Account),
        "webhook" => Ok(Command::Webhook(args)),
        _ => Err(CommandError::Unknown(name.to_owned())),
    }
}

/// `/account`'s arguments.
fn parse_account(args: &str) -> Result<AccountCommand<'_>, CommandError> {
    let usage = CommandError::Usage(AccountCommand::USAGE);
    let (verb, rest) = split_word(args);
    let name = || match rest {
        Some(name) if !name.contains([' ', '\t']) => Ok(name),
        _ => Err(usage.clone()),
    };
    match verb.to_ascii_lowercase().as_str() {
        "list" if rest.is_none() => Ok(AccountCommand::List),
        "lock" => name().map(AccountCommand::Lock),
        "unlock" => name().map(AccountCommand::Unlock),
        "delete" => name().map(AccountCommand::Delete),
        "create" => match rest.map(split_word) {
            Some((name, password)) if password.is_none_or(|p| !p.contains([' ', '\t'])) => {
                Ok(AccountCommand::Create { name, password })
            }
            _ => Err(usage),
        },
        _ => Err(usage),
    }
}

/// `args` if it is exactly two words.
fn two_words(args: &str) -> Option<(&str, &str)> {
    match split_word(args) {
        (first, Some(second)) if !first.is_empty() && !second.contains([' ', '\t']) => {
            Some((first, second))
        }
        _ => None,
    }
}

/// Whether `line` is a command that may carry a password or a login token
/// (`/pass`, `/oper`, `/register`, `/login`, `/password`, `/resume`,
/// `/account`), well formed or
/// not: its arguments may be a password, so it must never be written down (a client's
/// input history, a log). It errs on the side of secrecy: leading white space
/// and any letter case still count, and so does `/oper` with its name alone
/// (the password may have been typed in the name's place). `//pass` says
/// `/pass` to the room and is no command. Pass the line as the server would
/// parse it, that is sanitized ([`crate::sanitize_text`]).
pub fn is_secret_command(line: &str) -> bool {
    let Some(command) = line.trim_start().strip_prefix('/') else {
        return false;
    };
    let name = command.split([' ', '\t']).next().unwrap_or_default();
    [
        "pass", "oper", "register", "login", "password", "resume", "account",
    ]
    .iter()
    .any(|secret| name.eq_ignore_ascii_case(secret))
}

/// The first word and the rest, if any.
fn split_word(text: &str) -> (&str, Option<&str>) {
    match text.split_once([' ', '\t']) {
        Some((word, rest)) if !rest.trim().is_empty() => (word, Some(rest.trim())),
        Some((word, _)) => (word, None),
        None => (text, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_commands() {
        assert_eq!(parse_command("/read"), Ok(Command::Read(None)));
        assert_eq!(parse_command("/read dev"), Ok(Command::Read(Some("dev"))));
        assert_eq!(parse_command("/read @bob"), Ok(Command::Read(Some("@bob"))));
        assert!(parse_command("/read a b").is_err());
        assert_eq!(
            parse_command("/history @bob"),
            Ok(Command::HistoryWith {
                nick: "bob",
                count: None
            })
        );
        assert_eq!(
            parse_command("/history @bob 20"),
            Ok(Command::HistoryWith {
                nick: "bob",
                count: Some(20)
            })
        );
        assert!(parse_command("/history @").is_err());
        assert!(parse_command("/history @bob x").is_err());
    }

    #[test]
    fn account_commands() {
        assert_eq!(
            parse_command("/register s3cret"),
            Ok(Command::Register("s3cret"))
        );
        assert!(parse_command("/register").is_err());
        assert!(parse_command("/register two words").is_err());
        assert_eq!(
            parse_command("/login alice s3cret"),
            Ok(Command::Login {
                name: "alice",
                password: "s3cret"
            })
        );
        assert!(parse_command("/login alice").is_err());
        assert!(parse_command("/login alice a b").is_err());
        assert_eq!(parse_command("/logout"), Ok(Command::Logout));
        assert_eq!(parse_command("/token"), Ok(Command::Token));
        assert!(parse_command("/token x").is_err());
        assert_eq!(
            parse_command("/resume alice t0k3n"),
            Ok(Command::Resume {
                name: "alice",
                token: "t0k3n"
            })
        );
        assert!(parse_command("/resume alice").is_err());
        assert_eq!(
            parse_command("/password old new"),
            Ok(Command::Password {
                old: "old",
                new: "new"
            })
        );
        let account = |line| match parse_command(line) {
            Ok(Command::Account(command)) => Some(command),
            _ => None,
        };
        assert_eq!(account("/account list"), Some(AccountCommand::List));
        assert_eq!(
            account("/account lock bob"),
            Some(AccountCommand::Lock("bob"))
        );
        assert_eq!(
            account("/account unlock bob"),
            Some(AccountCommand::Unlock("bob"))
        );
        assert_eq!(
            account("/account delete bob"),
            Some(AccountCommand::Delete("bob"))
        );
        assert_eq!(
            account("/account create bob"),
            Some(AccountCommand::Create {
                name: "bob",
                password: None
            })
        );
        assert_eq!(
            account("/account create bob pw12345678"),
            Some(AccountCommand::Create {
                name: "bob",
                password: Some("pw12345678")
            })
        );
        for bad in [
            "/account",
            "/account list x",
            "/account lock",
            "/account create a b c",
            "/account frob x",
        ] {
            assert_eq!(
                parse_command(bad),
                Err(CommandError::Usage(AccountCommand::USAGE)),
                "{bad}"
            );
        }
        for secret in [
            "/register x",
            "/LOGIN a b",
            "/password a b",
            "/account create a b",
            "/RESUME alice t0k3n",
        ] {
            assert!(is_secret_command(secret), "{secret}");
        }
    }

    #[test]
    fn commands() {
        assert_eq!(parse_command("hello"), Ok(Command::Say("hello")));
        assert_eq!(parse_command("//nick x"), Ok(Command::Say("/nick x")));
        assert_eq!(parse_command("/nick alice"), Ok(Command::Nick("alice")));
        assert_eq!(parse_command("/NICK  alice "), Ok(Command::Nick("alice")));
        assert_eq!(parse_command("/join #dev"), Ok(Command::Join("#dev")));
        assert_eq!(parse_command("/part"), Ok(Command::Part(None)));
        assert_eq!(parse_command("/part dev"), Ok(Command::Part(Some("dev"))));
        assert!(parse_command("/part a b").is_err());
        assert_eq!(
            parse_command("/msg bob hi  there"),
            Ok(Command::Msg {
                to: "bob",
                text: "hi  there"
            })
        );
        assert_eq!(parse_command("/me waves"), Ok(Command::Me("waves")));
        assert_eq!(parse_command("/who"), Ok(Command::Who));
        assert_eq!(parse_command("/rooms"), Ok(Command::Rooms));
        assert_eq!(parse_command("/help"), Ok(Command::Help));
        assert_eq!(parse_command("/history"), Ok(Command::History(None)));
        assert_eq!(parse_command("/history 20"), Ok(Command::History(Some(20))));
        assert_eq!(
            parse_command("/history since 41"),
            Ok(Command::HistorySince(41))
        );
        assert_eq!(parse_command("/cap ids"), Ok(Command::Cap("ids")));
        assert_eq!(
            parse_command("/search red  fox"),
            Ok(Command::Search("red  fox"))
        );
        assert_eq!(parse_command("/quit"), Ok(Command::Quit(None)));
        assert_eq!(
            parse_command("/quit bye all"),
            Ok(Command::Quit(Some("bye all")))
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse_command("/frob"),
            Err(CommandError::Unknown("frob".into()))
        );
        assert_eq!(
            parse_command("/"),
            Err(CommandError::Unknown(String::new()))
        );
        assert_eq!(
            parse_command("/nick"),
            Err(CommandError::Usage("/nick NAME"))
        );
        assert_eq!(
            parse_command("/nick a b"),
            Err(CommandError::Usage("/nick NAME"))
        );
        assert_eq!(
            parse_command("/msg bob"),
            Err(CommandError::Usage("/msg NICK TEXT"))
        );
        assert_eq!(parse_command("/me"), Err(CommandError::Usage("/me TEXT")));
        assert_eq!(parse_command("/who x"), Err(CommandError::Usage("/who")));
    }

    #[test]
    fn pass_and_oper_are_secret_however_they_are_typed() {
        for line in [
            "/pass hunter2",
            "/PASS hunter2",
            "  /Pass\thunter2",
            "/pass",
            "/oper root hunter2",
            "/OPER hunter2",
            "/oper",
        ] {
            assert!(is_secret_command(line), "{line:?}");
        }
        for line in [
            "//pass hunter2",
            "/passwd x",
            "/operator",
            "/msg bob /pass x",
            "pass hunter2",
            "",
        ] {
            assert!(!is_secret_command(line), "{line:?}");
        }
    }
}
