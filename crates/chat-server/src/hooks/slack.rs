//! The Slack incoming-webhook payload (which Mattermost, Rocket.Chat,
//! Alertmanager, Grafana and many scripts send), read from a request body
//! and rendered to plain lines of text.
//!
//! Pure: bytes and a content type in, lines or a one-line reason out. The
//! body is JSON (`application/json`), or a form whose `payload` field is
//! that JSON (`application/x-www-form-urlencoded`, Slack's other form).
//! Slack's markup becomes plain text: `<https://x|label>` is
//! `label (https://x)`, `<https://x>` the address, `<@U1>` `@U1`,
//! `<!here>` `@here`, `*bold*`, `_italic_` and `~struck~` lose their
//! marks, and `&amp;`, `&lt;`, `&gt;` are the characters they stand for.

use std::fmt;

use serde::Deserialize;

/// A payload read from a body: who it asks to be shown as, and its text
/// (lines still to be split).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `username`, as sent (the caller decides whether to use it).
    pub username: Option<String>,
    /// The text, then each attachment, rendered, joined by newlines.
    pub text: String,
}

/// Why a body cannot be read: the 400 answer's one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadPayload {
    /// Not JSON of the payload's shape; serde_json's reason.
    Json(String),
    /// A form without a `payload` field.
    NoPayloadField,
    /// A content type that is neither JSON nor a form.
    ContentType(String),
    /// Nothing to say: no `text`, and no attachment with any.
    NoText,
}

