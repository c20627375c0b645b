//! Starting, pinning and stopping the servers under test: chat-server with a
//! temporary server.toml, `redis-server` and `ncat --chat`, each on a free
//! loopback port and pinned to CPU 0 with `taskset`.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::dialect::Dialect;
use crate::sys;

/// How the servers are started.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The chat-server binary.
    pub server_bin: PathBuf,
    /// A scratch directory for the temporary server.toml.
    pub scratch: PathBuf,
    /// The CPU the server is pinned to (None: not pinned).
    pub cpu: Option<usize>,
}

/// One running server; killed and reaped when dropped.
#[derive(Debug)]
pub struct Server {
    pub dialect: Dialect,
    pub addr: SocketAddr,
    pub pid: u32,
    child: Child,
}

/// The server.toml chat-server runs with in the bench.
pub const OUR_CONFIG: &str = "\
# Written by chat-bench: benchmark settings, loopback only.
listen = [\"127.0.0.1:0\"]
console = false
flood_rate = 0.0
max_clients = 19500
max_clients_per_ip = 19500
max_queue_bytes = 4194304
handshake_timeout = 0
idle_timeout = 0
keepalive = 0
";

/// Whether a peer's program is installed.
pub fn installed(dialect: Dialect) -> bool {
    let prog = match dialect {
        Dialect::Ours => return true,
        Dialect::Ncat => "ncat",
        Dialect::Redis => "redis-server",
    };
    Command::new(prog)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn pinned(launch: &Launch, program: &Path) -> Command {
    let mut cmd = pinned_command(launch, program);
    // SAFETY: the hook runs in the forked child before exec and only makes
    // one async-signal-safe syscall.
    unsafe {
        cmd.pre_exec(|| {
            // The server dies with the bench, even when the bench is killed.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd
}

fn pinned_command(launch: &Launch, program: &Path) -> Command {
    match launch.cpu {
        Some(cpu) if Command::new("taskset").arg("-V").output().is_ok() => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpu.to_string()).arg(program);
            c
        }
        _ => Command::new(program),
    }
}

impl Server {
    /// Starts `dialect`'s server and waits until it accepts connections.
    pub fn start(dialect: Dialect, launch: &Launch) -> Result<Server, String> {
        match dialect {
            Dialect::Ours => start_ours(launch),
            Dialect::Redis => {
                let port = sys::free_port().map_err(|e| e.to_string())?;
                let mut cmd = pinned(launch, Path::new("redis-server"));
                // Protected mode admits 127.0.0.1 only; clients come from all of
                // 127.0.0.0/8, and the server is bound to loopback anyway.
                cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                    .args(["--protected-mode", "no"])
                    .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                    .args(["--maxclients", &dialect.max_clients().to_string()])
                    .args(["--loglevel", "warning", "--logfile", ""]);
                start_plain(dialect, cmd, port)
            }
            Dialect::Ncat => {
                let port = sys::free_port().map_err(|e| e.to_string())?;
                let mut cmd = pinned(launch, Path::new("ncat"));
                cmd.args(["-l", "--chat", "--max-conns", "1020", "127.0.0.1"])
                    .arg(port.to_string());
                start_plain(dialect, cmd, port)
            }
        }
    }

    /// The server's resident memory, in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        sys::status_kib(self.pid, "VmRSS")
    }

    /// Read and write syscalls the server has made.
    pub fn syscalls(&self) -> Option<(u64, u64)> {
        sys::syscalls(self.pid)
    }

    /// Whether the server still runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_ours(launch: &Launch) -> Result<Server, String> {
    std::fs::create_dir_all(&launch.scratch).map_err(|e| e.to_string())?;
    let config = launch.scratch.join("server.toml");
    std::fs::write(&config, OUR_CONFIG).map_err(|e| format!("{}: {e}", config.display()))?;
    let mut cmd = pinned(launch, &launch.server_bin);
    cmd.arg("--config")
        .arg(&config)
        .arg("--no-console")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", launch.server_bin.display()))?;
    let Some(stderr) = child.stderr.take() else {
        let _ = child.kill();
        return Err("no stderr pipe".into());
    };
    let (tx, rx) = mpsc::channel();
    // Reads the `listening on ADDR` line, then drains the log so the server
    // never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.strip_prefix("listening on ") {
                let _ = tx.send(addr.trim().to_owned());
            }
        }
    });
    let pid = child.id();
    let addr = match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(a) => a,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err("chat-server printed no `listening on` line within 10 s".into());
        }
    };
    let addr: SocketAddr = addr
        .parse()
        .map_err(|e| format!("bad listen address {addr}: {e}"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("chat-server listens on {addr}, not loopback"));
    }
    Ok(Server {
        dialect: Dialect::Ours,
        addr,
        pid,
        child,
    })
}

fn start_plain(dialect: Dialect, mut cmd: Command, port: u16) -> Result<Server, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", dialect.key()))?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{} exited at start: {status}", dialect.key()));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{} did not listen on {addr} within 10 s",
                dialect.key()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id();
    Ok(Server {
        dialect,
        addr,
        pid,
        child,
    })
}
