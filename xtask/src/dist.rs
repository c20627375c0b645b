//! `cargo xtask dist [--debug]`: what a package or an install needs, in
//! `target/dist/` (under `CARGO_TARGET_DIR` when that is set):
//!
//! ```text
//! bin/chat-server, bin/chat-client            release builds (--debug: debug)
//! man/man1/chat-server.1, chat-client.1       man pages (clap_mangen)
//! completions/bash/chat-server, …             bash, zsh (_chat-server), fish
//! systemd/chat-server.service                 the unit file from contrib/
//! server.toml                                 the documented configuration
//! ```
//!
//! The man pages and completions come from the binaries themselves (their
//! hidden `--generate man|bash|zsh|fish`), made from the same clap
//! definitions as `--help`; this task only builds, runs and copies.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, cargo, project_root, run_status, show};

const BINARIES: [&str; 2] = ["chat-server", "chat-client"];

pub(crate) fn run(args: &[&str]) -> Result {
    let release = match args {
        [] => true,
        ["--debug"] => false,
        other => return Err(format!("unknown dist arguments {other:?}; try --debug")),
    };
    let mut build = cargo(&["build", "-p", "chat-server", "-p", "chat-client"]);
    if release {
        build.arg("--release");
    }
    run_status(&mut build)?;
    let target = target_dir();
    let built = target.join(if release { "release" } else { "debug" });
    let dist = target.join("dist");
    if dist.exists() {
        fs::remove_dir_all(&dist).map_err(|e| format!("cannot clear {}: {e}", dist.display()))?;
    }
    for binary in BINARIES {
        let program = built.join(binary);
        copy(&program, &dist.join("bin").join(binary))?;
        write(
            &dist.join(format!("man/man1/{binary}.1")),
            &generate(&program, "man")?,
        )?;
        let completions = [
            ("bash", format!("bash/{binary}")),
            ("zsh", format!("zsh/_{binary}")),
            ("fish", format!("fish/{binary}.fish")),
        ];
        for (shell, path) in completions {
            write(
                &dist.join("completions").join(path),
                &generate(&program, shell)?,
            )?;
        }
    }
    let root = project_root();
    copy(
        &root.join("contrib/chat-server.service"),
        &dist.join("systemd/chat-server.service"),
    )?;
    copy(&root.join("server.toml"), &dist.join("server.toml"))?;
    println!("xtask dist: wrote {}", dist.display());
    Ok(())
}

/// Where cargo builds: `CARGO_TARGET_DIR`, or `target/` in the repository.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("target"))
}

/// `PROGRAM --generate WHAT`'s stdout.
fn generate(program: &Path, what: &str) -> Result<Vec<u8>> {
    let mut command = Command::new(program);
    command.args(["--generate", what]);
    let shown = show(&command);
    let output = command
        .output()
        .map_err(|e| format!("cannot run `{shown}`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`{shown}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(output.stdout)
}

fn write(path: &Path, contents: &[u8]) -> Result {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn copy(from: &Path, to: &Path) -> Result {
    if let Some(dir) = to.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}
