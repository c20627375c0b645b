//! Logging in: the server password, failed logins and their rate limit,
//! and `/oper`, whose argon2 check the hub hands off the reactor and
//! whose verdict comes back later.

use chat_hub::*;

use crate::support::{Fixture, cheap_hash, with_admission};

#[test]
fn a_password_gates_everything() {
    let mut f = with_admission();
    f.connect(1);
    f.connect(2);
    assert_eq!(
        f.lines_for(1),
        ["-!- password required: send /pass PASSWORD"]
    );
    f.say(2, "hello?\n/pass s3cret\n");
    assert_eq!(
        f.lines_for(2),
        [
            "-!- password required: send /pass PASSWORD",
            "-!- error: wrong password"
        ]
    );
    assert_eq!(f.out.closed, [ClientId(2)]);
    f.connect(3);
    f.say(3, "/pass s3cret\n");
    f.say(1, "/pass s3cret\nfirst words\nand a half");
    f.say(1, " line\n");
    let seen = f.lines_for(1);
    assert_eq!(
        seen[0], "-!- Welcome, guest2! Type /help for commands.",
        "{seen:?}"
    );
    assert_eq!(f.hub.client_count(), 2);
    assert!(
        f.out.console.iter().all(|line| !line.contains("s3cret")),
        "{:?}",
        f.out.console
    );
    // The lines sent right behind /pass were not lost.
    let heard = f.lines_for(3);
    assert_eq!(
        heard[heard.len() - 2..],
        ["<guest2> first words", "<guest2> and a half line"],
        "{heard:?}"
    );
}

#[test]
fn failed_logins_are_rate_limited_and_silent_ones_time_out() {
    let mut f = with_admission();
    for id in 1..=5 {
        f.connect_from(id, "10.0.0.1:1");
        f.say(id, "/pass wrong\n");
    }
    f.connect_from(6, "10.0.0.1:1");
    assert_eq!(
        f.lines_for(6),
        ["-!- error: too many failed logins from your address; try again later"]
    );
    f.connect_from(7, "10.0.0.2:1");
    assert_eq!(
        f.lines_for(7),
        ["-!- password required: send /pass PASSWORD"],
        "others are unaffected"
    );
    f.advance(11_000);
    assert_eq!(f.lines_for(7), ["-!- error: login timed out"]);
    assert!(f.out.closed.contains(&ClientId(7)));
}

/// `with_admission`, with clients 1 and 2 logged in from 10.0.0.1 and
/// 10.0.0.2, and `/oper` checks held until answered.
fn with_two_logged_in() -> Fixture {
    let mut f = with_admission();
    f.hold_checks = true;
    f.connect_from(1, "10.0.0.1:1");
    f.connect_from(2, "10.0.0.2:1");
    f.say(1, "/pass s3cret\n");
    f.say(2, "/pass s3cret\n");
    f.lines_for(1);
    f.lines_for(2);
    f
}

/// The PHC string's `$algorithm$version$params`.
fn cost(phc: &str) -> String {
    phc.split('$').take(4).collect::<Vec<_>>().join("$")
}

#[test]
fn oper_is_answered_later_off_the_reactor() {
    let mut f = with_two_logged_in();
    f.say(1, "/oper root hunter2\n");
    assert_eq!(f.out.checks.len(), 1, "handed to the verifier");
    assert!(f.lines_for(1).is_empty(), "no answer before the verdict");
    // Meanwhile the client (and everyone else) chats on.
    f.say(1, "/oper root hunter2\nstill here\n");
    assert_eq!(
        f.lines_for(1),
        ["-!- error: your /oper is still being checked; wait for its answer"]
    );
    assert_eq!(f.lines_for(2), ["<guest1> still here"]);
    f.answer_checks();
    assert_eq!(
        f.lines_for(1),
        ["-!- you are now an operator: /kick /ban /unban /bans /topic /motd"]
    );
    assert!(
        f.out
            .console
            .iter()
            .any(|l| l.contains("is now operator root")),
        "{:?}",
        f.out.console
    );
}

