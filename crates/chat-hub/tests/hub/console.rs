//! The operator console: whom a plain line answers, `/to` and `/all`,
//! `/msg operator`, and the console's own commands.

use chat_hub::*;

use crate::support::Fixture;

#[test]
fn a_private_question_to_the_operator_is_answered_to_its_asker_not_the_last_speaker() {
    let mut f = Fixture::new(HubConfig {
        echo_messages: true,
        ..HubConfig::default()
    });
    f.connect(1);
    f.connect(2);
    f.say(1, "/nick alice\n/msg operator what is the wifi password?\n");
    f.say(2, "/nick mallory\n/join side\nme me me\n");
    f.out.console.clear();
    f.console("it is on the fridge");
    assert!(
        f.lines_for(1)
            .contains(&"-operator- it is on the fridge".to_owned())
    );
    assert!(!f.lines_for(2).iter().any(|l| l.contains("fridge")));
    // Answered: room lines move the target again, and the prompt says so.
    f.say(2, "anyone?\n");
    f.console("yes, me");
    assert!(f.lines_for(2).contains(&"-operator- yes, me".to_owned()));
    insta::assert_snapshot!(f.out.console.join("\n"), @r"
    (to alice) it is on the fridge
    [side] <mallory> anyone? (127.0.0.1:40002)
    reply to mallory:
    (to mallory) yes, me
    ");
}

#[test]
fn the_console_prompt_names_whom_a_plain_line_answers() {
    let mut f = Fixture::new(HubConfig {
        echo_messages: true,
        ..HubConfig::default()
    });
    f.connect(1);
    f.say(1, "hi\n");
    f.say(1, "again\n");
    let prompts: Vec<&String> = f
        .out
        .console
        .iter()
        .filter(|l| l.starts_with("reply to"))
        .collect();
    assert_eq!(
        prompts,
        ["reply to guest1:"],
        "shown once, when the target changes"
    );
}

#[test]
fn the_operator_replies_to_whoever_spoke_last() {
    let mut f = Fixture::with_clients(&[1, 2]);
    f.console("anyone?");
    f.say(2, "hello operator\n");
    f.console("hello guest2");
    f.console("/to guest1 and you");
    f.console("/all everyone");
    f.console("/to ghost boo");
    assert_eq!(
        f.out.take(1),
        "[Tue Nov  3 08:05:09 2026] <guest2> hello operator\n[Tue Nov  3 08:05:09 2026] -operator- and you\n[Tue Nov  3 08:05:09 2026] -operator- everyone\n"
    );
    assert_eq!(
        f.out.take(2),
        "[Tue Nov  3 08:05:09 2026] -operator- hello guest2\n[Tue Nov  3 08:05:09 2026] -operator- everyone\n"
    );
    insta::assert_snapshot!(f.out.console.join("\n"), @r"
    nobody to reply to yet: use /to NICK TEXT or /all TEXT
    (to guest2) hello guest2
    (to guest1) and you
    (to all 2 clients) everyone
    no such nick: ghost
    ");
}

#[test]
fn msg_to_the_operator_reaches_the_console() {
    let mut f = Fixture::with_clients(&[1]);
    f.say(1, "/msg operator help me\n");
    assert_eq!(
        f.out.take(1),
        "[Tue Nov  3 08:05:09 2026] -> *operator* help me\n"
    );
    assert_eq!(f.out.console, ["*guest1* help me (127.0.0.1:40001)"]);
}

#[test]
fn operator_kick_who_stats_and_quit() {
    let mut f = Fixture::with_clients(&[1, 2]);
    f.say(1, "hi\n");
    f.console("/kick guest1 spam");
    f.console("/who");
    f.console("/stats");
    f.console("/frob");
    f.console("/quit");
    assert_eq!(
        f.out.take(1),
        "[Tue Nov  3 08:05:09 2026] -!- you were kicked by operator (spam)\n"
    );
    insta::assert_snapshot!(f.out.take(2), @r"
    [Tue Nov  3 08:05:09 2026] <guest1> hi
    [Tue Nov  3 08:05:09 2026] -!- guest1 left lobby (kicked: spam)
    [Tue Nov  3 08:05:09 2026] -!- server shutting down
    ");
    insta::assert_snapshot!(f.out.console.join("\n"), @r"
    guest1 (127.0.0.1:40001) left: kicked: spam
    kicked guest1
    1 clients:
      guest2 127.0.0.1:40002 in lobby
    clients 1 rooms 1 connections 2 messages in 1 deliveries 8 bytes in 0 bytes out 0 uptime 0s history 80 of 67108864 bytes
    unknown console command /frob (try /help)
    shutting down
    ");
    assert_eq!(f.out.closed, [ClientId(1), ClientId(2)]);
    assert!(f.out.shutdown);
}
