//! The account store: one thread that keeps the accounts ([`book`]) and
//! runs argon2 for them, so a login (tens of milliseconds of hashing, on
//! purpose) never stalls the reactor and with it everyone's chat.
//!
//! The hub hands over [`AccountTask`]s through `Outbox::accounts` (a
//! `try_send` on a bounded channel: never blocks; a full queue is the hub's
//! "busy" answer). The thread runs them one at a time, which also bounds
//! the rate of password checks, and sends each [`AccountReply`] back
//! through a channel and the reactor's waker; `Server::woken` gives it to
//! `Hub::account_reply`.
//!
//! A login to a name that is no account is checked against a dummy hash
//! with the real ones' cost, so the answer takes as long and says the same
//! ("wrong account name or password").
//!
//! What the hub keeps for accounts (messages that wait, read markers) goes
//! to a second thread ([`records`]), so it never queues behind a login's
//! hashing.

pub mod book;
pub mod records;
pub mod tokens;

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
use chat_hub::{
    AccountOutcome, AccountReply, AccountRequest, AccountSummary, AccountTask, LOGIN_TOKEN_HOURS,
    Secret, verify_password,
};

use book::{AccountBook, Record};
use tokens::Tokens;

/// How often a shared book's list of accounts is read again, so that an
/// account made on another node owns its nick here too.
const REFRESH: Duration = Duration::from_secs(2);

/// What the account thread hands the reactor.
#[derive(Debug)]
pub enum AccountEvent {
    /// The answer to a task: for `Hub::account_reply`.
    Reply(AccountReply),
    /// The accounts now (a shared book, read again): for `Hub::use_accounts`.
    Known(Vec<AccountSummary>),
}

/// Tasks waiting for the thread; past this the hub answers "busy". Room
/// for a few hundred people logging in at once (each a few small strings),
/// since the argon2 thread, not this queue, paces them.
pub const QUEUE: usize = 512;

/// The reactor's ends of the account thread.
pub struct AccountLink {
    pub tasks: SyncSender<AccountTask>,
    pub events: Receiver<AccountEvent>,
}

/// Starts the account thread over `book`; `wake` wakes the reactor after
/// each event. It runs until the reactor's ends are dropped.
pub fn spawn(
    book: Box<dyn AccountBook>,
    wake: Arc<dyn Fn() + Send + Sync>,
) -> std::io::Result<AccountLink> {
    let (tasks, tasks_rx) = sync_channel::<AccountTask>(QUEUE);
    let (events_tx, events) = sync_channel(QUEUE);
    std::thread::Builder::new()
        .name("accounts".into())
        .spawn(move || {
            crate::background::lower_priority();
            let shared = book.is_shared();
            let mut keeper = Keeper::new(book);
            loop {
                let event = match tasks_rx.recv_timeout(REFRESH) {
                    Ok(task) => AccountEvent::Reply(task.reply(keeper.run(&task.request))),
                    Err(RecvTimeoutError::Timeout) if shared => match keeper.book.list() {
                        Ok(accounts) => AccountEvent::Known(accounts),
                        Err(_) => continue, // said by the next request's answer
                    },
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return,
                };
                if events_tx.send(event).is_err() {
                    return;
                }
                wake();
            }
        })?;
    Ok(AccountLink { tasks, events })
}

/// `password`'s argon2id hash, in PHC form, with a fresh salt.
pub fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Account `name` with `password`, made now.
pub fn new_record(name: &str, password: &str) -> Result<Record, String> {
    Ok(Record {
        name: name.to_owned(),
        password_hash: hash(password)?,
        locked: false,
        created_ms: chrono::Utc::now().timestamp_millis(),
    })
}

/// The book, the dummy hash and the login tokens, on the account thread.
struct Keeper {
    book: Box<dyn AccountBook>,
    dummy_hash: String,
    tokens: Tokens,
}

impl Keeper {
    fn new(book: Box<dyn AccountBook>) -> Keeper {
        // Made like `hash`'s (argon2id, default cost), matched by nothing,
        // and known without hashing: a start costs no argon2 memory.
        let dummy_hash = chat_hub::DEFAULT_DUMMY.to_owned();
        Keeper {
            book,
            dummy_hash,
            tokens: Tokens::default(),
        }
    }

    fn run(&mut self, request: &AccountRequest) -> AccountOutcome {
        self.answer(request).unwrap_or_else(AccountOutcome::Failed)
    }

