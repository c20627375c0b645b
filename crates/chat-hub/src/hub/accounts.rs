//! The account commands routed (`/register`, `/login`, `/logout`,
//! `/password`, and the operators' `/account`), and what a reply from the
//! account store does: a login takes the account's nick (a guest holding
//! it is given a guest nick), a lock or a deletion logs its connections out.

use chat_proto::{AccountCommand, Body, Command, Notice, Refusal};

use crate::accounts::{
    AccountRecord, AccountReply, AccountRequest, AccountSummary, Asker, Effect, Refused, Secret,
};
use crate::chat::NickChange;
use crate::membership;
use crate::{ClientId, Now, Outbox};

use super::Hub;

impl Hub {
    /// The account store is there and holds these accounts.
    pub fn use_accounts(&mut self, accounts: Vec<AccountSummary>) {
        self.accounts.load(accounts);
    }

    /// The account `id` is logged in to, if any.
    pub fn account_of(&self, id: ClientId) -> Option<&str> {
        self.accounts.account_of(id)
    }

    /// `/register`, `/login`, `/logout`, `/password`, `/account` from
    /// client `id`.
    pub(super) fn account_command(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        command: Command<'_>,
        now: Now,
    ) {
        let Some(client) = self.chat.members().client(id) else {
            return;
        };
        let (nick, peer) = (client.nick.clone(), client.peer);
        let logged_in = self.accounts.account_of(id).map(str::to_owned);
        match (&command, logged_in.as_deref()) {
            (Command::Login { .. } | Command::Resume { .. }, Some(account)) => {
                let refusal = Refusal::LoggedInAs { account };
                return self.chat.refuse(out, id, refusal, now);
            }
            (Command::Password { .. } | Command::Token, None) => {
                return self.chat.refuse(out, id, Refusal::NotLoggedIn, now);
            }
            _ => {}
        }
        let account = logged_in.unwrap_or_default();
        let request = match command {
            Command::Register(password) => {
                if membership::reserved(&self.config, &nick).is_some() {
                    return self.chat.refuse(out, id, Refusal::RegisterNeedsNick, now);
                }
                AccountRequest::Register {
                    name: nick,
                    password: Secret(password.to_owned()),
                }
            }
            Command::Login { name, password } => AccountRequest::Login {
                name: name.to_owned(),
                password: Secret(password.to_owned()),
            },
            Command::Password { old, new } => AccountRequest::SetPassword {
                name: account,
                old: Secret(old.to_owned()),
                new: Secret(new.to_owned()),
            },
            Command::Token => AccountRequest::IssueToken { name: account },
            Command::Resume { name, token } => AccountRequest::TokenLogin {
                name: name.to_owned(),
                token: Secret(token.to_owned()),
            },
            Command::Logout => return self.logout(out, id, now),
            Command::Account(command) => {
                if self.operators.name_of(id).is_none() {
                    return self.chat.refuse(out, id, Refusal::OperatorsOnly, now);
                }
                admin_request(command)
            }
            _ => return,
        };
        self.ask_accounts(out, Asker::Client(id), Some(peer), request, now);
    }

    /// `/account …` typed at the console.
    pub(super) fn console_account(
        &mut self,
        out: &mut dyn Outbox,
        command: AccountCommand<'_>,
        now: Now,
    ) {
        let request = admin_request(command);
        self.ask_accounts(out, Asker::Console, None, request, now);
    }

    fn ask_accounts(
        &mut self,
        out: &mut dyn Outbox,
        asker: Asker,
        peer: Option<std::net::SocketAddr>,
        request: AccountRequest,
        now: Now,
    ) {
        if let Err(refused) = self.start_account_task(out, asker, peer, request, now) {
            self.tell_refused(out, asker, &refused, now);
        }
    }

    /// Hands `request` to the account store, or says why not.
    pub(super) fn start_account_task(
        &mut self,
        out: &mut dyn Outbox,
        asker: Asker,
        peer: Option<std::net::SocketAddr>,
        request: AccountRequest,
        now: Now,
    ) -> Result<(), Refused> {
        let settings = &self.config.accounts;
        let admission = &mut self.admission;
        let task = self
            .accounts
            .begin(settings, admission, asker, peer, request, now)?;
        if out.accounts(task.clone()) {
            return Ok(());
        }
        self.accounts.not_taken(&task);
        Err(Refused::Because(Refusal::VerifierBusy))
    }

    /// The account store answered.
    pub fn account_reply(&mut self, out: &mut dyn Outbox, reply: AccountReply, now: Now) {
        let settings = &self.config.accounts;
        let effect = self
            .accounts
            .reply(settings, &mut self.admission, reply, now);
        // SASL, `REGISTER` and NickServ answer in IRC's own words.
        let Some(effect) = self.irc_account_answer(out, effect, now) else {
            return;
        };
        match effect {
            Effect::None => {}
            Effect::LoggedIn { client, name } => self.logged_in(out, client, &name, now),
            Effect::Returned {
                client,
                mail,
                markers,
            } => self.welcome_back(out, client, mail, markers, now),
            Effect::Unclaimed(mail) => {
                for mail in mail {
                    self.keep_record(out, AccountRecord::Mail(mail));
                }
            }
            Effect::Token {
                client,
                token,
                valid_hours,
            } => {
                let notice = Notice::LoginToken {
                    token: token.expose(),
                    valid_hours,
                };
                self.chat.send(out, client, &Body::Notice(notice), now);
            }
            Effect::Refuse(asker, refused) => self.tell_refused(out, asker, &refused, now),
            Effect::Tell(asker, lines) => self.tell(out, asker, &lines, now),
            Effect::LoggedOut {
                asker,
                said,
                clients,
                deleted,
            } => {
                for client in clients {
                    self.logged_out(out, client, now);
                }
                if let Some(deleted) = deleted {
                    self.forget_account(&deleted);
                }
                out.console(&said);
                if asker != Asker::Console {
                    self.tell(out, asker, &[said], now);
                }
            }
        }
    }

