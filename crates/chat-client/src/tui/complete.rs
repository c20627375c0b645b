//! Tab completion of nicks and `/commands` in the input line.
//!
//! The word before the cursor is completed: a first word starting with `/`
//! against the commands (from chat-proto's `/help` table), anything else
//! against the nicks seen in the room. Pressing Tab again cycles through the
//! candidates; any other key accepts the current one.

use chat_proto::Command;

/// The commands the server knows, e.g. `/nick`.
pub(crate) fn commands() -> Vec<&'static str> {
    Command::HELP
        .iter()
        .filter_map(|(usage, _)| usage.split(' ').next())
        .filter(|name| name.len() > 1 && !name.starts_with("//"))
        .collect()
}

/// A completion in progress: the line around the word and the candidates.
#[derive(Debug, Clone)]
pub(crate) struct Completion {
    /// The line up to the start of the word.
    head: String,
    /// The line after the cursor.
    tail: String,
    candidates: Vec<String>,
    /// What follows a candidate: `": "` after a nick that starts the line.
    suffix: &'static str,
    index: usize,
}

impl Completion {
    /// Start completing at `cursor` (a char index) in `line`; `None` when
    /// nothing matches.
    pub(crate) fn start<'a>(
        line: &str,
        cursor: usize,
        nicks: impl IntoIterator<Item = &'a str>,
    ) -> Option<Self> {
        let split = line
            .char_indices()
            .nth(cursor)
            .map_or(line.len(), |(at, _)| at);
        let (before, tail) = line.split_at(split);
        let word_start = before.rfind(' ').map_or(0, |at| at + 1);
        let (head, word) = before.split_at(word_start);
        if word.is_empty() {
            return None;
        }
        let lower = word.to_ascii_lowercase();
        let (mut candidates, suffix): (Vec<String>, _) = if head.is_empty() && word.starts_with('/')
        {
            let found = commands()
                .into_iter()
                .filter(|name| name.starts_with(&lower))
                .map(str::to_owned)
                .collect();
            (found, " ")
        } else {
            let found = nicks
                .into_iter()
                .filter(|nick| nick.to_ascii_lowercase().starts_with(&lower))
                .map(str::to_owned)
                .collect();
            (found, if head.is_empty() { ": " } else { " " })
        };
        if candidates.is_empty() {
            return None;
        }
        candidates.sort_by_key(|name| name.to_ascii_lowercase());
        candidates.dedup();
        Some(Self {
            head: head.to_owned(),
            tail: tail.to_owned(),
            candidates,
            suffix,
            index: 0,
        })
    }

    /// Move on to the next candidate (Tab pressed again).
    pub(crate) fn cycle(&mut self) {
        self.index = (self.index + 1) % self.candidates.len().max(1);
    }

    /// The completed line and the cursor (a char index) after the inserted word.
    pub(crate) fn line(&self) -> (String, usize) {
        let word = self.candidates.get(self.index).map_or("", String::as_str);
        let upto = format!("{}{word}{}", self.head, self.suffix);
        let cursor = upto.chars().count();
        (format!("{upto}{}", self.tail), cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NICKS: [&str; 3] = ["alice", "Albert", "bob"];

    #[test]
    fn a_nick_at_the_start_gets_a_colon() {
        let mut completion = Completion::start("al", 2, NICKS).expect("matches");
        assert_eq!(completion.line(), ("Albert: ".to_owned(), 8));
        completion.cycle();
        assert_eq!(completion.line(), ("alice: ".to_owned(), 7));
        completion.cycle();
        assert_eq!(completion.line(), ("Albert: ".to_owned(), 8));
    }

    #[test]
    fn a_nick_inside_the_line_keeps_the_rest() {
        let completion = Completion::start("hi B there", 4, NICKS).expect("matches");
        assert_eq!(completion.line(), ("hi bob  there".to_owned(), 7));
    }

    #[test]
    fn commands_complete_at_the_start_only() {
        let completion = Completion::start("/jo", 3, NICKS).expect("matches");
        assert_eq!(completion.line(), ("/join ".to_owned(), 6));
        assert!(Completion::start("x /jo", 5, NICKS).is_none());
        assert!(Completion::start("", 0, NICKS).is_none());
        assert!(commands().contains(&"/quit"));
        assert!(!commands().iter().any(|name| name.starts_with("//")));
    }
}
