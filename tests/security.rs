//! Attacks on logins, bans and `/oper`, each proved closed over the real
//! binary: password guessing through logins opened first, bans that miss
//! logins in progress, IPv6 and IPv4-mapped ban ranges, a ban duration that
//! wraps, and `/oper` checks that stall everyone's chat.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use chat_tests::{Client, ServerProcess, ipv6_available, operator_config};

const PASSWORD_CONFIG: &str = "password = \"s3cret\"\n";
const PROMPT: &str = "-!- password required: send /pass PASSWORD";
const LOCKED: &str = "-!- error: too many failed logins from your address; try again later";
const BANNED: &str = "-!- error: you are banned from this server";

/// Reads a pending login's answer to its `/pass` up to the server's close.
fn answer(client: &mut Client) -> Vec<String> {
    client.expect_eof()
}

#[test]
fn twenty_logins_opened_first_get_no_more_guesses_than_the_failure_limit() {
    let server = ServerProcess::start_with_config(PASSWORD_CONFIG, &[]);
    // Twenty connections from 127.0.0.1 (exempt from the per-address
    // limit) before any guess; each is prompted or refused at once.
    let mut logins: Vec<(Client, bool)> = (0..20)
        .map(|_| {
            let mut client = server.connect();
            let first = client.expect("a prompt or a refusal", |_| true);
            let prompted = first == PROMPT;
            if !prompted {
                assert_eq!(
                    first,
                    "-!- error: too many logins in progress from your address; try again later"
                );
            }
            (client, prompted)
        })
        .collect();
    let prompted = logins.iter().filter(|(_, prompted)| *prompted).count();
    assert_eq!(prompted, 8, "at most 8 logins in progress per address");
    // Nineteen wrong guesses, one at a time, then the right password on
    // the twentieth (where the connection is still there to take it).
    let mut answers = Vec::new();
    for (n, (client, prompted)) in logins.iter_mut().enumerate() {
        if *prompted {
            let guess = if n == 19 { "s3cret" } else { "wrong" };
            client.send_line(&format!("/pass {guess}"));
        }
        answers.push(answer(client));
    }
    let welcomed: Vec<_> = answers
        .iter()
        .filter(|lines| lines.iter().any(|l| l.starts_with("-!- Welcome")))
        .collect();
    assert!(welcomed.is_empty(), "nobody gets in: {answers:?}");
    let wrong = answers
        .iter()
        .filter(|lines| lines.as_slice() == ["-!- error: wrong password"])
        .count();
    assert_eq!(wrong, 5, "five passwords were compared: {answers:?}");
    assert_eq!(answers[7], [LOCKED], "the last one prompted was refused");
}

#[test]
fn a_login_waiting_at_the_prompt_is_refused_once_its_address_reached_the_failure_limit() {
    let server = ServerProcess::start_with_config(PASSWORD_CONFIG, &[]);
    let mut logins: Vec<Client> = (0..8).map(|_| server.connect()).collect();
    for client in &mut logins {
        client.expect_body(PROMPT);
    }
    let (last, guessing) = logins.split_last_mut().expect("eight logins");
    for (n, client) in guessing.iter_mut().enumerate() {
        client.send_line("/pass wrong");
        let expected = if n < 5 {
            "-!- error: wrong password"
        } else {
            LOCKED
        };
        assert_eq!(answer(client), [expected], "guess {n}");
    }
    // The right password, from a connection that was already waiting: not
    // even compared.
    last.send_line("/pass s3cret");
    assert_eq!(answer(last), [LOCKED]);
}

#[test]
fn a_console_ban_closes_a_login_waiting_at_the_password_prompt() {
    let mut server = ServerProcess::start_with_config(PASSWORD_CONFIG, &["--console"]);
    let mut waiting = server.connect();
    waiting.expect_body(PROMPT);
    server.console("/ban 127.0.0.1");
    server.expect_console("banned 127.0.0.1/32 for 3600s (1 disconnected)");
    assert_eq!(waiting.expect_eof(), [BANNED]);
    let mut again = server.connect();
    assert_eq!(again.expect_eof(), [BANNED]);
}

