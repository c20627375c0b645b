//! What the server answers: the numerics table, standard replies, the
//! 005 lines, `CAP` negotiation and registration, each shown as the bytes
//! written (snapshots) and the values returned.

use bytes::BytesMut;
use chat_irc::numeric::{self, ALL};
use chat_irc::{
    Cap, CapOutcome, CapState, Caps, Isupport, NickRefusal, Offer, Progress, Registered,
    Registration, Server, StandardReply, StandardReplyKind, handle_cap, parse,
};

const SERVER: &str = "irc.example";

fn text(out: &BytesMut) -> String {
    String::from_utf8(out.to_vec()).expect("UTF-8")
}

#[test]
fn every_numeric_has_three_digits_a_name_and_a_code_of_its_own() {
    let mut codes: Vec<&str> = ALL.iter().map(|n| n.code).collect();
    assert!(
        codes.windows(2).all(|w| w[0] < w[1]),
        "in code order, once each: {codes:?}"
    );
    codes.dedup();
    assert_eq!(codes.len(), ALL.len());
    for n in ALL {
        assert!(
            n.code.len() == 3 && n.code.bytes().all(|b| b.is_ascii_digit()),
            "{n:?}"
        );
        assert!(
            n.name.starts_with("RPL_") || n.name.starts_with("ERR_"),
            "{n:?}"
        );
    }
    let named = |code: &str| ALL.iter().any(|n| n.code == code);
    for code in [
        "001", "005", "221", "251", "255", "265", "266", "301", "302", "303", "305", "306", "311",
        "315", "330", "352", "354", "321", "322", "323", "324", "329", "331", "332", "333", "341",
        "351", "353", "366", "372", "375", "376", "381", "391", "401", "403", "404", "405", "409",
        "411", "412", "417", "421", "422", "431", "432", "433", "436", "441", "442", "443", "451",
        "461", "462", "464", "465", "471", "477", "481", "482", "491", "501", "502", "524", "704",
        "705", "706",
    ] {
        assert!(named(code), "{code} is missing");
    }
}

#[test]
fn numerics_and_standard_replies() {
    let mut out = BytesMut::new();
    numeric::ERR_NOTREGISTERED
        .write_default(&mut out, &[], SERVER, "*", &[])
        .expect("w");
    numeric::ERR_UNKNOWNCOMMAND
        .write_default(&mut out, &[], SERVER, "alice", &["FOO"])
        .expect("w");
    numeric::RPL_WELCOME
        .write(
            &mut out,
            &[],
            SERVER,
            "alice",
            &["Welcome to the chat Network, alice"],
        )
        .expect("w");
    numeric::RPL_TOPIC
        .write(
            &mut out,
            &[("label", "l1")],
            SERVER,
            "alice",
            &["#rust", ""],
        )
        .expect("w");
    numeric::ERR_INPUTTOOLONG
        .write_default(&mut out, &[], SERVER, "alice", &[])
        .expect("w");
    let fail = StandardReply {
        kind: StandardReplyKind::Fail,
        command: "CHATHISTORY",
        code: "INVALID_TARGET",
        context: &["LATEST", "#nowhere"],
        description: "No such channel",
    };
    fail.write(&mut out, &[], SERVER).expect("w");
    let note = StandardReply {
        kind: StandardReplyKind::Note,
        context: &[],
        ..fail
    };
    note.write(&mut out, &[], SERVER).expect("w");
    insta::assert_snapshot!(text(&out));
}

#[test]
fn isupport_lines_hold_at_most_13_tokens() {
    let settings = Isupport {
        network: "Chat Net",
        chathistory: Some(100),
        chan_modes: "b,k,l,imnst",
        ..Isupport::default()
    };
    let mut out = BytesMut::new();
    settings.write(&mut out, SERVER, "alice").expect("writable");
    let written = text(&out);
    for line in written.lines() {
        let message = parse(line).expect("parses");
        assert!(message.params.len() - 2 <= 13, "{line}");
        assert_eq!(
            message.param(message.params.len() - 1),
            Some("are supported by this server")
        );
        assert!(line.len() <= 510);
    }
    insta::assert_snapshot!(written);
}

fn cap(state: &mut CapState, offer: &Offer<'_>, line: &str, out: &mut BytesMut) -> CapOutcome {
    let message = parse(line).expect("parses");
    handle_cap(state, offer, &message, SERVER, "*", out)
}

