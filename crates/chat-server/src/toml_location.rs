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