impl fmt::Display for BadPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadPayload::Json(why) => write!(f, "the payload is not JSON a webhook takes: {why}"),
            BadPayload::NoPayloadField => {
                f.write_str("a form body needs a payload field holding the JSON")
            }
            BadPayload::ContentType(what) => write!(
                f,
                "content type {what:?} is neither application/json nor application/x-www-form-urlencoded"
            ),
            BadPayload::NoText => {
                f.write_str("the payload has no text and no attachment with text")
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct Payload {
    text: Option<String>,
    username: Option<String>,
    #[serde(default)]
    attachments: Vec<Attachment>,
}

#[derive(Debug, Deserialize)]
struct Attachment {
    fallback: Option<String>,
    pretext: Option<String>,
    title: Option<String>,
    title_link: Option<String>,
    text: Option<String>,
    #[serde(default)]
    fields: Vec<Field>,
}

#[derive(Debug, Deserialize)]
struct Field {
    title: Option<String>,
    value: Option<String>,
}

/// Reads a webhook body sent with `content_type` (the header's value, if
/// any). A form body that is JSON itself (what `curl -d '{…}'` sends) is
/// read as JSON.
pub fn decode(content_type: Option<&[u8]>, body: &[u8]) -> Result<Message, BadPayload> {
    let media = content_type
        .map(|value| String::from_utf8_lossy(value))
        .map(|value| {
            let media = value.split(';').next().unwrap_or_default();
            media.trim().to_ascii_lowercase()
        });
    let json = match media.as_deref() {
        None | Some("application/json") => body.to_vec(),
        Some("application/x-www-form-urlencoded") if body.trim_ascii_start().starts_with(b"{") => {
            body.to_vec()
        }
        Some("application/x-www-form-urlencoded") => form_urlencoded::parse(body)
            .find(|(key, _)| key == "payload")
            .map(|(_, value)| value.into_owned().into_bytes())
            .ok_or(BadPayload::NoPayloadField)?,
        Some(other) => return Err(BadPayload::ContentType(other.to_owned())),
    };
    let payload: Payload =
        serde_json::from_slice(&json).map_err(|e| BadPayload::Json(e.to_string()))?;
    let text = render(&payload);
    if text.trim().is_empty() {
        return Err(BadPayload::NoText);
    }
    Ok(Message {
        username: payload.username,
        text,
    })
}

/// The payload's text and attachments as plain text.
fn render(payload: &Payload) -> String {
    let mut parts: Vec<String> = Vec::new();
    let add = |parts: &mut Vec<String>, text: &str| {
        let text = plain(text);
        if !text.trim().is_empty() {
            parts.push(text);
        }
    };
    if let Some(text) = &payload.text {
        add(&mut parts, text);
    }
    for attachment in &payload.attachments {
        let before = parts.len();
        if let Some(pretext) = &attachment.pretext {
            add(&mut parts, pretext);
        }
        match (&attachment.title, &attachment.title_link) {
            (Some(title), Some(link)) => add(&mut parts, &format!("{title} ({link})")),
            (Some(title), None) => add(&mut parts, title),
            (None, Some(link)) => add(&mut parts, link),
            (None, None) => {}
        }
        if let Some(text) = &attachment.text {
            add(&mut parts, text);
        }
        for field in &attachment.fields {
            match (&field.title, &field.value) {
                (Some(title), Some(value)) => add(&mut parts, &format!("{title}: {value}")),
                (Some(only), None) | (None, Some(only)) => add(&mut parts, only),
                (None, None) => {}
            }
        }
        // The fallback stands for the attachment only where it shows
        // nothing else: it repeats the rest otherwise.
        if parts.len() == before
            && let Some(fallback) = &attachment.fallback
        {
            add(&mut parts, fallback);
        }
    }
    parts.join("\n")
}

/// Slack's markup as plain text (see the module's notes).
pub fn plain(text: &str) -> String {
    let linked = links(text);
    let unmarked = unmark(&linked);
    unmarked
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `<…>` spans: links, mentions and specials.
fn links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        // A span is `<` then no space, up to `>` on the same line: `a < b`
        // is text.
        let close = after
            .find(['>', '\n', '<'])
            .filter(|&at| after[at..].starts_with('>') && at > 0)
            .filter(|_| !after.starts_with(char::is_whitespace));
        let Some(close) = close else {
            out.push('<');
            rest = after;
            continue;
        };
        let inner = &after[..close];
        let (target, label) = match inner.split_once('|') {
            Some((target, label)) => (target, Some(label)),
            None => (inner, None),
        };
        match (target.chars().next(), label) {
            (Some('@'), _) => {
                out.push('@');
                out.push_str(label.unwrap_or(&target[1..]));
            }
            (Some('#'), _) => {
                out.push('#');
                out.push_str(label.unwrap_or(&target[1..]));
            }
            (Some('!'), _) => {
                out.push('@');
                out.push_str(label.unwrap_or(&target[1..]));
            }
            (_, Some(label)) if !label.is_empty() && label != target => {
                out.push_str(&format!("{label} ({target})"));
            }
            _ => out.push_str(target),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// `*bold*`, `_italic_` and `~struck~` without their marks: a mark pair
/// counts when it hugs a word (no space just inside) on one line, and the
/// opening mark does not follow a letter or digit (`snake_case_name` keeps
/// its underscores).
fn unmark(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut drop = vec![false; chars.len()];
    let mut at = 0;
    while at < chars.len() {
        let mark = chars[at];
        let opens = matches!(mark, '*' | '_' | '~')
            && !drop[at]
            && (at == 0 || !chars[at - 1].is_alphanumeric())
            && chars
                .get(at + 1)
                .is_some_and(|c| !c.is_whitespace() && *c != mark);
        if opens
            && let Some(end) = (at + 2..chars.len())
                .take_while(|&i| chars[i] != '\n')
                .find(|&i| {
                    chars[i] == mark
                        && !chars[i - 1].is_whitespace()
                        && chars.get(i + 1).is_none_or(|c| !c.is_alphanumeric())
                })
        {
            drop[at] = true;
            drop[end] = true;
            at = end + 1;
            continue;
        }
        at += 1;
    }
    chars
        .iter()
        .zip(drop)
        .filter(|(_, dropped)| !dropped)
        .map(|(c, _)| c)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(body: &str) -> String {
        match decode(Some(b"application/json"), body.as_bytes()) {
            Ok(message) => message.text,
            Err(e) => format!("400: {e}"),
        }
    }

    #[test]
    fn markup_becomes_plain_text() {
        let check = |text: &str, want: &str| assert_eq!(plain(text), want, "{text}");
        check(
            "see <https://x.org/a|the docs>",
            "see the docs (https://x.org/a)",
        );
        check("<https://x.org>", "https://x.org");
        check("hey <@U123> and <!here>", "hey @U123 and @here");
        check("in <#C1|general>", "in #general");
        check("*deploy* done, _really_ ~not~", "deploy done, really not");
        check("a snake_case_name * 2 * 3", "a snake_case_name * 2 * 3");
        check("1 &lt; 2 &amp;&amp; 3 &gt; 2", "1 < 2 && 3 > 2");
        check("a < b > c", "a < b > c");
    }

    #[test]
    fn text_and_attachments_render_to_lines() {
        assert_eq!(json(r#"{"text": "*hi*\nthere"}"#), "hi\nthere");
        let alert = r#"{"attachments": [{"fallback": "fb", "pretext": "pre",
            "title": "[FIRING:1] Down", "title_link": "http://am/x", "text": "instance a",
            "fields": [{"title": "severity", "value": "page"}]}]}"#;
        assert_eq!(
            json(alert),
            "pre\n[FIRING:1] Down (http://am/x)\ninstance a\nseverity: page"
        );
        assert_eq!(json(r#"{"attachments": [{"fallback": "only"}]}"#), "only");
    }

    #[test]
    fn forms_carry_the_json_in_payload() {
        let form = b"payload=%7B%22text%22%3A%22hi+there%22%2C%22username%22%3A%22ci%22%7D";
        let message = decode(Some(b"application/x-www-form-urlencoded"), form);
        assert_eq!(
            message,
            Ok(Message {
                username: Some("ci".into()),
                text: "hi there".into()
            })
        );
        let curl = decode(
            Some(b"application/x-www-form-urlencoded"),
            br#"{"text":"x"}"#,
        );
        assert_eq!(curl.map(|m| m.text), Ok("x".into()));
    }

    #[test]
    fn bad_bodies_say_why_in_one_line() {
        let text = [
            json("{"),
            json(r#"{"text": 5}"#),
            json("{}"),
            json(r#"{"text": "  "}"#),
            format!(
                "{:?}",
                decode(Some(b"application/x-www-form-urlencoded"), b"text=hi")
            ),
            format!("{:?}", decode(Some(b"text/plain"), b"hi")),
        ]
        .join("\n");
        insta::assert_snapshot!(text);
    }
}
