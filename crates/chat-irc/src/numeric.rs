//! Every numeric reply the server sends, in one table (as ergo keeps them in
//! `irc/numerics.go`), each with modern.ircdocs.horse's default text where
//! the text is fixed; and the IRCv3 standard replies (`FAIL`, `WARN`,
//! `NOTE`).
//!
//! A numeric's first parameter is always the client: its nick, or `*`
//! before it has one. The formats below are modern.ircdocs.horse's, the
//! client left out; the last parameter of each is its text.

use bytes::BytesMut;

use crate::message::{WriteError, write_parts};

/// One numeric reply: its three-digit code, its name and its fixed text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numeric {
    /// The three digits, as sent (`"001"`).
    pub code: &'static str,
    /// The conventional name (`"RPL_WELCOME"`), for logs and tests.
    pub name: &'static str,
    /// The standard text, where the spec fixes one; `None` where the text
    /// is made of values (`RPL_WELCOME`'s) or there is none (`RPL_TOPICWHOTIME`).
    pub text: Option<&'static str>,
}

impl Numeric {
    /// Appends `:SERVER CODE CLIENT PARAMS...`: `params` holds everything
    /// after the client, the text included.
    pub fn write(
        self,
        out: &mut BytesMut,
        tags: &[(&str, &str)],
        server: &str,
        client: &str,
        params: &[&str],
    ) -> Result<(), WriteError> {
        let params = std::iter::once(client).chain(params.iter().copied());
        write_parts(out, tags.iter().copied(), Some(server), self.code, params)
    }

    /// Appends `:SERVER CODE CLIENT PARAMS... :TEXT` with the standard text
    /// last (nothing after `params` if the numeric has none).
    pub fn write_default(
        self,
        out: &mut BytesMut,
        tags: &[(&str, &str)],
        server: &str,
        client: &str,
        params: &[&str],
    ) -> Result<(), WriteError> {
        let params = std::iter::once(client)
            .chain(params.iter().copied())
            .chain(self.text);
        write_parts(out, tags.iter().copied(), Some(server), self.code, params)
    }
}

