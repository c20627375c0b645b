//! `/api/v1/…` on a web listener: who asks (a bearer token) and whether
//! they may (its scopes), decided from the head; a post's body read within
//! `max_webhook_bytes`; then the call handed to the server, which asks the
//! hub (rooms, members, posts) or the store's reader (lines, search) and
//! has the answer written here. A read the store does not answer within
//! [`READ_WAIT`] is answered 503: nothing waits without bound.
//!
//! `Host` is not checked, as for hooks: a bearer token lets a request in,
//! and a page on another site cannot send one (no CORS is answered, so a
//! browser never sends `Authorization` across origins).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chat_hub::{Posted, ReadAnswer, ReadCancel, StoredLine};
use chat_net::http::{self, BodyReader, Request, Status};
use chat_net::{ConnId, Net};

use super::WebListeners;
use super::hook_requests::{PendingPost, PostTo};
use crate::api::{self, ApiError, Call};

/// How long an API read may wait for the store.
pub const READ_WAIT: Duration = Duration::from_secs(3);

/// An API call for the server to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCall {
    pub conn: ConnId,
    pub work: ApiWork,
}

/// What the server does for an [`ApiCall`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiWork {
    /// Say `lines` in `room` from `sender`.
    Post {
        room: String,
        sender: String,
        lines: Vec<String>,
    },
    /// Answer from the hub or the store.
    Call(Call),
}

/// API reads waiting for the store, by connection.
#[derive(Debug, Default)]
pub(super) struct ApiReads {
    waiting: HashMap<ConnId, (Call, ReadCancel, Instant)>,
}

impl WebListeners {
    /// An API request whose head is read: refused from the head if it can
    /// be, else a call for the server (or its body is awaited).
    pub(super) fn api_request(
        &mut self,
        net: &mut Net,
        conn: ConnId,
        request: &Request,
        early: &[u8],
    ) -> Option<ApiCall> {
        let decided =
            (self.api_tokens.authorize(request.header("authorization"))).and_then(|token| {
                let call = api::route(&request.method, &request.target)?;
                if !token.allows(call.scope()) {
                    let why = format!("this token may not {:?} (its scopes)", call.scope());
                    let why = why.to_ascii_lowercase();
                    return Err(ApiError::new(Status::FORBIDDEN, "forbidden", why));
                }
                Ok((token.name.clone(), call))
            });
        let (name, call) = match decided {
            Ok(decided) => decided,
            Err(error) => {
                self.api_answer(net, conn, error.status, &error.body());
                return None;
            }
        };
        let Call::Post { room } = call else {
            self.waiting.remove(conn);
            self.closing.insert(conn);
            return Some(ApiCall {
                conn,
                work: ApiWork::Call(call),
            });
        };
        let length = match http::body_length(request, self.hooks.limits.max_bytes) {
            Ok(length) => length,
            Err(status) => {
                let error = ApiError::new(
                    status,
                    "bad_length",
                    "send a Content-Length of at most max_webhook_bytes",
                );
                self.api_answer(net, conn, status, &error.body());
                return None;
            }
        };
        let sender = format!("{name}{}", api::SENDER_MARK);
        let post = PendingPost {
            to: PostTo::Api { room, sender },
            body: BodyReader::new(length, early),
        };
        let whole = post.body.is_whole();
        self.waiting.get_mut(conn)?.post = Some(post);
        match whole {
            true => self.api_body(net, conn),
            false => None,
        }
    }

    /// `conn`'s API post body is whole.
    pub(super) fn api_body(&mut self, net: &mut Net, conn: ConnId) -> Option<ApiCall> {
        let mut post = self.waiting.get_mut(conn)?.post.take()?;
        if post.body.overflowed() {
            self.pipelined(conn);
        }
        let PostTo::Api { room, sender } = post.to else {
            return None;
        };
        let text = match api::posted_text(&post.body.take()) {
            Ok(text) => text,
            Err(error) => {
                self.api_answer(net, conn, error.status, &error.body());
                return None;
            }
        };
        self.waiting.remove(conn);
        self.closing.insert(conn);
        let lines = crate::hooks::lines(&text, self.hooks.limits.max_line_bytes);
        Some(ApiCall {
            conn,
            work: ApiWork::Post {
                room,
                sender,
                lines,
            },
        })
    }

