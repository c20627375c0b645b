//! IRC message tag values, written on the stack: a line relayed to IRC
//! clients allocates nothing for its `time` or `msgid`.

use std::io::Write;

use chrono::{Datelike, Timelike, Utc};

use crate::Now;

/// Up to 32 bytes of ASCII, on the stack.
pub(crate) struct Small {
    bytes: [u8; 32],
    len: usize,
}

impl std::ops::Deref for Small {
    type Target = str;

    fn deref(&self) -> &str {
        // Only ASCII is written into it (digits, a timestamp).
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

/// server-time's value: `2026-11-03T08:05:09.123Z` (UTC, milliseconds).
pub(crate) struct ServerTime;

impl ServerTime {
    pub(crate) fn of(now: Now) -> Small {
        let utc = now.with_timezone(&Utc);
        let mut small = Small {
            bytes: [0; 32],
            len: 0,
        };
        let mut cursor = std::io::Cursor::new(&mut small.bytes[..]);
        // Integers written one by one: no formatter that allocates.
        let written = write!(
            cursor,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            utc.year(),
            utc.month(),
            utc.day(),
            utc.hour(),
            utc.minute(),
            utc.second(),
            utc.timestamp_subsec_millis().min(999),
        );
        small.len = written.map_or(0, |()| cursor.position() as usize);
        small
    }
}

/// A message id in decimal.
pub(crate) struct Digits;

impl Digits {
    pub(crate) fn of(number: u64) -> Small {
        let mut small = Small {
            bytes: [0; 32],
            len: 0,
        };
        let mut at = small.bytes.len();
        let mut rest = number;
        loop {
            at -= 1;
            small.bytes[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        small.bytes.copy_within(at.., 0);
        small.len = small.bytes.len() - at;
        small
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_read_as_the_specs_write_them() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-03T09:05:09.5+01:00")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&*ServerTime::of(now), "2026-11-03T08:05:09.500Z");
        assert_eq!(&*Digits::of(0), "0");
        assert_eq!(&*Digits::of(u64::MAX), "18446744073709551615");
    }
}
