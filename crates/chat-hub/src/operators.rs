//! Operators: `[[operators]]` entries, each a name and an argon2 hash, and
//! the `/oper NAME PASSWORD` logins checked against them.
//!
//! An operator gains `/kick`, `/ban`, `/unban`, `/bans`, `/topic TEXT` and
//! `/motd TEXT`; the hub routes those, here is only who may.
//!
//! Argon2 is slow on purpose (tens of milliseconds), so it never runs on the
//! reactor's thread: [`Operators::start`] hands an [`OperatorCheck`] to
//! [`Outbox::verify_operator`] (chat-server's worker thread, a bounded
//! queue), and the verdict comes back later through
//! `Hub::operator_checked`. Meanwhile the client chats on; its check is
//! remembered under a token, so an answer for a client that left (or for a
//! newer connection with the same id) changes nothing.
//!
//! An unknown name is checked too, against a dummy hash with the cost of
//! the configured ones, so how long an answer takes does not tell which
//! names exist; it is never granted, whatever the verdict. Checks in flight
//! count against the address's failed-login limit (admission), so parallel
//! attempts buy no more guesses than serial ones; one client has at most
//! one in flight; and a full queue is answered "busy", counting nothing.

use std::collections::HashMap;
use std::net::SocketAddr;

use argon2::password_hash::{Output, Salt};
use argon2::{Argon2, PasswordHash, PasswordVerifier};

use chat_proto::{Body, Notice, Refusal};

use crate::admission::{Admission, MAX_FAILURES, address_key};
use crate::chat::Chat;
use crate::ctx::Ctx;
use crate::{ClientId, Now, Operator, Outbox};

/// The salt of every dummy hash (any valid salt: nothing is ever hashed
/// with it).
const DUMMY_SALT: &str = "ZHVtbXkgb3BlcmF0b3I";

/// The dummy for a server with no usable operator hash: argon2id with the
/// defaults `--hash-password` uses, and an all-zero output no password
/// hashes to. The account store checks unknown names against it too.
pub const DEFAULT_DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$ZHVtbXkgb3BlcmF0b3I$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// Does `password` match `hash` (an argon2 PHC string)? Slow by design:
/// call it off the reactor's thread (chat-server's verifier does). A hash
/// that does not parse matches nothing.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// A password to check for `/oper`, handed to [`Outbox::verify_operator`].
/// Whoever runs it sends [`OperatorCheck::verdict`] back to
/// `Hub::operator_checked` with `client`.
#[derive(Clone, PartialEq, Eq)]
pub struct OperatorCheck {
    pub client: ClientId,
    /// Names this check among the client's; the verdict carries it back.
    pub token: u64,
    /// The operator's hash, or the dummy one for an unknown name.
    pub hash: String,
    /// A secret: never printed (`Debug` leaves it out).
    pub password: String,
}

impl std::fmt::Debug for OperatorCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorCheck")
            .field("client", &self.client)
            .field("token", &self.token)
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

impl OperatorCheck {
    /// Runs the check: argon2, slow. Not on the reactor's thread.
    pub fn verdict(&self) -> OperatorVerdict {
        OperatorVerdict {
            token: self.token,
            matched: verify_password(&self.hash, &self.password),
        }
    }
}

/// What an [`OperatorCheck`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperatorVerdict {
    pub token: u64,
    /// The password matched the hash it was checked against.
    pub matched: bool,
}

/// A check in flight.
#[derive(Debug)]
struct Pending {
    token: u64,
    name: String,
    /// The name is an operator's (else the hash was the dummy).
    known: bool,
    peer: SocketAddr,
}

/// The `/oper` checks in flight, and the dummy hash.
#[derive(Debug)]
pub(crate) struct Operators {
    dummy_hash: String,
    pending: HashMap<ClientId, Pending>,
    next_token: u64,
    /// The clients logged in as operators, with the name each used.
    logged_in: HashMap<ClientId, String>,
}

impl Operators {
    pub(crate) fn new(operators: &[Operator]) -> Operators {
        Operators {
            dummy_hash: dummy_hash(operators),
            pending: HashMap::new(),
            next_token: 0,
            logged_in: HashMap::new(),
        }
    }

    /// The operators changed (a reload): unknown names are checked against
    /// a dummy made like the new hashes. Checks in flight keep their hash.
    pub(crate) fn set_list(&mut self, operators: &[Operator]) {
        self.dummy_hash = dummy_hash(operators);
    }

    /// `/oper NAME PASSWORD` (`login`) from client `id`: hands the check to
    /// `out`, or tells the client why not.
    pub(crate) fn start(
        &mut self,
        operators: &[Operator],
        chat: &mut Chat,
        admission: &mut Admission,
        ctx: &mut Ctx<'_>,
        id: ClientId,
        login: (&str, &str),
    ) {
        let Some(peer) = chat.members().client(id).map(|c| c.peer) else {
            return;
        };
        let started = self.hand_off(operators, admission, ctx, id, peer, login);
        if let Err(text) = started {
            chat.refuse(ctx.out, id, text, ctx.now);
        }
    }

