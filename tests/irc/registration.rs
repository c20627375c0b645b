//! Registering over IRC: the welcome burst (001–005 and the MOTD, pinned
//! by a snapshot), capability negotiation, refused nicks, the server
//! password.

use super::{Irc, IrcLine, MOTD, irc_script, nc, server, server_with};

/// The burst as text, one raw line each, with what changes from run to
/// run or host to host replaced: the server's name (the source of 001),
/// its version (004's second word), the date in 003 and the loopback
/// address.
fn redacted(burst: &[IrcLine]) -> String {
    let server = burst
        .iter()
        .find(|l| l.is("001"))
        .and_then(|l| l.source.clone())
        .unwrap_or_default();
    let version = burst
        .iter()
        .find(|l| l.is("004"))
        .map(|l| l.param(2).to_owned())
        .unwrap_or_default();
    let mut text = String::new();
    for line in burst {
        let mut raw = line.raw.replace(&server, "[server]");
        if line.is("002") || line.is("004") {
            raw = raw.replace(&version, "[version]");
        }
        if line.is("003")
            && let Some(at) = raw.find(" created ")
        {
            raw.truncate(at + " created ".len());
            raw.push_str("[date]");
        }
        text.push_str(&raw.replace("127.0.0.1", "[host]"));
        text.push('\n');
    }
    text
}

/// The ISUPPORT tokens of every 005 line (without the client and the
/// closing text).
fn isupport(burst: &[IrcLine]) -> Vec<String> {
    burst
        .iter()
        .filter(|l| l.is("005"))
        .flat_map(|l| {
            let tokens = l.params.get(1..l.params.len() - 1).unwrap_or_default();
            tokens.to_vec()
        })
        .collect()
}

#[test]
fn irc_registration_sends_the_welcome_burst_and_joins_no_channel() {
    let Some(script) = irc_script() else { return };
    let server = server();
    let mut ircy = Irc::connect(&script, server.irc_addr());
    let burst = ircy.register("ircy");

    let numerics: Vec<&str> = burst.iter().map(|l| l.command.as_str()).collect();
    for (first, then) in [
        ("001", "002"),
        ("002", "003"),
        ("003", "004"),
        ("004", "005"),
    ] {
        let at = |n: &str| numerics.iter().position(|&c| c == n);
        assert!(
            at(first).is_some() && at(first) < at(then),
            "{first} then {then}: {numerics:?}"
        );
    }
    for line in &burst {
        assert!(line.crlf, "not ended with CRLF: {:?}", line.raw);
        assert_eq!(line.tags, None, "tags nobody asked for: {:?}", line.raw);
        assert_eq!(
            line.param(0),
            "ircy",
            "not addressed to ircy: {:?}",
            line.raw
        );
    }
    let tokens = isupport(&burst);
    for token in [
        "CASEMAPPING=ascii",
        "CHANTYPES=#",
        "NICKLEN=24",
        "CHANLIMIT=#:20",
    ] {
        assert!(
            tokens.iter().any(|t| t == token),
            "no {token} in {tokens:?}"
        );
    }
    // The MOTD is the configured one, between its start and its end.
    let motd: Vec<&IrcLine> = burst.iter().filter(|l| l.is("372")).collect();
    assert!(
        motd.iter().any(|l| l.last().contains(MOTD)),
        "{motd:?} does not show {MOTD:?}"
    );
    let start = numerics.iter().position(|&c| c == "375");
    let end = numerics.iter().position(|&c| c == "376");
    assert!(start.is_some() && start < end, "{numerics:?}");
    insta::assert_snapshot!("welcome_burst", redacted(&burst));

    // IRC clients join channels themselves: until it does, nothing said in
    // the lobby reaches it.
    let mut alice = nc(&server, "alice");
    alice.send_line("said before ircy joined");
    alice.sync();
    let early = ircy.sync();
    assert!(
        !early.iter().any(|l| l.is("PRIVMSG") || l.is("JOIN")),
        "a client that joined nothing got {early:?}"
    );
    ircy.join_lobby();
    alice.expect_body("-!- ircy joined lobby");
}

