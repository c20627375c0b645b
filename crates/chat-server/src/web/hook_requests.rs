//! `POST /hooks/TOKEN` on a web listener: the request read with a bound
//! decided from its head, then answered as Slack answers (`200 ok`) once
//! the hub has said its lines.
//!
//! Everything that can be decided from the head is, before a body byte is
//! kept: the method (405), the token (404, the same answer as any unknown
//! path, after a constant-time search), the length (411 without one, 413
//! over `max_webhook_bytes`) and the hook's rate (429). Only then is the
//! body gathered, within its announced length, and decoded (400 with the
//! reason). The `Host` header is not checked: a token, not a page's origin,
//! is what lets a request in.

use chat_hub::Posted;
use chat_net::http::{self, BodyReader, Request, Status};
use chat_net::{ConnId, Net};

use super::{WebListeners, refusal, refusal_saying, refusal_text};
use crate::hooks::{self, Hook, slack};

/// Where hooks are served: `/hooks/TOKEN`.
pub const HOOKS_PATH: &str = "/hooks/";

/// A request whose body is still coming: a hook's, or an API post's.
#[derive(Debug)]
pub(super) struct PendingPost {
    pub(super) to: PostTo,
    pub(super) body: BodyReader,
}

/// Whom a body is for.
#[derive(Debug)]
pub(super) enum PostTo {
    Hook {
        hook: Hook,
        content_type: Option<Vec<u8>>,
    },
    /// An API call that posts lines in `room` from `sender`.
    Api { room: String, sender: String },
}

/// A whole post for the hub to say: each line in `room` from `sender`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookPost {
    pub conn: ConnId,
    pub room: String,
    pub sender: String,
    pub lines: Vec<String>,
}

impl PendingPost {
    /// Adds body bytes; true once the body is whole.
    pub(super) fn feed(&mut self, data: &[u8]) -> bool {
        self.body.feed(data)
    }
}

impl WebListeners {
    /// A request for `/hooks/…` whose head is read: refused from the head
    /// if it can be, else its body is awaited (or, if here, read).
    pub(super) fn hook_request(
        &mut self,
        net: &mut Net,
        conn: ConnId,
        request: &Request,
        early: &[u8],
    ) -> Option<HookPost> {
        if request.method != "POST" {
            self.answer(net, conn, refusal(Status::METHOD_NOT_ALLOWED));
            return None;
        }
        let token = request.path().strip_prefix(HOOKS_PATH).unwrap_or_default();
        let Some(hook) = self.hooks.find(token.as_bytes()).cloned() else {
            self.answer(net, conn, refusal(Status::NOT_FOUND));
            return None;
        };
        let length = match http::body_length(request, self.hooks.limits.max_bytes) {
            Ok(length) => length,
            Err(status) => {
                let why = match status {
                    Status::PAYLOAD_TOO_LARGE => "the body is longer than max_webhook_bytes",
                    Status::LENGTH_REQUIRED => "send the body with a Content-Length",
                    _ => "the Content-Length is not one number",
                };
                self.answer(net, conn, refusal_saying(status, why));
                return None;
            }
        };
        if !self.hooks.allow(&hook.name, net.now()) {
            let why = "this hook posts faster than webhook_rate allows";
            self.answer(net, conn, refusal_saying(Status::TOO_MANY_REQUESTS, why));
            return None;
        }
        let to = PostTo::Hook {
            hook,
            content_type: request.header("content-type").map(<[u8]>::to_vec),
        };
        let post = PendingPost {
            to,
            body: BodyReader::new(length, early),
        };
        let whole = post.body.is_whole();
        self.waiting.get_mut(conn)?.post = Some(post);
        match whole {
            true => self.hook_body(net, conn),
            false => None,
        }
    }

    /// `conn`'s hook body is whole: decoded into the post for the hub, or
    /// refused with the reason.
    pub(super) fn hook_body(&mut self, net: &mut Net, conn: ConnId) -> Option<HookPost> {
        let mut post = self.waiting.get_mut(conn)?.post.take()?;
        if post.body.overflowed() {
            self.pipelined(conn);
        }
        let body = post.body.take();
        let PostTo::Hook { hook, content_type } = post.to else {
            return None;
        };
        let message = match slack::decode(content_type.as_deref(), &body) {
            Ok(message) => message,
            Err(why) => {
                let why = why.to_string();
                self.answer(net, conn, refusal_saying(Status::BAD_REQUEST, &why));
                return None;
            }
        };
        // Answered once the hub has said it ([`WebListeners::posted`]);
        // until then it counts as answered, so no timeout closes it.
        self.waiting.remove(conn);
        self.closing.insert(conn);
        Some(HookPost {
            conn,
            room: hook.room.clone(),
            sender: hooks::sender(&hook, message.username.as_deref()),
            lines: hooks::lines(&message.text, self.hooks.limits.max_line_bytes),
        })
    }

    /// The hub said (or did not say) a post's lines: its answer.
    pub fn posted(&mut self, net: &mut Net, conn: ConnId, outcomes: &[Posted]) {
        let said = outcomes
            .iter()
            .any(|posted| matches!(posted, Posted::Said { .. }));
        let busy = outcomes.contains(&Posted::StoreBusy);
        let (status, body) = match (said, busy) {
            (true, _) => (Status::OK, "ok".to_owned()),
            (false, true) => {
                let why = "the history store is busy; try again";
                (
                    Status::SERVICE_UNAVAILABLE,
                    refusal_text(Status::SERVICE_UNAVAILABLE, why),
                )
            }
            (false, false) => {
                let why = "nothing left to say once sanitized";
                (Status::BAD_REQUEST, refusal_text(Status::BAD_REQUEST, why))
            }
        };
        self.finish(
            net,
            conn,
            status,
            "text/plain; charset=utf-8",
            body.as_bytes(),
        );
    }
}
