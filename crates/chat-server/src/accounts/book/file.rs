//! The accounts in the history file: tables `accounts`, `mail` and
//! `read_markers` (`store/schema.rs` makes them), each thread with a
//! connection of its own.

use std::path::{Path, PathBuf};

use chat_hub::{AccountRecord, AccountSummary, Mail, Marker};
use chat_proto::nick_key;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};

use super::{AccountBook, MAIL_PER_ACCOUNT, Record};

pub struct FileBook {
    conn: Connection,
    path: PathBuf,
}

fn words(e: rusqlite::Error) -> String {
    e.to_string()
}

fn id(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl FileBook {
    /// The accounts of the history file at `path` (made ready by the
    /// store's own opening, which runs first).
    pub fn open(path: &Path) -> Result<FileBook, String> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(words)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(words)?;
        Ok(FileBook {
            conn,
            path: path.to_owned(),
        })
    }

    fn keep_one(tx: &Transaction<'_>, record: &AccountRecord) -> rusqlite::Result<usize> {
        match record {
            AccountRecord::Mail(mail) => {
                let kept = tx.execute(
                    "INSERT INTO mail (to_key, from_nick, text, sent_ms, utc_offset)
                     SELECT ?1, ?2, ?3, ?4, ?5
                     WHERE (SELECT count(*) FROM mail WHERE to_key = ?1) < ?6",
                    params![
                        mail.to,
                        mail.from,
                        mail.text,
                        mail.time.timestamp_millis(),
                        mail.time.offset().local_minus_utc(),
                        id(MAIL_PER_ACCOUNT as u64)
                    ],
                )?;
                Ok(usize::from(kept == 0))
            }
            AccountRecord::Marker(marker) => {
                tx.execute(
                    // Forward only, by id and then time (as the hub's markers).
                    "INSERT INTO read_markers (account_key, room, through, through_ms)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (account_key, room) DO UPDATE
                     SET through = excluded.through, through_ms = excluded.through_ms
                     WHERE excluded.through > through
                        OR (excluded.through = through AND excluded.through_ms > through_ms)",
                    params![marker.account, marker.target, id(marker.through), marker.ms],
                )?;
                Ok(0)
            }
        }
    }
}

