//! One IRC message: parsed from a line, borrowed from it, and written back
//! into a `BytesMut`.
//!
//! The grammar is modern.ircdocs.horse's, which is RFC 1459's with IRCv3
//! message tags in front:
//!
//! ```text
//! [ '@' tags SPACE ] [ ':' source SPACE ] command *( SPACE param ) [ SPACE ':' trailing ]
//! ```
//!
//! Parsing follows the community's shared vectors (`tests/vectors/`): atoms
//! are separated by one *or more* spaces (RFC 1459, not RFC 2812's single
//! space), spaces at either end of the line are ignored outside a trailing
//! parameter, a tab is not a space, and of two tags with the same key the
//! last one counts. At most [`MAX_PARAMS`] parameters: the fifteenth takes
//! the rest of the line, as RFC 2812 says, so a message never has more.
//!
//! Nothing is copied while parsing: [`Message`] borrows every part from the
//! line, and a tag value is unescaped only when it is read ([`Tags::get`]),
//! borrowed when it holds no escape.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use bytes::BytesMut;

/// The most parameters a message has; the last one takes the rest of the line.
pub const MAX_PARAMS: usize = 15;

/// The longest tag section accepted: `@`, the tags and the space that ends
/// them (message-tags: 8191 bytes in all).
pub const MAX_TAGS_BYTES: usize = 8191;

/// The longest the rest of a message may be, source, command and parameters,
/// counting the CRLF that ends it (RFC 1459's 512 bytes).
pub const MAX_LINE_BYTES: usize = 512;

/// Why a line is not a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Nothing but spaces: clients send empty lines, and servers ignore them.
    Empty,
    /// Tags longer than [`MAX_TAGS_BYTES`], or the rest longer than
    /// [`MAX_LINE_BYTES`]: the caller answers `417 ERR_INPUTTOOLONG`.
    InputTooLong,
    /// Tags or a source, and then no command.
    NoCommand,
    /// A NUL byte, or a CR or LF the line splitter left in: no part of a
    /// message may hold one, so none can reach another client's line.
    ForbiddenByte,
    /// Bytes that are not UTF-8 ([`parse_bytes`] only).
    NotUtf8,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::Empty => "empty line",
            ParseError::InputTooLong => "input line was too long",
            ParseError::NoCommand => "no command",
            ParseError::ForbiddenByte => "NUL, CR or LF inside a line",
            ParseError::NotUtf8 => "not UTF-8",
        })
    }
}

impl std::error::Error for ParseError {}

/// Why a message cannot be written. Nothing was appended when this is
/// returned: a caller's mistake never leaves half a line in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError {
    /// A tag key that is empty or holds a byte outside `A-Z a-z 0-9 - . /`
    /// (and a leading `+`).
    BadTagKey,
    /// An empty source, or one with a space.
    BadSource,
    /// An empty command, one with a space, or one starting with `:` or `@`.
    BadCommand,
    /// A parameter before the last that is empty, holds a space or starts
    /// with `:`: only the last one can be written as a trailing parameter.
    BadMiddleParam {
        /// Its position among the parameters, from 0.
        index: usize,
    },
    /// More than [`MAX_PARAMS`] parameters.
    TooManyParams,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::BadTagKey => f.write_str("bad tag key"),
            WriteError::BadSource => f.write_str("bad source"),
            WriteError::BadCommand => f.write_str("bad command"),
            WriteError::BadMiddleParam { index } => {
                write!(f, "parameter {index} cannot be a middle one")
            }
            WriteError::TooManyParams => f.write_str("more than 15 parameters"),
        }
    }
}

impl std::error::Error for WriteError {}

/// One message, every part borrowed from the line it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// The tags, still escaped; read them with [`Tags::get`] or [`Tags::iter`].
    pub tags: Tags<'a>,
    /// The source without its `:`, if the line had one (servers ignore a
    /// client's).
    pub source: Option<&'a str>,
    /// The command (a word or a three-digit numeric) as sent: compare it
    /// with [`Message::is`], since commands are case-insensitive.
    pub command: &'a str,
    /// The parameters, the trailing one last, without its `:`.
    pub params: Params<'a>,
}

impl<'a> Message<'a> {
    /// A message with no tags, source or parameters.
    pub fn new(command: &'a str) -> Self {
        Message {
            tags: Tags::default(),
            source: None,
            command,
            params: Params::default(),
        }
    }

    /// Whether this is `command`, ignoring ASCII case.
    pub fn is(&self, command: &str) -> bool {
        self.command.eq_ignore_ascii_case(command)
    }

