//! A child process with piped stdio, its output collected as it arrives, and
//! deadlines on everything. Dropping it kills the process.
//!
//! Every failure message is [`Proc::report`], in ripgrep's style: the
//! command, its working directory, its status, and all of its stdout and
//! stderr.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::TIMEOUT;

/// One output pipe of a child, collected by a thread.
#[derive(Debug, Default)]
struct Pipe {
    state: Mutex<PipeState>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct PipeState {
    bytes: Vec<u8>,
    closed: bool,
}

impl Pipe {
    fn lock(&self) -> MutexGuard<'_, PipeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn drain(pipe: Arc<Pipe>, mut from: impl Read + Send + 'static) -> JoinHandle<()> {
        thread::spawn(move || {
            let mut buf = [0_u8; 8192];
            loop {
                match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        pipe.lock().bytes.extend_from_slice(&buf[..n]);
                        pipe.changed.notify_all();
                    }
                }
            }
            pipe.lock().closed = true;
            pipe.changed.notify_all();
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.lock().bytes).into_owned()
    }

    /// Complete lines (without `\n`), lossily decoded.
    fn lines(state: &PipeState) -> Vec<String> {
        let mut lines: Vec<String> = state
            .bytes
            .split(|&b| b == b'\n')
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect();
        lines.pop(); // the unterminated rest (or "" after the last LF)
        lines
    }
}

/// Which output of a [`Proc`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout = 0,
    Stderr = 1,
}

/// A running child process. See the module docs.
#[derive(Debug)]
pub struct Proc {
    shown: String,
    /// The working directory it was started in, for messages.
    cwd: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Arc<Pipe>,
    stderr: Arc<Pipe>,
    readers: Vec<JoinHandle<()>>,
    /// How many complete lines of stdout / stderr the `expect_*` calls have
    /// consumed.
    cursor: [usize; 2],
    status: Option<ExitStatus>,
}

/// Resident memory of process `pid`, in KiB (0 if it cannot be read).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

impl Proc {
    /// Spawns `cmd` with stdin, stdout and stderr piped.
    pub fn spawn(mut cmd: Command) -> Proc {
        let shown = format!("{cmd:?}");
        let cwd = match cmd.get_current_dir() {
            Some(dir) => dir.display().to_string(),
            None => std::env::current_dir().map_or_else(
                |e| format!("(unknown: {e})"),
                |dir| format!("{} (inherited)", dir.display()),
            ),
        };
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
        let stdout = Arc::new(Pipe::default());
        let stderr = Arc::new(Pipe::default());
        let readers = vec![
            Pipe::drain(
                Arc::clone(&stdout),
                child.stdout.take().expect("piped stdout"),
            ),
            Pipe::drain(
                Arc::clone(&stderr),
                child.stderr.take().expect("piped stderr"),
            ),
        ];
        Proc {
            shown,
            cwd,
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
            readers,
            cursor: [0, 0],
            status: None,
        }
    }