#[test]
fn caps_sets_are_small_copy_values() {
    let caps: Caps = [Cap::Batch, Cap::ServerTime].into_iter().collect();
    assert!(caps.contains(Cap::Batch) && !caps.contains(Cap::EchoMessage));
    assert_eq!(
        caps.iter().collect::<Vec<_>>(),
        [Cap::ServerTime, Cap::Batch]
    );
    assert_eq!(
        caps.without(Cap::Batch).with(Cap::Setname),
        Caps::EMPTY.with(Cap::ServerTime).with(Cap::Setname)
    );
    assert_eq!(Caps::ALL.iter().count(), Cap::ALL.len());
    for c in Cap::ALL {
        assert_eq!(Cap::from_name(c.name()), Some(c));
    }
    assert_eq!(
        Cap::from_name("msgid"),
        None,
        "msgid is a tag of message-tags"
    );
    assert_eq!(Cap::MessageTags.tags(), ["msgid"]);
    assert_eq!(Cap::ServerTime.tags(), ["time"]);
    assert_eq!(format!("{caps:?}"), r#"{"server-time", "batch"}"#);
}

#[test]
fn cap_negotiation() {
    let values = [(Cap::ChatHistory, "x-test-value")];
    let offer = Offer {
        caps: Caps::ALL,
        values: &values,
    };
    let mut state = CapState::default();
    let mut out = BytesMut::new();
    let mut log = Vec::new();
    for line in [
        "CAP LS",
        "CAP LS 302",
        "CAP REQ :batch server-time batch -echo-message",
        "CAP REQ :batch unknown-cap",
        "CAP REQ :-cap-notify",
        "CAP REQ :",
        "CAP LIST",
        "CAP FROB",
        "CAP",
        "CAP END",
    ] {
        let outcome = cap(&mut state, &offer, line, &mut out);
        log.push(format!("{line:<48} => {outcome:?}"));
    }
    assert_eq!(
        state.enabled,
        Caps::EMPTY
            .with(Cap::CapNotify)
            .with(Cap::Batch)
            .with(Cap::ServerTime)
    );
    assert_eq!((state.version, state.negotiating), (302, false));
    insta::assert_snapshot!(format!("{}\n\n{}", log.join("\n"), text(&out)));
}

#[test]
fn a_long_cap_ls_is_cut_into_lines_marked_with_a_star_for_302_only() {
    let long = "v".repeat(200);
    let values = [
        (Cap::ChatHistory, long.as_str()),
        (Cap::Setname, long.as_str()),
    ];
    let offer = Offer {
        caps: Caps::ALL,
        values: &values,
    };
    let mut out = BytesMut::new();
    cap(&mut CapState::default(), &offer, "CAP LS 302", &mut out);
    let written = text(&out);
    let lines: Vec<&str> = written.lines().collect();
    assert!(lines.len() > 1, "{written}");
    for (i, line) in lines.iter().enumerate() {
        assert!(line.len() <= 510, "{line}");
        let message = parse(line).expect("parses");
        assert_eq!(message.param(2) == Some("*"), i + 1 < lines.len(), "{line}");
    }
    let mut names: Vec<String> = lines
        .iter()
        .flat_map(|l| {
            parse(l)
                .expect("parses")
                .params
                .last()
                .copied()
                .unwrap_or("")
                .split(' ')
        })
        .map(|t| t.split('=').next().unwrap_or("").to_owned())
        .collect();
    names.dedup();
    assert_eq!(names.len(), Cap::ALL.len());
    // An older client gets one line, and no values.
    let mut out = BytesMut::new();
    cap(&mut CapState::default(), &offer, "CAP LS", &mut out);
    assert_eq!(text(&out).lines().count(), 1);
    assert!(!text(&out).contains('='));
}

fn server() -> Server<'static> {
    Server {
        name: SERVER,
        offer: Offer::new(Caps::ALL),
    }
}

/// Feeds lines to a new registration; every nick but `taken` is accepted.
/// Returns the log of outcomes and the bytes written.
fn register(lines: &[&str]) -> (Vec<Progress>, String) {
    let mut registration = Registration::new();
    let mut out = BytesMut::new();
    let mut progress = Vec::new();
    for line in lines {
        let message = parse(line).expect("parses");
        progress.push(
            registration.handle(&server(), &message, &mut out, |nick| match nick {
                "taken" => Err(NickRefusal::InUse),
                n if n.starts_with('#') => Err(NickRefusal::Erroneous),
                _ => Ok(()),
            }),
        );
    }
    (progress, text(&out))
}

fn registered(progress: &[Progress]) -> Option<&Registered> {
    progress.iter().find_map(|p| match p {
        Progress::Registered(r) => Some(r),
        _ => None,
    })
}

#[test]
fn nick_and_user_register_a_client_that_negotiates_nothing() {
    let (progress, out) = register(&["PASS s3cret", "NICK alice", "USER al 0 * :Alice Liddell"]);
    assert_eq!(progress[..2], [Progress::Continue, Progress::Continue]);
    let r = registered(&progress).expect("registered");
    assert_eq!(
        (r.nick.as_str(), r.user.as_str(), r.realname.as_str()),
        ("alice", "al", "Alice Liddell")
    );
    assert_eq!(r.password.as_deref(), Some("s3cret"));
    assert_eq!((r.caps, r.cap_version), (Caps::EMPTY, 0));
    assert_eq!(out, "");
}

