//! Accounts: names people own. Who is logged in to which account (each
//! account on up to `max_connections_per_account` connections, its
//! devices), which nicks accounts own, and the requests to the account
//! store in flight.
//!
//! The store (chat-server's account thread) keeps the accounts and runs
//! argon2, which is slow on purpose, off the reactor's thread: a request
//! goes out as an [`AccountTask`] and its [`AccountReply`] comes back later,
//! paired by a token, so a reply for a client that left (or for a newer
//! connection with the same id) changes nothing. One request per connection
//! is in flight at a time; logins in flight count against the address's
//! failed-login limit, as `/oper`'s do, and failed logins to one account
//! from anywhere cool that account down.
//!
//! The machine decides; the hub acts on what it returns ([`Effect`]):
//! renames, notices and refusals are the hub's (`hub/accounts.rs`).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use chat_proto::{NameError, Refusal, nick_key, validate_nick};

use crate::admission::{Admission, MAX_FAILURES, address_key};
use crate::{ClientId, Now};

mod messages;
mod settings;

pub use messages::{
    AccountOutcome, AccountRecord, AccountReply, AccountRequest, AccountSummary, AccountTask,
    Asker, LOGIN_TOKEN_HOURS, Mail, Marker, Secret,
};
pub use settings::{AccountSettings, RegistrationPolicy};

/// A password's length, in bytes.
pub const PASSWORD_BYTES: std::ops::RangeInclusive<usize> = 8..=256;

/// Accounts one address may register in [`REGISTRATION_WINDOW`].
const REGISTRATIONS_PER_ADDRESS: usize = 3;
/// Seconds.
const REGISTRATION_WINDOW: i64 = 3600;
/// Failed logins to one account, from anywhere, before it cools down for
/// [`ACCOUNT_COOLDOWN`] seconds.
const ACCOUNT_FAILURES: u32 = 10;
const ACCOUNT_COOLDOWN: i64 = 300;

/// An account the hub knows of.
#[derive(Debug, Clone)]
struct Known {
    name: String,
    locked: bool,
}

/// What a request in flight was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Login,
    /// What waited for an account that just logged in.
    Return,
    Token,
    Register,
    SetPassword,
    Admin,
}

#[derive(Debug)]
struct Pending {
    token: u64,
    purpose: Purpose,
    /// The address asking (none for the console).
    peer: Option<SocketAddr>,
    /// The account name asked about, as a key.
    key: String,
    /// The login token a `TokenLogin` offers: kept if it logs in, so that
    /// `/logout` on this connection can revoke it.
    offered: Option<Secret>,
}

/// Why an account request is refused, owning the names it gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    Exists(String),
    Locked(String),
    LoggedInAs(String),
    InvalidName(String, NameError),
    Because(Refusal<'static>),
}

impl Refused {
    pub(crate) fn refusal(&self) -> Refusal<'_> {
        match self {
            Refused::Exists(name) => Refusal::AccountExists { name },
            Refused::Locked(name) => Refusal::AccountLocked { name },
            Refused::LoggedInAs(account) => Refusal::LoggedInAs { account },
            Refused::InvalidName(nick, why) => Refusal::NickInvalid { nick, why: *why },
            Refused::Because(refusal) => refusal.clone(),
        }
    }
}

impl From<Refusal<'static>> for Refused {
    fn from(refusal: Refusal<'static>) -> Refused {
        Refused::Because(refusal)
    }
}

/// What the hub is to do after a reply.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Nothing: the reply answered nothing in flight.
    None,
    /// `client` is logged in to `name` now (after a login or its own
    /// registration): it takes the nick.
    LoggedIn { client: ClientId, name: String },
    /// What waited for `client`'s account, which it just logged in to.
    Returned {
        client: ClientId,
        mail: Vec<Mail>,
        markers: Vec<Marker>,
    },
    /// Mail taken for a connection that is no longer logged in: to keep
    /// again.
    Unclaimed(Vec<Mail>),
    /// Give `client` its login token.
    Token {
        client: ClientId,
        token: Secret,
        valid_hours: u32,
    },
    /// Tell the asker no.
    Refuse(Asker, Refused),
    /// Tell the asker this.
    Tell(Asker, Vec<String>),
    /// These connections were logged out of `name` (locked or deleted).
    LoggedOut {
        asker: Asker,
        said: String,
        clients: Vec<ClientId>,
        /// The account is gone (its key): what waited for it goes too.
        deleted: Option<String>,
    },
}

