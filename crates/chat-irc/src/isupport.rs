//! The `005 RPL_ISUPPORT` lines: what this server supports, as `TOKEN` or
//! `TOKEN=value`, at most [`MAX_TOKENS_PER_LINE`] to a line, each line
//! ending `:are supported by this server` (modern.ircdocs.horse).
//!
//! The tokens come from [`Isupport`], a small settings value the caller
//! fills from its configuration; the lines are written into a `BytesMut`.

use bytes::BytesMut;

use crate::message::{MAX_LINE_BYTES, WriteError, write_parts};
use crate::numeric::RPL_ISUPPORT;

/// The most tokens one 005 line carries (the spec's 13, so that with the
/// client and the text a line stays within 15 parameters).
pub const MAX_TOKENS_PER_LINE: usize = 13;

/// What the 005 lines announce. Every length is in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Isupport<'a> {
    /// `NETWORK`: the network's name.
    pub network: &'a str,
    /// `NICKLEN`: the longest nick.
    pub nick_len: usize,
    /// `CHANNELLEN`: the longest channel name, `#` included.
    pub channel_len: usize,
    /// `TOPICLEN`: the longest topic.
    pub topic_len: usize,
    /// `AWAYLEN`: the longest away message.
    pub away_len: usize,
    /// `KICKLEN`: the longest kick reason.
    pub kick_len: usize,
    /// `USERLEN`: the longest user name.
    pub user_len: usize,
    /// `CHANLIMIT=#:N`: how many channels a client may be in.
    pub chan_limit: usize,
    /// `MAXTARGETS`: targets of one `PRIVMSG`/`NOTICE`.
    pub max_targets: usize,
    /// `MODES`: mode changes with a parameter in one `MODE`.
    pub modes: usize,
    /// `PREFIX`: member modes and their prefixes, e.g. `(o)@`.
    pub prefix: &'a str,
    /// `CHANMODES`: the four classes of channel modes, e.g. `b,k,l,imnst`.
    pub chan_modes: &'a str,
    /// `CHATHISTORY`: messages one `CHATHISTORY` may ask for, when the
    /// server offers `draft/chathistory` (0: no maximum).
    pub chathistory: Option<usize>,
}

impl Default for Isupport<'_> {
    fn default() -> Self {
        Isupport {
            network: "chat",
            nick_len: 32,
            channel_len: 64,
            topic_len: 390,
            away_len: 200,
            kick_len: 255,
            user_len: crate::registration::MAX_USER_BYTES,
            chan_limit: 20,
            max_targets: 1,
            modes: 1,
            prefix: "(o)@",
            chan_modes: ",,,",
            chathistory: None,
        }
    }
}

/// One token: a name and, maybe, a value to escape.
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    None,
    Text(&'a str),
    Number(usize),
    /// `#:N`: a limit for the channel type `#`.
    ChannelLimit(usize),
}

impl Isupport<'_> {
    /// Each token in the order written. The fixed ones: `CASEMAPPING=ascii`
    /// (nicks and channels compare by ASCII case only), `CHANTYPES=#`,
    /// `UTF8ONLY`, `WHOX`.
    fn tokens(&self) -> impl Iterator<Item = (&'static str, Value<'_>)> {
        [
            ("NETWORK", Value::Text(self.network)),
            ("CASEMAPPING", Value::Text("ascii")),
            ("CHANTYPES", Value::Text("#")),
            ("CHANLIMIT", Value::ChannelLimit(self.chan_limit)),
            ("PREFIX", Value::Text(self.prefix)),
            ("CHANMODES", Value::Text(self.chan_modes)),
            ("MODES", Value::Number(self.modes)),
            ("MAXTARGETS", Value::Number(self.max_targets)),
            ("NICKLEN", Value::Number(self.nick_len)),
            ("CHANNELLEN", Value::Number(self.channel_len)),
            ("TOPICLEN", Value::Number(self.topic_len)),
            ("AWAYLEN", Value::Number(self.away_len)),
            ("KICKLEN", Value::Number(self.kick_len)),
            ("USERLEN", Value::Number(self.user_len)),
            ("UTF8ONLY", Value::None),
            ("WHOX", Value::None),
        ]
        .into_iter()
        .chain(self.chathistory.map(|n| ("CHATHISTORY", Value::Number(n))))
    }

    /// Appends the 005 lines for `client`, from `server`.
    pub fn write(&self, out: &mut BytesMut, server: &str, client: &str) -> Result<(), WriteError> {
        // Tokens are made as Strings first: this runs once per
        // registration, and knowing each token's length makes packing the
        // lines plain.
        let texts: Vec<String> = self
            .tokens()
            .map(|(name, value)| token_text(name, value))
            .collect();
        let at = out.len();
        let fixed = ":".len() + server.len() + " 005 ".len() + client.len() + " :".len();
        let text = RPL_ISUPPORT.text.unwrap_or_default();
        let budget = (MAX_LINE_BYTES - "\r\n".len()).saturating_sub(fixed + text.len());
        let mut start = 0;
        while start < texts.len() {
            let mut end = start;
            let mut used = 0;
            while let Some(token) = texts.get(end) {
                if end - start == MAX_TOKENS_PER_LINE
                    || (end > start && used + 1 + token.len() > budget)
                {
                    break;
                }
                used += token.len() + 1;
                end += 1;
            }
            let line = texts.get(start..end).unwrap_or_default();
            let params = std::iter::once(client)
                .chain(line.iter().map(String::as_str))
                .chain(std::iter::once(text));
            if let Err(e) = write_parts(out, [("", ""); 0], Some(server), RPL_ISUPPORT.code, params)
            {
                // All the lines or none, like every writer here.
                out.truncate(at);
                return Err(e);
            }
            start = end;
        }
        Ok(())
    }
}

/// `NAME`, or `NAME=VALUE` with the value escaped as ISUPPORT escapes it:
/// `\x20` for a space, `\x5C` for a backslash, `\x3D` for `=`.
fn token_text(name: &str, value: Value<'_>) -> String {
    match value {
        Value::None => name.to_owned(),
        Value::Number(n) => format!("{name}={n}"),
        Value::ChannelLimit(n) => format!("{name}=#:{n}"),
        Value::Text(text) => {
            let mut token = String::with_capacity(name.len() + 1 + text.len());
            token.push_str(name);
            token.push('=');
            for c in text.chars() {
                match c {
                    ' ' => token.push_str("\\x20"),
                    '\\' => token.push_str("\\x5C"),
                    '=' => token.push_str("\\x3D"),
                    c => token.push(c),
                }
            }
            token
        }
    }
}
