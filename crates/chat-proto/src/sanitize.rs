//! Making user text safe to show on someone else's terminal (CWE-150), and
//! free of characters that cannot be seen.
//!
//! [`sanitize_text`] removes what could take over a terminal (escape
//! sequences, control characters), reorder what follows (bidi controls), or
//! hide in plain sight. The last are Unicode's *default ignorable* code
//! points: characters a terminal draws as nothing. Left in, they make a line
//! look empty that is not (the Hangul filler U+3164), split a word so a
//! mention or a filter misses it (`al<U+200B>ice`), or carry a hidden message
//! (tag characters U+E0000–U+E007F, runs of variation selectors). All of them
//! are removed, with two exceptions that emoji need:
//!
//! - **Zero width joiner (U+200D)** is kept only between two pictographs,
//!   where it builds one emoji from several (👨‍👩‍👧, 🏳️‍🌈, 🐈‍⬛); everywhere else
//!   it is removed. "Pictograph" is approximated by code point ranges, see
//!   [`is_pictograph`]; a pictograph may carry one variation selector before
//!   the joiner (🏳️‍🌈 is U+1F3F3 U+FE0F U+200D U+1F308). Neighbours are judged
//!   on the output, after everything else is removed, and several joiners in
//!   a row become one. Scripts that use the joiner for shaping (Devanagari,
//!   Malayalam, Arabic) lose it: the text stays readable and a glyph may
//!   change, which is the price of not letting it hide anywhere else.
//! - **Variation selectors U+FE00–U+FE0F** are kept one at a time, directly
//!   after a character that is not itself a selector or a joiner (❤️ is
//!   U+2764 U+FE0F, 1️⃣ is `1` U+FE0F U+20E3). A run of them is what hides data
//!   after an emoji, so the rest of a run is removed, as are the supplementary
//!   selectors U+E0100–U+E01EF.
//!
//! Consequences worth knowing: the zero width non-joiner U+200C is removed
//! (Persian and Indic words may render joined), the soft hyphen U+00AD is
//! removed, and the subdivision flags (England, Scotland, Wales), which are
//! built from tag characters, show as a plain black flag 🏴.
//!
//! Sanitizing is idempotent: sanitizing its own output changes nothing.

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
/// - Invisible characters are removed: zero width space, non-joiner and word
///   joiner, the BOM, invisible operators, Hangul fillers, tag characters and
///   the other default ignorable code points; the zero width joiner and
///   variation selectors only where emoji need them (see the module docs).
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
    let mut filter = Filter::default();
    for chunk in input.utf8_chunks() {
        for c in chunk.valid().chars() {
            filter.push(c, out);
        }
        if !chunk.invalid().is_empty() {
            // An invalid byte also ends any escape sequence it interrupts.
            filter.escape = Escape::None;
            filter.keep(char::REPLACEMENT_CHARACTER, out);
        }
    }
}

const ZWJ: char = '\u{200d}';

/// The state of one [`sanitize_text`] call.
#[derive(Default)]
struct Filter {
    escape: Escape,
    /// The last character kept.
    last: Option<char>,
    /// The last character kept that is not a variation selector.
    base: Option<char>,
    /// A joiner came after a pictograph; it is written if the next character
    /// kept is a pictograph too.
    joiner: bool,
}

impl Filter {
    fn push(&mut self, c: char, out: &mut String) {
        let (escape, text) = self.escape.step(c);
        self.escape = escape;
        if !text || is_removed(c) {
            return;
        }
        if c == ZWJ {
            self.joiner |= self.base.is_some_and(is_pictograph);
        } else if is_variation_selector(c) {
            if !self.joiner && self.last.is_some_and(|last| !is_variation_selector(last)) {
                out.push(c);
                self.last = Some(c);
            }
        } else {
            self.keep(c, out);
        }
    }

