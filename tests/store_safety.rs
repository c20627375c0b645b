//! Nothing anyone reads can delay or drop a room line: searches, however
//! many or expensive, leave the history store's writes alone; a stop is
//! prompt whatever is queued; every line that does not reach the file is
//! counted.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use chat_tests::{Client, ServerProcess, http_get, metric_sample, rss_kib, tcp_connect_from};

/// The history file in a server's directory (the default `history_path`).
const FILE: &str = "chat-history.sqlite3";
/// Lines put in the room before the searching starts.
const PREFILLED: u64 = 200_000;
/// What the searchers ask: words that every block of prefilled lines
/// holds but no line holds both of, so a search reads as much as it may.
const WORDS: &str = "common rare";

/// Fills `lobby`'s history in the file at `path` (made by a server that
/// ran and stopped) with [`PREFILLED`] lines, each holding one of the
/// [`WORDS`], in blocks of 1000, as the store writes them.
fn prefill(path: &Path) {
    let mut db = rusqlite::Connection::open(path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let now = chrono::Local::now().fixed_offset();
    let stamp = now.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string();
    let tx = db.transaction().unwrap_or_else(|e| panic!("{e}"));
    for block in 0..PREFILLED / 1000 {
        let first = block * 1000 + 1;
        let lines: String = (first..first + 1000)
            .map(|id| {
                let word = if id % 2 == 0 { "common" } else { "rare" };
                format!("#{id} {stamp} <filler> a {word} line number {id}\n")
            })
            .collect();
        let last = i64::try_from(first + 999).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO blocks (last_id, room, first_id, last_ms, lines) VALUES (?1, 'lobby', ?2, ?3, ?4)",
            rusqlite::params![last, i64::try_from(first).unwrap_or(0), now.timestamp_millis(), lines],
        )
        .unwrap_or_else(|e| panic!("prefill: {e}"));
    }
    tx.commit().unwrap_or_else(|e| panic!("{e}"));
}

/// A server with `config` whose lobby already holds [`PREFILLED`] lines.
fn prefilled_server(config: &str) -> ServerProcess {
    let mut server = ServerProcess::start_with_config(config, &[]);
    // A client in: the server runs (and handles signals).
    server.join().sync();
    assert!(server.stop().success(), "{}", server.report());
    prefill(&server.dir().join(FILE));
    server.restart();
    server
}

/// The texts of `room`'s lines in the file at `path`, read from its
/// blocks (the `lines` view splits them one line at a time: slow for
/// hundreds of thousands).
fn kept_texts(path: &Path, room: &str) -> Vec<String> {
    let db = rusqlite::Connection::open(path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let mut select = db
        .prepare("SELECT lines FROM blocks WHERE room = ?1 ORDER BY last_id")
        .unwrap_or_else(|e| panic!("{e}"));
    let rows = select
        .query_map([room], |row| row.get::<_, String>(0))
        .unwrap_or_else(|e| panic!("{e}"));
    let blocks: Vec<String> = rows
        .map(|row| row.unwrap_or_else(|e| panic!("{e}")))
        .collect();
    blocks
        .iter()
        .flat_map(|block| block.lines())
        .filter_map(|line| line.split_once("> ").map(|(_, text)| text.to_owned()))
        .collect()
}

/// Reads everything `stream` is sent, on a thread of its own, until the
/// server closes it; the thread returns how many search answers came.
fn drain(stream: &TcpStream) -> thread::JoinHandle<usize> {
    let mut reader = stream
        .try_clone()
        .unwrap_or_else(|e| panic!("cannot clone a socket: {e}"));
    thread::spawn(move || {
        let (mut buf, mut got) = ([0; 64 * 1024], Vec::new());
        while let Ok(n @ 1..) = reader.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&got).matches("search: ").count()
    })
}

/// Says `victim 0` … `victim {count - 1}`, four a second (within the flood
/// limits), and checks that `listener` hears each within `within`.
fn say_and_time(victim: &mut Client, listener: &mut Client, count: usize, within: Duration) {
    for i in 0..count {
        let said = Instant::now();
        let text = format!("victim {i}");
        victim.send_line(&text);
        let heard = listener.expect_within(&format!("> {text}"), within);
        assert!(
            heard.is_some(),
            "{text:?} not heard within {within:?} (waited {:?})",
            said.elapsed()
        );
        thread::sleep(Duration::from_millis(250).saturating_sub(said.elapsed()));
    }
}

