//! TLS (`--tls`): the rustls configuration, the handshake, and a pump that
//! lets the rest of the client treat a TLS connection like a plain socket.
//!
//! A rustls session cannot be driven from two threads at once, but every
//! mode reads on one thread and writes on another. So the client does not
//! see the session at all: it gets one end of a [`UnixStream::pair`] and
//! uses it exactly like the TCP socket (read, write, `try_clone`,
//! `shutdown(Write)`), while two pump threads move data between the other
//! end and the TCP socket through the shared session:
//!
//! - *in*: reads ciphertext from TCP (outside the lock), feeds it to the
//!   session, and writes the plaintext to the local end. TCP EOF or the
//!   server's `close_notify` becomes a half-close of the local end.
//! - *out*: reads plaintext from the local end, encrypts it and writes the
//!   records to TCP. Local EOF (the client half-closed) becomes
//!   `close_notify` and a TCP half-close.
//!
//! Records are taken out of the session under its lock and written to TCP
//! outside it (a second lock keeps them in order), so a server that is slow
//! to read never stops us from reading what it sends.
//!
//! Trust: `--ca FILE` trusts the certificates in FILE only; `--insecure`
//! checks nothing (but still checks the handshake signatures); the default
//! is the Mozilla root store bundled by webpki-roots, so the client behaves
//! the same on every machine and needs no OS certificate store. TLS 1.2 is
//! the minimum, 1.3 preferred (rustls's safe defaults), with the ring
//! provider.

use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::error::{Error, Result};

/// How long the handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Size of the pumps' read buffers.
const BUFFER: usize = 16 * 1024;

/// The one-line warning printed for `--insecure`.
pub(crate) const INSECURE_WARNING: &str = "WARNING: --insecure: certificate verification is DISABLED; \
anyone on the network path can read and change this chat";

/// Whom to trust.
#[derive(Debug, Clone)]
pub(crate) enum Trust {
    /// The bundled Mozilla roots (webpki-roots).
    Roots,
    /// The certificates in this PEM file (a private CA or a self-signed cert).
    Ca(PathBuf),
    /// Anything (`--insecure`).
    Insecure,
}

/// Everything needed to start a TLS session on a fresh TCP connection.
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl Setup {
    /// Build the configuration; `name` is `--tls-name`, else `host`.
    pub(crate) fn new(trust: &Trust, name: &str) -> Result<Self> {
        let name = ServerName::try_from(name.to_owned())
            .map_err(|err| Error::new(format!("cannot use {name:?} as TLS name: {err}")))?;
        let provider = Arc::new(ring::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|err| Error::new(format!("cannot set up TLS: {err}")))?;
        let config = match trust {
            Trust::Roots => {
                let roots = RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                };
                builder.with_root_certificates(roots)
            }
            Trust::Ca(path) => builder.with_root_certificates(load_ca(path)?),
            Trust::Insecure => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider))),
        }
        .with_no_client_auth();
        Ok(Self {
            config: Arc::new(config),
            name,
        })
    }

    /// Run the handshake on `tcp` (connected to `peer`), then start the pump.
    /// Returns the local end to use like the socket.
    pub(crate) fn start(&self, tcp: TcpStream, peer: SocketAddr) -> Result<Bridge> {
        let failed = |reason: String| Error::new(format!("TLS with {peer} failed: {reason}"));
        let mut session = ClientConnection::new(Arc::clone(&self.config), self.name.clone())
            .map_err(|err| failed(err.to_string()))?;
        handshake(&mut session, &tcp).map_err(failed)?;

        let (local, remote) = UnixStream::pair()
            .map_err(|err| failed(format!("cannot create the local socket pair: {err}")))?;
        let shared = Arc::new(Shared {
            session: Mutex::new(session),
            send_order: Mutex::new(()),
            read_failure: Mutex::new(None),
            write_failure: Mutex::new(None),
        });
        let cannot_share = |err: io::Error| failed(format!("cannot share the socket: {err}"));
        let pump_in = {
            let shared = Arc::clone(&shared);
            let tcp = tcp.try_clone().map_err(cannot_share)?;
            let remote = remote.try_clone().map_err(cannot_share)?;
            move || pump_in(&shared, tcp, remote)
        };
        let pump_out = {
            let shared = Arc::clone(&shared);
            move || pump_out(&shared, remote, tcp)
        };
        for (name, pump) in [
            ("tls-in", Box::new(pump_in) as Box<dyn FnOnce() + Send>),
            ("tls-out", Box::new(pump_out)),
        ] {
            thread::Builder::new()
                .name(name.to_owned())
                .spawn(pump)
                .map_err(|err| failed(format!("cannot start the TLS pump: {err}")))?;
        }
        Ok(Bridge { local, shared })
    }
}

