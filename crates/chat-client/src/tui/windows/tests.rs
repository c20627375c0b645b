//! The windows as a state machine, driven through [`App`] as the event loop
//! drives it: server lines and keys in, windows, unread counts and lines
//! sent out. Each test is a script and the transcript it must give.
//!
//! A script line is `< BODY` (a server line, stamp added), `> KEY` (Alt-1,
//! Ctrl-N, Ctrl-P, Tab), `> type TEXT` (typed, then Enter) or `= reconnect`.
//! The transcript has `sent: LINE` for each line sent, then `windows:` with
//! the status line's window list and `shown:` with the shown window's
//! lines (times left out).

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

use crate::tui::app::{Action, App, ConnState};
use crate::tui::history::History;
use crate::tui::theme::Theme;
use crate::tui::view::{render_entry, window_spans};

const STAMP: &str = "[Tue Nov 24 21:03:31 2026]";

fn key(app: &mut App, code: KeyCode, modifiers: KeyModifiers) -> Action {
    app.on_event(&Event::Key(KeyEvent::new(code, modifiers)))
}

fn run(script: &str) -> String {
    let mut app = App::new(
        "127.0.0.1:1".to_owned(),
        "%H:%M".to_owned(),
        History::load(None),
    );
    let mut out = String::new();
    for line in script
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
    {
        let actions = if let Some(body) = line.strip_prefix("< ") {
            app.on_line(&format!("{STAMP} {body}"));
            Vec::new()
        } else if let Some(text) = line.strip_prefix("> type ") {
            let mut actions: Vec<Action> = text
                .chars()
                .map(|c| key(&mut app, KeyCode::Char(c), KeyModifiers::NONE))
                .collect();
            actions.push(key(&mut app, KeyCode::Enter, KeyModifiers::NONE));
            actions
        } else if let Some(name) = line.strip_prefix("> ") {
            let (code, modifiers) = match name {
                "Tab" => (KeyCode::Tab, KeyModifiers::NONE),
                _ => match name.split_once('-') {
                    Some(("Alt", c)) => (
                        KeyCode::Char(c.chars().next().unwrap_or('?')),
                        KeyModifiers::ALT,
                    ),
                    Some(("Ctrl", c)) => (
                        KeyCode::Char(c.to_ascii_lowercase().chars().next().unwrap_or('?')),
                        KeyModifiers::CONTROL,
                    ),
                    _ => panic!("unknown key {name}"),
                },
            };
            vec![key(&mut app, code, modifiers)]
        } else if line == "= reconnect" {
            app.conn = ConnState::Connected;
            app.reconnected();
            Vec::new()
        } else if line == "= disconnect" {
            app.conn = ConnState::Disconnected;
            Vec::new()
        } else {
            panic!("unknown script line {line}");
        };
        for action in actions {
            if let Action::Send(lines) = action {
                for sent in lines {
                    out.push_str(&format!("sent: {sent}\n"));
                }
            }
        }
    }
    let theme = Theme { colors: false };
    let windows: String = window_spans(&app, theme)
        .iter()
        .map(|span| span.content.as_ref())
        .collect();
    out.push_str(&format!("windows: {windows}\nshown:\n"));
    for entry in &app.windows.shown().entries {
        let mut entry = entry.clone();
        entry.time.clear();
        let line: String = render_entry(&entry, theme)
            .spans
            .iter()
            .map(|span| span.content.as_ref())
            .collect();
        out.push_str(&format!("  {line}\n"));
    }
    if !app.input.value().is_empty() {
        out.push_str(&format!("input: {}\n", app.input.value()));
    }
    out
}

/// Runs `script` and compares its transcript with `expect` (indentation
/// and blank lines around it ignored).
#[track_caller]
fn check(script: &str, expect: &str) {
    let expect: Vec<&str> = expect
        .lines()
        .map(|line| line.strip_prefix("        ").unwrap_or(line.trim_start()))
        .filter(|line| !line.trim().is_empty())
        .collect();
    let got = run(script);
    let got: Vec<&str> = got.lines().collect();
    assert_eq!(got, expect, "\n{}", got.join("\n"));
}

const ALICE_IN_LOBBY_AND_DEV: &str = "
    < -!- Welcome, alice!
    < -!- alice joined lobby
    < (history) <bob> said in lobby before
    < -!- alice joined dev
    < -!- topic of dev: all things dev
    < (history) <carol> said in dev before
";

#[test]
fn each_join_opens_a_window_in_the_order_joined_and_shows_it() {
    check(
        ALICE_IN_LOBBY_AND_DEV,
        "
        windows: [1:lobby] [*2:dev]
        shown:
          -!- alice joined dev
          -!- topic of dev: all things dev
          <carol> said in dev before
        ",
    );
}