/// Accounts, sessions and requests in flight.
#[derive(Debug, Default)]
pub(crate) struct Accounts {
    /// Account names (as nick keys) and their state.
    known: HashMap<String, Known>,
    /// Each logged-in connection's account key.
    sessions: HashMap<ClientId, String>,
    /// Each account's logged-in connections, oldest first.
    devices: HashMap<String, Vec<ClientId>>,
    /// The login tokens each logged-in connection was given or logged in
    /// with, revoked when it logs out (only then: a connection that drops
    /// leaves its tokens good, for the reconnect they are for).
    tokens: HashMap<ClientId, Vec<Secret>>,
    pending: HashMap<Asker, Pending>,
    /// What waited for a client that just logged in, asked for on its
    /// behalf: apart from `pending`, so the client's own requests need not
    /// wait for it.
    returning: HashMap<ClientId, u64>,
    next_token: u64,
    /// Failed logins per account key: count and the window's start.
    failures: HashMap<String, (u32, i64)>,
    /// Registrations per address: when each was made.
    registered_from: HashMap<IpAddr, Vec<i64>>,
    /// The store is there (without it every request is refused).
    store: bool,
}

impl Accounts {
    /// The account store is there, and these accounts exist.
    pub(crate) fn load(&mut self, accounts: Vec<AccountSummary>) {
        self.store = true;
        self.known = accounts
            .into_iter()
            .map(|a| {
                let known = Known {
                    name: a.name,
                    locked: a.locked,
                };
                (nick_key(&known.name), known)
            })
            .collect();
    }

    /// Whether an account store is there (accounts can be used at all).
    pub(crate) fn is_on(&self) -> bool {
        self.store
    }

    /// The account called `name`: as it spells itself, whether it is
    /// locked, and on how many connections it is logged in.
    pub(crate) fn info(&self, name: &str) -> Option<(&str, bool, usize)> {
        let key = nick_key(name);
        let known = self.known.get(&key)?;
        let devices = self.devices.get(&key).map_or(0, Vec::len);
        Some((known.name.as_str(), known.locked, devices))
    }

    /// The account `id` is logged in to, as the account spells it.
    pub(crate) fn account_of(&self, id: ClientId) -> Option<&str> {
        let key = self.sessions.get(&id)?;
        self.known.get(key).map(|known| known.name.as_str())
    }

    /// The account `asker` is logged in to (the console: none).
    fn logged_in_as(&self, asker: Asker) -> Option<&str> {
        match asker {
            Asker::Client(id) => self.account_of(id),
            Asker::Console => None,
        }
    }

    /// The connections logged in to account `key` (a nick key).
    pub(crate) fn devices_of(&self, key: &str) -> &[ClientId] {
        self.devices.get(key).map_or(&[], Vec::as_slice)
    }

    /// The account called `nick` (any case), as it spells itself.
    pub(crate) fn name_of(&self, nick: &str) -> Option<&str> {
        crate::keys::lowered(nick, |key| self.known.get(key).map(|k| k.name.as_str()))
    }

    /// Is `nick` an account's name?
    pub(crate) fn is_account(&self, nick: &str) -> bool {
        crate::keys::lowered(nick, |key| self.known.contains_key(key))
    }

    /// Whether `id` may use `nick`: not if an account owns it and `id` is
    /// not logged in to that account (with enforcement on).
    pub(crate) fn may_use_nick(
        &self,
        settings: &AccountSettings,
        id: ClientId,
        nick: &str,
    ) -> bool {
        if !settings.nick_enforcement || !self.is_account(nick) {
            return true;
        }
        let key = nick_key(nick);
        self.sessions.get(&id) == Some(&key)
    }