    /// The parameter at `index`, if there is one.
    pub fn param(&self, index: usize) -> Option<&'a str> {
        self.params.get(index).copied()
    }

    /// Appends this message to `out`, tags unescaped and escaped again, as
    /// [`write()`] does.
    pub fn write(&self, out: &mut BytesMut) -> Result<(), WriteError> {
        write_parts(
            out,
            self.tags.iter(),
            self.source,
            self.command,
            self.params.iter().copied(),
        )
    }
}

/// The tag section of a message, as it came (escaped, without `@`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tags<'a>(&'a str);

impl<'a> Tags<'a> {
    /// Tags from their wire form (`a=b;c`, without the `@`).
    pub fn from_raw(raw: &'a str) -> Self {
        Tags(raw)
    }

    /// The wire form, escaped, without the `@`.
    pub fn as_raw(&self) -> &'a str {
        self.0
    }

    /// Whether there are no tags.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// Each tag in order, its value unescaped (`""` for a tag with no value).
    /// A key that appears twice is yielded twice; [`Tags::get`] takes the last.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, Cow<'a, str>)> + 'a {
        self.0.split(';').filter_map(|tag| {
            let (key, value) = tag.split_once('=').unwrap_or((tag, ""));
            (!key.is_empty()).then(|| (key, unescape(value)))
        })
    }

    /// The value of `key` (its last occurrence), unescaped; `Some("")` for a
    /// tag without a value.
    pub fn get(&self, key: &str) -> Option<Cow<'a, str>> {
        self.iter()
            .filter(|(k, _)| *k == key)
            .last()
            .map(|(_, v)| v)
    }
}

/// Undoes message-tags escaping: `\:` `;`, `\s` space, `\\` `\`, `\r` CR,
/// `\n` LF; a backslash before any other character is dropped, and so is a
/// lone one at the end.
fn unescape(value: &str) -> Cow<'_, str> {
    if !value.contains('\\') {
        return Cow::Borrowed(value);
    }
    let mut unescaped = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            unescaped.push(c);
            continue;
        }
        match chars.next() {
            Some(':') => unescaped.push(';'),
            Some('s') => unescaped.push(' '),
            Some('r') => unescaped.push('\r'),
            Some('n') => unescaped.push('\n'),
            Some(other) => unescaped.push(other),
            None => {}
        }
    }
    Cow::Owned(unescaped)
}

/// Up to [`MAX_PARAMS`] parameters, held inline: parsing allocates nothing.
/// Derefs to `[&str]`.
#[derive(Clone, Copy, Default)]
pub struct Params<'a> {
    items: [&'a str; MAX_PARAMS],
    len: usize,
}

impl<'a> Params<'a> {
    /// Parameters from a slice; `None` if it has more than [`MAX_PARAMS`].
    pub fn from_slice(params: &[&'a str]) -> Option<Self> {
        let mut out = Params::default();
        for &param in params {
            if !out.push(param) {
                return None;
            }
        }
        Some(out)
    }

    fn push(&mut self, param: &'a str) -> bool {
        let Some(slot) = self.items.get_mut(self.len) else {
            return false;
        };
        *slot = param;
        self.len += 1;
        true
    }
}

impl<'a> Deref for Params<'a> {
    type Target = [&'a str];

    fn deref(&self) -> &[&'a str] {
        self.items.get(..self.len).unwrap_or_default()
    }
}

impl fmt::Debug for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Params<'_> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Params<'_> {}

/// Where the tag section ends: its length counting `@` and the space after
/// it (0 without tags).
fn tags_len(line: &[u8]) -> usize {
    if line.first() != Some(&b'@') {
        return 0;
    }
    line.iter()
        .position(|&b| b == b' ')
        .map_or(line.len(), |space| space + 1)
}

/// The length rules, on bytes, so an over-long line is `InputTooLong`
/// whatever else is wrong with it (the caller owes a 417, not a guess).
fn check_lengths(line: &[u8]) -> Result<(), ParseError> {
    let tags = tags_len(line);
    // The line has lost its CRLF, which the limit counts.
    if tags > MAX_TAGS_BYTES || line.len() - tags + 2 > MAX_LINE_BYTES {
        return Err(ParseError::InputTooLong);
    }
    Ok(())
}

fn trim_spaces(text: &str) -> &str {
    text.trim_start_matches(' ')
}

/// Parses one line whose CR/LF has already been cut off.
pub fn parse(line: &str) -> Result<Message<'_>, ParseError> {
    let line = trim_spaces(line);
    check_lengths(line.as_bytes())?;
    if line.bytes().any(|b| matches!(b, b'\0' | b'\r' | b'\n')) {
        return Err(ParseError::ForbiddenByte);
    }
    if line.trim_end_matches(' ').is_empty() {
        return Err(ParseError::Empty);
    }
    let mut message = Message::new("");
    let mut rest = line;
    if let Some(tagged) = rest.strip_prefix('@') {
        let (tags, after) = tagged.split_once(' ').ok_or(ParseError::NoCommand)?;
        message.tags = Tags(tags);
        rest = trim_spaces(after);
    }
    if let Some(sourced) = rest.strip_prefix(':') {
        let (source, after) = sourced.split_once(' ').ok_or(ParseError::NoCommand)?;
        message.source = (!source.is_empty()).then_some(source);
        rest = trim_spaces(after);
    }
    let (command, mut rest) = rest.split_once(' ').unwrap_or((rest, ""));
    if command.is_empty() {
        return Err(ParseError::NoCommand);
    }
    message.command = command;
    loop {
        rest = trim_spaces(rest);
        if rest.is_empty() {
            break;
        }
        if message.params.len == MAX_PARAMS - 1 {
            // RFC 2812: the fifteenth parameter is the rest of the line,
            // its `:` optional.
            let last = rest.strip_prefix(':').unwrap_or(rest.trim_end_matches(' '));
            message.params.push(last);
            break;
        }
        if let Some(trailing) = rest.strip_prefix(':') {
            message.params.push(trailing);
            break;
        }
        let (param, after) = rest.split_once(' ').unwrap_or((rest, ""));
        message.params.push(param);
        rest = after;
    }
    Ok(message)
}

/// [`parse`] on bytes: the length is checked before the encoding, so an
/// over-long line is always [`ParseError::InputTooLong`].
pub fn parse_bytes(line: &[u8]) -> Result<Message<'_>, ParseError> {
    let start = line.iter().position(|&b| b != b' ').unwrap_or(line.len());
    check_lengths(line.get(start..).unwrap_or_default())?;
    parse(std::str::from_utf8(line).map_err(|_| ParseError::NotUtf8)?)
}

