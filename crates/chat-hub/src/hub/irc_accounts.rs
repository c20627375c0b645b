//! Accounts as IRC clients use them: SASL `PLAIN` (before registering or
//! after), the nick a connection gets when it registers (its account's, or
//! a guest nick if it asked for one an account owns), `REGISTER`
//! (`draft/account-registration`), the NickServ service, and
//! `account-notify`. Every login goes through the hub's `Accounts` machine
//! like a line-protocol `/login`, keyed by the connection's id, which a
//! registering IRC connection already has; only the words of the answer
//! are IRC's.

use bytes::BytesMut;
use chat_irc::numeric;
use chat_irc::{Cap, Message, PlainCredentials, SaslStep};
use chat_proto::Refusal;

use super::Hub;
use crate::accounts::{AccountRequest, Asker, Effect, Secret};
use crate::irc::{self, Asked};
use crate::membership::{self, NICKSERV};
use crate::{ClientId, Now, Outbox};

/// NickServ's source on what it says.
const NICKSERV_SOURCE: &str = "NickServ!NickServ@services";

/// NickServ's `HELP`.
const NICKSERV_HELP: &[&str] = &[
    "NickServ keeps nicks for their accounts. Commands:",
    "  REGISTER <password>            make your nick an account",
    "  IDENTIFY [account] <password>  log in (your nick is the account by default)",
    "  INFO [account]                 whether a nick is an account",
    "  LOGOUT                         log out (a guest nick follows)",
    "Clients that speak SASL PLAIN log in as they connect.",
];

impl Hub {
    /// SASL credentials are whole: the account store checks them.
    pub(super) fn irc_sasl_login(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        peer: std::net::SocketAddr,
        credentials: &PlainCredentials,
        now: Now,
    ) {
        let Some(account) = credentials.account() else {
            return self.irc_sasl_answer(out, id, None, now);
        };
        let request = AccountRequest::Login {
            name: account.to_owned(),
            password: Secret(credentials.password.clone()),
        };
        if self
            .start_account_task(out, Asker::Client(id), Some(peer), request, now)
            .is_err()
        {
            self.irc_sasl_answer(out, id, None, now);
        }
    }

    /// `AUTHENTICATE` from a registered client.
    pub(super) fn irc_authenticate(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        msg: &Message<'_>,
        now: Now,
    ) {
        let Some(client) = self.chat.members().client(id) else {
            return;
        };
        if !client.caps.contains(Cap::Sasl) {
            return self.irc_reply(out, id, numeric::ERR_UNKNOWNCOMMAND, &["AUTHENTICATE"]);
        }
        if self.accounts.account_of(id).is_some() {
            return self.irc_reply(out, id, numeric::ERR_SASLALREADY, &[]);
        }
        let (nick, peer) = (client.nick.clone(), client.peer);
        let server = self.config.server_name.clone();
        let Some(session) = self.irc.session_mut(id) else {
            return;
        };
        let mut reply = BytesMut::new();
        let step = session.sasl.handle(msg, &server, &nick, &mut reply);
        self.chat.send_wire(out, id, reply.freeze());
        if let SaslStep::Plain(credentials) = step {
            self.irc_sasl_login(out, id, peer, &credentials, now);
        }
    }

    /// The account store answered a SASL login: `account` if it succeeded.
    fn irc_sasl_answer(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        account: Option<&str>,
        now: Now,
    ) {
        if self.irc.is_registering(id) {
            let server = irc::server(&self.config, self.store.is_on(), self.accounts.is_on());
            let Some(registering) = self.irc.registering_mut(id) else {
                return;
            };
            let mut reply = BytesMut::new();
            let registration = &mut registering.registration;
            let progress = match account {
                Some(account) => registration.sasl_succeeded(&server, &mut reply, account),
                None => registration.sasl_failed(&server, &mut reply),
            };
            let arrival = registering.arrival;
            if let Some(account) = account {
                out.console(&format!("{} logged in as {account} (SASL)", arrival.peer));
            }
            self.chat.send_wire(out, id, reply.freeze());
            return self.irc_progress(out, id, arrival, progress, now);
        }
        match account {
            // Its 900 and 903 are written once it has taken the nick.
            Some(account) => self.logged_in(out, id, account, now),
            None => {
                let server = self.config.server_name.clone();
                let nick = self.chat.members().nick(id).unwrap_or("*").to_owned();
                let Some(session) = self.irc.session_mut(id) else {
                    return;
                };
                let mut reply = BytesMut::new();
                session.sasl.failed(&mut reply, &server, &nick);
                self.chat.send_wire(out, id, reply.freeze());
            }
        }
    }