#[test]
fn irc_capabilities_are_listed_acknowledged_and_registration_waits_for_cap_end() {
    let Some(script) = irc_script() else { return };
    let server = server();
    let mut ircy = Irc::connect(&script, server.irc_addr());
    ircy.send(&["CAP", "LS", "302"]);
    let listed = ircy.lines_until("ending CAP LS", |l| {
        l.is("CAP") && l.param(1) == "LS" && l.param(2) != "*"
    });
    // A long list comes on several lines, `*` before the last one's text.
    let offered: Vec<&str> = listed
        .iter()
        .filter(|l| l.is("CAP"))
        .flat_map(|l| l.last().split(' '))
        .map(|cap| cap.split('=').next().unwrap_or_default())
        .collect();
    for cap in [
        "server-time",
        "message-tags",
        "echo-message",
        "cap-notify",
        "multi-prefix",
    ] {
        assert!(offered.contains(&cap), "{cap} not offered: {offered:?}");
    }

    ircy.send(&["CAP", "REQ", "server-time no-such-cap"]);
    let nak = ircy.expect_command("CAP");
    assert_eq!(nak.param(1), "NAK", "{:?}", nak.raw);
    assert_eq!(
        nak.last().trim(),
        "server-time no-such-cap",
        "{:?}",
        nak.raw
    );
    ircy.send(&["CAP", "REQ", "multi-prefix echo-message"]);
    let ack = ircy.expect_command("CAP");
    assert_eq!(ack.param(1), "ACK", "{:?}", ack.raw);
    assert_eq!(
        ack.last().trim(),
        "multi-prefix echo-message",
        "{:?}",
        ack.raw
    );

    // NICK and USER are not enough while the negotiation is open.
    ircy.send(&["NICK", "capper"]);
    ircy.send(&["USER", "capper", "0", "*", "Cap Per"]);
    let waiting = ircy.sync();
    assert!(
        !waiting.iter().any(|l| l.is("001")),
        "welcomed before CAP END: {waiting:?}"
    );
    ircy.send(&["CAP", "LIST"]);
    let list = ircy.expect_command("CAP");
    assert_eq!(list.param(1), "LIST", "{:?}", list.raw);
    let enabled: Vec<&str> = list.last().split_whitespace().collect();
    assert!(
        enabled.contains(&"multi-prefix") && enabled.contains(&"echo-message"),
        "{:?}",
        list.raw
    );
    assert!(!enabled.contains(&"server-time"), "NAKed: {:?}", list.raw);
    ircy.send(&["CAP", "END"]);
    ircy.welcomed("capper");
}

#[test]
fn irc_nicks_taken_or_invalid_are_refused_with_433_and_432() {
    let Some(script) = irc_script() else { return };
    let server = server();
    let _alice = nc(&server, "alice");
    let mut ircy = Irc::connect(&script, server.irc_addr());
    ircy.send(&["USER", "ircy", "0", "*", "Irc Y"]);
    // Nicks compare without case: a line client holds `alice`.
    ircy.send(&["NICK", "ALICE"]);
    let taken = ircy.expect("433 or a welcome", |l| l.is("433") || l.is("001"));
    assert!(taken.is("433"), "{:?}", taken.raw);
    assert_eq!(taken.param(1), "ALICE", "{:?}", taken.raw);
    for bad in ["1abc", "bad.nick", "has space", &"n".repeat(25)] {
        ircy.send(&["NICK", bad]);
        let refused = ircy.expect(&format!("refusing {bad:?}"), |l| l.is("432") || l.is("001"));
        assert!(refused.is("432"), "{bad:?}: {:?}", refused.raw);
    }
    // The longest nick allowed is 24 characters.
    let longest = format!("n{}", "2".repeat(23));
    ircy.send(&["NICK", &longest]);
    ircy.welcomed(&longest);

    // Once registered, NICK to a nick in use is refused the same way.
    ircy.send(&["NICK", "Alice"]);
    let taken = ircy.expect_command("433");
    assert_eq!(taken.param(1), "Alice", "{:?}", taken.raw);
}

#[test]
fn irc_server_password_is_asked_with_pass() {
    let Some(script) = irc_script() else { return };
    let server = server_with("password = \"open sesame\"\n");
    let mut right = Irc::connect(&script, server.irc_addr());
    right.send(&["PASS", "open sesame"]);
    right.register("knows");

    for (nick, pass) in [("guesses", Some("open barley")), ("forgets", None)] {
        let mut wrong = Irc::connect(&script, server.irc_addr());
        if let Some(pass) = pass {
            wrong.send(&["PASS", pass]);
        }
        wrong.send(&["NICK", nick]);
        wrong.send(&["USER", nick, "0", "*", "No Pass"]);
        let lines = wrong.lines_until("464 ERR_PASSWDMISMATCH", |l| l.is("464"));
        assert!(
            !lines.iter().any(|l| l.is("001")),
            "{nick} was welcomed: {lines:?}"
        );
        // Refused, it is let go.
        let rest = wrong.expect_closed();
        assert!(!rest.iter().any(|l| l.is("001")), "{nick}: {rest:?}");
    }
}
