//! Refusals and departures counted by reason, for the metrics'
//! `chat_refused_total{reason=…}` and `chat_disconnects_total{reason=…}`.
//!
//! A refusal's label comes from its `Refusal` variant; a leave's is read
//! from the words the hub gives it (its room hears them too), in one place,
//! each label pinned by a test against the words the hub really uses.

use chat_proto::Refusal;

/// Counts per reason, in the order of the reason list they were made for
/// ([`REFUSALS`] or [`DISCONNECTS`]). Fixed size: counting allocates nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReasonCounts {
    counts: [u64; MAX_REASONS],
    names: &'static [&'static str],
}

const MAX_REASONS: usize = 12;

/// Why connections were turned away: the metrics' `reason` labels.
pub const REFUSALS: &[&str] = &[
    "full",
    "per_address",
    "ban",
    "failed_logins",
    "logins_in_progress",
    "password",
    "other",
];

/// Why clients left: the metrics' `reason` labels.
pub const DISCONNECTS: &[&str] = &[
    "quit",
    "closed",
    "queue_overflow",
    "error",
    "flood",
    "idle",
    "handshake_timeout",
    "kick",
    "ban",
    "other",
];

impl ReasonCounts {
    pub(crate) fn new(names: &'static [&'static str]) -> ReasonCounts {
        ReasonCounts {
            counts: [0; MAX_REASONS],
            names,
        }
    }

    /// Counts one for `reason` (one of the names this was made with; any
    /// other counts as `other`).
    pub(crate) fn add(&mut self, reason: &str) {
        let index = self
            .names
            .iter()
            .position(|&name| name == reason)
            .or_else(|| self.names.iter().position(|&name| name == "other"));
        if let Some(count) = index.and_then(|i| self.counts.get_mut(i)) {
            *count += 1;
        }
    }

    /// Every reason with its count, zeros included (a scraper sees each
    /// series from the start).
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.names.iter().copied().zip(self.counts.iter().copied())
    }

    /// All reasons together.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// The label of a connection turned away for `refusal`.
pub(crate) fn refusal_reason(refusal: &Refusal<'_>) -> &'static str {
    match refusal {
        Refusal::ServerFull => "full",
        Refusal::TooManyConnections => "per_address",
        Refusal::Banned => "ban",
        Refusal::TooManyFailures => "failed_logins",
        Refusal::WrongPassword => "password",
        Refusal::TooManyLogins => "logins_in_progress",
        _ => "other",
    }
}

/// The label for a leave the hub gives as `why` (its room hears it too).
pub(crate) fn disconnect_reason(why: &str) -> &'static str {
    let first = why.split(':').next().unwrap_or_default();
    match first {
        "quit" => "quit",
        "connection closed" => "closed",
        "connection error" => "error",
        "flooding" => "flood",
        "idle timeout" => "idle",
        "handshake timeout" => "handshake_timeout",
        "kicked" => "kick",
        _ if first.starts_with("too slow") => "queue_overflow",
        _ if first.starts_with("banned by ") => "ban",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Gone;
    use crate::sanctions::{ban_words, kick_words};

    #[test]
    fn every_reason_the_hub_words_has_its_label() {
        assert!(REFUSALS.len() <= MAX_REASONS && DISCONNECTS.len() <= MAX_REASONS);
        for (refusal, label) in [
            (Refusal::ServerFull, "full"),
            (Refusal::TooManyConnections, "per_address"),
            (Refusal::Banned, "ban"),
            (Refusal::TooManyFailures, "failed_logins"),
            (Refusal::TooManyLogins, "logins_in_progress"),
            (Refusal::WrongPassword, "password"),
        ] {
            assert_eq!(refusal_reason(&refusal), label, "{refusal}");
            assert!(REFUSALS.contains(&label), "{label}");
        }
        let kicked = kick_words("op", None).1;
        let kicked_why = kick_words("op", Some("spam: again")).1;
        let banned = ban_words("op").1;
        for (why, label) in [
            ("quit".to_owned(), "quit"),
            ("quit: bye".to_owned(), "quit"),
            (Gone::Closed.reason(), "closed"),
            (Gone::TooSlow.reason(), "queue_overflow"),
            (
                Gone::Failed(std::io::ErrorKind::ConnectionReset).reason(),
                "error",
            ),
            ("flooding".to_owned(), "flood"),
            ("idle timeout".to_owned(), "idle"),
            ("handshake timeout".to_owned(), "handshake_timeout"),
            (kicked, "kick"),
            (kicked_why, "kick"),
            (banned, "ban"),
            ("something new".to_owned(), "other"),
        ] {
            assert_eq!(disconnect_reason(&why), label, "{why}");
        }
    }

    #[test]
    fn counts_keep_every_label_and_unknown_ones_are_other() {
        let mut counts = ReasonCounts::new(DISCONNECTS);
        counts.add("kick");
        counts.add("kick");
        counts.add("nonsense");
        let seen: Vec<_> = counts.iter().filter(|&(_, n)| n > 0).collect();
        assert_eq!(seen, [("kick", 2), ("other", 1)]);
        assert_eq!(counts.iter().count(), DISCONNECTS.len());
        assert_eq!(counts.total(), 3);
    }
}
