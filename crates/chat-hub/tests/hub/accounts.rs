//! Accounts: registering, logging in on several connections, nicks owned
//! by accounts, failures limited, and the operators' `/account`. The
//! account store is played by [`Store`], which answers as chat-server's
//! does, with plain passwords (argon2 is the store's, not the hub's).

use std::collections::BTreeMap;

use chat_hub::*;

use crate::support::*;

/// The account store's side: accounts by lower-case name.
#[derive(Default)]
pub(crate) struct Store {
    pub(crate) accounts: BTreeMap<String, (String, String, bool)>,
    /// Login tokens given out and not revoked: account key and token.
    tokens: Vec<(String, String)>,
}

impl Store {
    fn answer(&mut self, request: &AccountRequest) -> AccountOutcome {
        let key = |name: &str| name.to_ascii_lowercase();
        match request {
            AccountRequest::Login { name, password } => match self.accounts.get(&key(name)) {
                Some((name, _, true)) => AccountOutcome::Locked { name: name.clone() },
                Some((name, p, false)) if p == password.expose() => {
                    AccountOutcome::LoggedIn { name: name.clone() }
                }
                _ => AccountOutcome::WrongLogin,
            },
            AccountRequest::Register { name, password }
            | AccountRequest::Create {
                name,
                password: Some(password),
            } => {
                if self.accounts.contains_key(&key(name)) {
                    return AccountOutcome::Exists { name: name.clone() };
                }
                let record = (name.clone(), password.expose().to_owned(), false);
                self.accounts.insert(key(name), record);
                AccountOutcome::Created {
                    name: name.clone(),
                    password: None,
                }
            }
            AccountRequest::Lock(name) => match self.accounts.get_mut(&key(name)) {
                Some(account) => {
                    account.2 = true;
                    AccountOutcome::LockSet {
                        name: account.0.clone(),
                        locked: true,
                    }
                }
                None => AccountOutcome::NoSuchAccount { name: name.clone() },
            },
            AccountRequest::IssueToken { name } => {
                let token = format!("tok{}", self.tokens.len() + 1);
                self.tokens.push((key(name), token.clone()));
                AccountOutcome::TokenIssued {
                    token: Secret(token),
                    valid_hours: LOGIN_TOKEN_HOURS,
                }
            }
            AccountRequest::TokenLogin { name, token } => {
                let issued = (key(name), token.expose().to_owned());
                match self.accounts.get(&key(name)) {
                    Some((name, _, false)) if self.tokens.contains(&issued) => {
                        AccountOutcome::LoggedIn { name: name.clone() }
                    }
                    _ => AccountOutcome::WrongLogin,
                }
            }
            AccountRequest::RevokeToken { name, token } => {
                let issued = (key(name), token.expose().to_owned());
                self.tokens.retain(|t| *t != issued);
                AccountOutcome::TokenRevoked
            }
            AccountRequest::Return { .. } => AccountOutcome::Returned {
                mail: Vec::new(),
                markers: Vec::new(),
            },
            other => AccountOutcome::Failed(format!("not played here: {other:?}")),
        }
    }
}

/// A hub with an account store (empty), and the store.
pub(crate) fn with_accounts(settings: AccountSettings) -> (Fixture, Store) {
    let mut f = Fixture::new(HubConfig {
        accounts: settings,
        operators: vec![Operator {
            name: "root".into(),
            password_hash: cheap_hash("hunter2"),
        }],
        ..HubConfig::default()
    });
    f.hub.use_accounts(Vec::new());
    (f, Store::default())
}

impl Fixture {
    /// The store answers every request handed to it.
    pub(crate) fn answer_accounts(&mut self, store: &mut Store) {
        for task in std::mem::take(&mut self.out.account_tasks) {
            let reply = task.reply(store.answer(&task.request));
            self.hub.account_reply(&mut self.out, reply, self.time);
        }
    }

    pub(crate) fn run(&mut self, store: &mut Store, id: u64, line: &str) {
        self.say(id, line);
        self.answer_accounts(store);
    }
}

