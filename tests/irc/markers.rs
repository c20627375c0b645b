//! Read markers over IRC (`draft/read-marker`), against the real binary:
//! two connections of one account (SASL PLAIN from the Python client), one
//! marks a channel read with `MARKREAD` and both hear it; a `JOIN` tells
//! the marker; after a restart the marker's time is the same, and
//! `CHATHISTORY AFTER` it gives the lines not read.

use std::path::Path;

use chat_tests::ServerProcess;

use super::{Irc, irc_script, nc, server};

/// `\0alice\0correct-horse`, base64 (SASL PLAIN's payload).
const ALICE_PLAIN: &str = "AGFsaWNlAGNvcnJlY3QtaG9yc2U=";

impl Irc {
    /// A connection logged in to `alice` with SASL PLAIN, with
    /// `draft/read-marker`, `server-time` and `draft/chathistory` (with
    /// `batch`), welcomed.
    fn alice_with_markers(script: &Path, server: &ServerProcess) -> Irc {
        let mut irc = Irc::connect(script, server.irc_addr());
        irc.send(&["CAP", "LS", "302"]);
        let ls = irc.expect("listing the capabilities", |l| {
            l.is("CAP") && l.param(1) == "LS"
        });
        assert!(ls.last().contains("draft/read-marker"), "{}", ls.raw);
        irc.send(&[
            "CAP",
            "REQ",
            "sasl draft/read-marker server-time draft/chathistory batch",
        ]);
        irc.expect("acknowledging", |l| l.is("CAP") && l.param(1) == "ACK");
        // Not "alice": a NICK before the login is refused while another
        // connection holds it. The account's nick is granted with the
        // login.
        irc.send(&["NICK", "alices-device"]);
        irc.send(&["USER", "alice", "0", "*", "Alice"]);
        irc.send(&["AUTHENTICATE", "PLAIN"]);
        irc.expect_command("AUTHENTICATE");
        irc.send(&["AUTHENTICATE", ALICE_PLAIN]);
        irc.expect_command("903");
        irc.send(&["CAP", "END"]);
        // The first connection is welcomed as alice; a second one under
        // the nick it asked for, then joins the account's nick.
        let burst = irc.lines_until("ending the MOTD", |l| l.is("376") || l.is("422"));
        let welcomed = burst.iter().find(|l| l.is("001")).map(|l| l.param(0));
        if welcomed != Some("alice") {
            irc.expect("the account's nick", |l| {
                l.is("NICK") && l.param(0) == "alice"
            });
        }
        "alice".clone_into(&mut irc.nick);
        irc
    }

    /// The next `MARKREAD #dev` that names a time (one of `*` may come
    /// first: the account's markers come from the store after the login).
    fn marker_of_dev(&mut self) -> String {
        let line = self.expect("MARKREAD #dev with a time", |l| {
            l.is("MARKREAD") && l.param(0) == "#dev" && l.param(1).starts_with("timestamp=")
        });
        line.param(1).to_owned()
    }
}

#[test]
fn irc_markread_is_shared_by_two_connections_and_kept_across_a_restart() {
    let Some(script) = irc_script() else { return };
    let mut server = server();
    let mut alice = nc(&server, "alice");
    alice.send_line("/register correct-horse");
    alice.expect_body("-!- you are logged in as alice");
    alice.send_line("/quit");
    let mut carol = nc(&server, "carol");
    carol.send_line("/join dev");
    carol.expect_contains("joined dev");

    let mut laptop = Irc::alice_with_markers(&script, &server);
    laptop.send(&["JOIN", "#dev"]);
    let joined = laptop.lines_until("ending the NAMES of #dev", |l| {
        l.is("366") && l.param(1) == "#dev"
    });
    let marker = joined.iter().find(|l| l.is("MARKREAD"));
    assert_eq!(
        marker.map(|l| l.params.clone()),
        Some(vec!["#dev".to_owned(), "*".to_owned()]),
        "no marker yet, told before the names end: {joined:?}"
    );
    let mut phone = Irc::alice_with_markers(&script, &server);
    phone.send(&["JOIN", "#dev"]);
    phone.expect_command("366");

    carol.send_line("one");
    let one = laptop.expect("carol's line", |l| l.is_privmsg("carol", "#dev", "one"));
    let time = one
        .tag("time")
        .unwrap_or_else(|| panic!("no time: {}", one.raw));
    let at = format!("timestamp={time}");
    laptop.send(&["MARKREAD", "#dev", &at]);
    assert_eq!(laptop.marker_of_dev(), at);
    assert_eq!(phone.marker_of_dev(), at, "the other connection hears it");
    phone.send(&["MARKREAD", "#dev"]);
    assert_eq!(phone.marker_of_dev(), at, "asked");

    for text in ["two", "three"] {
        carol.send_line(text);
    }
    carol.sync();
    laptop.expect("carol's last line", |l| {
        l.is_privmsg("carol", "#dev", "three")
    });
    server.stop();
    server.restart();

    let mut again = Irc::alice_with_markers(&script, &server);
    again.send(&["JOIN", "#dev"]);
    assert_eq!(again.marker_of_dev(), at, "the time survived the restart");
    // What it has not read, the IRC way: the history after the marker.
    again.send(&["CHATHISTORY", "AFTER", "#dev", &at, "10"]);
    let after = again.lines_until("the end of the batch", |l| {
        l.is("BATCH") && l.param(0).starts_with('-')
    });
    let texts: Vec<&str> = (after.iter())
        .filter(|l| l.is("PRIVMSG"))
        .map(|l| l.last())
        .collect();
    assert_eq!(texts, ["two", "three"], "{after:?}");
}
