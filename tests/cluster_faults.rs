//! Cluster faults over a real network path: Redis runs in a network
//! namespace of the test's own ([`NetLab`]), each node reaching it over a
//! veth link of its own, delayed (netem, or tbf where the kernel has no
//! netem) and cut for seconds while clients on both nodes talk. Every line
//! said must reach every other member once and in order after the links
//! heal. Needs root (network namespaces) and redis-server: skipped with a
//! message otherwise, or failing under `CHAT_TESTS_REQUIRE=1`.

use std::collections::BTreeMap;
use std::thread;
use std::time::{Duration, Instant};

use chat_tests::{Client, NetLab, RedisProcess};

use crate::cluster::{client, nick, node, until_heard};

/// How long each link stays cut.
const CUT: Duration = Duration::from_secs(5);
/// Between two lines of one speaker (under the flood limit of 5 a second).
const PACE: Duration = Duration::from_millis(250);

/// Each speaker says a numbered line in turn for `period`; returns nothing,
/// records what was said.
fn talk(speakers: &mut [&mut Client], said: &mut BTreeMap<String, Vec<String>>, period: Duration) {
    let end = Instant::now() + period;
    while Instant::now() < end {
        for speaker in speakers.iter_mut() {
            let name = speaker.nick().to_owned();
            let lines = said.entry(name.clone()).or_default();
            let text = format!("{name} says {}", lines.len());
            speaker.send_line(&text);
            lines.push(text);
        }
        thread::sleep(PACE);
    }
}

/// Checks that `listener` got every line of every other speaker once and in
/// that speaker's order (there is no order across speakers on different
/// nodes), once each speaker's `end` line has come.
pub(crate) fn heard_everything_once(listener: &mut Client, said: &BTreeMap<String, Vec<String>>) {
    for (speaker, lines) in said {
        let last = format!("<{speaker}> {}", lines.last().map_or("", String::as_str));
        // No echo of one's own lines; another's last line may have come
        // (and been read) while waiting for a third's.
        let heard = |history: &[String]| history.iter().any(|line| line.ends_with(&last));
        if speaker != listener.nick() && !heard(listener.history()) {
            listener.expect_body(&last);
        }
    }
    let me = listener.nick().to_owned();
    for (speaker, lines) in said.iter().filter(|(speaker, _)| **speaker != me) {
        let prefix = format!("<{speaker}> ");
        let heard: Vec<&str> = listener
            .history()
            .iter()
            .filter_map(|line| line.split_once("] ").map(|(_, body)| body))
            .filter_map(|body| body.strip_prefix(&prefix))
            .filter(|text| text.starts_with(&format!("{speaker} says ")))
            .collect();
        if heard != *lines {
            listener.fail(&format!(
                "{me} heard {speaker}'s lines as {heard:?}, not once each in order: {lines:?}"
            ));
        }
    }
}

#[test]
fn lines_said_across_cut_links_reach_everyone_once_and_in_order() {
    let Some(mut lab) = NetLab::new(2) else {
        return;
    };
    let Some(redis) = RedisProcess::start_in(&lab, 2) else {
        return;
    };
    lab.shape();
    let a = node("nodeA", &redis.url_via(0));
    let b = node("nodeB", &redis.url_via(1));
    let mut alice = client(&a);
    nick(&mut alice, "alice");
    let mut amy = client(&a);
    nick(&mut amy, "amy");
    let mut bob = client(&b);
    nick(&mut bob, "bob");
    let mut bea = client(&b);
    nick(&mut bea, "bea");
    until_heard(&mut alice, &mut bob, "probe from a");
    until_heard(&mut bob, &mut alice, "probe from b");

    let started = Instant::now();
    let mut said = BTreeMap::new();
    talk(&mut [&mut alice, &mut bob, &mut bea], &mut said, PACE * 4);
    // Node B loses Redis: its lines wait, node A's are missed by B.
    lab.cut(1);
    talk(&mut [&mut alice, &mut bob, &mut bea], &mut said, CUT);
    lab.heal(1);
    talk(&mut [&mut alice, &mut bob, &mut bea], &mut said, PACE * 4);
    // Then node A does.
    lab.cut(0);
    talk(&mut [&mut alice, &mut bob, &mut bea], &mut said, CUT);
    lab.heal(0);
    talk(&mut [&mut alice, &mut bob, &mut bea], &mut said, PACE * 4);

    for listener in [&mut alice, &mut amy, &mut bob, &mut bea] {
        heard_everything_once(listener, &said);
    }
    let lines: usize = said.values().map(Vec::len).sum();
    #[allow(clippy::print_stderr, reason = "what the test did, for the log")]
    {
        eprintln!(
            "{lines} lines from 3 speakers on 2 nodes, links shaped with {} and each cut for {CUT:?}: \
             all heard once, in order ({:?})",
            lab.shaping,
            started.elapsed()
        );
    }
}
