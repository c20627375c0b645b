//! The text of a block: a room's lines of one batch, one per line, as a
//! person reads them in the `sqlite3` shell and as the store reads them
//! back:
//!
//! ```text
//! #41 2026-11-30T17:00:00.123+01:00 <alice> hello
//! #42 2026-11-30T17:00:01.456+01:00 * alice waves
//! ```
//!
//! The id, when it was said (milliseconds and the server's UTC offset then:
//! the original stamp can be made again in any `timestamp` layout), then
//! the line as the room heard it. Writing a line is a copy into the
//! batch's buffer, not a database row: that is what keeps the store's cost
//! per line small (see `schema.rs`).

use std::fmt::Write as _;

use chat_hub::{Now, StoredLine};
use chrono::DateTime;
use chrono::format::{Item, StrftimeItems};

/// How a line's time is written: RFC 3339 with milliseconds.
pub(super) struct TimeFormat(Vec<Item<'static>>);

impl TimeFormat {
    pub(super) fn new() -> TimeFormat {
        TimeFormat(
            StrftimeItems::new("%Y-%m-%dT%H:%M:%S%.3f%:z")
                .parse_to_owned()
                .unwrap_or_default(),
        )
    }
}

/// Appends one line to a block's text.
#[allow(clippy::too_many_arguments)] // a line's fields, as the row has them
pub(super) fn push_line(
    block: &mut String,
    format: &TimeFormat,
    id: u64,
    time: Now,
    action: bool,
    nick: &str,
    text: &str,
) {
    let time = time.format_with_items(format.0.iter());
    // Writing into a String cannot fail.
    let _ = if action {
        writeln!(block, "#{id} {time} * {nick} {text}")
    } else {
        writeln!(block, "#{id} {time} <{nick}> {text}")
    };
}

/// The lines of a block of `room`, oldest first; a line that cannot be
/// read (edited by hand) is skipped.
pub(super) fn lines<'a>(
    room: &'a str,
    block: &'a str,
) -> impl DoubleEndedIterator<Item = StoredLine> + 'a {
    block.lines().filter_map(move |line| parse_line(room, line))
}

fn parse_line(room: &str, line: &str) -> Option<StoredLine> {
    let parts = split_line(line)?;
    Some(StoredLine {
        id: parts.id.parse().ok()?,
        room: room.to_owned(),
        nick: parts.nick.to_owned(),
        text: parts.text.to_owned(),
        action: parts.action,
        time: DateTime::parse_from_rfc3339(parts.time).ok()?,
    })
}

/// What each line of a block says (its text, without id, stamp or nick),
/// oldest first: what the search index holds.
pub(super) fn texts(block: &str) -> impl Iterator<Item = &str> {
    block
        .lines()
        .filter_map(|line| split_line(line).map(|parts| parts.text))
}

/// A line of a block, cut into its fields, unparsed.
struct Parts<'a> {
    id: &'a str,
    time: &'a str,
    action: bool,
    nick: &'a str,
    text: &'a str,
}

fn split_line(line: &str) -> Option<Parts<'_>> {
    let (id, rest) = line.strip_prefix('#')?.split_once(' ')?;
    let (time, said) = rest.split_once(' ')?;
    let (action, nick, text) = match said.strip_prefix("* ") {
        Some(said) => {
            let (nick, text) = said.split_once(' ')?;
            (true, nick, text)
        }
        None => {
            let (nick, text) = said.strip_prefix('<')?.split_once("> ")?;
            (false, nick, text)
        }
    };
    Some(Parts {
        id,
        time,
        action,
        nick,
        text,
    })
}

/// Whether `text` holds every word of `words` (each a phrase of its
/// tokens, as `/search` asks SQLite FTS5 with its default tokenizer:
/// letters and digits, case folded).
pub(super) fn holds_every_word(text: &str, words: &[Vec<String>]) -> bool {
    let have = tokens(text);
    words.iter().all(|phrase| {
        !phrase.is_empty()
            && have
                .windows(phrase.len())
                .any(|window| window.iter().eq(phrase.iter()))
    })
}

/// `text`'s tokens: runs of letters and digits, lower case.
pub(super) fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|token| !token.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, TimeZone};

    use super::*;

    #[test]
    fn a_block_reads_back_as_written() {
        let zone = FixedOffset::east_opt(3600).expect("an offset");
        let time = zone
            .timestamp_millis_opt(1_790_000_000_123)
            .single()
            .expect("a time");
        let format = TimeFormat::new();
        let mut block = String::new();
        push_line(
            &mut block,
            &format,
            41,
            time,
            false,
            "alice",
            "hello <b> #1 x",
        );
        push_line(&mut block, &format, 42, time, true, "alice", "waves  twice");
        assert_eq!(
            block,
            "#41 2026-09-21T15:13:20.123+01:00 <alice> hello <b> #1 x\n\
             #42 2026-09-21T15:13:20.123+01:00 * alice waves  twice\n"
        );
        let read: Vec<StoredLine> = lines("lobby", &block).collect();
        assert_eq!(read.len(), 2);
        assert_eq!((read[0].id, read[0].text.as_str()), (41, "hello <b> #1 x"));
        assert_eq!(read[0].time, time);
        assert_eq!(read[0].time.offset(), time.offset());
        assert!(read[1].action);
        assert_eq!(read[1].text, "waves  twice");
        assert_eq!(lines("lobby", "junk\n#x y\n").count(), 0);
        let said: Vec<&str> = texts(&block).collect();
        assert_eq!(said, ["hello <b> #1 x", "waves  twice"]);
    }

    #[test]
    fn words_match_as_the_index_tokenizes_them() {
        let words =
            |query: &str| -> Vec<Vec<String>> { query.split_whitespace().map(tokens).collect() };
        assert!(holds_every_word(
            "Deploy done, ALL green",
            &words("deploy green")
        ));
        assert!(holds_every_word("it's fine", &words("it's")));
        assert!(!holds_every_word("deployment", &words("deploy")));
        assert!(!holds_every_word("its fine", &words("it's")));
    }
}