    /// Writes `c`, a character that stands on its own, after the joiner that
    /// may be waiting for it.
    fn keep(&mut self, c: char, out: &mut String) {
        if std::mem::take(&mut self.joiner) && is_pictograph(c) {
            out.push(ZWJ);
        }
        out.push(c);
        self.last = Some(c);
        self.base = Some(c);
    }
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Escape {
    #[default]
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
    /// The state after `c`, and whether `c` is text (not part of a sequence).
    fn step(self, c: char) -> (Escape, bool) {
        let next = match self {
            Escape::None => match c {
                '\u{1b}' => Escape::Start,
                '\u{9b}' => Escape::Csi,
                '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => Escape::Str,
                _ => return (Escape::None, true),
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
        };
        (next, false)
    }
}

/// Always removed: controls (tab excepted), the line and paragraph
/// separators, and the invisible characters (bidi controls among them) but
/// for the joiner and the variation selectors, which depend on their place.
fn is_removed(c: char) -> bool {
    match c {
        '\t' => false,
        c if c.is_control() => true,
        '\u{2028}' | '\u{2029}' => true,
        c => is_invisible(c) && c != ZWJ && !is_variation_selector(c),
    }
}

/// Unicode's default ignorable code points (DerivedCoreProperties.txt,
/// `Default_Ignorable_Code_Point`): characters drawn as nothing. This
/// includes the bidi controls, the zero width joiner and the variation
/// selectors, which [`sanitize_text`] treats on their own.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00ad}'                      // soft hyphen
        | '\u{034f}'                    // combining grapheme joiner
        | '\u{061c}'                    // Arabic letter mark
        | '\u{115f}' | '\u{1160}'       // Hangul choseong and jungseong fillers
        | '\u{17b4}' | '\u{17b5}'       // Khmer inherent vowels
        | '\u{180b}'..='\u{180f}'       // Mongolian variation selectors, vowel separator
        | '\u{200b}'..='\u{200f}'       // zero width space, (non-)joiner, LRM, RLM
        | '\u{202a}'..='\u{202e}'       // bidi embeddings and overrides
        | '\u{2060}'..='\u{206f}'       // word joiner, invisible operators, isolates…
        | '\u{3164}'                    // Hangul filler
        | '\u{fe00}'..='\u{fe0f}'       // variation selectors
        | '\u{feff}'                    // zero width no-break space (BOM)
        | '\u{ffa0}'                    // halfwidth Hangul filler
        | '\u{fff0}'..='\u{fff8}'       // reserved, default ignorable
        | '\u{1bca0}'..='\u{1bca3}'     // shorthand format controls
        | '\u{1d173}'..='\u{1d17a}'     // musical symbol beams and phrases
        | '\u{e0000}'..='\u{e0fff}'     // tags, variation selectors 17–256
    )
}

fn is_variation_selector(c: char) -> bool {
    matches!(c, '\u{fe00}'..='\u{fe0f}')
}

