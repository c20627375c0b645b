//! Input history: Up/Down recall, persisted one entry per line.
//!
//! The file lives under the user's data directory
//! (`$XDG_DATA_HOME/chat-client/history`, else
//! `~/.local/share/chat-client/history`). New entries are appended as they
//! are entered; the file is cut back to [`MAX_ENTRIES`] when it is loaded.
//! Failing to read or write it never stops the chat: history then simply
//! lives in memory.
//!
//! **Secrets.** A line that logs in (`/pass …`, `/oper NAME PASSWORD`, as
//! told by [`chat_proto::is_secret_command`] on the sanitized line, so the
//! way the server would read it) is never recorded: not in the file, and not
//! in memory either, so Up cannot bring a password back to the screen for
//! someone looking over the user's shoulder. The price is typing a mistyped
//! password again in full, as with shells that keep such lines out of their
//! history. A file that holds such lines anyway (written by an older
//! chat-client, or by hand) is scrubbed of them when it is loaded.
//!
//! **Permissions.** The file is created readable by its owner only (0600),
//! and any folder created for it likewise (0700), as the XDG base directory
//! specification asks. A history file found with wider permissions is
//! narrowed to 0600 whenever it is loaded or written; an existing folder is
//! left as it is (the file is what holds the lines).

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
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
        let text = file
            .as_deref()
            .and_then(|path| read_private(path).ok())
            .unwrap_or_default();
        let mut entries: Vec<String> = Vec::new();
        let mut scrubbed = false;
        for line in text.lines().filter(|line| !line.is_empty()) {
            if is_secret(line) {
                scrubbed = true;
            } else {
                entries.push(line.to_owned());
            }
        }
        if entries.len() > MAX_ENTRIES || scrubbed {
            entries.drain(..entries.len().saturating_sub(MAX_ENTRIES));
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

    /// Remember an entered line (not twice in a row, and never one that
    /// holds a password) and stop browsing.
    pub(crate) fn push(&mut self, line: &str) {
        self.pos = None;
        self.draft.clear();
        if line.trim().is_empty()
            || self.entries.last().is_some_and(|last| last == line)
            || is_secret(line)
        {
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

/// Whether `line` would log in with a password once the server reads it.
fn is_secret(line: &str) -> bool {
    let mut sanitized = String::new();
    chat_proto::sanitize_text(line.as_bytes(), &mut sanitized);
    chat_proto::is_secret_command(&sanitized)
}

fn append(path: &Path, line: &str) -> io::Result<()> {
    let mut file = open_private(path, OpenOptions::new().append(true))?;
    writeln!(file, "{line}")
}

fn rewrite(path: &Path, entries: &[String]) -> io::Result<()> {
    let mut file = open_private(path, OpenOptions::new().write(true).truncate(true))?;
    let mut text = String::new();
    for entry in entries {
        text.push_str(entry);
        text.push('\n');
    }
    file.write_all(text.as_bytes())
}

/// Reads the history file, narrowing its permissions first if needed.
fn read_private(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    narrow(&file)?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
}

/// Opens (creating it 0600, in folders created 0700) the history file for
/// writing, and narrows an existing file's permissions to 0600.
fn open_private(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    }
    let file = options.create(true).mode(0o600).open(path)?;
    narrow(&file)?;
    Ok(file)
}

/// Takes away every permission from group and others, leaving 0600.
fn narrow(file: &File) -> io::Result<()> {
    let mut permissions = file.metadata()?.permissions();
    if permissions.mode() & 0o077 != 0 {
        permissions.set_mode(0o600);
        file.set_permissions(permissions)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs;

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

    /// A fresh folder for one test (it does not exist yet).
    fn temp_dir(test: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("chat-client-history-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).map_or(0, |meta| meta.permissions().mode() & 0o777)
    }

    #[test]
    fn persisted_and_bounded() {
        let dir = temp_dir("bounded");
        let path = dir.join("sub").join("history");
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

    #[test]
    fn pass_and_oper_lines_are_never_saved_nor_recalled() {
        let dir = temp_dir("secrets");
        let path = dir.join("history");
        let mut history = History::load(Some(path.clone()));
        history.push("hello");
        history.push("/pass hunter2");
        history.push("/oper root s3cret");
        history.push("  /PASS\tHunter3");
        history.push("\u{200b}/oper root s3cret4");
        history.push("/oper s3cret5");
        history.push("/who");
        assert_eq!(history.entries(), ["hello", "/who"]);
        assert_eq!(history.prev(""), Some("/who"));
        assert_eq!(history.prev("/who"), Some("hello"));
        assert_eq!(history.prev("hello"), None);
        let text = fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(text, "hello\n/who\n");
        for secret in ["hunter", "Hunter", "s3cret"] {
            assert!(!text.contains(secret), "{secret} in {text:?}");
        }
        let again = History::load(Some(path));
        assert_eq!(again.entries(), ["hello", "/who"]);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn secrets_in_an_older_history_file_are_scrubbed_when_loaded() {
        let dir = temp_dir("scrub");
        let path = dir.join("history");
        let _ = fs::create_dir_all(&dir);
        let _ = fs::write(&path, "hi\n/pass hunter2\n/oper root s3cret\nbye\n");
        let history = History::load(Some(path.clone()));
        assert_eq!(history.entries(), ["hi", "bye"]);
        assert_eq!(fs::read_to_string(&path).unwrap_or_default(), "hi\nbye\n");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_file_is_created_0600_in_folders_created_0700() {
        let dir = temp_dir("modes");
        let path = dir.join("chat-client").join("history");
        let mut history = History::load(Some(path.clone()));
        history.push("hello");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.join("chat-client")), 0o700);
        assert_eq!(mode(&dir), 0o700);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_history_file_with_wider_permissions_is_narrowed_to_0600() {
        let dir = temp_dir("narrow");
        let path = dir.join("history");
        let _ = fs::create_dir_all(&dir);
        let _ = fs::write(&path, "hi\n");
        let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o644));
        assert_eq!(mode(&path), 0o644);
        let _history = History::load(Some(path.clone()));
        assert_eq!(mode(&path), 0o600, "narrowed when loaded");

        let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o666));
        let mut history = History::load(None);
        history.file = Some(path.clone());
        history.push("again");
        assert_eq!(mode(&path), 0o600, "narrowed when written");
        assert_eq!(fs::read_to_string(&path).unwrap_or_default(), "hi\nagain\n");
        let _ = fs::remove_dir_all(&dir);
    }
}
