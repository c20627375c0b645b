//! Where the master is: one Redis URL, or Redis Sentinel.
//!
//! With sentinels, every connection the bridge opens (commands, queries,
//! the subscriber, acknowledgements) asks them for the master's address
//! (`SENTINEL get-master-addr-by-name`, one sentinel after the other until
//! one answers), connects there and checks with `ROLE` that it is a master:
//! a sentinel's answer may be stale, and a demoted master still answers.
//! A watcher thread subscribes to `+switch-master` on a sentinel and counts
//! the switches it hears; each bridge thread compares that count with the
//! one it connected under and connects again when it moved. Any error also
//! makes a thread connect again, which asks the sentinels again: a missed
//! `+switch-master` costs at most the time to notice the error (sentinels
//! also close the old master's client connections when they demote it).
//!
//! By hand rather than the `redis` crate's `sentinel` feature: that one
//! resolves and checks the role too, but connects to sentinels without a
//! timeout (a sentinel whose host vanished stalls the thread), offers no
//! `+switch-master` subscription, and brings `rand` and `log`. The few
//! commands here are the protocol's documented client steps.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::{Connection, ErrorKind, RedisError, RedisResult, Value};

use super::{BACKOFF_MAX, BACKOFF_MIN, COMMAND_TIMEOUT, CONNECT_TIMEOUT};

/// Where to find Redis.
#[derive(Debug, Clone)]
pub enum Target {
    /// One Redis server, `redis://HOST:PORT`, and its password if the URL
    /// does not hold it.
    Url {
        url: String,
        password: Option<String>,
    },
    /// The master that these sentinels (`HOST:PORT`) know by this name.
    Sentinel {
        sentinels: Vec<String>,
        master_name: String,
        redis_password: Option<String>,
        sentinel_password: Option<String>,
    },
}

impl Target {
    /// A connection to the master, with the bridge's timeouts, known to
    /// answer, and its address (for the log).
    pub fn connect(&self) -> RedisResult<(Connection, String)> {
        match self {
            Target::Url { url, password } => Ok((open(url, password.as_deref())?, url.clone())),
            Target::Sentinel {
                sentinels,
                master_name,
                redis_password,
                sentinel_password,
            } => {
                // A sentinel may be down, or its answer stale: the next
                // one is asked then.
                let mut last = None;
                for sentinel in sentinels {
                    let master = master_of(sentinel, master_name, sentinel_password)
                        .and_then(|address| Ok((verified(&address, redis_password)?, address)));
                    match master {
                        Ok(found) => return Ok(found),
                        Err(e) => last = Some(e),
                    }
                }
                Err(last.unwrap_or_else(|| {
                    RedisError::from((ErrorKind::EmptySentinelList, "no sentinels"))
                }))
            }
        }
    }
}

/// How long the watcher waits on a quiet sentinel subscription before
/// pinging it.
const WATCH_QUIET: Duration = Duration::from_secs(2);

/// How often a thread waiting to connect again looks for a switch.
const SWITCH_CHECK: Duration = Duration::from_millis(20);

/// The bridge's way to the master.
pub(super) struct Link {
    target: Target,
    /// `+switch-master` messages heard.
    switches: AtomicU64,
}

impl Link {
    pub(super) fn new(target: Target) -> Arc<Link> {
        Arc::new(Link {
            target,
            switches: AtomicU64::new(0),
        })
    }

    /// Whether a failover can move the master (sentinels are watched).
    pub(super) fn fails_over(&self) -> bool {
        matches!(self.target, Target::Sentinel { .. })
    }

    /// How many master switches were heard: a thread connected under an
    /// older count is connected to a master that may no longer be one.
    pub(super) fn switches(&self) -> u64 {
        self.switches.load(Ordering::Acquire)
    }

