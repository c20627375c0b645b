//! A node of a cluster asking the others: its lines published with their
//! stamp, the history read before live lines, nicks claimed before they
//! change, private messages, and `/who` and `/rooms` paced.

use chat_hub::*;

use crate::support::{Fixture, cluster_fixture, now, remote_line};

#[test]
fn cluster_lines_cross_nodes_with_their_stamp() {
    let mut f = cluster_fixture();
    f.connect_node(1);
    let guest = f.hub.nick(ClientId(1)).unwrap_or_default().to_owned();
    assert!(
        guest.starts_with("guest1-"),
        "guest nicks carry the node's tag: {guest}"
    );
    f.out.take(1);
    f.out.requests.clear();
    f.say(1, "hi all\n");
    assert_eq!(
        f.out.requests,
        [ClusterRequest::Publish(RoomLine {
            origin: "a:1".into(),
            room: "lobby".into(),
            nick: guest.clone(),
            text: "hi all".into(),
            kind: RoomEvent::Message,
            time: now(),
            seq: 0,
        })]
    );
    let earlier = now() - chrono::Duration::seconds(61);
    let (mut out, time) = (std::mem::take(&mut f.out), f.time);
    f.hub.cluster_event(
        &mut out,
        ClusterEvent::Line {
            id: StreamId { ms: 1, seq: 0 }.into(),
            line: remote_line("from b", earlier),
        },
        time,
    );
    let mut elsewhere = remote_line("nobody here", earlier);
    elsewhere.room = "dev".into();
    f.hub.cluster_event(
        &mut out,
        ClusterEvent::Line {
            id: StreamId { ms: 2, seq: 0 }.into(),
            line: elsewhere,
        },
        time,
    );
    f.out = out;
    assert_eq!(f.out.take(1), "[Tue Nov  3 08:04:08 2026] <bob> from b\n");
    f.out.requests.clear();
    f.connect(2);
    assert!(
        matches!(
            &f.out.requests[..],
            [
                ClusterRequest::Claim { .. },
                ClusterRequest::Member { .. },
                // The history read waits for the lines handed before it:
                // not the join's own notice, nor what the newcomer says.
                ClusterRequest::History { count: 50, .. },
                ClusterRequest::Publish(RoomLine {
                    kind: RoomEvent::Joined,
                    ..
                })
            ]
        ),
        "{:?}",
        f.out.requests
    );
}

