//! `chat-server` as a child process on free ports, in a temp dir of its own.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use crate::{Client, Proc, TempDir, command};

/// A running `chat-server`. Dropping it kills the server and removes its
/// temp dir.
#[derive(Debug)]
pub struct ServerProcess {
    // Declared before `dir`: the process goes before its directory.
    proc: Proc,
    addrs: Vec<SocketAddr>,
    dir: TempDir,
}

impl ServerProcess {
    /// Starts `chat-server ARGS` and waits for its `listening on` lines (one
    /// per `--listen`). Without `--listen` in `args`, `--listen 127.0.0.1:0`
    /// is added.
    pub fn start(args: &[&str]) -> ServerProcess {
        ServerProcess::start_in(TempDir::new("server"), args)
    }

    /// Like [`ServerProcess::start`], with `config` written to `server.toml`
    /// in the server's temp dir and `--config server.toml` added.
    pub fn start_with_config(config: &str, args: &[&str]) -> ServerProcess {
        let dir = TempDir::new("server");
        dir.write("server.toml", config);
        let mut all = vec!["--config", "server.toml"];
        all.extend_from_slice(args);
        ServerProcess::start_in(dir, &all)
    }

    /// Like [`ServerProcess::start_with_config`], with the server's file
    /// descriptor limit lowered to `max_fds` (soft and hard), so running out
    /// of descriptors is reachable in a test.
    pub fn start_with_fd_limit(config: &str, args: &[&str], max_fds: u64) -> ServerProcess {
        let dir = TempDir::new("server");
        dir.write("server.toml", config);
        let mut all = vec!["--config", "server.toml"];
        all.extend_from_slice(args);
        ServerProcess::start_customized(dir, &all, |cmd| {
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
        })
    }

    fn start_in(dir: TempDir, args: &[&str]) -> ServerProcess {
        ServerProcess::start_customized(dir, args, |_| {})
    }

    fn start_customized(
        dir: TempDir,
        args: &[&str],
        customize: impl FnOnce(&mut std::process::Command),
    ) -> ServerProcess {
        let mut listeners = args.iter().filter(|&&a| a == "--listen").count();
        let mut cmd = command("chat-server");
        cmd.current_dir(dir.path()).args(args);
        customize(&mut cmd);
        if listeners == 0 {
            cmd.args(["--listen", "127.0.0.1:0"]);
            listeners = 1;
        }
        let mut proc = Proc::spawn(cmd);
        let addrs = (0..listeners)
            .map(|_| {
                let line = proc.expect_stderr("listening on ");
                // `listening on ADDR` or `listening on ADDR (TLS)`.
                let addr = line.split_whitespace().nth(2).unwrap_or_default();
                addr.parse()
                    .unwrap_or_else(|e| panic!("bad address in {line:?}: {e}\n{}", proc.report()))
            })
            .collect();
        ServerProcess { proc, addrs, dir }
    }

    /// The first address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Every address the server listens on, in the order printed.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
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

    pub fn proc(&mut self) -> &mut Proc {
        &mut self.proc
    }
}
