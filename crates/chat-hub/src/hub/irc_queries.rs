//! The questions only IRC asks, answered from the hub's state: `WHOIS`,
//! `WHO`, `ISON`, `USERHOST`, `AWAY`, `MODE`, `VERSION`, `TIME`, `MOTD`,
//! `LUSERS`; anything else is an unknown command (421).

use bytes::BytesMut;
use chat_irc::Message;
use chat_irc::numeric;
use chat_irc::render::channel;

use super::Hub;
use crate::{ClientId, Outbox};

impl Hub {
    /// The IRC command `command` (upper case) that is not an intent.
    pub(super) fn irc_query(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        command: &str,
        msg: &Message<'_>,
    ) {
        let Some(me) = self.chat.members().nick(id).map(str::to_owned) else {
            return;
        };
        let server = self.config.server_name.clone();
        let mut reply = BytesMut::new();
        let r = &mut reply;
        let s = server.as_str();
        let me = me.as_str();
        match command {
            "WHOIS" => {
                // `WHOIS [server] nick`: the nick is the last parameter.
                let nick = msg.param(1).or(msg.param(0)).unwrap_or_default();
                match self.chat.members().owner(nick) {
                    Some(them) => self.whois(r, me, them),
                    None if self.is_nickserv(nick) => self.whois_nickserv(r, me),
                    None => {
                        let _ = numeric::ERR_NOSUCHNICK.write_default(r, &[], s, me, &[nick]);
                        let _ = numeric::RPL_ENDOFWHOIS.write_default(r, &[], s, me, &[nick]);
                    }
                }
            }
            "WHO" => {
                let mask = msg.param(0).unwrap_or("*");
                self.who(r, me, mask, msg.param(1));
            }
            "ISON" => {
                let members = self.chat.members();
                let on: Vec<&str> = (msg.params.iter())
                    .flat_map(|param| param.split(' '))
                    .filter(|nick| !nick.is_empty() && members.owner(nick).is_some())
                    .chain(
                        (msg.params.iter())
                            .flat_map(|param| param.split(' '))
                            .find(|nick| self.is_nickserv(nick)),
                    )
                    .collect();
                let _ = numeric::RPL_ISON.write(r, &[], s, me, &[&on.join(" ")]);
            }
            "USERHOST" => {
                let members = self.chat.members();
                let found: Vec<String> = (msg.params.iter())
                    .filter_map(|nick| members.owner(nick).and_then(|them| members.nick(them)))
                    .map(|nick| format!("{nick}=+{nick}@{s}"))
                    .collect();
                let _ = numeric::RPL_USERHOST.write(r, &[], s, me, &[&found.join(" ")]);
            }
            "AWAY" => {
                let text = msg.param(0).filter(|text| !text.is_empty());
                let text = text.map(|text| {
                    let mut clean = String::new();
                    chat_proto::sanitize_text(text.as_bytes(), &mut clean);
                    clean
                });
                let numeric = match text {
                    Some(_) => numeric::RPL_NOWAWAY,
                    None => numeric::RPL_UNAWAY,
                };
                let told = text.clone();
                if let Some(session) = self.irc.session_mut(id) {
                    session.away = text;
                }
                let _ = numeric.write_default(r, &[], s, me, &[]);
                // Those who share a channel and asked (away-notify) hear it.
                let source = (*chat_irc::render::user(me, s)).to_owned();
                let params: Vec<&str> = told.as_deref().into_iter().collect();
                self.tell_channel_peers(
                    out,
                    id,
                    chat_irc::Cap::AwayNotify,
                    &source,
                    "AWAY",
                    &params,
                );
            }
            "SETNAME" => {
                let Some(name) = msg.param(0).filter(|name| !name.is_empty()) else {
                    let _ = numeric::ERR_NEEDMOREPARAMS.write_default(r, &[], s, me, &["SETNAME"]);
                    self.chat.send_wire(out, id, reply.freeze());
                    return;
                };
                let mut clean = String::new();
                chat_proto::sanitize_text(name.as_bytes(), &mut clean);
                let mut end = clean.len().min(chat_irc::registration::MAX_REALNAME_BYTES);
                while !clean.is_char_boundary(end) {
                    end -= 1;
                }
                clean.truncate(end);
                let source = (*chat_irc::render::user(me, s)).to_owned();
                let _ = chat_irc::write_text(r, &[], Some(&source), "SETNAME", &[&clean]);
                self.tell_channel_peers(
                    out,
                    id,
                    chat_irc::Cap::Setname,
                    &source,
                    "SETNAME",
                    &[&clean],
                );
                if let Some(client) = self.chat.members_mut().client_mut(id) {
                    client.realname = Some(clean);
                }
            }
            "MODE" => self.mode(r, id, me, msg),
            "VERSION" => {
                let _ = numeric::RPL_VERSION.write(r, &[], s, me, &[super::irc::VERSION, s, ""]);
            }
            "TIME" => {
                let _ = numeric::RPL_TIME.write(r, &[], s, me, &[s, "now"]);
            }
            "MOTD" => self.irc_motd(r, me),
            "LUSERS" => self.irc_lusers(r, me),
            _ => {
                let _ = numeric::ERR_UNKNOWNCOMMAND.write_default(r, &[], s, me, &[msg.command]);
            }
        }
        self.chat.send_wire(out, id, reply.freeze());
    }

