//! A one-thread TCP reactor built on mio: listeners, connections, bounded
//! write queues, timers, a cross-thread waker and signals.
//!
//! chat-net knows nothing of chat; it never parses what it carries; one
//! thread, no locks, no thread per connection. It moves opaque bytes between
//! sockets and a [`Handler`] that decides what they mean. Anything that needs
//! to understand a byte (framing, commands, rooms) lives in the caller.
//!
//! # Shape
//!
//! A [`Reactor`] owns the `mio::Poll`, the listeners and a [`Net`]. [`Net`] is
//! the part a [`Handler`] may touch while being called back: queueing output,
//! closing connections, timers, stats. Every callback runs on the reactor's
//! thread, so the handler needs no locks either.
//!
//! # Why it is built this way
//!
//! * **Messages are [`Bytes`].** A message relayed to N connections is encoded
//!   once by the caller; each connection's queue holds a refcounted clone, never
//!   a copy. A queue is a `VecDeque<Bytes>` plus an offset into its front, and
//!   an idle connection's queue is released entirely, so idle connections hold
//!   no buffers.
//! * **One shared read buffer.** The reactor owns a single scratch buffer
//!   ([`NetConfig::read_buffer_size`]); [`Handler::received`] borrows a slice
//!   of it. Connections own no read buffer, so 10 000 idle connections cost no
//!   read memory.
//! * **Sending only enqueues.** [`Net::send`] appends to the queue and lists
//!   the connection as pending (once). Just before the reactor sleeps it
//!   flushes every pending connection with `write_vectored` (up to
//!   `IOV_MAX`, 1024 slices per call), so many small messages produced in
//!   one turn leave in one syscall.
//! * **Batches that grow with load.** While at least [`GATHER_MIN_PENDING`]
//!   connections have output waiting and the loop is busy most of the
//!   time, a turn writes no sooner after the last such turn's writing than
//!   a share of what that writing took (at most [`NetConfig::hold_for`],
//!   1 ms), and reads what arrives meanwhile and until input stops (at most
//!   [`NetConfig::gather_for`]) before it writes (`pace.rs`). With time to
//!   spare nothing waits and a turn writes at once; on a busy core each
//!   write carries more lines, and the kernel and the receivers, who pay
//!   per write, per segment and per wake-up, keep up.
//! * **Register once, READABLE | WRITABLE.** mio is edge-triggered, so a socket
//!   registered for both interests costs nothing while it stays writable, and
//!   there is no `reregister` syscall per message. Each connection keeps a
//!   `writable` flag instead: cleared when a write hits `WouldBlock`, set again
//!   by the WRITABLE edge, which resumes the flush.
//! * **Fairness.** Per turn a connection reads at most
//!   [`NetConfig::read_budget_per_turn`] bytes and writes at most
//!   [`NetConfig::write_budget_per_turn`] bytes. A connection that spent its
//!   budget without reaching `WouldBlock` is carried to the next turn (an
//!   edge-triggered poll would never report it again) and the next poll does
//!   not sleep.
//! * **Bounded queues.** A connection whose queue would exceed
//!   [`NetConfig::max_queue_bytes`] while its socket refuses more (a write
//!   hit `WouldBlock`: the peer reads slower than we write) is closed with
//!   [`CloseReason::QueueOverflow`]: one slow reader never grows memory
//!   without bound nor slows the others.
//! * **Behind, the loop writes before it reads.** A queue can also grow
//!   because the loop itself is behind: one turn's input fanned out to more
//!   than a write budget per connection. Those peers read all they are
//!   given, so they are not closed for it (their bound is
//!   [`BEHIND_QUEUE_FACTOR`] times the configured one); instead, while any
//!   connection carries output past its budget, no input is read (readable
//!   connections wait on the read-ready list) until the writes have caught
//!   up. The senders feel it as TCP back-pressure; past its capacity the
//!   server slows them instead of dropping its readers.
//! * **Deferred close.** A connection closed during a turn gets
//!   [`Handler::closed`] exactly once and leaves the slab at the end of the
//!   turn, so a [`ConnId`] is never reused within a turn.
//! * **A transport seam.** A connection's stream is an internal enum, plain
//!   TCP or TLS ([`Reactor::listen_tls`], rustls as a sans-I/O session
//!   between the socket and the handler), so neither the loop nor any handler
//!   notices which: TLS is a variant of the stream, not a layer of the loop,
//!   the handler sees plaintext, and the plain path pays one `match`. rustls
//!   buffers at most 64 KiB of plaintext ahead of the socket, so a slow TLS
//!   reader is bounded like a plain one; ciphertext accepted but not yet
//!   written keeps the connection on the flush list. A TLS handshake not
//!   finished within [`NetConfig::tls_handshake_timeout`] closes the
//!   connection; garbage instead of a ClientHello closes it at once.
//! * **Other threads and the OS reach in through the loop.** A [`mio::Waker`]
//!   ([`Reactor::waker`]) leads to [`Handler::woken`]; watched signals
//!   ([`Reactor::watch_signals`]) to [`Handler::signal`]; timers
//!   ([`Net::set_timer`]) to [`Handler::timer`]. There is no built-in tick.
//! * **Running out of descriptors does not spin.** A reserve descriptor is
//!   kept open; on `EMFILE`/`ENFILE` it is given up to accept and refuse one
//!   connection politely ([`Handler::refusal_notice`]), then retaken; if even
//!   that fails accepting pauses for 100 ms.
//! * **HTTP is a handler's choice, not a second stack.** [`http`] reads
//!   request heads (with httparse) and writes responses as [`Bytes`]; a
//!   handler uses it on the connections of the listeners it serves HTTP on
//!   (chat-server's metrics and health listener, and its web listeners: the
//!   page and the WebSocket upgrade), on this thread.
//! * **WebSocket is a layer of the transport, like TLS.** Once a handler
//!   has answered an upgrade request ([`Net::accept_websocket`]), the
//!   reactor decodes the client's frames into lines (one text message, one
//!   line) before [`Handler::received`], and frames each line the handler
//!   sends. A message is framed once, however many WebSocket clients it
//!   goes to: its frames (header and payload) are copied once into an
//!   arena, and every recipient's queue gets the same refcounted slice of
//!   it, one `Bytes` each as over TCP ([`websocket`]'s `Framer`). Pings are
//!   answered here; closing sends a close frame
//!   (1001 once the reactor is draining for a stop, 1000 otherwise, 1009 for
//!   a message over the limit, refused before it is buffered).
//! * **Every turn is timed** ([`NetStats::turn_time`]): one clock read per
//!   turn into a fixed histogram, since a slow turn delays every client.

mod config;
mod conn;
mod handler;
mod hold_timer;
pub mod http;
mod ids;
mod listener;
mod net;
mod pace;
mod queue;
mod reactor;
mod stream;
mod timer;
mod tls;
mod turn_time;
pub mod websocket;

pub use bytes::Bytes;
pub use config::NetConfig;
pub use handler::{CloseReason, Handler};
pub use ids::{ConnId, ListenerId, TimerId};
pub use net::{BEHIND_QUEUE_FACTOR, Net, NetStats};
pub use reactor::{GATHER_MIN_PENDING, Reactor};
pub use rustls;
pub use turn_time::{TURN_BUCKETS_MICROS, TurnTimes};
