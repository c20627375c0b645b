//! Secrets stay secret: after a session that uses the server
//! password, an operator login and the operator's hash, an account's
//! password and a login token, none of them shows up on the server's stderr
//! or console, in `/stats`, or in the terminal client's history file, and
//! that file is private to its user. A webhook's and an API token, used
//! right and wrong, show up in none of the logs, `/stats`, `--print-config`
//! or `/metrics`.

use std::os::unix::fs::PermissionsExt;

use chat_tests::{ServerProcess, Tmux, command, http_get, http_request, require_tool};

const SERVER_PASSWORD: &str = "s3rver-pa55-1729";
const OPERATOR_PASSWORD: &str = "op-secret-8642";
const ACCOUNT_PASSWORD: &str = "acct-secret-3141";
const NEW_ACCOUNT_PASSWORD: &str = "acct-secret-2718";

/// `chat-server --hash-password` for `password`.
fn operator_hash(password: &str) -> String {
    let mut cmd = command("chat-server");
    cmd.arg("--hash-password");
    let proc = chat_tests::Proc::run(cmd, format!("{password}\n").as_bytes());
    let hash = proc.stdout().trim().to_owned();
    assert!(hash.starts_with("$argon2"), "{}", proc.report());
    hash
}

#[test]
fn no_secret_appears_in_logs_console_stats_or_the_client_history() {
    if require_tool("tmux").is_none() {
        return;
    }
    let hash = operator_hash(OPERATOR_PASSWORD);
    let config = format!(
        "password = \"{SERVER_PASSWORD}\"\n\n[[operators]]\nname = \"root\"\npassword_hash = \"{hash}\"\n"
    );
    let mut server = ServerProcess::start_with_config(&config, &["--console"]);
    let port = server.addr().port().to_string();

    // A raw client logs in and fails an /oper once, then succeeds.
    let mut raw = server.connect();
    raw.send_line(&format!("/pass {SERVER_PASSWORD}"));
    raw.expect_contains("Welcome");
    raw.send_line("/oper root wrong-guess-5150");
    raw.expect_contains("wrong operator name or password");
    raw.send_line(&format!("/oper root {OPERATOR_PASSWORD}"));
    raw.expect_contains("you are now an operator");

    // An account, registered; a login token, asked for and used; its
    // password changed; a failed login; and the operator makes an account
    // whose password the server makes up.
    raw.send_line("/nick rita");
    raw.expect_contains("is now known as rita");
    raw.send_line(&format!("/register {ACCOUNT_PASSWORD}"));
    raw.expect_contains("you are logged in as rita");
    raw.send_line("/token");
    let issued = raw.expect_contains("login token: ");
    let token = issued
        .split("login token: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(token.len(), 64, "{issued}");
    let mut device = server.connect();
    device.send_line(&format!("/pass {SERVER_PASSWORD}"));
    device.expect_contains("Welcome");
    device.send_line(&format!("/resume rita {token}"));
    device.expect_contains("you are logged in as rita");
    raw.send_line(&format!(
        "/password {ACCOUNT_PASSWORD} {NEW_ACCOUNT_PASSWORD}"
    ));
    raw.expect_contains("your password is changed");
    raw.send_line("/logout");
    raw.expect_contains("you are logged out");
    raw.send_line("/login rita wrong-guess-6174");
    raw.expect_contains("wrong account name or password");
    raw.send_line("/account create made");
    let made = raw.expect_contains("its password (shown once): ");
    let made_password = made.rsplit(' ').next().unwrap_or_default().to_owned();

    // The terminal client, password from the environment, types both.
    let env = [("CHAT_PASSWORD", SERVER_PASSWORD)];
    let tmux = Tmux::client("secrets", &env, &["127.0.0.1", &port, "--nick", "tess"]);
    tmux.wait_ready("tess");
    for line in [
        format!("/pass {SERVER_PASSWORD}"),
        format!("/oper root {OPERATOR_PASSWORD}"),
        format!("/login rita {NEW_ACCOUNT_PASSWORD}"),
        format!("/resume rita {token}"),
        "an ordinary line".to_owned(),
    ] {
        tmux.type_text(&line);
        tmux.keys(&["Enter"]);
    }
    tmux.wait_for("an ordinary line");
    tmux.keys(&["C-d"]);
    tmux.wait_exit();

    server.console("/stats");
    server.expect_console("clients ");
    server.console("/bans");
    server.expect_console("no bans");

    let everything = server.report();
    let secrets = [
        SERVER_PASSWORD,
        OPERATOR_PASSWORD,
        hash.as_str(),
        "wrong-guess-5150",
        ACCOUNT_PASSWORD,
        NEW_ACCOUNT_PASSWORD,
        "wrong-guess-6174",
        token.as_str(),
    ];
    for secret in secrets {
        assert!(
            !everything.contains(secret),
            "the server printed a secret ({secret}):\n{everything}"
        );
    }
    assert!(!everything.contains(&made_password), "{everything}");
    // Nor does the history file, in any table (or its write-ahead log).
    server.stop();
    for file in ["chat-history.sqlite3", "chat-history.sqlite3-wal"] {
        let bytes = std::fs::read(server.dir().join(file)).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        for secret in secrets.iter().chain([&made_password.as_str()]) {
            assert!(!text.contains(secret), "{file} holds a secret ({secret})");
        }
    }

    let file = tmux.data_dir().join("chat-client").join("history");
    let saved =
        std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert_eq!(
        saved, "an ordinary line\n",
        "only the ordinary line is kept"
    );
    let mode = std::fs::metadata(&file).map_or(0, |m| m.permissions().mode() & 0o777);
    assert_eq!(mode, 0o600, "the history file is private");
    let folder = file.parent().map_or(0, |dir| {
        std::fs::metadata(dir).map_or(0, |m| m.permissions().mode() & 0o777)
    });
    assert_eq!(folder, 0o700, "its folder is private");
}

const HOOK_TOKEN: &str = "hook-secret-4242424242";
const API_TOKEN: &str = "api-secret-5353535353";

#[test]
fn no_hook_or_api_token_appears_in_logs_stats_config_or_metrics() {
    let config = format!(
        "log_level = \"debug\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n\n\
         [[webhooks]]\nname = \"alerts\"\nroom = \"lobby\"\ntoken = \"{HOOK_TOKEN}\"\n\n\
         [[api_tokens]]\nname = \"ops\"\ntoken = \"{API_TOKEN}\"\nscopes = [\"admin\"]\n"
    );
    let mut server = ServerProcess::builder()
        .config(&config)
        .args(&[
            "--listen",
            "127.0.0.1:0",
            "--listen",
            "127.0.0.1:0,web",
            "--console",
        ])
        .start();
    let web = server.web_addr();
    let mut nc = server.join();
    let post = |path: &str, auth: &str, body: &str| {
        http_request(
            web,
            &format!(
                "POST {path} HTTP/1.1\r\nHost: {web}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ),
        )
    };
    let ok = post(
        &format!("/hooks/{HOOK_TOKEN}"),
        "",
        r#"{"text": "from the hook"}"#,
    );
    assert_eq!(ok.status, 200, "{ok:?}");
    let wrong_hook = format!("{HOOK_TOKEN}x");
    assert_eq!(post(&format!("/hooks/{wrong_hook}"), "", "{}").status, 404);
    let bearer = format!("Authorization: Bearer {API_TOKEN}\r\n");
    let api = post(
        "/api/v1/rooms/lobby/messages",
        &bearer,
        r#"{"text": "from the API"}"#,
    );
    assert_eq!(api.status, 200, "{api:?}");
    let wrong_bearer = format!("Authorization: Bearer {API_TOKEN}x\r\n");
    assert_eq!(
        post("/api/v1/rooms/lobby/messages", &wrong_bearer, "{}").status,
        401
    );
    nc.expect_body("<alerts[hook]> from the hook");
    nc.expect_body("<ops[api]> from the API");

    server.console("/stats");
    server.expect_console("clients ");
    server.console("/webhook list");
    server.expect_console("alerts -> lobby (server.toml)");
    let metrics = http_get(server.metrics_addr(), "/metrics").body;
    let mut printed = command("chat-server");
    printed
        .current_dir(server.dir())
        .args(["--config", "server.toml", "--print-config"]);
    let printed = chat_tests::Proc::run(printed, b"");

    let everything = format!("{}\n{metrics}\n{}", server.report(), printed.report());
    for secret in [HOOK_TOKEN, API_TOKEN] {
        assert!(
            !everything.contains(secret),
            "a token was shown ({secret}):\n{everything}"
        );
    }
}
