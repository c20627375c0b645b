//! TLS on the transport seam: a rustls server session between the socket and
//! the reactor, so handlers see plaintext and never know the difference.
//!
//! rustls is itself a sans-I/O state machine (see its `tlsserver-mio`
//! example): ciphertext is moved with `read_tls`/`write_tls`, plaintext with
//! `reader()`/`writer()`. This file only does that moving, non-blocking.

use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;

use mio::net::TcpStream;
use rustls::ServerConnection;

/// Plaintext rustls may buffer ahead of the socket. Past it, writes report
/// `WouldBlock`, so a slow TLS reader is bounded like a plain one.
const PLAINTEXT_BUFFER: usize = 64 * 1024;

pub(crate) struct TlsStream {
    pub(crate) tcp: TcpStream,
    session: ServerConnection,
}

impl TlsStream {
    pub(crate) fn new(tcp: TcpStream, mut session: ServerConnection) -> Self {
        session.set_buffer_limit(Some(PLAINTEXT_BUFFER));
        Self { tcp, session }
    }

    pub(crate) fn is_handshaking(&self) -> bool {
        self.session.is_handshaking()
    }

    /// Ciphertext is waiting for the socket.
    pub(crate) fn wants_write(&self) -> bool {
        self.session.wants_write()
    }

    /// Writes pending ciphertext until none is left (`Ok`) or the socket is
    /// full (`WouldBlock`).
    pub(crate) fn flush_pending(&mut self) -> io::Result<()> {
        while self.session.wants_write() {
            match self.session.write_tls(&mut self.tcp) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Plaintext into `buf`; `Ok(0)` is the end of the stream (close_notify or
    /// TCP EOF); `WouldBlock` when the socket has nothing more.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.session.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The peer closed TCP without close_notify: an end all the same.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            if self.session.read_tls(&mut self.tcp)? == 0 {
                return Ok(0);
            }
            if let Err(e) = self.session.process_new_packets() {
                // Garbage instead of TLS (plain text on the TLS port, say):
                // send the alert if the socket takes it, then fail.
                let _ = self.session.write_tls(&mut self.tcp);
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            // Handshake messages go out as soon as they exist; what the
            // socket does not take waits for the WRITABLE edge.
            match self.flush_pending() {
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                _ => {}
            }
        }
    }

    /// Takes plaintext from `bufs`; returns how much rustls accepted.
    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        // Older ciphertext first: it keeps records in order and the buffer bounded.
        self.flush_pending()?;
        let accepted = self.session.writer().write_vectored(bufs)?;
        match self.flush_pending() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
            _ => {}
        }
        if accepted == 0 {
            // Buffered up to the limit (during the handshake, say).
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(accepted)
    }

    pub(crate) fn shutdown_write(&mut self) -> io::Result<()> {
        self.session.send_close_notify();
        // Best effort: the alert is a courtesy; the TCP FIN below is the end.
        let _ = self.flush_pending();
        self.tcp.shutdown(Shutdown::Write)
    }
}
