//! IRCv3 `draft/chathistory` over the real server and its history file:
//! lines said by a line-protocol client are read back by an IRC client by
//! message id and by time, as `chathistory` batches.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use chat_tests::{Client, ServerProcess, TIMEOUT};

/// A bare IRC connection: lines out, lines in, a bounded wait for each.
struct Irc {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    seen: Vec<String>,
}

impl Irc {
    fn connect(addr: std::net::SocketAddr) -> Irc {
        let stream = TcpStream::connect_timeout(&addr, TIMEOUT).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let writer = stream.try_clone().expect("clone");
        Irc {
            reader: BufReader::new(stream),
            writer,
            seen: Vec::new(),
        }
    }

    fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .expect("send");
    }

    /// Lines up to and including the first that `done` accepts.
    fn until(&mut self, what: &str, done: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + TIMEOUT;
        let mut got = Vec::new();
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) => panic!("closed while waiting for {what}; got {got:#?}"),
                Ok(_) => {
                    let line = line.trim_end().to_owned();
                    self.seen.push(line.clone());
                    got.push(line.clone());
                    if done(&line) {
                        return got;
                    }
                }
                Err(_) if Instant::now() < deadline => {}
                Err(e) => panic!("no {what} within {TIMEOUT:?} ({e}); got {got:#?}"),
            }
        }
    }
}

#[test]
fn an_irc_client_reads_the_history_by_id_and_by_time() {
    let server = ServerProcess::start(&["--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0,irc"]);
    let mut nc = Client::join(server.plain_addr());
    nc.send_line("/nick liner");
    nc.expect_body("-!- guest1 is now known as liner");
    for n in 1..=5 {
        nc.send_line(&format!("line {n}"));
    }
    let mut irc = Irc::connect(server.irc_addr());
    irc.send("CAP LS 302");
    let caps = irc.until("CAP LS", |line| line.contains(" CAP * LS "));
    assert!(
        caps.iter().any(|line| line.contains("draft/chathistory")),
        "{caps:?}"
    );
    irc.send("CAP REQ :batch server-time message-tags draft/chathistory");
    irc.send("CAP END");
    irc.send("NICK reader");
    irc.send("USER r 0 * :R");
    let welcome = irc.until("the MOTD's end", |line| line.contains(" 376 "));
    assert!(
        welcome.iter().any(|line| line.contains("CHATHISTORY=100")),
        "{welcome:#?}"
    );
    irc.send("JOIN #lobby");
    irc.until("NAMES", |line| line.contains(" 366 "));

    irc.send("CHATHISTORY LATEST #lobby * 3");
    let latest = irc.until("the batch's end", |line| line.contains("BATCH -"));
    let said: Vec<&str> = latest
        .iter()
        .filter(|line| line.contains("PRIVMSG #lobby"))
        .filter_map(|line| line.rsplit_once(" :"))
        .map(|(_, text)| text)
        .collect();
    assert_eq!(said, ["line 3", "line 4", "line 5"], "{latest:#?}");
    assert!(
        latest[0].contains("BATCH +") && latest[0].contains("chathistory #lobby"),
        "{latest:#?}"
    );
    assert!(
        latest[1].starts_with("@batch=")
            && latest[1].contains("time=")
            && latest[1].contains("msgid=")
    );

    // Before the third line, by its id: the first two.
    let third = latest[1]
        .split(';')
        .find_map(|tag| tag.strip_prefix("msgid="))
        .unwrap_or_default();
    let third = third.split(' ').next().unwrap_or_default();
    irc.send(&format!("CHATHISTORY BEFORE #lobby msgid={third} 10"));
    let before = irc.until("the batch's end", |line| line.contains("BATCH -"));
    let texts: Vec<&str> = before
        .iter()
        .filter_map(|line| line.rsplit_once("PRIVMSG #lobby :"))
        .map(|(_, t)| t)
        .collect();
    assert_eq!(texts, ["line 1", "line 2"], "{before:#?}");
    // After a time long past: the oldest two.
    irc.send("CHATHISTORY AFTER #lobby timestamp=2000-01-01T00:00:00.000Z 2");
    let after = irc.until("the batch's end", |line| line.contains("BATCH -"));
    let texts: Vec<&str> = after
        .iter()
        .filter_map(|line| line.rsplit_once("PRIVMSG #lobby :"))
        .map(|(_, t)| t)
        .collect();
    assert_eq!(texts, ["line 1", "line 2"], "{after:#?}");
    // What cannot be answered says why.
    irc.send("CHATHISTORY LATEST #elsewhere * 5");
    let fail = irc.until("a FAIL", |line| {
        line.starts_with(":") && line.contains("FAIL CHATHISTORY")
    });
    assert!(
        fail.last()
            .is_some_and(|line| line.contains("INVALID_TARGET")),
        "{fail:#?}"
    );
}