#[test]
fn lines_of_a_window_not_shown_count_as_unread_and_a_mention_is_marked() {
    check(
        &format!(
            "{ALICE_IN_LOBBY_AND_DEV}
            < #lobby <bob> one
            < #lobby * bob waves
            < -!- dave joined lobby
            < <carol> in dev, shown
            < #lobby <bob> alice: are you there?
            "
        ),
        "
        windows: [1:lobby(3!)] [*2:dev]
        shown:
          -!- alice joined dev
          -!- topic of dev: all things dev
          <carol> said in dev before
          <carol> in dev, shown
        ",
    );
}

#[test]
fn alt_number_shows_a_window_clears_its_count_and_talks_there() {
    // The answer to the switch's /join says nothing new: not shown.
    check(
        &format!(
            "{ALICE_IN_LOBBY_AND_DEV}
            < #lobby <bob> one
            > Alt-1
            < -!- now talking in lobby
            < <bob> two
            < #dev <carol> three
            "
        ),
        "
        sent: /join lobby
        windows: [*1:lobby] [2:dev(1)]
        shown:
          -!- Welcome, alice!
          -!- alice joined lobby
          <bob> said in lobby before
          <bob> one
          <bob> two
        ",
    );
}

#[test]
fn a_line_that_names_no_room_is_of_the_room_talked_in_until_the_server_switches() {
    // bob's line was said before the server read the /join: it is lobby's.
    check(
        &format!(
            "{ALICE_IN_LOBBY_AND_DEV}
            > Alt-1
            < <carol> still in dev
            < -!- now talking in lobby
            < <bob> in lobby
            "
        ),
        "
        sent: /join lobby
        windows: [*1:lobby] [2:dev(1)]
        shown:
          -!- Welcome, alice!
          -!- alice joined lobby
          <bob> said in lobby before
          <bob> in lobby
        ",
    );
}

#[test]
fn ctrl_n_and_ctrl_p_go_round_and_a_switch_back_sends_only_what_is_needed() {
    check(
        &format!(
            "{ALICE_IN_LOBBY_AND_DEV}
            < -!- alice joined ops
            > Ctrl-N
            > Ctrl-N
            > Ctrl-P
            > Ctrl-P
            > Alt-3
            > Alt-9
            < -!- now talking in lobby
            < -!- now talking in dev
            < -!- now talking in lobby
            < -!- now talking in ops
            "
        ),
        "
        sent: /join lobby
        sent: /join dev
        sent: /join lobby
        sent: /join ops
        windows: [1:lobby] [2:dev] [*3:ops]
        shown:
          -!- alice joined ops
        ",
    );
}

#[test]
fn a_typed_join_of_a_room_joined_switches_when_the_server_answers() {
    check(
        &format!(
            "{ALICE_IN_LOBBY_AND_DEV}
            > type /join lobby
            < -!- now talking in lobby
            "
        ),
        "
        sent: /join lobby
        windows: [*1:lobby] [2:dev]
        shown:
          -!- Welcome, alice!
          -!- alice joined lobby
          <bob> said in lobby before
          -!- now talking in lobby
        ",
    );
}

#[test]
fn a_refused_join_opens_nothing() {
    check(
        &format!(
            "{ALICE_IN_LOBBY_AND_DEV}
            > type /join dev
            < -!- error: you are already in dev
            "
        ),
        "
        sent: /join dev
        windows: [1:lobby] [*2:dev]
        shown:
          -!- alice joined dev
          -!- topic of dev: all things dev
          <carol> said in dev before
          -!- error: you are already in dev
        ",
    );
}

#[test]
fn a_part_closes_the_window_once_the_server_confirms() {
    // Leaving the room talked in: the server names the next one.
    check(
        &format!(
            "{ALICE_IN_LOBBY_AND_DEV}
            < -!- alice joined ops
            > type /part
            < -!- alice left ops
            < -!- now talking in dev
            "
        ),
        "
        sent: /part
        windows: [1:lobby] [*2:dev]
        shown:
          -!- alice joined dev
          -!- topic of dev: all things dev
          <carol> said in dev before
          -!- alice left ops
          -!- now talking in dev
        ",
    );
}

#[test]
fn a_part_of_a_window_not_shown_leaves_the_view_alone() {
    check(
        &format!(
            "{ALICE_IN_LOBBY_AND_DEV}
            > type /part lobby
            < -!- alice left lobby
            < #lobby <bob> too late
            "
        ),
        "
        sent: /part lobby
        windows: [*1:dev]
        shown:
          -!- alice joined dev
          -!- topic of dev: all things dev
          <carol> said in dev before
          -!- alice left lobby
          <bob> too late
        ",
    );
}

#[test]
fn the_last_window_stays_as_the_window_of_no_room() {
    check(
        "
        < -!- Welcome, alice!
        < -!- alice joined lobby
        > type /part
        < -!- alice left lobby
        > type hello?
        < -!- error: you are in no room: /join one
        > Alt-1
        ",
        "
        sent: /part
        sent: hello?
        windows: [*1]
        shown:
          -!- Welcome, alice!
          -!- alice joined lobby
          -!- alice left lobby
          » <alice> hello?
          -!- error: you are in no room: /join one
        ",
    );
}