#[test]
fn a_registered_nick_is_its_accounts_and_the_holder_gets_it_back() {
    let (mut f, mut store) = with_accounts(AccountSettings::default());
    f.connect(1);
    f.run(&mut store, 1, "/nick alice\n/register correct-horse\n");
    let said = f.lines_for(1).join("\n");
    assert!(said.contains("-!- you are logged in as alice"), "{said}");
    assert_eq!(store.accounts.len(), 1);
    // A guest cannot take it while alice is away, in any case.
    f.say(1, "/quit\n");
    f.connect(2);
    f.out.take(2);
    f.say(2, "/nick ALICE\n");
    assert_eq!(
        f.lines_for(2),
        ["-!- error: nick ALICE belongs to an account: /login ALICE PASSWORD, or choose another"]
    );
    // A guest holding it before the account existed gives it up.
    let (mut f, mut store) = with_accounts(AccountSettings::default());
    store
        .accounts
        .insert("bob".into(), ("bob".into(), "bob-secret".into(), false));
    f.hub.use_accounts(vec![AccountSummary {
        name: "bob".into(),
        locked: false,
        created_ms: 0,
    }]);
    f.connect(3);
    f.connect(4);
    f.out.take(3);
    f.out.take(4);
    f.say(3, "/nick bob\n");
    assert!(f.lines_for(3)[0].contains("belongs to an account"));
    f.run(&mut store, 4, "/login bob bob-secret\n");
    let said = f.lines_for(4).join("\n");
    assert!(said.contains("guest2 is now known as bob"), "{said}");
    assert!(said.contains("-!- you are logged in as bob"), "{said}");
}

#[test]
fn a_guest_holding_an_accounts_nick_is_renamed_when_the_account_logs_in() {
    let (mut f, mut store) = with_accounts(AccountSettings {
        nick_enforcement: false,
        ..AccountSettings::default()
    });
    store
        .accounts
        .insert("bob".into(), ("bob".into(), "bob-secret".into(), false));
    f.connect(1);
    f.connect(2);
    f.say(1, "/nick bob\n");
    f.out.take(1);
    f.out.take(2);
    f.run(&mut store, 2, "/login bob bob-secret\n");
    let first = f.lines_for(1).join("\n");
    assert!(
        first.contains("your nick belongs to an account that logged in: you are a guest now"),
        "{first}"
    );
    assert!(first.contains("bob is now known as guest3"), "{first}");
    assert!(first.contains("guest2 is now known as bob"), "{first}");
}

#[test]
fn two_connections_of_one_account_share_its_nick_its_rooms_and_its_lines() {
    let (mut f, mut store) = with_accounts(AccountSettings::default());
    store.accounts.insert(
        "alice".into(),
        ("Alice".into(), "correct-horse".into(), false),
    );
    for id in [1, 2, 3] {
        f.connect(id);
    }
    f.run(&mut store, 1, "/login alice correct-horse\n");
    f.run(&mut store, 2, "/login ALICE correct-horse\n");
    for id in [1, 2, 3] {
        f.out.take(id);
    }
    // Both are Alice; /who lists her once.
    f.say(3, "/who\n");
    assert_eq!(f.lines_for(3), ["-!- members of lobby (2): Alice guest3"]);
    // A line said on one device shows on the other.
    f.say(1, "from the laptop\n");
    assert_eq!(f.lines_for(2), ["<Alice> from the laptop"]);
    assert_eq!(f.lines_for(3), ["<Alice> from the laptop"]);
    // A private message reaches both; the sender's other device shows it.
    f.say(3, "/msg alice psst\n");
    assert_eq!(f.lines_for(1), ["*guest3* psst"]);
    assert_eq!(f.lines_for(2), ["*guest3* psst"]);
    assert_eq!(f.lines_for(3), ["-> *Alice* psst"]);
    f.say(2, "/msg guest3 hi back\n");
    assert_eq!(f.lines_for(3), ["*Alice* hi back"]);
    assert_eq!(f.lines_for(2), ["-> *guest3* hi back"]);
    assert_eq!(f.lines_for(1), ["-> *guest3* hi back"]);
    // The second device joining a room the first is in is news to it alone.
    f.say(1, "/join dev\n");
    f.say(3, "/join dev\n");
    f.out.take(1);
    f.out.take(3);
    f.say(2, "/join dev\n");
    assert_eq!(f.lines_for(3), Vec::<String>::new());
    assert_eq!(f.lines_for(1), Vec::<String>::new());
    // Leaving on one device is no leave while the other stays.
    f.say(2, "/quit\n");
    assert_eq!(f.lines_for(3), Vec::<String>::new());
    f.say(1, "/quit\n");
    let left = f.lines_for(3).join("\n");
    assert!(left.contains("Alice left dev (quit)"), "{left}");
    // A logged-in client's nick is its account's.
    f.connect(4);
    f.run(&mut store, 4, "/login alice correct-horse\n");
    f.out.take(4);
    f.say(4, "/nick other\n");
    assert_eq!(
        f.lines_for(4),
        ["-!- error: you are logged in as Alice: /logout first"]
    );
    f.say(4, "/logout\n");
    let said = f.lines_for(4).join("\n");
    assert!(said.contains("-!- you are logged out"), "{said}");
    assert!(said.contains("Alice is now known as guest"), "{said}");
}