    fn answer(&mut self, request: &AccountRequest) -> Result<AccountOutcome, String> {
        Ok(match request {
            AccountRequest::Login { name, password } => match self.check(name, password)? {
                None => AccountOutcome::WrongLogin,
                Some(record) if record.locked => AccountOutcome::Locked { name: record.name },
                Some(record) => AccountOutcome::LoggedIn { name: record.name },
            },
            AccountRequest::IssueToken { name } => AccountOutcome::TokenIssued {
                token: self.tokens.issue(name, Instant::now()),
                valid_hours: LOGIN_TOKEN_HOURS,
            },
            AccountRequest::TokenLogin { name, token } => {
                if !self.tokens.check(name, token, Instant::now()) {
                    return Ok(AccountOutcome::WrongLogin);
                }
                match self.book.get(name)? {
                    None => AccountOutcome::WrongLogin,
                    Some(record) if record.locked => AccountOutcome::Locked { name: record.name },
                    Some(record) => AccountOutcome::LoggedIn { name: record.name },
                }
            }
            AccountRequest::RevokeToken { name, token } => {
                self.tokens.revoke(name, token);
                AccountOutcome::TokenRevoked
            }
            AccountRequest::Register { name, password } => self.create(name, password, None)?,
            AccountRequest::Create { name, password } => match password {
                Some(password) => self.create(name, password, None)?,
                None => {
                    let made_up = SaltString::generate(&mut OsRng).as_str().to_owned();
                    self.create(name, &Secret(made_up.clone()), Some(made_up))?
                }
            },
            AccountRequest::SetPassword { name, old, new } => match self.check(name, old)? {
                None => AccountOutcome::WrongLogin,
                Some(record) => {
                    self.book.set_hash(&record.name, &hash(new.expose())?)?;
                    // Whoever held a token may not have known the new
                    // password.
                    self.tokens.revoke_all(&record.name);
                    AccountOutcome::PasswordSet
                }
            },
            AccountRequest::List => AccountOutcome::Listed(self.book.list()?),
            AccountRequest::Lock(name) | AccountRequest::Unlock(name) => {
                let locked = matches!(request, AccountRequest::Lock(_));
                match self.book.get(name)? {
                    Some(record) if self.book.set_locked(name, locked)? => {
                        // Unlocking must not bring back what was handed
                        // out before the lock.
                        if locked {
                            self.tokens.revoke_all(&record.name);
                        }
                        AccountOutcome::LockSet {
                            name: record.name,
                            locked,
                        }
                    }
                    _ => AccountOutcome::NoSuchAccount { name: name.clone() },
                }
            }
            AccountRequest::Return { name } => {
                let key = chat_proto::nick_key(name);
                AccountOutcome::Returned {
                    mail: self.book.take_mail(&key)?,
                    markers: self.book.markers_of(&key)?,
                }
            }
            AccountRequest::Delete(name) => match self.book.get(name)? {
                Some(record) if self.book.delete(name)? => {
                    self.tokens.revoke_all(&record.name);
                    AccountOutcome::Deleted { name: record.name }
                }
                _ => AccountOutcome::NoSuchAccount { name: name.clone() },
            },
        })
    }

    /// The account `name` if `password` is its password. An unknown name
    /// costs a check against the dummy hash.
    fn check(&mut self, name: &str, password: &Secret) -> Result<Option<Record>, String> {
        let record = self.book.get(name)?;
        let hash = record
            .as_ref()
            .map_or(self.dummy_hash.as_str(), |r| r.password_hash.as_str());
        let matched = verify_password(hash, password.expose());
        Ok(record.filter(|_| matched))
    }

    fn create(
        &mut self,
        name: &str,
        password: &Secret,
        made_up: Option<String>,
    ) -> Result<AccountOutcome, String> {
        if self.book.get(name)?.is_some() {
            return Ok(AccountOutcome::Exists {
                name: name.to_owned(),
            });
        }
        let record = new_record(name, password.expose())?;
        if !self.book.insert(&record)? {
            return Ok(AccountOutcome::Exists {
                name: name.to_owned(),
            });
        }
        Ok(AccountOutcome::Created {
            name: record.name,
            password: made_up.map(Secret),
        })
    }
}

#[cfg(test)]
mod tests {
    use chat_hub::{Asker, ClientId};

    use super::*;

