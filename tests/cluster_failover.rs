//! A cluster through Redis Sentinel on loopback (a master, a replica,
//! three `redis-sentinel`s: [`SentinelGroup`]): the master killed with
//! SIGKILL in the middle of a flood, every line still reaching every
//! member once and in order, `/health` red during the switch and green
//! after; and a subscription gone silent (a proxy that stops forwarding to
//! it) turning `/health` red within the ping period until it delivers
//! again. Needs redis-server and redis-sentinel: skipped with a message
//! otherwise, or failing under `CHAT_TESTS_REQUIRE=1`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use chat_tests::{
    Client, DOWN_AFTER, Proxy, RedisProcess, SentinelGroup, ServerProcess, TIMEOUT, http_get,
};

use crate::cluster::{client, nick, until_heard};
use crate::cluster_faults::heard_everything_once;

/// Between two rounds of the flood (each speaker says a line per round).
const PACE: Duration = Duration::from_millis(10);
/// How soon after a promotion every line must have reached every member.
const DELIVERED_WITHIN: Duration = Duration::from_secs(15);
/// How soon after pub/sub goes silent `/health` must turn red.
const RED_WITHIN: Duration = Duration::from_secs(5);

const METRICS: &str = "[metrics]\nlisten = \"127.0.0.1:0\"\n";

/// A node named `name` of the cluster whose Redis the `sentinels` watch.
fn sentinel_node(name: &str, sentinels: &[String]) -> ServerProcess {
    let list: Vec<String> = sentinels.iter().map(|s| format!("\"{s}\"")).collect();
    ServerProcess::start_with_config(
        &format!(
            "history_lines = 5\n\n[cluster]\nsentinels = [{}]\nmaster_name = \"chat\"\n\
             node_name = \"{name}\"\nnick_lease_seconds = 2\n\n{METRICS}",
            list.join(", ")
        ),
        &["--no-console"],
    )
}

/// `/health`'s status code.
fn health(metrics: SocketAddr) -> u16 {
    http_get(metrics, "/health").status
}

/// Waits until `/health` answers `status`; returns how long it took.
/// Panics after `within`.
fn until_health(
    node: &ServerProcess,
    metrics: SocketAddr,
    status: u16,
    within: Duration,
) -> Duration {
    let start = Instant::now();
    while health(metrics) != status {
        assert!(
            start.elapsed() < within,
            "/health never answered {status} within {within:?}\n{}",
            node.report()
        );
        thread::sleep(Duration::from_millis(50));
    }
    start.elapsed()
}

/// The speakers among `clients` (by index) each say their next line.
fn round(clients: &mut [Client], speakers: &[usize], said: &mut BTreeMap<String, Vec<String>>) {
    for &i in speakers {
        let speaker = &mut clients[i];
        let name = speaker.nick().to_owned();
        let lines = said.entry(name.clone()).or_default();
        let text = format!("{name} says {}", lines.len());
        speaker.send_line(&text);
        lines.push(text);
    }
}

/// Reads what has come for each client, so no socket fills while it talks.
fn drain(clients: &mut [Client]) {
    for client in clients {
        let _ = client.expect_within("\u{7f}never", Duration::from_millis(1));
    }
}

