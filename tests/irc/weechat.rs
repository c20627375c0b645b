//! WeeChat without a terminal: `weechat-headless` with a home of its own
//! (`--dir`, so no user's config is read), told at start to add the
//! server, connect and join `#lobby`. It is typed to through its fifo
//! plugin (`PLUGIN.BUFFER *TEXT` lines written to `weechat_fifo_PID`) and
//! read through its logger plugin (one file per buffer under `logs/`,
//! flushed at once), so the test sees what it received as its user would.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use chat_tests::{Proc, TIMEOUT, TempDir, missing, require_tool};

use super::{MOTD, nc, server};

/// The server's name inside WeeChat, in its buffers' names.
const SERVER: &str = "chat";

/// A running weechat-headless with its home.
struct WeeChat {
    proc: Proc,
    home: TempDir,
}

impl WeeChat {
    /// Starts weechat-headless on a home of its own, connecting to `port`
    /// as `nick` and joining `#lobby` once registered.
    fn start(port: u16, nick: &str) -> WeeChat {
        let home = TempDir::new("weechat");
        let mut cmd = Command::new("weechat-headless");
        cmd.arg("--dir")
            .arg(home.path())
            // Only what the test uses: no scripts, no relay.
            .args(["--plugins", "irc,logger,fifo", "--no-script"])
            // The logger writes each line at once (it waits 120 s by
            // default), so the test can read it.
            .args(["-r", "/set logger.file.flush_delay 0"])
            // WeeChat's own flood protection sends a typed line 2 s after
            // the one before; each wait here should be the server's. (The
            // option is `anti_flood` from WeeChat 4.0; setting the one a
            // version lacks only logs an error.)
            .args(["-r", "/set irc.server_default.anti_flood_prio_high 0"])
            .args(["-r", "/set irc.server_default.anti_flood 0"])
            .arg("-r")
            .arg(format!(
                "/server add {SERVER} 127.0.0.1/{port} -notls -nicks={nick} \
                 -username={nick} -realname=WeeChat -autojoin=#lobby"
            ))
            .args(["-r", &format!("/connect {SERVER}")]);
        WeeChat {
            proc: Proc::spawn(cmd),
            home,
        }
    }

    /// A buffer's log file (the logger names them `PLUGIN.BUFFER.weechatlog`).
    fn log(&self, buffer: &str) -> PathBuf {
        self.home
            .path()
            .join("logs")
            .join(format!("irc.{buffer}.weechatlog"))
    }

    /// Waits until `buffer`'s log has a line (`DATE\tPREFIX\tTEXT`) that
    /// satisfies `pred`; returns it.
    fn wait_logged(&self, buffer: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let file = self.log(buffer);
        let start = Instant::now();
        loop {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if let Some(line) = text.lines().find(|line| pred(line)) {
                return line.to_owned();
            }
            if start.elapsed() > TIMEOUT {
                self.fail(&format!(
                    "no line {what} in {} within {TIMEOUT:?}",
                    file.display()
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The fifo plugin's pipe, once it exists.
    fn fifo(&self) -> PathBuf {
        let start = Instant::now();
        loop {
            let found = std::fs::read_dir(self.home.path())
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| entry.path())
                .find(|path| {
                    path.file_name()
                        .and_then(|name| name.to_str())
                        .is_some_and(|name| name.starts_with("weechat_fifo"))
                });
            if let Some(fifo) = found {
                return fifo;
            }
            if start.elapsed() > TIMEOUT {
                self.fail("the fifo plugin made no weechat_fifo_PID");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `text` into `buffer` (`chat.#lobby`, say) as its user would:
    /// a line, or a command such as `/me ...`.
    fn type_into(&self, buffer: &str, text: &str) {
        let fifo = self.fifo();
        // Without O_NONBLOCK, opening a fifo nobody reads would wait
        // forever; with it, a WeeChat that died is an error at once.
        let written = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .and_then(|mut pipe| pipe.write_all(format!("irc.{buffer} *{text}\n").as_bytes()));
        if let Err(e) = written {
            self.fail(&format!("cannot write to {}: {e}", fifo.display()));
        }
    }

    /// Panics with `why`, every log WeeChat wrote and its process report.
    fn fail(&self, why: &str) -> ! {
        let mut text = format!("weechat-headless: {why}\n");
        for file in logs(self.home.path()) {
            let log = std::fs::read_to_string(&file).unwrap_or_default();
            text.push_str(&format!("--- {} ---\n{log}\n", file.display()));
        }
        text.push_str(&self.proc.report());
        panic!("{text}");
    }
}

/// `weechat.log` and every file under `logs/`.
fn logs(home: &Path) -> Vec<PathBuf> {
    let mut files = vec![home.join("weechat.log")];
    let mut buffers: Vec<PathBuf> = std::fs::read_dir(home.join("logs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .collect();
    buffers.sort();
    files.extend(buffers);
    files
}

/// Is WeeChat's plugin `name` installed (Debian: `fifo` comes with
/// weechat-plugins, which weechat-headless only recommends)?
fn plugin_installed(name: &str) -> bool {
    let file = format!("weechat/plugins/{name}.so");
    ["/usr/lib", "/usr/lib64", "/usr/local/lib"]
        .iter()
        .flat_map(|root| {
            let below = std::fs::read_dir(root)
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| entry.path());
            std::iter::once(PathBuf::from(root)).chain(below.collect::<Vec<_>>())
        })
        .any(|dir| dir.join(&file).is_file())
}

#[test]
fn irc_weechat_joins_the_lobby_and_chats_with_a_line_client() {
    if require_tool("weechat-headless").is_none() {
        return;
    }
    if !plugin_installed("fifo") {
        missing(
            "WeeChat's fifo plugin",
            "no weechat/plugins/fifo.so under /usr/lib (apt-get install weechat-plugins)",
        );
        return;
    }
    let server = server();
    let mut alice = nc(&server, "alice");
    let mut weechat = WeeChat::start(server.irc_addr().port(), "weeuser");
    // Registered, with the MOTD in the server buffer; then joined.
    weechat.wait_logged(&format!("server.{SERVER}"), "with the MOTD", |line| {
        line.contains(MOTD)
    });
    alice.expect_body("-!- weeuser joined lobby");
    let lobby = format!("{SERVER}.#lobby");
    weechat.wait_logged(&lobby, "with weeuser's join", |line| {
        line.contains("weeuser") && line.contains("has joined #lobby")
    });

    alice.send_line("hello weechat");
    weechat.wait_logged(&lobby, "with alice's line", |line| {
        line.ends_with("\talice\thello weechat")
    });
    weechat.type_into(&lobby, "hello from weechat");
    alice.expect_body("<weeuser> hello from weechat");
    weechat.type_into(&lobby, "/me waves from no terminal");
    alice.expect_body("* weeuser waves from no terminal");
    alice.send_line("/msg weeuser just for you");
    weechat.wait_logged(
        &format!("{SERVER}.alice"),
        "with alice's private line",
        |line| line.ends_with("\talice\tjust for you"),
    );

    // /quit ends WeeChat, with a QUIT and its reason.
    weechat.type_into(&lobby, "/quit off the grid");
    alice.expect_body("-!- weeuser left lobby (quit: off the grid)");
    let status = weechat.proc.wait_exit(TIMEOUT);
    if !status.success() {
        weechat.fail(&format!("exited with {status}"));
    }
}