/// Read every certificate in the PEM file at `path`.
fn load_ca(path: &Path) -> Result<RootCertStore> {
    let shown = path.display();
    let bad =
        |err: &dyn std::fmt::Display| Error::new(format!("cannot read CA file {shown}: {err}"));
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|err| bad(&err))? {
        let cert = cert.map_err(|err| bad(&err))?;
        roots.add(cert).map_err(|err| bad(&err))?;
    }
    if roots.is_empty() {
        return Err(Error::new(format!(
            "no certificate found in CA file {shown}"
        )));
    }
    Ok(roots)
}

/// Complete the handshake (or fail) under [`HANDSHAKE_TIMEOUT`].
fn handshake(session: &mut ClientConnection, tcp: &TcpStream) -> std::result::Result<(), String> {
    let timeouts = |limit| {
        tcp.set_read_timeout(limit)
            .and_then(|()| tcp.set_write_timeout(limit))
            .map_err(|err| format!("cannot set a socket timeout: {err}"))
    };
    timeouts(Some(HANDSHAKE_TIMEOUT))?;
    let mut io = tcp;
    while session.is_handshaking() {
        match session.complete_io(&mut io) {
            Ok((0, 0)) => return Err("the server closed the connection".to_owned()),
            Ok(_) => {}
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(format!(
                    "no handshake within {}s",
                    HANDSHAKE_TIMEOUT.as_secs()
                ));
            }
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => {
                return Err("the server closed the connection".to_owned());
            }
            // For a TLS error this prints rustls's reason, e.g.
            // "invalid peer certificate: UnknownIssuer".
            Err(err) => return Err(err.to_string()),
        }
    }
    timeouts(None)
}

