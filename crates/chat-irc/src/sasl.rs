//! SASL over `AUTHENTICATE` (ircv3.net's SASL 3.1 and 3.2), sans-I/O: one
//! connection's exchange, fed its `AUTHENTICATE` messages, writing the
//! server's side of the exchange and handing out the credentials once they
//! are whole. Checking them is the caller's (the hub's account machine,
//! whose store runs argon2 off the reactor); it answers with
//! [`Sasl::succeeded`] or [`Sasl::failed`].
//!
//! ```text
//! AUTHENTICATE PLAIN      ──▶ AUTHENTICATE +
//! AUTHENTICATE <base64>   ──▶ SaslStep::Plain { authzid, authcid, password }
//!   (400-byte chunks; a full chunk means more follows, `+` ends an
//!    exact multiple of 400)
//! caller checks           ──▶ 900 + 903, or 904
//! AUTHENTICATE *          ──▶ 906 (aborted)
//! ```
//!
//! Only `PLAIN` is offered: `EXTERNAL` would need the TLS client
//! certificate, which the reactor's TLS session does not hand to the hub,
//! and a way to bind a certificate to an account, which the account store
//! does not have.

use base64::Engine as _;
use bytes::BytesMut;

use crate::message::{Message, write};
use crate::numeric::{
    ERR_NEEDMOREPARAMS, ERR_SASLABORTED, ERR_SASLALREADY, ERR_SASLFAIL, ERR_SASLTOOLONG,
    RPL_LOGGEDIN, RPL_SASLMECHS, RPL_SASLSUCCESS,
};

/// The mechanisms offered: the `sasl` capability's value, and `908`'s list.
pub const MECHANISMS: &str = "PLAIN";

/// An `AUTHENTICATE` payload is sent in chunks of this many bytes.
pub const CHUNK_BYTES: usize = 400;

/// The most base64 a `PLAIN` payload may take: two names and a password,
/// each within the registration's limits, with room to spare.
pub const MAX_PAYLOAD_BYTES: usize = 4 * CHUNK_BYTES;

/// Credentials of a `PLAIN` exchange. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainCredentials {
    /// Who to act as; empty for "the same as `authcid`".
    pub authzid: String,
    /// Whose password this is: the account name.
    pub authcid: String,
    pub password: String,
}

impl std::fmt::Debug for PlainCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainCredentials")
            .field("authzid", &self.authzid)
            .field("authcid", &self.authcid)
            .field("password", &"…")
            .finish()
    }
}

impl PlainCredentials {
    /// The account the client asks to log in to: the authorization
    /// identity may only be empty or the authentication identity (nobody
    /// logs in as someone else).
    pub fn account(&self) -> Option<&str> {
        let same = self.authzid.is_empty() || self.authzid == self.authcid;
        (same && !self.authcid.is_empty()).then_some(self.authcid.as_str())
    }
}

/// What one `AUTHENTICATE` led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslStep {
    /// Nothing for the caller: send what was written, if anything.
    Continue,
    /// The credentials are whole: check them, then call
    /// [`Sasl::succeeded`] or [`Sasl::failed`].
    Plain(PlainCredentials),
}

/// Where an exchange is. `Debug` shows how much of a payload came, never
/// the payload (base64 of a password).
#[derive(Clone, Default, PartialEq, Eq)]
enum State {
    #[default]
    Idle,
    /// `AUTHENTICATE PLAIN` was accepted: the payload comes, in chunks.
    Receiving(String),
    /// The credentials are with the caller.
    Checking,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            State::Idle => f.write_str("Idle"),
            State::Receiving(payload) => write!(f, "Receiving({} bytes)", payload.len()),
            State::Checking => f.write_str("Checking"),
        }
    }
}

/// One connection's SASL exchange.
#[derive(Debug, Clone, Default)]
pub struct Sasl {
    state: State,
    /// It logged in with SASL once: a second exchange is refused (907).
    done: bool,
}

impl Sasl {
    /// An exchange is under way: registration waits for it to end.
    pub fn is_busy(&self) -> bool {
        self.state != State::Idle
    }

