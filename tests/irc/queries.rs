//! Asking about the chat over IRC: who is in `#lobby` (NAMES, WHO, LIST),
//! who someone is (WHOIS, ISON, USERHOST, AWAY), topics and operators
//! (TOPIC, OPER), and the server's own queries (PING, MODE, VERSION, TIME,
//! MOTD, LUSERS), with 421 for a command it does not know.

use std::collections::BTreeSet;

use chat_tests::operator_config;

use super::{Irc, IrcLine, MOTD, irc, irc_script, nc, server, server_with};

/// The words of the last parameter of every `numeric` line, as a set.
fn words_of(lines: &[IrcLine], numeric: &str) -> BTreeSet<String> {
    lines
        .iter()
        .filter(|l| l.is(numeric))
        .flat_map(|l| l.last().split_whitespace())
        .map(str::to_owned)
        .collect()
}

fn set(words: &[&str]) -> BTreeSet<String> {
    words.iter().map(|&w| w.to_owned()).collect()
}

#[test]
fn irc_names_who_and_list_show_who_is_in_the_lobby() {
    let Some(script) = irc_script() else { return };
    let server = server();
    let _alice = nc(&server, "alice");
    let mut ircy = irc(&script, &server, "ircy");
    ircy.join_lobby();

    ircy.send(&["NAMES", "#lobby"]);
    let names = ircy.lines_until("366", |l| l.is("366"));
    let listed: BTreeSet<String> = words_of(&names, "353")
        .iter()
        .map(|name| name.trim_start_matches(['@', '+']).to_owned())
        .collect();
    assert_eq!(listed, set(&["alice", "ircy"]), "{names:?}");
    assert!(
        names.iter().all(|l| !l.is("353") || l.param(2) == "#lobby"),
        "{names:?}"
    );

    // WHO: one 352 per member (the nick is the sixth parameter), then 315.
    ircy.send(&["WHO", "#lobby"]);
    let who = ircy.lines_until("315", |l| l.is("315"));
    let nicks: BTreeSet<String> = who
        .iter()
        .filter(|l| l.is("352"))
        .map(|l| l.param(5).to_owned())
        .collect();
    assert_eq!(nicks, set(&["alice", "ircy"]), "{who:?}");
    assert!(
        who.iter()
            .filter(|l| l.is("352"))
            .all(|l| l.param(1) == "#lobby"),
        "{who:?}"
    );

    // LIST: the lobby and its two members, between 321 and 323.
    ircy.send(&["LIST"]);
    let list = ircy.lines_until("323", |l| l.is("323"));
    let lobby = list
        .iter()
        .find(|l| l.is("322") && l.param(1) == "#lobby")
        .unwrap_or_else(|| panic!("no 322 for #lobby in {list:?}"));
    assert_eq!(lobby.param(2), "2", "{:?}", lobby.raw);
}

#[test]
fn irc_whois_ison_userhost_and_away_describe_users() {
    let Some(script) = irc_script() else { return };
    let server = server();
    let _alice = nc(&server, "alice");
    let mut ircy = irc(&script, &server, "ircy");
    let mut other = irc(&script, &server, "other");
    ircy.join_lobby();

    ircy.send(&["WHOIS", "alice"]);
    let whois = ircy.lines_until("318", |l| l.is("318"));
    let user = whois
        .iter()
        .find(|l| l.is("311"))
        .unwrap_or_else(|| panic!("no 311 in {whois:?}"));
    assert_eq!(user.param(1), "alice", "{:?}", user.raw);
    let channels = words_of(&whois, "319");
    assert!(
        channels
            .iter()
            .any(|c| c.trim_start_matches(['@', '+']) == "#lobby"),
        "{whois:?}"
    );
    ircy.send(&["WHOIS", "nobody"]);
    let whois = ircy.lines_until("318", |l| l.is("318"));
    assert!(
        whois.iter().any(|l| l.is("401") && l.param(1) == "nobody"),
        "{whois:?}"
    );

    ircy.send(&["ISON", "alice", "nobody", "other"]);
    let ison = ircy.expect_command("303");
    let on: BTreeSet<String> = ison.last().split_whitespace().map(str::to_owned).collect();
    assert_eq!(on, set(&["alice", "other"]), "{:?}", ison.raw);
    ircy.send(&["USERHOST", "alice"]);
    let userhost = ircy.expect_command("302");
    assert!(userhost.last().starts_with("alice="), "{:?}", userhost.raw);

    // Away: told to whoever messages or asks, until it is cleared.
    ircy.send(&["AWAY", "gone fishing"]);
    ircy.expect_command("306");
    other.send(&["PRIVMSG", "ircy", "are you there?"]);
    let away = other.expect_command("301");
    assert!(
        away.param(1) == "ircy" && away.last() == "gone fishing",
        "{:?}",
        away.raw
    );
    let got = ircy.expect_command("PRIVMSG");
    assert!(
        got.is_privmsg("other", "ircy", "are you there?"),
        "{:?}",
        got.raw
    );
    other.send(&["WHOIS", "ircy"]);
    let whois = other.lines_until("318", |l| l.is("318"));
    assert!(
        whois
            .iter()
            .any(|l| l.is("301") && l.last() == "gone fishing"),
        "{whois:?}"
    );
    ircy.send(&["AWAY"]);
    ircy.expect_command("305");
    other.send(&["PRIVMSG", "ircy", "back?"]);
    let after = other.sync();
    assert!(!after.iter().any(|l| l.is("301")), "{after:?}");
}

