//! Snapshots of every kind of server line and every command error: the wire
//! format is an interface, so any change to it shows up here for review.

use bytes::BytesMut;
use chat_proto::{Body, Command, Notice, encode_line, encode_raw, parse_command};

const STAMP: &str = "Mon Nov  3 08:05:09 2026";

fn every_kind() -> Vec<Body<'static>> {
    vec![
        Body::Message {
            nick: "alice",
            text: "hello everyone",
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
            text: "psst",
        },
        Body::Operator {
            name: "operator",
            text: "hello",
        },
        Body::History {
            nick: "alice",
            text: "hello from before",
            action: false,
        },
        Body::History {
            nick: "alice",
            text: "waved before",
            action: true,
        },
        Body::Notice(Notice::Welcome {
            nick: "guest1",
            motd: "Be kind.",
        }),
        Body::Notice(Notice::Welcome {
            nick: "guest1",
            motd: "",
        }),
        Body::Notice(Notice::Joined {
            nick: "alice",
            room: "lobby",
        }),
        Body::Notice(Notice::Left {
            nick: "alice",
            room: "lobby",
            reason: None,
        }),
        Body::Notice(Notice::Left {
            nick: "alice",
            room: "lobby",
            reason: Some("quit: bye"),
        }),
        Body::Notice(Notice::NickChanged {
            old: "guest1",
            new: "alice",
        }),
        Body::Notice(Notice::Members {
            room: "lobby",
            count: 2,
            nicks: "alice bob",
        }),
        Body::Notice(Notice::Rooms {
            count: 2,
            list: "lobby(3) dev(1)",
        }),
        Body::Notice(Notice::Topic {
            room: "lobby",
            text: "Rust only, please",
        }),
        Body::Notice(Notice::Talking { room: "dev" }),
        Body::Notice(Notice::LoggedIn {
            nick: "alice",
            account: "alice",
        }),
        Body::Notice(Notice::LoggedOut { nick: "guest3" }),
        Body::Notice(Notice::WhileAway { count: 3 }),
        Body::Notice(Notice::Unread {
            target: "dev",
            count: 3,
            since: 1041,
        }),
        Body::Notice(Notice::MarkedRead {
            target: "@bob",
            through: 1044,
        }),
        Body::Notice(Notice::LoginToken {
            token: "3q2-7wAB",
            valid_hours: 12,
        }),
        Body::Notice(Notice::Error {
            text: "nick bob is taken",
        }),
        Body::Notice(Notice::Info {
            text: "server shutting down",
        }),
    ]
}

#[test]
fn line_framing() {
    let mut out = BytesMut::new();
    for body in every_kind() {
        encode_line(&mut out, STAMP, &body);
    }
    insta::assert_snapshot!(String::from_utf8_lossy(&out));
}

#[test]
fn line_framing_with_ids() {
    // Only room lines and history lines carry ids; everything else a
    // `/cap ids` client gets is shaped as for every other client.
    let mut out = BytesMut::new();
    for (id, body) in [
        (
            1,
            Body::Message {
                nick: "alice",
                text: "hello",
            },
        ),
        (
            42,
            Body::Action {
                nick: "alice",
                text: "waves",
            },
        ),
        (
            18_446_744_073_709_551_615,
            Body::History {
                nick: "bob",
                text: "earlier",
                action: false,
            },
        ),
    ] {
        chat_proto::encode_line_with_id(&mut out, STAMP, id, &body);
    }
    insta::assert_snapshot!(String::from_utf8_lossy(&out));
}

