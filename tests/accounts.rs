//! Accounts over the real binary: registering and logging in on two
//! connections at once, nicks owned by accounts, private messages that
//! wait for a login (across a restart too), read markers shared by an
//! account's connections and kept across a restart, failed logins
//! limited, `--create-account`, and the operators' `/account`.

use chat_tests::{Client, Proc, ServerProcess, command};

const PASSWORD: &str = "correct-horse-battery";

/// Connects, takes `nick` and registers it.
fn register(server: &ServerProcess, nick: &str) -> Client {
    let mut client = server.join();
    client.send_line(&format!("/nick {nick}"));
    client.expect_contains(&format!("is now known as {nick}"));
    client.set_nick(nick);
    client.send_line(&format!("/register {PASSWORD}"));
    client.expect_body(&format!("-!- you are logged in as {nick}"));
    client
}

/// Connects and logs in to `account`.
fn login(server: &ServerProcess, account: &str) -> Client {
    let mut client = server.join();
    client.send_line(&format!("/login {account} {PASSWORD}"));
    client.expect_body(&format!("-!- you are logged in as {account}"));
    client.set_nick(account);
    client
}

#[test]
fn two_connections_of_one_account_are_one_member_and_see_each_others_lines() {
    let server = ServerProcess::start(&[]);
    let mut laptop = register(&server, "alice");
    let mut phone = login(&server, "alice");
    let mut bob = server.join();
    bob.send_line("/who");
    bob.expect_contains(&format!("members of lobby (2): alice {}", bob.nick()));
    laptop.send_line("said on the laptop");
    phone.expect_body("<alice> said on the laptop");
    bob.expect_body("<alice> said on the laptop");
    bob.send_line("/msg alice psst");
    laptop.expect_contains("psst");
    phone.expect_contains("psst");
    // One device leaving is no leave while the other stays.
    phone.send_line("/quit");
    phone.expect_eof();
    let lines = bob.sync();
    assert!(
        !lines.iter().any(|line| line.contains("alice left")),
        "{lines:?}"
    );
}

#[test]
fn a_registered_nick_is_refused_to_guests_and_the_account_takes_it_back() {
    let server = ServerProcess::start(&[]);
    let mut alice = register(&server, "alice");
    alice.send_line("/quit");
    alice.expect_eof();
    let mut guest = server.join();
    guest.send_line("/nick alice");
    guest.expect_body(
        "-!- error: nick alice belongs to an account: /login alice PASSWORD, or choose another",
    );
    // With enforcement off a guest may hold it, and gives it up at login.
    let server = ServerProcess::start_with_config("[accounts]\nnick_enforcement = false\n", &[]);
    let _alice = register(&server, "alice");
    let mut guest = server.join();
    // Held by the account's own connection: taken.
    guest.send_line("/nick alice");
    guest.expect_body("-!- error: nick alice is taken");
}

#[test]
fn a_private_message_to_an_account_away_waits_for_its_login_across_a_restart() {
    let mut server = ServerProcess::start(&[]);
    let mut alice = register(&server, "alice");
    alice.send_line("/quit");
    alice.expect_eof();
    let mut bob = server.join();
    bob.send_line("/msg alice see you tomorrow");
    bob.expect_body("-> *alice* see you tomorrow");
    bob.expect_body("-!- alice is away: your message waits for their next login");
    let sent = bob.nick().to_owned();
    server.stop();
    server.restart();
    let mut alice = server.join();
    alice.send_line(&format!("/login alice {PASSWORD}"));
    alice.expect_body("-!- while you were away: 1 private message");
    alice.expect_body(&format!("*{sent}* see you tomorrow"));
    // Its two parties read it back; nobody's room history or search has it.
    alice.send_line(&format!("/history @{sent}"));
    alice.expect_body(&format!("*{sent}* see you tomorrow"));
    alice.send_line("/search tomorrow");
    alice.expect_body("-!- search: no matches for \"tomorrow\"");
    alice.send_line("/history");
    let lines = alice.sync();
    assert!(!lines.iter().any(|l| l.contains("tomorrow")), "{lines:?}");
    // Delivered once: not again at the next login.
    alice.send_line("/quit");
    alice.expect_eof();
    let mut again = server.join();
    again.send_line(&format!("/login alice {PASSWORD}"));
    let lines = again.lines_until("the login", |b| b.contains("you are logged in"));
    let lines = [lines, again.sync()].concat();
    assert!(
        !lines
            .iter()
            .any(|line| line.contains("while you were away")),
        "{lines:?}"
    );
}