    /// `id` asks for `request`: the task to hand to the store, or why not.
    /// `peer` is its address; `admission` holds the failed logins per
    /// address.
    pub(crate) fn begin(
        &mut self,
        settings: &AccountSettings,
        admission: &mut Admission,
        asker: Asker,
        peer: Option<SocketAddr>,
        request: AccountRequest,
        now: Now,
    ) -> Result<AccountTask, Refused> {
        if !self.store {
            return Err(Refusal::AccountsUnavailable.into());
        }
        if let (AccountRequest::Return { .. }, Asker::Client(client)) = (&request, asker) {
            self.next_token = self.next_token.wrapping_add(1);
            let token = self.next_token;
            self.returning.insert(client, token);
            return Ok(AccountTask {
                asker,
                token,
                request,
            });
        }
        if self.pending.contains_key(&asker) {
            return Err(Refusal::AccountCheckPending.into());
        }
        let second = now.timestamp();
        let mut offered = None;
        let (purpose, key) = match &request {
            AccountRequest::TokenLogin { name, token } => {
                // Counted as a password login is: a guessed token is a
                // failure, for the address and for the account.
                self.check_login(admission, asker, peer, second)?;
                if self.cooling_down(&nick_key(name), second) {
                    return Err(Refusal::AccountCoolingDown.into());
                }
                offered = Some(token.clone());
                (Purpose::Login, nick_key(name))
            }
            AccountRequest::IssueToken { name } => (Purpose::Token, nick_key(name)),
            // Revoking is told, not asked: `revoke_tokens` sends it.
            AccountRequest::RevokeToken { .. } => return Err(Refusal::NotLoggedIn.into()),
            AccountRequest::Login { name, password } => {
                self.check_login(admission, asker, peer, second)?;
                check_length(password)?;
                if self.cooling_down(&nick_key(name), second) {
                    return Err(Refusal::AccountCoolingDown.into());
                }
                (Purpose::Login, nick_key(name))
            }
            AccountRequest::Register { name, password } => {
                self.check_registration(settings, asker, peer, name, second)?;
                check_length(password)?;
                (Purpose::Register, nick_key(name))
            }
            AccountRequest::SetPassword { name, new, .. } => {
                self.check_login(admission, asker, peer, second)?;
                check_length(new)?;
                (Purpose::SetPassword, nick_key(name))
            }
            AccountRequest::Create { name, password } => {
                if let Some(password) = password {
                    check_length(password)?;
                }
                if let Err(why) = validate_nick(name) {
                    return Err(Refused::InvalidName(name.clone(), why));
                }
                if self.is_account(name) {
                    return Err(Refused::Exists(name.clone()));
                }
                (Purpose::Admin, nick_key(name))
            }
            AccountRequest::List => (Purpose::Admin, String::new()),
            AccountRequest::Return { name } => (Purpose::Return, nick_key(name)),
            AccountRequest::Lock(name)
            | AccountRequest::Unlock(name)
            | AccountRequest::Delete(name) => (Purpose::Admin, nick_key(name)),
        };
        // Never 0: that is the token of a revocation, which nobody awaits.
        self.next_token = self.next_token.wrapping_add(1).max(1);
        let token = self.next_token;
        let pending = Pending {
            token,
            purpose,
            peer,
            key,
            offered,
        };
        self.pending.insert(asker, pending);
        Ok(AccountTask {
            asker,
            token,
            request,
        })
    }

    /// The store could not take `task` (its queue is full): it is no
    /// longer in flight.
    pub(crate) fn not_taken(&mut self, task: &AccountTask) {
        match (&task.request, task.asker) {
            (AccountRequest::Return { .. }, Asker::Client(client)) => {
                self.returning.remove(&client);
            }
            _ => {
                self.pending.remove(&task.asker);
            }
        }
    }

    /// A login or password check may start: the address has failures to
    /// spare, counting the checks it has in flight.
    fn check_login(
        &self,
        admission: &mut Admission,
        asker: Asker,
        peer: Option<SocketAddr>,
        second: i64,
    ) -> Result<(), Refused> {
        let (Asker::Client(_), Some(peer)) = (asker, peer) else {
            return Ok(());
        };
        let key = address_key(peer.ip());
        let in_flight = self
            .pending
            .values()
            .filter(|p| p.peer.is_some_and(|other| address_key(other.ip()) == key))
            .count();
        let in_flight = u32::try_from(in_flight).unwrap_or(u32::MAX);
        let failures = admission.failures(peer.ip(), second);
        if failures.saturating_add(in_flight) >= MAX_FAILURES {
            return Err(Refusal::TooManyFailures.into());
        }
        Ok(())
    }

    fn check_registration(
        &mut self,
        settings: &AccountSettings,
        asker: Asker,
        peer: Option<SocketAddr>,
        name: &str,
        second: i64,
    ) -> Result<(), Refused> {
        match settings.registration {
            RegistrationPolicy::Open => {}
            RegistrationPolicy::Operators => return Err(Refusal::RegistrationByOperators.into()),
            RegistrationPolicy::Closed => return Err(Refusal::RegistrationClosed.into()),
        }
        if let Some(account) = self.logged_in_as(asker) {
            return Err(Refused::LoggedInAs(account.to_owned()));
        }
        if self.is_account(name) {
            return Err(Refused::Exists(name.to_owned()));
        }
        if let Some(peer) = peer {
            let made = self
                .registered_from
                .entry(address_key(peer.ip()))
                .or_default();
            made.retain(|&at| second.saturating_sub(at) < REGISTRATION_WINDOW);
            if made.len() >= REGISTRATIONS_PER_ADDRESS {
                return Err(Refusal::TooManyRegistrations.into());
            }
        }
        Ok(())
    }