#[test]
fn twenty_searching_connections_never_delay_a_line_committed_before_it_goes_out() {
    // 127.0.0.2 is not exempt from the flood limits: the searchers search
    // as often as those allow a client, the most an attacker may.
    let config =
        "history_sync = \"always\"\nexempt = [\"127.0.0.1/32\"]\nmax_clients_per_ip = 30\n";
    let mut server = prefilled_server(config);
    let addr = server.addr();
    let mut listener = server.join();
    let mut victim = server.join();
    let stop = Arc::new(AtomicBool::new(false));
    let from = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let searchers: Vec<_> = (0..20)
        .map(|_| {
            let stream = tcp_connect_from(addr, from);
            let answers = drain(&stream);
            let stop = Arc::clone(&stop);
            let mut stream = stream;
            let searching = thread::spawn(move || {
                // The year is in every stamp, the nick in every line.
                let year = chrono::Local::now().format("%Y");
                let searches = [WORDS.to_owned(), year.to_string(), "filler".to_owned()];
                let mut next = searches.iter().cycle();
                while let Some(words) = next.next()
                    && !stop.load(Ordering::Relaxed)
                    && stream
                        .write_all(format!("/search {words}\n").as_bytes())
                        .is_ok()
                {
                    thread::sleep(Duration::from_millis(210));
                }
                let _ = stream.shutdown(std::net::Shutdown::Both);
            });
            (searching, answers)
        })
        .collect();
    thread::sleep(Duration::from_secs(1));
    say_and_time(&mut victim, &mut listener, 40, Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let answered: usize = searchers
        .into_iter()
        .map(|(searching, answers)| {
            let _ = searching.join();
            answers.join().unwrap_or(0)
        })
        .sum();
    assert!(answered > 0, "no search was answered at all");
    assert!(server.stop().success(), "{}", server.report());
    let kept = kept_texts(&server.dir().join(FILE), "lobby");
    for i in 0..40 {
        let text = format!("victim {i}");
        assert!(kept.contains(&text), "{text:?} is not in the file");
    }
}

#[test]
fn seventy_thousand_pipelined_searches_lose_no_line_and_a_stop_stays_prompt() {
    let metrics = "[metrics]\nlisten = \"127.0.0.1:0\"\n";
    let mut server = prefilled_server(metrics);
    let before = rss_kib(server.pid()) / 1024;
    let mut listener = server.join();
    let mut victim = server.join();
    // From loopback, so no flood limit paces them: all at once.
    let attacker = TcpStream::connect(server.addr()).unwrap_or_else(|e| panic!("{e}"));
    let _answers = drain(&attacker);
    let searches = format!("/search {WORDS}\n").repeat(70_000);
    let mut writer = attacker.try_clone().unwrap_or_else(|e| panic!("{e}"));
    let pipeline = thread::spawn(move || {
        // The server may cut the attacker for not reading: that is fine.
        let _ = writer.write_all(searches.as_bytes());
    });
    say_and_time(&mut victim, &mut listener, 20, Duration::from_secs(2));
    let _ = pipeline.join();
    let text = http_get(server.metrics_addr(), "/metrics").body;
    assert_eq!(
        metric_sample(&text, "chat_history_store_dropped_total"),
        0,
        "{text}"
    );
    let grown = (rss_kib(server.pid()) / 1024).saturating_sub(before);
    assert!(grown < 100, "the server grew by {grown} MiB");
    // Queued reads are dropped at a stop; the lines are written.
    let signalled = Instant::now();
    server.signal(libc::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(10));
    let took = signalled.elapsed();
    assert!(status.success(), "{status:?}\n{}", server.report());
    // The default shutdown_linger is 2 s.
    assert!(took < Duration::from_secs(3), "the stop took {took:?}");
    let kept = kept_texts(&server.dir().join(FILE), "lobby");
    for i in 0..20 {
        let text = format!("victim {i}");
        assert!(kept.contains(&text), "{text:?} is not in the file");
    }
}

#[test]
fn a_sender_at_full_speed_leaves_every_id_in_the_file_or_counted() {
    const SAID: usize = 200_000;
    let metrics = "[metrics]\nlisten = \"127.0.0.1:0\"\n";
    let mut server = prefilled_server(metrics);
    // A searcher keeps the store's reader busy meanwhile.
    let searcher = TcpStream::connect(server.addr()).unwrap_or_else(|e| panic!("{e}"));
    let _answers = drain(&searcher);
    let mut searching = searcher.try_clone().unwrap_or_else(|e| panic!("{e}"));
    let search = thread::spawn(move || {
        let _ = searching.write_all(format!("/search {WORDS}\n").repeat(20_000).as_bytes());
    });
    let mut sender = server.join();
    sender.send_line("/join burst");
    sender.expect_body(&format!("-!- {} joined burst", sender.nick()));
    let lines: String = (0..SAID).map(|i| format!("burst {i}\n")).collect();
    sender.send_bytes(lines.as_bytes());
    // Every line before it was handled once /rooms is answered.
    sender.send_line("/rooms");
    sender.expect("the /rooms answer", |body| body.starts_with("-!- rooms ("));
    let _ = search.join();
    let text = http_get(server.metrics_addr(), "/metrics").body;
    let dropped = usize::try_from(metric_sample(&text, "chat_history_store_dropped_total"))
        .unwrap_or(usize::MAX);
    assert!(server.stop().success(), "{}", server.report());
    let kept = kept_texts(&server.dir().join(FILE), "burst").len();
    assert_eq!(
        kept + dropped,
        SAID,
        "{kept} lines in the file and {dropped} counted as not written"
    );
    if dropped > 0 {
        assert!(
            server.report().contains("lines not written"),
            "{dropped} lines dropped without a log line\n{}",
            server.report()
        );
    }
}