#[test]
fn an_unknown_operator_name_is_checked_against_a_dummy_hash() {
    let mut f = with_two_logged_in();
    f.say(1, "/oper root wrong\n");
    f.say(2, "/oper nobody hunter2\n");
    let [known, unknown] = &f.out.checks[..] else {
        panic!("two checks expected: {:?}", f.out.checks);
    };
    let root = cheap_hash("hunter2");
    assert_eq!(known.hash, root);
    // The unknown name costs a verification too, of the same cost.
    assert_ne!(unknown.hash, root);
    assert_eq!(cost(&unknown.hash), cost(&root));
    assert!(!unknown.verdict().matched);
    // Even a verdict that says "matched" grants an unknown name nothing.
    let (client, token) = (unknown.client, unknown.token);
    f.out.checks.truncate(1);
    let lie = OperatorVerdict {
        token,
        matched: true,
    };
    f.hub.operator_checked(&mut f.out, client, lie, f.time);
    f.answer_checks();
    for id in [1, 2] {
        assert_eq!(
            f.lines_for(id),
            ["-!- error: wrong operator name or password"]
        );
    }
    let failed: Vec<_> = f
        .out
        .console
        .iter()
        .filter(|l| l.contains("failed /oper"))
        .collect();
    assert_eq!(failed.len(), 2, "{:?}", f.out.console);
    assert!(f.out.console.iter().all(|l| !l.contains("hunter2")));
}

#[test]
fn a_verdict_for_a_client_that_left_or_an_older_check_changes_nothing() {
    let mut f = with_two_logged_in();
    f.say(1, "/oper root hunter2\n");
    let old = f.out.checks.remove(0);
    f.say(1, "/quit\n");
    // The reactor reuses the id for a new connection, which logs in.
    f.connect_from(1, "10.0.0.1:2");
    f.say(1, "/pass s3cret\n");
    f.hub
        .operator_checked(&mut f.out, old.client, old.verdict(), f.time);
    f.lines_for(1);
    f.say(1, "/bans\n/oper root wrong\n");
    assert_eq!(
        f.lines_for(1),
        ["-!- error: operators only: log in with /oper NAME PASSWORD"]
    );
    // The older check's "matched" does not answer the newer one.
    f.hub
        .operator_checked(&mut f.out, old.client, old.verdict(), f.time);
    assert!(f.lines_for(1).is_empty());
    f.answer_checks();
    assert_eq!(
        f.lines_for(1),
        ["-!- error: wrong operator name or password"]
    );
}

#[test]
fn a_full_verifier_queue_says_busy_and_counts_no_failure() {
    let mut f = with_two_logged_in();
    f.out.verifier_full = true;
    // More than the failure limit, and within the flood burst.
    for _ in 0..8 {
        f.say(1, "/oper root hunter2\n");
    }
    let busy = "-!- error: the server is busy verifying logins; try again shortly";
    assert_eq!(f.lines_for(1), vec![busy; 8]);
    f.out.verifier_full = false;
    f.say(1, "/oper root hunter2\n");
    f.answer_checks();
    assert_eq!(
        f.lines_for(1),
        ["-!- you are now an operator: /kick /ban /unban /bans /topic /motd"],
        "not locked out"
    );
}

#[test]
fn parallel_oper_attempts_get_no_more_guesses_than_serial_ones() {
    let mut f = with_admission();
    f.hold_checks = true;
    for id in 1..=8 {
        f.connect_from(id, &format!("10.0.0.1:{id}"));
        f.say(id, "/pass s3cret\n");
    }
    for id in 1..=8 {
        f.lines_for(id);
        f.say(id, "/oper root wrong\n");
    }
    assert_eq!(f.out.checks.len(), 5, "checks in flight count as failures");
    let locked = "-!- error: too many failed logins from your address; try again later";
    for id in 6..=8 {
        assert_eq!(f.lines_for(id), [locked]);
    }
    f.answer_checks();
    f.say(6, "/oper root hunter2\n");
    assert_eq!(f.lines_for(6), [locked]);
    assert!(f.out.checks.is_empty());
}
