//! `cargo xtask bench [ARGS]`: builds chat-server and chat-bench in release
//! mode and runs the benchmark (`crates/chat-bench`), passing ARGS through.
//! `cargo xtask bench --smoke` is the seconds-long check CI runs: it asserts
//! zero loss and correct counts, never speed.

use std::path::PathBuf;

use crate::{Result, cargo, project_root, run_status};

pub(crate) fn run(args: &[&str]) -> Result {
    run_status(&mut cargo(&[
        "build",
        "--release",
        "-p",
        "chat-server",
        "-p",
        "chat-bench",
    ]))?;
    let release = release_dir();
    let mut command = std::process::Command::new(release.join("chat-bench"));
    command
        .arg("--server-bin")
        .arg(release.join("chat-server"))
        .arg("--root")
        .arg(project_root())
        .args(args);
    run_status(&mut command)
}

/// The release directory of the target dir cargo just built into.
fn release_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| project_root().join("target"), PathBuf::from);
    let target = if target.is_relative() {
        project_root().join(target)
    } else {
        target
    };
    target.join("release")
}