/// Pictographs that can stand on either side of a zero width joiner in an
/// emoji sequence: an approximation of Unicode's `Extended_Pictographic` by
/// blocks. Arrows (🙂‍↔️), Miscellaneous Technical, Miscellaneous Symbols and
/// Dingbats (🏃‍♀️, ❤️‍🔥), Miscellaneous Symbols and Arrows (🐈‍⬛), and the
/// supplementary blocks from Mahjong Tiles to Symbols and Pictographs
/// Extended-A, which hold the emoji and their skin tone modifiers.
fn is_pictograph(c: char) -> bool {
    matches!(c,
        '\u{2190}'..='\u{21ff}'
        | '\u{2300}'..='\u{23ff}'
        | '\u{2600}'..='\u{27bf}'
        | '\u{2b00}'..='\u{2bff}'
        | '\u{1f000}'..='\u{1faff}'
    )
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
    fn invisible_characters_are_removed() {
        for invisible in [
            '\u{200b}',
            '\u{200c}',
            '\u{2060}',
            '\u{2061}',
            '\u{2064}',
            '\u{feff}',
            '\u{034f}',
            '\u{180e}',
            '\u{00ad}',
            '\u{115f}',
            '\u{1160}',
            '\u{3164}',
            '\u{ffa0}',
            '\u{17b4}',
            '\u{1d173}',
            '\u{e0100}',
        ] {
            let input = format!("al{invisible}ice");
            assert_eq!(clean(input.as_bytes()), "alice", "{invisible:?}");
        }
    }

    #[test]
    fn a_line_of_hangul_fillers_is_empty() {
        assert_eq!(clean("\u{3164}\u{3164} \u{ffa0}".as_bytes()), " ");
        assert_eq!(clean("\u{115f}\u{1160}\u{200b}".as_bytes()), "");
    }

    #[test]
    fn tag_characters_are_removed_with_the_text_they_hide() {
        let hidden: String = "ignore previous instructions"
            .chars()
            .map(|c| char::from_u32(0xe0000 + u32::from(c)).unwrap_or_default())
            .collect();
        assert_eq!(clean(format!("hi{hidden}!").as_bytes()), "hi!");
        // England's flag is a black flag with tags: the flag stays.
        let england = "\u{1f3f4}\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}";
        assert_eq!(clean(england.as_bytes()), "\u{1f3f4}");
    }

    #[test]
    fn zero_width_joiner_is_kept_only_between_pictographs() {
        for emoji in [
            "👨\u{200d}👩\u{200d}👧", // family
            "🏳\u{fe0f}\u{200d}🌈",    // rainbow flag
            "🐈\u{200d}⬛",           // black cat
            "🏃\u{200d}♀\u{fe0f}",    // woman running
            "❤\u{fe0f}\u{200d}🔥",    // heart on fire
            "👩🏽\u{200d}💻",           // technologist, skin tone
            "🙂\u{200d}↔\u{fe0f}",    // head shaking
        ] {
            assert_eq!(clean(emoji.as_bytes()), emoji);
            let said = format!("look {emoji} here");
            assert_eq!(clean(said.as_bytes()), said);
        }
        assert_eq!(clean("a\u{200d}b".as_bytes()), "ab");
        assert_eq!(clean("😀\u{200d}a".as_bytes()), "😀a");
        assert_eq!(clean("a\u{200d}😀".as_bytes()), "a😀");
        assert_eq!(clean("\u{200d}😀\u{200d}".as_bytes()), "😀");
        assert_eq!(
            clean("😀\u{200d}\u{200d}\u{200b}😀".as_bytes()),
            "😀\u{200d}😀"
        );
        assert_eq!(clean("😀\u{200d}\x1b[1m😀".as_bytes()), "😀\u{200d}😀");
        let invalid = ["😀\u{200d}".as_bytes(), &b"\xff"[..], "😀".as_bytes()].concat();
        assert_eq!(clean(&invalid), "😀\u{fffd}😀");
    }

    #[test]
    fn variation_selectors_are_kept_one_at_a_time() {
        assert_eq!(clean("❤\u{fe0f}".as_bytes()), "❤\u{fe0f}");
        assert_eq!(clean("1\u{fe0f}\u{20e3}".as_bytes()), "1\u{fe0f}\u{20e3}");
        assert_eq!(clean("\u{fe0f}x".as_bytes()), "x");
        let smuggled: String = std::iter::once('😀')
            .chain(('\u{fe00}'..='\u{fe0f}').cycle().take(64))
            .chain('\u{e0100}'..='\u{e01ef}')
            .collect();
        assert_eq!(clean(smuggled.as_bytes()), "😀\u{fe00}");
        assert_eq!(clean("😀\u{200d}\u{fe0f}😀".as_bytes()), "😀\u{200d}😀");
    }

    #[test]
    fn invalid_utf8_becomes_replacement() {
        assert_eq!(clean(b"a\xffb\xc3"), "a\u{fffd}b\u{fffd}");
        assert_eq!(clean(b"\x1b[3\xff1mx"), "\u{fffd}1mx");
    }
}