#[test]
fn an_ipv6_ban_on_one_address_refuses_that_address() {
    if !ipv6_available() {
        return;
    }
    let mut server = ServerProcess::start(&["--listen", "[::1]:0", "--console"]);
    let mut client = server.join();
    server.console("/ban ::1/128 10m");
    server.expect_console("banned ::1/128 for 600s (1 disconnected)");
    client.expect_body("-!- you were banned by operator");
    client.expect_eof();
    let mut again = server.connect();
    assert_eq!(again.expect_eof(), [BANNED]);
    server.console("/bans");
    server.expect_console("ban ::1/128 for ");
}

#[test]
fn an_ipv4_mapped_ban_range_disconnects_an_ipv4_client() {
    let mut server = ServerProcess::start(&["--console"]);
    let mut client = server.join();
    server.console("/ban ::ffff:127.0.0.0/104");
    server.expect_console("banned 127.0.0.0/8 for 3600s (1 disconnected)");
    client.expect_body("-!- you were banned by operator");
    client.expect_eof();
    let mut again = server.connect();
    assert_eq!(again.expect_eof(), [BANNED]);
}

#[test]
fn a_huge_ban_duration_is_refused_with_an_error() {
    let mut server = ServerProcess::start(&["--console"]);
    let mut a = server.join();
    let mut b = server.join();
    server.console("/ban 127.0.0.1 9223372036854775807s");
    server.expect_console("9223372036854775807s is too long: a ban lasts at most 3650d");
    server.console("/bans");
    server.expect_console("no bans");
    a.send_line("still here");
    b.expect_body(&format!("<{}> still here", a.nick()));
}

#[test]
fn oper_checks_in_flight_do_not_delay_anyone_else() {
    let server = ServerProcess::start_with_config(&operator_config(), &[]);
    let mut a = server.join();
    let mut b = server.join();
    // Forty would-be operators from eight addresses, five each: every
    // address may have five checks in flight before its failure limit.
    let mut guessers: Vec<Client> = (0..40)
        .map(|n| {
            let from: IpAddr = format!("127.0.0.{}", 11 + n % 8)
                .parse()
                .expect("a loopback address");
            Client::join_from(server.addr(), from)
        })
        .collect();
    a.sync();
    b.sync();
    for (n, guesser) in guessers.iter_mut().enumerate() {
        guesser.send_line(&format!("/oper root guess{n}"));
    }
    let asked = Instant::now();
    a.send_line("/rooms");
    a.expect_contains("-!- rooms (");
    let rooms = asked.elapsed();
    let said = Instant::now();
    a.send_line("while they guess");
    b.expect_body(&format!("<{}> while they guess", a.nick()));
    let line = said.elapsed();
    let limit = Duration::from_millis(500);
    assert!(
        rooms < limit && line < limit,
        "/rooms took {rooms:?}, a line {line:?} with 40 /oper checks in flight"
    );
    // The queue is bounded: whoever did not fit is told so at once; the
    // checks that fit are answered later, off the reactor.
    let busy = "-!- error: the server is busy verifying logins; try again shortly";
    let mut told_busy = 0;
    let mut verdict = None;
    let mut rest = guessers.iter_mut();
    for guesser in rest.by_ref() {
        let answer = guesser.expect("an answer to /oper", |b| b.starts_with("-!- error: "));
        if answer != busy {
            verdict = Some(answer);
            break;
        }
        told_busy += 1;
    }
    assert_eq!(
        verdict.as_deref(),
        Some("-!- error: wrong operator name or password")
    );
    told_busy += rest
        .filter_map(|guesser| guesser.expect_within(busy, Duration::from_millis(100)))
        .count();
    assert!(told_busy > 0, "16 checks wait at most, and 40 were sent");
}
