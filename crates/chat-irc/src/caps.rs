//! The IRCv3 capabilities this server can offer, the set type a connection
//! keeps of those it enabled, and the `CAP` command (ircv3.net's
//! capability negotiation, versions 301 and 302).
//!
//! One registry: [`Cap`] names each capability once, with the tags it lets
//! the server add to what it sends ([`Cap::tags`]). `msgid` is not a
//! capability: it is a tag that `message-tags` allows. `draft/chathistory`
//! carries no value on the `CAP LS` line in the current draft; its limit is
//! the `CHATHISTORY` ISUPPORT token (`isupport`). Values in general come
//! from the [`Offer`], and are shown only to clients that asked `CAP LS 302`.
//!
//! [`handle_cap`] answers one `CAP` message, before registration or after,
//! into a `BytesMut`, and says what it changed in a [`CapOutcome`].

use bytes::BytesMut;

use crate::message::{MAX_LINE_BYTES, Message, put_clean};
use crate::numeric::{ERR_INVALIDCAPCMD, ERR_NEEDMOREPARAMS};

/// One capability the server can offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cap {
    /// `cap-notify`: `CAP NEW` and `CAP DEL` when the offer changes (on for
    /// every 302 client, which cannot turn it off).
    CapNotify,
    /// `message-tags`: tags on messages, client-only tags, `TAGMSG`, `msgid`.
    MessageTags,
    /// `server-time`: the `time` tag.
    ServerTime,
    /// `echo-message`: a client's own `PRIVMSG`/`NOTICE` sent back to it.
    EchoMessage,
    /// `batch`: the `batch` tag and `BATCH` (history, labeled replies).
    Batch,
    /// `labeled-response`: the `label` tag on a command's answer.
    LabeledResponse,
    /// `multi-prefix`: every prefix of a member in `NAMES` and `WHO`.
    MultiPrefix,
    /// `away-notify`: `AWAY` told to those who share a channel.
    AwayNotify,
    /// `extended-join`: account and realname on `JOIN`.
    ExtendedJoin,
    /// `setname`: `SETNAME` to change the realname.
    Setname,
    /// `draft/chathistory`: the `CHATHISTORY` command; no automatic playback.
    ChatHistory,
    /// `sasl`: `AUTHENTICATE` (its value: the mechanisms, `PLAIN`).
    Sasl,
    /// `account-tag`: the `account` tag on what a logged-in user says.
    AccountTag,
    /// `account-notify`: `ACCOUNT` told to those who share a channel when
    /// a member logs in or out.
    AccountNotify,
    /// `draft/account-registration`: the `REGISTER` command.
    AccountRegistration,
    /// `draft/read-marker`: `MARKREAD`, an account's read marker shared by
    /// its connections.
    ReadMarker,
}

impl Cap {
    /// Every capability, in the order `CAP LS` lists them.
    pub const ALL: [Cap; 16] = [
        Cap::CapNotify,
        Cap::MessageTags,
        Cap::ServerTime,
        Cap::EchoMessage,
        Cap::Batch,
        Cap::LabeledResponse,
        Cap::MultiPrefix,
        Cap::AwayNotify,
        Cap::ExtendedJoin,
        Cap::Setname,
        Cap::ChatHistory,
        Cap::Sasl,
        Cap::AccountTag,
        Cap::AccountNotify,
        Cap::AccountRegistration,
        Cap::ReadMarker,
    ];

