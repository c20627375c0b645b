//! `cargo xtask e2e`: a scripted chat against the real `chat-server` binary.
//!
//! Builds `chat-server` and `chat-client`, makes a self-signed certificate
//! for `localhost` and 127.0.0.1 with the `openssl` command (required), and,
//! when `redis-server` is on PATH, starts one on a free loopback port without
//! persistence, waiting for its `+PONG` over raw RESP. It writes a
//! `server.toml` into a temp dir (a plain and a TLS listener on free ports;
//! with Redis, a `[cluster]` table naming this node `a`), starts the server
//! with `--config` and the operator console on a piped stdin, and waits for
//! `listening on ADDR` and `listening on ADDR (TLS)` on its stderr (read on a
//! thread, with a timeout, so a hang cannot block us).
//!
//! With Redis, a second server joins as node `b` (its own config: one plain
//! listener, the same Redis, `--no-console`). The run waits until both nodes
//! report `cluster: connected` and both subscribe to Redis (`PUBSUB
//! NUMSUB`), so no line is published before the other node can hear it.
//! Without redis-server the two-node part is skipped, and the run says so.
//!
//! Then the clients talk. On node `a`: `alice` and `bob` are raw TCP sockets
//! driven from here (read timeouts, no threads), `carol` is a real
//! `chat-client --nick carol` process and `dave` another over TLS (`--tls
//! --ca cert.pem --tls-name localhost`). On node `b`: `erin`, a raw TCP
//! socket, whose guest nick carries node b's tag and whose `/nick` is
//! claimed through Redis. They set nicks, and every line said in `lobby`
//! reaches every other member, on either node and over TLS or not; bob joins
//! `dev`; alice sends bob a `/msg`, and erin one across nodes; bob is refused
//! erin's nick on node `a`; the operator answers carol and speaks to `/all`
//! (node `a`'s clients only); the console's `/quit` ends node `a`, and erin
//! `/quit`s node `b`. Join, leave and nick notices do not cross nodes.
//!
//! Every line a client is told to expect must arrive, in order. While waiting,
//! a client may skip notices (`-!- …`, but not `-!- error: …`); any other line
//! is a failure, so a message that reaches the wrong client (its sender,
//! another room, a third party, the other node) is caught, at the latest when
//! the transcripts are drained at the end. On failure every transcript is
//! printed: the clients', both servers' and redis-server's.
//!
//! Every process (both servers, the chat-clients, redis-server) is killed and
//! waited for on every path, panics included ([`Proc`]'s `Drop`); the whole
//! conversation must finish within [`RUN_TIMEOUT`].

mod setup;

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use crate::{Result, cargo, run_status, show};
use setup::{Redis, TlsFiles, toml_string};

/// How long a server may take to print `listening on`.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long any one expected line may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// The whole conversation, from starting the server to its exit.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// Both nodes' settings besides `listen` and `[cluster]`: a MOTD and RFC
/// 3339 stamps we can recognise, so we know the file was read.
const SETTINGS: &str = r#"motd = "xtask e2e: be nice"
timestamp = "rfc3339"
default_room = "lobby"
operator_name = "operator"
"#;

/// The welcome notice with `SETTINGS`' MOTD.
const WELCOME: &str = "-!- Welcome, {*}! xtask e2e: be nice";

// Indices into `Chat::clients`, in the order they connect. Erin only with Redis.
const ALICE: usize = 0;
const BOB: usize = 1;
const CAROL: usize = 2;
const DAVE: usize = 3;
const ERIN: usize = 4;

pub(crate) fn run() -> Result {
    let start = Instant::now();
    println!("e2e: building chat-server and chat-client");
    run_status(&mut cargo(&[
        "build",
        "-p",
        "chat-server",
        "-p",
        "chat-client",
    ]))?;
    let bin_dir = bin_dir()?;
    let dir = TempDir::new()?;
    let tls = TlsFiles::make(&dir.path)?;
    let redis = if Redis::installed() {
        Some(Redis::start(&dir.path)?)
    } else {
        println!("e2e: skipping the two-node part: redis-server not installed");
        None
    };
    let config = dir.path.join("server.toml");
    let listen = format!(
        "[\"127.0.0.1:0\", {{ addr = \"127.0.0.1:0\", tls = {{ cert = {}, key = {} }} }}]",
        toml_string(&tls.cert.to_string_lossy()),
        toml_string(&tls.key.to_string_lossy()),
    );
    let url = redis.as_ref().map(Redis::url);
    write_config(&config, &listen, url.as_deref().map(|url| (url, "a")))?;

    let mut chat = Chat::start(&bin_dir, &dir.path, &config, tls, redis)?;
    match chat.join_cluster().and_then(|()| chat.conversation()) {
        Ok(()) => {
            chat.step(&format!(
                "ok ({:.1} s with the build)",
                start.elapsed().as_secs_f64()
            ));
            Ok(())
        }
        Err(e) => {
            chat.collect_leftovers();
            Err(format!(
                "e2e failed: {e}\n\n{}\ne2e failed: {e}",
                chat.transcripts()
            ))
        }
    }
    // `chat` drops here: every client is closed and every process killed and
    // waited for (redis-server last), then the temp dir is removed.
}

