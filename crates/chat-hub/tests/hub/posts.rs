//! Lines posted from outside the chat (`Hub::post`: webhooks, the HTTP
//! API): heard by the room like any line, kept in its history, sanitized,
//! and never from a name a client could hold.

use chat_hub::*;

use crate::support::Fixture;

fn post(f: &mut Fixture, room: &str, sender: &str, text: &str) -> Posted {
    let line = Post { room, sender, text };
    f.hub.post(&mut f.out, line, f.time)
}

#[test]
fn a_post_is_heard_by_the_room_and_kept_in_its_history() {
    let mut f = Fixture::with_clients(&[1, 2]);
    f.say(2, "/join dev\n");
    f.lines_for(2);
    assert_eq!(
        post(&mut f, "lobby", "alerts[hook]", "disk\u{7} full"),
        Posted::Said { id: None }
    );
    assert_eq!(f.lines_for(1), ["<alerts[hook]> disk full"]);
    f.lines_for(2);
    post(&mut f, "dev", "ci[hook]", "built");
    assert!(f.lines_for(1).is_empty(), "not in another room");
    let dev = f.lines_for(2);
    assert!(
        dev.iter().any(|l| l.ends_with("<ci[hook]> built")),
        "{dev:?}"
    );
    f.connect(3);
    let joined = f.lines_for(3);
    assert!(
        joined.contains(&"(history) <alerts[hook]> disk full".to_owned()),
        "{joined:?}"
    );
    // A room nobody is in takes it too (there is nobody here to hear it).
    assert_eq!(
        post(&mut f, "empty", "alerts[hook]", "x"),
        Posted::Said { id: None }
    );
}

#[test]
fn a_post_never_comes_from_a_nick_and_says_nothing_empty() {
    let mut f = Fixture::with_clients(&[1]);
    assert_eq!(
        post(&mut f, "lobby", "guest1", "i am guest1"),
        Posted::Refused
    );
    assert_eq!(post(&mut f, "lobby", "alerts", "a nick"), Posted::Refused);
    assert_eq!(post(&mut f, "two words", "a[hook]", "x"), Posted::Refused);
    assert_eq!(
        post(&mut f, "lobby", "a[hook]", "\u{7}\u{1b}"),
        Posted::Empty
    );
    assert!(f.lines_for(1).is_empty());
}

#[test]
fn a_post_goes_to_the_other_nodes_like_a_room_line() {
    let mut f = crate::support::cluster_fixture();
    f.out.requests.clear();
    post(&mut f, "#ops", "alerts[hook]", "db1 down");
    let published = f.out.requests.iter().any(|request| {
        matches!(request, ClusterRequest::Publish(RoomLine { room, nick, text, kind: RoomEvent::Message, .. })
            if room == "ops" && nick == "alerts[hook]" && text == "db1 down")
    });
    assert!(published, "{:?}", f.out.requests);
}
