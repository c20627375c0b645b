//! `nc` (netcat-openbsd) as a client: plain lines work, as documented.
//! Skipped, with a message, where no OpenBSD `nc` is installed (a failure
//! under `CHAT_TESTS_REQUIRE=1`).

use chat_tests::{Proc, ServerProcess, missing, require_tool};
use std::process::Command;

/// Is an OpenBSD netcat (with `-N`) on the PATH? If not, says so (see
/// [`missing`]) and returns `false`.
fn openbsd_nc() -> bool {
    let Some(nc) = require_tool("nc") else {
        return false;
    };
    let openbsd = match Command::new(nc).arg("-h").output() {
        Ok(out) => {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            text.contains("OpenBSD") || text.contains("-N")
        }
        Err(_) => false,
    };
    if !openbsd {
        missing(
            "OpenBSD nc",
            "the nc on PATH is not OpenBSD's (apt-get install netcat-openbsd)",
        );
    }
    openbsd
}

#[test]
fn nc_as_a_client() {
    if !openbsd_nc() {
        return;
    }
    let server = ServerProcess::start(&[]);
    let mut watcher = server.join();
    let mut cmd = Command::new("nc");
    cmd.args(["-N", "127.0.0.1", &server.addr().port().to_string()]);
    let mut nc = Proc::run(cmd, b"/nick netcat\nhello from nc\r\n");
    nc.assert_exit(0);
    watcher.expect_body("-!- guest2 is now known as netcat");
    watcher.expect_body("<netcat> hello from nc");
    watcher.expect_body("-!- netcat left lobby (quit)");
    let stdout = nc.stdout();
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.ends_with("] -!- Welcome, guest2! Type /help for commands."),
        "{}",
        nc.report()
    );
    assert!(
        stdout.contains("] -!- guest2 is now known as netcat\n"),
        "{}",
        nc.report()
    );
}