#[test]
fn an_account_takes_at_most_its_connections() {
    let (mut f, mut store) = with_accounts(AccountSettings {
        max_connections_per_account: 2,
        ..AccountSettings::default()
    });
    store.accounts.insert(
        "alice".into(),
        ("alice".into(), "correct-horse".into(), false),
    );
    for id in [1, 2, 3] {
        f.connect(id);
        f.run(&mut store, id, "/login alice correct-horse\n");
    }
    let third = f.lines_for(3).join("\n");
    assert!(
        third.contains(
            "-!- error: your account is connected 2 times, the most allowed: close one first"
        ),
        "{third}"
    );
}

#[test]
fn wrong_passwords_are_limited_per_address_and_one_check_is_in_flight() {
    let (mut f, mut store) = with_accounts(AccountSettings::default());
    store.accounts.insert(
        "alice".into(),
        ("alice".into(), "correct-horse".into(), false),
    );
    f.connect(1);
    f.out.take(1);
    // Two at once: the second waits for the first's answer.
    f.say(1, "/login alice wrong-horse1\n/login alice wrong-horse2\n");
    assert_eq!(
        f.lines_for(1),
        ["-!- error: your last account request is still being checked; wait for its answer"]
    );
    f.answer_accounts(&mut store);
    for n in 2..=5 {
        f.run(&mut store, 1, &format!("/login alice wrong-horse{n}\n"));
    }
    let said = f.lines_for(1);
    assert_eq!(
        said.iter()
            .filter(|l| l.contains("wrong account name or password"))
            .count(),
        5
    );
    // The address has used its failures: even the right password waits.
    f.run(&mut store, 1, "/login alice correct-horse\n");
    assert_eq!(
        f.lines_for(1),
        ["-!- error: too many failed logins from your address; try again later"]
    );
    // A short password never reaches the store.
    f.say(1, "/register short\n");
    assert!(f.out.account_tasks.is_empty());
}

#[test]
fn registration_follows_the_policy() {
    for (registration, refusal) in [
        (
            RegistrationPolicy::Operators,
            "-!- error: accounts are made by the operators on this server: ask one",
        ),
        (
            RegistrationPolicy::Closed,
            "-!- error: registration is closed on this server",
        ),
    ] {
        let (mut f, mut store) = with_accounts(AccountSettings {
            registration,
            ..AccountSettings::default()
        });
        f.connect(1);
        f.say(1, "/nick carol\n");
        f.out.take(1);
        f.run(&mut store, 1, "/register correct-horse\n");
        assert_eq!(f.lines_for(1), [refusal]);
        // Operators make accounts whatever the policy.
        f.run(&mut store, 1, "/oper root hunter2\n");
        f.out.take(1);
        f.run(&mut store, 1, "/account create dave correct-horse\n");
        assert_eq!(f.lines_for(1), ["-!- account dave created"]);
    }
    // A guest nick is no account name.
    let (mut f, mut store) = with_accounts(AccountSettings::default());
    f.connect(1);
    f.out.take(1);
    f.run(&mut store, 1, "/register correct-horse\n");
    assert_eq!(
        f.lines_for(1),
        ["-!- error: choose your nick first (/nick NAME): an account is named after it"]
    );
}

#[test]
fn a_locked_account_is_logged_out_everywhere_and_refused() {
    let (mut f, mut store) = with_accounts(AccountSettings::default());
    store.accounts.insert(
        "alice".into(),
        ("alice".into(), "correct-horse".into(), false),
    );
    f.connect(1);
    f.run(&mut store, 1, "/login alice correct-horse\n");
    f.out.take(1);
    f.console("/account lock alice");
    f.answer_accounts(&mut store);
    assert!(
        f.out.console.iter().any(|l| l == "account alice locked"),
        "{:?}",
        f.out.console
    );
    let said = f.lines_for(1).join("\n");
    assert!(said.contains("-!- you are logged out"), "{said}");
    f.run(&mut store, 1, "/login alice correct-horse\n");
    assert_eq!(f.lines_for(1), ["-!- error: account alice is locked"]);
    // Without the operator's rights, no /account.
    f.say(1, "/account list\n");
    assert_eq!(
        f.lines_for(1),
        ["-!- error: operators only: log in with /oper NAME PASSWORD"]
    );
}

