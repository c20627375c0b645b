//! The send-time marker every benchmark message carries, and the scanner
//! that finds markers in a receiver's byte stream.
//!
//! A marker is `~`, 16 lowercase hex digits of nanoseconds since the
//! generator's start, then `;`. No server under test adds `~` or `;` to what it
//! relays (our line prefix, ncat's `<userN> `, Redis's RESP framing), so the
//! scanner can ignore everything else and count markers, not lines: that is
//! what makes it work for ncat, which inserts its prefix mid-line.

/// Bytes of one marker: `~` + 16 hex digits + `;`.
pub const MARKER_LEN: usize = 18;
const START: u8 = b'~';
const END: u8 = b';';
const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes the marker for `nanos` into the first [`MARKER_LEN`] bytes of `out`.
pub fn encode(out: &mut [u8], nanos: u64) {
    out[0] = START;
    for (i, byte) in out[1..17].iter_mut().enumerate() {
        *byte = HEX[((nanos >> (60 - 4 * i)) & 0xf) as usize];
    }
    out[17] = END;
}

fn hex(b: u8) -> Option<u64> {
    match b {
        b'0'..=b'9' => Some(u64::from(b - b'0')),
        b'a'..=b'f' => Some(u64::from(b - b'a' + 10)),
        _ => None,
    }
}

/// Finds markers in a byte stream delivered in arbitrary pieces; a marker
/// split across two reads is still found, exactly once.
#[derive(Debug, Default, Clone)]
pub struct Scanner {
    /// 0: outside a marker; 1..=16: inside, `state - 1` digits read;
    /// 17: all digits read, `;` expected.
    state: u8,
    value: u64,
}

impl Scanner {
    /// Calls `found` with the time of every marker completed by `buf`.
    pub fn scan(&mut self, buf: &[u8], mut found: impl FnMut(u64)) {
        let mut i = 0;
        // Finish a marker that began in an earlier read, byte by byte.
        while self.state != 0 && i < buf.len() {
            if let Some(t) = self.step(buf[i]) {
                found(t);
            }
            i += 1;
        }
        while let Some(at) = memchr::memchr(START, &buf[i..]) {
            let s = i + at;
            if s + MARKER_LEN <= buf.len() {
                // Fast path: the whole marker is in this buffer.
                if let Some(t) = parse(&buf[s..s + MARKER_LEN]) {
                    found(t);
                    i = s + MARKER_LEN;
                } else {
                    i = s + 1;
                }
            } else {
                // The tail: keep the state for the next read.
                for &b in &buf[s..] {
                    if let Some(t) = self.step(b) {
                        found(t);
                    }
                }
                return;
            }
        }
    }

    /// A line ended without a byte for it (a WebSocket message's end): a
    /// marker it cut short is no marker, as when an LF cuts one.
    pub fn end_line(&mut self) {
        self.state = 0;
        self.value = 0;
    }

    fn step(&mut self, b: u8) -> Option<u64> {
        match self.state {
            0 => {
                if b == START {
                    self.state = 1;
                    self.value = 0;
                }
            }
            1..=16 => match hex(b) {
                Some(d) => {
                    self.value = self.value << 4 | d;
                    self.state += 1;
                }
                None => self.restart(b),
            },
            _ => {
                if b == END {
                    self.state = 0;
                    return Some(self.value);
                }
                self.restart(b);
            }
        }
        None
    }

    fn restart(&mut self, b: u8) {
        self.state = u8::from(b == START);
        self.value = 0;
    }
}

fn parse(m: &[u8]) -> Option<u64> {
    if m[MARKER_LEN - 1] != END {
        return None;
    }
    m[1..17]
        .iter()
        .try_fold(0u64, |acc, &b| hex(b).map(|d| acc << 4 | d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(t: u64) -> Vec<u8> {
        let mut m = [0u8; MARKER_LEN];
        encode(&mut m, t);
        let mut v = b"[Mon Nov  3 08:05:09 2026] <guest1> ".to_vec();
        v.extend_from_slice(&m);
        v.extend_from_slice(b"xxxxxxxxxxxxxxxxxxxxxxxx\n");
        v
    }

    fn scan_in_pieces(stream: &[u8], cuts: &[usize]) -> Vec<u64> {
        let mut s = Scanner::default();
        let mut got = Vec::new();
        let mut from = 0;
        for &c in cuts.iter().chain(std::iter::once(&stream.len())) {
            s.scan(&stream[from..c], |t| got.push(t));
            from = c;
        }
        got
    }

    #[test]
    fn encodes_and_parses() {
        let mut m = [0u8; MARKER_LEN];
        encode(&mut m, 0x0123_4567_89ab_cdef);
        assert_eq!(&m, b"~0123456789abcdef;");
        assert_eq!(parse(&m), Some(0x0123_4567_89ab_cdef));
    }

    #[test]
    fn finds_every_marker_at_every_split() {
        let times = [1u64, 0xfff, u64::MAX >> 4, 42];
        let stream: Vec<u8> = times.iter().flat_map(|&t| line(t)).collect();
        for a in 0..=stream.len() {
            assert_eq!(scan_in_pieces(&stream, &[a]), times, "cut at {a}");
        }
        // One byte per read.
        let cuts: Vec<usize> = (1..stream.len()).collect();
        assert_eq!(scan_in_pieces(&stream, &cuts), times);
    }

    #[test]
    fn ignores_broken_and_foreign_text() {
        let mut stream = b"~12;~zz~0000000000000001~".to_vec();
        stream.extend_from_slice(b"<user5> ~00000000000000ff;*3\r\n$7\r\nmessage\r\n");
        stream.extend_from_slice(b"~~0000000000000002;");
        for a in 0..=stream.len() {
            assert_eq!(scan_in_pieces(&stream, &[a]), [0xff, 2], "cut at {a}");
        }
    }

    #[test]
    fn a_prefix_inserted_mid_marker_breaks_only_that_marker() {
        // ncat inserts `<user5> ` where a chunk starts, even mid-line.
        let mut stream = line(7);
        stream.splice(40..40, b"<user5> ".iter().copied());
        stream.extend_from_slice(&line(8));
        assert_eq!(scan_in_pieces(&stream, &[]), [8]);
    }
}
