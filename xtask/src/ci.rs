//! `cargo xtask ci`: every check CI runs, in order, stopping at the first failure.
//!
//! Green here means green on CI (`.ci/run` only installs tools, then runs this).
//! To add a check, add a line to [`STEPS`].

use std::time::{Duration, Instant};

use crate::{Result, bench, cargo, e2e, fuzz, run_status, tools};

/// One check: the header printed before it, and the function that runs it.
type Step = (&'static str, fn() -> Result);

/// The checks, in the order they run: cheap ones first.
const STEPS: &[Step] = &[
    ("cargo fmt --all --check", fmt),
    (
        "cargo clippy --workspace --all-targets -- -D warnings",
        clippy,
    ),
    ("cargo build --workspace --bins", build),
    ("cargo test --workspace (CI=true)", test),
    ("cargo xtask e2e", e2e::run),
    ("cargo xtask bench --smoke", bench_smoke),
    ("cargo xtask fuzz --seconds 10", fuzz_briefly),
    ("cargo deny check bans licenses sources", deny),
];

pub(crate) fn run() -> Result {
    let start = Instant::now();
    for (i, &(name, step)) in STEPS.iter().enumerate() {
        println!("\n==> ci [{}/{}] {name}", i + 1, STEPS.len());
        let step_start = Instant::now();
        let result = step();
        let took = seconds(step_start.elapsed());
        if let Err(e) = result {
            return Err(format!(
                "ci: step {}/{} `{name}` failed after {took}, {} in all:\n{e}",
                i + 1,
                STEPS.len(),
                seconds(start.elapsed()),
            ));
        }
        println!("==> ci [{}/{}] ok in {took}", i + 1, STEPS.len());
    }
    println!(
        "\nci: all {} steps passed in {}",
        STEPS.len(),
        seconds(start.elapsed())
    );
    Ok(())
}

fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

fn fmt() -> Result {
    run_status(&mut cargo(&["fmt", "--all", "--check"]))
        .map_err(|e| format!("{e}\nfix the formatting with `cargo fmt --all`"))
}

fn clippy() -> Result {
    run_status(&mut cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
}

fn build() -> Result {
    run_status(&mut cargo(&["build", "--workspace", "--bins"]))
}

fn test() -> Result {
    // CI=true: insta compares snapshots and never writes `.snap.new` files.
    run_status(cargo(&["test", "--workspace"]).env("CI", "true"))
}

fn bench_smoke() -> Result {
    bench::run(&["--smoke"])
}

/// Each fuzz target for a few seconds: enough to catch a regression in the
/// targets or the code they reach; long runs are `cargo xtask fuzz`.
fn fuzz_briefly() -> Result {
    fuzz::run(&["--seconds", "10"])
}

fn deny() -> Result {
    tools::ensure("deny", "cargo-deny")?;
    // The advisory database cannot be fetched on CI, so `advisories` is not run here.
    run_status(&mut cargo(&[
        "deny", "check", "bans", "licenses", "sources",
    ]))
}