    /// Credentials are with the caller, not answered yet.
    pub fn is_checking(&self) -> bool {
        self.state == State::Checking
    }

    /// Handles one `AUTHENTICATE` from `client` (its nick, or `*`),
    /// writing replies from `server` into `out`.
    pub fn handle(
        &mut self,
        msg: &Message<'_>,
        server: &str,
        client: &str,
        out: &mut BytesMut,
    ) -> SaslStep {
        let reply = |out: &mut BytesMut, numeric: crate::Numeric, params: &[&str]| {
            let _ = numeric.write_default(out, &[], server, client, params);
        };
        let Some(param) = msg.param(0).filter(|p| !p.is_empty()) else {
            reply(out, ERR_NEEDMOREPARAMS, &["AUTHENTICATE"]);
            return SaslStep::Continue;
        };
        if self.done {
            reply(out, ERR_SASLALREADY, &[]);
            return SaslStep::Continue;
        }
        match std::mem::take(&mut self.state) {
            // The caller has the credentials: nothing can change them now,
            // not even an abort (the answer comes all the same).
            State::Checking => self.state = State::Checking,
            State::Idle if param == "*" => reply(out, ERR_SASLABORTED, &[]),
            State::Idle if param.eq_ignore_ascii_case("PLAIN") => {
                self.state = State::Receiving(String::new());
                let _ = write(out, &[], None, "AUTHENTICATE", &["+"]);
            }
            State::Idle => {
                reply(out, RPL_SASLMECHS, &[MECHANISMS]);
                reply(out, ERR_SASLFAIL, &[]);
            }
            State::Receiving(_) if param == "*" => reply(out, ERR_SASLABORTED, &[]),
            State::Receiving(_) if param.len() > CHUNK_BYTES => reply(out, ERR_SASLTOOLONG, &[]),
            State::Receiving(mut payload) => {
                if param != "+" {
                    payload.push_str(param);
                }
                if payload.len() > MAX_PAYLOAD_BYTES {
                    reply(out, ERR_SASLTOOLONG, &[]);
                } else if param.len() == CHUNK_BYTES {
                    self.state = State::Receiving(payload);
                } else if let Some(credentials) = decode_plain(&payload) {
                    self.state = State::Checking;
                    return SaslStep::Plain(credentials);
                } else {
                    reply(out, ERR_SASLFAIL, &[]);
                }
            }
        }
        SaslStep::Continue
    }

    /// The credentials were right: `client` (its nick, or `*`) is logged in
    /// to `account`; `mask` is its `nick!user@host`. Writes 900 and 903.
    pub fn succeeded(
        &mut self,
        out: &mut BytesMut,
        server: &str,
        (client, mask): (&str, &str),
        account: &str,
    ) {
        self.state = State::Idle;
        self.done = true;
        let text = format!("You are now logged in as {account}");
        let _ = RPL_LOGGEDIN.write(out, &[], server, client, &[mask, account, &text]);
        let _ = RPL_SASLSUCCESS.write_default(out, &[], server, client, &[]);
    }

    /// The credentials were wrong, or the login was refused: writes 904.
    pub fn failed(&mut self, out: &mut BytesMut, server: &str, client: &str) {
        self.state = State::Idle;
        let _ = ERR_SASLFAIL.write_default(out, &[], server, client, &[]);
    }
}

