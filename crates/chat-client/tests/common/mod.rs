//! Test helpers: run the real `chat-client` binary with a deadline, and
//! small fake servers on loopback. (Tests against the real chat-server live
//! in the workspace's `tests/` package, on its shared harness.)
#![allow(dead_code, unreachable_pub)]

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Upper bound for anything a test waits on.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// A running client process.
pub struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Output,
    stderr: Output,
}

/// One of the client's output pipes, collected as it arrives.
struct Output {
    seen: Arc<Mutex<Vec<u8>>>,
    reader: JoinHandle<()>,
}

impl Output {
    fn drain(mut pipe: impl Read + Send + 'static) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let reader = thread::spawn(move || {
            let mut buf = [0_u8; 4096];
            while let Ok(read @ 1..) = pipe.read(&mut buf) {
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(&buf[..read]);
            }
        });
        Self { seen, reader }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap_or_else(PoisonError::into_inner))
            .into_owned()
    }

    fn finish(self) -> String {
        let Self { seen, reader } = self;
        let _ = reader.join();
        String::from_utf8_lossy(&seen.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

/// What a finished client left behind.
pub struct Finished {
    /// `None` if it had to be killed at the deadline.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|status| status.code())
    }
}

impl fmt::Display for Finished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => writeln!(f, "client exited: {status}")?,
            None => writeln!(f, "client did not exit within {DEADLINE:?} (killed)")?,
        }
        writeln!(f, "--- stdout ---\n{}", self.stdout)?;
        write!(f, "--- stderr ---\n{}", self.stderr)
    }
}

impl Client {
    pub fn spawn<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Self::spawn_env(args, &[])
    }

    /// Like [`Client::spawn`], with extra environment variables. (A
    /// `CHAT_PASSWORD` of the test's own environment is never passed on.)
    pub fn spawn_env<I, S>(args: I, env: &[(&str, &str)]) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chat-client"))
            .args(args)
            .env_remove("CHAT_PASSWORD")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn chat-client");
        let stdin = child.stdin.take();
        let stdout = Output::drain(child.stdout.take().expect("stdout pipe"));
        let stderr = Output::drain(child.stderr.take().expect("stderr pipe"));
        Self {
            child,
            stdin,
            stdout,
            stderr,
        }
    }

    /// Write to the client's stdin (ignoring a client that already left).
    pub fn write_stdin(&mut self, bytes: &[u8]) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = stdin.write_all(bytes).and_then(|()| stdin.flush());
        }
    }

    /// Wait (up to the deadline) until the client has printed `expected` on
    /// stdout; returns everything printed so far.
    pub fn wait_for_stdout(&self, expected: &str) -> String {
        let start = Instant::now();
        loop {
            let text = self.stdout.text();
            if text.contains(expected) || start.elapsed() > DEADLINE {
                return text;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// End of input for the client.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Wait for the client to exit (killing it at the deadline). Stdin stays
    /// open while waiting unless it was closed before.
    pub fn finish(mut self) -> Finished {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break Some(status);
            }
            if start.elapsed() > DEADLINE {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            thread::sleep(Duration::from_millis(10));
        };
        drop(self.stdin.take());
        Finished {
            status,
            stdout: self.stdout.finish(),
            stderr: self.stderr.finish(),
        }
    }
}

/// Run the client with `input` on stdin (then EOF) and wait for it.
pub fn run_client<I, S>(args: I, input: &[u8]) -> Finished
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    run_client_env(args, &[], input)
}

/// [`run_client`] with extra environment variables.
pub fn run_client_env<I, S>(args: I, env: &[(&str, &str)], input: &[u8]) -> Finished
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut client = Client::spawn_env(args, env);
    client.write_stdin(input);
    client.close_stdin();
    client.finish()
}

/// A fake server that accepts one connection on `listener` and runs
/// `handler` on it (with read/write timeouts, so nothing hangs).
pub struct FakeServer<T> {
    pub addr: SocketAddr,
    handle: JoinHandle<io::Result<T>>,
}

impl<T: Send + 'static> FakeServer<T> {
    /// Bind 127.0.0.1:0 and serve one connection.
    pub fn start(handler: impl FnOnce(TcpStream) -> io::Result<T> + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        Self::on(listener, handler)
    }

    /// Serve one connection on an already bound listener.
    pub fn on(
        listener: TcpListener,
        handler: impl FnOnce(TcpStream) -> io::Result<T> + Send + 'static,
    ) -> Self {
        let addr = listener.local_addr().expect("local_addr");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let handle = thread::spawn(move || {
            let start = Instant::now();
            let stream = loop {
                match listener.accept() {
                    Ok((stream, _)) => break stream,
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                        if start.elapsed() > DEADLINE {
                            return Err(io::Error::new(io::ErrorKind::TimedOut, "no client came"));
                        }
                        thread::sleep(Duration::from_millis(5));
                    }
                    Err(err) => return Err(err),
                }
            };
            stream.set_nonblocking(false)?;
            stream.set_read_timeout(Some(DEADLINE))?;
            stream.set_write_timeout(Some(DEADLINE))?;
            handler(stream)
        });
        Self { addr, handle }
    }

    pub fn port(&self) -> String {
        self.addr.port().to_string()
    }

    /// The handler's result (panics with `client` shown if the server failed).
    pub fn join(self, client: &Finished) -> T {
        match self.handle.join() {
            Ok(Ok(value)) => value,
            Ok(Err(err)) => panic!("fake server failed: {err}\n{client}"),
            Err(_) => panic!("fake server panicked\n{client}"),
        }
    }
}

/// Read everything until the client half-closes (EOF).
pub fn read_to_eof(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut all = Vec::new();
    stream.read_to_end(&mut all)?;
    Ok(all)
}

/// Read until `want` bytes have arrived (or EOF).
pub fn read_exactly(stream: &mut TcpStream, want: usize) -> io::Result<Vec<u8>> {
    let mut all = vec![0; want];
    stream.read_exact(&mut all)?;
    Ok(all)
}

/// Something a test needs is missing (`why`): the test says so and passes,
/// or fails with `CHAT_TESTS_REQUIRE=1` set (as `.ci/run` does). The same
/// rule as the `tests/` package's `missing`; the caller returns after it.
#[allow(clippy::print_stderr, reason = "a skipped test says why")]
pub fn missing(why: &str) {
    let test = thread::current().name().unwrap_or("this test").to_owned();
    match std::env::var("CHAT_TESTS_REQUIRE") {
        Ok(value) if !value.is_empty() && value != "0" => {
            panic!("{test}: {why} (CHAT_TESTS_REQUIRE is set, so this fails instead of skipping)")
        }
        _ => eprintln!("skipped {test}: {why} (with CHAT_TESTS_REQUIRE=1 this fails instead)"),
    }
}
