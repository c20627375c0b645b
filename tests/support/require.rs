//! What a test needs from outside the workspace (a tool on `PATH` such as
//! redis-server or tmux, or a host feature such as the IPv6 loopback), and
//! the one rule for when it is missing:
//!
//! - by default the test says on stderr that it is skipped, and why, and
//!   passes (so `cargo test` works on a bare machine);
//! - with `CHAT_TESTS_REQUIRE=1` in the environment (`.ci/run` sets it) the
//!   test fails with a message naming what is missing, so CI never goes green
//!   on tests that did not run.
//!
//! Every such check in the workspace goes through [`missing`] (chat-net's
//! and chat-client's tests reach it through their dev-dependency on this
//! package).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The environment variable that turns a skip into a failure.
pub const REQUIRE_VAR: &str = "CHAT_TESTS_REQUIRE";

/// The path of `tool` on `PATH`, or `None` when it is not installed: then the
/// calling test is skipped (it should return at once), or, with
/// `CHAT_TESTS_REQUIRE=1`, fails here naming `tool`.
///
/// ```no_run
/// # fn a_test() {
/// let Some(_tmux) = chat_tests::require_tool("tmux") else {
///     return;
/// };
/// // ... the test
/// # }
/// ```
pub fn require_tool(tool: &str) -> Option<PathBuf> {
    let found = find_on_path(tool, std::env::var_os("PATH").as_deref());
    if found.is_none() {
        missing(tool, &format!("`{tool}` is not installed (not on PATH)"));
    }
    found
}

/// Can this host bind the IPv6 loopback? If not, the calling test is skipped
/// (or fails, see [`missing`]) and this returns `false`.
pub fn ipv6_available() -> bool {
    match std::net::TcpListener::bind("[::1]:0") {
        Ok(_) => true,
        Err(e) => {
            missing("the IPv6 loopback", &format!("cannot bind [::1]:0: {e}"));
            false
        }
    }
}

/// The rule, for anything a test needs that is not there: `what` names it,
/// `why` says what was found. Without `CHAT_TESTS_REQUIRE=1` this says on
/// stderr that the calling test is skipped and returns (the test must then
/// return); with it, this panics.
pub fn missing(what: &str, why: &str) {
    let required = is_required(std::env::var_os(REQUIRE_VAR).as_deref());
    match verdict(required, &test_name(), what, why) {
        Ok(skipped) => say(&skipped),
        Err(failure) => panic!("{failure}"),
    }
}

#[allow(clippy::print_stderr, reason = "a skipped test says why")]
fn say(text: &str) {
    eprintln!("{text}");
}

/// Does the value of `CHAT_TESTS_REQUIRE` ask for failures? Any value but
/// empty and `0` does.
fn is_required(value: Option<&OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0")
}

/// The skip message (`Ok`) or the failure message (`Err`).
fn verdict(required: bool, test: &str, what: &str, why: &str) -> Result<String, String> {
    if required {
        Err(format!(
            "{test} needs {what}: {why}\n({REQUIRE_VAR} is set, so a missing tool fails the test \
             instead of skipping it; install it, e.g. with .ci/run's apt packages)"
        ))
    } else {
        Ok(format!(
            "skipped {test}: {why} (with {REQUIRE_VAR}=1 this fails instead)"
        ))
    }
}

/// The running test's name: libtest names each test's thread after it.
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_owned()
}

/// The first executable file named `tool` in the directories of `path` (a
/// `PATH` value).
fn find_on_path(tool: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .map(|dir| dir.join(tool))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_asks_for_failures_unless_empty_or_zero() {
        assert!(!is_required(None));
        assert!(!is_required(Some(OsStr::new(""))));
        assert!(!is_required(Some(OsStr::new("0"))));
        assert!(is_required(Some(OsStr::new("1"))));
        assert!(is_required(Some(OsStr::new("yes"))));
    }

    #[test]
    fn a_missing_tool_skips_or_fails_naming_it() {
        let why = "`no-such-tool` is not installed (not on PATH)";
        let skipped = verdict(false, "cluster::t", "no-such-tool", why);
        assert_eq!(
            skipped,
            Ok(format!(
                "skipped cluster::t: {why} (with CHAT_TESTS_REQUIRE=1 this fails instead)"
            ))
        );
        let failed = verdict(true, "cluster::t", "no-such-tool", why);
        let Err(message) = failed else {
            panic!("required but not failed: {failed:?}");
        };
        assert!(
            message.starts_with("cluster::t needs no-such-tool: `no-such-tool` is not installed"),
            "{message}"
        );
        assert!(message.contains("CHAT_TESTS_REQUIRE is set"), "{message}");
    }

    #[test]
    fn tools_are_found_on_the_path_only() {
        let dir = crate::TempDir::new("path");
        let tool = dir.write("fake-tool", "#!/bin/sh\n");
        let not_executable = dir.write("not-a-tool", "");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755))
            .expect("chmod fake-tool");
        let path = std::env::join_paths(["/nonexistent-dir", dir.path().to_str().expect("UTF-8")])
            .expect("a PATH value");
        assert_eq!(find_on_path("fake-tool", Some(&path)), Some(tool));
        assert_eq!(find_on_path("not-a-tool", Some(&path)), None);
        assert!(not_executable.is_file());
        assert_eq!(find_on_path("no-such-tool", Some(&path)), None);
        assert_eq!(find_on_path("fake-tool", None), None);
    }

    #[test]
    fn missing_fails_when_required() {
        // `missing` reads the real environment: check the branch the
        // environment of this run selects.
        let required = is_required(std::env::var_os(REQUIRE_VAR).as_deref());
        let outcome = std::panic::catch_unwind(|| missing("no-such-tool", "not installed"));
        assert_eq!(outcome.is_err(), required);
    }
}