#[test]
fn read_markers_are_shared_by_an_accounts_connections_and_kept_across_a_restart() {
    let mut server = ServerProcess::start(&[]);
    let mut laptop = register(&server, "alice");
    let mut phone = login(&server, "alice");
    let mut bob = server.join();
    bob.send_line("/join dev");
    bob.expect_contains("joined dev");
    bob.send_line("one");
    laptop.send_line("/join dev");
    laptop.expect_contains("(history)");
    laptop.send_line("/read");
    let marked = laptop.expect_contains("-!- read dev through #");
    phone.expect_body(&marked);
    for text in ["two", "three"] {
        bob.send_line(text);
    }
    bob.sync();
    let bob = bob.nick().to_owned();
    server.stop();
    server.restart();
    let mut alice = login(&server, "alice");
    alice.send_line("/join dev");
    alice.expect_contains("-!- 2 unread in dev since #");
    alice.expect_body(&format!("(history) <{bob}> two"));
    alice.expect_body(&format!("(history) <{bob}> three"));
}

#[test]
fn failed_logins_are_limited_per_address() {
    let server = ServerProcess::start(&[]);
    let _alice = register(&server, "alice");
    let mut guesser = server.join();
    for n in 0..5 {
        guesser.send_line(&format!("/login alice wrong-guess-{n}"));
        guesser.expect_body("-!- error: wrong account name or password");
    }
    guesser.send_line(&format!("/login alice {PASSWORD}"));
    guesser.expect_body("-!- error: too many failed logins from your address; try again later");
}

#[test]
fn the_first_account_is_made_before_the_start_and_operators_make_the_rest() {
    let config = format!(
        "[accounts]\nregistration = \"operators\"\n\n{}",
        chat_tests::operator_config()
    );
    let mut server = ServerProcess::builder().config(&config).start();
    server.stop();
    let mut cmd = command("chat-server");
    cmd.current_dir(server.dir())
        .args(["--config", "server.toml", "--create-account", "admin"]);
    let mut made = Proc::run(cmd, format!("{PASSWORD}\n").as_bytes());
    made.assert_exit(0);
    assert!(
        made.stdout().contains("account admin created"),
        "{}",
        made.report()
    );
    server.restart();

    let mut guest = server.join();
    guest.send_line("/nick carol");
    guest.expect_contains("now known as carol");
    guest.send_line(&format!("/register {PASSWORD}"));
    guest.expect_body("-!- error: accounts are made by the operators on this server: ask one");

    let mut admin = login(&server, "admin");
    admin.send_line("/oper root the real password");
    admin.expect_contains("you are now an operator");
    admin.send_line("/account create carol");
    admin.expect_body("-!- account carol created");
    let shown = admin.expect_contains("its password (shown once): ");
    let password = shown.rsplit(' ').next().unwrap_or_default().to_owned();
    guest.send_line(&format!("/login carol {password}"));
    guest.expect_body("-!- you are logged in as carol");
    admin.send_line("/account list");
    admin.expect_body("-!- accounts (2):");
    admin.send_line("/account lock carol");
    admin.expect_body("-!- account carol locked");
    guest.expect_body("-!- you are logged out");
    guest.send_line(&format!("/login carol {password}"));
    guest.expect_body("-!- error: account carol is locked");
}

#[test]
fn a_clusters_accounts_log_in_on_any_node_and_messages_wait_on_any() {
    let Some(redis) = chat_tests::RedisProcess::start() else {
        return;
    };
    let node = |name: &str| {
        ServerProcess::start_with_config(
            &format!(
                "[cluster]\nredis_url = \"{}\"\nnode_name = \"{name}\"\nnick_lease_seconds = 2\n",
                redis.url()
            ),
            &["--no-console"],
        )
    };
    let (a, b) = (node("a"), node("b"));
    // Registered on A, logged in on B.
    let mut alice = register(&a, "alice");
    alice.send_line("/quit");
    alice.expect_eof();
    let mut on_b = login(&b, "alice");
    on_b.send_line("/quit");
    on_b.expect_eof();
    // B learns of the account (every 2 s at most): its nick is owned there.
    let mut guest = b.join();
    let deadline = std::time::Instant::now() + chat_tests::TIMEOUT;
    loop {
        guest.send_line("/nick alice");
        let answer = guest.expect_contains("-!- ");
        if answer.contains("belongs to an account") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "B never learned: {answer}"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
        if answer.contains("now known as alice") {
            guest.send_line("/nick someone-else");
        }
    }
    // A message to alice, away, sent on B, waits; alice logs in on A.
    guest.send_line("/msg alice the build is green");
    guest.expect_body("-!- alice is away: your message waits for their next login");
    let sender = guest.nick().to_owned();
    let mut back = a.join();
    back.send_line(&format!("/login alice {PASSWORD}"));
    back.expect_body("-!- while you were away: 1 private message");
    back.expect_body(&format!("*{sender}* the build is green"));
}
