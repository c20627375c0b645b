//! Each connection's input cut into messages, in one place and one way for
//! logins and clients alike: a [`LineDecoder`] for the line protocol and
//! IRC (a partial line waits for its end; IRC's limit is its own), one read
//! per message for raw. The hub
//! then handles whole messages ([`Frame`]s), whatever the protocol.

use chat_proto::{Frame, LineDecoder, raw_message};

use crate::{ClientId, Protocol};

/// How one connection's bytes become messages.
#[derive(Debug)]
pub(crate) enum Decoder {
    Line(LineDecoder),
    /// One read is one message, of at most `max` bytes.
    Raw {
        max: usize,
    },
}

impl Decoder {
    fn new(protocol: Protocol, max_line_bytes: usize) -> Decoder {
        let max = protocol.max_message_bytes(max_line_bytes);
        match protocol {
            Protocol::Line | Protocol::Irc => Decoder::Line(LineDecoder::new(max)),
            Protocol::Raw => Decoder::Raw { max },
        }
    }

    /// Calls `f` with each message `data` completes.
    pub(crate) fn decode(&mut self, data: &[u8], mut f: impl FnMut(Frame<'_>)) {
        match self {
            Decoder::Line(decoder) => decoder.decode(data, f),
            Decoder::Raw { max } => match raw_message(data, *max) {
                Some(message) => f(Frame::Line(message)),
                None => f(Frame::TooLong),
            },
        }
    }

    /// The input ended: an unfinished last line still counts.
    pub(crate) fn finish(&mut self, f: impl FnMut(Frame<'_>)) {
        if let Decoder::Line(decoder) = self {
            decoder.finish(f);
        }
    }
}

#[derive(Debug, Default)]
enum Slot {
    #[default]
    Closed,
    Open(Decoder),
    /// Out for its messages to be handled ([`Wires::take`]).
    Taken,
}

/// Every open connection's decoder, by id (ids are small and reused, so a
/// vector is the whole map).
#[derive(Debug, Default)]
pub(crate) struct Wires {
    slots: Vec<Slot>,
}

impl Wires {
    /// A connection arrived, speaking `protocol`.
    pub(crate) fn open(&mut self, id: ClientId, protocol: Protocol, max_line_bytes: usize) {
        if self.slots.len() <= id.0 {
            self.slots.resize_with(id.0 + 1, Slot::default);
        }
        self.slots[id.0] = Slot::Open(Decoder::new(protocol, max_line_bytes));
    }

    /// The connection is done with: its partial input is dropped.
    pub(crate) fn close(&mut self, id: ClientId) {
        if let Some(slot) = self.slots.get_mut(id.0) {
            *slot = Slot::Closed;
        }
    }

    /// Takes `id`'s decoder out while its messages are handled: handling
    /// one may change anything, even end the connection. [`Wires::put_back`]
    /// returns it unless the connection was closed meanwhile.
    pub(crate) fn take(&mut self, id: ClientId) -> Option<Decoder> {
        let slot = self.slots.get_mut(id.0)?;
        match std::mem::replace(slot, Slot::Taken) {
            Slot::Open(decoder) => Some(decoder),
            other => {
                *slot = other;
                None
            }
        }
    }

    pub(crate) fn put_back(&mut self, id: ClientId, decoder: Decoder) {
        if let Some(slot) = self.slots.get_mut(id.0)
            && matches!(slot, Slot::Taken)
        {
            *slot = Slot::Open(decoder);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(wires: &mut Wires, id: ClientId, data: &[u8]) -> Vec<String> {
        let mut got = Vec::new();
        if let Some(mut decoder) = wires.take(id) {
            decoder.decode(data, |frame| {
                got.push(match frame {
                    Frame::Line(line) => String::from_utf8_lossy(line).into_owned(),
                    Frame::TooLong => "(too long)".to_owned(),
                });
            });
            wires.put_back(id, decoder);
        }
        got
    }

    #[test]
    fn each_protocol_cuts_its_own_messages() {
        let mut wires = Wires::default();
        let (line, raw) = (ClientId(1), ClientId(3));
        wires.open(line, Protocol::Line, 8);
        wires.open(raw, Protocol::Raw, 8);
        assert_eq!(frames(&mut wires, line, b"one\ntw"), ["one"]);
        assert_eq!(
            frames(&mut wires, line, b"o\n"),
            ["two"],
            "the partial line waited"
        );
        assert_eq!(frames(&mut wires, raw, b"one\ntwo"), ["one\ntwo"]);
        assert_eq!(frames(&mut wires, raw, b"far too long"), ["(too long)"]);
        assert!(
            frames(&mut wires, ClientId(2), b"x\n").is_empty(),
            "never opened"
        );
    }

    #[test]
    fn a_connection_closed_while_its_messages_are_handled_stays_closed() {
        let mut wires = Wires::default();
        let id = ClientId(0);
        wires.open(id, Protocol::Line, 64);
        let decoder = wires.take(id);
        assert!(wires.take(id).is_none(), "out already");
        wires.close(id);
        if let Some(decoder) = decoder {
            wires.put_back(id, decoder);
        }
        assert!(wires.take(id).is_none());
    }
}