    fn tell(&mut self, out: &mut dyn Outbox, asker: Asker, lines: &[String], now: Now) {
        match asker {
            Asker::Client(id) => lines
                .iter()
                .for_each(|line| self.chat.info(out, id, line, now)),
            Asker::Console => lines.iter().for_each(|line| out.console(line)),
        }
    }

    fn tell_refused(&mut self, out: &mut dyn Outbox, asker: Asker, refused: &Refused, now: Now) {
        match asker {
            Asker::Client(id) => self.chat.refuse(out, id, refused.refusal(), now),
            Asker::Console => out.console(&refused.refusal().to_string()),
        }
    }

    /// `client` proved it is account `name`: it takes the account's nick.
    pub(super) fn logged_in(
        &mut self,
        out: &mut dyn Outbox,
        client: ClientId,
        name: &str,
        now: Now,
    ) {
        let Some(peer) = self.chat.members().client(client).map(|c| c.peer) else {
            return;
        };
        self.take_nick(out, client, name, now);
        let nick = self.chat.members().nick(client).unwrap_or(name).to_owned();
        out.console(&format!("{nick} ({peer}) logged in as {name}"));
        self.irc_account_changed(out, client, Some(name));
        // SASL's 900 and 903 say it, or the notice does.
        if !self.irc_sasl_succeeded(out, client, name) {
            let notice = Notice::LoggedIn {
                nick: &nick,
                account: name,
            };
            self.chat.send(out, client, &Body::Notice(notice), now);
        }
        self.ask_return(out, client, name, now);
    }

    /// Asks the store what waited for account `name`, which `client` just
    /// logged in to: its messages and its read markers.
    pub(super) fn ask_return(
        &mut self,
        out: &mut dyn Outbox,
        client: ClientId,
        name: &str,
        now: Now,
    ) {
        let back = AccountRequest::Return {
            name: name.to_owned(),
        };
        self.ask_accounts(out, Asker::Client(client), None, back, now);
    }

    /// Gives `client` the nick `name`, taking it from a guest who holds it.
    pub(super) fn take_nick(
        &mut self,
        out: &mut dyn Outbox,
        client: ClientId,
        name: &str,
        now: Now,
    ) {
        if self.chat.members().nick(client) == Some(name) {
            return;
        }
        let holder = self.chat.members().owner(name);
        let holder = holder.filter(|&holder| holder != client);
        if holder.is_some_and(|h| self.accounts.account_of(h) == Some(name)) {
            // Another device of the account: they share the nick.
            if let Some(old) = self.chat.share_nick(&self.config, out, client, name, now) {
                self.node.renamed(&self.chat, out, client, &old, now);
            }
            return;
        }
        if let Some(guest) = holder {
            self.make_guest(out, guest, now);
        }
        let change = self.chat.check_nick(&self.config, out, client, name, now);
        if matches!(change, NickChange::New | NickChange::Recase)
            && let Some(old) = self.chat.rename(&self.config, out, client, name, now)
        {
            self.node.renamed(&self.chat, out, client, &old, now);
        }
    }

    /// `client` gives up its nick, which an account owns, for a guest one.
    pub(super) fn make_guest(&mut self, out: &mut dyn Outbox, client: ClientId, now: Now) {
        let tag = self.node.guest_tag();
        let guest = self.chat.members_mut().guest_nick(&self.config, &tag);
        let text = "your nick belongs to an account that logged in: you are a guest now";
        self.chat.info(out, client, text, now);
        if let Some(old) = self.chat.rename(&self.config, out, client, &guest, now) {
            self.node.renamed(&self.chat, out, client, &old, now);
        }
    }

    /// `/logout`: and the tokens this connection had are good no more.
    pub(super) fn logout(&mut self, out: &mut dyn Outbox, id: ClientId, now: Now) {
        let Some(key) = self.accounts.log_out(id) else {
            return self.chat.refuse(out, id, Refusal::NotLoggedIn, now);
        };
        for task in self.accounts.revoke_tokens(id, &key) {
            // A full queue loses the revocation; the token still expires.
            let _ = out.accounts(task);
        }
        self.logged_out(out, id, now);
    }

    /// `client` is no longer logged in: told so, and with enforcement it
    /// gives up the account's nick.
    fn logged_out(&mut self, out: &mut dyn Outbox, client: ClientId, now: Now) {
        let Some(nick) = self.chat.members().nick(client).map(str::to_owned) else {
            return;
        };
        let notice = Notice::LoggedOut { nick: &nick };
        self.chat.send(out, client, &Body::Notice(notice), now);
        self.irc_account_changed(out, client, None);
        let settings = &self.config.accounts;
        if !self.accounts.may_use_nick(settings, client, &nick) {
            self.make_guest(out, client, now);
        }
    }
}

/// What an operator's `/account` asks of the store.
fn admin_request(command: AccountCommand<'_>) -> AccountRequest {
    match command {
        AccountCommand::List => AccountRequest::List,
        AccountCommand::Lock(name) => AccountRequest::Lock(name.to_owned()),
        AccountCommand::Unlock(name) => AccountRequest::Unlock(name.to_owned()),
        AccountCommand::Delete(name) => AccountRequest::Delete(name.to_owned()),
        AccountCommand::Create { name, password } => AccountRequest::Create {
            name: name.to_owned(),
            password: password.map(|p| Secret(p.to_owned())),
        },
    }
}
