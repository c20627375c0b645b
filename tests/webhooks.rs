//! Incoming webhooks over the real binary: Slack-shaped JSON and form
//! posts to `POST /hooks/TOKEN` reach a line client (what `nc` sees), an
//! IRC client, a WebSocket client (what the page hears) and the room's
//! history, from `name[hook]`; posts on one kept-alive connection all
//! land, `Connection: close` and a pipelined request close it; every refusal
//! (400, 404, 405, 411, 413, 429) is answered from what it can be told by,
//! a 10 MiB body from its head alone; a reload brings a new hook.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use chat_tests::{HttpReply, ServerProcess, TIMEOUT, http_request, read_reply};

/// The hooks' tokens (server.toml takes 16 to 128 letters, digits, `-`, `_`).
const ALERTS_TOKEN: &str = "alerts-0123456789abcdef";
const CI_TOKEN: &str = "ci-fedcba9876543210";

/// A line listener, a web listener and an IRC listener on free ports.
const LISTEN: [&str; 7] = [
    "--listen",
    "127.0.0.1:0",
    "--listen",
    "127.0.0.1:0,web",
    "--listen",
    "127.0.0.1:0,irc",
    "--no-console",
];

/// Two hooks into the lobby: `alerts`, and `ci`, which may name its sender.
fn hooks_config(extra: &str) -> String {
    format!(
        "{extra}\n[[webhooks]]\nname = \"alerts\"\nroom = \"lobby\"\ntoken = \"{ALERTS_TOKEN}\"\n\n\
         [[webhooks]]\nname = \"ci\"\nroom = \"lobby\"\ntoken_file = \"ci.token\"\nallow_username = true\n"
    )
}

fn server(extra: &str) -> ServerProcess {
    ServerProcess::builder()
        .file("ci.token", &format!("{CI_TOKEN}\n"))
        .config(&hooks_config(extra))
        .args(&LISTEN)
        .start()
}

/// `POST path` with `content_type` and `body` to `addr`.
pub(crate) fn post(addr: SocketAddr, path: &str, content_type: &str, body: &str) -> HttpReply {
    http_request(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn post_json(addr: SocketAddr, token: &str, body: &str) -> HttpReply {
    post(addr, &format!("/hooks/{token}"), "application/json", body)
}

#[test]
fn json_and_form_posts_reach_line_irc_and_web_clients_from_a_marked_sender() {
    let Some(script) = crate::irc::irc_script() else {
        return;
    };
    let server = server("");
    let mut nc = server.join();
    let mut ircy = crate::irc::irc(&script, &server, "ircy");
    ircy.join_lobby();
    nc.expect_body("-!- ircy joined lobby");
    let web = server.web_addr();
    let Some(ws_script) = crate::web::ws_script() else {
        return;
    };
    let mut page = crate::web::ws_client(&ws_script, web, "");
    page.expect_stdout("open");
    page.expect_stdout("joined lobby");

    let reply = post_json(
        web,
        ALERTS_TOKEN,
        r#"{"text": "*Deploy* of <https://x.example/1|build 1> done"}"#,
    );
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "ok"),
        "{reply:?}"
    );
    nc.expect_body("<alerts[hook]> Deploy of build 1 (https://x.example/1) done");
    page.expect_stdout("<alerts[hook]> Deploy of build 1 (https://x.example/1) done");
    let line = ircy.expect_command("PRIVMSG");
    assert!(
        line.is_privmsg(
            "alerts[hook]",
            "#lobby",
            "Deploy of build 1 (https://x.example/1) done"
        ),
        "{:?}",
        line.raw
    );

    // Slack's other form: the JSON in a form's `payload`; a hook that
    // allows it shows the payload's `username`, still marked.
    let form =
        "payload=%7B%22text%22%3A%22tests+passed%5Cnall+42%22%2C%22username%22%3A%22builder%22%7D";
    let reply = post(
        web,
        &format!("/hooks/{CI_TOKEN}"),
        "application/x-www-form-urlencoded",
        form,
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    nc.expect_body("<builder[hook]> tests passed");
    nc.expect_body("<builder[hook]> all 42");

    // A hook that does not allow it keeps its own name; a nick in use is
    // never taken: the mark is always there.
    let nick = nc.nick().to_owned();
    let body = format!(r#"{{"text": "spoofed?", "username": "{nick}"}}"#);
    assert_eq!(post_json(web, ALERTS_TOKEN, &body).status, 200);
    nc.expect_body("<alerts[hook]> spoofed?");

    // Attachments (what Alertmanager sends) become lines; control
    // characters are sanitized away like any line's.
    let alert = r#"{"attachments": [{"title": "[FIRING:1] InstanceDown", "title_link": "http://am.example/a",
        "text": "db1 is down\u0007", "fields": [{"title": "severity", "value": "page"}]}]}"#;
    assert_eq!(post_json(web, ALERTS_TOKEN, alert).status, 200);
    nc.expect_body("<alerts[hook]> [FIRING:1] InstanceDown (http://am.example/a)");
    nc.expect_body("<alerts[hook]> db1 is down");
    nc.expect_body("<alerts[hook]> severity: page");

    // A newcomer reads them in the room's history.
    let mut late = server.join();
    let history = late.sync();
    assert!(
        history
            .iter()
            .any(|line| line.contains("<alerts[hook]> db1 is down")),
        "{history:?}"
    );
}

