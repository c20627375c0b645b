//! Connection registration, sans-I/O: the messages of a connection that has
//! not registered go in, the replies come out as bytes appended to a
//! `BytesMut`, and once `NICK` and `USER` are in and no capability
//! negotiation is open, [`Progress::Registered`] says who registered.
//!
//! ```text
//! CAP LS 302 ──▶ CAP * LS :…        (negotiation open: registration waits)
//! CAP REQ :… ──▶ CAP * ACK :…       (or NAK)
//! PASS secret                        (kept for the caller to check)
//! NICK alice ──▶ check_nick("alice") (432/433 on a refusal)
//! USER alice 0 * :Alice
//! AUTHENTICATE …  ──▶ Progress::Authenticate(credentials) (sasl, below)
//! CAP END    ──▶ Progress::Registered { nick, user, realname, password, caps }
//! ```
//!
//! A client that enabled `sasl` may log in before it registers
//! ([`crate::sasl`]): registration waits while an exchange is under way,
//! including while the caller checks the credentials, and goes on with the
//! caller's [`Registration::sasl_succeeded`] or
//! [`Registration::sasl_failed`].
//!
//! The caller owns everything else: whether a nick is valid and free (the
//! `check_nick` it passes, and again at [`Progress::Registered`], with
//! [`Registration::refuse_nick`] if it was taken meanwhile), whether the
//! password is right, the welcome burst, and the timeout for a connection
//! that never registers (the machine reads no clock).
//!
//! State is bounded: the machine keeps at most one nick, user, realname and
//! password, each capped ([`MAX_NICK_BYTES`], [`MAX_USER_BYTES`],
//! [`MAX_REALNAME_BYTES`], [`MAX_PASSWORD_BYTES`]), whatever it is fed.

use bytes::BytesMut;

use crate::caps::{Cap, CapState, Caps, Offer, handle_cap};
use crate::message::Message;
use crate::numeric::{
    ERR_ALREADYREGISTERED, ERR_ERRONEUSNICKNAME, ERR_NEEDMOREPARAMS, ERR_NICKNAMEINUSE,
    ERR_NONICKNAMEGIVEN, ERR_NOORIGIN, ERR_NOTREGISTERED, ERR_PASSWDMISMATCH, Numeric,
};
use crate::sasl::{PlainCredentials, Sasl, SaslStep};

/// A nick longer than this is refused (432) without asking the caller.
pub const MAX_NICK_BYTES: usize = 64;
/// The user name is cut to this (ISUPPORT `USERLEN`).
pub const MAX_USER_BYTES: usize = 20;
/// The realname is cut to this.
pub const MAX_REALNAME_BYTES: usize = 128;
/// A longer password is refused (464): cutting it would change it.
pub const MAX_PASSWORD_BYTES: usize = 256;

/// What the server is, for the replies: its name (the source of every
/// reply) and the capabilities it offers.
#[derive(Debug, Clone, Copy)]
pub struct Server<'a> {
    /// The server's name, as the source of its replies.
    pub name: &'a str,
    /// The capabilities offered to `CAP LS` and `CAP REQ`.
    pub offer: Offer<'a>,
}

/// Why the caller refuses a nick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NickRefusal {
    /// Not a valid nick: `432 ERR_ERRONEUSNICKNAME`.
    Erroneous,
    /// Someone has it: `433 ERR_NICKNAMEINUSE`.
    InUse,
}

impl NickRefusal {
    fn numeric(self) -> Numeric {
        match self {
            NickRefusal::Erroneous => ERR_ERRONEUSNICKNAME,
            NickRefusal::InUse => ERR_NICKNAMEINUSE,
        }
    }
}

/// Who registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// The nick, as the client sent it, accepted by `check_nick`.
    pub nick: String,
    /// The user name from `USER`, cut to [`MAX_USER_BYTES`].
    pub user: String,
    /// The realname from `USER`, cut to [`MAX_REALNAME_BYTES`].
    pub realname: String,
    /// The last `PASS` given, unchecked: checking it is the caller's.
    pub password: Option<String>,
    /// The capabilities the client enabled.
    pub caps: Caps,
    /// Its `CAP LS` version (0 if it never asked): keep it, with `caps`,
    /// in a [`CapState`] for the `CAP` commands it sends later.
    pub cap_version: u16,
}

impl Registered {
    /// The negotiation state to carry on with after registration.
    pub fn cap_state(&self) -> CapState {
        CapState {
            enabled: self.caps,
            version: self.cap_version,
            negotiating: false,
        }
    }
}

