//! What a cluster must not let through, over a real redis-server and real
//! nodes: queries that hold up room lines, history kept past its
//! retention, guest nicks taken by clients, bans that stop at one node.
//! Like `cluster.rs`, each test starts its own redis-server, and without one
//! installed says so and passes (or fails under `CHAT_TESTS_REQUIRE=1`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use chat_tests::{RedisProcess, ServerProcess, TIMEOUT};

use crate::cluster::{client, nick, until_heard};

/// A node named `name` in the cluster at `redis_url`, with `settings`
/// (top-level keys of server.toml) and `args`.
fn node_with(name: &str, redis_url: &str, settings: &str, args: &[&str]) -> ServerProcess {
    ServerProcess::start_with_config(
        &format!(
            "history_lines = 5\n{settings}\n[cluster]\nredis_url = \"{redis_url}\"\nnode_name = \"{name}\"\nnick_lease_seconds = 2\n"
        ),
        args,
    )
}

/// One command to `redis`, its reply flattened; panics if it fails.
fn redis_query(redis: &RedisProcess, args: &[&str]) -> Vec<String> {
    redis
        .query(args)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", args.join(" "), redis.report()))
}

/// Polls `probe` every 50 ms until it is true; panics with `what` after
/// [`TIMEOUT`].
fn eventually(what: &str, mut probe: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !probe() {
        assert!(Instant::now() < deadline, "never: {what}");
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_room_stream_expires_with_the_retention_and_older_lines_are_not_sent() {
    let Some(redis) = RedisProcess::start() else {
        return;
    };
    let retention = "history_retention = \"3s\"\n";
    let a = node_with("nodeA", &redis.url(), retention, &["--no-console"]);
    let b = node_with("nodeB", &redis.url(), retention, &["--no-console"]);
    let mut alice = client(&a);
    nick(&mut alice, "alice");
    alice.send_line("first");
    let ttl = || redis_query(&redis, &["TTL", "chat:history:lobby"]);
    eventually("the stream has a TTL", || ttl() != ["-2"]);
    let seconds: i64 = ttl()[0].parse().unwrap_or(-1);
    assert!(
        (1..=3).contains(&seconds),
        "TTL {seconds}: the stream must expire within the retention"
    );
    thread::sleep(Duration::from_millis(2500));
    alice.send_line("second");
    thread::sleep(Duration::from_millis(2000));
    // "first" is 4.5 s old now, "second" 2 s: only "second" is history.
    let mut late = client(&b);
    late.expect_contains("(history) <alice> second");
    late.send_line("/history");
    late.expect_contains("(history) <alice> second");
    let history = late.history().join("\n");
    assert!(!history.contains("first"), "{history}");
    // Nobody speaks: the stream goes with its last line's retention.
    eventually("the stream expired", || {
        redis_query(&redis, &["EXISTS", "chat:history:lobby"]) == ["0"]
    });
}

/// A node "ghost" that Redis believes alive, with `count` members in the
/// lobby: every `/who` and `/rooms` reads them all.
fn ghost_members(redis: &RedisProcess, count: usize) {
    let nicks: Vec<String> = (0..count).map(|i| format!("ghost{i}")).collect();
    let mut args = vec!["HSET", "chat:members:ghost"];
    for nick in &nicks {
        args.extend([nick.as_str(), "lobby"]);
    }
    redis_query(redis, &args);
    let far = (chrono::Utc::now().timestamp_millis() + 3_600_000).to_string();
    redis_query(redis, &["ZADD", "chat:nodes", &far, "ghost"]);
}

#[test]
fn lines_cross_nodes_within_500ms_while_ten_clients_hammer_queries() {
    let Some(redis) = RedisProcess::start() else {
        return;
    };
    ghost_members(&redis, 20_000);
    let a = node_with("nodeA", &redis.url(), "", &["--no-console"]);
    let b = node_with("nodeB", &redis.url(), "", &["--no-console"]);
    let mut alice = client(&a);
    nick(&mut alice, "alice");
    let mut bob = client(&b);
    nick(&mut bob, "bob");
    until_heard(&mut bob, &mut alice, "probe");
    until_heard(&mut alice, &mut bob, "probe");

    // Ten clients of node A ask as fast as they are answered.
    let stop = Arc::new(AtomicBool::new(false));
    let hammers: Vec<_> = (0..10)
        .map(|_| {
            let mut hammer = client(&a);
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    hammer.send_line("/who");
                    hammer.send_line("/rooms");
                    hammer.send_line("/history 5");
                    // Reads (and keeps) what came for 20 ms.
                    let _ = hammer.expect_within("\u{1}", Duration::from_millis(20));
                }
                hammer
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(500));
    // Lines said on node A, where the queries queue, and on node B: each
    // reaches the other node within 500 ms, and none is lost.
    for i in 0..30 {
        let (from, to) = if i % 2 == 0 {
            (&mut alice, &mut bob)
        } else {
            (&mut bob, &mut alice)
        };
        let line = format!("tick {i:02}");
        from.send_line(&line);
        let heard = to.expect_within(&format!("> {line}"), Duration::from_millis(500));
        if heard.is_none() {
            stop.store(true, Ordering::Relaxed);
            to.fail(&format!("{line:?} did not cross nodes within 500 ms"));
        }
        thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let heard: Vec<String> = hammers
        .into_iter()
        .flat_map(|hammer| {
            hammer
                .join()
                .map(|c| c.history().to_vec())
                .unwrap_or_default()
        })
        .collect();
    // The queries were answered from the whole cluster, and paced.
    assert!(
        heard
            .iter()
            .any(|l| l.contains("-!- members of lobby (2001")),
        "no /who answer with the ghost's members"
    );
    assert!(heard.iter().any(|l| l.contains("error: slow down")));
}

#[test]
fn guest_nicks_cannot_be_squatted_across_nodes() {
    let Some(redis) = RedisProcess::start() else {
        return;
    };
    let a = node_with("nodeA", &redis.url(), "", &["--no-console"]);
    let b = node_with("nodeB", &redis.url(), "", &["--no-console"]);
    let first = b.join();
    let tag = first
        .nick()
        .strip_prefix("guest1-")
        .unwrap_or_else(|| first.fail("not node B's first guest"))
        .to_owned();
    // A client on node A cannot take the guest nick node B gives out next,
    // nor any other guest nick.
    let mut squatter = a.join();
    for taken in [format!("guest2-{tag}"), "Guest99".to_owned()] {
        squatter.send_line(&format!("/nick {taken}"));
        squatter.expect_body(&format!(
            "-!- error: nick {taken} is reserved for guests: the server gives them to newcomers"
        ));
    }
    // Held elsewhere all the same (a lease some other node left behind):
    // the newcomer who was given it gets another, claimed in turn.
    let held = format!("chat:nick:guest2-{tag}");
    redis_query(&redis, &["SET", &held, "nodeX", "EX", "60"]);
    let mut newcomer = b.connect();
    newcomer.expect_contains(&format!("Welcome, guest2-{tag}!"));
    newcomer.expect_body(&format!("-!- guest2-{tag} is now known as guest3-{tag}"));
    let key = format!("chat:nick:guest3-{tag}");
    eventually("node B holds the new guest nick", || {
        redis_query(&redis, &["GET", &key]) == ["nodeB"]
    });
    assert_eq!(redis_query(&redis, &["GET", &held]), ["nodeX"]);
    squatter.send_line(&format!("/msg guest3-{tag} found you"));
    newcomer.expect_contains("found you");
}

/// A new connection to `node`: welcomed (`true`) or refused as banned.
fn welcomed(node: &ServerProcess) -> bool {
    let mut probe = node.connect();
    let first = probe.expect("a welcome or a refusal", |line| {
        line.starts_with("-!- Welcome, ") || line.contains("error: you are banned")
    });
    first.starts_with("-!- Welcome, ")
}

#[test]
fn a_ban_on_one_node_holds_on_every_node_and_an_unban_lifts_it_everywhere() {
    let Some(redis) = RedisProcess::start() else {
        return;
    };
    let mut a = node_with("nodeA", &redis.url(), "", &["--console"]);
    let b = node_with("nodeB", &redis.url(), "", &["--no-console"]);
    redis.wait_subscribers(&[("chat:ban-notices", 2)]);
    let mut bob = b.join();

    a.console("/ban 127.0.0.1 10m");
    a.expect_console("banned 127.0.0.1/32 for 600s");
    // On node B: its client is disconnected, and a new one refused.
    bob.expect_body("-!- you were banned by operator");
    bob.expect_eof();
    assert!(!welcomed(&b), "node B let a banned address in");
    assert!(!welcomed(&a));
    assert_eq!(
        redis_query(&redis, &["ZRANGE", "chat:bans", "0", "-1"]),
        ["127.0.0.1/32 operator"]
    );
    // A node that starts now reads the bans in force.
    let c = node_with("nodeC", &redis.url(), "", &["--no-console"]);
    redis.wait_subscribers(&[("chat:ban-notices", 3)]);
    eventually("node C refuses the banned address", || !welcomed(&c));

    a.console("/unban 127.0.0.1");
    a.expect_console("unbanned 127.0.0.1/32");
    for node in [&a, &b, &c] {
        eventually("the unban reached every node", || welcomed(node));
    }
    assert!(redis_query(&redis, &["ZRANGE", "chat:bans", "0", "-1"]).is_empty());
}

#[test]
fn an_operator_kicks_a_nick_held_by_another_node() {
    let Some(redis) = RedisProcess::start() else {
        return;
    };
    let mut a = node_with("nodeA", &redis.url(), "", &["--console"]);
    let b = node_with("nodeB", &redis.url(), "", &["--no-console"]);
    redis.wait_subscribers(&[("chat:node:nodeB", 1)]);
    let mut carol = client(&b);
    nick(&mut carol, "carol");
    let mut dave = client(&b);
    nick(&mut dave, "dave");

    a.console("/kick carol enough");
    a.expect_console("kicked carol (on another node)");
    carol.expect_body("-!- you were kicked by operator (enough)");
    carol.expect_eof();
    dave.expect_body("-!- carol left lobby (kicked: enough)");
    a.console("/kick nobody");
    a.expect_console("no such nick: nobody");
}
