//! Hostile clients and faults: a chaos run where well-behaved
//! clients lose nothing while others misbehave, descriptor exhaustion, and a
//! graceful stop under load.

#![allow(clippy::print_stderr)] // the measured figures are worth seeing with --nocapture

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use chat_tests::{Client, ServerProcess, rss_kib};

/// User plus system CPU time of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |x| x.1)
        .split_whitespace()
        .collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12) // utime, stime (fields 14 and 15 of the whole line)
}

/// Closes `stream` with a reset (SO_LINGER 0) instead of a FIN.
fn reset(stream: TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket descriptor and a correctly sized option value.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::addr_of!(linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(stream);
}

const CHAOS_CONFIG: &str = r#"
exempt = []
max_clients = 5000
max_clients_per_ip = 5000
max_queue_bytes = 65536
max_line_bytes = 1024
flood_rate = 20.0
flood_burst = 40
announce_limit = 10
"#;

const ROOMS: usize = 4;
const PER_ROOM: usize = 50;
const MESSAGES: usize = 10;

/// A misbehaving client, run on a thread of its own until `until`.
fn misbehave(addr: SocketAddr, kind: usize, until: Instant) {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return;
    };
    let _ = s.set_write_timeout(Some(Duration::from_millis(200)));
    match kind % 7 {
        // Never reads, asks for a lot: closed when its queue passes the limit.
        0 => {
            while Instant::now() < until && s.write_all(b"/help\n/help\n/help\n/help\n").is_ok() {
                thread::sleep(Duration::from_millis(5));
            }
        }
        // Slowloris: one byte at a time.
        1 => {
            for &b in b"/join room0\nslow hello\n".iter().cycle() {
                if Instant::now() >= until || s.write_all(&[b]).is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
        }
        // A line that never ends.
        2 => {
            let chunk = [b'x'; 8192];
            while Instant::now() < until && s.write_all(&chunk).is_ok() {}
        }
        // Invalid UTF-8 and terminal escapes into a busy room.
        3 => {
            let _ = s.write_all(b"/join room1\n");
            while Instant::now() < until {
                let evil: &[u8] = b"\xff\xfe\x1b]0;pwned\x07\x1b[2J\x1b[31mred\xe2\x80\xae\x07\n";
                if s.write_all(evil).is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(100));
            }
        }
        // A flood: delayed, warned, then disconnected.
        4 => {
            let _ = s.write_all(b"/join room2\n");
            let mut line = 0u64;
            while Instant::now() < until
                && s.write_all(format!("flood {line}\n").as_bytes()).is_ok()
            {
                line += 1;
            }
        }
        // Resets mid-line.
        5 => {
            while Instant::now() < until {
                let Ok(mut r) = TcpStream::connect(addr) else {
                    break;
                };
                let _ = r.write_all(b"/join room3\nhalf a li");
                reset(r);
                thread::sleep(Duration::from_millis(20));
            }
        }
        // Connect-and-drop storm.
        _ => {
            while Instant::now() < until {
                drop(TcpStream::connect(addr));
            }
        }
    }
}

