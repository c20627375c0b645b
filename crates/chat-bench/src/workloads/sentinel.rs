//! The failover workload's Redis: a master, a replica and three
//! `redis-sentinel`s watching them under the name `chat` (quorum 2), each
//! on a free loopback port, pinned like the other servers, with a scratch
//! directory of its own; every process is killed and reaped when dropped.
//! The settings are the e2e test's (`tests/support/sentinel.rs`): a master
//! silent for [`DOWN_AFTER`] is down, a failover may take 5 s. Also the
//! small RESP client the workload asks the sentinels and servers with.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::servers::{Launch, pinned, program_installed};
use crate::sys;

/// How long a master may be silent before a sentinel thinks it down.
pub const DOWN_AFTER: Duration = Duration::from_millis(1000);

/// The master's name in the sentinels' configuration.
pub const MASTER_NAME: &str = "chat";

/// A sentinel's log file, in its directory.
const LOG: &str = "sentinel.log";

/// What [`SentinelGroup::events`] picks from the sentinels' logs.
const EVENTS: [&str; 7] = [
    "tilt",
    "+sdown",
    "+odown",
    "+switch-master",
    "failover-abort",
    "+elected-leader",
    "+promoted-slave",
];

/// How long the group may take to start (sync, sentinels meeting).
const START_WITHIN: Duration = Duration::from_secs(20);

/// A process killed and reaped when dropped.
#[derive(Debug)]
struct Proc {
    port: u16,
    child: Child,
}

impl Proc {
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Two Redis servers (master and replica at first) and three sentinels.
#[derive(Debug)]
pub struct SentinelGroup {
    servers: Vec<Proc>,
    sentinels: Vec<Proc>,
    dir: PathBuf,
}

/// Whether redis-server and redis-sentinel are installed.
pub fn installed() -> Result<(), String> {
    for prog in ["redis-server", "redis-sentinel"] {
        if !program_installed(prog) {
            return Err(format!(
                "{prog} is not installed (`apt-get install redis-server redis-sentinel`)"
            ));
        }
    }
    Ok(())
}

impl SentinelGroup {
    /// Starts the group in `launch.scratch`/`tag` and waits until the
    /// replica has synchronised and each sentinel knows the replica and
    /// the two other sentinels.
    pub fn start(launch: &Launch, tag: &str) -> Result<SentinelGroup, String> {
        let dir = launch.scratch.join(tag);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut group = SentinelGroup {
            servers: Vec::new(),
            sentinels: Vec::new(),
            dir,
        };
        let master = group.redis(launch, &[])?;
        let master_port = master.port;
        group.servers.push(master);
        let replica = group.redis(
            launch,
            &["--replicaof", "127.0.0.1", &master_port.to_string()],
        )?;
        group.servers.push(replica);
        group.until("the replica synchronised", |g| {
            let info = query(local(g.servers[1].port), &["INFO", "replication"]);
            info.is_ok_and(|info| info.concat().contains("master_link_status:up"))
        })?;
        for i in 0..3 {
            let sentinel = group.sentinel(launch, i, master_port)?;
            group.sentinels.push(sentinel);
        }
        group.until("the sentinels know each other and the replica", |g| {
            g.sentinels.iter().all(|s| {
                let fields = query(local(s.port), &["SENTINEL", "MASTER", MASTER_NAME]);
                let fields = fields.unwrap_or_default();
                let field = |name: &str| {
                    let at = fields.iter().position(|f| f == name)?;
                    fields.get(at + 1).cloned()
                };
                field("num-other-sentinels").as_deref() == Some("2")
                    && field("num-slaves").as_deref() == Some("1")
            })
        })?;
        Ok(group)
    }

    /// `"127.0.0.1:PORT"` of each sentinel, for a `sentinels = [...]` key.
    pub fn addresses(&self) -> Vec<String> {
        (self.sentinels.iter())
            .map(|s| format!("127.0.0.1:{}", s.port))
            .collect()
    }

    /// The master's port, as the first sentinel that answers says.
    pub fn master_port(&self) -> Option<u16> {
        self.sentinels.iter().find_map(|s| {
            let reply = query(
                local(s.port),
                &["SENTINEL", "get-master-addr-by-name", MASTER_NAME],
            );
            reply.ok()?.get(1)?.parse().ok()
        })
    }

    /// Whether the server on `port` says it is a master.
    pub fn is_master(port: u16) -> bool {
        query(local(port), &["ROLE"]).is_ok_and(|r| r.first().is_some_and(|r| r == "master"))
    }

    /// Kills the server on `port` with SIGKILL.
    pub fn kill(&mut self, port: u16) {
        if let Some(server) = self.servers.iter_mut().find(|s| s.port == port) {
            server.kill();
        }
    }

    /// The last events each sentinel logged (switches, TILT, aborted
    /// failovers): what a failed run shows of why.
    pub fn events(&self) -> String {
        let mut out = Vec::new();
        for i in 0..self.sentinels.len() {
            let path = self.dir.join(format!("sentinel-{i}")).join(LOG);
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let events: Vec<&str> = (text.lines())
                .filter(|l| EVENTS.iter().any(|e| l.contains(e)))
                .collect();
            let last = &events[events.len().saturating_sub(6)..];
            out.push(format!("sentinel {i}: [{}]", last.join(" | ")));
        }
        out.join("; ")
    }