#[test]
fn a_master_killed_mid_flood_fails_over_and_every_line_arrives_once_in_order() {
    let Some(mut group) = SentinelGroup::start() else {
        return;
    };
    let sentinels = group.addresses();
    let mut a = sentinel_node("nodeA", &sentinels);
    let mut b = sentinel_node("nodeB", &sentinels);
    // Both nodes' subscriptions on the master: nothing said is missed.
    let master = group.master();
    master.wait_subscribers(&[("chat:rooms", 2)]);
    let metrics = [a.metrics_addr(), b.metrics_addr()];
    let mut clients: Vec<Client> = Vec::new();
    for (node, name) in [(&a, "alice"), (&a, "amy"), (&b, "bob"), (&b, "bea")] {
        let mut c = client(node);
        nick(&mut c, name);
        clients.push(c);
    }
    let (alice, rest) = clients.split_at_mut(1);
    until_heard(&mut alice[0], &mut rest[1], "probe from a");
    until_heard(&mut rest[1], &mut alice[0], "probe from b");
    for (node, &at) in [&a, &b].into_iter().zip(&metrics) {
        until_health(node, at, 200, TIMEOUT);
    }
    // alice on node A; bob and bea on node B; amy only listens.
    let speakers = [0, 2, 3];
    let mut said = BTreeMap::new();
    let flood_until =
        |clients: &mut Vec<Client>, said: &mut BTreeMap<String, Vec<String>>, end: Instant| {
            let mut rounds = 0;
            while Instant::now() < end {
                round(clients, &speakers, said);
                rounds += 1;
                if rounds % 25 == 0 {
                    drain(clients);
                }
                thread::sleep(PACE);
            }
        };
    flood_until(
        &mut clients,
        &mut said,
        Instant::now() + Duration::from_secs(2),
    );

    let old = group
        .master_port()
        .unwrap_or_else(|| panic!("no master\n{}", group.report()));
    group.master().stop();
    let killed = Instant::now();
    // The flood goes on through the failover; each node's health is
    // watched for the red it must show.
    let mut red = [false, false];
    let mut promoted = None;
    let mut rounds = 0;
    while promoted.is_none() {
        round(&mut clients, &speakers, &mut said);
        rounds += 1;
        if rounds % 10 == 0 {
            for (seen, &at) in red.iter_mut().zip(&metrics) {
                *seen |= health(at) == 503;
            }
            if group.master_port().is_some_and(|port| port != old) {
                promoted = Some(group.wait_promoted(old));
            }
            drain(&mut clients);
        }
        assert!(
            killed.elapsed() < TIMEOUT * 3,
            "no promotion\n{}",
            group.report()
        );
        thread::sleep(PACE);
    }
    let promoted = promoted.unwrap_or_else(Instant::now);
    flood_until(&mut clients, &mut said, promoted + Duration::from_secs(3));
    let green = [&a, &b]
        .into_iter()
        .zip(&metrics)
        .map(|(node, &at)| until_health(node, at, 200, TIMEOUT))
        .max()
        .unwrap_or_default();
    let healthy = Instant::now();
    assert_eq!(
        red,
        [true, true],
        "/health never said 503 during the switch"
    );

    for listener in &mut clients {
        heard_everything_once(listener, &said);
    }
    let delivered = promoted.elapsed();
    assert!(
        delivered <= DELIVERED_WITHIN,
        "every line arrived {delivered:?} after the promotion, over {DELIVERED_WITHIN:?}"
    );
    let lines: usize = said.values().map(Vec::len).sum();
    #[allow(clippy::print_stderr, reason = "the recovery time, for the log")]
    {
        eprintln!(
            "failover: master killed mid-flood ({lines} lines from 3 speakers on 2 nodes); \
             promoted {:?} after the kill (sentinels' down-after {DOWN_AFTER:?}); /health 200 on both \
             nodes {:?} after the kill ({green:?} of waiting after the flood); every line at \
             every member once, in order, {delivered:?} after the promotion",
            promoted - killed,
            healthy - killed,
        );
    }
}

#[test]
fn a_silent_subscription_turns_health_red_within_the_ping_period_and_the_node_resubscribes() {
    let Some(redis) = RedisProcess::start() else {
        return;
    };
    let proxy = Proxy::start(SocketAddr::from(([127, 0, 0, 1], redis.port())));
    let mut a = ServerProcess::start_with_config(
        &format!(
            "[cluster]\nredis_url = \"redis://{}\"\nnode_name = \"nodeA\"\n\n{METRICS}",
            proxy.addr()
        ),
        &["--no-console"],
    );
    let metrics = a.metrics_addr();
    until_health(&a, metrics, 200, TIMEOUT);

    proxy.freeze_subscriptions();
    let red_after = until_health(&a, metrics, 503, RED_WITHIN);
    // Red for as long as it stays silent, though commands still work.
    let frozen = Instant::now();
    while frozen.elapsed() < Duration::from_secs(6) {
        assert_eq!(
            health(metrics),
            503,
            "/health green while pub/sub is silent"
        );
        thread::sleep(Duration::from_millis(250));
    }
    proxy.thaw();
    let green_after = until_health(&a, metrics, 200, TIMEOUT);
    redis.wait_subscribers(&[("chat:rooms", 1), ("chat:node:nodeA", 1)]);
    let text = http_get(metrics, "/metrics").body;
    assert!(
        text.contains("# TYPE chat_cluster_roundtrip_seconds histogram"),
        "{text}"
    );
    assert!(text.contains("chat_cluster_up 1"), "{text}");
    #[allow(clippy::print_stderr, reason = "what the test measured, for the log")]
    {
        eprintln!(
            "silent subscription: /health 503 {red_after:?} after pub/sub froze, 200 again \
             {green_after:?} after it thawed"
        );
    }
}
