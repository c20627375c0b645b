//! Accounts from IRC: SASL PLAIN while registering, a nick an account owns
//! kept from who has not logged in, `REGISTER`, NickServ, and what others
//! see of a logged-in user (account-notify, account-tag, extended-join,
//! WHOIS). The account store is the one `accounts.rs` plays.

use chat_hub::*;

use crate::accounts::{Store, with_accounts};
use crate::support::Fixture;

/// `\0bob\0bob-secret`, base64.
const BOB_PLAIN: &str = "AGJvYgBib2Itc2VjcmV0";
/// `\0bob\0wrong-password`, base64.
const BOB_WRONG: &str = "AGJvYgB3cm9uZy1wYXNzd29yZA==";

/// The welcome's numerics after 001.
const WELCOME_DETAILS: &[&str] = &[
    "002", "003", "004", "005", "251", "254", "255", "375", "372", "376", "422",
];

/// A hub whose store holds account `bob` (password `bob-secret`).
pub(crate) fn with_bob() -> (Fixture, Store) {
    let (mut f, mut store) = with_accounts(AccountSettings::default());
    let bob = ("bob".to_owned(), "bob-secret".to_owned(), false);
    store.accounts.insert("bob".into(), bob);
    f.hub.use_accounts(vec![AccountSummary {
        name: "bob".into(),
        locked: false,
        created_ms: 0,
    }]);
    (f, store)
}

impl Fixture {
    /// IRC connection `id` registers as `nick` with `caps`, its welcome
    /// taken.
    pub(crate) fn irc_client(&mut self, id: u64, nick: &str, caps: &str) {
        self.protocol = Protocol::Irc;
        self.connect(id);
        let req = if caps.is_empty() {
            String::new()
        } else {
            format!("CAP REQ :{caps}\r\n")
        };
        self.say(
            id,
            &format!("CAP LS 302\r\n{req}CAP END\r\nNICK {nick}\r\nUSER u 0 * :R\r\n"),
        );
        self.out.take(id);
    }

    /// What `id` was sent, without the welcome's numerics but 001.
    /// (002–005, the users' count and the MOTD say nothing of accounts.)
    pub(crate) fn irc_lines(&mut self, id: u64) -> String {
        let all = self.out.take(id);
        let kept: Vec<&str> = all
            .lines()
            .filter(|line| {
                let code = line.split(' ').nth(1).unwrap_or("");
                !WELCOME_DETAILS.contains(&code)
            })
            .collect();
        kept.join("\n")
    }
}