    fn hand_off(
        &mut self,
        operators: &[Operator],
        admission: &mut Admission,
        ctx: &mut Ctx<'_>,
        id: ClientId,
        peer: SocketAddr,
        (name, password): (&str, &str),
    ) -> Result<(), Refusal<'static>> {
        if self.pending.contains_key(&id) {
            return Err(Refusal::OperatorCheckPending);
        }
        let key = address_key(peer.ip());
        let in_flight = self
            .pending
            .values()
            .filter(|p| address_key(p.peer.ip()) == key)
            .count();
        let in_flight = u32::try_from(in_flight).unwrap_or(u32::MAX);
        let failures = admission.failures(peer.ip(), ctx.now.timestamp());
        if failures.saturating_add(in_flight) >= MAX_FAILURES {
            return Err(Refusal::TooManyFailures);
        }
        let operator = operators.iter().find(|op| op.name == name);
        self.next_token = self.next_token.wrapping_add(1);
        let check = OperatorCheck {
            client: id,
            token: self.next_token,
            hash: operator
                .map_or(&self.dummy_hash, |op| &op.password_hash)
                .clone(),
            password: password.to_owned(),
        };
        if !ctx.out.verify_operator(check) {
            return Err(Refusal::VerifierBusy);
        }
        let pending = Pending {
            token: self.next_token,
            name: name.to_owned(),
            known: operator.is_some(),
            peer,
        };
        self.pending.insert(id, pending);
        Ok(())
    }

    /// The verdict on client `id`'s check: it is an operator now, or it is
    /// told no and the failure counts against its address. A verdict that
    /// answers no check in flight (the client left, or an older check's)
    /// changes nothing.
    pub(crate) fn checked(
        &mut self,
        chat: &mut Chat,
        admission: &mut Admission,
        out: &mut dyn Outbox,
        id: ClientId,
        verdict: OperatorVerdict,
        now: Now,
    ) {
        if self
            .pending
            .get(&id)
            .is_none_or(|p| p.token != verdict.token)
        {
            return;
        }
        let Some(Pending {
            name, known, peer, ..
        }) = self.pending.remove(&id)
        else {
            return;
        };
        if !(known && verdict.matched) {
            admission.record_failure(peer.ip(), now.timestamp());
            out.console(&format!("failed /oper {name} from {peer}"));
            return chat.refuse(out, id, Refusal::WrongOperator, now);
        }
        let nick = chat.members().nick(id).unwrap_or_default();
        out.console(&format!("{nick} ({peer}) is now operator {name}"));
        self.logged_in.insert(id, name);
        chat.send(out, id, &Body::Notice(Notice::NowOperator), now);
    }

    /// The operator name `id` logged in as with `/oper`, if it did.
    pub(crate) fn name_of(&self, id: ClientId) -> Option<&str> {
        self.logged_in.get(&id).map(String::as_str)
    }

    /// `id` left: an answer for it changes nothing, and it is no operator.
    pub(crate) fn forget(&mut self, id: ClientId) {
        self.pending.remove(&id);
        self.logged_in.remove(&id);
    }
}

/// A hash nothing matches, costing what checking the first usable
/// operator hash costs (its algorithm, version and parameters, another salt,
/// an all-zero output): an unknown name takes as long as a known one.
fn dummy_hash(operators: &[Operator]) -> String {
    operators
        .iter()
        .find_map(|op| {
            let mut hash = PasswordHash::new(&op.password_hash).ok()?;
            let length = hash.hash?.len();
            hash.salt = Some(Salt::from_b64(DUMMY_SALT).ok()?);
            hash.hash = Some(Output::new(&vec![0; length]).ok()?);
            Some(hash.to_string())
        })
        .unwrap_or_else(|| DEFAULT_DUMMY.to_owned())
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, SaltString};

    use super::*;

    fn hash(password: &str, params: argon2::Params) -> String {
        let salt = SaltString::encode_b64(b"a fixed test salt").unwrap_or_else(|e| panic!("{e}"));
        Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn cheap() -> argon2::Params {
        argon2::Params::new(8, 1, 1, None).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn only_the_right_password_verifies() {
        let hash = hash("hunter2", cheap());
        assert!(verify_password(&hash, "hunter2"));
        assert!(!verify_password(&hash, "hunter3"));
        assert!(!verify_password("not a hash", "hunter2"));
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_costs_and_matches_nothing() {
        let real = hash("hunter2", cheap());
        let operators = [Operator {
            name: "root".into(),
            password_hash: real.clone(),
        }];
        let dummy = dummy_hash(&operators);
        assert_ne!(dummy, real);
        let params = |phc: &str| phc.split('$').take(4).collect::<Vec<_>>().join("$");
        assert_eq!(params(&dummy), "$argon2id$v=19$m=8,t=1,p=1");
        assert!(PasswordHash::new(&dummy).is_ok(), "{dummy}");
        assert!(!verify_password(&dummy, "hunter2"));
        assert!(!verify_password(&dummy, ""));
        // No usable hash: the defaults of `--hash-password`.
        let broken = [Operator {
            name: "root".into(),
            password_hash: "not a hash".into(),
        }];
        assert_eq!(dummy_hash(&broken), DEFAULT_DUMMY);
        let default = hash("x", argon2::Params::default());
        assert_eq!(params(DEFAULT_DUMMY), params(&default));
        assert!(PasswordHash::new(DEFAULT_DUMMY).is_ok());
    }

    #[test]
    fn a_check_never_shows_its_password() {
        let check = OperatorCheck {
            client: ClientId(1),
            token: 7,
            hash: "$argon2id$…".into(),
            password: "hunter2".into(),
        };
        let shown = format!("{check:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("token: 7"), "{shown}");
    }
}
