//! `cargo xtask fuzz [--seconds N] [TARGET...]`: runs the cargo-fuzz targets
//! in `fuzz/` for a bounded time each, seeded from the committed corpus.
//!
//! New inputs the fuzzer finds go to a scratch corpus under `fuzz/target`,
//! so a run never dirties the committed seeds. A crash fails the task and
//! leaves the reproducer under `fuzz/artifacts/TARGET/`; turn it into a
//! regression test before fixing it. cargo-fuzz needs nightly-only flags;
//! `RUSTC_BOOTSTRAP=1` lets the stable toolchain accept them for this build.

use crate::{Result, cargo, project_root, run_status, tools};

/// Every target in `fuzz/Cargo.toml`.
pub(crate) const TARGETS: &[&str] = &[
    "line_codec",
    "raw_codec",
    "command_parser",
    "http_head",
    "hub",
    "store_reads",
    "websocket_frames",
    "irc_message",
    "webhook_payload",
];

pub(crate) fn run(args: &[&str]) -> Result {
    let mut seconds = 60u64;
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(&arg) = args.next() {
        match arg {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--seconds takes a whole number")?;
            }
            target if TARGETS.contains(&target) => targets.push(target),
            other => {
                return Err(format!(
                    "unknown fuzz argument `{other}`; targets: {TARGETS:?}"
                ));
            }
        }
    }
    if targets.is_empty() {
        targets.extend_from_slice(TARGETS);
    }
    tools::ensure("fuzz", "cargo-fuzz")?;
    let root = project_root();
    for target in targets {
        println!("xtask fuzz: {target} for {seconds} s");
        let scratch = root.join("fuzz/target/corpus").join(target);
        std::fs::create_dir_all(&scratch)
            .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
        let seeds = root.join("fuzz/corpus").join(target);
        let max_time = format!("-max_total_time={seconds}");
        run_status(
            cargo(&["fuzz", "run", target])
                .arg(&scratch)
                .arg(&seeds)
                .args(["--", &max_time, "-print_final_stats=1"])
                .env("RUSTC_BOOTSTRAP", "1"),
        )
        .map_err(|e| {
            format!(
                "{e}\nthe fuzzer found a failing input for {target}: see fuzz/artifacts/{target}/"
            )
        })?;
    }
    Ok(())
}