    /// The name on the wire.
    pub const fn name(self) -> &'static str {
        match self {
            Cap::CapNotify => "cap-notify",
            Cap::MessageTags => "message-tags",
            Cap::ServerTime => "server-time",
            Cap::EchoMessage => "echo-message",
            Cap::Batch => "batch",
            Cap::LabeledResponse => "labeled-response",
            Cap::MultiPrefix => "multi-prefix",
            Cap::AwayNotify => "away-notify",
            Cap::ExtendedJoin => "extended-join",
            Cap::Setname => "setname",
            Cap::ChatHistory => "draft/chathistory",
            Cap::Sasl => "sasl",
            Cap::AccountTag => "account-tag",
            Cap::AccountNotify => "account-notify",
            Cap::AccountRegistration => "draft/account-registration",
            Cap::ReadMarker => "draft/read-marker",
        }
    }

    /// The capability of that name (names are case-sensitive).
    pub fn from_name(name: &str) -> Option<Cap> {
        Cap::ALL.into_iter().find(|cap| cap.name() == name)
    }

    /// The tags the server may add to what it sends a client that enabled
    /// this capability (`message-tags` also lets client-only `+` tags
    /// through, which no list can name).
    pub const fn tags(self) -> &'static [&'static str] {
        match self {
            Cap::MessageTags => &["msgid"],
            Cap::ServerTime => &["time"],
            Cap::Batch => &["batch"],
            Cap::LabeledResponse => &["label"],
            Cap::AccountTag => &["account"],
            _ => &[],
        }
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// A set of capabilities: a bit each, `Copy`, so it can be part of a key
/// (a wire shape: which tags a line carries for its recipient).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Caps(u16);

impl Caps {
    /// No capability.
    pub const EMPTY: Caps = Caps(0);

    /// Every capability in [`Cap::ALL`].
    pub const ALL: Caps = {
        let mut bits = 0;
        let mut i = 0;
        while i < Cap::ALL.len() {
            bits |= Cap::ALL[i].bit();
            i += 1;
        }
        Caps(bits)
    };

    /// Whether `cap` is in the set.
    pub const fn contains(self, cap: Cap) -> bool {
        self.0 & cap.bit() != 0
    }

    /// The set with `cap` added.
    pub const fn with(self, cap: Cap) -> Caps {
        Caps(self.0 | cap.bit())
    }

    /// The set without `cap`.
    pub const fn without(self, cap: Cap) -> Caps {
        Caps(self.0 & !cap.bit())
    }

    /// Adds `cap`.
    pub fn insert(&mut self, cap: Cap) {
        *self = self.with(cap);
    }

    /// Removes `cap`.
    pub fn remove(&mut self, cap: Cap) {
        *self = self.without(cap);
    }

    /// Those in either set.
    pub const fn union(self, other: Caps) -> Caps {
        Caps(self.0 | other.0)
    }

    /// Those in both sets.
    pub const fn intersection(self, other: Caps) -> Caps {
        Caps(self.0 & other.0)
    }

    /// Those in this set and not in `other`.
    pub const fn difference(self, other: Caps) -> Caps {
        Caps(self.0 & !other.0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The raw bits (one per [`Cap`], in [`Cap::ALL`]'s order from bit 0).
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Each capability in the set, in [`Cap::ALL`]'s order.
    pub fn iter(self) -> impl Iterator<Item = Cap> {
        Cap::ALL.into_iter().filter(move |&cap| self.contains(cap))
    }
}

impl FromIterator<Cap> for Caps {
    fn from_iter<I: IntoIterator<Item = Cap>>(caps: I) -> Caps {
        caps.into_iter().fold(Caps::EMPTY, Caps::with)
    }
}

impl std::fmt::Debug for Caps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter().map(Cap::name)).finish()
    }
}

/// What this server offers: the capabilities, and a value for those that
/// have one (`name=value`, shown to 302 clients only). A value must not
/// hold a space; one would be dropped.
#[derive(Debug, Clone, Copy, Default)]
pub struct Offer<'a> {
    /// The capabilities a client may enable.
    pub caps: Caps,
    /// Values of some of them.
    pub values: &'a [(Cap, &'a str)],
}

impl<'a> Offer<'a> {
    /// An offer without values.
    pub const fn new(caps: Caps) -> Self {
        Offer { caps, values: &[] }
    }

    /// The value offered with `cap`, if any.
    pub fn value(&self, cap: Cap) -> Option<&'a str> {
        self.values
            .iter()
            .find(|(c, _)| *c == cap)
            .map(|&(_, value)| value)
    }
}

