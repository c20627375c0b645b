//! Starting, pinning and stopping the servers under test: chat-server with a
//! temporary server.toml (plain, with a TLS or a web listener, or as two
//! cluster nodes sharing a `redis-server`, or with an IRC listener), `redis-server` and `ncat --chat`, each
//! on a free loopback port and pinned to CPU 0 with `taskset`.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::dialect::Dialect;
use crate::sys;
use crate::tls;

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
    /// For a TLS listener: the client side that trusts its certificate.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// For a cluster: node B's address (`addr` is node A's).
    pub remote_addr: Option<SocketAddr>,
    /// A web listener beside the line one (hooks and the API), if asked for.
    pub web_addr: Option<SocketAddr>,
    child: Child,
    /// Processes that serve with this one (node B and Redis), stopped with it.
    companions: Vec<Server>,
}

/// The server.toml chat-server runs with in the bench. History stays in
/// memory except in the store's own workloads: the SQLite store's thread
/// indexes lines for `/search` in its quiet moments, which in an
/// interleaved sweep are the next server's window, on the same CPU (20–28 %
/// of it during the cluster's windows, bench/notes.md).
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
history_store = \"memory\"
";

/// Whether a peer's program is installed.
pub fn installed(dialect: Dialect) -> bool {
    let prog = match dialect {
        Dialect::Ours
        | Dialect::OursTls
        | Dialect::OursWeb
        | Dialect::OursIrc
        | Dialect::OursMemory
        | Dialect::OursSqlite
        | Dialect::OursAlways => {
            return true;
        }
        Dialect::OursCluster => "redis-server",
        Dialect::Ncat => "ncat",
        Dialect::Redis => "redis-server",
    };
    program_installed(prog)
}

/// Whether `prog --version` runs.
pub fn program_installed(prog: &str) -> bool {
    Command::new(prog)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

pub(crate) fn pinned(launch: &Launch, program: &Path) -> Command {
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
            Dialect::Ours => start_ours(launch, &Variant::Plain),
            Dialect::OursMemory | Dialect::OursSqlite | Dialect::OursAlways => {
                let setting = match dialect {
                    Dialect::OursMemory => "history_store = \"memory\"",
                    Dialect::OursSqlite => "history_store = \"sqlite\"",
                    _ => "history_store = \"sqlite\"\nhistory_sync = \"always\"",
                };
                let mut server = start_ours(launch, &Variant::History(setting))?;
                server.dialect = dialect;
                Ok(server)
            }
            Dialect::OursWeb => {
                let mut server = start_ours(launch, &Variant::Web)?;
                server.dialect = dialect;
                Ok(server)
            }
            Dialect::OursIrc => {
                let mut server = start_ours(launch, &Variant::Irc)?;
                server.dialect = dialect;
                Ok(server)
            }
            Dialect::OursTls => {
                let creds = tls::credentials(&launch.scratch)?;
                let mut server = start_ours(launch, &Variant::Tls(&creds))?;
                server.dialect = dialect;
                server.tls = Some(creds.client);
                Ok(server)
            }
            Dialect::OursCluster => {
                let redis = Server::start(Dialect::Redis, launch)?;
                let url = format!("redis://{}", redis.addr);
                let b = start_ours(
                    launch,
                    &Variant::Node {
                        url: &url,
                        name: "b",
                    },
                )?;
                let mut a = start_ours(
                    launch,
                    &Variant::Node {
                        url: &url,
                        name: "a",
                    },
                )?;
                a.dialect = dialect;
                a.remote_addr = Some(b.addr);
                a.companions = vec![b, redis];
                Ok(a)
            }
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

    /// CPU time (user + system, every thread) of the server and its
    /// companions, in nanoseconds.
    pub fn cpu_ns(&self) -> Option<u64> {
        let mut total = sys::process_cpu_ns(self.pid)?;
        for c in &self.companions {
            total += c.cpu_ns()?;
        }
        Some(total)
    }

    /// The server's resident memory, in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        sys::status_kib(self.pid, "VmRSS")
    }

    /// Read and write syscalls the server (and its companions) made.
    pub fn syscalls(&self) -> Option<(u64, u64)> {
        let (mut r, mut w) = sys::syscalls(self.pid)?;
        for c in &self.companions {
            let (cr, cw) = c.syscalls()?;
            r += cr;
            w += cw;
        }
        Some((r, w))
    }

    /// Whether the server (and every companion) still runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None)) && self.companions.iter_mut().all(Server::running)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts plain chat-server with `settings` (server.toml lines, top-level
    /// keys) added to the bench's configuration.
    pub fn start_ours_with(launch: &Launch, settings: &str) -> Result<Server, String> {
        start_ours(launch, &Variant::Settings(settings))
    }

    /// Starts chat-server with the whole server.toml `config`, written as
    /// `server-TAG.toml` beside a fresh history file `TAG.sqlite3`. With
    /// `web`, the config has a line listener then a web one: `addr` is the
    /// line listener's, `web_addr` the web one's.
    pub fn start_ours_custom(
        launch: &Launch,
        tag: &str,
        config: &str,
        web: bool,
    ) -> Result<Server, String> {
        start_ours(launch, &Variant::Custom { tag, config, web })
    }
}