    /// Whether every process of the group but those on `gone` still runs.
    pub fn running(&mut self, gone: &[u16]) -> bool {
        (self.servers.iter_mut().chain(self.sentinels.iter_mut()))
            .filter(|p| !gone.contains(&p.port))
            .all(|p| matches!(p.child.try_wait(), Ok(None)))
    }

    fn until(&self, what: &str, done: impl Fn(&SentinelGroup) -> bool) -> Result<(), String> {
        let deadline = Instant::now() + START_WITHIN;
        while !done(self) {
            if Instant::now() > deadline {
                return Err(format!("never within {START_WITHIN:?}: {what}"));
            }
            thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// A redis-server with `args`, answering `PING`.
    fn redis(&self, launch: &Launch, args: &[&str]) -> Result<Proc, String> {
        let port = sys::free_port().map_err(|e| e.to_string())?;
        let mut cmd = pinned(launch, Path::new("redis-server"));
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--protected-mode", "no", "--save", "", "--appendonly", "no"])
            .args([
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
                "--logfile",
                "",
            ])
            // The frozen master's `DEBUG SLEEP`, from loopback only.
            .args(["--enable-debug-command", "local"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--dbfilename", &format!("dump-{port}.rdb")])
            .args(args);
        spawn(cmd, port, "redis-server")
    }

    /// Sentinel `i`, watching the master on `master_port`.
    fn sentinel(&self, launch: &Launch, i: usize, master_port: u16) -> Result<Proc, String> {
        let port = sys::free_port().map_err(|e| e.to_string())?;
        let dir = self.dir.join(format!("sentinel-{i}"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let config = dir.join("sentinel.conf");
        let text = format!(
            "port {port}\nbind 127.0.0.1\nprotected-mode no\ndaemonize no\ndir {}\n\
             logfile {}\n\
             sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n\
             sentinel down-after-milliseconds {MASTER_NAME} {}\n\
             sentinel failover-timeout {MASTER_NAME} 5000\n\
             sentinel parallel-syncs {MASTER_NAME} 1\n",
            dir.display(),
            dir.join(LOG).display(),
            DOWN_AFTER.as_millis()
        );
        std::fs::write(&config, text).map_err(|e| format!("{}: {e}", config.display()))?;
        let mut cmd = pinned(launch, Path::new("redis-sentinel"));
        cmd.arg(&config).current_dir(&dir);
        spawn(cmd, port, "redis-sentinel")
    }
}

/// Starts `cmd` and waits until it answers `PING` on `port`.
fn spawn(mut cmd: std::process::Command, port: u16, what: &str) -> Result<Proc, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    let mut proc = Proc { port, child };
    let deadline = Instant::now() + Duration::from_secs(10);
    while query(local(port), &["PING"]).is_err() {
        if !matches!(proc.child.try_wait(), Ok(None)) || Instant::now() > deadline {
            proc.kill();
            return Err(format!("{what} did not start on port {port}"));
        }
        thread::sleep(Duration::from_millis(20));
    }
    Ok(proc)
}

/// 127.0.0.1:`port`.
pub fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Sends one command and reads its reply, flattened to strings (a nil is
/// an empty string); an error reply is an `Err`. Bounded by a second.
pub fn query(addr: SocketAddr, args: &[&str]) -> Result<Vec<String>, String> {
    let wait = Duration::from_secs(1);
    let stream = TcpStream::connect_timeout(&addr, wait).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(wait))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(wait))
        .map_err(|e| e.to_string())?;
    let mut request = format!("*{}\r\n", args.len());
    for a in args {
        request.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    (&stream)
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let mut out = Vec::new();
    read_reply(&mut reader, &mut out, 0)?;
    Ok(out)
}

fn read_reply(
    reader: &mut BufReader<TcpStream>,
    out: &mut Vec<String>,
    depth: usize,
) -> Result<(), String> {
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| e.to_string())?;
    let line = line.trim_end();
    let (kind, rest) = line.split_at_checked(1).ok_or("closed")?;
    let n = || rest.parse::<i64>().map_err(|e| format!("{line:?}: {e}"));
    match kind {
        "+" | ":" => out.push(rest.to_owned()),
        "-" => return Err(rest.to_owned()),
        "$" if n()? < 0 => out.push(String::new()),
        "$" => {
            let len = usize::try_from(n()?).map_err(|e| e.to_string())?;
            let mut bytes = vec![0; len + 2];
            std::io::Read::read_exact(reader, &mut bytes).map_err(|e| e.to_string())?;
            bytes.truncate(len);
            out.push(String::from_utf8_lossy(&bytes).into_owned());
        }
        "*" if depth < 4 => {
            for _ in 0..n()?.max(0) {
                read_reply(reader, out, depth + 1)?;
            }
        }
        _ => return Err(format!("not a reply: {line:?}")),
    }
    Ok(())
}

/// The status code of `GET path` on `addr` (0: no answer within a second).
pub fn http_status(addr: SocketAddr, path: &str) -> u16 {
    let wait = Duration::from_secs(1);
    let Ok(stream) = TcpStream::connect_timeout(&addr, wait) else {
        return 0;
    };
    let _ = stream.set_read_timeout(Some(wait));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if (&stream).write_all(request.as_bytes()).is_err() {
        return 0;
    }
    let mut line = String::new();
    let _ = BufReader::new(stream).read_line(&mut line);
    (line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}
