//! The `[stamp] ` prefix of server lines.

/// Splits `[STAMP] BODY` into `(STAMP, BODY)`; `None` if the line does not
/// have that shape.
pub fn split_stamp(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('[')?;
    let (stamp, body) = rest.split_once("] ")?;
    Some((stamp, body))
}

/// Is `stamp` C's `ctime()` layout, `Www Mmm dd hh:mm:ss yyyy`, with the day
/// of the month padded with a space (`Tue Nov  3 08:05:09 2026`)?
pub fn is_ctime(stamp: &str) -> bool {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let b = stamp.as_bytes();
    if b.len() != 24 || !stamp.is_ascii() {
        return false;
    }
    let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    let number = |range: std::ops::Range<usize>| stamp[range].trim_start().parse::<u32>().ok();
    DAYS.contains(&&stamp[0..3])
        && b[3] == b' '
        && MONTHS.contains(&&stamp[4..7])
        && b[7] == b' '
        // Day: " 3" or "23", 1..=31.
        && (b[8] == b' ' || (b'1'..=b'3').contains(&b[8]))
        && b[9].is_ascii_digit()
        && number(8..10).is_some_and(|d| (1..=31).contains(&d))
        && b[10] == b' '
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b' '
        && digits(20..24)
        && number(11..13).is_some_and(|h| h < 24)
        && number(14..16).is_some_and(|m| m < 60)
        && number(17..19).is_some_and(|s| s < 61)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctime_shapes() {
        assert!(is_ctime("Tue Nov  3 08:05:09 2026"));
        assert!(is_ctime("Mon Nov 23 18:59:48 2026"));
        assert!(!is_ctime("Tue Nov 03 08:05:09 2026"));
        assert!(!is_ctime("Tue Nov 3 08:05:09 2026"));
        assert!(!is_ctime("2026-11-03T08:05:09+01:00"));
        assert!(!is_ctime("Tue Nov  3 08:05:09 2026\n"));
        assert!(!is_ctime("Tue Nov 33 08:05:09 2026"));
    }

    #[test]
    fn stamps_split() {
        assert_eq!(split_stamp("[x y] <a> b"), Some(("x y", "<a> b")));
        assert_eq!(split_stamp("[x]<a> b"), None);
        assert_eq!(split_stamp("x] a"), None);
    }
}