    /// Answers `conn` with `status` and the JSON `body`: closed after it,
    /// or kept alive for the next request (`web/keep_alive.rs`).
    pub fn api_answer(&mut self, net: &mut Net, conn: ConnId, status: Status, body: &str) {
        self.finish(net, conn, status, "application/json", body.as_bytes());
    }

    /// The hub said an API post's lines: their ids.
    pub fn api_posted(&mut self, net: &mut Net, conn: ConnId, room: &str, outcomes: &[Posted]) {
        let ids: Vec<Option<u64>> = (outcomes.iter())
            .filter_map(|posted| match posted {
                Posted::Said { id } => Some(*id),
                _ => None,
            })
            .collect();
        if !ids.is_empty() {
            return self.api_answer(net, conn, Status::OK, &api::posted_json(room, &ids));
        }
        let error = match outcomes.contains(&Posted::StoreBusy) {
            true => ApiError::new(
                Status::SERVICE_UNAVAILABLE,
                "store_busy",
                "the history store is busy; try again",
            ),
            false => ApiError::new(
                Status::BAD_REQUEST,
                "bad_body",
                "nothing left to say once sanitized",
            ),
        };
        self.api_answer(net, conn, error.status, &error.body());
    }

    /// A read for `conn` went to the store.
    pub fn api_read_asked(&mut self, conn: ConnId, call: Call, cancel: ReadCancel, now: Instant) {
        self.api_reads.waiting.insert(conn, (call, cancel, now));
    }

    /// Whether `conn` waits for a store read.
    pub fn awaits_read(&self, conn: ConnId) -> bool {
        !self.api_reads.waiting.is_empty() && self.api_reads.waiting.contains_key(&conn)
    }

    /// The store answered `conn`'s read.
    pub fn api_read_answered(&mut self, net: &mut Net, conn: ConnId, answer: ReadAnswer) {
        let Some((call, _, _)) = self.api_reads.waiting.remove(&conn) else {
            return;
        };
        let (lines, partial): (Vec<StoredLine>, bool) = match answer {
            ReadAnswer::Lines(lines) => (lines, false),
            ReadAnswer::Partial(lines) => (lines, true),
            ReadAnswer::Failed => {
                let error = ApiError::new(
                    Status::SERVICE_UNAVAILABLE,
                    "store_busy",
                    "the history store could not read; try again",
                );
                return self.api_answer(net, conn, error.status, &error.body());
            }
        };
        let body = match &call {
            Call::Messages { room, limit, .. } => api::messages_json(room, lines, *limit),
            Call::Search { room, words } => api::search_json(room, words, &lines, partial),
            _ => return,
        };
        self.api_answer(net, conn, Status::OK, &body);
    }

    /// Reads that waited [`READ_WAIT`]: called off and answered 503.
    pub(super) fn api_reads_overdue(&mut self, net: &mut Net, now: Instant) {
        let overdue: Vec<ConnId> = (self.api_reads.waiting.iter())
            .filter(|(_, (_, _, since))| now.duration_since(*since) > READ_WAIT)
            .map(|(&conn, _)| conn)
            .collect();
        for conn in overdue {
            if let Some((_, cancel, _)) = self.api_reads.waiting.remove(&conn) {
                cancel.cancel();
            }
            let error = ApiError::new(
                Status::SERVICE_UNAVAILABLE,
                "store_busy",
                "the history store did not answer in time; try again",
            );
            self.api_answer(net, conn, error.status, &error.body());
        }
    }

    /// `conn` closed: a read it waited for is called off.
    pub(super) fn api_closed(&mut self, conn: ConnId) {
        if let Some((_, cancel, _)) = self.api_reads.waiting.remove(&conn) {
            cancel.cancel();
        }
    }
}
