//! A room's history: sent first to a client who joins, bounded, off when
//! asked, and never older than the retention, on one server or read back
//! from the cluster.

use chat_hub::*;

use crate::support::{Fixture, cluster_fixture, now, remote_line};

#[test]
fn a_joining_client_gets_the_history_first() {
    let mut f = Fixture::with_clients(&[1, 2]);
    f.say(1, "one\n/me waves\n");
    f.time += chrono::Duration::seconds(5);
    f.say(1, "three\n");
    f.connect(3);
    insta::assert_snapshot!(f.out.take(3), @r"
    [Tue Nov  3 08:05:14 2026] -!- Welcome, guest3! Type /help for commands.
    [Tue Nov  3 08:05:14 2026] -!- guest3 joined lobby
    [Tue Nov  3 08:05:09 2026] (history) <guest1> one
    [Tue Nov  3 08:05:09 2026] (history) * guest1 waves
    [Tue Nov  3 08:05:14 2026] (history) <guest1> three
    ");
    f.say(3, "/history 1\n/history x\n");
    insta::assert_snapshot!(f.out.take(3), @r"
    [Tue Nov  3 08:05:14 2026] (history) <guest1> three
    [Tue Nov  3 08:05:14 2026] -!- error: usage: /history [N]
    ");
    f.say(2, "/join dev\n");
    let dev = f.lines_for(2);
    assert!(!dev.iter().any(|l| l.contains("(history)")), "{dev:?}");
}

#[test]
fn history_is_bounded_and_can_be_off() {
    let mut f = Fixture::new(HubConfig {
        history_lines: 2,
        ..HubConfig::default()
    });
    f.connect(1);
    for i in 0..20 {
        f.say(1, &format!("line {i}\n"));
    }
    f.connect(2);
    let lines = f.lines_for(2);
    assert_eq!(
        lines[2..],
        ["(history) <guest1> line 18", "(history) <guest1> line 19"]
    );
    f.say(2, "/history 500\n");
    assert_eq!(
        f.lines_for(2).len(),
        8,
        "a room keeps four times history_lines"
    );

    let mut off = Fixture::new(HubConfig {
        history_lines: 0,
        ..HubConfig::default()
    });
    off.connect(1);
    off.say(1, "hello\n");
    off.connect(2);
    off.say(2, "/history\n");
    let lines = off.lines_for(2);
    assert_eq!(
        lines.last().map(String::as_str),
        Some("-!- error: this server keeps no history")
    );
    assert!(!lines.iter().any(|l| l.contains("(history)")));
}

#[test]
fn history_older_than_the_retention_is_never_sent() {
    let config = HubConfig {
        history_retention: Retention::Seconds(60),
        ..HubConfig::default()
    };
    let mut f = Fixture::new(config.clone());
    f.connect(1);
    f.say(1, "old\n");
    f.time += chrono::Duration::seconds(30);
    f.say(1, "newer\n");
    f.time += chrono::Duration::seconds(31);
    f.connect(2);
    assert_eq!(f.lines_for(2)[2..], ["(history) <guest1> newer"]);
    f.say(2, "/history\n");
    assert_eq!(f.lines_for(2), ["(history) <guest1> newer"]);

    // In a cluster, what Redis sends back obeys the same rule.
    let mut f = Fixture::new(HubConfig {
        cluster: cluster_fixture().hub.config().cluster.clone(),
        ..config
    });
    f.out.cluster_up = true;
    f.connect(1);
    f.out.take(1);
    let token = f.history_token(1);
    let lines = vec![
        remote_line("too old", now() - chrono::Duration::seconds(61)),
        remote_line("recent", now() - chrono::Duration::seconds(59)),
    ];
    f.event(ClusterEvent::History {
        client: ClientId(1),
        token,
        lines: Some(lines),
    });
    assert_eq!(f.lines_for(1), ["(history) <bob> recent"]);
}

#[test]
fn a_line_said_while_the_history_is_read_comes_once_after_it() {
    let mut f = cluster_fixture();
    f.out.cluster_up = true;
    f.connect(1);
    f.out.take(1);
    let token = f.history_token(1);
    // Heard while the history is read: held for the client.
    f.time += chrono::Duration::milliseconds(5);
    f.heard(1_000, remote_line("just now", f.time));
    // The stream, read after, holds it too.
    let lines = vec![
        remote_line("before", now() - chrono::Duration::seconds(1)),
        remote_line("just now", f.time),
    ];
    f.event(ClusterEvent::History {
        client: ClientId(1),
        token,
        lines: Some(lines),
    });
    assert_eq!(f.lines_for(1), ["(history) <bob> before", "<bob> just now"]);
}
