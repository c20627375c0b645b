//! The interactive mode, driven in a real terminal: tmux runs the client
//! ([`Tmux`]), `send-keys` types, `capture-pane` reads the screen.
//!
//! Each test starts a real chat-server on 127.0.0.1:0 and talks to it from
//! a raw TCP peer as well. Without tmux every test says why and passes, or
//! fails under `CHAT_TESTS_REQUIRE=1` (CI installs tmux).

use chat_tests::{Client, Proxy, ServerProcess, TlsCert, Tmux, require_tool};

/// Is tmux installed? If not, the test is skipped (or fails, see
/// [`chat_tests::missing`]).
fn tmux_available() -> bool {
    require_tool("tmux").is_some()
}

/// A chat-server listening on `listen`.
fn server_on(listen: &str) -> ServerProcess {
    ServerProcess::start(&["--listen", listen, "--no-console"])
}

fn server() -> ServerProcess {
    server_on("127.0.0.1:0")
}

fn port(server: &ServerProcess) -> String {
    server.addr().port().to_string()
}

/// Another chat user, on a plain socket, with `nick`.
fn peer(server: &ServerProcess, nick: &str) -> Client {
    let mut peer = server.connect();
    peer.send_line(&format!("/nick {nick}"));
    peer.expect_contains(&format!("is now known as {nick}"));
    peer.set_nick(nick);
    peer
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
    let server = server();
    let tmux = Tmux::client(
        "half",
        &[],
        &[
            "127.0.0.1",
            &port(&server),
            "--nick",
            "alice",
            "--no-history",
        ],
    );
    tmux.wait_ready("alice");
    let mut bob = peer(&server, "bob");
    tmux.wait_for("is now known as bob");

    tmux.type_text("half a li");
    tmux.wait_for("> half a li");
    bob.send_line("hello alice");
    bob.send_line("second message");
    let screen = tmux.wait_for("<bob> second message");
    let (status, input) = bottom(&screen);
    assert!(
        status.contains("[*1:lobby] │ alice │ connected"),
        "{screen}"
    );
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
    bob.expect_contains("<alice> half a line");
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
    let server = server();
    let port = port(&server);
    let args = ["127.0.0.1", &port, "--nick", "carol"];
    let tmux = Tmux::client("history", &[], &args);
    tmux.wait_ready("carol");
    let mut dave = peer(&server, "dave");
    for line in ["first line", "second line"] {
        tmux.type_text(line);
        tmux.keys(&["Enter"]);
        dave.expect_contains(line);
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

    let file = tmux.data_dir().join("chat-client").join("history");
    let saved = std::fs::read_to_string(&file).unwrap_or_default();
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
    let server = server();
    let tmux = Tmux::client(
        "tab",
        &[],
        &[
            "127.0.0.1",
            &port(&server),
            "--nick",
            "erin",
            "--no-history",
        ],
    );
    tmux.wait_ready("erin");
    let mut bobby = peer(&server, "bobby");
    tmux.wait_for("is now known as bobby");

    tmux.type_text("bo");
    tmux.keys(&["Tab"]);
    tmux.wait("the nick completed", |screen| {
        bottom(screen).1 == "> bobby:"
    });
    tmux.type_text("yo");
    tmux.keys(&["Enter"]);
    bobby.expect_contains("<erin> bobby: yo");

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
    let server = server();
    let tmux = Tmux::client(
        "resize",
        &[],
        &[
            "127.0.0.1",
            &port(&server),
            "--nick",
            "frank",
            "--no-history",
        ],
    );
    tmux.wait_ready("frank");
    let mut gina = peer(&server, "gina");
    tmux.type_text("still here");
    tmux.wait_for("> still here");

    tmux.run(&["resize-window", "-t", "main", "-x", "60", "-y", "12"]);
    gina.send_line("after the resize");
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
    let server = server();
    let port = port(&server);
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
    let mut jo = peer(&server, "jo");
    jo.send_line("hi hal and ida");
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
    let server = server();
    let tmux = Tmux::client(
        "scroll",
        &[],
        &[
            "127.0.0.1",
            &port(&server),
            "--nick",
            "kate",
            "--no-history",
        ],
    );
    tmux.wait_ready("kate");
    let mut lou = peer(&server, "lou");
    for n in 1..=60 {
        lou.send_line(&format!("line {n:02}"));
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
    let mut server = server();
    let addr = server.addr().to_string();
    let port = port(&server);
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
    tmux.wait_for("dev] │ max │ connected");

    drop(server);
    tmux.wait_for("reconnecting in 1s (attempt 1)");
    server = server_on(&addr);
    tmux.wait_for("reconnected to");
    let screen = tmux.wait_for("dev] │ max │ connected");
    assert!(screen.contains("#dev as max"), "{screen}");
    let mut nat = peer(&server, "nat");
    nat.send_line("/join dev");
    tmux.wait_for("nat joined dev");
}

#[test]
fn tls_session_with_the_insecure_warning_on_screen() {
    if !tmux_available() {
        return;
    }
    let cert = TlsCert::new();
    let server = server_on(&cert.listen_arg("127.0.0.1:0"));
    let tmux = Tmux::client(
        "tls",
        &[],
        &[
            "--tls",
            "--insecure",
            "127.0.0.1",
            &port(&server),
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

#[test]
fn each_room_has_a_window_with_an_unread_count() {
    if !tmux_available() {
        return;
    }
    let server = server();
    let tmux = Tmux::client(
        "rooms",
        &[],
        &[
            "127.0.0.1",
            &port(&server),
            "--nick",
            "olga",
            "--no-history",
        ],
    );
    tmux.wait_ready("olga");
    let mut pat = peer(&server, "pat");
    let mut quinn = peer(&server, "quinn");
    quinn.send_line("/join dev");
    quinn.expect_contains("quinn joined dev");
    tmux.wait_for("is now known as quinn");

    // A window opens for dev, after lobby's, and is shown.
    tmux.type_text("/join dev");
    tmux.keys(&["Enter"]);
    tmux.wait_for("[1:lobby] [*2:dev] │ olga │ connected");
    quinn.expect_contains("olga joined dev");

    // Lobby talk counts in lobby's window, a mention marked, and stays out
    // of dev's.
    pat.send_line("one in lobby");
    pat.send_line("olga: two in lobby");
    let screen = tmux.wait_for("[1:lobby(2!)] [*2:dev]");
    assert!(!screen.contains("in lobby"), "{screen}");

    // Alt-1: lobby's lines, its count gone; plain lines go to lobby.
    tmux.keys(&["M-1"]);
    tmux.wait_for("[*1:lobby] [2:dev] │");
    tmux.wait_for("<pat> olga: two in lobby");
    tmux.type_text("back in lobby");
    tmux.keys(&["Enter"]);
    pat.expect_contains("<olga> back in lobby");

    quinn.send_line("in dev");
    tmux.wait_for("[*1:lobby] [2:dev(1)] │");

    // Ctrl-N: dev, where quinn's line waited; the server's answer to the
    // switch (now talking in dev) is not printed.
    tmux.keys(&["C-n"]);
    tmux.wait_for("[1:lobby] [*2:dev] │");
    tmux.type_text("hi quinn");
    tmux.keys(&["Enter"]);
    quinn.expect_contains("<olga> hi quinn");
    quinn.send_line("hi olga");
    let screen = tmux.wait_for("<quinn> hi olga");
    assert!(screen.contains("<quinn> in dev"), "{screen}");
    assert!(!screen.contains("now talking in"), "{screen}");
    assert!(!screen.contains("in lobby"), "{screen}");

    // /part closes dev's window when the server confirms; lobby is shown.
    tmux.type_text("/part");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for(" [*1:lobby] │ olga │ connected");
    assert!(screen.contains("<pat> olga: two in lobby"), "{screen}");
    pat.send_line("still here");
    tmux.wait_for("<pat> still here");
}

#[test]
fn a_reconnect_rejoins_every_window_without_repeating_a_line() {
    if !tmux_available() {
        return;
    }
    let server = server();
    // Cut off by a proxy, the server and its message ids staying.
    let proxy = Proxy::start(server.addr());
    let tmux = Tmux::client(
        "rejoin",
        &[],
        &[
            "127.0.0.1",
            &proxy.addr().port().to_string(),
            "--nick",
            "rita",
            "--no-history",
            "--reconnect",
        ],
    );
    tmux.wait_ready("rita");
    for room in ["dev", "ops"] {
        tmux.type_text(&format!("/join {room}"));
        tmux.keys(&["Enter"]);
        tmux.wait_for(&format!("{room}] │ rita │ connected"));
    }
    let mut sam = peer(&server, "sam");
    sam.send_line("/join dev");
    sam.expect_contains("sam joined dev");
    sam.send_line("before the cut");
    tmux.wait_for("[1:lobby] [2:dev(1)] [*3:ops] │");

    proxy.cut();
    tmux.wait_for("reconnecting in");
    sam.send_line("while away");
    proxy.heal();
    tmux.wait_for("rejoining #lobby #dev #ops as rita");
    // What dev said meanwhile was caught up, unread, in its window; the
    // window shown stays.
    tmux.wait_for("[1:lobby] [2:dev(2)] [*3:ops] │ rita │ connected");
    sam.send_line("after");
    tmux.wait_for("[2:dev(3)]");

    // dev holds each line once, though the rejoin replayed its history.
    tmux.keys(&["M-2"]);
    let screen = tmux.wait_for("<sam> after");
    for line in ["<sam> before the cut", "<sam> while away", "<sam> after"] {
        assert_eq!(screen.matches(line).count(), 1, "{line}:\n{screen}");
    }
    // Plain lines go to the window shown.
    tmux.type_text("seen");
    tmux.keys(&["Enter"]);
    sam.expect_contains("<rita> seen");
}