/// A node's server.toml: `listen` (TOML), `SETTINGS`, and with
/// `(redis_url, node_name)` a `[cluster]` table.
fn write_config(path: &Path, listen: &str, cluster: Option<(&str, &str)>) -> Result {
    let mut text = format!("# Written by `cargo xtask e2e`.\nlisten = {listen}\n{SETTINGS}");
    if let Some((url, node)) = cluster {
        text.push_str(&format!(
            "\n[cluster]\nredis_url = {}\nnode_name = {}\n",
            toml_string(url),
            toml_string(node)
        ));
    }
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Where `cargo build` put the binaries: next to this xtask binary, which
/// cargo built into the same target dir with the same (dev) profile.
fn bin_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find xtask's path: {e}"))?;
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    if !dir.ends_with("debug") {
        // xtask was built with another profile; `cargo build` without one uses `debug`.
        dir.pop();
        dir.push("debug");
    }
    for name in ["chat-server", "chat-client"] {
        if !dir.join(name).is_file() {
            return Err(format!("{name} was built, but is not in {}", dir.display()));
        }
    }
    Ok(dir)
}

/// The servers, the clients and what each has said, for one run.
struct Chat {
    start: Instant,
    /// Past this, every wait fails.
    deadline: Instant,
    // Declaration order is drop order: clients close before the processes
    // go, and redis-server goes last.
    clients: Vec<Client>,
    console_in: Option<ChildStdin>,
    /// The server's stdout: the operator console's output.
    console: Transcript,
    server_stderr: Transcript,
    /// The chat-clients' stderr, in the order they started.
    client_logs: Vec<Transcript>,
    chat_clients: Vec<Proc>,
    server: Proc,
    node_b: Option<NodeB>,
    redis: Option<Redis>,
    bin_dir: PathBuf,
    dir: PathBuf,
    tls: TlsFiles,
    addr: SocketAddr,
    tls_addr: SocketAddr,
}

/// The second node of the cluster: `--no-console`, so its console lines go
/// to its stderr.
struct NodeB {
    addr: SocketAddr,
    stderr: Transcript,
    proc: Proc,
}

impl Chat {
    /// Start the server and wait for its plain and TLS `listening on ADDR`.
    fn start(
        bin_dir: &Path,
        dir: &Path,
        config: &Path,
        tls: TlsFiles,
        redis: Option<Redis>,
    ) -> Result<Chat> {
        let start = Instant::now();
        let mut command = Command::new(bin_dir.join("chat-server"));
        command
            .arg("--config")
            .arg(config)
            .arg("--console")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut server = Proc::spawn("chat-server", &mut command)?;
        let console_in = server.child.stdin.take();
        let console =
            Transcript::pipe("console (server stdout)", server.child.stdout.take(), false);
        let mut server_stderr =
            Transcript::pipe("server stderr", server.child.stderr.take(), false);

        let listen_deadline = Instant::now() + LISTEN_TIMEOUT;
        let (mut addr, mut tls_addr) = (None, None);
        while addr.is_none() || tls_addr.is_none() {
            let listening = match server_stderr.expect("listening on {*}", listen_deadline) {
                Ok(line) => line,
                Err(e) => {
                    let status = server.child.try_wait().ok().flatten();
                    let status = status.map_or_else(String::new, |s| format!(" (server {s})"));
                    return Err(format!(
                        "chat-server did not start{status}: {e}\n\n{}",
                        server_stderr.render()
                    ));
                }
            };
            let rest = listening.strip_prefix("listening on ").unwrap_or_default();
            let (text, slot) = match rest.strip_suffix(" (TLS)") {
                Some(text) => (text, &mut tls_addr),
                None => (rest, &mut addr),
            };
            *slot = Some(
                text.trim()
                    .parse::<SocketAddr>()
                    .map_err(|_| format!("cannot read the address in `{listening}`"))?,
            );
        }
        let (Some(addr), Some(tls_addr)) = (addr, tls_addr) else {
            unreachable!("the loop ends with both addresses");
        };

        let chat = Chat {
            start,
            deadline: Instant::now() + RUN_TIMEOUT,
            clients: Vec::new(),
            console_in,
            console,
            server_stderr,
            client_logs: Vec::new(),
            chat_clients: Vec::new(),
            server,
            node_b: None,
            redis,
            bin_dir: bin_dir.to_path_buf(),
            dir: dir.to_path_buf(),
            tls,
            addr,
            tls_addr,
        };
        chat.step(&format!(
            "server listening on {addr} and {tls_addr} (TLS, self-signed cert.pem) (config {})",
            config.display()
        ));
        Ok(chat)
    }

