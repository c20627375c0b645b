//! `chat-server --check-config [--config FILE]`: everything a start checks
//! (syntax, keys, values, TLS files that load and fit), without binding;
//! exit 0 when good, 2 naming file, line and key when not.

use std::net::TcpListener;

use chat_tests::{Proc, TempDir, TlsCert, command};

/// Runs `chat-server --check-config ARGS` in `dir`.
fn check(dir: &TempDir, args: &[&str]) -> Proc {
    let mut cmd = command("chat-server");
    cmd.current_dir(dir.path()).arg("--check-config").args(args);
    Proc::run(cmd, b"")
}

#[test]
fn a_good_file_passes_without_binding_anything() {
    // The port is taken: a start would fail, a check binds nothing.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = taken.local_addr().map(|a| a.port()).unwrap_or_default();
    let cert = TlsCert::new();
    let dir = TempDir::new("check-config");
    dir.write(
        "server.toml",
        &format!(
            "listen = [\"127.0.0.1:{port}\", {{ addr = \"127.0.0.1:{port}\", tls = {{ cert = {:?}, key = {:?} }} }}]\n\
             motd = \"hello\"\nlog_level = \"debug\"\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n",
            cert.cert(),
            cert.key()
        ),
    );
    let mut good = check(&dir, &["--config", "server.toml"]);
    good.assert_exit(0);
    assert_eq!(
        good.stdout(),
        "server.toml: the configuration is good\n",
        "{}",
        good.report()
    );
    assert_eq!(good.stderr(), "", "{}", good.report());
    let mut defaults = check(&dir, &[]);
    defaults.assert_exit(0);
    assert!(
        defaults.stdout().contains("built-in defaults"),
        "{}",
        defaults.report()
    );
    // The history file's place was checked, and nothing was created.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert_eq!(left, ["server.toml"], "{}", defaults.report());
}

#[test]
fn bad_files_fail_with_file_line_and_key() {
    let dir = TempDir::new("check-config");
    let cert = TlsCert::new();
    let other = TlsCert::new();
    let cases = [
        (
            "motd = \"hi\"\nmax_clients = 0\n",
            "server.toml:2: key `max_clients`: must be at least 1",
        ),
        (
            "motd = \"hi\"\nlog_format = \"xml\"\n",
            "server.toml:2: key `log_format`: unknown variant `xml`, expected `text` or `json`",
        ),
        (
            "log_level = \"chat_server=loud\"\n",
            "server.toml:1: key `log_level`: ",
        ),
        (
            "[metrics]\nlisten = \"nowhere\"\n",
            "server.toml:2: key `listen`: ",
        ),
        (
            "motd = \"hi\"\nlisten = [{ addr = \"127.0.0.1:0\", tls = { cert = \"missing.pem\", key = \"missing.pem\" } }]\n",
            "server.toml:2: key `listen`: cannot read certificate missing.pem",
        ),
        (
            "history_path = \"no/such/dir/h.sqlite3\"\n",
            "server.toml: key `history_path`: cannot open the history store ",
        ),
        (
            "history_path = \"server.toml\"\n",
            "server.toml: key `history_path`: cannot open the history store ",
        ),
    ];
    for (text, expected) in cases {
        dir.write("server.toml", text);
        let mut bad = check(&dir, &["--config", "server.toml"]);
        bad.assert_exit(2);
        assert!(
            bad.stderr()
                .starts_with(&format!("chat-server: error: {expected}")),
            "expected {expected:?}\n{}",
            bad.report()
        );
        assert_eq!(bad.stdout(), "", "{}", bad.report());
    }
    // A certificate and a key that do not belong together.
    dir.write(
        "server.toml",
        &format!(
            "listen = [{{ addr = \"127.0.0.1:0\", tls = {{ cert = {:?}, key = {:?} }} }}]\n",
            cert.cert(),
            other.key()
        ),
    );
    let mut mismatched = check(&dir, &["--config", "server.toml"]);
    mismatched.assert_exit(2);
    assert!(
        mismatched
            .stderr()
            .contains("server.toml:1: key `listen`: certificate")
            && mismatched.stderr().contains("does not fit its key"),
        "{}",
        mismatched.report()
    );
}
