//! `chat-server` as a child process on free ports, in a temp dir of its own.
//!
//! This is the one place in the test code that starts `chat-server` and
//! waits for its `listening on` lines.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, ExitStatus};
use std::time::Duration;

use crate::{Client, Proc, TempDir, command};

/// A running `chat-server`. Dropping it kills the server and removes its
/// temp dir; when the test is failing, its report goes to stderr first.
#[derive(Debug)]
pub struct ServerProcess {
    // Declared before `dir`: the process goes before its directory.
    proc: Proc,
    /// Every listener, in the order printed, and what it speaks.
    listeners: Vec<(SocketAddr, Kind)>,
    addrs: Vec<SocketAddr>,
    /// How it was started, for [`ServerProcess::restart`].
    args: Vec<String>,
    env: Vec<(String, String)>,
    max_fds: Option<u64>,
    /// The `[metrics]` listener, once its line was read.
    metrics: Option<SocketAddr>,
    dir: TempDir,
}

/// What a listener speaks, from its `listening on` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Lines over TCP: `listening on ADDR`.
    Plain,
    /// Lines over TLS: `listening on ADDR (TLS)`.
    Tls,
    /// The page and its WebSocket: `listening on ADDR (web)` or `(web, TLS)`.
    Web,
    /// IRC: `listening on ADDR (irc)` or `(irc, TLS)`.
    Irc,
    /// IRC over WebSocket: `listening on ADDR (web, irc)`.
    WebIrc,
}

/// How to start a server: see [`ServerProcess::builder`].
#[derive(Debug)]
pub struct ServerBuilder {
    dir: TempDir,
    args: Vec<String>,
    listeners: Option<usize>,
    max_fds: Option<u64>,
    env: Vec<(String, String)>,
}

impl ServerBuilder {
    /// Writes `config` to `server.toml` in the server's temp dir and adds
    /// `--config server.toml`.
    pub fn config(mut self, config: &str) -> ServerBuilder {
        self.dir.write("server.toml", config);
        self.args
            .extend(["--config".to_owned(), "server.toml".to_owned()]);
        self
    }

    /// Writes `contents` to `name` in the server's temp dir (a file the
    /// config names, such as a certificate).
    pub fn file(self, name: &str, contents: &str) -> ServerBuilder {
        self.dir.write(name, contents);
        self
    }