/// `CAP LS` versions: 301 is a plain `CAP LS`, 302 adds values, multiline
/// replies and implicit `cap-notify`. A higher version is taken as 302.
pub const CAP_VERSION_302: u16 = 302;

/// One connection's side of the negotiation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapState {
    /// What the client has enabled.
    pub enabled: Caps,
    /// The `CAP LS` version it announced (0 before any `CAP LS`, 301 for
    /// one without a version).
    pub version: u16,
    /// Whether a negotiation is open: set by `CAP LS` or `CAP REQ`, cleared
    /// by `CAP END`. Registration waits while it is set.
    pub negotiating: bool,
}

/// What one `CAP` message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapOutcome {
    /// `LS` or `LIST` answered.
    Listed,
    /// `REQ` acknowledged: these were turned on and off (the client may
    /// have asked for what it already had).
    Changed {
        /// Capabilities turned on.
        enabled: Caps,
        /// Capabilities turned off.
        disabled: Caps,
    },
    /// `REQ` refused as a whole (`NAK`): nothing changed.
    Refused,
    /// `END`: the negotiation is over.
    Ended,
    /// No subcommand (`461`) or an unknown one (`410`).
    Invalid,
}

/// Answers one `CAP` message from `client` (its nick, or `*`), writing the
/// reply lines from `server` into `out`.
pub fn handle_cap(
    state: &mut CapState,
    offer: &Offer<'_>,
    msg: &Message<'_>,
    server: &str,
    client: &str,
    out: &mut BytesMut,
) -> CapOutcome {
    let Some(sub) = msg.param(0) else {
        // The numeric's texts are fixed: writing them cannot fail.
        let _ = ERR_NEEDMOREPARAMS.write_default(out, &[], server, client, &["CAP"]);
        return CapOutcome::Invalid;
    };
    if sub.eq_ignore_ascii_case("LS") {
        let version = match msg.param(1) {
            Some(v) => v.parse::<u16>().unwrap_or(301).clamp(301, CAP_VERSION_302),
            None => 301,
        };
        state.version = state.version.max(version);
        state.negotiating = true;
        if state.version >= CAP_VERSION_302 && offer.caps.contains(Cap::CapNotify) {
            state.enabled.insert(Cap::CapNotify);
        }
        let values = state.version >= CAP_VERSION_302;
        write_list(
            out,
            server,
            client,
            "LS",
            offer.caps,
            offer,
            values,
            state.version,
        );
        CapOutcome::Listed
    } else if sub.eq_ignore_ascii_case("LIST") {
        let none = Offer::default();
        write_list(
            out,
            server,
            client,
            "LIST",
            state.enabled,
            &none,
            false,
            state.version,
        );
        CapOutcome::Listed
    } else if sub.eq_ignore_ascii_case("REQ") {
        state.negotiating = true;
        request(
            state,
            offer,
            msg.param(1).unwrap_or(""),
            server,
            client,
            out,
        )
    } else if sub.eq_ignore_ascii_case("END") {
        state.negotiating = false;
        CapOutcome::Ended
    } else {
        let _ = ERR_INVALIDCAPCMD.write_default(out, &[], server, client, &[sub]);
        CapOutcome::Invalid
    }
}

