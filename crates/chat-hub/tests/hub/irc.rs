//! IRC clients in the same chat: registration and its welcome, channels
//! that are the rooms, lines both ways with line-protocol clients, and
//! what IRC alone asks.

use chat_hub::*;

use crate::support::Fixture;

/// A fixture with line clients 1 and 2 in lobby, and IRC connection 3
/// registered as `ircy` (its welcome taken).
fn with_irc(caps: &str) -> Fixture {
    let mut f = Fixture::with_clients(&[1, 2]);
    f.protocol = Protocol::Irc;
    f.connect(3);
    f.say(
        3,
        &format!("CAP LS 302\r\n{caps}CAP END\r\nNICK ircy\r\nUSER u 0 * :Irc Y\r\n"),
    );
    f.out.take(3);
    f
}

#[test]
fn an_irc_client_registers_and_is_welcomed_in_irc() {
    let mut f = Fixture::with_clients(&[1]);
    f.protocol = Protocol::Irc;
    f.connect(3);
    // Nothing is said before it registers, and a nick in use is refused.
    assert_eq!(f.out.take(3), "");
    f.say(
        3,
        "CAP LS 302\r\nNICK guest1\r\nNICK ircy\r\nUSER u 0 * :Irc Y\r\nCAP END\r\n",
    );
    insta::assert_snapshot!(f.out.take(3), @r"
    :chat.local CAP * LS :cap-notify message-tags server-time echo-message batch labeled-response multi-prefix away-notify extended-join setname
    :chat.local 432 * guest1 :Erroneus nickname
    :chat.local 001 ircy :Welcome to the chat.local IRC network, ircy
    :chat.local 002 ircy :Your host is chat.local, running version chat-0.0.0
    :chat.local 003 ircy :This server was created at its start
    :chat.local 004 ircy chat.local chat-0.0.0 o nt
    :chat.local 005 ircy NETWORK=chat.local CASEMAPPING=ascii CHANTYPES=# CHANLIMIT=#:20 PREFIX=(o)@ CHANMODES=,,, MODES=1 MAXTARGETS=1 NICKLEN=24 CHANNELLEN=33 TOPICLEN=390 AWAYLEN=200 KICKLEN=255 :are supported by this server
    :chat.local 005 ircy USERLEN=20 UTF8ONLY WHOX :are supported by this server
    :chat.local 251 ircy :There are 2 users and 0 invisible on 1 servers
    :chat.local 254 ircy 1 :channels formed
    :chat.local 255 ircy :I have 2 clients and 0 servers
    :chat.local 375 ircy :- chat.local Message of the day -
    :chat.local 372 ircy :- Type /help for commands.
    :chat.local 376 ircy :End of /MOTD command.
    ");
    // It is in no room: the lobby did not hear of it.
    assert_eq!(f.out.take(1), "");
}

#[test]
fn a_channel_is_a_room_and_lines_cross_between_protocols() {
    let mut f = with_irc("");
    f.say(3, "JOIN #lobby\r\n");
    insta::assert_snapshot!(f.out.take(3), @r"
    :ircy!ircy@chat.local JOIN #lobby
    :chat.local 353 ircy = #lobby :guest1 guest2 ircy
    :chat.local 366 ircy #lobby :End of /NAMES list
    ");
    assert_eq!(f.lines_for(1), ["-!- ircy joined lobby"]);
    f.say(1, "hello irc\n/me waves\n");
    f.say(
        3,
        "PRIVMSG #lobby :hello lines\r\nPRIVMSG #lobby :\u{1}ACTION bows\u{1}\r\n",
    );
    f.say(3, "PRIVMSG guest2 :psst\r\n");
    // CTCP's \x01 shown as ^A.
    insta::assert_snapshot!(f.out.take(3).replace('\u{1}', "^A"), @r"
    :guest1!guest1@chat.local PRIVMSG #lobby :hello irc
    :guest1!guest1@chat.local PRIVMSG #lobby :^AACTION waves^A
    ");
    assert_eq!(
        f.lines_for(2),
        [
            "-!- ircy joined lobby",
            "<guest1> hello irc",
            "* guest1 waves",
            "<ircy> hello lines",
            "* ircy bows",
            "*ircy* psst"
        ]
    );
    // Leaving: the room hears it as it hears any other leave.
    f.out.take(1);
    f.say(3, "PART #lobby\r\nQUIT :bye\r\n");
    assert_eq!(f.lines_for(1), ["-!- ircy left lobby"]);
}

#[test]
fn what_only_irc_asks_is_answered_in_numerics_and_refusals_too() {
    let mut f = with_irc("CAP REQ :echo-message\r\n");
    f.say(
        3,
        "PRIVMSG #nowhere :hi\r\nPRIVMSG nobody :hi\r\nJOIN #lobby\r\nJOIN #lobby\r\n",
    );
    f.say(
        3,
        "PRIVMSG #lobby :seen twice\r\nISON guest1 nobody\r\nMODE #lobby\r\nFROB\r\n",
    );
    f.say(
        3,
        "WHOIS guest2\r\nTOPIC #lobby :mine\r\nNICK guest2\r\nNICK 9lives\r\n",
    );
    // Joining a channel it is in says nothing; `seen twice` comes back
    // (echo-message); a guest nick is the server's to give (432).
    insta::assert_snapshot!(f.out.take(3), @r"
    :chat.local 403 ircy #nowhere :No such channel
    :chat.local 401 ircy nobody :No such nick/channel
    :ircy!ircy@chat.local JOIN #lobby
    :chat.local 353 ircy = #lobby :guest1 guest2 ircy
    :chat.local 366 ircy #lobby :End of /NAMES list
    :ircy!ircy@chat.local PRIVMSG #lobby :seen twice
    :chat.local 303 ircy guest1
    :chat.local 324 ircy #lobby +nt
    :chat.local 421 ircy FROB :Unknown command
    :chat.local 311 ircy guest2 guest2 chat.local * guest2
    :chat.local 319 ircy guest2 #lobby
    :chat.local 312 ircy guest2 chat.local chat
    :chat.local 318 ircy guest2 :End of /WHOIS list
    :chat.local 482 ircy #lobby :You're not channel operator
    :chat.local 432 ircy guest2 :Erroneus nickname
    :chat.local 432 ircy 9lives :Erroneus nickname
    ");
}

#[test]
fn a_labelled_command_is_answered_with_its_label_alone_in_one_line_or_in_a_batch() {
    let mut f = with_irc("CAP REQ :batch labeled-response away-notify\r\n");
    f.say(
        3,
        "@label=a1 PING x\r\n@label=a2 JOIN #lobby\r\n@label=a3 PRIVMSG #lobby :hi\r\n",
    );
    insta::assert_snapshot!(f.out.take(3), @r"
    @label=a1 :chat.local PONG chat.local x
    @label=a2 :chat.local BATCH +lr1 labeled-response
    @batch=lr1 :ircy!ircy@chat.local JOIN #lobby
    @batch=lr1 :chat.local 353 ircy = #lobby :guest1 guest2 ircy
    @batch=lr1 :chat.local 366 ircy #lobby :End of /NAMES list
    :chat.local BATCH -lr1
    @label=a3 :chat.local ACK
    ");
}

#[test]
fn away_and_setname_reach_those_who_asked() {
    let mut f = with_irc("CAP REQ :away-notify setname\r\n");
    f.protocol = Protocol::Irc;
    f.connect(4);
    f.say(4, "NICK other\r\nUSER o 0 * :Other\r\nJOIN #lobby\r\n");
    f.say(3, "JOIN #lobby\r\n");
    f.out.take(3);
    f.out.take(4);
    f.say(4, "AWAY :lunch\r\nSETNAME :New Name\r\nAWAY\r\n");
    f.say(3, "WHOIS other\r\n");
    insta::assert_snapshot!(f.out.take(3), @r"
    :other!other@chat.local AWAY :lunch
    :other!other@chat.local SETNAME :New Name
    :other!other@chat.local AWAY
    :chat.local 311 ircy other o chat.local * :New Name
    :chat.local 319 ircy other #lobby
    :chat.local 312 ircy other chat.local chat
    :chat.local 318 ircy other :End of /WHOIS list
    ");
}

#[test]
fn who_answers_in_352_or_in_the_whox_fields_asked() {
    let mut f = with_irc("");
    f.say(3, "JOIN #lobby\r\n");
    f.out.take(3);
    f.say(3, "WHO #lobby\r\nWHO #lobby %tcnf,42\r\n");
    insta::assert_snapshot!(f.out.take(3), @r"
    :chat.local 352 ircy #lobby guest1 chat.local chat.local guest1 H :0 guest1
    :chat.local 352 ircy #lobby guest2 chat.local chat.local guest2 H :0 guest2
    :chat.local 352 ircy #lobby u chat.local chat.local ircy H :0 Irc Y
    :chat.local 315 ircy #lobby :End of WHO list
    :chat.local 354 ircy 42 #lobby guest1 H
    :chat.local 354 ircy 42 #lobby guest2 H
    :chat.local 354 ircy 42 #lobby ircy H
    :chat.local 315 ircy #lobby :End of WHO list
    ");
}

#[test]
fn a_connection_that_talks_without_registering_is_closed() {
    let mut f = Fixture::with_clients(&[1]);
    f.protocol = Protocol::Irc;
    f.connect(3);
    f.say(3, &"PING x\r\n".repeat(100));
    let said = f.out.take(3);
    assert_eq!(said.matches("PONG").count(), 64, "{said}");
    assert!(
        said.ends_with("ERROR :Too many lines before registering\r\n"),
        "{said}"
    );
    assert!(f.out.closed.contains(&ClientId(3)), "closed");
}

#[test]
fn a_join_shows_the_real_name_to_those_who_asked_for_extended_join() {
    let mut f = with_irc("CAP REQ :extended-join\r\n");
    f.protocol = Protocol::Irc;
    f.connect(4);
    f.say(
        4,
        "NICK plain\r\nUSER p 0 * :Plain Person\r\nJOIN #lobby\r\n",
    );
    f.say(3, "JOIN #lobby\r\n");
    f.out.take(3);
    f.out.take(4);
    f.protocol = Protocol::Irc;
    f.connect(5);
    f.say(5, "NICK newbie\r\nUSER n 0 * :New Bie\r\nJOIN #lobby\r\n");
    // ircy asked: account (none) and real name; plain did not.
    assert_eq!(
        f.out.take(3),
        ":newbie!newbie@chat.local JOIN #lobby * :New Bie\r\n"
    );
    assert_eq!(f.out.take(4), ":newbie!newbie@chat.local JOIN #lobby\r\n");
}

#[test]
fn a_notice_is_never_answered_not_even_with_an_error() {
    let mut f = with_irc("");
    f.say(
        3,
        "NOTICE #nowhere :x\r\nNOTICE nobody :x\r\nNOTICE guest1\r\nNOTICE guest1 :hello\r\n",
    );
    assert_eq!(f.out.take(3), "");
    assert_eq!(f.lines_for(1), ["*ircy* hello"]);
}