    /// Sets an environment variable for the server (`NOTIFY_SOCKET`, say).
    pub fn env(mut self, name: &str, value: &str) -> ServerBuilder {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds command-line arguments.
    pub fn args(mut self, args: &[&str]) -> ServerBuilder {
        self.args.extend(args.iter().map(|&arg| arg.to_owned()));
        self
    }

    /// How many `listening on` lines to wait for, when the config file
    /// names the listeners (then no `--listen` is added). By default: one
    /// per `--listen` argument, or, without any, one for an added
    /// `--listen 127.0.0.1:0`.
    pub fn listeners(mut self, count: usize) -> ServerBuilder {
        self.listeners = Some(count);
        self
    }

    /// Lowers the server's file descriptor limit to `max_fds` (soft and
    /// hard), so running out of descriptors is reachable in a test.
    pub fn fd_limit(mut self, max_fds: u64) -> ServerBuilder {
        self.max_fds = Some(max_fds);
        self
    }

    /// Starts the server in its temp dir and waits for its `listening on`
    /// lines (panicking with its output if they do not come).
    pub fn start(self) -> ServerProcess {
        let ServerBuilder {
            dir,
            mut args,
            listeners,
            max_fds,
            env,
        } = self;
        let listeners =
            listeners.unwrap_or_else(|| match args.iter().filter(|&a| a == "--listen").count() {
                0 => {
                    args.extend(["--listen".to_owned(), "127.0.0.1:0".to_owned()]);
                    1
                }
                n => n,
            });
        let (proc, listeners) = spawn(&dir, &args, &env, listeners, max_fds);
        let addrs = listeners.iter().map(|&(addr, _)| addr).collect();
        ServerProcess {
            proc,
            listeners,
            addrs,
            args,
            env,
            max_fds,
            metrics: None,
            dir,
        }
    }
}

/// Starts `chat-server ARGS` in `dir` and waits for `listeners` lines of
/// `listening on`.
fn spawn(
    dir: &TempDir,
    args: &[String],
    env: &[(String, String)],
    listeners: usize,
    max_fds: Option<u64>,
) -> (Proc, Vec<(SocketAddr, Kind)>) {
    let mut cmd = command("chat-server");
    cmd.current_dir(dir.path()).args(args);
    cmd.envs(env.iter().map(|(name, value)| (name, value)));
    if let Some(max_fds) = max_fds {
        limit_fds(&mut cmd, max_fds);
    }
    let mut proc = Proc::spawn(cmd);
    let listeners = (0..listeners)
        .map(|_| {
            let line = proc.expect_stderr("listening on ");
            // `listening on ADDR`, `listening on ADDR (TLS)`, `(raw)`,
            // `(irc)`..., alone or as the message of a JSON line
            // (`log_format = "json"`).
            let said = line.split("listening on ").nth(1).unwrap_or_default();
            let addr = said
                .split(|c: char| c.is_whitespace() || c == '"')
                .next()
                .unwrap_or_default();
            let addr = addr
                .parse()
                .unwrap_or_else(|e| panic!("bad address in {line:?}: {e}\n{}", proc.report()));
            let kind = if said.contains(" (web, irc") {
                Kind::WebIrc
            } else if said.contains(" (irc") {
                Kind::Irc
            } else if said.contains(" (web") {
                Kind::Web
            } else if said.contains("TLS)") {
                Kind::Tls
            } else {
                Kind::Plain
            };
            (addr, kind)
        })
        .collect();
    (proc, listeners)
}

/// Sets RLIMIT_NOFILE to `max_fds` in the child before it runs.
fn limit_fds(cmd: &mut Command, max_fds: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec only setrlimit runs, which is
    // async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: max_fds,
                rlim_max: max_fds,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

impl ServerProcess {
    /// A server to configure, in a fresh temp dir; see [`ServerBuilder`].
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            dir: TempDir::new("server"),
            args: Vec::new(),
            listeners: None,
            max_fds: None,
            env: Vec::new(),
        }
    }

    /// Starts `chat-server ARGS` and waits for its `listening on` lines (one
    /// per `--listen`). Without `--listen` in `args`, `--listen 127.0.0.1:0`
    /// is added.
    pub fn start(args: &[&str]) -> ServerProcess {
        ServerProcess::builder().args(args).start()
    }

    /// Like [`ServerProcess::start`], with `config` written to `server.toml`
    /// in the server's temp dir and `--config server.toml` added.
    pub fn start_with_config(config: &str, args: &[&str]) -> ServerProcess {
        ServerProcess::builder().config(config).args(args).start()
    }

    /// Like [`ServerProcess::start_with_config`], with the server's file
    /// descriptor limit lowered to `max_fds` (soft and hard).
    pub fn start_with_fd_limit(config: &str, args: &[&str], max_fds: u64) -> ServerProcess {
        ServerProcess::builder()
            .config(config)
            .args(args)
            .fd_limit(max_fds)
            .start()
    }

    /// The first address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Every address the server listens on, in the order printed.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The first plain (not TLS, not web, not IRC) address the server
    /// listens on.
    pub fn plain_addr(&self) -> SocketAddr {
        self.listener(Kind::Plain)
    }

    /// The first TLS address the server listens on.
    pub fn tls_addr(&self) -> SocketAddr {
        self.listener(Kind::Tls)
    }

    /// The first web listener's address (`listening on ADDR (web)`).
    pub fn web_addr(&self) -> SocketAddr {
        self.listener(Kind::Web)
    }

    /// The first IRC listener's address.
    pub fn irc_addr(&self) -> SocketAddr {
        self.listener(Kind::Irc)
    }

    /// The first IRC-over-WebSocket listener's address.
    pub fn web_irc_addr(&self) -> SocketAddr {
        self.listener(Kind::WebIrc)
    }

