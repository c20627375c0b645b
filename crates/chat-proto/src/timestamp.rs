//! The `[stamp]` every server line starts with: formats, a per-second cache, parsing.
//!
//! The time is always passed in: this module reads no clock.

use chrono::{DateTime, FixedOffset, NaiveDateTime, SecondsFormat, Utc};

/// How the server writes timestamps (`timestamp` in server.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampFormat {
    /// C's `ctime()` layout in the server's local time: `Mon Nov  3 08:05:09 2026`
    /// (the day of the month is padded with a space). The tutorial's format.
    #[default]
    Ctime,
    /// The `ctime()` layout in UTC.
    Utc,
    /// RFC 3339 with the server's UTC offset: `2026-11-03T08:05:09+01:00`
    /// (`Z` when the offset is zero).
    Rfc3339,
}

impl TimestampFormat {
    /// Every format with its name in server.toml, in the order documented.
    pub const NAMES: [(&'static str, TimestampFormat); 3] = [
        ("ctime", TimestampFormat::Ctime),
        ("utc", TimestampFormat::Utc),
        ("rfc3339", TimestampFormat::Rfc3339),
    ];

    /// The name server.toml uses for this format.
    pub fn name(self) -> &'static str {
        match self {
            TimestampFormat::Ctime => "ctime",
            TimestampFormat::Utc => "utc",
            TimestampFormat::Rfc3339 => "rfc3339",
        }
    }
}

const CTIME: &str = "%a %b %e %H:%M:%S %Y";

/// Formats `time` (a local time with its offset) as `format` says.
pub fn format_stamp(format: TimestampFormat, time: DateTime<FixedOffset>) -> String {
    match format {
        TimestampFormat::Ctime => time.format(CTIME).to_string(),
        TimestampFormat::Utc => time.with_timezone(&Utc).format(CTIME).to_string(),
        TimestampFormat::Rfc3339 => time.to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}

/// Formats the stamp once per second, however many lines are stamped in it.
#[derive(Debug)]
pub struct StampCache {
    format: TimestampFormat,
    second: Option<i64>,
    text: String,
}

impl StampCache {
    pub fn new(format: TimestampFormat) -> StampCache {
        StampCache {
            format,
            second: None,
            text: String::new(),
        }
    }

    pub fn format(&self) -> TimestampFormat {
        self.format
    }

    /// The stamp for `time`, reformatted only when the second changed.
    pub fn get(&mut self, time: DateTime<FixedOffset>) -> &str {
        let second = time.timestamp();
        if self.second != Some(second) {
            self.second = Some(second);
            self.text = format_stamp(self.format, time);
        }
        &self.text
    }
}

/// A timestamp read back from a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParsedStamp {
    /// RFC 3339: the instant is known.
    Zoned(DateTime<FixedOffset>),
    /// `ctime()` layout: a wall-clock time whose zone the line does not say
    /// (the server's local time for `ctime`, UTC for `utc`).
    Naive(NaiveDateTime),
}

/// Parses any stamp [`format_stamp`] writes.
pub fn parse_stamp(stamp: &str) -> Option<ParsedStamp> {
    if let Ok(time) = DateTime::parse_from_rfc3339(stamp) {
        return Some(ParsedStamp::Zoned(time));
    }
    NaiveDateTime::parse_from_str(stamp, CTIME)
        .ok()
        .map(ParsedStamp::Naive)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn ctime_pads_the_day_with_a_space() {
        let time = at("2026-11-03T08:05:09+01:00");
        assert_eq!(
            format_stamp(TimestampFormat::Ctime, time),
            "Tue Nov  3 08:05:09 2026"
        );
        assert_eq!(
            format_stamp(TimestampFormat::Utc, time),
            "Tue Nov  3 07:05:09 2026"
        );
        assert_eq!(
            format_stamp(TimestampFormat::Rfc3339, time),
            "2026-11-03T08:05:09+01:00"
        );
        assert_eq!(
            format_stamp(TimestampFormat::Rfc3339, at("2026-11-23T18:59:48Z")),
            "2026-11-23T18:59:48Z"
        );
        assert_eq!(
            format_stamp(TimestampFormat::Ctime, at("2026-11-23T18:59:48Z")),
            "Mon Nov 23 18:59:48 2026"
        );
    }

    #[test]
    fn stamps_parse_back() {
        let time = at("2026-11-03T08:05:09+01:00");
        for format in [
            TimestampFormat::Ctime,
            TimestampFormat::Utc,
            TimestampFormat::Rfc3339,
        ] {
            let text = format_stamp(format, time);
            let parsed = parse_stamp(&text).unwrap_or_else(|| panic!("{text} did not parse"));
            match (format, parsed) {
                (TimestampFormat::Rfc3339, ParsedStamp::Zoned(t)) => assert_eq!(t, time),
                (TimestampFormat::Ctime, ParsedStamp::Naive(t)) => {
                    assert_eq!(t, time.naive_local())
                }
                (TimestampFormat::Utc, ParsedStamp::Naive(t)) => assert_eq!(t, time.naive_utc()),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(parse_stamp("yesterday"), None);
    }

    #[test]
    fn cache_reformats_once_per_second() {
        let mut cache = StampCache::new(TimestampFormat::Ctime);
        let first = cache.get(at("2026-11-03T08:05:09.100+00:00")).to_owned();
        assert_eq!(cache.get(at("2026-11-03T08:05:09.900+00:00")), first);
        assert_eq!(
            cache.get(at("2026-11-03T08:05:10+00:00")),
            "Tue Nov  3 08:05:10 2026"
        );
    }
}
