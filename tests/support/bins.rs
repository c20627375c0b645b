//! Finding `chat-server` and `chat-client`, built fresh once per test process.
//!
//! The binaries live in the same target directory and profile as the test
//! executable (`.../target/debug/deps/e2e-HASH` -> `.../target/debug/`). The
//! first call runs `$CARGO build -p chat-server -p chat-client --bins` with
//! that profile, so a stale binary is never tested. Cargo releases its build
//! lock before it runs test executables, so this works under
//! `cargo test --workspace` too (no deadlock). If the build cannot run, the
//! test fails with cargo's output.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// Where the binaries are, once they are built.
static BIN_DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// Whether a failed build was already reported in full.
static REPORTED: AtomicBool = AtomicBool::new(false);

/// The path of a workspace binary (`"chat-server"` or `"chat-client"`),
/// built if needed. Panics with the build output if the build fails.
pub fn bin(name: &str) -> PathBuf {
    let dir = match BIN_DIR.get_or_init(build) {
        Ok(dir) => dir,
        // Every test fails the same way: show cargo's output once.
        Err(why) if !REPORTED.swap(true, Ordering::Relaxed) => panic!("{why}"),
        Err(_) => panic!("building the binaries failed (cargo's output is in the first failure)"),
    };
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing after the build (run `cargo build -p chat-server -p chat-client` first)",
        path.display()
    );
    path
}

/// A `Command` for a workspace binary. A `CHAT_PASSWORD` of the test's own
/// environment is never passed on (a test that wants one sets it).
pub fn command(name: &str) -> Command {
    let mut cmd = Command::new(bin(name));
    cmd.env_remove("CHAT_PASSWORD");
    cmd.env_remove("CHAT_ACCOUNT_PASSWORD");
    cmd
}

/// The layout of the target directory the test executable runs from.
struct Layout {
    /// e.g. `target/debug` or `target/x86_64-unknown-linux-gnu/release`.
    bin_dir: PathBuf,
    /// The `--target-dir` to build into.
    target_dir: PathBuf,
    /// The profile directory name: `debug`, `release` or a custom profile.
    profile: String,
    /// The `--target` triple, when the target dir has one.
    triple: Option<String>,
}

fn layout() -> Result<Layout, String> {
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the test executable: {e}"))?;
    // .../<profile>/deps/<exe>
    let bin_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("unexpected test executable path {}", exe.display()))?
        .to_owned();
    let profile = file_name(&bin_dir)?;
    let parent = bin_dir
        .parent()
        .ok_or_else(|| format!("unexpected target layout at {}", bin_dir.display()))?;
    // The target dir's root holds CACHEDIR.TAG; a `<triple>/` level does not.
    let (target_dir, triple) = if parent.join("CACHEDIR.TAG").is_file() {
        (parent.to_owned(), None)
    } else {
        let root = parent
            .parent()
            .ok_or_else(|| format!("unexpected target layout at {}", parent.display()))?;
        (root.to_owned(), Some(file_name(parent)?))
    };
    Ok(Layout {
        bin_dir,
        target_dir,
        profile,
        triple,
    })
}

fn file_name(path: &Path) -> Result<String, String> {
    path.file_name()
        .and_then(|name| name.to_str())
        .map(str::to_owned)
        .ok_or_else(|| format!("unexpected path {}", path.display()))
}

fn build() -> Result<PathBuf, String> {
    let layout = layout()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut cmd = Command::new(&cargo);
    cmd.args([
        "build",
        "--quiet",
        "-p",
        "chat-server",
        "-p",
        "chat-client",
        "--bins",
    ])
    .arg("--manifest-path")
    .arg(&manifest)
    .arg("--target-dir")
    .arg(&layout.target_dir);
    match layout.profile.as_str() {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        custom => {
            cmd.args(["--profile", custom]);
        }
    }
    if let Some(triple) = &layout.triple {
        cmd.args(["--target", triple]);
    }
    let shown = format!("{cmd:?}");
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building the binaries failed ({}):\n{shown}\n--- stderr ---\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(layout.bin_dir)
}
