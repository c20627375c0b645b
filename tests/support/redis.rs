//! A `redis-server` of a test's own: a temp dir, a free loopback port (or,
//! in a [`NetLab`]'s namespace, its addresses there), no persistence, ready
//! once it answers `PING`; spoken to over raw RESP.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::{NetLab, Proc, TIMEOUT, TempDir, free_port, require_tool};

/// A running (or stopped, see [`RedisProcess::stop`]) redis-server. Dropping
/// it kills the server and removes its temp dir; when the test is failing,
/// the report of every run of it goes to stderr first.
#[derive(Debug)]
pub struct RedisProcess {
    program: PathBuf,
    port: u16,
    /// Where it listens (the first is where the test speaks to it).
    binds: Vec<IpAddr>,
    /// `ip netns exec NAMESPACE` before the program, inside a [`NetLab`].
    namespace: Option<String>,
    /// More arguments (`--replicaof HOST PORT`).
    extra: Vec<String>,
    /// Every run, the current one last: their outputs are in the report.
    runs: Vec<Proc>,
    running: bool,
    // Last: the processes go before their directory.
    dir: TempDir,
}

impl RedisProcess {
    /// Starts redis-server on a free port and waits until it answers `PING`.
    /// `None` when redis-server is not installed: the calling test is then
    /// skipped, or fails under `CHAT_TESTS_REQUIRE=1` (see
    /// [`crate::missing`]). A port taken between the probe and redis's bind
    /// is retried with another.
    pub fn start() -> Option<RedisProcess> {
        RedisProcess::start_with(&[])
    }

    /// [`RedisProcess::start`] with more arguments for redis-server.
    pub fn start_with(extra: &[&str]) -> Option<RedisProcess> {
        let program = require_tool("redis-server")?;
        let mut redis = RedisProcess {
            program,
            port: 0,
            binds: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            namespace: None,
            extra: extra.iter().map(|&arg| arg.to_owned()).collect(),
            runs: Vec::new(),
            running: false,
            dir: TempDir::new("redis"),
        };
        let mut failures = Vec::new();
        for _ in 0..3 {
            redis.port = free_port();
            match redis.spawn() {
                Ok(()) => return Some(redis),
                Err(why) => failures.push(why),
            }
        }
        panic!(
            "redis-server did not start:\n{}\n{}",
            failures.join("\n"),
            redis.report()
        );
    }

    /// Starts redis-server inside `lab`'s namespace, listening on port 6379
    /// of each of its addresses there ([`NetLab::inner_addr`]), and waits
    /// until it answers `PING` over link 0. `None` when redis-server is not
    /// installed (see [`RedisProcess::start`]).
    pub fn start_in(lab: &NetLab, links: usize) -> Option<RedisProcess> {
        let program = require_tool("redis-server")?;
        let mut redis = RedisProcess {
            program,
            port: 6379,
            binds: (0..links)
                .map(|link| IpAddr::V4(lab.inner_addr(link)))
                .collect(),
            namespace: Some(lab.namespace().to_owned()),
            extra: Vec::new(),
            runs: Vec::new(),
            running: false,
            dir: TempDir::new("redis"),
        };
        if let Err(why) = redis.spawn() {
            panic!(
                "redis-server did not start in {}: {why}\n{}",
                lab.namespace(),
                redis.report()
            );
        }
        Some(redis)
    }

    /// Starts it again on the same port (after [`RedisProcess::stop`]).
    pub fn restart(&mut self) {
        assert!(!self.running, "redis-server is already running");
        if let Err(why) = self.spawn() {
            panic!("redis-server did not restart: {why}\n{}", self.report());
        }
    }

