//! Colours and timestamps: how a line looks, decided once per line.
//!
//! With colours off (`--color never`, or `NO_COLOR` with `--color auto`)
//! every style is plain: no foreground or background colour is ever sent,
//! only the text attributes that also work on a monochrome terminal (bold,
//! dim, reverse).

use chat_proto::{ParsedStamp, parse_stamp};
use chrono::format::{Item, StrftimeItems};
use chrono::{Local, TimeZone as _};
use ratatui::style::{Color, Modifier, Style};

/// Colours a nick can get: readable on dark and light backgrounds alike.
const NICK_COLORS: [Color; 12] = [
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightCyan,
];

/// The styles of the interface.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Theme {
    pub(crate) colors: bool,
}

impl Theme {
    /// A nick's own colour: the same nick always gets the same one
    /// (case-insensitively, like the server compares nicks).
    pub(crate) fn nick(self, nick: &str) -> Style {
        let style = Style::new().add_modifier(Modifier::BOLD);
        if !self.colors {
            return style;
        }
        let index = usize::try_from(fnv1a(&nick.to_ascii_lowercase()) % 12).unwrap_or(0);
        style.fg(NICK_COLORS.get(index).copied().unwrap_or(Color::Reset))
    }

    /// My own nick on my own lines.
    pub(crate) fn own_nick(self) -> Style {
        let style = Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED);
        if self.colors {
            style.fg(Color::Green)
        } else {
            style
        }
    }

    /// The `»` mark in front of my own lines.
    pub(crate) fn own_mark(self) -> Style {
        if self.colors {
            Style::new().fg(Color::Green)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    /// A line that mentions my nick.
    pub(crate) fn mention(self) -> Style {
        let style = Style::new().add_modifier(Modifier::BOLD);
        if self.colors {
            style.fg(Color::Black).bg(Color::Yellow)
        } else {
            style.add_modifier(Modifier::REVERSED)
        }
    }

    /// Server notices (`-!- ...`) and the client's own remarks.
    pub(crate) fn notice(self) -> Style {
        let style = Style::new().add_modifier(Modifier::DIM);
        if self.colors {
            style.fg(Color::Gray)
        } else {
            style
        }
    }

    /// Error notices.
    pub(crate) fn error(self) -> Style {
        if self.colors {
            Style::new().fg(Color::Red)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    /// Private messages.
    pub(crate) fn private(self) -> Style {
        if self.colors {
            Style::new().fg(Color::Magenta)
        } else {
            Style::new().add_modifier(Modifier::ITALIC)
        }
    }

    /// The timestamp column.
    pub(crate) fn time(self) -> Style {
        if self.colors {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    /// The status line.
    pub(crate) fn status(self) -> Style {
        if self.colors {
            Style::new().fg(Color::White).bg(Color::Blue)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    /// The shown window in the status line's window list: set apart from
    /// the status line's own colours (without colours: not reversed, in a
    /// reversed line).
    pub(crate) fn status_shown(self) -> Style {
        let style = Style::new().add_modifier(Modifier::BOLD);
        if self.colors {
            style.fg(Color::Black).bg(Color::White)
        } else {
            style.remove_modifier(Modifier::REVERSED)
        }
    }

    /// A window with unread lines, in the status line.
    pub(crate) fn status_unread(self) -> Style {
        let style = Style::new().add_modifier(Modifier::BOLD);
        if self.colors {
            style.fg(Color::LightCyan)
        } else {
            style
        }
    }

    /// A window with a line that mentions me, in the status line: as the
    /// line itself is marked.
    pub(crate) fn status_mention(self) -> Style {
        let style = Style::new().add_modifier(Modifier::BOLD);
        if self.colors {
            style.fg(Color::Black).bg(Color::Yellow)
        } else {
            style.add_modifier(Modifier::UNDERLINED)
        }
    }
}

/// FNV-1a: a fixed hash, so a nick keeps its colour across runs and builds.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Check a `--time-format` value: chrono panics on invalid strftime when
/// displaying, so it is refused up front.
pub(crate) fn parse_time_format(format: &str) -> Result<String, String> {
    if StrftimeItems::new(format).any(|item| matches!(item, Item::Error)) {
        Err(format!("not a valid strftime format: {format:?}"))
    } else {
        Ok(format.to_owned())
    }
}

/// The protocol stamp shown in local time with `format` (already checked by
/// [`parse_time_format`]); an unreadable stamp is shown as it came.
///
/// An RFC 3339 stamp names its offset and is converted to local time. A
/// `ctime`-layout stamp carries no zone; it is taken as local time (the
/// server's default `ctime` format is the server's local time, the same as
/// ours when both run in one zone).
pub(crate) fn local_time(stamp: &str, format: &str) -> String {
    match parse_stamp(stamp) {
        Some(ParsedStamp::Zoned(time)) => time.with_timezone(&Local).format(format).to_string(),
        Some(ParsedStamp::Naive(time)) => match Local.from_local_datetime(&time).earliest() {
            Some(local) => local.format(format).to_string(),
            None => time.format(format).to_string(),
        },
        None => stamp.to_owned(),
    }
}

/// Now, for lines the client shows itself.
pub(crate) fn now(format: &str) -> String {
    Local::now().format(format).to_string()
}

/// Does `text` mention `nick` as a whole word (case-insensitively)?
pub(crate) fn mentions(text: &str, nick: &str) -> bool {
    if nick.is_empty() {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    let nick = nick.to_ascii_lowercase();
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    lower.match_indices(&nick).any(|(at, _)| {
        let before = lower[..at].chars().next_back();
        let after = lower[at + nick.len()..].chars().next();
        !before.is_some_and(is_name) && !after.is_some_and(is_name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nick_colours_are_stable_and_case_insensitive() {
        let theme = Theme { colors: true };
        assert_eq!(theme.nick("alice"), theme.nick("ALICE"));
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(Theme { colors: false }.nick("alice").fg, None);
    }

    #[test]
    fn bad_time_formats_are_refused() {
        assert!(parse_time_format("%H:%M").is_ok());
        assert!(parse_time_format("%Q").is_err());
    }

    #[test]
    fn ctime_stamps_keep_their_wall_clock() {
        assert_eq!(
            local_time("Tue Nov 24 21:03:31 2026", "%H:%M:%S"),
            "21:03:31"
        );
        assert_eq!(local_time("garbage", "%H:%M"), "garbage");
    }

    #[test]
    fn mentions_are_whole_words() {
        assert!(mentions("hi Alice!", "alice"));
        assert!(mentions("alice: yo", "alice"));
        assert!(!mentions("malice", "alice"));
        assert!(!mentions("alice_2 there", "alice"));
        assert!(!mentions("anything", ""));
    }
}