/// `CAP REQ`: all or nothing. Every name must be offered (`-name` turns one
/// off; a 302 client may not turn off `cap-notify`); the `ACK` lists each
/// change once, in the order asked, so it is never longer than the registry.
fn request(
    state: &mut CapState,
    offer: &Offer<'_>,
    list: &str,
    server: &str,
    client: &str,
    out: &mut BytesMut,
) -> CapOutcome {
    let tokens = || list.split(' ').filter(|t| !t.is_empty());
    let parse = |token: &str| {
        let (off, name) = match token.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, token),
        };
        let cap = Cap::from_name(name).filter(|&cap| offer.caps.contains(cap))?;
        let locked = off && cap == Cap::CapNotify && state.version >= CAP_VERSION_302;
        (!locked).then_some((off, cap))
    };
    if tokens().next().is_none() || tokens().any(|t| parse(t).is_none()) {
        let budget = line_budget(server, client, "NAK");
        let mut echo = list.trim_matches(' ');
        while echo.len() > budget {
            echo = echo.rsplit_once(' ').map_or("", |(head, _)| head);
        }
        start_line(out, server, client, "NAK", false);
        put_clean(out, echo);
        out.extend_from_slice(b"\r\n");
        return CapOutcome::Refused;
    }
    let before = state.enabled;
    let (mut seen_on, mut seen_off) = (Caps::EMPTY, Caps::EMPTY);
    start_line(out, server, client, "ACK", false);
    for (off, cap) in tokens().filter_map(parse) {
        let first = seen_on.union(seen_off).is_empty();
        let seen = if off { &mut seen_off } else { &mut seen_on };
        if seen.contains(cap) {
            continue;
        }
        seen.insert(cap);
        if !first {
            out.extend_from_slice(b" ");
        }
        if off {
            out.extend_from_slice(b"-");
            state.enabled.remove(cap);
        } else {
            state.enabled.insert(cap);
        }
        out.extend_from_slice(cap.name().as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    CapOutcome::Changed {
        enabled: state.enabled.difference(before),
        disabled: before.difference(state.enabled),
    }
}

/// Room for the list after `:SERVER CAP CLIENT SUB * :`, within a line.
fn line_budget(server: &str, client: &str, sub: &str) -> usize {
    let prefix = ":".len() + server.len() + " CAP ".len() + client.len() + 1 + sub.len();
    (MAX_LINE_BYTES - "\r\n".len()).saturating_sub(prefix + " * :".len())
}

/// `:SERVER CAP CLIENT SUB [*] :`, the list to follow.
fn start_line(out: &mut BytesMut, server: &str, client: &str, sub: &str, more: bool) {
    out.extend_from_slice(b":");
    put_clean(out, server);
    out.extend_from_slice(b" CAP ");
    put_clean(out, client);
    out.extend_from_slice(b" ");
    out.extend_from_slice(sub.as_bytes());
    out.extend_from_slice(if more { b" * :" } else { b" :" });
}

/// The `LS` or `LIST` lines for `caps`. A 302 client gets lines cut to fit
/// 512 bytes, all but the last marked `*`; an older one gets one line,
/// as it cannot join them (the registry fits in one many times over).
#[allow(clippy::too_many_arguments)] // private; each is one part of the line
fn write_list(
    out: &mut BytesMut,
    server: &str,
    client: &str,
    sub: &str,
    caps: Caps,
    offer: &Offer<'_>,
    values: bool,
    version: u16,
) {
    let token_len = |cap: Cap| {
        let value = values.then(|| offer.value(cap)).flatten();
        cap.name().len() + value.map_or(0, |v| 1 + v.len())
    };
    let budget = line_budget(server, client, sub);
    let multiline = version >= CAP_VERSION_302;
    // Where each line ends: an index into the caps, at most one line a cap.
    let mut ends = [0usize; Cap::ALL.len() + 1];
    let mut lines = 0;
    let mut used = 0;
    for (i, cap) in caps.iter().enumerate() {
        let len = token_len(cap) + usize::from(used > 0);
        if multiline && used > 0 && used + len > budget {
            if let Some(end) = ends.get_mut(lines) {
                *end = i;
            }
            lines += 1;
            used = token_len(cap);
        } else {
            used += len;
        }
    }
    let count = caps.iter().count();
    if let Some(end) = ends.get_mut(lines) {
        *end = count;
    }
    let mut from = 0;
    for (line, &end) in ends.iter().take(lines + 1).enumerate() {
        start_line(out, server, client, sub, line < lines);
        for (i, cap) in caps.iter().enumerate().take(end).skip(from) {
            if i > from {
                out.extend_from_slice(b" ");
            }
            out.extend_from_slice(cap.name().as_bytes());
            if let Some(value) = values.then(|| offer.value(cap)).flatten() {
                out.extend_from_slice(b"=");
                for word in value.split(' ') {
                    put_clean(out, word);
                }
            }
        }
        out.extend_from_slice(b"\r\n");
        from = end;
    }
}
