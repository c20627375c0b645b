//! Nicks and room names: what is allowed, and how they compare.
//!
//! Names are ASCII, so no invisible, combining or look-alike character can be
//! part of one. An invisible character is refused with its own reason
//! ([`NameError::Invisible`]), naming its code point, since quoting it would
//! show nothing. On the server a client's line is sanitized before it is
//! parsed, and sanitizing already removes invisible characters
//! ([`crate::sanitize_text`]): `/nick al<U+200B>ice` asks for `alice`. The
//! refusal is for every other caller (configuration, a client checking a nick
//! before it sends one).

use std::borrow::Cow;

/// Longest nick, in bytes (nicks are ASCII).
pub const MAX_NICK_LEN: usize = 24;
/// Longest room name, in bytes (room names are ASCII).
pub const MAX_ROOM_LEN: usize = 32;

/// Why a nick or room name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong {
        max: usize,
    },
    /// The first character must be a letter.
    BadStart,
    /// A character drawn as nothing: a zero width space or joiner, a Hangul
    /// filler, a tag character, a bidi control…
    Invisible(char),
    BadChar(char),
}

impl std::fmt::Display for NameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameError::Empty => f.write_str("is empty"),
            NameError::TooLong { max } => write!(f, "is longer than {max} characters"),
            NameError::BadStart => f.write_str("must start with a letter"),
            NameError::Invisible(c) => write!(
                f,
                "may not contain the invisible character U+{:04X} (use letters, digits, '_' and '-')",
                u32::from(*c)
            ),
            NameError::BadChar(c) if c.is_ascii() => {
                write!(
                    f,
                    "may not contain {c:?} (use letters, digits, '_' and '-')"
                )
            }
            NameError::BadChar(c) => write!(
                f,
                "may not contain {c:?} (U+{:04X}; use letters, digits, '_' and '-')",
                u32::from(*c)
            ),
        }
    }
}

/// A nick is 1 to [`MAX_NICK_LEN`] ASCII letters, digits, `_` or `-`,
/// starting with a letter. Keeping nicks to ASCII is what makes look-alikes
/// impossible: no invisible, combining or homoglyph characters.
pub fn validate_nick(nick: &str) -> Result<(), NameError> {
    validate(nick, MAX_NICK_LEN)
}

/// A room name follows the nick rules with up to [`MAX_ROOM_LEN`] characters;
/// one leading `#` is allowed and is not part of the name.
pub fn validate_room(room: &str) -> Result<(), NameError> {
    validate(room.strip_prefix('#').unwrap_or(room), MAX_ROOM_LEN)
}

fn validate(name: &str, max: usize) -> Result<(), NameError> {
    let Some(first) = name.chars().next() else {
        return Err(NameError::Empty);
    };
    if let Some(bad) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    {
        return Err(if crate::sanitize::is_invisible(bad) {
            NameError::Invisible(bad)
        } else {
            NameError::BadChar(bad)
        });
    }
    if name.len() > max {
        return Err(NameError::TooLong { max });
    }
    if !first.is_ascii_alphabetic() {
        return Err(NameError::BadStart);
    }
    Ok(())
}

/// The form two nicks are compared in: `Alice` and `alice` are the same nick.
pub fn nick_key(nick: &str) -> String {
    nick.to_ascii_lowercase()
}

/// The form room names are compared in: `#Dev` and `dev` are the same room.
pub fn room_key(room: &str) -> String {
    room_key_of(room).into_owned()
}

/// [`room_key`], borrowed from `room` when it is already in that form (no
/// `#`, no capital): most lines name their room so.
pub fn room_key_of(room: &str) -> Cow<'_, str> {
    let room = room.strip_prefix('#').unwrap_or(room);
    match room.bytes().any(|b| b.is_ascii_uppercase()) {
        true => Cow::Owned(room.to_ascii_lowercase()),
        false => Cow::Borrowed(room),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicks() {
        assert_eq!(validate_nick("alice_2-x"), Ok(()));
        assert_eq!(validate_nick(""), Err(NameError::Empty));
        assert_eq!(validate_nick("2alice"), Err(NameError::BadStart));
        assert_eq!(validate_nick("al ice"), Err(NameError::BadChar(' ')));
        assert_eq!(
            validate_nick("аlice"),
            Err(NameError::BadChar('а')),
            "Cyrillic a"
        );
        assert_eq!(
            validate_nick(&"a".repeat(25)),
            Err(NameError::TooLong { max: 24 })
        );
        assert_eq!(nick_key("ALice"), "alice");
    }

    #[test]
    fn a_nick_with_an_invisible_character_is_refused_with_its_code_point() {
        for (nick, invisible) in [
            ("al\u{200b}ice", '\u{200b}'),
            ("alice\u{200d}", '\u{200d}'),
            ("al\u{3164}ice", '\u{3164}'),
            ("al\u{115f}ice", '\u{115f}'),
            ("al\u{ffa0}ice", '\u{ffa0}'),
            ("alice\u{e0041}", '\u{e0041}'),
            ("al\u{feff}ice", '\u{feff}'),
            ("al\u{2060}ice", '\u{2060}'),
            ("al\u{034f}ice", '\u{034f}'),
            ("al\u{202e}ice", '\u{202e}'),
        ] {
            assert_eq!(validate_nick(nick), Err(NameError::Invisible(invisible)));
            assert_eq!(validate_room(nick), Err(NameError::Invisible(invisible)));
        }
        assert_eq!(
            NameError::Invisible('\u{3164}').to_string(),
            "may not contain the invisible character U+3164 (use letters, digits, '_' and '-')"
        );
        assert_eq!(
            NameError::BadChar('а').to_string(),
            "may not contain 'а' (U+0430; use letters, digits, '_' and '-')"
        );
        assert_eq!(
            NameError::BadChar(' ').to_string(),
            "may not contain ' ' (use letters, digits, '_' and '-')"
        );
    }

    #[test]
    fn rooms() {
        assert_eq!(validate_room("#dev"), Ok(()));
        assert_eq!(validate_room("#"), Err(NameError::Empty));
        assert_eq!(room_key("#Dev"), "dev");
        assert!(matches!(room_key_of("#dev"), Cow::Borrowed("dev")));
        assert!(matches!(room_key_of("Dev"), Cow::Owned(key) if key == "dev"));
    }
}
