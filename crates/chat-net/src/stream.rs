//! The transport seam: what the reactor needs from a connection's byte stream.
//!
//! A stream is plain TCP or TLS (`crate::tls`); neither the reactor loop
//! nor any handler sees the difference, and the plain path pays nothing for
//! TLS but a match on the variant.

use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;

use mio::event::Source;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use crate::tls::TlsStream;

/// A connection's transport.
pub(crate) enum Stream {
    /// Cleartext TCP.
    Plain(TcpStream),
    /// TLS over TCP (boxed: the session is large, and most streams are plain).
    Tls(Box<TlsStream>),
}

impl Stream {
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }

    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write_vectored(bufs),
            Stream::Tls(s) => s.write_vectored(bufs),
        }
    }

    /// Bytes already accepted by `write_vectored` still wait for the socket
    /// (TLS records); plain TCP never has any.
    pub(crate) fn wants_write(&self) -> bool {
        match self {
            Stream::Plain(_) => false,
            Stream::Tls(s) => s.wants_write(),
        }
    }

    /// Writes what [`Stream::wants_write`] reports; `WouldBlock` if the
    /// socket fills first.
    pub(crate) fn flush_pending(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(_) => Ok(()),
            Stream::Tls(s) => s.flush_pending(),
        }
    }

    /// Still negotiating TLS.
    pub(crate) fn is_handshaking(&self) -> bool {
        match self {
            Stream::Plain(_) => false,
            Stream::Tls(s) => s.is_handshaking(),
        }
    }

    /// Half-close the sending side: the peer reads EOF after our last byte.
    pub(crate) fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.shutdown(Shutdown::Write),
            Stream::Tls(s) => s.shutdown_write(),
        }
    }

    /// The pending socket error (`SO_ERROR`), reported by an error event.
    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.tcp().take_error()
    }

    /// The socket under either transport: what the poller watches.
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.tcp,
        }
    }

    fn tcp_mut(&mut self) -> &mut TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &mut s.tcp,
        }
    }
}

impl Source for Stream {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.tcp_mut().register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.tcp_mut().reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.tcp_mut().deregister(registry)
    }
}
