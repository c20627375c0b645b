//! The terminal side: input lines from stdin, server data to stdout.

use std::io::{self, BufRead as _, StdinLock, Write as _};

use crate::error::{Error, Result};

/// Stdin, read one line at a time (bytes, so odd input is passed on as is).
pub(crate) struct InputLines {
    stdin: StdinLock<'static>,
    line: Vec<u8>,
}

impl InputLines {
    pub(crate) fn new() -> Self {
        Self {
            stdin: io::stdin().lock(),
            line: Vec::new(),
        }
    }

    /// The next line without its `\n` or `\r\n`, or `None` at end of input.
    pub(crate) fn next_line(&mut self) -> Result<Option<&[u8]>> {
        self.line.clear();
        let read = self
            .stdin
            .read_until(b'\n', &mut self.line)
            .map_err(|err| Error::new(format!("cannot read stdin: {err}")))?;
        if read == 0 {
            return Ok(None);
        }
        Ok(Some(strip_line_end(&self.line)))
    }
}

/// Drop one trailing `\n`, then one trailing `\r`.
fn strip_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Print server bytes (invalid UTF-8 decoded lossily), then `suffix`, and
/// flush so the text shows at once.
pub(crate) fn print_received(bytes: &[u8], suffix: &str) -> Result<()> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.write_all(suffix.as_bytes()))
        .and_then(|()| out.flush())
        .map_err(|err| Error::new(format!("cannot write to stdout: {err}")))
}

/// Print a prompt (no newline) and flush it.
pub(crate) fn print_prompt(prompt: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(prompt.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|err| Error::new(format!("cannot write to stdout: {err}")))
}

#[cfg(test)]
mod tests {
    use super::strip_line_end;

    #[test]
    fn line_ends_are_stripped_once() {
        assert_eq!(strip_line_end(b"hi\n"), b"hi");
        assert_eq!(strip_line_end(b"hi\r\n"), b"hi");
        assert_eq!(strip_line_end(b"hi"), b"hi");
        assert_eq!(strip_line_end(b"hi\r"), b"hi");
        assert_eq!(strip_line_end(b"\n"), b"");
        assert_eq!(strip_line_end(b"a\n\n"), b"a\n");
    }
}
