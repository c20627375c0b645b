//! The HTTP API at `/api/v1/` (docs/openapi.json): which call a request
//! is, who makes it (a bearer token, found in constant time) and whether
//! it may, and the JSON of every answer, errors included (`{"error":
//! CODE, "message": …}`, CODE stable). Pure: the web listener reads the
//! request and writes the answer (`web/api_requests.rs`), the server asks
//! the hub and the store.

use chat_hub::StoredLine;
use chat_net::http::Status;
use serde_json::{Value, json};

use crate::tokens::TokenTable;

pub mod config;

pub use config::{ApiTokenConfig, Scope};

/// Where the API is served.
pub const API_PATH: &str = "/api/v1/";

/// Lines one page of `GET …/messages` holds by default, and at most.
pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 500;

/// The most matches a search answers.
pub const SEARCH_MAX: usize = 50;

/// The mark after a token's name on the lines it posts (PROTOCOL.md).
pub const SENDER_MARK: &str = "[api]";

/// An API call, once routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `POST rooms/{room}/messages`.
    Post { room: String },
    /// `GET rooms/{room}/messages?since=ID&limit=N`.
    Messages {
        room: String,
        since: u64,
        limit: usize,
    },
    /// `GET rooms`.
    Rooms,
    /// `GET rooms/{room}/members`.
    Members { room: String },
    /// `GET search?room=&q=`.
    Search { room: String, words: String },
}

impl Call {
    /// The scope the call needs.
    pub fn scope(&self) -> Scope {
        match self {
            Call::Post { .. } => Scope::Post,
            _ => Scope::Read,
        }
    }
}

/// A refusal: its status, its stable code, and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: Status,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: Status, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// The answer's body.
    pub fn body(&self) -> String {
        json!({"error": self.code, "message": self.message}).to_string()
    }
}

/// Every API token.
#[derive(Debug, Default)]
pub struct ApiTokens {
    tokens: TokenTable<ApiTokenConfig>,
}

impl ApiTokens {
    pub fn new(configs: &[ApiTokenConfig]) -> ApiTokens {
        let mut tokens = TokenTable::default();
        for config in configs {
            tokens.add(config.token.as_deref().unwrap_or_default(), config.clone());
        }
        ApiTokens { tokens }
    }

    /// Who makes a request with this `Authorization` header, if anyone: 401
    /// without a known bearer token (the same answer for none, a malformed
    /// one and a wrong one).
    pub fn authorize(&self, header: Option<&[u8]>) -> Result<&ApiTokenConfig, ApiError> {
        let unauthorized = || {
            ApiError::new(
                Status::UNAUTHORIZED,
                "unauthorized",
                "send Authorization: Bearer TOKEN with a token from [[api_tokens]]",
            )
        };
        let offered = header
            .and_then(|value| {
                let (scheme, token) = value.split_at_checked(7)?;
                scheme.eq_ignore_ascii_case(b"bearer ").then_some(token)
            })
            .map(<[u8]>::trim_ascii)
            .ok_or_else(unauthorized)?;
        self.tokens.find(offered).ok_or_else(unauthorized)
    }
}

/// The call `method` on `target` (path and query) is, or why it is none.
pub fn route(method: &str, target: &str) -> Result<Call, ApiError> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let rest = path.strip_prefix(API_PATH).unwrap_or_default();
    let segments: Vec<&str> = rest.split('/').collect();
    let param = |name: &str| -> Option<String> {
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    let number = |name: &str, default: u64| -> Result<u64, ApiError> {
        match param(name) {
            None => Ok(default),
            Some(text) => text.parse().map_err(|_| {
                let why = format!("{name} must be a whole number, not {text:?}");
                ApiError::new(Status::BAD_REQUEST, "bad_parameter", why)
            }),
        }
    };
    let call = match segments.as_slice() {
        ["rooms"] => (vec!["GET"], Call::Rooms),
        ["rooms", room, "members"] => (
            vec!["GET"],
            Call::Members {
                room: room_name(room)?,
            },
        ),
        ["rooms", room, "messages"] if method == "POST" => (
            vec!["POST"],
            Call::Post {
                room: room_name(room)?,
            },
        ),
        ["rooms", room, "messages"] => {
            let limit = number("limit", DEFAULT_PAGE as u64)?;
            let limit = usize::try_from(limit)
                .unwrap_or(MAX_PAGE)
                .clamp(1, MAX_PAGE);
            let call = Call::Messages {
                room: room_name(room)?,
                since: number("since", 0)?,
                limit,
            };
            (vec!["GET", "POST"], call)
        }
        ["search"] => {
            let room = room_name(&param("room").unwrap_or_default())?;
            let words = param("q").unwrap_or_default();
            if words.trim().is_empty() {
                let why = "q must hold the words to search for";
                return Err(ApiError::new(Status::BAD_REQUEST, "bad_parameter", why));
            }
            (vec!["GET"], Call::Search { room, words })
        }
        _ => {
            let why = "no such API call (see docs/openapi.json)";
            return Err(ApiError::new(Status::NOT_FOUND, "not_found", why));
        }
    };
    let (methods, call) = call;
    if !methods.contains(&method) {
        let why = format!("this call takes {}", methods.join(" or "));
        return Err(ApiError::new(
            Status::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            why,
        ));
    }
    Ok(call)
}