    /// Runs `cmd` to completion with `input` on stdin; panics if it takes
    /// longer than [`TIMEOUT`].
    pub fn run(cmd: Command, input: &[u8]) -> Proc {
        let mut proc = Proc::spawn(cmd);
        proc.write_stdin(input);
        proc.close_stdin();
        proc.wait_exit(TIMEOUT);
        proc
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The command line, for messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    pub fn stdout(&self) -> String {
        self.stdout.text()
    }

    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// The exit status, once [`Proc::wait_exit`] saw it.
    pub fn status(&self) -> Option<ExitStatus> {
        self.status
    }

    /// The exit code, once the process exited (`None` if killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    /// The command, its working directory, its status and both outputs,
    /// for failure messages.
    pub fn report(&self) -> String {
        let status = match self.status {
            Some(status) => status.to_string(),
            None => "still running".to_owned(),
        };
        format!(
            "command: {}\ncwd: {}\nstatus: {status}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.shown,
            self.cwd,
            self.stdout(),
            self.stderr()
        )
    }

    /// The complete lines (without `\n`) of `stream` so far, consumed or not.
    pub fn lines(&self, stream: Stream) -> Vec<String> {
        Pipe::lines(&self.pipe(stream).lock())
    }

    fn pipe(&self, stream: Stream) -> &Arc<Pipe> {
        match stream {
            Stream::Stdout => &self.stdout,
            Stream::Stderr => &self.stderr,
        }
    }

    /// Writes `bytes` to the child's stdin.
    pub fn write_stdin(&mut self, bytes: &[u8]) {
        let Some(stdin) = self.stdin.as_mut() else {
            panic!("stdin already closed\n{}", self.report());
        };
        if let Err(e) = stdin.write_all(bytes).and_then(|()| stdin.flush()) {
            panic!("cannot write to stdin: {e}\n{}", self.report());
        }
    }

    /// Writes one line (a `\n` is added) to the child's stdin.
    pub fn write_line(&mut self, line: &str) {
        self.write_stdin(format!("{line}\n").as_bytes());
    }

    /// Closes the child's stdin (end of input).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the next complete line of `stream` (after those already
    /// consumed) that satisfies `pred`, and returns it. Panics with the
    /// outputs after [`TIMEOUT`] or when the stream ends first.
    pub fn expect_line(
        &mut self,
        stream: Stream,
        what: &str,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let (pipe, index) = (Arc::clone(self.pipe(stream)), stream as usize);
        let deadline = Instant::now() + TIMEOUT;
        let mut state = pipe.lock();
        loop {
            let lines = Pipe::lines(&state);
            if let Some(found) = lines
                .iter()
                .enumerate()
                .skip(self.cursor[index])
                .find(|(_, line)| pred(line))
            {
                self.cursor[index] = found.0 + 1;
                return found.1.clone();
            }
            let now = Instant::now();
            if state.closed || now >= deadline {
                let why = if state.closed {
                    "the stream ended"
                } else {
                    "timed out"
                };
                drop(state);
                panic!(
                    "{stream:?} of the child never showed a line {what} ({why})\n{}",
                    self.report()
                );
            }
            state = pipe
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// [`Proc::expect_line`] on stdout, for a line containing `needle`.
    pub fn expect_stdout(&mut self, needle: &str) -> String {
        self.expect_line(Stream::Stdout, &format!("containing {needle:?}"), |l| {
            l.contains(needle)
        })
    }

    /// [`Proc::expect_line`] on stderr, for a line containing `needle`.
    pub fn expect_stderr(&mut self, needle: &str) -> String {
        self.expect_line(Stream::Stderr, &format!("containing {needle:?}"), |l| {
            l.contains(needle)
        })
    }

    /// Waits until `stream` ends (the process closed it, usually by
    /// exiting) and returns the lines not consumed yet, an unterminated last
    /// one included. Panics with the outputs after [`TIMEOUT`].
    pub fn expect_end(&mut self, stream: Stream) -> Vec<String> {
        let pipe = Arc::clone(self.pipe(stream));
        let deadline = Instant::now() + TIMEOUT;
        let mut state = pipe.lock();
        while !state.closed {
            let now = Instant::now();
            if now >= deadline {
                drop(state);
                panic!(
                    "{stream:?} of the child did not end within {TIMEOUT:?}\n{}",
                    self.report()
                );
            }
            state = pipe
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let mut rest: Vec<String> = Pipe::lines(&state)
            .into_iter()
            .skip(self.cursor[stream as usize])
            .collect();
        if let Some(last) = state.bytes.rsplit(|&b| b == b'\n').next()
            && !last.is_empty()
        {
            rest.push(String::from_utf8_lossy(last).into_owned());
        }
        self.cursor[stream as usize] += rest.len();
        rest
    }

    /// Has the process exited? Does not wait; once it has, its status and
    /// both outputs are complete.
    pub fn has_exited(&mut self) -> bool {
        if self.status.is_none() && matches!(self.child.try_wait(), Ok(Some(_))) {
            self.wait_exit(TIMEOUT);
        }
        self.status.is_some()
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            self.wait_exit(TIMEOUT);
        }
    }

    /// Waits up to `timeout` for the process to exit; kills it and panics
    /// with its outputs if it does not. Both outputs are complete afterwards.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.status = Some(status);
                    break;
                }
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                Ok(None) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!(
                        "the child did not exit within {timeout:?} (killed it)\n{}",
                        self.report()
                    );
                }
                Err(e) => panic!("cannot wait for the child: {e}\n{}", self.report()),
            }
        }
        // The pipes end with the process (unless it left a grandchild
        // holding them, which these binaries do not).
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        self.status.expect("set above")
    }

    /// Asserts the process exited (see [`Proc::wait_exit`]) with `code`.
    pub fn assert_exit(&mut self, code: i32) {
        let status = self.wait_exit(TIMEOUT);
        assert_eq!(
            status.code(),
            Some(code),
            "unexpected exit status\n{}",
            self.report()
        );
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