/// Defines each numeric as a constant, and [`ALL`], the table of them.
macro_rules! numerics {
    ($($(#[$doc:meta])* $name:ident = $code:literal $(, $text:literal)?;)*) => {
        $(
            $(#[$doc])*
            pub const $name: Numeric = Numeric {
                code: $code,
                name: stringify!($name),
                text: numerics!(@text $($text)?),
            };
        )*
        /// Every numeric above, in code order.
        pub const ALL: &[Numeric] = &[$($name),*];
    };
    (@text) => { None };
    (@text $text:literal) => { Some($text) };
}

numerics! {
    /// `:Welcome to the NETWORK Network, NICK[!USER@HOST]`
    RPL_WELCOME = "001";
    /// `:Your host is SERVER, running version VERSION`
    RPL_YOURHOST = "002";
    /// `:This server was created DATETIME`
    RPL_CREATED = "003";
    /// `SERVER VERSION USERMODES CHANMODES [CHANMODES_WITH_PARAM]`
    RPL_MYINFO = "004";
    /// `TOKEN... :are supported by this server` (1 to 13 tokens: `isupport`)
    RPL_ISUPPORT = "005", "are supported by this server";
    /// `USERMODES`
    RPL_UMODEIS = "221";
    /// `:There are U users and I invisible on S servers`
    RPL_LUSERCLIENT = "251";
    /// `OPS :operator(s) online`
    RPL_LUSEROP = "252", "operator(s) online";
    /// `CONNECTIONS :unknown connection(s)`
    RPL_LUSERUNKNOWN = "253", "unknown connection(s)";
    /// `CHANNELS :channels formed`
    RPL_LUSERCHANNELS = "254", "channels formed";
    /// `:I have C clients and S servers`
    RPL_LUSERME = "255";
    /// `[U M] :Current local users U, max M`
    RPL_LOCALUSERS = "265";
    /// `[U M] :Current global users U, max M`
    RPL_GLOBALUSERS = "266";
    /// `NICK :MESSAGE`
    RPL_AWAY = "301";
    /// `:[REPLY{ REPLY}]`, each `NICK[*]=(+|-)USER@HOST`
    RPL_USERHOST = "302";
    /// `:[NICK{ NICK}]`
    RPL_ISON = "303";
    /// `:You are no longer marked as being away`
    RPL_UNAWAY = "305", "You are no longer marked as being away";
    /// `:You have been marked as being away`
    RPL_NOWAWAY = "306", "You have been marked as being away";
    /// `NICK USER HOST * :REALNAME`
    RPL_WHOISUSER = "311";
    /// `NICK SERVER :SERVER_INFO`
    RPL_WHOISSERVER = "312";
    /// `NICK :is an IRC operator`
    RPL_WHOISOPERATOR = "313", "is an IRC operator";
    /// `MASK :End of WHO list`
    RPL_ENDOFWHO = "315", "End of WHO list";
    /// `NICK SECS SIGNON :seconds idle, signon time`
    RPL_WHOISIDLE = "317", "seconds idle, signon time";
    /// `NICK :End of /WHOIS list`
    RPL_ENDOFWHOIS = "318", "End of /WHOIS list";
    /// `NICK :[PREFIX]CHANNEL{ [PREFIX]CHANNEL}`
    RPL_WHOISCHANNELS = "319";
    /// `Channel :Users  Name` (both words fixed)
    RPL_LISTSTART = "321", "Users  Name";
    /// `CHANNEL COUNT :TOPIC`
    RPL_LIST = "322";
    /// `:End of /LIST`
    RPL_LISTEND = "323", "End of /LIST";
    /// `CHANNEL MODESTRING ARGS...`
    RPL_CHANNELMODEIS = "324";
    /// `CHANNEL CREATIONTIME`
    RPL_CREATIONTIME = "329";
    /// `NICK ACCOUNT :is logged in as`
    RPL_WHOISACCOUNT = "330", "is logged in as";
    /// `CHANNEL :No topic is set`
    RPL_NOTOPIC = "331", "No topic is set";
    /// `CHANNEL :TOPIC`
    RPL_TOPIC = "332";
    /// `CHANNEL NICK SETAT`
    RPL_TOPICWHOTIME = "333";
    /// `NICK CHANNEL`
    RPL_INVITING = "341";
    /// `VERSION SERVER :COMMENTS`
    RPL_VERSION = "351";
    /// `CHANNEL USER HOST SERVER NICK FLAGS :HOPCOUNT REALNAME`
    RPL_WHOREPLY = "352";
    /// `SYMBOL CHANNEL :[PREFIX]NICK{ [PREFIX]NICK}`
    RPL_NAMREPLY = "353";
    /// WHOX: the fields the client asked for, in its order
    RPL_WHOSPCRPL = "354";
    /// `CHANNEL :End of /NAMES list`
    RPL_ENDOFNAMES = "366", "End of /NAMES list";
    /// `CHANNEL MASK [WHO SET-TS]`
    RPL_BANLIST = "367";
    /// `CHANNEL :End of channel ban list`
    RPL_ENDOFBANLIST = "368", "End of channel ban list";
    /// `:LINE`
    RPL_MOTD = "372";
    /// `:- SERVER Message of the day - `
    RPL_MOTDSTART = "375";
    /// `:End of /MOTD command.`
    RPL_ENDOFMOTD = "376", "End of /MOTD command.";
    /// `:You are now an IRC operator`
    RPL_YOUREOPER = "381", "You are now an IRC operator";
    /// `SERVER [TIMESTAMP [OFFSET]] :HUMAN_TIME`
    RPL_TIME = "391";
    /// `NICK :No such nick/channel`
    ERR_NOSUCHNICK = "401", "No such nick/channel";
    /// `CHANNEL :No such channel`
    ERR_NOSUCHCHANNEL = "403", "No such channel";
    /// `CHANNEL :Cannot send to channel`
    ERR_CANNOTSENDTOCHAN = "404", "Cannot send to channel";
    /// `CHANNEL :You have joined too many channels`
    ERR_TOOMANYCHANNELS = "405", "You have joined too many channels";
    /// `:No origin specified` (a `PING` without a token)
    ERR_NOORIGIN = "409", "No origin specified";
    /// `SUBCOMMAND :Invalid CAP command` (IRCv3 capability negotiation)
    ERR_INVALIDCAPCMD = "410", "Invalid CAP command";
    /// `:No recipient given (COMMAND)`
    ERR_NORECIPIENT = "411";
    /// `:No text to send`
    ERR_NOTEXTTOSEND = "412", "No text to send";
    /// `:Input line was too long`
    ERR_INPUTTOOLONG = "417", "Input line was too long";
    /// `COMMAND :Unknown command`
    ERR_UNKNOWNCOMMAND = "421", "Unknown command";
    /// `:MOTD File is missing`
    ERR_NOMOTD = "422", "MOTD File is missing";
    /// `:No nickname given`
    ERR_NONICKNAMEGIVEN = "431", "No nickname given";
    /// `NICK :Erroneus nickname` (the spelling is the spec's)
    ERR_ERRONEUSNICKNAME = "432", "Erroneus nickname";
    /// `NICK :Nickname is already in use`
    ERR_NICKNAMEINUSE = "433", "Nickname is already in use";
    /// `NICK :Nickname collision KILL from USER@HOST`
    ERR_NICKCOLLISION = "436";
    /// `NICK CHANNEL :They aren't on that channel`
    ERR_USERNOTINCHANNEL = "441", "They aren't on that channel";
    /// `CHANNEL :You're not on that channel`
    ERR_NOTONCHANNEL = "442", "You're not on that channel";
    /// `NICK CHANNEL :is already on channel`
    ERR_USERONCHANNEL = "443", "is already on channel";
    /// `:You have not registered`
    ERR_NOTREGISTERED = "451", "You have not registered";
    /// `COMMAND :Not enough parameters`
    ERR_NEEDMOREPARAMS = "461", "Not enough parameters";
    /// `:You may not reregister`
    ERR_ALREADYREGISTERED = "462", "You may not reregister";
    /// `:Password incorrect`
    ERR_PASSWDMISMATCH = "464", "Password incorrect";
    /// `:You are banned from this server.`
    ERR_YOUREBANNEDCREEP = "465", "You are banned from this server.";
    /// `CHANNEL :Cannot join channel (+l)`
    ERR_CHANNELISFULL = "471", "Cannot join channel (+l)";
    /// `MODECHAR :is unknown mode char to me`
    ERR_UNKNOWNMODE = "472", "is unknown mode char to me";
    /// `CHANNEL :Cannot join channel (+i)`
    ERR_INVITEONLYCHAN = "473", "Cannot join channel (+i)";
    /// `CHANNEL :Cannot join channel (+b)`
    ERR_BANNEDFROMCHAN = "474", "Cannot join channel (+b)";
    /// `CHANNEL :Cannot join channel (+k)`
    ERR_BADCHANNELKEY = "475", "Cannot join channel (+k)";
    /// `CHANNEL :Bad Channel Mask`
    ERR_BADCHANMASK = "476", "Bad Channel Mask";
    /// `CHANNEL :TEXT`: the channel needs a registered account (no
    /// standard text: servers word it themselves)
    ERR_NEEDREGGEDNICK = "477";
    /// `:Permission Denied- You're not an IRC operator`
    ERR_NOPRIVILEGES = "481", "Permission Denied- You're not an IRC operator";
    /// `CHANNEL :You're not channel operator`
    ERR_CHANOPRIVSNEEDED = "482", "You're not channel operator";
    /// `:No O-lines for your host`
    ERR_NOOPERHOST = "491", "No O-lines for your host";
    /// `:Unknown MODE flag`
    ERR_UMODEUNKNOWNFLAG = "501", "Unknown MODE flag";
    /// `:Cant change mode for other users` (the spelling is the spec's)
    ERR_USERSDONTMATCH = "502", "Cant change mode for other users";
    /// `SUBJECT :No help available on this topic`
    ERR_HELPNOTFOUND = "524", "No help available on this topic";
    /// `SUBJECT :FIRST_LINE`
    RPL_HELPSTART = "704";
    /// `SUBJECT :LINE`
    RPL_HELPTXT = "705";
    /// `SUBJECT :LAST_LINE`
    RPL_ENDOFHELP = "706";
    /// `NICK!USER@HOST ACCOUNT :You are now logged in as ACCOUNT`
    RPL_LOGGEDIN = "900";
    /// `NICK!USER@HOST :You are now logged out`
    RPL_LOGGEDOUT = "901", "You are now logged out";
    /// `:You must use a nick assigned to you`
    ERR_NICKLOCKED = "902", "You must use a nick assigned to you";
    /// `:SASL authentication successful`
    RPL_SASLSUCCESS = "903", "SASL authentication successful";
    /// `:SASL authentication failed`
    ERR_SASLFAIL = "904", "SASL authentication failed";
    /// `:SASL message too long`
    ERR_SASLTOOLONG = "905", "SASL message too long";
    /// `:SASL authentication aborted`
    ERR_SASLABORTED = "906", "SASL authentication aborted";
    /// `:You have already authenticated using SASL`
    ERR_SASLALREADY = "907", "You have already authenticated using SASL";
    /// `MECHANISMS :are available SASL mechanisms`
    RPL_SASLMECHS = "908", "are available SASL mechanisms";
}

/// The kind of an IRCv3 standard reply: a command word, not a numeric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StandardReplyKind {
    /// `FAIL`: the command failed.
    Fail,
    /// `WARN`: it worked, with a caveat.
    Warn,
    /// `NOTE`: information.
    Note,
}

impl StandardReplyKind {
    /// The command word on the wire.
    pub fn command(self) -> &'static str {
        match self {
            StandardReplyKind::Fail => "FAIL",
            StandardReplyKind::Warn => "WARN",
            StandardReplyKind::Note => "NOTE",
        }
    }
}

/// `FAIL <command> <code> [<context>...] :<description>` and its siblings
/// (ircv3.net's standard replies): a machine-readable `code`
/// (`INVALID_PARAMS`, `NEED_REGISTRATION`, …) with the text for people.
#[derive(Debug, Clone, Copy)]
pub struct StandardReply<'a> {
    /// `FAIL`, `WARN` or `NOTE`.
    pub kind: StandardReplyKind,
    /// The command it answers, or `*` for none.
    pub command: &'a str,
    /// The code, upper case with underscores.
    pub code: &'a str,
    /// Further parameters the code defines (a target, a subcommand).
    pub context: &'a [&'a str],
    /// The human-readable description, always the last parameter.
    pub description: &'a str,
}

impl StandardReply<'_> {
    /// Appends the reply, from `server`.
    pub fn write(
        &self,
        out: &mut BytesMut,
        tags: &[(&str, &str)],
        server: &str,
    ) -> Result<(), WriteError> {
        let params = [self.command, self.code]
            .into_iter()
            .chain(self.context.iter().copied())
            .chain(std::iter::once(self.description));
        write_parts(
            out,
            tags.iter().copied(),
            Some(server),
            self.kind.command(),
            params,
        )
    }
}
