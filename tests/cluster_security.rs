//! What a cluster must not let through, over a real redis-server and real
//! nodes: queries that hold up room lines, history kept past its
//! retention, guest nicks taken by clients, bans that stop at one node.
//! Like `cluster.rs`, each test starts its own redis-server, and without one
//! installed says so and passes (or fails under `CHAT_TESTS_REQUIRE=1`).

use std::thread;
use std::time::{Duration, Instant};

use chat_tests::{RedisProcess, ServerProcess, TIMEOUT};

use crate::cluster::{client, nick};

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