/// The state both pump threads share.
struct Shared {
    session: Mutex<ClientConnection>,
    /// Held while writing records to TCP, taken before the session lock is
    /// released, so records go out in the order the session made them.
    send_order: Mutex<()>,
    /// Why the incoming side broke (reported by the client's reads).
    read_failure: Mutex<Option<String>>,
    /// Why the outgoing side broke (reported by the client's writes).
    write_failure: Mutex<Option<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Write whatever records the session has queued; returns how many bytes.
fn flush_records(shared: &Shared, tcp: &mut TcpStream) -> io::Result<usize> {
    let mut records = Vec::new();
    let _in_order = {
        let mut session = lock(&shared.session);
        while session.wants_write() {
            session.write_tls(&mut records)?;
        }
        if records.is_empty() {
            return Ok(0);
        }
        lock(&shared.send_order)
    };
    tcp.write_all(&records)?;
    Ok(records.len())
}

/// Feed `input` (TCP EOF if `eof`) to the session; returns the plaintext
/// that came out and whether the server's side is finished.
fn feed(
    shared: &Shared,
    mut input: &[u8],
    eof: bool,
) -> std::result::Result<(Vec<u8>, bool), String> {
    let mut session = lock(&shared.session);
    let mut plain = Vec::new();
    loop {
        if !input.is_empty() || eof {
            session
                .read_tls(&mut input)
                .map_err(|err| err.to_string())?;
        }
        session
            .process_new_packets()
            .map_err(|err| err.to_string())?;
        match session.reader().read_to_end(&mut plain) {
            // The server sent close_notify.
            Ok(_) => return Ok((plain, true)),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            // TCP closed without close_notify: like a plain close.
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok((plain, true)),
            Err(err) => return Err(err.to_string()),
        }
        if input.is_empty() {
            return Ok((plain, eof));
        }
    }
}

/// TCP -> session -> local end.
fn pump_in(shared: &Shared, mut tcp: TcpStream, mut local: UnixStream) {
    let mut buf = vec![0_u8; BUFFER];
    // The handshake may already have buffered some plaintext: the first turn
    // feeds nothing and only collects it.
    let mut received = 0;
    let mut eof = false;
    loop {
        let fed = feed(shared, &buf[..received], eof);
        // Alerts, key updates: best effort, a write failure shows up below.
        let _ = flush_records(shared, &mut tcp);
        let (plain, closed) = match fed {
            Ok(fed) => fed,
            Err(reason) => return fail_in(shared, &tcp, &local, reason),
        };
        if local.write_all(&plain).is_err() {
            // The client is gone.
            let _ = tcp.shutdown(Shutdown::Both);
            return;
        }
        if closed {
            let _ = local.shutdown(Shutdown::Write);
            return;
        }
        received = loop {
            match tcp.read(&mut buf) {
                Ok(read) => break read,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return fail_in(shared, &tcp, &local, err.to_string()),
            }
        };
        eof = received == 0;
    }
}

/// The incoming side broke: record why, and end both connections.
fn fail_in(shared: &Shared, tcp: &TcpStream, local: &UnixStream, reason: String) {
    lock(&shared.read_failure).get_or_insert(reason);
    let _ = tcp.shutdown(Shutdown::Both);
    let _ = local.shutdown(Shutdown::Both);
}

/// Local end -> session -> TCP.
fn pump_out(shared: &Shared, mut local: UnixStream, mut tcp: TcpStream) {
    let mut buf = vec![0_u8; BUFFER];
    let result = loop {
        let read = match local.read(&mut buf) {
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => 0,
        };
        if read == 0 {
            // The client half-closed: say so in TLS, then in TCP.
            lock(&shared.session).send_close_notify();
            break flush_records(shared, &mut tcp).and_then(|_| tcp.shutdown(Shutdown::Write));
        }
        match send(shared, &mut tcp, &buf[..read]) {
            Ok(()) => {}
            Err(err) => break Err(err),
        }
    };
    if let Err(err) = result {
        if err.kind() != io::ErrorKind::NotConnected {
            lock(&shared.write_failure).get_or_insert(err.to_string());
        }
        // The client's next write fails (and reports the reason above).
        let _ = local.shutdown(Shutdown::Read);
    }
}

/// Encrypt `plain` and write it to TCP.
fn send(shared: &Shared, tcp: &mut TcpStream, mut plain: &[u8]) -> io::Result<()> {
    while !plain.is_empty() {
        let taken = lock(&shared.session).writer().write(plain)?;
        plain = &plain[taken..];
        let flushed = flush_records(shared, tcp)?;
        if taken == 0 && flushed == 0 {
            return Err(io::Error::other("the TLS session takes no more data"));
        }
    }
    Ok(())
}

/// The client's end of a TLS connection: used like the TCP socket.
#[derive(Debug)]
pub(crate) struct Bridge {
    local: UnixStream,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Bridge {
    pub(crate) fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            local: self.local.try_clone()?,
            shared: Arc::clone(&self.shared),
        })
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.local.shutdown(how)
    }

    /// Read plaintext; EOF after a TLS failure is that failure.
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match (&self.local).read(buf) {
            Ok(0) if !buf.is_empty() => match lock(&self.shared.read_failure).as_ref() {
                Some(reason) => Err(io::Error::other(reason.clone())),
                None => Ok(0),
            },
            other => other,
        }
    }

    /// Write plaintext; a broken pipe after a TLS failure is that failure.
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        match (&self.local).write(buf) {
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {
                match lock(&self.shared.write_failure).as_ref() {
                    Some(reason) => Err(io::Error::other(reason.clone())),
                    None => Err(err),
                }
            }
            other => other,
        }
    }
}

/// `--insecure`: every certificate is accepted; only the handshake
/// signatures are still checked (so the session itself is sound, but the
/// server may be anyone).
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
