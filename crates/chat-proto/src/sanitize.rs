//! Making user text safe to show on someone else's terminal (CWE-150).

/// Appends `input` to `out` as text that is safe to print on a terminal.
///
/// - Invalid UTF-8 becomes U+FFFD.
/// - Terminal escape sequences are removed whole: CSI (`ESC [` … final byte,
///   and C1 `U+009B`), OSC (`ESC ]` … BEL or `ESC \`, and C1 `U+009D`), the
///   other string sequences (DCS, SOS, PM, APC) and two-byte escapes.
/// - Every other control character is removed, tab excepted: C0, DEL, C1.
/// - Bidirectional overrides, embeddings, isolates and marks, and the Unicode
///   line and paragraph separators are removed, so text cannot reorder or
///   break what is printed after it.
pub fn sanitize_text(input: &[u8], out: &mut String) {
    // Fast path: printable ASCII (and tab) is already safe.
    if input
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) || b == b'\t')
    {
        // Safe to call: the check above proved it is ASCII.
        out.push_str(std::str::from_utf8(input).unwrap_or_default());
        return;
    }
    let mut state = Escape::None;
    for chunk in input.utf8_chunks() {
        for c in chunk.valid().chars() {
            state = state.step(c, out);
        }
        if !chunk.invalid().is_empty() {
            // An invalid byte also ends any escape sequence it interrupts.
            state = Escape::None;
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    /// Just saw ESC.
    Start,
    /// In a CSI sequence: parameters until a final byte 0x40..=0x7E.
    Csi,
    /// In a string sequence (OSC, DCS, SOS, PM, APC): until BEL or ST.
    Str,
    /// In a string sequence, just saw ESC (maybe the start of ST, `ESC \`).
    StrEsc,
}

impl Escape {
    fn step(self, c: char, out: &mut String) -> Escape {
        match self {
            Escape::None => match c {
                '\u{1b}' => Escape::Start,
                '\u{9b}' => Escape::Csi,
                '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => Escape::Str,
                c if is_unsafe(c) => Escape::None,
                c => {
                    out.push(c);
                    Escape::None
                }
            },
            Escape::Start => match c {
                '[' => Escape::Csi,
                ']' | 'P' | 'X' | '^' | '_' => Escape::Str,
                // Any other byte completes a two-byte escape (ESC c, ESC 7...).
                _ => Escape::None,
            },
            Escape::Csi => match c {
                '\u{40}'..='\u{7e}' => Escape::None,
                _ => Escape::Csi,
            },
            Escape::Str => match c {
                '\u{7}' | '\u{9c}' => Escape::None,
                '\u{1b}' => Escape::StrEsc,
                _ => Escape::Str,
            },
            Escape::StrEsc => match c {
                '\\' => Escape::None,
                '\u{1b}' => Escape::StrEsc,
                _ => Escape::Str,
            },
        }
    }
}

fn is_unsafe(c: char) -> bool {
    match c {
        '\t' => false,
        c if c.is_control() => true,
        // Bidi embeddings/overrides, isolates, marks; line/paragraph separators.
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{2028}' | '\u{2029}' => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::sanitize_text;

    fn clean(input: &[u8]) -> String {
        let mut out = String::new();
        sanitize_text(input, &mut out);
        out
    }

    #[test]
    fn plain_text_and_tab_pass() {
        assert_eq!(clean(b"hello\tworld"), "hello\tworld");
        assert_eq!(clean("héllo wörld ✓".as_bytes()), "héllo wörld ✓");
    }

    #[test]
    fn escape_sequences_are_removed_whole() {
        assert_eq!(clean(b"a\x1b[31mred\x1b[0m b"), "ared b");
        assert_eq!(clean(b"\x1b[2J\x1b[H home"), " home");
        assert_eq!(clean(b"x\x1b]0;pwned title\x07y"), "xy");
        assert_eq!(clean(b"x\x1b]0;title\x1b\\y"), "xy");
        assert_eq!(clean(b"x\x1bPdcs\x1b\\y"), "xy");
        assert_eq!(clean(b"x\x1b7y\x1b8"), "xy");
        assert_eq!(clean("x\u{9b}31my".as_bytes()), "xy");
        assert_eq!(clean("x\u{9d}0;t\u{9c}y".as_bytes()), "xy");
    }

    #[test]
    fn controls_and_bidi_are_removed() {
        assert_eq!(
            clean(b"bell\x07 back\x08 del\x7f nul\x00"),
            "bell back del nul"
        );
        assert_eq!(
            clean("a\u{202e}evil\u{202c}b\u{2067}c\u{200f}".as_bytes()),
            "aevilbc"
        );
        assert_eq!(clean("a\u{85}b\u{2028}c".as_bytes()), "abc");
    }

    #[test]
    fn invalid_utf8_becomes_replacement() {
        assert_eq!(clean(b"a\xffb\xc3"), "a\u{fffd}b\u{fffd}");
        assert_eq!(clean(b"\x1b[3\xff1mx"), "\u{fffd}1mx");
    }
}
