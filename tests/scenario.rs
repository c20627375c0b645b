//! The scripted conversation that `cargo xtask e2e` runs (it runs this test
//! with `--nocapture`, so every step is narrated), on the shared harness.
//!
//! A self-signed certificate ([`TlsCert`]) and, when redis-server is
//! installed, a [`RedisProcess`]. Node `a` is a chat-server with a
//! `server.toml` ([`SETTINGS`], a plain and a TLS listener on free ports;
//! with Redis, a `[cluster]` table naming it `a`) and the operator console on
//! its stdin. With Redis, node `b` joins (one plain listener, the same Redis,
//! `--no-console`); the run waits until both report `cluster: connected` and
//! both subscribe to Redis (`PUBSUB NUMSUB`), so no line is published before
//! the other node can hear it. Without redis-server the two-node part is
//! skipped, and the run says so (under `CHAT_TESTS_REQUIRE=1` it fails).
//!
//! Then the clients talk. On node `a`: `alice` and `bob` are raw TCP sockets,
//! `carol` is a real `chat-client --nick carol` process and `dave` another
//! over TLS (`--tls --ca cert.pem --tls-name localhost`). On node `b`:
//! `erin`, a raw TCP socket, whose guest nick carries node b's tag and whose
//! `/nick` is claimed through Redis. They set nicks, and every line said in
//! `lobby` reaches every other member, on either node and over TLS or not;
//! bob joins `dev`; alice sends bob a `/msg`, and erin one across nodes; bob
//! is refused erin's nick on node `a`; the operator answers carol and speaks
//! to `/all` (node `a`'s clients only); the console's `/quit` ends node `a`,
//! and erin `/quit`s node `b`. Join, leave and nick notices do not cross
//! nodes.
//!
//! Every line a participant is told to expect must arrive, in order, with an
//! RFC 3339 stamp; while waiting only notices may pass (see
//! [`people::Person::expect`]), so a message that reaches the wrong client
//! (its sender, another room, a third party, the other node) is caught, at
//! the latest when the streams are drained at the end. On failure every
//! transcript is printed: the participants', both servers' and
//! redis-server's.

mod people;

use std::time::{Duration, Instant};

use chat_tests::{
    Client, Proc, RedisProcess, ServerProcess, Stream, TIMEOUT, TlsCert, bin, command,
};
use people::{Person, matches};

/// The whole conversation, from starting the servers to node a's exit.
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

// Indices into `Chat::people`, in the order they connect. Erin only with Redis.
const ALICE: usize = 0;
const BOB: usize = 1;
const CAROL: usize = 2;
const DAVE: usize = 3;
const ERIN: usize = 4;

#[test]
fn scripted_conversation() {
    let mut chat = Chat::start();
    chat.join_cluster();
    chat.conversation();
    chat.finish();
    let took = chat.start.elapsed();
    assert!(took < RUN_TIMEOUT, "the run took {took:?}");
    chat.step("ok");
}

/// The servers, the participants and the certificate, for one run.
struct Chat {
    start: Instant,
    // Declaration order is drop order: participants close before the
    // servers go, and redis-server goes last.
    people: Vec<Person>,
    node_a: ServerProcess,
    node_b: Option<ServerProcess>,
    redis: Option<RedisProcess>,
    tls: TlsCert,
}

impl Chat {
    /// Redis (if installed) and node a, listening on a plain and a TLS port.
    fn start() -> Chat {
        // Build the binaries first: the run's time is the conversation's.
        bin("chat-server");
        bin("chat-client");
        let start = Instant::now();
        let tls = TlsCert::new();
        let redis = RedisProcess::start();
        if redis.is_none() {
            step(
                start,
                "skipping the two-node part: redis-server not installed",
            );
        }
        let listen = format!(
            "[\"127.0.0.1:0\", {{ addr = \"127.0.0.1:0\", tls = {{ cert = {}, key = {} }} }}]",
            toml_string(&tls.cert().to_string_lossy()),
            toml_string(&tls.key().to_string_lossy()),
        );
        let url = redis.as_ref().map(RedisProcess::url);
        let node_a = ServerProcess::builder()
            .config(&config(&listen, url.as_deref().map(|url| (url, "a"))))
            .args(&["--console"])
            .listeners(2)
            .start();
        let chat = Chat {
            start,
            people: Vec::new(),
            node_a,
            node_b: None,
            redis,
            tls,
        };
        chat.step(&format!(
            "server listening on {} and {} (TLS, self-signed cert.pem) (config {}/server.toml)",
            chat.node_a.plain_addr(),
            chat.node_a.tls_addr(),
            chat.node_a.dir().display()
        ));
        chat
    }

