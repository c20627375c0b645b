//! The history store: room lines kept in SQLite survive a restart and a
//! `kill -9` with their original stamps and order, and a store that cannot
//! be opened stops the start.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use chat_tests::{Proc, ServerProcess, TempDir, command, flood, split_stamp};

/// The history file in a server's directory (the default `history_path`).
const FILE: &str = "chat-history.sqlite3";

/// `(text, live stamp)` of every `<nick> text` line `lines` hold.
fn said_by(lines: &[String], nick: &str) -> Vec<(String, String)> {
    let prefix = format!("<{nick}> ");
    lines
        .iter()
        .filter_map(|line| {
            let (stamp, body) = split_stamp(line)?;
            let text = body.strip_prefix(&prefix)?;
            Some((text.to_owned(), stamp.to_owned()))
        })
        .collect()
}

/// `(body without "(history) ", stamp)` of every history line in `lines`.
fn history_of(lines: &[String]) -> Vec<(String, String)> {
    lines
        .iter()
        .filter_map(|line| {
            let (stamp, body) = split_stamp(line)?;
            let body = body.strip_prefix("(history) ")?;
            Some((body.to_owned(), stamp.to_owned()))
        })
        .collect()
}

/// Every room's kept texts, in id order, from the file at `path`, after
/// checking the file's integrity.
fn kept(path: &Path, room: &str) -> Vec<String> {
    let db = rusqlite::Connection::open(path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap_or_else(|e| panic!("integrity_check: {e}"));
    assert_eq!(check, "ok", "PRAGMA integrity_check of {}", path.display());
    // The `lines` view: one row per line, `#ID TIME <nick> text`, as a
    // person reads them with the sqlite3 shell.
    let mut select = db
        .prepare("SELECT line FROM lines WHERE room = ?1")
        .unwrap_or_else(|e| panic!("{e}"));
    let rows = select
        .query_map([room], |row| row.get::<_, String>(0))
        .unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<String> = rows
        .map(|row| row.unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let ids: Vec<u64> = lines
        .iter()
        .map(|line| {
            let id = line.strip_prefix('#').and_then(|rest| rest.split_once(' '));
            id.and_then(|(id, _)| id.parse().ok())
                .unwrap_or_else(|| panic!("a kept line without an id: {line:?}"))
        })
        .collect();
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "ids out of order: {ids:?}"
    );
    lines
        .iter()
        .map(|line| match line.split_once("> ") {
            Some((_, text)) => text.to_owned(),
            None => panic!("not a room line: {line:?}"),
        })
        .collect()
}

#[test]
fn history_survives_a_restart_with_its_original_stamps_and_order() {
    let mut server = ServerProcess::start(&[]);
    let mut alice = server.join();
    alice.send_line("/nick alice");
    alice.expect_body("-!- guest1 is now known as alice");
    let mut bob = server.join();
    let said = ["one", "two", "three", "four"];
    for text in said {
        alice.send_line(text);
        // A second apart now and then, so stamps differ.
        if text == "two" {
            thread::sleep(Duration::from_millis(1100));
        }
    }
    alice.send_line("/me waves");
    bob.expect_body("* alice waves");
    let live: Vec<(String, String)> = said_by(bob.history(), "alice");
    let wave = bob
        .history()
        .iter()
        .find_map(|line| split_stamp(line).filter(|(_, body)| *body == "* alice waves"))
        .map(|(stamp, _)| stamp.to_owned())
        .unwrap_or_else(|| bob.fail("no live /me line"));
    assert_eq!(live.len(), said.len(), "{:?}", bob.history());
    drop((alice, bob));
    let status = server.stop();
    assert!(status.success(), "{}", server.report());

    server.restart();
    let mut carol = server.join();
    let lines = carol.lines_until("the last history line", |b| b == "(history) * alice waves");
    let mut expected: Vec<(String, String)> = live
        .iter()
        .map(|(text, stamp)| (format!("<alice> {text}"), stamp.clone()))
        .collect();
    expected.push(("* alice waves".to_owned(), wave));
    let full: Vec<String> = carol.history().to_vec();
    assert_eq!(history_of(&full), expected, "{lines:?}");

    // Memory is empty after the restart: `/history N` reads the file.
    carol.send_line("/history 2");
    let again = carol.lines_until("the answer", |b| b == "(history) * alice waves");
    let stamps: Vec<String> = carol.history()[full.len()..].to_vec();
    assert_eq!(
        history_of(&stamps),
        expected[expected.len() - 2..],
        "{again:?}"
    );
}

#[test]
fn a_kill_during_a_flood_keeps_a_gap_free_prefix_with_original_stamps() {
    let mut server = ServerProcess::start(&[]);
    let addr = server.addr();
    let observer = server.join();
    // The observer reads all the while, so it is never too slow.
    let watching = thread::spawn(move || {
        let mut observer = observer;
        observer.expect_eof();
        observer.history().to_vec()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let floods: Vec<_> = [("/nick alice\n", "a"), ("/nick bob\n/join side\n", "b")]
        .into_iter()
        .map(|(setup, prefix)| {
            let stop = Arc::clone(&stop);
            thread::spawn(move || flood(addr, setup, prefix, stop))
        })
        .collect();
    thread::sleep(Duration::from_millis(800));
    server.kill();
    stop.store(true, Ordering::Relaxed);
    let sent: Vec<usize> = floods
        .into_iter()
        .map(|flood| flood.join().unwrap_or(0))
        .collect();
    let seen = watching.join().unwrap_or_default();

    let path = server.dir().join(FILE);
    for (room, prefix, sent) in [("lobby", "a", sent[0]), ("side", "b", sent[1])] {
        let texts = kept(&path, room);
        assert!(
            !texts.is_empty(),
            "nothing of {room} was kept ({sent} sent)"
        );
        assert!(texts.len() <= sent, "{room}: more kept than sent");
        for (i, text) in texts.iter().enumerate() {
            assert_eq!(text, &format!("{prefix} {i}"), "{room}: a gap at {i}");
        }
    }

    // A joining client gets the lobby's last lines, stamped as they were
    // first seen.
    server.restart();
    let live: std::collections::HashMap<String, String> =
        said_by(&seen, "alice").into_iter().collect();
    let lobby = kept(&path, "lobby");
    let last = lobby.last().cloned().unwrap_or_default();
    let mut carol = server.join();
    carol.expect_body(&format!("(history) <alice> {last}"));
    let history = history_of(carol.history());
    assert_eq!(history.len(), lobby.len().min(50), "{history:?}");
    let tail = &lobby[lobby.len() - history.len()..];
    for ((body, stamp), text) in history.iter().zip(tail) {
        assert_eq!(body, &format!("<alice> {text}"));
        if let Some(seen_stamp) = live.get(text) {
            assert_eq!(stamp, seen_stamp, "the stamp of {text:?}");
        }
    }
    assert!(
        tail.iter().any(|text| live.contains_key(text)),
        "the observer saw none of the kept lines"
    );
}

/// Starts `chat-server --config server.toml` with `config` in a fresh dir
/// and expects it to stop at once with exit code 2; returns its stderr.
fn refused(config: &str, prepare: impl FnOnce(&TempDir)) -> String {
    let dir = TempDir::new("store");
    dir.write("server.toml", config);
    prepare(&dir);
    let mut cmd = command("chat-server");
    cmd.current_dir(dir.path())
        .args(["--config", "server.toml", "--listen", "127.0.0.1:0"]);
    let mut server = Proc::run(cmd, b"");
    server.assert_exit(2);
    assert!(
        !server.stderr().contains("listening on"),
        "{}",
        server.report()
    );
    assert!(!server.stderr().contains("panicked"), "{}", server.report());
    server.stderr()
}

#[test]
fn a_history_file_that_cannot_be_opened_stops_the_start_naming_it() {
    let missing = refused("history_path = \"no/such/dir/h.sqlite3\"\n", |_| {});
    assert!(
        missing.contains("/no/such/dir/h.sqlite3") && missing.contains("history_path"),
        "{missing}"
    );
    let junk = refused("history_path = \"junk.sqlite3\"\n", |dir| {
        dir.write("junk.sqlite3", &"not a database\n".repeat(200));
    });
    assert!(
        junk.contains("junk.sqlite3") && junk.contains("not a database"),
        "{junk}"
    );
    // No one, not even root, may create a file in /proc.
    let read_only = refused("history_path = \"/proc/chat-history.sqlite3\"\n", |_| {});
    assert!(
        read_only.contains("/proc/chat-history.sqlite3"),
        "{read_only}"
    );
    // A file of another schema is refused, never misread or rewritten.
    let other = refused("history_path = \"other.sqlite3\"\n", |dir| {
        let path = dir.path().join("other.sqlite3");
        rusqlite::Connection::open(&path)
            .and_then(|db| db.execute_batch("CREATE TABLE t (x); PRAGMA user_version = 7;"))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    });
    assert!(
        other.contains("other.sqlite3") && other.contains("schema version 7"),
        "{other}"
    );
}

#[test]
fn history_in_memory_only_writes_no_file() {
    let mut server = ServerProcess::start_with_config("history_store = \"memory\"\n", &[]);
    let mut alice = server.join();
    alice.send_line("hello");
    alice.sync();
    drop(alice);
    server.stop();
    assert!(!server.dir().join(FILE).exists(), "{}", server.report());

    // The default keeps a file where the server started.
    let mut server = ServerProcess::start(&[]);
    let mut alice = server.join();
    alice.send_line("hello");
    alice.sync();
    drop(alice);
    server.stop();
    assert_eq!(kept(&server.dir().join(FILE), "lobby"), ["hello"]);
}

#[test]
fn print_config_shows_where_the_history_file_is() {
    let dir = TempDir::new("store");
    let mut cmd = command("chat-server");
    cmd.current_dir(dir.path()).arg("--print-config");
    let mut server = Proc::run(cmd, b"");
    server.assert_exit(0);
    let expected = format!(
        "history_path = {:?}",
        dir.path().join(FILE).display().to_string()
    );
    assert!(server.stdout().contains(&expected), "{}", server.report());
}

/// The `#ID` of a line that carries one, with its body after it.
fn numbered(line: &str) -> Option<(u64, String)> {
    let (_, body) = split_stamp(line)?;
    let (id, rest) = body.strip_prefix('#')?.split_once(' ')?;
    Some((id.parse().ok()?, rest.to_owned()))
}

#[test]
fn ids_are_shown_only_to_who_asks_and_history_since_pages_through_a_room() {
    // history_lines = 1: a room keeps 4 lines, so a page is 4 lines.
    let server = ServerProcess::start_with_config("history_lines = 1\n", &[]);
    let mut alice = server.join();
    alice.send_line("/nick alice");
    alice.expect_body("-!- guest1 is now known as alice");
    let mut plain = server.join();
    let mut carol = server.join();
    carol.send_line("/cap ids");
    carol.expect_contains("-!- capability ids on");
    carol.send_line("/cap frob");
    carol.expect_contains("-!- error: unknown capability");
    let said: Vec<String> = (0..10).map(|i| format!("line {i}")).collect();
    for text in &said {
        alice.send_line(text);
    }
    plain.expect_body("<alice> line 9");
    carol.expect_line("the last line", |b| b.ends_with("<alice> line 9"));
    // The plain client's lines are as they always were.
    assert_eq!(said_by(plain.history(), "alice").len(), said.len());
    let live: Vec<(u64, String)> = carol.history().iter().filter_map(|l| numbered(l)).collect();
    let bodies: Vec<&str> = live.iter().map(|(_, body)| body.as_str()).collect();
    let expected: Vec<String> = said.iter().map(|t| format!("<alice> {t}")).collect();
    assert_eq!(bodies, expected);
    assert!(live.windows(2).all(|w| w[0].0 < w[1].0), "{live:?}");

    // Paging from before the first line yields every line once, in order;
    // `/rooms` after each ask marks where its answer ends.
    let mut after = live[0].0 - 1;
    let mut paged = Vec::new();
    for _ in 0..=said.len() {
        carol.send_line(&format!("/history since {after}"));
        carol.send_line("/rooms");
        let answer = carol.lines_until("the end of the page", |b| b.starts_with("-!- rooms ("));
        let page: Vec<(u64, String)> = answer
            .iter()
            .filter_map(|body| numbered(&format!("[x] {body}")))
            .collect();
        assert!(page.len() <= 4, "{answer:?}");
        paged.extend(page);
        let more = answer
            .iter()
            .find_map(|b| b.strip_prefix("-!- more: /history since "));
        match more.and_then(|id| id.parse::<u64>().ok()) {
            Some(next) => after = next,
            None => break,
        }
    }
    let history: Vec<(u64, String)> = paged
        .iter()
        .map(|(id, body)| (*id, body.replace("(history) ", "")))
        .collect();
    assert_eq!(history, live);
}

#[test]
fn stats_show_how_the_history_store_is_doing() {
    let mut server = ServerProcess::start(&["--console"]);
    let mut alice = server.join();
    alice.send_line("hello");
    alice.sync();
    server.console("/stats");
    let line = server.expect_console("history store: ");
    assert!(
        line.contains(
            "history store: ok [0 write failures, 0 lines not written (queue toward the store full), 0 reads refused (busy)"
        ),
        "{line}"
    );
}

#[test]
fn search_finds_the_rooms_lines_with_every_word_newest_last() {
    let server = ServerProcess::start(&[]);
    let mut alice = server.join();
    alice.send_line("/nick alice");
    alice.expect_body("-!- guest1 is now known as alice");
    let mut bob = server.join();
    for text in [
        "the red fox",
        "a blue fox",
        "red alert",
        "The RED fox jumps",
    ] {
        alice.send_line(text);
    }
    bob.expect_body("<alice> The RED fox jumps");
    bob.send_line("/search fox red");
    let answer = bob.lines_until("the search's answer", |b| b.starts_with("-!- search: "));
    assert_eq!(
        answer,
        [
            "(history) <alice> the red fox",
            "(history) <alice> The RED fox jumps",
            "-!- search: 2 matches for \"fox red\", newest last",
        ]
    );
    // Words are words, never FTS5 syntax; nothing found says so.
    bob.send_line("/search \"NEAR(* fox) OR");
    bob.expect_body("-!- search: no matches for \"\\\"NEAR(* fox) OR\"");
    // Nicks and stamps are not what a line says.
    bob.send_line("/search alice");
    bob.expect_body("-!- search: no matches for \"alice\"");
}
