//! What a server protects itself with: the client limits (in all and per
//! address), flood control, and the idle and handshake timeouts.

use chat_hub::*;

use crate::support::Fixture;

fn limited(config: HubConfig) -> Fixture {
    Fixture::new(config)
}

#[test]
fn too_many_clients_or_from_one_address_are_refused_politely() {
    let limits = HubConfig {
        exempt: vec![],
        max_clients: 5,
        max_clients_per_ip: 2,
        ..HubConfig::default()
    };
    let mut f = limited(limits);
    f.connect_from(1, "10.0.0.1:1");
    f.connect_from(2, "10.0.0.1:2");
    f.connect_from(3, "10.0.0.1:3");
    f.connect_from(4, "[2001:db8::1]:1");
    f.connect_from(5, "[2001:db8::2]:1");
    f.connect_from(6, "[2001:db8::3]:1");
    f.connect_from(7, "[2001:db8:0:1::1]:1");
    f.connect_from(8, "10.0.0.9:1");
    assert_eq!(
        f.lines_for(3),
        ["-!- error: too many connections from your address"]
    );
    assert_eq!(
        f.lines_for(6),
        ["-!- error: too many connections from your address"],
        "same /64"
    );
    assert_eq!(f.lines_for(8), ["-!- error: server full"]);
    assert_eq!(f.out.closed, [ClientId(3), ClientId(6), ClientId(8)]);
    assert_eq!(f.hub.client_count(), 5);
    assert_eq!(f.hub.stats().refused, 3);
    // A place frees up: the address may connect again.
    f.hub
        .disconnected(&mut f.out, ClientId(1), Gone::Closed, f.time);
    f.connect_from(9, "10.0.0.1:9");
    assert!(f.hub.nick(ClientId(9)).is_some());
}

#[test]
fn exempt_addresses_skip_the_per_address_limit() {
    let limits = HubConfig {
        max_clients_per_ip: 1,
        ..HubConfig::default()
    };
    let mut f = limited(limits);
    for id in 1..=3 {
        f.connect_from(id, "127.0.0.1:1");
    }
    assert_eq!(f.hub.client_count(), 3);
}

#[test]
fn a_flood_is_delayed_not_dropped_then_warned_then_cut() {
    let limits = HubConfig {
        exempt: vec![],
        flood_rate: 10.0,
        flood_burst: 2,
        ..HubConfig::default()
    };
    let mut f = limited(limits);
    f.connect_from(1, "10.0.0.1:1");
    f.connect_from(2, "10.0.0.2:1");
    f.lines_for(1);
    f.lines_for(2);
    f.say(1, "a\nb\nc\nd\n");
    assert_eq!(
        f.lines_for(2),
        ["<guest1> a", "<guest1> b"],
        "the burst passes at once"
    );
    f.advance(100);
    assert_eq!(f.lines_for(2), ["<guest1> c"]);
    f.advance(100);
    assert_eq!(f.lines_for(2), ["<guest1> d"]);
    assert!(f.lines_for(1).is_empty(), "no warning for a short burst");

    // 9 delayed lines pass the queue of 8: one warning.
    let flood: String = (0..12).map(|i| format!("x{i}\n")).collect();
    f.advance(1000);
    f.say(1, &flood);
    let warning = f.lines_for(1);
    assert_eq!(warning.len(), 1, "{warning:?}");
    assert!(
        warning[0].starts_with("-!- error: you are sending too fast"),
        "{warning:?}"
    );
    // Everything is still delivered, in order, as time passes.
    f.advance(2000);
    let expected: Vec<String> = (0..12).map(|i| format!("<guest1> x{i}")).collect();
    assert_eq!(f.lines_for(2), expected);

    // Past four times the queue: disconnected, and the others are told.
    let flood: String = (0..40).map(|i| format!("y{i}\n")).collect();
    f.say(1, &flood);
    assert_eq!(
        f.lines_for(1).last().map(String::as_str),
        Some("-!- error: disconnected for flooding")
    );
    assert!(f.out.closed.contains(&ClientId(1)));
    assert_eq!(
        f.lines_for(2).last().map(String::as_str),
        Some("-!- guest1 left lobby (flooding)")
    );
    assert_eq!(f.hub.stats().flooders, 1);
}

#[test]
fn delayed_lines_are_said_when_the_client_leaves() {
    let limits = HubConfig {
        exempt: vec![],
        flood_rate: 1.0,
        flood_burst: 1,
        ..HubConfig::default()
    };
    let mut f = limited(limits);
    f.connect_from(1, "10.0.0.1:1");
    f.connect_from(2, "10.0.0.2:1");
    f.lines_for(2);
    f.say(1, "one\ntwo\nthree\n");
    f.hub.read_closed(&mut f.out, ClientId(1), f.time);
    assert_eq!(
        f.lines_for(2),
        [
            "<guest1> one",
            "<guest1> two",
            "<guest1> three",
            "-!- guest1 left lobby (quit)"
        ]
    );
}

#[test]
fn idle_and_handshake_timeouts() {
    let limits = HubConfig {
        idle_timeout: 5,
        ..HubConfig::default()
    };
    let mut f = limited(limits);
    f.connect(1);
    f.connect(2);
    f.advance(3000);
    f.say(2, "still here\n");
    f.advance(3000);
    assert_eq!(
        f.out.closed,
        [ClientId(1)],
        "only the idle client is closed: {:?}",
        f.out.console
    );
    assert!(
        f.lines_for(1)
            .contains(&"-!- closing: idle timeout".to_owned())
    );

    let limits = HubConfig {
        max_clients: 2,
        handshake_timeout: 2,
        ..HubConfig::default()
    };
    let mut f = limited(limits);
    f.connect(1);
    f.say(1, "hi\n");
    f.connect(2);
    f.advance(3000);
    assert_eq!(
        f.out.closed,
        [ClientId(2)],
        "a silent client is closed while the server is full"
    );
    f.connect(3);
    f.say(3, "hello\n");
    f.advance(3000);
    assert_eq!(f.out.closed, [ClientId(2)], "a client that spoke stays");
}
