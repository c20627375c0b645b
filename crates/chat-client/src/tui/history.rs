//! Input history: Up/Down recall, persisted one entry per line.
//!
//! The file lives under the user's data directory
//! (`$XDG_DATA_HOME/chat-client/history`, else
//! `~/.local/share/chat-client/history`). New entries are appended as they
//! are entered; the file is cut back to [`MAX_ENTRIES`] when it is loaded.
//! Failing to read or write it never stops the chat: history then simply
//! lives in memory.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// How many entries are kept (in memory and on disk).
pub(crate) const MAX_ENTRIES: usize = 1000;

/// The history file for this user, if a data directory can be found.
pub(crate) fn default_path() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|dir| !dir.is_empty())
                .map(|home| PathBuf::from(home).join(".local").join("share"))
        })?;
    Some(data.join("chat-client").join("history"))
}

/// Entered lines, oldest first, with a cursor for Up/Down.
#[derive(Debug, Default)]
pub(crate) struct History {
    entries: Vec<String>,
    /// Index into `entries` while browsing; `None` at the (new) bottom line.
    pos: Option<usize>,
    /// What was being typed before browsing started.
    draft: String,
    file: Option<PathBuf>,
}

impl History {
    /// Load from `file` (or start empty without persistence if `None`).
    pub(crate) fn load(file: Option<PathBuf>) -> Self {
        let mut entries: Vec<String> = file
            .as_deref()
            .and_then(|path| fs::read_to_string(path).ok())
            .map(|text| {
                text.lines()
                    .filter(|line| !line.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if entries.len() > MAX_ENTRIES {
            entries.drain(..entries.len() - MAX_ENTRIES);
            if let Some(path) = file.as_deref() {
                let _ = rewrite(path, &entries);
            }
        }
        Self {
            entries,
            pos: None,
            draft: String::new(),
            file,
        }
    }

    #[cfg(test)]
    pub(crate) fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Remember an entered line (not twice in a row) and stop browsing.
    pub(crate) fn push(&mut self, line: &str) {
        self.pos = None;
        self.draft.clear();
        if line.trim().is_empty() || self.entries.last().is_some_and(|last| last == line) {
            return;
        }
        self.entries.push(line.to_owned());
        if self.entries.len() > MAX_ENTRIES {
            self.entries.remove(0);
        }
        if let Some(path) = self.file.as_deref() {
            let _ = append(path, line);
        }
    }

    /// Up: the previous entry (saving `current` as the draft when leaving the
    /// bottom line), or `None` at the oldest entry.
    pub(crate) fn prev(&mut self, current: &str) -> Option<&str> {
        let pos = match self.pos {
            None if self.entries.is_empty() => return None,
            None => {
                self.draft = current.to_owned();
                self.entries.len() - 1
            }
            Some(0) => return None,
            Some(pos) => pos - 1,
        };
        self.pos = Some(pos);
        self.entries.get(pos).map(String::as_str)
    }

    /// Down: the next entry, the draft after the newest, `None` at the bottom.
    pub(crate) fn next(&mut self) -> Option<String> {
        let pos = self.pos?;
        if pos + 1 < self.entries.len() {
            self.pos = Some(pos + 1);
            self.entries.get(pos + 1).cloned()
        } else {
            self.pos = None;
            Some(std::mem::take(&mut self.draft))
        }
    }
}

fn append(path: &Path, line: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    writeln!(file, "{line}")
}

fn rewrite(path: &Path, entries: &[String]) -> std::io::Result<()> {
    let mut text = entries.join("\n");
    text.push('\n');
    fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_and_down_walk_the_entries_and_keep_the_draft() {
        let mut history = History::load(None);
        history.push("one");
        history.push("two");
        history.push("two");
        assert_eq!(history.entries(), ["one", "two"]);
        assert_eq!(history.prev("dra"), Some("two"));
        assert_eq!(history.prev("two"), Some("one"));
        assert_eq!(history.prev("one"), None);
        assert_eq!(history.next().as_deref(), Some("two"));
        assert_eq!(history.next().as_deref(), Some("dra"));
        assert_eq!(history.next(), None);
    }

    #[test]
    fn persisted_and_bounded() {
        let dir = std::env::temp_dir().join(format!("chat-client-history-{}", std::process::id()));
        let path = dir.join("sub").join("history");
        let _ = fs::remove_dir_all(&dir);
        let mut history = History::load(Some(path.clone()));
        for n in 0..MAX_ENTRIES + 5 {
            history.push(&format!("line {n}"));
        }
        assert_eq!(history.entries().len(), MAX_ENTRIES);
        let again = History::load(Some(path.clone()));
        assert_eq!(again.entries().len(), MAX_ENTRIES);
        assert_eq!(again.entries().first().map(String::as_str), Some("line 5"));
        let text = fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(text.lines().count(), MAX_ENTRIES);
        let _ = fs::remove_dir_all(&dir);
    }
}