    fn listener(&self, kind: Kind) -> SocketAddr {
        self.listeners
            .iter()
            .find(|&&(_, is)| is == kind)
            .map(|&(addr, _)| addr)
            .unwrap_or_else(|| panic!("the server has no {kind:?} listener\n{}", self.report()))
    }

    /// The `[metrics]` listener's address (the config must set one): read
    /// from the `metrics on http://ADDR/metrics` line that follows the
    /// `listening on` lines.
    pub fn metrics_addr(&mut self) -> SocketAddr {
        if let Some(addr) = self.metrics {
            return addr;
        }
        let line = self.proc.expect_stderr("metrics on http://");
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split(['/', '"']).next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("bad metrics line {line:?}\n{}", self.report()));
        self.metrics = Some(addr);
        addr
    }

    /// Sends `signal` (`libc::SIGHUP`, say) to the server.
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.pid()).unwrap_or(libc::pid_t::MAX);
        // SAFETY: kill(2) with a valid signal number has no memory-safety
        // preconditions; the pid is our own child, not yet reaped.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(
            rc,
            0,
            "kill({pid}, {signal}): {}",
            std::io::Error::last_os_error()
        );
    }

    /// The server's working directory.
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// A line client connected to [`ServerProcess::addr`].
    pub fn connect(&self) -> Client {
        Client::connect(self.addr())
    }

    /// A line client connected and welcomed (see [`Client::join`]).
    pub fn join(&self) -> Client {
        Client::join(self.addr())
    }

    /// Types one operator console line (needs `--console`).
    pub fn console(&mut self, line: &str) {
        self.proc.write_line(line);
    }

    /// Waits for the next console (stdout) line containing `needle`.
    pub fn expect_console(&mut self, needle: &str) -> String {
        self.proc.expect_stdout(needle)
    }

    /// Waits for the next log (stderr) line containing `needle`.
    pub fn expect_log(&mut self, needle: &str) -> String {
        self.proc.expect_stderr(needle)
    }

    /// Waits for the server to exit (killing it and panicking after `timeout`).
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        self.proc.wait_exit(timeout)
    }

    /// The command, status and outputs, for failure messages.
    pub fn report(&self) -> String {
        self.proc.report()
    }

    /// Kills the server (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        self.proc.kill();
    }

    /// Asks the server to stop (SIGTERM) and waits until it has.
    pub fn stop(&mut self) -> ExitStatus {
        // SAFETY: kill(2) on our own child's pid; no memory is touched.
        let pid = libc::pid_t::try_from(self.pid()).unwrap_or(libc::pid_t::MAX);
        unsafe { libc::kill(pid, libc::SIGTERM) };
        self.wait_exit(crate::TIMEOUT)
    }

    /// Starts the server again, with the same arguments and in the same
    /// directory (its files kept), once the last run has ended
    /// ([`ServerProcess::stop`], [`ServerProcess::kill`]); it listens on new
    /// ports.
    pub fn restart(&mut self) {
        self.proc.kill();
        let count = self.listeners.len();
        let (proc, listeners) = spawn(&self.dir, &self.args, &self.env, count, self.max_fds);
        self.proc = proc;
        self.addrs = listeners.iter().map(|&(addr, _)| addr).collect();
        self.listeners = listeners;
    }

    pub fn proc(&mut self) -> &mut Proc {
        &mut self.proc
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.proc.kill();
        if std::thread::panicking() {
            #[allow(clippy::print_stderr, reason = "the failing test's report")]
            {
                eprintln!("--- chat-server at {:?}:\n{}", self.addrs, self.report());
            }
        }
    }
}

/// server.toml's entry for an operator `root` whose password is `the real
/// password`, hashed by the binary itself (the default, production cost:
/// about half a second in a debug build).
pub fn operator_config() -> String {
    let mut cmd = command("chat-server");
    cmd.arg("--hash-password");
    let mut hashing = Proc::run(cmd, b"the real password\n");
    hashing.assert_exit(0);
    let hash = hashing.stdout().trim().to_owned();
    format!("[[operators]]\nname = \"root\"\npassword_hash = \"{hash}\"\n")
}