/// What handing a message to [`Registration::handle`] led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Not registered yet; send what was written, if anything.
    Continue,
    /// Registered: send what was written, then the welcome. The machine is
    /// done, unless the caller finds the nick taken after all
    /// ([`Registration::refuse_nick`]).
    Registered(Registered),
    /// A SASL exchange handed over its credentials: the caller checks them
    /// and answers with [`Registration::sasl_succeeded`] or
    /// [`Registration::sasl_failed`]; registration waits meanwhile.
    Authenticate(PlainCredentials),
    /// The client sent `QUIT`: the caller says goodbye and closes.
    Quit {
        /// Its reason, if it gave one, cut to [`MAX_REALNAME_BYTES`].
        reason: Option<String>,
    },
}

/// The registration of one connection.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    nick: Option<String>,
    user: Option<(String, String)>,
    password: Option<String>,
    cap: CapState,
    sasl: Sasl,
    done: bool,
}

impl Registration {
    /// A connection that has sent nothing yet.
    pub fn new() -> Self {
        Registration::default()
    }

    /// The nick accepted so far, if any (numerics address the client by
    /// it, or by `*` before).
    pub fn nick(&self) -> Option<&str> {
        self.nick.as_deref()
    }

    /// The negotiation so far.
    pub fn cap_state(&self) -> CapState {
        self.cap
    }

    /// Whether [`Progress::Registered`] has been returned (and not taken
    /// back by [`Registration::refuse_nick`]).
    pub fn is_registered(&self) -> bool {
        self.done
    }

    fn client(&self) -> &str {
        self.nick.as_deref().unwrap_or("*")
    }

    /// Handles one message of the unregistered connection, appending its
    /// replies to `out`. `check_nick` is called with each nick a `NICK`
    /// asks for; it says whether the caller accepts it.
    ///
    /// After [`Progress::Registered`] the connection is the caller's:
    /// messages handed here then are ignored ([`Progress::Continue`],
    /// nothing written).
    pub fn handle(
        &mut self,
        server: &Server<'_>,
        msg: &Message<'_>,
        out: &mut BytesMut,
        check_nick: impl FnOnce(&str) -> Result<(), NickRefusal>,
    ) -> Progress {
        if self.done {
            return Progress::Continue;
        }
        let name = server.name;
        if msg.is("CAP") {
            let client = self.nick.as_deref().unwrap_or("*");
            handle_cap(&mut self.cap, &server.offer, msg, name, client, out);
        } else if msg.is("AUTHENTICATE") && self.cap.enabled.contains(Cap::Sasl) {
            let client = self.nick.as_deref().unwrap_or("*");
            if let SaslStep::Plain(credentials) = self.sasl.handle(msg, name, client, out) {
                return Progress::Authenticate(credentials);
            }
        } else if msg.is("REGISTER") {
            // `draft/account-registration` without `before-connect`.
            let fail = crate::StandardReply {
                kind: crate::StandardReplyKind::Fail,
                command: "REGISTER",
                code: "COMPLETE_CONNECTION_REQUIRED",
                context: &["*"],
                description: "Register an account once connected",
            };
            let _ = fail.write(out, &[], name);
        } else if msg.is("PASS") {
            self.pass(name, msg, out);
        } else if msg.is("NICK") {
            self.take_nick(name, msg, out, check_nick);
        } else if msg.is("USER") {
            self.user(name, msg, out);
        } else if msg.is("PING") {
            match msg.param(0) {
                // Writing fails only for a server name with a space in it,
                // which is the caller's configuration, not the client's.
                Some(token) => {
                    let _ = crate::message::write(out, &[], Some(name), "PONG", &[name, token]);
                }
                None => self.reply(name, ERR_NOORIGIN, &[], out),
            }
        } else if msg.is("PONG") {
            // An answer to the caller's own PING: its timing is the caller's.
        } else if msg.is("QUIT") {
            let reason = msg.param(0).map(|r| cut(r, MAX_REALNAME_BYTES).to_owned());
            return Progress::Quit { reason };
        } else {
            self.reply(name, ERR_NOTREGISTERED, &[], out);
        }
        self.progress()
    }

    /// Takes back an accepted nick: the caller found it taken (or no longer
    /// valid) when the client registered. Writes the refusal; the client
    /// registers with its next `NICK`.
    pub fn refuse_nick(&mut self, server: &Server<'_>, out: &mut BytesMut, refusal: NickRefusal) {
        let Some(nick) = self.nick.take() else {
            return;
        };
        self.done = false;
        self.reply(server.name, refusal.numeric(), &[&nick], out);
    }

