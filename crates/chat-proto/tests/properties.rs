//! Property tests: encoding then parsing gives back what was encoded, and no
//! input, however hostile, makes a decoder or parser panic.

use bytes::BytesMut;
use chat_proto::{
    Body, Frame, LineDecoder, Notice, encode_line, parse_command, parse_line, sanitize_text,
};
use proptest::prelude::*;

fn nick() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_-]{0,23}"
}

/// Text as the server sends it: anything, once sanitized.
fn text() -> impl Strategy<Value = String> {
    any::<Vec<u8>>().prop_map(|bytes| {
        let mut out = String::new();
        sanitize_text(&bytes, &mut out);
        out
    })
}

/// Characters drawn as nothing, which sanitized text never contains (the
/// zero width joiner and variation selectors U+FE00–U+FE0F, kept where emoji
/// need them, are checked on their own).
const INVISIBLE: &[(char, char)] = &[
    ('\u{00ad}', '\u{00ad}'),
    ('\u{034f}', '\u{034f}'),
    ('\u{061c}', '\u{061c}'),
    ('\u{115f}', '\u{1160}'),
    ('\u{17b4}', '\u{17b5}'),
    ('\u{180b}', '\u{180f}'),
    ('\u{200b}', '\u{200c}'),
    ('\u{200e}', '\u{200f}'),
    ('\u{202a}', '\u{202e}'),
    ('\u{2060}', '\u{206f}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{feff}', '\u{feff}'),
    ('\u{ffa0}', '\u{ffa0}'),
    ('\u{1d173}', '\u{1d17a}'),
    ('\u{e0000}', '\u{e0fff}'),
];

const ZWJ: char = '\u{200d}';

