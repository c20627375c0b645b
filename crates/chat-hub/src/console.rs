//! The operator's console: the tutorial's `reply to client:`, grown up.
//!
//! A plain line answers the reply target, shown whenever it changes as the
//! tutorial's prompt, `reply to NICK:`; `/to`, `/all`, `/who`,
//! `/kick`, `/ban`, `/unban`, `/bans`, `/motd`, `/stats`, `/quit` and
//! `/help` do the rest (`/reload` and `/webhook` too, but chat-server takes
//! them before the hub sees them: only the server reads the file and serves
//! hooks). [`parse`] says
//! what a typed line asks for; [`Console`] remembers whom a plain line
//! answers. Answers to the operator go to `Outbox::console`.

use chat_proto::{Body, Command, parse_command};

use crate::chat::Chat;
use crate::ctx::Ctx;
use crate::{ClientId, HubConfig, Now, Outbox};

/// `/who` on the console lists at most this many clients.
const MAX_LISTED: usize = 200;

pub(crate) const HELP: &[&str] = &[
    "TEXT               reply to the target shown by `reply to NICK:`",
    "/to NICK TEXT      reply to NICK",
    "/all TEXT          speak to every client",
    "/who               list the clients",
    "/kick NICK [WHY]   disconnect NICK",
    "/ban TARGET [DUR]  ban an address, range or nick (30s, 10m, 2h, 1d; default 1h)",
    "/unban TARGET      lift a ban",
    "/bans              list the bans",
    "/motd TEXT         set the message of the day",
    "/account list|lock NAME|unlock NAME|delete NAME|create NAME [PASSWORD]",
    "                   manage the accounts",
    "/stats             show counters",
    "/reload            read the config file again, as SIGHUP does (the server's)",
    "/webhook create ROOM NAME   a new incoming webhook; its URL is shown once (the server's)",
    "/webhook list | delete NAME the incoming webhooks (the server's)",
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
        "kick" | "ban" | "unban" | "bans" | "motd" | "account" => match parse_command(text) {
            Ok(command) => ConsoleCommand::Operator(command),
            Err(e) => ConsoleCommand::Answer(e.to_string()),
        },
        "stats" => ConsoleCommand::Stats,
        "quit" => ConsoleCommand::Quit,
        "help" => ConsoleCommand::Help,
        _ => ConsoleCommand::Answer(format!("unknown console command /{name} (try /help)")),
    }
}

/// Whom the operator's plain line answers: the client that spoke last —
/// unless a client wrote to the operator privately, who then stays the
/// target until the operator answers or picks another with `/to`, so that a
/// question asked in private is never answered to whoever spoke next in a
/// room.
#[derive(Debug, Default)]
pub(crate) struct Console {
    target: Option<ClientId>,
    /// The target wrote privately and has not been answered yet.
    pinned: bool,
}

impl Console {
    /// `id` spoke in a room. Returns the new target, if it changed.
    pub(crate) fn heard(&mut self, id: ClientId) -> Option<ClientId> {
        if self.pinned {
            return None;
        }
        self.aim(id)
    }

    /// `id` wrote to the operator. Returns the new target, if it changed.
    pub(crate) fn heard_privately(&mut self, id: ClientId) -> Option<ClientId> {
        self.pinned = true;
        self.aim(id)
    }

    /// The operator answered, or chose `id` with `/to`: lines said in rooms
    /// move the target again. Returns the new target, if it changed.
    pub(crate) fn answered(&mut self, id: ClientId) -> Option<ClientId> {
        self.pinned = false;
        self.aim(id)
    }

    /// `id` left: a plain line no longer answers it.
    pub(crate) fn forget(&mut self, id: ClientId) {
        if self.target == Some(id) {
            (self.target, self.pinned) = (None, false);
        }
    }

    pub(crate) fn reply_target(&self) -> Option<ClientId> {
        self.target
    }

    fn aim(&mut self, id: ClientId) -> Option<ClientId> {
        let changed = self.target != Some(id);
        self.target = Some(id);
        changed.then_some(id)
    }
}

impl Console {
    /// `id` spoke in a room (its line is on the console already).
    pub(crate) fn on_room_line(
        &mut self,
        chat: &Chat,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
    ) {
        let target = self.heard(id);
        prompt(chat, config, out, target);
    }