#[test]
fn registration_waits_for_cap_end() {
    let (progress, out) = register(&[
        "CAP LS 302",
        "NICK bob",
        "USER bob 0 * :Bob",
        "CAP REQ :message-tags server-time",
        "PING :t1",
        "CAP END",
        "NICK late",
    ]);
    assert!(
        progress[..5].iter().all(|p| *p == Progress::Continue),
        "{progress:?}"
    );
    let r = registered(&progress).expect("registered at CAP END");
    assert_eq!(progress[5], Progress::Registered(r.clone()));
    assert_eq!(
        progress[6],
        Progress::Continue,
        "after registration the machine is done"
    );
    assert_eq!(
        r.caps,
        Caps::EMPTY
            .with(Cap::CapNotify)
            .with(Cap::MessageTags)
            .with(Cap::ServerTime)
    );
    assert_eq!(r.cap_state().version, 302);
    insta::assert_snapshot!(out);
}

#[test]
fn refusals_before_registration() {
    let (progress, out) = register(&[
        "PRIVMSG #a :hi",
        "NICK",
        "NICK taken",
        "NICK #bad",
        "NICK :two words",
        "USER onlyone",
        "USER !@: 0 * :x",
        "PING",
        "NICK carol",
        "PASS late",
        "USER c 0 * :Carol",
    ]);
    assert_eq!(
        registered(&progress).map(|r| r.nick.as_str()),
        Some("carol")
    );
    insta::assert_snapshot!(out);
}

#[test]
fn a_nick_taken_meanwhile_is_refused_and_the_next_one_registers() {
    let mut registration = Registration::new();
    let mut out = BytesMut::new();
    let feed = |registration: &mut Registration, line: &str, out: &mut BytesMut| {
        registration.handle(&server(), &parse(line).expect("parses"), out, |_| Ok(()))
    };
    feed(&mut registration, "NICK dave", &mut out);
    assert!(matches!(
        feed(&mut registration, "USER d 0 * :D", &mut out),
        Progress::Registered(_)
    ));
    registration.refuse_nick(&server(), &mut out, NickRefusal::InUse);
    assert!(!registration.is_registered());
    assert_eq!(registration.nick(), None);
    let again = feed(&mut registration, "NICK dave2", &mut out);
    assert!(matches!(again, Progress::Registered(Registered { ref nick, .. }) if nick == "dave2"));
    assert_eq!(
        text(&out),
        ":irc.example 433 * dave :Nickname is already in use\r\n"
    );
}

#[test]
fn quit_ends_registration_and_fields_stay_bounded() {
    let (progress, _) = register(&["QUIT :bye now"]);
    assert_eq!(
        progress[0],
        Progress::Quit {
            reason: Some("bye now".to_owned())
        }
    );
    let long_user = format!("USER {} 0 * :{}", "u".repeat(100), "é".repeat(150));
    let (progress, _) = register(&["NICK erin", &long_user]);
    let r = registered(&progress).expect("registered");
    assert_eq!(r.user.len(), chat_irc::registration::MAX_USER_BYTES);
    assert!(r.realname.len() <= chat_irc::registration::MAX_REALNAME_BYTES);
    let (progress, out) = register(&[
        &format!("PASS {}", "p".repeat(300)),
        "NICK f",
        "USER f 0 * :F",
    ]);
    assert_eq!(registered(&progress).and_then(|r| r.password.clone()), None);
    assert_eq!(out, ":irc.example 464 * :Password incorrect\r\n");
}

#[test]
fn registration_waits_for_a_sasl_check_and_goes_on_with_its_answer() {
    let mut registration = Registration::new();
    let mut out = BytesMut::new();
    let lines = [
        "CAP LS 302",
        "CAP REQ sasl",
        "NICK carol",
        "USER c 0 * :Carol",
        "AUTHENTICATE PLAIN",
        // `\0carol\0pw-of-carol`
        "AUTHENTICATE AGNhcm9sAHB3LW9mLWNhcm9s",
        "CAP END",
        "REGISTER * * password",
    ];
    let mut progress = Vec::new();
    for line in lines {
        let message = parse(line).expect("parses");
        progress.push(registration.handle(&server(), &message, &mut out, |_| Ok(())));
    }
    let Some(Progress::Authenticate(credentials)) = progress.get(5) else {
        panic!("no credentials: {progress:?}");
    };
    assert_eq!(credentials.account(), Some("carol"));
    assert!(registration.is_authenticating());
    // CAP END came, but the check has not.
    assert!(progress[6..].iter().all(|p| *p == Progress::Continue));
    let done = registration.sasl_succeeded(&server(), &mut out, "carol");
    assert!(matches!(done, Progress::Registered(ref r) if r.nick == "carol"));
    let out = text(&out);
    let out = out
        .split_once("AUTHENTICATE +")
        .map_or("", |(_, rest)| rest);
    insta::assert_snapshot!(out.trim_start(), @r"
    :irc.example FAIL REGISTER COMPLETE_CONNECTION_REQUIRED * :Register an account once connected
    :irc.example 900 carol carol!carol@irc.example carol :You are now logged in as carol
    :irc.example 903 carol :SASL authentication successful
    ");
}
