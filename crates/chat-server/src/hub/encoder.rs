//! Encoding server lines once into shared buffers.
//!
//! Every line is written into one growing arena and split off as a `Bytes`
//! handle: a line relayed to a thousand clients is one encode and a thousand
//! reference-count increments, and the arena is reused once every handle into
//! it has been written, so steady traffic allocates nothing per message.

use bytes::{Bytes, BytesMut};
use chat_proto::{Body, StampCache, TimestampFormat, encode_line, encode_raw};

use super::{ClientId, Clients, Framing, Now, Outbox};

/// Room left in the arena before a fresh block is reserved.
const ARENA_MIN_FREE: usize = 8 * 1024;
const ARENA_BLOCK: usize = 64 * 1024;

#[derive(Debug)]
pub(crate) struct Encoder {
    arena: BytesMut,
    stamps: StampCache,
    /// Raw framing always speaks ctime, as the tutorial did.
    raw_stamps: StampCache,
}

/// Who gets a line sent to many.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Recipients<'a> {
    pub(crate) members: &'a [ClientId],
    /// The sender, who gets no echo.
    pub(crate) except: Option<ClientId>,
    pub(crate) audience: Audience,
}

/// Which clients among the recipients a line is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    /// Room traffic: every member, raw ones included.
    Everyone,
    /// Server notices: raw clients get nothing unprompted but what is
    /// addressed to them, so they are skipped.
    LineClients,
}

impl Encoder {
    pub(crate) fn new(format: TimestampFormat) -> Encoder {
        Encoder {
            arena: BytesMut::new(),
            stamps: StampCache::new(format),
            raw_stamps: StampCache::new(TimestampFormat::Ctime),
        }
    }

    pub(crate) fn encode(&mut self, framing: Framing, now: Now, body: &Body<'_>) -> Bytes {
        if self.arena.capacity() - self.arena.len() < ARENA_MIN_FREE {
            self.arena.reserve(ARENA_BLOCK);
        }
        match framing {
            Framing::Line => encode_line(&mut self.arena, self.stamps.get(now), body),
            Framing::Raw => encode_raw(&mut self.arena, self.raw_stamps.get(now), body),
        }
        self.arena.split().freeze()
    }

    /// Sends `body` to one client, in its framing.
    pub(crate) fn send_one(
        &mut self,
        out: &mut dyn Outbox,
        clients: &Clients,
        to: ClientId,
        now: Now,
        body: &Body<'_>,
    ) {
        if let Some(client) = clients.get(to) {
            out.send(to, self.encode(client.framing, now, body));
        }
    }

    /// Sends `body` to the recipients, encoding it at most once per framing.
    /// Returns how many clients it was queued for.
    pub(crate) fn send_many(
        &mut self,
        out: &mut dyn Outbox,
        clients: &Clients,
        to: Recipients<'_>,
        now: Now,
        body: &Body<'_>,
    ) -> u64 {
        let Recipients {
            members,
            except,
            audience,
        } = to;
        let (mut line, mut raw) = (None::<Bytes>, None::<Bytes>);
        let mut sent = 0;
        for &member in members {
            if Some(member) == except {
                continue;
            }
            let Some(client) = clients.get(member) else {
                continue;
            };
            let encoded = match (client.framing, audience) {
                (Framing::Line, _) => &mut line,
                (Framing::Raw, Audience::Everyone) => &mut raw,
                (Framing::Raw, Audience::LineClients) => continue,
            };
            let bytes = encoded.get_or_insert_with(|| self.encode(client.framing, now, body));
            out.send(member, bytes.clone());
            sent += 1;
        }
        sent
    }
}
