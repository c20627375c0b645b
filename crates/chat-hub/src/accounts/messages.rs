//! What goes between the hub and the account store (chat-server's account
//! thread): an [`AccountTask`] out through `Outbox::accounts`, an
//! [`AccountReply`] back through `Hub::account_reply`. The store hashes and
//! checks passwords (argon2, slow on purpose) and keeps the accounts; the
//! hub never waits for it.

use crate::{ClientId, Now};

/// A password on its way to be hashed or checked. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Hours a login token from `/token` is good for.
pub const LOGIN_TOKEN_HOURS: u32 = 12;

/// Who asked: a client, or the operator at the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Asker {
    Client(ClientId),
    Console,
}

/// What the hub asks of the account store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountRequest {
    /// Is `password` account `name`'s? (An unknown name is checked against
    /// a dummy hash, so the answer takes as long.)
    Login {
        name: String,
        password: Secret,
    },
    /// A new account `name` with `password`, unless the name is taken.
    Register {
        name: String,
        password: Secret,
    },
    /// `old` checked, then `new` set.
    SetPassword {
        name: String,
        old: Secret,
        new: Secret,
    },
    /// A fresh login token for account `name` (its holder is logged in).
    IssueToken {
        name: String,
    },
    /// Is `token` one the store issued to account `name`, and not expired?
    /// No argon2: that is what a token is for.
    TokenLogin {
        name: String,
        token: Secret,
    },
    /// `token` of account `name` is good no more (its connection logged
    /// out). Nobody waits for the answer.
    RevokeToken {
        name: String,
        token: Secret,
    },
    List,
    Lock(String),
    Unlock(String),
    Delete(String),
    /// An operator's new account; without a password the store makes one
    /// up and it is shown once.
    Create {
        name: String,
        password: Option<Secret>,
    },
    /// Account `name` logged in: the messages that waited for it (which
    /// wait no more) and its read markers.
    Return {
        name: String,
    },
}

/// A request with who asked and its token (which pairs the reply with the
/// request still in flight).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountTask {
    pub asker: Asker,
    pub token: u64,
    pub request: AccountRequest,
}

/// One account, as `/account list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    pub name: String,
    pub locked: bool,
    /// Unix milliseconds.
    pub created_ms: i64,
}

/// What the store found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountOutcome {
    /// The password is right; `name` as the account spells it.
    LoggedIn {
        name: String,
    },
    /// No such account, or the wrong password: one answer for both.
    WrongLogin,
    /// The password is right, but the account is locked.
    Locked {
        name: String,
    },
    /// Made (by `Register` or `Create`; `password` is the one the store
    /// made up, to show once).
    Created {
        name: String,
        password: Option<Secret>,
    },
    /// `Register` or `Create` of a name that is an account already.
    Exists {
        name: String,
    },
    PasswordSet,
    /// A login token, good for `valid_hours`.
    TokenIssued {
        token: Secret,
        valid_hours: u32,
    },
    /// The token is forgotten (or was never known).
    TokenRevoked,
    Listed(Vec<AccountSummary>),
    /// `Lock`, `Unlock`: the account's new state.
    LockSet {
        name: String,
        locked: bool,
    },
    Deleted {
        name: String,
    },
    /// `Lock`, `Unlock`, `Delete` of a name that is no account.
    NoSuchAccount {
        name: String,
    },
    /// What waited for an account that logged in ([`AccountRequest::Return`]).
    Returned {
        mail: Vec<Mail>,
        markers: Vec<Marker>,
    },
    /// The store failed (its file, Redis): said in its words.
    Failed(String),
}

/// A private message kept for an account that was away, until one of its
/// connections logs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The account it is for, as a nick key (lower case).
    pub to: String,
    pub from: String,
    pub text: String,
    /// When it was sent, with the server's UTC offset then.
    pub time: Now,
}

/// Where an account stopped reading a room: every line up to `through`
/// (an id) is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// The account, as a nick key.
    pub account: String,
    /// The room's key, or a private conversation's (`@alice@bob`).
    pub target: String,
    pub through: u64,
    /// When the line `through` was said (or, from IRC's `MARKREAD`, the
    /// time the client read up to), Unix milliseconds; 0 when unknown (a
    /// marker kept before times were). IRC clients are told markers as
    /// times, so it is kept beside the id.
    pub ms: i64,
}

/// What the hub asks the account store to keep (it answers nothing: the
/// hub already acts on it; the store makes it last, and shares it with the
/// other nodes of a cluster).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountRecord {
    /// Kept until the account logs in ([`AccountRequest::Return`]).
    Mail(Mail),
    Marker(Marker),
}

/// The answer to an [`AccountTask`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountReply {
    pub asker: Asker,
    pub token: u64,
    pub outcome: AccountOutcome,
}

impl AccountTask {
    /// Its answer, with `outcome`.
    pub fn reply(&self, outcome: AccountOutcome) -> AccountReply {
        AccountReply {
            asker: self.asker,
            token: self.token,
            outcome,
        }
    }
}
