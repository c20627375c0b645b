//! `chat-client`, or another terminal program, in a real terminal: a tmux
//! server of its own (`tmux -L`, killed on drop) runs it in a 100x30
//! window; `send-keys` types, `capture-pane` reads the screen. Every wait
//! polls the screen for at most [`TIMEOUT`].

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::{Proc, TIMEOUT, TempDir, bin};

/// A tmux server with one session, `main`, running the client. Callers check
/// first that tmux is installed (`require_tool("tmux")`).
#[derive(Debug)]
pub struct Tmux {
    socket: String,
    dir: TempDir,
}

impl Tmux {
    /// Runs `chat-client ARGS` with `env` in a 100x30 terminal. The client's
    /// `XDG_DATA_HOME` is [`Tmux::data_dir`]; `NO_COLOR` is unset unless
    /// `env` sets it.
    pub fn client(name: &str, env: &[(&str, &str)], args: &[&str]) -> Tmux {
        let tmux = Tmux::new(name);
        let mut command = format!(
            "env -u NO_COLOR XDG_DATA_HOME={} ",
            tmux.data_dir().display()
        );
        for (key, value) in env {
            command.push_str(&format!("{key}={value} "));
        }
        command.push_str(&bin("chat-client").display().to_string());
        for arg in args {
            command.push(' ');
            command.push_str(arg);
        }
        tmux.start(&command);
        tmux
    }

    /// Runs another terminal program (an IRC client, say) in a 100x30
    /// terminal: `command` makes its shell command line from a scratch
    /// directory of the session's own (for the program's home, removed
    /// with the session). Callers check first that the program is
    /// installed.
    pub fn program(name: &str, command: impl FnOnce(&Path) -> String) -> Tmux {
        let tmux = Tmux::new(name);
        let home = tmux.dir.path().join("home");
        std::fs::create_dir_all(&home)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", home.display()));
        tmux.start(&command(&home));
        tmux
    }

    fn new(name: &str) -> Tmux {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let socket = format!(
            "chat-tui-{name}-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = TempDir::new(&format!("tmux-{name}"));
        Tmux { socket, dir }
    }

    /// Starts the session `main` running `command`; the shell writes its
    /// exit status for [`Tmux::wait_exit`].
    fn start(&self, command: &str) {
        let config = self
            .dir
            .write("tmux.conf", "set -g remain-on-exit on\nset -g status off\n");
        let command = format!(
            "{command}; echo $? > {}",
            self.dir.path().join("exit-status").display()
        );
        let config = config.display().to_string();
        self.run(&[
            "-f",
            &config,
            "new-session",
            "-d",
            "-s",
            "main",
            "-x",
            "100",
            "-y",
            "30",
            &command,
        ]);
    }

    /// The client's `XDG_DATA_HOME`.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs `tmux -L SOCKET ARGS`; panics with its report unless it exits 0.
    pub fn run(&self, args: &[&str]) -> Proc {
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.socket])
            .args(args)
            .current_dir(self.dir.path());
        let mut proc = Proc::run(cmd, b"");
        proc.assert_exit(0);
        proc
    }

    /// Types text literally.
    pub fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "main", "-l", text]);
    }

    /// Presses keys by tmux name (`Enter`, `Up`, `Tab`, `C-c`, ...).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "main"]).stdout()
    }

    pub fn screen_with_escapes(&self) -> String {
        self.run(&["capture-pane", "-p", "-e", "-t", "main"])
            .stdout()
    }

    /// Polls the screen until `ready` holds; returns it (panics at the deadline).
    pub fn wait(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "waited {TIMEOUT:?} for {what}; screen:\n{screen}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn wait_for(&self, text: &str) -> String {
        self.wait(text, |screen| screen.contains(text))
    }

    /// The client is connected and knows its nick.
    pub fn wait_ready(&self, nick: &str) -> String {
        self.wait("the status line", |screen| {
            screen.contains(&format!("│ {nick} │ connected"))
        })
    }

    /// Waits for the client to exit; its exit status, as the shell saw it.
    ///
    /// (The shell writes it to a file after the client: tmux's own
    /// `pane_dead_status` is sometimes never filled in, and what a dying pane
    /// printed last is sometimes not on its screen.)
    pub fn wait_exit(&self) -> String {
        let file = self.dir.path().join("exit-status");
        let start = Instant::now();
        loop {
            if let Ok(status) = std::fs::read_to_string(&file)
                && status.ends_with('\n')
            {
                return status.trim().to_owned();
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "waited {TIMEOUT:?} for the client to exit; screen:\n{}",
                self.screen()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}
