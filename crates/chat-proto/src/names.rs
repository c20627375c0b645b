//! Nicks and room names: what is allowed, and how they compare.

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
    BadChar(char),
}

impl std::fmt::Display for NameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameError::Empty => f.write_str("is empty"),
            NameError::TooLong { max } => write!(f, "is longer than {max} characters"),
            NameError::BadStart => f.write_str("must start with a letter"),
            NameError::BadChar(c) => {
                write!(
                    f,
                    "may not contain {c:?} (use letters, digits, '_' and '-')"
                )
            }
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
        return Err(NameError::BadChar(bad));
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
    room.strip_prefix('#').unwrap_or(room).to_ascii_lowercase()
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
            validate_nick("al\u{200b}ice"),
            Err(NameError::BadChar('\u{200b}'))
        );
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
    fn rooms() {
        assert_eq!(validate_room("#dev"), Ok(()));
        assert_eq!(validate_room("#"), Err(NameError::Empty));
        assert_eq!(room_key("#Dev"), "dev");
    }
}