/// A room name from the request (`#` optional), checked.
fn room_name(text: &str) -> Result<String, ApiError> {
    let name = text.strip_prefix("%23").unwrap_or(text);
    match chat_proto::validate_room(name) {
        Ok(()) => Ok(name.strip_prefix('#').unwrap_or(name).to_owned()),
        Err(why) => Err(ApiError::new(
            Status::BAD_REQUEST,
            "bad_room",
            format!("room {name:?} {why}"),
        )),
    }
}

/// The text of a `POST …/messages` body (`{"text": …}`).
pub fn posted_text(body: &[u8]) -> Result<String, ApiError> {
    #[derive(serde::Deserialize)]
    struct Body {
        text: String,
    }
    match serde_json::from_slice::<Body>(body) {
        Ok(body) if !body.text.trim().is_empty() => Ok(body.text),
        Ok(_) => Err(ApiError::new(
            Status::BAD_REQUEST,
            "bad_body",
            "text is empty",
        )),
        Err(e) => Err(ApiError::new(
            Status::BAD_REQUEST,
            "bad_body",
            format!("the body must be JSON like {{\"text\": \"…\"}}: {e}"),
        )),
    }
}

/// A stored line as the API shows it.
pub fn line_json(line: &StoredLine) -> Value {
    json!({
        "id": line.id,
        "room": line.room,
        "nick": line.nick,
        "text": line.text,
        "action": line.action,
        "time": line.time.to_rfc3339(),
    })
}

/// A page of `GET …/messages`: at most `limit` lines; `more` when the
/// store found another after them (ask again with `since` = the last id).
pub fn messages_json(room: &str, mut lines: Vec<StoredLine>, limit: usize) -> String {
    let more = lines.len() > limit;
    lines.truncate(limit);
    let next = lines.last().map(|line| line.id);
    let messages: Vec<Value> = lines.iter().map(line_json).collect();
    json!({"room": room, "messages": messages, "more": more, "next_since": next}).to_string()
}

/// The answer to a search.
pub fn search_json(room: &str, words: &str, lines: &[StoredLine], partial: bool) -> String {
    let messages: Vec<Value> = lines.iter().map(line_json).collect();
    json!({"room": room, "q": words, "messages": messages, "partial": partial}).to_string()
}

/// `GET rooms`.
pub fn rooms_json(rooms: &[(String, usize)]) -> String {
    let rooms: Vec<Value> = (rooms.iter())
        .map(|(name, members)| json!({"name": name, "members": members}))
        .collect();
    json!({ "rooms": rooms }).to_string()
}

/// `GET rooms/{room}/members`.
pub fn members_json(room: &str, nicks: &[String]) -> String {
    json!({"room": room, "members": nicks}).to_string()
}

/// `POST rooms/{room}/messages`: the new lines' ids (`null` each without a
/// history file); `id` is the first's.
pub fn posted_json(room: &str, ids: &[Option<u64>]) -> String {
    let first = ids.first().copied().flatten();
    json!({"room": room, "id": first, "ids": ids}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routed(method: &str, target: &str) -> String {
        match route(method, target) {
            Ok(call) => format!("{call:?}"),
            Err(e) => format!("{} {}", e.status.0, e.body()),
        }
    }

    #[test]
    fn calls_are_routed_and_refused_with_stable_codes() {
        let text = [
            routed("GET", "/api/v1/rooms"),
            routed("GET", "/api/v1/rooms/Ops/members"),
            routed("POST", "/api/v1/rooms/%23ops/messages"),
            routed("GET", "/api/v1/rooms/ops/messages?since=7&limit=9999"),
            routed("GET", "/api/v1/rooms/ops/messages"),
            routed("GET", "/api/v1/search?room=ops&q=disk+full"),
            routed("GET", "/api/v1/search?room=ops"),
            routed("GET", "/api/v1/rooms/ops/messages?since=x"),
            routed("GET", "/api/v1/rooms/two%20words/members"),
            routed("DELETE", "/api/v1/rooms"),
            routed("GET", "/api/v1/nothing"),
        ]
        .join("\n");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn only_a_known_bearer_token_is_let_in() {
        let config = ApiTokenConfig {
            name: "ci".into(),
            token: Some("ci-token-0123456789".into()),
            token_file: None,
            scopes: vec![Scope::Post],
        };
        let tokens = ApiTokens::new(&[config]);
        let who = |header: Option<&[u8]>| tokens.authorize(header).map(|t| t.name.clone());
        assert_eq!(who(Some(b"Bearer ci-token-0123456789")), Ok("ci".into()));
        assert_eq!(who(Some(b"bearer  ci-token-0123456789 ")), Ok("ci".into()));
        for refused in [
            None,
            Some(&b"Bearer ci-token-012345678"[..]),
            Some(b"Basic ci-token-0123456789"),
            Some(b"Bearer"),
        ] {
            let status = who(refused).map_err(|e| e.status);
            assert_eq!(status, Err(Status::UNAUTHORIZED), "{refused:?}");
        }
        let token = tokens.authorize(Some(b"Bearer ci-token-0123456789"));
        assert!(token.is_ok_and(|t| t.allows(Scope::Post) && !t.allows(Scope::Read)));
    }
}