/// Appends one message and its CRLF to `out`, copying each part once.
///
/// - `tags` are `(key, value)`, the value unescaped (it is escaped here); an
///   empty value writes the bare key.
/// - the last parameter is written as a trailing one (`:` first) when it
///   is empty, holds a space or starts with `:`; every other parameter
///   must be none of these ([`WriteError::BadMiddleParam`]).
/// - **CR, LF and NUL are dropped** from every part (in a tag value, CR and
///   LF are escaped instead, and NUL dropped): a value can never end the
///   line early and start a second one. They are dropped rather than
///   replaced so that a middle parameter stays one word; the rules above
///   apply to what is left.
///
/// The length is not checked: a caller that writes text of unbounded
/// length splits it first (`MAX_LINE_BYTES`).
pub fn write(
    out: &mut BytesMut,
    tags: &[(&str, &str)],
    source: Option<&str>,
    command: &str,
    params: &[&str],
) -> Result<(), WriteError> {
    write_parts(
        out,
        tags.iter().copied(),
        source,
        command,
        params.iter().copied(),
    )
}

/// [`write()`] over iterators, so callers in this crate can chain parameters
/// (a numeric's client, its middle ones, its text) without a `Vec`.
pub(crate) fn write_parts<'p, K, V>(
    out: &mut BytesMut,
    tags: impl IntoIterator<Item = (K, V)>,
    source: Option<&str>,
    command: &str,
    params: impl IntoIterator<Item = &'p str>,
) -> Result<(), WriteError>
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    written_whole(out, |out| {
        write_unchecked(out, tags, source, command, params, false)
    })
}

/// What `write` appended, or nothing when it failed.
fn written_whole(
    out: &mut BytesMut,
    write: impl FnOnce(&mut BytesMut) -> Result<(), WriteError>,
) -> Result<(), WriteError> {
    let start = out.len();
    let written = write(out);
    if written.is_err() {
        out.truncate(start);
    }
    written
}

/// [`write()`] with the last parameter always written as a trailing one
/// (`:` first), as a message's text: many clients and bots read the text
/// of a `PRIVMSG` or `NOTICE` only after a `:`, even when it is one word.
pub fn write_text(
    out: &mut BytesMut,
    tags: &[(&str, &str)],
    source: Option<&str>,
    command: &str,
    params: &[&str],
) -> Result<(), WriteError> {
    let (tags, params) = (tags.iter().copied(), params.iter().copied());
    written_whole(out, |out| {
        write_unchecked(out, tags, source, command, params, true)
    })
}

