//! A node of a cluster told by the others: bans and kicks made anywhere,
//! notices that read as local ones, lines missed while unsubscribed read
//! back once and in order, and renames heard once.

use chat_hub::*;

use crate::support::{Fixture, bob_in, cluster_fixture, echoing_cluster_fixture, now, remote_line};

#[test]
fn cluster_bans_and_kicks_go_to_every_node_and_come_from_any() {
    let mut f = cluster_fixture();
    f.connect_from(1, "10.0.0.7:5000");
    f.connect_from(2, "10.0.0.8:5000");
    f.out.requests.clear();
    // Made here: told to the cluster.
    f.console("/ban 10.0.0.9 2h");
    f.console("/unban 10.0.0.9");
    f.console("/kick carol spam");
    let net: IpNet = "10.0.0.9/32".parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        f.out.requests,
        [
            ClusterRequest::Ban {
                net,
                until: now().timestamp() + 7200,
                by: "operator".into()
            },
            ClusterRequest::Unban { net },
            ClusterRequest::Kick {
                asker: None,
                nick: "carol".into(),
                by: "operator".into(),
                reason: Some("spam".into())
            },
        ]
    );
    f.event(ClusterEvent::KickSent {
        asker: None,
        nick: "carol".into(),
        error: None,
    });
    assert_eq!(
        f.out.console.last().map(String::as_str),
        Some("kicked carol (on another node)")
    );

    // Made elsewhere: applied here, once.
    let net: IpNet = "10.0.0.7/32".parse().unwrap_or_else(|e| panic!("{e}"));
    let banned = ClusterEvent::Banned {
        net,
        until: now().timestamp() + 600,
        by: "bob".into(),
    };
    f.event(banned.clone());
    assert!(f.out.closed.contains(&ClientId(1)));
    assert!(!f.out.closed.contains(&ClientId(2)));
    assert!(
        f.out
            .console
            .iter()
            .any(|l| l == "cluster: bob banned 10.0.0.7/32 (1 disconnected here)"),
        "{:?}",
        f.out.console
    );
    let console = f.out.console.len();
    f.event(banned);
    assert_eq!(f.out.console.len(), console, "known already: no news");
    f.connect_from(3, "10.0.0.7:5001");
    assert!(f.lines_for(3)[0].ends_with("error: you are banned from this server"));
    f.console("/bans");
    assert!(
        f.out
            .console
            .last()
            .is_some_and(|l| l.starts_with("ban 10.0.0.7/32 for 600s more, by bob")),
        "{:?}",
        f.out.console
    );
    f.event(ClusterEvent::Unbanned { net });
    f.connect_from(4, "10.0.0.7:5002");
    assert!(f.hub.nick(ClientId(4)).is_some(), "welcome back");

    let guest2 = f.hub.nick(ClientId(2)).unwrap_or_default().to_owned();
    f.event(ClusterEvent::Kick {
        nick: guest2.to_uppercase(),
        by: "bob".into(),
        reason: None,
    });
    assert!(f.out.closed.contains(&ClientId(2)));
    assert!(
        f.lines_for(2)
            .iter()
            .any(|l| l.ends_with("you were kicked by bob"))
    );
}

#[test]
fn a_ban_from_another_node_closes_the_logins_it_covers() {
    let mut f = Fixture::new(HubConfig {
        password: Some("s3cret".into()),
        cluster: cluster_fixture().hub.config().cluster.clone(),
        ..HubConfig::default()
    });
    f.out.cluster_up = true;
    f.connect_from(1, "10.0.0.5:4000");
    f.connect_from(2, "10.0.0.6:4000");
    f.out.take(1);
    f.event(ClusterEvent::Banned {
        net: "10.0.0.5/32".parse().unwrap_or_else(|e| panic!("{e}")),
        until: now().timestamp() + 60,
        by: "bob".into(),
    });
    assert_eq!(f.out.closed, [ClientId(1)]);
    assert_eq!(
        f.lines_for(1),
        ["-!- error: you are banned from this server"]
    );
    assert!(
        f.out
            .console
            .iter()
            .any(|l| l == "cluster: bob banned 10.0.0.5/32 (1 disconnected here)")
    );
}

