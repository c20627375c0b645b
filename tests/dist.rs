//! What `cargo xtask dist` packages, made by the binaries' hidden
//! `--generate`: the man pages render with `man -l`, and the bash
//! completions load and complete.

use std::process::Command;

use chat_tests::{Proc, TempDir, command, require_tool};

const BINARIES: [&str; 2] = ["chat-server", "chat-client"];

/// `BINARY --generate WHAT`, written to a file in `dir`.
fn generated(dir: &TempDir, binary: &str, what: &str) -> std::path::PathBuf {
    let mut cmd = command(binary);
    cmd.args(["--generate", what]);
    let mut made = Proc::run(cmd, b"");
    made.assert_exit(0);
    assert!(!made.stdout().is_empty(), "{}", made.report());
    dir.write(&format!("{binary}.{what}"), &made.stdout())
}

#[test]
fn man_pages_render() {
    let Some(man) = require_tool("man") else {
        return;
    };
    let dir = TempDir::new("man");
    for binary in BINARIES {
        let page = generated(&dir, binary, "man");
        let mut cmd = Command::new(&man);
        cmd.arg("-l")
            .arg(&page)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80");
        let mut shown = Proc::run(cmd, b"");
        shown.assert_exit(0);
        let text = shown.stdout();
        for needle in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            binary,
            "--help",
        ] {
            assert!(text.contains(needle), "{needle} in\n{}", shown.report());
        }
        assert!(
            !text.contains("--generate"),
            "hidden flags stay hidden\n{text}"
        );
    }
}

#[test]
fn bash_completions_load_and_complete() {
    let Some(bash) = require_tool("bash") else {
        return;
    };
    let dir = TempDir::new("completions");
    for binary in BINARIES {
        let script = generated(&dir, binary, "bash");
        // Load it, check `complete` knows the command, and ask it to
        // complete `BINARY --he`.
        let function = format!("_{}", binary.replace('-', "__"));
        let check = format!(
            "set -e; source {script:?}; complete -p {binary}; \
             COMP_WORDS=({binary} --he); COMP_CWORD=1; COMP_LINE='{binary} --he'; COMP_POINT=${{#COMP_LINE}}; \
             {function} {binary} --he {binary}; printf '%s\\n' \"${{COMPREPLY[@]}}\""
        );
        let mut cmd = Command::new(&bash);
        cmd.args(["--norc", "--noprofile", "-c", &check]);
        let mut shell = Proc::run(cmd, b"");
        shell.assert_exit(0);
        assert!(
            shell.stdout().lines().any(|line| line == "--help"),
            "{}",
            shell.report()
        );
    }
}