fn is_invisible(c: char) -> bool {
    INVISIBLE.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

fn is_selector(c: char) -> bool {
    ('\u{fe00}'..='\u{fe0f}').contains(&c)
}

fn is_pictograph(c: char) -> bool {
    let c = u32::from(c);
    (0x1f000..=0x1faff).contains(&c)
        || (0x2600..=0x27bf).contains(&c)
        || (0x2b00..=0x2bff).contains(&c)
        || (0x2300..=0x23ff).contains(&c)
        || (0x2190..=0x21ff).contains(&c)
}

/// Bytes that mix text, emoji, escapes and every kind of invisible
/// character, with now and then an invalid byte.
fn hostile_text() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        "[a-z ]{1,3}".prop_map(String::into_bytes),
        prop::sample::select(vec![
            "😀", "👩", "🏳", "🌈", "❤", "♀", "⬛", "🏽", "é", "\x1b[1m", "\u{9b}1m"
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        prop::sample::select(INVISIBLE.to_vec())
            .prop_flat_map(|(lo, hi)| u32::from(lo)..=u32::from(hi))
            .prop_map(|c| char::from_u32(c).unwrap_or(' ').to_string().into_bytes()),
        Just(ZWJ.to_string().into_bytes()),
        (0xfe00u32..=0xfe0f)
            .prop_map(|c| char::from_u32(c).unwrap_or(' ').to_string().into_bytes()),
        Just(vec![0xff]),
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

fn round_trip(body: Body<'_>) -> Result<(), TestCaseError> {
    let mut out = BytesMut::new();
    encode_line(&mut out, "Mon Nov  3 08:05:09 2026", &body);
    let line = std::str::from_utf8(&out).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(
        line.matches('\n').count(),
        1,
        "one line per message: {:?}",
        line
    );
    let parsed = parse_line(line).map_err(|e| TestCaseError::fail(format!("{line:?}: {e}")))?;
    prop_assert_eq!(parsed.stamp, "Mon Nov  3 08:05:09 2026");
    prop_assert_eq!(parsed.body, body);
    Ok(())
}

proptest! {
    #[test]
    fn user_lines_round_trip(nick in nick(), other in nick(), text in text()) {
        round_trip(Body::Message { nick: &nick, text: &text })?;
        round_trip(Body::Action { nick: &nick, text: &text })?;
        round_trip(Body::Private { from: &nick, text: &text })?;
        round_trip(Body::PrivateSent { to: &other, text: &text })?;
        round_trip(Body::Operator { name: &nick, text: &text })?;
        round_trip(Body::History { nick: &nick, text: &text, action: false })?;
        round_trip(Body::History { nick: &nick, text: &text, action: true })?;
    }

    /// A numbered line is the plain line with its id: splitting the id off
    /// gives back both, and a plain line never yields an id, whatever its
    /// text holds.
    #[test]
    fn message_ids_split_off_exactly(nick in nick(), text in text(), id in any::<u64>(), history in any::<bool>()) {
        let body = if history {
            Body::History { nick: &nick, text: &text, action: false }
        } else {
            Body::Message { nick: &nick, text: &text }
        };
        let (mut plain, mut numbered) = (BytesMut::new(), BytesMut::new());
        encode_line(&mut plain, "Mon Nov  3 08:05:09 2026", &body);
        chat_proto::encode_line_with_id(&mut numbered, "Mon Nov  3 08:05:09 2026", id, &body);
        let plain = String::from_utf8_lossy(&plain);
        let numbered = String::from_utf8_lossy(&numbered);
        let (got, line) = chat_proto::split_message_id(&numbered);
        prop_assert_eq!(got, Some(id));
        prop_assert_eq!(line.as_ref(), plain.as_ref());
        let (none, same) = chat_proto::split_message_id(&plain);
        prop_assert_eq!(none, None);
        prop_assert_eq!(same.as_ref(), plain.as_ref());
    }

    #[test]
    fn notices_round_trip(nick in nick(), room in nick(), text in text(), count in 0usize..100_000) {
        round_trip(Body::Notice(Notice::Welcome { nick: &nick, motd: text.trim_start() }))?;
        round_trip(Body::Notice(Notice::Joined { nick: &nick, room: &room }))?;
        round_trip(Body::Notice(Notice::Left { nick: &nick, room: &room, reason: None }))?;
        let reason = text.replace(')', "]");
        round_trip(Body::Notice(Notice::Left { nick: &nick, room: &room, reason: Some(&reason) }))?;
        round_trip(Body::Notice(Notice::NickChanged { old: &nick, new: &room }))?;
        round_trip(Body::Notice(Notice::Members { room: &room, count, nicks: &text }))?;
        round_trip(Body::Notice(Notice::Rooms { count, list: &text }))?;
        round_trip(Body::Notice(Notice::Error { text: &text }))?;
        round_trip(Body::Notice(Notice::Topic { room: &room, text: &text }))?;
        round_trip(Body::Notice(Notice::Talking { room: &room }))?;
        round_trip(Body::Notice(Notice::LoggedIn { nick: "", account: &nick }))?;
        round_trip(Body::Notice(Notice::LoggedOut { nick: "" }))?;
        round_trip(Body::Notice(Notice::WhileAway { count }))?;
        let since = count as u64;
        round_trip(Body::Notice(Notice::Unread { target: &room, count, since }))?;
        round_trip(Body::Notice(Notice::MarkedRead { target: &room, through: since }))?;
        let hours = u32::try_from(count).unwrap_or(u32::MAX);
        round_trip(Body::Notice(Notice::LoginToken { token: &nick, valid_hours: hours }))?;
    }

    /// A room line from another room than the reader's current one reads
    /// back with its room, numbered or not, and the body unchanged.
    #[test]
    fn room_tagged_lines_round_trip(nick in nick(), room in nick(), text in text(), id in proptest::option::of(any::<u64>()), action in any::<bool>()) {
        let body = if action {
            Body::Action { nick: &nick, text: &text }
        } else {
            Body::Message { nick: &nick, text: &text }
        };
        let mut out = BytesMut::new();
        chat_proto::encode_room_line(&mut out, "Mon Nov  3 08:05:09 2026", id, Some(&room), &body);
        let line = String::from_utf8_lossy(&out);
        let (got, line) = chat_proto::split_message_id(&line);
        prop_assert_eq!(got, id);
        let parsed = parse_line(&line).map_err(|e| TestCaseError::fail(format!("{line:?}: {e}")))?;
        prop_assert_eq!(parsed.room, Some(room.as_str()));
        prop_assert_eq!(parsed.body, body);
    }

    #[test]
    fn line_decoder_matches_a_simple_split(input in proptest::collection::vec(
        prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a'), any::<u8>()], 0..300),
        cuts in proptest::collection::vec(0usize..300, 0..6),
    ) {
        // Feeding the input in any pieces gives the same frames as feeding it whole.
        let frames = |pieces: &[&[u8]]| {
            let mut decoder = LineDecoder::new(16);
            let mut out: Vec<Option<Vec<u8>>> = Vec::new();
            for piece in pieces {
                decoder.decode(piece, |f| out.push(match f {
                    Frame::Line(l) => Some(l.to_vec()),
                    Frame::TooLong => None,
                }));
            }
            decoder.finish(|f| out.push(match f {
                Frame::Line(l) => Some(l.to_vec()),
                Frame::TooLong => None,
            }));
            out
        };
        let whole = frames(&[&input]);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
        cuts.sort_unstable();
        let mut pieces = Vec::new();
        let mut start = 0;
        for cut in cuts {
            pieces.push(&input[start..cut]);
            start = cut;
        }
        pieces.push(&input[start..]);
        prop_assert_eq!(&frames(&pieces), &whole);
        for line in whole.iter().flatten() {
            prop_assert!(line.len() <= 16);
            let has_terminator = line.iter().any(|&b| b == b'\n' || b == b'\r');
            prop_assert!(!has_terminator, "terminator inside a line");
        }
    }

    #[test]
    fn sanitized_text_is_terminal_safe(bytes in any::<Vec<u8>>()) {
        let mut out = String::new();
        sanitize_text(&bytes, &mut out);
        let safe = out.chars().all(|c| c == '\t' || !c.is_control());
        prop_assert!(safe, "control character left in {:?}", out);
        prop_assert!(!out.contains(['\u{202e}', '\u{2028}']), "bidi override or line separator left");
        prop_assert!(!out.chars().any(is_invisible), "invisible character left in {:?}", out);
    }

    #[test]
    fn sanitized_text_has_no_invisible_characters(bytes in hostile_text()) {
        let mut out = String::new();
        sanitize_text(&bytes, &mut out);
        let chars: Vec<char> = out.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            prop_assert!(!is_invisible(c), "U+{:04X} left in {:?}", u32::from(c), out);
            prop_assert!(c == '\t' || !c.is_control(), "control character left in {:?}", out);
            let before = i.checked_sub(1).map(|j| chars[j]);
            if c == ZWJ {
                // Between two pictographs, the first maybe with its selector.
                let base = match before {
                    Some(s) if is_selector(s) => i.checked_sub(2).map(|j| chars[j]),
                    other => other,
                };
                prop_assert!(base.is_some_and(is_pictograph), "joiner after no pictograph in {:?}", out);
                let after = chars.get(i + 1).copied();
                prop_assert!(after.is_some_and(is_pictograph), "joiner before no pictograph in {:?}", out);
            }
            if is_selector(c) {
                let alone = before.is_some_and(|b| !is_selector(b) && b != ZWJ);
                prop_assert!(alone, "selector not directly after a character in {:?}", out);
            }
        }
        // Sanitizing is idempotent.
        let mut again = String::new();
        sanitize_text(out.as_bytes(), &mut again);
        prop_assert_eq!(again, out);
    }

    #[test]
    fn arbitrary_input_never_panics(bytes in any::<Vec<u8>>()) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_command(&text);
        let _ = parse_line(&text);
        let _ = chat_proto::parse_stamp(&text);
        let _ = chat_proto::raw_message(&bytes, 10);
    }
}
