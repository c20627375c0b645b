//! IRCv3 `labeled-response`: a command sent with a `label` tag gets its
//! answer marked with that label, so a client can tell which of its
//! requests an answer belongs to. What the command sends its own client is
//! caught while it runs (a [`Catching`] outbox in front of the real one)
//! and then sent labelled: nothing as an `ACK`, one line with the tag, more
//! lines inside a `labeled-response` batch.

use bytes::{Bytes, BytesMut};

use super::Hub;
use crate::{ClientId, ClusterRequest, OperatorCheck, Outbox, StoreRequest};

/// An outbox that keeps what is sent to one client and passes everything
/// else on.
struct Catching<'o> {
    inner: &'o mut dyn Outbox,
    client: ClientId,
    caught: Vec<Bytes>,
}

impl Outbox for Catching<'_> {
    fn send(&mut self, to: ClientId, msg: Bytes) {
        match to == self.client {
            true => self.caught.push(msg),
            false => self.inner.send(to, msg),
        }
    }
    fn close(&mut self, client: ClientId) {
        self.inner.close(client);
    }
    fn console(&mut self, line: &str) {
        self.inner.console(line);
    }
    fn said(&mut self, line: &str) {
        self.inner.said(line);
    }
    fn shutdown(&mut self) {
        self.inner.shutdown();
    }
    fn cluster(&mut self, request: ClusterRequest) -> bool {
        self.inner.cluster(request)
    }
    fn verify_operator(&mut self, check: OperatorCheck) -> bool {
        self.inner.verify_operator(check)
    }
    fn store(&mut self, request: StoreRequest) -> bool {
        self.inner.store(request)
    }
    fn io_totals(&self) -> (u64, u64) {
        self.inner.io_totals()
    }
}

impl Hub {
    /// Runs `handle` with what it sends `id` caught, then sends that
    /// labelled with `label`.
    pub(super) fn labelled(
        &mut self,
        out: &mut dyn Outbox,
        id: ClientId,
        label: &str,
        handle: impl FnOnce(&mut Hub, &mut dyn Outbox),
    ) {
        let mut catching = Catching {
            inner: out,
            client: id,
            caught: Vec::new(),
        };
        handle(self, &mut catching);
        let Catching { inner, caught, .. } = catching;
        let server = self.config.server_name.clone();
        let lines: Vec<&[u8]> = caught
            .iter()
            .flat_map(|bytes| bytes.split(|&byte| byte == b'\n'))
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
            .filter(|line| !line.is_empty())
            .collect();
        let mut reply = BytesMut::new();
        let label_tag = [("label", label)];
        match lines.as_slice() {
            [] => {
                let _ = chat_irc::write(&mut reply, &label_tag, Some(&server), "ACK", &[]);
            }
            [line] => {
                let _ = chat_irc::write_with_tag(&mut reply, "label", label, line);
            }
            lines => {
                let reference = format!("lr{}", self.irc.next_batch());
                let open = ["+".to_owned() + &reference, "labeled-response".to_owned()];
                let open = [open[0].as_str(), open[1].as_str()];
                let _ = chat_irc::write(&mut reply, &label_tag, Some(&server), "BATCH", &open);
                for line in lines {
                    let _ = chat_irc::write_with_tag(&mut reply, "batch", &reference, line);
                }
                let close = "-".to_owned() + &reference;
                let _ = chat_irc::write(&mut reply, &[], Some(&server), "BATCH", &[&close]);
            }
        }
        self.chat.send_wire(inner, id, reply.freeze());
    }
}