    /// With Redis: node `a` connected, node `b` started and connected, and
    /// both subscribed, before any client speaks.
    fn join_cluster(&mut self) {
        let Some((url, port)) = self.redis.as_ref().map(|r| (r.url(), r.port())) else {
            return;
        };
        // Until node a is connected, its `/nick` is refused as unavailable.
        self.expect_console("cluster: connected to {*} as node a");

        let mut node_b = ServerProcess::builder()
            .config(&config(r#"["127.0.0.1:0"]"#, Some((&url, "b"))))
            .args(&["--no-console"])
            .listeners(1)
            .start();
        let pattern = "chat-server: cluster: connected to {*} as node b";
        node_b
            .proc()
            .expect_line(Stream::Stderr, &format!("matching `{pattern}`"), |line| {
                matches(pattern, line)
            });
        if let Some(redis) = &self.redis {
            redis.wait_subscribers(&[("chat:rooms", 2), ("chat:node:a", 1), ("chat:node:b", 1)]);
        }
        self.step(&format!(
            "node b listening on {}; both nodes connected to redis-server on port {port} and subscribed",
            node_b.addr()
        ));
        self.node_b = Some(node_b);
    }

    /// The script. Each step waits for its effect before the next one starts.
    fn conversation(&mut self) {
        let cluster = self.node_b.is_some();
        self.connect_tcp("alice", self.node_a.plain_addr());
        let alice_welcome = self.expect(ALICE, WELCOME);
        self.say(ALICE, "/nick alice");
        self.expect(ALICE, "-!- {*} is now known as alice");
        self.step("alice joined (raw TCP) and took her nick");

        self.connect_tcp("bob", self.node_a.plain_addr());
        self.expect(BOB, WELCOME);
        self.expect(ALICE, "-!- {*} joined lobby");
        self.say(BOB, "/nick bob");
        self.expect_all(&[ALICE, BOB], "-!- {*} is now known as bob");
        self.step("bob joined (raw TCP) and took his nick; alice saw both");

        self.spawn_chat_client("carol", false);
        self.expect(CAROL, WELCOME);
        self.expect_all(&[ALICE, BOB, CAROL], "-!- {*} is now known as carol");
        self.step("carol joined (chat-client --nick carol); alice and bob saw it");

        self.spawn_chat_client("dave", true);
        self.expect(DAVE, WELCOME);
        self.expect_all(&[ALICE, BOB, CAROL, DAVE], "-!- {*} is now known as dave");
        self.step(
            "dave joined over TLS (chat-client --tls --ca cert.pem --tls-name localhost --nick dave); the others saw it",
        );

        if let Some(node_b) = &self.node_b {
            self.connect_tcp("erin", node_b.addr());
            let erin_welcome = self.expect(ERIN, WELCOME);
            let (alice_guest, erin_guest) = (guest_nick(&alice_welcome), guest_nick(&erin_welcome));
            let (a_tag, b_tag) = (node_tag(alice_guest), node_tag(erin_guest));
            assert!(
                a_tag.is_some() && b_tag.is_some() && a_tag != b_tag,
                "in a cluster guest nicks carry their node's tag (guestN-TAG), but node a \
                 named alice `{alice_guest}` and node b named erin `{erin_guest}`"
            );
            self.say(ERIN, "/nick erin");
            self.expect(ERIN, &format!("-!- {erin_guest} is now known as erin"));
            self.step(&format!(
                "erin joined node b (raw TCP) as {erin_guest} (alice was {alice_guest}) and took her nick through Redis"
            ));
        } else if let Some(tag) = node_tag(guest_nick(&alice_welcome)) {
            panic!("a single node's guest nicks have no tag, but got `-{tag}`");
        }

        self.say(ALICE, "hi all");
        self.expect_all(&self.and_erin(&[BOB, CAROL, DAVE]), "<alice> hi all");
        let alice = self.people[ALICE].addr_pattern();
        self.expect_console(&format!("[lobby] <alice> hi all ({alice})"));
        self.step(&format!(
            "alice said `hi all`: bob, carol, dave{} got it, the console logged it",
            self.erin_text(" and erin (node b)")
        ));

        self.say(CAROL, "hello from carol");
        self.expect_all(
            &self.and_erin(&[ALICE, BOB, DAVE]),
            "<carol> hello from carol",
        );
        self.step(&format!(
            "carol said `hello from carol` through chat-client: alice, bob, dave{} got it",
            self.erin_text(", erin")
        ));

        self.say(DAVE, "hello over TLS");
        self.expect_all(
            &self.and_erin(&[ALICE, BOB, CAROL]),
            "<dave> hello over TLS",
        );
        self.step(&format!(
            "dave said `hello over TLS`: alice, bob, carol{} got it",
            self.erin_text(", erin")
        ));

        if cluster {
            self.say(ERIN, "hello from node b");
            self.expect_all(&[ALICE, BOB, CAROL, DAVE], "<erin> hello from node b");
            self.step("erin said `hello from node b`: alice, bob, carol, dave on node a got it");
        }

        self.say(BOB, "/join dev");
        self.expect(BOB, "-!- bob joined dev");
        self.say(BOB, "/part lobby");
        self.expect(BOB, "-!- bob left lobby");
        self.step("bob /join'ed dev and /part'ed lobby");

        self.say(ALICE, "lobby only");
        self.expect_all(&self.and_erin(&[CAROL, DAVE]), "<alice> lobby only");
        self.say(BOB, "anyone in dev?");
        let bob = self.people[BOB].addr_pattern();
        self.expect_console(&format!("[dev] <bob> anyone in dev? ({bob})"));
        self.step("alice spoke in lobby, bob in dev (checked at the end: neither crossed over)");

        self.say(ALICE, "/msg bob psst, alice here");
        self.expect(BOB, "*alice* psst, alice here");
        self.expect(ALICE, "-> *bob* psst, alice here");
        self.step("alice sent bob a /msg: bob got it, alice got her copy");

        if cluster {
            self.say(ALICE, "/msg erin psst, across nodes");
            self.expect(ERIN, "*alice* psst, across nodes");
            self.expect(ALICE, "-> *erin* psst, across nodes");
            self.step("alice sent erin a /msg from node a: erin got it on node b, alice her copy");

            self.say(BOB, "/nick erin");
            self.expect(BOB, "-!- error: nick erin is taken");
            self.step("bob tried /nick erin on node a: refused, node b holds it");
        }

        self.say(CAROL, "anyone there, operator?");
        self.expect_all(
            &self.and_erin(&[ALICE, DAVE]),
            "<carol> anyone there, operator?",
        );
        self.expect_console("[lobby] <carol> anyone there, operator? ({*})");
        self.node_a.console("hello carol, operator here");
        self.expect(CAROL, "-operator- hello carol, operator here");
        self.step("carol asked the operator; the console's plain reply went to her only");

        self.node_a.console("/all back in a moment");
        self.expect_all(&[ALICE, BOB, CAROL, DAVE], "-operator- back in a moment");
        self.step(&format!(
            "the operator spoke to /all: everyone{} got it{}",
            self.erin_text(" on node a"),
            self.erin_text(" (checked at the end: erin on node b did not)")
        ));

        self.node_a.console("/quit");
        self.expect_all(&[ALICE, BOB, CAROL, DAVE], "-!- server shutting down");
        self.step(&format!(
            "the operator sent /quit: everyone{} was told",
            self.erin_text(" on node a")
        ));
        if cluster {
            self.say(ERIN, "/quit");
            self.expect(ERIN, "-!- Goodbye!");
            self.step("erin sent /quit to node b: it said goodbye");
        }
    }

    /// After `/quit`: every participant sees the end of its stream with
    /// nothing unexpected before it, node a and the chat-clients exit 0, and
    /// no line reached a client it was not for. Node b is killed on drop.
    fn finish(&mut self) {
        for person in &mut self.people {
            // As a client does when the server has closed: the server lingers
            // until its peers close too.
            person.drain_and_hang_up();
        }
        let status = self.node_a.wait_exit(TIMEOUT);
        assert!(
            status.success(),
            "chat-server exited with {status}\n{}",
            self.node_a.report()
        );
        for person in &mut self.people {
            if let Some(proc) = person.process() {
                let status = proc.wait_exit(TIMEOUT);
                assert!(
                    status.success(),
                    "chat-client exited with {status}\n{}",
                    proc.report()
                );
            }
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
            let Some(person) = self.people.get(who) else {
                continue; // erin, without Redis
            };
            if let Some(line) = person.lines().iter().find(|line| line.contains(text)) {
                person.fail(&format!("must not get `{text}`, but got `{line}`"));
            }
            checked += 1;
        }
        self.step(&format!(
            "no client got its own lines, another room's, another's private ones{} ({checked} checks)",
            self.erin_text(", or the other node's operator lines")
        ));
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

    fn step(&self, what: &str) {
        step(self.start, what);
    }

    /// A raw TCP participant `name` of the server at `addr`.
    fn connect_tcp(&mut self, name: &'static str, addr: std::net::SocketAddr) {
        self.people.push(Person::tcp(name, Client::connect(addr)));
    }

    /// A `chat-client --nick NAME` process, to the TLS listener with `tls`.
    fn spawn_chat_client(&mut self, name: &'static str, tls: bool) {
        let addr = if tls {
            self.node_a.tls_addr()
        } else {
            self.node_a.plain_addr()
        };
        let mut cmd = command("chat-client");
        cmd.arg(addr.ip().to_string()).arg(addr.port().to_string());
        if tls {
            cmd.arg("--tls")
                .arg("--ca")
                .arg(self.tls.cert())
                .args(["--tls-name", "localhost"]);
        }
        cmd.args(["--nick", name]);
        self.people
            .push(Person::chat_client(name, Proc::spawn(cmd)));
    }

    fn say(&mut self, who: usize, line: &str) {
        self.people[who].say(line);
    }

    /// See [`Person::expect`]; returns the matching line's body.
    fn expect(&mut self, who: usize, pattern: &str) -> String {
        self.people[who].expect(pattern)
    }

    fn expect_all(&mut self, who: &[usize], pattern: &str) {
        for &who in who {
            self.expect(who, pattern);
        }
    }

    /// Waits for a console line (node a's stdout) matching `pattern`; other
    /// console lines may come before it.
    fn expect_console(&mut self, pattern: &str) {
        self.node_a
            .proc()
            .expect_line(Stream::Stdout, &format!("matching `{pattern}`"), |line| {
                matches(pattern, line)
            });
    }
}

impl Drop for Chat {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let transcripts: Vec<String> = self.people.iter().map(Person::transcript).collect();
            #[allow(clippy::print_stderr, reason = "the failing test's report")]
            {
                eprintln!("{}", transcripts.join("\n"));
            }
        }
        // Then the fields drop: the servers and redis-server print their
        // own reports.
    }
}

/// Says what just happened, with the time since the start.
#[allow(clippy::print_stdout, reason = "`cargo xtask e2e` narrates the run")]
fn step(start: Instant, what: &str) {
    println!("e2e: [{:5.2} s] {what}", start.elapsed().as_secs_f64());
}

/// A node's server.toml: `listen` (TOML), [`SETTINGS`], and with
/// `(redis_url, node_name)` a `[cluster]` table.
fn config(listen: &str, cluster: Option<(&str, &str)>) -> String {
    let mut text = format!(
        "# Written by the e2e scenario (tests/scenario.rs).\nlisten = {listen}\n{SETTINGS}"
    );
    if let Some((url, node)) = cluster {
        text.push_str(&format!(
            "\n[cluster]\nredis_url = {}\nnode_name = {}\n",
            toml_string(url),
            toml_string(node)
        ));
    }
    text
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

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[test]
fn toml_strings() {
    assert_eq!(toml_string("/tmp/a b/c.pem"), "\"/tmp/a b/c.pem\"");
    assert_eq!(toml_string(r#"C:\x"y"#), r#""C:\\x\"y""#);
}

#[test]
fn guest_nicks_and_tags() {
    let welcome = "-!- Welcome, guest7-k3fa! xtask e2e: be nice";
    assert_eq!(guest_nick(welcome), "guest7-k3fa");
    assert_eq!(node_tag(guest_nick(welcome)), Some("k3fa"));
    assert_eq!(node_tag("guest7"), None);
}