#[test]
fn every_refusal_is_answered_with_its_status_and_one_line() {
    let server = server("max_webhook_bytes = 1024\n");
    let web = server.web_addr();
    let hook = format!("/hooks/{ALERTS_TOKEN}");

    // An unknown token is answered as an unknown page is: no oracle.
    let unknown = post_json(web, "alerts-0123456789abcdeX", r#"{"text": "x"}"#);
    let nothing = chat_tests::http_get(web, "/nowhere");
    let empty = post_json(web, "", r#"{"text": "x"}"#);
    assert_eq!(unknown.status, 404, "{unknown:?}");
    assert_eq!(unknown.body, nothing.body);
    assert_eq!(empty.body, unknown.body);

    let bad = |reply: HttpReply| format!("{} {}", reply.status, reply.body.trim_end());
    let answers = [
        bad(post_json(web, ALERTS_TOKEN, "{not json")),
        bad(post_json(web, ALERTS_TOKEN, r#"{"username": "x"}"#)),
        bad(post(web, &hook, "text/plain", "hello")),
        bad(post(
            web,
            &hook,
            "application/x-www-form-urlencoded",
            "text=hi",
        )),
        bad(http_request(
            web,
            &format!("GET {hook} HTTP/1.1\r\nHost: {web}\r\n\r\n"),
        )),
        bad(http_request(
            web,
            &format!(
                "POST {hook} HTTP/1.1\r\nHost: {web}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
            ),
        )),
        bad(post_json(
            web,
            ALERTS_TOKEN,
            &format!(r#"{{"text": "{}"}}"#, "a".repeat(2000)),
        )),
    ];
    for answer in &answers {
        assert_eq!(answer.lines().count(), 1, "{answer}");
    }
    insta::assert_snapshot!(answers.join("\n"));
}

#[test]
fn a_ten_mib_body_is_refused_from_its_head_without_being_read() {
    let server = server("");
    let web = server.web_addr();
    let mut stream = TcpStream::connect(web).unwrap_or_else(|e| panic!("{e}"));
    stream
        .set_read_timeout(Some(TIMEOUT))
        .unwrap_or_else(|e| panic!("{e}"));
    let head = format!(
        "POST /hooks/{ALERTS_TOKEN} HTTP/1.1\r\nHost: {web}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        10 * 1024 * 1024
    );
    stream
        .write_all(head.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    // Not a byte of the body is sent: the answer comes from the head.
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .unwrap_or_else(|e| panic!("no answer to the head alone: {e}"));
    assert!(
        answer.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{answer}"
    );
    // And the server still serves.
    let reply = post_json(web, ALERTS_TOKEN, r#"{"text": "still here"}"#);
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[test]
fn each_hook_is_held_to_its_rate_with_a_bucket_of_its_own() {
    let server = server("webhook_rate = 0.5\nwebhook_burst = 3\n");
    let web = server.web_addr();
    let statuses: Vec<u16> = (0..5)
        .map(|i| post_json(web, ALERTS_TOKEN, &format!(r#"{{"text": "n{i}"}}"#)).status)
        .collect();
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    let limited = post_json(web, ALERTS_TOKEN, r#"{"text": "again"}"#);
    assert!(limited.body.contains("webhook_rate"), "{limited:?}");
    // The other hook's bucket is its own.
    assert_eq!(post_json(web, CI_TOKEN, r#"{"text": "ci"}"#).status, 200);
}

#[test]
fn a_reload_brings_new_hooks_and_retires_old_ones() {
    let mut server = server("");
    let web = server.web_addr();
    let mut nc = server.join();
    let fresh = "fresh-token-000111222333";
    let config =
        format!("[[webhooks]]\nname = \"deploys\"\nroom = \"lobby\"\ntoken = \"{fresh}\"\n");
    std::fs::write(server.dir().join("server.toml"), config).unwrap_or_else(|e| panic!("{e}"));
    server.signal(libc::SIGHUP);
    server.expect_log("reload: configuration applied");
    let deadline = std::time::Instant::now() + TIMEOUT;
    while post_json(web, fresh, r#"{"text": "new hook"}"#).status != 200 {
        assert!(std::time::Instant::now() < deadline, "{}", server.report());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    nc.expect_body("<deploys[hook]> new hook");
    assert_eq!(post_json(web, ALERTS_TOKEN, r#"{"text": "x"}"#).status, 404);
}

#[test]
fn an_operator_creates_lists_and_deletes_a_hook_on_the_console() {
    let mut server = ServerProcess::builder()
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
    server.console("/webhook create lobby deploys");
    let created = server.expect_console("webhook deploys posts in lobby: POST http://");
    let path = created
        .split_whitespace()
        .find_map(|word| word.strip_prefix(&format!("http://{web}")))
        .unwrap_or_else(|| panic!("no URL on {web} in {created:?}"))
        .to_owned();
    let reply = post(web, &path, "application/json", r#"{"text": "shipped"}"#);
    assert_eq!(reply.status, 200, "{reply:?}");
    nc.expect_body("<deploys[hook]> shipped");

    server.console("/webhook list");
    server.expect_console("deploys -> lobby (created here)");
    server.console("/webhook delete deploys");
    server.expect_console("webhook deploys deleted");
    let gone = post(web, &path, "application/json", r#"{"text": "again"}"#);
    assert_eq!(gone.status, 404, "{gone:?}");
}

#[test]
fn an_operator_logged_in_as_a_client_manages_hooks_too() {
    let config = chat_tests::operator_config();
    let server = ServerProcess::builder()
        .config(&config)
        .args(&["--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0,web"])
        .start();
    let web = server.web_addr();
    let mut guest = server.join();
    guest.send_line("/webhook list");
    guest.expect_body("-!- error: operators only: log in with /oper NAME PASSWORD");
    let mut op = server.join();
    op.send_line("/oper root the real password");
    op.expect_contains("you are now an operator");
    op.send_line("/webhook create lobby builds");
    let created = op.expect_contains("webhook builds posts in lobby: POST http://");
    let path = created
        .split_whitespace()
        .find_map(|word| word.strip_prefix(&format!("http://{web}")))
        .unwrap_or_else(|| panic!("no URL on {web} in {created:?}"))
        .to_owned();
    let reply = post(web, &path, "application/json", r#"{"text": "compiled"}"#);
    assert_eq!(reply.status, 200, "{reply:?}");
    guest.expect_body("<builds[hook]> compiled");
    op.send_line("/webhook list");
    op.expect_contains("builds -> lobby (created here)");
    op.send_line("/webhook delete builds");
    op.expect_contains("webhook builds deleted");
    // The token went to the operator alone: not to the log.
    assert!(!server.report().contains(&path), "{}", server.report());
}

#[test]
fn a_body_that_comes_in_pieces_is_read_whole() {
    let server = server("");
    let web = server.web_addr();
    let mut nc = server.join();
    let body = r#"{"text": "slowly but surely"}"#;
    let mut stream = TcpStream::connect(web).unwrap_or_else(|e| panic!("{e}"));
    stream
        .set_read_timeout(Some(TIMEOUT))
        .unwrap_or_else(|e| panic!("{e}"));
    let head = format!(
        "POST /hooks/{ALERTS_TOKEN} HTTP/1.1\r\nHost: {web}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        &body[..5]
    );
    for piece in [head.as_str(), &body[5..12], &body[12..]] {
        stream
            .write_all(piece.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let reply = read_reply(&mut stream, "a post in pieces");
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "ok"),
        "{reply:?}"
    );
    nc.expect_body("<alerts[hook]> slowly but surely");
}

/// A hook post of `text` on an open connection, with `extra` headers.
fn post_on(stream: &mut TcpStream, web: SocketAddr, text: &str, extra: &str) -> HttpReply {
    let body = format!(r#"{{"text": "{text}"}}"#);
    let request = format!(
        "POST /hooks/{ALERTS_TOKEN} HTTP/1.1\r\nHost: {web}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("cannot send {text:?}: {e}"));
    read_reply(stream, text)
}

fn connect(web: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(web).unwrap_or_else(|e| panic!("{e}"));
    stream
        .set_read_timeout(Some(TIMEOUT))
        .unwrap_or_else(|e| panic!("{e}"));
    stream
}

/// Reads what is left on `stream`; the server closing makes it end.
fn rest(stream: &mut TcpStream) -> String {
    let mut rest = String::new();
    stream
        .read_to_string(&mut rest)
        .unwrap_or_else(|e| panic!("the server did not close: {e}"));
    rest
}

#[test]
fn posts_on_one_kept_alive_connection_all_land_until_connection_close() {
    let server = server("");
    let web = server.web_addr();
    let mut nc = server.join();
    let mut stream = connect(web);
    for (text, extra, connection) in [
        ("first on the connection", "", "keep-alive"),
        ("second on the same one", "", "keep-alive"),
        ("third and last", "Connection: close\r\n", "close"),
    ] {
        let reply = post_on(&mut stream, web, text, extra);
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (200, "ok"),
            "{reply:?}"
        );
        assert!(
            reply
                .head
                .contains(&format!("\r\nConnection: {connection}\r\n")),
            "{reply:?}"
        );
    }
    nc.expect_body("<alerts[hook]> first on the connection");
    nc.expect_body("<alerts[hook]> second on the same one");
    nc.expect_body("<alerts[hook]> third and last");
    // `Connection: close` was honoured: the server closed after the answer.
    assert_eq!(rest(&mut stream), "");
}

#[test]
fn a_pipelined_request_is_refused_by_closing_after_the_first_answer() {
    let server = server("");
    let web = server.web_addr();
    let mut nc = server.join();
    let mut stream = connect(web);
    let one = |text: &str| {
        let body = format!(r#"{{"text": "{text}"}}"#);
        format!(
            "POST /hooks/{ALERTS_TOKEN} HTTP/1.1\r\nHost: {web}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let both = one("answered") + &one("never read");
    stream
        .write_all(both.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let reply = read_reply(&mut stream, "the first of two pipelined");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(
        reply.head.contains("\r\nConnection: close\r\n"),
        "{reply:?}"
    );
    assert_eq!(rest(&mut stream), "");
    nc.expect_body("<alerts[hook]> answered");
    // The server still serves, and the second was not said.
    assert_eq!(
        post_json(web, ALERTS_TOKEN, r#"{"text": "after"}"#).status,
        200
    );
    nc.expect_body("<alerts[hook]> after");
}
