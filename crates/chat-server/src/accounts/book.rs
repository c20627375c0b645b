//! Where the accounts are kept: the history file's `accounts` table (its
//! schema is `store/schema.rs`'s), or, for a server that keeps history in
//! memory only, a map that lasts as long as the process.
//!
//! A record holds the name as its owner spelled it, the password's argon2
//! hash (never the password), whether it is locked, and when it was made.
//! The file also keeps the messages waiting for accounts and their read
//! markers (without a file, those live in the hub's memory alone).

use std::collections::BTreeMap;
use std::path::Path;

use chat_hub::{AccountRecord, AccountSummary, Mail, Marker};
use chat_proto::nick_key;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

/// One account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub password_hash: String,
    pub locked: bool,
    pub created_ms: i64,
}

/// The accounts, wherever they are kept.
pub enum Book {
    File(Connection),
    Memory(BTreeMap<String, Record>),
}

impl Book {
    /// The accounts of the history file at `path` (made ready by the
    /// store's own opening, which runs first).
    pub fn open(path: &Path) -> Result<Book, String> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| e.to_string())?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| e.to_string())?;
        Ok(Book::File(conn))
    }

    /// Accounts that last as long as the process.
    pub fn memory() -> Book {
        Book::Memory(BTreeMap::new())
    }

    pub fn get(&self, name: &str) -> Result<Option<Record>, String> {
        let key = nick_key(name);
        match self {
            Book::Memory(map) => Ok(map.get(&key).cloned()),
            Book::File(conn) => conn
                .query_row(
                    "SELECT name, password_hash, locked, created_ms FROM accounts WHERE name_key = ?1",
                    params![key],
                    |row| {
                        Ok(Record {
                            name: row.get(0)?,
                            password_hash: row.get(1)?,
                            locked: row.get::<_, i64>(2)? != 0,
                            created_ms: row.get(3)?,
                        })
                    },
                )
                .optional()
                .map_err(|e| e.to_string()),
        }
    }

    /// Adds `record`; `false` if its name is taken.
    pub fn insert(&mut self, record: &Record) -> Result<bool, String> {
        let key = nick_key(&record.name);
        match self {
            Book::Memory(map) => {
                if map.contains_key(&key) {
                    return Ok(false);
                }
                map.insert(key, record.clone());
                Ok(true)
            }
            Book::File(conn) => conn
                .execute(
                    "INSERT OR IGNORE INTO accounts (name_key, name, password_hash, locked, created_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        key,
                        record.name,
                        record.password_hash,
                        i64::from(record.locked),
                        record.created_ms
                    ],
                )
                .map(|inserted| inserted == 1)
                .map_err(|e| e.to_string()),
        }
    }

    /// Sets account `name`'s hash; `false` if there is no such account.
    pub fn set_hash(&mut self, name: &str, password_hash: &str) -> Result<bool, String> {
        let key = nick_key(name);
        match self {
            Book::Memory(map) => Ok(map
                .get_mut(&key)
                .map(|record| record.password_hash = password_hash.to_owned())
                .is_some()),
            Book::File(conn) => conn
                .execute(
                    "UPDATE accounts SET password_hash = ?2 WHERE name_key = ?1",
                    params![key, password_hash],
                )
                .map(|changed| changed == 1)
                .map_err(|e| e.to_string()),
        }
    }

    /// Locks or unlocks account `name`; `false` if there is no such account.
    pub fn set_locked(&mut self, name: &str, locked: bool) -> Result<bool, String> {
        let key = nick_key(name);
        match self {
            Book::Memory(map) => Ok(map
                .get_mut(&key)
                .map(|record| record.locked = locked)
                .is_some()),
            Book::File(conn) => conn
                .execute(
                    "UPDATE accounts SET locked = ?2 WHERE name_key = ?1",
                    params![key, i64::from(locked)],
                )
                .map(|changed| changed == 1)
                .map_err(|e| e.to_string()),
        }
    }

    /// Removes account `name`, with what waited for it and its markers;
    /// `false` if there is no such account.
    pub fn delete(&mut self, name: &str) -> Result<bool, String> {
        let key = nick_key(name);
        match self {
            Book::Memory(map) => Ok(map.remove(&key).is_some()),
            Book::File(conn) => {
                let tx = conn.transaction().map_err(|e| e.to_string())?;
                let deleted = tx
                    .execute("DELETE FROM accounts WHERE name_key = ?1", params![key])
                    .map_err(|e| e.to_string())?;
                tx.execute("DELETE FROM mail WHERE to_key = ?1", params![key])
                    .map_err(|e| e.to_string())?;
                tx.execute(
                    "DELETE FROM read_markers WHERE account_key = ?1",
                    params![key],
                )
                .map_err(|e| e.to_string())?;
                tx.commit().map_err(|e| e.to_string())?;
                Ok(deleted == 1)
            }
        }
    }

    /// Keeps `records` (in one transaction). Without a file there is
    /// nothing to do: the hub's memory is their only home.
    pub fn keep(&mut self, records: &[AccountRecord]) -> Result<(), String> {
        let Book::File(conn) = self else {
            return Ok(());
        };
        let tx = conn.transaction().map_err(|e| e.to_string())?;
        for record in records {
            match record {
                AccountRecord::Mail(mail) => tx.execute(
                    "INSERT OR REPLACE INTO mail (id, to_key, from_nick, text, sent_ms, utc_offset)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        i64::try_from(mail.id).unwrap_or(i64::MAX),
                        mail.to,
                        mail.from,
                        mail.text,
                        mail.time.timestamp_millis(),
                        mail.time.offset().local_minus_utc()
                    ],
                ),
                AccountRecord::MailDelivered { to, through } => tx.execute(
                    "DELETE FROM mail WHERE to_key = ?1 AND id <= ?2",
                    params![to, i64::try_from(*through).unwrap_or(i64::MAX)],
                ),
                AccountRecord::Marker(marker) => tx.execute(
                    "INSERT INTO read_markers (account_key, room, through) VALUES (?1, ?2, ?3)
                     ON CONFLICT (account_key, room) DO UPDATE SET through = max(through, excluded.through)",
                    params![
                        marker.account,
                        marker.target,
                        i64::try_from(marker.through).unwrap_or(i64::MAX)
                    ],
                ),
            }
            .map_err(|e| e.to_string())?;
        }
        tx.commit().map_err(|e| e.to_string())
    }

    /// The messages waiting for accounts, oldest first.
    pub fn waiting_mail(&self) -> Result<Vec<Mail>, String> {
        let Book::File(conn) = self else {
            return Ok(Vec::new());
        };
        let mut select = conn
            .prepare(
                "SELECT id, to_key, from_nick, text, sent_ms, utc_offset FROM mail ORDER BY id",
            )
            .map_err(|e| e.to_string())?;
        let rows = select
            .query_map([], |row| {
                let offset = chrono::FixedOffset::east_opt(row.get(5)?)
                    .unwrap_or_else(|| chrono::Offset::fix(&chrono::Utc));
                let sent: i64 = row.get(4)?;
                let time = chrono::DateTime::from_timestamp_millis(sent)
                    .unwrap_or_default()
                    .with_timezone(&offset);
                Ok(Mail {
                    id: u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0),
                    to: row.get(1)?,
                    from: row.get(2)?,
                    text: row.get(3)?,
                    time,
                })
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
    }

    /// Every read marker.
    pub fn markers(&self) -> Result<Vec<Marker>, String> {
        let Book::File(conn) = self else {
            return Ok(Vec::new());
        };
        let mut select = conn
            .prepare("SELECT account_key, room, through FROM read_markers")
            .map_err(|e| e.to_string())?;
        let rows = select
            .query_map([], |row| {
                Ok(Marker {
                    account: row.get(0)?,
                    target: row.get(1)?,
                    through: u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
                })
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
    }

    /// Every account, by name.
    pub fn list(&self) -> Result<Vec<AccountSummary>, String> {
        let summary = |record: &Record| AccountSummary {
            name: record.name.clone(),
            locked: record.locked,
            created_ms: record.created_ms,
        };
        match self {
            Book::Memory(map) => Ok(map.values().map(summary).collect()),
            Book::File(conn) => {
                let mut select = conn
                    .prepare("SELECT name, locked, created_ms FROM accounts ORDER BY name_key")
                    .map_err(|e| e.to_string())?;
                let rows = select
                    .query_map([], |row| {
                        Ok(AccountSummary {
                            name: row.get(0)?,
                            locked: row.get::<_, i64>(1)? != 0,
                            created_ms: row.get(2)?,
                        })
                    })
                    .map_err(|e| e.to_string())?;
                rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> Record {
        Record {
            name: name.into(),
            password_hash: "$argon2id$x".into(),
            locked: false,
            created_ms: 1,
        }
    }

    fn every_book() -> Vec<Book> {
        let conn = Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch(crate::store::ACCOUNTS_SCHEMA)
            .unwrap_or_else(|e| panic!("{e}"));
        vec![Book::Memory(BTreeMap::new()), Book::File(conn)]
    }

    #[test]
    fn names_are_owned_in_any_case_and_kept_as_spelled() {
        for mut book in every_book() {
            assert_eq!(book.insert(&record("Alice")), Ok(true));
            assert_eq!(book.insert(&record("alice")), Ok(false));
            let got = book.get("ALICE").ok().flatten().map(|r| r.name);
            assert_eq!(got.as_deref(), Some("Alice"));
            assert_eq!(book.set_locked("alice", true), Ok(true));
            assert_eq!(book.set_hash("alice", "$argon2id$y"), Ok(true));
            let got = book.get("alice").ok().flatten();
            assert!(got.as_ref().is_some_and(|r| r.locked), "{got:?}");
            assert_eq!(book.list().map(|l| l.len()), Ok(1));
            assert_eq!(book.delete("alice"), Ok(true));
            assert_eq!(book.delete("alice"), Ok(false));
            assert_eq!(book.set_locked("bob", true), Ok(false));
            assert_eq!(book.get("alice"), Ok(None));
        }
    }
}
