//! Several chat-server nodes as one chat through a real redis-server: real
//! processes, raw TCP clients, faults (a node killed, Redis restarted or
//! missing at start; a cut network path is `cluster_faults.rs`). Each test starts its own redis-server on a free
//! loopback port without persistence; without redis-server installed the
//! tests say so and pass, or fail under `CHAT_TESTS_REQUIRE=1`.

use std::thread;
use std::time::{Duration, Instant};

use chat_tests::{Client, RedisProcess, ServerProcess, TIMEOUT};

/// A chat-server node named `name` in the cluster at `redis_url`.
pub(crate) fn node(name: &str, redis_url: &str) -> ServerProcess {
    ServerProcess::start_with_config(
        &format!(
            "history_lines = 5\n\n[cluster]\nredis_url = \"{redis_url}\"\nnode_name = \"{name}\"\nnick_lease_seconds = 2\n"
        ),
        &["--no-console"],
    )
}

/// A raw TCP client of `node`, welcomed.
pub(crate) fn client(node: &ServerProcess) -> Client {
    let mut client = node.connect();
    let welcome = client.expect_contains("Welcome, ");
    let guest = welcome
        .split_once("Welcome, ")
        .and_then(|(_, rest)| rest.split_once('!'))
        .map(|(nick, _)| nick.to_owned());
    client.set_nick(&guest.unwrap_or_default());
    client
}

/// Takes `nick`.
pub(crate) fn nick(client: &mut Client, nick: &str) {
    client.send_line(&format!("/nick {nick}"));
    // Exactly: notices of renames on other nodes reach this client too.
    let renamed = format!("{} is now known as {nick}", client.nick());
    client.expect(&format!("ending in {renamed:?}"), |body| {
        body.ends_with(&renamed)
    });
    client.set_nick(nick);
}

/// Takes `nick` once another node has let it go (releases travel through
/// Redis asynchronously, so the first try may be early).
pub(crate) fn nick_eventually(client: &mut Client, nick: &str) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        client.send_line(&format!("/nick {nick}"));
        let reply = client.expect_contains("-!- ");
        // Exactly this client's rename: other nodes' notices come too.
        if reply.ends_with(&format!("{} is now known as {nick}", client.nick())) {
            client.set_nick(nick);
            return;
        }
        if Instant::now() >= deadline {
            client.fail(&format!("{nick} never freed"));
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Says numbered probes from `from` until `to` hears one: the nodes are
/// subscribed and the path through Redis works.
pub(crate) fn until_heard(from: &mut Client, to: &mut Client, what: &str) {
    for i in 0..50 {
        let probe = format!("{what} {i}");
        from.send_line(&probe);
        if to
            .expect_within(&format!("> {what} "), Duration::from_millis(300))
            .is_some()
        {
            return;
        }
    }
    to.fail(&format!("{what}: never heard across nodes"));
}

#[test]
fn nodes_share_rooms_private_messages_nicks_and_lists() {
    let Some(redis) = RedisProcess::start() else {
        return;
    };
    let a = node("nodeA", &redis.url());
    let b = node("nodeB", &redis.url());
    let mut alice = client(&a);
    nick(&mut alice, "alice");
    let mut bob = client(&b);
    nick(&mut bob, "bob");
    until_heard(&mut alice, &mut bob, "probe");

    alice.send_line("hello from A");
    let line = bob.expect_line("containing <alice> hello from A", |b| {
        b.contains("<alice> hello from A")
    });
    assert!(line.starts_with('['), "stamped: {line}");
    bob.send_line("/me waves from B");
    alice.expect_contains("* bob waves from B");

    bob.send_line("/msg ALICE psst");
    alice.expect_contains("*bob* psst");
    bob.expect_contains("-> *ALICE* psst");
    alice.send_line("/msg nobody hi");
    alice.expect_contains("error: no such nick: nobody");

    let mut other = client(&b);
    other.send_line("/nick Alice");
    other.expect_contains("error: nick Alice is taken");
    alice.send_line("/nick alice2");
    alice.expect_contains("alice is now known as alice2");
    nick_eventually(&mut other, "alice"); // released by node A

    alice.send_line("/join dev");
    alice.expect_contains("alice2 joined dev");
    alice.send_line("/part lobby");
    alice.expect_contains("alice2 left lobby");
    bob.send_line("/who");
    let who = bob.expect_contains("members of lobby");
    assert!(who.contains("alice ") || who.ends_with("alice"), "{who}");
    assert!(who.contains("bob"), "{who}");
    assert!(!who.contains("alice2"), "{who}");
    bob.send_line("/rooms");
    let rooms = bob.expect_contains("-!- rooms (");
    assert!(
        rooms.contains("lobby(2)") && rooms.contains("dev(1)"),
        "{rooms}"
    );
}

#[test]
fn history_on_join_from_either_node() {
    let Some(redis) = RedisProcess::start() else {
        return;
    };
    let a = node("nodeA", &redis.url());
    let b = node("nodeB", &redis.url());
    let mut alice = client(&a);
    nick(&mut alice, "alice");
    for i in 1..=7 {
        alice.send_line(&format!("line {i}"));
    }
    alice.send_line("/me is done");
    thread::sleep(Duration::from_millis(300));
    for node in [&a, &b] {
        let mut late = client(node);
        // history_lines = 5: the last five, oldest first, before live lines.
        let first = late.expect_contains("(history)");
        assert!(first.ends_with("(history) <alice> line 4"), "{first}");
        late.expect_contains("(history) <alice> line 7");
        late.expect_contains("(history) * alice is done");
        late.send_line("/history 2");
        let again = late.expect_contains("(history)");
        assert!(again.ends_with("(history) <alice> line 7"), "{again}");
        assert!(
            !late.history().iter().any(|l| l.ends_with("line 3")),
            "{:?}",
            late.history()
        );
    }
}

#[test]
fn a_killed_node_frees_its_nicks_after_the_lease() {
    let Some(redis) = RedisProcess::start() else {
        return;
    };
    let mut a = node("nodeA", &redis.url());
    let b = node("nodeB", &redis.url());
    let mut alice = client(&a);
    nick(&mut alice, "alice");
    let mut other = client(&b);
    other.send_line("/nick alice");
    other.expect_contains("error: nick alice is taken");
    a.kill();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        other.send_line("/nick alice");
        if other
            .expect_within("is now known as alice", Duration::from_millis(500))
            .is_some()
        {
            break;
        }
        if Instant::now() >= deadline {
            other.fail("alice never freed");
        }
    }
}