    /// `client`, a registered IRC client, logged in to `account` with
    /// SASL: 900 and 903 are written (true), or it did not use SASL.
    pub(super) fn irc_sasl_succeeded(
        &mut self,
        out: &mut dyn Outbox,
        client: ClientId,
        account: &str,
    ) -> bool {
        if !self.irc.is_authenticating(client) {
            return false;
        }
        let server = self.config.server_name.clone();
        let nick = self.chat.members().nick(client).unwrap_or("*").to_owned();
        let mask = (*chat_irc::render::user(&nick, &server)).to_owned();
        let Some(session) = self.irc.session_mut(client) else {
            return false;
        };
        let mut reply = BytesMut::new();
        session
            .sasl
            .succeeded(&mut reply, &server, (&nick, &mask), account);
        self.chat.send_wire(out, client, reply.freeze());
        true
    }

    /// The account store's answer, if an IRC client asked in IRC's words
    /// (SASL, `REGISTER`, NickServ): told here, and `None`; anything else
    /// is handed back.
    pub(super) fn irc_account_answer(
        &mut self,
        out: &mut dyn Outbox,
        effect: Effect,
        now: Now,
    ) -> Option<Effect> {
        let client = match &effect {
            Effect::LoggedIn { client, .. } => *client,
            Effect::Refuse(Asker::Client(client), _) | Effect::Tell(Asker::Client(client), _) => {
                *client
            }
            _ => return Some(effect),
        };
        if self.irc.is_authenticating(client) {
            let account = match &effect {
                Effect::LoggedIn { name, .. } => Some(name.as_str()),
                _ => None,
            };
            self.irc_sasl_answer(out, client, account, now);
            return None;
        }
        let asked = self.irc.session_mut(client).and_then(|s| s.asked.take());
        let Some(asked) = asked else {
            return Some(effect); // not asked in IRC's words
        };
        match (asked, effect) {
            (Asked::Register, Effect::LoggedIn { name, .. }) => {
                let text = format!("Account {name} registered: you are logged in to it");
                let server = self.config.server_name.clone();
                let mut reply = BytesMut::new();
                let _ = chat_irc::write_text(
                    &mut reply,
                    &[],
                    Some(&server),
                    "REGISTER",
                    &["SUCCESS", &name, &text],
                );
                self.chat.send_wire(out, client, reply.freeze());
                self.logged_in(out, client, &name, now);
            }
            (Asked::Register, Effect::Refuse(_, refused)) => {
                self.irc_register_failed(out, client, &refused.refusal());
            }
            // The store failed (its file): said in its words.
            (Asked::Register, Effect::Tell(_, lines)) => {
                let nick = self.chat.members().nick(client).unwrap_or("*").to_owned();
                let (code, why) = ("TEMPORARILY_UNAVAILABLE", lines.join(" "));
                self.irc_fail(out, client, "REGISTER", code, &[&nick], &why);
            }
            (Asked::NickServ, Effect::LoggedIn { name, .. }) => {
                self.logged_in(out, client, &name, now);
                self.nickserv_says(out, client, &format!("You are now identified for {name}"));
            }
            (Asked::NickServ, Effect::Refuse(_, refused)) => {
                let text = refused.refusal().to_string();
                self.nickserv_says(out, client, &text);
            }
            (Asked::NickServ, Effect::Tell(_, lines)) => {
                lines
                    .iter()
                    .for_each(|l| self.nickserv_says(out, client, l));
            }
            (_, effect) => return Some(effect),
        }
        None
    }

    /// The nick a connection registering with `asked` gets: its account's
    /// if it logged in with SASL (a guest holding it becomes a guest), a
    /// guest nick if an account owns `asked` and it is not logged in to
    /// it, or `asked`.
    pub(super) fn irc_nick_on_registering(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        asked: &str,
        now: Now,
    ) -> String {
        if let Some(account) = self.accounts.account_of(id).map(str::to_owned) {
            let holder = self.chat.members().owner(&account);
            let holder_account = holder.and_then(|h| self.accounts.account_of(h));
            match holder {
                None => return account,
                Some(guest) if holder_account != Some(account.as_str()) => {
                    self.make_guest(out, guest, now);
                    return account;
                }
                // Another device has it: shared once this one is a client.
                Some(_) => return asked.to_owned(),
            }
        }
        if self.accounts.may_use_nick(&self.config.accounts, id, asked) {
            return asked.to_owned();
        }
        let tag = self.node.guest_tag();
        self.chat.members_mut().guest_nick(&self.config, &tag)
    }