fn write_unchecked<'p, K, V>(
    out: &mut BytesMut,
    tags: impl IntoIterator<Item = (K, V)>,
    source: Option<&str>,
    command: &str,
    params: impl IntoIterator<Item = &'p str>,
    text_last: bool,
) -> Result<(), WriteError>
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut any_tag = false;
    for (key, value) in tags {
        let (key, value) = (key.as_ref(), value.as_ref());
        if !is_tag_key(key) {
            return Err(WriteError::BadTagKey);
        }
        out.extend_from_slice(if any_tag { b";" } else { b"@" });
        any_tag = true;
        out.extend_from_slice(key.as_bytes());
        if value.bytes().any(|b| b != b'\0') {
            out.extend_from_slice(b"=");
            put_escaped(out, value);
        }
    }
    if any_tag {
        out.extend_from_slice(b" ");
    }
    if let Some(source) = source {
        if kept(source).is_none() || source.contains(' ') {
            return Err(WriteError::BadSource);
        }
        out.extend_from_slice(b":");
        put_clean(out, source);
        out.extend_from_slice(b" ");
    }
    if matches!(kept(command), None | Some(b':' | b'@')) || command.contains(' ') {
        return Err(WriteError::BadCommand);
    }
    put_clean(out, command);
    let mut params = params.into_iter().peekable();
    let mut index = 0;
    while let Some(param) = params.next() {
        if index == MAX_PARAMS {
            return Err(WriteError::TooManyParams);
        }
        let plain = !matches!(kept(param), None | Some(b':')) && !param.contains(' ');
        out.extend_from_slice(b" ");
        if params.peek().is_none() {
            if !plain || text_last {
                out.extend_from_slice(b":");
            }
        } else if !plain {
            return Err(WriteError::BadMiddleParam { index });
        }
        put_clean(out, param);
        index += 1;
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// Bytes that end or break a line: never written from a value.
fn is_forbidden(byte: u8) -> bool {
    matches!(byte, b'\r' | b'\n' | b'\0')
}

/// The first byte of `text` that [`put_clean`] keeps, if any.
fn kept(text: &str) -> Option<u8> {
    text.bytes().find(|&b| !is_forbidden(b))
}

/// Copies `text` without its CR, LF and NUL bytes.
pub(crate) fn put_clean(out: &mut BytesMut, text: &str) {
    for piece in text.as_bytes().split(|&b| is_forbidden(b)) {
        out.extend_from_slice(piece);
    }
}

/// Copies a tag value with message-tags escaping, NUL dropped.
/// Appends `line` (one written message, without its CRLF) with the tag
/// `key=value` put first among its tags (a server adding `label` or
/// `batch` to lines already written), and a CRLF. A bad key appends
/// nothing.
pub fn write_with_tag(
    out: &mut BytesMut,
    key: &str,
    value: &str,
    line: &[u8],
) -> Result<(), WriteError> {
    if !is_tag_key(key) {
        return Err(WriteError::BadTagKey);
    }
    out.extend_from_slice(b"@");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"=");
    put_escaped(out, value);
    let (joint, rest) = match line.strip_prefix(b"@") {
        Some(rest) => (b";", rest),
        None => (b" ", line),
    };
    out.extend_from_slice(joint);
    let rest: Vec<u8> = rest
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n' && b != 0)
        .collect();
    out.extend_from_slice(&rest);
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// Appends each CRLF-ended line of `lines` (messages already written) with
/// the tag `key=value` added, or as it is when `value` is `None`.
pub fn write_lines_with_tag(out: &mut BytesMut, key: &str, value: Option<&str>, lines: &[u8]) {
    let each = lines
        .split(|&byte| byte == b'\n')
        .filter(|line| !line.is_empty());
    for line in each {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let written = value.map(|value| write_with_tag(out, key, value, line));
        if !matches!(written, Some(Ok(()))) {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
    }
}

fn put_escaped(out: &mut BytesMut, value: &str) {
    let bytes = value.as_bytes();
    let mut run = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b';' => b"\\:",
            b' ' => b"\\s",
            b'\\' => b"\\\\",
            b'\r' => b"\\r",
            b'\n' => b"\\n",
            b'\0' => b"",
            _ => continue,
        };
        out.extend_from_slice(bytes.get(run..at).unwrap_or_default());
        out.extend_from_slice(escape);
        run = at + 1;
    }
    out.extend_from_slice(bytes.get(run..).unwrap_or_default());
}

/// message-tags' key: an optional `+` (client-only), an optional vendor
/// (a host name) and `/`, then letters, digits and hyphens.
fn is_tag_key(key: &str) -> bool {
    let name = key.strip_prefix('+').unwrap_or(key);
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'/'))
}
