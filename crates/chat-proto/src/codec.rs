//! Protocol: the line codec (LF, CRLF or lone CR, bounded length) and raw chunks.

/// One item out of a [`LineDecoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete line, without its terminator. Not yet sanitized.
    Line(&'a [u8]),
    /// A line passed the length limit. It is reported once, as soon as the
    /// limit is passed, and the rest of it is discarded up to the next line
    /// terminator; the stream stays usable.
    TooLong,
}

/// Splits a byte stream into lines.
///
/// Complete lines found in the input are handed out as slices of that input,
/// with no copy; only a line split across two reads is copied, into a small
/// buffer the decoder keeps just until the line completes. An idle client's
/// decoder therefore holds no heap memory.
#[derive(Debug)]
pub struct LineDecoder {
    max_line_bytes: usize,
    partial: Vec<u8>,
    /// The last byte seen was a CR that ended a line: a LF right after it
    /// belongs to the same terminator (CRLF split across reads).
    after_cr: bool,
    /// Inside a line that passed the limit: discard up to the next terminator.
    skipping: bool,
}

/// Buffers larger than this are given back once their line completes, so a
/// client that once sent a long line does not keep holding the memory.
const KEEP_PARTIAL_CAPACITY: usize = 512;

impl LineDecoder {
    /// A decoder that accepts lines of at most `max_line_bytes` bytes (without
    /// the terminator).
    pub fn new(max_line_bytes: usize) -> LineDecoder {
        LineDecoder {
            max_line_bytes,
            partial: Vec::new(),
            after_cr: false,
            skipping: false,
        }
    }

    /// Bytes held for an incomplete line.
    pub fn buffered(&self) -> usize {
        self.partial.len()
    }

    /// Feeds `input` and calls `emit` once per frame, in order.
    pub fn decode(&mut self, input: &[u8], mut emit: impl FnMut(Frame<'_>)) {
        if input.is_empty() {
            // Nothing to see; above all, a CR's pending LF is still pending.
            return;
        }
        let mut rest = input;
        if self.after_cr {
            self.after_cr = false;
            if let Some(stripped) = rest.strip_prefix(b"\n") {
                rest = stripped;
            }
        }
        while !rest.is_empty() {
            let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
                self.keep_partial(rest, &mut emit);
                return;
            };
            let content = &rest[..end];
            if self.skipping {
                self.skipping = false;
            } else if self.partial.is_empty() {
                emit(self.check_len(content));
            } else if self.partial.len() + content.len() > self.max_line_bytes {
                emit(Frame::TooLong);
                self.release_partial();
            } else {
                self.partial.extend_from_slice(content);
                emit(Frame::Line(&self.partial));
                self.release_partial();
            }
            let terminator = rest[end];
            rest = &rest[end + 1..];
            if terminator == b'\r' {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
    }

    /// The end of the stream: an unterminated last line is still a line.
    pub fn finish(&mut self, mut emit: impl FnMut(Frame<'_>)) {
        if !self.partial.is_empty() && !self.skipping {
            emit(Frame::Line(&self.partial));
        }
        self.release_partial();
        self.skipping = false;
        self.after_cr = false;
    }

    fn check_len<'a>(&self, content: &'a [u8]) -> Frame<'a> {
        if content.len() > self.max_line_bytes {
            Frame::TooLong
        } else {
            Frame::Line(content)
        }
    }

    fn keep_partial(&mut self, tail: &[u8], emit: &mut impl FnMut(Frame<'_>)) {
        if self.skipping {
            return;
        }
        if self.partial.len() + tail.len() > self.max_line_bytes {
            emit(Frame::TooLong);
            self.release_partial();
            self.skipping = true;
        } else {
            self.partial.extend_from_slice(tail);
        }
    }

    fn release_partial(&mut self) {
        if self.partial.capacity() > KEEP_PARTIAL_CAPACITY {
            self.partial = Vec::new();
        } else {
            self.partial.clear();
        }
    }
}

/// Raw framing: one read is one message. A trailing LF or CRLF (as `nc` sends)
/// is not part of it. Longer than `max_bytes`: `None` (the caller answers with
/// an error).
pub fn raw_message(chunk: &[u8], max_bytes: usize) -> Option<&[u8]> {
    let chunk = chunk.strip_suffix(b"\n").unwrap_or(chunk);
    let chunk = chunk.strip_suffix(b"\r").unwrap_or(chunk);
    (chunk.len() <= max_bytes).then_some(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(max: usize, chunks: &[&[u8]]) -> Vec<String> {
        let mut decoder = LineDecoder::new(max);
        let mut out = Vec::new();
        let mut push = |frame: Frame<'_>| {
            out.push(match frame {
                Frame::Line(l) => format!("L:{}", String::from_utf8_lossy(l)),
                Frame::TooLong => "TOO LONG".to_owned(),
            })
        };
        for chunk in chunks {
            decoder.decode(chunk, &mut push);
        }
        decoder.finish(&mut push);
        out
    }

    #[test]
    fn terminators() {
        assert_eq!(
            decode_all(10, &[b"a\nb\r\nc\rd"]),
            ["L:a", "L:b", "L:c", "L:d"]
        );
        assert_eq!(decode_all(10, &[b"a\r", b"\nb\n"]), ["L:a", "L:b"]);
        assert_eq!(decode_all(10, &[b"a\r", b"", b"\nb\n"]), ["L:a", "L:b"]);
        assert_eq!(decode_all(10, &[b"\n\n"]), ["L:", "L:"]);
        assert_eq!(decode_all(10, &[b"\r\r\n"]), ["L:", "L:"]);
    }

    #[test]
    fn split_lines_are_joined() {
        assert_eq!(
            decode_all(10, &[b"he", b"ll", b"o\nwor", b"ld\n"]),
            ["L:hello", "L:world"]
        );
    }

    #[test]
    fn too_long_is_reported_once_and_skipped() {
        assert_eq!(decode_all(4, &[b"12345\nok\n"]), ["TOO LONG", "L:ok"]);
        assert_eq!(
            decode_all(4, &[b"123", b"45", b"678", b"9\nok\n"]),
            ["TOO LONG", "L:ok"]
        );
        assert_eq!(decode_all(4, &[b"1234\n"]), ["L:1234"]);
        assert_eq!(decode_all(4, &[b"12", b"34\n"]), ["L:1234"]);
        assert_eq!(decode_all(4, &[b"12", b"345\n"]), ["TOO LONG"]);
    }

    #[test]
    fn idle_decoder_holds_no_memory() {
        let mut decoder = LineDecoder::new(4096);
        decoder.decode(&[b'x'; 4000], |_| {});
        decoder.decode(b"\n", |_| {});
        assert_eq!(decoder.partial.capacity(), 0);
    }

    #[test]
    fn raw_strips_one_newline() {
        assert_eq!(raw_message(b"hi\r\n", 10), Some(&b"hi"[..]));
        assert_eq!(raw_message(b"hi", 10), Some(&b"hi"[..]));
        assert_eq!(raw_message(b"hi\n\n", 10), Some(&b"hi\n"[..]));
        assert_eq!(raw_message(b"hello", 3), None);
    }
}