impl AccountBook for FileBook {
    fn get(&mut self, name: &str) -> Result<Option<Record>, String> {
        self.conn
            .query_row(
                "SELECT name, password_hash, locked, created_ms FROM accounts WHERE name_key = ?1",
                params![nick_key(name)],
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
            .map_err(words)
    }

    fn insert(&mut self, record: &Record) -> Result<bool, String> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO accounts (name_key, name, password_hash, locked, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    nick_key(&record.name),
                    record.name,
                    record.password_hash,
                    i64::from(record.locked),
                    record.created_ms
                ],
            )
            .map(|inserted| inserted == 1)
            .map_err(words)
    }

    fn set_hash(&mut self, name: &str, password_hash: &str) -> Result<bool, String> {
        self.conn
            .execute(
                "UPDATE accounts SET password_hash = ?2 WHERE name_key = ?1",
                params![nick_key(name), password_hash],
            )
            .map(|changed| changed == 1)
            .map_err(words)
    }

    fn set_locked(&mut self, name: &str, locked: bool) -> Result<bool, String> {
        self.conn
            .execute(
                "UPDATE accounts SET locked = ?2 WHERE name_key = ?1",
                params![nick_key(name), i64::from(locked)],
            )
            .map(|changed| changed == 1)
            .map_err(words)
    }

    fn delete(&mut self, name: &str) -> Result<bool, String> {
        let key = nick_key(name);
        let tx = self.conn.transaction().map_err(words)?;
        let deleted = tx
            .execute("DELETE FROM accounts WHERE name_key = ?1", params![key])
            .map_err(words)?;
        tx.execute("DELETE FROM mail WHERE to_key = ?1", params![key])
            .map_err(words)?;
        tx.execute(
            "DELETE FROM read_markers WHERE account_key = ?1",
            params![key],
        )
        .map_err(words)?;
        tx.commit().map_err(words)?;
        Ok(deleted == 1)
    }

    fn list(&mut self) -> Result<Vec<AccountSummary>, String> {
        let mut select = self
            .conn
            .prepare("SELECT name, locked, created_ms FROM accounts ORDER BY name_key")
            .map_err(words)?;
        let rows = select
            .query_map([], |row| {
                Ok(AccountSummary {
                    name: row.get(0)?,
                    locked: row.get::<_, i64>(1)? != 0,
                    created_ms: row.get(2)?,
                })
            })
            .map_err(words)?;
        rows.collect::<Result<_, _>>().map_err(words)
    }

    fn keep(&mut self, records: &[AccountRecord]) -> Result<usize, String> {
        let tx = self.conn.transaction().map_err(words)?;
        let mut dropped = 0;
        for record in records {
            dropped += FileBook::keep_one(&tx, record).map_err(words)?;
        }
        tx.commit().map_err(words)?;
        Ok(dropped)
    }

    fn take_mail(&mut self, key: &str) -> Result<Vec<Mail>, String> {
        let tx = self.conn.transaction().map_err(words)?;
        let mail = {
            let mut select = tx
                .prepare(
                    "SELECT from_nick, text, sent_ms, utc_offset FROM mail WHERE to_key = ?1 ORDER BY id",
                )
                .map_err(words)?;
            let rows = select
                .query_map(params![key], |row| {
                    let offset = chrono::FixedOffset::east_opt(row.get(3)?)
                        .unwrap_or_else(|| chrono::Offset::fix(&chrono::Utc));
                    let time = chrono::DateTime::from_timestamp_millis(row.get(2)?)
                        .unwrap_or_default()
                        .with_timezone(&offset);
                    Ok(Mail {
                        to: key.to_owned(),
                        from: row.get(0)?,
                        text: row.get(1)?,
                        time,
                    })
                })
                .map_err(words)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(words)?
        };
        tx.execute("DELETE FROM mail WHERE to_key = ?1", params![key])
            .map_err(words)?;
        tx.commit().map_err(words)?;
        Ok(mail)
    }

    fn markers_of(&mut self, key: &str) -> Result<Vec<Marker>, String> {
        let mut select = self
            .conn
            .prepare("SELECT room, through, through_ms FROM read_markers WHERE account_key = ?1")
            .map_err(words)?;
        let rows = select
            .query_map(params![key], |row| {
                Ok(Marker {
                    account: key.to_owned(),
                    target: row.get(0)?,
                    through: u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0),
                    ms: row.get(2)?,
                })
            })
            .map_err(words)?;
        rows.collect::<Result<_, _>>().map_err(words)
    }

    fn another(&self) -> Result<Box<dyn AccountBook>, String> {
        Ok(Box::new(FileBook::open(&self.path)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_file_keeps_accounts_mail_and_markers() {
        let dir = std::env::temp_dir().join(format!("chat-accounts-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("history.sqlite3");
        let _ = std::fs::remove_file(&path);
        let made = crate::store::open(&path);
        assert!(made.is_ok(), "{:?}", made.err());
        let book = FileBook::open(&path).unwrap_or_else(|e| panic!("{e}"));
        super::super::tests::behaves(Box::new(book));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn markers_kept_before_times_were_get_a_time_column_and_keep_their_ids() {
        let dir = std::env::temp_dir().join(format!("chat-markers-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("history.sqlite3");
        let _ = std::fs::remove_file(&path);
        assert!(crate::store::open(&path).is_ok());
        // The table as the previous build made it, with one marker.
        let old = Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let made = old.execute_batch(
            "DROP TABLE read_markers;
             CREATE TABLE read_markers (account_key TEXT NOT NULL, room TEXT NOT NULL,
                 through INTEGER NOT NULL, PRIMARY KEY (account_key, room)) STRICT;
             INSERT INTO read_markers VALUES ('alice', 'dev', 7);",
        );
        assert!(made.is_ok(), "{made:?}");
        drop(old);
        assert!(crate::store::open(&path).is_ok(), "opened again");
        let mut book = FileBook::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let at = |book: &mut FileBook| {
            let markers = book.markers_of("alice").unwrap_or_default();
            markers
                .iter()
                .map(|m| (m.through, m.ms))
                .collect::<Vec<_>>()
        };
        assert_eq!(at(&mut book), [(7, 0)], "its time unknown");
        let marker = |through, ms| {
            AccountRecord::Marker(Marker {
                account: "alice".into(),
                target: "dev".into(),
                through,
                ms,
            })
        };
        assert_eq!(book.keep(&[marker(7, 500)]), Ok(0));
        assert_eq!(at(&mut book), [(7, 500)], "a later time on the same line");
        assert_eq!(book.keep(&[marker(6, 900), marker(7, 400)]), Ok(0));
        assert_eq!(at(&mut book), [(7, 500)], "never back");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
