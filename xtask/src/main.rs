//! Project tasks, run as `cargo xtask TASK` (the alias is in `.cargo/config.toml`).
//!
//! Std only, no dependencies. One file per task: `ci.rs`, `e2e.rs`,
//! `bench.rs`, `fuzz.rs`, `dist.rs`; `tools.rs` installs the cargo tools they need. Cargo is
//! called through the `CARGO` environment variable and every command runs in
//! the repository root, found from `CARGO_MANIFEST_DIR`.

#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is the xtask's job

mod bench;
mod ci;
mod dist;
mod e2e;
mod fuzz;
mod tools;

use std::env;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

const USAGE: &str = "\
Usage: cargo xtask TASK

Tasks:
  ci                          fmt, clippy, build, test, e2e, bench --smoke, fuzz
                              (short), cargo deny: what CI runs, failing fast
  e2e                         the scripted chat (tests/scenario.rs), step by step
  bench [--smoke] [ARGS]      the benchmark beside Redis and ncat (crates/chat-bench)
  fuzz [--seconds N] [TARGET] run the cargo-fuzz targets in fuzz/ (default 60 s each)
  dist [--debug]              release binaries, man pages, shell completions, the
                              systemd unit and server.toml in target/dist/
  help                        show this text";

/// What a task returns: `Err` carries the whole message to print.
pub(crate) type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["ci"] => ci::run(),
        ["e2e"] => e2e::run(),
        ["bench", rest @ ..] => bench::run(rest),
        ["fuzz", rest @ ..] => fuzz::run(rest),
        ["dist", rest @ ..] => dist::run(rest),
        [] | ["help" | "-h" | "--help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("xtask: unknown arguments {args:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root: the parent of this crate's folder.
pub(crate) fn project_root() -> PathBuf {
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|| OsString::from(env!("CARGO_MANIFEST_DIR")));
    let manifest_dir = PathBuf::from(manifest_dir);
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.clone(), PathBuf::from)
}

/// `cargo ARGS...` in the repository root, with the cargo that runs us.
pub(crate) fn cargo(args: &[&str]) -> Command {
    let mut command = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.args(args).current_dir(project_root());
    command
}

/// Run `command` with inherited stdio; `Err` names it unless it exits 0.
pub(crate) fn run_status(command: &mut Command) -> Result {
    let shown = show(command);
    match command.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("`{shown}` failed ({status})")),
        Err(e) => Err(format!("cannot run `{shown}`: {e}")),
    }
}

/// `command` as a shell-like line, for messages.
pub(crate) fn show(command: &Command) -> String {
    let program = PathBuf::from(command.get_program());
    let program = program.file_name().map_or_else(
        || command.get_program().to_string_lossy().into_owned(),
        |name| name.to_string_lossy().into_owned(),
    );
    let mut line = program;
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}