/// Which chat-server to start.
enum Variant<'a> {
    Plain,
    /// A TLS listener with these files.
    Tls(&'a tls::Credentials),
    /// A web listener (HTTP and WebSocket on `/ws`) in place of the plain one.
    Web,
    /// An IRC listener in place of the plain one.
    Irc,
    /// Plain, with these history settings (server.toml lines) in place of
    /// `history_store = "memory"`.
    History(&'a str),
    /// Plain, with these server.toml lines added (top-level keys).
    Settings(&'a str),
    /// A whole server.toml, its files named by `tag`; `web`: it has a web
    /// listener beside the line one.
    Custom {
        tag: &'a str,
        config: &'a str,
        web: bool,
    },
    /// A cluster node named `name` on the Redis at `url`.
    Node {
        url: &'a str,
        name: &'a str,
    },
}

/// A name for the files of a server with these history settings: the
/// settings' values (`sqlite`, `sqlite-always`).
fn history_tag(setting: &str) -> String {
    let values: Vec<&str> = setting.split('"').skip(1).step_by(2).collect();
    values.join("-")
}

/// The history file of a server with these history settings.
fn history_file(setting: &str) -> String {
    format!("history-{}.sqlite3", history_tag(setting))
}

/// A TOML basic string.
fn toml_str(text: &str) -> String {
    let mut out = String::from("\"");
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The server.toml of `variant`.
fn our_config(variant: &Variant<'_>) -> String {
    match variant {
        Variant::Plain => OUR_CONFIG.to_owned(),
        Variant::History(setting) => OUR_CONFIG.replace(
            "history_store = \"memory\"",
            &format!("{setting}\nhistory_path = \"{}\"", history_file(setting)),
        ),
        Variant::Settings(settings) => format!("{OUR_CONFIG}{settings}"),
        Variant::Custom { config, .. } => (*config).to_owned(),
        Variant::Tls(creds) => OUR_CONFIG.replace(
            "listen = [\"127.0.0.1:0\"]",
            &format!(
                "listen = [{{ addr = \"127.0.0.1:0\", tls = {{ cert = {}, key = {} }} }}]",
                toml_str(&creds.cert_pem.to_string_lossy()),
                toml_str(&creds.key_pem.to_string_lossy())
            ),
        ),
        Variant::Web => OUR_CONFIG.replace(
            "listen = [\"127.0.0.1:0\"]",
            "listen = [{ addr = \"127.0.0.1:0\", web = true }]",
        ),
        Variant::Irc => OUR_CONFIG.replace(
            "listen = [\"127.0.0.1:0\"]",
            "listen = [{ addr = \"127.0.0.1:0\", protocol = \"irc\" }]",
        ),
        Variant::Node { url, name } => format!(
            "{OUR_CONFIG}\n[cluster]\nredis_url = {}\nnode_name = {}\n",
            toml_str(url),
            toml_str(name)
        ),
    }
}

/// What the server's log says that the bench waits for.
enum Said {
    Listening(String),
    ListeningWeb(String),
    ClusterConnected,
}

fn start_ours(launch: &Launch, variant: &Variant<'_>) -> Result<Server, String> {
    std::fs::create_dir_all(&launch.scratch).map_err(|e| e.to_string())?;
    let file = match variant {
        Variant::Plain => "server.toml".to_owned(),
        Variant::History(setting) => format!("server-history-{}.toml", history_tag(setting)),
        Variant::Settings(_) => "server-settings.toml".to_owned(),
        Variant::Custom { tag, .. } => format!("server-{tag}.toml"),
        Variant::Tls(_) => "server-tls.toml".to_owned(),
        Variant::Web => "server-web.toml".to_owned(),
        Variant::Irc => "server-irc.toml".to_owned(),
        Variant::Node { name, .. } => format!("server-node-{name}.toml"),
    };
    let config = launch.scratch.join(file);
    std::fs::write(&config, our_config(variant))
        .map_err(|e| format!("{}: {e}", config.display()))?;
    // The server keeps its history file where it runs: in the scratch
    // directory, fresh for each start, never in the directory the bench
    // was started from. Servers that run side by side have files of their
    // own (one removing another's would break its connections).
    let history = match variant {
        Variant::History(setting) => history_file(setting),
        Variant::Custom { tag, .. } => format!("{tag}.sqlite3"),
        _ => "chat-history.sqlite3".to_owned(),
    };
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(launch.scratch.join(format!("{history}{suffix}")));
    }
    let mut cmd = pinned(launch, &launch.server_bin);
    cmd.current_dir(&launch.scratch);
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
    // Reads the `listening on ADDR` line (and, for a cluster node, the news
    // that it reached Redis), then drains the log so the server never
    // blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix("listening on ") {
                // `ADDR`, `ADDR (TLS)`, `ADDR (web)` or `ADDR (irc)`.
                let addr = rest.split_whitespace().next().unwrap_or_default();
                let said = match rest.ends_with("(web)") {
                    true => Said::ListeningWeb(addr.to_owned()),
                    false => Said::Listening(addr.to_owned()),
                };
                let _ = tx.send(said);
            } else if line.contains("cluster: connected to ") {
                let _ = tx.send(Said::ClusterConnected);
            }
        }
    });
    let pid = child.id();
    let fail = |mut child: Child, why: String| {
        let _ = child.kill();
        let _ = child.wait();
        Err(why)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut addr, mut joined) = (None, !matches!(variant, Variant::Node { .. }));
    // A custom config with a web listener beside the line one: each
    // address is told apart by its `(web)`; else the first is the address.
    let two = matches!(variant, Variant::Custom { web: true, .. });
    let mut web_addr: Option<String> = None;
    while addr.is_none() || !joined || (two && web_addr.is_none()) {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Said::Listening(a)) => addr = addr.or(Some(a)),
            Ok(Said::ListeningWeb(a)) if two => web_addr = Some(a),
            Ok(Said::ListeningWeb(a)) => addr = addr.or(Some(a)),
            Ok(Said::ClusterConnected) => joined = true,
            Err(_) if addr.is_none() => {
                return fail(
                    child,
                    "chat-server printed no `listening on` line within 10 s".into(),
                );
            }
            Err(_) => {
                return fail(
                    child,
                    "the cluster node did not reach Redis within 10 s".into(),
                );
            }
        }
    }
    let addr = addr.unwrap_or_default();
    let addr: SocketAddr = match addr.parse() {
        Ok(a) => a,
        Err(e) => return fail(child, format!("bad listen address {addr}: {e}")),
    };
    let web_addr = match web_addr.map(|a| a.parse::<SocketAddr>()) {
        Some(Ok(a)) if a.ip().is_loopback() => Some(a),
        Some(_) => {
            return fail(
                child,
                "the web listener is not on a loopback address".into(),
            );
        }
        None => None,
    };
    if !addr.ip().is_loopback() {
        return fail(
            child,
            format!("chat-server listens on {addr}, not loopback"),
        );
    }
    Ok(Server {
        dialect: Dialect::Ours,
        addr,
        pid,
        tls: None,
        remote_addr: None,
        web_addr,
        child,
        companions: Vec::new(),
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
        tls: None,
        remote_addr: None,
        web_addr: None,
        child,
        companions: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_of_each_variant() {
        assert_eq!(toml_str(r#"a"b\c"#), r#""a\"b\\c""#);
        let node = our_config(&Variant::Node {
            url: "redis://127.0.0.1:7000",
            name: "a",
        });
        assert!(
            node.ends_with(
                "[cluster]\nredis_url = \"redis://127.0.0.1:7000\"\nnode_name = \"a\"\n"
            )
        );
        assert!(node.contains("flood_rate = 0.0"));
        let web = our_config(&Variant::Web);
        assert!(web.contains("listen = [{ addr = \"127.0.0.1:0\", web = true }]\n"));
        assert!(!web.contains("listen = [\"127.0.0.1:0\"]"));
        let irc = our_config(&Variant::Irc);
        assert!(irc.contains("listen = [{ addr = \"127.0.0.1:0\", protocol = \"irc\" }]\n"));
        assert!(irc.contains("flood_rate = 0.0"));
    }
}