/// 200 well-behaved clients in 4 rooms each say 10 lines while 28 others
/// misbehave; every well-behaved client must hear every line of its room
/// exactly once and in order per sender.
#[test]
fn well_behaved_clients_lose_nothing_while_others_misbehave() {
    let mut server = ServerProcess::start_with_config(CHAOS_CONFIG, &["--no-console"]);
    let addr = server.addr();
    let start = Barrier::new(ROOMS * PER_ROOM + 1);
    let start = Arc::new(start);
    let chaos_until = Instant::now() + Duration::from_secs(6);

    let vandals: Vec<_> = (0..28)
        .map(|kind| thread::spawn(move || misbehave(addr, kind, chaos_until)))
        .collect();

    let members: Vec<_> = (0..ROOMS * PER_ROOM)
        .map(|i| {
            let start = Arc::clone(&start);
            thread::spawn(move || {
                let room = i % ROOMS;
                let mut client = Client::join(addr);
                let nick = format!("good{i}");
                client.send_line(&format!("/nick {nick}"));
                client.send_line(&format!("/join room{room}"));
                client.sync();
                start.wait();
                for m in 0..MESSAGES {
                    client.send_line(&format!("m{m}"));
                    // Two lines a second per client: well inside flood_rate.
                    thread::sleep(Duration::from_millis(50));
                }
                // Everyone else in the room: PER_ROOM - 1 senders.
                let mut next: HashMap<String, usize> = HashMap::new();
                let expected = (PER_ROOM - 1) * MESSAGES;
                let mut got = 0;
                while got < expected {
                    let body = client.expect("a room line", |b| b.starts_with("<good"));
                    assert!(!body.contains('\u{1b}') && !body.contains('\u{7}'), "escape leaked: {body:?}");
                    let Some((sender, text)) = body.strip_prefix('<').and_then(|b| b.split_once("> ")) else {
                        client.fail(&format!("unexpected line {body:?}"));
                    };
                    let sender_room = sender.trim_start_matches("good").parse::<usize>().map_or(usize::MAX, |n| n % ROOMS);
                    if sender_room != room {
                        client.fail(&format!("{body:?} leaked from room{sender_room}"));
                    }
                    let n = next.entry(sender.to_owned()).or_insert(0);
                    if text != format!("m{n}") {
                        client.fail(&format!("from {sender}: expected m{n}, got {text:?} (lost, duplicated or out of order)"));
                    }
                    *n += 1;
                    got += 1;
                }
                client
            })
        })
        .collect();

    start.wait();
    let mut peak_rss = 0;
    while members.iter().any(|t| !t.is_finished()) {
        peak_rss = peak_rss.max(rss_kib(server.pid()));
        assert!(
            Instant::now() < chaos_until + Duration::from_secs(30),
            "the chat took too long\n{}",
            server.report()
        );
        thread::sleep(Duration::from_millis(100));
    }
    let clients: Vec<Client> = members
        .into_iter()
        .map(|t| {
            t.join()
                .unwrap_or_else(|_| panic!("a well-behaved client failed\n{}", server.report()))
        })
        .collect();
    for vandal in vandals {
        let _ = vandal.join();
    }
    // Stated bound: 64 MiB for ~230 clients, a 64 KiB queue cap each.
    assert!(
        peak_rss < 64 * 1024,
        "server RSS peaked at {peak_rss} KiB\n{}",
        server.report()
    );
    eprintln!("chaos: peak server RSS {peak_rss} KiB");

    // The server is still healthy and stops cleanly.
    drop(clients);
    // SAFETY: sending a signal to our own child.
    unsafe {
        libc::kill(server.pid() as i32, libc::SIGTERM);
    }
    let status = server.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status}\n{}", server.report());
}

/// With a descriptor limit of 200, clients past it are refused with a notice
/// at low CPU; the connected ones keep chatting; places free up again.
#[test]
fn running_out_of_descriptors_refuses_cleanly_and_recovers() {
    let config = "max_clients = 100000\n";
    let server = ServerProcess::start_with_fd_limit(config, &["--no-console"], 200);
    let addr = server.addr();
    let mut first = Client::join(addr);
    let mut second = Client::join(addr);
    let mut held = Vec::new();
    // Fill every descriptor the server has.
    let mut refused = 0;
    for _ in 0..400 {
        let mut stream = TcpStream::connect(addr).expect("the backlog accepts");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut first_bytes = [0u8; 256];
        let n = stream.read(&mut first_bytes).unwrap_or(0);
        let text = String::from_utf8_lossy(&first_bytes[..n]).into_owned();
        if text.contains("-!- error: server full") {
            refused += 1;
        } else {
            assert!(
                text.contains("Welcome"),
                "neither welcome nor refusal: {text:?}"
            );
        }
        held.push(stream);
        if refused >= 20 {
            break;
        }
    }
    assert!(refused >= 20, "the server never ran out of descriptors");

    // A refusal storm of a few hundred connects a second: CPU stays low (a
    // server that spun on a readable listener would burn a whole core).
    let ticks_before = cpu_ticks(server.pid());
    let storm_start = Instant::now();
    let mut storm = 0;
    while storm_start.elapsed() < Duration::from_secs(2) {
        if let Ok(mut s) = TcpStream::connect(addr) {
            s.set_read_timeout(Some(Duration::from_millis(500))).ok();
            let mut buf = [0u8; 128];
            let n = s.read(&mut buf).unwrap_or(0);
            assert!(
                String::from_utf8_lossy(&buf[..n]).contains("server full"),
                "a refused client gets the notice"
            );
            storm += 1;
        }
        thread::sleep(Duration::from_millis(3));
    }
    let ticks = cpu_ticks(server.pid()) - ticks_before;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let cpu_share = ticks as f64 / hz / storm_start.elapsed().as_secs_f64();
    eprintln!(
        "fd exhaustion: {storm} refusals in 2 s, server CPU {:.0}%",
        cpu_share * 100.0
    );
    assert!(storm > 100, "the storm was too small to measure: {storm}");
    assert!(
        cpu_share < 0.25,
        "the server used {:.0}% CPU refusing {storm} clients in 2 s",
        cpu_share * 100.0
    );

    // Existing clients keep chatting.
    first.send_line("still here");
    second.expect_body(&format!("<{}> still here", first.nick()));

    // Places free up: new clients get in.
    held.truncate(held.len().saturating_sub(40));
    thread::sleep(Duration::from_millis(300));
    let mut late = Client::join(addr);
    late.send_line("made it");
    first.expect_body(&format!("<{}> made it", late.nick()));
}