    fn ask(link: &AccountLink, token: u64, request: AccountRequest) -> AccountOutcome {
        let task = AccountTask {
            asker: Asker::Client(ClientId(1)),
            token,
            request,
        };
        assert!(link.tasks.try_send(task).is_ok());
        match link.events.recv_timeout(Duration::from_secs(30)) {
            Ok(AccountEvent::Reply(reply)) => {
                assert_eq!(reply.token, token);
                reply.outcome
            }
            other => panic!("no reply: {other:?}"),
        }
    }

    #[test]
    fn register_login_change_lock_and_delete() {
        let book = Box::new(book::MemoryBook::default());
        let link = spawn(book, Arc::new(|| {})).unwrap_or_else(|e| panic!("{e}"));
        let secret = |s: &str| Secret(s.into());
        let login = |password: &str| AccountRequest::Login {
            name: "ALICE".into(),
            password: secret(password),
        };
        let register = AccountRequest::Register {
            name: "Alice".into(),
            password: secret("correct horse"),
        };
        let created = ask(&link, 1, register.clone());
        assert!(
            matches!(&created, AccountOutcome::Created { name, password: None } if name == "Alice"),
            "{created:?}"
        );
        assert_eq!(
            ask(&link, 2, register),
            AccountOutcome::Exists {
                name: "Alice".into()
            }
        );
        assert_eq!(
            ask(&link, 3, login("correct horse")),
            AccountOutcome::LoggedIn {
                name: "Alice".into()
            }
        );
        assert_eq!(
            ask(&link, 4, login("wrong horse")),
            AccountOutcome::WrongLogin
        );
        let issued = ask(
            &link,
            40,
            AccountRequest::IssueToken {
                name: "alice".into(),
            },
        );
        let AccountOutcome::TokenIssued { token, .. } = issued else {
            panic!("{issued:?}");
        };
        let resume = AccountRequest::TokenLogin {
            name: "Alice".into(),
            token,
        };
        assert_eq!(
            ask(&link, 41, resume.clone()),
            AccountOutcome::LoggedIn {
                name: "Alice".into()
            }
        );
        let nobody = AccountRequest::Login {
            name: "nobody".into(),
            password: secret("correct horse"),
        };
        assert_eq!(ask(&link, 5, nobody), AccountOutcome::WrongLogin);
        let change = AccountRequest::SetPassword {
            name: "alice".into(),
            old: secret("correct horse"),
            new: secret("battery staple"),
        };
        assert_eq!(ask(&link, 6, change), AccountOutcome::PasswordSet);
        // A new password revokes every token.
        assert_eq!(ask(&link, 42, resume), AccountOutcome::WrongLogin);
        let issued = ask(
            &link,
            43,
            AccountRequest::IssueToken {
                name: "alice".into(),
            },
        );
        let AccountOutcome::TokenIssued { token, .. } = issued else {
            panic!("{issued:?}");
        };
        let resume = AccountRequest::TokenLogin {
            name: "alice".into(),
            token,
        };
        assert_eq!(
            ask(&link, 7, login("correct horse")),
            AccountOutcome::WrongLogin
        );
        assert_eq!(
            ask(&link, 8, AccountRequest::Lock("alice".into())),
            AccountOutcome::LockSet {
                name: "Alice".into(),
                locked: true
            }
        );
        assert_eq!(
            ask(&link, 9, login("battery staple")),
            AccountOutcome::Locked {
                name: "Alice".into()
            }
        );
        // A lock revokes every token: an unlock does not bring them back.
        assert_eq!(ask(&link, 44, resume), AccountOutcome::WrongLogin);
        assert_eq!(
            ask(&link, 10, AccountRequest::Delete("alice".into())),
            AccountOutcome::Deleted {
                name: "Alice".into()
            }
        );
        assert_eq!(
            ask(&link, 11, login("battery staple")),
            AccountOutcome::WrongLogin
        );
        let made = ask(
            &link,
            12,
            AccountRequest::Create {
                name: "bob".into(),
                password: None,
            },
        );
        let AccountOutcome::Created {
            password: Some(password),
            ..
        } = made
        else {
            panic!("{made:?}");
        };
        let bob = AccountRequest::Login {
            name: "bob".into(),
            password,
        };
        assert_eq!(
            ask(&link, 13, bob),
            AccountOutcome::LoggedIn { name: "bob".into() }
        );
    }
}