    fn cooling_down(&mut self, key: &str, second: i64) -> bool {
        match self.failures.get(key) {
            Some(&(count, since)) if second.saturating_sub(since) < ACCOUNT_COOLDOWN => {
                count >= ACCOUNT_FAILURES
            }
            Some(_) => {
                self.failures.remove(key);
                false
            }
            None => false,
        }
    }

    fn record_account_failure(&mut self, key: &str, second: i64) {
        let entry = self.failures.entry(key.to_owned()).or_insert((0, second));
        if second.saturating_sub(entry.1) >= ACCOUNT_COOLDOWN {
            *entry = (0, second);
        }
        entry.0 = entry.0.saturating_add(1);
    }

    /// The store answered: what the hub is to do.
    pub(crate) fn reply(
        &mut self,
        settings: &AccountSettings,
        admission: &mut Admission,
        reply: AccountReply,
        now: Now,
    ) -> Effect {
        let AccountReply {
            asker,
            token,
            outcome,
        } = reply;
        if let (AccountOutcome::Returned { .. }, Asker::Client(client)) = (&outcome, asker) {
            return self.returned(client, token, outcome);
        }
        if self.pending.get(&asker).is_none_or(|p| p.token != token) {
            return Effect::None;
        }
        let Some(pending) = self.pending.remove(&asker) else {
            return Effect::None;
        };
        let second = now.timestamp();
        match outcome {
            AccountOutcome::LoggedIn { name } => {
                let Asker::Client(client) = asker else {
                    return Effect::None;
                };
                self.known.entry(nick_key(&name)).or_insert(Known {
                    name: name.clone(),
                    locked: false,
                });
                let devices = self.devices.get(&nick_key(&name)).map_or(0, Vec::len);
                if devices >= settings.max_connections_per_account {
                    let max = settings.max_connections_per_account;
                    return Effect::Refuse(asker, Refusal::TooManyDevices { max }.into());
                }
                self.failures.remove(&pending.key);
                self.log_in(client, &name);
                if let Some(token) = pending.offered {
                    self.tokens.entry(client).or_default().push(token);
                }
                Effect::LoggedIn { client, name }
            }
            AccountOutcome::WrongLogin => {
                if let Some(peer) = pending.peer {
                    admission.record_failure(peer.ip(), second);
                }
                self.record_account_failure(&pending.key, second);
                Effect::Refuse(asker, Refusal::WrongLogin.into())
            }
            AccountOutcome::Locked { name } => Effect::Refuse(asker, Refused::Locked(name)),
            AccountOutcome::TokenIssued { token, valid_hours } => {
                let Asker::Client(client) = asker else {
                    return Effect::None;
                };
                // Logged out (or in elsewhere) while the token was made:
                // the store keeps it until it expires, but nobody has it.
                if self.sessions.get(&client) != Some(&pending.key) {
                    return Effect::None;
                }
                self.tokens.entry(client).or_default().push(token.clone());
                Effect::Token {
                    client,
                    token,
                    valid_hours,
                }
            }
            AccountOutcome::TokenRevoked => Effect::None,
            AccountOutcome::PasswordSet => {
                Effect::Tell(asker, vec!["your password is changed".into()])
            }
            AccountOutcome::Created { name, password } => {
                self.known.insert(
                    nick_key(&name),
                    Known {
                        name: name.clone(),
                        locked: false,
                    },
                );
                match (asker, pending.purpose) {
                    (Asker::Client(client), Purpose::Register) => {
                        if let Some(peer) = pending.peer {
                            let made = self
                                .registered_from
                                .entry(address_key(peer.ip()))
                                .or_default();
                            made.push(second);
                        }
                        self.log_in(client, &name);
                        Effect::LoggedIn { client, name }
                    }
                    _ => {
                        let mut lines = vec![format!("account {name} created")];
                        if let Some(password) = password {
                            lines.push(format!("its password (shown once): {}", password.expose()));
                        }
                        Effect::Tell(asker, lines)
                    }
                }
            }
            AccountOutcome::Exists { name } => Effect::Refuse(asker, Refused::Exists(name)),
            AccountOutcome::Listed(accounts) => Effect::Tell(asker, list_lines(&accounts)),
            AccountOutcome::LockSet { name, locked } => {
                let key = nick_key(&name);
                if let Some(known) = self.known.get_mut(&key) {
                    known.locked = locked;
                }
                if !locked {
                    return Effect::Tell(asker, vec![format!("account {name} unlocked")]);
                }
                let clients = self.log_out_all(&key);
                let said = format!("account {name} locked");
                Effect::LoggedOut {
                    asker,
                    said,
                    clients,
                    deleted: None,
                }
            }
            AccountOutcome::Deleted { name } => {
                let key = nick_key(&name);
                let clients = self.log_out_all(&key);
                self.known.remove(&key);
                let said = format!("account {name} deleted");
                Effect::LoggedOut {
                    asker,
                    said,
                    clients,
                    deleted: Some(key),
                }
            }
            // Answered by `returned`, never pending.
            AccountOutcome::Returned { .. } => Effect::None,
            AccountOutcome::NoSuchAccount { name } => {
                Effect::Tell(asker, vec![format!("no account {name}")])
            }
            AccountOutcome::Failed(why) => Effect::Tell(asker, vec![format!("accounts: {why}")]),
        }
    }