#[test]
fn irc_oper_answers_464_for_a_wrong_password_and_381_for_the_right_one() {
    let Some(script) = irc_script() else { return };
    let server = server_with(&operator_config());
    let mut ircy = irc(&script, &server, "ircy");
    ircy.send(&["OPER", "root", "a wrong password"]);
    let refused = ircy.expect("464 or 381", |l| l.is("464") || l.is("381"));
    assert!(refused.is("464"), "{:?}", refused.raw);
    ircy.send(&["OPER", "root", "the real password"]);
    ircy.expect_command("381");
}

#[test]
fn irc_topic_is_shown_on_join_and_set_by_operators_only() {
    let Some(script) = irc_script() else { return };
    let server = server_with(&operator_config());
    let mut alice = nc(&server, "alice");
    let mut ircy = irc(&script, &server, "ircy");
    ircy.join_lobby();
    ircy.send(&["TOPIC", "#lobby"]);
    let none = ircy.expect("331 or 332", |l| l.is("331") || l.is("332"));
    assert!(
        none.is("331") && none.param(1) == "#lobby",
        "{:?}",
        none.raw
    );

    // Not yet an operator: refused, and the topic stays unset.
    ircy.send(&["TOPIC", "#lobby", "too soon"]);
    ircy.send(&["TOPIC", "#lobby"]);
    let none = ircy.expect("331 or 332", |l| l.is("331") || l.is("332"));
    assert!(
        none.is("331"),
        "a non-operator set the topic: {:?}",
        none.raw
    );

    become_operator(&mut ircy);
    ircy.send(&["TOPIC", "#lobby", "IRC meets lines"]);
    alice.expect_body("-!- topic of lobby: IRC meets lines");
    ircy.send(&["TOPIC", "#lobby"]);
    let shown = ircy.expect_command("332");
    assert_eq!(shown.last(), "IRC meets lines", "{:?}", shown.raw);

    // A newcomer gets the topic after its JOIN, before NAMES.
    let mut late = irc(&script, &server, "late");
    let joined = late.join_lobby();
    let topic_at = joined.iter().position(|l| l.is("332"));
    let names_at = joined.iter().position(|l| l.is("353"));
    assert!(topic_at.is_some() && topic_at < names_at, "{joined:?}");
    assert_eq!(
        joined[topic_at.unwrap_or_default()].last(),
        "IRC meets lines"
    );
}

/// `OPER root PASSWORD`, waiting for its answer, whatever its form (381
/// is the OPER test's to require): the check runs off the reactor.
fn become_operator(irc: &mut Irc) {
    irc.send(&["OPER", "root", "the real password"]);
    irc.expect("an answer to OPER", |l| {
        l.is("381") || l.is("464") || (l.is("NOTICE") && l.last().contains("operator"))
    });
}

#[test]
fn irc_a_topic_change_reaches_every_member_as_a_topic_message() {
    let Some(script) = irc_script() else { return };
    let server = server_with(&operator_config());
    let mut ircy = irc(&script, &server, "ircy");
    ircy.join_lobby();
    let mut member = irc(&script, &server, "member");
    member.join_lobby();
    become_operator(&mut ircy);
    ircy.send(&["TOPIC", "#lobby", "IRC meets lines"]);
    // modern.ircdocs.horse, TOPIC: every client in the channel, the author
    // included, receives a TOPIC command with the new topic (332 answers
    // a query; it says nothing of who changed it).
    for client in [&mut ircy, &mut member] {
        let topic = client.expect("the change", |l| {
            l.is("TOPIC") || (l.is("332") && l.last() == "IRC meets lines")
        });
        assert!(
            topic.is("TOPIC")
                && topic.nick() == "ircy"
                && topic.param(0) == "#lobby"
                && topic.last() == "IRC meets lines",
            "{} was told of the change by {:?}",
            client.nick,
            topic.raw
        );
    }
}

#[test]
fn irc_server_queries_are_answered_and_unknown_commands_get_421() {
    let Some(script) = irc_script() else { return };
    let server = server();
    let mut ircy = irc(&script, &server, "ircy");
    ircy.join_lobby();

    ircy.send(&["PING", "are you there"]);
    let pong = ircy.expect_command("PONG");
    assert_eq!(pong.last(), "are you there", "{:?}", pong.raw);
    ircy.send(&["MODE", "ircy"]);
    let modes = ircy.expect_command("221");
    assert!(modes.param(1).starts_with('+'), "{:?}", modes.raw);
    ircy.send(&["MODE", "#lobby"]);
    let modes = ircy.expect_command("324");
    assert!(
        modes.param(1) == "#lobby" && modes.param(2).starts_with('+'),
        "{:?}",
        modes.raw
    );
    ircy.send(&["VERSION"]);
    ircy.expect_command("351");
    ircy.send(&["TIME"]);
    ircy.expect_command("391");
    ircy.send(&["MOTD"]);
    let motd = ircy.lines_until("376", |l| l.is("376"));
    assert!(
        motd.iter().any(|l| l.is("375"))
            && motd.iter().any(|l| l.is("372") && l.last().contains(MOTD)),
        "{motd:?}"
    );
    ircy.send(&["LUSERS"]);
    let lusers = ircy.sync();
    assert!(lusers.iter().any(|l| l.is("251")), "{lusers:?}");
    ircy.send(&["FROBNICATE", "now"]);
    let unknown = ircy.expect_command("421");
    assert_eq!(unknown.param(1), "FROBNICATE", "{:?}", unknown.raw);
    // The connection stays: the PING after it is answered.
    ircy.sync();
}
