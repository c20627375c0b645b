//! Where in a TOML text something is: the line of a byte offset, the key
//! assigned on a line, the line of a key. For errors that name the file,
//! the line and the key.

/// 1-based line number of byte `offset`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The key assigned on `line`, or on the nearest line above it that assigns
/// one (a value may span lines, as a multi-line array does).
pub(crate) fn key_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().take(line).collect();
    lines.iter().rev().find_map(|l| {
        let (key, _) = l.split_once('=')?;
        let key = key.trim();
        (!key.is_empty() && !key.starts_with('#')).then(|| key.trim_matches('"').to_owned())
    })
}

/// The line where `key` is assigned at top level.
pub(crate) fn find_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.split_once('=').is_some_and(|(k, _)| k.trim() == key))
        .map(|i| i + 1)
}

/// The line of `key` in the `[[table]]` entry whose `name` is `name`, or
/// of the entry's `name` when it has no such key (a key it lacks).
pub(crate) fn find_in_entry(text: &str, table: &str, name: &str, key: &str) -> Option<usize> {
    let header = format!("[[{table}]]");
    let value = |line: &str, wanted: &str| {
        line.split_once('=')
            .filter(|(k, _)| k.trim() == wanted)
            .map(|(_, v)| v.trim().trim_matches('"').to_owned())
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut start = None;
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            start = (trimmed == header).then_some(i);
            continue;
        }
        let Some(begin) = start else { continue };
        if value(line, "name").as_deref() != Some(name) {
            continue;
        }
        let end = (begin + 1..lines.len())
            .find(|&j| lines[j].trim().starts_with('['))
            .unwrap_or(lines.len());
        let at = (begin + 1..end).find(|&j| value(lines[j], key).is_some());
        return Some(at.unwrap_or(i) + 1);
    }
    None
}