#[test]
fn no_password_reaches_the_console() {
    let (mut f, mut store) = with_accounts(AccountSettings::default());
    f.connect(1);
    f.run(
        &mut store,
        1,
        "/nick erin\n/register tell-nobody-this\n/password tell-nobody-this new-secret-2\n",
    );
    f.run(&mut store, 1, "/logout\n/login erin wrong-secret-3\n");
    let console = f.out.console.join("\n");
    for secret in ["tell-nobody-this", "new-secret-2", "wrong-secret-3"] {
        assert!(!console.contains(secret), "{console}");
    }
}

#[test]
fn a_login_token_logs_in_another_connection_until_its_holder_logs_out() {
    let (mut f, mut store) = with_accounts(AccountSettings::default());
    f.connect(1);
    f.out.take(1);
    f.say(1, "/token\n");
    assert_eq!(f.lines_for(1), ["-!- error: you are not logged in"]);
    f.run(&mut store, 1, "/nick alice\n/register correct-horse\n");
    f.out.take(1);
    f.run(&mut store, 1, "/token\n");
    assert_eq!(f.lines_for(1), ["-!- login token: tok1 (valid 12h)"]);
    // The page's reconnect: a new connection, the token, no password.
    f.connect(2);
    f.out.take(2);
    f.run(&mut store, 2, "/resume ALICE tok1\n");
    let said = f.lines_for(2).join("\n");
    assert!(said.contains("-!- you are logged in as alice"), "{said}");
    assert_eq!(f.hub.account_of(ClientId(2)), Some("alice"));
    // Logging out on the connection that used it revokes it (the other
    // connection, which asked for it, keeps its session).
    f.run(&mut store, 2, "/logout\n");
    assert!(store.tokens.is_empty(), "{:?}", store.tokens);
    assert_eq!(f.hub.account_of(ClientId(1)), Some("alice"));
    f.out.take(2);
    f.run(&mut store, 2, "/resume alice tok1\n");
    assert_eq!(
        f.lines_for(2),
        ["-!- error: wrong account name or password"]
    );
    // A dropped connection does not revoke: its token is for the reconnect.
    f.run(&mut store, 1, "/token\n");
    f.say(1, "/quit\n");
    assert_eq!(store.tokens.len(), 1);
    assert!(!f.out.console.join("\n").contains("tok"));
}

#[test]
fn guessed_tokens_count_as_failed_logins() {
    let (mut f, mut store) = with_accounts(AccountSettings::default());
    store.accounts.insert(
        "alice".into(),
        ("alice".into(), "correct-horse".into(), false),
    );
    f.connect(1);
    f.out.take(1);
    for n in 1..=5 {
        f.run(&mut store, 1, &format!("/resume alice guess{n}\n"));
    }
    f.out.take(1);
    f.run(&mut store, 1, "/resume alice guess6\n");
    assert_eq!(
        f.lines_for(1),
        ["-!- error: too many failed logins from your address; try again later"]
    );
}

#[test]
fn failed_logins_to_one_account_from_many_addresses_cool_it_down() {
    let (mut f, mut store) = with_accounts(AccountSettings::default());
    store.accounts.insert(
        "alice".into(),
        ("alice".into(), "correct-horse".into(), false),
    );
    // Ten guessers, each from an address of its own (below its limit).
    for n in 0..10u64 {
        let id = 10 + n;
        f.connect_from(id, &format!("10.0.0.{}:4000", n + 1));
        f.out.take(id);
        f.run(&mut store, id, "/login alice wrong-horse\n");
        assert_eq!(
            f.lines_for(id),
            ["-!- error: wrong account name or password"]
        );
    }
    // The account cools down for everyone, even the right password.
    f.connect_from(30, "10.0.1.1:4000");
    f.out.take(30);
    f.run(&mut store, 30, "/login alice correct-horse\n");
    assert_eq!(
        f.lines_for(30),
        ["-!- error: too many failed logins to this account; try again later"]
    );
    // Five minutes later it may be tried again.
    f.time += chrono::Duration::seconds(301);
    f.run(&mut store, 30, "/login alice correct-horse\n");
    let said = f.lines_for(30).join("\n");
    assert!(said.contains("you are logged in as alice"), "{said}");
}
