//! The IRC front-end's state: connections still registering (their
//! `chat_irc::Registration`), and what an IRC client has beside its client
//! record: its capability negotiation, its user and real names, its away
//! message. What an IRC line asks is `crate::hub::irc`'s; how the chat's
//! values are written for IRC is `chat_irc::render`'s.
//!
//! An IRC connection is not a client until it registers (`NICK` and
//! `USER`, with `CAP` and `PASS` around them); then it is admitted like any
//! other, in no room: an IRC client joins the channels it wants.

use std::collections::HashMap;

use chat_irc::{Cap, CapState, Caps, Offer, Registration, Server};

use crate::{Arrival, ClientId, HubConfig};

/// The capabilities offered to IRC clients.
pub(crate) const OFFERED: Caps = Caps::EMPTY
    .with(Cap::CapNotify)
    .with(Cap::MessageTags)
    .with(Cap::ServerTime)
    .with(Cap::EchoMessage)
    .with(Cap::MultiPrefix)
    .with(Cap::Batch)
    .with(Cap::LabeledResponse)
    .with(Cap::AwayNotify)
    .with(Cap::Setname)
    .with(Cap::ExtendedJoin);

/// What an account store adds to the offer: logging in (`sasl`, whose
/// value is its mechanisms), accounts shown on lines, and registering
/// with `REGISTER`.
const WITH_ACCOUNTS: Caps = Caps::EMPTY
    .with(Cap::Sasl)
    .with(Cap::AccountTag)
    .with(Cap::AccountNotify)
    .with(Cap::AccountRegistration);

/// `draft/account-registration` has no keys here: no `before-connect`
/// (an account is made for a client, so `REGISTER` waits for the
/// connection to register), no `custom-account-name` (an account is named
/// after the nick), no `email-required` (no email is asked).
const VALUES: &[(Cap, &str)] = &[(Cap::Sasl, chat_irc::sasl::MECHANISMS)];

/// The server as the registration machine sees it; `history`: a history
/// store answers `CHATHISTORY`, so `draft/chathistory` is offered too;
/// `accounts`: an account store is there, so the account capabilities are.
pub(crate) fn server(config: &HubConfig, history: bool, accounts: bool) -> Server<'_> {
    let mut caps = OFFERED;
    if history {
        caps.insert(Cap::ChatHistory);
    }
    if accounts {
        caps = caps.union(WITH_ACCOUNTS);
    }
    // A marker is a line id, and lines have ids only with a history store.
    if accounts && history {
        caps.insert(Cap::ReadMarker);
    }
    Server {
        name: &config.server_name,
        offer: Offer {
            caps,
            values: VALUES,
        },
    }
}

/// A connection registering.
#[derive(Debug)]
pub(crate) struct Registering {
    pub(crate) registration: Registration,
    pub(crate) arrival: Arrival,
    /// Unix seconds it arrived.
    pub(crate) since: i64,
    /// Lines it sent so far: registering takes a handful, and one that
    /// sends many without registering is closed (the flood gate applies
    /// to clients only).
    pub(crate) lines: usize,
}

/// The most lines a connection may send before it registers.
pub(crate) const MAX_LINES_REGISTERING: usize = 64;

/// What a registered IRC client has beside its client record (which holds
/// its capabilities and real name, since lines are encoded with them).
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) cap: CapState,
    pub(crate) user: String,
    /// Set by `AWAY :text`; told to whoever writes to it.
    pub(crate) away: Option<String>,
    /// A SASL exchange after registration.
    pub(crate) sasl: chat_irc::Sasl,
    /// An account request in flight that IRC answers in its own words
    /// (SASL's are told by `sasl`).
    pub(crate) asked: Option<Asked>,
}

/// Who asked the account store, for an IRC client: how the answer is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Asked {
    /// `REGISTER` (`draft/account-registration`): `REGISTER SUCCESS` or
    /// `FAIL REGISTER`.
    Register,
    /// A message to NickServ: NickServ's notices.
    NickServ,
}

#[derive(Debug, Default)]
pub(crate) struct Irc {
    registering: HashMap<ClientId, Registering>,
    sessions: HashMap<ClientId, Session>,
    /// The last batch's number.
    batches: u64,
}

impl Irc {
    /// A reference for a new batch, unique on this server.
    pub(crate) fn next_batch(&mut self) -> u64 {
        self.batches += 1;
        self.batches
    }

    /// An IRC connection arrived.
    pub(crate) fn open(&mut self, id: ClientId, arrival: Arrival, now: i64) {
        let registering = Registering {
            registration: Registration::new(),
            arrival,
            since: now,
            lines: 0,
        };
        self.registering.insert(id, registering);
    }

    pub(crate) fn is_registering(&self, id: ClientId) -> bool {
        // Asked of every line: with nobody registering, no hashing.
        !self.registering.is_empty() && self.registering.contains_key(&id)
    }

    pub(crate) fn registering_mut(&mut self, id: ClientId) -> Option<&mut Registering> {
        self.registering.get_mut(&id)
    }

    /// Whether `id` (registering or not) has SASL credentials being
    /// checked: the account store's answer is told in SASL's numerics.
    pub(crate) fn is_authenticating(&self, id: ClientId) -> bool {
        if let Some(registering) = self.registering.get(&id) {
            return registering.registration.is_authenticating();
        }
        self.sessions
            .get(&id)
            .is_some_and(|session| session.sasl.is_checking())
    }

    /// `id` registered: from now on it has a session.
    pub(crate) fn registered(&mut self, id: ClientId, session: Session) {
        self.registering.remove(&id);
        self.sessions.insert(id, session);
    }

    pub(crate) fn session(&self, id: ClientId) -> Option<&Session> {
        self.sessions.get(&id)
    }

    pub(crate) fn session_mut(&mut self, id: ClientId) -> Option<&mut Session> {
        self.sessions.get_mut(&id)
    }

    /// The connection is gone.
    pub(crate) fn forget(&mut self, id: ClientId) {
        self.registering.remove(&id);
        self.sessions.remove(&id);
    }

    /// Connections that have been registering for `timeout` seconds or more
    /// at `now`.
    pub(crate) fn overdue(&self, now: i64, timeout: u64) -> Vec<ClientId> {
        let timeout = i64::try_from(timeout).unwrap_or(i64::MAX);
        self.registering
            .iter()
            .filter(|(_, registering)| now.saturating_sub(registering.since) >= timeout)
            .map(|(&id, _)| id)
            .collect()
    }
}