    fn spawn(&mut self) -> Result<(), String> {
        let mut cmd = match &self.namespace {
            Some(namespace) => {
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", namespace]).arg(&self.program);
                cmd
            }
            None => Command::new(&self.program),
        };
        let binds: Vec<String> = self.binds.iter().map(IpAddr::to_string).collect();
        cmd.args(["--port", &self.port.to_string(), "--bind"])
            .args(&binds)
            .args(["--save", "", "--appendonly", "no"])
            .args(&self.extra)
            .current_dir(self.dir.path());
        if self.namespace.is_some() {
            // Clients come over the lab's links, not the loopback; the
            // namespace is the test's own, reachable from this host only.
            cmd.args(["--protected-mode", "no"]);
        }
        self.runs.push(Proc::spawn(cmd));
        self.running = true;
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let why = match self.query(&["PING"]) {
                Ok(reply) if reply == ["PONG"] => return Ok(()),
                Ok(reply) => format!("PING answered {reply:?}"),
                Err(e) => e,
            };
            let proc = self.runs.last_mut().expect("pushed above");
            if proc.has_exited() || Instant::now() >= deadline {
                proc.kill();
                self.running = false;
                return Err(format!("no PONG on port {}: {why}", self.port));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it (SIGKILL); the port stays reserved for
    /// [`RedisProcess::restart`].
    pub fn stop(&mut self) {
        if let Some(proc) = self.runs.last_mut() {
            proc.kill();
        }
        self.running = false;
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT` (or its first address), for a `[cluster]`
    /// table.
    pub fn url(&self) -> String {
        self.url_via(0)
    }

    /// The URL of its `bind`th address (a [`NetLab`] link).
    pub fn url_via(&self, bind: usize) -> String {
        format!("redis://{}:{}", self.binds[bind], self.port)
    }

    /// Waits until every `(channel, count)` has `count` subscribers (`PUBSUB
    /// NUMSUB`): the nodes' subscriber threads are listening, so nothing
    /// published from now on is missed. Panics after [`TIMEOUT`].
    pub fn wait_subscribers(&self, wanted: &[(&str, u32)]) {
        let mut args = vec!["PUBSUB", "NUMSUB"];
        args.extend(wanted.iter().map(|&(channel, _)| channel));
        let expected: Vec<String> = wanted
            .iter()
            .flat_map(|&(channel, count)| [channel.to_owned(), count.to_string()])
            .collect();
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let reply = self.query(&args);
            if reply.as_ref().is_ok_and(|reply| *reply == expected) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "`{}` never answered {expected:?}; last answer: {reply:?}\n{}",
                args.join(" "),
                self.report()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// One command over a fresh connection, in raw RESP; the reply's strings
    /// and integers, flattened.
    pub fn query(&self, args: &[&str]) -> Result<Vec<String>, String> {
        query(SocketAddr::new(self.binds[0], self.port), args)
    }

    /// Whether it still runs (not [`RedisProcess::stop`]ped).
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Every run's command, directory, status and output.
    pub fn report(&self) -> String {
        let runs: Vec<String> = self.runs.iter().map(Proc::report).collect();
        format!("redis-server on port {}:\n{}", self.port, runs.join("\n"))
    }
}

/// One command to the Redis (or Sentinel) at `addr` over a fresh
/// connection, in raw RESP; the reply's strings and integers, flattened.
pub(crate) fn query(addr: SocketAddr, args: &[&str]) -> Result<Vec<String>, String> {
    let timeout = Duration::from_secs(1);
    let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    (&stream)
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut items = Vec::new();
    read_reply(&mut BufReader::new(stream), &mut items)?;
    Ok(items)
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.stop();
        if thread::panicking() {
            #[allow(clippy::print_stderr, reason = "the failing test's report")]
            {
                eprintln!("--- {}", self.report());
            }
        }
    }
}

/// Reads one RESP reply into `items` (arrays flattened).
fn read_reply(reader: &mut impl BufRead, items: &mut Vec<String>) -> Result<(), String> {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) => return Err("redis closed the connection".into()),
        Ok(_) => {}
        Err(e) => return Err(e.to_string()),
    }
    let line = line.trim_end_matches(['\r', '\n']);
    let (kind, rest) = line.split_at_checked(1).unwrap_or(("", ""));
    let number = || {
        rest.parse::<i64>()
            .map_err(|_| format!("bad RESP line `{line}`"))
    };
    match kind {
        "+" | ":" => items.push(rest.to_owned()),
        "-" => return Err(format!("redis: {rest}")),
        "$" => {
            let Ok(len) = usize::try_from(number()?) else {
                items.push(String::new()); // nil
                return Ok(());
            };
            let mut bulk = vec![0; len + 2];
            reader.read_exact(&mut bulk).map_err(|e| e.to_string())?;
            bulk.truncate(len);
            items.push(String::from_utf8_lossy(&bulk).into_owned());
        }
        "*" => {
            for _ in 0..number()?.max(0) {
                read_reply(reader, items)?;
            }
        }
        _ => return Err(format!("bad RESP line `{line}`")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::read_reply;

    fn reply(bytes: &[u8]) -> Result<Vec<String>, String> {
        let mut items = Vec::new();
        read_reply(&mut &bytes[..], &mut items).map(|()| items)
    }

    #[test]
    fn resp_replies() {
        assert_eq!(reply(b"+PONG\r\n"), Ok(vec!["PONG".to_owned()]));
        assert_eq!(
            reply(b"*4\r\n$10\r\nchat:rooms\r\n:2\r\n$11\r\nchat:node:a\r\n:1\r\n"),
            Ok(["chat:rooms", "2", "chat:node:a", "1"]
                .map(String::from)
                .to_vec())
        );
        assert!(reply(b"-ERR unknown command\r\n").is_err());
        assert!(reply(b"").is_err());
    }
}