#[test]
fn redis_restarted_mid_conversation() {
    let Some(mut redis) = RedisProcess::start() else {
        return;
    };
    let mut a = node("nodeA", &redis.url());
    let b = node("nodeB", &redis.url());
    let mut alice = client(&a);
    nick(&mut alice, "alice");
    let mut carol = client(&a);
    nick(&mut carol, "carol");
    let mut bob = client(&b);
    nick(&mut bob, "bob");
    until_heard(&mut alice, &mut bob, "before");

    redis.stop();
    a.expect_log("cluster: lost");
    // Local rooms keep working: nothing is lost on the same node.
    for i in 0..5 {
        alice.send_line(&format!("during outage {i}"));
    }
    for i in 0..5 {
        carol.expect_contains(&format!("<alice> during outage {i}"));
    }
    redis.restart();
    until_heard(&mut alice, &mut bob, "after");
    // Said on node A while Redis was away: queued, written first after the
    // restart (a Redis without persistence lost its streams, not these),
    // so node B has them, once each and in order, before the probes.
    let heard: Vec<&str> = bob
        .history()
        .iter()
        .filter_map(|line| line.split_once("<alice> during outage ").map(|(_, n)| n))
        .collect();
    assert_eq!(heard, ["0", "1", "2", "3", "4"], "{:#?}", bob.history());
    until_heard(&mut bob, &mut carol, "back");
    // Nicks were claimed again after the restart.
    let mut other = client(&b);
    let deadline = Instant::now() + TIMEOUT;
    loop {
        other.send_line("/nick alice");
        let reply = other.expect_contains("-!- ");
        if reply.contains("nick alice is taken") {
            break;
        }
        assert!(
            Instant::now() < deadline && !reply.contains("now known as"),
            "alice was not claimed again: {reply}"
        );
        thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn redis_down_at_start_then_up() {
    let Some(mut redis) = RedisProcess::start() else {
        return;
    };
    redis.stop();
    let mut a = node("nodeA", &redis.url());
    a.expect_log("unreachable");
    let mut one = client(&a);
    let mut two = client(&a);
    one.send_line("alone but fine");
    two.expect_contains("> alone but fine");
    redis.restart();
    a.expect_log("cluster: connected");
    let b = node("nodeB", &redis.url());
    let mut three = client(&b);
    until_heard(&mut one, &mut three, "joined up");
}

#[test]
fn joins_nick_changes_and_leaves_cross_nodes_and_the_console_shows_remote_lines() {
    let Some(redis) = RedisProcess::start() else {
        return;
    };
    let mut a = ServerProcess::start_with_config(
        &format!(
            "[cluster]\nredis_url = \"{}\"\nnode_name = \"nodeA\"\nnick_lease_seconds = 2\n",
            redis.url()
        ),
        &["--console"],
    );
    let b = node("nodeB", &redis.url());
    let mut alice = client(&a);
    nick(&mut alice, "alice");
    let mut bob = client(&b);
    nick(&mut bob, "bob");
    until_heard(&mut bob, &mut alice, "probe");
    // As a local line shows, with the node instead of the address.
    let shown = a.expect_console("[lobby] <bob> probe");
    assert!(shown.ends_with("(node nodeB)"), "{shown}");

    alice.send_line("/join dev");
    alice.expect_contains("alice joined dev");
    bob.send_line("/join dev");
    // The same notices, in the same shape, as if bob were on node A.
    alice.expect_body("-!- bob joined dev");
    bob.send_line("/nick robert");
    alice.expect_body("-!- bob is now known as robert");
    bob.send_line("dev talk");
    alice.expect_body("<robert> dev talk");
    bob.send_line("/part dev");
    alice.expect_body("-!- robert left dev");
    alice.send_line("/part dev");
    alice.expect_body("-!- alice left dev");
    alice.expect_body("-!- now talking in lobby");
    bob.send_line("/quit");
    alice.expect_body("-!- robert left lobby (quit)");
    let mut bea = client(&b);
    alice.expect("a guest joining lobby on node B", |body| {
        body.starts_with("-!- guest") && body.ends_with(" joined lobby")
    });
    nick(&mut bea, "bea");
    alice.expect_contains("is now known as bea");
}
