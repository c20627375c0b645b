//! Accounts over IRC, against the real binary: SASL PLAIN from the Python
//! client (a wrong password refused, the right one logging in before the
//! welcome) and from irssi in tmux, `REGISTER`
//! (`draft/account-registration`), NickServ's `IDENTIFY`, and what another
//! client sees of a logged-in user (`account-tag`, `account-notify`).
//! Accounts are made the way a user makes one: `/register` from a line
//! client.

use chat_tests::{ServerProcess, Tmux, require_tool};

use super::{Irc, irc, irc_script, nc, server};

/// `\0alice\0correct-horse`, base64 (SASL PLAIN's payload).
const ALICE_PLAIN: &str = "AGFsaWNlAGNvcnJlY3QtaG9yc2U=";
/// `\0alice\0wrong-horse!`, base64.
const ALICE_WRONG: &str = "AGFsaWNlAHdyb25nLWhvcnNlIQ==";

/// Account `alice` (password `correct-horse`), made by a line client that
/// then leaves.
fn with_alice(server: &ServerProcess) {
    let mut alice = nc(server, "alice");
    alice.send_line("/register correct-horse");
    alice.expect_body("-!- you are logged in as alice");
    alice.send_line("/quit");
}

impl Irc {
    /// `CAP LS 302`, `CAP REQ :sasl`, `NICK`, `USER`, then a SASL PLAIN
    /// exchange with `payload`; returns the numeric that ends it.
    fn sasl(&mut self, nick: &str, payload: &str) -> String {
        self.send(&["CAP", "LS", "302"]);
        let ls = self.expect("listing the capabilities", |l| {
            l.is("CAP") && l.param(1) == "LS"
        });
        assert!(ls.last().contains("sasl=PLAIN"), "{}", ls.raw);
        self.send(&["CAP", "REQ", "sasl"]);
        self.expect("acknowledging sasl", |l| l.is("CAP") && l.param(1) == "ACK");
        self.send(&["NICK", nick]);
        self.send(&["USER", nick, "0", "*", "SASL user"]);
        self.send(&["AUTHENTICATE", "PLAIN"]);
        self.expect("AUTHENTICATE +", |l| {
            l.is("AUTHENTICATE") && l.param(0) == "+"
        });
        self.send(&["AUTHENTICATE", payload]);
        let end = self.expect("ending SASL", |l| matches!(&*l.command, "903" | "904"));
        end.command
    }
}

#[test]
fn irc_sasl_plain_logs_in_before_the_welcome_and_takes_the_accounts_nick() {
    let Some(script) = irc_script() else { return };
    let server = server();
    with_alice(&server);

    let mut wrong = Irc::connect(&script, server.irc_addr());
    assert_eq!(wrong.sasl("mallory", ALICE_WRONG), "904");
    // Registration goes on without a login: a nick of its own is granted.
    wrong.send(&["CAP", "END"]);
    wrong.welcomed("mallory");
    wrong.send(&["NICK", "alice"]);
    let refused = wrong.expect_command("433");
    assert!(refused.last().contains("account"), "{}", refused.raw);

    let mut right = Irc::connect(&script, server.irc_addr());
    assert_eq!(right.sasl("someone", ALICE_PLAIN), "903");
    right.send(&["CAP", "END"]);
    // 900 came before 903, addressed by the nick it asked for; the welcome
    // is for the account's nick.
    right.welcomed("alice");
    right.send(&["WHOIS", "alice"]);
    let account = right.expect_command("330");
    assert_eq!(account.param(2), "alice", "{}", account.raw);
    // Neither the password nor its base64 reached the server's output.
    let report = server.report();
    for secret in ["correct-horse", "wrong-horse", ALICE_PLAIN, ALICE_WRONG] {
        assert!(!report.contains(secret), "{secret} in {report}");
    }
}

#[test]
fn irc_register_and_nickserv_identify_and_others_see_the_account() {
    let Some(script) = irc_script() else { return };
    let server = server();
    let mut carol = Irc::connect(&script, server.irc_addr());
    carol.register_with_caps("carol", &["draft/account-registration"]);
    carol.send(&["REGISTER", "*", "*", "carol-password"]);
    let success = carol.expect_command("REGISTER");
    assert_eq!(success.params[..2], ["SUCCESS", "carol"], "{}", success.raw);
    carol.expect_command("900");

    let mut watcher = Irc::connect(&script, server.irc_addr());
    watcher.register_with_caps("watcher", &["account-notify", "account-tag"]);
    watcher.join_lobby();
    let mut phone = irc(&script, &server, "carols-phone");
    phone.join_lobby();
    phone.send(&["PRIVMSG", "NickServ", "IDENTIFY carol carol-password"]);
    let notice = phone.expect("a notice from NickServ", |l| {
        l.is("NOTICE") && l.nick() == "NickServ"
    });
    assert!(
        notice.last().contains("identified for carol"),
        "{}",
        notice.raw
    );
    // Its second device: it shares the nick.
    let account = watcher.expect_command("ACCOUNT");
    assert_eq!(account.param(0), "carol", "{}", account.raw);
    phone.send(&["PRIVMSG", "#lobby", "from my phone"]);
    let said = watcher.expect("carol's line", |l| {
        l.is_privmsg("carol", "#lobby", "from my phone")
    });
    assert_eq!(said.tag("account"), Some("carol"), "{}", said.raw);
    // The password reached no one's screen and no log.
    assert!(!server.report().contains("carol-password"));
}

/// irssi's config: its defaults but the command queue (see `irssi.rs`),
/// and a network that logs in with SASL PLAIN.
fn irssi_config(port: u16) -> String {
    format!(
        "settings = {{ \"irc/core\" = {{ cmd_queue_speed = \"0msec\"; }}; }};\n\
         chatnets = {{ chat = {{ type = \"IRC\"; sasl_mechanism = \"PLAIN\"; \
         sasl_username = \"alice\"; sasl_password = \"correct-horse\"; }}; }};\n\
         servers = ( {{ address = \"127.0.0.1\"; port = \"{port}\"; chatnet = \"chat\"; \
         autoconnect = \"yes\"; use_tls = \"no\"; }} );\n"
    )
}

#[test]
fn irc_irssi_logs_in_with_sasl_and_gets_its_accounts_nick() {
    if require_tool("irssi").is_none() || require_tool("tmux").is_none() {
        return;
    }
    let server = server();
    with_alice(&server);
    let mut bob = nc(&server, "bob");
    let port = server.irc_addr().port();
    let irssi = Tmux::program("irssi", |home| {
        let config = home.join("config");
        std::fs::write(&config, irssi_config(port))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
        format!("irssi --home={} -n someone", home.display())
    });
    // irssi words 903 its own way.
    irssi.wait_for("SASL authentication succeeded");
    irssi.wait_for("Welcome to the chat.local IRC network, alice");
    irssi.type_text("/join #lobby");
    irssi.keys(&["Enter"]);
    bob.expect_body("-!- alice joined lobby");
    irssi.type_text("hello as alice");
    irssi.keys(&["Enter"]);
    bob.expect_body("<alice> hello as alice");
    irssi.type_text("/quit");
    irssi.keys(&["Enter"]);
    assert_eq!(irssi.wait_exit(), "0", "{}", irssi.screen());
}
