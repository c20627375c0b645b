//! The interactive mode, driven in a real terminal: tmux runs the client,
//! `send-keys` types, `capture-pane` reads the screen.
//!
//! Each test starts a real chat-server on 127.0.0.1:0 and talks to it from
//! a raw TCP peer as well. The server binary is `$CHAT_SERVER_BIN` when set;
//! otherwise the test builds it once with `$CARGO build -p chat-server` into
//! its own target dir under `CARGO_TARGET_TMPDIR` (a separate target dir, so
//! it never waits for the build lock that the running `cargo test` holds).
//!
//! Without tmux every test prints why and passes (CI installs tmux). Every
//! tmux server gets its own socket (`tmux -L`) and is killed on drop; every
//! wait polls the screen for at most [`DEADLINE`].
#![allow(clippy::print_stderr, reason = "say why a test did nothing")]

mod common;

use std::fs;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Upper bound for anything a test waits on.
const DEADLINE: Duration = Duration::from_secs(5);

fn tmux_available() -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        eprintln!("skipping: tmux is not installed");
    }
    found
}

/// A running chat-server, killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start() -> Self {
        Self::start_on("127.0.0.1:0")
    }

    fn start_on(listen: &str) -> Self {
        let mut child = Command::new(common::server_binary())
            .args(["--listen", listen, "--no-console"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chat-server");
        let stderr = child.stderr.take().expect("server stderr");
        let mut lines = BufReader::new(stderr).lines();
        let addr = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(addr) = line.split("listening on ").nth(1) {
                        let addr = addr.trim().trim_end_matches(" (TLS)");
                        break addr.parse().expect("server address");
                    }
                }
                _ => {
                    let _ = child.kill();
                    panic!("chat-server did not say where it listens");
                }
            }
        };
        // Keep draining stderr so the server never blocks on it.
        thread::spawn(move || for _ in lines {});
        Self { child, addr }
    }

    fn port(&self) -> String {
        self.addr.port().to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Another chat user, on a plain socket.
struct Peer {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Peer {
    fn join(server: &Server, nick: &str) -> Self {
        let stream = TcpStream::connect(server.addr).expect("peer connects");
        stream
            .set_read_timeout(Some(DEADLINE))
            .expect("read timeout");
        let reader = BufReader::new(stream.try_clone().expect("clone peer socket"));
        let mut peer = Self { stream, reader };
        peer.say(&format!("/nick {nick}"));
        peer.wait_for(&format!("is now known as {nick}"));
        peer
    }

    fn say(&mut self, line: &str) {
        writeln!(self.stream, "{line}").expect("peer writes");
    }

    /// Read lines until one contains `text`.
    fn wait_for(&mut self, text: &str) -> String {
        let start = Instant::now();
        let mut line = String::new();
        while start.elapsed() < DEADLINE {
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(1..) if line.contains(text) => return line,
                Ok(1..) => {}
                _ => break,
            }
        }
        panic!("peer never got a line with {text:?}");
    }
}

/// A tmux server with one session running the client; killed on drop.
struct Tmux {
    socket: String,
    dir: PathBuf,
}

impl Tmux {
    /// Run the client in a 100x30 terminal with `env` and `args`.
    fn client(name: &str, env: &[(&str, &str)], args: &[&str]) -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let id = format!(
            "chat-tui-{name}-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(&id);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        let config = dir.join("tmux.conf");
        fs::write(&config, "set -g remain-on-exit on\nset -g status off\n").expect("tmux.conf");
        let tmux = Self { socket: id, dir };
        let mut command = format!(
            "env -u NO_COLOR XDG_DATA_HOME={} ",
            tmux.dir.join("data").display()
        );
        for (key, value) in env {
            command.push_str(&format!("{key}={value} "));
        }
        command.push_str(env!("CARGO_BIN_EXE_chat-client"));
        for arg in args {
            command.push(' ');
            command.push_str(arg);
        }
        command.push_str(&format!(
            "; echo $? > {}",
            tmux.dir.join("exit-status").display()
        ));
        let config = config.display().to_string();
        tmux.run(&[
            "-f",
            &config,
            "new-session",
            "-d",
            "-s",
            "main",
            "-x",
            "100",
            "-y",
            "30",
            &command,
        ]);
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        let output = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux");
        assert!(
            output.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Type text literally.
    fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "main", "-l", text]);
    }

    /// Press keys by tmux name (`Enter`, `Up`, `Tab`, `C-c`, ...).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "main"]).stdout)
            .into_owned()
    }

    fn screen_with_escapes(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-e", "-t", "main"]).stdout)
            .into_owned()
    }

    /// Poll the screen until `ready` holds; returns it (panics at the deadline).
    fn wait(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "waited {DEADLINE:?} for {what}; screen:\n{screen}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_for(&self, text: &str) -> String {
        self.wait(text, |screen| screen.contains(text))
    }

    /// The client is connected and knows its nick.
    fn wait_ready(&self, nick: &str) -> String {
        self.wait("the status line", |screen| {
            screen.contains(&format!("│ {nick} │ connected"))
        })
    }

    /// Wait for the client to exit; its exit status, as the shell saw it.
    ///
    /// (The shell writes it to a file after the client: tmux's own
    /// `pane_dead_status` is sometimes never filled in, and what a dying pane
    /// printed last is sometimes not on its screen.)
    fn wait_exit(&self) -> String {
        let file = self.dir.join("exit-status");
        let start = Instant::now();
        loop {
            if let Ok(status) = fs::read_to_string(&file)
                && status.ends_with('\n')
            {
                return status.trim().to_owned();
            }
            assert!(
                start.elapsed() < DEADLINE,
                "waited {DEADLINE:?} for the client to exit; screen:\n{}",
                self.screen()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .stderr(Stdio::null())
            .status();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The non-empty rows of a screen, trailing spaces trimmed.
fn rows(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .map(str::trim_end)
        .filter(|row| !row.is_empty())
        .collect()
}

/// The last two non-empty rows: the status line and the input line.
fn bottom(screen: &str) -> (String, String) {
    let rows = rows(screen);
    let n = rows.len();
    assert!(n >= 2, "screen too short:\n{screen}");
    (rows[n - 2].to_owned(), rows[n - 1].to_owned())
}

#[test]
fn incoming_messages_scroll_above_a_half_typed_line() {
    if !tmux_available() {
        return;
    }
    let server = Server::start();
    let tmux = Tmux::client(
        "half",
        &[],
        &[
            "127.0.0.1",
            &server.port(),
            "--nick",
            "alice",
            "--no-history",
        ],
    );
    tmux.wait_ready("alice");
    let mut bob = Peer::join(&server, "bob");
    tmux.wait_for("is now known as bob");

    tmux.type_text("half a li");
    tmux.wait_for("> half a li");
    bob.say("hello alice");
    bob.say("second message");
    let screen = tmux.wait_for("<bob> second message");
    let (status, input) = bottom(&screen);
    assert!(status.contains("#lobby │ alice │ connected"), "{screen}");
    assert_eq!(input, "> half a li", "{screen}");
    let all = rows(&screen);
    let hello = all.iter().position(|row| row.contains("<bob> hello alice"));
    let second = all
        .iter()
        .position(|row| row.contains("<bob> second message"));
    assert!(hello < second && second < Some(all.len() - 2), "{screen}");

    // Finish the line: bob gets it, and it shows as mine.
    tmux.type_text("ne");
    tmux.keys(&["Enter"]);
    bob.wait_for("<alice> half a line");
    let screen = tmux.wait_for("» <alice> half a line");
    assert_eq!(bottom(&screen).1, ">", "{screen}");

    // Ctrl-C leaves with status 0 and the terminal restored.
    tmux.keys(&["C-c"]);
    assert_eq!(tmux.wait_exit(), "0");
    let screen = tmux.screen();
    assert!(!screen.contains("│ alice │"), "{screen}");
}

#[test]
fn history_is_recalled_and_persisted() {
    if !tmux_available() {
        return;
    }
    let server = Server::start();
    let port = server.port();
    let args = ["127.0.0.1", &port, "--nick", "carol"];
    let tmux = Tmux::client("history", &[], &args);
    tmux.wait_ready("carol");
    let mut dave = Peer::join(&server, "dave");
    for line in ["first line", "second line"] {
        tmux.type_text(line);
        tmux.keys(&["Enter"]);
        dave.wait_for(line);
    }
    tmux.type_text("draft");
    tmux.keys(&["Up", "Up"]);
    let screen = tmux.wait("the first line recalled", |screen| {
        bottom(screen).1 == "> first line"
    });
    tmux.keys(&["Down"]);
    tmux.wait("the second line", |screen| {
        bottom(screen).1 == "> second line"
    });
    tmux.keys(&["Down"]);
    tmux.wait("the draft back", |screen| bottom(screen).1 == "> draft");
    // Edit a recalled line: Ctrl-U clears, Ctrl-D on the empty line quits.
    tmux.keys(&["C-u", "C-d"]);
    assert_eq!(tmux.wait_exit(), "0", "{screen}");

    let file = tmux.dir.join("data").join("chat-client").join("history");
    let saved = fs::read_to_string(&file).unwrap_or_default();
    assert_eq!(saved, "first line\nsecond line\n");

    // A new client starts with that history.
    tmux.run(&["respawn-pane", "-t", "main"]);
    tmux.wait_ready("carol");
    tmux.keys(&["Up"]);
    tmux.wait("persisted history", |screen| {
        bottom(screen).1 == "> second line"
    });
}

#[test]
fn tab_completes_nicks_and_commands() {
    if !tmux_available() {
        return;
    }
    let server = Server::start();
    let tmux = Tmux::client(
        "tab",
        &[],
        &[
            "127.0.0.1",
            &server.port(),
            "--nick",
            "erin",
            "--no-history",
        ],
    );
    tmux.wait_ready("erin");
    let mut bobby = Peer::join(&server, "bobby");
    tmux.wait_for("is now known as bobby");

    tmux.type_text("bo");
    tmux.keys(&["Tab"]);
    tmux.wait("the nick completed", |screen| {
        bottom(screen).1 == "> bobby:"
    });
    tmux.type_text("yo");
    tmux.keys(&["Enter"]);
    bobby.wait_for("<erin> bobby: yo");

    tmux.type_text("/wh");
    tmux.keys(&["Tab"]);
    tmux.wait("the command completed", |screen| {
        bottom(screen).1 == "> /who"
    });
    tmux.keys(&["Enter"]);
    tmux.wait_for("members of lobby (2)");
}

#[test]
fn resize_keeps_the_layout() {
    if !tmux_available() {
        return;
    }
    let server = Server::start();
    let tmux = Tmux::client(
        "resize",
        &[],
        &[
            "127.0.0.1",
            &server.port(),
            "--nick",
            "frank",
            "--no-history",
        ],
    );
    tmux.wait_ready("frank");
    let mut gina = Peer::join(&server, "gina");
    tmux.type_text("still here");
    tmux.wait_for("> still here");

    tmux.run(&["resize-window", "-t", "main", "-x", "60", "-y", "12"]);
    gina.say("after the resize");
    let screen = tmux.wait_for("<gina> after the resize");
    let lines: Vec<&str> = screen.lines().collect();
    assert_eq!(lines.len(), 12, "{screen}");
    assert_eq!(lines[11].trim_end(), "> still here", "{screen}");
    assert!(lines[10].contains("│ frank │ connected"), "{screen}");
    assert!(lines[9].contains("<gina> after the resize"), "{screen}");
    assert!(
        lines.iter().all(|line| line.chars().count() <= 60),
        "{screen}"
    );

    tmux.run(&["resize-window", "-t", "main", "-x", "100", "-y", "30"]);
    let screen = tmux.wait("the redraw at the bigger size", |screen| {
        let lines: Vec<&str> = screen.lines().collect();
        lines.len() == 30 && lines[29].trim_end() == "> still here"
    });
    let lines: Vec<&str> = screen.lines().collect();
    assert!(lines[28].contains("│ frank │ connected"), "{screen}");
}

/// Any SGR escape that sets a foreground or background colour.
fn colour_escapes(screen: &str) -> Vec<String> {
    let mut found = Vec::new();
    for chunk in screen.split("\x1b[").skip(1) {
        let Some(end) = chunk.find('m') else { continue };
        let params = &chunk[..end];
        if !params
            .chars()
            .all(|c| c.is_ascii_digit() || c == ';' || c == ':')
        {
            continue;
        }
        let colour = params.split(';').any(|param| {
            matches!(
                param.parse::<u16>(),
                Ok(30..=38 | 40..=48 | 90..=97 | 100..=107)
            )
        });
        if colour {
            found.push(params.to_owned());
        }
    }
    found
}

#[test]
fn no_color_means_no_colour_escapes() {
    if !tmux_available() {
        return;
    }
    let server = Server::start();
    let port = server.port();
    let plain = Tmux::client(
        "nocolor",
        &[("NO_COLOR", "1")],
        &["127.0.0.1", &port, "--nick", "hal", "--no-history"],
    );
    let coloured = Tmux::client(
        "color",
        &[],
        &[
            "127.0.0.1",
            &port,
            "--nick",
            "ida",
            "--no-history",
            "--color",
            "always",
        ],
    );
    plain.wait_ready("hal");
    coloured.wait_ready("ida");
    let mut jo = Peer::join(&server, "jo");
    jo.say("hi hal and ida");
    plain.wait_for("<jo> hi hal and ida");
    coloured.wait_for("<jo> hi hal and ida");

    let screen = plain.screen_with_escapes();
    assert_eq!(colour_escapes(&screen), Vec::<String>::new(), "{screen:?}");
    let screen = coloured.screen_with_escapes();
    assert!(!colour_escapes(&screen).is_empty(), "{screen:?}");
}

#[test]
fn page_up_and_down_scroll_back() {
    if !tmux_available() {
        return;
    }
    let server = Server::start();
    let tmux = Tmux::client(
        "scroll",
        &[],
        &[
            "127.0.0.1",
            &server.port(),
            "--nick",
            "kate",
            "--no-history",
        ],
    );
    tmux.wait_ready("kate");
    let mut lou = Peer::join(&server, "lou");
    for n in 1..=60 {
        lou.say(&format!("line {n:02}"));
    }
    tmux.type_text("typing");
    let screen = tmux.wait_for("<lou> line 60");
    assert!(!screen.contains("<lou> line 10"), "{screen}");

    tmux.keys(&["PPage", "PPage"]);
    let screen = tmux.wait("the scrolled-up view", |screen| {
        screen.contains("scrolled up") && !screen.contains("<lou> line 60")
    });
    assert_eq!(bottom(&screen).1, "> typing", "{screen}");

    tmux.keys(&["PPage", "PPage", "PPage"]);
    tmux.wait_for("is now known as lou");
    tmux.keys(&["NPage", "NPage", "NPage", "NPage", "NPage", "NPage"]);
    let screen = tmux.wait("the bottom again", |screen| {
        screen.contains("<lou> line 60") && !screen.contains("scrolled up")
    });
    assert_eq!(bottom(&screen).1, "> typing", "{screen}");
}

#[test]
fn reconnect_rejoins_room_and_nick() {
    if !tmux_available() {
        return;
    }
    let mut server = Server::start();
    let addr = server.addr.to_string();
    let port = server.port();
    let tmux = Tmux::client(
        "reconnect",
        &[],
        &[
            "127.0.0.1",
            &port,
            "--nick",
            "max",
            "--no-history",
            "--reconnect",
        ],
    );
    tmux.wait_ready("max");
    tmux.type_text("/join dev");
    tmux.keys(&["Enter"]);
    tmux.wait_for("#dev │ max │ connected");

    drop(server);
    tmux.wait_for("reconnecting in 1s (attempt 1)");
    server = Server::start_on(&addr);
    tmux.wait_for("reconnected to");
    let screen = tmux.wait_for("#dev │ max │ connected");
    assert!(screen.contains("rejoining #dev as max"), "{screen}");
    let mut nat = Peer::join(&server, "nat");
    nat.say("/join dev");
    tmux.wait_for("nat joined dev");
}

#[test]
fn tls_session_with_the_insecure_warning_on_screen() {
    if !tmux_available() {
        return;
    }
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .expect("rcgen certificate");
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tui-tls-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("temp dir");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    fs::write(&cert, made.cert.pem()).expect("write cert");
    fs::write(&key, made.signing_key.serialize_pem()).expect("write key");
    let server = Server::start_on(&format!(
        "127.0.0.1:0,cert={},key={}",
        cert.display(),
        key.display()
    ));
    let tmux = Tmux::client(
        "tls",
        &[],
        &[
            "--tls",
            "--insecure",
            "127.0.0.1",
            &server.port(),
            "--nick",
            "tess",
            "--no-history",
        ],
    );
    // The nick went out and its notice came back, both through TLS.
    let screen = tmux.wait_ready("tess");
    assert!(
        screen.contains("certificate verification is DISABLED"),
        "{screen}"
    );
    tmux.type_text("/quit");
    tmux.keys(&["Enter"]);
    assert_eq!(tmux.wait_exit(), "0");
}