/// SIGTERM while 1000 clients are connected and a burst is queued: every
/// client gets every line queued before the signal, then the goodbye, then
/// EOF; the server exits 0.
#[test]
fn sigterm_under_load_delivers_everything_then_goodbye() {
    let mut server = ServerProcess::start_with_config("max_clients = 5000\n", &["--no-console"]);
    let addr = server.addr();
    let mut clients: Vec<Client> = (0..1000).map(|_| Client::connect(addr)).collect();
    let mut sender = Client::join(addr);
    for i in 0..100 {
        sender.send_line(&format!("burst {i}"));
    }
    // Processed (so queued to everyone) before the signal.
    sender.sync();
    // SAFETY: sending a signal to our own child.
    unsafe {
        libc::kill(server.pid() as i32, libc::SIGTERM);
    }
    let burst: Vec<String> = (0..100)
        .map(|i| format!("<{}> burst {i}", sender.nick()))
        .collect();
    for client in &mut clients {
        let lines = client.expect_eof();
        let heard: Vec<&String> = lines.iter().filter(|l| l.starts_with('<')).collect();
        if heard.len() != burst.len() || heard.iter().zip(&burst).any(|(a, b)| *a != b) {
            client.fail(&format!(
                "expected the 100-line burst in order, got {} lines",
                heard.len()
            ));
        }
        if lines.last().map(String::as_str) != Some("-!- server shutting down") {
            client.fail("the goodbye was not the last line");
        }
    }
    drop(clients);
    sender.expect_eof();
    let status = server.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status}\n{}", server.report());
}

/// History memory is bounded for the whole server. Without a bound, sixty
/// clients each filling their own room's history with long lines take the
/// server from 3.7 MB to 100 MB; with `history_memory_bytes` the rings
/// hold at most the budget, shown by `/stats`, and RSS stays near it.
#[test]
fn history_memory_stays_within_its_budget_however_many_rooms_fill_it() {
    const BUDGET: usize = 1024 * 1024;
    // The rings' budget is what is measured: the history file (SQLite's
    // page cache, the store thread's batch) would add memory of its own.
    let config = format!(
        "history_lines = 250\nhistory_memory_bytes = {BUDGET}\nhistory_store = \"memory\"\n"
    );
    let mut server = ServerProcess::start_with_config(&config, &["--console"]);
    let start_rss = rss_kib(server.pid());
    let long = "x".repeat(4000);
    let mut clients: Vec<Client> = (0..20).map(|_| server.join()).collect();
    for (n, client) in clients.iter_mut().enumerate() {
        client.send_line(&format!("/join room{n}"));
    }
    for client in &mut clients {
        for _ in 0..60 {
            client.send_line(&long);
        }
    }
    for client in &mut clients {
        client.sync();
    }
    // 20 rooms × 60 lines × 4 KB = 4.8 MB said; the budget is 1 MiB.
    server.console("/stats");
    let stats = server.expect_console("history ");
    let held: usize = stats
        .split("history ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no history figure in {stats:?}"));
    assert!(
        held <= BUDGET,
        "history holds {held} bytes over {BUDGET}: {stats}"
    );
    assert!(
        held >= BUDGET / 2,
        "the budget is used, not emptied: {stats}"
    );
    let grew = rss_kib(server.pid()).saturating_sub(start_rss);
    assert!(
        grew < 16 * 1024,
        "server RSS grew by {grew} KiB\n{}",
        server.report()
    );
    // The newest lines are the ones kept: a newcomer to the busiest room
    // still gets history.
    let mut newcomer = server.join();
    newcomer.send_line("/join room19");
    newcomer.send_line("/history 1");
    newcomer.expect_body(&format!("(history) <guest20> {long}"));
}
