//! Where the accounts are kept, behind one trait ([`AccountBook`]): the
//! history file's tables (`file.rs`; their schema is `store/schema.rs`'s),
//! Redis in a cluster, so every node agrees (`redis.rs`), or, for a server
//! that keeps history in memory only, maps that last as long as the
//! process ([`MemoryBook`]).
//!
//! A record holds the name as its owner spelled it, the password's argon2
//! hash (never the password), whether it is locked, and when it was made.
//! Beside the accounts: the private messages waiting for each (at most
//! [`MAIL_PER_ACCOUNT`]) and each account's read markers.

mod file;
mod redis;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chat_hub::{AccountRecord, AccountSummary, Mail, Marker};
use chat_proto::nick_key;

pub use file::FileBook;
pub use redis::RedisBook;

/// Messages that may wait for one account; later ones are dropped (and
/// logged) until it logs in.
pub const MAIL_PER_ACCOUNT: usize = 200;

/// One account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub password_hash: String,
    pub locked: bool,
    pub created_ms: i64,
}

impl Record {
    fn summary(&self) -> AccountSummary {
        AccountSummary {
            name: self.name.clone(),
            locked: self.locked,
            created_ms: self.created_ms,
        }
    }
}

/// The accounts, wherever they are kept. Names are compared as nick keys
/// (any case); every error is said in words.
pub trait AccountBook: Send {
    fn get(&mut self, name: &str) -> Result<Option<Record>, String>;
    /// Adds `record`; `false` if its name is taken.
    fn insert(&mut self, record: &Record) -> Result<bool, String>;
    /// `false` if there is no such account.
    fn set_hash(&mut self, name: &str, password_hash: &str) -> Result<bool, String>;
    /// `false` if there is no such account.
    fn set_locked(&mut self, name: &str, locked: bool) -> Result<bool, String>;
    /// Removes the account, what waited for it and its markers; `false` if
    /// there is no such account.
    fn delete(&mut self, name: &str) -> Result<bool, String>;
    /// Every account, by name.
    fn list(&mut self) -> Result<Vec<AccountSummary>, String>;
    /// Keeps `records`; returns how many messages were dropped for an
    /// account whose waiting messages were already [`MAIL_PER_ACCOUNT`].
    fn keep(&mut self, records: &[AccountRecord]) -> Result<usize, String>;
    /// The messages waiting for account `key`, oldest first; they wait no
    /// more.
    fn take_mail(&mut self, key: &str) -> Result<Vec<Mail>, String>;
    /// Account `key`'s read markers.
    fn markers_of(&mut self, key: &str) -> Result<Vec<Marker>, String>;
    /// Whether other processes change it too (a cluster's Redis): then
    /// the account thread reads the list of accounts again now and then.
    fn is_shared(&self) -> bool {
        false
    }
    /// A second handle on the same accounts, for another thread.
    fn another(&self) -> Result<Box<dyn AccountBook>, String>;
}

/// The accounts of a server without a history file, shared by its account
/// threads.
#[derive(Clone, Default)]
pub struct MemoryBook(Arc<Mutex<Memory>>);

#[derive(Default)]
struct Memory {
    accounts: BTreeMap<String, Record>,
    mail: HashMap<String, Vec<Mail>>,
    /// Account → target → (id, time in ms).
    markers: HashMap<String, HashMap<String, (u64, i64)>>,
}

impl MemoryBook {
    fn with<R>(&self, f: impl FnOnce(&mut Memory) -> R) -> Result<R, String> {
        let mut memory = self
            .0
            .lock()
            .map_err(|_| "the accounts in memory are lost (a thread panicked)".to_owned())?;
        Ok(f(&mut memory))
    }
}

impl AccountBook for MemoryBook {
    fn get(&mut self, name: &str) -> Result<Option<Record>, String> {
        self.with(|m| m.accounts.get(&nick_key(name)).cloned())
    }

    fn insert(&mut self, record: &Record) -> Result<bool, String> {
        self.with(|m| {
            let key = nick_key(&record.name);
            if m.accounts.contains_key(&key) {
                return false;
            }
            m.accounts.insert(key, record.clone());
            true
        })
    }

    fn set_hash(&mut self, name: &str, password_hash: &str) -> Result<bool, String> {
        self.with(|m| {
            let record = m.accounts.get_mut(&nick_key(name));
            record
                .map(|record| password_hash.clone_into(&mut record.password_hash))
                .is_some()
        })
    }

    fn set_locked(&mut self, name: &str, locked: bool) -> Result<bool, String> {
        self.with(|m| {
            let record = m.accounts.get_mut(&nick_key(name));
            record.map(|record| record.locked = locked).is_some()
        })
    }