#[test]
fn cluster_notices_cross_nodes_and_read_as_local_ones() {
    let mut f = echoing_cluster_fixture();
    f.connect_node(1);
    let guest = f.hub.nick(ClientId(1)).unwrap_or_default().to_owned();
    f.out.take(1);
    f.out.requests.clear();
    f.say(1, "/join dev\n");
    let requests = f.out.requests.clone();
    assert_eq!(
        f.published(),
        [format!("Joined dev {guest} ")],
        "a join leaves no room"
    );
    f.out.requests = requests;
    f.answer_history(1);
    f.out.requests.clear();
    f.out.take(1);

    // What another node says happens in dev reads here as it would if it
    // happened here.
    f.heard(1, bob_in("dev", RoomEvent::Joined, ""));
    f.heard(2, bob_in("dev", RoomEvent::Nick, "robert"));
    let mut topic = bob_in("dev", RoomEvent::Topic, "release friday");
    topic.nick = "robert".into();
    f.heard(3, topic);
    let mut said = bob_in("dev", RoomEvent::Message, "hi all");
    said.nick = "robert".into();
    f.heard(4, said);
    let mut left = bob_in("dev", RoomEvent::Left, "quit");
    left.nick = "robert".into();
    f.heard(5, left);
    f.heard(6, bob_in("ops", RoomEvent::Joined, "")); // nobody here
    assert_eq!(
        f.lines_for(1),
        [
            "-!- bob joined dev",
            "-!- bob is now known as robert",
            "-!- topic of dev: release friday",
            "<robert> hi all",
            "-!- robert left dev (quit)",
        ]
    );
    f.say(1, "/topic\n");
    assert_eq!(f.lines_for(1), ["-!- topic of dev: release friday"]);
    // The console shows a line said on another node as it shows a local one.
    assert!(
        f.out
            .console
            .iter()
            .any(|line| line == "[dev] <robert> hi all (node b:2)"),
        "{:?}",
        f.out.console
    );

    f.say(1, "/nick carol\n");
    f.cluster(ClusterEvent::Claimed {
        client: ClientId(1),
        nick: "carol".into(),
        result: ClaimResult::Claimed,
    });
    // Every room it is in hears of it, and of its leaving.
    assert_eq!(
        f.published(),
        [
            format!("Nick lobby {guest} carol"),
            format!("Nick dev {guest} carol")
        ]
    );
    f.hub
        .disconnected(&mut f.out, ClientId(1), Gone::Closed, f.time);
    assert_eq!(
        f.published(),
        [
            "Left lobby carol connection closed",
            "Left dev carol connection closed"
        ]
    );
}

#[test]
fn cluster_lines_missed_while_unsubscribed_are_read_back_once_and_in_order() {
    let mut f = cluster_fixture();
    f.connect_node(1);
    f.out.take(1);
    f.out.requests.clear();
    // The first subscription: nothing was missed before it.
    f.cluster(ClusterEvent::Subscribed {
        at: StreamId { ms: 100, seq: 0 },
    });
    assert_eq!(f.out.requests, []);
    f.heard(110, remote_line("one", now()));
    f.heard(110, remote_line("one again", now()));
    assert_eq!(f.lines_for(1), ["<bob> one"]);

    // The subscription broke; subscribed again, the room is read back from
    // the last line delivered, and lines heard meanwhile wait for it.
    f.cluster(ClusterEvent::Subscribed {
        at: StreamId { ms: 200, seq: 0 },
    });
    let token = match &f.out.requests[..] {
        [ClusterRequest::CatchUp { room, after, token }] => {
            assert_eq!(
                (room.as_str(), *after),
                ("lobby", StreamId { ms: 110, seq: 0 }.into())
            );
            *token
        }
        other => panic!("expected one catch-up read: {other:?}"),
    };
    f.heard(205, remote_line("live 1", now()));
    f.heard(210, remote_line("live 2", now()));
    assert_eq!(f.lines_for(1), Vec::<String>::new());
    let entry = |ms, line| (StreamId { ms, seq: 0 }.into(), line);
    let mut ours = remote_line("said here, sent late", now());
    ours.origin = "a:1".into();
    f.cluster(ClusterEvent::CaughtUp {
        room: "lobby".into(),
        token,
        entries: Some(vec![
            entry(150, remote_line("missed 1", now())),
            entry(160, ours),
            entry(170, remote_line("missed 2", now())),
            entry(205, remote_line("live 1", now())),
        ]),
        more: false,
    });
    assert_eq!(
        f.lines_for(1),
        [
            "<bob> missed 1",
            "<bob> missed 2",
            "<bob> live 1",
            "<bob> live 2"
        ]
    );
    f.heard(210, remote_line("live 2", now()));
    f.heard(220, remote_line("live 3", now()));
    assert_eq!(f.lines_for(1), ["<bob> live 3"]);

    // A read Redis could not answer is asked again on a tick.
    f.cluster(ClusterEvent::Subscribed {
        at: StreamId { ms: 300, seq: 0 },
    });
    let token = match &f.out.requests[..] {
        [.., ClusterRequest::CatchUp { token, .. }] => *token,
        other => panic!("expected a catch-up read: {other:?}"),
    };
    f.out.requests.clear();
    f.cluster(ClusterEvent::CaughtUp {
        room: "lobby".into(),
        token,
        entries: None,
        more: false,
    });
    f.advance(1000);
    assert!(
        f.out.requests.iter().any(|request| matches!(
            request,
            ClusterRequest::CatchUp { after, .. } if *after == StreamId { ms: 220, seq: 0 }.into()
        )),
        "{:?}",
        f.out.requests
    );
}

#[test]
fn a_rename_on_another_node_reaches_a_member_of_several_of_its_rooms_once() {
    let mut f = echoing_cluster_fixture();
    f.connect_node(1);
    f.say(1, "/join dev\n");
    f.answer_history(1);
    f.out.take(1);
    // Bob, on another node, is in lobby and dev: his node says so in each.
    f.heard(1, bob_in("lobby", RoomEvent::Nick, "robert"));
    f.heard(2, bob_in("dev", RoomEvent::Nick, "robert"));
    assert_eq!(f.lines_for(1), ["-!- bob is now known as robert"]);
    // A later rename is news again.
    let mut again = bob_in("lobby", RoomEvent::Nick, "bob");
    again.nick = "robert".into();
    f.heard(3, again);
    assert_eq!(f.lines_for(1), ["-!- robert is now known as bob"]);
}