    /// After the welcome: a SASL login's account is on the client's record
    /// (and its nick shared with its other devices); a client that asked
    /// for an account's nick is told why it is a guest and how to log in.
    pub(super) fn irc_after_welcome(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        asked: &str,
        now: Now,
    ) {
        if let Some(account) = self.accounts.account_of(id).map(str::to_owned) {
            if let Some(client) = self.chat.members_mut().client_mut(id) {
                client.account = Some(account.clone());
            }
            if self.chat.members().nick(id) != Some(account.as_str()) {
                self.take_nick(out, id, &account, now);
            }
            // Logged in with SASL while registering: what waited for the
            // account (messages, read markers) now that it is a client.
            return self.ask_return(out, id, &account, now);
        }
        let nick = self.chat.members().nick(id).unwrap_or(asked).to_owned();
        if nick != asked {
            let text = format!(
                "The nick {asked} belongs to an account: you are {nick} until you log in to it \
                 (SASL PLAIN, or /msg NickServ IDENTIFY {asked} <password>)"
            );
            self.nickserv_says(out, id, &text);
        }
    }

    /// `client` logged in to `account` or out (`None`): its record says so,
    /// and IRC clients that share a channel with it and enabled
    /// `account-notify` are told.
    pub(super) fn irc_account_changed(
        &mut self,
        out: &mut dyn Outbox,
        client: ClientId,
        account: Option<&str>,
    ) {
        let Some(record) = self.chat.members_mut().client_mut(client) else {
            return;
        };
        record.account = account.map(str::to_owned);
        let source = (*chat_irc::render::user(&record.nick, &self.config.server_name)).to_owned();
        let said = account.unwrap_or("*");
        self.tell_channel_peers(out, client, Cap::AccountNotify, &source, "ACCOUNT", &[said]);
    }

    /// `REGISTER <account|*> <email|*> <password>` (the
    /// `draft/account-registration` specification): an account is named
    /// after the nick, so `<account>` is `*` or the nick.
    pub(super) fn irc_register(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        msg: &Message<'_>,
        now: Now,
    ) {
        let Some(nick) = self.chat.members().nick(id).map(str::to_owned) else {
            return;
        };
        let (Some(account), Some(_email), Some(password)) =
            (msg.param(0), msg.param(1), msg.param(2))
        else {
            return self.irc_reply(out, id, numeric::ERR_NEEDMOREPARAMS, &["REGISTER"]);
        };
        if account != "*" && chat_proto::nick_key(account) != chat_proto::nick_key(&nick) {
            let text = "An account is named after your nick: give * or your nick";
            return self.irc_fail(
                out,
                id,
                "REGISTER",
                "ACCOUNT_NAME_MUST_BE_NICK",
                &[account],
                text,
            );
        }
        if membership::reserved(&self.config, &nick).is_some() {
            return self.irc_register_failed(out, id, &Refusal::RegisterNeedsNick);
        }
        if let Some(account) = self.accounts.account_of(id) {
            let refusal = Refusal::LoggedInAs { account };
            let text = refusal.to_string();
            return self.irc_fail(
                out,
                id,
                "REGISTER",
                "ALREADY_AUTHENTICATED",
                &[&nick],
                &text,
            );
        }
        let request = AccountRequest::Register {
            name: nick,
            password: Secret(password.to_owned()),
        };
        self.ask_for_irc(out, id, Asked::Register, request, now);
    }

    /// `request` for the IRC client `id`, its answer to be told as `asked`
    /// says; a refusal at once is told the same way.
    fn ask_for_irc(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        asked: Asked,
        request: AccountRequest,
        now: Now,
    ) {
        let Some(peer) = self.chat.members().client(id).map(|c| c.peer) else {
            return;
        };
        match self.start_account_task(out, Asker::Client(id), Some(peer), request, now) {
            Ok(()) => {
                if let Some(session) = self.irc.session_mut(id) {
                    session.asked = Some(asked);
                }
            }
            Err(refused) => match asked {
                Asked::Register => self.irc_register_failed(out, id, &refused.refusal()),
                Asked::NickServ => {
                    let text = refused.refusal().to_string();
                    self.nickserv_says(out, id, &text);
                }
            },
        }
    }

    /// `FAIL REGISTER` with the code the specification gives `refusal`.
    fn irc_register_failed(&mut self, out: &mut dyn Outbox, id: ClientId, refusal: &Refusal<'_>) {
        let nick = self.chat.members().nick(id).unwrap_or("*").to_owned();
        let code = match refusal {
            Refusal::AccountExists { .. } => "ACCOUNT_EXISTS",
            Refusal::PasswordLength { .. } => "UNACCEPTABLE_PASSWORD",
            Refusal::LoggedInAs { .. } => "ALREADY_AUTHENTICATED",
            Refusal::NickInvalid { .. } | Refusal::RegisterNeedsNick => "BAD_ACCOUNT_NAME",
            _ => "TEMPORARILY_UNAVAILABLE",
        };
        let text = refusal.to_string();
        self.irc_fail(out, id, "REGISTER", code, &[&nick], &text);
    }