    /// With Redis: node `a` connected, node `b` started and connected, and
    /// both subscribed, before any client speaks.
    fn join_cluster(&mut self) -> Result {
        let Some(redis) = &self.redis else {
            return Ok(());
        };
        let (url, port) = (redis.url(), redis.port);
        // Before this, a `/nick` on node a would be refused as unavailable.
        self.expect_console("cluster: connected to {*} as node a")?;

        let config = self.dir.join("node-b.toml");
        write_config(&config, r#"["127.0.0.1:0"]"#, Some((&url, "b")))?;
        let mut command = Command::new(self.bin_dir.join("chat-server"));
        command
            .arg("--config")
            .arg(&config)
            .arg("--no-console")
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut proc = Proc::spawn("chat-server (node b)", &mut command)?;
        let stderr = Transcript::pipe("node b's stderr", proc.child.stderr.take(), false);
        let listen_deadline = (Instant::now() + LISTEN_TIMEOUT).min(self.deadline);
        let connect_deadline = self.wait_deadline().max(listen_deadline);
        let node = self.node_b.insert(NodeB {
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            stderr,
            proc,
        });
        let listening = node
            .stderr
            .expect("listening on {*}", listen_deadline)
            .map_err(|e| {
                let status = node.proc.child.try_wait().ok().flatten();
                let status = status.map_or_else(String::new, |s| format!(" ({s})"));
                format!("node b did not start{status}: {e}")
            })?;
        node.addr = listening
            .strip_prefix("listening on ")
            .and_then(|addr| addr.trim().parse::<SocketAddr>().ok())
            .ok_or_else(|| format!("cannot read the address in node b's `{listening}`"))?;
        node.stderr.expect(
            "chat-server: cluster: connected to {*} as node b",
            connect_deadline,
        )?;
        let addr = node.addr;
        let wanted = [("chat:rooms", 2), ("chat:node:a", 1), ("chat:node:b", 1)];
        if let Some(redis) = &self.redis {
            redis.wait_subscribers(&wanted, self.wait_deadline())?;
        }
        self.step(&format!(
            "node b listening on {addr}; both nodes connected to redis-server on port {port} and subscribed"
        ));
        Ok(())
    }

    /// The script. Each step waits for its effect before the next one starts.
    fn conversation(&mut self) -> Result {
        let cluster = self.node_b.is_some();
        self.connect_tcp("alice", self.addr, "raw TCP")?;
        let alice_welcome = self.expect_body(ALICE, WELCOME)?;
        self.say(ALICE, "/nick alice")?;
        self.expect(ALICE, "-!- {*} is now known as alice")?;
        self.step("alice joined (raw TCP) and took her nick");

        self.connect_tcp("bob", self.addr, "raw TCP")?;
        self.expect(BOB, WELCOME)?;
        self.expect(ALICE, "-!- {*} joined lobby")?;
        self.say(BOB, "/nick bob")?;
        self.expect_all(&[ALICE, BOB], "-!- {*} is now known as bob")?;
        self.step("bob joined (raw TCP) and took his nick; alice saw both");

        self.spawn_chat_client("carol", false)?;
        self.expect(CAROL, WELCOME)?;
        self.expect_all(&[ALICE, BOB, CAROL], "-!- {*} is now known as carol")?;
        self.step("carol joined (chat-client --nick carol); alice and bob saw it");

        self.spawn_chat_client("dave", true)?;
        self.expect(DAVE, WELCOME)?;
        self.expect_all(&[ALICE, BOB, CAROL, DAVE], "-!- {*} is now known as dave")?;
        self.step(
            "dave joined over TLS (chat-client --tls --ca cert.pem --tls-name localhost --nick dave); the others saw it",
        );

        if let Some(node) = &self.node_b {
            self.connect_tcp("erin", node.addr, "raw TCP to node b")?;
            let erin_welcome = self.expect_body(ERIN, WELCOME)?;
            let (alice_guest, erin_guest) = (guest_nick(&alice_welcome), guest_nick(&erin_welcome));
            let (a_tag, b_tag) = (node_tag(alice_guest), node_tag(erin_guest));
            if a_tag.is_none() || b_tag.is_none() || a_tag == b_tag {
                return Err(format!(
                    "in a cluster guest nicks carry their node's tag (guestN-TAG), but node a \
                     named alice `{alice_guest}` and node b named erin `{erin_guest}`"
                ));
            }
            self.say(ERIN, "/nick erin")?;
            self.expect(ERIN, &format!("-!- {erin_guest} is now known as erin"))?;
            self.step(&format!(
                "erin joined node b (raw TCP) as {erin_guest} (alice was {alice_guest}) and took her nick through Redis"
            ));
        } else if let Some(tag) = node_tag(guest_nick(&alice_welcome)) {
            return Err(format!(
                "a single node's guest nicks have no tag, but got `-{tag}`"
            ));
        }

        self.say(ALICE, "hi all")?;
        self.expect_all(&self.and_erin(&[BOB, CAROL, DAVE]), "<alice> hi all")?;
        let alice = self.clients[ALICE].addr_pattern();
        self.expect_console(&format!("[lobby] <alice> hi all ({alice})"))?;
        self.step(&format!(
            "alice said `hi all`: bob, carol, dave{} got it, the console logged it",
            self.erin_text(" and erin (node b)")
        ));

        self.say(CAROL, "hello from carol")?;
        self.expect_all(
            &self.and_erin(&[ALICE, BOB, DAVE]),
            "<carol> hello from carol",
        )?;
        self.step(&format!(
            "carol said `hello from carol` through chat-client: alice, bob, dave{} got it",
            self.erin_text(", erin")
        ));

        self.say(DAVE, "hello over TLS")?;
        self.expect_all(
            &self.and_erin(&[ALICE, BOB, CAROL]),
            "<dave> hello over TLS",
        )?;
        self.step(&format!(
            "dave said `hello over TLS`: alice, bob, carol{} got it",
            self.erin_text(", erin")
        ));

        if cluster {
            self.say(ERIN, "hello from node b")?;
            self.expect_all(&[ALICE, BOB, CAROL, DAVE], "<erin> hello from node b")?;
            self.step("erin said `hello from node b`: alice, bob, carol, dave on node a got it");
        }

        self.say(BOB, "/join dev")?;
        self.expect(BOB, "-!- bob joined dev")?;
        self.step("bob /join'ed dev");

        self.say(ALICE, "lobby only")?;
        self.expect_all(&self.and_erin(&[CAROL, DAVE]), "<alice> lobby only")?;
        self.say(BOB, "anyone in dev?")?;
        let bob = self.clients[BOB].addr_pattern();
        self.expect_console(&format!("[dev] <bob> anyone in dev? ({bob})"))?;
        self.step("alice spoke in lobby, bob in dev (checked at the end: neither crossed over)");

        self.say(ALICE, "/msg bob psst, alice here")?;
        self.expect(BOB, "*alice* psst, alice here")?;
        self.expect(ALICE, "-> *bob* psst, alice here")?;
        self.step("alice sent bob a /msg: bob got it, alice got her copy");

        if cluster {
            self.say(ALICE, "/msg erin psst, across nodes")?;
            self.expect(ERIN, "*alice* psst, across nodes")?;
            self.expect(ALICE, "-> *erin* psst, across nodes")?;
            self.step("alice sent erin a /msg from node a: erin got it on node b, alice her copy");

            self.say(BOB, "/nick erin")?;
            self.expect(BOB, "-!- error: nick erin is taken")?;
            self.step("bob tried /nick erin on node a: refused, node b holds it");
        }

        self.say(CAROL, "anyone there, operator?")?;
        self.expect_all(
            &self.and_erin(&[ALICE, DAVE]),
            "<carol> anyone there, operator?",
        )?;
        self.expect_console("[lobby] <carol> anyone there, operator? ({*})")?;
        self.operator("hello carol, operator here")?;
        self.expect(CAROL, "-operator- hello carol, operator here")?;
        self.step("carol asked the operator; the console's plain reply went to her only");

        self.operator("/all back in a moment")?;
        self.expect_all(&[ALICE, BOB, CAROL, DAVE], "-operator- back in a moment")?;
        self.step(&format!(
            "the operator spoke to /all: everyone{} got it{}",
            self.erin_text(" on node a"),
            self.erin_text(" (checked at the end: erin on node b did not)")
        ));

        self.operator("/quit")?;
        self.expect_all(&[ALICE, BOB, CAROL, DAVE], "-!- server shutting down")?;
        self.step(&format!(
            "the operator sent /quit: everyone{} was told",
            self.erin_text(" on node a")
        ));
        if cluster {
            self.say(ERIN, "/quit")?;
            self.expect(ERIN, "-!- Goodbye!")?;
            self.step("erin sent /quit to node b: it said goodbye");
        }
        self.finish()
    }

    /// `who` and, in a cluster, erin: a lobby audience.
    fn and_erin(&self, who: &[usize]) -> Vec<usize> {
        let mut who = who.to_vec();
        if self.node_b.is_some() {
            who.push(ERIN);
        }
        who
    }

    /// `text` in a cluster, else nothing: for step messages.
    fn erin_text<'a>(&self, text: &'a str) -> &'a str {
        if self.node_b.is_some() { text } else { "" }
    }

    /// After `/quit`: every client sees the end of its stream with nothing
    /// unexpected before it, the server and the chat-clients exit 0, and no
    /// line reached a client it was not for. Node b is killed on drop.
    fn finish(&mut self) -> Result {
        let deadline = self.wait_deadline();
        for client in &mut self.clients {
            client.transcript.drain(deadline)?;
            // As a client does when the server has closed: the server lingers
            // until its peers close too.
            client.hang_up();
        }
        let status = self.server.wait_exit(deadline)?;
        check_exit("chat-server", status)?;
        for chat_client in &mut self.chat_clients {
            let status = chat_client.wait_exit(deadline)?;
            check_exit("chat-client", status)?;
        }
        self.step("all connections closed; chat-server and both chat-clients exited 0");

        // Strict waiting already rejects these; name them for a clear message.
        let never: &[(usize, &str)] = &[
            (ALICE, "<alice> "),
            (BOB, "<bob> "),
            (CAROL, "<carol> "),
            (DAVE, "<dave> "),
            (ERIN, "<erin> "),
            (BOB, "<alice> lobby only"),
            (ALICE, "<bob> anyone in dev?"),
            (CAROL, "<bob> anyone in dev?"),
            (DAVE, "<bob> anyone in dev?"),
            (ERIN, "<bob> anyone in dev?"),
            (CAROL, "psst"),
            (DAVE, "psst"),
            (ERIN, "psst, alice here"),
            (BOB, "psst, across nodes"),
            (ALICE, "-operator- hello carol"),
            (BOB, "-operator- hello carol"),
            (DAVE, "-operator- hello carol"),
            (ERIN, "-operator-"),
            (ERIN, "server shutting down"),
        ];
        let mut checked = 0;
        for &(who, text) in never {
            let Some(client) = self.clients.get(who) else {
                continue; // erin, without Redis
            };
            let transcript = &client.transcript;
            if let Some(line) = transcript.lines.iter().find(|line| line.contains(text)) {
                return Err(format!(
                    "{} must not get `{text}`, but got `{line}`",
                    transcript.who
                ));
            }
            checked += 1;
        }
        self.step(&format!(
            "no client got its own lines, another room's, another's private ones{} ({checked} checks)",
            self.erin_text(", or the other node's operator lines")
        ));
        Ok(())
    }

    fn step(&self, what: &str) {
        println!("e2e: [{:5.2} s] {what}", self.start.elapsed().as_secs_f64());
    }

    /// When the current wait gives up: a step's timeout, or the run's.
    fn wait_deadline(&self) -> Instant {
        (Instant::now() + STEP_TIMEOUT).min(self.deadline)
    }

    /// A raw TCP client `name` of the server at `addr`; `how` for its transcript.
    fn connect_tcp(&mut self, name: &'static str, addr: SocketAddr, how: &str) -> Result {
        let stream = TcpStream::connect_timeout(&addr, STEP_TIMEOUT)
            .map_err(|e| format!("{name}: cannot connect to {addr}: {e}"))?;
        let local = stream.local_addr().map_err(|e| format!("{name}: {e}"))?;
        // Each line goes out at once, not held back by Nagle for an ACK.
        stream
            .set_nodelay(true)
            .map_err(|e| format!("{name}: {e}"))?;
        let input = stream.try_clone().map_err(|e| format!("{name}: {e}"))?;
        input
            .set_write_timeout(Some(STEP_TIMEOUT))
            .map_err(|e| format!("{name}: {e}"))?;
        self.clients.push(Client {
            name,
            addr: Some(local),
            input: Some(Box::new(input)),
            transcript: Transcript::socket(format!("{name} ({how} from {local})"), stream),
        });
        Ok(())
    }

    /// A `chat-client --nick NAME` process, to the TLS listener with `tls`.
    fn spawn_chat_client(&mut self, name: &'static str, tls: bool) -> Result {
        let addr = if tls { self.tls_addr } else { self.addr };
        let mut command = Command::new(self.bin_dir.join("chat-client"));
        command
            .arg(addr.ip().to_string())
            .arg(addr.port().to_string());
        if tls {
            command
                .arg("--tls")
                .arg("--ca")
                .arg(&self.tls.cert)
                .args(["--tls-name", "localhost"]);
        }
        command
            .arg("--nick")
            .arg(name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let what = show(&command);
        let mut process = Proc::spawn("chat-client", &mut command)?;
        let input = process
            .child
            .stdin
            .take()
            .map(|stdin| Box::new(stdin) as Box<dyn Write>);
        let stdout = process.child.stdout.take();
        self.client_logs.push(Transcript::pipe(
            format!("{name}'s chat-client stderr"),
            process.child.stderr.take(),
            false,
        ));
        self.chat_clients.push(process);
        self.clients.push(Client {
            name,
            addr: None,
            input,
            transcript: Transcript::pipe(format!("{name} (`{what}`)"), stdout, true),
        });
        Ok(())
    }

    fn say(&mut self, who: usize, line: &str) -> Result {
        let client = &mut self.clients[who];
        let name = client.name;
        let input = client
            .input
            .as_mut()
            .ok_or_else(|| format!("{name}'s input is closed"))?;
        input
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| input.flush())
            .map_err(|e| format!("{name} cannot send `{line}`: {e}"))
    }

    fn operator(&mut self, line: &str) -> Result {
        let input = self
            .console_in
            .as_mut()
            .ok_or("the console's stdin is closed")?;
        input
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| input.flush())
            .map_err(|e| format!("cannot type `{line}` on the console: {e}"))
    }

    fn expect(&mut self, who: usize, pattern: &str) -> Result {
        self.expect_body(who, pattern).map(drop)
    }

    /// Like [`Chat::expect`], returning the matching line's body.
    fn expect_body(&mut self, who: usize, pattern: &str) -> Result<String> {
        let deadline = self.wait_deadline();
        self.clients[who].transcript.expect(pattern, deadline)
    }

    fn expect_all(&mut self, who: &[usize], pattern: &str) -> Result {
        who.iter().try_for_each(|&who| self.expect(who, pattern))
    }

    fn expect_console(&mut self, pattern: &str) -> Result {
        let deadline = self.wait_deadline();
        self.console.expect(pattern, deadline).map(drop)
    }

    /// Every transcript but the clients', in report order.
    fn logs(&mut self) -> impl Iterator<Item = &mut Transcript> {
        [&mut self.console, &mut self.server_stderr]
            .into_iter()
            .chain(&mut self.client_logs)
            .chain(self.node_b.as_mut().map(|node| &mut node.stderr))
            .chain(self.redis.as_mut().map(|redis| &mut redis.log))
    }

    /// Pick up what arrived but was not waited for, for the failure report.
    fn collect_leftovers(&mut self) {
        let deadline = Instant::now() + Duration::from_millis(200);
        for client in &mut self.clients {
            while let Ok(Next::Line(_)) = client.transcript.next(deadline) {}
        }
        for transcript in self.logs() {
            while let Ok(Next::Line(_)) = transcript.next(deadline) {}
        }
    }

    fn transcripts(&mut self) -> String {
        let clients: Vec<String> = self
            .clients
            .iter()
            .map(|client| client.transcript.render())
            .collect();
        clients
            .into_iter()
            .chain(self.logs().map(|transcript| transcript.render()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The guest nick in a welcome notice's body.
fn guest_nick(welcome: &str) -> &str {
    welcome
        .strip_prefix("-!- Welcome, ")
        .and_then(|rest| rest.split_once('!'))
        .map_or(welcome, |(nick, _)| nick)
}

/// The node tag of a guest nick in a cluster: `k3fa` in `guest7-k3fa`.
fn node_tag(guest: &str) -> Option<&str> {
    guest.split_once('-').map(|(_, tag)| tag)
}

fn check_exit(name: &str, status: ExitStatus) -> Result {
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} exited with {status}"))
    }
}

/// One chat participant: what it types goes to `input`, what it receives
/// lands in `transcript`.
struct Client {
    name: &'static str,
    /// The socket's local address, for the console's `(ADDR)`; unknown for
    /// the chat-client process.
    addr: Option<SocketAddr>,
    input: Option<Box<dyn Write>>,
    transcript: Transcript,
}

impl Client {
    /// Close our side: the socket (both ways) or the chat-client's stdin.
    fn hang_up(&mut self) {
        self.input = None;
        if let Feed::Socket { reader, .. } = &self.transcript.feed {
            // Fails only when already closed.
            let _ = reader.get_ref().shutdown(std::net::Shutdown::Both);
        }
    }

    fn addr_pattern(&self) -> String {
        self.addr
            .map_or_else(|| "{*}".to_owned(), |addr| addr.to_string())
    }
}

/// Everything one stream delivered, and the stream to read more from.
struct Transcript {
    who: String,
    feed: Feed,
    lines: Vec<String>,
    /// Client streams: every line is `[STAMP] BODY` with an RFC 3339 stamp.
    stamped: bool,
    /// Clients may skip only notices while waiting; other streams anything.
    strict: bool,
    closed: bool,
}

enum Feed {
    /// Read here, with read timeouts. `partial` holds a line not yet ended.
    Socket {
        reader: BufReader<TcpStream>,
        partial: Vec<u8>,
    },
    /// Lines read by a thread (a child's pipe), so a wait can time out.
    Pipe(Receiver<String>),
}

enum Next {
    Line(String),
    Closed,
    TimedOut,
}

impl Transcript {
    fn socket(who: String, stream: TcpStream) -> Transcript {
        let feed = Feed::Socket {
            reader: BufReader::new(stream),
            partial: Vec::new(),
        };
        Transcript {
            who,
            feed,
            lines: Vec::new(),
            stamped: true,
            strict: true,
            closed: false,
        }
    }

    /// A child's stdout or stderr, read line by line on a thread of its own.
    /// A `client`'s lines are stamped and waited for strictly.
    fn pipe(
        who: impl Into<String>,
        pipe: Option<impl Read + Send + 'static>,
        client: bool,
    ) -> Transcript {
        let (sender, receiver) = mpsc::channel();
        if let Some(pipe) = pipe {
            thread::spawn(move || {
                let mut reader = BufReader::new(pipe);
                let mut line = Vec::new();
                loop {
                    line.clear();
                    match reader.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            let text = String::from_utf8_lossy(&line);
                            let text = text.trim_end_matches(['\n', '\r']).to_owned();
                            if sender.send(text).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
        Transcript {
            who: who.into(),
            feed: Feed::Pipe(receiver),
            lines: Vec::new(),
            stamped: client,
            strict: client,
            closed: false,
        }
    }

    /// The next line, or why there is none before `deadline`.
    fn next(&mut self, deadline: Instant) -> Result<Next> {
        if self.closed {
            return Ok(Next::Closed);
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        let next = match &mut self.feed {
            Feed::Pipe(receiver) => match receiver.recv_timeout(remaining) {
                Ok(line) => Next::Line(line),
                Err(RecvTimeoutError::Timeout) => Next::TimedOut,
                Err(RecvTimeoutError::Disconnected) => Next::Closed,
            },
            Feed::Socket { reader, partial } => loop {
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining.is_zero() {
                    break Next::TimedOut;
                }
                reader
                    .get_ref()
                    .set_read_timeout(Some(remaining))
                    .map_err(|e| format!("{}: {e}", self.who))?;
                match reader.read_until(b'\n', partial) {
                    Ok(0) => break Next::Closed,
                    Ok(_) if partial.ends_with(b"\n") => {
                        let text = String::from_utf8_lossy(partial);
                        let text = text.trim_end_matches(['\n', '\r']).to_owned();
                        partial.clear();
                        break Next::Line(text);
                    }
                    // A last line without its LF, then the end of the stream.
                    Ok(_) => continue,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                    {
                        break Next::TimedOut;
                    }
                    Err(e) => return Err(format!("{}: read failed: {e}", self.who)),
                }
            },
        };
        match &next {
            Next::Line(line) => self.lines.push(line.clone()),
            Next::Closed => {
                if let Feed::Socket { partial, .. } = &mut self.feed
                    && !partial.is_empty()
                {
                    self.lines
                        .push(String::from_utf8_lossy(partial).into_owned());
                    partial.clear();
                }
                self.closed = true;
            }
            Next::TimedOut => {}
        }
        Ok(next)
    }

    /// Read until a line matching `pattern` (`{*}` matches anything) and
    /// return its body. Strict transcripts skip only notices on the way.
    fn expect(&mut self, pattern: &str, deadline: Instant) -> Result<String> {
        loop {
            match self.next(deadline)? {
                Next::Line(line) => {
                    let body = self.body(&line)?;
                    if matches(pattern, body) {
                        return Ok(body.to_owned());
                    }
                    if self.strict && !is_skippable(body) {
                        return Err(format!(
                            "{}: waiting for `{pattern}`, got `{line}` instead",
                            self.who
                        ));
                    }
                }
                Next::Closed => {
                    return Err(format!(
                        "{}: closed while waiting for `{pattern}`",
                        self.who
                    ));
                }
                Next::TimedOut => {
                    let waited = STEP_TIMEOUT.as_secs();
                    return Err(format!(
                        "{}: no `{pattern}` within {waited} s (or the run's {} s)",
                        self.who,
                        RUN_TIMEOUT.as_secs()
                    ));
                }
            }
        }
    }

    /// Read to the end of the stream; every line must be skippable.
    fn drain(&mut self, deadline: Instant) -> Result {
        loop {
            match self.next(deadline)? {
                Next::Line(line) => {
                    let body = self.body(&line)?;
                    if self.strict && !is_skippable(body) {
                        return Err(format!("{}: unexpected `{line}` at the end", self.who));
                    }
                }
                Next::Closed => return Ok(()),
                Next::TimedOut => {
                    return Err(format!("{}: the stream did not end after /quit", self.who));
                }
            }
        }
    }

    /// A client line's body after its `[STAMP] `, checking the stamp is RFC
    /// 3339 as server.toml asked; other streams' lines as they are.
    fn body<'a>(&self, line: &'a str) -> Result<&'a str> {
        if !self.stamped {
            return Ok(line);
        }
        let parsed = line
            .strip_prefix('[')
            .and_then(|rest| rest.split_once("] "));
        match parsed {
            Some((stamp, body)) if is_rfc3339(stamp) => Ok(body),
            _ => Err(format!(
                "{}: `{line}` is not `[RFC 3339 STAMP] BODY`",
                self.who
            )),
        }
    }

    fn render(&self) -> String {
        let count = match self.lines.len() {
            1 => "1 line".to_owned(),
            n => format!("{n} lines"),
        };
        let mut text = format!("--- {} ({count}) ---\n", self.who);
        for line in &self.lines {
            text.push_str("  ");
            text.push_str(line);
            text.push('\n');
        }
        text
    }
}

/// Lines a client may receive between the ones it waits for: notices, but
/// not error notices.
fn is_skippable(body: &str) -> bool {
    body.starts_with("-!- ") && !body.starts_with("-!- error")
}

/// `2026-11-03T08:05:09Z`, `2026-11-03T08:05:09+01:00`, with optional fractions.
fn is_rfc3339(stamp: &str) -> bool {
    let bytes = stamp.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    stamp.len() >= 20
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10)
        && bytes[10] == b'T'
        && digits(11..13)
        && bytes[13] == b':'
        && digits(14..16)
        && bytes[16] == b':'
        && digits(17..19)
        && (stamp.ends_with('Z') || stamp[19..].contains(['+', '-']))
}

/// Does `text` match `pattern`, where each `{*}` matches any text?
fn matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split("{*}");
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// A child process that is killed and waited for when dropped, on every path.
struct Proc {
    name: &'static str,
    child: Child,
}

impl Proc {
    fn spawn(name: &'static str, command: &mut Command) -> Result<Proc> {
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start `{}`: {e}", show(command)))?;
        Ok(Proc { name, child })
    }

    /// Wait for the process to exit by itself until `deadline`.
    fn wait_exit(&mut self, deadline: Instant) -> Result<ExitStatus> {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if Instant::now() >= deadline => {
                    return Err(format!("{} did not exit in time", self.name));
                }
                Ok(None) => thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(format!("cannot wait for {}: {e}", self.name)),
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // Both fail harmlessly when the process has already exited and been reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> Result<TempDir> {
        let path = std::env::temp_dir().join(format!("xtask-e2e-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::{is_rfc3339, matches};

    #[test]
    fn patterns() {
        assert!(matches(
            "-!- {*} is now known as bob",
            "-!- guest2 is now known as bob"
        ));
        assert!(matches(
            "-!- Welcome, {*}! motd",
            "-!- Welcome, guest1! motd"
        ));
        assert!(matches("*alice* psst", "*alice* psst"));
        assert!(matches("a{*}b{*}c", "a1b2c"));
        assert!(!matches("a{*}b", "a1c"));
        assert!(!matches("<alice> hi", "<alice> hi all"));
        assert!(!matches("ab{*}ba", "aba"));
    }

    #[test]
    fn stamps() {
        assert!(is_rfc3339("2026-11-03T08:05:09Z"));
        assert!(is_rfc3339("2026-11-03T08:05:09+01:00"));
        assert!(is_rfc3339("2026-11-03T08:05:09.123-05:00"));
        assert!(!is_rfc3339("Tue Nov  3 08:05:09 2026"));
    }
}
