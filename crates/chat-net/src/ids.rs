//! The small copyable names the reactor hands out: connections, listeners, timers.

/// A connection. It is the connection's slab key, so it is reused after the
/// connection is gone: a handler must forget it in [`Handler::closed`](crate::Handler::closed).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub usize);

/// A listening socket, in the order [`Reactor::listen`](crate::Reactor::listen) was called.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ListenerId(pub usize);

/// A timer set with [`Net::set_timer`](crate::Net::set_timer). Never reused.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(pub u64);