    fn delete(&mut self, name: &str) -> Result<bool, String> {
        self.with(|m| {
            let key = nick_key(name);
            m.mail.remove(&key);
            m.markers.remove(&key);
            m.accounts.remove(&key).is_some()
        })
    }

    fn list(&mut self) -> Result<Vec<AccountSummary>, String> {
        self.with(|m| m.accounts.values().map(Record::summary).collect())
    }

    fn keep(&mut self, records: &[AccountRecord]) -> Result<usize, String> {
        self.with(|m| {
            let mut dropped = 0;
            for record in records {
                match record {
                    AccountRecord::Mail(mail) => {
                        let waiting = m.mail.entry(mail.to.clone()).or_default();
                        if waiting.len() < MAIL_PER_ACCOUNT {
                            waiting.push(mail.clone());
                        } else {
                            dropped += 1;
                        }
                    }
                    AccountRecord::Marker(marker) => {
                        let markers = m.markers.entry(marker.account.clone()).or_default();
                        let at = markers.entry(marker.target.clone()).or_insert((0, 0));
                        *at = (*at).max((marker.through, marker.ms));
                    }
                }
            }
            dropped
        })
    }

    fn take_mail(&mut self, key: &str) -> Result<Vec<Mail>, String> {
        self.with(|m| m.mail.remove(key).unwrap_or_default())
    }

    fn markers_of(&mut self, key: &str) -> Result<Vec<Marker>, String> {
        self.with(|m| {
            let markers = m.markers.get(key).into_iter().flatten();
            markers
                .map(|(target, &(through, ms))| Marker {
                    account: key.to_owned(),
                    target: target.clone(),
                    through,
                    ms,
                })
                .collect()
        })
    }

    fn another(&self) -> Result<Box<dyn AccountBook>, String> {
        Ok(Box::new(self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn record(name: &str) -> Record {
        Record {
            name: name.into(),
            password_hash: "$argon2id$x".into(),
            locked: false,
            created_ms: 1,
        }
    }

    fn time() -> chat_hub::Now {
        chrono::DateTime::parse_from_rfc3339("2026-11-03T08:05:09+01:00")
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// What every book must do, checked on `book`.
    pub(super) fn behaves(mut book: Box<dyn AccountBook>) {
        assert_eq!(book.insert(&record("Alice")), Ok(true));
        assert_eq!(book.insert(&record("alice")), Ok(false));
        let got = book.get("ALICE").ok().flatten().map(|r| r.name);
        assert_eq!(got.as_deref(), Some("Alice"));
        assert_eq!(book.set_locked("alice", true), Ok(true));
        assert_eq!(book.set_hash("alice", "$argon2id$y"), Ok(true));
        let got = book.get("alice").ok().flatten();
        assert!(
            got.as_ref()
                .is_some_and(|r| r.locked && r.password_hash == "$argon2id$y")
        );
        assert_eq!(book.list().map(|l| l.len()), Ok(1));
        let mail = |n: usize| {
            AccountRecord::Mail(Mail {
                to: "alice".into(),
                from: "bob".into(),
                text: format!("message {n}"),
                time: time(),
            })
        };
        let marker = |through: u64| {
            AccountRecord::Marker(Marker {
                account: "alice".into(),
                target: "dev".into(),
                through,
                ms: 1_000 * i64::try_from(through).unwrap_or(0),
            })
        };
        let records: Vec<AccountRecord> = (0..MAIL_PER_ACCOUNT + 2).map(mail).collect();
        assert_eq!(book.keep(&records), Ok(2), "past the cap");
        assert_eq!(book.keep(&[marker(7), marker(5)]), Ok(0));
        let another = book.another();
        let mut other = another.unwrap_or_else(|e| panic!("{e}"));
        let taken = other.take_mail("alice").unwrap_or_default();
        assert_eq!(taken.len(), MAIL_PER_ACCOUNT);
        assert_eq!(taken.first().map(|m| m.text.as_str()), Some("message 0"));
        assert_eq!(taken.first().map(|m| m.time), Some(time()));
        assert_eq!(book.take_mail("alice"), Ok(Vec::new()), "taken once");
        let markers = book.markers_of("alice").unwrap_or_default();
        assert_eq!(markers.iter().map(|m| m.through).collect::<Vec<_>>(), [7]);
        assert_eq!(markers.iter().map(|m| m.ms).collect::<Vec<_>>(), [7_000]);
        assert_eq!(book.delete("alice"), Ok(true));
        assert_eq!(book.delete("alice"), Ok(false));
        assert_eq!(book.markers_of("alice"), Ok(Vec::new()));
        assert_eq!(book.set_locked("bob", true), Ok(false));
        assert_eq!(book.get("alice"), Ok(None));
    }

    #[test]
    fn memory_books_keep_accounts_mail_and_markers() {
        behaves(Box::new(MemoryBook::default()));
    }
}
