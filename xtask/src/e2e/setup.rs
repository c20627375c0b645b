//! What the e2e run needs besides chat-server and chat-client: a self-signed
//! certificate made with the `openssl` command, and a `redis-server` of its
//! own (when installed) for the two-node part, spoken to over raw RESP.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{Next, Proc, Transcript};
use crate::{Result, show};

/// How long redis-server may take to answer PING.
const REDIS_START_TIMEOUT: Duration = Duration::from_secs(10);

/// A certificate for `localhost` and 127.0.0.1, and its key, as PEM files.
pub(super) struct TlsFiles {
    pub(super) cert: PathBuf,
    pub(super) key: PathBuf,
}

impl TlsFiles {
    /// `openssl req -x509 …` in `dir`: a P-256 key and a self-signed
    /// certificate valid for a day.
    pub(super) fn make(dir: &Path) -> Result<TlsFiles> {
        let files = TlsFiles {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        let mut command = Command::new("openssl");
        command
            .args(["req", "-x509", "-newkey", "ec"])
            .args(["-pkeyopt", "ec_paramgen_curve:prime256v1"])
            .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            // Not a CA: webpki refuses a CA certificate as the server's own
            // (`CaUsedAsEndEntity`), and `req -x509` makes one by default.
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .arg("-keyout")
            .arg(&files.key)
            .arg("-out")
            .arg(&files.cert)
            .stdin(Stdio::null());
        match command.output() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(
                "the e2e's TLS part makes a self-signed certificate with the `openssl` \
                 command, which is not on PATH: install OpenSSL (e.g. `apt-get install openssl`)"
                    .into(),
            ),
            Err(e) => Err(format!("cannot run `{}`: {e}", show(&command))),
            Ok(output) if !output.status.success() => Err(format!(
                "`{}` failed ({}):\n{}",
                show(&command),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim_end()
            )),
            Ok(_) => Ok(files),
        }
    }
}

/// A redis-server on a free loopback port, without persistence; killed
/// when dropped.
pub(super) struct Redis {
    pub(super) port: u16,
    /// Its stdout (its log), for the failure report.
    pub(super) log: Transcript,
    proc: Proc,
}