    /// `id` wrote to the operator.
    pub(crate) fn on_private(
        &mut self,
        chat: &Chat,
        config: &HubConfig,
        out: &mut dyn Outbox,
        id: ClientId,
    ) {
        let target = self.heard_privately(id);
        prompt(chat, config, out, target);
    }

    /// The operator's plain line: to the reply target.
    pub(crate) fn reply(
        &mut self,
        chat: &mut Chat,
        config: &HubConfig,
        out: &mut dyn Outbox,
        text: &str,
        now: Now,
    ) {
        let target = self.reply_target();
        match target.and_then(|id| Some((id, chat.members().nick(id)?.to_owned()))) {
            Some((id, nick)) => self.say(chat, &mut Ctx { out, config, now }, id, &nick, text),
            None => out.console("nobody to reply to yet: use /to NICK TEXT or /all TEXT"),
        }
    }

    /// The operator's `/to NICK TEXT`.
    pub(crate) fn reply_to(
        &mut self,
        chat: &mut Chat,
        config: &HubConfig,
        out: &mut dyn Outbox,
        nick: &str,
        text: &str,
        now: Now,
    ) {
        match chat.members().owner(nick) {
            Some(id) => self.say(chat, &mut Ctx { out, config, now }, id, nick, text),
            None => out.console(&format!("no such nick: {nick}")),
        }
    }

    fn say(&mut self, chat: &mut Chat, ctx: &mut Ctx<'_>, id: ClientId, nick: &str, text: &str) {
        let name = &ctx.config.operator_name;
        chat.send(ctx.out, id, &Body::Operator { name, text }, ctx.now);
        ctx.out.console(&format!("(to {nick}) {text}"));
        let target = self.answered(id);
        prompt(chat, ctx.config, ctx.out, target);
    }
}

/// The operator's `/all TEXT`.
pub(crate) fn to_all(
    chat: &mut Chat,
    config: &HubConfig,
    out: &mut dyn Outbox,
    text: &str,
    now: Now,
) {
    let name = &config.operator_name;
    let count = chat.send_to_all(out, &Body::Operator { name, text }, now);
    out.console(&format!("(to all {count} clients) {text}"));
}

/// The console's `/who`.
pub(crate) fn who(chat: &Chat, out: &mut dyn Outbox) {
    let members = chat.members();
    let count = members.len();
    out.console(&format!("{count} clients:"));
    for (nick, room, peer) in members.list().take(MAX_LISTED) {
        out.console(&format!("  {nick} {peer} in {room}"));
    }
    if count > MAX_LISTED {
        let more = count - MAX_LISTED;
        out.console(&format!("  ... and {more} more"));
    }
}

/// Shows the operator whom a plain line now answers, as the tutorial's
/// prompt did (`reply to client:`), when it changed and someone watches.
fn prompt(chat: &Chat, config: &HubConfig, out: &mut dyn Outbox, target: Option<ClientId>) {
    if let Some(nick) = target.and_then(|id| chat.members().nick(id))
        && config.echo_messages
    {
        out.said(&format!("reply to {nick}:"));
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
        assert_eq!(console.heard(ClientId(1)), Some(ClientId(1)));
        assert_eq!(console.heard(ClientId(2)), Some(ClientId(2)));
        assert_eq!(console.heard(ClientId(2)), None, "no change, no prompt");
        console.forget(ClientId(1));
        assert_eq!(console.reply_target(), Some(ClientId(2)));
        console.forget(ClientId(2));
        assert_eq!(console.reply_target(), None);
    }

    #[test]
    fn a_private_question_keeps_the_target_until_it_is_answered() {
        let mut console = Console::default();
        console.heard_privately(ClientId(1));
        assert_eq!(console.heard(ClientId(2)), None);
        assert_eq!(console.reply_target(), Some(ClientId(1)));
        assert_eq!(console.answered(ClientId(1)), None);
        assert_eq!(console.heard(ClientId(2)), Some(ClientId(2)));
        console.heard_privately(ClientId(3));
        assert_eq!(
            console.answered(ClientId(2)),
            Some(ClientId(2)),
            "/to picks another"
        );
        assert_eq!(console.heard(ClientId(4)), Some(ClientId(4)));
    }
}
