//! A Redis failover group of a test's own on loopback: a master, a replica
//! and three `redis-sentinel`s watching them under the name `chat`, each on
//! a free port with a temp dir of its own; every process is killed when it
//! is dropped. Started [`SentinelGroup::behind_proxy`], the replica and the
//! sentinels reach the master through a [`Proxy`] that can isolate it from
//! them while its clients still reach it. The sentinels declare a master down after
//! [`DOWN_AFTER`] without an answer, so a failover takes a few seconds.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::redis::query;
use crate::{Proc, Proxy, RedisProcess, TIMEOUT, TempDir, free_port, require_tool};

/// How long a master may be silent before a sentinel thinks it down.
pub const DOWN_AFTER: Duration = Duration::from_millis(1000);

/// The master's name in the sentinels' configuration.
const MASTER_NAME: &str = "chat";

/// One `redis-sentinel` process.
#[derive(Debug)]
struct Sentinel {
    port: u16,
    proc: Proc,
    // Last: the process goes before its directory.
    _dir: TempDir,
}

/// Two Redis servers (master and replica at first) and three sentinels.
pub struct SentinelGroup {
    /// The two servers; which is the master changes with failovers.
    pub servers: [RedisProcess; 2],
    /// In front of the first master, for its replica and the sentinels
    /// (and so for the clients the sentinels send there).
    pub proxy: Option<Proxy>,
    sentinels: Vec<Sentinel>,
}

impl SentinelGroup {
    /// Starts the group and waits until the replica has synchronised and
    /// the sentinels know the master, its replica and each other. `None`
    /// when redis-server or redis-sentinel is not installed (the calling
    /// test is then skipped, or fails under `CHAT_TESTS_REQUIRE=1`).
    pub fn start() -> Option<SentinelGroup> {
        SentinelGroup::start_group(false)
    }

    /// [`SentinelGroup::start`] with the first master behind
    /// [`SentinelGroup::proxy`].
    pub fn behind_proxy() -> Option<SentinelGroup> {
        SentinelGroup::start_group(true)
    }

    fn start_group(proxied: bool) -> Option<SentinelGroup> {
        let program = require_tool("redis-sentinel")?;
        let master = RedisProcess::start()?;
        let proxy =
            proxied.then(|| Proxy::start(SocketAddr::from((Ipv4Addr::LOCALHOST, master.port()))));
        let master_port = proxy.as_ref().map_or(master.port(), |p| p.addr().port());
        let replica =
            RedisProcess::start_with(&["--replicaof", "127.0.0.1", &master_port.to_string()])?;
        let mut group = SentinelGroup {
            servers: [master, replica],
            proxy,
            sentinels: Vec::new(),
        };
        group.until("the replica synchronised", |group| {
            let info = group.servers[1].query(&["INFO", "replication"]);
            info.is_ok_and(|info| info.concat().contains("master_link_status:up"))
        });
        for _ in 0..3 {
            let sentinel = Sentinel::start(&program, master_port);
            group.sentinels.push(sentinel);
        }
        group.until("the sentinels know each other and the replica", |group| {
            group.sentinels.iter().all(|sentinel| {
                let master = sentinel.query(&["SENTINEL", "MASTER", MASTER_NAME]);
                let fields = master.unwrap_or_default();
                let field = |name: &str| {
                    let at = fields.iter().position(|f| f == name)?;
                    fields.get(at + 1).cloned()
                };
                field("num-other-sentinels").as_deref() == Some("2")
                    && field("num-slaves").as_deref() == Some("1")
            })
        });
        Some(group)
    }

    /// `"127.0.0.1:PORT"` of each sentinel, for a `sentinels = [...]` key.
    pub fn addresses(&self) -> Vec<String> {
        self.sentinels
            .iter()
            .map(|sentinel| format!("127.0.0.1:{}", sentinel.port))
            .collect()
    }