/// `authzid NUL authcid NUL password`, base64-encoded; `None` if it is not.
fn decode_plain(payload: &str) -> Option<PlainCredentials> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(3, '\0');
    let (authzid, authcid, password) = (parts.next()?, parts.next()?, parts.next()?);
    if password.contains('\0') {
        return None;
    }
    Some(PlainCredentials {
        authzid: authzid.to_owned(),
        authcid: authcid.to_owned(),
        password: password.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::parse;

    fn feed(sasl: &mut Sasl, lines: &[&str]) -> (String, Option<PlainCredentials>) {
        let mut out = BytesMut::new();
        let mut found = None;
        for line in lines {
            let msg = parse(line).unwrap_or_else(|e| panic!("{line}: {e:?}"));
            if let SaslStep::Plain(credentials) = sasl.handle(&msg, "srv", "*", &mut out) {
                found = Some(credentials);
            }
        }
        (String::from_utf8_lossy(&out).into_owned(), found)
    }

    fn encoded(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    #[test]
    fn plain_credentials_come_out_whole_and_the_password_is_never_shown() {
        let mut sasl = Sasl::default();
        let payload = format!("AUTHENTICATE {}", encoded("\0alice\0sekrit-pw"));
        let (out, found) = feed(&mut sasl, &["AUTHENTICATE PLAIN", &payload]);
        assert_eq!(out, "AUTHENTICATE +\r\n");
        let mut half = Sasl::default();
        let (_, _) = feed(&mut half, &["AUTHENTICATE PLAIN"]);
        let chunk = format!("AUTHENTICATE {}", "QUFB".repeat(100));
        let (_, _) = feed(&mut half, &[&chunk]);
        assert!(!format!("{half:?}").contains("QUFB"), "{half:?}");
        let found = found.unwrap_or_else(|| panic!("no credentials"));
        assert_eq!(found.account(), Some("alice"));
        assert_eq!(found.password, "sekrit-pw");
        assert!(!format!("{found:?}").contains("sekrit"));
        assert!(sasl.is_checking());
        let mut out = BytesMut::new();
        sasl.succeeded(&mut out, "srv", ("alice", "alice!u@srv"), "alice");
        assert_eq!(
            String::from_utf8_lossy(&out),
            ":srv 900 alice alice!u@srv alice :You are now logged in as alice\r\n\
             :srv 903 alice :SASL authentication successful\r\n"
        );
        let (out, _) = feed(&mut sasl, &["AUTHENTICATE PLAIN"]);
        assert_eq!(
            out,
            ":srv 907 * :You have already authenticated using SASL\r\n"
        );
    }

    #[test]
    fn a_payload_of_whole_chunks_ends_with_a_plus() {
        let password = "p".repeat(CHUNK_BYTES * 3 / 4 - "\0bob\0".len());
        let payload = encoded(&format!("\0bob\0{password}"));
        assert_eq!(payload.len(), CHUNK_BYTES);
        let mut sasl = Sasl::default();
        let first = format!("AUTHENTICATE {payload}");
        let (_, found) = feed(&mut sasl, &["AUTHENTICATE PLAIN", &first]);
        assert_eq!(found, None);
        let (_, found) = feed(&mut sasl, &["AUTHENTICATE +"]);
        assert_eq!(found.map(|c| c.password), Some(password));
    }

    #[test]
    fn other_mechanisms_aborts_garbage_and_floods_are_answered_as_the_spec_says() {
        let mut sasl = Sasl::default();
        let (out, _) = feed(&mut sasl, &["AUTHENTICATE EXTERNAL"]);
        assert_eq!(
            out,
            ":srv 908 * PLAIN :are available SASL mechanisms\r\n\
             :srv 904 * :SASL authentication failed\r\n"
        );
        let (out, _) = feed(&mut sasl, &["AUTHENTICATE PLAIN", "AUTHENTICATE *"]);
        assert!(out.ends_with(":srv 906 * :SASL authentication aborted\r\n"));
        assert!(!sasl.is_busy());
        let (out, _) = feed(&mut sasl, &["AUTHENTICATE PLAIN", "AUTHENTICATE !!!!"]);
        assert!(out.ends_with(":srv 904 * :SASL authentication failed\r\n"));
        let chunk = format!("AUTHENTICATE {}", "A".repeat(CHUNK_BYTES));
        let mut lines = vec!["AUTHENTICATE PLAIN"];
        lines.extend(std::iter::repeat_n(chunk.as_str(), 5));
        let (out, _) = feed(&mut sasl, &lines);
        assert!(out.ends_with(":srv 905 * :SASL message too long\r\n"));
        assert!(!sasl.is_busy());
    }

    #[test]
    fn nobody_logs_in_as_someone_else() {
        let other = PlainCredentials {
            authzid: "root".into(),
            authcid: "alice".into(),
            password: "x".into(),
        };
        assert_eq!(other.account(), None);
    }
}