    /// `source COMMAND params` to every IRC client that shares a channel
    /// with `id` and enabled `cap` (each once; `id` itself is answered
    /// apart).
    pub(super) fn tell_channel_peers(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        cap: chat_irc::Cap,
        source: &str,
        command: &str,
        params: &[&str],
    ) {
        let members = self.chat.members();
        let mut peers: Vec<ClientId> = (members.rooms_of(id).into_iter())
            .flat_map(|room| members.room(room).members.iter().copied())
            .filter(|&peer| peer != id)
            .filter(|&peer| members.client(peer).is_some_and(|c| c.caps.contains(cap)))
            .collect();
        peers.sort_unstable_by_key(|peer| peer.0);
        peers.dedup();
        let mut line = BytesMut::new();
        let _ = chat_irc::write_text(&mut line, &[], Some(source), command, params);
        let line = line.freeze();
        for peer in peers {
            self.chat.send_wire(out, peer, line.clone());
        }
    }

    /// The real name `id` gave, if it is an IRC client.
    fn realname_of(&self, id: ClientId) -> Option<&str> {
        self.chat.members().client(id)?.realname.as_deref()
    }

    fn whois(&self, r: &mut BytesMut, me: &str, them: ClientId) {
        let s = self.config.server_name.as_str();
        let members = self.chat.members();
        let Some(nick) = members.nick(them) else {
            return;
        };
        let user = self
            .irc_session(them)
            .map_or(nick, |session| session.user.as_str());
        let realname = self.realname_of(them).unwrap_or(nick);
        let _ = numeric::RPL_WHOISUSER.write(r, &[], s, me, &[nick, user, s, "*", realname]);
        let channels = self.channels_of(them);
        if !channels.is_empty() {
            let _ = numeric::RPL_WHOISCHANNELS.write(r, &[], s, me, &[nick, &channels]);
        }
        let _ = numeric::RPL_WHOISSERVER.write(r, &[], s, me, &[nick, s, "chat"]);
        if self.operators.name_of(them).is_some() {
            let _ = numeric::RPL_WHOISOPERATOR.write_default(r, &[], s, me, &[nick]);
        }
        if let Some(account) = self.accounts.account_of(them) {
            let _ = numeric::RPL_WHOISACCOUNT.write_default(r, &[], s, me, &[nick, account]);
        }
        if let Some(away) = self
            .irc_session(them)
            .and_then(|session| session.away.as_deref())
        {
            let _ = numeric::RPL_AWAY.write(r, &[], s, me, &[nick, away]);
        }
        let _ = numeric::RPL_ENDOFWHOIS.write_default(r, &[], s, me, &[nick]);
    }

    /// `WHO #room` (its local members) or `WHO nick`.
    /// `WHO mask [%fields[,token]]`: 352 lines, or with WHOX fields the
    /// 354 lines that hold just those.
    fn who(&self, r: &mut BytesMut, me: &str, mask: &str, whox: Option<&str>) {
        let s = self.config.server_name.as_str();
        let members = self.chat.members();
        let (listed, room): (Vec<ClientId>, &str) = match mask.strip_prefix('#') {
            Some(room) => match members.rooms().find(room) {
                Some(found) => (members.room(found).members.clone(), room),
                None => (Vec::new(), room),
            },
            None => (members.owner(mask).into_iter().collect(), ""),
        };
        let channel_name = if room.is_empty() {
            "*".to_owned()
        } else {
            (*channel(room)).to_owned()
        };
        for member in listed {
            let Some(nick) = members.nick(member) else {
                continue;
            };
            let user = self
                .irc_session(member)
                .map_or(nick, |session| session.user.as_str());
            let realname = self.realname_of(member).unwrap_or(nick);
            let away = self
                .irc_session(member)
                .is_some_and(|session| session.away.is_some());
            let mut flags = String::from(if away { "G" } else { "H" });
            if self.operators.name_of(member).is_some() {
                flags.push('*');
            }
            if let Some(fields) = whox.and_then(|whox| whox.strip_prefix('%')) {
                let (fields, token) = fields.split_once(',').unwrap_or((fields, ""));
                let values = WhoxValues {
                    token,
                    channel: &channel_name,
                    user,
                    server: s,
                    nick,
                    flags: &flags,
                    realname,
                    account: self.accounts.account_of(member).unwrap_or("0"),
                };
                let params = values.in_order(fields);
                let _ = numeric::RPL_WHOSPCRPL.write(r, &[], s, me, &params);
                continue;
            }
            let last = format!("0 {realname}");
            let _ = numeric::RPL_WHOREPLY.write(
                r,
                &[],
                s,
                me,
                &[&channel_name, user, s, s, nick, &flags, &last],
            );
        }
        let _ = numeric::RPL_ENDOFWHO.write_default(r, &[], s, me, &[mask]);
    }