    /// The master's port, as the first sentinel that answers says.
    pub fn master_port(&self) -> Option<u16> {
        self.sentinels.iter().find_map(|sentinel| {
            let reply = sentinel.query(&["SENTINEL", "get-master-addr-by-name", MASTER_NAME]);
            reply.ok()?.get(1)?.parse().ok()
        })
    }

    /// The server that is the master now.
    pub fn master(&mut self) -> &mut RedisProcess {
        let proxied = self.proxy.as_ref().map(|proxy| proxy.addr().port());
        let port = self.master_port().map(|port| {
            if Some(port) == proxied {
                self.servers[0].port()
            } else {
                port
            }
        });
        let at = self
            .servers
            .iter()
            .position(|server| Some(server.port()) == port)
            .unwrap_or_else(|| panic!("no server is the master ({port:?})\n{}", self.report()));
        &mut self.servers[at]
    }

    /// Waits until the sentinels name a master other than `old` (a port)
    /// and it says it is one; returns when. Panics after twice [`TIMEOUT`].
    pub fn wait_promoted(&self, old: u16) -> Instant {
        let deadline = Instant::now() + TIMEOUT * 2;
        loop {
            if let Some(port) = self.master_port().filter(|&port| port != old) {
                let server = self.servers.iter().find(|server| server.port() == port);
                let role = server.map(|server| server.query(&["ROLE"]));
                if role.is_some_and(|role| {
                    role.is_ok_and(|role| role.first().is_some_and(|r| r == "master"))
                }) {
                    return Instant::now();
                }
            }
            assert!(
                Instant::now() < deadline,
                "no failover from port {old}\n{}",
                self.report()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn until(&self, what: &str, done: impl Fn(&SentinelGroup) -> bool) {
        let deadline = Instant::now() + TIMEOUT * 2;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "never: {what}\n{}",
                self.report()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every process's command, status and output.
    pub fn report(&self) -> String {
        let mut text: Vec<String> = self.servers.iter().map(RedisProcess::report).collect();
        for sentinel in &self.sentinels {
            text.push(format!(
                "redis-sentinel on port {}:\n{}",
                sentinel.port,
                sentinel.proc.report()
            ));
        }
        text.join("\n")
    }
}

impl Drop for SentinelGroup {
    fn drop(&mut self) {
        for sentinel in &mut self.sentinels {
            sentinel.proc.kill();
        }
        if thread::panicking() {
            #[allow(clippy::print_stderr, reason = "the failing test's report")]
            {
                for sentinel in &self.sentinels {
                    eprintln!(
                        "--- redis-sentinel on port {}:\n{}",
                        sentinel.port,
                        sentinel.proc.report()
                    );
                }
            }
        }
    }
}

impl Sentinel {
    /// A sentinel watching the master on `master_port`, answering `PING`.
    fn start(program: &PathBuf, master_port: u16) -> Sentinel {
        let dir = TempDir::new("sentinel");
        let port = free_port();
        let config = dir.path().join("sentinel.conf");
        let text = format!(
            "port {port}\nbind 127.0.0.1\ndaemonize no\ndir {}\n\
             sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n\
             sentinel down-after-milliseconds {MASTER_NAME} {}\n\
             sentinel failover-timeout {MASTER_NAME} 5000\n\
             sentinel parallel-syncs {MASTER_NAME} 1\n",
            dir.path().display(),
            DOWN_AFTER.as_millis()
        );
        std::fs::write(&config, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
        let mut cmd = Command::new(program);
        cmd.arg(&config).current_dir(dir.path());
        let mut sentinel = Sentinel {
            port,
            proc: Proc::spawn(cmd),
            _dir: dir,
        };
        let deadline = Instant::now() + TIMEOUT;
        while sentinel.query(&["PING"]).is_err() {
            if sentinel.proc.has_exited() || Instant::now() >= deadline {
                sentinel.proc.kill();
                panic!(
                    "redis-sentinel did not start on port {port}\n{}",
                    sentinel.proc.report()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
        sentinel
    }

    fn query(&self, args: &[&str]) -> Result<Vec<String>, String> {
        query(SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)), args)
    }
}
