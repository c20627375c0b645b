//! The server's part of the HTTP API and of webhooks: a call from the web
//! listener carried out against the hub (posts, rooms, members) or the
//! store's reader (lines, search: the read path `/history` takes, so the
//! reactor never waits on the disk), and the answer handed back.

use chat_hub::{ClientId, Post, Posted, ReadCancel, ReadKind, StoreEvent, StoreRead, StoreRequest};
use chat_net::http::Status;
use chat_net::{ConnId, Net};

use super::{Server, now};
use crate::api::{self, ApiError, Call};
use crate::web::{self, ApiCall, ApiWork};

impl Server {
    /// A webhook's lines: said by the hub, then the hook answered.
    pub(super) fn say_posted(&mut self, net: &mut Net, post: &web::HookPost) {
        let outcomes = self.post_lines(net, &post.room, &post.sender, &post.lines);
        if let Some(web) = &mut self.web {
            web.posted(net, post.conn, &outcomes);
        }
    }

    /// Each of `lines` said in `room` from `sender`.
    fn post_lines(
        &mut self,
        net: &mut Net,
        room: &str,
        sender: &str,
        lines: &[String],
    ) -> Vec<Posted> {
        let time = now();
        let (hub, mut out) = self.parts(net);
        (lines.iter())
            .map(|text| hub.post(&mut out, Post { room, sender, text }, time))
            .collect()
    }

    /// An API call from the web listener.
    pub(super) fn api_call(&mut self, net: &mut Net, call: ApiCall) {
        let conn = call.conn;
        let call = match call.work {
            ApiWork::Post {
                room,
                sender,
                lines,
            } => {
                let outcomes = self.post_lines(net, &room, &sender, &lines);
                if let Some(web) = &mut self.web {
                    web.api_posted(net, conn, &room, &outcomes);
                }
                return;
            }
            ApiWork::Call(call) => call,
        };
        let answer = match &call {
            Call::Rooms => Ok(api::rooms_json(&self.hub.room_list())),
            Call::Members { room } => match self.hub.room_members(room) {
                Some((name, nicks)) => Ok(api::members_json(&name, &nicks)),
                None => Err(ApiError::new(
                    Status::NOT_FOUND,
                    "no_such_room",
                    format!("nobody is in {room} on this server"),
                )),
            },
            Call::Messages { .. } | Call::Search { .. } => {
                match self.ask_store(net, conn, call.clone()) {
                    Ok(()) => return,
                    Err(error) => Err(error),
                }
            }
            Call::Post { .. } => return,
        };
        let Some(web) = &mut self.web else { return };
        match answer {
            Ok(body) => web.api_answer(net, conn, Status::OK, &body),
            Err(error) => web.api_answer(net, conn, error.status, &error.body()),
        }
    }

    /// A read for `conn`'s call, to the store's reader; answered when the
    /// store is (see [`Server::store_answer`]).
    fn ask_store(&mut self, net: &mut Net, conn: ConnId, call: Call) -> Result<(), ApiError> {
        let unavailable = |why: &str| ApiError::new(Status::SERVICE_UNAVAILABLE, "no_store", why);
        let Some(store) = &self.store else {
            return Err(unavailable(
                "this server keeps no history file (history_store = \"memory\", or a cluster)",
            ));
        };
        let (room, kind) = match &call {
            Call::Messages { room, since, limit } => (
                room,
                ReadKind::Since {
                    after: *since,
                    count: *limit,
                },
            ),
            Call::Search { room, words } => (
                room,
                ReadKind::Search {
                    words: words.clone(),
                    count: api::SEARCH_MAX,
                },
            ),
            _ => return Ok(()),
        };
        let cancel = ReadCancel::default();
        let read = StoreRead {
            client: ClientId(conn.0),
            // The hub numbers its reads from 1: an answer that outlives its
            // HTTP connection reaches the hub as an old request, dropped.
            token: 0,
            room: chat_proto::room_key(room).into(),
            sees_through: self.hub.store_handed(),
            cancel: cancel.clone(),
            kind,
        };
        if !store.send(StoreRequest::Read(read)) {
            return Err(unavailable("the history store is busy; try again"));
        }
        if let Some(web) = &mut self.web {
            web.api_read_asked(conn, call, cancel, net.now());
        }
        Ok(())
    }

    /// A store event: an API read's answer goes to its connection; the
    /// rest is the hub's. Returns the event if it is the hub's.
    pub(super) fn store_answer(&mut self, net: &mut Net, event: StoreEvent) -> Option<StoreEvent> {
        let conn = match &event {
            StoreEvent::Read { client, .. } => ConnId(client.0),
            _ => return Some(event),
        };
        let Some(web) = self.web.as_mut().filter(|web| web.awaits_read(conn)) else {
            return Some(event);
        };
        if let StoreEvent::Read { answer, .. } = event {
            web.api_read_answered(net, conn, answer);
        }
        None
    }
}
