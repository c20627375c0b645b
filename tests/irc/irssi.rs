//! irssi, the terminal IRC client, in tmux ([`Tmux::program`]): it
//! registers, joins `#lobby` as its user types, shows what a line client
//! says there, and what is typed reaches the line client.
//!
//! irssi runs with a home of its own (`--home`), so no user's config is
//! read; it holds a config of the test's ([`CONFIG`]). (Without one, on a
//! first run irssi writes its default config there and asks nothing.)

use chat_tests::{Tmux, require_tool};

use super::{MOTD, nc, server};

/// irssi's config: its defaults but one. irssi sends at most 5 commands
/// at once and then one every 2.2 s, its own flood protection; registering
/// takes those 5, so what the test types would wait seconds in irssi's
/// queue before it is sent. Sent at once, each wait is the server's.
const CONFIG: &str = "settings = { \"irc/core\" = { cmd_queue_speed = \"0msec\"; }; };\n";

#[test]
fn irc_irssi_joins_the_lobby_and_chats_with_a_line_client() {
    if require_tool("irssi").is_none() || require_tool("tmux").is_none() {
        return;
    }
    let server = server();
    let mut alice = nc(&server, "alice");
    let port = server.irc_addr().port();
    let irssi = Tmux::program("irssi", |home| {
        let config = home.join("config");
        std::fs::write(&config, CONFIG)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
        format!(
            "irssi --home={} -n irssiuser -c 127.0.0.1 -p {port}",
            home.display()
        )
    });
    // Registered: the MOTD is shown (in the status window).
    irssi.wait_for(MOTD);

    irssi.type_text("/join #lobby");
    irssi.keys(&["Enter"]);
    alice.expect_body("-!- irssiuser joined lobby");
    irssi.wait_for("has joined #lobby");

    alice.send_line("hello irssi");
    // `< alice>` or `<@alice>`: irssi pads the nick with its mode.
    irssi.wait("alice's line in #lobby", |screen| {
        screen.lines().any(|row| row.contains("alice> hello irssi"))
    });
    irssi.type_text("hello from irssi");
    irssi.keys(&["Enter"]);
    alice.expect_body("<irssiuser> hello from irssi");
    irssi.type_text("/me waves from a terminal");
    irssi.keys(&["Enter"]);
    alice.expect_body("* irssiuser waves from a terminal");
    alice.send_line("/me waves back");
    irssi.wait_for("* alice waves back");

    irssi.type_text("/quit see you");
    irssi.keys(&["Enter"]);
    alice.expect_body("-!- irssiuser left lobby (quit: see you)");
    assert_eq!(irssi.wait_exit(), "0", "{}", irssi.screen());
}