#[test]
fn sasl_plain_logs_in_while_registering_and_registration_waits_for_it() {
    let (mut f, mut store) = with_bob();
    f.protocol = Protocol::Irc;
    f.connect(3);
    f.say(
        3,
        "CAP LS 302\r\nNICK b0b\r\nUSER u 0 * :Bob\r\nCAP REQ :sasl\r\nAUTHENTICATE PLAIN\r\n",
    );
    f.say(3, &format!("AUTHENTICATE {BOB_PLAIN}\r\nCAP END\r\n"));
    // The password is with the store: nothing is welcomed yet.
    insta::assert_snapshot!(f.irc_lines(3), @r"
    :chat.local CAP * LS :cap-notify message-tags server-time echo-message batch labeled-response multi-prefix away-notify extended-join setname sasl=PLAIN account-tag account-notify draft/account-registration
    :chat.local CAP b0b ACK :sasl
    AUTHENTICATE +
    ");
    f.answer_accounts(&mut store);
    insta::assert_snapshot!(f.irc_lines(3), @r"
    :chat.local 900 b0b b0b!b0b@chat.local bob :You are now logged in as bob
    :chat.local 903 b0b :SASL authentication successful
    :chat.local 001 bob :Welcome to the chat.local IRC network, bob
    ");
    assert_eq!(f.hub.account_of(ClientId(3)), Some("bob"));
}

#[test]
fn a_wrong_sasl_password_fails_and_an_accounts_nick_is_not_granted_without_it() {
    let (mut f, mut store) = with_bob();
    f.protocol = Protocol::Irc;
    f.connect(3);
    f.say(
        3,
        "CAP LS 302\r\nCAP REQ :sasl\r\nNICK bob\r\nUSER u 0 * :Bob\r\nAUTHENTICATE PLAIN\r\n",
    );
    f.say(3, &format!("AUTHENTICATE {BOB_WRONG}\r\n"));
    f.answer_accounts(&mut store);
    f.say(3, "CAP END\r\n");
    insta::assert_snapshot!(f.irc_lines(3), @r"
    :chat.local CAP * LS :cap-notify message-tags server-time echo-message batch labeled-response multi-prefix away-notify extended-join setname sasl=PLAIN account-tag account-notify draft/account-registration
    :chat.local CAP * ACK :sasl
    AUTHENTICATE +
    :chat.local 904 bob :SASL authentication failed
    :chat.local 001 guest1 :Welcome to the chat.local IRC network, guest1
    :NickServ!NickServ@services NOTICE guest1 :The nick bob belongs to an account: you are guest1 until you log in to it (SASL PLAIN, or /msg NickServ IDENTIFY bob <password>)
    ");
    // A client that never tried gets a guest nick too, and is told how.
    f.irc_client(4, "BOB", "");
    assert_eq!(f.hub.account_of(ClientId(4)), None);
    // NickServ is nobody's nick.
    f.protocol = Protocol::Irc;
    f.connect(8);
    f.say(8, "NICK nickserv\r\nNICK NickServ\r\n");
    insta::assert_snapshot!(f.irc_lines(8), @r"
    :chat.local 432 * nickserv :Erroneus nickname
    :chat.local 432 * NickServ :Erroneus nickname
    ");
}

#[test]
fn nickserv_identifies_and_others_see_the_account() {
    let (mut f, mut store) = with_bob();
    f.irc_client(
        4,
        "watcher",
        "account-notify account-tag extended-join message-tags",
    );
    f.irc_client(5, "b0b", "");
    f.say(4, "JOIN #dev\r\n");
    f.say(5, "JOIN #dev\r\n");
    f.out.take(4);
    f.out.take(5);
    f.say(5, "PRIVMSG NickServ :IDENTIFY bob wrong-password\r\n");
    f.answer_accounts(&mut store);
    f.say(5, "PRIVMSG NickServ :IDENTIFY bob bob-secret\r\n");
    f.answer_accounts(&mut store);
    insta::assert_snapshot!(f.irc_lines(5), @r"
    :NickServ!NickServ@services NOTICE b0b :wrong account name or password
    :b0b!b0b@chat.local NICK bob
    :chat.local 900 bob bob!bob@chat.local bob :You are now logged in as bob
    :NickServ!NickServ@services NOTICE bob :You are now identified for bob
    ");
    f.say(
        5,
        "PRIVMSG #dev :hi, it is me\r\nPART #dev\r\nJOIN #dev\r\n",
    );
    f.say(
        4,
        "WHOIS bob\r\nWHO #dev %na\r\nISON NickServ bob nobody\r\n",
    );
    insta::assert_snapshot!(f.irc_lines(4), @r"
    :b0b!b0b@chat.local NICK bob
    :bob!bob@chat.local ACCOUNT :bob
    @account=bob :bob!bob@chat.local PRIVMSG #dev :hi, it is me
    :bob!bob@chat.local PART #dev
    @account=bob :bob!bob@chat.local JOIN #dev bob :R
    :chat.local 311 watcher bob u chat.local * R
    :chat.local 319 watcher bob #dev
    :chat.local 312 watcher bob chat.local chat
    :chat.local 330 watcher bob bob :is logged in as
    :chat.local 318 watcher bob :End of /WHOIS list
    :chat.local 354 watcher watcher 0
    :chat.local 354 watcher bob bob
    :chat.local 315 watcher #dev :End of WHO list
    :chat.local 303 watcher :bob NickServ
    ");
    // The password went to the store, never to anyone's screen or log.
    let console = f.out.console.join("\n");
    assert!(!console.contains("bob-secret"), "{console}");
}

#[test]
fn register_and_nickserv_make_accounts_as_the_specifications_say() {
    let (mut f, mut store) = with_bob();
    f.irc_client(6, "carol", "draft/account-registration");
    f.say(6, "REGISTER dave * some-password\r\n");
    f.say(6, "REGISTER * * short\r\n");
    f.answer_accounts(&mut store);
    f.say(6, "REGISTER * * carol-password\r\n");
    f.answer_accounts(&mut store);
    f.say(6, "REGISTER * * carol-password\r\n");
    insta::assert_snapshot!(f.irc_lines(6), @r"
    :chat.local FAIL REGISTER ACCOUNT_NAME_MUST_BE_NICK dave :An account is named after your nick: give * or your nick
    :chat.local FAIL REGISTER UNACCEPTABLE_PASSWORD carol :a password has 8 to 256 bytes
    :chat.local REGISTER SUCCESS carol :Account carol registered: you are logged in to it
    :chat.local 900 carol carol!carol@chat.local carol :You are now logged in as carol
    :chat.local FAIL REGISTER ALREADY_AUTHENTICATED carol :you are logged in as carol: /logout first
    ");
    assert_eq!(f.hub.account_of(ClientId(6)), Some("carol"));
    f.irc_client(7, "erin", "");
    f.say(7, "PRIVMSG NickServ :REGISTER erin-password\r\n");
    f.answer_accounts(&mut store);
    f.say(
        7,
        "PRIVMSG NickServ :INFO\r\nPRIVMSG NickServ :INFO nobody\r\nPRIVMSG NickServ :HELP\r\n",
    );
    f.say(7, "NOTICE NickServ :HELP\r\n");
    insta::assert_snapshot!(f.irc_lines(7), @r"
    :chat.local 900 erin erin!erin@chat.local erin :You are now logged in as erin
    :NickServ!NickServ@services NOTICE erin :You are now identified for erin
    :NickServ!NickServ@services NOTICE erin :erin is a registered account, logged in on 1 connection(s)
    :NickServ!NickServ@services NOTICE erin :nobody is not a registered account
    :NickServ!NickServ@services NOTICE erin :NickServ keeps nicks for their accounts. Commands:
    :NickServ!NickServ@services NOTICE erin :  REGISTER <password>            make your nick an account
    :NickServ!NickServ@services NOTICE erin :  IDENTIFY [account] <password>  log in (your nick is the account by default)
    :NickServ!NickServ@services NOTICE erin :  INFO [account]                 whether a nick is an account
    :NickServ!NickServ@services NOTICE erin :  LOGOUT                         log out (a guest nick follows)
    :NickServ!NickServ@services NOTICE erin :Clients that speak SASL PLAIN log in as they connect.
    ");
}

#[test]
fn sasl_after_registering_logs_in_and_the_account_tags_private_and_echoed_lines() {
    let (mut f, mut store) = with_bob();
    f.irc_client(4, "watcher", "account-notify account-tag");
    f.irc_client(5, "b0b", "sasl account-tag echo-message");
    f.say(4, "JOIN #dev\r\n");
    f.say(5, "JOIN #dev\r\n");
    f.out.take(4);
    f.out.take(5);
    f.say(
        5,
        &format!("AUTHENTICATE PLAIN\r\nAUTHENTICATE {BOB_PLAIN}\r\n"),
    );
    f.answer_accounts(&mut store);
    f.say(5, "AUTHENTICATE PLAIN\r\n");
    f.say(5, "PRIVMSG #dev :echoed\r\nPRIVMSG watcher :psst\r\n");
    insta::assert_snapshot!(f.irc_lines(5), @r"
    AUTHENTICATE +
    :b0b!b0b@chat.local NICK bob
    :chat.local 900 bob bob!bob@chat.local bob :You are now logged in as bob
    :chat.local 903 bob :SASL authentication successful
    :chat.local 907 bob :You have already authenticated using SASL
    @account=bob :bob!bob@chat.local PRIVMSG #dev :echoed
    :bob!bob@chat.local PRIVMSG watcher :psst
    ");
    f.say(5, "PRIVMSG NickServ :LOGOUT\r\n");
    insta::assert_snapshot!(f.irc_lines(4), @r"
    :b0b!b0b@chat.local NICK bob
    :bob!bob@chat.local ACCOUNT :bob
    @account=bob :bob!bob@chat.local PRIVMSG #dev :echoed
    @account=bob :bob!bob@chat.local PRIVMSG watcher :psst
    :bob!bob@chat.local ACCOUNT :*
    :bob!bob@chat.local NICK guest1
    ");
    assert_eq!(f.hub.account_of(ClientId(5)), None);
}