#[test]
fn private_messages_errors_and_nick_changes_go_to_the_window_shown() {
    check(
        &format!(
            "{ALICE_IN_LOBBY_AND_DEV}
            > Alt-1
            < -!- now talking in lobby
            < *bob* psst
            < -!- error: no such nick zed
            < -!- carol is now known as caz
            "
        ),
        "
        sent: /join lobby
        windows: [*1:lobby] [2:dev]
        shown:
          -!- Welcome, alice!
          -!- alice joined lobby
          <bob> said in lobby before
          *bob* psst
          -!- error: no such nick zed
          -!- carol is now known as caz
        ",
    );
}

#[test]
fn members_and_completion_follow_the_window_shown() {
    check(
        &format!(
            "{ALICE_IN_LOBBY_AND_DEV}
            < -!- members of lobby (2): alice bob
            < -!- members of dev (3): alice carla carol
            > Alt-1
            > type b
            > Alt-2
            > type ca
            "
        ),
        "
        sent: /join lobby
        sent: b
        sent: /join dev
        sent: ca
        windows: [1:lobby] [*2:dev]
        shown:
          -!- alice joined dev
          -!- topic of dev: all things dev
          <carol> said in dev before
          -!- members of dev (3): alice carla carol
          » <alice> ca
        ",
    );
    let mut app = App::new("s".to_owned(), "%H:%M".to_owned(), History::load(None));
    for line in ALICE_IN_LOBBY_AND_DEV
        .lines()
        .filter_map(|l| l.trim().strip_prefix("< "))
    {
        app.on_line(&format!("{STAMP} {line}"));
    }
    app.on_line(&format!("{STAMP} -!- members of lobby (2): alice bob"));
    app.on_line(&format!(
        "{STAMP} -!- members of dev (3): alice carla carol"
    ));
    for c in "ca".chars() {
        key(&mut app, KeyCode::Char(c), KeyModifiers::NONE);
    }
    key(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    assert_eq!(app.input.value(), "carla: ");
    key(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    key(&mut app, KeyCode::Char('1'), KeyModifiers::ALT);
    key(&mut app, KeyCode::Char('b'), KeyModifiers::NONE);
    key(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    assert_eq!(app.input.value(), "bob: ");
}

#[test]
fn after_a_reconnect_the_rejoins_land_in_the_windows_there_were() {
    // What the catch-up sends and lets through (catchup.rs): the default
    // room first, then each room again, then the room talked in.
    check(
        &format!(
            "{ALICE_IN_LOBBY_AND_DEV}
            > Alt-1
            < -!- now talking in lobby
            = reconnect
            < -!- Welcome, guest9!
            < -!- guest9 joined lobby
            < -!- guest9 is now known as alice
            < -!- alice joined dev
            < (history) <carol> said in dev while away
            < -!- now talking in lobby
            "
        ),
        "
        sent: /join lobby
        windows: [*1:lobby] [2:dev(1)]
        shown:
          -!- Welcome, alice!
          -!- alice joined lobby
          <bob> said in lobby before
          -!- Welcome, guest9!
          -!- guest9 joined lobby
          -!- guest9 is now known as alice
          -!- now talking in lobby
        ",
    );
}

#[test]
fn a_window_shown_while_disconnected_is_joined_before_a_line_said_there() {
    check(
        &format!(
            "{ALICE_IN_LOBBY_AND_DEV}
            = disconnect
            > Alt-1
            = reconnect
            < -!- Welcome, guest9!
            < -!- guest9 joined lobby
            < -!- guest9 is now known as alice
            < -!- alice joined dev
            > type hi lobby
            < -!- now talking in lobby
            "
        ),
        "
        sent: /join lobby
        sent: hi lobby
        windows: [*1:lobby] [2:dev]
        shown:
          -!- Welcome, alice!
          -!- alice joined lobby
          <bob> said in lobby before
          -!- Welcome, guest9!
          -!- guest9 joined lobby
          -!- guest9 is now known as alice
          » <alice> hi lobby
        ",
    );
}

#[test]
fn a_window_switch_while_disconnected_sends_nothing() {
    let mut app = App::new("s".to_owned(), "%H:%M".to_owned(), History::load(None));
    for line in ALICE_IN_LOBBY_AND_DEV
        .lines()
        .filter_map(|l| l.trim().strip_prefix("< "))
    {
        app.on_line(&format!("{STAMP} {line}"));
    }
    app.conn = ConnState::Disconnected;
    assert_eq!(
        key(&mut app, KeyCode::Char('1'), KeyModifiers::ALT),
        Action::None
    );
    assert_eq!(app.windows.shown_index(), 0);
}
