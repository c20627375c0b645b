//! The accounts of a cluster, in its Redis (keys in `cluster/keys.rs`), so
//! an account made on one node logs in on any, and a message waiting for
//! it is delivered wherever it logs in. Each thread has a connection of
//! its own, made again after any error.

use std::collections::HashMap;

use chat_hub::{AccountRecord, AccountSummary, Mail, Marker};
use chat_proto::nick_key;
use redis::{Cmd, Connection, RedisResult};
use serde::{Deserialize, Serialize};

use super::{AccountBook, MAIL_PER_ACCOUNT, Record};
use crate::cluster::{FailFast, Target, keys};

pub struct RedisBook {
    target: Target,
    con: Option<Connection>,
}

/// A waiting message as Redis holds it.
#[derive(Serialize, Deserialize)]
struct StoredMail {
    from: String,
    text: String,
    ms: i64,
    offset: i32,
}

/// Adds an account unless its name is taken: 1, else 0.
const INSERT: &str = "
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], 'name', ARGV[2], 'password_hash', ARGV[3], 'locked', ARGV[4], 'created_ms', ARGV[5])
return 1";

/// Sets a field of an account that exists: 1, else 0.
const SET_FIELD: &str = "
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1";

/// Appends a waiting message unless MAIL_PER_ACCOUNT wait: 0, else 1.
const KEEP_MAIL: &str = "
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[2]) then return 1 end
redis.call('RPUSH', KEYS[1], ARGV[1])
return 0";

/// Moves a marker forward only, by id and then time. A marker is kept as
/// `ID:MS` (the line read through, and its time); one kept before times
/// were is `ID`, its time 0.
const MOVE_MARKER: &str = "
local at = redis.call('HGET', KEYS[1], ARGV[1])
local id, ms = tonumber(ARGV[2]), tonumber(ARGV[3])
local was_id, was_ms = -1, -1
if at then
  was_id = tonumber(string.match(at, '^%d+')) or -1
  was_ms = tonumber(string.match(at, ':(%d+)$')) or 0
end
if was_id < id or (was_id == id and was_ms < ms) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[3])
end
return 0";

impl RedisBook {
    /// The accounts in the cluster's Redis (its master, found as the
    /// bridge finds it, at first use and after every error).
    pub fn open(target: Target) -> RedisBook {
        RedisBook { target, con: None }
    }

    /// Runs `f` on the connection (made first if need be); after an error
    /// the connection is dropped, to be made again next time.
    fn run<T>(&mut self, f: impl FnOnce(&mut Connection) -> RedisResult<T>) -> Result<T, String> {
        if self.con.is_none() {
            let (con, _) = self.target.connect().map_err(|e| format!("redis: {e}"))?;
            self.con = Some(con);
        }
        let Some(con) = self.con.as_mut() else {
            return Err("redis: not connected".into());
        };
        f(con).map_err(|e| {
            self.con = None;
            format!("redis: {e}")
        })
    }
}

/// `EVAL script` with `keys` and `args`.
fn eval(script: &str, keys: &[&str], args: &[String]) -> Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(script).arg(keys.len()).arg(keys).arg(args);
    cmd
}

fn record_of(fields: &HashMap<String, String>) -> Option<Record> {
    Some(Record {
        name: fields.get("name")?.clone(),
        password_hash: fields.get("password_hash")?.clone(),
        locked: fields.get("locked").is_some_and(|locked| locked == "1"),
        created_ms: fields.get("created_ms")?.parse().ok()?,
    })
}

impl AccountBook for RedisBook {
    fn get(&mut self, name: &str) -> Result<Option<Record>, String> {
        let fields: HashMap<String, String> =
            self.run(|con| redis::cmd("HGETALL").arg(keys::account(name)).query(con))?;
        Ok(record_of(&fields))
    }

    fn insert(&mut self, record: &Record) -> Result<bool, String> {
        let account = keys::account(&record.name);
        let args = [
            nick_key(&record.name),
            record.name.clone(),
            record.password_hash.clone(),
            i64::from(record.locked).to_string(),
            record.created_ms.to_string(),
        ];
        let insert = eval(INSERT, &[keys::ACCOUNTS, &account], &args);
        let inserted: i64 = self.run(|con| insert.query(con))?;
        Ok(inserted == 1)
    }

    fn set_hash(&mut self, name: &str, password_hash: &str) -> Result<bool, String> {
        let args = ["password_hash".to_owned(), password_hash.to_owned()];
        let set = eval(SET_FIELD, &[&keys::account(name)], &args);
        let set: i64 = self.run(|con| set.query(con))?;
        Ok(set == 1)
    }

    fn set_locked(&mut self, name: &str, locked: bool) -> Result<bool, String> {
        let args = ["locked".to_owned(), i64::from(locked).to_string()];
        let set = eval(SET_FIELD, &[&keys::account(name)], &args);
        let set: i64 = self.run(|con| set.query(con))?;
        Ok(set == 1)
    }

