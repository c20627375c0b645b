//! `chat-client --reconnect` in line mode (a script, not a terminal): cut
//! off by a proxy while others talk, and again across a server restart, it
//! prints every line said exactly once, in order. And with `history_sync =
//! "always"`, every line a client received before a `kill -9` is in the
//! history file.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use chat_tests::{Client, Proc, Proxy, ServerProcess, Stream, command, flood};

/// The texts alice said, in the order carol printed them (live or as
/// history), from carol's stdout.
fn heard_from_alice(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|line| line.split_once("<alice> ").map(|(_, text)| text.to_owned()))
        .collect()
}

fn alice(server: &ServerProcess) -> Client {
    let mut alice = server.join();
    alice.send_line("/nick alice");
    alice.expect_contains("is now known as alice");
    alice
}

/// Alice says `prefix 0` .. `prefix count-1`; returns the texts.
fn say(alice: &mut Client, prefix: &str, count: usize) -> Vec<String> {
    let texts: Vec<String> = (0..count).map(|i| format!("{prefix} {i}")).collect();
    for text in &texts {
        alice.send_line(text);
    }
    alice.sync();
    texts
}

#[test]
fn a_client_cut_off_or_restarted_gets_what_it_missed_exactly_once() {
    let mut server = ServerProcess::start(&[]);
    let proxy = Proxy::start(server.addr());
    let mut cmd = command("chat-client");
    cmd.args(["--reconnect", "--nick", "carol", "127.0.0.1"])
        .arg(proxy.addr().port().to_string());
    let mut carol = Proc::spawn(cmd);
    carol.expect_stdout("is now known as carol");
    let mut alice = alice(&server);
    let mut said = say(&mut alice, "before", 3);
    carol.expect_stdout("<alice> before 2");

    // Cut off while alice says more than a joining client's history (50)
    // and more than one page of `/history since` holds.
    proxy.cut();
    carol.expect_stderr("lost");
    said.extend(say(&mut alice, "away", 130));
    proxy.heal();
    carol.expect_stderr("reconnected");
    carol.expect_stdout("<alice> away 129");
    said.extend(say(&mut alice, "after", 2));
    carol.expect_stdout("<alice> after 1");

    // The server restarts (killed: what was committed is what is kept);
    // alice comes back first and talks before carol's reconnect.
    server.kill();
    server.restart();
    proxy.retarget(server.addr());
    let mut alice = self::alice(&server);
    said.extend(say(&mut alice, "restarted", 5));
    carol.expect_stdout("<alice> restarted 4");
    said.extend(say(&mut alice, "last", 1));
    carol.expect_stdout("<alice> last 0");

    carol.close_stdin();
    carol.wait_exit(chat_tests::TIMEOUT);
    let printed = carol.lines(Stream::Stdout);
    assert_eq!(heard_from_alice(&printed), said, "{}", carol.report());
    assert!(
        printed.iter().all(|line| !line.contains("] #")),
        "ids are not printed: {}",
        carol.report()
    );
    // The same lines were there for a plain client, with no ids and no
    // catch-up: a client that never asks for ids sees no difference.
    let mut plain = server.join();
    plain.send_line("/history 3");
    plain.expect_body("(history) <alice> last 0");
}

#[test]
fn with_history_sync_always_every_line_a_client_saw_survives_a_kill() {
    let mut server = ServerProcess::start_with_config("history_sync = \"always\"\n", &[]);
    let addr = server.addr();
    let observer = server.join();
    let watching = thread::spawn(move || {
        let mut observer = observer;
        observer.expect_eof();
        observer.history().to_vec()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let flooding = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || flood(addr, "/nick alice\n", "line", stop))
    };
    thread::sleep(Duration::from_millis(800));
    server.kill();
    stop.store(true, Ordering::Relaxed);
    let _ = flooding.join();
    let seen = watching.join().unwrap_or_default();
    let received: Vec<&str> = seen
        .iter()
        .filter_map(|line| line.split_once("<alice> ").map(|(_, text)| text))
        .collect();
    assert!(
        received.len() > 20,
        "the flood reached the observer: {seen:?}"
    );

    let db = rusqlite::Connection::open(server.dir().join("chat-history.sqlite3"))
        .unwrap_or_else(|e| panic!("the history file: {e}"));
    let kept: Vec<String> = db
        .prepare("SELECT line FROM lines WHERE room = 'lobby'")
        .and_then(|mut select| select.query_map([], |row| row.get(0))?.collect())
        .unwrap_or_else(|e| panic!("the lines view: {e}"));
    let kept: Vec<&str> = kept
        .iter()
        .filter_map(|line| line.split_once("<alice> ").map(|(_, text)| text))
        .collect();
    assert!(
        kept.len() >= received.len(),
        "{} lines received, {} kept",
        received.len(),
        kept.len()
    );
    assert_eq!(
        &kept[..received.len()],
        &received[..],
        "every line seen is kept, in order"
    );
}
