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

/// How a line's time is written: RFC 3339 with milliseconds. The lines of
/// a batch mostly share their second, so the stamp up to the second and
/// the zone are formatted once per second and reused: formatting with
/// chrono per line was most of what a line cost the store's thread.
pub(super) struct TimeFormat {
    /// The second (Unix) and UTC offset `seconds` and `zone` were made for.
    made_for: Option<(i64, i32)>,
    /// `2026-11-30T17:00:01`.
    seconds: String,
    /// `+01:00`.
    zone: String,
}

impl TimeFormat {
    pub(super) fn new() -> TimeFormat {
        TimeFormat {
            made_for: None,
            seconds: String::new(),
            zone: String::new(),
        }
    }

    /// Appends `time` to `out`.
    fn write(&mut self, out: &mut String, time: Now) {
        let key = (time.timestamp(), time.offset().local_minus_utc());
        if self.made_for != Some(key) {
            self.seconds.clear();
            self.zone.clear();
            let _ = write!(self.seconds, "{}", time.format("%Y-%m-%dT%H:%M:%S"));
            let _ = write!(self.zone, "{}", time.format("%:z"));
            self.made_for = Some(key);
        }
        out.push_str(&self.seconds);
        let _ = write!(out, ".{:03}", time.timestamp_subsec_millis().min(999));
        out.push_str(&self.zone);
    }
}

/// Appends one line to a block's text.
#[allow(clippy::too_many_arguments)] // a line's fields, as the row has them
pub(super) fn push_line(
    block: &mut String,
    format: &mut TimeFormat,
    id: u64,
    time: Now,
    action: bool,
    nick: &str,
    text: &str,
) {
    // Writing into a String cannot fail.
    let _ = write!(block, "#{id} ");
    format.write(block, time);
    if action {
        block.push_str(" * ");
        block.push_str(nick);
    } else {
        block.push_str(" <");
        block.push_str(nick);
        block.push('>');
    }
    block.push(' ');
    block.push_str(text);
    block.push('\n');
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
    fn stamps_are_what_chrono_writes_across_seconds_and_zones() {
        let mut format = TimeFormat::new();
        for (offset, ms) in [
            (3600, 1_790_000_000_123),
            (3600, 1_790_000_000_999),
            (3600, 1_790_000_001_000),
            (-19_800, 1_790_000_001_007),
            (0, 1_790_000_001_007),
            (0, 0),
        ] {
            let time = FixedOffset::east_opt(offset)
                .and_then(|zone| zone.timestamp_millis_opt(ms).single())
                .expect("a time");
            let mut out = String::new();
            format.write(&mut out, time);
            let chrono = time.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string();
            assert_eq!(out, chrono);
        }
    }

    #[test]
    fn a_block_reads_back_as_written() {
        let zone = FixedOffset::east_opt(3600).expect("an offset");
        let time = zone
            .timestamp_millis_opt(1_790_000_000_123)
            .single()
            .expect("a time");
        let mut format = TimeFormat::new();
        let mut block = String::new();
        push_line(
            &mut block,
            &mut format,
            41,
            time,
            false,
            "alice",
            "hello <b> #1 x",
        );
        push_line(
            &mut block,
            &mut format,
            42,
            time,
            true,
            "alice",
            "waves  twice",
        );
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