    fn delete(&mut self, name: &str) -> Result<bool, String> {
        let (removed, ..): (i64, i64, i64, i64) = self.run(|con| {
            redis::pipe()
                .atomic()
                .cmd("SREM")
                .arg(keys::ACCOUNTS)
                .arg(nick_key(name))
                .cmd("DEL")
                .arg(keys::account(name))
                .cmd("DEL")
                .arg(keys::mail(name))
                .cmd("DEL")
                .arg(keys::markers(name))
                .query(&mut FailFast(con))
        })?;
        Ok(removed == 1)
    }

    fn list(&mut self) -> Result<Vec<AccountSummary>, String> {
        let names: Vec<String> =
            self.run(|con| redis::cmd("SMEMBERS").arg(keys::ACCOUNTS).query(con))?;
        if names.is_empty() {
            return Ok(Vec::new()); // an empty pipeline is an error
        }
        let mut pipe = redis::pipe();
        for name in &names {
            pipe.cmd("HGETALL").arg(keys::account(name));
        }
        let all: Vec<HashMap<String, String>> = self.run(|con| pipe.query(&mut FailFast(con)))?;
        let mut accounts: Vec<AccountSummary> = all
            .iter()
            .filter_map(record_of)
            .map(|record| record.summary())
            .collect();
        accounts.sort_by_key(|account| nick_key(&account.name));
        Ok(accounts)
    }

    fn keep(&mut self, records: &[AccountRecord]) -> Result<usize, String> {
        let mut dropped = 0;
        for record in records {
            match record {
                AccountRecord::Mail(mail) => {
                    let stored = StoredMail {
                        from: mail.from.clone(),
                        text: mail.text.clone(),
                        ms: mail.time.timestamp_millis(),
                        offset: mail.time.offset().local_minus_utc(),
                    };
                    let json = serde_json::to_string(&stored).map_err(|e| e.to_string())?;
                    let args = [json, MAIL_PER_ACCOUNT.to_string()];
                    let keep = eval(KEEP_MAIL, &[&keys::mail(&mail.to)], &args);
                    let full: i64 = self.run(|con| keep.query(con))?;
                    dropped += usize::from(full == 1);
                }
                AccountRecord::Marker(marker) => {
                    let args = [
                        marker.target.clone(),
                        marker.through.to_string(),
                        marker.ms.max(0).to_string(),
                    ];
                    let moved = eval(MOVE_MARKER, &[&keys::markers(&marker.account)], &args);
                    self.run(|con| moved.query::<i64>(con))?;
                }
            }
        }
        Ok(dropped)
    }

    fn take_mail(&mut self, key: &str) -> Result<Vec<Mail>, String> {
        let (waiting, _): (Vec<String>, i64) = self.run(|con| {
            redis::pipe()
                .atomic()
                .cmd("LRANGE")
                .arg(keys::mail(key))
                .arg(0)
                .arg(-1)
                .cmd("DEL")
                .arg(keys::mail(key))
                .query(&mut FailFast(con))
        })?;
        Ok(waiting
            .iter()
            .filter_map(|json| serde_json::from_str::<StoredMail>(json).ok())
            .map(|stored| {
                let offset = chrono::FixedOffset::east_opt(stored.offset)
                    .unwrap_or_else(|| chrono::Offset::fix(&chrono::Utc));
                let time = chrono::DateTime::from_timestamp_millis(stored.ms)
                    .unwrap_or_default()
                    .with_timezone(&offset);
                Mail {
                    to: key.to_owned(),
                    from: stored.from,
                    text: stored.text,
                    time,
                }
            })
            .collect())
    }

    fn markers_of(&mut self, key: &str) -> Result<Vec<Marker>, String> {
        let read: HashMap<String, String> =
            self.run(|con| redis::cmd("HGETALL").arg(keys::markers(key)).query(con))?;
        Ok(read
            .into_iter()
            .filter_map(|(target, at)| {
                // `ID:MS`, or `ID` as kept before times were.
                let (through, ms) = at.split_once(':').unwrap_or((&at, "0"));
                Some(Marker {
                    account: key.to_owned(),
                    target,
                    through: through.parse().ok()?,
                    ms: ms.parse().unwrap_or(0),
                })
            })
            .collect())
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn another(&self) -> Result<Box<dyn AccountBook>, String> {
        Ok(Box::new(RedisBook::open(self.target.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clusters_redis_keeps_accounts_mail_and_markers() {
        let Some(redis) = chat_tests::RedisProcess::start() else {
            return; // skipped (or failed, when required) by the harness
        };
        let book = RedisBook::open(Target::Url {
            url: redis.url(),
            password: None,
        });
        super::super::tests::behaves(Box::new(book));
    }
}