    /// `MODE nick` and `MODE #room`: what there is to say of them; changes
    /// are refused, since the chat has no modes to set.
    fn mode(&self, r: &mut BytesMut, id: ClientId, me: &str, msg: &Message<'_>) {
        let s = self.config.server_name.as_str();
        let Some(target) = msg.param(0) else {
            let _ = numeric::ERR_NEEDMOREPARAMS.write_default(r, &[], s, me, &["MODE"]);
            return;
        };
        let change = msg.param(1);
        if let Some(room) = target.strip_prefix('#') {
            let members = self.chat.members();
            if members.rooms().find(room).is_none() {
                let _ = numeric::ERR_NOSUCHCHANNEL.write_default(r, &[], s, me, &[target]);
                return;
            }
            match change {
                None => {
                    let _ = numeric::RPL_CHANNELMODEIS.write(r, &[], s, me, &[target, "+nt"]);
                }
                // The ban list, asked by clients on joining: empty.
                Some("b" | "+b") if msg.param(2).is_none() => {
                    let _ = numeric::RPL_ENDOFBANLIST.write_default(r, &[], s, me, &[target]);
                }
                // An operator is told which modes the chat has not (472,
                // each); anyone else that it may not set them (482).
                Some(modes) if self.operators.name_of(id).is_some() => {
                    let letters = modes.chars().filter(|c| !matches!(c, '+' | '-'));
                    for letter in letters {
                        let mode = letter.to_string();
                        let _ = numeric::ERR_UNKNOWNMODE.write_default(r, &[], s, me, &[&mode]);
                    }
                }
                Some(_) => {
                    let _ = numeric::ERR_CHANOPRIVSNEEDED.write_default(r, &[], s, me, &[target]);
                }
            }
            return;
        }
        if !target.eq_ignore_ascii_case(me) {
            let _ = numeric::ERR_USERSDONTMATCH.write_default(r, &[], s, me, &[]);
            return;
        }
        match change {
            None => {
                let modes = if self.operators.name_of(id).is_some() {
                    "+o"
                } else {
                    "+"
                };
                let _ = numeric::RPL_UMODEIS.write(r, &[], s, me, &[modes]);
            }
            // Clients set +i on connecting: nothing to do, nothing to refuse.
            Some("+i" | "-i" | "+w" | "-w") => {}
            Some(_) => {
                let _ = numeric::ERR_UMODEUNKNOWNFLAG.write_default(r, &[], s, me, &[]);
            }
        }
    }
}

/// One member's values for a WHOX reply.
struct WhoxValues<'a> {
    token: &'a str,
    channel: &'a str,
    user: &'a str,
    server: &'a str,
    nick: &'a str,
    flags: &'a str,
    realname: &'a str,
    /// `0` for none, as WHOX writes it.
    account: &'a str,
}

impl<'a> WhoxValues<'a> {
    /// The fields `letters` asks for, in WHOX's fixed order (`tcuihsnfdlaor`),
    /// whatever order they were asked in; the realname last.
    fn in_order(&self, letters: &str) -> Vec<&'a str> {
        let mut params = Vec::new();
        for letter in "tcuihsnfdlaor".chars().filter(|&c| letters.contains(c)) {
            params.push(match letter {
                't' => self.token,
                'c' => self.channel,
                'u' => self.user,
                'i' => "255.255.255.255",
                'h' | 's' => self.server,
                'n' => self.nick,
                'f' => self.flags,
                'd' => "0",
                'l' => "0",
                'a' => self.account,
                'o' => "n/a",
                _ => self.realname,
            });
        }
        params
    }
}
