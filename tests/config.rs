//! server.toml: a bad file stops the start with exit code 2 and names the
//! file, the line and the key; `--print-config` prints TOML that parses.

use chat_tests::{Proc, TempDir, command};

/// Runs `chat-server --config FILE` with `contents` in FILE, expecting it to
/// refuse to start. Returns its stderr with the temp dir shown as `[TMP]`.
fn refused(contents: &str) -> String {
    let dir = TempDir::new("config");
    let path = dir.write("server.toml", contents);
    let mut cmd = command("chat-server");
    cmd.current_dir(dir.path())
        .arg("--config")
        .arg(&path)
        .args(["--listen", "127.0.0.1:0"]);
    let mut server = Proc::run(cmd, b"");
    server.assert_exit(2);
    assert_eq!(server.stdout(), "", "{}", server.report());
    let stderr = server.stderr();
    assert!(
        stderr.contains(&format!("{}:", path.display())),
        "the file is named\n{}",
        server.report()
    );
    assert_eq!(stderr.lines().count(), 1, "one line\n{}", server.report());
    stderr.replace(&dir.path().display().to_string(), "[TMP]")
}

/// The list of keys in an unknown-key error grows with every new setting;
/// the snapshot keeps only its start.
fn cut_key_list(stderr: &str) -> String {
    match stderr.split_once(", expected one of ") {
        Some((head, keys)) if head.contains("unknown field") => {
            for key in ["`listen`", "`framing`", "`max_line_bytes`", "`motd`"] {
                assert!(keys.contains(key), "{key} is listed: {stderr}");
            }
            format!("{head}, expected one of [KEYS]\n")
        }
        _ => stderr.to_owned(),
    }
}

#[test]
fn bad_config_files() {
    let cases = [
        ("unknown key", "motd = \"hi\"\nmax_line_bytez = 100\n"),
        ("bad value", "motd = \"hi\"\n\nmax_line_bytes = 5\n"),
        (
            "bad type",
            "listen = [\"127.0.0.1:0\"]\nmax_line_bytes = \"big\"\n",
        ),
        ("bad variant", "framing = \"chunky\"\n"),
        (
            "bad address",
            "listen = [\n  \"127.0.0.1:0\",\n  \"nowhere\",\n]\n",
        ),
        ("bad room", "\n\n\ndefault_room = \"two words\"\n"),
        ("not toml", "motd = \n"),
    ];
    let mut report = String::new();
    for (what, contents) in cases {
        report.push_str(&format!("# {what}\n{}\n", cut_key_list(&refused(contents))));
    }
    insta::assert_snapshot!(report);
}

#[test]
fn missing_config_file() {
    let dir = TempDir::new("config");
    let mut cmd = command("chat-server");
    cmd.current_dir(dir.path())
        .args(["--config", "nope.toml", "--listen", "127.0.0.1:0"]);
    let mut server = Proc::run(cmd, b"");
    server.assert_exit(2);
    let stderr = server.stderr();
    assert!(
        stderr.starts_with("chat-server: error: nope.toml: cannot read: "),
        "{}",
        server.report()
    );
}

#[test]
fn print_config_prints_toml() {
    let dir = TempDir::new("config");
    dir.write(
        "server.toml",
        "motd = \"from the file\"\nmax_line_bytes = 100\n",
    );
    let mut cmd = command("chat-server");
    cmd.current_dir(dir.path()).args([
        "--config",
        "server.toml",
        "--print-config",
        "--listen",
        "[::1]:7",
    ]);
    let mut server = Proc::run(cmd, b"");
    server.assert_exit(0);
    let printed: toml::Table = server
        .stdout()
        .parse()
        .unwrap_or_else(|e| panic!("not TOML: {e}\n{}", server.report()));
    let get = |key: &str| {
        printed
            .get(key)
            .unwrap_or_else(|| panic!("no `{key}`\n{}", server.report()))
            .clone()
    };
    // The flag overrides the file, which overrides the defaults.
    assert_eq!(get("listen"), toml::Value::Array(vec!["[::1]:7".into()]));
    assert_eq!(get("motd").as_str(), Some("from the file"));
    assert_eq!(get("max_line_bytes").as_integer(), Some(100));
    assert_eq!(get("framing").as_str(), Some("line"));

    // What it prints is a valid config file.
    let dir2 = TempDir::new("config");
    dir2.write("server.toml", &server.stdout());
    let mut cmd = command("chat-server");
    cmd.current_dir(dir2.path())
        .args(["--config", "server.toml", "--print-config"]);
    let mut again = Proc::run(cmd, b"");
    again.assert_exit(0);
    assert_eq!(again.stdout(), server.stdout(), "printing is a fixed point");
}

#[test]
fn documented_server_toml_is_accepted() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../server.toml");
    let mut cmd = command("chat-server");
    cmd.arg("--config").arg(&example).arg("--print-config");
    let mut server = Proc::run(cmd, b"");
    server.assert_exit(0);
    let printed: toml::Table = server.stdout().parse().expect("TOML");
    assert!(printed.contains_key("listen"), "{}", server.report());
}