    /// Sleeps for `backoff`, or less if a master switch is heard after
    /// `seen` switches: then there is a new master to connect to at once.
    pub(super) fn pause(&self, backoff: Duration, seen: u64) {
        let end = std::time::Instant::now() + backoff;
        while self.switches() == seen {
            let left = end.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(SWITCH_CHECK));
        }
    }

    /// A connection to the master (see [`Target::connect`]).
    pub(super) fn connect(&self) -> RedisResult<(Connection, String)> {
        self.target.connect()
    }

    /// Starts the thread that counts `+switch-master` messages, if there
    /// are sentinels. It runs until the process ends.
    pub(super) fn watch(self: &Arc<Link>) -> std::io::Result<()> {
        let Target::Sentinel {
            sentinels,
            sentinel_password,
            ..
        } = &self.target
        else {
            return Ok(());
        };
        let (sentinels, password) = (sentinels.clone(), sentinel_password.clone());
        let link = Arc::clone(self);
        std::thread::Builder::new()
            .name("cluster-sentinels".into())
            .spawn(move || link.watch_sentinels(&sentinels, password.as_deref()))?;
        Ok(())
    }

    fn watch_sentinels(&self, sentinels: &[String], password: Option<&str>) {
        let mut backoff = BACKOFF_MIN;
        loop {
            for sentinel in sentinels {
                let mut subscribed = false;
                let _ = (|| -> RedisResult<()> {
                    let mut con = open(&format!("redis://{sentinel}/"), password)?;
                    let mut pubsub = con.as_pubsub();
                    pubsub.subscribe("+switch-master")?;
                    pubsub.set_read_timeout(Some(WATCH_QUIET))?;
                    subscribed = true;
                    backoff = BACKOFF_MIN;
                    loop {
                        match pubsub.get_message() {
                            Ok(_) => {
                                self.switches.fetch_add(1, Ordering::AcqRel);
                            }
                            Err(e) if e.is_timeout() => {
                                pubsub.ping::<Value>()?;
                            }
                            Err(e) => return Err(e),
                        }
                    }
                })();
                if subscribed {
                    // A switch may go unheard until subscribed again: count
                    // one, so the threads check where the master is.
                    self.switches.fetch_add(1, Ordering::AcqRel);
                }
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }
}

/// A connection to `url` with the bridge's timeouts, authenticated with
/// `password` if there is one, that answered a `PING`.
fn open(url: &str, password: Option<&str>) -> RedisResult<Connection> {
    let client = redis::Client::open(url)?;
    let mut con = client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
    con.set_read_timeout(Some(COMMAND_TIMEOUT))?;
    con.set_write_timeout(Some(COMMAND_TIMEOUT))?;
    if let Some(password) = password {
        redis::cmd("AUTH").arg(password).query::<()>(&mut con)?;
    }
    redis::cmd("PING").query::<()>(&mut con)?;
    Ok(con)
}

/// A connection to `address`, which says it is a master.
fn verified(address: &str, password: &Option<String>) -> RedisResult<Connection> {
    let mut con = open(&format!("redis://{address}/"), password.as_deref())?;
    let role: Vec<Value> = redis::cmd("ROLE").query(&mut con)?;
    if !is_master(&role) {
        return Err(RedisError::from((
            ErrorKind::Client,
            "not the master",
            format!("{address} is not a master (yet)"),
        )));
    }
    Ok(con)
}

/// The master's `HOST:PORT` as `sentinel` knows it.
fn master_of(sentinel: &str, name: &str, password: &Option<String>) -> RedisResult<String> {
    let mut con = open(&format!("redis://{sentinel}/"), password.as_deref())?;
    let master: Option<(String, u16)> = redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg(name)
        .query(&mut con)?;
    let Some((host, port)) = master else {
        return Err(RedisError::from((
            ErrorKind::MasterNameNotFoundBySentinel,
            "unknown master name",
            format!("{sentinel} knows no master {name:?}"),
        )));
    };
    Ok(if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    })
}

/// Whether a `ROLE` reply says "master".
fn is_master(role: &[Value]) -> bool {
    match role.first() {
        Some(Value::BulkString(bytes)) => bytes == b"master",
        Some(Value::SimpleString(text)) => text == "master",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_master_role_is_a_master() {
        let master = [Value::BulkString(b"master".to_vec()), Value::Int(0)];
        assert!(is_master(&master));
        let replica = [Value::BulkString(b"slave".to_vec())];
        assert!(!is_master(&replica));
        assert!(!is_master(&[]));
    }
}