    /// Whether `nick` is the account service's, which answers here when
    /// accounts are on.
    pub(super) fn is_nickserv(&self, nick: &str) -> bool {
        self.accounts.is_on() && nick.eq_ignore_ascii_case(NICKSERV)
    }

    /// `WHOIS NickServ`.
    pub(super) fn whois_nickserv(&self, r: &mut BytesMut, me: &str) {
        let s = self.config.server_name.as_str();
        let params = [NICKSERV, NICKSERV, "services", "*", "Account service"];
        let _ = numeric::RPL_WHOISUSER.write(r, &[], s, me, &params);
        let _ = numeric::RPL_WHOISSERVER.write(r, &[], s, me, &[NICKSERV, s, "chat"]);
        let _ = numeric::RPL_ENDOFWHOIS.write_default(r, &[], s, me, &[NICKSERV]);
    }

    /// A `PRIVMSG` to NickServ: `REGISTER`, `IDENTIFY`, `INFO`, `HELP`.
    pub(super) fn irc_nickserv(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        text: &str,
        now: Now,
    ) {
        let Some(nick) = self.chat.members().nick(id).map(str::to_owned) else {
            return;
        };
        let mut words = text.split_whitespace();
        let command = words.next().unwrap_or("HELP").to_ascii_uppercase();
        let args: Vec<&str> = words.collect();
        match (command.as_str(), args.as_slice()) {
            ("IDENTIFY", [password]) => self.nickserv_identify(out, id, &nick, password, now),
            ("IDENTIFY", [account, password]) => {
                self.nickserv_identify(out, id, account, password, now);
            }
            ("REGISTER", [password, ..]) => {
                if let Some(account) = self.accounts.account_of(id) {
                    let text = Refusal::LoggedInAs { account }.to_string();
                    return self.nickserv_says(out, id, &text);
                }
                if membership::reserved(&self.config, &nick).is_some() {
                    let text = Refusal::RegisterNeedsNick.to_string();
                    return self.nickserv_says(out, id, &text);
                }
                let request = AccountRequest::Register {
                    name: nick,
                    password: Secret((*password).to_owned()),
                };
                self.ask_for_irc(out, id, Asked::NickServ, request, now);
            }
            ("INFO", []) => {
                let account = self.accounts.account_of(id).unwrap_or(&nick).to_owned();
                self.nickserv_info(out, id, &account);
            }
            ("INFO", [account]) => self.nickserv_info(out, id, account),
            ("LOGOUT", []) => self.logout(out, id, now),
            _ => NICKSERV_HELP
                .iter()
                .for_each(|line| self.nickserv_says(out, id, line)),
        }
    }

    fn nickserv_identify(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        account: &str,
        password: &str,
        now: Now,
    ) {
        if let Some(account) = self.accounts.account_of(id) {
            let text = Refusal::LoggedInAs { account }.to_string();
            return self.nickserv_says(out, id, &text);
        }
        let request = AccountRequest::Login {
            name: account.to_owned(),
            password: Secret(password.to_owned()),
        };
        self.ask_for_irc(out, id, Asked::NickServ, request, now);
    }

    fn nickserv_info(&mut self, out: &mut dyn Outbox, id: ClientId, name: &str) {
        let text = match self.accounts.info(name) {
            None => format!("{name} is not a registered account"),
            Some((name, locked, devices)) => {
                let locked = if locked { ", locked" } else { "" };
                format!(
                    "{name} is a registered account{locked}, logged in on {devices} connection(s)"
                )
            }
        };
        self.nickserv_says(out, id, &text);
    }

    /// A `NOTICE` from NickServ to `id`.
    fn nickserv_says(&mut self, out: &mut dyn Outbox, id: ClientId, text: &str) {
        let nick = self.chat.members().nick(id).unwrap_or("*").to_owned();
        let mut reply = BytesMut::new();
        let _ = chat_irc::write_text(
            &mut reply,
            &[],
            Some(NICKSERV_SOURCE),
            "NOTICE",
            &[&nick, text],
        );
        self.chat.send_wire(out, id, reply.freeze());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nickserv_is_reserved_whatever_its_case() {
        let config = crate::HubConfig::default();
        assert!(membership::reserved(&config, "nickserv").is_some());
        assert!(membership::reserved(&config, "NICKSERV").is_some());
        assert!(membership::reserved(&config, "nickservant").is_none());
    }
}
