//! Cargo subcommands the tasks need (cargo-deny, cargo-fuzz), installed on
//! first use so that `cargo xtask ci` on a fresh machine does everything.

use std::process::Stdio;

use crate::{Result, cargo, run_status};

/// Makes sure `cargo SUBCOMMAND` works, installing `krate` with
/// `cargo install --locked` if it does not.
pub(crate) fn ensure(subcommand: &str, krate: &str) -> Result {
    let works = |subcommand: &str| {
        cargo(&[subcommand, "--version"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if works(subcommand) {
        return Ok(());
    }
    println!("xtask: `cargo {subcommand}` is missing; installing {krate} (once)");
    run_status(&mut cargo(&["install", "--locked", krate]))?;
    if works(subcommand) {
        Ok(())
    } else {
        Err(format!(
            "installed {krate}, but `cargo {subcommand} --version` still fails"
        ))
    }
}