    /// What waited for `client`'s account, asked for when it logged in.
    fn returned(&mut self, client: ClientId, token: u64, outcome: AccountOutcome) -> Effect {
        let AccountOutcome::Returned { mail, markers } = outcome else {
            return Effect::None;
        };
        if self.returning.get(&client) != Some(&token) {
            return Effect::Unclaimed(mail);
        }
        self.returning.remove(&client);
        if !self.sessions.contains_key(&client) {
            // Logged out (or gone) meanwhile: what waited waits for the
            // next login.
            return Effect::Unclaimed(mail);
        }
        Effect::Returned {
            client,
            mail,
            markers,
        }
    }

    fn log_in(&mut self, client: ClientId, name: &str) {
        let key = nick_key(name);
        self.log_out(client);
        self.tokens.remove(&client);
        self.devices.entry(key.clone()).or_default().push(client);
        self.sessions.insert(client, key);
    }

    /// `client` is no longer logged in (`/logout`, or it left); the account
    /// it was logged in to, if any.
    pub(crate) fn log_out(&mut self, client: ClientId) -> Option<String> {
        let key = self.sessions.remove(&client)?;
        if let Some(devices) = self.devices.get_mut(&key) {
            devices.retain(|&device| device != client);
            if devices.is_empty() {
                self.devices.remove(&key);
            }
        }
        Some(key)
    }

    fn log_out_all(&mut self, key: &str) -> Vec<ClientId> {
        let clients = self.devices.remove(key).unwrap_or_default();
        for client in &clients {
            self.sessions.remove(client);
        }
        clients
    }

    /// `id` left: a reply for it changes nothing, and it is logged out.
    /// Its tokens stay good: they are for its reconnect.
    pub(crate) fn forget(&mut self, id: ClientId) {
        self.pending.remove(&Asker::Client(id));
        self.returning.remove(&id);
        self.tokens.remove(&id);
        self.log_out(id);
    }

    /// `id` logged out of account `key`: the store is to forget the tokens
    /// it was given or logged in with. Told, not asked: no request is put
    /// in flight, and the answer pairs with nothing (token 0 is never
    /// handed out while a request is in flight).
    pub(crate) fn revoke_tokens(&mut self, id: ClientId, key: &str) -> Vec<AccountTask> {
        let tokens = self.tokens.remove(&id).unwrap_or_default();
        tokens
            .into_iter()
            .map(|token| AccountTask {
                asker: Asker::Client(id),
                token: 0,
                request: AccountRequest::RevokeToken {
                    name: key.to_owned(),
                    token,
                },
            })
            .collect()
    }
}

/// A password of the allowed length, or the refusal that says so.
fn check_length(password: &Secret) -> Result<(), Refused> {
    if PASSWORD_BYTES.contains(&password.expose().len()) {
        return Ok(());
    }
    let (min, max) = (*PASSWORD_BYTES.start(), *PASSWORD_BYTES.end());
    Err(Refusal::PasswordLength { min, max }.into())
}

/// `/account list`'s lines.
fn list_lines(accounts: &[AccountSummary]) -> Vec<String> {
    let mut lines = vec![format!("accounts ({}):", accounts.len())];
    for account in accounts {
        let created = chrono::DateTime::from_timestamp_millis(account.created_ms)
            .map(|at| at.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        let locked = if account.locked { " (locked)" } else { "" };
        lines.push(format!("  {}{locked} since {created}", account.name));
    }
    lines
}