#[test]
fn room_lines_from_a_room_that_is_not_the_current_one() {
    let message = Body::Message {
        nick: "alice",
        text: "hello",
    };
    let action = Body::Action {
        nick: "alice",
        text: "waves",
    };
    let mut out = BytesMut::new();
    chat_proto::encode_room_line(&mut out, STAMP, None, Some("dev"), &message);
    chat_proto::encode_room_line(&mut out, STAMP, None, Some("dev"), &action);
    chat_proto::encode_room_line(&mut out, STAMP, Some(42), Some("dev"), &message);
    chat_proto::encode_raw_room_line(&mut out, STAMP, Some("dev"), &message);
    out.extend_from_slice(b"\n");
    let text = String::from_utf8_lossy(&out).into_owned();
    for line in text.lines().take(2) {
        let parsed = chat_proto::parse_line(line).map(|line| line.room);
        assert_eq!(parsed, Ok(Some("dev")), "{line}");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn raw_framing() {
    let mut text = String::new();
    for body in every_kind() {
        let mut out = BytesMut::new();
        encode_raw(&mut out, STAMP, &body);
        // Raw writes carry no newline; one per row here only to read them.
        text.push_str(&String::from_utf8_lossy(&out));
        text.push('\n');
    }
    insta::assert_snapshot!(text);
}

#[test]
fn command_errors() {
    let inputs = [
        "/frob",
        "/",
        "/nick",
        "/nick a b",
        "/join",
        "/join a b",
        "/msg",
        "/msg bob",
        "/me",
        "/who x",
        "/rooms x",
        "/history x",
        "/history 0",
        "/history since",
        "/history since x",
        "/history sincere",
        "/search",
        "/cap",
        "/cap a b",
        "/pass",
        "/oper root",
        "/kick",
        "/ban",
        "/ban a 2h x",
        "/unban",
        "/bans x",
        "/motd",
    ];
    let text: String = inputs
        .iter()
        .map(|input| match parse_command(input) {
            Ok(command) => format!("{input:12} => unexpectedly ok: {command:?}\n"),
            Err(error) => format!("{input:12} => error: {error}\n"),
        })
        .collect();
    insta::assert_snapshot!(text);
}

#[test]
fn help_lists_every_command() {
    let text: String = Command::HELP
        .iter()
        .map(|(usage, what)| format!("{usage:16} {what}\n"))
        .collect();
    insta::assert_snapshot!(text);
}

/// Every refusal as the line protocol writes it.
#[test]
fn every_refusal() {
    use chat_proto::{NameError, Refusal};
    let usage = parse_command("/nick").err();
    let refusals = [
        Refusal::Command(usage.unwrap_or(chat_proto::CommandError::Usage("/nick NAME"))),
        Refusal::LineTooLong { max: 4096 },
        Refusal::SendingTooFast,
        Refusal::Flooding,
        Refusal::NickInvalid {
            nick: "9lives",
            why: NameError::BadStart,
        },
        Refusal::NickReserved {
            nick: "guest7",
            whose: " (guest nicks are the server's)",
        },
        Refusal::NickTaken { nick: "alice" },
        Refusal::NickChangesUnavailable,
        Refusal::NoSuchNick { nick: "bob" },
        Refusal::RoomNameInvalid {
            room: "",
            why: NameError::Empty,
        },
        Refusal::AlreadyInRoom { room: "lobby" },
        Refusal::TooManyRooms { max: 20 },
        Refusal::NotInRoom { room: "dev" },
        Refusal::InNoRoom,
        Refusal::NoHistoryKept,
        Refusal::HistoryNeedsLines,
        Refusal::SearchNeedsLines,
        Refusal::CapabilitiesNeedLines,
        Refusal::NeedsHistoryFile,
        Refusal::UnknownCapability { name: "tags" },
        Refusal::StoreBusy,
        Refusal::SearchBusy,
        Refusal::ClusterBusy,
        Refusal::SlowDown,
        Refusal::AlreadyLoggedIn,
        Refusal::OperatorsOnly,
        Refusal::WrongOperator,
        Refusal::OperatorCheckPending,
        Refusal::VerifierBusy,
        Refusal::TooManyFailures,
        Refusal::Banned,
        Refusal::WrongPassword,
        Refusal::LoginTimedOut,
        Refusal::ServerFull,
        Refusal::TooManyConnections,
        Refusal::TooManyLogins,
        Refusal::NickRegistered { nick: "alice" },
        Refusal::RegistrationClosed,
        Refusal::RegistrationByOperators,
        Refusal::TooManyRegistrations,
        Refusal::RegisterNeedsNick,
        Refusal::AccountExists { name: "alice" },
        Refusal::WrongLogin,
        Refusal::AccountLocked { name: "alice" },
        Refusal::NotLoggedIn,
        Refusal::LoggedInAs { account: "alice" },
        Refusal::AccountCheckPending,
        Refusal::AccountCoolingDown,
        Refusal::TooManyDevices { max: 5 },
        Refusal::PasswordLength { min: 8, max: 256 },
        Refusal::AccountsUnavailable,
        Refusal::Other("no ban on 10.0.0.0/8"),
    ];
    let mut out = BytesMut::new();
    for refusal in &refusals {
        let text = refusal.to_string();
        let body = Body::Notice(Notice::Error { text: &text });
        encode_line(&mut out, STAMP, &body);
    }
    insta::assert_snapshot!(String::from_utf8_lossy(&out));
}