impl Redis {
    /// Is `redis-server` on PATH?
    pub(super) fn installed() -> bool {
        Command::new("redis-server")
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// Starts redis-server in `dir` and waits until it answers PING. A port
    /// taken between our probe and redis's bind is retried with another.
    pub(super) fn start(dir: &Path) -> Result<Redis> {
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port()?;
            let mut command = Command::new("redis-server");
            command
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .current_dir(dir)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null());
            let mut proc = Proc::spawn("redis-server", &mut command)?;
            let log = Transcript::pipe(
                format!("redis-server on port {port} (stdout)"),
                proc.child.stdout.take(),
                false,
            );
            let mut redis = Redis { port, log, proc };
            match redis.wait_ready() {
                Ok(()) => return Ok(redis),
                Err(e) => {
                    redis.collect_log();
                    last_error = format!("{e}\n\n{}", redis.log.render());
                }
            }
        }
        Err(format!("redis-server did not start: {last_error}"))
    }

    fn wait_ready(&mut self) -> Result {
        let deadline = Instant::now() + REDIS_START_TIMEOUT;
        loop {
            match self.query(&["PING"]) {
                Ok(reply) if reply == ["PONG"] => return Ok(()),
                Ok(reply) => return Err(format!("PING answered {reply:?}")),
                Err(e) => {
                    if let Ok(Some(status)) = self.proc.child.try_wait() {
                        return Err(format!("redis-server exited ({status})"));
                    }
                    if Instant::now() >= deadline {
                        return Err(format!(
                            "no PONG on port {} within {} s: {e}",
                            self.port,
                            REDIS_START_TIMEOUT.as_secs()
                        ));
                    }
                    thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }

    /// What its log said so far, for a report.
    pub(super) fn collect_log(&mut self) {
        let deadline = Instant::now() + Duration::from_millis(100);
        while let Ok(Next::Line(_)) = self.log.next(deadline) {}
    }

    pub(super) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Waits until every `(channel, count)` has `count` subscribers
    /// (`PUBSUB NUMSUB`): the nodes' subscriber threads are listening, so
    /// nothing published from now on is missed.
    pub(super) fn wait_subscribers(&self, wanted: &[(&str, u32)], deadline: Instant) -> Result {
        let mut args = vec!["PUBSUB", "NUMSUB"];
        args.extend(wanted.iter().map(|&(channel, _)| channel));
        let expected: Vec<String> = wanted
            .iter()
            .flat_map(|&(channel, count)| [channel.to_owned(), count.to_string()])
            .collect();
        loop {
            let reply = self.query(&args);
            if reply.as_ref().is_ok_and(|reply| *reply == expected) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "`{}` never answered {expected:?}; last answer: {reply:?}",
                    args.join(" ")
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// One command over a fresh connection, in raw RESP; the reply's
    /// strings and integers, flattened.
    fn query(&self, args: &[&str]) -> Result<Vec<String>> {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        let timeout = Duration::from_secs(1);
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(timeout))
            .and_then(|()| stream.set_write_timeout(Some(timeout)))
            .map_err(|e| e.to_string())?;
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        (&stream)
            .write_all(request.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut reader = BufReader::new(stream);
        let mut items = Vec::new();
        read_reply(&mut reader, &mut items)?;
        Ok(items)
    }
}

/// Reads one RESP reply into `items` (arrays flattened).
fn read_reply(reader: &mut impl BufRead, items: &mut Vec<String>) -> Result {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) => return Err("redis closed the connection".into()),
        Ok(_) => {}
        Err(e) => return Err(e.to_string()),
    }
    let line = line.trim_end_matches(['\r', '\n']);
    let (kind, rest) = line.split_at_checked(1).unwrap_or(("", ""));
    let number = || {
        rest.parse::<i64>()
            .map_err(|_| format!("bad RESP line `{line}`"))
    };
    match kind {
        "+" | ":" => items.push(rest.to_owned()),
        "-" => return Err(format!("redis: {rest}")),
        "$" => {
            let Ok(len) = usize::try_from(number()?) else {
                items.push(String::new()); // nil
                return Ok(());
            };
            let mut bulk = vec![0; len + 2];
            reader.read_exact(&mut bulk).map_err(|e| e.to_string())?;
            bulk.truncate(len);
            items.push(String::from_utf8_lossy(&bulk).into_owned());
        }
        "*" => {
            for _ in 0..number()?.max(0) {
                read_reply(reader, items)?;
            }
        }
        _ => return Err(format!("bad RESP line `{line}`")),
    }
    Ok(())
}

/// A port nothing listens on right now (bound, then let go).
fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// `text` as a TOML basic string.
pub(super) fn toml_string(text: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::{read_reply, toml_string};

    fn reply(bytes: &[u8]) -> Result<Vec<String>, String> {
        let mut items = Vec::new();
        read_reply(&mut &bytes[..], &mut items).map(|()| items)
    }

    #[test]
    fn resp_replies() {
        assert_eq!(reply(b"+PONG\r\n"), Ok(vec!["PONG".to_owned()]));
        assert_eq!(
            reply(b"*4\r\n$10\r\nchat:rooms\r\n:2\r\n$11\r\nchat:node:a\r\n:1\r\n"),
            Ok(["chat:rooms", "2", "chat:node:a", "1"]
                .map(String::from)
                .to_vec())
        );
        assert!(reply(b"-ERR unknown command\r\n").is_err());
        assert!(reply(b"").is_err());
    }

    #[test]
    fn toml_strings() {
        assert_eq!(toml_string("/tmp/a b/c.pem"), "\"/tmp/a b/c.pem\"");
        assert_eq!(toml_string(r#"C:\x"y"#), r#""C:\\x\"y""#);
    }
}
