//! What every kind of line the chat says reads like in IRC: one snapshot
//! of each `Body`, `Notice` and `Refusal` rendered for a recipient, with
//! and without the tags it may negotiate.

use bytes::BytesMut;
use chat_irc::render::{Facts, needs_recipient, render};
use chat_proto::{Body, NameError, Notice, Refusal};

fn facts<'a>() -> Facts<'a> {
    Facts {
        server: "chat.local",
        to: Some("me"),
        room: Some("lobby"),
        time: None,
        msgid: None,
        echo: false,
        extended_join: false,
        realname: None,
        account: None,
        account_tag: false,
    }
}

fn rendered(facts: &Facts<'_>, bodies: &[Body<'_>]) -> String {
    let mut out = BytesMut::new();
    for body in bodies {
        render(&mut out, facts, body);
    }
    String::from_utf8_lossy(&out).replace('\u{1}', "^A")
}

#[test]
fn every_body_and_notice() {
    let bodies = [
        Body::Message {
            nick: "alice",
            text: "hello",
        },
        Body::Action {
            nick: "alice",
            text: "waves",
        },
        Body::Private {
            from: "alice",
            text: "psst",
        },
        Body::PrivateSent {
            to: "bob",
            text: "not echoed",
        },
        Body::Operator {
            name: "operator",
            text: "back soon",
        },
        Body::History {
            nick: "alice",
            text: "earlier",
            action: false,
        },
        Body::Notice(Notice::Welcome {
            nick: "me",
            motd: "hi",
        }),
        Body::Notice(Notice::Joined {
            nick: "alice",
            room: "dev",
        }),
        Body::Notice(Notice::Left {
            nick: "alice",
            room: "dev",
            reason: None,
        }),
        Body::Notice(Notice::Left {
            nick: "alice",
            room: "dev",
            reason: Some("quit: bye"),
        }),
        Body::Notice(Notice::NickChanged {
            old: "alice",
            new: "alicia",
        }),
        Body::Notice(Notice::Members {
            room: "lobby",
            count: 2,
            nicks: "alice me",
        }),
        Body::Notice(Notice::Rooms {
            count: 2,
            list: "*lobby(3) dev(1)",
        }),
        Body::Notice(Notice::Topic {
            room: "lobby",
            text: "Rust only",
        }),
        Body::Notice(Notice::Topic {
            room: "lobby",
            text: "",
        }),
        Body::Notice(Notice::Talking { room: "dev" }),
        Body::Notice(Notice::TopicSet {
            nick: "alice",
            room: "lobby",
            text: "new",
        }),
        Body::Notice(Notice::NowOperator),
        Body::Notice(Notice::LoggedIn {
            nick: "alice",
            account: "alice",
        }),
        Body::Notice(Notice::LoggedOut { nick: "alice" }),
        Body::Notice(Notice::Closing { text: "Goodbye!" }),
        Body::Notice(Notice::Error { text: "something" }),
        Body::Notice(Notice::Info {
            text: "server shutting down",
        }),
    ];
    insta::assert_snapshot!(rendered(&facts(), &bodies));
}

#[test]
fn tags_and_echo_where_negotiated() {
    let tagged = Facts {
        time: Some("2026-11-03T08:05:09.000Z"),
        msgid: Some("42"),
        echo: true,
        ..facts()
    };
    let bodies = [
        Body::Message {
            nick: "alice",
            text: "tagged",
        },
        Body::PrivateSent {
            to: "bob",
            text: "echoed",
        },
    ];
    insta::assert_snapshot!(rendered(&tagged, &bodies));
}

#[test]
fn every_refusal_as_its_numeric() {
    let usage = chat_proto::parse_command("/nick").err();
    let usage = usage.unwrap_or(chat_proto::CommandError::Usage("/nick NAME"));
    let refusals = [
        Refusal::Command(usage),
        Refusal::LineTooLong { max: 512 },
        Refusal::SendingTooFast,
        Refusal::Flooding,
        Refusal::NickInvalid {
            nick: "9lives",
            why: NameError::BadStart,
        },
        Refusal::NickReserved {
            nick: "guest7",
            whose: "",
        },
        Refusal::NickTaken { nick: "alice" },
        Refusal::NoSuchNick { nick: "bob" },
        Refusal::RoomNameInvalid {
            room: "",
            why: NameError::Empty,
        },
        Refusal::AlreadyInRoom { room: "lobby" },
        Refusal::TooManyRooms { max: 20 },
        Refusal::NotInRoom { room: "dev" },
        Refusal::InNoRoom,
        Refusal::OperatorsOnly,
        Refusal::WrongOperator,
        Refusal::Banned,
        Refusal::WrongPassword,
        Refusal::ServerFull,
        Refusal::SlowDown,
        Refusal::NickRegistered { nick: "alice" },
        Refusal::WrongLogin,
    ];
    let bodies: Vec<Body<'_>> = refusals.iter().map(Body::Refusal).collect();
    insta::assert_snapshot!(rendered(&facts(), &bodies));
}

#[test]
fn a_join_is_extended_for_those_who_asked() {
    let extended = Facts {
        extended_join: true,
        realname: Some("Alice Liddell"),
        ..facts()
    };
    let joined = [Body::Notice(Notice::Joined {
        nick: "alice",
        room: "dev",
    })];
    assert_eq!(
        rendered(&extended, &joined),
        ":alice!alice@chat.local JOIN #dev * :Alice Liddell\r\n"
    );
    assert_eq!(
        rendered(&facts(), &joined),
        ":alice!alice@chat.local JOIN #dev\r\n"
    );
}

#[test]
fn a_logged_in_user_is_known_by_its_account_where_asked() {
    let logged_in = Facts {
        extended_join: true,
        account: Some("Alice"),
        account_tag: true,
        msgid: Some("7"),
        ..facts()
    };
    let bodies = [
        Body::Notice(Notice::Joined {
            nick: "alice",
            room: "dev",
        }),
        Body::Message {
            nick: "alice",
            text: "hi",
        },
    ];
    assert_eq!(
        rendered(&logged_in, &bodies),
        "@msgid=7;account=Alice :alice!alice@chat.local JOIN #dev Alice :alice\r\n\
         @msgid=7;account=Alice :alice!alice@chat.local PRIVMSG #lobby :hi\r\n"
    );
    let untagged = Facts {
        account_tag: false,
        ..logged_in
    };
    assert!(!rendered(&untagged, &bodies).contains("account="));
}

#[test]
fn only_room_broadcasts_are_shared_between_recipients() {
    let shared = [
        Body::Message {
            nick: "a",
            text: "t",
        },
        Body::Notice(Notice::Joined {
            nick: "a",
            room: "r",
        }),
        Body::Notice(Notice::NickChanged { old: "a", new: "b" }),
    ];
    assert!(shared.iter().all(|body| !needs_recipient(body)));
    let addressed = [
        Body::Private {
            from: "a",
            text: "t",
        },
        Body::Notice(Notice::Members {
            room: "r",
            count: 1,
            nicks: "a",
        }),
        Body::Notice(Notice::Info { text: "t" }),
    ];
    assert!(addressed.iter().all(needs_recipient));
}