#[test]
fn cluster_history_comes_first_and_live_lines_wait_for_it() {
    let mut f = cluster_fixture();
    f.connect(1);
    f.connect(2);
    f.out.take(2);
    let token = f
        .out
        .requests
        .iter()
        .rev()
        .find_map(|r| match r {
            ClusterRequest::History { client, token, .. } if *client == ClientId(2) => Some(*token),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no history request: {:?}", f.out.requests));
    f.say(1, "live while waiting\n");
    assert_eq!(f.out.take(2), "", "held until the history is sent");
    let lines = Some(vec![remote_line(
        "old one",
        now() - chrono::Duration::hours(1),
    )]);
    let mut out = std::mem::take(&mut f.out);
    f.hub.cluster_event(
        &mut out,
        ClusterEvent::History {
            client: ClientId(2),
            token,
            lines,
        },
        now(),
    );
    f.out = out;
    let guest1 = f.hub.nick(ClientId(1)).unwrap_or_default().to_owned();
    assert_eq!(
        f.lines_for(2),
        [
            "(history) <bob> old one".to_owned(),
            format!("<{guest1}> live while waiting")
        ]
    );
}

#[test]
fn cluster_history_falls_back_to_local_after_a_wait() {
    let mut f = cluster_fixture();
    f.connect(1);
    f.say(1, "said here\n");
    f.connect(2);
    f.out.take(2);
    f.say(1, "meanwhile\n");
    f.advance(3100);
    let lines = f.lines_for(2);
    assert!(lines[0].starts_with("(history) <guest1-"), "{lines:?}");
    assert!(lines[1].ends_with("> meanwhile"), "{lines:?}");
}

#[test]
fn cluster_nicks_are_claimed_before_they_change() {
    let mut f = cluster_fixture();
    f.connect_node(1);
    f.out.take(1);
    f.out.requests.clear();
    f.say(1, "/nick bob\n");
    assert_eq!(
        f.out.requests,
        [ClusterRequest::Claim {
            client: ClientId(1),
            nick: "bob".into()
        }]
    );
    assert!(!f.hub.has_nick("bob"), "not before the claim is granted");
    let mut out = std::mem::take(&mut f.out);
    let claimed = |result| ClusterEvent::Claimed {
        client: ClientId(1),
        nick: "bob".into(),
        result,
    };
    f.hub
        .cluster_event(&mut out, claimed(ClaimResult::Taken), now());
    f.out = out;
    assert_eq!(f.lines_for(1), ["-!- error: nick bob is taken"]);
    f.say(1, "/nick bob\n");
    let mut out = std::mem::take(&mut f.out);
    out.requests.clear();
    f.hub
        .cluster_event(&mut out, claimed(ClaimResult::Claimed), now());
    f.out = out;
    assert!(f.hub.has_nick("bob"));
    assert!(
        matches!(&f.out.requests[..], [ClusterRequest::Member { .. }, ClusterRequest::Publish(RoomLine { kind: RoomEvent::Nick, .. }), ClusterRequest::Release { nick }] if nick.starts_with("guest1-")),
        "{:?}",
        f.out.requests
    );
    // A lease lost during an outage: the local holder becomes a guest.
    let mut out = std::mem::take(&mut f.out);
    f.hub.cluster_event(
        &mut out,
        ClusterEvent::NickLost { nick: "bob".into() },
        now(),
    );
    f.out = out;
    assert!(!f.hub.has_nick("bob"));
}

#[test]
fn cluster_private_messages_and_who() {
    let mut f = cluster_fixture();
    f.connect_node(1);
    f.say(1, "/nick alice\n");
    let mut out = std::mem::take(&mut f.out);
    f.hub.cluster_event(
        &mut out,
        ClusterEvent::Claimed {
            client: ClientId(1),
            nick: "alice".into(),
            result: ClaimResult::Claimed,
        },
        now(),
    );
    f.out = out;
    f.out.take(1);
    f.out.requests.clear();
    f.say(1, "/msg carol psst\n");
    assert!(matches!(&f.out.requests[..], [ClusterRequest::Private { to, .. }] if to == "carol"));
    let events = [
        ClusterEvent::PrivateSent {
            client: ClientId(1),
            from: "alice".into(),
            to: "carol".into(),
            text: "psst".into(),
            error: None,
        },
        ClusterEvent::Private {
            from: "carol".into(),
            to: "ALICE".into(),
            text: "hi back".into(),
            time: now(),
        },
        ClusterEvent::Members {
            client: ClientId(1),
            room: "lobby".into(),
            nicks: Some(vec!["carol".into(), "dave".into()]),
        },
        ClusterEvent::Rooms {
            client: ClientId(1),
            rooms: Some(vec![("dev".into(), 3), ("LOBBY".into(), 2)]),
        },
        ClusterEvent::Status {
            connected: false,
            text: "cluster: redis://x unreachable, retrying".into(),
        },
    ];
    let mut out = std::mem::take(&mut f.out);
    for event in events {
        f.hub.cluster_event(&mut out, event, now());
    }
    f.out = out;
    assert_eq!(
        f.lines_for(1),
        [
            "-> *carol* psst",
            "*carol* hi back",
            "-!- members of lobby (3): alice carol dave",
            "-!- rooms (2): dev(3) lobby(3)",
        ]
    );
    f.console("/stats");
    assert!(
        f.out
            .console
            .iter()
            .any(|l| l.contains("unreachable, retrying"))
    );
    // A full channel toward Redis: the line is dropped and counted.
    f.out.cluster_up = false;
    f.say(1, "not published\n");
    assert_eq!(f.hub.stats().cluster_dropped, 1);
}

#[test]
fn cluster_queries_are_paced_per_client_and_a_single_server_is_not() {
    let mut f = cluster_fixture();
    f.connect_node(1);
    f.connect_node(2);
    f.out.take(1);
    f.out.requests.clear();
    f.say(1, "/who\n/rooms\n/who\n/rooms\n");
    f.say(2, "/who\n");
    let asked: Vec<ClientId> = f
        .out
        .requests
        .iter()
        .filter_map(|r| match r {
            ClusterRequest::Who { client, .. } | ClusterRequest::Rooms { client } => Some(*client),
            _ => None,
        })
        .collect();
    assert_eq!(asked, [ClientId(1), ClientId(1), ClientId(2)]);
    let slow_down = "-!- error: slow down: /who and /rooms ask every server, at most once a second";
    assert_eq!(f.lines_for(1), [slow_down, slow_down]);
    f.time += chrono::Duration::seconds(1);
    f.out.requests.clear();
    f.say(1, "/who\n");
    assert!(
        matches!(&f.out.requests[..], [ClusterRequest::Who { .. }]),
        "{:?}",
        f.out.requests
    );

    let mut single = Fixture::with_clients(&[1]);
    single.say(1, "/who\n/rooms\n/who\n/rooms\n/who\n");
    let lines = single.lines_for(1);
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains("slow down")), "{lines:?}");
}