    /// The credentials of [`Progress::Authenticate`] were right: the
    /// connection is logged in to `account` (900, 903), and registration
    /// goes on.
    pub fn sasl_succeeded(
        &mut self,
        server: &Server<'_>,
        out: &mut BytesMut,
        account: &str,
    ) -> Progress {
        let client = self.client().to_owned();
        let mask = format!("{client}!{client}@{}", server.name);
        self.sasl
            .succeeded(out, server.name, (&client, &mask), account);
        self.progress()
    }

    /// The credentials of [`Progress::Authenticate`] were refused (904);
    /// registration goes on without a login.
    pub fn sasl_failed(&mut self, server: &Server<'_>, out: &mut BytesMut) -> Progress {
        let client = self.client().to_owned();
        self.sasl.failed(out, server.name, &client);
        self.progress()
    }

    /// Whether credentials are with the caller, not answered yet.
    pub fn is_authenticating(&self) -> bool {
        self.sasl.is_checking()
    }

    fn progress(&mut self) -> Progress {
        let (Some(nick), Some((user, realname))) = (&self.nick, &self.user) else {
            return Progress::Continue;
        };
        if self.cap.negotiating || self.sasl.is_busy() || self.done {
            return Progress::Continue;
        }
        self.done = true;
        Progress::Registered(Registered {
            nick: nick.clone(),
            user: user.clone(),
            realname: realname.clone(),
            password: self.password.clone(),
            caps: self.cap.enabled,
            cap_version: self.cap.version,
        })
    }

    fn reply(&self, server: &str, numeric: Numeric, params: &[&str], out: &mut BytesMut) {
        // Fails only for a server name with a space in it (the caller's
        // configuration) or a client param that cannot be one: then the
        // reply is left out rather than sent broken.
        let _ = numeric.write_default(out, &[], server, self.client(), params);
    }

    fn pass(&mut self, server: &str, msg: &Message<'_>, out: &mut BytesMut) {
        match msg.param(0) {
            None => self.reply(server, ERR_NEEDMOREPARAMS, &["PASS"], out),
            Some(_) if self.user.is_some() || self.nick.is_some() => {
                // PASS comes first (modern.ircdocs): later, it is a
                // registration already under way.
                self.reply(server, ERR_ALREADYREGISTERED, &[], out);
            }
            Some(password) if password.len() > MAX_PASSWORD_BYTES => {
                self.password = None;
                self.reply(server, ERR_PASSWDMISMATCH, &[], out);
            }
            Some(password) => self.password = Some(password.to_owned()),
        }
    }

    fn take_nick(
        &mut self,
        server: &str,
        msg: &Message<'_>,
        out: &mut BytesMut,
        check_nick: impl FnOnce(&str) -> Result<(), NickRefusal>,
    ) {
        let Some(nick) = msg.param(0).filter(|n| !n.is_empty()) else {
            self.reply(server, ERR_NONICKNAMEGIVEN, &[], out);
            return;
        };
        // A nick that cannot be a middle parameter could never be written
        // back to anyone, whatever the caller's rules say: refused here.
        let writable =
            nick.len() <= MAX_NICK_BYTES && !nick.contains(' ') && !nick.starts_with(':');
        let verdict = if writable {
            check_nick(nick)
        } else {
            Err(NickRefusal::Erroneous)
        };
        match verdict {
            Ok(()) => self.nick = Some(nick.to_owned()),
            Err(refusal) => {
                let shown = if writable { nick } else { "*" };
                self.reply(server, refusal.numeric(), &[shown], out);
            }
        }
    }

    fn user(&mut self, server: &str, msg: &Message<'_>, out: &mut BytesMut) {
        if self.user.is_some() {
            self.reply(server, ERR_ALREADYREGISTERED, &[], out);
            return;
        }
        // USER <user> <mode> <unused> :<realname>; the middle two are
        // historical, and ignored.
        let (Some(user), Some(realname)) = (msg.param(0), msg.param(3)) else {
            self.reply(server, ERR_NEEDMOREPARAMS, &["USER"], out);
            return;
        };
        // `!` and `@` would make the client's mask ambiguous; control
        // characters have no place in a user name.
        let user: String = user
            .chars()
            .filter(|c| !matches!(c, '!' | '@' | ':') && !c.is_control() && !c.is_whitespace())
            .collect();
        let user = cut(&user, MAX_USER_BYTES);
        if user.is_empty() {
            self.reply(server, ERR_NEEDMOREPARAMS, &["USER"], out);
            return;
        }
        self.user = Some((
            user.to_owned(),
            cut(realname, MAX_REALNAME_BYTES).to_owned(),
        ));
    }
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}
