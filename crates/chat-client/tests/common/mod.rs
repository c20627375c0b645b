//! Test helpers: run the real `chat-client` binary with a deadline, and
//! small fake servers on loopback. (Tests against the real chat-server live
//! in the workspace's `tests/` package, on its shared harness; the client
//! runs on that harness's [`Proc`] too.)
#![allow(dead_code, unreachable_pub)]

use std::fmt;
use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use chat_tests::Proc;

/// Upper bound for anything a test waits on.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// A running client process.
pub struct Client {
    proc: Proc,
}

/// What a finished client left behind.
pub struct Finished {
    proc: Proc,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn code(&self) -> Option<i32> {
        self.proc.code()
    }
}

impl fmt::Display for Finished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.proc.report())
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
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_chat-client"));
        cmd.args(args)
            .env_remove("CHAT_PASSWORD")
            .envs(env.iter().copied());
        Self {
            proc: Proc::spawn(cmd),
        }
    }

    /// Write to the client's stdin.
    pub fn write_stdin(&mut self, bytes: &[u8]) {
        self.proc.write_stdin(bytes);
    }

    /// Wait (up to the deadline) until the client has printed `expected` on
    /// stdout (a line need not be complete); returns everything printed so
    /// far.
    pub fn wait_for_stdout(&self, expected: &str) -> String {
        let start = Instant::now();
        loop {
            let text = self.proc.stdout();
            if text.contains(expected) || start.elapsed() > DEADLINE {
                return text;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// End of input for the client.
    pub fn close_stdin(&mut self) {
        self.proc.close_stdin();
    }

    /// Wait for the client to exit; past the deadline it is killed and the
    /// test fails with what it printed. Stdin stays open while waiting
    /// unless it was closed before.
    pub fn finish(self) -> Finished {
        let Self { mut proc } = self;
        proc.wait_exit(DEADLINE);
        Finished {
            stdout: proc.stdout(),
            stderr: proc.stderr(),
            proc,
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
