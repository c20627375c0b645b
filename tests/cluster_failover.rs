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

/// Between two rounds of the flood (each speaker says a line per round):
/// 60 lines a second, so that the room's stream (1000 entries) holds
/// every line of the test, to be checked.
const PACE: Duration = Duration::from_millis(50);
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
            "history_lines = 1000\n\n[cluster]\nsentinels = [{}]\nmaster_name = \"chat\"\n\
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

/// How the master is lost.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// SIGKILL.
    Killed,
    /// Cut off from its replica and the sentinels for [`CUT`] while the
    /// nodes still reach it and write to it; then it comes back as a
    /// replica and throws its last writes away.
    Isolated,
}

/// How long the isolated master stays cut off.
const CUT: Duration = Duration::from_secs(10);

#[test]
fn a_master_killed_mid_flood_fails_over_and_every_line_arrives_once_in_order() {
    let Some(group) = SentinelGroup::start() else {
        return;
    };
    fail_over(group, Fault::Killed);
}

#[test]
fn a_master_cut_off_while_nodes_write_to_it_loses_no_line() {
    let Some(group) = SentinelGroup::behind_proxy() else {
        return;
    };
    fail_over(group, Fault::Isolated);
}

/// Two nodes, three speakers flooding, the master lost to `fault`: every
/// line reaches every member once and in order within
/// [`DELIVERED_WITHIN`] of the promotion; `/health` is 503 during the
/// switch and 200 after. Prints the times.
fn fail_over(mut group: SentinelGroup, fault: Fault) {
    let sentinels = group.addresses();
    let mut a = sentinel_node("nodeA", &sentinels);
    let mut b = sentinel_node("nodeB", &sentinels);
    // Both nodes' subscriptions on the master: nothing said is missed.
    group.servers[0].wait_subscribers(&[("chat:rooms", 2)]);
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
    let mut flood = Flood::default();
    flood.until(
        &mut clients,
        &speakers,
        &mut said,
        Instant::now() + Duration::from_secs(2),
    );

    let old = group
        .master_port()
        .unwrap_or_else(|| panic!("no master\n{}", group.report()));
    match (fault, &group.proxy) {
        (Fault::Isolated, Some(proxy)) => proxy.isolate_redis_peers(),
        _ => group.servers[0].stop(),
    }
    let lost = Instant::now();
    // The flood goes on through the failover; each node's health is
    // watched for the red it must show.
    let mut red = [false, false];
    let mut promoted = None;
    while promoted.is_none() {
        flood.round(&mut clients, &speakers, &mut said);
        if flood.rounds.is_multiple_of(2) {
            for (seen, &at) in red.iter_mut().zip(&metrics) {
                *seen |= health(at) == 503;
            }
            if group.master_port().is_some_and(|port| port != old) {
                promoted = Some(group.wait_promoted(old));
            }
        }
        assert!(
            lost.elapsed() < TIMEOUT * 3,
            "no promotion\n{}",
            group.report()
        );
    }
    let promoted = promoted.unwrap_or_else(Instant::now);
    // Green again once a ping came back through the new master.
    let mut green = [None, None];
    while green.contains(&None) {
        flood.round(&mut clients, &speakers, &mut said);
        if flood.rounds.is_multiple_of(2) {
            for (seen, &at) in green.iter_mut().zip(&metrics) {
                if seen.is_none() && health(at) == 200 {
                    *seen = Some(promoted.elapsed());
                }
            }
        }
        assert!(
            promoted.elapsed() < TIMEOUT,
            "/health not 200 after the promotion"
        );
    }
    if fault == Fault::Isolated {
        flood.until(&mut clients, &speakers, &mut said, lost + CUT);
        if let Some(proxy) = &group.proxy {
            proxy.thaw();
        }
    }
    flood.until(
        &mut clients,
        &speakers,
        &mut said,
        Instant::now() + Duration::from_secs(2),
    );

    for listener in &mut clients {
        heard_everything_once(listener, &said);
    }
    stream_has_everything_once(group.master(), &said);
    let delivered = promoted.elapsed();
    assert!(
        delivered <= DELIVERED_WITHIN,
        "every line arrived {delivered:?} after the promotion, over {DELIVERED_WITHIN:?}"
    );
    // Killed, the master leaves the nodes without Redis until the
    // promotion. Isolated, it serves them until they hear of the new one
    // and move at once: pub/sub is never silent for long enough to show.
    if fault == Fault::Killed {
        assert_eq!(
            red,
            [true, true],
            "/health never said 503 during the switch"
        );
    }
    let lines: usize = said.values().map(Vec::len).sum();
    let how = match fault {
        Fault::Killed => "killed".to_owned(),
        Fault::Isolated => format!("cut off from its replica and sentinels for {CUT:?}"),
    };
    #[allow(clippy::print_stderr, reason = "the recovery time, for the log")]
    {
        eprintln!(
            "failover: master {how} mid-flood ({lines} lines from 3 speakers on 2 nodes, none \
             lost); promoted {:?} after (sentinels' down-after {DOWN_AFTER:?}); /health 503 seen \
             {red:?}, 200 again on the nodes {:?} after the promotion; every line at every member \
             once, in order",
            promoted - lost,
            green.map(Option::unwrap_or_default),
        );
    }
}

/// Checks that the room's stream on `master` (the history every node
/// reads back) holds every line said once, in each speaker's order: none
/// was lost with the master that had it, none written twice.
fn stream_has_everything_once(master: &RedisProcess, said: &BTreeMap<String, Vec<String>>) {
    let entries = master
        .query(&["XRANGE", "chat:history:lobby", "-", "+"])
        .unwrap_or_else(|e| panic!("XRANGE: {e}\n{}", master.report()));
    // An entry holds one or more lines, each with its text, `NICK says N`
    // (packed: length-prefixed, so found by its words and digits).
    for (speaker, lines) in said {
        let prefix = format!("{speaker} says ");
        let kept: Vec<String> = entries
            .iter()
            .flat_map(|item| item.split(prefix.as_str()).skip(1))
            .map(|rest| {
                let digits = rest.chars().take_while(char::is_ascii_digit);
                format!("{prefix}{}", digits.collect::<String>())
            })
            .collect();
        if kept != *lines {
            let missing: Vec<&String> = lines.iter().filter(|l| !kept.contains(l)).collect();
            panic!(
                "the new master's stream holds {} of {speaker}'s {} lines, not each once in order; \
                 missing: {missing:?}",
                kept.len(),
                lines.len()
            );
        }
    }
}

/// Rounds of lines, each speaker saying its next one per round.
#[derive(Default)]
struct Flood {
    rounds: usize,
}

impl Flood {
    fn round(
        &mut self,
        clients: &mut [Client],
        speakers: &[usize],
        said: &mut BTreeMap<String, Vec<String>>,
    ) {
        round(clients, speakers, said);
        self.rounds += 1;
        if self.rounds.is_multiple_of(25) {
            drain(clients);
        }
        thread::sleep(PACE);
    }

    fn until(
        &mut self,
        clients: &mut [Client],
        speakers: &[usize],
        said: &mut BTreeMap<String, Vec<String>>,
        end: Instant,
    ) {
        while Instant::now() < end {
            self.round(clients, speakers, said);
        }
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
